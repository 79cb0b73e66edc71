"""A ~1 MB character-level corpus of eight Shakespeare plays, bundled with glassnet.

The plays (Hamlet, Macbeth, Romeo and Juliet, Julius Caesar, King Lear, Othello, A Midsummer
Night's Dream, The Tempest) are public-domain Project Gutenberg texts, taken without the
Gutenberg header and licence from the ``shakespeare`` 0.6 package (Open Knowledge
Foundation); see ``files/ATTRIBUTION.md``.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from glassnet.data.datasets._bundled import verified_path

__all__ = ["CharVocab", "char_windows", "load_shakespeare"]


class CharVocab:
    """Map characters to integer ids and back (a character-level tokenizer).

    Args:
        chars: the vocabulary; duplicates are dropped and the rest sorted, so the same text
            always gives the same ids.

    Example:
        >>> vocab = CharVocab("hello")
        >>> vocab.itos, vocab.encode("hell").tolist(), vocab.decode([3, 0])
        (['e', 'h', 'l', 'o'], [1, 0, 2, 2], 'oe')
    """

    def __init__(self, chars: str | Sequence[str]):
        self.itos: list[str] = sorted(set(chars))
        if not self.itos or any(not isinstance(c, str) or len(c) != 1 for c in self.itos):
            raise ValueError(
                f"CharVocab needs a non-empty text or list of characters, got {chars!r:.80}"
            )
        self.stoi: dict[str, int] = {c: i for i, c in enumerate(self.itos)}

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        """Build the vocabulary of every distinct character in ``text``."""
        return cls(text)

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> np.ndarray:
        """Return the ids of ``text`` as an int64 array of shape (len(text),)."""
        try:
            return np.fromiter((self.stoi[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError:
            unknown = sorted(set(text) - set(self.stoi))
            raise ValueError(
                f"CharVocab.encode: characters {unknown!r} are not in the vocabulary of "
                f"{len(self)} characters; build the vocabulary from a text that contains them"
            ) from None

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """Return the text of a sequence of ids."""
        ids = np.asarray(ids).ravel()
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(
                f"CharVocab.decode: ids must lie in [0, {len(self)}), got values from "
                f"{ids.min()} to {ids.max()}"
            )
        return "".join(self.itos[i] for i in ids.tolist())

    def to_dict(self) -> dict:
        """JSON-safe form, e.g. for checkpoint metadata; inverse of :meth:`from_dict`."""
        return {"itos": "".join(self.itos)}

    @classmethod
    def from_dict(cls, data: dict) -> CharVocab:
        """Rebuild a vocabulary saved by :meth:`to_dict`."""
        return cls(data["itos"])

    def __repr__(self) -> str:
        return f"CharVocab(size={len(self)})"


def load_shakespeare(
    val_fraction: float = 0.1, path: str | Path | None = None
) -> tuple[str, str, CharVocab]:
    """Load the bundled Shakespeare corpus (1,036,335 characters) for character models.

    The text is split in two contiguous parts (no shuffling, so validation text is unseen
    prose, not interleaved lines): the first 90% for training, the last 10% for validation.
    The vocabulary covers the whole corpus.

    Args:
        val_fraction: share of characters (from the end) kept for validation.
        path: read this file instead of the bundled one (it must have the same sha256).

    Returns:
        ``(train_text, val_text, vocab)``: two strings and a :class:`CharVocab`.

    Example:
        >>> train, val, vocab = load_shakespeare()
        >>> len(vocab), train[:6]
        (76, 'HAMLET')
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"load_shakespeare: val_fraction must lie in (0, 1), got {val_fraction}")
    with gzip.open(verified_path("shakespeare.txt.gz", path), "rt", encoding="ascii") as f:
        text = f.read()
    split = int(round(len(text) * (1.0 - val_fraction)))
    return text[:split], text[split:], CharVocab(text)


def char_windows(
    ids: np.ndarray, context_length: int, stride: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Cut next-character prediction examples out of a sequence of ids.

    Window ``i`` starts at ``s = i * stride``: ``x[i] = ids[s : s + T]`` and
    ``y[i] = ids[s + 1 : s + T + 1]`` (the same window shifted by one character), with
    ``T = context_length``. The results are read-only views of ``ids`` (no copy, whatever
    the stride); the DataLoader copies just the rows of each batch.

    Args:
        ids: 1-D integer array of token ids, e.g. ``vocab.encode(text)``.
        context_length: characters per example T.
        stride: distance between the starts of consecutive windows.

    Returns:
        ``(x, y)``: int64 arrays of shape (num_windows, T) with
        ``num_windows = (len(ids) - T - 1) // stride + 1``.

    Example:
        >>> x, y = char_windows(np.arange(6), context_length=3)
        >>> x.tolist(), y[0].tolist()
        ([[0, 1, 2], [1, 2, 3], [2, 3, 4]], [1, 2, 3])
    """
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(
            f"char_windows expects a 1-D integer array of ids, got dtype {ids.dtype} and shape "
            f"{ids.shape}; encode text with CharVocab.encode first"
        )
    if context_length < 1 or stride < 1:
        raise ValueError(
            f"char_windows: context_length and stride must be >= 1, got {context_length} "
            f"and {stride}"
        )
    if len(ids) < context_length + 1:
        raise ValueError(
            f"char_windows: a sequence of {len(ids)} ids is too short for context_length="
            f"{context_length}; it needs at least {context_length + 1}"
        )
    ids = ids.astype(np.int64, copy=False)
    windows = np.lib.stride_tricks.sliding_window_view(ids, context_length + 1)[::stride]
    return windows[:, :-1], windows[:, 1:]
