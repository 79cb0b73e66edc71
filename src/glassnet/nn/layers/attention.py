"""``MultiheadAttention`` with PyTorch's parameters, masks and return values."""

from __future__ import annotations

import numpy as np

import glassnet.functional as F
from glassnet.backend import xp_of
from glassnet.creation import zeros
from glassnet.nn import init
from glassnet.nn.layers._validate import check_float_input, check_positive
from glassnet.nn.layers.linear import Linear
from glassnet.nn.module import Module
from glassnet.nn.parameter import Parameter
from glassnet.ops import concat, expand, permute, reshape, swapaxes, unsqueeze
from glassnet.ops._util import as_tensor
from glassnet.ops.selection import where
from glassnet.tensor import Tensor


class MultiheadAttention(Module):
    """Multi-head scaled dot-product attention (Vaswani et al. 2017), PyTorch's layer.

    Use it to let every position of a sequence look at every other (self-attention:
    ``mha(x, x, x)``) or at another sequence (cross-attention: ``mha(x, memory, memory)``).

    Math, with E = embed_dim, h = num_heads, d = E / h::

        Q = query W_q^T + b_q,  K = key W_k^T + b_k,  V = value W_v^T + b_v
        (W_q, W_k, W_v are the three (E, E) blocks of in_proj_weight, in that order)
        for each head j (its d columns of Q, K, V):
            A_j = softmax(Q_j K_j^T / sqrt(d) + M)          (N, L, S), rows sum to 1
            O_j = dropout(A_j) V_j
        output = concat_j(O_j) W_o^T + b_o                  (out_proj)

    M is the additive mask: -inf where ``attn_mask`` or ``key_padding_mask`` is True (a float
    mask is added as is), so masked keys get weight 0. Backward: dL/dS = A * (dL/dA -
    sum_k dL/dA_k A_k) through the softmax, then the matmul and linear rules.

    Args:
        embed_dim: E, features of the query (and of the output).
        num_heads: h; E must be divisible by h.
        dropout: dropout probability on the attention weights (training only).
        bias: learn in_proj_bias and out_proj.bias.
        add_bias_kv: learn one extra key and value, ``bias_k`` and ``bias_v`` (1, 1, E),
            appended to every sequence's projected keys and values (S + 1 keys; the masks
            get a column that masks nothing), as PyTorch.
        add_zero_attn: append a zero key and value to every head after the projections
            (one more key, whose score is 0), as PyTorch.
        batch_first: (N, L, E) inputs/outputs when True, (L, N, E) when False (the default,
            as in PyTorch).
        kdim, vdim: features of key and value when they differ from E; then the projections
            are the separate ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim) and
            ``v_proj_weight`` (E, vdim) instead of ``in_proj_weight`` (3E, E).

    Initialisation (PyTorch's): xavier_uniform_ on in_proj_weight (or on each of q/k/v),
    zeros for in_proj_bias and out_proj.bias, Linear's default for out_proj.weight.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns ``(attn_output, attn_weights)``:
    attn_output (L, N, E) ((N, L, E) with batch_first=True); attn_weights (N, L, S)
    averaged over heads, (N, h, L, S) with
    ``average_attn_weights=False``, or None with ``need_weights=False``. Unbatched inputs
    (L, E) give (L, E) and (L, S).

    - ``key_padding_mask``: (N, S), True = ignore that key (padding); or float, added.
    - ``attn_mask``: (L, S) or (N*h, L, S), True = may NOT attend; or float, added.
    - ``is_causal``: with no ``attn_mask``, query i attends to keys j <= i only (PyTorch
      requires the mask itself here and treats the flag as a hint; with a mask, so do we).
    - A query whose keys are all masked gets zero weights and a zero attention output (the
      output is then out_proj's bias), never NaN.

    Computed with ``F.attention_weights`` (``need_weights=True``) or the fused
    ``F.scaled_dot_product_attention`` (``need_weights=False``: faster, no weights kept).

    >>> import glassnet as gn
    >>> mha = gn.nn.MultiheadAttention(embed_dim=8, num_heads=2, batch_first=True)
    >>> x = gn.randn(3, 5, 8)                    # (N, L, E) with batch_first=True
    >>> out, weights = mha(x, x, x)
    >>> out.shape, weights.shape
    ((3, 5, 8), (3, 5, 5))
    >>> bool(abs(weights.sum(axis=-1).numpy() - 1).max() < 1e-5)
    True
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
    ) -> None:
        super().__init__()
        check_positive(embed_dim, "embed_dim", "MultiheadAttention")
        check_positive(num_heads, "num_heads", "MultiheadAttention")
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim={embed_dim} is not divisible by "
                f"num_heads={num_heads}; each head takes embed_dim / num_heads features, so "
                "pick num_heads among the divisors of embed_dim"
            )
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)):
            raise ValueError(f"MultiheadAttention: dropout must be a number, got {dropout!r}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1], got {dropout}")
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        check_positive(self.kdim, "kdim", "MultiheadAttention")
        check_positive(self.vdim, "vdim", "MultiheadAttention")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout, self.batch_first = float(dropout), bool(batch_first)
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        E = embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(zeros(3 * E, E))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(zeros(E, E))
            self.k_proj_weight = Parameter(zeros(E, self.kdim))
            self.v_proj_weight = Parameter(zeros(E, self.vdim))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(zeros(3 * E))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(E, E, bias=bias)
        if add_bias_kv:
            self.bias_k, self.bias_v = Parameter(zeros(1, 1, E)), Parameter(zeros(1, 1, E))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = bool(add_zero_attn)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def extra_repr(self) -> str:
        s = f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if not self._qkv_same_embed_dim:
            s += f", kdim={self.kdim}, vdim={self.vdim}"
        if self.bias_k is not None:
            s += ", add_bias_kv=True"
        if self.add_zero_attn:
            s += ", add_zero_attn=True"
        return s

    # -- forward ----------------------------------------------------------------------------
    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask=None,
        need_weights: bool = True,
        attn_mask=None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ):
        batched = self._check_inputs(query, key, value)
        if not batched:
            query, key, value = unsqueeze(query, 0), unsqueeze(key, 0), unsqueeze(value, 0)
        elif not self.batch_first:
            query, key, value = (swapaxes(t, 0, 1) for t in (query, key, value))
        N, L, E = query.shape
        S = key.shape[1]
        h, d = self.num_heads, self.head_dim

        q, k, v = self._project(query, key, value)
        mask = self._merged_mask(key_padding_mask, attn_mask, is_causal, N, L, S, batched, q)
        extra = (self.bias_k is not None) + self.add_zero_attn  # keys added to every sequence
        if self.bias_k is not None:  # PyTorch's order: the learned key/value, then the zero one
            k = concat([k, expand(self.bias_k, (N, 1, E))], axis=1)
            v = concat([v, expand(self.bias_v, (N, 1, E))], axis=1)
        q = permute(reshape(q, (N, L, h, d)), (0, 2, 1, 3))  # (N, h, L, d)
        k = permute(reshape(k, (N, S + extra - self.add_zero_attn, h, d)), (0, 2, 1, 3))
        v = permute(reshape(v, (N, S + extra - self.add_zero_attn, h, d)), (0, 2, 1, 3))
        if self.add_zero_attn:
            nothing = Tensor._make(xp_of(k._data).zeros((N, h, 1, d), dtype=k.dtype), False)
            k, v = concat([k, nothing], axis=2), concat([v, nothing], axis=2)
        if extra and mask is not None:  # the added keys are never masked
            mask = self._pad_mask(mask, extra)
        p = self.dropout if self.training else 0.0
        if need_weights:
            # the weights are returned, so they are built as a tensor of their own (after
            # dropout, like PyTorch); otherwise the fused op never materialises them twice
            weights = F.attention_weights(q, k, attn_mask=mask)
            if p:
                weights = F.dropout(weights, p, training=True)
            out = weights @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        out = reshape(permute(out, (0, 2, 1, 3)), (N, L, E))
        out = self.out_proj(out)

        if not batched:
            out = out[0]
        elif not self.batch_first:
            out = swapaxes(out, 0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(axis=1)
        return out, (weights[0] if not batched else weights)

    def _project(self, query, key, value):
        E, b = self.embed_dim, self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E : 2 * E], b[2 * E :])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            # three (E, E) products, also for self-attention: one (3E, E) product split into
            # three slices costs a zero-filled (..., 3E) gradient per slice in backward (W3
            # step, 1 thread: 156-164 ms against 163-174 ms with the split, interleaved)
            wq, wk, wv = w[:E], w[E : 2 * E], w[2 * E :]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    def _merged_mask(self, key_padding_mask, attn_mask, is_causal, N, L, S, batched, like):
        """One mask for F.scaled_dot_product_attention, broadcastable to (N, h, L, S): bool
        (True = may attend, the inverse of this module's bool masks) when every mask is bool,
        else a float mask added to the scores (-inf where a bool mask forbids)."""
        h = self.num_heads
        xp = xp_of(like._data)
        allowed, additive, masks = None, [], []
        if key_padding_mask is not None:
            expected = [(N, S) if batched else (S,)]
            m = self._mask_tensor(key_padding_mask, "key_padding_mask", expected, like)
            masks.append(reshape(m, (N, 1, 1, S)))
        if attn_mask is not None:
            m = self._mask_tensor(attn_mask, "attn_mask", [(L, S), (N * h, L, S)], like)
            masks.append(m if m.ndim == 2 else reshape(m, (N, h, L, S)))
        elif is_causal:
            allowed = Tensor._make(xp.tril(xp.ones((L, S), dtype=bool)), False)
        for m in masks:  # tensor ops: gn.compile records them, a replay masks its own batch
            if m.dtype == np.bool_:
                allowed = ~m if allowed is None else allowed & ~m
            else:
                additive.append(m.astype(like.dtype))
        if not additive:
            return allowed
        total = additive[0]
        for m in additive[1:]:
            total = total + m
        if allowed is not None:
            zero, forbid = (as_tensor(v, like) for v in (0.0, -np.inf))  # like's device
            total = total + where(allowed, zero, forbid)
        return total

    @staticmethod
    def _pad_mask(mask: Tensor, extra: int) -> Tensor:
        """``mask`` (..., S) with ``extra`` key columns that mask nothing (True where a bool
        mask says "may attend", 0 in a float mask)."""
        xp = xp_of(mask._data)
        shape = tuple(mask.shape[:-1]) + (extra,)
        fill = xp.ones(shape, dtype=bool) if mask.dtype == np.bool_ else xp.zeros(shape, mask.dtype)
        return concat([mask, Tensor._make(fill, False)], axis=-1)

    def _mask_tensor(self, mask, what: str, shapes: list, like: Tensor) -> Tensor:
        if not isinstance(mask, Tensor):
            mask = Tensor(np.asarray(mask))
        if mask.device != like.device:  # a mask made on the CPU for a model on the GPU
            mask = mask.to(like.device)
        if tuple(mask.shape) not in shapes:
            raise ValueError(
                f"MultiheadAttention: {what} has shape {tuple(mask.shape)}; expected "
                + " or ".join(str(s) for s in shapes)
                + " (N = batch, L = query length, S = key length, "
                f"num_heads = {self.num_heads})"
            )
        if mask.dtype != np.bool_ and mask.dtype.kind != "f":
            raise TypeError(
                f"MultiheadAttention: {what} must be bool (True = masked) or float (added to "
                f"the scores), got dtype {mask.dtype}"
            )
        return mask

    def _check_inputs(self, query, key, value) -> bool:
        name = "MultiheadAttention"
        ref = self.in_proj_weight if self._qkv_same_embed_dim else self.q_proj_weight
        for what, t in (("query", query), ("key", key), ("value", value)):
            check_float_input(t, f"{name} {what}", ref)
        layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
        if query.ndim not in (2, 3) or not query.ndim == key.ndim == value.ndim:
            raise ValueError(
                f"{name}: query, key and value have shapes {query.shape}, {key.shape}, "
                f"{value.shape}; expected all 3-D {layout} (batch_first={self.batch_first}) "
                "or all 2-D (L, E) unbatched"
            )
        for what, t, dim in (("query", query, self.embed_dim), ("key", key, self.kdim),
                             ("value", value, self.vdim)):  # fmt: skip
            if t.shape[-1] != dim:
                arg = {"query": "embed_dim", "key": "kdim", "value": "vdim"}[what]
                raise ValueError(
                    f"{name}({arg}={dim}) got {what} of shape {tuple(t.shape)}: its last axis "
                    f"must be {dim}; pass {arg}= to the constructor if it differs"
                )
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(
                f"{name}: key {tuple(key.shape)} and value {tuple(value.shape)} must agree in "
                "every axis but the last (same batch and sequence length S)"
            )
        batch_axis = 0 if self.batch_first else 1
        if query.ndim == 3 and query.shape[batch_axis] != key.shape[batch_axis]:
            raise ValueError(
                f"{name}: query {tuple(query.shape)} and key {tuple(key.shape)} have different "
                f"batch sizes (axis {batch_axis}, batch_first={self.batch_first})"
            )
        return query.ndim == 3
