"""Tests for download(), cache_dir() and the downloadable datasets, against a local server.

Every request goes to an http.server bound to 127.0.0.1 in a thread; nothing touches the
internet. The served files are tiny fakes in the real formats (IDX, CIFAR-10 binary tar.gz).
"""

import functools
import gzip
import hashlib
import http.server
import importlib
import io
import os
import socket
import tarfile
import threading

import numpy as np
import pytest

import glassnet.data.datasets.cifar10 as cifar_module
import glassnet.data.datasets.mnist as mnist_module
from glassnet.data.download import ChecksumError, DownloadError, cache_dir, download

# `glassnet.data.download` the attribute is the re-exported function; get the module itself.
download_module = importlib.import_module("glassnet.data.download")


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/truncated.bin":
            # Promise 1000 bytes, send 100, hang up: an interrupted download.
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 100)
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture()
def server(tmp_path, monkeypatch):
    """Serve tmp_path/'www' on 127.0.0.1; yields (root folder, base URL)."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(_Handler, directory=str(www))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture()
def dead_url():
    """A URL on a local port nobody listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_download_success_and_cache_hit(server, tmp_path):
    www, base = server
    payload = os.urandom(3 * 1024 * 1024 + 17)  # several chunks
    (www / "blob.bin").write_bytes(payload)
    dest = tmp_path / "cache" / "sub" / "blob.bin"
    out = download(base + "blob.bin", _sha(payload), dest, progress=False)
    assert out == dest and dest.read_bytes() == payload
    assert _leftovers(dest.parent) == ["blob.bin"]
    (www / "blob.bin").unlink()  # a second call must not need the server
    assert download(base + "blob.bin", _sha(payload), dest, progress=False).read_bytes() == payload


def test_checksum_failure_removes_file(server, tmp_path):
    www, base = server
    (www / "blob.bin").write_bytes(b"tampered content")
    dest = tmp_path / "cache" / "blob.bin"
    wrong = _sha(b"the real content")
    with pytest.raises(ChecksumError, match="checksum mismatch") as info:
        download(base + "blob.bin", wrong, dest, progress=False)
    assert wrong in str(info.value) and _sha(b"tampered content") in str(info.value)
    assert _leftovers(dest.parent) == []


def test_corrupt_cached_file_is_fetched_again(server, tmp_path):
    www, base = server
    (www / "blob.bin").write_bytes(b"good")
    dest = tmp_path / "blob.bin"
    dest.write_bytes(b"half-written junk")
    download(base + "blob.bin", _sha(b"good"), dest, progress=False)
    assert dest.read_bytes() == b"good"


def test_unreachable_server_gives_clear_error(dead_url, tmp_path):
    dest = tmp_path / "cache" / "blob.bin"
    url = dead_url + "blob.bin"
    with pytest.raises(DownloadError) as info:
        download(url, "0" * 64, dest, timeout=5, progress=False)
    message = str(info.value)
    assert url in message and "offline" in message and str(dest) in message
    assert "place it at" in message
    assert _leftovers(dest.parent) == []


def test_http_404_is_a_download_error(server, tmp_path):
    _, base = server
    with pytest.raises(DownloadError, match="404"):
        download(base + "missing.bin", "0" * 64, tmp_path / "c" / "m.bin", progress=False)
    assert _leftovers(tmp_path / "c") == []


def test_interrupted_transfer_leaves_no_partial_file(server, tmp_path):
    _, base = server
    dest = tmp_path / "cache" / "truncated.bin"
    with pytest.raises(DownloadError, match="truncated.bin"):
        download(base + "truncated.bin", _sha(b"x" * 1000), dest, timeout=5, progress=False)
    assert _leftovers(dest.parent) == []


def test_keyboard_interrupt_mid_write_leaves_nothing(server, tmp_path, monkeypatch):
    www, base = server
    (www / "blob.bin").write_bytes(b"data" * 1000)

    def interrupted(url, out, dest, timeout, progress):
        out.write(b"data" * 10)
        raise KeyboardInterrupt

    monkeypatch.setattr(download_module, "_stream", interrupted)
    dest = tmp_path / "cache" / "blob.bin"
    with pytest.raises(KeyboardInterrupt):
        download(base + "blob.bin", _sha(b"data" * 1000), dest, progress=False)
    assert _leftovers(dest.parent) == []


def test_mirrors_are_tried_in_order(server, dead_url, tmp_path):
    www, base = server
    (www / "blob.bin").write_bytes(b"mirrored")
    dest = tmp_path / "blob.bin"
    download([dead_url + "blob.bin", base + "blob.bin"], _sha(b"mirrored"), dest, progress=False)
    assert dest.read_bytes() == b"mirrored"
    with pytest.raises(DownloadError, match="all mirrors failed"):
        download([dead_url + "a", dead_url + "b"], "0" * 64, tmp_path / "x", progress=False)


def test_download_validates_arguments(tmp_path):
    with pytest.raises(ValueError, match="64-character hex"):
        download("http://127.0.0.1/x", None, tmp_path / "x")
    with pytest.raises(ValueError, match="64-character hex"):
        download("http://127.0.0.1/x", "abc", tmp_path / "x")
    with pytest.raises(TypeError, match="URL string"):
        download([], "0" * 64, tmp_path / "x")


def test_cache_dir_honours_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASSNET_DATA", str(tmp_path / "glassnet-data"))
    assert cache_dir() == tmp_path / "glassnet-data"
    assert cache_dir().is_dir()
    monkeypatch.delenv("GLASSNET_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "glassnet"


# --- tiny fake datasets in the real file formats ------------------------------------------


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def _fake_mnist(www, monkeypatch, n_train=6, n_test=4):
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, size=(n_train, 28, 28)),
        "train_labels": rng.integers(0, 10, size=n_train),
        "test_images": rng.integers(0, 256, size=(n_test, 28, 28)),
        "test_labels": rng.integers(0, 10, size=n_test),
    }
    files = {}
    for key, (filename, _) in mnist_module.MNIST_FILES.items():
        data = _idx_bytes(arrays[key])
        (www / filename).write_bytes(data)
        files[key] = (filename, _sha(data))
    monkeypatch.setattr(mnist_module, "MNIST_FILES", files)
    monkeypatch.setattr(mnist_module, "FASHION_MNIST_FILES", files)
    return arrays


def test_load_mnist_from_local_mirror(server, tmp_path, monkeypatch):
    www, base = server
    arrays = _fake_mnist(www, monkeypatch)
    root = tmp_path / "mnist"
    (x, y), (xt, yt) = mnist_module.load_mnist(mirrors=[base], root=root, progress=False)
    assert x.shape == (6, 1, 28, 28) and xt.shape == (4, 1, 28, 28)
    assert x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(x[:, 0] * 255.0, arrays["train_images"], atol=1e-4)
    np.testing.assert_array_equal(y, arrays["train_labels"])
    np.testing.assert_array_equal(yt, arrays["test_labels"])
    (xf, _), _ = mnist_module.load_fashion_mnist(
        flatten=True, mirrors=base, root=tmp_path / "f", progress=False
    )
    assert xf.shape == (6, 784)
    assert sorted(p.name for p in root.iterdir()) == sorted(
        name for name, _ in mnist_module.MNIST_FILES.values()
    )


def test_load_mnist_offline_error_names_url_and_folder(dead_url, tmp_path):
    with pytest.raises(DownloadError) as info:
        mnist_module.load_mnist(mirrors=[dead_url], root=tmp_path / "m", progress=False)
    message = str(info.value)
    assert dead_url + "train-images-idx3-ubyte.gz" in message
    assert str(tmp_path / "m" / "train-images-idx3-ubyte.gz") in message


def test_real_checksums_are_declared():
    for files in (mnist_module.MNIST_FILES, mnist_module.FASHION_MNIST_FILES):
        assert len(files) == 4
        for _, sha in files.values():
            assert len(sha) == 64 and int(sha, 16) >= 0
    assert len(cifar_module.CIFAR10_FILE[1]) == 64
    assert cifar_module.CIFAR10_FILE[0] == "cifar-10-binary.tar.gz"


def test_read_idx_roundtrip_and_types(tmp_path):
    values = np.arange(24, dtype=">i4").reshape(2, 3, 4)
    raw = bytes([0, 0, 0x0C, 3]) + np.asarray(values.shape, ">u4").tobytes() + values.tobytes()
    path = tmp_path / "ints.idx"
    path.write_bytes(raw)
    out = mnist_module.read_idx(path)
    assert out.shape == (2, 3, 4) and out.dtype == np.dtype("int32")
    np.testing.assert_array_equal(out, np.arange(24).reshape(2, 3, 4))


def test_read_idx_rejects_bad_files(tmp_path):
    good = _idx_bytes(np.zeros((3, 2, 2)))
    truncated = tmp_path / "truncated.gz"
    truncated.write_bytes(gzip.compress(gzip.decompress(good)[:-1]))
    with pytest.raises(ValueError, match=r"shape \(3, 2, 2\)"):
        mnist_module.read_idx(truncated)
    bad_magic = tmp_path / "bad.idx"
    bad_magic.write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="not an IDX file"):
        mnist_module.read_idx(bad_magic)
    broken_gzip = tmp_path / "broken.gz"
    broken_gzip.write_bytes(good[:20])
    with pytest.raises(ValueError, match="broken gzip"):
        mnist_module.read_idx(broken_gzip)


def _cifar_tar(records: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in records.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _cifar_records(labels, rng):
    images = rng.integers(0, 256, size=(len(labels), 3, 32, 32), dtype=np.uint8)
    rows = np.concatenate(
        [np.asarray(labels, np.uint8)[:, None], images.reshape(len(labels), -1)], 1
    )
    return rows.tobytes(), images


def test_load_cifar10_from_local_mirror(server, tmp_path, monkeypatch):
    www, base = server
    rng = np.random.default_rng(0)
    records, expected_images, expected_labels = {}, [], []
    for i in range(1, 6):
        data, images = _cifar_records([i, 9 - i], rng)
        records[f"data_batch_{i}.bin"] = data
        expected_images.append(images)
        expected_labels += [i, 9 - i]
    records["test_batch.bin"], test_images = _cifar_records([3, 1, 4], rng)
    archive = _cifar_tar(records)
    (www / "cifar-10-binary.tar.gz").write_bytes(archive)
    monkeypatch.setattr(cifar_module, "CIFAR10_FILE", ("cifar-10-binary.tar.gz", _sha(archive)))
    (x, y), (xt, yt) = cifar_module.load_cifar10(mirrors=[base], root=tmp_path, progress=False)
    assert x.shape == (10, 3, 32, 32) and xt.shape == (3, 3, 32, 32)
    assert y.tolist() == expected_labels and yt.tolist() == [3, 1, 4]
    np.testing.assert_allclose(x * 255.0, np.concatenate(expected_images), atol=1e-4)
    np.testing.assert_allclose(xt * 255.0, test_images, atol=1e-4)
    (xflat, _), _ = cifar_module.load_cifar10(
        flatten=True, mirrors=[base], root=tmp_path, progress=False
    )
    assert xflat.shape == (10, 3072)


def test_read_cifar10_rejects_bad_archives(tmp_path):
    rng = np.random.default_rng(0)
    data, _ = _cifar_records([1], rng)
    missing = tmp_path / "missing.tar.gz"
    missing.write_bytes(_cifar_tar({"data_batch_1.bin": data}))
    with pytest.raises(ValueError, match="lacks"):
        cifar_module.read_cifar10(missing)
    ragged = {f"data_batch_{i}.bin": data for i in range(1, 6)}
    ragged["test_batch.bin"] = data[:-5]
    bad = tmp_path / "ragged.tar.gz"
    bad.write_bytes(_cifar_tar(ragged))
    with pytest.raises(ValueError, match="3073-byte record"):
        cifar_module.read_cifar10(bad)
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")
    with pytest.raises(ValueError, match="not a readable tar.gz"):
        cifar_module.read_cifar10(junk)
