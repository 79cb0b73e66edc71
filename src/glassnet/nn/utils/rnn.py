"""``glassnet.nn.utils.rnn``: PyTorch's helpers for batches of variable-length sequences.

``pad_sequence`` stacks sequences of different lengths into one padded batch. Packing goes
further: a :class:`PackedSequence` stores only the valid steps, time-major, and
``nn.RNN``/``nn.LSTM``/``nn.GRU`` run each sequence over its own length only (the hidden
state of a finished sequence stops changing; a bidirectional layer reads each sequence
backwards from its own last step). As in PyTorch:

- ``pack_padded_sequence(padded, lengths)`` sorts the batch by decreasing length (or checks
  that it is sorted, ``enforce_sorted=True``) and keeps, at time t, the first
  ``batch_sizes[t]`` sequences: ``data`` is (sum(lengths), *);
- ``pad_packed_sequence(packed)`` gives back the padded batch in the original order and the
  lengths; ``pack_sequence`` / ``unpack_sequence`` do the same from and to a list.

Packing and padding are gathers, so gradients flow through them to the padded input.

>>> import glassnet as gn
>>> x = gn.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 0.0]])          # (B, T), second is length 2
>>> packed = pack_padded_sequence(x, [3, 2], batch_first=True)
>>> packed.data.tolist(), packed.batch_sizes.tolist()
([1.0, 4.0, 2.0, 5.0, 3.0], [2, 2, 1])
>>> padded, lengths = pad_packed_sequence(packed, batch_first=True)
>>> padded.tolist(), lengths.tolist()
([[1.0, 2.0, 3.0], [4.0, 5.0, 0.0]], [3, 2])
"""

from __future__ import annotations

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
    "invert_permutation",
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


def invert_permutation(permutation):
    """The inverse of a permutation of 0..n-1 (a 1-D int tensor), or None for None."""
    if permutation is None:
        return None
    order = np.asarray(permutation.tolist(), dtype=np.int64)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size)
    return _index_tensor(inverse, permutation.device)


def _index_tensor(values, device) -> Tensor:
    from glassnet.creation import tensor

    return tensor(np.asarray(values, dtype=np.int64), device=device)


class PackedSequence(tuple):
    """A batch of variable-length sequences stored without padding (PyTorch's class).

    Fields, as PyTorch's named tuple: ``data`` (sum of lengths, *) holds the valid steps
    time-major (all sequences' first steps, then their second steps, ...), with the batch
    sorted by decreasing length; ``batch_sizes`` (an int64 CPU tensor) is how many sequences
    are still running at each time step; ``sorted_indices`` is the order that sorted the
    batch (None when it was sorted already) and ``unsorted_indices`` its inverse. Build one
    with :func:`pack_padded_sequence` or :func:`pack_sequence`, not by hand.
    """

    __slots__ = ()
    _fields = ("data", "batch_sizes", "sorted_indices", "unsorted_indices")

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PyTorch's form PackedSequence((data, batch_sizes))
            data, batch_sizes = data
        if not isinstance(batch_sizes, Tensor) or batch_sizes.ndim != 1:
            raise TypeError(
                "PackedSequence: batch_sizes must be a 1-D int64 tensor on the CPU, got "
                f"{type(batch_sizes).__name__}; build packed batches with "
                "nn.utils.rnn.pack_padded_sequence or pack_sequence"
            )
        return tuple.__new__(cls, (data, batch_sizes, sorted_indices, unsorted_indices))

    data = property(lambda self: self[0])
    batch_sizes = property(lambda self: self[1])
    sorted_indices = property(lambda self: self[2])
    unsorted_indices = property(lambda self: self[3])

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={v!r}" for k, v in zip(self._fields, self))
        return f"PackedSequence({parts})"

    def _replace_data(self, data) -> PackedSequence:
        sorted_indices, unsorted_indices = self.sorted_indices, self.unsorted_indices
        if sorted_indices is not None and data.device != sorted_indices.device:
            sorted_indices = sorted_indices.to(data.device)
            unsorted_indices = unsorted_indices.to(data.device)
        return PackedSequence(data, self.batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """``data.to(...)``; the indices follow data's device, ``batch_sizes`` stays on the
        CPU (PyTorch's rule)."""
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else self._replace_data(data)

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def cuda(self, *args, **kwargs) -> PackedSequence:
        return self._replace_data(self.data.cuda(*args, **kwargs))

    def double(self) -> PackedSequence:
        return self._replace_data(self.data.double())

    def float(self) -> PackedSequence:
        return self._replace_data(self.data.float())

    def half(self) -> PackedSequence:
        return self._replace_data(self.data.half())

    def long(self) -> PackedSequence:
        return self._replace_data(self.data.long())

    def int(self) -> PackedSequence:
        return self._replace_data(self.data.int())

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return False


def _lengths_list(lengths, batch: int) -> np.ndarray:
    if isinstance(lengths, Tensor):
        if lengths.ndim != 1:  # (PyTorch also wants it on the CPU; any device reads here)
            raise RuntimeError(
                "'lengths' argument should be a 1D CPU int64 tensor, but got "
                f"{lengths.ndim}D {lengths.device} {lengths.dtype} tensor"
            )
        lengths = lengths.tolist()
    values = np.asarray(list(lengths), dtype=np.int64)
    if values.ndim != 1 or values.size != batch:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got {values.size} "
            f"(batch_size={batch})"
        )
    if values.size and values.min() <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in "
            "'lengths' that is <= 0"
        )
    return values


def pack_padded_sequence(
    input: Tensor,  # noqa: A002 - PyTorch's name
    lengths,
    batch_first: bool = False,
    enforce_sorted: bool = True,
) -> PackedSequence:
    """Pack a padded batch (T, B, *) (``batch_first``: (B, T, *)) of sequences with the given
    ``lengths`` (a list or a 1-D CPU int tensor): keep each sequence's first ``lengths[b]``
    steps.

    ``enforce_sorted=True`` requires lengths in decreasing order (PyTorch's default, for
    ONNX); ``False`` sorts the batch and records the order in ``sorted_indices``.
    Differentiable with respect to ``input``.
    """
    if not isinstance(input, Tensor) or input.ndim < 2:
        got = f"shape {tuple(input.shape)}" if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(
            f"pack_padded_sequence: input must be a padded batch (T, B, *) "
            f"(batch_first=True: (B, T, *)), got {got}"
        )
    if batch_first:
        input = input.transpose(0, 1)
    steps, batch = input.shape[0], input.shape[1]
    values = _lengths_list(lengths, batch)
    if enforce_sorted:
        if np.any(np.diff(values) > 0):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability."
            )
        order = None
    else:
        order = np.argsort(-values, kind="stable")
        values = values[order]
    if values[0] > steps:
        # PyTorch reads past the end of the input here; glassnet says so
        raise ValueError(
            f"pack_padded_sequence: a length of {values[0]} exceeds the input's {steps} time "
            f"steps (input shape {tuple(input.shape)}, batch_first={batch_first})"
        )
    sizes = (values[None, :] > np.arange(values[0])[:, None]).sum(axis=1)
    source = order if order is not None else np.arange(batch)
    rows = np.concatenate([t * batch + source[:n] for t, n in enumerate(sizes.tolist())])
    data = input.reshape((steps * batch,) + tuple(input.shape[2:]))[rows]
    sorted_indices = None if order is None else _index_tensor(order, input.device)
    return PackedSequence(data, _index_tensor(sizes, "cpu"), sorted_indices)


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """The inverse of :func:`pack_padded_sequence`: ``(padded, lengths)``.

    ``padded`` is (T, B, *) (``batch_first``: (B, T, *)) in the batch's original order, with
    ``padding_value`` past each sequence's end and T = the longest length, or
    ``total_length`` when given; ``lengths`` is an int64 CPU tensor.
    """
    if not isinstance(sequence, PackedSequence):
        raise TypeError(
            "pad_packed_sequence: expected a PackedSequence (from pack_padded_sequence or an "
            f"RNN run on one), got {type(sequence).__name__}"
        )
    data, batch_sizes, _, unsorted = sequence
    sizes = np.asarray(batch_sizes.tolist(), dtype=np.int64)
    steps, batch = sizes.size, int(sizes[0])
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{steps}"
            )
        steps = total_length
    lengths = (sizes[None, :] > np.arange(batch)[:, None]).sum(axis=1)
    column = np.arange(batch)
    if unsorted is not None:  # the padded batch in the original order
        column = column[np.asarray(unsorted.tolist(), dtype=np.int64)]
        lengths = lengths[np.asarray(unsorted.tolist(), dtype=np.int64)]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    rows = np.full((steps, batch), data.shape[0], dtype=np.int64)  # the padding row
    for t, n in enumerate(sizes.tolist()):
        valid = column < n
        rows[t, valid] = starts[t] + column[valid]
    from glassnet.creation import full

    pad = full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    padded = ops.concat([data, pad], 0)[rows.reshape(-1)]
    padded = padded.reshape((steps, batch) + tuple(data.shape[1:]))
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, _index_tensor(lengths, "cpu")


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (L_i, *) tensors (``pad_sequence`` then ``pack_padded_sequence``)."""
    sequences = list(sequences)
    lengths = [s.shape[0] if isinstance(s, Tensor) and s.ndim else 0 for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The list of (L_i, *) tensors in a :class:`PackedSequence`, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return [padded[i, :n] for i, n in enumerate(lengths.tolist())]
