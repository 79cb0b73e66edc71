"""One-step recurrent cells ``RNNCell``, ``LSTMCell`` and ``GRUCell``, PyTorch's layers.

A cell computes one time step; the caller writes the loop over time (for custom decoding,
teacher forcing or attention between steps). The equations, gate order, parameter names
(``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``) and initialisation
U(-1/sqrt(H), 1/sqrt(H)) are PyTorch's, so a PyTorch ``state_dict`` loads by name.
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
from glassnet.ops import relu, sigmoid, tanh, unsqueeze
from glassnet.tensor import Tensor


class _CellBase(Module):
    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__()
        name = type(self).__name__
        check_positive(input_size, "input_size", name)
        check_positive(hidden_size, "hidden_size", name)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bool(bias)
        G = self.gates * hidden_size
        self.weight_ih = Parameter(zeros(G, input_size))
        self.weight_hh = Parameter(zeros(G, hidden_size))
        if bias:
            self.bias_ih = Parameter(zeros(G))
            self.bias_hh = Parameter(zeros(G))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s

    def _check(self, x: Tensor) -> bool:
        name = type(self).__name__
        check_float_input(x, name, self.weight_ih)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}(input_size={self.input_size}) got input of shape {x.shape}; expected "
                f"(N, {self.input_size}) or ({self.input_size},) for one sample: a cell takes "
                "one time step (loop over time yourself, or use the sequence layer)"
            )
        return x.ndim == 2

    def _state(self, state, x: Tensor, batched: bool, what: str) -> Tensor:
        name = type(self).__name__
        n = x.shape[0] if batched else None
        expected = (n, self.hidden_size) if batched else (self.hidden_size,)
        if state is None:
            return Tensor._make(xp_of(x._data).zeros((n or 1, self.hidden_size), x.dtype), False)
        if not isinstance(state, Tensor) or tuple(state.shape) != expected:
            got = state.shape if isinstance(state, Tensor) else type(state).__name__
            raise ValueError(f"{name}: {what} has shape {got}; expected {expected}")
        return state if batched else unsqueeze(state, 0)

    def _linears(self, x: Tensor, h: Tensor):
        return F.linear(x, self.weight_ih, self.bias_ih), F.linear(h, self.weight_hh, self.bias_hh)


class RNNCell(_CellBase):
    """One step of an Elman RNN: ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``.

    Math: act is tanh (default) or relu; d tanh(a)/da = 1 - tanh(a)^2, d relu(a)/da = [a > 0].

    Args:
        input_size: features of x (C).
        hidden_size: features of the hidden state (H).
        bias: learn ``bias_ih`` and ``bias_hh``.
        nonlinearity: ``"tanh"`` or ``"relu"``.

    ``forward(input, hx=None)``: input (N, C) or (C,), hx (N, H) or (H,) (zeros if None);
    returns h' shaped like hx.

    >>> import glassnet as gn
    >>> cell = gn.nn.RNNCell(3, 5)
    >>> h = None
    >>> for x_t in gn.randn(4, 2, 3):   # 4 steps of a batch of 2
    ...     h = cell(x_t, h)
    >>> h.shape
    (2, 5)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh") -> None:  # fmt: skip
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
            )
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias)

    def forward(self, input: Tensor, hx=None) -> Tensor:
        batched = self._check(input)
        x = input if batched else unsqueeze(input, 0)
        h = self._state(hx, input, batched, "hx")
        a, b = self._linears(x, h)
        out = tanh(a + b) if self.nonlinearity == "tanh" else relu(a + b)
        return out if batched else out[0]


class LSTMCell(_CellBase):
    """One step of an LSTM (PyTorch's equations; gates i, f, g, o stacked in the rows)::

        [a_i, a_f, a_g, a_o] = x W_ih^T + b_ih + h W_hh^T + b_hh
        i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o);   g = tanh(a_g)
        c' = f * c + i * g;     h' = o * tanh(c')

    Backward: dc = dc' * f (+ the path through h'), d sigmoid = s (1 - s).

    Args: ``input_size``, ``hidden_size``, ``bias`` as :class:`RNNCell`.

    ``forward(input, hx=None)`` with ``hx = (h, c)`` (zeros if None): returns ``(h', c')``.

    >>> import glassnet as gn
    >>> cell = gn.nn.LSTMCell(3, 4)
    >>> h, c = cell(gn.randn(2, 3))
    >>> h.shape, c.shape, cell.weight_ih.shape
    ((2, 4), (2, 4), (16, 3))
    """

    gates = 4

    def forward(self, input: Tensor, hx=None):
        batched = self._check(input)
        x = input if batched else unsqueeze(input, 0)
        if hx is None:
            h = c = self._state(None, input, batched, "h")
        elif isinstance(hx, (tuple, list)) and len(hx) == 2:
            h = self._state(hx[0], input, batched, "h")
            c = self._state(hx[1], input, batched, "c")
        else:
            raise TypeError(f"LSTMCell: the state must be a tuple (h, c), got {type(hx).__name__}")
        a, b = self._linears(x, h)
        gates = a + b
        H = self.hidden_size
        i, f = sigmoid(gates[:, :H]), sigmoid(gates[:, H : 2 * H])
        g, o = tanh(gates[:, 2 * H : 3 * H]), sigmoid(gates[:, 3 * H :])
        c_new = f * c + i * g
        h_new = o * tanh(c_new)
        return (h_new, c_new) if batched else (h_new[0], c_new[0])


class GRUCell(_CellBase):
    """One step of a GRU (PyTorch's equations; gates r, z, n stacked in the rows)::

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
        z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        h' = (1 - z) * n + z * h

    Args: ``input_size``, ``hidden_size``, ``bias`` as :class:`RNNCell`.

    ``forward(input, hx=None)``: returns h' shaped like hx.

    >>> import glassnet as gn
    >>> cell = gn.nn.GRUCell(3, 4)
    >>> cell(gn.randn(2, 3)).shape
    (2, 4)
    """

    gates = 3

    def forward(self, input: Tensor, hx=None) -> Tensor:
        batched = self._check(input)
        x = input if batched else unsqueeze(input, 0)
        h = self._state(hx, input, batched, "hx")
        a, b = self._linears(x, h)
        H = self.hidden_size
        rz = sigmoid(a[:, : 2 * H] + b[:, : 2 * H])
        r, z = rz[:, :H], rz[:, H:]
        n = tanh(a[:, 2 * H :] + r * b[:, 2 * H :])
        out = n + z * (h - n)
        return out if batched else out[0]
