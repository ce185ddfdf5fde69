"""Recurrent layers: RNNCell, LSTMCell, GRUCell and the multi-layer RNN, LSTM and GRU, composed from
the engine's fused linear, tanh/relu/sigmoid and stack, with PyTorch's arguments, parameter names
(``weight_ih_l0``, ``bias_hh_l1_reverse``...), initialisation (U(-1/sqrt(hidden), 1/sqrt(hidden))
for every parameter, in registration order), gate order (LSTM: i, f, g, o; GRU: r, z, n) and
outputs, so a state dict loads into PyTorch's layer and gives the same outputs."""
from __future__ import annotations

import math
from typing import Any, Callable, Optional, Tuple, Union

import numpy as np
from numpy.typing import DTypeLike

import autodiff as ad
from autodiff import Tensor, fused
from autodiff.dtypes import layer_dtype_error

from . import functional as F, init
from .layers import _dtype
from .module import Module
from .parameter import Parameter

__all__ = ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
# an LSTM's state is the pair (h, c); the others' is h
_State = Union[Tensor, Tuple[Tensor, Tensor]]


def _activation(nonlinearity: str, owner: str) -> Callable[[Tensor], Tensor]:
    if nonlinearity == "tanh":
        return ad.tanh
    if nonlinearity == "relu":
        return ad.relu
    raise ValueError(f"{owner}: unknown nonlinearity {nonlinearity!r}; select from 'tanh' or 'relu'")


def _check_dtype(x: Tensor, weight: Tensor, owner: str) -> None:
    if x.dtype != weight.dtype:
        raise layer_dtype_error(owner, x.dtype, weight.dtype)


def _step(mode: str, projected: Tensor, h: Tensor, c: Tensor | None, weight_hh: Tensor, bias_hh: Tensor | None,
          activation: Callable[[Tensor], Tensor] | None, weight_hr: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
    """One time step from the input's projection x @ W_ih.T + b_ih (N, gates * H) and the state:
    the new (h, c) (c None but for an LSTM), PyTorch's formulas; an LSTM with a projection
    ``weight_hr`` (proj_size, H) returns h' = (o * tanh(c')) @ W_hr.T."""
    hidden = weight_hh.shape[0] // _GATES[mode]
    recurrent = fused.linear(h, weight_hh, bias_hh)
    if mode == "LSTM":
        assert c is not None, "an LSTM step needs its cell state"
        gates = projected + recurrent
        i = ad.sigmoid(gates[..., 0:hidden])
        f = ad.sigmoid(gates[..., hidden:2 * hidden])
        g = ad.tanh(gates[..., 2 * hidden:3 * hidden])
        o = ad.sigmoid(gates[..., 3 * hidden:])
        c = f * c + i * g
        h = o * ad.tanh(c)
        return (h if weight_hr is None else fused.linear(h, weight_hr, None)), c
    if mode == "GRU":
        r = ad.sigmoid(projected[..., 0:hidden] + recurrent[..., 0:hidden])
        z = ad.sigmoid(projected[..., hidden:2 * hidden] + recurrent[..., hidden:2 * hidden])
        n = ad.tanh(projected[..., 2 * hidden:] + r * recurrent[..., 2 * hidden:])
        return (1 - z) * n + z * h, None
    assert activation is not None
    return activation(projected + recurrent), None


class _RNNCellBase(Module):
    mode: str
    weight_ih: Parameter
    weight_hh: Parameter
    bias_ih: Parameter | None
    bias_hh: Parameter | None

    def __init__(self, input_size: int, hidden_size: int, bias: bool, dtype: DTypeLike | None) -> None:
        super().__init__()
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.bias = bias
        dtype = _dtype(dtype)
        rows = _GATES[self.mode] * self.hidden_size
        self.weight_ih = Parameter(np.empty((rows, self.input_size), dtype))
        self.weight_hh = Parameter(np.empty((rows, self.hidden_size), dtype))
        if bias:
            self.bias_ih = Parameter(np.empty(rows, dtype))
            self.bias_hh = Parameter(np.empty(rows, dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), in registration order."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        for parameter in self.parameters():
            init.uniform_(parameter, -bound, bound)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        nonlinearity = getattr(self, "nonlinearity", "tanh")
        if nonlinearity != "tanh":
            text += f", nonlinearity={nonlinearity}"
        return text

    def _prepare(self, x: Tensor, state: Tensor | None, name: str = "hx") -> tuple[Tensor, Tensor, bool]:
        """(batched x (N, input_size), batched state (N, hidden_size), whether x was unbatched)."""
        owner = type(self).__name__
        if not isinstance(x, Tensor):
            x = ad.tensor(x)
        if x.ndim not in (1, 2):
            raise ValueError(f"{owner}: expected input to be 1-D (input_size,) or 2-D (N, input_size), got shape "
                             f"{x.shape}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{owner}: input of shape {x.shape} has {x.shape[-1]} features; expected input_size "
                             f"{self.input_size}")
        _check_dtype(x, self.weight_ih, owner)
        unbatched = x.ndim == 1
        if unbatched:
            x = x.reshape(1, -1)
        if state is None:
            state = ad.zeros(x.shape[0], self.hidden_size, dtype=x.dtype)
        else:
            if not isinstance(state, Tensor):
                state = ad.tensor(state)
            expected = (self.hidden_size,) if unbatched else (x.shape[0], self.hidden_size)
            if tuple(state.shape) != expected:
                raise ValueError(f"{owner}: {name} of shape {state.shape} does not fit the input of shape "
                                 f"{x.shape[1:] if unbatched else x.shape}; expected {expected}")
            _check_dtype(state, self.weight_hh, owner)
            if unbatched:
                state = state.reshape(1, -1)
        return x, state, unbatched

    def _cell(self, x: Tensor, h: Tensor, c: Tensor | None) -> tuple[Tensor, Tensor | None]:
        activation = _activation(self.nonlinearity, "RNNCell") if self.mode.startswith("RNN") else None
        projected = fused.linear(x, self.weight_ih, self.bias_ih)
        return _step(self.mode, projected, h, c, self.weight_hh, self.bias_hh, activation)


class RNNCell(_RNNCellBase):
    """h' = tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh) (``nonlinearity='relu'``: relu):
    (N, input_size), (N, hidden_size) -> (N, hidden_size), or unbatched without N; ``hx``
    defaults to zeros."""

    mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 dtype: DTypeLike | None = None) -> None:
        _activation(nonlinearity, "RNNCell")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, h, unbatched = self._prepare(input, hx)
        out, _ = self._cell(x, h, None)
        return out.reshape(-1) if unbatched else out


class LSTMCell(_RNNCellBase):
    """One LSTM step: gates i, f, g, o = split(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh);
    c' = sigmoid(f) * c + sigmoid(i) * tanh(g), h' = sigmoid(o) * tanh(c'). ``hx`` is (h, c),
    zeros by default; returns (h', c'), each (N, hidden_size) (unbatched: (hidden_size,))."""

    mode = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype: DTypeLike | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError("LSTMCell: hx must be a pair (h, c) of tensors, or None")
        x, h, unbatched = self._prepare(input, None if hx is None else hx[0], "h")
        _, c, _ = self._prepare(input, None if hx is None else hx[1], "c")
        h, new_c = self._cell(x, h, c)
        assert new_c is not None, "an LSTM step returns its cell state"
        return (h.reshape(-1), new_c.reshape(-1)) if unbatched else (h, new_c)


class GRUCell(_RNNCellBase):
    """One GRU step: r = sigmoid(x_r + h_r), z = sigmoid(x_z + h_z), n = tanh(x_n + r * h_n),
    h' = (1 - z) * n + z * h, with x_* = (x @ W_ih.T + b_ih) and h_* = (h @ W_hh.T + b_hh) split
    in the order r, z, n (PyTorch's)."""

    mode = "GRU"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype: DTypeLike | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, h, unbatched = self._prepare(input, hx)
        out, _ = self._cell(x, h, None)
        return out.reshape(-1) if unbatched else out


class _RNNBase(Module):
    """Stacked (``num_layers``), optionally bidirectional recurrent layers over a sequence.

    input: (L, N, input_size), or (N, L, input_size) with ``batch_first``, or unbatched
    (L, input_size). Initial state (``hx``; for an LSTM the pair (h0, c0)): (D * num_layers, N,
    hidden_size) (unbatched: without N), zeros when omitted; D = 2 when ``bidirectional``.
    Returns (output, final state): output (L, N, D * hidden_size) (batch_first: (N, L, ...)), the
    last layer's h at every step, both directions concatenated (the reverse one aligned to the
    input's steps); the final state has the initial state's shape. ``dropout`` is applied to every
    layer's output but the last's, in training mode."""

    mode: str

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__()
        owner = type(self).__name__
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"{owner}: dropout should be a number in range [0, 1] representing the probability of "
                             f"an element being zeroed, got {dropout!r}")
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool) or hidden_size <= 0:
            raise ValueError(f"{owner}: hidden_size must be a positive int, got {hidden_size!r}")
        if not isinstance(num_layers, int) or isinstance(num_layers, bool) or num_layers <= 0:
            raise ValueError(f"{owner}: num_layers must be a positive int, got {num_layers!r}")
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError(f"{owner}: proj_size has to be a non-negative int, got {proj_size!r}")
        if proj_size >= hidden_size:
            raise ValueError(f"{owner}: proj_size ({proj_size}) has to be smaller than hidden_size ({hidden_size})")
        if proj_size and self.mode != "LSTM":
            raise ValueError(f"{owner}: proj_size is only supported for LSTM, not RNN or GRU")
        self.input_size = int(input_size)
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        dtype = _dtype(dtype)
        directions = 2 if bidirectional else 1
        rows = _GATES[self.mode] * hidden_size
        state = proj_size or hidden_size        # the size of h (an LSTM's c keeps hidden_size)
        for layer in range(num_layers):
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                inputs = self.input_size if layer == 0 else state * directions
                setattr(self, "weight_ih" + suffix, Parameter(np.empty((rows, inputs), dtype)))
                setattr(self, "weight_hh" + suffix, Parameter(np.empty((rows, state), dtype)))
                if bias:
                    setattr(self, "bias_ih" + suffix, Parameter(np.empty(rows, dtype)))
                    setattr(self, "bias_hh" + suffix, Parameter(np.empty(rows, dtype)))
                if proj_size:
                    setattr(self, "weight_hr" + suffix, Parameter(np.empty((proj_size, hidden_size), dtype)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), in registration order."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for parameter in self.parameters():
            init.uniform_(parameter, -bound, bound)

    def flatten_parameters(self) -> None:
        """Does nothing: PyTorch's compaction of the weights for cuDNN, kept so that PyTorch code
        calling it runs unchanged."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters per layer and direction, in registration order (PyTorch's ``all_weights``)."""
        directions = 2 if self.bidirectional else 1
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if self.bias else []) + \
            (["weight_hr"] if self.proj_size else [])
        return [[getattr(self, f"{name}_l{layer}" + ("_reverse" if direction else "")) for name in names]
                for layer in range(self.num_layers) for direction in range(directions)]

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if self.batch_first is not False:
            text += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            text += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            text += f", bidirectional={self.bidirectional}"
        return text

    def _state(self, state: Any, expected: tuple[int, ...], batched: bool, name: str, dtype: np.dtype) -> Tensor:
        owner = type(self).__name__
        if state is None:
            return ad.zeros(*expected, dtype=dtype)
        if not isinstance(state, Tensor):
            state = ad.tensor(state)
        if batched and state.ndim != 3:
            raise ValueError(f"{owner}: for a batched 3-D input, {name} should be 3-D (num_layers * num_directions, "
                             f"N, hidden_size) = {expected}, got shape {state.shape}")
        if not batched and state.ndim != 2:
            raise ValueError(f"{owner}: for an unbatched 2-D input, {name} should be 2-D (num_layers * "
                             f"num_directions, hidden_size) = {expected[::2]}, got shape {state.shape}")
        if not batched:
            state = state.reshape(state.shape[0], 1, state.shape[1])
        if tuple(state.shape) != expected:
            shown = expected if batched else expected[::2]
            raise ValueError(f"{owner}: expected {name} of shape {shown} (num_layers * num_directions, "
                             f"{'N, ' if batched else ''}hidden_size), got {state.shape if batched else state.shape[::2]}")
        if state.dtype != dtype:
            raise layer_dtype_error(owner, state.dtype, dtype)
        return state

    def forward(self, input: Tensor, hx: _State | None = None) -> tuple[Tensor, _State]:
        owner = type(self).__name__
        x = input if isinstance(input, Tensor) else ad.tensor(input)
        if x.ndim not in (2, 3):
            raise ValueError(f"{owner}: expected input to be 2-D (L, input_size) or 3-D ("
                             f"{'N, L' if self.batch_first else 'L, N'}, input_size), got shape {x.shape}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{owner}: input of shape {x.shape} has {x.shape[-1]} features (its last dim); expected "
                             f"input_size {self.input_size}")
        weight: Tensor = self.weight_ih_l0
        _check_dtype(x, weight, owner)
        batched = x.ndim == 3
        if not batched:
            x = x.reshape(x.shape[0], 1, x.shape[1])
        elif self.batch_first:
            x = x.transpose(0, 1)
        steps, batch = x.shape[0], x.shape[1]
        directions = 2 if self.bidirectional else 1
        expected = (self.num_layers * directions, batch, self.proj_size or self.hidden_size)
        if self.mode == "LSTM":
            if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
                raise TypeError(f"{owner}: hx must be a pair (h0, c0) of tensors, or None")
            h0 = self._state(None if hx is None else hx[0], expected, batched, "h0", x.dtype)
            c0: Tensor | None = self._state(None if hx is None else hx[1], expected[:2] + (self.hidden_size,), batched,
                                            "c0", x.dtype)
        else:
            if isinstance(hx, (tuple, list)):
                raise TypeError(f"{owner}: hx must be a tensor (h0), or None; only an LSTM takes a pair (h0, c0)")
            h0 = self._state(hx, expected, batched, "hx", x.dtype)
            c0 = None
        activation = _activation(getattr(self, "nonlinearity", "tanh"), owner) if self.mode.startswith("RNN") else None
        finals_h, finals_c = [], []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                index = layer * directions + direction
                weight_ih, weight_hh = getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix)
                bias_ih = getattr(self, "bias_ih" + suffix) if self.bias else None
                bias_hh = getattr(self, "bias_hh" + suffix) if self.bias else None
                weight_hr = getattr(self, "weight_hr" + suffix) if self.proj_size else None
                # every step's input projection in one product: (L, N, gates * H)
                projected = fused.linear(layer_input, weight_ih, bias_ih)
                h, c = h0[index], None if c0 is None else c0[index]
                order = range(steps) if direction == 0 else range(steps - 1, -1, -1)
                hs: list[Tensor] = [h] * steps
                for t in order:
                    h, c = _step(self.mode, projected[t], h, c, weight_hh, bias_hh, activation, weight_hr)
                    hs[t] = h
                outputs.append(ad.stack(hs, 0))
                finals_h.append(h)
                if c is not None:
                    finals_c.append(c)
            layer_input = outputs[0] if directions == 1 else ad.cat(outputs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        output = layer_input
        h_n = ad.stack(finals_h, 0)
        c_n = ad.stack(finals_c, 0) if finals_c else None
        if not batched:
            output = output.reshape(steps, -1)
            h_n = h_n.reshape(h_n.shape[0], -1)
            c_n = None if c_n is None else c_n.reshape(c_n.shape[0], -1)
        elif self.batch_first:
            output = output.transpose(0, 1)
        if c_n is not None:
            return output, (h_n, c_n)
        return output, h_n


class RNN(_RNNBase):
    """Elman RNN, h_t = tanh(x_t @ W_ih.T + b_ih + h_{t-1} @ W_hh.T + b_hh) (``nonlinearity='relu'``:
    relu), stacked and optionally bidirectional (see ``_RNNBase`` for the shapes)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 dtype: DTypeLike | None = None) -> None:
        _activation(nonlinearity, "RNN")
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, dtype=dtype)


class LSTM(_RNNBase):
    """Long short-term memory, stacked and optionally bidirectional; returns (output, (h_n, c_n))
    (see LSTMCell for the step, ``_RNNBase`` for the shapes). ``proj_size`` > 0: h is projected
    to proj_size by ``weight_hr_l{k}`` (h0, h_n and the output have proj_size features; c keeps
    hidden_size)."""

    mode = "LSTM"


class GRU(_RNNBase):
    """Gated recurrent unit, stacked and optionally bidirectional; returns (output, h_n) (see
    GRUCell for the step, ``_RNNBase`` for the shapes)."""

    mode = "GRU"
