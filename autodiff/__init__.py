"""autodiff: a tiny, fast reverse-mode automatic-differentiation engine on numpy.

>>> import autodiff as ad
>>> x = ad.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> loss = (x * x).sum()
>>> loss.backward()
>>> x.grad
tensor([2., 4., 6.])
"""
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
from .indexing import concatenate, cat, stack, split, pad, repeat, repeat_interleave, tile
from .creation import (
    zeros, ones, full, eye, arange, linspace, rand, randn, zeros_like, ones_like, full_like,
    rand_like, randn_like, manual_seed, default_generator,
)
from .gradcheck import gradcheck, gradgradcheck, GradcheckError
from .viz import draw_graph
from .explainer import explain, animate_backward
from .serialization import save, load

__version__ = "0.1.0"
from . import functional, fused
from .anomaly import detect_anomaly, AnomalyError

# PyTorch's dtype names (numpy dtypes). Kept last: `bool` here is a dtype, as `torch.bool` is.
from .dtypes import float16, float32, float64, int32, int64, bool, half, double, long  # noqa: E402,A001
from .dtypes import device, DtypeError  # noqa: E402
from .creation import from_numpy  # noqa: E402
from . import return_types  # noqa: E402

# The public names (``from autodiff import *``, and what the API tests walk); ``nn`` and ``optim``
# are reached as attributes (see __getattr__).
__all__ = [
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "name_scope", "Tensor", "tensor",
    "set_default_dtype", "get_default_dtype", "Function", "Elementwise", "backward", "grad", "unbroadcast",
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "log1p", "sqrt", "tanh", "sigmoid", "relu",
    "abs", "sin", "cos", "maximum", "minimum", "clip", "clamp", "where", "matmul", "dot", "sum", "mean",
    "max", "min", "amax", "amin", "var", "std", "prod", "argmax", "argmin", "reshape", "transpose",
    "permute", "swapaxes", "swapdims", "squeeze", "unsqueeze", "expand_dims", "broadcast_to", "flatten",
    "logsumexp", "softmax", "log_softmax", "concatenate", "cat", "stack", "split", "pad", "repeat",
    "repeat_interleave", "tile", "zeros", "ones", "full", "eye", "arange", "linspace", "rand", "randn",
    "zeros_like", "ones_like", "full_like", "rand_like", "randn_like", "manual_seed", "default_generator",
    "from_numpy", "gradcheck", "gradgradcheck", "GradcheckError", "draw_graph", "explain",
    "animate_backward", "save", "load", "functional", "fused", "detect_anomaly", "AnomalyError",
    "float16", "float32", "float64", "int32", "int64", "bool", "half", "double", "long", "device",
    "DtypeError", "return_types",
]
from ._siblings import sibling_package as _sibling_package  # noqa: E402


def __getattr__(name):
    """``ad.nn`` and ``ad.optim``: the top-level ``nn`` and ``optim`` packages, imported on first
    use (they import autodiff, so autodiff cannot import them at load). Raises ImportError naming
    the file when the ``nn``/``optim`` Python finds is not this project's (a user's ``nn.py``)."""
    if name in ("nn", "optim"):
        module = _sibling_package(name)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'autodiff' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"nn", "optim"})
