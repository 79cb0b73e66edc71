"""``glassnet.nn.utils.rnn``: PyTorch's padding helpers for batches of variable-length
sequences.

``pad_sequence`` / ``unpad_sequence`` work as PyTorch's. Packed sequences are not supported:
glassnet's RNN, LSTM and GRU take padded tensors only, so ``pack_padded_sequence``,
``pack_sequence``, ``pad_packed_sequence`` and ``PackedSequence`` raise NotImplementedError
naming the alternative: pad with ``pad_sequence``, run the RNN on the padded batch, and pick
each sequence's last valid step (``out[lengths - 1, arange(B)]``) or mask the padded steps.
"""

from __future__ import annotations

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

_NO_PACKING = (
    "{name} is not supported by glassnet: its RNN, LSTM and GRU take padded tensors only. "
    "Pad the batch with nn.utils.rnn.pad_sequence(sequences), run the RNN on it, and read "
    "each sequence's last valid output with out[lengths - 1, arange(batch)] (or mask the "
    "padded steps); the outputs at the valid steps equal PyTorch's packed results for a "
    "unidirectional RNN (a bidirectional one also reads the padding backwards)"
)


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


class PackedSequence:
    """Not supported (see the module docstring): constructing one raises
    NotImplementedError. The class exists so that ``isinstance(x, PackedSequence)`` checks
    in ported code run (always False)."""

    def __new__(cls, *args, **kwargs):
        raise NotImplementedError(_NO_PACKING.format(name="PackedSequence"))


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):  # noqa: A002
    """Not supported: raises NotImplementedError naming pad_sequence + masking."""
    raise NotImplementedError(_NO_PACKING.format(name="pack_padded_sequence"))


def pack_sequence(sequences, enforce_sorted=True):
    """Not supported: raises NotImplementedError naming pad_sequence + masking."""
    raise NotImplementedError(_NO_PACKING.format(name="pack_sequence"))


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Not supported: raises NotImplementedError naming pad_sequence + masking."""
    raise NotImplementedError(_NO_PACKING.format(name="pad_packed_sequence"))


def unpack_sequence(packed_sequences):
    """Not supported: raises NotImplementedError naming pad_sequence + masking."""
    raise NotImplementedError(_NO_PACKING.format(name="unpack_sequence"))
