"""What the ``glassnet`` command needs besides its commands: reading INPUT files safely and
turning any exception into one line a user can act on."""

from __future__ import annotations

import errno
import os
import platform

__all__ = [
    "blas_threads",
    "explain",
    "info_command",
    "printable",
    "read_inputs",
    "read_npy",
    "refuse_ignored_resume_options",
]

_DISK_FULL = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}
_USER_ERRORS = (ValueError, TypeError, FileNotFoundError, RuntimeError)


def _one_line(text: str) -> str:
    return printable(" ".join(str(text).split()))


def printable(text: str) -> str:
    """``text`` with every non-printable character written as its escape (``\\x1b``):
    messages quote run folders and checkpoints made by others, and a raw escape sequence
    from one (a parameter name, a model spec) would reach the terminal, which acts on it
    (rewrite the screen, set the window title or the clipboard)."""
    return "".join(c if c.isprintable() or c in "\n\t" else repr(c)[1:-1] for c in text)


def explain(exc: BaseException) -> tuple[str, int]:
    """``(one-line message, exit status)`` for an exception that reached ``glassnet``'s
    ``main``: 2 for a mistake in the command's input, 1 for the environment (offline, disk
    full, out of memory) and for anything unexpected, which also says how to see the
    traceback."""
    from glassnet.data.download import ChecksumError, DownloadError

    if isinstance(exc, DownloadError):
        return (
            f"{_one_line(exc)} (the bundled datasets digits, mnist1d and shakespeare need no "
            "download)",
            1,
        )
    if isinstance(exc, ChecksumError):
        return _one_line(exc), 1
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
        where = f" writing {exc.filename}" if exc.filename else ""
        return (
            f"the disk is full or a file-size limit was reached{where} ({exc.strerror}); the "
            "run folder keeps its previous files: free some space (or raise the limit) and "
            "resume with glassnet train --resume RUN",
            1,
        )
    if isinstance(exc, MemoryError):
        return (
            f"out of memory ({_one_line(exc) or 'MemoryError'}); try a smaller --batch-size or "
            "model, or close other programs",
            1,
        )
    if isinstance(exc, _USER_ERRORS):
        return _one_line(exc), 2
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or _one_line(exc)}{where} (run with --debug for the traceback)", 1
    return (
        f"{type(exc).__name__}: {_one_line(exc)[:500]} (unexpected; run with --debug for the "
        "traceback, and please report it)",
        1,
    )


# glassnet train options that --resume does not change: the run keeps its config.json's
_KEPT_ON_RESUME = {
    "dataset": "--dataset", "batch_size": "--batch-size", "lr": "--lr",
    "optimizer": "--optimizer", "weight_decay": "--weight-decay", "dropout": "--dropout",
    "seed": "--seed", "val_split": "--val-split", "context_length": "--context-length",
    "stride": "--stride", "schedule": "--schedule", "amp": "--amp", "device": "--device",
    "out": "--out",
}  # fmt: skip


def refuse_ignored_resume_options(args) -> None:
    """``glassnet train --resume RUN`` continues RUN with the options in its config.json
    (only ``--epochs`` and ``--max-minutes`` change, and ``--model`` names a user model's
    code again). Any other run option given with it used to be dropped without a word
    (``--lr 0.01`` trained on at the saved rate): now it is one clear error, before anything
    is read or written."""
    given = [flag for dest, flag in _KEPT_ON_RESUME.items() if getattr(args, dest) is not None]
    if given:
        raise ValueError(
            f"--resume continues {args.resume} with the options it was started with (its "
            f"config.json), so {', '.join(given)} would be ignored: leave "
            f"{'it' if len(given) == 1 else 'them'} out (--epochs and --max-minutes may "
            "change), or start a new run with the options you want"
        )


def read_inputs(path: str):
    """The samples of ``glassnet predict INPUT``: a .npy or .csv file, checked."""
    import numpy as np

    if not os.path.isfile(path):
        raise ValueError(f"no input file {path!r}")
    if path.endswith(".npy"):
        return read_npy(path)
    if path.endswith(".csv"):
        if os.path.getsize(path) == 0:
            raise ValueError(f"{path} is empty; give one sample per row")
        # A first row is skipped only when it is a header (no field is a number): skipping
        # any row that failed to parse dropped a broken first sample without a word and
        # numbered the predictions from the second row.
        with open(path, encoding="utf-8", errors="replace") as f:
            header = not any(_is_number(field) for field in f.readline().split(","))
        try:
            return np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float32, skiprows=int(header))
        except ValueError as exc:
            why = " ".join(str(exc).split())[:200]
            raise ValueError(f"{path} is not a CSV file of numbers ({why})") from None
    raise ValueError(f"INPUT must be a .npy or .csv file, got {path!r}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_npy(path: str):
    """``np.load`` of a plain .npy file, after checking that its header's shape fits the
    file (a header may claim terabytes) and that it holds numbers."""
    import numpy as np
    from numpy.lib import format as npy

    size = os.path.getsize(path)
    try:
        with open(path, "rb") as f:
            version = npy.read_magic(f)
            read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
            shape, _, dtype = read(f)
            offset = f.tell()
    except (ValueError, EOFError, OSError, SyntaxError, TypeError) as exc:
        why = "it is empty" if size == 0 else f"{' '.join(str(exc).split())[:200]}"
        raise ValueError(f"{path} is not a plain .npy array file: {why}") from None
    if dtype.hasobject or dtype.kind not in "biufc":
        raise ValueError(f"{path} holds {dtype} values; expected numbers")
    count = 1
    for d in shape:
        count *= d
        if count * dtype.itemsize > size:  # stop as soon as the claim exceeds the file
            break
    if count * dtype.itemsize > size - offset:
        raise ValueError(
            f"{path}: its header claims an array of shape {shape} ({dtype}) but the file holds "
            f"only {size - offset} bytes of data; the file is cut or corrupt"
        )
    return np.load(path, allow_pickle=False)


def _version_of(package: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def info_command(args) -> int:
    """``glassnet info``: versions, BLAS, threads, GPU and the data cache."""
    import numpy as np

    import glassnet as gn
    from glassnet.data import cache_dir

    blas = "unknown"
    try:
        deps = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{deps.get('name')} {deps.get('version')}"
    except Exception:  # the layout of show_config differs between NumPy versions
        pass
    threads = blas_threads()
    from glassnet.backend import jit, mkl

    rows = [
        ("glassnet", gn.__version__),
        ("python", f"{platform.python_version()} ({platform.platform()})"),
        ("numpy", np.__version__),
        ("BLAS", blas),
        ("products", mkl.describe()),
        ("fused kernels", jit.describe()),
        ("BLAS threads", "unknown" if threads is None else str(threads)),
        ("glassnet threads", str(gn.get_num_threads())),
        ("CPU cores", str(os.cpu_count())),
        (
            "thread env",
            ", ".join(
                f"{v}={os.environ[v]}"
                for v in (
                    "GLASSNET_NUM_THREADS",
                    "OMP_NUM_THREADS",
                    "OPENBLAS_NUM_THREADS",
                    "MKL_NUM_THREADS",
                    "OPENBLAS_THREAD_TIMEOUT",
                )  # fmt: skip
                if v in os.environ
            )
            or "none set",
        ),  # fmt: skip
        ("tqdm", _version_of("tqdm")),
        ("safetensors", _version_of("safetensors")),
        (
            "cupy",
            _version_of("cupy-cuda12x")
            if _version_of("cupy") == "not installed"
            else _version_of("cupy"),
        ),  # fmt: skip
        ("GPU (CUDA)", "available" if gn.cuda_available() else "not available"),
        ("data cache", str(cache_dir())),
    ]
    for name, value in rows:
        print(f"{name:<14} {value}")
    return 0


# -- BLAS threads ---------------------------------------------------------------------------
def blas_threads(count: int | None = None) -> int | None:
    """Set OpenBLAS's thread count (when ``count`` is given); return the current count."""
    from glassnet.backend.parallel import _get_blas_threads, _set_blas_threads

    if count is not None:
        _set_blas_threads(count)
    return _get_blas_threads()


def runnable_others(samples: int = 5, interval: float = 0.02) -> float | None:
    """Other tasks runnable right now, averaged over ``samples`` reads of ``procs_running``
    in /proc/stat ``interval`` seconds apart (this process's own thread not counted); None
    where /proc/stat is not there (not Linux)."""
    import time

    counts = []
    for i in range(samples):
        try:
            with open("/proc/stat") as f:
                line = next((x for x in f if x.startswith("procs_running")), None)
        except OSError:
            return None
        if line is None:
            return None
        counts.append(int(line.split()[1]) - 1)
        if i + 1 < samples:
            time.sleep(interval)
    return sum(counts) / len(counts)
