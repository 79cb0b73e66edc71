"""Read and write the safetensors file format with NumPy, validating every byte we trust.

The format (https://huggingface.co/docs/safetensors): an 8-byte little-endian unsigned
header length ``N``, then ``N`` bytes of UTF-8 JSON mapping each tensor name to
``{"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}`` (offsets relative to the
data section; an optional ``"__metadata__"`` maps strings to strings), then the raw
little-endian tensor bytes. Nothing in it is executable, which is why glassnet uses it
instead of pickle. The reader checks lengths, offsets, dtypes and shapes before touching the
data, so a truncated, corrupt or foreign file raises ``ValueError`` instead of crashing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from glassnet._fs import fsync_dir

__all__ = ["atomic_write_bytes", "decode", "encode", "read_file"]

_DTYPES = {
    "BOOL": np.dtype(np.bool_),
    "U8": np.dtype("<u1"),
    "I8": np.dtype("<i1"),
    "U16": np.dtype("<u2"),
    "I16": np.dtype("<i2"),
    "U32": np.dtype("<u4"),
    "I32": np.dtype("<i4"),
    "U64": np.dtype("<u8"),
    "I64": np.dtype("<i8"),
    "F16": np.dtype("<f2"),
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
}
MAX_HEADER = 100 * 1024 * 1024  # the reference implementation's limit


def _code_of(array: np.ndarray, name: str) -> str:
    dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
    for code, candidate in _DTYPES.items():
        if dtype == candidate:
            return code
    raise TypeError(
        f"cannot save tensor {name!r} of dtype {array.dtype} to safetensors; supported: "
        "bool, (u)int8..64, float16/32/64"
    )


def encode(
    tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None, checksum: bool = False
) -> bytes:
    """Serialize NumPy arrays (and string metadata) to safetensors bytes.

    With ``checksum=True`` the SHA-256 of the data section is stored in the metadata under
    ``"data_sha256"``; :func:`decode` verifies it, so flipped bits in the weights are caught.

    >>> blob = encode({"w": np.ones((2, 2), np.float32)}, {"epoch": "3"})
    >>> decode(blob)[0]["w"].sum(), decode(blob)[1]
    (np.float32(4.0), {'epoch': '3'})
    """
    metadata = dict(metadata or {})
    bad = [k for k, v in metadata.items() if not isinstance(k, str) or not isinstance(v, str)]
    if bad:
        raise TypeError(f"safetensors metadata must map str to str; bad keys: {bad}")
    entries: dict = {}
    chunks, offset = [], 0
    for name in sorted(tensors):  # sorted names: the same tensors give the same bytes
        if not isinstance(name, str) or name == "__metadata__":
            raise ValueError(f"invalid tensor name {name!r}")
        array = np.ascontiguousarray(tensors[name])
        code = _code_of(array, name)
        data = array.astype(_DTYPES[code], copy=False).tobytes()
        entries[name] = {
            "dtype": code,
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    if checksum:
        digest = hashlib.sha256()
        for chunk in chunks:
            digest.update(chunk)
        metadata["data_sha256"] = digest.hexdigest()
    header = {"__metadata__": metadata, **entries} if metadata else entries
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # pad so the data section starts 8-byte aligned
    return len(raw).to_bytes(8, "little") + raw + b"".join(chunks)


def _fail(source: str, why: str) -> ValueError:
    return ValueError(
        f"{source} is not a valid safetensors checkpoint: {why}. The file may be truncated, "
        "corrupt or of another format (glassnet never loads pickle files such as .pt/.pkl); "
        "re-save it with gn.save_checkpoint() or gn.save()"
    )


def decode(blob: bytes, source: str = "data") -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Parse safetensors bytes into ``({name: array}, metadata)``; raise ``ValueError`` on any
    inconsistency (the arrays are fresh copies, writable, in the saved dtypes)."""
    if len(blob) < 8:
        raise _fail(source, f"it holds {len(blob)} bytes, fewer than the 8-byte header length")
    size = int.from_bytes(blob[:8], "little")
    if size > MAX_HEADER or 8 + size > len(blob):
        raise _fail(source, f"header length {size} does not fit in a file of {len(blob)} bytes")
    try:
        header = json.loads(blob[8 : 8 + size].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _fail(source, f"its header is not UTF-8 JSON ({type(exc).__name__})") from None
    if not isinstance(header, dict):
        raise _fail(source, "its header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise _fail(source, "__metadata__ must map strings to strings")
    data = memoryview(blob)[8 + size :]
    spans, tensors = [], {}
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise _fail(source, f"entry {name!r:.60} lacks dtype/shape/data_offsets")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in _DTYPES:
            raise _fail(source, f"tensor {name!r:.60} has unsupported dtype {dtype!r:.20}")
        if not isinstance(shape, list) or not all(type(d) is int and 0 <= d < 2**40 for d in shape):
            raise _fail(source, f"tensor {name!r:.60} has an invalid shape")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(type(o) is int for o in offsets)
        ):
            raise _fail(source, f"tensor {name!r:.60} has invalid data_offsets")
        begin, end = offsets
        nbytes = math.prod(shape) * _DTYPES[dtype].itemsize
        if not 0 <= begin <= end <= len(data) or end - begin != nbytes:
            raise _fail(
                source,
                f"tensor {name!r:.60} claims bytes [{begin}, {end}) for {nbytes} bytes of data "
                f"but the data section holds {len(data)} bytes",
            )
        spans.append((begin, end))
        tensors[name] = np.frombuffer(data[begin:end], dtype=_DTYPES[dtype]).reshape(shape).copy()
    spans.sort()
    position = 0
    for begin, end in spans:
        if begin != position:
            raise _fail(source, "tensor data overlaps or leaves gaps")
        position = end
    if position != len(data):
        raise _fail(source, f"{len(data) - position} trailing bytes after the last tensor")
    expected = metadata.get("data_sha256")
    if expected is not None and hashlib.sha256(data).hexdigest() != expected:
        raise _fail(source, "the SHA-256 of its tensor data does not match the stored checksum")
    return tensors, metadata


def read_file(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a safetensors file; a missing file raises ``FileNotFoundError``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {str(path)!r}")
    return decode(path.read_bytes(), source=repr(str(path)))


def atomic_write_bytes(path: str | os.PathLike, blob: bytes) -> None:
    """Write ``blob`` to ``path`` so that readers see the old file or the new one, never a
    half-written one: write a temporary file in the same directory, flush and fsync it, then
    ``os.replace`` it over ``path`` (atomic on POSIX and Windows)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # includes KeyboardInterrupt: never leave the temp file behind
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)  # persist the rename itself
