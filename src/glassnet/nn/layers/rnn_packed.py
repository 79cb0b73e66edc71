"""``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` over a :class:`~glassnet.nn.utils.rnn.PackedSequence`.

A packed batch is sorted by decreasing length and stores, at time t, the steps of its first
``batch_sizes[t]`` sequences. Each layer and direction therefore runs the same cell as the
padded path (``_RNNBase._step_*``) on a shrinking (forward) or growing (reverse) batch:

- forward: at time t only the first ``batch_sizes[t]`` rows step; the rows that finished
  keep the state of their own last step, which becomes their part of ``h_n``;
- reverse: time runs from the end; a sequence joins, from its initial state, at its own last
  step, so each one is read backwards from its end and never through padding.

The output is a :class:`PackedSequence` with the input's ``batch_sizes`` and indices; the
initial and final states are in the batch's original order (PyTorch permutes them with
``sorted_indices`` / ``unsorted_indices``).
"""

from __future__ import annotations

import glassnet.functional as F
from glassnet.nn.layers._validate import check_float_input
from glassnet.nn.utils.rnn import PackedSequence
from glassnet.ops import concat, index_select, stack
from glassnet.tensor import Tensor


def forward_packed(rnn, packed, hx):
    """``rnn(packed, hx)``: (PackedSequence output, h_n) or (output, (h_n, c_n))."""
    name = type(rnn).__name__
    if not isinstance(packed, PackedSequence):
        raise TypeError(
            f"{name} got a {type(packed).__name__}; expected a Tensor or a PackedSequence "
            "(nn.utils.rnn.pack_padded_sequence)"
        )
    data, batch_sizes, sorted_indices, unsorted_indices = packed
    check_float_input(data, name, rnn.weight_ih_l0)
    if data.ndim != 2 or data.shape[-1] != rnn.input_size:
        raise ValueError(
            f"{name}(input_size={rnn.input_size}) got a PackedSequence whose data has shape "
            f"{tuple(data.shape)}; expected (sum of lengths, {rnn.input_size})"
        )
    sizes = [int(n) for n in batch_sizes.tolist()]
    states = rnn._initial_states(hx, sizes[0], data)
    if hx is not None and sorted_indices is not None:  # the user's order -> the sorted one
        states = [index_select(s, 1, sorted_indices) for s in states]
    finals: list[list[Tensor]] = [[] for _ in states]
    seq = data
    for layer in range(rnn.num_layers):
        outputs = []
        for direction in range(rnn.num_directions):
            k = layer * rnn.num_directions + direction
            out, last = _run_direction(rnn, seq, sizes, [s[k] for s in states], layer, direction)
            outputs.append(out)
            for store, s in zip(finals, last):
                store.append(s)
        seq = outputs[0] if len(outputs) == 1 else concat(outputs, axis=-1)
        if rnn.dropout and rnn.training and layer < rnn.num_layers - 1:
            seq = F.dropout(seq, p=rnn.dropout, training=True)
    h_n = [stack(store, axis=0) for store in finals]
    if unsorted_indices is not None:
        h_n = [index_select(h, 1, unsorted_indices) for h in h_n]
    output = PackedSequence(seq, batch_sizes, sorted_indices, unsorted_indices)
    return (output, (h_n[0], h_n[1])) if rnn.mode == "LSTM" else (output, h_n[0])


def _run_direction(rnn, seq: Tensor, sizes: list, state: list, layer: int, direction: int):
    """One layer, one direction over packed ``seq``: (packed hidden states, final states)."""
    w_ih, b_ih, step = rnn._direction(layer, direction)
    x_proj = _split_rows(F.linear(seq, w_ih, b_ih), sizes)
    hs = [None] * len(sizes)
    if direction == 0:
        running, finished = state, []
        for t, n in enumerate(sizes):
            if n < running[0].shape[0]:  # rows n.. ended at t - 1: their final state
                finished.append([s[n:] for s in running])
                running = [s[:n] for s in running]
            running = step(x_proj[t], running)
            hs[t] = running[0]
        last = [concat([r] + [f[i] for f in reversed(finished)], 0) for i, r in enumerate(running)]
    else:
        running = None
        for t in range(len(sizes) - 1, -1, -1):
            n = sizes[t]
            if running is None:
                running = [s[:n] for s in state]
            elif n > running[0].shape[0]:  # rows that start here begin from their h0
                m = running[0].shape[0]
                running = [concat([r, s[m:n]], 0) for r, s in zip(running, state)]
            running = step(x_proj[t], running)
            hs[t] = running[0]
        last = running
    return concat(hs, 0), last


def _split_rows(x: Tensor, sizes: list) -> list[Tensor]:
    """``x`` cut into consecutive row blocks of ``sizes``, halving recursively so that the
    backward adds O(rows log T) of gradient, not O(rows T) (as ``rnn._unstack_time``)."""
    out: list[Tensor] = []
    pending = [(x, sizes)]
    while pending:
        chunk, parts = pending.pop()
        if len(parts) == 1:
            out.append(chunk)
            continue
        mid = len(parts) // 2
        rows = sum(parts[:mid])
        pending += [(chunk[rows:], parts[mid:]), (chunk[:rows], parts[:mid])]
    return out
