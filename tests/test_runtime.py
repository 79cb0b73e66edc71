"""glassnet.runtime: allocator tuning is an explicit switch (fit / glassnet train turn it on,
`import glassnet` does not), opt-out by env, and the BLAS thread setting."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from glassnet import runtime

GLIBC = sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION") is not None


def _fresh_process(code: str, env_value=None) -> dict:
    env = dict(os.environ)
    env.pop("GLASSNET_MALLOC", None)
    if env_value is not None:
        env["GLASSNET_MALLOC"] = env_value
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


_IMPORT_ONLY = """
import json, os, threading
env_before = dict(os.environ)
threads_before = threading.active_count()
import glassnet, glassnet.nn, glassnet.optim, glassnet.data
from glassnet import runtime
print(json.dumps({
    "mallopt_calls": runtime.MALLOPT_CALLS[0],
    "settings": runtime.MALLOC_SETTINGS,
    "env_changed": sorted(k for k in set(env_before) | set(os.environ)
                          if env_before.get(k) != os.environ.get(k)),
    "threads": threading.active_count() - threads_before,
}))
"""


def test_import_changes_no_process_wide_state():
    got = _fresh_process(_IMPORT_ONLY)
    assert got == {"mallopt_calls": 0, "settings": {}, "env_changed": [], "threads": 0}


_FIT = """
import json, numpy as np, glassnet as gn
from glassnet import nn, runtime
model = nn.Sequential(nn.Linear(2, 2))
model.compile(optimizer="sgd", loss="cross_entropy")
x = np.zeros((4, 2), np.float32); y = np.zeros(4, np.int64)
model.fit(x, y, epochs=1, verbose=0, health=False)
print(json.dumps({"mallopt_calls": runtime.MALLOPT_CALLS[0], "settings": runtime.MALLOC_SETTINGS}))
"""


@pytest.mark.skipif(not GLIBC, reason="allocator tuning applies to glibc only")
def test_fit_turns_the_allocator_tuning_on_unless_opted_out():
    got = _fresh_process(_FIT)
    assert got["mallopt_calls"] == 1 and got["settings"]["trim_threshold"] == 1 << 30
    got = _fresh_process(_FIT, "system")
    assert got == {"mallopt_calls": 0, "settings": {}}


@pytest.mark.skipif(not GLIBC, reason="allocator tuning applies to glibc only")
def test_configure_malloc_reports_what_it_applied():
    assert runtime.configure_malloc(trim_threshold=1 << 30, mmap_threshold=32 << 20)
    assert runtime.MALLOC_SETTINGS == {"trim_threshold": 1 << 30, "mmap_threshold": 32 << 20}
    assert runtime.configure_malloc_once()  # already in place: no second call
    assert np.isfinite(runtime.MALLOPT_CALLS[0])


def test_blas_threads_reads_the_environment(monkeypatch):
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    assert runtime.blas_threads() is None
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert runtime.blas_threads() == 3
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert runtime.blas_threads() == 2
