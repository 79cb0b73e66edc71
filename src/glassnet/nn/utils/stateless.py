"""``glassnet.nn.utils.stateless``: PyTorch's older path for ``functional_call`` (see
:func:`glassnet.func.functional_call`)."""

from glassnet.func.functional_call import functional_call

__all__ = ["functional_call"]
