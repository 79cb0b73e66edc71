"""``TransformerDecoderLayer``, ``TransformerDecoder`` and the encoder-decoder ``Transformer``,
with PyTorch's signatures, defaults (``batch_first=False``) and sub-module names."""

from __future__ import annotations

from collections.abc import Callable

from glassnet.nn import init
from glassnet.nn.layers._validate import check_positive, check_tensor
from glassnet.nn.layers.attention import MultiheadAttention
from glassnet.nn.layers.container import ModuleList
from glassnet.nn.layers.dropout import Dropout
from glassnet.nn.layers.linear import Linear
from glassnet.nn.layers.norm import LayerNorm
from glassnet.nn.layers.transformer import (
    TransformerEncoder,
    TransformerEncoderLayer,
    _activation,
    _clone_layer,
    generate_square_subsequent_mask,
)
from glassnet.nn.module import Module
from glassnet.tensor import Tensor


class TransformerDecoderLayer(Module):
    """One Transformer decoder block: masked self-attention, cross-attention to the encoder's
    output (``memory``), then a feed-forward network, each with a residual connection and a
    LayerNorm (Vaswani et al. 2017; PyTorch's layer).

    Math, with SA = dropout1(self_attn(x, x, x)), CA = dropout2(multihead_attn(x, m, m)) and
    FF = dropout3(linear2(dropout(act(linear1(x)))))::

        post-norm (default): x = norm1(x + SA(x)); x = norm2(x + CA(x, m)); y = norm3(x + FF(x))
        pre-norm:            x = x + SA(norm1(x)); x = x + CA(norm2(x), m); y = x + FF(norm3(x))

    Args: as :class:`TransformerEncoderLayer` (``d_model``, ``nhead``, ``dim_feedforward=2048``,
    ``dropout=0.1``, ``activation="relu"``, ``layer_norm_eps=1e-5``, ``batch_first=False``,
    ``norm_first=False``, ``bias=True``).

    Sub-modules (PyTorch's names): ``self_attn``, ``multihead_attn``, ``linear1``, ``dropout``,
    ``linear2``, ``norm1``, ``norm2``, ``norm3``, ``dropout1``, ``dropout2``, ``dropout3``.

    ``forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False)`` returns a
    tensor shaped like ``tgt``: (T, N, E), or (N, T, E) with batch_first=True.

    >>> import glassnet as gn
    >>> layer = gn.nn.TransformerDecoderLayer(d_model=8, nhead=2, dim_feedforward=16)
    >>> layer(gn.randn(5, 3, 8), gn.randn(7, 3, 8)).shape    # (T, N, E), memory (S, N, E)
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
        act = _activation(activation, "TransformerDecoderLayer")
        check_positive(d_model, "d_model", "TransformerDecoderLayer")
        check_positive(dim_feedforward, "dim_feedforward", "TransformerDecoderLayer")
        self._config = dict(
            d_model=d_model, nhead=nhead, dim_feedforward=dim_feedforward, dropout=dropout,
            activation=activation, layer_norm_eps=layer_norm_eps, batch_first=batch_first,
            norm_first=norm_first, bias=bias,
        )  # fmt: skip
        self.d_model, self.batch_first, self.norm_first = d_model, batch_first, norm_first
        kw = dict(dropout=dropout, bias=bias, batch_first=batch_first)
        self.self_attn = MultiheadAttention(d_model, nhead, **kw)
        self.multihead_attn = MultiheadAttention(d_model, nhead, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = act

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask=None,
        memory_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        for what, t in (("tgt", tgt), ("memory", memory)):
            check_tensor(t, "TransformerDecoderLayer")
            if t.ndim not in (2, 3) or t.shape[-1] != self.d_model:
                layout = "(N, T, d_model)" if self.batch_first else "(T, N, d_model)"
                raise ValueError(
                    f"TransformerDecoderLayer(d_model={self.d_model}) got {what} of shape "
                    f"{tuple(t.shape)}; expected {layout} or (T, d_model) unbatched"
                )
        x = tgt
        sa = (tgt_mask, tgt_key_padding_mask, tgt_is_causal)
        ca = (memory_mask, memory_key_padding_mask, memory_is_causal)
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), *sa)
            x = x + self._mha_block(self.norm2(x), memory, *ca)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, *sa))
        x = self.norm2(x + self._mha_block(x, memory, *ca))
        return self.norm3(x + self._ff_block(x))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal) -> Tensor:
        out, _ = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                need_weights=False, is_causal=bool(is_causal))  # fmt: skip
        return self.dropout1(out)

    def _mha_block(self, x, memory, attn_mask, key_padding_mask, is_causal) -> Tensor:
        out, _ = self.multihead_attn(x, memory, memory, attn_mask=attn_mask,
                                     key_padding_mask=key_padding_mask, need_weights=False,
                                     is_causal=bool(is_causal))  # fmt: skip
        return self.dropout2(out)

    def _ff_block(self, x) -> Tensor:
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def extra_repr(self) -> str:
        c = self._config
        act = c["activation"] if isinstance(c["activation"], str) else "custom"
        return (
            f"d_model={c['d_model']}, nhead={c['nhead']}, dim_feedforward={c['dim_feedforward']}"
            f", activation={act}, norm_first={c['norm_first']}"
        )


class TransformerDecoder(Module):
    """A stack of ``num_layers`` copies of a decoder layer, optionally followed by a norm.

    Math: y = norm(layer_{L-1}(... layer_0(tgt, memory) ..., memory)); every copy starts
    with the template's weights (PyTorch deep-copies it) and trains independently.

    Args:
        decoder_layer: the template :class:`TransformerDecoderLayer` (copied, not used).
        num_layers: how many copies.
        norm: an optional final module (``LayerNorm(d_model)``).

    Sub-modules: ``layers.0``, ``layers.1``, ..., ``norm`` (PyTorch's state_dict keys).

    ``forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False)``.

    >>> import glassnet as gn
    >>> layer = gn.nn.TransformerDecoderLayer(d_model=8, nhead=2, dim_feedforward=16)
    >>> decoder = gn.nn.TransformerDecoder(layer, num_layers=2)
    >>> decoder(gn.randn(5, 3, 8), gn.randn(7, 3, 8)).shape
    (5, 3, 8)
    """

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None):
        super().__init__()
        if not isinstance(decoder_layer, Module):
            raise TypeError(
                "TransformerDecoder: decoder_layer must be a TransformerDecoderLayer, got "
                f"{type(decoder_layer).__name__}"
            )
        check_positive(num_layers, "num_layers", "TransformerDecoder")
        if norm is not None and not isinstance(norm, Module):
            raise TypeError(f"TransformerDecoder: norm must be a Module, got {type(norm).__name__}")
        self.layers = ModuleList(
            [_clone_layer(decoder_layer, "TransformerDecoder") for _ in range(num_layers)]
        )
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None,
                memory_is_causal: bool = False) -> Tensor:  # fmt: skip
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask,
                      memory_key_padding_mask=memory_key_padding_mask,
                      tgt_is_causal=bool(tgt_is_causal),
                      memory_is_causal=memory_is_causal)  # fmt: skip
        return self.norm(x) if self.norm is not None else x


class Transformer(Module):
    """The encoder-decoder Transformer of "Attention Is All You Need", PyTorch's
    ``nn.Transformer``: ``memory = encoder(src)``, ``output = decoder(tgt, memory)``.

    Use it for sequence-to-sequence tasks (translation, copying, sorting); it has no
    embeddings or output head: add ``nn.Embedding`` and ``nn.Linear`` around it.

    Args (PyTorch's defaults): ``d_model=512``, ``nhead=8``, ``num_encoder_layers=6``,
    ``num_decoder_layers=6``, ``dim_feedforward=2048``, ``dropout=0.1``,
    ``activation="relu"``, ``custom_encoder=None``, ``custom_decoder=None``,
    ``layer_norm_eps=1e-5``, ``batch_first=False``, ``norm_first=False``, ``bias=True``.

    Every parameter with more than one dimension is re-initialised with xavier_uniform_
    (PyTorch's ``_reset_parameters``). Sub-modules: ``encoder`` (a :class:`TransformerEncoder`
    with a final ``norm``) and ``decoder`` (a :class:`TransformerDecoder` with ``norm``), so
    keys read ``encoder.layers.0.self_attn.in_proj_weight``, ``decoder.norm.bias``, ...

    ``forward(src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
    src_key_padding_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None,
    src_is_causal=None, tgt_is_causal=None, memory_is_causal=False)`` returns a tensor shaped
    like ``tgt``. ``Transformer.generate_square_subsequent_mask(T)`` makes the causal tgt_mask.

    >>> import glassnet as gn
    >>> model = gn.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1,
    ...                           num_decoder_layers=1, dim_feedforward=16)
    >>> src, tgt = gn.randn(6, 2, 8), gn.randn(4, 2, 8)       # (S, N, E), (T, N, E)
    >>> mask = gn.nn.Transformer.generate_square_subsequent_mask(4)
    >>> model(src, tgt, tgt_mask=mask).shape
    (4, 2, 8)
    """

    generate_square_subsequent_mask = staticmethod(generate_square_subsequent_mask)

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable = "relu",
        custom_encoder: Module | None = None,
        custom_decoder: Module | None = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
    ) -> None:
        super().__init__()
        kw = dict(dim_feedforward=dim_feedforward, dropout=dropout, activation=activation,
                  layer_norm_eps=layer_norm_eps, batch_first=batch_first,
                  norm_first=norm_first, bias=bias)  # fmt: skip
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, **kw)
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
            self.encoder = TransformerEncoder(layer, num_encoder_layers, norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, **kw)
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
            self.decoder = TransformerDecoder(layer, num_decoder_layers, norm)
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal: bool = False) -> Tensor:  # fmt: skip
        batch_axis = 0 if self.batch_first else 1
        if src.ndim == 3 and tgt.ndim == 3 and src.shape[batch_axis] != tgt.shape[batch_axis]:
            raise ValueError(
                f"Transformer: src {tuple(src.shape)} and tgt {tuple(tgt.shape)} have different "
                f"batch sizes (axis {batch_axis}, batch_first={self.batch_first})"
            )
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ValueError(
                f"Transformer(d_model={self.d_model}): src {tuple(src.shape)} and tgt "
                f"{tuple(tgt.shape)} must both have {self.d_model} features in the last axis"
            )
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)  # fmt: skip
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)  # fmt: skip
