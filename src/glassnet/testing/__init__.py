"""Helpers for testing ops and models, shipped so users can check their own code."""

from glassnet.testing.comparison import assert_close
from glassnet.testing.creation import make_tensor
from glassnet.testing.gradcheck import (
    GradCase,
    GradcheckError,
    check_grad,
    check_grad_grad,
    run_case,
)
from glassnet.testing.threads import check_thread_counts
