"""Tensor: a numpy array that remembers how it was made, so gradients can flow back through it."""
from __future__ import annotations

import builtins
import os
import traceback
import weakref
from typing import TYPE_CHECKING, Any, Callable, Iterator, Literal, Sequence, overload

import numpy as np

from .grad_mode import state

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, DTypeLike

    from . import return_types
    from ._typing import Dims, ShapeLike, TensorLike
    from .dtypes import Device
    from .function import Function
    from .random import Generator
    from .linalg import slogdet_result
    from .scans import (cummax_result, cummin_result, kthvalue_result, median_result, mode_result,
                        nanmedian_result, sort_result, topk_result)
    from .statistics import aminmax_result

__all__ = ["Tensor", "tensor", "set_default_dtype", "get_default_dtype"]

_default_dtype: np.dtype = np.dtype(np.float32)


def set_default_dtype(dtype: DTypeLike) -> None:
    """Set the dtype that Python floats become (float32 unless changed; float64 for gradchecks)."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype such as float32 or float64, got {dtype}")
    _default_dtype = dtype


def get_default_dtype() -> np.dtype:
    """The dtype that Python floats become when made into tensors (float32 by default)."""
    return _default_dtype


def _to_array(data: Tensor | ArrayLike, dtype: DTypeLike | None = None, copy: bool = False, op: str = "tensor"
              ) -> np.ndarray:
    """Turn user data (Tensor, array, number, nested list) into an ndarray following PyTorch's
    creation rules: arrays keep their dtype, Python floats take the default dtype, Python ints and
    bools become int64 and bool."""
    if isinstance(data, Tensor):
        array = data.data
        from_python = False
    elif isinstance(data, np.ndarray):
        array = data
        from_python = False
    elif isinstance(data, np.generic):
        array = np.asarray(data)
        from_python = False
    else:
        if data is None:
            raise TypeError(f"{op}: got None; pass a number, a (nested) list of numbers or a numpy array")
        if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in data):
            data = [x.data if isinstance(x, Tensor) else x for x in data]
        try:
            array = np.asarray(data)
        except (ValueError, TypeError) as error:
            raise ValueError(f"{op}: could not make an array of {type(data).__name__} data ({error}); "
                             "nested lists must be rectangular (all rows the same length)") from None
        from_python = True
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{op}: data of dtype {array.dtype} is not numeric; autodiff tensors hold "
                        "floating, integer or bool values (convert strings or objects to numbers first)")
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype.kind not in "fiub":
            raise TypeError(f"{op}: dtype {dtype} is not supported; use a floating, integer or bool dtype")
        array = array.astype(dtype, copy=copy)
    elif from_python and array.dtype.kind == "f":
        array = array.astype(_default_dtype, copy=False)
    elif from_python and array.dtype.kind in "iu":
        array = array.astype(np.int64, copy=False)
    elif copy:
        array = array.copy()
    return array


def _check_can_require_grad(dtype: np.dtype, op: str = "requires_grad") -> None:
    if dtype.kind != "f":
        raise TypeError(f"{op}: only floating-point tensors can require gradients, this one is {dtype}; "
                        "convert it first with .float() or .double()")


class Tensor:
    """An n-dimensional array (``.data``, an ``np.ndarray``) on the autodiff graph.

    Leaves are made by the user (``ad.tensor(..., requires_grad=True)``); every op on tensors that
    require grad returns a non-leaf whose ``grad_fn`` is the node that made it. ``loss.backward()``
    fills ``.grad`` of the leaves.

    Methods: the ops, as in PyTorch (``t.sum(dim)``, ``t.reshape(2, 3)``, ``t @ w``...), each a
    one-line call of the ``ad.`` function below. The ops that come one per node in a chain, the
    operators ``+ - * / % //`` and unary ``-`` and the elementwise ops, are the ``ad.`` functions
    themselves instead (``Tensor.__mul__ is ad.mul``), attached at the end of this module from
    ``ops.OPERATORS`` and ``ops.ELEMENTWISE_METHODS``, since a delegation would add a call to
    every op:
    """

    # "__dict__": a user's own attributes (micrograd's ``a.label = "a"``), as PyTorch's tensors take
    # them; created only when one is set, so a tensor without any pays one empty slot
    __slots__ = ("data", "_grad", "_requires_grad", "grad_fn", "_hooks", "_counter",
                 "__weakref__", "__dict__")
    # ndarray binary ops defer to us (ndarray * tensor -> Tensor.__rmul__ / __array_ufunc__)
    __array_priority__ = 1000

    data: np.ndarray
    _array: np.ndarray      # the same slot as data, without data's checks on assignment (the engine's)
    grad_fn: Function | None
    _grad: Tensor | None
    _requires_grad: bool
    _hooks: list[Callable[[Tensor], Tensor | None]] | None
    _counter: VersionCounter | None

    def __init__(self, data: Tensor | ArrayLike, dtype: DTypeLike | None = None, requires_grad: bool = False) -> None:
        self._requires_grad = False
        self.data = _to_array(data, dtype, op="Tensor")
        self._grad = None
        self.grad_fn = None
        self._hooks = None
        self._counter = None
        if requires_grad:
            self.requires_grad = True

    # ---- graph attributes --------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: object) -> None:
        value = bool(value)
        if value:
            _check_can_require_grad(self.data.dtype)
        elif self.grad_fn is not None:
            raise RuntimeError("requires_grad: only leaf tensors can have requires_grad changed; "
                               "use .detach() to get a tensor that is off the graph")
        self._requires_grad = value

    @property
    def grad(self) -> Tensor | None:
        """The gradient that backward accumulated into this tensor (None until then)."""
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        # checked here, as PyTorch does, so that a wrong .grad fails at the line that set it and
        # not inside a later backward
        if value is not None:
            _check_grad(self, value)
        self._grad = value

    def requires_grad_(self, requires_grad: builtins.bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return self."""
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> builtins.bool:
        """True for tensors made by the user (no grad_fn); only leaves keep ``.grad`` after backward."""
        return self.grad_fn is None

    def backward(self, gradient: TensorLike | None = None, retain_graph: builtins.bool | None = None,
                 create_graph: builtins.bool = False, inputs: Tensor | list[Tensor] | tuple[Tensor, ...] | None = None
                 ) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        ``gradient`` (same shape as self) is required unless self has one element. The graph's saved
        values are freed afterwards unless ``retain_graph`` (default: ``create_graph``).
        """
        if gradient is None and inputs is None and not create_graph and self.grad_fn is not None and (
                self.data.size == 1):
            _engine.backward_of_loss(self, retain_graph)     # loss.backward(), in fewer steps
            return
        _engine.backward((self,), None if gradient is None else (gradient,), retain_graph, create_graph, inputs)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        if self.grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("retain_grad: this tensor does not require grad")
            return
        if not self.retains_grad:
            import weakref
            node = self.grad_fn
            node.retained = weakref.ref(self)
            node.special = True
            node._straight = None    # the engine's shortcut skips what special nodes need

    @property
    def retains_grad(self) -> builtins.bool:
        """True for a non-leaf tensor that called retain_grad() (its node keeps a reference to it)."""
        node = self.grad_fn
        return node is not None and node.retained is not None and node.retained() is self

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> _HookHandle:
        """Call ``hook(grad)`` when the gradient of this tensor is computed; a non-None return
        replaces the gradient. Returns a handle with ``.remove()``."""
        if not self._requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does not require grad")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            node = self.grad_fn
            if node.hooks is None:
                node.hooks = []
                node.special = True
                node._straight = None    # the engine's shortcut skips what special nodes need
            hooks = node.hooks
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    def detach(self) -> Tensor:
        """A tensor sharing this one's data, off the graph (no grad_fn, no requires_grad)."""
        out = _wrap(self.data)
        out._counter = version_counter(self)
        return out

    def detach_(self) -> Tensor:
        """Make this tensor a leaf that does not require grad, in place."""
        self.grad_fn = None
        self._requires_grad = False
        return self

    # ---- array attributes ----------------------------------------------------------------------
    @property
    def shape(self) -> tuple[builtins.int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> builtins.int:
        return self.data.ndim

    def dim(self) -> builtins.int:
        return self.data.ndim

    @property
    def size(self) -> _Size:
        """Number of elements, as numpy's ``.size``; also callable as PyTorch's ``t.size()``
        (the shape) and ``t.size(axis)`` (one dimension)."""
        return _Size(self.data.size, self.data.shape)

    def numel(self) -> builtins.int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def T(self) -> Tensor:
        """Dims reversed (numpy's and PyTorch's ``.T``; a matrix transposed)."""
        if self.data.ndim < 2:
            return self
        return self.transpose()

    @property
    def mT(self) -> Tensor:
        """The last two dims swapped (a batch of transposed matrices); at least 2 dims."""
        if self.data.ndim == 0:
            return self         # PyTorch: the identity (deprecated there)
        if self.data.ndim < 2:
            raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices, got a "
                               f"{self.data.ndim}-D tensor; use .T or .reshape first")
        return self.swapaxes(-1, -2)

    @property
    def H(self) -> Tensor:
        """A matrix's conjugate transpose: for these real tensors, ``.T`` of a 2-d (or 0-d) tensor."""
        if self.data.ndim not in (0, 2):
            batches = "; for batches of matrices use .mH" if self.data.ndim > 2 else ""
            raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors), got a {self.data.ndim}-D "
                               f"tensor{batches}")
        return self.T

    @property
    def mH(self) -> Tensor:
        """The last two dims swapped and conjugated: ``.mT`` for these real tensors."""
        return self.mT

    def adjoint(self) -> Tensor:
        """``.mH``: the conjugate transpose of (a batch of) matrices; ``.mT`` for real tensors."""
        return self.mT

    # sizes and memory, in PyTorch's units (elements, not numpy's bytes, for strides and offsets)
    def nelement(self) -> builtins.int:
        """The number of elements (``numel()``)."""
        return self.data.size

    def ndimension(self) -> builtins.int:
        """The number of dims (``dim()``)."""
        return self.data.ndim

    def element_size(self) -> builtins.int:
        """Bytes per element."""
        return self.data.itemsize

    @property
    def itemsize(self) -> builtins.int:
        """Bytes per element."""
        return self.data.itemsize

    @property
    def nbytes(self) -> builtins.int:
        """Bytes of the elements (numel * itemsize)."""
        return self.data.nbytes

    @overload
    def stride(self, dim: None = None) -> tuple[builtins.int, ...]: ...

    @overload
    def stride(self, dim: builtins.int) -> builtins.int: ...

    @overload
    def stride(self, *, axis: builtins.int) -> builtins.int: ...

    def stride(self, dim: builtins.int | None = None, **aliases: Any) -> tuple[builtins.int, ...] | builtins.int:
        """The steps in elements between neighbours along each dim (or along ``dim``; ``axis=`` accepted)."""
        strides = tuple(step // self.data.itemsize for step in self.data.strides)
        if aliases:
            dim = _ops._one_of(dim, aliases, "stride", "dim")
        if dim is None:
            return strides
        return strides[_dim_index(dim, self.data.ndim, "stride")]

    def storage_offset(self) -> builtins.int:
        """Where this tensor's first element sits in the memory it shares with its base, in elements."""
        root = self.data
        while isinstance(root.base, np.ndarray):
            root = root.base
        return (self.data_ptr() - root.__array_interface__["data"][0]) // self.data.itemsize

    def data_ptr(self) -> builtins.int:
        """The address of the first element."""
        return builtins.int(self.data.__array_interface__["data"][0])

    def t(self) -> Tensor:
        """A matrix transposed (PyTorch's ``t()``): dims 0 and 1 swapped; a 0-d or 1-d tensor as it is."""
        if self.data.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.data.ndim}D; "
                               "use transpose(dim0, dim1) or permute(...)")
        return self.transpose() if self.data.ndim == 2 else self

    def item(self) -> builtins.int | builtins.float | builtins.bool:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted to Python numbers, "
                             f"this one has shape {self.data.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def numpy(self) -> np.ndarray:
        """The data as an ndarray (shared, not copied). Like PyTorch, refuses tensors that require
        grad: call ``.detach().numpy()`` to say you mean to leave the graph."""
        if self._requires_grad:
            raise RuntimeError("numpy: can't call numpy() on a tensor that requires grad; "
                               "use tensor.detach().numpy()")
        return self.data

    def __array__(self, dtype: DTypeLike | None = None, copy: builtins.bool | None = None) -> np.ndarray:
        if self._requires_grad:
            raise TypeError("np.asarray(tensor): the tensor requires grad and converting it would silently "
                            "detach it from the graph; use tensor.detach().numpy(), or an autodiff op")
        if dtype is not None:
            return self.data.astype(dtype, copy=bool(copy))
        return self.data.copy() if copy else self.data

    def __len__(self) -> builtins.int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    # by identity: tensors are dict keys (optimizer state) although == is elementwise
    __hash__ = object.__hash__

    def __bool__(self) -> builtins.bool:
        if self.data.size != 1:
            raise ValueError(f"bool(tensor): the truth value of a tensor with {self.data.size} elements "
                             "is ambiguous; use .any() or .all()")
        return bool(self.data)

    def __float__(self) -> builtins.float:
        return float(self.item())

    def __int__(self) -> builtins.int:
        return int(self.item())

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"``: a 0-d tensor formats as its Python number (PyTorch); any other
        tensor only with an empty spec (its repr)."""
        if self.data.ndim == 0:
            return format(self.data.item(), spec)
        return object.__format__(self, spec)

    def __index__(self) -> builtins.int:
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only one-element integer tensors can be used as an index")
        return int(self.data.item())

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4)
        extras = []
        if self.data.dtype != _default_dtype and self.data.dtype not in (np.int64, np.bool_):
            extras.append(f"dtype={self.data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{type(self.grad_fn).__name__}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    @property
    def _version(self) -> builtins.int:
        """How many times this tensor (or a view of its data) was changed in place."""
        return 0 if self._counter is None else self._counter.version

    # ---- in-place ops: change .data itself, keep the graph honest -----------------------------------
    def _inplace(self, op: str, other: Any, compute: Callable[[Tensor, Any], Tensor]) -> Tensor:
        """Apply ``compute(self_value, other) -> Tensor`` in place. On the graph (grad mode on and
        anything requiring grad) the result takes over this tensor's history; otherwise numpy
        writes into ``.data`` directly. Either way the version counter is bumped."""
        other_requires = isinstance(other, Tensor) and other._requires_grad
        if state.mode.grad_enabled and self._counter is not None:
            _refuse_view_of_leaf(self, op)
        if state.mode.grad_enabled and (self._requires_grad or other_requires):
            if self._requires_grad and self.grad_fn is None:
                raise RuntimeError(
                    f"{op}: a leaf tensor that requires grad cannot be changed in place outside "
                    "ad.no_grad() (its gradient would no longer match its value); do the update "
                    "inside no_grad, as the optimizers do: `with ad.no_grad(): p -= lr * p.grad` "
                    "(or p.data -= lr * p.grad.data), or work on t.clone()")
            snapshot = _wrap(self.data.copy(), self._requires_grad, self.grad_fn)
            result = compute(snapshot, other)
            _check_inplace_result(op, self, result.data)
            np.copyto(self.data, result.data, casting="same_kind")
            retains = self.retains_grad
            previous_node = self.grad_fn
            self.grad_fn = result.grad_fn
            self._requires_grad = result._requires_grad
            if retains:
                # .grad is the gradient of the new value (PyTorch): retain on the new node
                previous_node.retained = None  # type: ignore[union-attr]  # (retains: it has a node)
                previous_node.special = bool(previous_node.hooks)  # type: ignore[union-attr]  # (as above)
                self.retain_grad()
        else:
            value = compute(_wrap(self.data), _data(other)).data
            _check_inplace_result(op, self, value)
            np.copyto(self.data, value, casting="same_kind")
        bump_version(self)
        return self

    def add_(self, other: TensorLike, alpha: builtins.float = 1) -> Tensor:
        """self += alpha * other, in place."""
        return self._inplace("add_", other, lambda a, b: a + (b if alpha == 1 else b * alpha))

    def sub_(self, other: TensorLike, alpha: builtins.float = 1) -> Tensor:
        """self -= alpha * other, in place."""
        return self._inplace("sub_", other, lambda a, b: a - (b if alpha == 1 else b * alpha))

    def mul_(self, other: TensorLike) -> Tensor:
        """self *= other, in place."""
        return self._inplace("mul_", other, lambda a, b: a * b)

    def div_(self, other: TensorLike) -> Tensor:
        """self /= other, in place."""
        return self._inplace("div_", other, lambda a, b: a / b)

    def pow_(self, exponent: TensorLike) -> Tensor:
        """self **= exponent, in place."""
        return self._inplace("pow_", exponent, lambda a, b: a ** b)

    def clip_(self, min: ArrayLike | None = None, max: ArrayLike | None = None) -> Tensor:
        """Clip to [min, max] in place."""
        return self._inplace("clip_", None, lambda a, _: a.clip(min, max))

    clamp_ = clip_

    def fill_(self, value: TensorLike) -> Tensor:
        """Set every element to ``value``, in place (no gradient flows to the old values)."""
        keep = np.zeros(self.data.shape, dtype=bool)
        return self._inplace("fill_", value, lambda a, v: _ops.where(keep, a, v))

    def zero_(self) -> Tensor:
        """Set every element to 0, in place."""
        return self.fill_(0)

    def copy_(self, source: TensorLike) -> Tensor:
        """Copy ``source`` (broadcast to this shape, cast to this dtype) into self, in place; the
        gradient flows to ``source``."""
        keep = np.zeros(self.data.shape, dtype=bool)
        return self._inplace("copy_", source, lambda a, src: _ops.where(keep, a, src))

    # in place, the elementwise ops: self.copy_(op(self)) (on the graph, the gradient flows through op)
    def exp_(self) -> Tensor:
        return self.copy_(_ops.exp(self))

    def log_(self) -> Tensor:
        return self.copy_(_ops.log(self))

    def sqrt_(self) -> Tensor:
        return self.copy_(_ops.sqrt(self))

    def abs_(self) -> Tensor:
        return self.copy_(_ops.abs(self))

    def neg_(self) -> Tensor:
        return self.copy_(_ops.neg(self))

    def square_(self) -> Tensor:
        return self.copy_(_ops.square(self))

    def sigmoid_(self) -> Tensor:
        return self.copy_(_ops.sigmoid(self))

    def tanh_(self) -> Tensor:
        return self.copy_(_ops.tanh(self))

    def relu_(self) -> Tensor:
        return self.copy_(_ops.relu(self))

    def sin_(self) -> Tensor:
        return self.copy_(_ops.sin(self))

    def cos_(self) -> Tensor:
        return self.copy_(_ops.cos(self))

    def floor_(self) -> Tensor:
        return self.copy_(_ops.floor(self))

    def ceil_(self) -> Tensor:
        return self.copy_(_ops.ceil(self))

    def sign_(self) -> Tensor:
        return self.copy_(_ops.sign(self))

    def trunc_(self) -> Tensor:
        return self.copy_(_ops.trunc(self))

    def frac_(self) -> Tensor:
        return self.copy_(_ops.frac(self))

    def reciprocal_(self) -> Tensor:
        return self.copy_(_ops.reciprocal(self))

    def round_(self, decimals: builtins.int = 0) -> Tensor:
        return self.copy_(self.round(decimals))

    def clamp_min_(self, min: TensorLike) -> Tensor:
        return self._inplace("clamp_min_", min, lambda a, bound: a.clamp_min(bound))

    def clamp_max_(self, max: TensorLike) -> Tensor:
        return self._inplace("clamp_max_", max, lambda a, bound: a.clamp_max(bound))

    def lerp_(self, end: TensorLike, weight: TensorLike) -> Tensor:
        return self.copy_(self.lerp(end, weight))

    def addcmul_(self, tensor1: TensorLike, tensor2: TensorLike, *, value: builtins.float = 1) -> Tensor:
        return self.copy_(self.addcmul(tensor1, tensor2, value=value))

    def addcdiv_(self, tensor1: TensorLike, tensor2: TensorLike, *, value: builtins.float = 1) -> Tensor:
        return self.copy_(self.addcdiv(tensor1, tensor2, value=value))

    def fill_diagonal_(self, fill_value: builtins.float, wrap: builtins.bool = False) -> Tensor:
        """Set the main diagonal (of a 2-d tensor, or of one whose dims are all equal) to
        ``fill_value``, in place; ``wrap``: in a tall matrix, start again every ncols + 1 rows."""
        if self.data.ndim < 2 or (self.data.ndim > 2 and len(set(self.data.shape)) != 1):
            raise RuntimeError(f"fill_diagonal_: the tensor must have at least 2 dims, all of equal length unless "
                               f"it has exactly 2; got shape {tuple(self.data.shape)}")
        diagonal = np.zeros(self.data.shape, dtype=bool)
        np.fill_diagonal(diagonal, True, wrap=wrap)
        return self._inplace("fill_diagonal_", _as_scalar(fill_value, self, "fill_diagonal_"),
                             lambda a, value: _ops.where(diagonal, value, a))

    def index_fill_(self, dim: builtins.int, index: TensorLike, value: TensorLike) -> Tensor:
        """Set the slices at ``index`` (int64, 1-d or 0-d; negatives count from the end) along ``dim``
        to ``value`` (a number or a 0-d tensor), in place."""
        chosen = _index_mask(self, dim, index, "index_fill_", negatives=True)
        return self._inplace("index_fill_", _as_scalar(value, self, "index_fill_"),
                             lambda a, fill: _ops.where(chosen, fill, a))

    def index_copy_(self, dim: builtins.int, index: TensorLike, source: TensorLike) -> Tensor:
        """Copy the slices of ``source`` into the slices ``index`` (int64, 1-d) along ``dim``, in
        place: ``self[..., index[i], ...] = source[..., i, ...]``. The gradient flows to ``source``
        (and to self away from ``index``)."""
        from .creation import zeros_like
        from .gathering import index_add
        chosen = _index_mask(self, dim, index, "index_copy_", negatives=False)
        positions = np.asarray(_data(index)).reshape(-1)
        source_dtype = source.data.dtype if isinstance(source, Tensor) else np.asarray(source).dtype
        if source_dtype != self.data.dtype:
            raise RuntimeError(f"index_copy_: self and source must have the same dtype, got {self.data.dtype} and "
                               f"{source_dtype}; convert source with .to({self.data.dtype})")
        if len(np.unique(positions)) != positions.size:
            raise RuntimeError(f"index_copy_: the index {positions.tolist()} repeats a slice, so which source slice "
                               "lands there would be arbitrary (PyTorch's is undefined); pass distinct indices")
        return self._inplace("index_copy_", source, lambda a, src: _ops.where(
            chosen, index_add(zeros_like(a), dim, positions, src), a))

    def put_(self, index: TensorLike, source: TensorLike, accumulate: builtins.bool = False) -> Tensor:
        """Write (or with ``accumulate`` add) ``source``'s values at the flat positions ``index``
        (int64, of any shape; negatives count from the end), treating self as 1-d, in place."""
        from .creation import zeros_like
        from .gathering import index_add
        positions = np.asarray(_data(index))
        if positions.dtype != np.int64:
            raise IndexError(f"put_: expected an int64 index, got {positions.dtype}")
        size = self.data.size
        if positions.size and (positions.max() >= size or positions.min() < -size):
            bad = positions.max() if positions.max() >= size else positions.min()
            raise IndexError(f"put_: out of range: tried to access index {bad} on a tensor of {size} elements")
        positions = (positions % builtins.max(size, 1)).reshape(-1)
        values = source if isinstance(source, Tensor) else Tensor(source, dtype=self.data.dtype)
        if values.data.dtype != self.data.dtype:
            raise TypeError(f"put_: self and source must have the same dtype (as in PyTorch), got {self.data.dtype} "
                            f"and {values.data.dtype}; convert source with .to({self.data.dtype})")
        if values.data.size != positions.size:
            raise RuntimeError(f"put_: index and source need the same number of elements, got {positions.size} "
                               f"and {values.data.size}")
        if not accumulate and len(np.unique(positions)) != positions.size:
            raise RuntimeError(f"put_: the index {positions.tolist()} repeats a position, so which value lands "
                               "there would be arbitrary (PyTorch's is undefined); pass distinct positions or "
                               "accumulate=True")
        chosen = np.zeros(size, dtype=bool)
        chosen[positions] = True

        def put(a: Tensor, src: Tensor) -> Tensor:
            flat = a.reshape(-1)
            placed = index_add(zeros_like(flat), 0, positions, src.reshape(-1).astype(a.dtype))
            return (flat + placed if accumulate else _ops.where(chosen, placed, flat)).reshape(a.shape)
        return self._inplace("put_", values, put)

    # in place, the ops that change the shape: self takes the new shape (on the graph, its history)
    def _reshape_inplace(self, op: str, compute: Callable[[Tensor], Tensor]) -> Tensor:
        if state.mode.grad_enabled and self._counter is not None:
            _refuse_view_of_leaf(self, op)
        if state.mode.grad_enabled and self._requires_grad:
            if self.grad_fn is None:
                raise RuntimeError(f"{op}: a leaf tensor that requires grad cannot be changed in place outside "
                                   "ad.no_grad(); use the out-of-place op instead")
            result = compute(_wrap(self.data, True, self.grad_fn))
            self.grad_fn = result.grad_fn
        else:
            result = compute(_wrap(self.data))
        _set_array(self, result.data)
        bump_version(self)
        return self

    def t_(self) -> Tensor:
        return self._reshape_inplace("t_", lambda a: a.t())

    def transpose_(self, dim0: builtins.int, dim1: builtins.int) -> Tensor:
        return self._reshape_inplace("transpose_", lambda a: a.transpose(dim0, dim1))

    def squeeze_(self, dim: Dims = None, **aliases: Any) -> Tensor:
        return self._reshape_inplace("squeeze_", lambda a: a.squeeze(dim, **aliases))

    def unsqueeze_(self, dim: builtins.int | None = None, **aliases: Any) -> Tensor:
        return self._reshape_inplace("unsqueeze_", lambda a: a.unsqueeze(dim, **aliases))

    def uniform_(self, a: builtins.float = 0.0, b: builtins.float = 1.0, *, generator: Generator | None = None
                 ) -> Tensor:
        """Fill with U(a, b) draws from ``ad.default_generator`` (or ``generator``), in place:
        PyTorch's values for the same seed."""
        from .creation import _drawing
        return self.copy_(_drawing(generator, "uniform_").uniform(a, b, self.data.shape, self.data.dtype))

    def normal_(self, mean: builtins.float = 0.0, std: builtins.float = 1.0, *, generator: Generator | None = None
                ) -> Tensor:
        """Fill with N(mean, std²) draws from ``ad.default_generator`` (or ``generator``), in place."""
        from .creation import _drawing
        return self.copy_(_drawing(generator, "normal_").normal(mean, std, self.data.shape, self.data.dtype))

    def random_(self, *bounds: builtins.int | None, to: builtins.int | None = None,
                generator: Generator | None = None) -> Tensor:
        """Fill with integers, in place: ``random_()`` from 0 to the largest the dtype holds
        exactly, ``random_(to)`` from [0, to), ``random_(from, to)`` from [from, to) (``to=None``:
        up to the dtype's largest)."""
        from .creation import _drawing
        drawing = _drawing(generator, "random_")
        if to is not None:
            bounds = (*bounds, to) if len(bounds) < 2 else bounds + (None,)
        if len(bounds) > 2:
            raise TypeError(f"random_: takes random_(), random_(to) or random_(from, to), got {len(bounds)} bounds")
        dtype = self.data.dtype
        if not bounds:
            return self.copy_(drawing.bits(self.data.shape, dtype))
        low, high = (0, bounds[0]) if len(bounds) == 1 else bounds
        if low is None:
            raise TypeError("random_: 'from' must be an int")
        kind = dtype.kind
        smallest, largest = ((0, 1) if kind == "b" else (int(np.iinfo(dtype).min), int(np.iinfo(dtype).max))
                             if kind in "iu" else (None, 2 ** (np.finfo(dtype).nmant + 1)))
        if high is None:        # random_(from, None): up to the largest value the dtype holds exactly
            high = largest + 1
        name = _TORCH_TYPE_NAMES.get(dtype.name, dtype.name)
        if smallest is not None and not smallest <= int(low) <= largest:
            raise RuntimeError(f"from is out of bounds for {name}")
        if smallest is not None and not smallest <= int(high) - 1 <= largest:
            raise RuntimeError(f"to - 1 is out of bounds for {name}")
        if int(high) <= int(low):
            raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
        return self.copy_(drawing.integers(int(low), int(high), self.data.shape).astype(dtype))

    def exponential_(self, lambd: builtins.float = 1.0, *, generator: Generator | None = None) -> Tensor:
        """Fill with Exp(lambd) samples, in place."""
        from .creation import _drawing
        if not lambd > 0:
            raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
        return self.copy_(_drawing(generator, "exponential_").exponential(lambd, self.data.shape, self.data.dtype))

    def geometric_(self, p: builtins.float, *, generator: Generator | None = None) -> Tensor:
        """Fill with Geometric(p) samples (the number of trials to the first success), in place."""
        from .creation import _drawing
        if not 0 < p < 1:
            raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
        return self.copy_(_drawing(generator, "geometric_").geometric(p, self.data.shape, self.data.dtype))

    def cauchy_(self, median: builtins.float = 0.0, sigma: builtins.float = 1.0, *,
                generator: Generator | None = None) -> Tensor:
        """Fill with Cauchy(median, sigma) samples, in place."""
        from .creation import _drawing
        return self.copy_(_drawing(generator, "cauchy_").cauchy(median, sigma, self.data.shape, self.data.dtype))

    def log_normal_(self, mean: builtins.float = 1.0, std: builtins.float = 2.0, *,
                    generator: Generator | None = None) -> Tensor:
        """Fill with exp(N(mean, std²)) samples, in place."""
        from .creation import _drawing
        if not std > 0:
            raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
        return self.copy_(_drawing(generator, "log_normal_").log_normal(mean, std, self.data.shape, self.data.dtype))

    def bernoulli_(self, p: builtins.float | Tensor = 0.5, *, generator: Generator | None = None) -> Tensor:
        """Fill with 0/1 samples, 1 with probability ``p`` (a float, or a tensor broadcast to
        this one's shape), in place."""
        from .creation import _drawing
        drawing = _drawing(generator, "bernoulli_")
        if isinstance(p, Tensor):
            from .creation import _sampled
            probabilities = np.ascontiguousarray(np.broadcast_to(p.data, self.data.shape))
            return self.copy_(_sampled(drawing.bernoulli(probabilities).astype(self.data.dtype), p))
        if not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
        return self.copy_((drawing.uniform(0.0, 1.0, self.data.shape, np.float64) < p).astype(self.data.dtype))

    def __iadd__(self, other: TensorLike) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: TensorLike) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: TensorLike) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: TensorLike) -> Tensor:
        return self.div_(other)

    # ---- copies and casts ---------------------------------------------------------------------
    def contiguous(self, memory_format: object = None) -> Tensor:
        """The same values in C order: self when its data already is, else a copy on the graph."""
        return self if self.data.flags.c_contiguous else self.clone()

    def clone(self) -> Tensor:
        """A copy of the data that stays on the graph (gradients flow back to self)."""
        return _ops.Clone.apply(self)

    def type_as(self, other: Tensor) -> Tensor:
        """Cast to ``other``'s dtype."""
        return self.astype(other.data.dtype)

    def is_contiguous(self, memory_format: object = None) -> builtins.bool:
        """Whether the data is in C order."""
        return builtins.bool(self.data.flags.c_contiguous)

    # new tensors of this one's dtype (unless ``dtype``), off the graph unless ``requires_grad``
    def new_zeros(self, *size: ShapeLike, dtype: DTypeLike | None = None, requires_grad: builtins.bool = False
                  ) -> Tensor:
        return self._filled(size, 0, dtype, requires_grad, "new_zeros")

    def new_ones(self, *size: ShapeLike, dtype: DTypeLike | None = None, requires_grad: builtins.bool = False
                 ) -> Tensor:
        return self._filled(size, 1, dtype, requires_grad, "new_ones")

    def new_empty(self, *size: ShapeLike, dtype: DTypeLike | None = None, requires_grad: builtins.bool = False
                  ) -> Tensor:
        return self._filled(size, 0, dtype, requires_grad, "new_empty")

    def new_full(self, size: ShapeLike, fill_value: ArrayLike, dtype: DTypeLike | None = None,
                 requires_grad: builtins.bool = False) -> Tensor:
        return self._filled((size,), fill_value, dtype, requires_grad, "new_full")

    def _filled(self, size: tuple[Any, ...], fill_value: ArrayLike, dtype: DTypeLike | None,
                requires_grad: builtins.bool, op: str) -> Tensor:
        from .creation import _shape    # (creation imports this module)
        return Tensor(np.full(_shape(size, op), fill_value, dtype=self.data.dtype if dtype is None else dtype),
                      requires_grad=requires_grad)

    def new_tensor(self, data: ArrayLike, dtype: DTypeLike | None = None, requires_grad: builtins.bool = False
                   ) -> Tensor:
        return Tensor(np.array(_data(data), dtype=self.data.dtype if dtype is None else dtype),
                      requires_grad=requires_grad)

    def astype(self, dtype: DTypeLike) -> Tensor:
        """Cast to ``dtype``; differentiable between floating dtypes (the gradient is cast back)."""
        dtype = np.dtype(dtype)
        if dtype == self.data.dtype:
            return self
        return _ops.Cast.apply(self, dtype)

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """PyTorch's forms: ``to(dtype)``, ``to(device)`` ("cpu": the one device, a no-op),
        ``to(device, dtype)``, ``to(other)`` (its dtype), keywords ``dtype=``, ``device=``,
        ``copy=``. Returns self when nothing changes (unless ``copy=True``)."""
        dtype = _dtypes.parse_to(args, kwargs, "to")
        out = self if dtype is None else self.astype(dtype)
        return out.clone() if kwargs.get("copy") and out is self else out

    def cpu(self) -> Tensor:
        """The one device: returns self (PyTorch code that calls ``.cpu()`` runs unchanged)."""
        return self

    def cuda(self, *args: Any, **kwargs: Any) -> Tensor:  # type: ignore[return]  # (raises: no "cuda" here)
        """No GPU here: raises, saying so."""
        _dtypes.check_device("cuda", "cuda")

    @property
    def device(self) -> Device:
        """The device the data lives on: always the CPU."""
        return _dtypes.CPU

    is_cuda = False

    @overload
    def type(self, dtype: None = None, non_blocking: builtins.bool = False) -> str: ...

    @overload
    def type(self, dtype: DTypeLike, non_blocking: builtins.bool = False) -> Tensor: ...

    def type(self, dtype: DTypeLike | None = None, non_blocking: builtins.bool = False) -> str | Tensor:
        """With a dtype (``ad.float64``, ``"torch.DoubleTensor"``...), cast to it; without, the
        tensor's type name as PyTorch writes it (``'torch.FloatTensor'``)."""
        if dtype is None:
            return _dtypes.type_name(self.data.dtype)
        return self.astype(_dtypes.as_dtype(dtype, "type"))

    def double(self) -> Tensor:
        """Cast to float64."""
        return self.astype(np.float64)

    def float(self) -> Tensor:
        """Cast to float32."""
        return self.astype(np.float32)

    def half(self) -> Tensor:
        """Cast to float16."""
        return self.astype(np.float16)

    def int(self) -> Tensor:
        """Cast to int32 (PyTorch's ``int()``; ``long()`` is int64)."""
        return self.astype(np.int32)

    def long(self) -> Tensor:
        """Cast to int64."""
        return self.astype(np.int64)

    def short(self) -> Tensor:
        """Cast to int16."""
        return self.astype(np.int16)

    def byte(self) -> Tensor:
        """Cast to uint8."""
        return self.astype(np.uint8)

    def bool(self) -> Tensor:
        """Cast to bool."""
        return self.astype(np.bool_)

    # ---- arithmetic: micrograd's one line each (+ - * / and unary -: see the class docstring) ----
    def __radd__(self, other: TensorLike) -> Tensor:     # other + self
        return _ops.add(other, self)

    def __rsub__(self, other: TensorLike) -> Tensor:     # other - self
        return _ops.sub(other, self)

    def __rmul__(self, other: TensorLike) -> Tensor:     # other * self
        return _ops.mul(other, self)

    def __rtruediv__(self, other: TensorLike) -> Tensor:  # other / self
        return _ops.div(other, self)

    def __rmod__(self, other: TensorLike) -> Tensor:     # other % self
        return _ops.remainder(other, self)

    def __rfloordiv__(self, other: TensorLike) -> Tensor:  # other // self
        return _ops.floor_divide(other, self)

    def __pow__(self, other: TensorLike) -> Tensor:      # self ** other
        return _ops.pow(self, other)

    def __rpow__(self, other: TensorLike) -> Tensor:     # other ** self
        return _ops.pow(other, self)

    def __matmul__(self, other: TensorLike) -> Tensor:   # self @ other
        return _ops.matmul(self, other)

    def __rmatmul__(self, other: TensorLike) -> Tensor:  # other @ self
        return _ops.matmul(other, self)

    def __pos__(self) -> Tensor:             # +self
        return self

    def __abs__(self) -> Tensor:             # abs(self)
        return _ops.abs(self)

    # ---- the ops as methods: t.sum() is ad.sum(t) (see autodiff/ops.py for each) -----------------
    def add(self, other: Tensor | np.ndarray | builtins.float, *, alpha: builtins.float = 1) -> Tensor:
        """self + alpha * other."""
        return _ops.add(self, other if alpha == 1 else other * alpha)

    def sub(self, other: Tensor | np.ndarray | builtins.float, *, alpha: builtins.float = 1) -> Tensor:
        """self - alpha * other."""
        return _ops.sub(self, other if alpha == 1 else other * alpha)

    def mul(self, other: TensorLike) -> Tensor:
        """self * other."""
        return _ops.mul(self, other)

    def div(self, other: TensorLike, *, rounding_mode: str | None = None) -> Tensor:
        """self / other (true division; PyTorch's rounding modes are not supported here)."""
        if rounding_mode is not None:
            raise NotImplementedError(f"div: rounding_mode={rounding_mode!r} is not supported; use true division")
        return _ops.div(self, other)

    def pow(self, exponent: TensorLike) -> Tensor:
        """self ** exponent, elementwise."""
        return _ops.pow(self, exponent)

    def maximum(self, other: TensorLike) -> Tensor:
        """Elementwise maximum (a tie splits the gradient)."""
        return _ops.maximum(self, other)

    def minimum(self, other: TensorLike) -> Tensor:
        """Elementwise minimum (a tie splits the gradient)."""
        return _ops.minimum(self, other)

    def clip(self, min: TensorLike | None = None, max: TensorLike | None = None) -> Tensor:
        """Limit the values to [min, max]; the gradient passes at the bounds."""
        return _ops.clip(self, min, max)

    clamp = clip

    def matmul(self, other: TensorLike) -> Tensor:
        """Matrix product (numpy's and PyTorch's matmul rules)."""
        return _ops.matmul(self, other)

    def sum(self, dim: Dims = None, keepdim: builtins.bool = False, **aliases: Any) -> Tensor:
        """Sum over ``dim`` (None: all; int or tuple; ``axis=`` and ``keepdims=`` accepted)."""
        return _ops.sum(self, dim, keepdim, **aliases)

    def mean(self, dim: Dims = None, keepdim: builtins.bool = False, **aliases: Any) -> Tensor:
        """Mean over ``dim``."""
        return _ops.mean(self, dim, keepdim, **aliases)

    @overload
    def max(self) -> Tensor: ...

    @overload
    def max(self, dim: Tensor, /) -> Tensor: ...

    @overload
    def max(self, dim: builtins.int, keepdim: builtins.bool = False, **aliases: Any) -> return_types.max: ...

    @overload
    def max(self, *, other: Tensor) -> Tensor: ...

    @overload
    def max(self, *, axis: builtins.int, keepdims: builtins.bool = False) -> return_types.max: ...

    @overload
    def max(self, dim: builtins.int | Tensor | None = None, keepdim: builtins.bool = False, **aliases: Any
            ) -> Tensor | return_types.max: ...

    def max(self, dim: builtins.int | Tensor | None = None, keepdim: builtins.bool = False,
            **aliases: Any) -> Tensor | return_types.max:
        """The largest value, or ``(values, indices)`` along ``dim``, or ``maximum(self, other)``;
        see ``ad.max``."""
        return _ops.max(self, dim, keepdim, **aliases)

    @overload
    def min(self) -> Tensor: ...

    @overload
    def min(self, dim: Tensor, /) -> Tensor: ...

    @overload
    def min(self, dim: builtins.int, keepdim: builtins.bool = False, **aliases: Any) -> return_types.min: ...

    @overload
    def min(self, *, other: Tensor) -> Tensor: ...

    @overload
    def min(self, *, axis: builtins.int, keepdims: builtins.bool = False) -> return_types.min: ...

    @overload
    def min(self, dim: builtins.int | Tensor | None = None, keepdim: builtins.bool = False, **aliases: Any
            ) -> Tensor | return_types.min: ...

    def min(self, dim: builtins.int | Tensor | None = None, keepdim: builtins.bool = False,
            **aliases: Any) -> Tensor | return_types.min:
        """The smallest value, or ``(values, indices)`` along ``dim``, or ``minimum(self, other)``;
        see ``ad.min``."""
        return _ops.min(self, dim, keepdim, **aliases)

    def amax(self, dim: Dims = None, keepdim: builtins.bool = False, **aliases: Any) -> Tensor:
        """Largest value over ``dim``; tied maxima share the gradient evenly."""
        return _ops.amax(self, dim, keepdim, **aliases)

    def amin(self, dim: Dims = None, keepdim: builtins.bool = False, **aliases: Any) -> Tensor:
        """Smallest value over ``dim``; tied minima share the gradient evenly."""
        return _ops.amin(self, dim, keepdim, **aliases)

    def var(self, dim: Dims | builtins.bool = None, unbiased: builtins.bool | None = None,
            keepdim: builtins.bool = False, **kwargs: Any) -> Tensor:
        """Variance over ``dim``, unbiased by default (``correction=1``); see ``ad.var``."""
        return _ops.var(self, dim, unbiased, keepdim, **kwargs)

    def std(self, dim: Dims | builtins.bool = None, unbiased: builtins.bool | None = None,
            keepdim: builtins.bool = False, **kwargs: Any) -> Tensor:
        """Standard deviation over ``dim``, unbiased by default; see ``ad.std``."""
        return _ops.std(self, dim, unbiased, keepdim, **kwargs)

    def prod(self, dim: Dims = None, keepdim: builtins.bool = False, **aliases: Any) -> Tensor:
        """Product over ``dim``."""
        return _ops.prod(self, dim, keepdim, **aliases)

    def argmax(self, dim: builtins.int | None = None, keepdim: builtins.bool = False, **aliases: Any) -> Tensor:
        """Index of the largest value (int64, no gradient)."""
        return _ops.argmax(self, dim, keepdim, **aliases)

    def argmin(self, dim: builtins.int | None = None, keepdim: builtins.bool = False, **aliases: Any) -> Tensor:
        """Index of the smallest value (int64, no gradient)."""
        return _ops.argmin(self, dim, keepdim, **aliases)

    def logsumexp(self, dim: Dims = None, keepdim: builtins.bool = False, **aliases: Any) -> Tensor:
        """log(sum(exp(self))) over ``dim``, computed stably."""
        return _ops.logsumexp(self, dim, keepdim, **aliases)

    def softmax(self, dim: builtins.int | None = -1, **aliases: Any) -> Tensor:
        """exp(self) / sum(exp(self)) along ``dim``, computed stably."""
        return _ops.softmax(self, dim, **aliases)

    def log_softmax(self, dim: builtins.int | None = -1, **aliases: Any) -> Tensor:
        """self - logsumexp(self) along ``dim``, computed stably."""
        return _ops.log_softmax(self, dim, **aliases)

    def reshape(self, *shape: ShapeLike) -> Tensor:
        """Same data, new shape: ``t.reshape(2, 3)`` or ``t.reshape((2, 3))``; one entry may be -1."""
        return _ops.reshape(self, *shape)

    def view(self, *shape: ShapeLike | DTypeLike) -> Tensor:
        """The same memory seen with a new shape (``t.view(2, 3)``, ``t.view(-1)``), or, given a
        dtype, its bytes read as that dtype (off the graph, as PyTorch's). Raises where the strides
        make that impossible without a copy (``x.t().view(-1)``), as PyTorch: use ``reshape``."""
        if len(shape) == 1 and not isinstance(shape[0], (tuple, list, builtins.int, np.integer)):
            return self._view_dtype(_dtypes.as_dtype(shape[0], "view"))  # type: ignore[arg-type]  # (a dtype)
        target = _ops._shape_arg(shape, "view")
        if builtins.sum(n == -1 for n in target) > 1:
            raise RuntimeError(f"view: only one dimension can be inferred (-1), got shape {list(target)}")
        known = builtins.int(np.prod([n for n in target if n != -1]))
        if any(n < -1 for n in target) or (self.data.size != known if -1 not in target
                                             else known == 0 or self.data.size % known):
            raise RuntimeError(f"view: shape {list(target)} is invalid for input of size {self.data.size} "
                               f"(shape {tuple(self.data.shape)})")
        try:
            np.reshape(self.data, target, copy=False)
        except ValueError:
            raise RuntimeError(f"view size is not compatible with input tensor's size and stride (shape "
                               f"{tuple(self.data.shape)}, strides {self.stride()}; at least one dimension spans "
                               "across two contiguous subspaces). Use .reshape(...) instead.") from None
        return _ops.reshape(self, target)

    def _view_dtype(self, dtype: np.dtype) -> Tensor:
        old, new = self.data.dtype.itemsize, dtype.itemsize
        if old != new:
            where = f"to view {self.data.dtype} as {dtype} (different element sizes)"
            if self.data.ndim == 0:
                raise RuntimeError(f"view: a 0-d tensor cannot be viewed {where}")
            if self.data.shape[-1] and self.data.strides[-1] != old:
                raise RuntimeError(f"view: the last dim's stride must be 1 {where}, but got {self.stride(-1)}")
            if new > old and self.data.shape[-1] % (new // old):
                raise RuntimeError(f"view: the last dim's size must be divisible by {new // old} {where}, but "
                                   f"got {self.data.shape[-1]}")
        return share_version(_wrap(self.data.view(dtype)), self)

    def unfold(self, dimension: builtins.int, size: builtins.int, step: builtins.int) -> Tensor:
        """The windows of ``size`` elements, ``step`` apart, along ``dimension``: that dim becomes
        the window count (n - size) // step + 1 and a last dim of ``size`` is added. (d0, n, d2) ->
        (d0, count, d2, size). A copy (PyTorch's shares memory), differentiable: overlapping
        windows add their gradients."""
        from .indexing import stack
        dim = _dim_index(dimension, self.data.ndim, "unfold")
        length = self.data.shape[dim] if self.data.ndim else 1
        if size > length:
            raise RuntimeError(f"unfold: maximum size for tensor at dimension {dim} is {length} but size is {size}")
        if size < 0 or step <= 0:
            raise RuntimeError(f"unfold: size must be >= 0 and step > 0, got size {size} and step {step}")
        if self.data.ndim == 0:     # PyTorch: the one element as a window, shape (size,)
            return self.reshape(1)[:size]
        count = (length - size) // step + 1
        before = (slice(None),) * dim
        windows = [self[before + (slice(k, k + step * (count - 1) + 1, step),)] for k in range(size)]
        if not windows:     # size 0: empty windows, off the graph (no element to differentiate)
            shape = self.data.shape
            return _wrap(np.empty(shape[:dim] + (count,) + shape[dim + 1:] + (0,), self.data.dtype))
        return stack(windows, self.data.ndim)

    def as_strided(self, size: Sequence[builtins.int], stride: Sequence[builtins.int],
                   storage_offset: builtins.int | None = None) -> Tensor:
        """A view of the memory this tensor shares with its base (from the base's first element):
        shape ``size``, steps ``stride`` (elements), starting at ``storage_offset`` (default: this
        tensor's). Elements may repeat; their gradients add up (first order only)."""
        from .shapes import AsStrided
        size, stride = tuple(size), tuple(stride)
        if len(size) != len(stride):
            raise RuntimeError(f"as_strided: mismatch in length of strides and shape: size {list(size)}, "
                               f"stride {list(stride)}")
        if builtins.any(step < 0 for step in stride) or builtins.any(n < 0 for n in size):
            raise RuntimeError(f"as_strided: negative sizes and strides are not supported, got size {list(size)} "
                               f"and stride {list(stride)}")
        return share_version(AsStrided.apply(self, size, stride, storage_offset), self)

    def view_as(self, other: Tensor) -> Tensor:
        """``self.view(other.shape)``."""
        return self.view(other.data.shape)

    def transpose(self, *dims: builtins.int) -> Tensor:
        """Swap two dims: ``t.transpose(0, 1)`` (PyTorch's); no dims reverses them all (``.T``).
        A full permutation is ``permute``."""
        return _ops.transpose(self, *dims)

    def permute(self, *dims: builtins.int | tuple[builtins.int, ...] | list[builtins.int]) -> Tensor:
        """Permute the dims: ``t.permute(2, 0, 1)`` or ``t.permute((2, 0, 1))``."""
        return _ops.permute(self, *dims)

    def swapaxes(self, axis0: builtins.int, axis1: builtins.int) -> Tensor:
        """Swap two dims (numpy's name for PyTorch's ``transpose(dim0, dim1)``)."""
        return _ops.swapaxes(self, axis0, axis1)

    swapdims = swapaxes

    def squeeze(self, dim: Dims = None, **aliases: Any) -> Tensor:
        """Remove dims of size 1: all of them, or those of ``dim`` that have size 1 (a dim of
        another size stays, as PyTorch)."""
        return _ops.squeeze(self, dim, **aliases)

    def unsqueeze(self, dim: builtins.int | tuple[builtins.int, ...] | list[builtins.int] | None = None,
                  **aliases: Any) -> Tensor:
        """Insert a dim of size 1 at ``dim``."""
        return _ops.unsqueeze(self, dim, **aliases)

    expand_dims = unsqueeze

    def broadcast_to(self, shape: ShapeLike) -> Tensor:
        """Broadcast to ``shape`` (a read-only view); the gradient is summed back."""
        return _ops.broadcast_to(self, shape)

    def flatten(self, start_dim: builtins.int = 0, end_dim: builtins.int = -1) -> Tensor:
        """Merge dims ``start_dim..end_dim`` into one (all of them by default)."""
        return _ops.flatten(self, start_dim, end_dim)

    def __getitem__(self, index: Any) -> Tensor:
        """``t[index]`` with numpy's semantics; differentiable (repeated indices accumulate)."""
        return _indexing.getitem(self, index)

    def __setitem__(self, index: Any, value: TensorLike) -> None:
        """``t[index] = value`` in place; on the graph the gradient flows to ``value`` at ``index``."""
        _indexing.setitem(self, index, value)

    def repeat(self, *sizes: ShapeLike, **numpy_style: Any) -> Tensor:
        """Repeat the whole tensor ``sizes[i]`` times along dim i (PyTorch's ``repeat``, numpy's
        ``tile``): ``t.repeat(2, 1)``. Each element repeated is ``repeat_interleave``."""
        return _indexing.repeat(self, *sizes, **numpy_style)

    def repeat_interleave(self, repeats: TensorLike, dim: builtins.int | None = None, **kwargs: Any) -> Tensor:
        """Repeat each element ``repeats`` times along ``dim`` (flattened when None); numpy's
        ``repeat``."""
        return _indexing.repeat_interleave(self, repeats, dim, **kwargs)

    def tile(self, dims: builtins.int | Sequence[builtins.int]) -> Tensor:
        """Repeat the whole tensor ``dims`` times along each dim (numpy's and PyTorch's ``tile``)."""
        return _indexing.tile(self, dims)

    def split(self, split_size_or_sections: builtins.int | list[builtins.int] | tuple[builtins.int, ...],
              dim: builtins.int = 0) -> tuple[Tensor, ...]:
        """Pieces of ``split_size_or_sections`` elements along ``dim`` (an int: that many each, the
        last smaller; a list: those sizes), as a tuple (PyTorch's ``split``)."""
        return _indexing.split(self, split_size_or_sections, dim)

    def dot(self, other: TensorLike) -> Tensor:
        """The dot product of two 1-D tensors (PyTorch's ``dot``)."""
        return _ops.dot(self, other)

    # comparisons give bool tensors off the graph
    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]  # elementwise, as numpy and PyTorch
        return _wrap(self.data == _data(other))

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]  # elementwise, as numpy and PyTorch
        return _wrap(self.data != _data(other))

    def __lt__(self, other: TensorLike) -> Tensor:
        return _wrap(self.data < _data(other))

    def __le__(self, other: TensorLike) -> Tensor:
        return _wrap(self.data <= _data(other))

    def __gt__(self, other: TensorLike) -> Tensor:
        return _wrap(self.data > _data(other))

    def __ge__(self, other: TensorLike) -> Tensor:
        return _wrap(self.data >= _data(other))

    def __invert__(self) -> Tensor:
        if self.data.dtype != np.bool_:
            raise TypeError(f"~: only bool tensors can be inverted, this one is {self.data.dtype}")
        return _wrap(~self.data)

    def __and__(self, other: TensorLike) -> Tensor:
        return _wrap(self.data & _data(other))

    def __or__(self, other: TensorLike) -> Tensor:
        return _wrap(self.data | _data(other))

    def __xor__(self, other: TensorLike) -> Tensor:
        return _wrap(self.data ^ _data(other))

    def any(self, dim: Dims = None, keepdim: builtins.bool = False, **aliases: Any) -> Tensor:
        """Whether any element (over ``dim``) is non-zero: a bool tensor, off the graph."""
        axes, keepdim = _ops._dims(self, dim, keepdim, aliases, "any", empty_is_all=False)
        return _wrap(np.asarray(self.data.any(axis=axes, keepdims=keepdim)))

    def all(self, dim: Dims = None, keepdim: builtins.bool = False, **aliases: Any) -> Tensor:
        """Whether every element (over ``dim``) is non-zero: a bool tensor, off the graph."""
        axes, keepdim = _ops._dims(self, dim, keepdim, aliases, "all", empty_is_all=False)
        return _wrap(np.asarray(self.data.all(axis=axes, keepdims=keepdim)))

    # ---- numpy interoperability ---------------------------------------------------------------
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return _ops.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Callable[..., Any], types: Any, args: tuple[Any, ...],
                           kwargs: dict[str, Any]) -> Any:
        return _ops.array_function(func, args, kwargs)

    if TYPE_CHECKING:
        # The methods attached after the class, declared for type checkers (at run time this block
        # does not exist; tests/test_typing_declarations.py checks it against what is attached:
        # the same names, and signatures that the attached functions accept).

        # the operators that are the ad. functions themselves (ops.OPERATORS)
        def __add__(self, other: TensorLike, /) -> Tensor: ...
        def __sub__(self, other: TensorLike, /) -> Tensor: ...
        def __mul__(self, other: TensorLike, /) -> Tensor: ...
        def __truediv__(self, other: TensorLike, /) -> Tensor: ...
        def __mod__(self, other: TensorLike, /) -> Tensor: ...
        def __floordiv__(self, other: TensorLike, /) -> Tensor: ...
        def __neg__(self) -> Tensor: ...

        # the elementwise table's ops (ops.ELEMENTWISE_METHODS: ops.ELEMENTWISE, OFF_GRAPH, ALIASES)
        def tanh(self) -> Tensor: ...
        def sigmoid(self) -> Tensor: ...
        def relu(self) -> Tensor: ...
        def floor_divide(self, other: TensorLike, /) -> Tensor: ...
        def neg(self) -> Tensor: ...
        def negative(self) -> Tensor: ...
        def exp(self) -> Tensor: ...
        def log(self) -> Tensor: ...
        def log1p(self) -> Tensor: ...
        def sqrt(self) -> Tensor: ...
        def abs(self) -> Tensor: ...
        def absolute(self) -> Tensor: ...
        def sin(self) -> Tensor: ...
        def cos(self) -> Tensor: ...
        def tan(self) -> Tensor: ...
        def asin(self) -> Tensor: ...
        def arcsin(self) -> Tensor: ...
        def acos(self) -> Tensor: ...
        def arccos(self) -> Tensor: ...
        def atan(self) -> Tensor: ...
        def arctan(self) -> Tensor: ...
        def sinh(self) -> Tensor: ...
        def cosh(self) -> Tensor: ...
        def asinh(self) -> Tensor: ...
        def arcsinh(self) -> Tensor: ...
        def acosh(self) -> Tensor: ...
        def arccosh(self) -> Tensor: ...
        def atanh(self) -> Tensor: ...
        def arctanh(self) -> Tensor: ...
        def log2(self) -> Tensor: ...
        def log10(self) -> Tensor: ...
        def exp2(self) -> Tensor: ...
        def expm1(self) -> Tensor: ...
        def rsqrt(self) -> Tensor: ...
        def reciprocal(self) -> Tensor: ...
        def square(self) -> Tensor: ...
        def sign(self) -> Tensor: ...
        def sgn(self) -> Tensor: ...
        def floor(self) -> Tensor: ...
        def ceil(self) -> Tensor: ...
        def trunc(self) -> Tensor: ...
        def fix(self) -> Tensor: ...
        def frac(self) -> Tensor: ...
        def erf(self) -> Tensor: ...
        def erfc(self) -> Tensor: ...
        def atan2(self, other: TensorLike, /) -> Tensor: ...
        def arctan2(self, other: TensorLike, /) -> Tensor: ...
        def hypot(self, other: TensorLike, /) -> Tensor: ...
        def logaddexp(self, other: TensorLike, /) -> Tensor: ...
        def logaddexp2(self, other: TensorLike, /) -> Tensor: ...
        def xlogy(self, other: TensorLike, /) -> Tensor: ...
        def fmod(self, other: TensorLike, /) -> Tensor: ...
        def remainder(self, other: TensorLike, /) -> Tensor: ...
        # off the graph: bool or integer results
        def eq(self, other: TensorLike, /) -> Tensor: ...
        def ne(self, other: TensorLike, /) -> Tensor: ...
        def not_equal(self, other: TensorLike, /) -> Tensor: ...
        def lt(self, other: TensorLike, /) -> Tensor: ...
        def less(self, other: TensorLike, /) -> Tensor: ...
        def le(self, other: TensorLike, /) -> Tensor: ...
        def less_equal(self, other: TensorLike, /) -> Tensor: ...
        def gt(self, other: TensorLike, /) -> Tensor: ...
        def greater(self, other: TensorLike, /) -> Tensor: ...
        def ge(self, other: TensorLike, /) -> Tensor: ...
        def greater_equal(self, other: TensorLike, /) -> Tensor: ...
        def logical_and(self, other: TensorLike, /) -> Tensor: ...
        def logical_or(self, other: TensorLike, /) -> Tensor: ...
        def logical_xor(self, other: TensorLike, /) -> Tensor: ...
        def logical_not(self) -> Tensor: ...
        def bitwise_and(self, other: TensorLike, /) -> Tensor: ...
        def bitwise_or(self, other: TensorLike, /) -> Tensor: ...
        def bitwise_xor(self, other: TensorLike, /) -> Tensor: ...
        def bitwise_not(self) -> Tensor: ...
        def bitwise_left_shift(self, other: TensorLike, /) -> Tensor: ...
        def bitwise_right_shift(self, other: TensorLike, /) -> Tensor: ...
        def isnan(self) -> Tensor: ...
        def isinf(self) -> Tensor: ...
        def isfinite(self) -> Tensor: ...
        def isposinf(self) -> Tensor: ...
        def isneginf(self) -> Tensor: ...
        def signbit(self) -> Tensor: ...
        def isclose(self, other: TensorLike, /, rtol: builtins.float = 1e-05, atol: builtins.float = 1e-08,
                    equal_nan: builtins.bool = False) -> Tensor: ...

        # the vocabulary's methods (attached in autodiff/__init__.py from the TENSOR_METHODS of
        # pointwise.py, scans.py, gathering.py, shapes.py, contractions.py and creation.py)
        def bernoulli(self, p: builtins.float | None = None, *, generator: Generator | None = None) -> Tensor: ...
        def multinomial(self, num_samples: builtins.int, replacement: builtins.bool = False, *,
                        generator: Generator | None = None) -> Tensor: ...
        def round(self, decimals: builtins.int = 0) -> Tensor: ...
        def lerp(self, end: TensorLike, weight: TensorLike) -> Tensor: ...
        def addcmul(self, tensor1: TensorLike, tensor2: TensorLike, *, value: builtins.float = 1) -> Tensor: ...
        def addcdiv(self, tensor1: TensorLike, tensor2: TensorLike, *, value: builtins.float = 1) -> Tensor: ...
        def clamp_min(self, min: TensorLike) -> Tensor: ...
        def clamp_max(self, max: TensorLike) -> Tensor: ...
        def nan_to_num(self, nan: builtins.float = 0.0, posinf: builtins.float | None = None,
                       neginf: builtins.float | None = None) -> Tensor: ...
        def allclose(self, other: TensorLike, rtol: builtins.float = 1e-05, atol: builtins.float = 1e-08,
                     equal_nan: builtins.bool = False) -> builtins.bool: ...
        def equal(self, other: TensorLike) -> builtins.bool: ...
        def cumsum(self, dim: builtins.int, dtype: DTypeLike | None = None) -> Tensor: ...
        def cumprod(self, dim: builtins.int, dtype: DTypeLike | None = None) -> Tensor: ...
        def cummax(self, dim: builtins.int) -> cummax_result: ...
        def cummin(self, dim: builtins.int) -> cummin_result: ...
        def logcumsumexp(self, dim: builtins.int) -> Tensor: ...
        def sort(self, dim: builtins.int = -1, descending: builtins.bool = False,
                 stable: builtins.bool = False) -> sort_result: ...
        def argsort(self, dim: builtins.int = -1, descending: builtins.bool = False,
                    stable: builtins.bool = False) -> Tensor: ...
        def msort(self) -> Tensor: ...
        def topk(self, k: builtins.int, dim: builtins.int = -1, largest: builtins.bool = True,
                 sorted: builtins.bool = True) -> topk_result: ...
        def kthvalue(self, k: builtins.int, dim: builtins.int = -1,
                     keepdim: builtins.bool = False) -> kthvalue_result: ...
        @overload
        def median(self, dim: None = None, keepdim: builtins.bool = False) -> Tensor: ...
        @overload
        def median(self, dim: builtins.int, keepdim: builtins.bool = False) -> median_result: ...
        def median(self, dim: builtins.int | None = None, keepdim: builtins.bool = False) -> Tensor | median_result: ...
        def gather(self, dim: builtins.int, index: TensorLike, sparse_grad: builtins.bool = False) -> Tensor: ...
        def take_along_dim(self, indices: TensorLike, dim: builtins.int | None = None) -> Tensor: ...
        def index_select(self, dim: builtins.int, index: TensorLike) -> Tensor: ...
        def masked_fill(self, mask: TensorLike, value: TensorLike) -> Tensor: ...
        def masked_fill_(self, mask: TensorLike, value: TensorLike) -> Tensor: ...
        def masked_select(self, mask: TensorLike) -> Tensor: ...
        def scatter(self, dim: builtins.int, index: TensorLike, src: TensorLike | None = None,
                    value: builtins.float | None = None, reduce: str | None = None) -> Tensor: ...
        def scatter_(self, dim: builtins.int, index: TensorLike, src: TensorLike | None = None,
                     value: builtins.float | None = None, reduce: str | None = None) -> Tensor: ...
        def scatter_add(self, dim: builtins.int, index: TensorLike, src: TensorLike) -> Tensor: ...
        def scatter_add_(self, dim: builtins.int, index: TensorLike, src: TensorLike) -> Tensor: ...
        def scatter_reduce(self, dim: builtins.int, index: TensorLike, src: TensorLike, reduce: str,
                           include_self: builtins.bool = True) -> Tensor: ...
        def scatter_reduce_(self, dim: builtins.int, index: TensorLike, src: TensorLike, reduce: str,
                            include_self: builtins.bool = True) -> Tensor: ...
        def index_add(self, dim: builtins.int, index: TensorLike, source: TensorLike,
                      alpha: builtins.float = 1) -> Tensor: ...
        def index_add_(self, dim: builtins.int, index: TensorLike, source: TensorLike,
                       alpha: builtins.float = 1) -> Tensor: ...
        @overload
        def nonzero(self, as_tuple: Literal[False] = False) -> Tensor: ...
        @overload
        def nonzero(self, as_tuple: Literal[True]) -> tuple[Tensor, ...]: ...
        def nonzero(self, as_tuple: builtins.bool = False) -> Tensor | tuple[Tensor, ...]: ...
        def bincount(self, weights: TensorLike | None = None, minlength: builtins.int = 0) -> Tensor: ...
        @overload
        def unique(self, sorted: builtins.bool = True, return_inverse: Literal[False] = False,
                   return_counts: Literal[False] = False, dim: builtins.int | None = None) -> Tensor: ...
        @overload
        def unique(self, sorted: builtins.bool = True, return_inverse: builtins.bool = False,
                   return_counts: builtins.bool = False, dim: builtins.int | None = None
                   ) -> Tensor | tuple[Tensor, ...]: ...
        def unique(self, sorted: builtins.bool = True, return_inverse: builtins.bool = False,
                   return_counts: builtins.bool = False, dim: builtins.int | None = None
                   ) -> Tensor | tuple[Tensor, ...]: ...
        def flip(self, *dims: builtins.int | tuple[builtins.int, ...] | list[builtins.int]) -> Tensor: ...
        def fliplr(self) -> Tensor: ...
        def flipud(self) -> Tensor: ...
        def roll(self, shifts: builtins.int | Sequence[builtins.int],
                 dims: builtins.int | Sequence[builtins.int] | None = None) -> Tensor: ...
        def rot90(self, k: builtins.int = 1, dims: Sequence[builtins.int] = (0, 1)) -> Tensor: ...
        def tril(self, diagonal: builtins.int = 0) -> Tensor: ...
        def triu(self, diagonal: builtins.int = 0) -> Tensor: ...
        def diag(self, diagonal: builtins.int = 0) -> Tensor: ...
        def diagonal(self, offset: builtins.int = 0, dim1: builtins.int = 0, dim2: builtins.int = 1) -> Tensor: ...
        def diag_embed(self, offset: builtins.int = 0, dim1: builtins.int = -2, dim2: builtins.int = -1) -> Tensor: ...
        def trace(self) -> Tensor: ...
        def chunk(self, chunks: builtins.int, dim: builtins.int = 0) -> tuple[Tensor, ...]: ...
        def unbind(self, dim: builtins.int = 0) -> tuple[Tensor, ...]: ...
        def expand(self, *sizes: ShapeLike) -> Tensor: ...
        def expand_as(self, other: TensorLike) -> Tensor: ...
        def unflatten(self, dim: builtins.int, sizes: Sequence[builtins.int]) -> Tensor: ...
        def movedim(self, source: builtins.int | Sequence[builtins.int],
                    destination: builtins.int | Sequence[builtins.int]) -> Tensor: ...
        def moveaxis(self, source: builtins.int | Sequence[builtins.int],
                     destination: builtins.int | Sequence[builtins.int]) -> Tensor: ...
        def narrow(self, dim: builtins.int, start: builtins.int, length: builtins.int) -> Tensor: ...
        def tensor_split(self, indices_or_sections: builtins.int | Sequence[builtins.int] | Tensor,
                         dim: builtins.int = 0) -> tuple[Tensor, ...]: ...
        def outer(self, vec2: TensorLike) -> Tensor: ...
        def ger(self, vec2: TensorLike) -> Tensor: ...
        def inner(self, other: TensorLike) -> Tensor: ...
        def kron(self, other: TensorLike) -> Tensor: ...
        def cross(self, other: TensorLike, dim: builtins.int | None = None) -> Tensor: ...
        def norm(self, p: builtins.float | str | None = "fro", dim: Dims = None, keepdim: builtins.bool = False,
                 dtype: DTypeLike | None = None) -> Tensor: ...
        def det(self) -> Tensor: ...
        def inverse(self) -> Tensor: ...
        def slogdet(self) -> slogdet_result: ...
        def logdet(self) -> Tensor: ...
        def mm(self, mat2: TensorLike) -> Tensor: ...
        def bmm(self, mat2: TensorLike) -> Tensor: ...
        def mv(self, vec: TensorLike) -> Tensor: ...
        def addmm(self, mat1: TensorLike, mat2: TensorLike, *, beta: builtins.float = 1,
                  alpha: builtins.float = 1) -> Tensor: ...
        def addmv(self, mat: TensorLike, vec: TensorLike, *, beta: builtins.float = 1,
                  alpha: builtins.float = 1) -> Tensor: ...
        def addr(self, vec1: TensorLike, vec2: TensorLike, *, beta: builtins.float = 1,
                 alpha: builtins.float = 1) -> Tensor: ...
        def addbmm(self, batch1: TensorLike, batch2: TensorLike, *, beta: builtins.float = 1,
                   alpha: builtins.float = 1) -> Tensor: ...
        def baddbmm(self, batch1: TensorLike, batch2: TensorLike, *, beta: builtins.float = 1,
                    alpha: builtins.float = 1) -> Tensor: ...
        def vdot(self, other: TensorLike) -> Tensor: ...
        def matrix_power(self, n: builtins.int) -> Tensor: ...
        def pinverse(self, rcond: builtins.float = 1e-15) -> Tensor: ...
        def diff(self, n: builtins.int = 1, dim: builtins.int = -1, prepend: TensorLike | None = None,
                 append: TensorLike | None = None) -> Tensor: ...
        def nansum(self, dim: Dims = None, keepdim: builtins.bool = False, *,
                   dtype: DTypeLike | None = None) -> Tensor: ...
        def nanmean(self, dim: Dims = None, keepdim: builtins.bool = False, *,
                    dtype: DTypeLike | None = None) -> Tensor: ...
        def count_nonzero(self, dim: Dims = None) -> Tensor: ...
        def argwhere(self) -> Tensor: ...

        # more of PyTorch's elementwise and special functions (rows of ops.ELEMENTWISE and
        # pointwise.TENSOR_METHODS)
        def deg2rad(self) -> Tensor: ...
        def rad2deg(self) -> Tensor: ...
        def sinc(self) -> Tensor: ...
        def lgamma(self) -> Tensor: ...
        def digamma(self) -> Tensor: ...
        def erfinv(self) -> Tensor: ...
        def i0(self) -> Tensor: ...
        def copysign(self, other: TensorLike, /) -> Tensor: ...
        def nextafter(self, other: TensorLike, /) -> Tensor: ...
        def logit(self, eps: builtins.float | None = None) -> Tensor: ...
        def heaviside(self, values: TensorLike) -> Tensor: ...
        def float_power(self, exponent: TensorLike) -> Tensor: ...
        def true_divide(self, divisor: TensorLike) -> Tensor: ...
        def positive(self) -> Tensor: ...
        def ldexp(self, other: Tensor) -> Tensor: ...
        def polygamma(self, n: builtins.int) -> Tensor: ...
        def mvlgamma(self, p: builtins.int) -> Tensor: ...

        # statistics (autodiff/statistics.py's TENSOR_METHODS)
        def aminmax(self, *, dim: builtins.int | None = None, keepdim: builtins.bool = False,
                    **aliases: Any) -> aminmax_result: ...
        def cov(self, *, correction: builtins.int = 1, fweights: TensorLike | None = None,
                aweights: TensorLike | None = None) -> Tensor: ...
        def corrcoef(self) -> Tensor: ...
        def dist(self, other: TensorLike, p: builtins.float = 2) -> Tensor: ...
        def renorm(self, p: builtins.float, dim: builtins.int, maxnorm: builtins.float) -> Tensor: ...
        def histc(self, bins: builtins.int = 100, min: builtins.float = 0, max: builtins.float = 0) -> Tensor: ...

        # order statistics (scans.py's TENSOR_METHODS)
        @overload
        def nanmedian(self, dim: None = None, keepdim: builtins.bool = False) -> Tensor: ...
        @overload
        def nanmedian(self, dim: builtins.int, keepdim: builtins.bool = False) -> nanmedian_result: ...
        def nanmedian(self, dim: builtins.int | None = None,
                      keepdim: builtins.bool = False) -> Tensor | nanmedian_result: ...
        def quantile(self, q: TensorLike, dim: builtins.int | None = None, keepdim: builtins.bool = False, *,
                     interpolation: str = "linear") -> Tensor: ...
        def nanquantile(self, q: TensorLike, dim: builtins.int | None = None, keepdim: builtins.bool = False, *,
                        interpolation: str = "linear") -> Tensor: ...
        def mode(self, dim: builtins.int = -1, keepdim: builtins.bool = False) -> mode_result: ...

        # questions (autodiff/queries.py's TENSOR_METHODS)
        def is_floating_point(self) -> builtins.bool: ...
        def is_complex(self) -> builtins.bool: ...
        def is_nonzero(self) -> builtins.bool: ...

        # indexing functions (shapes.py's and gathering.py's TENSOR_METHODS)
        def ravel(self) -> Tensor: ...
        def select(self, dim: builtins.int, index: builtins.int) -> Tensor: ...
        def index_fill(self, dim: builtins.int, index: TensorLike, value: TensorLike) -> Tensor: ...
        def index_copy(self, dim: builtins.int, index: TensorLike, source: TensorLike) -> Tensor: ...
        def index_put(self, indices: tuple[TensorLike, ...] | list[TensorLike], values: Tensor,
                      accumulate: builtins.bool = False) -> Tensor: ...
        def masked_scatter(self, mask: TensorLike, source: TensorLike) -> Tensor: ...
        def select_scatter(self, src: TensorLike, dim: builtins.int, index: builtins.int) -> Tensor: ...
        def slice_scatter(self, src: TensorLike, dim: builtins.int = 0, start: builtins.int | None = None,
                          end: builtins.int | None = None, step: builtins.int = 1) -> Tensor: ...
        def diagonal_scatter(self, src: TensorLike, offset: builtins.int = 0, dim1: builtins.int = 0,
                             dim2: builtins.int = 1) -> Tensor: ...


# In-place changes are counted per tensor (views share their base's counter) and in one global
# epoch. A node that saved arrays remembers the epoch it was made in; at backward, a saved tensor
# whose counter was bumped in a later epoch has changed under the node, which is an error.
inplace_epoch: list[int] = [0]


class VersionCounter:
    """How often a tensor's data (shared with its views) was changed in place: ``version``, the
    in-place ``epoch`` of the last change, and the ``writer`` (the user's line, anomaly mode)."""

    __slots__ = ("version", "writer", "epoch", "leaf")

    def __init__(self) -> None:
        self.version = 0
        self.writer: str | None = None
        self.epoch = 0
        # the leaf requiring grad whose memory the views share (weakly held), if any
        self.leaf: weakref.ref[Tensor] | None = None


def version_counter(t: Tensor) -> VersionCounter:
    """The VersionCounter of ``t``, shared with its views (made on first use)."""
    counter = t._counter
    if counter is None:
        counter = t._counter = VersionCounter()
    return counter


def share_version(view: Tensor, base: Tensor) -> Tensor:
    """Make ``view`` (whose data is a view of ``base``'s) count in-place changes with ``base``."""
    counter = view._counter = version_counter(base)
    # (function.py's fast path makes counters without __init__: the slot may be unset)
    if base._requires_grad and base.grad_fn is None and getattr(counter, "leaf", None) is None:
        counter.leaf = weakref.ref(base)
    return view


def _refuse_view_of_leaf(t: Tensor, op: str) -> None:
    """PyTorch's rule: in grad mode, a view of a leaf that requires grad is not changed in place
    (the write would change the leaf behind its gradient's back). Views off the graph (of
    ``leaf.detach()``, or made under no_grad) are let through."""
    counter = t._counter
    reference = getattr(counter, "leaf", None)
    leaf = reference() if reference is not None else None
    if leaf is not None and leaf is not t and t._requires_grad and leaf._requires_grad and leaf.grad_fn is None:
        raise RuntimeError(f"{op}: this tensor is a view of a leaf tensor that requires grad, so changing it in place "
                           "would change the leaf too (as PyTorch, refused); work on a .clone(), or make the change "
                           "inside ad.no_grad()")


def bump_version(t: Tensor, epoch: int | None = None, writer: str | None = None) -> None:
    """Record an in-place change of ``t``'s data, in a new epoch unless ``epoch`` (and the
    ``writer`` that ``new_epoch`` returned with it) is given."""
    if epoch is None:
        epoch, writer = new_epoch()
    counter = t._counter
    if counter is None:
        counter = t._counter = VersionCounter()
    counter.version += 1
    counter.epoch = epoch
    if writer is not None:
        counter.writer = writer


def new_epoch() -> tuple[int, str | None]:
    """Start a new in-place epoch for changes about to be made: returns (epoch, writer), where
    writer is the user's line making them in anomaly mode, else None (see ``bump_version``)."""
    inplace_epoch[0] += 1
    return inplace_epoch[0], (_user_site(traceback.extract_stack()) if state.mode.anomaly else None)


_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PROJECT_PACKAGES = tuple(os.path.join(_ROOT, name) + os.sep for name in ("autodiff", "nn", "optim"))


def _user_site(stack: traceback.StackSummary | list[traceback.FrameSummary]) -> str | None:
    """'file:line in function' of the innermost frame of ``stack`` outside autodiff, nn and optim."""
    for frame in reversed(stack):
        if not frame.filename.startswith(_PROJECT_PACKAGES):
            return f"{frame.filename}:{frame.lineno} in {frame.name}"
    return None


class _Size(int):
    """numpy's ``t.size`` (an int) that PyTorch users can also call: ``t.size()``, ``t.size(0)``."""

    shape: tuple[int, ...]

    def __new__(cls, count: int, shape: tuple[int, ...]) -> _Size:
        size = super().__new__(cls, count)
        size.shape = shape
        return size

    @overload
    def __call__(self, dim: None = None) -> tuple[int, ...]: ...

    @overload
    def __call__(self, dim: int) -> int: ...

    def __call__(self, dim: int | None = None, *, axis: int | None = None) -> tuple[int, ...] | int:
        if axis is not None:        # PyTorch's alias of dim
            if dim is not None:
                raise TypeError("size(): got both dim and axis (axis is PyTorch's alias of dim); pass one of them")
            dim = axis
        return self.shape if dim is None else self.shape[dim]


class _HookHandle:
    __slots__ = ("hooks", "hook")

    def __init__(self, hooks: list[Callable[[Tensor], Tensor | None]], hook: Callable[[Tensor], Tensor | None]) -> None:
        self.hooks = hooks
        self.hook = hook

    def remove(self) -> None:
        if self.hook in self.hooks:
            self.hooks.remove(self.hook)


_new_tensor = object.__new__


def _wrap(data: np.ndarray, requires_grad: bool = False, grad_fn: Function | None = None) -> Tensor:
    """Make a Tensor around an ndarray without checks (the engine's fast path)."""
    out = _new_tensor(Tensor)
    out._array = data
    out._grad = None
    out._requires_grad = requires_grad
    out.grad_fn = grad_fn
    out._hooks = None
    out._counter = None
    return out


def _data(x: object) -> Any:
    return x.data if isinstance(x, Tensor) else x



def _check_grad(tensor: Tensor, value: object) -> None:
    """``tensor.grad = value`` is allowed: value is a Tensor of the tensor's shape and dtype."""
    if not isinstance(value, Tensor):
        hint = ("p.grad = None (or p.grad.zero_()) resets a gradient" if isinstance(value, (int, float))
                else "wrap an array with ad.tensor(array)")
        raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                        f"{type(value).__name__}; {hint}")
    if value.data.shape != tensor.data.shape:
        raise RuntimeError(f"assigned grad has data of a different size: the grad has shape {value.data.shape}, "
                           f"the tensor {tensor.data.shape}; a gradient has its tensor's shape (p.grad = None "
                           "resets it)")
    if value.data.dtype != tensor.data.dtype:
        raise RuntimeError(f"assigned grad has data of a different type: the grad is {value.data.dtype}, the "
                           f"tensor {tensor.data.dtype}; convert it with .to({tensor.data.dtype}) (p.grad = "
                           "None resets it)")


def _as_scalar(value: object, target: Tensor, op: str) -> Any:
    """A fill value: a number (cast to ``target``'s dtype, as PyTorch's fills truncate) or a 0-d tensor."""
    if isinstance(value, Tensor):
        if value.data.ndim:
            raise RuntimeError(f"{op}: the value must be a number or a 0-d tensor, got shape {value.data.shape}")
        return value
    return np.array(value).astype(target.data.dtype)


def _index_mask(target: Tensor, dim: int, index: object, op: str, negatives: bool) -> np.ndarray:
    """A bool array, broadcastable to ``target``, True at the slices ``index`` along ``dim``."""
    positions = np.asarray(_data(index))
    if positions.dtype != np.int64 or positions.ndim > 1:
        raise IndexError(f"{op}: expected a 0-d or 1-d int64 index, got {positions.dtype} of shape {positions.shape}")
    dim = _dim_index(dim, target.data.ndim, op)
    length = target.data.shape[dim] if target.data.ndim else 1
    low = -length if negatives else 0
    for position in positions.reshape(-1):
        if not low <= position < length:
            raise IndexError(f"{op}: index {position} is out of bounds for dimension {dim} with size {length}")
    shape = [1] * target.data.ndim
    if shape:
        shape[dim] = length
    chosen = np.zeros(length, dtype=bool)
    chosen[positions] = True
    return chosen.reshape(shape)


def _dim_index(dim: int, ndim: int, op: str) -> int:
    """``dim`` (negative counts from the end) as an index of a tensor of ``ndim`` dims; an
    IndexError as PyTorch's otherwise."""
    rank = builtins.max(ndim, 1)
    if not -rank <= dim < rank:
        raise IndexError(f"{op}: dimension out of range (expected to be in range of [{-rank}, {rank - 1}], "
                         f"but got {dim})")
    return dim % rank


def _check_inplace_result(op: str, target: Tensor, value: np.ndarray) -> None:
    if value.shape != target.data.shape:
        raise ValueError(f"{op}: the result has shape {value.shape} but the tensor changed in place has "
                         f"shape {target.data.shape}; in-place ops cannot change a tensor's shape")
    if not np.can_cast(value.dtype, target.data.dtype, casting="same_kind"):
        raise TypeError(f"{op}: the result is {value.dtype} but the tensor changed in place is "
                        f"{target.data.dtype}; use an out-of-place op or convert with .astype()")
    if not target.data.flags.writeable:
        raise ValueError(f"{op}: this tensor's data is read-only (a broadcast view); use .clone() first")


def tensor(data: Tensor | ArrayLike, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Make a leaf tensor holding a copy of ``data``.

    numpy arrays keep their dtype; Python floats become the default dtype (float32); Python ints
    and bools become int64 and bool. Only floating tensors can require grad.

    >>> import autodiff as ad
    >>> ad.tensor([1.0, 2.0], requires_grad=True)
    tensor([1., 2.], requires_grad=True)
    >>> ad.tensor([1, 2]).dtype
    dtype('int64')
    """
    array = _to_array(data, dtype, copy=True)
    if requires_grad:
        _check_can_require_grad(array.dtype, "tensor(requires_grad=True)")
    return _wrap(array, bool(requires_grad))


# ``t.data = value`` replaces the data, as PyTorch's does (any shape or dtype); a Tensor gives its
# array, shared. ``data`` is a property over the slot (reads call the slot's own C getter), and the
# slot itself is also reachable as ``_array``: a plain slot, as fast as an attribute gets, that the
# engine's per-op paths read and write (a property costs them ~5% on small ops).
_data_slot = Tensor.__dict__["data"]
_set_array = _data_slot.__set__
setattr(Tensor, "_array", _data_slot)


# PyTorch's C type names, which its bound errors use
_TORCH_TYPE_NAMES = {"uint8": "unsigned char", "int8": "signed char", "int16": "short", "int32": "int", "int64": "long",
                     "bool": "bool", "float32": "float", "float64": "double", "float16": "Half"}


def _set_data(self: Tensor, value: Tensor | np.ndarray) -> None:
    if isinstance(value, Tensor):
        value = value.data
    elif isinstance(value, np.generic):     # arithmetic on a 0-d array gives a numpy scalar
        value = np.asarray(value)
    elif not isinstance(value, np.ndarray):
        raise TypeError(f"data has to be a tensor or an ndarray, but got {type(value).__name__}; "
                        "wrap it first with ad.tensor(value)")
    if value.dtype.kind not in "fiub":
        raise TypeError(f"data: dtype {value.dtype} is not supported; use a floating, integer or bool array")
    if getattr(self, "_requires_grad", False) and value.dtype.kind != "f":   # (unset while made)
        raise RuntimeError(f"data set to a tensor that requires gradients must be floating point, got "
                           f"{value.dtype}; convert it first with .float() or .double()")
    _set_array(self, value)


Tensor.data = property(_data_slot.__get__, _set_data,  # type: ignore[assignment]  # (a slot made a property)
                       doc="The values, an ``np.ndarray``; assigning replaces them (a Tensor gives its array).")

# the ops need Tensor defined first; Tensor's methods call them
from . import ops as _ops  # noqa: E402
from . import dtypes as _dtypes  # noqa: E402
from . import indexing as _indexing  # noqa: E402
from . import engine as _engine  # noqa: E402

for _name, _op in {**_ops.OPERATORS, **_ops.ELEMENTWISE_METHODS}.items():
    setattr(Tensor, _name, _op)
Tensor.__doc__ += (  # type: ignore[operator]  # (it has a docstring)
    "    " + ", ".join(_ops.OPERATORS) + "; " + ", ".join(_ops.ELEMENTWISE_METHODS) + ".\n")
del _name, _op
