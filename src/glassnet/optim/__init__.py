"""Optimizers, learning-rate schedules and gradient clipping.

Each optimizer implements ``init_state`` and ``update`` (its equations are in the docstring);
the :class:`Optimizer` base class runs the loop over parameter groups.
"""

from glassnet.optim import lr_scheduler, swa_utils
from glassnet.optim.adagrad import Adagrad
from glassnet.optim.adam import Adam, AdamW
from glassnet.optim.adaptive import Adadelta, Adamax, NAdam, RAdam
from glassnet.optim.clip import clip_grad_norm, clip_grad_norm_, clip_grad_value, clip_grad_value_
from glassnet.optim.lbfgs import LBFGS
from glassnet.optim.optimizer import Optimizer
from glassnet.optim.rmsprop import RMSprop
from glassnet.optim.rprop_asgd import ASGD, Rprop
from glassnet.optim.sgd import SGD

__all__ = [
    "ASGD",
    "LBFGS",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "RAdam",
    "Optimizer",
    "RMSprop",
    "Rprop",
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value",
    "clip_grad_value_",
    "lr_scheduler",
    "swa_utils",
]
