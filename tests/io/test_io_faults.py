"""Checkpoints under attack: bounded work for any file, a checksum over everything glassnet
trusts, one ValueError line for every bad field, umask-respecting modes, kills mid-save."""

import hashlib
import json
import os
import resource
import signal
import time

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn, optim
from glassnet.backend import to_numpy
from glassnet.io import read_checkpoint
from glassnet.io.safetensors_format import encode


def _model():
    gn.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def _trained(tmp_path):
    model = _model()
    opt = optim.Adam(model.parameters(), lr=0.01)
    x = gn.tensor(np.random.default_rng(1).normal(size=(16, 4)).astype(np.float32))
    y = gn.tensor(np.arange(16) % 3)
    for _ in range(2):
        opt.zero_grad()
        gn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    loader = gn.data.DataLoader((np.zeros((8, 4)), np.zeros(8)), batch_size=2, shuffle=True)
    stopping = {"EarlyStopping": {"best": 0.5, "best_epoch": 1, "wait": 0}}
    path = gn.save_checkpoint(tmp_path / "good.safetensors", model, opt, epoch=2, step=7,
                   loader_state=loader.state_dict(), metrics={"loss": 0.5},
                   callbacks=stopping)  # fmt: skip
    return path


def _header(blob: bytes) -> tuple[dict, dict]:
    from safetensors import safe_open  # noqa: F401 - the container is the library's

    size = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + size])
    return header, json.loads(header["__metadata__"]["glassnet"])


def _state(model, opt) -> tuple:
    """Everything a load restores, as bytes, to compare two loads bit for bit."""
    weights = b"".join(t.numpy().tobytes() for t in model.state_dict().values())
    opt_state = json.dumps(
        {str(k): {n: to_numpy(v).tolist() for n, v in s.items()} for k, s in
         opt.state_dict()["state"].items()}, sort_keys=True)  # fmt: skip
    groups = json.dumps(opt.state_dict()["param_groups"], sort_keys=True, default=str)
    return weights, opt_state, groups, gn.randn(4).numpy().tobytes()


def _load_all(path, into=None):
    model, opt = into or (None, None)
    if model is None:
        model = _model()
        opt = optim.Adam(model.parameters())
    ckpt = gn.load_checkpoint(path, model, opt)
    return _state(model, opt), json.dumps(ckpt.metadata, sort_keys=True)


@pytest.mark.parametrize(
    "trials", [800, pytest.param(3000, marks=pytest.mark.slow)], ids=["fast", "3000"]
)
def test_every_byte_mutation_fails_cleanly_or_changes_nothing(tmp_path, trials):
    """Random byte mutations (fixed seed; 3,000 in the slow run): each one raises ValueError
    or loads exactly what the original file holds (weights, optimizer state, RNG, metadata).
    Before the checksum covered glassnet's metadata, 95 in 3,000 silently changed the
    resumed state; each load must also finish in well under a second."""
    good = _trained(tmp_path).read_bytes()
    expected = _load_all(tmp_path / "good.safetensors")
    rng = np.random.default_rng(12)
    path = tmp_path / "m.safetensors"
    size = int.from_bytes(good[:8], "little")
    outcomes = {"error": 0, "same": 0}
    slowest = 0.0
    model = _model()
    into = (model, optim.Adam(model.parameters()))
    for trial in range(trials):
        blob = bytearray(good)
        # half the mutations hit the header, where the structure and metadata live
        top = 8 + size if trial % 2 else len(blob)
        for pos in rng.integers(0, top, rng.integers(1, 4)):
            blob[pos] = int(rng.integers(0, 256))
        path.write_bytes(bytes(blob))
        start = time.perf_counter()
        try:
            got = _load_all(path, into)
        except ValueError as exc:
            assert "\n" not in str(exc)
            outcomes["error"] += 1
        else:
            assert got == expected, f"trial {trial}: a mutation changed what loads"
            outcomes["same"] += 1
        slowest = max(slowest, time.perf_counter() - start)
    # the rest hit padding spaces or the JSON's whitespace
    assert outcomes["error"] > 0.85 * trials
    assert slowest < 1.0, f"one load took {slowest:.2f} s"


def _craft(header: dict, data: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + data


@pytest.mark.parametrize(
    "blob, message",
    [
        # 200,000 dimensions: once a quadratic loop; NumPy holds at most 64
        (
            _craft(
                {"a": {"dtype": "F32", "shape": [1] * 200_000, "data_offsets": [0, 4]}}, b"\0" * 4
            ),
            "dimensions",
        ),  # fmt: skip
        (
            _craft(
                {"a": {"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 4]}}, b"\0" * 4
            ),
            "overflow",
        ),  # fmt: skip
        (
            _craft(
                {"a": {"dtype": "F32", "shape": [10**9], "data_offsets": [0, 4 * 10**9]}}, b"\0" * 4
            ),
            "not fully covered",
        ),  # fmt: skip
        (
            _craft({"a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4),
            "unsupported dtype",
        ),  # fmt: skip
        (
            _craft({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 8),
            "not fully covered",
        ),  # fmt: skip
    ],
)
def test_hostile_headers_cost_microseconds(tmp_path, blob, message):
    path = tmp_path / "h.safetensors"
    path.write_bytes(blob)
    start = time.perf_counter()
    with pytest.raises(ValueError, match=message):
        gn.load_checkpoint(path)
    assert time.perf_counter() - start < 0.5


def test_a_3_gib_file_is_checked_before_it_is_read(tmp_path):
    """A sparse 3 GiB file whose header describes 1 KiB: refused from its size alone, in
    milliseconds and without reading (or allocating) the 3 GiB."""
    path = tmp_path / "big.safetensors"
    head = _craft({"a": {"dtype": "F32", "shape": [256], "data_offsets": [0, 1024]}})
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(3 * 2**30)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(ValueError, match="not fully covered"):
        gn.load_checkpoint(path)
    assert time.perf_counter() - start < 0.5
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 100


def _rewrite(path, change, checksum="v1"):
    """Re-encode ``path`` with its glassnet JSON changed by ``change(dict)``. "v1": as an
    old file (checksum over tensor bytes only), "stale": keep the v2 checksum."""
    header, meta = _header(path.read_bytes())
    tensors = read_checkpoint_arrays(path)
    change(meta)
    if checksum == "v1":
        meta["format"] = "glassnet.checkpoint.v1"
        blob = encode(tensors, {"glassnet": json.dumps(meta)}, checksum=True)
    else:
        stale = header["__metadata__"]["glassnet_sha256"]
        blob = encode(tensors, {"glassnet": json.dumps(meta), "glassnet_sha256": stale})
    out = path.with_name("changed.safetensors")
    out.write_bytes(blob)
    return out


def read_checkpoint_arrays(path):
    from glassnet.io import read_file

    return read_file(path)[0]


def test_checksum_covers_glassnet_metadata(tmp_path):
    path = _trained(tmp_path)
    changed = _rewrite(path, lambda m: m["metadata"].update(epoch=3), checksum="stale")
    with pytest.raises(ValueError, match="checksum"):
        gn.load_checkpoint(changed)
    assert read_checkpoint(path).epoch == 2


def test_v1_files_still_load(tmp_path):
    path = _trained(tmp_path)
    old = _rewrite(path, lambda m: None)
    assert _load_all(old) == _load_all(path)


def _set(*keys, value):
    def change(meta):
        target = meta
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return change


BAD_FIELDS = {
    "epoch negative": (_set("metadata", "epoch", value=-1), "metadata.epoch"),
    "epoch float": (_set("metadata", "epoch", value=1e300), "metadata.epoch"),
    "epoch string": (_set("metadata", "epoch", value="3"), "metadata.epoch"),
    "step huge": (_set("metadata", "step", value=2**70), "metadata.step"),
    "rng inc text": (_set("rng_state", "state", "inc", value="abc"), "rng_state.state.inc"),
    "rng 2**200": (_set("rng_state", "state", "state", value=str(2**200)), "rng_state.state"),
    "rng has_uint32": (_set("rng_state", "has_uint32", value=5), "has_uint32"),
    "rng missing": (_set("rng_state", value={"bit_generator": "PCG64"}), "rng_state"),
    "loader done": (_set("metadata", "loader_state", "batches_done", value=-2), "batches_done"),
    "loader rng": (_set("metadata", "loader_state", "rng_state", value=[]), "loader_state"),
    "lr nan": (_set("optimizer", "param_groups", 0, "lr", value=float("nan")), "lr"),
    "lr text": (_set("optimizer", "param_groups", 0, "lr", value={"x": 1}), "lr"),
    "params dup": (_set("optimizer", "param_groups", 0, "params", value=[0, 0]), "twice"),
    "opt step": (_set("optimizer", "scalars", "0", "step", value=-1), "step"),
    "opt array": (_set("optimizer", "arrays", "0", value=["nope"]), "missing"),
    "callbacks": (_set("metadata", "callbacks", "EarlyStopping", value=3), "callbacks"),
    "distributed": (_set("metadata", "distributed", value={"world_size": 0}), "world_size"),
    "metadata list": (_set("metadata", value=[1]), "metadata"),
}


@pytest.mark.parametrize("case", list(BAD_FIELDS))
def test_every_resumed_field_is_validated(tmp_path, case):
    change, field = BAD_FIELDS[case]
    changed = _rewrite(_trained(tmp_path), change)
    model = _model()
    with pytest.raises(ValueError, match=field) as info:
        gn.load_checkpoint(changed, model, optim.Adam(model.parameters()))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_saved_files_follow_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        path = gn.save_checkpoint(tmp_path / "u.safetensors", _model())
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_sigkill_during_save_leaves_a_loadable_checkpoint(tmp_path):
    """24 kills at random moments of a loop of saves (fixed seed): each time the file on
    disk is the previous or the next checkpoint, whole, and the next save cleans up."""
    from glassnet._fs import remove_stale_temps

    path = tmp_path / "c.safetensors"
    model = _model()
    gn.save_checkpoint(path, model, epoch=0)
    rng = np.random.default_rng(3)
    epochs_seen = set()
    for _ in range(24):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child is killed
            try:
                for epoch in range(1, 10**6):
                    gn.save_checkpoint(path, model, epoch=epoch)
            finally:
                os._exit(0)
        time.sleep(float(rng.uniform(0.0, 0.1)))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        epochs_seen.add(read_checkpoint(path).epoch)  # never torn: verified by its checksum
        remove_stale_temps(tmp_path)
        assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]
    assert len(epochs_seen) >= 3  # the kills did land at different points


def test_checkpoint_digest_is_stable():
    """The checksum is a pure function of names, dtypes, shapes and bytes (recorded once)."""
    from glassnet.io.safetensors_format import tensor_digest

    digest = tensor_digest({"w": np.arange(4, dtype=np.float32).reshape(2, 2)}, b"x")
    expected = hashlib.sha256(b"x" + b"w\0F32\0[2, 2]\0" + np.arange(4, dtype="<f4").tobytes())
    assert digest == expected.hexdigest()


@pytest.mark.parametrize(
    "structure",
    [
        '{"format": "glassnet.save/1", "object": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"format": "glassnet.save/1", "object": {"__dict__": [[[1], 2]]}}',  # unhashable key
        '{"format": "glassnet.save/1", "object": {"__tensor__": "missing"}}',
        '{"format": "glassnet.save/1", "object": {"__other__": 1}}',
        '["not", "an", "object"]',
    ],
)
def test_load_of_a_crafted_structure_is_one_value_error(tmp_path, structure):
    """gn.load's JSON structure comes from the file: nesting past the recursion limit raised
    RecursionError instead of the ValueError every other bad file gives."""
    path = tmp_path / "crafted.safetensors"
    path.write_bytes(encode({"t0": np.zeros(2, np.float32)}, {"glassnet_object": structure}))
    with pytest.raises(ValueError, match="invalid glassnet.save structure"):
        gn.load(path)
