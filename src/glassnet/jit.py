"""``glassnet.jit``: the ``torch.jit`` names that eager model code calls on every run.

Model code (timm, torchvision) branches on ``torch.jit.is_scripting()`` and marks methods
with ``@torch.jit.ignore`` / ``@torch.jit.unused``; in eager PyTorch these are False and
no-ops, and glassnet always runs eagerly, so they are the same here. TorchScript itself
(``torch.jit.script`` / ``trace`` / ``save`` / ``load``) compiles to a program format glassnet
does not have: those raise and say what to use instead (``glassnet.compile`` for speed,
``glassnet.save(model.state_dict(), f)`` to save).
"""

from __future__ import annotations

import typing

__all__ = [
    "Final",
    "annotate",
    "export",
    "ignore",
    "is_scripting",
    "is_tracing",
    "load",
    "save",
    "script",
    "trace",
    "unused",
]

Final = typing.Final


def is_scripting() -> bool:
    """False: glassnet code always runs eagerly (as eager PyTorch answers)."""
    return False


def is_tracing() -> bool:
    """False: glassnet never traces (as eager PyTorch answers)."""
    return False


def _passthrough(fn=None, **_kwargs):
    if fn is None:  # used as @ignore(drop=True)
        return lambda f: f
    return fn


def ignore(fn=None, **kwargs):
    """``@torch.jit.ignore``: leaves the function as it is (it only matters to the compiler)."""
    return _passthrough(fn, **kwargs)


def unused(fn=None, **kwargs):
    """``@torch.jit.unused``: leaves the function as it is."""
    return _passthrough(fn, **kwargs)


def export(fn):
    """``@torch.jit.export``: leaves the method as it is."""
    return fn


def annotate(the_type, the_value):
    """``torch.jit.annotate(T, value)``: the value (the type is for the compiler)."""
    return the_value


def _no_torchscript(what: str, instead: str):
    def refuse(*args, **kwargs):
        raise NotImplementedError(
            f"torch.jit.{what}: glassnet has no TorchScript (it always runs eagerly); {instead}"
        )

    refuse.__name__ = what
    refuse.__doc__ = f"Raises: TorchScript's ``{what}`` is not available ({instead})."
    return refuse


script = _no_torchscript("script", "call the model directly, or use glassnet.compile for speed")
trace = _no_torchscript("trace", "call the model directly, or use glassnet.compile for speed")
save = _no_torchscript("save", "save the weights with glassnet.save(model.state_dict(), f)")
load = _no_torchscript("load", "build the model in Python and load_state_dict(glassnet.load(f))")
