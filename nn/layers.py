"""Layers: Identity, Linear, Flatten, Unflatten, Dropout, Dropout1d/2d/3d, Embedding, Bilinear,
PairwiseDistance, CosineSimilarity, and MLP (a Sequential of them)."""
from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING, Any, Mapping, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

import autodiff as ad
from autodiff import Tensor, fused

from . import functional as F
from . import init
from .activation import GELU, LeakyReLU, ReLU, Sigmoid, Tanh
from .containers import Sequential
from .module import Module
from .parameter import Parameter

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Identity", "Linear", "Flatten", "Unflatten", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d",
           "Embedding", "Bilinear", "PairwiseDistance", "CosineSimilarity", "MLP"]

# an activation given to MLP: a name ('relu'), a Module class, or a Module (copied)
_ActivationSpec = Union[str, type[Module], Module]


def _dtype(dtype: DTypeLike | None) -> np.dtype:
    dtype = ad.get_default_dtype() if dtype is None else np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"parameters must be floating point, got dtype {dtype}")
    return dtype


class Identity(Module):
    """Returns its input unchanged (a placeholder layer); ignores constructor arguments."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class Linear(Module):
    """y = x @ weight.T + bias: (..., in_features) -> (..., out_features).

    ``weight`` is (out_features, in_features) and ``bias`` (out_features,), both initialised from
    U(-1/sqrt(in_features), 1/sqrt(in_features)) drawn from ``ad.default_generator`` (PyTorch's
    default), in ``dtype`` (the default dtype unless given).

    The weight's array is stored column-major (``weight.data.T`` is C-contiguous, (in, out) in
    memory, the layout of a hand-written ``x @ W + b``): ``x @ weight.T`` is then a plain
    row-major product, which BLAS runs fastest (OpenBLAS on AVX-512: 8 instead of 20 us for
    (64, 64) inputs to 128 outputs, float32; never slower in the shapes measured, up to (256, 784)
    to 512), and the weight's gradient is made in the same layout. Values, shape and every
    operation are as with a row-major array; only ``weight.data.flags`` tell.

    >>> import autodiff as ad, nn
    >>> layer = nn.Linear(2, 3)
    >>> layer(ad.ones(4, 2)).shape
    (4, 3)
    """

    in_features: int
    out_features: int
    weight: Parameter
    bias: Parameter | None

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        dtype = _dtype(dtype)
        # column-major: see the class docstring
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype, order="F"))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Redraw weight and bias from U(-1/sqrt(in), 1/sqrt(in)) (PyTorch's kaiming_uniform_ with
        a = sqrt(5), which reduces to that bound)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        # what self.weight would find, without __getattr__ (the weight is never None)
        parameters: Mapping[str, Any] = self._parameters
        return fused.linear(x if isinstance(x, ad.Tensor) else ad.Tensor(x), parameters["weight"],
                            parameters["bias"])

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Flatten(Module):
    """Merge axes ``start_dim..end_dim`` into one: (N, C, L) -> (N, C*L) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: Tensor) -> Tensor:
        return ad.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size``: (N, 6) -> (N, 2, 3) for Unflatten(1, (2, 3))."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        return ad.unflatten(x, self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Embedding(Module):
    """A lookup table: integer indices (…) -> rows of ``weight`` (num_embeddings, embedding_dim),
    (…, embedding_dim). ``weight`` starts N(0, 1) from ``ad.default_generator`` (PyTorch's), with
    the ``padding_idx`` row zero and never updated by gradients; ``max_norm``, ``norm_type`` and
    ``scale_grad_by_freq`` as ``F.embedding``.

    >>> import autodiff as ad, nn
    >>> nn.Embedding(10, 3, padding_idx=0)(ad.tensor([[0, 2], [4, 9]])).shape
    (2, 2, 3)
    """

    weight: Parameter

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: Tensor | ArrayLike | None = None, _freeze: bool = False,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__()
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} is out of range for {num_embeddings} "
                                 "embeddings")
            padding_idx %= self.num_embeddings
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), _dtype(dtype)))
            self.reset_parameters()
        else:
            weight = _weight.data if isinstance(_weight, ad.Tensor) else np.asarray(_weight)
            if weight.shape != (self.num_embeddings, self.embedding_dim):
                raise ValueError(f"Embedding: _weight of shape {weight.shape} does not match "
                                 f"({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(weight.copy(), requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        """Redraw weight from N(0, 1) and zero the padding row."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with ad.no_grad():
                self.weight[self.padding_idx] = 0.0

    @classmethod
    def from_pretrained(cls, embeddings: Tensor | ArrayLike, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Self:
        """An Embedding whose weight is a copy of ``embeddings`` (2-D); ``freeze``: no gradient."""
        rows, cols = (embeddings.data if isinstance(embeddings, ad.Tensor) else np.asarray(embeddings)).shape
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse, _weight=embeddings,
                   _freeze=freeze)

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        return text + (", sparse=True" if self.sparse else "")


class Bilinear(Module):
    """y = x1ᵀ A x2 + b per output feature: (…, in1), (…, in2) -> (…, out); ``weight`` (out, in1,
    in2) and ``bias`` (out,) start U(-1/sqrt(in1), 1/sqrt(in1)), as PyTorch's."""

    weight: Parameter
    bias: Parameter | None

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = int(in1_features), int(in2_features), int(out_features)
        dtype = _dtype(dtype)
        self.weight = Parameter(np.empty((self.out_features, self.in1_features, self.in2_features), dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Redraw weight and bias from U(-1/sqrt(in1_features), 1/sqrt(in1_features))."""
        bound = 1.0 / math.sqrt(self.in1_features) if self.in1_features else 0.0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class PairwiseDistance(Module):
    """||x1 - x2 + eps||_p along the last dimension (``F.pairwise_distance``)."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    """The cosine of the angle between x1 and x2 along ``dim`` (``F.cosine_similarity``)."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class Dropout(Module):
    """In training, zero each element with probability ``p`` and scale the rest by 1/(1-p); in
    eval mode, the identity. The mask is drawn from ``ad.default_generator``."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p!r}")
        self.p = p
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """In training, zero each whole channel (an (n, c) plane of (N, C, H, W)) with probability
    ``p`` and scale the rest by 1/(1-p); in eval mode, the identity (see ``F.dropout2d``)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout2d(x, self.p, self.training, self.inplace)


class Dropout3d(Dropout):
    """In training, zero each whole channel of (N, C, D, H, W) with probability ``p`` and scale
    the rest by 1/(1-p); in eval mode, the identity (see ``F.dropout3d``)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout3d(x, self.p, self.training, self.inplace)


class Dropout1d(Dropout):
    """In training, zero each whole channel of (N, C, L) with probability ``p`` and scale the
    rest by 1/(1-p); in eval mode, the identity (see ``F.dropout1d``)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout1d(x, self.p, self.training, self.inplace)


class AlphaDropout(Dropout):
    """Dropout for SELU networks (see ``F.alpha_dropout``): in training, elements dropped to
    SELU's saturation value and the whole rescaled to keep mean 0 and variance 1; in eval mode,
    the identity."""

    def forward(self, x: Tensor) -> Tensor:
        return F.alpha_dropout(x, self.p, self.training)


class FeatureAlphaDropout(Dropout):
    """``AlphaDropout`` of whole channels of (N, C, ...) (see ``F.feature_alpha_dropout``)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.feature_alpha_dropout(x, self.p, self.training)


_ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid, "gelu": GELU, "leaky_relu": LeakyReLU,
                "identity": Identity, "linear": Identity}


def _activation(spec: _ActivationSpec, owner: str) -> Module:
    """A fresh activation module from a name ('relu'), a Module class, or a Module (copied)."""
    if isinstance(spec, str):
        if spec.lower() not in _ACTIVATIONS:
            raise ValueError(f"{owner}: unknown activation {spec!r}; use one of {sorted(_ACTIVATIONS)}, "
                             "a Module class or a Module instance")
        return _ACTIVATIONS[spec.lower()]()
    if isinstance(spec, type) and issubclass(spec, Module):
        return spec()
    if isinstance(spec, Module):
        return copy.deepcopy(spec)
    raise TypeError(f"{owner}: activation must be a name, a Module class or a Module instance, got "
                    f"{type(spec).__name__}")


class MLP(Sequential):
    """A multilayer perceptron built as a Sequential: Linear, activation (and Dropout when
    ``dropout > 0``) for each hidden layer, then the last Linear and ``output_activation`` if any.

    Its children are numbered like a hand-written ``torch.nn.Sequential``, so
    ``MLP([2, 3, 1]).state_dict()`` has keys ``0.weight, 0.bias, 2.weight, 2.bias``.

    >>> import nn
    >>> list(nn.MLP([2, 3, 1]).state_dict())
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, sizes: Sequence[int], activation: _ActivationSpec = "relu",
                 output_activation: _ActivationSpec | None = None, dropout: float = 0.0,
                 dtype: DTypeLike | None = None) -> None:
        sizes = [int(n) for n in sizes]
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes must list at least the input and output sizes, got {sizes}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"MLP: dropout must be in [0, 1), got {dropout!r}")
        layers: list[Module] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(n_in, n_out, dtype=dtype))
            if i < len(sizes) - 2:
                layers.append(_activation(activation, "MLP"))
                if dropout > 0:
                    layers.append(Dropout(dropout))
        if output_activation is not None:
            layers.append(_activation(output_activation, "MLP"))
        super().__init__(*layers)
        self.sizes = sizes
