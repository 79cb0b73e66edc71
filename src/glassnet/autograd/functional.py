"""``glassnet.autograd.functional``: PyTorch's module path for ``jacobian``, ``hessian``,
``vjp``, ``jvp``, ``vhp`` and ``hvp``.

They are built from ops (``stack``), a layer above autograd, so they live in
:mod:`glassnet.func.autograd_functional` and are looked up here on first use.
"""

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]  # noqa: F822 - lazy


def __getattr__(name: str):
    if name in __all__:
        from glassnet.func import autograd_functional

        return getattr(autograd_functional, name)
    raise AttributeError(f"module 'glassnet.autograd.functional' has no attribute {name!r}")


def __dir__() -> list:
    return sorted(__all__)
