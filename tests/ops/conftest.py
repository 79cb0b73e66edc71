"""Fixtures of the fused-kernel tests (``glassnet[jit]``)."""

import pytest

from glassnet.backend import get_default_device, jit, set_default_device


@pytest.fixture
def host_device():
    """The kernels serve host arrays only: run on the CPU even under GLASSNET_TEST_DEVICE=sim
    (each kernel file tests that the simulated device keeps the NumPy path)."""
    previous = get_default_device()
    set_default_device("cpu")
    yield
    set_default_device(previous)


@pytest.fixture
def kernels_on():
    """The kernels turned on, whatever GLASSNET_JIT says; the setting restored after."""
    previous = jit.set_enabled(True)
    yield
    jit.set_enabled(previous)
