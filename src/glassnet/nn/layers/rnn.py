"""Recurrent layers: ``RNN``, ``LSTM`` and ``GRU`` with PyTorch's parameters and equations.

All three share one skeleton (:class:`_RNNBase`): for each layer and direction the input
projection of the whole sequence is one matrix product, ``X W_ih^T + b`` (shape (T, N, G*H)),
and only the recurrent part ``h_{t-1} W_hh^T`` runs in a Python loop over time, built from
core ops so every step is an ordinary, inspectable graph node.

Parameter names, shapes, gate order and initialisation are PyTorch's (``weight_ih_l0``,
``weight_hh_l0_reverse``, ...), so a PyTorch ``state_dict`` loads by name. As in PyTorch,
``batch_first=False`` is the default: inputs are sequence-first (T, N, C); pass
``batch_first=True`` for (N, T, C).
"""

from __future__ import annotations

import math

import glassnet.functional as F
from glassnet.backend import xp_of
from glassnet.creation import zeros
from glassnet.nn import init
from glassnet.nn.layers._validate import check_float_input, check_positive
from glassnet.nn.module import Module
from glassnet.nn.parameter import Parameter
from glassnet.nn.utils.rnn import PackedSequence, pad_packed_sequence
from glassnet.ops import (
    concat,
    index_select,
    relu,
    sigmoid,
    stack,
    swapaxes,
    tanh,
    unsqueeze,
    where,
)
from glassnet.tensor import Tensor

# number of stacked gates in weight_ih / weight_hh (rows = gates * hidden_size)
_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class _RNNBase(Module):
    """Shared parameters, validation and the layer/direction/time loops of RNN, LSTM, GRU."""

    mode = "RNN_TANH"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if proj_size != 0:  # PyTorch's positional slot before device and dtype
            raise ValueError(
                f"{name}: proj_size={proj_size!r}: projections exist only for LSTM (and are "
                "not supported in glassnet); use proj_size=0"
            )
        check_positive(input_size, "input_size", name)
        check_positive(hidden_size, "hidden_size", name)
        check_positive(num_layers, "num_layers", name)
        if not isinstance(dropout, (int, float)) or not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{name}: dropout must be a probability in [0, 1], got {dropout!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        self.num_directions = 2 if bidirectional else 1
        gate_size = _GATES[self.mode] * hidden_size
        # registration order = PyTorch's _flat_weights_names: per layer, per direction,
        # w_ih, w_hh, b_ih, b_hh
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else hidden_size * self.num_directions
            for direction in range(self.num_directions):
                sfx = _suffix(layer, direction)
                shapes = [
                    ("weight_ih", (gate_size, layer_in)),
                    ("weight_hh", (gate_size, hidden_size)),
                ]
                if self.bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                for pname, shape in shapes:
                    setattr(self, pname + sfx, Parameter(zeros(*shape)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s

    # -- validation -------------------------------------------------------------------------
    def _check_input(self, x) -> bool:
        name = type(self).__name__
        check_float_input(x, name, self.weight_ih_l0)
        layout = "(N, T, input_size)" if self.batch_first else "(T, N, input_size)"
        if x.ndim not in (2, 3):
            raise ValueError(
                f"{name} got input of shape {x.shape} ({x.ndim} dims); expected {layout} "
                f"(batch_first={self.batch_first}) or (T, input_size) for one unbatched sequence"
            )
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}(input_size={self.input_size}) got input of shape {x.shape}: its last "
                f"axis must be {self.input_size}; expected {layout}"
            )
        if x.numel() == 0:
            raise ValueError(f"{name} got an empty input of shape {x.shape}; expected T >= 1")
        return x.ndim == 3

    def _check_state(self, state, what: str, batch: int | None):
        name = type(self).__name__
        if not isinstance(state, Tensor):
            raise TypeError(f"{name}: {what} must be a Tensor, got {type(state).__name__}")
        if state.dtype != self.weight_hh_l0.dtype or state.device != self.weight_hh_l0.device:
            raise TypeError(
                f"{name}: {what} is {state.dtype} on {state.device} but the weights are "
                f"{self.weight_hh_l0.dtype} on {self.weight_hh_l0.device}; convert it with "
                f"{what}.to(device=..., dtype=...)"
            )
        layers = self.num_layers * self.num_directions
        expected = (
            (layers, self.hidden_size) if batch is None else (layers, batch, self.hidden_size)
        )
        if state.shape != expected:
            raise ValueError(
                f"{name}: {what} has shape {state.shape}; expected {expected} = "
                "(num_layers * num_directions"
                + (", " if batch is None else ", N, ")
                + "hidden_size)"
                + ("" if batch is None else " for a batch of N sequences")
            )
        return state if batch is not None else unsqueeze(state, 1)

    # -- forward ----------------------------------------------------------------------------
    def _initial_states(self, hx, batch: int | None, like: Tensor) -> list:
        """The initial state(s) as tensors of shape (L*D, N, H); one for RNN/GRU, two for LSTM."""
        n = 1 if batch is None else batch
        count = 2 if self.mode == "LSTM" else 1
        if hx is None:
            xp = xp_of(like._data)
            shape = (self.num_layers * self.num_directions, n, self.hidden_size)
            return [Tensor._make(xp.zeros(shape, dtype=like.dtype), False)] * count
        if count == 2:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(
                    f"LSTM: the initial state must be a tuple (h0, c0), got {type(hx).__name__}"
                )
            return [self._check_state(hx[0], "h0", batch), self._check_state(hx[1], "c0", batch)]
        return [self._check_state(hx, "h0", batch)]

    def forward(self, x: Tensor, hx=None):
        if isinstance(x, PackedSequence):
            return self._forward_packed(x, hx)
        batched = self._check_input(x)
        if batched:
            seq = swapaxes(x, 0, 1) if self.batch_first else x  # time-major (T, N, C)
            batch = seq.shape[1]
        else:
            seq, batch = unsqueeze(x, 1), None
        states = self._initial_states(hx, batch, x)
        finals: list[list[Tensor]] = [[] for _ in states]
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                out, last = self._run_direction(seq, [s[k] for s in states], layer, direction)
                outputs.append(out)
                for store, s in zip(finals, last):
                    store.append(s)
            seq = outputs[0] if len(outputs) == 1 else concat(outputs, axis=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                seq = F.dropout(seq, p=self.dropout, training=True)
        if batched:
            output = swapaxes(seq, 0, 1) if self.batch_first else seq
            h_n = [stack(store, axis=0) for store in finals]
        else:
            output = seq[:, 0]
            h_n = [stack([s[0] for s in store], axis=0) for store in finals]
        return (output, (h_n[0], h_n[1])) if self.mode == "LSTM" else (output, h_n[0])

    def _forward_packed(self, packed: PackedSequence, hx):
        """PyTorch's packed path: each sequence runs over its own length only; the output is
        packed as the input and the final states are each sequence's state at its last step,
        in the original batch order (an ``hx`` given is read in that order too)."""
        seq, lengths = pad_packed_sequence(_sorted(packed))  # (T, B, C), sorted by length
        self._check_input(seq)
        order, inverse = packed.sorted_indices, packed.unsorted_indices
        states = self._initial_states(hx, seq.shape[1], seq)
        if hx is not None and order is not None:
            states = [index_select(s, 1, order.to(s.device)) for s in states]
        xp = xp_of(seq._data)
        steps = xp.asarray(lengths.numpy())[None, :] > xp.arange(seq.shape[0])[:, None]
        masks = [xp.asarray(row[:, None]) for row in steps]  # (B, 1) per step: still running
        finals: list[list[Tensor]] = [[] for _ in states]
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                first = [s[k] for s in states]
                out, last = self._run_direction(seq, first, layer, direction, masks)
                outputs.append(out)
                for store, s in zip(finals, last):
                    store.append(s)
            seq = outputs[0] if len(outputs) == 1 else concat(outputs, axis=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                seq = F.dropout(seq, p=self.dropout, training=True)
        sizes = packed.batch_sizes.numpy()
        data = concat([seq[t, : int(n)] for t, n in enumerate(sizes)], axis=0)
        output = PackedSequence(data, packed.batch_sizes, order, inverse)
        h_n = [stack(store, axis=0) for store in finals]
        if inverse is not None:
            h_n = [index_select(h, 1, inverse.to(h.device)) for h in h_n]
        return (output, (h_n[0], h_n[1])) if self.mode == "LSTM" else (output, h_n[0])

    def _run_direction(self, seq: Tensor, state: list, layer: int, direction: int, masks=None):
        """Run one layer in one direction over time-major ``seq`` (T, N, C).

        Returns the hidden states (T, N, H) in input order and the final state(s). With
        ``masks`` (packed input: per step, which sequences are still running) a finished
        sequence keeps its state, so the forward direction ends at each one's last step and
        the backward direction starts there from the initial state.
        """
        sfx = _suffix(layer, direction)
        w_ih = getattr(self, "weight_ih" + sfx)
        w_hh = getattr(self, "weight_hh" + sfx)
        b_ih = getattr(self, "bias_ih" + sfx) if self.bias else None
        b_hh = getattr(self, "bias_hh" + sfx) if self.bias else None
        if self.mode != "GRU" and b_ih is not None:
            # both biases only ever appear summed outside the GRU's reset gate: fold them into
            # the one input projection instead of adding b_hh at every step
            b_ih, b_hh = b_ih + b_hh, None
        proj = F.linear(seq, w_ih, b_ih)  # (T, N, G*H): the whole sequence in one product
        steps = range(seq.shape[0] - 1, -1, -1) if direction else range(seq.shape[0])
        step = getattr(self, "_step_" + self.mode.split("_")[0].lower())
        hs = [None] * seq.shape[0]
        x_proj = _unstack_time(proj)
        for t in steps:
            new = step(x_proj[t], state, w_hh, b_hh)
            state = new if masks is None else [where(masks[t], n, o) for n, o in zip(new, state)]
            hs[t] = state[0]
        return stack(hs, axis=0), state

    def _step_rnn(self, x_proj, state, w_hh, b_hh):
        pre = x_proj + F.linear(state[0], w_hh)
        return [tanh(pre) if self.mode == "RNN_TANH" else relu(pre)]

    def _step_lstm(self, x_proj, state, w_hh, b_hh):
        h, c = state
        H = self.hidden_size
        gates = x_proj + F.linear(h, w_hh)
        ifo = sigmoid(gates)  # the g block is wasted here; one op beats three slices + sigmoids
        i, f, o = ifo[:, :H], ifo[:, H : 2 * H], ifo[:, 3 * H :]
        g = tanh(gates[:, 2 * H : 3 * H])
        c = f * c + i * g
        return [o * tanh(c), c]

    def _step_gru(self, x_proj, state, w_hh, b_hh):
        (h,) = state
        H = self.hidden_size
        hh = F.linear(h, w_hh, b_hh)
        rz = sigmoid(x_proj[:, : 2 * H] + hh[:, : 2 * H])
        r, z = rz[:, :H], rz[:, H:]
        n = tanh(x_proj[:, 2 * H :] + r * hh[:, 2 * H :])
        return [n + z * (h - n)]  # = (1 - z) * n + z * h


def _sorted(packed: PackedSequence) -> PackedSequence:
    """The same packed data read in its sorted order (no permutation back)."""
    return PackedSequence(packed.data, packed.batch_sizes, None, None)


def _unstack_time(x: Tensor) -> list[Tensor]:
    """``[x[0], ..., x[T-1]]`` with an O(T log T) backward instead of O(T^2).

    Slicing ``x[t]`` directly gives T graph nodes whose gradients are each a full (T, N, G)
    array (zeros but one row) that the engine then adds up: quadratic in T, and for T=100 it
    dominated the LSTM backward. Halving recursively keeps each level of slices to one
    (T, N, G) worth of gradient in total.
    """
    out: list[Tensor] = []
    pending = [x]
    while pending:
        chunk = pending.pop()
        if chunk.shape[0] <= 2:
            out.extend(chunk[t] for t in range(chunk.shape[0]))
        else:
            mid = chunk.shape[0] // 2
            pending += [chunk[mid:], chunk[:mid]]  # popped first-half first: time order kept
    return out


def _suffix(layer: int, direction: int) -> str:
    return f"_l{layer}" + ("_reverse" if direction else "")


class RNN(_RNNBase):
    """Elman recurrent network: a hidden state updated by one nonlinearity per step.

    Use it for short sequences or as a baseline; for long-range dependencies prefer
    :class:`LSTM` or :class:`GRU` (plain RNN gradients vanish or explode through time).

    Math (per layer, per direction; x_t is the input or the previous layer's output)::

        h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh),   act = tanh or relu

    Backward is backpropagation through time: the chain rule through every step, with
    d tanh(a)/da = 1 - tanh(a)^2 and d relu(a)/da = [a > 0].

    Args:
        input_size: features per time step (C).
        hidden_size: features of the hidden state (H).
        num_layers: stacked layers; layer k > 0 reads layer k-1's outputs.
        nonlinearity: ``"tanh"`` (default) or ``"relu"``.
        bias: add ``b_ih`` and ``b_hh``.
        batch_first: inputs/outputs are (N, T, C) when True, (T, N, C) when False (the
            default, as in PyTorch).
        dropout: dropout probability on each layer's output except the last (training only).
        bidirectional: also run each layer backwards in time; outputs are concatenated.

    Parameters: ``weight_ih_l{k}`` (H, C or D*H), ``weight_hh_l{k}`` (H, H), ``bias_ih_l{k}``,
    ``bias_hh_l{k}`` (H,), with ``_reverse`` for the backward direction, all drawn from
    U(-1/sqrt(H), 1/sqrt(H)) like PyTorch.

    Returns from ``forward(x, h0=None)``: ``(output, h_n)``; output (T, N, D*H) ((N, T, D*H)
    with batch_first=True)
    holds the last layer's hidden state at every step, h_n (num_layers*D, N, H) the final
    hidden state of every layer and direction (D = 2 if bidirectional else 1). A 2-D input
    (T, C) is one unbatched sequence: output (T, D*H), h_n (num_layers*D, H).

    >>> import glassnet as gn
    >>> rnn = gn.nn.RNN(input_size=3, hidden_size=5, num_layers=2)
    >>> out, h_n = rnn(gn.randn(7, 4, 3))       # (T, N, C): sequence first, like PyTorch
    >>> out.shape, h_n.shape
    ((7, 4, 5), (2, 4, 5))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size)  # fmt: skip


class LSTM(_RNNBase):
    """Long short-term memory: a gated cell state that carries information over many steps.

    Use it for sequences with long-range structure (text, signals); the additive cell update
    lets gradients flow through time without vanishing as fast as a plain RNN's.

    Math (PyTorch's; gates stacked i, f, g, o in ``weight_ih`` rows)::

        [a_i, a_f, a_g, a_o] = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
        i = sigmoid(a_i)   f = sigmoid(a_f)   g = tanh(a_g)   o = sigmoid(a_o)
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)

    Backward through time: dc_{t-1} = dc_t * f (plus the path through h_{t-1}),
    d sigmoid(a)/da = s (1 - s), d tanh(a)/da = 1 - tanh(a)^2.

    Args: as :class:`RNN` (without ``nonlinearity``).

    Parameters: ``weight_ih_l{k}`` (4H, C or D*H), ``weight_hh_l{k}`` (4H, H), biases (4H,),
    ``_reverse`` suffix for the backward direction; U(-1/sqrt(H), 1/sqrt(H)).

    Returns from ``forward(x, (h0, c0)=None)``: ``(output, (h_n, c_n))`` with output
    (T, N, D*H) ((N, T, D*H) with batch_first=True) and h_n, c_n (num_layers*D, N, H).

    >>> import glassnet as gn
    >>> lstm = gn.nn.LSTM(input_size=3, hidden_size=4, bidirectional=True, batch_first=True)
    >>> out, (h_n, c_n) = lstm(gn.randn(2, 5, 3))          # (N, T, C)
    >>> out.shape, h_n.shape, c_n.shape
    ((2, 5, 8), (2, 2, 4), (2, 2, 4))
    >>> lstm.weight_ih_l0.shape, lstm.weight_hh_l0_reverse.shape
    ((16, 3), (16, 4))
    """

    mode = "LSTM"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
    ) -> None:
        if proj_size != 0:
            raise ValueError(
                f"LSTM: proj_size={proj_size!r} (projected LSTM) is not supported in glassnet; "
                "use proj_size=0 (the default) and a Linear layer on the outputs"
            )
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional)  # fmt: skip


class GRU(_RNNBase):
    """Gated recurrent unit: an LSTM-like gated memory with one state and three gates.

    Use it where an LSTM would do, with fewer parameters (3 gates instead of 4, no cell).

    Math (PyTorch's; gates stacked r, z, n in ``weight_ih``/``weight_hh`` rows)::

        r = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n = tanh(W_in x_t + b_in + r * (W_hn h_{t-1} + b_hn))
        h_t = (1 - z) * n + z * h_{t-1}

    Note ``b_hn`` sits inside the reset gate's product, so the two biases do not merge.
    Backward through time: dh_{t-1} = dh_t * z + (paths through r, z and n).

    Args: as :class:`RNN` (without ``nonlinearity``).

    Parameters: ``weight_ih_l{k}`` (3H, C or D*H), ``weight_hh_l{k}`` (3H, H), biases (3H,),
    ``_reverse`` suffix for the backward direction; U(-1/sqrt(H), 1/sqrt(H)).

    Returns from ``forward(x, h0=None)``: ``(output, h_n)`` as :class:`RNN`.

    >>> import glassnet as gn
    >>> gru = gn.nn.GRU(input_size=3, hidden_size=4)
    >>> out, h_n = gru(gn.randn(6, 3))        # one unbatched sequence (T, C)
    >>> out.shape, h_n.shape
    ((6, 4), (1, 4))
    """

    mode = "GRU"
