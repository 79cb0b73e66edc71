"""The ``glassnet`` command's launcher sets OpenBLAS's spin time before NumPy loads it."""

import importlib.metadata
import os
import subprocess
import sys

import glassnet_launch

PROBE = (
    "import sys, glassnet_launch; set_now = glassnet_launch.prepare_environment(); "
    "import os, numpy; print(set_now, os.environ.get('OPENBLAS_THREAD_TIMEOUT'))"
)


def _run(code, **extra):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    env.update(extra)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, check=True)  # fmt: skip
    return out.stdout


def test_the_command_sets_the_timeout_in_a_fresh_process():
    assert _run(PROBE).split() == ["True", glassnet_launch.BLAS_THREAD_TIMEOUT]


def test_a_value_from_the_user_is_kept():
    assert _run(PROBE, OPENBLAS_THREAD_TIMEOUT="7").split() == ["False", "7"]


def test_nothing_is_set_once_numpy_is_loaded():
    # here (pytest) NumPy is loaded: OpenBLAS has read its environment already
    env: dict = {}
    assert "numpy" in sys.modules
    assert glassnet_launch.prepare_environment(env) is False
    assert env == {}


def test_the_console_script_is_the_launcher_and_runs_the_cli():
    scripts = importlib.metadata.entry_points(group="console_scripts")
    (entry,) = [e for e in scripts if e.name == "glassnet"]
    assert entry.value == "glassnet_launch:main"
    code = "import sys, glassnet_launch; sys.argv = ['glassnet', 'info']; glassnet_launch.main()"
    assert f"OPENBLAS_THREAD_TIMEOUT={glassnet_launch.BLAS_THREAD_TIMEOUT}" in _run(code)
