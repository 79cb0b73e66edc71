"""Module.summary: rows, output shapes, parameter counts, totals, and no side effects."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn


class _Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(4)

    def forward(self, x):
        return gn.ops.relu(self.norm(self.conv(x)))


def _cnn():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), _Block(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Dropout(0.5), nn.Linear(out_features=10),
    )  # fmt: skip


def test_summary_rows_shapes_and_counts():
    model = _cnn()
    s = model.summary((2, 1, 8, 8))
    rows = [(r.name, r.type, r.depth, r.output_shape, r.num_params) for r in s.rows]
    assert rows == [
        ("0", "Conv2d", 0, (2, 4, 8, 8), 4 * 9 + 4),
        ("1", "_Block", 0, (2, 4, 8, 8), 0),
        ("1.conv", "Conv2d", 1, (2, 4, 8, 8), 4 * 4 * 9),
        ("1.norm", "BatchNorm2d", 1, (2, 4, 8, 8), 8),
        ("2", "MaxPool2d", 0, (2, 4, 4, 4), 0),
        ("3", "Flatten", 0, (2, 64), 0),
        ("4", "Dropout", 0, (2, 64), 0),
        ("5", "Linear", 0, (2, 10), 64 * 10 + 10),
    ]
    total = 40 + 144 + 8 + 650
    assert s.total_params == total == model.num_parameters()
    assert s.trainable_params == total and s.non_trainable_params == 0
    assert s.param_bytes == 4 * total
    assert s.buffer_bytes == 4 * 8 + 8  # running mean/var float32 + int64 counter


def test_summary_table_text():
    model = _cnn()
    text = str(model.summary((1, 1, 8, 8)))
    lines = text.splitlines()
    assert lines[0] == "Sequential summary, input shape [1, 1, 8, 8]"
    assert any(line.startswith("1 (_Block)") and line.rstrip().endswith("--") for line in lines)
    assert any(line.startswith("  1.conv (Conv2d)") and "[1, 4, 8, 8]" in line for line in lines)
    assert any(line.startswith("5 (Linear)") and line.rstrip().endswith("650") for line in lines)
    assert "Total params: 842" in text and "Trainable params: 842" in text
    assert "Params size (MB): 0.00" in text
    assert repr(model.summary((1, 1, 8, 8))) == text  # the REPL shows the table


def test_summary_has_no_side_effects_and_counts_frozen_params():
    model = _cnn()
    model.summary((3, 1, 8, 8))  # builds the lazy Linear
    bn = model[1].norm
    before = (bn.running_mean.numpy().copy(), int(bn.num_batches_tracked.item()))
    model[0].weight.requires_grad = False
    s = model.summary((3, 1, 8, 8))
    assert model.training and all(m.training for m in model.modules())
    np.testing.assert_array_equal(bn.running_mean.numpy(), before[0])
    assert int(bn.num_batches_tracked.item()) == before[1] == 0
    assert s.non_trainable_params == 36 and s.trainable_params == s.total_params - 36
    assert not model[0]._forward_hooks and not model[0]._forward_pre_hooks  # hooks removed
    x = gn.randn(2, 1, 8, 8)
    model(x).sum().backward()  # the model still trains after summary (grad mode restored)
    assert model[5].weight.grad is not None


def test_summary_of_embedding_model_and_single_layer():
    model = nn.Sequential(nn.Embedding(20, 6), nn.Flatten(), nn.Linear(18, 2))
    s = nn.summary(model, (4, 3), dtype="int64")
    assert [r.output_shape for r in s.rows] == [(4, 3, 6), (4, 18), (4, 2)]
    assert s.total_params == 20 * 6 + 18 * 2 + 2
    single = nn.Linear(3, 2).summary((5, 3))
    assert [(r.type, r.output_shape, r.num_params) for r in single.rows] == [("Linear", (5, 2), 8)]


def test_summary_bad_shape_teaches():
    with pytest.raises(ValueError, match=r"including the batch axis, e.g. \(1, 3, 32, 32\)"):
        nn.Linear(3, 2).summary((0, 3))
