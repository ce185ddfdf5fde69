"""autodiff: a tiny, fast reverse-mode automatic-differentiation engine on numpy.

>>> import autodiff as ad
>>> x = ad.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> loss = (x * x).sum()
>>> loss.backward()
>>> x.grad
tensor([2., 4., 6.])
"""
import types as _types

from .grad_mode import no_grad, enable_grad, set_grad_enabled, is_grad_enabled, name_scope
from .tensor import Tensor, tensor, set_default_dtype, get_default_dtype
from .function import Function, Elementwise
from .engine import backward, grad, unbroadcast
from .ops import (
    add, sub, mul, div, neg, pow, exp, log, log1p, sqrt, tanh, sigmoid, relu, abs, sin, cos, maximum,
    minimum, clip, clamp, where, matmul, dot, sum, mean, max, min, amax, amin, var, std, prod, argmax,
    argmin, reshape, transpose, permute, swapaxes, swapdims, squeeze, unsqueeze, expand_dims,
    broadcast_to, flatten, logsumexp, softmax, log_softmax,
)
from .ops import (  # the elementwise table's rows and aliases (autodiff.ops.ELEMENTWISE)
    tan, asin, acos, atan, sinh, cosh, asinh, acosh, atanh, log2, log10, exp2, expm1, rsqrt, reciprocal,
    square, sign, sgn, floor, ceil, trunc, fix, frac, erf, erfc, atan2, hypot, logaddexp, logaddexp2, xlogy,
    fmod, remainder, floor_divide, eq, ne, lt, le, gt, ge, logical_and, logical_or, logical_xor, logical_not,
    bitwise_and, bitwise_or, bitwise_xor, bitwise_not, bitwise_left_shift, bitwise_right_shift, isnan, isinf,
    isfinite, isposinf, isneginf, signbit, isclose, arcsin, arccos, arctan, arctan2, arcsinh, arccosh, arctanh,
    absolute, negative, greater, greater_equal, less, less_equal, not_equal,
    deg2rad, rad2deg, sinc, lgamma, digamma, erfinv, i0, copysign, nextafter,
)
from .pointwise import round, lerp, nan_to_num, allclose, equal, all, any, clone  # noqa: A004
from .pointwise import addcmul, addcdiv, clamp_min, clamp_max
from .pointwise import (
    logit, heaviside, float_power, true_divide, rsub, positive, ldexp, polygamma, mvlgamma,
)
from .indexing import concatenate, cat, stack, split, pad, repeat, repeat_interleave, tile
from .scans import (
    cumsum, cumprod, cummax, cummin, logcumsumexp, sort, argsort, msort, topk, kthvalue, median, diff, nansum,
    nanmean, count_nonzero, nanmedian, quantile, nanquantile, mode,
)
from .gathering import (
    gather, take_along_dim, index_select, masked_fill, masked_select, scatter, scatter_add, scatter_reduce,
    index_add, nonzero, argwhere, bincount, unique, searchsorted, bucketize, isin, index_fill, index_copy, index_put,
    masked_scatter, select_scatter, slice_scatter, diagonal_scatter,
)
from .shapes import (
    flip, fliplr, flipud, roll, rot90, tril, triu, diag, diagonal, diag_embed, trace, chunk, unbind, expand,
    expand_as, unflatten, movedim, moveaxis, narrow, atleast_1d, atleast_2d, atleast_3d, vstack, row_stack,
    hstack, dstack, column_stack, tensor_split, array_split, meshgrid, broadcast_tensors, broadcast_shapes,
    cartesian_prod, vander, block_diag, ravel, t, as_strided, select,
)
from .contractions import (
    einsum, tensordot, outer, ger, inner, kron, cross, norm, cdist, det, inverse, slogdet, logdet, mm, bmm, mv, addmm,
    addmv, addr, addbmm, baddbmm, vdot, matrix_power, pinverse, chain_matmul,
)
from . import linalg
from .statistics import (
    var_mean, std_mean, aminmax, cov, corrcoef, dist, trapezoid, trapz, cumulative_trapezoid, renorm, histc,
)
from .creation import (
    zeros, ones, full, eye, arange, linspace, rand, randn, zeros_like, ones_like, full_like,
    rand_like, randn_like, normal, bernoulli, multinomial, randint_like,
)
from .random import Generator, manual_seed, seed, initial_seed, default_generator, get_rng_state, set_rng_state
from . import random
from .creation import logspace, tril_indices, triu_indices
from .queries import result_type, promote_types, can_cast, is_floating_point, is_complex, is_nonzero
from .gradcheck import gradcheck, gradgradcheck, GradcheckError
from .viz import draw_graph
from .explainer import explain, animate_backward
from .serialization import save, load
from .compiler import compile, CompileError  # noqa: A001  (ad.compile, as jax.jit / torch.compile)

__version__ = "0.1.0"
from . import functional, fused
from .anomaly import detect_anomaly, AnomalyError

from . import contractions as _contractions, gathering as _gathering, pointwise as _pointwise  # noqa: E402
from . import scans as _scans, shapes as _shapes, statistics as _statistics, queries as _queries  # noqa: E402
from . import creation as _creation  # noqa: E402

# the vocabulary's Tensor methods: t.cumsum(1) is ad.cumsum(t, 1), and so on (help(ad.Tensor) lists them)
_METHODS = {**_pointwise.TENSOR_METHODS, **_scans.TENSOR_METHODS, **_gathering.TENSOR_METHODS,
            **_shapes.TENSOR_METHODS, **_contractions.TENSOR_METHODS, **_statistics.TENSOR_METHODS,
            **_queries.TENSOR_METHODS, **_creation.TENSOR_METHODS}
for _name, _method in _METHODS.items():
    setattr(Tensor, _name, _method)
Tensor.__doc__ += (  # type: ignore[operator]  # (it has a docstring)
    "\n    PyTorch's methods of the vocabulary, the ``ad.`` functions with the tensor first:\n    "
    + ", ".join(_METHODS) + ".\n")
del _name, _method

# PyTorch's dtype names (numpy dtypes). Kept last: `bool` here is a dtype, as `torch.bool` is.
from .dtypes import float16, float32, float64, int32, int64, bool, half, double, long  # noqa: E402,A001
from .dtypes import device, DtypeError  # noqa: E402
from .creation import from_numpy, empty, empty_like, randint, randperm, as_tensor, is_tensor, numel  # noqa: E402
# PyTorch's other dtype names; after every use of the builtins here (``ad.float`` is float32 and
# ``ad.int`` int32, as torch.float and torch.int)
from .dtypes import int8, int16, uint8, short  # noqa: E402
float, int = float32, int32  # noqa: A001
from . import return_types  # noqa: E402

from ._siblings import sibling_package as _sibling_package  # noqa: E402


# the public names (the vocabulary's families are in autodiff/ops.py's table, pointwise.py, scans.py,
# gathering.py, shapes.py, contractions.py and linalg.py)
__all__ = [
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "name_scope", "tensor", "Tensor",
    "set_default_dtype", "get_default_dtype", "Function", "Elementwise", "backward", "grad",
    "unbroadcast", "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "log1p", "sqrt", "tanh",
    "sigmoid", "relu", "abs", "sin", "cos", "maximum", "minimum", "clip", "clamp", "where", "matmul",
    "sum", "mean", "max", "min", "amax", "amin", "var", "std", "prod", "argmax", "argmin", "reshape",
    "transpose", "permute", "swapaxes", "squeeze", "unsqueeze", "expand_dims", "broadcast_to",
    "flatten", "logsumexp", "softmax", "log_softmax", "tan", "asin", "acos", "atan", "sinh", "cosh",
    "asinh", "acosh", "atanh", "log2", "log10", "exp2", "expm1", "rsqrt", "reciprocal", "square",
    "sign", "sgn", "floor", "ceil", "trunc", "fix", "frac", "erf", "erfc", "atan2", "hypot",
    "logaddexp", "logaddexp2", "xlogy", "fmod", "remainder", "floor_divide", "eq", "ne", "lt", "le",
    "gt", "ge", "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and", "bitwise_or",
    "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "isnan", "isinf",
    "isfinite", "isposinf", "isneginf", "signbit", "isclose", "arcsin", "arccos", "arctan", "arctan2",
    "arcsinh", "arccosh", "arctanh", "absolute", "negative", "greater", "greater_equal", "less",
    "less_equal", "not_equal", "round", "lerp", "nan_to_num", "allclose", "equal", "concatenate", "cat",
    "stack", "split", "pad", "repeat", "tile", "cumsum", "cumprod", "cummax", "cummin", "logcumsumexp",
    "sort", "argsort", "msort", "topk", "kthvalue", "median", "gather", "take_along_dim",
    "index_select", "masked_fill", "masked_select", "scatter", "scatter_add", "scatter_reduce",
    "index_add", "nonzero", "bincount", "unique", "flip", "fliplr", "flipud", "roll", "rot90", "tril",
    "triu", "diag", "diagonal", "diag_embed", "trace", "chunk", "unbind", "expand", "expand_as",
    "unflatten", "movedim", "moveaxis", "narrow", "atleast_1d", "atleast_2d", "atleast_3d", "vstack",
    "row_stack", "hstack", "dstack", "column_stack", "tensor_split", "array_split", "meshgrid",
    "broadcast_tensors", "broadcast_shapes", "cartesian_prod", "einsum", "tensordot", "outer", "ger",
    "inner", "kron", "cross", "norm", "cdist", "det", "inverse", "slogdet", "logdet", "zeros", "ones",
    "full", "eye", "arange", "linspace", "rand", "randn", "zeros_like", "ones_like", "full_like",
    "rand_like", "randn_like", "manual_seed", "default_generator", "Generator", "seed", "initial_seed",
    "get_rng_state", "set_rng_state", "random", "normal", "bernoulli", "multinomial", "randint_like", "gradcheck", "gradgradcheck",
    "GradcheckError", "draw_graph", "explain", "animate_backward", "save", "load", "detect_anomaly",
    "AnomalyError", "float16", "float32", "float64", "int32", "int64", "bool", "half", "double", "long",
    "functional", "fused", "linalg", "nn", "optim",
    # issue 16: PyTorch's names that had none here
    "dot", "swapdims", "repeat_interleave", "from_numpy", "device", "DtypeError", "return_types",
    # the new-user sweep: PyTorch's creation names and dtype aliases from the 60-minute blitz
    "empty", "empty_like", "randint", "randperm", "as_tensor", "is_tensor", "numel", "float", "int",
    "int8", "int16", "uint8", "short",
    # PyTorch's names that a newcomer reaches for: matrix products, nan-aware reductions, differences
    "mm", "bmm", "mv", "addmm", "all", "any", "clone", "diff", "nansum", "nanmean", "count_nonzero", "argwhere",
    # the PyTorch-gaps sweep: pointwise and matrix names users hit
    "addcmul", "addcdiv", "clamp_min", "clamp_max", "addmv", "addr", "addbmm", "baddbmm", "vdot", "matrix_power",
    "pinverse", "chain_matmul",
    # more of PyTorch's names: elementwise and special functions
    "logit", "heaviside", "copysign", "deg2rad", "rad2deg", "sinc", "float_power", "true_divide", "rsub",
    "positive", "ldexp", "nextafter", "lgamma", "digamma", "polygamma", "erfinv", "i0", "mvlgamma",
    # statistics (autodiff/statistics.py)
    "var_mean", "std_mean", "aminmax", "cov", "corrcoef", "dist", "trapezoid", "trapz", "cumulative_trapezoid",
    # searches and sets (autodiff/gathering.py)
    "searchsorted", "bucketize", "isin",
    # creation and questions about dtypes and tensors
    "logspace", "tril_indices", "triu_indices", "vander", "block_diag", "result_type", "promote_types", "can_cast",
    "is_floating_point", "is_complex", "is_nonzero",
    # indexing functions (shapes.py, gathering.py)
    "ravel", "t", "as_strided", "select", "index_fill", "index_copy", "index_put", "masked_scatter", "select_scatter",
    "slice_scatter", "diagonal_scatter",
    # order statistics (scans.py)
    "nanmedian", "quantile", "nanquantile", "mode", "renorm", "histc",
]


def __getattr__(name: str) -> _types.ModuleType:
    """``ad.nn`` and ``ad.optim``: the top-level ``nn`` and ``optim`` packages, imported on first
    use (they import autodiff, so autodiff cannot import them at load). Raises ImportError naming
    the file when the ``nn``/``optim`` Python finds is not this project's (a user's ``nn.py``)."""
    if name in ("nn", "optim"):
        module = _sibling_package(name)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'autodiff' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"nn", "optim"})
