"""The ``glassnet`` command's entry point: settings that must come before NumPy loads OpenBLAS.

OpenBLAS's worker threads **spin** after every matrix product, waiting for the next one, for
``2^OPENBLAS_THREAD_TIMEOUT`` CPU cycles (default 2^28, about 0.1 s) before they sleep. In a
training step the products alternate with ops that glassnet's own thread pool splits (GELU,
layer norm, softmax, attention): a spinning BLAS thread then holds a core those ops need.
Measured on 2 cores (W3 step of ``benchmarks/bench_train.py``, 3 alternating rounds): 143-148 ms
with the default, 129-131 ms with ``OPENBLAS_THREAD_TIMEOUT=22`` (about 1.5 ms of spinning:
enough to bridge back-to-back products, so the GEMM-bound MLP step W1 stays at 1.7 ms),
117-140 ms with 20, but 2.3-2.6 ms for W1 with 4 (a thread wake-up per product).

OpenBLAS reads the variable once, when NumPy is first imported, and ``import glassnet`` imports
NumPy, so the setting cannot live in the ``glassnet`` package (nor may a library change its
host process). This module imports nothing but ``os`` and ``sys`` before setting it: the
command owns its process. A value already in the environment is kept; in your own scripts,
export it yourself (docs/performance.md, "Threads").
"""

from __future__ import annotations

import os
import sys

__all__ = ["BLAS_THREAD_TIMEOUT", "main", "prepare_environment"]

#: log2 of the cycles OpenBLAS's idle threads spin before they sleep (OpenBLAS allows 4-30).
BLAS_THREAD_TIMEOUT = "22"


def prepare_environment(environ: dict | None = None) -> bool:
    """Set ``OPENBLAS_THREAD_TIMEOUT`` unless it is set or NumPy is already loaded (then it
    would have no effect); returns whether it was set."""
    environ = os.environ if environ is None else environ
    if "numpy" in sys.modules or environ.get("OPENBLAS_THREAD_TIMEOUT", "").strip():
        return False
    environ["OPENBLAS_THREAD_TIMEOUT"] = BLAS_THREAD_TIMEOUT
    return True


def main() -> int:
    """The ``glassnet`` command: :func:`prepare_environment`, then :func:`glassnet.cli.main`."""
    prepare_environment()
    from glassnet.cli import main as cli_main

    return cli_main()
