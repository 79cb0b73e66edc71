"""In-place writes into a view whose elements overlap in memory (``x.unfold(0, 2, 1)``,
``as_strided``), done as PyTorch does them: element by element, in the view's row-major order.

NumPy buffers an in-place ufunc whose output overlaps itself, so ``v += 1`` on
``zeros(4).unfold(0, 2, 1)`` would compute every result from the old values and give
``[1, 1, 1, 1]``; PyTorch adds once per view element, giving ``[1, 2, 2, 1]``. ``add_``,
``sub_``, ``mul_`` and ``div_`` therefore go through ``ufunc.at`` on the storage's flat
indices (which applies the op once per index, in order), and writes of values (``copy_``,
``x[...] = v``, the random fills) assign in the view's order (the last write of an element
wins; glassnet raises where two different values would be written to one element, as the
order PyTorch writes them in is its kernels' choice). Other in-place ops on such a view raise
(see ``refuse``), and so does an operand that partly overlaps the written tensor, as in
PyTorch (``x[1:].add_(x[:-1])``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["accumulate", "arith", "check_operand", "overlaps", "refuse", "write"]


def overlaps(data) -> bool:
    """True when two elements of the array ``data`` share a memory location (only views can;
    a broadcast view from ``expand`` is read-only and refused elsewhere)."""
    if getattr(data, "base", None) is None or data.size < 2:
        return False
    extent = data.itemsize
    for step, n in sorted((abs(s), n) for s, n in zip(data.strides, data.shape) if n > 1):
        if step < extent:  # may overlap: count the distinct addresses
            offsets = _offsets(data)
            return np.unique(offsets).size < offsets.size
        extent = step * (n - 1) + extent
    return False


def _offsets(data) -> np.ndarray:
    """Each element's offset in bytes from the first one, in the view's row-major order."""
    off = np.zeros((), dtype=np.int64)
    for k, (s, n) in enumerate(zip(data.strides, data.shape)):
        shape = [1] * data.ndim
        shape[k] = n
        off = off + (np.arange(n, dtype=np.int64) * s).reshape(shape)
    return np.broadcast_to(off, data.shape).reshape(-1)


def _storage(data, name: str):
    """The storage that ``data`` views, as a flat array, and ``data``'s flat indices into it."""
    root = obj = data
    while getattr(obj, "base", None) is not None:  # as_strided's views pass a DummyArray
        obj = obj.base
        if isinstance(obj, np.ndarray):
            root = obj
    if (
        type(data) is not np.ndarray
        or root.dtype != data.dtype
        or not root.flags.c_contiguous
    ):  # fmt: skip
        raise NotImplementedError(
            f"{name}: this tensor is a view whose elements overlap in memory (from unfold or "
            "as_strided), which glassnet writes element by element only for NumPy arrays "
            "over a contiguous storage of the same dtype; compute the result out of place "
            "and write it into the base tensor"
        )
    start = data.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    return root.reshape(-1), (start + _offsets(data)) // data.itemsize


def arith(data, ufunc, value, name: str) -> bool:
    """``data op= value`` where ``data`` or ``value`` is a view: raise on a partly overlapping
    operand; for a self-overlapping ``data`` apply the op per element and return True (done);
    else False (the caller does the plain NumPy in-place op)."""
    check_operand(data, value, name)
    if data.size and not getattr(getattr(data, "flags", None), "writeable", True):
        # a broadcast view (expand): ufunc.at on its storage would add once per view element,
        # several times into one element; PyTorch refuses the write instead
        raise ValueError(
            f"{name}: this tensor cannot be written: it is a broadcast view (from expand or "
            "broadcast_to), whose elements share memory (PyTorch raises too); write into the "
            "tensor it was expanded from, or into a copy (x.clone())"
        )
    if overlaps(data):
        if isinstance(value, np.ndarray) and np.shares_memory(data, value):
            raise refuse(name)  # reads of values the op itself changes: kernel-order results
        accumulate(data, ufunc, value, name)
        return True
    return False


def accumulate(data, ufunc, value, name: str) -> None:
    """``data op= value`` applied once per element of the view, in order (``ufunc.at``)."""
    flat, index = _storage(data, name)
    value = np.asarray(value)
    if not np.can_cast(np.result_type(flat, value), flat.dtype, "same_kind"):
        raise TypeError(
            f"{name}: the result type {np.result_type(flat, value)} can't be cast to this "
            f"tensor's dtype {flat.dtype} (PyTorch raises too)"
        )
    ufunc.at(flat, index, np.broadcast_to(value, data.shape).reshape(-1))


def write(data, value, name: str, any_order: bool = False) -> None:
    """``data[...] = value`` for an overlapping view. Two different values for one element
    raise (PyTorch's result then depends on its kernel's order), unless ``any_order`` (random
    samples, any of which is a valid draw)."""
    flat, index = _storage(data, name)
    values = np.broadcast_to(np.asarray(value), data.shape).reshape(-1)
    if not any_order:
        order = np.argsort(index, kind="stable")
        same = index[order][1:] == index[order][:-1]
        if np.any(values[order][1:][same] != values[order][:-1][same]):
            raise NotImplementedError(
                f"{name}: this tensor is a view whose elements overlap in memory (from unfold "
                "or as_strided) and the write gives one element two different values; "
                "PyTorch keeps whichever its kernel writes last. Write into the base tensor"
            )
    flat[index] = values


def check_operand(data, other, name: str) -> None:
    """Raise as PyTorch when the array ``other`` partly overlaps the written array ``data``
    (the same elements in the same layout, ``x.add_(x)``, is fine)."""
    if (
        isinstance(other, np.ndarray)
        and other is not data
        and np.may_share_memory(data, other)
        and not (
            other.__array_interface__["data"][0] == data.__array_interface__["data"][0]
            and other.strides == data.strides
            and other.shape == data.shape
        )
        and np.shares_memory(data, other)
    ):
        raise RuntimeError(
            f"{name}: unsupported operation: some elements of the input tensor and the "
            "written-to tensor refer to a single memory location (as in PyTorch). Please "
            "clone() the tensor before performing the operation"
        )


def refuse(name: str) -> NotImplementedError:
    return NotImplementedError(
        f"{name}: this tensor is a view whose elements overlap in memory (from unfold or "
        "as_strided). PyTorch applies the op to each view element in turn, so an element "
        "seen twice is changed twice; glassnet does that only for add_, sub_, mul_, div_, "
        "fill_, copy_ and x[...] = v. Compute the result out of place (on x.clone()) and "
        "copy it into the base tensor"
    )
