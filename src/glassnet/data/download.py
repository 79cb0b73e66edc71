"""Download files once into a cache directory, verified by SHA-256 and written atomically.

A download streams into a temporary file in the destination's directory, hashes it on the
way, and is moved into place (``os.replace``) only after the checksum matched and the data
was flushed to disk. A failed, interrupted or corrupt download leaves nothing behind, so a
file found in the cache is always complete.

Every download ends: ``deadline`` bounds its whole duration (a server that trickles a few
bytes a second is cut off, not only one that goes silent, which ``timeout`` catches), and
``max_bytes`` bounds its size (an endless or oversized body is cut off as soon as it passes
the limit, and a ``Content-Length`` above it is refused before reading).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from glassnet._fs import fsync_dir

__all__ = ["ChecksumError", "DownloadError", "cache_dir", "download", "sha256_file"]

_CHUNK = 1 << 20
DEFAULT_DEADLINE = 1800.0  # seconds for one file, whatever the server does
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class DownloadError(OSError):
    """A file could not be fetched (offline, server down, connection cut)."""


class ChecksumError(ValueError):
    """A file's SHA-256 does not match the expected value."""


def cache_dir() -> Path:
    """Return the data cache directory, creating it if needed.

    It is ``$GLASSNET_DATA`` when that variable is set, else ``~/.cache/glassnet``.

    Returns:
        The directory as a ``pathlib.Path``.

    Example:
        >>> cache_dir().is_dir()
        True
    """
    root = os.environ.get("GLASSNET_DATA") or os.path.join("~", ".cache", "glassnet")
    path = Path(root).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_file(path: str | os.PathLike) -> str:
    """Return the hex SHA-256 digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _manual_hint(url: str, dest: Path, sha256: str) -> str:
    return (
        f"To install it by hand, download {url} on a machine with internet access "
        f"(e.g. `curl -L -o {dest.name} {url}`) and place it at {dest} "
        f"(expected sha256 {sha256})"
    )


def _stream(url: str, out, dest: Path, limits: tuple[float, float, int | None],
            progress: bool) -> tuple[int, int | None, str]:  # fmt: skip
    """Copy ``url`` into the open file ``out``; return (bytes received, expected, sha256).

    ``limits`` is (per-read timeout, deadline as a ``time.monotonic()`` value, max bytes)."""
    timeout, deadline, max_bytes = limits[:3]
    digest = hashlib.sha256()
    received = 0

    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _Deadline()
        return left

    with urllib.request.urlopen(url, timeout=min(timeout, remaining())) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if max_bytes is not None and total is not None and total > max_bytes:
            raise _TooLarge(total)
        bar_options = {"unit": "B", "unit_scale": True, "unit_divisor": 1024, "leave": False}
        with tqdm(total=total, desc=dest.name, disable=not progress, **bar_options) as bar:
            # read1: return what one socket read brings, so the deadline is checked between
            # reads however slowly the bytes come (read(n) would wait for all n bytes)
            while chunk := response.read1(_CHUNK):
                received += len(chunk)
                if max_bytes is not None and received > max_bytes:
                    raise _TooLarge(received)
                out.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
                remaining()
    return received, total, digest.hexdigest()


class _Deadline(Exception):
    pass


class _TooLarge(Exception):
    def __init__(self, size: int):
        self.size = size


def _fetch(url: str, sha256: str, dest: Path, limits, progress: bool) -> None:
    """Fetch one URL into ``dest`` atomically; raise DownloadError or ChecksumError."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                received, total, actual = _stream(url, out, dest, limits, progress)
            except _Deadline:
                raise DownloadError(
                    f"download of {url} did not finish within its deadline of "
                    f"{limits[1] - limits[3]:.0f} s; the server or the connection is too slow. "
                    f"Try again later or raise deadline=. {_manual_hint(url, dest, sha256)}"
                ) from None
            except _TooLarge as exc:
                raise DownloadError(
                    f"download of {url} was stopped at {exc.size} bytes: {dest.name} is at most "
                    f"{limits[2]} bytes, so this is not the expected file (a wrong mirror or "
                    f"a broken server). {_manual_hint(url, dest, sha256)}"
                ) from None
            except (OSError, http.client.HTTPException) as exc:
                reason = getattr(exc, "reason", None) or exc
                raise DownloadError(
                    f"could not download {url}: {reason}. You may be offline or the server "
                    f"may be down. {_manual_hint(url, dest, sha256)}"
                ) from exc
            out.flush()
            os.fsync(out.fileno())
        if total is not None and received != total:
            raise DownloadError(
                f"download of {url} was cut after {received} of {total} bytes; try again. "
                f"{_manual_hint(url, dest, sha256)}"
            )
        if actual != sha256:
            raise ChecksumError(
                f"checksum mismatch for {url}: expected sha256 {sha256}, got {actual} "
                f"({received} bytes). The corrupt download was removed; try again or use "
                "another mirror"
            )
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    finally:
        tmp.unlink(missing_ok=True)  # a no-op after a successful os.replace


def download(
    url: str | Sequence[str],
    sha256: str,
    dest: str | os.PathLike,
    *,
    timeout: float = 60.0,
    progress: bool = True,
    deadline: float | None = DEFAULT_DEADLINE,
    max_bytes: int | None = None,
) -> Path:
    """Download ``url`` to ``dest`` unless a file with the right checksum is already there.

    When ``url`` is a list, the mirrors are tried in order until one succeeds. A cached file
    whose checksum does not match is deleted and fetched again.

    Args:
        url: the file's URL, or a list of mirror URLs for the same file.
        sha256: expected lowercase hex SHA-256 of the file (64 characters).
        dest: destination path; its directory is created if needed.
        timeout: seconds to wait for the server on connect and on each read.
        progress: show a tqdm progress bar.
        deadline: seconds the whole download of one mirror may take (None: no limit).
        max_bytes: the file's largest possible size; a larger body is cut off and refused.

    Returns:
        ``dest`` as a ``pathlib.Path``.

    Raises:
        DownloadError: every mirror failed to deliver the file (offline, HTTP error, cut).
        ChecksumError: a mirror delivered a file with the wrong checksum (and none succeeded).

    Example:
        >>> path = download("https://example.org/f.bin", "0" * 64, "f.bin")  # doctest: +SKIP
    """
    urls = [url] if isinstance(url, str) else list(url)
    if not urls or not all(isinstance(u, str) and u for u in urls):
        raise TypeError(f"download: url must be a URL string or a list of them, got {url!r}")
    if not isinstance(sha256, str) or not _SHA256.match(sha256.lower()):
        raise ValueError(
            f"download: sha256 must be a 64-character hex digest, got {sha256!r}; every "
            "downloaded file must be verified"
        )
    sha256 = sha256.lower()
    dest = Path(dest).expanduser()
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        if sha256_file(dest) == sha256:
            return dest
        dest.unlink()  # corrupt or stale: fetch it again
    if max_bytes is not None and (isinstance(max_bytes, bool) or int(max_bytes) < 1):
        raise ValueError(f"download: max_bytes must be a positive int, got {max_bytes!r}")
    errors: list[Exception] = []
    for candidate in urls:
        seconds = float("inf") if deadline is None else float(deadline)
        limits = (timeout, time.monotonic() + seconds, max_bytes, time.monotonic())
        try:
            _fetch(candidate, sha256, dest, limits, progress)
            return dest
        except (DownloadError, ChecksumError) as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    message = "all mirrors failed:\n" + "\n".join(f"  - {e}" for e in errors)
    if any(isinstance(e, ChecksumError) for e in errors):
        raise ChecksumError(message)
    raise DownloadError(message)
