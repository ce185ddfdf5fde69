"""Loss modules: each stores its options and calls the function of the same name in
nn.functional. Class weights are buffers, as in PyTorch (so they appear in ``state_dict``)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Union

import numpy as np
from numpy.typing import ArrayLike

import autodiff as ad
from autodiff import Tensor

from . import functional as F
from .module import Module

__all__ = ["MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "NLLLoss", "CrossEntropyLoss", "BCELoss",
           "BCEWithLogitsLoss", "KLDivLoss", "SoftMarginLoss", "MultiLabelSoftMarginLoss", "MarginRankingLoss",
           "HingeEmbeddingLoss", "CosineEmbeddingLoss", "TripletMarginLoss", "TripletMarginWithDistanceLoss",
           "PoissonNLLLoss", "GaussianNLLLoss", "MultiMarginLoss"]

# class weights: a Tensor, or what ad.tensor takes (kept as a buffer)
_Weight = Union[Tensor, ArrayLike]


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction != "batchmean" or not isinstance(self, KLDivLoss):
            F._check_reduction(reduction, type(self).__name__)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return ""


class _WeightedLoss(_Loss):
    weight: Tensor | None

    def __init__(self, weight: _Weight | None = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", _as_buffer(weight))


def _as_buffer(value: _Weight | None) -> Tensor | np.ndarray | None:
    if value is None or isinstance(value, (Tensor, np.ndarray)):
        return value
    return ad.tensor(value)


class MSELoss(_Loss):
    """Mean squared error: (input - target)^2, reduced (``nn.functional.mse_loss``)."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error: |input - target|, reduced (``nn.functional.l1_loss``)."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """Quadratic below ``delta``, linear above (``nn.functional.huber_loss``)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class SmoothL1Loss(_Loss):
    """Huber divided by ``beta`` (``nn.functional.smooth_l1_loss``)."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of class indices, for log-probabilities (``nn.functional.nll_loss``)."""

    def __init__(self, weight: _Weight | None = None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy of logits with class indices or probabilities
    (``nn.functional.cross_entropy``)."""

    def __init__(self, weight: _Weight | None = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities (``nn.functional.binary_cross_entropy``)."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Sigmoid + binary cross-entropy, stably (``nn.functional.binary_cross_entropy_with_logits``)."""

    pos_weight: Tensor | None

    def __init__(self, weight: _Weight | None = None, reduction: str = "mean", pos_weight: _Weight | None = None) -> None:
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight", _as_buffer(pos_weight))

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class _OptionsLoss(_Loss):
    """Base of the losses below: the options ``_options`` (PyTorch's defaults ``_defaults``) are
    stored as attributes and passed by name to ``_function`` with the reduction. For type
    checkers each subclass declares its options (PyTorch's signature, keyword-only where PyTorch's
    positional order differs) as an ``__init__`` under ``TYPE_CHECKING``: at run time this one
    takes them."""

    _function: Callable[..., Tensor]
    _options: tuple[str, ...]
    _defaults: tuple[Any, ...]
    _options, _defaults = (), ()

    def __init__(self, *args: Any, reduction: str = "mean", **kwargs: Any) -> None:
        super().__init__(reduction)
        if len(args) > len(self._options) or set(kwargs) - set(self._options):
            raise TypeError(f"{type(self).__name__} takes the options {self._options} and reduction, got "
                            f"{args} {kwargs}")
        values = {**dict(zip(self._options, self._defaults)), **dict(zip(self._options, args)), **kwargs}
        for name in self._options:
            setattr(self, name, values[name])

    def forward(self, *inputs: Tensor) -> Tensor:
        options = {name: getattr(self, name) for name in self._options}
        return type(self)._function(*inputs, reduction=self.reduction, **options)


class KLDivLoss(_OptionsLoss):
    """KL divergence of log-probabilities from a target (``F.kl_div``; reduction may be "batchmean")."""
    _function, _options, _defaults = staticmethod(F.kl_div), ("log_target",), (False,)
    log_target: bool

    if TYPE_CHECKING:
        def __init__(self, *, reduction: str = "mean", log_target: bool = False) -> None: ...


class SoftMarginLoss(_OptionsLoss):
    """log(1 + exp(-y x)) (``F.soft_margin_loss``)."""
    _function = staticmethod(F.soft_margin_loss)

    if TYPE_CHECKING:
        def __init__(self, *, reduction: str = "mean") -> None: ...


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """Per-class logistic loss averaged over classes (``F.multilabel_soft_margin_loss``)."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multilabel_soft_margin_loss(input, target, weight=self.weight, reduction=self.reduction)


class MarginRankingLoss(_OptionsLoss):
    """max(0, -y (x1 - x2) + margin) (``F.margin_ranking_loss``)."""
    _function, _options, _defaults = staticmethod(F.margin_ranking_loss), ("margin",), (0.0,)
    margin: float

    if TYPE_CHECKING:
        def __init__(self, margin: float = 0.0, *, reduction: str = "mean") -> None: ...


class HingeEmbeddingLoss(_OptionsLoss):
    """x where y = 1, max(0, margin - x) where y = -1 (``F.hinge_embedding_loss``)."""
    _function, _options, _defaults = staticmethod(F.hinge_embedding_loss), ("margin",), (1.0,)
    margin: float

    if TYPE_CHECKING:
        def __init__(self, margin: float = 1.0, *, reduction: str = "mean") -> None: ...


class CosineEmbeddingLoss(_OptionsLoss):
    """1 - cos for similar pairs, max(0, cos - margin) for dissimilar (``F.cosine_embedding_loss``)."""
    _function, _options, _defaults = staticmethod(F.cosine_embedding_loss), ("margin",), (0.0,)
    margin: float

    if TYPE_CHECKING:
        def __init__(self, margin: float = 0.0, *, reduction: str = "mean") -> None: ...


class TripletMarginLoss(_OptionsLoss):
    """max(0, d(a, p) - d(a, n) + margin) with p-norm distances (``F.triplet_margin_loss``)."""
    _function, _options = staticmethod(F.triplet_margin_loss), ("margin", "p", "eps", "swap")
    _defaults = (1.0, 2.0, 1e-6, False)
    margin: float
    p: float
    eps: float
    swap: bool

    if TYPE_CHECKING:
        def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False, *,
                     reduction: str = "mean") -> None: ...


class TripletMarginWithDistanceLoss(_Loss):
    """The triplet loss with any distance function; the default is ``nn.PairwiseDistance()``,
    a child module as in PyTorch (``F.triplet_margin_with_distance_loss``)."""

    def __init__(self, *, distance_function: Callable[[Tensor, Tensor], Tensor] | None = None, margin: float = 1.0,
                 swap: bool = False, reduction: str = "mean") -> None:
        super().__init__(reduction)
        from .layers import PairwiseDistance
        self.distance_function = PairwiseDistance() if distance_function is None else distance_function
        self.margin, self.swap = margin, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return F.triplet_margin_with_distance_loss(anchor, positive, negative, distance_function=self.distance_function,
                                                   margin=self.margin, swap=self.swap, reduction=self.reduction)


class PoissonNLLLoss(_OptionsLoss):
    """Poisson negative log-likelihood (``F.poisson_nll_loss``)."""
    _function, _options = staticmethod(F.poisson_nll_loss), ("log_input", "full", "eps")
    _defaults = (True, False, 1e-8)
    log_input: bool
    full: bool
    eps: float

    if TYPE_CHECKING:
        def __init__(self, log_input: bool = True, full: bool = False, *, eps: float = 1e-8, reduction: str = "mean") -> None: ...


class GaussianNLLLoss(_OptionsLoss):
    """Gaussian negative log-likelihood with predicted variances (``F.gaussian_nll_loss``)."""
    _function, _options, _defaults = staticmethod(F.gaussian_nll_loss), ("full", "eps"), (False, 1e-6)
    full: bool
    eps: float

    if TYPE_CHECKING:
        def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None: ...


class MultiMarginLoss(_WeightedLoss):
    """The multi-class hinge loss (``F.multi_margin_loss``)."""

    def __init__(self, p: int = 1, margin: float = 1.0, weight: _Weight | None = None, reduction: str = "mean") -> None:
        super().__init__(weight, reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: p must be 1 or 2, got {p}")
        self.p, self.margin = p, margin

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multi_margin_loss(input, target, p=self.p, margin=self.margin, weight=self.weight,
                                   reduction=self.reduction)
