"""Activation modules: thin Modules around nn.functional's activations."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from numpy.typing import DTypeLike

import autodiff as ad
from autodiff import Tensor

from . import functional as F
from .module import Module
from .parameter import Parameter

__all__ = ["ReLU", "LeakyReLU", "Tanh", "Sigmoid", "GELU", "Softmax", "LogSoftmax", "Softplus", "LogSigmoid",
           "SiLU", "Mish", "ELU", "SELU", "CELU", "Hardtanh", "ReLU6", "Hardswish", "Hardsigmoid", "Softsign",
           "Tanhshrink", "Softshrink", "Hardshrink", "GLU", "Softmin", "PReLU", "Softmax2d", "Threshold"]


class ReLU(Module):
    """max(x, 0) elementwise (``inplace=True``: changes its input, as PyTorch's)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x for x > 0, else negative_slope * x."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Tanh(Module):
    """tanh(x) elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x)) elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class GELU(Module):
    """x * Phi(x) (``approximate="none"``, with erf) or its tanh approximation (``"tanh"``)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """softmax along ``dim`` (PyTorch's name; ``axis=`` is accepted too); without one, PyTorch's
    implicit dim (0 for 0-, 1- and 3-d inputs, else 1)."""

    def __init__(self, dim: int | None = None, axis: int | None = None) -> None:
        super().__init__()
        self.dim = F._implicit_dim(dim, axis, "Softmax")

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log_softmax along ``dim`` (``axis=`` accepted too); without one, as Softmax."""

    def __init__(self, dim: int | None = None, axis: int | None = None) -> None:
        super().__init__()
        self.dim = F._implicit_dim(dim, axis, "LogSoftmax")

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class _Activation(Module):
    """Base of the activation modules below: the constructor takes the options ``_options``
    (defaults ``_defaults``, PyTorch's), stores them as attributes, and forward calls
    ``_function(x, *options)``; the repr lists them as PyTorch's does. For type checkers each
    subclass declares its options (PyTorch's signature) as an ``__init__`` under
    ``TYPE_CHECKING``: at run time this one takes them."""

    _function: Callable[..., Tensor]
    _options: tuple[str, ...]
    _defaults: tuple[Any, ...]
    _options, _defaults = (), ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        if len(args) > len(self._options) or set(kwargs) - set(self._options):
            raise TypeError(f"{type(self).__name__} takes the options {self._options}, got {args} {kwargs}")
        values = {**dict(zip(self._options, self._defaults)), **dict(zip(self._options, args)), **kwargs}
        for name in self._options:
            setattr(self, name, values[name])

    def forward(self, x: Tensor) -> Tensor:
        return type(self)._function(x, *(getattr(self, name) for name in self._options))

    def extra_repr(self) -> str:
        shown = [f"{name}={getattr(self, name)}" for name in self._options if name != "inplace"]
        return ", ".join(shown + (["inplace=True"] if getattr(self, "inplace", False) else []))


class Softplus(_Activation):
    """log(1 + exp(beta x)) / beta, linear above ``threshold`` (``F.softplus``)."""
    _function, _options, _defaults = staticmethod(F.softplus), ("beta", "threshold"), (1.0, 20.0)
    beta: float
    threshold: float

    if TYPE_CHECKING:
        def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None: ...


class LogSigmoid(_Activation):
    """log(sigmoid(x)) (``F.logsigmoid``)."""
    _function = staticmethod(F.logsigmoid)

    if TYPE_CHECKING:
        def __init__(self) -> None: ...


class SiLU(_Activation):
    """x * sigmoid(x) (``F.silu``)."""
    _function, _options, _defaults = staticmethod(F.silu), ("inplace",), (False,)
    inplace: bool

    if TYPE_CHECKING:
        def __init__(self, inplace: bool = False) -> None: ...


class Mish(_Activation):
    """x * tanh(softplus(x)) (``F.mish``)."""
    _function, _options, _defaults = staticmethod(F.mish), ("inplace",), (False,)
    inplace: bool

    if TYPE_CHECKING:
        def __init__(self, inplace: bool = False) -> None: ...


class ELU(_Activation):
    """x for x > 0, else alpha (e^x - 1) (``F.elu``)."""
    _function, _options, _defaults = staticmethod(F.elu), ("alpha", "inplace"), (1.0, False)
    alpha: float
    inplace: bool

    if TYPE_CHECKING:
        def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None: ...


class SELU(_Activation):
    """The self-normalising scaled ELU (``F.selu``)."""
    _function, _options, _defaults = staticmethod(F.selu), ("inplace",), (False,)
    inplace: bool

    if TYPE_CHECKING:
        def __init__(self, inplace: bool = False) -> None: ...


class CELU(_Activation):
    """x for x > 0, else alpha (e^(x/alpha) - 1) (``F.celu``)."""
    _function, _options, _defaults = staticmethod(F.celu), ("alpha", "inplace"), (1.0, False)
    alpha: float
    inplace: bool

    if TYPE_CHECKING:
        def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None: ...


class Hardtanh(_Activation):
    """x clipped to [min_val, max_val] (``F.hardtanh``)."""
    _function, _options, _defaults = staticmethod(F.hardtanh), ("min_val", "max_val", "inplace"), (-1.0, 1.0, False)
    min_val: float
    max_val: float
    inplace: bool

    if TYPE_CHECKING:
        def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None: ...


class ReLU6(_Activation):
    """min(max(x, 0), 6) (``F.relu6``)."""
    _function, _options, _defaults = staticmethod(F.relu6), ("inplace",), (False,)
    inplace: bool

    if TYPE_CHECKING:
        def __init__(self, inplace: bool = False) -> None: ...


class Hardswish(_Activation):
    """x * relu6(x + 3) / 6 (``F.hardswish``)."""
    _function, _options, _defaults = staticmethod(F.hardswish), ("inplace",), (False,)
    inplace: bool

    if TYPE_CHECKING:
        def __init__(self, inplace: bool = False) -> None: ...


class Hardsigmoid(_Activation):
    """relu6(x + 3) / 6 (``F.hardsigmoid``)."""
    _function, _options, _defaults = staticmethod(F.hardsigmoid), ("inplace",), (False,)
    inplace: bool

    if TYPE_CHECKING:
        def __init__(self, inplace: bool = False) -> None: ...


class Softsign(_Activation):
    """x / (1 + |x|) (``F.softsign``)."""
    _function = staticmethod(F.softsign)

    if TYPE_CHECKING:
        def __init__(self) -> None: ...


class Tanhshrink(_Activation):
    """x - tanh(x) (``F.tanhshrink``)."""
    _function = staticmethod(F.tanhshrink)

    if TYPE_CHECKING:
        def __init__(self) -> None: ...


class Softshrink(_Activation):
    """Shrink toward 0 by lambd, 0 inside [-lambd, lambd] (``F.softshrink``)."""
    _function, _options, _defaults = staticmethod(F.softshrink), ("lambd",), (0.5,)
    lambd: float

    if TYPE_CHECKING:
        def __init__(self, lambd: float = 0.5) -> None: ...

    def extra_repr(self) -> str:
        return str(self.lambd)


class Hardshrink(Softshrink):
    """x outside [-lambd, lambd], else 0 (``F.hardshrink``)."""
    _function = staticmethod(F.hardshrink)

    if TYPE_CHECKING:
        def __init__(self, lambd: float = 0.5) -> None: ...


class GLU(_Activation):
    """First half of ``dim`` times the sigmoid of the second (``F.glu``)."""
    _function, _options, _defaults = staticmethod(F.glu), ("dim",), (-1,)
    dim: int

    if TYPE_CHECKING:
        def __init__(self, dim: int = -1) -> None: ...


class Softmin(_Activation):
    """softmax(-x) along ``dim`` (``F.softmin``)."""
    _function, _options, _defaults = staticmethod(F.softmin), ("dim",), (None,)
    dim: int | None

    if TYPE_CHECKING:
        def __init__(self, dim: int | None = None) -> None: ...


class PReLU(Module):
    """x for x > 0, else a * x with a learned slope ``weight``: one for all channels
    (``num_parameters=1``) or one per channel (dimension 1 of the input), each starting at ``init``."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        self.num_parameters = int(num_parameters)
        dtype = ad.get_default_dtype() if dtype is None else np.dtype(dtype)
        self.weight = Parameter(np.full(self.num_parameters, init, dtype))

    def forward(self, x: Tensor) -> Tensor:
        return F.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Softmax2d(Module):
    """softmax over the channels at each spatial position: dim -3 of (N, C, H, W) or (C, H, W)."""

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {x.shape}")
        return F.softmax(x, -3)


class Threshold(Module):
    """x where x > threshold, else ``value`` (see ``F.threshold``)."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold = threshold
        self.value = value
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.threshold(x, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + (", inplace=True" if self.inplace else "")
