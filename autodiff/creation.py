"""Tensor creation: constants, ranges and random tensors from the project's seeded generator."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence, SupportsIndex

import numpy as np

from .compiler import replayed
from .function import Function
from .grad_mode import is_grad_enabled
from .random import Generator, default_generator
from .tensor import Tensor, _check_can_require_grad, _wrap, get_default_dtype

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, DTypeLike

    from ._typing import ShapeLike, TensorLike

__all__ = ["zeros", "ones", "full", "eye", "arange", "linspace", "rand", "randn", "zeros_like",
           "ones_like", "full_like", "rand_like", "randn_like",
           "from_numpy", "empty", "empty_like", "randint", "randperm", "normal", "bernoulli", "multinomial",
           "randint_like", "as_tensor", "is_tensor", "numel", "logspace", "tril_indices", "triu_indices"]


def _drawing(generator: Generator | None, op: str) -> Generator:
    if generator is None:
        return default_generator
    if not isinstance(generator, Generator):
        raise TypeError(f"{op}: generator must be an ad.Generator (e.g. ad.Generator().manual_seed(0)), got "
                        f"{type(generator).__name__}")
    return generator


def _shape(shape: tuple[Any, ...], op: str) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        shape = tuple(int(n) for n in shape)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: a shape is ints, e.g. {op}(2, 3) or {op}((2, 3)); got {shape!r}") from None
    if any(n < 0 for n in shape):
        raise ValueError(f"{op}: negative dimension in shape {shape}")
    return shape


def _make(array: np.ndarray, requires_grad: bool, op: str) -> Tensor:
    if requires_grad:
        _check_can_require_grad(array.dtype, f"{op}(requires_grad=True)")
    return _wrap(array, bool(requires_grad))


def _float_dtype(dtype: DTypeLike | None) -> np.dtype:
    return get_default_dtype() if dtype is None else np.dtype(dtype)


def zeros(*shape: ShapeLike, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``; default dtype float32."""
    return _make(np.zeros(_shape(shape, "zeros"), _float_dtype(dtype)), requires_grad, "zeros")


def ones(*shape: ShapeLike, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``; default dtype float32."""
    return _make(np.ones(_shape(shape, "ones"), _float_dtype(dtype)), requires_grad, "ones")


def empty(*shape: ShapeLike, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor (PyTorch's ``empty(5, 3)``): its values are whatever the memory held,
    so fill it before reading; default dtype float32."""
    return _make(np.empty(_shape(shape, "empty"), _float_dtype(dtype)), requires_grad, "empty")


def _value_dtype(value: object, dtype: DTypeLike | None) -> np.dtype:
    if dtype is not None:
        return np.dtype(dtype)
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(bool)
    if isinstance(value, (int, np.integer)):
        return np.dtype(np.int64)
    return get_default_dtype()


def full(shape: ShapeLike, fill_value: ArrayLike, dtype: DTypeLike | None = None, requires_grad: bool = False
         ) -> Tensor:
    """A tensor filled with ``fill_value`` (dtype from the value as PyTorch: int64, bool or float32)."""
    shape = _shape((shape,) if isinstance(shape, (tuple, list)) else (shape,), "full")
    return _make(np.full(shape, fill_value, _value_dtype(fill_value, dtype)), requires_grad, "full")


def eye(n: int, m: int | None = None, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """The (n, m) identity matrix (m defaults to n)."""
    return _make(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad, "eye")


def arange(start: float = 0, end: float | None = None, step: float = 1, dtype: DTypeLike | None = None,
           requires_grad: bool = False, *, stop: float | None = None) -> Tensor:
    """Evenly spaced values in [start, end): int64 for int arguments, float32 otherwise
    (PyTorch's ``arange(end)``, ``arange(start, end, step)``; numpy's ``stop=`` accepted)."""
    stop = end if stop is None else stop
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, stop, step))
        dtype = np.int64 if ints else get_default_dtype()
    return _make(np.arange(start, stop, step, dtype=dtype), requires_grad, "arange")


def linspace(start: float, end: float, steps: int | None = None, dtype: DTypeLike | None = None,
             requires_grad: bool = False, *, num: int | None = None) -> Tensor:
    """``steps`` evenly spaced values from start to end inclusive (PyTorch's names; numpy's
    ``num=`` accepted)."""
    steps = num if steps is None else steps
    if steps is None:
        raise TypeError("linspace() missing required argument 'steps' (the number of values)")
    return _make(np.linspace(start, end, steps, dtype=_float_dtype(dtype)), requires_grad, "linspace")


def logspace(start: float, end: float, steps: int, base: float = 10.0, dtype: DTypeLike | None = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` values base ** t for t evenly spaced from start to end inclusive (computed in
    float64, then in ``dtype``: the default float dtype unless given)."""
    if steps < 0:
        raise ValueError(f"logspace: number of steps must be non-negative, got {steps}")
    dtype = _float_dtype(dtype) if dtype is None or np.dtype(dtype).kind == "f" else np.dtype(dtype)
    exponents = np.linspace(float(start), float(end), int(steps))
    with np.errstate(over="ignore", invalid="ignore"):
        values = np.power(float(base), exponents)
        values = values.astype(dtype) if dtype.kind == "f" else np.trunc(values).astype(dtype)
    return _make(values, requires_grad, "logspace")


def _triangle_indices(row: int, col: int, offset: int, dtype: DTypeLike | None, upper: bool, op: str) -> Tensor:
    if row < 0 or col < 0:
        raise ValueError(f"{op}: row and col must be non-negative, got {row} and {col}")
    dtype = np.dtype(np.int64 if dtype is None else dtype)
    if dtype.kind not in "iu":
        raise TypeError(f"{op}: dtype must be an integer dtype (as PyTorch's), not {dtype}")
    rows, cols = (np.triu_indices if upper else np.tril_indices)(row, offset, col)
    return _wrap(np.stack([rows, cols]).astype(dtype).reshape(2, -1))


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: DTypeLike | None = None) -> Tensor:
    """The (row, column) indices of the lower triangle of a (row, col) matrix (on and below
    diagonal ``offset``), row by row: a (2, N) int64 tensor."""
    return _triangle_indices(row, col, offset, dtype, False, "tril_indices")


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: DTypeLike | None = None) -> Tensor:
    """The (row, column) indices of the upper triangle of a (row, col) matrix (on and above
    diagonal ``offset``), row by row: a (2, N) int64 tensor."""
    return _triangle_indices(row, col, offset, dtype, True, "triu_indices")


def _sample_dtype(dtype: DTypeLike | None, op: str) -> tuple[np.dtype, type[np.floating]]:
    """The floating dtype to sample in, and the one numpy's generator can draw (float32 or float64:
    float16 samples are drawn as float32 and rounded)."""
    try:
        dtype = _float_dtype(dtype)
    except TypeError:
        raise TypeError(f"{op}: dtype={dtype!r} is not a dtype; use ad.float32 or ad.float64") from None
    if dtype.kind != "f":
        raise TypeError(f"{op}: random samples are floating point, so dtype={dtype} cannot hold them; use a "
                        f"floating dtype (ad.float32, ad.float64, 'float16'), or convert afterwards, e.g. "
                        f"{op}(...).long()")
    return dtype, (np.float64 if dtype == np.float64 else np.float32)


@replayed     # a compiled step draws new samples at every replay
def rand(*shape: ShapeLike, size: ShapeLike | None = None, generator: Generator | None = None,
         dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) from ``ad.default_generator`` (or ``generator``), PyTorch's values
    for the same seed (floating dtypes only)."""
    shape = _size_keyword(shape, size, "rand")
    _require_size(shape, "rand")
    dtype, drawn = _sample_dtype(dtype, "rand")
    samples = _drawing(generator, "rand").uniform(0.0, 1.0, _shape(shape, "rand"), drawn).astype(dtype, copy=False)
    return _make(samples, requires_grad, "rand")


@replayed
def randn(*shape: ShapeLike, size: ShapeLike | None = None, generator: Generator | None = None,
          dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from ``ad.default_generator`` (or ``generator``), PyTorch's values
    for the same seed (float32: within a few ulps; floating dtypes only)."""
    shape = _size_keyword(shape, size, "randn")
    _require_size(shape, "randn")
    dtype = _sample_dtype(dtype, "randn")[0]
    samples = _drawing(generator, "randn").normal(0.0, 1.0, _shape(shape, "randn"), dtype)
    return _make(samples, requires_grad, "randn")


def _size_keyword(shape: tuple[Any, ...], size: Any, op: str) -> tuple[Any, ...]:
    """The size given positionally, or as ``size=`` (PyTorch's keyword), not both."""
    if size is None:
        return shape
    if shape:
        raise TypeError(f"{op}: give the size once, positionally or as size=, not both")
    return (size,)


def _require_size(shape: tuple[Any, ...], op: str) -> None:
    if not shape:       # PyTorch's rand() raises too; a 0-d sample is rand(())
        raise TypeError(f"{op}: the size is missing; pass it, e.g. {op}(2, 3), or {op}(()) for a 0-d tensor")
    sizes = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    if any(isinstance(n, (bool, float)) for n in sizes):
        raise TypeError(f"{op}: a size is ints, got {tuple(sizes)!r}; e.g. {op}(2, 3)")


def _check_integer_range(low: int, high: int, dtype: np.dtype, op: str) -> None:
    """PyTorch refuses a range whose ends an integer (or bool) dtype cannot hold, rather than wrap."""
    if dtype.kind not in "iub":
        return
    lowest, highest = (0, 1) if dtype.kind == "b" else (int(np.iinfo(dtype).min), int(np.iinfo(dtype).max))
    if not lowest <= low <= highest or not lowest <= high - 1 <= highest:
        raise RuntimeError(f"{op}: the range [{low}, {high}) does not fit {dtype} (which holds {lowest} to {highest}); "
                           "narrow the range or choose a wider dtype")


def _like(t: TensorLike) -> tuple[tuple[int, ...], np.dtype]:
    data = t.data if isinstance(t, Tensor) else np.asarray(t)
    return data.shape, data.dtype


def zeros_like(t: TensorLike, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    shape, own = _like(t)
    return _make(np.zeros(shape, own if dtype is None else dtype), requires_grad, "zeros_like")


def ones_like(t: TensorLike, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    shape, own = _like(t)
    return _make(np.ones(shape, own if dtype is None else dtype), requires_grad, "ones_like")


def full_like(t: TensorLike, fill_value: ArrayLike, dtype: DTypeLike | None = None, requires_grad: bool = False
              ) -> Tensor:
    shape, own = _like(t)
    return _make(np.full(shape, fill_value, own if dtype is None else dtype), requires_grad, "full_like")


def empty_like(t: TensorLike, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor of ``t``'s shape and dtype (or ``dtype``)."""
    shape, own = _like(t)
    return _make(np.empty(shape, own if dtype is None else dtype), requires_grad, "empty_like")


@replayed
def randint(low: SupportsIndex | None = None, high: SupportsIndex | tuple[int, ...] | None = None,
            size: ShapeLike | None = None, *, generator: Generator | None = None,
            dtype: DTypeLike | None = None) -> Tensor:
    """Integers drawn uniformly from [low, high), int64 by default, in PyTorch's argument forms:
    ``randint(high, size)`` and ``randint(low, high, size)``; ``size`` is a tuple, as in PyTorch
    (``randint(0, 10, (3,))``), or by keyword (``randint(high=10, size=(3,))``)."""
    if low is None:
        low = 0
    elif high is None and size is not None:      # randint(high, size=...)
        low, high = 0, low
    if size is None:
        if not isinstance(high, (tuple, list)):
            raise TypeError("randint: size is missing; pass it as a tuple, e.g. randint(0, 10, (3,)) or "
                            "randint(10, (3,))")
        low, high, size = 0, low, high
    if not isinstance(size, (tuple, list)) or isinstance(high, (tuple, list)) or high is None:
        raise TypeError(f"randint: size must be a tuple of ints, e.g. randint(0, 10, (3,)), got {size!r}")
    low, high = int(low), int(high)
    if high <= low:
        raise ValueError(f"randint: the range [low, high) = [{low}, {high}) is empty; high must exceed low")
    dtype = np.dtype(np.int64) if dtype is None else np.dtype(dtype)
    _check_integer_range(low, high, dtype, "randint")
    samples = _drawing(generator, "randint").integers(low, high, _shape((size,), "randint"))
    return _make(samples.astype(dtype), False, "randint")


@replayed
def randperm(n: SupportsIndex, *, generator: Generator | None = None, dtype: DTypeLike | None = None,
             requires_grad: bool = False) -> Tensor:
    """A random permutation of 0..n-1 (int64 by default), from ``ad.default_generator`` (or
    ``generator``): PyTorch's for the same seed."""
    dtype = np.dtype(np.int64) if dtype is None else np.dtype(dtype)
    if int(n) < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {int(n)}")
    return _make(_drawing(generator, "randperm").permutation(int(n)).astype(dtype), requires_grad, "randperm")


class Sampled(Function):
    """A sample whose distribution's parameters (tensors) require grad: the sample does too and,
    as in PyTorch (no reparameterisation), their gradients are zero."""

    @staticmethod
    def forward(ctx: Any, sample: np.ndarray, *parameters: np.ndarray) -> np.ndarray:
        ctx.metas = [(parameter.shape, parameter.dtype) for parameter in parameters]
        return sample

    @staticmethod
    def backward(ctx: Any, grad: Any) -> tuple[Any, ...]:
        return (None, *(np.zeros(shape, dtype) for shape, dtype in ctx.metas))


class SampledWithoutDerivative(Sampled):
    """``bernoulli(input, p)`` of an ``input`` that requires grad: the sample does too, and, as in
    PyTorch, a backward through it raises."""

    @staticmethod
    def backward(ctx: Any, grad: Any) -> tuple[Any, ...]:
        raise RuntimeError("bernoulli: the derivative of bernoulli(input, p) is not implemented (as in PyTorch); "
                           "detach the input, or use bernoulli(probabilities) whose gradient is zero")


def _sampled(sample: np.ndarray, *parameters: Any, op: type[Sampled] = Sampled) -> Tensor:
    tensors = [p for p in parameters if isinstance(p, Tensor) and p.requires_grad]
    if tensors and is_grad_enabled():
        return op.apply(sample, *tensors)
    return _wrap(sample, False)


@replayed
def normal(mean: TensorLike | float, std: TensorLike | float = 1.0, size: ShapeLike | None = None, *,
           generator: Generator | None = None, dtype: DTypeLike | None = None) -> Tensor:
    """Samples of N(mean, std²) (PyTorch's forms): ``normal(mean_tensor, std_tensor)`` (broadcast),
    ``normal(mean_tensor, std=1.0)``, ``normal(mean, std_tensor)``, ``normal(mean, std, size)``.
    PyTorch's values for the same seed; tensor parameters that require grad get zero gradients."""
    drawing = _drawing(generator, "normal")
    if not isinstance(mean, Tensor) and not isinstance(std, Tensor):
        if size is None:
            raise TypeError("normal: with a float mean and std, give the size: normal(0.0, 1.0, (2, 3)); or "
                            "pass mean or std as a tensor")
        dtype = _sample_dtype(dtype, "normal")[0]
        _check_std(std)
        sample = drawing.normal(float(mean), float(std), _shape((size,), "normal"), dtype)  # type: ignore[arg-type]
        return _wrap(sample.astype(dtype), False)
    if size is not None:
        raise TypeError("normal: size is only for float mean and std; with a tensor, the sample has its shape")
    mean_array = np.asarray(mean.data if isinstance(mean, Tensor) else mean)
    own = (mean if isinstance(mean, Tensor) else std).data.dtype         # type: ignore[union-attr]
    if own.kind != "f":
        raise TypeError(f"normal: mean and std must be floating point, got {own}; use .float()")
    if isinstance(std, Tensor):
        _check_std(std.data)
        try:
            shape = np.broadcast_shapes(mean_array.shape, std.shape)
        except ValueError:
            raise RuntimeError(f"normal: mean of shape {mean_array.shape} and std of shape {std.shape} do not "
                               "broadcast together") from None
        unit = drawing.normal(0.0, 1.0, shape, own)
        sample = (unit * std.data.astype(own) + mean_array.astype(own)).astype(own)
    else:
        _check_std(std)
        sample = drawing.normal(0.0, float(std), mean_array.shape, own) + mean_array      # type: ignore[arg-type]
    return _sampled(sample, mean, std)


def _check_std(std: Any) -> None:
    if np.any(np.asarray(std) < 0):
        raise RuntimeError(f"normal expects std >= 0.0, but found std {np.min(std)}")


@replayed
def bernoulli(input: TensorLike, p: float | None = None, *, generator: Generator | None = None) -> Tensor:
    """0/1 samples, 1 with probability ``input`` (each element in [0, 1]) or, given, ``p``; in
    ``input``'s dtype. PyTorch's values for the same seed."""
    x = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
    drawing = _drawing(generator, "bernoulli")
    if p is not None:
        if not 0.0 <= p <= 1.0:
            raise RuntimeError(f"bernoulli: p must be in [0, 1], got {p}")
        return _sampled((drawing.uniform(0.0, 1.0, x.shape, np.float64) < p).astype(x.dtype), x,
                        op=SampledWithoutDerivative)
    if x.dtype.kind != "f":
        raise TypeError(f"bernoulli: the probabilities must be floating point, got {x.dtype}")
    if not np.all((x.data >= 0) & (x.data <= 1)):
        raise RuntimeError("bernoulli: every probability must be in [0, 1] (got values outside, or nan)")
    return _sampled(drawing.bernoulli(x.data).astype(x.dtype), x)


@replayed
def multinomial(input: TensorLike, num_samples: SupportsIndex, replacement: bool = False, *,
                generator: Generator | None = None) -> Tensor:
    """Category indices (int64), ``num_samples`` per row of the non-negative weights ``input``
    ((categories,) or (rows, categories)); without ``replacement`` each category at most once.
    PyTorch's values for the same seed."""
    weights = np.asarray(getattr(input, "data", input))
    if weights.ndim not in (1, 2) or weights.dtype.kind != "f":
        raise RuntimeError(f"multinomial: expected a 1-D or 2-D floating tensor of weights, got {weights.dtype} of "
                           f"shape {weights.shape}")
    if weights.shape[-1] == 0:
        raise RuntimeError(f"multinomial: the weights of shape {weights.shape} have no categories to sample from")
    rows = weights.reshape(-1, weights.shape[-1]) if weights.ndim == 2 else weights[None]
    samples = int(num_samples)
    if samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample {samples} <= 0 samples")
    if not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or element < 0")
    if np.any(rows.sum(axis=1) <= 0):
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement:
        if samples > rows.shape[1]:
            raise RuntimeError(f"multinomial: cannot sample n_sample ({samples}) > prob_dist.size(-1) "
                               f"({rows.shape[1]}) samples without replacement")
        if np.any((rows > 0).sum(axis=1) < samples):
            raise RuntimeError("multinomial: invalid multinomial distribution (with replacement=False, not "
                               "enough non-negative category to sample)")
    out = _drawing(generator, "multinomial").multinomial(rows, samples, bool(replacement))
    return _wrap(out if weights.ndim == 2 else out[0], False)


@replayed
def randint_like(input: TensorLike, low: SupportsIndex = 0, high: SupportsIndex | None = None, *,
                 dtype: DTypeLike | None = None, generator: Generator | None = None) -> Tensor:
    """Integers drawn from [low, high) in ``input``'s shape (and dtype, unless given):
    ``randint_like(x, high)`` or ``randint_like(x, low, high)``."""
    if high is None:
        low, high = 0, low
    shape, own = _like(input)
    if int(high) <= int(low):
        raise ValueError(f"randint_like: the range [low, high) = [{int(low)}, {int(high)}) is empty")
    dtype = own if dtype is None else np.dtype(dtype)
    _check_integer_range(int(low), int(high), dtype, "randint_like")
    values = _drawing(generator, "randint_like").integers(int(low), int(high), shape)
    return _wrap(values.astype(dtype), False)


# ad.bernoulli and ad.multinomial as Tensor methods (attached in autodiff/__init__.py)
TENSOR_METHODS = {"bernoulli": bernoulli, "multinomial": multinomial}


@replayed
def rand_like(t: TensorLike, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    shape, own = _like(t)
    return rand(shape, dtype=own if dtype is None else dtype, requires_grad=requires_grad)


@replayed
def randn_like(t: TensorLike, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    shape, own = _like(t)
    return randn(shape, dtype=own if dtype is None else dtype, requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor that shares ``array``'s memory (PyTorch's ``from_numpy``): changes to one show in
    the other, and the dtype is the array's. Raises TypeError for anything but a numeric ndarray."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a np.ndarray, got {type(array).__name__}; use ad.tensor(data) "
                        "to copy other data")
    if array.dtype.kind not in "fiub":
        raise TypeError(f"from_numpy: can't convert an array of dtype {array.dtype}; the supported dtypes are "
                        "floating, integer and bool")
    return _wrap(array)


def as_tensor(data: ArrayLike | Tensor, dtype: DTypeLike | None = None) -> Tensor:
    """``data`` as a tensor, sharing memory where it can (PyTorch's ``as_tensor``): a Tensor of that
    dtype comes back as it is, an ndarray of a supported dtype is shared (``from_numpy``); anything
    else is copied as ``ad.tensor(data, dtype=dtype)`` does."""
    if isinstance(data, Tensor):
        return data if dtype is None or np.dtype(dtype) == data.dtype else data.to(np.dtype(dtype))
    if isinstance(data, np.ndarray) and data.dtype.kind in "fiub" and (dtype is None or np.dtype(dtype) == data.dtype):
        return from_numpy(data)
    return Tensor(data, dtype=dtype)


def is_tensor(obj: object) -> bool:
    """Whether ``obj`` is a Tensor (a Parameter included)."""
    return isinstance(obj, Tensor)


def numel(t: TensorLike) -> int:
    """The number of elements of ``t``."""
    return int(t.data.size) if isinstance(t, Tensor) else int(np.size(t))
