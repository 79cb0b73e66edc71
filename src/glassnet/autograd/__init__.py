"""Reverse-mode automatic differentiation: graph nodes, the backward engine, grad mode, hooks."""

from glassnet.autograd import (
    custom_function,  # noqa: F401 - registers the ctx-form adapter
    functional,  # noqa: F401 - torch.autograd.functional (lazy)
)
from glassnet.autograd.anomaly_mode import (
    detect_anomaly,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_detect_anomaly,
)
from glassnet.autograd.api import backward, grad
from glassnet.autograd.engine import run_backward, topological_order, unbroadcast
from glassnet.autograd.function import OPS, Function, FunctionCtx, explain_op, once_differentiable
from glassnet.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from glassnet.autograd.hooks import (
    RemovableHandle,
    register_backward_hook,
    register_backward_pre_hook,
    register_forward_hook,
)
