"""nn.functional's distances, normalisation and lookup layers: normalize, cosine_similarity,
pairwise_distance, embedding, bilinear, one_hot. Composites of autodiff ops; at a zero vector
each has PyTorch's gradient (the norms' gradient there is 0, see ``ad.linalg.vector_norm``)."""
from __future__ import annotations

from typing import Union

import numpy as np
from numpy.typing import ArrayLike

import autodiff as ad
from autodiff import Tensor
from autodiff.gathering import one_hot  # noqa: F401  (PyTorch's place for it is nn.functional)

__all__ = ["normalize", "cosine_similarity", "pairwise_distance", "embedding", "bilinear", "one_hot"]

# a tensor argument: a Tensor, or what ad.tensor takes (an array, a number, nested lists)
_TensorLike = Union[Tensor, ArrayLike]


def _tensor(x: _TensorLike) -> Tensor:
    return x if isinstance(x, Tensor) else ad.tensor(x)


def normalize(input: _TensorLike, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``: unit vectors; a zero vector stays 0 (its gradient is
    g / eps, PyTorch's)."""
    x = _tensor(input)
    return x / ad.clip(ad.linalg.vector_norm(x, p, dim, keepdim=True), min=eps)


def _clamped_below(value: Tensor, low: float) -> Tensor:
    """max(value, low) in value, with value's gradient (PyTorch clamps the norms of
    cosine_similarity and the variance of gaussian_nll_loss in place without grad)."""
    return value + ad.tensor(np.maximum(value.data, low) - value.data)


def cosine_similarity(x1: _TensorLike, x2: _TensorLike, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum((x1 / ||x1||) * (x2 / ||x2||)) along ``dim`` (broadcast), each norm clamped below at
    ``eps`` as PyTorch does (its value clamped, its gradient the norm's)."""
    x1, x2 = ad.broadcast_tensors(_tensor(x1), _tensor(x2))
    norm1 = _clamped_below(ad.linalg.vector_norm(x1, 2, dim, keepdim=True), eps)
    norm2 = _clamped_below(ad.linalg.vector_norm(x2, 2, dim, keepdim=True), eps)
    return ((x1 / norm1) * (x2 / norm2)).sum(dim)


def pairwise_distance(x1: _TensorLike, x2: _TensorLike, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p along the last dimension (broadcast; PyTorch adds eps to the difference)."""
    return ad.linalg.vector_norm(_tensor(x1) - _tensor(x2) + eps, p, -1, keepdim)


def embedding(input: _TensorLike, weight: _TensorLike, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """The rows of ``weight`` (num_embeddings, dim) at the integer indices ``input`` (…): (…, dim).

    ``padding_idx``: that row gets no gradient. ``max_norm``: the looked-up rows whose
    ``norm_type``-norm exceeds it are rescaled in place to that norm first (no gradient), as
    PyTorch does. ``scale_grad_by_freq``: each row's gradient divided by its count in ``input``."""
    if sparse:
        raise NotImplementedError("embedding: sparse gradients are not supported; use sparse=False")
    weight = _tensor(weight)
    indices = np.asarray(input.data if isinstance(input, Tensor) else input)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {indices.dtype}; convert with .long()")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be (num_embeddings, embedding_dim), got shape {weight.shape}")
    if indices.size and (indices.min() < 0 or indices.max() >= weight.shape[0]):
        bad = indices.min() if indices.min() < 0 else indices.max()
        raise IndexError(f"embedding: index {bad} is out of range for {weight.shape[0]} embeddings")
    if max_norm is not None:
        rows = np.unique(indices)
        norms = np.linalg.norm(weight.data[rows], ord=norm_type, axis=1)
        too_long = norms > max_norm
        with ad.no_grad():
            weight[rows[too_long]] = weight.data[rows[too_long]] * (max_norm / (norms[too_long] + 1e-7))[:, None]
    picked = weight[indices]
    if scale_grad_by_freq:
        counts = np.bincount(indices.reshape(-1), minlength=weight.shape[0])[indices][..., None]
        picked = picked.detach() + (picked - picked.detach()) / counts.astype(weight.dtype)
    if padding_idx is not None:
        padding_idx = padding_idx + weight.shape[0] if padding_idx < 0 else padding_idx
        picked = ad.where((indices == padding_idx)[..., None], picked.detach(), picked)
    return picked


def bilinear(input1: _TensorLike, input2: _TensorLike, weight: _TensorLike, bias: _TensorLike | None = None) -> Tensor:
    """x1ᵀ A x2 + b per output: (…, in1), (…, in2), (out, in1, in2), (out,) -> (…, out)."""
    x1, x2, weight = _tensor(input1), _tensor(input2), _tensor(weight)
    if weight.ndim != 3 or x1.shape[-1] != weight.shape[1] or x2.shape[-1] != weight.shape[2]:
        raise ValueError(f"bilinear: inputs of shapes {x1.shape} and {x2.shape} do not fit a weight of shape "
                         f"{weight.shape} (out_features, in1_features, in2_features)")
    out = ad.einsum("...i,oij,...j->...o", x1, weight, x2)
    return out if bias is None else out + bias
