"""``TransformerEncoderLayer`` and ``TransformerEncoder`` with PyTorch's sub-module names."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import glassnet.functional as F
from glassnet.autograd.grad_mode import is_grad_enabled
from glassnet.backend import get_rng_state, set_rng_state
from glassnet.backend.dtypes import default_float
from glassnet.nn.layers._validate import check_positive, check_tensor
from glassnet.nn.layers.activation import GELU, ReLU
from glassnet.nn.layers.attention import MultiheadAttention
from glassnet.nn.layers.container import ModuleList
from glassnet.nn.layers.dropout import Dropout
from glassnet.nn.layers.linear import Linear
from glassnet.nn.layers.norm import LayerNorm
from glassnet.nn.module import Module
from glassnet.tensor import Tensor

_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


def generate_square_subsequent_mask(size: int, dtype=None, device=None) -> Tensor:
    """The causal mask of PyTorch's ``nn.Transformer.generate_square_subsequent_mask``:
    a float (size, size) tensor, 0 on and below the diagonal and -inf above it, so that
    position i attends to positions j <= i when it is added to the scores. ``dtype`` None:
    the default float dtype (float32 unless ``set_default_dtype`` changed it).

    >>> generate_square_subsequent_mask(3).numpy()
    array([[  0., -inf, -inf],
           [  0.,   0., -inf],
           [  0.,   0.,   0.]], dtype=float32)
    """
    check_positive(size, "size", "generate_square_subsequent_mask")
    upper = np.triu(np.ones((size, size), dtype=bool), k=1)
    return Tensor(np.where(upper, -np.inf, 0.0), dtype=dtype or default_float(), device=device)


def _activation(activation, owner: str):
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"{owner}: activation must be 'relu', 'gelu' or a callable, got {activation!r}"
            )
        return _ACTIVATIONS[activation]
    if callable(activation):
        return activation
    raise TypeError(
        f"{owner}: activation must be 'relu', 'gelu' or a callable, got {type(activation).__name__}"
    )


class TransformerEncoderLayer(Module):
    """One Transformer encoder block: self-attention then a position-wise feed-forward
    network, each wrapped in a residual connection and LayerNorm (Vaswani et al. 2017).

    Use it (stacked in :class:`TransformerEncoder`) to build sequence encoders and
    classifiers; ``norm_first=True`` (pre-norm) trains more stably for deep stacks.

    Math, with SA(x) = dropout1(self_attn(x, x, x)) and FF(x) =
    dropout2(linear2(dropout(act(linear1(x)))))::

        post-norm (default):  x = norm1(x + SA(x));       y = norm2(x + FF(x))
        pre-norm:             x = x + SA(norm1(x));       y = x + FF(norm2(x))

    The residual paths give dL/dx an identity term, so gradients reach early layers.

    Args:
        d_model: features per position (E).
        nhead: attention heads; d_model must be divisible by nhead.
        dim_feedforward: hidden size of the feed-forward network.
        dropout: dropout probability (attention weights, feed-forward, residual branches).
        activation: ``"relu"`` (default), ``"gelu"``, or a callable on tensors.
        layer_norm_eps: eps of both LayerNorms.
        batch_first: (N, T, E) when True, (T, N, E) when False (the default, as in PyTorch).
        norm_first: pre-norm (True) or post-norm (False, PyTorch's default).
        bias: biases in the linear layers, attention and LayerNorms.

    Sub-modules (PyTorch's names, so ``state_dict`` keys match): ``self_attn``, ``linear1``,
    ``dropout``, ``linear2``, ``norm1``, ``norm2``, ``dropout1``, ``dropout2``.

    ``forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)`` returns a
    tensor shaped like ``src``; the masks follow :class:`MultiheadAttention` (bool True =
    masked, or float added to the scores).

    >>> import glassnet as gn
    >>> layer = gn.nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16)
    >>> layer(gn.randn(5, 3, 8)).shape          # (T, N, E): sequence first, like PyTorch
    (5, 3, 8)
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
    ) -> None:
        super().__init__()
        act = _activation(activation, "TransformerEncoderLayer")
        check_positive(d_model, "d_model", "TransformerEncoderLayer")
        check_positive(dim_feedforward, "dim_feedforward", "TransformerEncoderLayer")
        # the constructor arguments, so TransformerEncoder can build identical copies
        self._config = dict(
            d_model=d_model, nhead=nhead, dim_feedforward=dim_feedforward, dropout=dropout,
            activation=activation, layer_norm_eps=layer_norm_eps, batch_first=batch_first,
            norm_first=norm_first, bias=bias,
        )  # fmt: skip
        self.d_model, self.batch_first, self.norm_first = d_model, batch_first, norm_first
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = act

    def forward(
        self,
        src: Tensor,
        src_mask=None,
        src_key_padding_mask=None,
        is_causal: bool = False,
    ) -> Tensor:
        check_tensor(src, "TransformerEncoderLayer")
        if src.ndim not in (2, 3) or src.shape[-1] != self.d_model:
            layout = "(N, T, d_model)" if self.batch_first else "(T, N, d_model)"
            raise ValueError(
                f"TransformerEncoderLayer(d_model={self.d_model}) got input of shape "
                f"{tuple(src.shape)}; expected {layout} or (T, d_model) unbatched"
            )
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal) -> Tensor:
        out, _ = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                need_weights=False, is_causal=is_causal)  # fmt: skip
        return self.dropout1(out)

    def _ff_block(self, x) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def extra_repr(self) -> str:
        c = self._config
        act = c["activation"] if isinstance(c["activation"], str) else "custom"
        return (
            f"d_model={c['d_model']}, nhead={c['nhead']}, "
            f"dim_feedforward={c['dim_feedforward']}, activation={act}, "
            f"norm_first={c['norm_first']}"
        )


def _sparsity_fast_path(layer) -> bool:
    """PyTorch's conditions (TransformerEncoder.__init__) for its nested-tensor path."""
    if not isinstance(layer, TransformerEncoderLayer):
        return False
    attn, act = layer.self_attn, layer._config["activation"]
    relu_or_gelu = act in ("relu", "gelu", F.relu, F.gelu) or isinstance(act, (ReLU, GELU))
    return (
        not layer.norm_first
        and attn.batch_first
        and attn._qkv_same_embed_dim
        and getattr(attn, "in_proj_bias", None) is not None
        and relu_or_gelu
        and layer.norm1.eps == layer.norm2.eps
        and attn.num_heads % 2 == 0
    )


def _clone_layer(layer: Module, owner: str) -> Module:
    """A fresh copy of ``layer``: built from its recorded constructor arguments, moved to its
    device and dtype, then loaded with its state. The global RNG is restored afterwards, so
    making copies draws no random numbers (like PyTorch's deepcopy)."""
    config = getattr(layer, "_config", None)
    if not isinstance(config, dict):
        raise TypeError(
            f"{owner}: cannot copy a {type(layer).__name__}: it needs its constructor arguments "
            "in a `_config` dict (TransformerEncoderLayer has one); pass a "
            "TransformerEncoderLayer"
        )
    rng_state = get_rng_state()
    try:
        copy = type(layer)(**config)
    finally:
        set_rng_state(rng_state)
    ref = next(layer.parameters(), None)
    if ref is not None:
        copy.to(device=ref.device, dtype=ref.dtype)
    copy.load_state_dict(layer.state_dict())
    copy.train(layer.training)
    return copy


class TransformerEncoder(Module):
    """A stack of ``num_layers`` copies of an encoder layer, optionally followed by a norm.

    Use it as the body of a Transformer classifier or language model. Every copy starts with
    the template layer's weights (like PyTorch, which deep-copies it) and is trained
    independently.

    Math: y = norm(layer_{L-1}(... layer_0(x))), each layer with the same masks.

    Args:
        encoder_layer: the template (a :class:`TransformerEncoderLayer`); it is copied, not
            used itself.
        num_layers: how many copies to stack.
        norm: an optional final module (e.g. ``LayerNorm(d_model)``, usual with
            ``norm_first=True``).
        enable_nested_tensor, mask_check: PyTorch's inference fast path; glassnet has no
            nested tensors but reproduces its result: zeros at padded positions (see
            ``_nested_padding``).

    Sub-modules: ``layers.0``, ``layers.1``, ... and ``norm``, so ``state_dict`` keys match
    PyTorch's (``layers.1.self_attn.in_proj_weight``, ``norm.weight``).

    ``forward(src, mask=None, src_key_padding_mask=None, is_causal=None)`` returns a tensor
    shaped like ``src``.

    >>> import glassnet as gn
    >>> layer = gn.nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16)
    >>> encoder = gn.nn.TransformerEncoder(layer, num_layers=2)
    >>> encoder(gn.randn(3, 5, 8)).shape
    (3, 5, 8)
    >>> sorted(k for k in encoder.state_dict() if k.startswith("layers.1.norm"))
    ['layers.1.norm1.bias', 'layers.1.norm1.weight', 'layers.1.norm2.bias', 'layers.1.norm2.weight']
    """

    generate_square_subsequent_mask = staticmethod(generate_square_subsequent_mask)

    def __init__(
        self,
        encoder_layer: Module,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ):
        super().__init__()
        if not isinstance(encoder_layer, Module):
            raise TypeError(
                "TransformerEncoder: encoder_layer must be a TransformerEncoderLayer, got "
                f"{type(encoder_layer).__name__}"
            )
        check_positive(num_layers, "num_layers", "TransformerEncoder")
        if norm is not None and not isinstance(norm, Module):
            raise TypeError(f"TransformerEncoder: norm must be a Module, got {type(norm).__name__}")
        self.layers = ModuleList(
            [_clone_layer(encoder_layer, "TransformerEncoder") for _ in range(num_layers)]
        )
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor, self.mask_check = enable_nested_tensor, mask_check
        self.use_nested_tensor = bool(enable_nested_tensor) and _sparsity_fast_path(encoder_layer)

    def forward(
        self, src: Tensor, mask=None, src_key_padding_mask=None, is_causal: bool | None = None
    ) -> Tensor:
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=bool(is_causal))  # fmt: skip
        padded = self._nested_padding(src, mask, src_key_padding_mask)
        if padded is not None:  # PyTorch's nested-tensor path pads its output with zeros
            x = x.masked_fill(padded.unsqueeze(-1), 0.0)
        return self.norm(x) if self.norm is not None else x

    def _nested_padding(self, src, mask, key_padding_mask):
        """The padded positions (N, T) where PyTorch's sparsity fast path runs, else None.

        PyTorch (``enable_nested_tensor=True``, the default) packs the batch into a nested
        tensor in inference (first layer in eval mode, no gradient needed, 3-d input, a key
        padding mask with the padding at the end of each row, no ``mask``) and unpacks it with
        zeros: the output at padded positions is 0 (``norm(0)`` after a final norm), where the
        masked computation gives other values there. glassnet reproduces those zeros.
        """
        if not self.use_nested_tensor or key_padding_mask is None or mask is not None:
            return None
        first = self.layers[0]
        if first.training or src.ndim != 3:
            return None
        if is_grad_enabled() and (src.requires_grad or any(p.requires_grad for p in
                                                           first.parameters())):  # fmt: skip
            return None
        pad = key_padding_mask
        pad = pad._data if isinstance(pad, Tensor) else np.asarray(pad)
        pad = pad.astype(bool)  # a float mask: its nonzero (-inf) entries are the padding
        if self.mask_check and bool((pad[:, 1:] < pad[:, :-1]).any()):
            return None  # not left-aligned (padding before a token): PyTorch's slow path
        return Tensor._make(pad, False)
