"""File-system helpers shared by checkpoints, run folders and the dataset downloader.

- :func:`atomic_write_bytes` / :func:`atomic_write_text`: readers see the old file or the
  new one, never a half-written one (a temporary file with a unique name in the same
  folder, fsync, ``os.replace``); an unchanged file is not rewritten; the new file gets the
  mode that ``open()`` would give it under the user's umask (``mkstemp`` alone gives 0600).
- :func:`remove_stale_temps`: delete temporary files that a killed writer left behind.
- :class:`FolderLock`: an advisory lock on a folder (``flock``), released by the kernel when
  its process dies, so a SIGKILL never leaves a folder locked.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = [
    "FolderLock",
    "atomic_write_bytes",
    "atomic_write_text",
    "file_mode",
    "fsync_dir",
    "remove_stale_temps",
]

TEMP_SUFFIX = ".tmp"


def fsync_dir(directory) -> None:
    """Make a rename inside ``directory`` durable (POSIX); a no-op where directories cannot
    be opened (Windows) or synced."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _umask() -> int:
    try:  # Linux 4.7+: read it without changing it (os.umask would race with other threads)
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode of a new regular file under the current umask (``0o666 & ~umask``)."""
    return 0o666 & ~_umask()


def atomic_write_bytes(path: str | os.PathLike, blob: bytes, skip_unchanged: bool = True) -> bool:
    """Write ``blob`` to ``path`` atomically; return False when the file already held it.

    A temporary file with a unique name (``.<name>.<random>.tmp``) in the same folder is
    written, flushed and fsynced, given the umask's mode, then renamed over ``path`` and the
    folder is fsynced. On any error (a full disk, a file-size limit, Ctrl-C) the temporary
    file is removed and ``path`` keeps its previous content.
    """
    path = Path(path)
    if skip_unchanged and path.is_file() and path.stat().st_size == len(blob):
        with contextlib.suppress(OSError), open(path, "rb") as f:
            if f.read() == blob:
                return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), file_mode())
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # includes KeyboardInterrupt: never leave the temp file behind
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)  # persist the rename itself
    return True


def atomic_write_text(path: str | os.PathLike, text: str, skip_unchanged: bool = True) -> bool:
    """:func:`atomic_write_bytes` of ``text`` encoded as UTF-8."""
    return atomic_write_bytes(path, text.encode("utf-8"), skip_unchanged)


def remove_stale_temps(folder: str | os.PathLike) -> list[str]:
    """Delete the temporary files that writers killed mid-write left in ``folder``: hidden
    ``.<name>.<random>.tmp`` (:func:`atomic_write_bytes`) and ``.<name>.<random>.part``
    (downloads), and ``report.html.tmp`` (older report writers'); a user's own files are left
    alone. Call it only while no other process writes there (e.g. holding the folder's
    :class:`FolderLock`). Returns the names removed."""
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        name = entry.name
        hidden = name.startswith(".") and name.endswith((TEMP_SUFFIX, ".part"))
        stale = hidden or name == "report.html.tmp"
        if stale and entry.is_file() and not entry.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
                removed.append(name)
    return removed


class FolderLock:
    """An exclusive advisory lock on ``folder`` held through ``folder/.lock``.

    ``acquire()`` raises ``ValueError`` naming the process that holds it (its pid, host and
    command, written into the lock file). The kernel drops a ``flock`` when its process
    exits or is killed, so no stale lock survives a crash. Where ``fcntl`` is missing
    (Windows) locking is skipped.
    """

    NAME = ".lock"

    def __init__(self, folder: str | os.PathLike, what: str = "glassnet"):
        self.folder, self.what, self._fd = Path(folder), what, None

    def acquire(self) -> FolderLock:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / self.NAME
        # O_NOFOLLOW: a planted symlink must not make us truncate another file
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), file_mode())
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = ""
            with contextlib.suppress(OSError):
                holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
            os.close(fd)
            raise ValueError(
                f"{self.folder} is in use by another process ({holder or 'unknown'}); wait for "
                "it to finish or stop it, or give this run another folder (--out)"
            ) from None
        import socket
        import sys

        note = f"pid {os.getpid()} on {socket.gethostname()}: {self.what} {' '.join(sys.argv)}"
        os.ftruncate(fd, 0)
        os.pwrite(fd, note[:4000].encode("utf-8", "replace"), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
