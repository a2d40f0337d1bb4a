"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their one-step cells, as PyTorch's.

Parameter names, shapes, gate order (LSTM ``i, f, g, o``; GRU ``r, z, n``) and
initialisation (uniform on ``±1/sqrt(hidden_size)``) are PyTorch's, so a
PyTorch ``state_dict`` loads as is and gives the same outputs. The whole stack
runs as one fused op (``ember.ops.recurrent``): one input projection per
layer and direction, then a matrix product and a Numba kernel per time step,
and a hand-written backward through time.

Example:
    >>> lstm = nn.LSTM(128, 256, num_layers=2, batch_first=True)
    >>> out, (h_n, c_n) = lstm(ember.randn(32, 50, 128))   # out (32, 50, 256), h_n (2, 32, 256)

Paper links: LSTM, Hochreiter & Schmidhuber 1997 (forget gate: Gers et al.
2000, https://doi.org/10.1162/089976600300015015); GRU, Cho et al. 2014,
https://arxiv.org/abs/1406.1078; LSTM projections, Sak et al. 2014,
https://arxiv.org/abs/1402.1128.
"""

from __future__ import annotations

import math

import numpy as np

from ... import dtypes as _dt
from ...errors import DTypeError, ShapeError
from ...ops import recurrent as _recurrent
from ...tensor import Tensor
from .. import init
from ..module import Module
from ..parameter import Parameter
from ..utils.rnn import PackedSequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _param(shape, dtype) -> Parameter:
    d = _dt.get_default_dtype() if dtype is None else _dt.to_dtype(dtype)
    return Parameter(np.empty(shape, d.np))


def _check_dtype(name: str, input: Tensor, weight) -> None:
    kind = input.data.dtype
    if kind not in (np.float32, np.float64):
        raise DTypeError(f"{name}: expected a float32 or float64 input, got {input.dtype}")
    if weight is not None and weight.data.dtype != kind:
        raise DTypeError(f"{name}: input dtype {input.dtype} does not match the weights' dtype {weight.dtype}")


class RNNBase(Module):
    """The shared machinery of ``RNN``, ``LSTM`` and ``GRU``: parameters, checks, the fused call."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        name = "RNN" if mode.startswith("RNN") else mode
        if mode not in _GATES:
            raise ValueError(f"{name}: unknown mode {mode!r}")
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(
                f"{name}: dropout should be a number in range [0, 1] representing the probability of an "
                f"element being zeroed, got {dropout!r}"
            )
        for what, v in (("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name}: {what} must be a positive int, got {v!r}")
        if not isinstance(input_size, int) or input_size < 0:
            raise ValueError(f"{name}: input_size must be a non-negative int, got {input_size!r}")
        if proj_size < 0:
            raise ValueError(
                f"{name}: proj_size should be a positive integer or zero to disable projections, got {proj_size}"
            )
        if proj_size and mode != "LSTM":
            raise ValueError(f"{name}: proj_size argument is only supported for LSTM, not RNN or GRU")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size has to be smaller than hidden_size, got {proj_size} >= {hidden_size}")
        if dropout > 0 and num_layers == 1:
            import warnings

            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                stacklevel=2,
            )
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                suffix = "_reverse" if direction == 1 else ""
                params = [
                    (f"weight_ih_l{layer}{suffix}", (gate_size, layer_input)),
                    (f"weight_hh_l{layer}{suffix}", (gate_size, real_hidden)),
                ]
                if bias:
                    params += [(f"bias_ih_l{layer}{suffix}", (gate_size,)), (f"bias_hh_l{layer}{suffix}", (gate_size,))]
                if proj_size > 0:
                    params.append((f"weight_hr_l{layer}{suffix}", (proj_size, hidden_size)))
                for pname, shape in params:
                    setattr(self, pname, _param(shape, dtype))
                self._flat_weights_names.extend(p for p, _ in params)
                self._all_weights.append([p for p, _ in params])
        self.reset_parameters()

    @property
    def _layer_name(self) -> str:
        return type(self).__name__

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """A no-op: ember keeps no flat weight buffer (kept for PyTorch compatibility)."""

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        """The parameters per layer and direction: ``[[w_ih, w_hh, b_ih, b_hh(, w_hr)], ...]``."""
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def _weights_per_direction(self) -> list:
        """Flat list of 5 entries per layer-direction: w_ih, w_hh, b_ih, b_hh, w_hr (None where absent)."""
        out = []
        for layer in range(self.num_layers):
            for direction in range(2 if self.bidirectional else 1):
                s = f"l{layer}" + ("_reverse" if direction == 1 else "")
                p = self._parameters
                out += [
                    p[f"weight_ih_{s}"],
                    p[f"weight_hh_{s}"],
                    p.get(f"bias_ih_{s}"),
                    p.get(f"bias_hh_{s}"),
                    p.get(f"weight_hr_{s}"),
                ]
        return out

    def _check_state(self, what: str, state, expected: tuple) -> None:
        if not isinstance(state, Tensor):
            raise TypeError(f"{self._layer_name}: expected {what} to be a Tensor, got {type(state).__name__}")
        if tuple(state.shape) != expected:
            raise ShapeError(f"{self._layer_name}: expected {what} of shape {expected}, got {tuple(state.shape)}")

    def forward(self, input, hx=None):
        name = self._layer_name
        is_lstm = self.mode == "LSTM"
        D = 2 if self.bidirectional else 1
        P = self.proj_size if self.proj_size > 0 else self.hidden_size
        packed = isinstance(input, PackedSequence)
        batch_sizes = sorted_indices = unsorted_indices = None
        unbatched = False
        if packed:
            x, batch_sizes, sorted_indices, unsorted_indices = input
            if x.ndim != 2:
                raise ShapeError(
                    f"{name}: expected packed data of 2 dimensions (total, {self.input_size}), got {tuple(x.shape)}"
                )
            B = int(batch_sizes.data[0])
        else:
            x = input
            if not isinstance(x, Tensor):
                raise TypeError(f"{name}: expected input to be a Tensor or PackedSequence, got {type(x).__name__}")
            if x.ndim not in (2, 3):
                raise ShapeError(
                    f"{name}: expected input of 2 (unbatched: L, H_in) or 3 (batched) dimensions, got shape {tuple(x.shape)}"
                )
            unbatched = x.ndim == 2
            if unbatched:
                B = 1
            else:
                B = x.shape[0] if self.batch_first else x.shape[1]
            T = x.shape[0] if (unbatched or not self.batch_first) else x.shape[1]
            if T == 0:
                raise ShapeError(
                    f"{name}: expected a sequence of at least one time step, got input of shape {tuple(x.shape)}"
                )
        if x.shape[-1] != self.input_size:
            raise ShapeError(
                f"{name}: expected input of size {self.input_size} in its last dimension, got {tuple(x.shape)}"
            )
        weights = self._weights_per_direction()
        _check_dtype(name, x, weights[0])
        h0 = c0 = None
        if hx is not None:
            if is_lstm:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise TypeError(f"{name}: expected hx to be a tuple (h_0, c_0), got {type(hx).__name__}")
                h0, c0 = hx
            else:
                h0 = hx
            states = [("h_0", h0, P)] + ([("c_0", c0, self.hidden_size)] if is_lstm else [])
            for what, state, size in states:
                if unbatched:
                    if isinstance(state, Tensor) and state.ndim != 2:
                        raise ShapeError(
                            f"{name}: for unbatched 2-D input, {what} should also be 2-D, got shape {tuple(state.shape)}"
                        )
                    self._check_state(what, state, (self.num_layers * D, size))
                else:
                    self._check_state(what, state, (self.num_layers * D, B, size))
                _check_dtype(name, state, weights[0])
        if unbatched:
            x = x.unsqueeze(1)
            h0 = None if h0 is None else h0.unsqueeze(1)
            c0 = None if c0 is None else c0.unsqueeze(1)
        outs = _recurrent.recurrent(
            self.mode,
            x,
            h0,
            c0,
            weights,
            hidden_size=self.hidden_size,
            proj_size=self.proj_size,
            num_layers=self.num_layers,
            bidirectional=self.bidirectional,
            batch_first=self.batch_first and not unbatched and not packed,
            dropout=self.dropout if self.num_layers > 1 else 0.0,
            training=self.training,
            batch_sizes=batch_sizes,
            sorted_indices=sorted_indices,
            unsorted_indices=unsorted_indices,
        )
        output, h_n = outs[0], outs[1]
        c_n = outs[2] if is_lstm else None
        if unbatched:
            output = output.squeeze(1)
            h_n = h_n.squeeze(1)
            c_n = None if c_n is None else c_n.squeeze(1)
        if packed:
            output = PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices)
        return (output, (h_n, c_n)) if is_lstm else (output, h_n)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or ReLU).

    Args: input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0 (between layers, in training), bidirectional=False.
    Shape: input ``(L, N, H_in)`` (``(N, L, H_in)`` with batch_first), ``(L, H_in)``
    unbatched, or a PackedSequence; h_0 ``(D * num_layers, N, H_out)``.
    Returns ``output (L, N, D * H_out), h_n (D * num_layers, N, H_out)``.
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
        device=None,
        dtype=None,
    ) -> None:
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; select from 'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__(
            mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0, device, dtype
        )


class LSTM(RNNBase):
    """Long short-term memory: gates ``i, f, g, o``; ``c_t = f c_{t-1} + i g``, ``h_t = o tanh(c_t)``.

    Args as ``RNN`` (no nonlinearity) plus ``proj_size`` (``h_t`` projected by
    ``weight_hr`` to that size). hx is ``(h_0, c_0)``: ``(D * num_layers, N, H_out)``
    and ``(D * num_layers, N, hidden_size)``. Returns ``output, (h_n, c_n)``.
    """

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
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
        )


class GRU(RNNBase):
    """Gated recurrent unit: gates ``r, z``; ``n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn))``,
    ``h_t = (1 - z) n + z h_{t-1}`` (PyTorch's form). Args and shapes as ``RNN`` (no nonlinearity)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            "GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0, device, dtype
        )


class RNNCellBase(Module):
    """One time step of a recurrent layer: ``weight_ih (G*H, I)``, ``weight_hh (G*H, H)``, biases ``(G*H,)``."""

    _mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = _param((num_chunks * hidden_size, input_size), dtype)
        self.weight_hh = _param((num_chunks * hidden_size, hidden_size), dtype)
        if bias:
            self.bias_ih = _param((num_chunks * hidden_size,), dtype)
            self.bias_hh = _param((num_chunks * hidden_size,), dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _check(self, input, states):
        """Shapes checked; returns (input, states, unbatched) with unbatched ones given a batch axis of 1."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected input to be a Tensor, got {type(input).__name__}")
        if input.ndim not in (1, 2):
            raise ShapeError(f"{name}: expected input to be 1-D or 2-D, got shape {tuple(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise ShapeError(
                f"{name}: expected input of size {self.input_size} in its last dimension, got {tuple(input.shape)}"
            )
        _check_dtype(name, input, self.weight_ih)
        unbatched = input.ndim == 1
        expected = (self.hidden_size,) if unbatched else (input.shape[0], self.hidden_size)
        for what, s in states:
            if s is None:
                continue
            if not isinstance(s, Tensor):
                raise TypeError(f"{name}: expected {what} to be a Tensor, got {type(s).__name__}")
            if tuple(s.shape) != expected:
                raise ShapeError(f"{name}: expected {what} of shape {expected}, got {tuple(s.shape)}")
            _check_dtype(name, s, self.weight_ih)
        if unbatched:
            input = input.unsqueeze(0)
            states = [(w, None if s is None else s.unsqueeze(0)) for w, s in states]
        return input, [s for _, s in states], unbatched

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"  # unquoted, as PyTorch prints it
        return s


class RNNCell(RNNCellBase):
    """``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or ReLU). input ``(N, I)`` or ``(I,)``; hx ``(N, H)`` or None."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh", device=None, dtype=None
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}; select from 'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)

    def forward(self, input, hx=None):
        x, (h,), unbatched = self._check(input, [("hx", hx)])
        cell = _recurrent.rnn_tanh_cell if self.nonlinearity == "tanh" else _recurrent.rnn_relu_cell
        out = cell(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return out.squeeze(0) if unbatched else out


class LSTMCell(RNNCellBase):
    """One LSTM step: input ``(N, I)`` or ``(I,)``, hx ``(h, c)`` each ``(N, H)`` or None; returns ``(h', c')``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"LSTMCell: expected hx to be a tuple (h_0, c_0), got {type(hx).__name__}")
        h0, c0 = (None, None) if hx is None else hx
        x, (h, c), unbatched = self._check(input, [("h_0", h0), ("c_0", c0)])
        if (h is None) != (c is None):
            raise TypeError("LSTMCell: expected both h_0 and c_0 or neither")
        h1, c1 = _recurrent.lstm_cell(
            x, None if h is None else (h, c), self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh
        )
        return (h1.squeeze(0), c1.squeeze(0)) if unbatched else (h1, c1)


class GRUCell(RNNCellBase):
    """One GRU step (PyTorch's gate form): input ``(N, I)`` or ``(I,)``, hx ``(N, H)`` or None."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        x, (h,), unbatched = self._check(input, [("hx", hx)])
        out = _recurrent.gru_cell(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return out.squeeze(0) if unbatched else out
