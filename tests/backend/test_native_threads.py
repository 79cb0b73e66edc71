"""The fused kernels and MKL on one team of GNU OpenMP threads (``jit.native``,
``mkl.threaded``), the fallbacks without it, and a forked child of such a process.

Each case runs in a fresh interpreter: the threading layer and MKL's threading are chosen
once per process, at first use.
"""

import os
import subprocess
import sys
import textwrap

import pytest

from glassnet.backend import jit, mkl

pytestmark = pytest.mark.skipif(
    not (jit.available() and mkl.available() and hasattr(os, "fork")),
    reason="needs Numba, the mkl package and os.fork (Linux)",
)

PRELUDE = """
import os, numpy as np
import glassnet as gn
from glassnet.backend import jit, kernel_threads, mkl, parallel
gn.set_num_threads(2)
rng = np.random.default_rng(0)
a = rng.standard_normal((300, 200)).astype(np.float32)
b = rng.standard_normal((200, 250)).astype(np.float32)
want = a.astype(np.float64) @ b
x = gn.tensor(rng.standard_normal((512, 64)).astype(np.float32), requires_grad=True)
ln = gn.nn.LayerNorm(64)

def check():
    np.testing.assert_allclose(parallel.product(a, b), want, rtol=1e-5, atol=1e-3)
    y = ln(x)
    xs = x.numpy()
    ref = (xs - xs.mean(1, keepdims=True)) / np.sqrt(xs.var(1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-4, atol=1e-5)
    y.sum().backward()
"""


def _run(body: str, **env) -> str:
    script = PRELUDE + textwrap.dedent(body)
    environ = {**os.environ, "OMP_NUM_THREADS": "2", **env}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=environ, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_kernels_and_mkl_share_openmp_threads():
    out = _run(
        """
        kernel_threads.NATIVE_MIN_BLOCK = 1
        check()
        import numba
        print(numba.threading_layer(), jit.native() is not None, mkl.threaded())
        print(mkl.library().MKL_Get_Max_Threads())
        print(mkl.describe())
        print(jit.describe())
        """
    )
    layer, described, kernels = out.split("\n")[0], out.split("\n")[2], out.split("\n")[3]
    assert layer == "omp True True"
    assert out.split("\n")[1] == "2"  # the last product ran on 2 of MKL's OpenMP threads
    assert "OpenMP" in described and "on OpenMP's threads" in kernels


def test_a_forked_child_keeps_out_of_the_parents_openmp():
    """After fork, the child must not enter the parent's OpenMP runtime (GNU OpenMP is not
    fork-safe: Numba aborts, MKL can hang). It runs the kernels on glassnet's pool and the
    products through NumPy's BLAS, with the same results."""
    out = _run(
        """
        check()
        assert jit.native() is not None and mkl.threaded()
        pid = os.fork()
        if pid == 0:
            try:
                assert jit.native() is None and not mkl.threaded()
                assert mkl.gemm(a, b) is None
                check()
            except BaseException as error:
                print("child failed:", repr(error), flush=True)
                os._exit(1)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        print("child", os.waitstatus_to_exitcode(status))
        check()
        """
    )
    assert out.strip().endswith("child 0"), out


def test_without_the_kernels_mkl_stays_sequential_on_the_pool():
    out = _run(
        """
        check()
        print(jit.native() is None, mkl.threaded(), mkl.describe())
        print(jit.describe())
        """,
        GLASSNET_JIT="0",
    )
    assert out.startswith("True False MKL (sequential")
    assert out.split("\n")[1].startswith("off (GLASSNET_JIT=0")


def test_workqueue_layer_keeps_the_pool():
    """Numba's workqueue layer is not thread-safe: the kernels stay on glassnet's pool."""
    out = _run(
        """
        kernel_threads.NATIVE_MIN_BLOCK = 1
        check()
        print(jit.native() is None, mkl.threaded())
        print(jit.describe())
        """,
        NUMBA_THREADING_LAYER="workqueue",
    )
    first, described = out.strip().split("\n")
    assert first == "True False"
    assert "on glassnet's pool" in described and "'workqueue', not 'omp'" in described


def test_mkl_takes_openmp_threads_without_importing_numba():
    """A model whose first (or only) heavy op is a product: MKL goes on OpenMP's threads at
    once, and Numba (about 100 MiB) is imported only when a kernel runs; the kernels then
    share MKL's threads."""
    out = _run(
        """
        import sys
        np.testing.assert_allclose(parallel.product(a, b), want, rtol=1e-5, atol=1e-3)
        print(mkl.threaded(), "numba" in sys.modules)
        check()
        print(jit.native() is not None, mkl.library().MKL_Get_Max_Threads())
        """
    )
    assert out.split() == ["True", "False", "True", "2"]


def test_every_range_kernel_has_a_native_runner():
    """run_rows looks a kernel's runner up by name: every kernel that takes a row range
    (its last two parameters ``lo, hi``) has one in _jit_parallel, with the same parameters
    and ``rows, step`` in place of ``lo, hi``. A kernel added without one would fail at its
    first threaded call."""
    import inspect

    from glassnet.backend import _jit_attention, _jit_conv, _jit_kernels, _jit_parallel

    kernels = {}
    for module in (_jit_kernels, _jit_attention, _jit_conv):
        for name, fn in vars(module).items():
            py = getattr(fn, "py_func", None)
            if py is None or name.startswith("_") or py.__module__ != module.__name__:
                continue
            params = list(inspect.signature(py).parameters)
            if params[-2:] == ["lo", "hi"] and name != "exp_range":  # the tests' exp probe
                kernels[name] = params
    assert {"layer_norm_rows", "attention_forward", "conv_wgrad", "column_sums"} <= set(kernels)
    for name, params in kernels.items():
        runner = getattr(_jit_parallel, name, None)
        assert runner is not None, f"{name} has no runner in _jit_parallel"
        got = list(inspect.signature(runner.py_func).parameters)
        assert len(got) == len(params) and got[-2:] == ["rows", "step"], name
