"""``glassnet.nn.functional``: PyTorch's module path for the functional API
(``import glassnet.nn.functional as F``); the same functions as :mod:`glassnet.functional`."""

from glassnet.functional import *  # noqa: F403
from glassnet.functional import __all__  # noqa: F401
