"""Single-process behaviour of glassnet.distributed (no MPI needed) and the sampler contract."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
import glassnet.distributed as dist
from glassnet.data import DistributedSampler
from glassnet.distributed.launch import mpirun_command, strip_workers


def test_single_process_is_rank_0_of_1_and_collectives_are_identity():
    dist.init()
    assert (dist.rank(), dist.world_size(), dist.is_main_process()) == (0, 1, True)
    t = gn.tensor([1.0, 2.0])
    assert dist.all_reduce(t) is t
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])
    assert dist.all_reduce(3, op="mean") == 3.0
    assert dist.broadcast_object({"a": [1]}) == {"a": [1]}
    dist.barrier()


def test_collective_argument_errors():
    with pytest.raises(ValueError, match="op must be one of"):
        dist.all_reduce(np.ones(2), op="prod")
    with pytest.raises(TypeError, match="needs a float array"):
        dist.all_reduce(np.ones(2, np.int64), op="mean")
    with pytest.raises(TypeError, match="expects a Tensor"):
        dist.all_reduce("x")
    with pytest.raises(ValueError, match="src must lie in"):
        dist.broadcast(np.ones(2), src=1)
    with pytest.raises(ValueError, match="positive number of seconds"):
        dist.init(timeout=-1)


def test_ddp_single_process_is_transparent():
    gn.manual_seed(0)
    inner = gn.nn.Linear(3, 2)
    model = dist.DistributedDataParallel(inner)
    x = gn.tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    model(x).sum().backward()
    np.testing.assert_allclose(inner.weight.grad.numpy(), np.tile([3.0, 5.0, 7.0], (2, 1)))
    assert list(model.state_dict()) == ["weight", "bias"]  # no "module." prefix
    assert model.bucket_sizes == []
    with pytest.raises(TypeError, match="wraps an nn.Module"):
        dist.DistributedDataParallel(lambda x: x)
    with pytest.raises(ValueError, match="bucket_cap_mb"):
        dist.DistributedDataParallel(inner, bucket_cap_mb=0)


@pytest.mark.parametrize("n,replicas", [(10, 2), (12, 3), (7, 7), (64, 4)])
def test_sampler_shards_partition_each_epoch(n, replicas):
    for epoch in range(3):
        shards = []
        for r in range(replicas):
            s = DistributedSampler(n, replicas, r, shuffle=True, seed=5)
            s.set_epoch(epoch)
            shards.append(list(s))
        everything = sorted(i for shard in shards for i in shard)
        assert everything == list(range(n))  # each sample exactly once, no overlap
        assert len({len(shard) for shard in shards}) == 1


def test_sampler_padding_and_drop_last_when_uneven():
    padded = [list(DistributedSampler(7, 3, r, shuffle=False)) for r in range(3)]
    assert [len(s) for s in padded] == [3, 3, 3]
    flat = sorted(i for s in padded for i in s)
    assert set(flat) == set(range(7)) and len(flat) == 9  # 2 wrapped-around repeats
    dropped = [list(DistributedSampler(7, 3, r, shuffle=False, drop_last=True)) for r in range(3)]
    flat = [i for s in dropped for i in s]
    assert [len(s) for s in dropped] == [2, 2, 2] and len(set(flat)) == 6
    with pytest.raises(ValueError, match="drop_last"):
        DistributedSampler(2, 3, 0, drop_last=True)


def test_strip_workers_and_command():
    assert strip_workers(["train", "--workers=4", "--epochs", "1"]) == ["train", "--epochs", "1"]
    cmd = mpirun_command(3, ["python", "-m", "glassnet"], launcher="/nonexistent/mpiexec")
    assert cmd == ["/nonexistent/mpiexec", "-n", "3", "python", "-m", "glassnet"]
    with pytest.raises(ValueError, match="positive int"):
        mpirun_command(0, ["python"], launcher="mpiexec")


def test_docs_example_runs_as_one_plain_process(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "distributed.md").read_text()
    code = text.split("### A hand-written loop", 1)[1].split("```python\n", 1)[1].split("```")[0]
    (tmp_path / "example.py").write_text(code)
    proc = subprocess.run([sys.executable, "example.py"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "ranks 1: last loss" in proc.stdout
    assert (tmp_path / "model.safetensors").is_file()


def test_ddp_transport_choice_and_the_one_time_host_fallback_notice(capsys, monkeypatch):
    from glassnet.backend import Device
    from glassnet.distributed import transport

    choose = transport.choose_transport
    assert choose(Device("cpu"), False, False) == ("host", None)
    assert choose(Device("sim"), False, False) == ("mpi-device", None)
    # a GPU: CUDA-aware MPI first, then NCCL, else host copies with a notice
    gpu = Device("cpu")
    gpu.type = "cuda"
    assert choose(gpu, True, True) == ("mpi-device", None)
    assert choose(gpu, False, True) == ("nccl", None)
    name, notice = choose(gpu, False, False)
    assert name == "host" and "not CUDA-aware" in notice and "host memory" in notice
    assert choose(gpu, False, False, forced="nccl") == ("nccl", None)
    with pytest.raises(ValueError, match="GLASSNET_DDP_TRANSPORT='bogus'"):
        choose(gpu, False, False, forced="bogus")
    # make_transport prints the notice once per process
    # (not importing mpi4py here: MPI_Init would mark this process as an MPI rank)
    monkeypatch.setattr(transport, "_cuda_aware_mpi", lambda: False)
    monkeypatch.setattr(transport, "_nccl_available", lambda: False)
    monkeypatch.setattr(transport, "choose_transport", lambda *a, **k: ("host", "NOTICE"))
    monkeypatch.setattr(transport, "_NOTICE", [False])
    for _ in range(3):
        assert transport.make_transport(gpu, None).name == "host"
    assert capsys.readouterr().err.count("NOTICE") == 1


def test_device_buckets_hold_gradients_on_the_device():
    import glassnet as gn
    from glassnet.backend import Device
    from glassnet.backend.sim import TRANSFERS
    from glassnet.distributed.transport import MpiDeviceTransport

    t = MpiDeviceTransport(None, Device("sim"))
    buf = t.alloc(4, np.float32)
    g = gn.tensor([1.0, 2.0, 3.0, 4.0], device="sim")._data
    TRANSFERS.reset()
    t.fill(buf, g)
    t.fill(buf, g, previous=g)
    assert TRANSFERS.count == 0 and t.to_param(buf, "sim") is buf
    np.testing.assert_array_equal(buf.get(), [2.0, 4.0, 6.0, 8.0])
