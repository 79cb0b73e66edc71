"""The Tensor methods and operators that run ops, attached to ``Tensor`` by ``glassnet.ops``.

``glassnet.tensor`` sits in the autograd layer and never imports the ops (the ops import it);
this module, in the ops layer, binds them onto the class instead: one table, checked (a name
missing from the ops fails loudly at import, never silently). Most methods are the op
functions themselves (``x.sum(axis=1)`` is ``ops.sum(x, axis=1)``), bound directly rather than
through a forwarding wrapper: one Python call less on every op.
"""

from __future__ import annotations

from types import SimpleNamespace

from glassnet.backend import to_dtype
from glassnet.tensor import Tensor

_ops = SimpleNamespace()  # the functions of glassnet.ops, filled by bind()

#: Tensor methods that are op functions of the same name (``Tensor.exp is ops.exp``).
METHODS = (
    "add", "sub", "mul", "div", "pow", "matmul", "neg",
    "exp", "log", "log1p", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "erf",
    "sum", "mean", "var", "std", "max", "min", "argmax", "argmin", "logsumexp", "softmax",
    "log_softmax", "reshape", "view", "transpose", "permute", "swapaxes", "flatten",
    "squeeze", "unsqueeze", "expand", "broadcast_to", "clip", "clamp", "split", "gather",
    "pad", "any", "all", "square", "rsqrt", "maximum", "minimum", "take_along_axis", "repeat",
    "repeat_interleave", "tile", "amax", "amin", "prod", "norm",
)  # fmt: skip

#: More op-function methods by PyTorch's names: x.cumsum(0), x.sort(), x.erf(), x.flip(0), ...
MORE_METHODS = (
    "add", "sub", "mul", "neg", "matmul", "pow", "erf", "erfc", "erfinv", "expm1", "exp2", "log2",
    "log10", "tan", "asin", "acos", "atan", "arcsin", "arccos", "arctan", "sinh", "cosh", "asinh",
    "acosh", "atanh", "arcsinh", "arccosh", "arctanh", "atan2", "arctan2", "hypot", "floor",
    "ceil", "round", "trunc", "fix", "sign", "sgn", "frac", "fmod", "remainder", "floor_divide",
    "div", "divide", "true_divide", "lerp", "reciprocal", "logaddexp", "logaddexp2", "clamp_min",
    "clamp_max", "xlogy", "logit", "nan_to_num", "deg2rad", "rad2deg", "float_power", "negative",
    "absolute", "multiply", "subtract", "isnan", "isinf", "isfinite", "isposinf", "isneginf",
    "isclose", "allclose", "equal", "eq", "ne", "lt", "le", "gt", "ge", "logical_and",
    "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor",
    "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "signbit", "nonzero",
    "count_nonzero", "argsort", "unique", "unique_consecutive", "cumsum", "cumprod", "cummax",
    "cummin", "logcumsumexp",
    "sort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode", "amax", "amin", "aminmax",
    "flip", "fliplr", "flipud", "roll", "rot90", "tril", "triu", "diagonal", "diag_embed", "diag",
    "index_select", "masked_fill", "masked_select", "take", "take_along_dim", "scatter",
    "scatter_add", "scatter_reduce", "index_add", "index_copy", "index_fill", "index_put", "chunk",
    "tensor_split", "unbind", "narrow", "select", "movedim", "moveaxis", "swapdims", "unflatten",
    "ravel", "unfold", "outer", "ger", "mm", "bmm", "mv", "dot", "inner", "addmm", "baddbmm",
    "addmv", "dist", "as_strided",
    "hardshrink", "prelu", "positive", "vdot", "isreal",
    "addcmul", "addcdiv", "addbmm", "addr", "bincount", "copysign", "cross", "diagflat", "diff",
    "fmax", "fmin", "gcd", "heaviside", "histc", "kron", "lcm", "nanmean", "nansum", "sinc",
    "trace", "quantile", "nanquantile", "cov", "corrcoef", "greater", "greater_equal", "less",
    "less_equal", "not_equal", "argwhere", "hsplit", "vsplit", "dsplit", "split_with_sizes",
    "det", "logdet", "slogdet", "inverse", "cholesky", "matrix_power", "pinverse", "lgamma",
    "digamma", "mvlgamma", "is_complex",
)  # fmt: skip


def clone(self, *, memory_format=None) -> Tensor:
    """A copy of the data that stays in the graph (gradient flows back)."""
    return _ops.clone(self, memory_format=memory_format)


def cpu(self) -> Tensor:
    return self.to("cpu")


def astype(self, dtype) -> Tensor:
    """Cast to ``dtype``; differentiable between float dtypes."""
    dtype = to_dtype(dtype)
    if dtype == self.dtype:
        return self
    return _ops.cast(self, dtype=dtype)


def _float(self) -> Tensor:
    return self.astype("float32")


def double(self) -> Tensor:
    return self.astype("float64")


def long(self) -> Tensor:
    return self.astype("int64")


def polygamma(self, n: int) -> Tensor:
    """``x.polygamma(n)``: PyTorch's method order (the function is ``polygamma(n, x)``)."""
    return _ops.polygamma(n, self)


def _transposed(self) -> Tensor:
    """The tensor with its axes reversed (a view)."""
    return _ops.transpose(self)


def _matrix_transposed(self) -> Tensor:
    """The last two axes swapped (batched matrix transpose)."""
    return _ops.swapaxes(self, -1, -2)


def _operators() -> dict:
    return {
        "__add__": _ops.add,
        "__sub__": _ops.sub,
        "__mul__": _ops.mul,
        "__truediv__": _ops.true_divide,  # ops.div also takes rounding_mode=
        "__matmul__": _ops.matmul,
        "__pow__": _ops.pow,
        "__radd__": lambda self, other: _ops.add(other, self),
        "__rsub__": lambda self, other: _ops.sub(other, self),
        "__rmul__": lambda self, other: _ops.mul(other, self),
        "__rtruediv__": lambda self, other: _ops.div(other, self),
        "__rpow__": lambda self, other: _ops.pow(other, self),
        "__rmatmul__": lambda self, other: _ops.matmul(other, self),
        "__neg__": _ops.neg,
        "__pos__": lambda self: self,
        "__abs__": _ops.abs,
        "__getitem__": _ops.getitem,
        "__floordiv__": _ops.floor_divide,
        "__rfloordiv__": lambda self, other: _ops.floor_divide(other, self),
        "__mod__": _ops.remainder,
        "__rmod__": lambda self, other: _ops.remainder(other, self),
        # bitwise on bool and integer tensors (floats raise a TypeError naming logical_*)
        "__and__": _ops.bitwise_and,
        "__rand__": lambda self, other: _ops.bitwise_and(other, self),
        "__or__": _ops.bitwise_or,
        "__ror__": lambda self, other: _ops.bitwise_or(other, self),
        "__xor__": _ops.bitwise_xor,
        "__rxor__": lambda self, other: _ops.bitwise_xor(other, self),
        "__invert__": _ops.bitwise_not,
        "__lshift__": _ops.bitwise_left_shift,
        "__rlshift__": lambda self, other: _ops.bitwise_left_shift(other, self),
        "__rshift__": _ops.bitwise_right_shift,
        "__rrshift__": lambda self, other: _ops.bitwise_right_shift(other, self),
        # comparisons: no gradient, boolean tensors (ops.equal is torch.equal's one bool)
        "__eq__": _ops.eq,
        "__ne__": _ops.not_equal,
        "__lt__": _ops.less,
        "__le__": _ops.less_equal,
        "__gt__": _ops.greater,
        "__ge__": _ops.greater_equal,
    }


def bind(ops: dict) -> None:
    """Attach the op-backed methods and operators to ``Tensor``; ``ops`` is the namespace of
    ``glassnet.ops`` (passed in: this module never imports its own package)."""
    _ops.__dict__.update(ops)
    for name in METHODS + MORE_METHODS:
        setattr(Tensor, name, ops[name])  # a KeyError names a missing op
    for name, fn in _operators().items():
        setattr(Tensor, name, fn)
    # to(), cuda(), where() and the other PyTorch methods that are not one op live in
    # glassnet._tensor_torch
    conversions = {"clone": clone, "cpu": cpu, "astype": astype,
                   "float": _float, "double": double, "long": long,
                   "polygamma": polygamma}  # fmt: skip
    for name, fn in conversions.items():
        setattr(Tensor, name, fn)
    Tensor.T = property(_transposed)
    Tensor.mT = property(_matrix_transposed)
    Tensor.__hash__ = object.__hash__  # defining __eq__ must not make tensors unhashable
