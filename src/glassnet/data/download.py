"""Download files once into a cache directory, verified by SHA-256 and written atomically.

A download streams into a temporary file in the destination's directory, hashes it on the
way, and is moved into place (``os.replace``) only after the checksum matched and the data
was flushed to disk. A failed, interrupted or corrupt download leaves nothing behind, so a
file found in the cache is always complete.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from glassnet._fs import fsync_dir

__all__ = ["ChecksumError", "DownloadError", "cache_dir", "download", "sha256_file"]

_CHUNK = 1 << 20
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


def _stream(
    url: str, out, dest: Path, timeout: float, progress: bool
) -> tuple[int, int | None, str]:
    """Copy ``url`` into the open file ``out``; return (bytes received, expected, sha256)."""
    digest = hashlib.sha256()
    received = 0
    with urllib.request.urlopen(url, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        bar_options = {"unit": "B", "unit_scale": True, "unit_divisor": 1024, "leave": False}
        with tqdm(total=total, desc=dest.name, disable=not progress, **bar_options) as bar:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    return received, total, digest.hexdigest()


def _fetch(url: str, sha256: str, dest: Path, timeout: float, progress: bool) -> None:
    """Fetch one URL into ``dest`` atomically; raise DownloadError or ChecksumError."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                received, total, actual = _stream(url, out, dest, timeout, progress)
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
    errors: list[Exception] = []
    for candidate in urls:
        try:
            _fetch(candidate, sha256, dest, timeout, progress)
            return dest
        except (DownloadError, ChecksumError) as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    message = "all mirrors failed:\n" + "\n".join(f"  - {e}" for e in errors)
    if any(isinstance(e, ChecksumError) for e in errors):
        raise ChecksumError(message)
    raise DownloadError(message)
