"""glassnet.runtime: allocator tuning on import (opt-out by env) and the BLAS thread setting."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from glassnet import runtime

GLIBC = sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION") is not None


def _settings_in_fresh_process(env_value):
    env = dict(os.environ)
    env.pop("GLASSNET_MALLOC", None)
    if env_value is not None:
        env["GLASSNET_MALLOC"] = env_value
    code = "import glassnet, json; print(json.dumps(glassnet.runtime.MALLOC_SETTINGS))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.skipif(not GLIBC, reason="allocator tuning applies to glibc only")
def test_import_tunes_malloc_unless_opted_out():
    assert '"trim_threshold": 1073741824' in _settings_in_fresh_process(None)
    assert _settings_in_fresh_process("system") == "{}"


@pytest.mark.skipif(not GLIBC, reason="allocator tuning applies to glibc only")
def test_configure_malloc_reports_what_it_applied():
    assert runtime.configure_malloc(trim_threshold=1 << 30, mmap_threshold=32 << 20)
    assert runtime.MALLOC_SETTINGS == {"trim_threshold": 1 << 30, "mmap_threshold": 32 << 20}


def test_blas_threads_reads_the_environment(monkeypatch):
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    assert runtime.blas_threads() is None
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert runtime.blas_threads() == 3
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert runtime.blas_threads() == 2
