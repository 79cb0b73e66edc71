"""PyTorch's module paths (issue 13 item 4), the DataLoader (item 5) and save/load (item 8).

Expected values follow PyTorch's documented behaviour (default_collate, samplers, torch.save
round trips), checked once by hand against torch 2.13.0; the tests never import torch.
"""

import importlib
import io
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import glassnet as gn


def test_module_paths_import_as_in_pytorch():
    import glassnet.nn.functional as F
    from glassnet.nn.utils import clip_grad_norm_, clip_grad_value_
    from glassnet.optim.lr_scheduler import StepLR  # noqa: F401
    from glassnet.utils.data import (  # noqa: F401
        BatchSampler,
        DataLoader,
        Dataset,
        RandomSampler,
        SequentialSampler,
        Subset,
        TensorDataset,
        random_split,
    )

    assert F.relu is gn.functional.relu and F.cross_entropy is gn.functional.cross_entropy
    assert callable(clip_grad_norm_) and callable(clip_grad_value_)
    assert gn.nn.functional is F and callable(gn.nn.init.xavier_uniform_)
    assert callable(gn.autograd.grad) and gn.autograd.Function is not None
    for name in ("glassnet.onnx", "glassnet.distributed", "glassnet.nn.parallel"):
        importlib.import_module(name)
    with pytest.raises(NotImplementedError, match="DistributedDataParallel"):
        gn.nn.parallel.DataParallel(gn.nn.Linear(1, 1))


def test_import_glassnet_nn_does_not_import_the_optimizers():
    code = "import sys, glassnet.nn; print('glassnet.optim' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_autograd_grad_and_inference_mode():
    x = gn.tensor([3.0], requires_grad=True)
    (g,) = gn.autograd.grad((x * x).sum(), [x])
    assert g.tolist() == [6.0]
    with gn.inference_mode():
        assert not (x * 2).requires_grad
    with gn.inference_mode(False):
        assert (x * 2).requires_grad

    @gn.inference_mode()
    def f(t):
        return t * 2

    assert not f(x).requires_grad


def test_functional_pad_and_one_hot_use_pytorchs_conventions():
    import glassnet.nn.functional as F

    x = gn.ones(1, 2, 3)
    # torch: pad=(1, 2) pads the LAST dim by 1 before and 2 after; (1, 2, 0, 1) also dim -2
    assert F.pad(x, (1, 2)).shape == (1, 2, 6)
    assert F.pad(x, (1, 2, 0, 1), value=5.0).shape == (1, 3, 6)
    assert F.pad(gn.ones(2), (1, 0)).tolist() == [0.0, 1.0, 1.0]
    reflected = F.pad(gn.tensor([[[1.0, 2.0, 3.0]]]), (1, 1), mode="reflect")
    assert reflected.tolist() == [[[2.0, 1.0, 2.0, 3.0, 2.0]]]
    assert F.one_hot(gn.tensor([0, 2])).tolist() == [[1, 0, 0], [0, 0, 1]]
    assert F.one_hot(gn.tensor([1]), num_classes=4).dtype == gn.int64


def test_parameters_to_vector_round_trip():
    from glassnet.nn.utils import parameters_to_vector, vector_to_parameters

    model = gn.nn.Linear(3, 2)
    vec = parameters_to_vector(model.parameters())
    assert vec.shape == (8,)
    assert vec.tolist()[:6] == model.weight.detach().numpy().reshape(-1).tolist()
    vector_to_parameters(gn.arange(8, dtype="float32"), model.parameters())
    assert model.bias.tolist() == [6.0, 7.0]


# -- DataLoader ---------------------------------------------------------------------------------
class Squares(gn.utils.data.Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.full(2, i, dtype=np.float32), "y": i * i, "w": 0.5, "name": f"s{i}"}


def test_dataloader_yields_tensors_collated_as_pytorch():
    from glassnet.utils.data import DataLoader, TensorDataset

    batch = next(iter(DataLoader(Squares(), batch_size=2)))
    assert isinstance(batch["x"], gn.Tensor) and batch["x"].shape == (2, 2)
    assert batch["y"].tolist() == [0, 1] and batch["y"].dtype == gn.int64
    assert batch["w"].dtype == gn.float64  # torch: Python floats collate to float64
    assert batch["name"] == ["s0", "s1"]
    ds = TensorDataset(gn.arange(10, dtype="float32").reshape(5, 2), gn.arange(5))
    batches = list(DataLoader(ds, batch_size=2, drop_last=True, num_workers=2, pin_memory=True))
    assert len(batches) == 2 and isinstance(batches[0], list)  # torch: a list for tuple items
    assert batches[1][1].tolist() == [2, 3]
    # PyTorch's default batch_size is 1
    assert next(iter(DataLoader(ds)))[0].shape == (1, 2)
    # a list of samples is a dataset, as in PyTorch
    assert next(iter(DataLoader([(1.0, 2), (3.0, 4)], batch_size=2)))[0].tolist() == [1.0, 3.0]
    out = list(DataLoader(ds, batch_size=3, collate_fn=lambda s: len(s)))
    assert out == [3, 2]


def test_samplers_are_lazy_and_never_materialized():
    from glassnet.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler

    ds = gn.utils.data.TensorDataset(gn.arange(10))
    tracemalloc.start()
    sampler = RandomSampler(ds, replacement=True, num_samples=10**10)
    loader = DataLoader(ds, batch_size=4, sampler=sampler)
    first = next(iter(loader))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 50 * 2**20 and len(loader) == 2_500_000_000
    assert first[0].shape == (4,) and all(0 <= v < 10 for v in first[0].tolist())
    perm = list(RandomSampler(ds, generator=gn.Generator().manual_seed(0)))
    assert sorted(perm) == list(range(10))
    assert list(SequentialSampler(ds)) == list(range(10))
    assert list(BatchSampler(SequentialSampler(range(5)), 2, drop_last=True)) == [[0, 1], [2, 3]]
    batches = [
        b[0].tolist() for b in DataLoader(ds, batch_sampler=BatchSampler(range(5), 3, False))
    ]
    assert batches == [[0, 1, 2], [3, 4]]


def test_generator_and_random_split():
    from glassnet.utils.data import DataLoader, random_split

    ds = gn.utils.data.TensorDataset(gn.arange(10))
    a = [
        b[0].tolist()
        for b in DataLoader(ds, 5, shuffle=True, generator=gn.Generator().manual_seed(3))
    ]
    b = [
        b[0].tolist()
        for b in DataLoader(ds, 5, shuffle=True, generator=gn.Generator().manual_seed(3))
    ]
    assert a == b and sorted(a[0] + a[1]) == list(range(10))
    train, val = random_split(ds, [0.7, 0.3], generator=gn.Generator().manual_seed(1))
    assert len(train) == 7 and len(val) == 3


def test_readme_style_usage_still_works():
    from glassnet.data import DataLoader

    x, y = np.zeros((10, 3), np.float32), np.arange(10)
    batches = list(DataLoader((x, y), batch_size=4, shuffle=True, seed=0))
    assert [len(yb) for _, yb in batches] == [4, 4, 2]
    assert isinstance(batches[0][0], gn.Tensor)


# -- save / load ---------------------------------------------------------------------------------
def test_save_load_state_dicts_and_nested_objects(tmp_path):
    model = gn.nn.Sequential(gn.nn.Linear(3, 4), gn.nn.ReLU(), gn.nn.Linear(4, 2))
    opt = gn.optim.Adam(model.parameters(), lr=0.01)
    model(gn.randn(5, 3)).sum().backward()
    opt.step()
    obj = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "epoch": 3,
        "loss": 0.25,
        "name": "run",
        "flags": [True, None, (1, 2.5)],
        "array": np.arange(3),
    }
    gn.save(obj, tmp_path / "ckpt.safetensors")
    back = gn.load(tmp_path / "ckpt.safetensors", weights_only=True)
    assert back["epoch"] == 3 and back["loss"] == 0.25 and back["name"] == "run"
    assert back["flags"] == [True, None, (1, 2.5)]
    np.testing.assert_array_equal(back["array"], np.arange(3))
    fresh = gn.nn.Sequential(gn.nn.Linear(3, 4), gn.nn.ReLU(), gn.nn.Linear(4, 2))
    fresh.load_state_dict(back["model"])
    for (k, v), (k2, v2) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert k == k2 and np.array_equal(v.numpy(), v2.numpy())
    fresh_opt = gn.optim.Adam(fresh.parameters(), lr=0.5)
    fresh_opt.load_state_dict(back["optimizer"])
    assert fresh_opt.param_groups[0]["lr"] == 0.01
    assert sorted(back["optimizer"]["state"]) == sorted(opt.state_dict()["state"])  # int keys


def test_save_load_file_objects_and_map_location():
    buffer = io.BytesIO()
    w = gn.tensor([[1.0, 2.0]], requires_grad=True)
    gn.save([w, gn.tensor([1, 2])], buffer)
    buffer.seek(0)
    back = gn.load(buffer, map_location="cpu")
    assert back[0].tolist() == [[1.0, 2.0]] and back[0].requires_grad
    assert back[1].dtype == gn.int64


def test_save_load_refuse_the_checkpoint_order_and_unpicklable_things(tmp_path):
    model = gn.nn.Linear(2, 2)
    with pytest.raises(TypeError, match="save_checkpoint"):
        gn.save(str(tmp_path / "m.safetensors"), model)
    with pytest.raises(TypeError, match="state_dict"):
        gn.save(model, tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="object"):
        gn.save({"f": object()}, tmp_path / "x.safetensors")
    gn.save(model.state_dict(), tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="load_checkpoint"):
        gn.load(tmp_path / "m.safetensors", model)
    (tmp_path / "evil.pt").write_bytes(b"\x80\x04\x95" + b"\x00" * 64)  # a pickle header
    with pytest.raises(ValueError, match="safetensors"):
        gn.load(tmp_path / "evil.pt")


def test_load_reads_checkpoints_and_plain_weights_as_tensors_by_name(tmp_path):
    model = gn.nn.Linear(2, 3)
    gn.save_checkpoint(tmp_path / "c.safetensors", model, epoch=1)
    weights = gn.load(tmp_path / "c.safetensors")
    assert set(weights) == {"weight", "bias"} and isinstance(weights["weight"], gn.Tensor)
    assert gn.load_checkpoint(tmp_path / "c.safetensors").epoch == 1
