"""PyTorch's ``Tensor`` methods that are not ops: sizes, conversions, ``new_*``, in-place updates.

They are attached to :class:`glassnet.Tensor` when ``glassnet.tensor`` is imported, so a
PyTorch program's ``x.size(0)``, ``x.new_zeros(3)``, ``p._data.add_(g, alpha=-lr)`` or
``f"{loss:.4f}"`` mean what they mean in PyTorch. Each is a thin layer over glassnet's ops
(the differentiable ones) or over the raw array (the in-place ones, which follow autograd's
rule: no in-place change of a tensor that requires grad while grad mode is on).
"""

from __future__ import annotations

import numpy as np

from glassnet import ops
from glassnet._torch_extras import _RANK, check_memory_format, contiguous_format
from glassnet.autograd import overlap as _overlap
from glassnet.autograd.grad_mode import STATE as _GRAD
from glassnet.autograd.grad_mode import inference_check, no_grad
from glassnet.backend import Device, to_device, to_dtype, xp_of
from glassnet.tensor import Tensor

# PyTorch's legacy type names (``x.type()``) for each dtype
_TYPE_NAMES = {
    "float32": "FloatTensor",
    "float64": "DoubleTensor",
    "float16": "HalfTensor",
    "int64": "LongTensor",
    "int32": "IntTensor",
    "int16": "ShortTensor",
    "int8": "CharTensor",
    "uint8": "ByteTensor",
    "bool": "BoolTensor",
}
_BY_TYPE_NAME = {name: np.dtype(dtype) for dtype, name in _TYPE_NAMES.items()}


# -- sizes -------------------------------------------------------------------------------------
def size(self, dim=None):
    """The shape as a tuple (``torch.Size`` is a tuple too), or the length of dim ``dim``."""
    if dim is None:
        return self.shape
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"size: dim must be an int, got {dim!r}")
    if not -self.ndim <= dim < max(self.ndim, 1) or self.ndim == 0:
        raise IndexError(
            f"size: dim {dim} is out of range for a tensor of shape {self.shape} "
            f"(valid: {-self.ndim}..{self.ndim - 1})"
        )
    return self.shape[dim]


def numel(self) -> int:
    """Number of elements (NumPy's ``size``)."""
    return int(self._data.size)


def dim(self) -> int:
    """Number of dims (``ndim``)."""
    return self._data.ndim


def element_size(self) -> int:
    """Bytes per element."""
    return self._data.dtype.itemsize


def _version(self) -> int:
    """The version counter (bumped by every in-place change), as PyTorch's ``_version``."""
    if self._vc.__class__ is not list:
        inference_check("version")
    return self._vc[0]


def requires_grad_(self, requires_grad: bool = True) -> Tensor:
    """Set ``requires_grad`` in place (a leaf; an inference tensor only in inference mode)."""
    if requires_grad and self.dtype.kind != "f":
        raise TypeError(f"only floating-point tensors can require gradients, got {self.dtype}")
    if self._ctx is not None and not requires_grad:
        raise RuntimeError("requires_grad_(False) on a non-leaf; use .detach() instead")
    if requires_grad and self._vc.__class__ is not list:
        inference_check("requires_grad")
    self.requires_grad = bool(requires_grad)
    return self


def is_inference(self) -> bool:
    """True for a tensor made inside ``inference_mode()`` (or a view of one), as PyTorch."""
    return self._vc.__class__ is not list


def is_floating_point(self) -> bool:
    return self._data.dtype.kind == "f"


def is_contiguous(self, memory_format=None) -> bool:
    """Whether the elements are in row-major order (PyTorch's ``contiguous_format``).

    glassnet stores every tensor row-major, so the question for ``channels_last`` (which
    PyTorch answers from the strides) raises rather than answering for another layout."""
    fmt = check_memory_format(memory_format, "is_contiguous", self.shape)
    if fmt is not None and fmt is not contiguous_format:
        raise NotImplementedError(
            f"is_contiguous(memory_format={fmt!r}): glassnet keeps every tensor row-major "
            "(contiguous_format) and has no channels-last layout; to(memory_format=...) keeps "
            "the values, so code that only converts does not need this check"
        )
    return bool(self._data.flags.c_contiguous)


def contiguous(self, memory_format=None):
    """The tensor itself when its elements are already in row-major order, else a row-major
    copy (differentiable), as PyTorch: writes to the result reach ``self`` only in the first
    case. ``memory_format=channels_last`` returns a copy with the same values (PyTorch's new
    layout; glassnet stores it row-major)."""
    fmt = check_memory_format(memory_format, "contiguous", self.shape)
    if fmt is not None and fmt in _RANK:
        return ops.clone(self)
    if self._data.flags.c_contiguous:
        return self
    return ops.clone(self)


def t(self):
    """``torch.t``: a matrix transposed; 0-d and 1-d tensors unchanged."""
    if self.ndim > 2:
        raise ValueError(
            f"t() expects a tensor with <= 2 dims, got shape {self.shape}; use transpose(d0, d1) "
            "or .mT for the last two dims"
        )
    return ops.transpose(self, 0, 1) if self.ndim == 2 else self


def view_as(self, other):
    return ops.reshape(self, other.shape)


reshape_as = view_as


def expand_as(self, other):
    return ops.expand(self, other.shape)


def type_as(self, other):
    return self.astype(other.dtype)


# -- data --------------------------------------------------------------------------------------
def _get_data(self):
    """``x._data``: a tensor sharing this tensor's storage, cut from the graph (PyTorch).

    Unlike :meth:`detach` it does not share the version counter, so in-place changes through
    it are not seen by autograd's staleness check, exactly as in PyTorch; prefer
    ``with gn.no_grad():`` for parameter updates.
    """
    return Tensor._make(self._data, False)


def _set_data(self, value):
    if isinstance(value, Tensor):
        value = value._data
    elif not hasattr(value, "dtype") or not hasattr(value, "shape"):
        raise TypeError(f"x._data = ... expects a tensor or array, got {type(value).__name__}")
    if self.requires_grad and value.dtype.kind != "f":
        raise TypeError(
            f"x._data = ...: a tensor that requires grad must hold floats, got {value.dtype}"
        )
    self._data = value


# -- conversion --------------------------------------------------------------------------------
def _device_or_dtype(arg):
    """Classify one positional argument of ``to``: ('device', Device) or ('dtype', dtype)."""
    if isinstance(arg, Device):
        return "device", arg
    if isinstance(arg, str):
        try:
            return "device", Device(arg)
        except ValueError:
            return "dtype", to_dtype(arg)
    return "dtype", to_dtype(arg)


def parse_to(args, device, dtype):
    """The positional arguments of ``to`` (a tensor's or a module's): ``to(device)``,
    ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)`` -> (device, dtype); None is skipped."""
    for arg in args:
        if arg is None:
            continue
        if isinstance(arg, Tensor):
            device, dtype = arg.device, arg.dtype
            continue
        kind, value = _device_or_dtype(arg)
        if kind == "device":
            device = value
        else:
            dtype = value
    return device, dtype


def to(self, *args, device=None, dtype=None, non_blocking=False, copy=False, **kwargs):
    """``x.to(device)``, ``x.to(dtype)``, ``x.to(device, dtype)`` or ``x.to(other)``.

    Returns ``x`` itself when nothing changes (``copy=True`` forces a copy), as PyTorch;
    the move and the cast are differentiable. ``non_blocking`` is accepted and ignored.
    """
    if kwargs.keys() - {"memory_format"}:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    fmt = check_memory_format(kwargs.get("memory_format"), "to", self.shape)
    if fmt is not None and fmt in _RANK:  # PyTorch copies into the new layout: same values
        copy = True
    device, dtype = parse_to(args, device, dtype)
    out = self
    if dtype is not None and to_dtype(dtype) != self.dtype:
        out = ops.cast(out, dtype=to_dtype(dtype))
    if device is not None and Device(device) != self.device:
        out = ops.to_device(out, device=Device(device))
    if copy and out is self:
        out = ops.clone(self)
    return out


def cuda(self, device=None, non_blocking=False):
    return self.to("cuda" if device is None else device)


def _type(self, dtype=None, non_blocking=False):
    """No argument: the legacy type name (``'glassnet.FloatTensor'``); else a cast."""
    if dtype is None:
        return f"glassnet.{_TYPE_NAMES.get(self.dtype.name, self.dtype.name)}"
    if isinstance(dtype, str) and dtype.rpartition(".")[2] in _BY_TYPE_NAME:
        dtype = _BY_TYPE_NAME[dtype.rpartition(".")[2]]
    return self.astype(dtype)


def _caster(dtype_name):
    def cast(self, memory_format=None):
        return self.astype(dtype_name)

    cast.__name__ = cast.__qualname__ = {
        "float16": "half",
        "int32": "int",
        "int16": "short",
        "int8": "char",
        "uint8": "byte",
        "bool": "bool",
    }[dtype_name]
    cast.__doc__ = f"Cast to {dtype_name} (PyTorch's ``x.{cast.__name__}()``)."
    return cast


# -- new tensors like this one -----------------------------------------------------------------
def _sizes(args):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def _new(self, array, dtype, device, requires_grad):
    array = array.astype(to_dtype(dtype) if dtype is not None else self.dtype, copy=False)
    array = to_device(array, self.device if device is None else device)
    return Tensor(array, requires_grad=requires_grad)


def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
    """Zeros of ``size`` with this tensor's dtype and device (unless given)."""
    return _new(self, np.zeros(_sizes(size)), dtype, device, requires_grad)


def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
    return _new(self, np.ones(_sizes(size)), dtype, device, requires_grad)


def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
    return _new(self, np.zeros(_sizes(size)), dtype, device, requires_grad)


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    return _new(self, np.full(tuple(size), fill_value), dtype, device, requires_grad)


def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    """A copy of ``data`` with this tensor's dtype and device (unless given)."""
    array = np.array(data.numpy() if isinstance(data, Tensor) else data)
    return _new(self, array, dtype, device, requires_grad)


def where(self, condition, other):
    """``torch.where(condition, self, other)`` (PyTorch's method form)."""
    return ops.where(condition, self, other)


# -- in place (PyTorch's ``_`` forms) ------------------------------------------------------------
def _write(self, name, value, any_order: bool = False):
    """Write the array ``value`` into this tensor's storage, following autograd's rule (into
    a view whose elements overlap: see ``glassnet.autograd.overlap``)."""
    self._check_inplace(name)
    if _overlap.overlaps(self._data):
        if not any_order:  # an op's result computed from the old values: not PyTorch's
            raise _overlap.refuse(name)
        _overlap.write(self._data, value, name, any_order=True)
        self._bump()
        return self
    self._data[...] = value
    self._bump()
    return self


def _inplace_of(name, op, cast: bool = False):
    """PyTorch's in-place ``name`` of the out-of-place ``op``: the result is written into this
    tensor's storage. As in PyTorch, a result whose dtype this tensor cannot hold without
    changing kind (a float result into an int tensor) raises, unless ``cast`` (a fill value,
    which PyTorch casts to the tensor's dtype)."""

    def method(self, *args, **kwargs):
        if _GRAD.enabled and self._records_inplace((*args, *kwargs.values())):
            # x.op_(x): the operand is x's former value (rebase swaps it for the snapshot)
            return self._rebase(name, lambda old, *a: _checked(name, old, op(old, *a, **kwargs)),
                                *args)  # fmt: skip
        self._check_inplace(name)
        with no_grad():
            out = op(self, *args, **kwargs)
        value = _checked(name, self, out)._data
        return _write(self, name, value)

    def _checked(name, x, out):
        value = out._data
        # PyTorch's can_cast: only a lower category refuses (float into int, int into bool);
        # NumPy's same_kind also refuses int16 into uint8, which PyTorch writes (wrapping)
        if not cast and not ops.can_cast(value.dtype, x.dtype):
            raise TypeError(
                f"{name}: the result type {value.dtype} can't be cast to this tensor's dtype "
                f"{x.dtype} (PyTorch raises too); use the out-of-place {name[:-1]}, or convert "
                "the tensor first"
            )
        if value.shape != x.shape:
            raise ValueError(
                f"{name}: the result's shape {value.shape} does not match this tensor's shape "
                f"{x.shape} (an in-place op cannot change the shape)"
            )
        return out

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In-place ``{name[:-1]}``: writes the result into this tensor."
    return method


def fill_diagonal_(self, fill_value, wrap: bool = False):
    """Fill the main diagonal (of a 2-D tensor, or one whose dims are all equal) with
    ``fill_value``; ``wrap``: a tall matrix's diagonal starts again after N columns."""
    if self.ndim < 2 or (self.ndim > 2 and len(set(self.shape)) != 1):
        raise ValueError(
            f"fill_diagonal_: needs a 2-D tensor or one with all dims equal, got {self.shape}"
        )
    self._check_inplace("fill_diagonal_")
    xp_of(self._data).fill_diagonal(self._data, fill_value, wrap=wrap)
    self._bump()
    return self


def detach_(self):
    """Cut this tensor from the graph in place (it becomes a leaf that does not need grad)."""
    self._ctx = None
    self.requires_grad = False
    return self


def __format__(self, spec: str) -> str:
    """``f"{loss:.4f}"`` formats a 0-d tensor's value, as PyTorch."""
    if self.ndim == 0:
        return format(self.item(), spec)
    return object.__format__(self, spec)


_METHODS = {
    "size": size,
    "numel": numel,
    "nelement": numel,
    "dim": dim,
    "ndimension": dim,
    "element_size": element_size,
    "is_floating_point": is_floating_point,
    "is_inference": is_inference,
    "_version": property(_version),
    "requires_grad_": requires_grad_,
    "is_contiguous": is_contiguous,
    "contiguous": contiguous,
    "t": t,
    "view_as": view_as,
    "reshape_as": reshape_as,
    "expand_as": expand_as,
    "type_as": type_as,
    "data": property(_get_data, _set_data),
    "is_cuda": property(lambda self: self.device.type == "cuda"),
    "to": to,
    "cuda": cuda,
    "type": _type,
    **{c.__name__: c for c in map(_caster, ("float16", "int32", "int16", "int8", "uint8", "bool"))},
    "new_zeros": new_zeros,
    "new_ones": new_ones,
    "new_empty": new_empty,
    "new_full": new_full,
    "new_tensor": new_tensor,
    "where": where,
    "pow_": _inplace_of("pow_", ops.pow),
    "neg_": _inplace_of("neg_", ops.neg),
    "clamp_": _inplace_of("clamp_", ops.clamp),
    "clip_": _inplace_of("clip_", ops.clamp),
    "masked_fill_": _inplace_of("masked_fill_", ops.masked_fill),
    "exp_": _inplace_of("exp_", ops.exp),
    "sqrt_": _inplace_of("sqrt_", ops.sqrt),
    "abs_": _inplace_of("abs_", ops.abs),
    "relu_": _inplace_of("relu_", ops.relu),
    "tanh_": _inplace_of("tanh_", ops.tanh),
    "sigmoid_": _inplace_of("sigmoid_", ops.sigmoid),
    "detach_": detach_,
    "fill_diagonal_": fill_diagonal_,
    "__format__": __format__,
}

for _name, _method in _METHODS.items():
    setattr(Tensor, _name, _method)

#: PyTorch's in-place forms of out-of-place methods glassnet has: ``x.log_()``, ``x.lerp_(y,
#: w)``, ``exp_avg_sq.addcmul_(g, g, value=1 - beta2)``, ``x.index_add_(0, idx, src)``, ...
#: (fill values are cast to the tensor's dtype, as in PyTorch: the second list)
_INPLACE = (
    "absolute", "acos", "acosh", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2",
    "arctanh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "cos", "cosh", "deg2rad", "erf",
    "erfc", "erfinv", "exp2", "expm1", "fix", "floor", "frac", "log", "log10", "log1p", "log2",
    "logit", "nan_to_num", "negative", "rad2deg", "reciprocal", "round", "rsqrt", "sgn", "sign",
    "sin", "sinc", "sinh", "square", "tan", "trunc", "addcdiv", "addcmul", "addmm", "addmv",
    "addbmm", "baddbmm", "addr", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
    "bitwise_left_shift", "bitwise_right_shift", "clamp_max", "clamp_min", "copysign", "divide",
    "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal",
    "not_equal", "floor_divide", "fmod", "remainder", "gcd", "lcm", "heaviside", "hypot", "lerp",
    "logical_and", "logical_or", "logical_xor", "logical_not", "multiply", "subtract",
    "true_divide", "xlogy", "index_add", "index_copy", "index_put", "scatter", "scatter_add",
    "scatter_reduce", "tril", "triu", "cumsum", "cumprod",
)  # fmt: skip
_INPLACE_CAST = ("index_fill",)
for _base in _INPLACE + _INPLACE_CAST:
    if not hasattr(Tensor, _base + "_"):
        setattr(
            Tensor,
            _base + "_",
            _inplace_of(_base + "_", getattr(Tensor, _base), _base in _INPLACE_CAST),
        )
