"""``glassnet.jit``: PyTorch's TorchScript entry points, for code that decorates with them.

glassnet has no TorchScript compiler (``glassnet.compile`` is its own capture-and-replay).
What a PyTorch program asks of ``torch.jit`` while it trains still works, and computes what
the Python code computes:

- ``script(fn_or_module)`` returns it unchanged: a scripted function or module computes what
  its Python source computes, control flow included;
- ``trace(fn_or_module, example_inputs)`` raises: a PyTorch trace replays the ops the example
  ran, so data-dependent branches keep the example's choice; running the Python instead
  would compute something else for such code. Use the module itself (or ``script``), or
  ``glassnet.compile`` for a captured step;
- ``ignore``, ``unused``, ``export``, ``annotate``, ``Final``, ``is_scripting()`` (False)
  and ``is_tracing()`` (False) are PyTorch's no-op markers;
- ``save`` / ``load`` raise: there is no TorchScript file to write. Save the weights with
  ``glassnet.save(model.state_dict(), path)`` and rebuild the model in Python.

>>> import glassnet as gn
>>> @gn.jit.script
... def gelu_tanh(x):
...     return 0.5 * x * (1 + gn.tanh(0.7978845608 * (x + 0.044715 * x**3)))
>>> round(gelu_tanh(gn.tensor(1.0)).item(), 4)
0.8412
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "Final", "annotate", "export", "ignore", "is_scripting", "is_tracing", "load", "save",
    "script", "trace", "unused",
]  # fmt: skip

Final = Any  # ``x: torch.jit.Final[int] = 3`` in a module: a constant, as any attribute


def script(obj=None, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    """``torch.jit.script``: returns ``obj`` unchanged (see the module docstring)."""
    return obj


def trace(func, example_inputs=None, *args, **kwargs):
    """Raises: glassnet cannot replay a trace (see the module docstring)."""
    raise NotImplementedError(
        "glassnet.jit.trace: glassnet has no TorchScript tracer (a trace would replay the "
        "example's ops, branches included); call the module itself, use glassnet.jit.script "
        "(the Python code as it is), or glassnet.compile for a captured training step"
    )


def ignore(drop=False, **kwargs):
    """``@torch.jit.ignore`` (with or without arguments): the function itself."""
    return drop if callable(drop) else (lambda fn: fn)


def unused(fn=None, **kwargs):
    """``@torch.jit.unused`` (with or without arguments): the function itself."""
    return fn if callable(fn) else (lambda f: f)


def export(fn):
    """``@torch.jit.export``: the method itself."""
    return fn


def annotate(the_type, the_value):
    """``torch.jit.annotate(type, value)``: the value."""
    return the_value


def is_scripting() -> bool:
    """False: glassnet code never runs as TorchScript."""
    return False


def is_tracing() -> bool:
    """False: ``trace`` runs the Python code as it is."""
    return False


def save(m, f, _extra_files=None) -> None:
    """Raises: glassnet writes no TorchScript archive."""
    raise NotImplementedError(
        "glassnet.jit.save: glassnet has no TorchScript archive to write; save the weights with "
        "glassnet.save(model.state_dict(), 'model.safetensors') and rebuild the model in Python"
    )


def load(f, map_location=None, _extra_files=None):
    """Raises: glassnet reads no TorchScript archive (it would hold code to run)."""
    raise NotImplementedError(
        "glassnet.jit.load: glassnet does not load TorchScript archives (they contain code); "
        "load weights with glassnet.load(path) and model.load_state_dict(...)"
    )
