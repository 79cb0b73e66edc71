"""SyncBatchNorm: BatchNorm exactly with one process; across processes, each one's part of the
batch normalized with the whole batch's statistics. The multi-process path runs here on two
threads that stand for two ranks (a sum all-reduce over a barrier), and is compared with one
BatchNorm over the concatenated batch: outputs, input gradients, the summed parameter
gradients and the running statistics."""

import threading

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.nn.layers import sync_batchnorm


class _TwoThreadWorld:
    """all_reduce(sum) between two threads: each adds its array, both read the total."""

    def __init__(self) -> None:
        self.barrier = threading.Barrier(2)
        self.parts: list = [None, None]
        self.local = threading.local()

    def all_reduce(self, value, op="sum"):
        assert op == "sum"
        self.parts[self.local.rank] = value.copy()
        self.barrier.wait()
        total = self.parts[0] + self.parts[1]
        self.barrier.wait()
        value[...] = total
        return value


@pytest.fixture
def two_ranks(monkeypatch, host_device):
    world = _TwoThreadWorld()
    monkeypatch.setitem(sync_batchnorm.COLLECTIVE, "active", lambda: True)
    monkeypatch.setitem(sync_batchnorm.COLLECTIVE, "sum", world.all_reduce)
    return world


def _run_ranks(world, fn, inputs):
    results, errors = [None, None], []

    def rank(r):
        world.local.rank = r
        try:
            results[r] = fn(inputs[r])
        except Exception as err:  # noqa: BLE001 - re-raised in the test thread
            errors.append(err)
            world.barrier.abort()

    threads = [threading.Thread(target=rank, args=(r,)) for r in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


@pytest.mark.parametrize("shape", [(3, 4, 5, 2), (3, 4)])
def test_two_ranks_match_one_batchnorm_over_the_whole_batch(two_ranks, shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2 * shape[0],) + shape[1:]) * 3 + 1
    x[shape[0] :] += 2.0  # the two halves differ: local statistics would not do
    upstream = rng.standard_normal(x.shape)
    weight, bias = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])

    def make(cls):
        layer = cls(shape[1], momentum=0.3).double()
        layer.weight.data, layer.bias.data = gn.tensor(weight), gn.tensor(bias)
        return layer

    whole = make(nn.BatchNorm1d if len(shape) == 2 else nn.BatchNorm2d)
    xs = gn.tensor(x, requires_grad=True)
    (whole(xs) * gn.tensor(upstream)).sum().backward()

    layers = [make(nn.SyncBatchNorm), make(nn.SyncBatchNorm)]

    def step(r):
        part = gn.tensor(x[r * shape[0] : (r + 1) * shape[0]], requires_grad=True)
        out = layers[r](part)
        (out * gn.tensor(upstream[r * shape[0] : (r + 1) * shape[0]])).sum().backward()
        return out.numpy(), part.grad.numpy()

    results = _run_ranks(two_ranks, step, [0, 1])
    want_out = whole(xs).detach().numpy()  # the updated running stats do not enter training
    np.testing.assert_allclose(np.concatenate([o for o, _ in results]), want_out, atol=1e-12)
    np.testing.assert_allclose(np.concatenate([g for _, g in results]), xs.grad.numpy(), atol=1e-12)
    for name in ("weight", "bias"):  # each rank's own part; DDP sums/averages them
        total = sum(getattr(layer, name).grad.numpy() for layer in layers)
        np.testing.assert_allclose(total, getattr(whole, name).grad.numpy(), atol=1e-12)
    # running statistics: one update with the whole batch's mean and unbiased variance
    reference = make(nn.BatchNorm1d if len(shape) == 2 else nn.BatchNorm2d)
    reference(gn.tensor(x))
    for layer in layers:
        np.testing.assert_allclose(layer.running_mean.numpy(), reference.running_mean.numpy())
        np.testing.assert_allclose(layer.running_var.numpy(), reference.running_var.numpy())
        assert layer.num_batches_tracked.item() == 1


def test_one_process_and_eval_mode_are_batchnorm(host_device):
    gn.manual_seed(0)
    x = gn.randn(6, 3, 4)
    sync, plain = nn.SyncBatchNorm(3), nn.BatchNorm1d(3)
    np.testing.assert_array_equal(sync(x).numpy(), plain(x).numpy())
    np.testing.assert_array_equal(sync.running_var.numpy(), plain.running_var.numpy())
    sync.eval(), plain.eval()
    np.testing.assert_array_equal(sync(x).numpy(), plain(x).numpy())


def test_convert_sync_batchnorm_keeps_parameters_and_statistics():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Sequential(nn.BatchNorm1d(4)))
    weight, running = model[1].weight, model[1].running_mean
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert converted is model
    assert isinstance(model[1], nn.SyncBatchNorm) and isinstance(model[2][0], nn.SyncBatchNorm)
    assert model[1].weight is weight and model[1].running_mean is running
    assert list(model.state_dict()) == [
        "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
        "1.num_batches_tracked", "2.0.weight", "2.0.bias", "2.0.running_mean",
        "2.0.running_var", "2.0.num_batches_tracked",
    ]  # fmt: skip
    root = nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm1d(3))
    assert isinstance(root, nn.SyncBatchNorm)


def test_errors_as_pytorch():
    with pytest.raises(ValueError, match="expected at least 2D input"):
        nn.SyncBatchNorm(3)(gn.ones(3))
    with pytest.raises(NotImplementedError, match="process_group"):
        nn.SyncBatchNorm(3, process_group=object())


def test_glassnet_distributed_registers_its_collectives():
    from glassnet.distributed import comm

    assert sync_batchnorm.COLLECTIVE["active"]() is (
        comm.is_initialized() and comm.world_size() > 1
    )
    assert sync_batchnorm.COLLECTIVE["sum"] is not None
