"""nn.functional: activations, linear, dropout and losses as functions of tensors.

Everything is composed from autodiff ops except the fused ones, each for a stated reason: the
engine's ``autodiff.fused.linear`` and ``softmax_cross_entropy`` (speed: one node whose backward
is two matmuls and a sum, or ``(softmax - smoothed one-hot) * scale``), the elementwise rows of
``autodiff.ops`` (erf among them) and the two binary cross-entropies (PyTorch's clamped/stable forms, whose composed gradients
would be NaN at 0 and 1 or wrong at a logit of exactly 0).

Loss reductions follow PyTorch: ``reduction="mean"`` (default), ``"sum"`` or ``"none"``.
"""
from __future__ import annotations

import math
from typing import Any, TypeVar, Union, overload

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

import autodiff as ad
from autodiff import Function, Tensor
from autodiff import fused
from autodiff.compiler import replayed
from autodiff.fused import Linear, SoftmaxCrossEntropy, softmax_cross_entropy  # noqa: F401

_add_reduce = np.add.reduce

__all__ = [
    "relu", "leaky_relu", "tanh", "sigmoid", "gelu", "erf", "softmax", "log_softmax", "linear",
    "dropout", "alpha_dropout", "feature_alpha_dropout", "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "nll_loss", "cross_entropy",
    "binary_cross_entropy", "binary_cross_entropy_with_logits",
]

# a tensor argument: a Tensor, or what ad.tensor takes (an array, a number, nested lists)
_TensorLike = Union[Tensor, ArrayLike]
# what a Function's forward and backward compute on: arrays (Tensors under create_graph=True)
_Values = TypeVar("_Values", np.ndarray, Tensor)


def _tensor(x: _TensorLike) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


@overload
def _constant(x: None, dtype: DTypeLike | None = None) -> None: ...
@overload
def _constant(x: _TensorLike, dtype: DTypeLike | None = None) -> np.ndarray: ...


def _constant(x: _TensorLike | None, dtype: DTypeLike | None = None) -> np.ndarray | None:
    """A tensor argument that is never differentiated (class weights) as an ndarray."""
    if x is None:
        return None
    array = x.data if isinstance(x, Tensor) else np.asarray(x)
    return array.astype(dtype, copy=False) if dtype is not None else array


# ---------------------------------------------------------------------------------------------
# activations


def _in_place(x: Tensor, result: Tensor, inplace: bool) -> Tensor:
    """``inplace=True`` (PyTorch's flag): x itself, changed to ``result`` (``x.copy_``: on the
    graph the gradient flows through ``result``); otherwise ``result``."""
    return x.copy_(result) if inplace else result


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0) elementwise (derivative 0 at 0); ``inplace=True`` changes x and returns it."""
    return x.copy_(ad.relu(x)) if inplace else ad.relu(x)     # (_in_place, one call less on this hot path)


def leaky_relu(x: _TensorLike, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x where x > 0, else negative_slope * x (the derivative at 0 is negative_slope, as PyTorch)."""
    x = _tensor(x)
    # (x > 0 on the tensor: a step compiled with ad.compile records it)
    return _in_place(x, ad.where(x > 0, x, x * negative_slope), inplace)


tanh = ad.tanh     # the op itself (one call less per use)


def sigmoid(x: _TensorLike) -> Tensor:
    """1 / (1 + exp(-x)) elementwise, stable for large |x|."""
    return ad.sigmoid(x)


def softmax(x: _TensorLike, dim: int | None = None, axis: int | None = None, dtype: DTypeLike | None = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (PyTorch's name; ``axis`` is accepted too). Without a
    dim, PyTorch's implicit one: 0 for 0-, 1- and 3-d inputs, else 1 (deprecated there: give it)."""
    return ad.softmax(x, _implicit_dim(dim, axis, "softmax"), dtype=dtype)


def log_softmax(x: _TensorLike, dim: int | None = None, axis: int | None = None,
                dtype: DTypeLike | None = None) -> Tensor:
    """x - logsumexp(x) along ``dim`` (``axis`` accepted too), computed stably; no dim: as softmax."""
    return ad.log_softmax(x, _implicit_dim(dim, axis, "log_softmax"), dtype=dtype)


def _implicit_dim(dim: int | None, axis: int | None, op: str) -> int | None:
    if axis is not None:
        if dim is not None and dim != axis:
            raise TypeError(f"{op}: give the axis once, as dim= (PyTorch's name) or axis=, not both")
        return axis
    return dim      # None: ad.softmax's implicit dim, as PyTorch's


_SQRT1_2 = 1.0 / math.sqrt(2.0)


def gelu(x: _TensorLike, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit. ``approximate="none"``: x * Phi(x) = x/2 (1 + erf(x / sqrt 2));
    ``"tanh"``: x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). Both as PyTorch."""
    x = _tensor(x)
    if approximate == "none":
        return x * 0.5 * (1.0 + erf(x * _SQRT1_2))
    if approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * (x * x * x))
        return 0.5 * x * (1.0 + ad.tanh(inner))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


# erf's numpy routines live in autodiff.special (the elementwise table's erf and erfc use them)
from autodiff.special import erf_cody, erfc_cody  # noqa: E402,F401
from autodiff.ops import Erf  # noqa: E402,F401


def erf(x: _TensorLike) -> Tensor:
    """The error function elementwise, differentiable (float64-accurate with or without scipy);
    integer input becomes the default float dtype."""
    x = _tensor(x)
    if x.dtype.kind != "f":
        x = x.astype(ad.get_default_dtype())
    return ad.erf(x)


# ---------------------------------------------------------------------------------------------
# linear and dropout


def linear(x: _TensorLike, weight: _TensorLike, bias: _TensorLike | None = None) -> Tensor:
    """x @ weight.T + bias: (..., in_features), (out, in_features), (out,) -> (..., out), one node
    (``autodiff.fused.linear``)."""
    return fused.linear(x if isinstance(x, Tensor) else Tensor(x), weight, bias)


def dropout(x: _TensorLike, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the kept ones by 1/(1-p) when
    ``training``; the identity otherwise. The mask comes from ``ad.default_generator``.
    ``inplace=True`` changes x and returns it."""
    x = _tensor(x)
    settled = dropout_without_draws(x, p, training, inplace, "dropout")
    if settled is not None:
        return settled
    dtype = x.dtype if x.dtype.kind == "f" else ad.get_default_dtype()
    return _in_place(x, x * dropout_mask(x.shape, p, dtype), inplace)


def dropout_without_draws(x: Tensor, p: float, training: bool, inplace: bool, op: str) -> Tensor | None:
    """What every dropout gives without drawing: x itself in eval mode or for p = 0, zeros for
    p = 1; None when a mask must be drawn (p is checked first)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: p must be a probability in [0, 1], got {p!r}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return _in_place(x, x * np.zeros((), x.dtype), inplace)
    return None


@replayed       # a compiled step draws a new mask at every replay, from the same generator
def dropout_mask(shape: tuple[int, ...], p: float, dtype: DTypeLike) -> np.ndarray:
    """Dropout's mask of ``shape``: 0 with probability ``p``, else 1/(1-p), in ``dtype``, drawn
    from ``ad.default_generator`` as PyTorch draws it (a float64 uniform < 1 - p keeps)."""
    keep = ad.default_generator.uniform(0.0, 1.0, shape, np.float64) < 1.0 - p
    return (keep * (1.0 / (1.0 - p))).astype(dtype)


_SELU_SATURATION = 1.7580993408473766     # -SELU's limit at -inf (scale * alpha): alpha dropout's value


def alpha_dropout(input: _TensorLike, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: when ``training``, each element is set with probability ``p`` to
    SELU's saturation value, then all are scaled and shifted so that inputs of mean 0 and variance
    1 keep them. The identity otherwise (note PyTorch's default ``training=False``)."""
    return _alpha_dropout(input, p, training, inplace, "alpha_dropout", feature=False)


def feature_alpha_dropout(input: _TensorLike, p: float = 0.5, training: bool = False, inplace: bool = False
                          ) -> Tensor:
    """``alpha_dropout`` of whole channels: each (n, c) plane of (N, C, ...) is kept or dropped."""
    return _alpha_dropout(input, p, training, inplace, "feature_alpha_dropout", feature=True)


def _alpha_dropout(input: _TensorLike, p: float, training: bool, inplace: bool, op: str, feature: bool) -> Tensor:
    x = _tensor(input)
    settled = dropout_without_draws(x, p, training, inplace, op)
    if settled is not None:
        return settled
    if feature and x.ndim < 2:
        raise ValueError(f"{op}: expected an input of at least 2 dimensions (N, C, ...), got shape {x.shape}")
    shape = x.shape[:2] + (1,) * (x.ndim - 2) if feature else x.shape
    scale, shift = alpha_dropout_noise(shape, p, x.dtype if x.dtype.kind == "f" else ad.get_default_dtype())
    return _in_place(x, x * scale + shift, inplace)


@replayed
def alpha_dropout_noise(shape: tuple[int, ...], p: float, dtype: DTypeLike) -> tuple[np.ndarray, np.ndarray]:
    """Alpha dropout's (scale, shift) of ``shape``, in ``dtype``, drawn from ``ad.default_generator``
    as PyTorch draws them: keep = (a float64 uniform < 1 - p); scale = keep * a, shift = (keep - 1)
    * (s * a) + s * a * p with s SELU's saturation and a = 1 / sqrt((s^2 p + 1)(1 - p))."""
    keep = (ad.default_generator.uniform(0.0, 1.0, shape, np.float64) < 1.0 - p).astype(dtype)
    a = 1.0 / math.sqrt((_SELU_SATURATION ** 2 * p + 1) * (1 - p))

    def scalar(value: float) -> np.ndarray:     # PyTorch's scalar arithmetic: in the tensor's dtype
        return np.asarray(value, dtype)

    shift = (keep - scalar(1.0)) * scalar(_SELU_SATURATION * a) + scalar(_SELU_SATURATION * a * p)
    return keep * scalar(a), shift


# ---------------------------------------------------------------------------------------------
# losses: helpers

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str, loss: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{loss}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _input_and_target(input: _TensorLike, target: _TensorLike, loss: str) -> tuple[Tensor, Tensor]:
    """Both as tensors of the same shape; an array target takes the input's floating dtype."""
    input = _tensor(input)
    if not isinstance(target, Tensor):
        target = np.asarray(target)
        if input.dtype.kind == "f" and target.dtype != input.dtype:
            target = target.astype(input.dtype)
        target = Tensor(target)
    if input.shape != target.shape:
        raise ValueError(f"{loss}: input of shape {input.shape} and target of shape {target.shape} differ; "
                         "they must match exactly (broadcasting them would silently compare every "
                         "prediction with every target). Reshape one, e.g. target.reshape(input.shape)")
    if target.dtype.kind not in "fiub":
        raise TypeError(f"{loss}: target must be numeric, got {target.dtype}")
    return input, target


# ---------------------------------------------------------------------------------------------
# regression losses


def mse_loss(input: _TensorLike, target: _TensorLike, reduction: str = "mean") -> Tensor:
    """(input - target)^2, reduced. Shapes must match."""
    _check_reduction(reduction, "mse_loss")
    input, target = _input_and_target(input, target, "mse_loss")
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(input: _TensorLike, target: _TensorLike, reduction: str = "mean") -> Tensor:
    """|input - target|, reduced. Shapes must match."""
    _check_reduction(reduction, "l1_loss")
    input, target = _input_and_target(input, target, "l1_loss")
    return _reduce(ad.abs(input - target), reduction)


def huber_loss(input: _TensorLike, target: _TensorLike, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - delta/2), with d = input - target."""
    _check_reduction(reduction, "huber_loss")
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta!r}")
    input, target = _input_and_target(input, target, "huber_loss")
    diff = input - target
    size = ad.abs(diff)
    loss = ad.where(size < delta, 0.5 * (diff * diff), delta * (size - 0.5 * delta))
    return _reduce(loss, reduction)


def smooth_l1_loss(input: _TensorLike, target: _TensorLike, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - beta/2 (plain L1 for beta = 0)."""
    _check_reduction(reduction, "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta!r}")
    input, target = _input_and_target(input, target, "smooth_l1_loss")
    diff = input - target
    size = ad.abs(diff)
    if beta == 0:
        return _reduce(size, reduction)
    loss = ad.where(size < beta, (0.5 / beta) * (diff * diff), size - 0.5 * beta)
    return _reduce(loss, reduction)


# ---------------------------------------------------------------------------------------------
# classification losses


def _class_targets(input: Tensor, target: _TensorLike, ignore_index: int,
                   loss: str) -> tuple[Tensor, np.ndarray, tuple[int, ...], int, bool]:
    """Check class-index targets and flatten: logits (N, C), (C,) or (N, C, d1, ...) -> (M, C) and
    targets -> (M,). Returns (logits2d, target1d, the target's shape, C, whether every target is
    a class in [0, C))."""
    if input.ndim == 0:
        raise ValueError(f"{loss}: input must have a class axis: (N, C), (C,) or (N, C, d1, ...); got a 0-d tensor")
    classes = input.shape[0] if input.ndim == 1 else input.shape[1]
    expected = () if input.ndim == 1 else input.shape[:1] + input.shape[2:]
    array = np.asarray(target.data if isinstance(target, Tensor) else target)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{loss}: class-index targets must be integers, got dtype {array.dtype} (shape "
                        f"{array.shape}) for input of shape {input.shape}. Pass labels as an int array "
                        "of shape " + str(expected) + (", or class probabilities of the input's shape to "
                                                      "cross_entropy" if loss == "cross_entropy" else ""))
    if array.shape != expected:
        raise ValueError(f"{loss}: target of shape {array.shape} does not fit input of shape {input.shape}; "
                         f"class-index targets must have shape {expected} (the input's shape without the "
                         "class axis 1)")
    flat = array.reshape(-1).astype(np.int64, copy=False)
    # the common case, every target a valid class, costs two reductions
    in_range = flat.size == 0 or (flat.min() >= 0 and flat.max() < classes)
    bad = None if in_range else (flat != ignore_index) & ((flat < 0) | (flat >= classes))
    if bad is not None and bad.any():
        raise IndexError(f"{loss}: target {int(flat[bad][0])} is out of range for {classes} classes (input of "
                         f"shape {input.shape}); class indices must be in [0, {classes - 1}] or equal "
                         f"ignore_index={ignore_index}")
    if input.ndim == 1:
        logits = input.reshape(1, classes)
    elif input.ndim == 2:
        logits = input
    else:
        order = (0,) + tuple(range(2, input.ndim)) + (1,)
        logits = ad.permute(input, order).reshape(-1, classes)
    return logits, flat, array.shape, classes, in_range


@overload
def _class_weights(weight: None, classes: int, dtype: np.dtype, loss: str) -> None: ...
@overload
def _class_weights(weight: _TensorLike, classes: int, dtype: np.dtype, loss: str) -> np.ndarray: ...


def _class_weights(weight: _TensorLike | None, classes: int, dtype: np.dtype, loss: str) -> np.ndarray | None:
    if weight is None:
        return None
    weight = _constant(weight, dtype)
    if weight.shape != (classes,):
        raise ValueError(f"{loss}: weight of shape {weight.shape} must have one entry per class, ({classes},)")
    return weight


def nll_loss(input: _TensorLike, target: _TensorLike, weight: _TensorLike | None = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices: -weight[t] * input[n, t] for log-probabilities
    ``input`` (N, C) (or (C,), or (N, C, d1, ...)) and int targets (N,) (or (), (N, d1, ...)).

    Targets equal to ``ignore_index`` contribute 0. ``reduction="mean"`` divides by the sum of the
    weights of the targets that are not ignored (PyTorch's weighted mean; NaN if all are ignored).
    """
    _check_reduction(reduction, "nll_loss")
    input = _tensor(input)
    logp, flat, shape, classes, _ = _class_targets(input, target, ignore_index, "nll_loss")
    weight = _class_weights(weight, classes, input.dtype, "nll_loss")
    rows, safe, weights, negated = _nll_targets(flat, ignore_index, input.dtype, weight)
    losses = logp[rows, safe] * negated
    if reduction == "none":
        return losses.reshape(shape)
    if reduction == "sum":
        return losses.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return losses.sum() / ad.Tensor(weights).sum()


@replayed       # arrays made from the labels: a compiled step makes them again from each batch's
def _nll_targets(flat: np.ndarray, ignore_index: int, dtype: DTypeLike,
                 weight: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """nll_loss's index arrays and weights for int targets ``flat`` (M,): (rows, safe targets
    (ignored ones as 0), the targets' weights (0 if ignored), their negatives)."""
    valid = flat != ignore_index
    safe = np.where(valid, flat, 0)
    weights = valid.astype(dtype) if weight is None else weight[safe] * valid
    return np.arange(flat.size), safe, weights, -weights


_INT64, _UINT64 = np.dtype(np.int64), np.dtype(np.uint64)


def cross_entropy(input: _TensorLike, target: _TensorLike, weight: _TensorLike | None = None,
                  ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of logits ``input`` (N, C) (or (C,), or (N, C, d1, ...)).

    ``target`` is either class indices (ints, the input's shape without axis 1) or class
    probabilities (floats, the input's shape). With indices: ``weight`` (C,) scales each class,
    targets equal to ``ignore_index`` are skipped, and ``label_smoothing`` s mixes the one-hot
    target with the uniform distribution: (1 - s) * nll + s/C * sum_c -w[c] logp[c], both parts
    divided by the summed weight of the targets not ignored for "mean" (PyTorch's semantics).
    With probabilities: -sum(w[c] * target * logp) summed over classes, "mean" divides by N.

    >>> import autodiff as ad, numpy as np
    >>> from nn import functional as F
    >>> logits = ad.tensor([[2.0, 0.0], [0.0, 2.0]], dtype="float64")
    >>> round(F.cross_entropy(logits, np.array([0, 1])).item(), 6)
    0.126928
    """
    if weight is None and reduction == "mean" and label_smoothing == 0 and isinstance(input, Tensor):
        # the common case in a few cheap checks: (N, C) logits, N int64 labels, every one a class
        # in [0, C) (one max: a negative label read as unsigned is huge), none ignored; anything
        # else, and every error, takes the general path below
        labels = target.data if isinstance(target, Tensor) else target
        if type(labels) is np.ndarray and labels.dtype == _INT64:
            shape = input.data.shape
            if len(shape) == 2 and labels.shape == shape[:1] and shape[0] and (
                    np.maximum.reduce(labels.view(_UINT64)) < shape[1]) and not (
                    0 <= ignore_index < shape[1] and (labels == ignore_index).any()):
                return softmax_cross_entropy(input, labels)
    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    input = _tensor(input)
    target_dtype = target.dtype if isinstance(target, (Tensor, np.ndarray)) else np.asarray(target).dtype
    if target_dtype.kind == "f":
        return _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing)
    logits, flat, shape, classes, in_range = _class_targets(input, target, ignore_index, "cross_entropy")
    weight = _class_weights(weight, classes, input.dtype, "cross_entropy")
    # ignore_index None tells the Function that no target is ignored (a faster path); a default
    # ignore_index outside [0, C) can only be present if some target is out of range
    if 0 <= ignore_index < classes or not in_range:
        ignored = ignore_index if (flat == ignore_index).any() else None
    else:
        ignored = None
    loss = SoftmaxCrossEntropy.apply(logits, flat, weight, ignored, float(label_smoothing), reduction)
    return loss.reshape(shape) if reduction == "none" else loss


def _cross_entropy_probabilities(input: Tensor, target: _TensorLike, weight: _TensorLike | None, reduction: str,
                                 smoothing: float) -> Tensor:
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target, dtype=input.dtype))
    if target.shape != input.shape:
        expected = () if input.ndim == 1 else input.shape[:1] + input.shape[2:]
        raise ValueError(f"cross_entropy: float target of shape {target.shape} does not fit logits of shape "
                         f"{input.shape}. Class probabilities must have the logits' shape {input.shape}; "
                         f"class indices must be integers of shape {expected}")
    if input.ndim == 0:
        raise ValueError("cross_entropy: input must have a class axis, got a 0-d tensor")
    class_axis = 0 if input.ndim == 1 else 1
    classes = input.shape[class_axis]
    logp = ad.log_softmax(input, axis=class_axis)
    if smoothing:
        target = target * (1.0 - smoothing) + smoothing / classes
    product = logp * target
    if weight is not None:
        weight = _class_weights(weight, classes, input.dtype, "cross_entropy")
        product = product * weight.reshape((classes,) + (1,) * (input.ndim - class_axis - 1))
    if reduction == "none":
        return -product.sum(axis=class_axis)
    if reduction == "sum":
        return -product.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return -product.sum() / (input.size / classes if input.size else np.nan)


def _clamped_log(x: _Values) -> _Values:
    """log(x) clamped below at -100, as PyTorch's binary_cross_entropy does."""
    if isinstance(x, Tensor):
        return ad.clip(ad.log(x), min=-100.0)
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(x), -100.0)


class BinaryCrossEntropy(Function):
    """-w (t log x + (1 - t) log(1 - x)) elementwise with logs clamped at -100 (PyTorch).

    A Function because the composed clamp would give 0 * inf = NaN gradients at x = 0 or 1; the
    backward is PyTorch's w (x - t) / max(x (1 - x), 1e-12).
    """

    weight: np.ndarray | None

    @staticmethod
    def forward(ctx: BinaryCrossEntropy, x: np.ndarray, t: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
        ctx.save_for_backward(x, t)
        ctx.weight = weight
        loss = -(t * _clamped_log(x) + (1.0 - t) * _clamped_log(1.0 - x))
        return loss if weight is None else loss * weight

    @staticmethod
    def backward(ctx: BinaryCrossEntropy, grad: Any) -> tuple[Any, Any, None]:
        x, t = ctx.saved_tensors
        need_x, need_t = ctx.needs_input_grad[:2]
        if ctx.weight is not None:
            grad = grad * ctx.weight
        grad_x = grad * (x - t) / np.maximum(x * (1.0 - x), 1e-12) if need_x else None
        grad_t = grad * (_clamped_log(1.0 - x) - _clamped_log(x)) if need_t else None
        return grad_x, grad_t, None


def _weight_for(weight: _TensorLike | None, input: Tensor, loss: str, name: str = "weight") -> np.ndarray | None:
    if weight is None:
        return None
    weight = _constant(weight, input.dtype)
    try:
        shape = np.broadcast_shapes(weight.shape, input.shape)
    except ValueError:
        shape = None
    if shape != input.shape:
        raise ValueError(f"{loss}: {name} of shape {weight.shape} does not broadcast to the input's shape "
                         f"{input.shape}")
    return weight


def binary_cross_entropy(input: _TensorLike, target: _TensorLike, weight: _TensorLike | None = None,
                         reduction: str = "mean") -> Tensor:
    """-w (t log(x) + (1 - t) log(1 - x)) for probabilities ``input`` in [0, 1]; the logs are
    clamped at -100 so x = 0 or 1 gives a finite loss (PyTorch). Shapes must match."""
    _check_reduction(reduction, "binary_cross_entropy")
    input, target = _input_and_target(input, target, "binary_cross_entropy")
    _check_binary_target(input, target, "binary_cross_entropy", same_dtype=True)
    if input.size and ((input.data < 0).any() or (input.data > 1).any() or np.isnan(input.data).any()):
        raise ValueError("binary_cross_entropy: every input must be a probability in [0, 1]; apply "
                         "sigmoid first, or use binary_cross_entropy_with_logits on raw scores")
    weight = _weight_for(weight, input, "binary_cross_entropy")
    return _reduce(BinaryCrossEntropy.apply(input, target, weight), reduction)


def _check_binary_target(input: Tensor, target: Tensor, loss: str, same_dtype: bool) -> None:
    """A binary target is a float tensor of 0s and 1s (or probabilities), as PyTorch requires:
    integer or bool labels raise, naming ``.float()``, instead of computing in float64 (numpy's
    promotion of int64 with float32). ``binary_cross_entropy`` also wants the input's dtype."""
    if target.dtype.kind != "f" or (same_dtype and target.dtype != input.dtype):
        wanted = "of the input's dtype" if same_dtype else "floating point"
        raise ad.DtypeError(
            f"{loss}: target is {target.dtype} but the input is {input.dtype}; the target must be {wanted} "
            "(labels 0./1. or probabilities), as in PyTorch. Convert it: target.to(input.dtype), e.g. "
            "target.float()")


def _softplus_neg(x: _Values) -> _Values:
    """log(1 + exp(-x)) = -log(sigmoid(x)), stable for any x (array or tensor)."""
    if isinstance(x, Tensor):
        return ad.relu(-x) + ad.log(1.0 + ad.exp(-ad.abs(x)))
    return np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))


def _sigmoid(x: _Values) -> _Values:
    if isinstance(x, Tensor):
        return ad.sigmoid(x)
    e = np.exp(-np.abs(x))
    r = 1.0 / (1.0 + e)
    return np.where(x >= 0, r, e * r)


class BinaryCrossEntropyWithLogits(Function):
    """PyTorch's stable form: (1 - t) x + (1 + (p - 1) t) log(1 + exp(-x)), times w, with
    log(1 + exp(-x)) = max(-x, 0) + log1p(exp(-|x|)); finite for logits of +-100 and beyond.

    A Function because the composed form differentiates |x| and max(-x, 0) at x = 0 by
    convention, giving 1 - t instead of sigmoid(0) - t there. Gradient:
    w ((1 + (p - 1) t) sigmoid(x) - p t); for the target: w ((p - 1) log(1 + exp(-x)) - x).
    """

    weight: np.ndarray | None
    pos_weight: np.ndarray | None

    @staticmethod
    def forward(ctx: BinaryCrossEntropyWithLogits, x: np.ndarray, t: np.ndarray, weight: np.ndarray | None,
                pos_weight: np.ndarray | None) -> np.ndarray:
        ctx.save_for_backward(x, t)
        ctx.weight, ctx.pos_weight = weight, pos_weight
        softplus = _softplus_neg(x)
        if pos_weight is None:
            loss = (1.0 - t) * x + softplus
        else:
            loss = (1.0 - t) * x + (1.0 + (pos_weight - 1.0) * t) * softplus
        return loss if weight is None else loss * weight

    @staticmethod
    def backward(ctx: BinaryCrossEntropyWithLogits, grad: Any) -> tuple[Any, Any, None, None]:
        x, t = ctx.saved_tensors
        need_x, need_t = ctx.needs_input_grad[:2]
        pos_weight = ctx.pos_weight
        if ctx.weight is not None:
            grad = grad * ctx.weight
        grad_x = grad_t = None
        if need_x:
            if pos_weight is None:
                grad_x = grad * (_sigmoid(x) - t)
            else:
                grad_x = grad * ((1.0 + (pos_weight - 1.0) * t) * _sigmoid(x) - pos_weight * t)
        if need_t:
            if pos_weight is None:
                grad_t = grad * -x
            else:
                grad_t = grad * ((pos_weight - 1.0) * _softplus_neg(x) - x)
        return grad_x, grad_t, None, None


def binary_cross_entropy_with_logits(input: _TensorLike, target: _TensorLike, weight: _TensorLike | None = None,
                                     reduction: str = "mean", pos_weight: _TensorLike | None = None) -> Tensor:
    """Sigmoid + binary cross-entropy in one stable formula, for raw scores ``input``.

    ``pos_weight`` (broadcast along the last axis, e.g. one per class) weights the positive term:
    -[p t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))]. Shapes of input and target must match.
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    input, target = _input_and_target(input, target, "binary_cross_entropy_with_logits")
    _check_binary_target(input, target, "binary_cross_entropy_with_logits", same_dtype=False)
    weight = _weight_for(weight, input, "binary_cross_entropy_with_logits")
    pos_weight = _weight_for(pos_weight, input, "binary_cross_entropy_with_logits", "pos_weight")
    loss = BinaryCrossEntropyWithLogits.apply(input, target, weight, pos_weight)
    return _reduce(loss, reduction)


# ---------------------------------------------------------------------------------------------
# spatial ops: convolution, pooling, interpolation, padding, channel dropout (nn/spatial.py)

from .spatial import (  # noqa: E402
    conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d, unfold, fold, max_pool1d,
    max_pool2d, max_pool3d, max_unpool1d, max_unpool2d, max_unpool3d, avg_pool1d, avg_pool2d, avg_pool3d,
    adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d, adaptive_max_pool1d, adaptive_max_pool2d,
    adaptive_max_pool3d, interpolate, pad, dropout1d, dropout2d, dropout3d,
)
from .spatial import __all__ as _spatial_names  # noqa: E402

__all__ += _spatial_names

# ---------------------------------------------------------------------------------------------
# the vocabulary of custom losses: more activations, distances and lookups, margin and likelihood
# losses (nn/functional_activations.py, functional_layers.py, functional_losses.py)

from .functional_activations import (  # noqa: E402
    softplus, logsigmoid, silu, mish, elu, selu, celu, hardtanh, relu6, hardswish, hardsigmoid, softsign,
    tanhshrink, softshrink, hardshrink, glu, softmin, prelu,
)
from .functional_layers import normalize, cosine_similarity, pairwise_distance, embedding, bilinear, one_hot  # noqa: E402
from .functional_losses import (  # noqa: E402
    kl_div, soft_margin_loss, multilabel_soft_margin_loss, margin_ranking_loss, hinge_embedding_loss,
    cosine_embedding_loss, triplet_margin_loss, triplet_margin_with_distance_loss, poisson_nll_loss,
    gaussian_nll_loss, multi_margin_loss,
)
from . import functional_activations as _activations, functional_layers as _layers  # noqa: E402
from . import functional_losses as _losses  # noqa: E402

__all__ += _activations.__all__ + _layers.__all__ + _losses.__all__

# ---------------------------------------------------------------------------------------------
# rearrangements, threshold, and the group, instance, RMS and local-response normalizations
# (nn/functional_rearrange.py, functional_norms.py)

from .functional_rearrange import pixel_shuffle, pixel_unshuffle, channel_shuffle, threshold, threshold_  # noqa: E402
from .functional_rearrange import upsample, upsample_nearest, upsample_bilinear  # noqa: E402
from .functional_norms import group_norm, instance_norm, rms_norm, local_response_norm  # noqa: E402
from . import functional_norms as _norms, functional_rearrange as _rearrange  # noqa: E402

__all__ += _rearrange.__all__ + _norms.__all__
