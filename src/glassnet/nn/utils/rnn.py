"""``glassnet.nn.utils.rnn``: PyTorch's helpers for batches of variable-length sequences.

``pad_sequence`` / ``unpad_sequence`` pad and unpad. ``pack_padded_sequence`` /
``pack_sequence`` make a :class:`PackedSequence` (PyTorch's layout: the valid steps only,
time-major, sequences sorted by decreasing length, ``batch_sizes[t]`` = how many sequences are
longer than t), which ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` accept as PyTorch's do: each
sequence is run over its own length only (the backward direction starts at its last valid
step), the output is packed the same way and ``h_n`` holds each sequence's state at its own
last step, in the original batch order. ``pad_packed_sequence`` / ``unpack_sequence`` undo the
packing. Everything is differentiable (slices, concatenations and a masked ``where`` per step).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from glassnet import ops
from glassnet.tensor import Tensor

__all__ = [
    "PackedSequence",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]


def pad_sequence(
    sequences,
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stack tensors of shapes (L_i, *) into one padded batch, as PyTorch.

    Returns (T, B, *) (``batch_first=True``: (B, T, *)) with T = max L_i; positions past a
    sequence's end hold ``padding_value`` (after it with ``padding_side="right"``, before it
    with ``"left"``). Differentiable: each input receives its slice of the gradient.

    >>> import glassnet as gn
    >>> batch = pad_sequence([gn.ones(3), gn.ones(1) * 2], batch_first=True)
    >>> batch.numpy().tolist()
    [[1.0, 1.0, 1.0], [2.0, 0.0, 0.0]]
    """
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise ValueError("pad_sequence: received an empty list of sequences")
    if padding_side not in ("right", "left"):
        raise ValueError(
            f"pad_sequence: padding_side must be 'right' or 'left', got {padding_side!r}"
        )
    for i, s in enumerate(sequences):
        if not isinstance(s, Tensor) or s.ndim == 0:
            got = type(s).__name__ if not isinstance(s, Tensor) else "a 0-d tensor"
            raise TypeError(
                f"pad_sequence: sequence {i} must be a tensor of shape (L, *), got {got}"
            )
    trailing = tuple(sequences[0].shape[1:])
    for i, s in enumerate(sequences):
        if tuple(s.shape[1:]) != trailing:
            raise ValueError(
                f"pad_sequence: sequence {i} has shape {tuple(s.shape)}; every sequence must "
                f"be (L, {', '.join(map(str, trailing))}) (only the first dim may differ)"
            )
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        gap = longest - s.shape[0]
        widths = [(0, gap) if padding_side == "right" else (gap, 0)]
        widths += [(0, 0)] * len(trailing)
        padded.append(ops.pad(s, widths, value=padding_value) if gap else s)
    return ops.stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """The inverse of :func:`pad_sequence` (right padding): a list of (L_i, *) tensors."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lengths = lengths.tolist() if isinstance(lengths, Tensor) else list(lengths)
    if len(lengths) != padded_sequences.shape[0]:
        raise ValueError(
            f"unpad_sequence: got {len(lengths)} lengths for a batch of "
            f"{padded_sequences.shape[0]} sequences"
        )
    return [padded_sequences[i, : int(n)] for i, n in enumerate(lengths)]


def _index_tensor(values) -> Tensor:
    """An int64 tensor on the CPU (PyTorch keeps batch_sizes and the permutations there)."""
    return Tensor(np.asarray(values, dtype=np.int64))


def _invert_permutation(permutation: Tensor | None) -> Tensor | None:
    if permutation is None:
        return None
    order = permutation.numpy()
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size, dtype=order.dtype)
    return _index_tensor(inverse)


class PackedSequence(
    namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])
):
    """A batch of variable-length sequences packed as PyTorch packs them (a named tuple).

    ``data`` (sum of the lengths, *) holds step 0 of every sequence, then step 1 of those
    longer than 1, ...; the sequences sorted by decreasing length (``sorted_indices``: the
    original index of each sorted position, ``unsorted_indices`` its inverse; both None when
    the batch came sorted). ``batch_sizes[t]`` counts the sequences longer than t. Build one
    with :func:`pack_padded_sequence` or :func:`pack_sequence`.
    """

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if batch_sizes is None:
            raise TypeError(
                "PackedSequence(data, batch_sizes, ...): build it with "
                "nn.utils.rnn.pack_padded_sequence or pack_sequence"
            )
        if unsorted_indices is None:
            unsorted_indices = _invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """``data`` moved / cast as ``Tensor.to``; the index tensors stay on the CPU."""
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else type(self)(data, *self[1:])

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def cuda(self, *args, **kwargs) -> PackedSequence:
        return self.to("cuda")

    def double(self) -> PackedSequence:
        return self.to(dtype="float64")

    def float(self) -> PackedSequence:  # noqa: A003 - PyTorch's name
        return self.to(dtype="float32")

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda


def _lengths_array(lengths, batch: int, steps: int) -> np.ndarray:
    if isinstance(lengths, Tensor):
        lengths = lengths.numpy()
    arr = np.asarray(lengths)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iub"):
        raise ValueError(
            f"pack_padded_sequence: lengths must be a 1-D list or tensor of integers, got "
            f"shape {arr.shape} and dtype {arr.dtype}"
        )
    arr = arr.astype(np.int64)
    if arr.size != batch:
        raise ValueError(
            f"pack_padded_sequence: got {arr.size} lengths for a batch of {batch} sequences; "
            "pass one length per sequence"
        )
    if (arr <= 0).any():
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in "
            "'lengths' that is <= 0"
        )
    if arr.max() > steps:
        raise ValueError(
            f"pack_padded_sequence: a length of {int(arr.max())} exceeds the {steps} steps of "
            "the padded input"
        )
    return arr


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):  # noqa: A002
    """Pack a padded batch (T, B, *) ((B, T, *) with ``batch_first=True``) whose sequence b
    has ``lengths[b]`` valid steps into a :class:`PackedSequence`, as PyTorch.

    With ``enforce_sorted=True`` the lengths must be in decreasing order (RuntimeError
    otherwise, as PyTorch); ``enforce_sorted=False`` sorts the batch (stably) and records the
    permutation so the RNN's outputs come back in the original order.

    >>> import glassnet as gn
    >>> packed = pack_padded_sequence(gn.ones(3, 2, 1), [3, 1])
    >>> tuple(packed.data.shape), packed.batch_sizes.tolist()
    ((4, 1), [2, 1, 1])
    """
    if not isinstance(input, Tensor) or input.ndim < 2:
        raise TypeError("pack_padded_sequence: input must be a padded tensor (T, B, *)")
    if batch_first:
        input = input.transpose(0, 1)
    arr = _lengths_array(lengths, input.shape[1], input.shape[0])
    if enforce_sorted:
        if (np.diff(arr) > 0).any():
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability."
            )
        sorted_indices = None
    else:
        order = np.argsort(-arr, kind="stable")
        sorted_indices = _index_tensor(order)
        arr = arr[order]
        input = ops.index_select(input, 1, Tensor(order).to(input.device))
    batch_sizes = (arr[None, :] > np.arange(int(arr[0]))[:, None]).sum(axis=1)
    data = ops.cat([input[t, : int(n)] for t, n in enumerate(batch_sizes)], 0)
    return PackedSequence(data, _index_tensor(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo :func:`pack_padded_sequence`: ``(padded, lengths)`` with padded (T, B, *)
    ((B, T, *) with ``batch_first=True``; T = ``total_length`` if given) in the original batch
    order and ``lengths`` an int64 tensor, as PyTorch."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(
            f"pad_packed_sequence: expected a PackedSequence, got {type(sequence).__name__}"
        )
    sizes = sequence.batch_sizes.numpy().astype(np.int64)
    steps = len(sizes)
    if total_length is not None and total_length < steps:
        raise ValueError(
            "Expected total_length to be at least the length of the longest sequence in "
            f"input, but got total_length={total_length} and max sequence length being "
            f"{steps}"
        )
    data, batch = sequence.data, int(sizes[0])
    rows, offset = [], 0
    for n in sizes:
        step = data[offset : offset + int(n)]
        offset += int(n)
        if n < batch:
            widths = [(0, batch - int(n))] + [(0, 0)] * (data.ndim - 1)
            step = ops.pad(step, widths, value=padding_value)
        rows.append(step)
    padded = ops.stack(rows, 0)
    if total_length is not None and total_length > steps:
        widths = [(0, total_length - steps)] + [(0, 0)] * (padded.ndim - 1)
        padded = ops.pad(padded, widths, value=padding_value)
    lengths = (sizes[None, :] > np.arange(batch)[:, None]).sum(axis=1)
    if sequence.unsorted_indices is not None:
        order = sequence.unsorted_indices.numpy()
        padded = ops.index_select(padded, 1, Tensor(order).to(padded.device))
        lengths = lengths[order]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, _index_tensor(lengths)


def pack_sequence(sequences, enforce_sorted=True) -> PackedSequence:
    """Pack a list of (L_i, *) tensors: ``pack_padded_sequence(pad_sequence(sequences),
    lengths, enforce_sorted=enforce_sorted)``, as PyTorch."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The list of (L_i, *) tensors that :func:`pack_sequence` packed (original order)."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
