"""The lowercase functional API (PyTorch's ``torch.nn.functional``), re-exported from ops."""

from glassnet.ops.conv import conv1d, conv2d  # noqa: F401
from glassnet.ops.nn import dropout, embedding, linear  # noqa: F401
from glassnet.ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d  # noqa: F401
