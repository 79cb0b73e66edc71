"""``Embedding``: a lookup table from integer ids to learned vectors."""

from __future__ import annotations

import glassnet.functional as F
from glassnet.autograd.grad_mode import no_grad
from glassnet.creation import zeros
from glassnet.nn import init
from glassnet.nn.layers._validate import check_positive, check_tensor
from glassnet.nn.module import Module
from glassnet.nn.parameter import Parameter
from glassnet.tensor import Tensor


class Embedding(Module):
    """Map integer ids to rows of a learned ``(num_embeddings, embedding_dim)`` table.

    Use it for tokens, characters or categories before an RNN/Transformer/MLP.

    Math: y[..., :] = W[x[...], :]; dL/dW[i] = sum of dL/dy over the positions where x == i
    (rows that never appear get zero gradient). Rows are initialised N(0, 1) (PyTorch). With
    ``padding_idx`` that row starts at zero and gets no gradient, so padding stays a zero vector.

    Args (PyTorch's order):
        num_embeddings: vocabulary size (ids are 0..num_embeddings-1).
        embedding_dim: length of each vector.
        padding_idx: id of the padding token (negative counts from the end), or None.
        max_norm: each looked-up row whose ``norm_type``-norm exceeds it is rescaled in
            place (no gradient) to norm max_norm: W[i] *= max_norm / (||W[i]|| + 1e-7).
        norm_type: the p of that norm (2.0).
        scale_grad_by_freq: divide each row's gradient by how often its id occurs in the
            batch.
        sparse: sparse gradients are not supported (False only; True raises).
        _weight: an initial table (num_embeddings, embedding_dim) used as is; _freeze: make
            it not require grad (PyTorch's private arguments, used by ``from_pretrained``).
        device, dtype: PyTorch's factory arguments.
        kernel_regularizer: keyword-only penalty on the table, read by ``nn.regularizers``.

    Shapes: input ``(*)`` of int ids, output ``(*, embedding_dim)``.

    >>> import glassnet as gn
    >>> emb = gn.nn.Embedding(10, 3, padding_idx=0)
    >>> emb(gn.tensor([[0, 4, 9]])).shape
    (1, 3, 3)
    >>> emb.weight.numpy()[0].tolist()
    [0.0, 0.0, 0.0]
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Tensor | None = None,
        _freeze: bool = False,
        *,
        kernel_regularizer=None,
    ) -> None:
        super().__init__()
        if sparse:
            raise NotImplementedError(
                "Embedding: sparse=True (sparse gradients) is not supported in glassnet; use "
                "sparse=False: the dense gradient has the same values"
            )
        check_positive(num_embeddings, "num_embeddings", "Embedding")
        check_positive(embedding_dim, "embedding_dim", "Embedding")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx must be in {-num_embeddings}..{num_embeddings - 1} "
                    f"for num_embeddings={num_embeddings}, got {padding_idx}"
                )
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        object.__setattr__(self, "kernel_regularizer", kernel_regularizer)
        if _weight is None:
            self.weight = Parameter(zeros(num_embeddings, embedding_dim))
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(
                    f"Embedding: _weight of shape {tuple(_weight.shape)} must be "
                    f"(num_embeddings, embedding_dim) = {(num_embeddings, embedding_dim)}"
                )
            self.weight = Parameter(_weight.detach(), requires_grad=not _freeze)

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An Embedding whose table is ``embeddings`` (2-D); ``freeze=True`` (the default)
        keeps it fixed (``weight.requires_grad`` False). The padding row is not zeroed.

        >>> import glassnet as gn
        >>> emb = gn.nn.Embedding.from_pretrained(gn.tensor([[1.0, 2.0], [3.0, 4.0]]))
        >>> emb(gn.tensor([1])).numpy(), emb.weight.requires_grad
        (array([[3., 4.]], dtype=float32), False)
        """
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            raise ValueError(
                "Embedding.from_pretrained: embeddings must be a 2-D Tensor (num_embeddings, "
                f"embedding_dim), got {getattr(embeddings, 'shape', type(embeddings).__name__)}"
            )
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   embeddings, freeze)  # fmt: skip

    def reset_parameters(self) -> None:
        """W ~ N(0, 1); the padding row set to 0."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight._data[self.padding_idx] = 0
                self.weight._vc[0] += 1

    def forward(self, x: Tensor) -> Tensor:
        name = f"Embedding({self.num_embeddings}, {self.embedding_dim})"
        check_tensor(x, name)
        if x.dtype.kind not in "iu":
            raise TypeError(
                f"{name} got input of dtype {x.dtype}: it looks up integer ids; cast the ids "
                "with x.long() (an embedding of real-valued features is a Linear layer)"
            )
        # the id range is checked once, by F.embedding (a value check: debug mode)
        if x.device != self.weight.device:
            raise ValueError(
                f"{name} got ids on {x.device} but its table is on {self.weight.device}; "
                f"move the ids with x.to('{self.weight.device}')"
            )
        return F.embedding(x, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)  # fmt: skip

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
        if self.kernel_regularizer is not None:
            s += f", kernel_regularizer={self.kernel_regularizer!r}"
        return s


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of embedding rows (PyTorch's ``nn.EmbeddingBag``): the
    text-classification front end of PyTorch's torchtext tutorial.

    ``forward(input, offsets=None, per_sample_weights=None)``: a 2-D ``input`` (B, N) is B bags
    of N ids; a 1-D ``input`` is cut into bags at ``offsets``. Ids equal to ``padding_idx`` are
    left out (and not counted by "mean"); an empty bag gives zeros. See
    :func:`glassnet.functional.embedding_bag` for the math. Returns (B, embedding_dim).

    Args (PyTorch's order): num_embeddings, embedding_dim, max_norm, norm_type,
    scale_grad_by_freq (True raises NotImplementedError), mode ("mean", "sum" or "max"),
    sparse (True raises NotImplementedError), _weight, include_last_offset, padding_idx.
    The table is initialised N(0, 1), the padding row zero.

    >>> import glassnet as gn
    >>> bag = gn.nn.EmbeddingBag(10, 3, mode="sum")
    >>> bag(gn.tensor([1, 2, 4, 5, 4]), gn.tensor([0, 2])).shape
    (2, 3)
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        _weight: Tensor | None = None,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
    ) -> None:
        super().__init__()
        if scale_grad_by_freq or sparse:
            what = "scale_grad_by_freq=True" if scale_grad_by_freq else "sparse=True"
            raise NotImplementedError(f"EmbeddingBag: {what} is not supported in glassnet")
        if mode not in ("sum", "mean", "max"):
            raise ValueError(f"EmbeddingBag: mode must be 'sum', 'mean' or 'max', got {mode!r}")
        check_positive(num_embeddings, "num_embeddings", "EmbeddingBag")
        check_positive(embedding_dim, "embedding_dim", "EmbeddingBag")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"EmbeddingBag: padding_idx must be in {-num_embeddings}.."
                    f"{num_embeddings - 1} for num_embeddings={num_embeddings}, got {padding_idx}"
                )
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.mode, self.sparse = scale_grad_by_freq, mode, sparse
        self.include_last_offset, self.padding_idx = include_last_offset, padding_idx
        if _weight is None:
            self.weight = Parameter(zeros(num_embeddings, embedding_dim))
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(
                    f"EmbeddingBag: _weight of shape {tuple(_weight.shape)} must be "
                    f"(num_embeddings, embedding_dim) = {(num_embeddings, embedding_dim)}"
                )
            self.weight = Parameter(_weight.detach())

    reset_parameters = Embedding.reset_parameters

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
    ) -> EmbeddingBag:
        """An EmbeddingBag whose table is ``embeddings`` (2-D), fixed when ``freeze``."""
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            raise ValueError("EmbeddingBag.from_pretrained: embeddings must be a 2-D Tensor")
        rows, cols = embeddings.shape
        bag = cls(rows, cols, max_norm, norm_type, scale_grad_by_freq, mode, sparse, embeddings,
                  include_last_offset, padding_idx)  # fmt: skip
        bag.weight.requires_grad = not freeze
        return bag

    def forward(self, input: Tensor, offsets=None, per_sample_weights=None) -> Tensor:  # noqa: A002
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                               self.scale_grad_by_freq, self.mode, self.sparse,
                               per_sample_weights, self.include_last_offset,
                               self.padding_idx)  # fmt: skip

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        s += f", mode='{self.mode}'"
        if self.include_last_offset:
            s += ", include_last_offset=True"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s
