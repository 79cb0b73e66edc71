"""File-system helpers shared by the checkpoint writer and the dataset downloader."""

from __future__ import annotations

import os


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
