"""``glassnet.utils``: PyTorch's module paths (``glassnet.utils.data``)."""

from glassnet.utils import data

__all__ = ["data"]
