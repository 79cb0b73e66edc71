"""``glassnet.utils``: PyTorch's module paths (``glassnet.utils.data``,
``glassnet.utils.checkpoint``)."""

from glassnet.utils import checkpoint, data

__all__ = ["checkpoint", "data"]
