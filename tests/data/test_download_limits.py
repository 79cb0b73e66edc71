"""Downloads end: an overall deadline against trickling servers, a size limit against endless
bodies; both one clear line, nothing left behind. Servers run on 127.0.0.1 only, and every
handler stops by itself (bounded in time and bytes)."""

import http.server
import threading
import time

import pytest

from glassnet.data.download import DownloadError, download

ZERO_SHA = "0" * 64


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        if self.path == "/big-length":
            self.send_header("Content-Length", str(10**12))
        self.end_headers()
        stop = time.monotonic() + 20  # every response ends by itself
        try:
            if self.path == "/trickle":  # 2 bytes a second: each read well within `timeout`
                while time.monotonic() < stop:
                    self.wfile.write(b"ab")
                    self.wfile.flush()
                    time.sleep(0.5)
            elif self.path in ("/endless", "/big-length"):  # 64 KiB chunks, up to 1 GiB
                chunk = b"x" * 65536
                for _ in range(16384):
                    if time.monotonic() > stop:
                        break
                    self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should
        self.close_connection = True


@pytest.fixture()
def base_url(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _assert_clean(folder):
    assert list(folder.iterdir()) == []  # no partial file, no temporary file


def test_a_trickling_server_hits_the_deadline(base_url, tmp_path):
    start = time.monotonic()
    with pytest.raises(DownloadError, match="deadline of 2 s") as info:
        download(f"{base_url}/trickle", ZERO_SHA, tmp_path / "f.bin", deadline=2.0,
                 timeout=10.0, progress=False)  # fmt: skip
    assert time.monotonic() - start < 6
    assert "\n" not in str(info.value)
    _assert_clean(tmp_path)


def test_an_endless_body_is_cut_at_the_size_limit(base_url, tmp_path):
    start = time.monotonic()
    with pytest.raises(DownloadError, match="stopped at .* bytes: f.bin is at most 1000000"):
        download(f"{base_url}/endless", ZERO_SHA, tmp_path / "f.bin", max_bytes=1_000_000,
                 progress=False)  # fmt: skip
    assert time.monotonic() - start < 6
    _assert_clean(tmp_path)


def test_a_content_length_over_the_limit_is_refused_before_reading(base_url, tmp_path):
    with pytest.raises(DownloadError, match=f"stopped at {10**12} bytes"):
        download(f"{base_url}/big-length", ZERO_SHA, tmp_path / "f.bin", max_bytes=1000,
                 progress=False)  # fmt: skip
    _assert_clean(tmp_path)


def test_every_dataset_file_has_a_size_limit():
    import glassnet.data.datasets.cifar10 as cifar
    import glassnet.data.datasets.mnist as mnist

    for name, files in (("mnist", mnist.MNIST_FILES), ("fashion_mnist", mnist.FASHION_MNIST_FILES)):
        for key in files:
            assert mnist._max_bytes(name, key) is not None, (name, key)
    assert cifar.CIFAR10_BYTES == 170_052_171  # tensorflow_datasets' recorded size
