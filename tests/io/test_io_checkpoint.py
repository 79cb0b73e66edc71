"""Checkpoints: round trips, optimizer/RNG state, interop, atomic writes, fuzzed files."""

import os

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn, optim
from glassnet.backend import to_numpy
from glassnet.io import decode, encode
from glassnet.io import safetensors_format as fmt


def _model():
    gn.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def _train_a_little(model, opt, steps=3):
    x = gn.tensor(np.random.default_rng(1).normal(size=(16, 4)).astype(np.float32))
    y = gn.tensor(np.arange(16) % 3)
    for _ in range(steps):
        opt.zero_grad()
        gn.functional.cross_entropy(model(x), y).backward()
        opt.step()


def test_round_trip_weights_optimizer_rng_and_metadata(tmp_path):
    model = _model()
    opt = optim.Adam(model.parameters(), lr=0.01)
    _train_a_little(model, opt)
    path = gn.save_checkpoint(
        tmp_path / "c.safetensors", model, opt, epoch=2, metrics={"loss": 0.5}
    )
    after_save = gn.randn(3).numpy()  # what the RNG gives next

    other = _model()
    other_opt = optim.Adam(other.parameters(), lr=0.5)
    gn.manual_seed(123)
    ckpt = gn.load_checkpoint(path, other, other_opt)
    assert ckpt.epoch == 2 and ckpt.metadata["metrics"] == {"loss": 0.5}
    for (k, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    assert other_opt.param_groups[0]["lr"] == 0.01
    sa, sb = opt.state_dict(), other_opt.state_dict()
    assert sa["param_groups"] == sb["param_groups"]
    for idx in sa["state"]:
        for name, value in sa["state"][idx].items():
            np.testing.assert_array_equal(to_numpy(value), to_numpy(sb["state"][idx][name]))
    np.testing.assert_array_equal(gn.randn(3).numpy(), after_save)  # RNG restored
    # Both optimizers continue identically.
    _train_a_little(model, opt, 2)
    _train_a_little(other, other_opt, 2)
    np.testing.assert_array_equal(model[0].weight.numpy(), other[0].weight.numpy())


def test_load_without_optimizer_keeps_rng_and_reads_metadata_only(tmp_path):
    model = _model()
    gn.save_checkpoint(tmp_path / "m.safetensors", model, note="hi")
    gn.manual_seed(5)
    expected = gn.randn(2).numpy()
    gn.manual_seed(5)
    ckpt = gn.load_checkpoint(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(gn.randn(2).numpy(), expected)
    assert ckpt.metadata == {"note": "hi"} and ckpt.optimizer_state is None
    with pytest.raises(ValueError, match="no optimizer state"):
        gn.load_checkpoint(tmp_path / "m.safetensors", model, optim.SGD(model.parameters(), lr=0.1))


def test_interop_with_the_safetensors_package(tmp_path):
    from safetensors.numpy import load_file, save_file

    model = _model()
    gn.save_checkpoint(tmp_path / "ours.safetensors", model)
    theirs = load_file(str(tmp_path / "ours.safetensors"))
    assert set(theirs) == set(model.state_dict())
    # A plain safetensors weight file (published weights) loads by name.
    weights = {k: np.full(v.shape, 0.25, np.float32) for k, v in model.state_dict().items()}
    save_file(weights, str(tmp_path / "plain.safetensors"))
    gn.load_checkpoint(tmp_path / "plain.safetensors", model)
    assert np.all(model[2].bias.numpy() == 0.25)


def test_shape_mismatch_and_missing_file_errors(tmp_path):
    gn.save_checkpoint(tmp_path / "a.safetensors", _model())
    wrong = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))
    with pytest.raises(ValueError, match="shape mismatch"):
        gn.load_checkpoint(tmp_path / "a.safetensors", wrong)
    with pytest.raises(FileNotFoundError):
        gn.load_checkpoint(tmp_path / "missing.safetensors")


def test_encode_decode_dtypes_and_checksum():
    tensors = {
        "f16": np.arange(3, dtype=np.float16),
        "f64": np.ones((2, 2)),
        "i64": np.arange(4).reshape(2, 2),
        "u8": np.array([1, 255], np.uint8),
        "b": np.array([True, False]),
        "big_endian": np.arange(3, dtype=">f4"),
        "empty": np.zeros((0, 3), np.float32),
    }
    out, meta = decode(encode(tensors, {"a": "b"}, checksum=True))
    assert meta["a"] == "b" and "data_sha256" in meta
    for k, v in tensors.items():
        np.testing.assert_array_equal(out[k], v)
    with pytest.raises(TypeError, match="complex"):
        encode({"c": np.zeros(2, np.complex64)})


@pytest.mark.parametrize(
    "blob, message",
    [
        (b"", "header too small"),
        (b"\x00" * 8, "invalid JSON"),
        ((2**40).to_bytes(8, "little") + b"{}", "header too large"),
        # a zip (torch.save) is refused, a pickle never unpickled
        (b"PK\x03\x04" + b"\x00" * 60, "header too large|invalid header"),
        (b"\x80\x04\x95" + b"\x00" * 40, "invalid header length"),
    ],
)
def test_foreign_and_truncated_files_raise_value_error(tmp_path, blob, message):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(blob)
    with pytest.raises(ValueError, match=message):
        gn.load_checkpoint(path)


def test_fuzzed_checkpoints_raise_value_error_or_load(tmp_path):
    model = _model()
    opt = optim.Adam(model.parameters())
    _train_a_little(model, opt, 1)
    good = gn.save_checkpoint(tmp_path / "good.safetensors", model, opt, epoch=1).read_bytes()
    rng = np.random.default_rng(0)
    path = tmp_path / "fuzz.safetensors"
    outcomes = {"error": 0, "loaded": 0}
    for trial in range(400):
        kind = trial % 4
        blob = bytearray(good)
        if kind == 0:  # random bytes
            blob = bytearray(rng.integers(0, 256, rng.integers(0, 300), dtype=np.uint8).tobytes())
        elif kind == 1:  # truncated
            blob = blob[: rng.integers(0, len(blob))]
        elif kind == 2:  # flipped bytes anywhere
            for pos in rng.integers(0, len(blob), rng.integers(1, 6)):
                blob[pos] = int(rng.integers(0, 256))
        else:  # flipped bytes inside the header, where the structure lives
            size = int.from_bytes(good[:8], "little")
            for pos in rng.integers(8, 8 + size, rng.integers(1, 4)):
                blob[pos] = int(rng.integers(32, 127))
        path.write_bytes(bytes(blob))
        try:
            gn.load_checkpoint(path, _model(), optim.Adam(_model().parameters()))
            outcomes["loaded"] += 1  # a mutation of padding or whitespace can be harmless
        except ValueError:
            outcomes["error"] += 1
    assert outcomes["error"] > 350


def test_checksum_catches_flipped_weight_bits(tmp_path):
    path = gn.save_checkpoint(tmp_path / "w.safetensors", _model())
    blob = bytearray(path.read_bytes())
    blob[-3] ^= 0x10
    path.write_bytes(bytes(blob))
    with pytest.raises(ValueError, match="SHA-256"):
        gn.load_checkpoint(path)


def test_interrupted_save_leaves_previous_checkpoint_intact(tmp_path, monkeypatch):
    model = _model()
    path = gn.save_checkpoint(tmp_path / "c.safetensors", model, epoch=1)
    before = path.read_bytes()
    with gn.no_grad():
        model[0].weight._data[...] = 7.0

    def crash(fd):
        raise KeyboardInterrupt  # e.g. Ctrl-C or a kill between write and rename

    monkeypatch.setattr(fmt.os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        gn.save_checkpoint(path, model, epoch=2)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["c.safetensors"]  # no temporary file left behind
    assert gn.load_checkpoint(path).epoch == 1


def test_metadata_must_be_json(tmp_path):
    with pytest.raises(TypeError, match="JSON-serialisable"):
        gn.save_checkpoint(tmp_path / "x.safetensors", _model(), thing=object())
