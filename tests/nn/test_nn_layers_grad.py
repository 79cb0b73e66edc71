"""Every layer gradchecked in float64: d(output)/d(input) and d(output)/d(each parameter)
against central finite differences, through the layer's own forward (its checks included)."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.testing import check_grad


def _owner(module, dotted):
    *path, leaf = dotted.split(".")
    for name in path:
        module = module._modules[name]
    return module, leaf


def check_layer_grad(layer, x, seed=None, atol=1e-5, rtol=1e-4):
    """Gradcheck ``layer(x)`` w.r.t. x (when float) and every parameter. The parameters are
    swapped for check_grad's float64 tensors during each call (a functional call)."""
    layer.to(dtype="float64")
    names = [n for n, _ in layer.named_parameters()]
    values = [p.numpy().copy() for _, p in layer.named_parameters()]

    def fn(x, *params):
        saved = []
        for name, p in zip(names, params):
            owner, leaf = _owner(layer, name)
            saved.append((owner, leaf, owner._parameters[leaf]))
            owner._parameters[leaf] = p
        try:
            if seed is not None:
                gn.manual_seed(seed)
            return layer(x)
        finally:
            for owner, leaf, original in saved:
                owner._parameters[leaf] = original

    check_grad(fn, [x, *values], atol=atol, rtol=rtol, name=repr(layer))


rng = np.random.default_rng(0)


def _x(*shape):
    return rng.standard_normal(shape)


CASES = [
    ("linear", lambda: nn.Linear(4, 3), _x(2, 4)),
    ("linear-3d-nobias", lambda: nn.Linear(3, 2, bias=False), _x(2, 2, 3)),
    ("conv1d", lambda: nn.Conv1d(2, 3, 3, stride=2, padding=1), _x(2, 2, 7)),
    ("conv1d-same-dilated", lambda: nn.Conv1d(2, 2, 2, padding="same", dilation=2), _x(1, 2, 5)),
    ("conv2d", lambda: nn.Conv2d(2, 3, 3, padding=1), _x(2, 2, 4, 4)),
    ("conv2d-same-even", lambda: nn.Conv2d(1, 2, (2, 3), padding="same"), _x(1, 1, 4, 5)),
    ("conv2d-groups-stride", lambda: nn.Conv2d(4, 2, 2, stride=2, groups=2), _x(1, 4, 5, 5)),
    ("maxpool2d", lambda: nn.MaxPool2d(2), _x(2, 2, 4, 4)),
    ("avgpool2d-pad", lambda: nn.AvgPool2d(3, stride=2, padding=1), _x(1, 2, 5, 5)),
    ("adaptiveavgpool2d", lambda: nn.AdaptiveAvgPool2d((2, 3)), _x(1, 2, 5, 7)),
    ("flatten", lambda: nn.Flatten(), _x(2, 3, 2)),
    ("unflatten", lambda: nn.Unflatten(1, (2, 3)), _x(2, 6)),
    ("batchnorm1d-2d", lambda: nn.BatchNorm1d(3), _x(5, 3)),
    ("batchnorm1d-3d", lambda: nn.BatchNorm1d(2), _x(3, 2, 4)),
    ("batchnorm2d", lambda: nn.BatchNorm2d(2), _x(2, 2, 3, 3)),
    ("batchnorm2d-eval", lambda: nn.BatchNorm2d(2).eval(), _x(2, 2, 3, 3)),
    ("batchnorm2d-no-track", lambda: nn.BatchNorm2d(2, track_running_stats=False), _x(2, 2, 2, 2)),
    ("layernorm", lambda: nn.LayerNorm(4), _x(3, 4)),
    ("layernorm-2axes", lambda: nn.LayerNorm((2, 3)), _x(2, 2, 3)),
    ("groupnorm", lambda: nn.GroupNorm(2, 4), _x(2, 4, 3)),
    ("identity", lambda: nn.Identity(), _x(3, 2)),
    ("relu", lambda: nn.ReLU(), _x(4, 5)),
    ("leakyrelu", lambda: nn.LeakyReLU(0.2), _x(4, 5)),
    ("elu", lambda: nn.ELU(0.5), _x(4, 5)),
    ("gelu", lambda: nn.GELU(), _x(4, 5)),
    ("gelu-tanh", lambda: nn.GELU("tanh"), _x(4, 5)),
    ("silu", lambda: nn.SiLU(), _x(4, 5)),
    ("sigmoid", lambda: nn.Sigmoid(), _x(4, 5)),
    ("tanh", lambda: nn.Tanh(), _x(4, 5)),
    ("softplus", lambda: nn.Softplus(beta=2.0), _x(4, 5)),
    ("softmax", lambda: nn.Softmax(dim=0), _x(4, 5)),
    ("logsoftmax", lambda: nn.LogSoftmax(dim=1), _x(4, 5)),
    (
        "sequential-mlp",
        lambda: nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.LayerNorm(4), nn.Linear(4, 2)),
        _x(2, 3),
    ),
    (
        "sequential-cnn",
        lambda: nn.Sequential(
            nn.Conv2d(1, 2, 3, padding=1),
            nn.BatchNorm2d(2),
            nn.GELU(),
            nn.AvgPool2d(2),
            nn.Flatten(),
            nn.Linear(8, 3),
        ),
        _x(2, 1, 4, 4),
    ),  # fmt: skip
]


@pytest.mark.parametrize("name,make,x", CASES, ids=[c[0] for c in CASES])
def test_layer_gradcheck(name, make, x):
    gn.manual_seed(0)
    check_layer_grad(make(), x.copy())


def test_dropout_gradcheck_with_fixed_mask():
    gn.manual_seed(0)
    check_layer_grad(nn.Dropout(0.3), _x(4, 5), seed=11)


def test_embedding_gradcheck_and_padding_row():
    gn.manual_seed(0)
    ids = np.array([[0, 1, 4], [4, 2, 1]])
    check_layer_grad(nn.Embedding(5, 3), ids)
    # padding_idx deliberately departs from the true derivative: its row gets no gradient,
    # while repeated ids accumulate
    layer = nn.Embedding(5, 3, padding_idx=1)
    layer(gn.tensor(ids)).sum().backward()
    g = layer.weight.grad.numpy()
    np.testing.assert_array_equal(g[1], 0)
    np.testing.assert_array_equal(g[4], 2)
    np.testing.assert_array_equal(g[3], 0)


def test_lazy_linear_gradcheck():
    gn.manual_seed(0)
    layer = nn.Linear(out_features=2)
    layer(gn.zeros(1, 3))
    check_layer_grad(layer, _x(2, 3))
