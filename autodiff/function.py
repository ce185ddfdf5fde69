"""Function: one differentiable op, forward and backward side by side. Also a graph node.

Every built-in op and every user op is a subclass::

    class Square(ad.Function):
        @staticmethod
        def forward(ctx, x):            # x: np.ndarray
            ctx.save_for_backward(x)
            return x * x
        @staticmethod
        def backward(ctx, grad):        # grad: np.ndarray (a Tensor under create_graph=True)
            (x,) = ctx.saved_tensors
            return 2 * x * grad         # one gradient per forward input, None where none

    y = Square.apply(t)

``forward`` receives the inputs' arrays (other arguments as given) and returns an array;
``ctx.save_for_backward(*arrays)`` keeps what the backward needs, as ``ctx.saved_tensors``
(the built-in ops on hot paths assign ``ctx.saved_tensors = (...)`` directly: a call less);
``ctx.needs_input_grad`` (one bool per input) is already set, so it can save only what the
backward will use (as ``Mul`` does: PyTorch's rule, which also lets an unsaved input change in
place before the backward). ``backward`` receives the gradient of the output and returns one
gradient per input. Write it with operations that both ndarrays and Tensors understand
(arithmetic, ``np`` ufuncs, ``.sum(axis=)``, ``.reshape``, ``swapaxes``...): it then runs on raw
arrays in an ordinary backward, and on Tensors, building a graph, under ``create_graph=True``
(higher-order gradients). Gradients of broadcast inputs are summed back to the input's shape by
the engine, in one place (``engine._fit``).

Recording a node
----------------
``Function.apply`` is the specification: unpack the arguments, run ``forward``, and when grad
mode is on and an input requires grad, ``_record`` the node. The faster entries of the built-in
ops (``unary_op``: ``ad.exp``; ``binary_op``: ``x * y`` and ``x * 2.0``; ``ternary_op``:
``ad.fused.linear``) are adapters of their arguments only: they call ``forward`` and end in the
same ``_record``. So a node is the same object, with the same checks later, whichever way it was
made.

The node (the instance ``apply`` makes, which is also forward's ``ctx``) holds, in slots:

==================  ==========================================================================
``_edges``          per input: the input's node, the input tensor itself (a leaf that requires
                    grad), or None. None when input 0 is the only input on the graph: it is then
                    ``_edge0`` (one tuple less per node; ``next_functions`` builds it on demand)
``input_meta``      per input: ``(shape, dtype)``; ``_SAME`` for an elementwise op's input of the
                    output's shape and dtype (its gradient needs no fitting); None (no gradient)
``needs_input_grad`` per input: does it need a gradient
``saved_tensors``   what ``save_for_backward`` kept (None once backward freed it)
``saved_sources``   per saved array: its input tensor, ``_OUTPUT``, or None (a constant)
``epoch``           the in-place epoch when the node saved an input or the output; the engine
                    checks their versions only if an in-place op came later (``_UNCHECKED``:
                    nothing to check; ``engine._FREED``: freed by a backward)
``uses``            how many recorded nodes consume this node's output (counted as they are made)
``_straight``       input 0's node when it is the only input on the graph and elementwise
                    (``_SAME``): the plain walk goes straight on to it; None otherwise
``output_version``  the output's version counter, when the output itself was saved
``scope``           the ``ad.name_scope`` (module path) the node was made in, or None
==================  ==========================================================================

A class's promise, ``Elementwise``: forward's output has the broadcast shape of its array
operands and their result dtype, and backward returns, for each input, a gradient of the output's
shape and dtype. The engine then skips fitting those gradients, and checks the promise whichever
way the op was called (``engine._input_gradient`` and ``engine._end_run``).

The engine's names above (and ``hooks``, ``retained``, ``special``, ``trace``) are reserved on
``ctx``; ``forward`` may set any other attribute for its backward, as in PyTorch.
"""
from __future__ import annotations

import gc
import threading
import traceback
import types
import weakref
from typing import TYPE_CHECKING, Any, Callable, Protocol

import numpy as np

from . import promotion as _promotion
from .grad_mode import state
from .tensor import Tensor, VersionCounter, _user_site, _wrap, inplace_epoch

if TYPE_CHECKING:
    from ._typing import TensorLike

    class _TernaryOp(Protocol):
        """What ``ternary_op`` returns: ``op(a, b, c=None)``."""

        def __call__(self, a: TensorLike, b: TensorLike, c: TensorLike | None = None, /) -> Tensor: ...

__all__ = ["Function", "Elementwise"]

_OUTPUT = object()      # marks a saved array that is the op's own output
_SAME = "same as the output"    # input_meta entry: the input has the output's shape and dtype
_SAME_ONLY, _SAME_NONE, _NONE_SAME = (_SAME,), (_SAME, None), (None, _SAME)
_ONE, _FIRST, _SECOND, _BOTH, _NEITHER = (True,), (True, False), (False, True), (True, True), (False, False)
_NONE = (False,)
_FIRST3 = (True, False, False)
_OUTPUT_ONLY = (_OUTPUT,)
_UNCHECKED = 1 << 62    # a node's epoch when it saved no input or output: later than any in-place op
_new = object.__new__
_new_tensor = Tensor.__new__


class Function:
    """Base class of differentiable ops. Subclass it, define static ``forward(ctx, *inputs)`` and
    ``backward(ctx, grad_output)``, and call ``YourOp.apply(*inputs)``."""

    __slots__ = ("_edges", "_edge0", "input_meta", "needs_input_grad", "saved_tensors",
                 "saved_sources", "epoch", "uses", "_straight", "output_version", "scope",
                 "__dict__", "__weakref__")
    # the slots (see the module's docstring); an input_meta entry is (shape, dtype), _SAME or None
    _edges: tuple[Function | Tensor | None, ...] | None
    _edge0: Function | Tensor | None
    input_meta: tuple[Any, ...]
    needs_input_grad: tuple[bool, ...]
    saved_tensors: Any      # a tuple of what forward saved (Tensors under create_graph), None once freed
    saved_sources: tuple[Any, ...] | None
    epoch: int
    uses: int
    _straight: Function | None
    output_version: VersionCounter | None
    scope: str | None
    # rare attributes, in the instance __dict__ when set, with these class defaults:
    hooks: list[Callable[[Tensor], Tensor | None]] | None = None   # gradient hooks registered on the output tensor
    special = False         # hooks or retained is set: the engine looks at them only then
    retained: weakref.ref[Tensor] | None = None     # weakref to the output tensor when it called retain_grad()
    trace: list[traceback.FrameSummary] | None = None   # creation stack, recorded in traced modes only
    # promises a class may make (the engine relies on them; a subclass with a backward of its
    # own does not inherit fresh_grads):
    same_shape = False      # elementwise (see Elementwise)
    fresh_grads = False     # backward returns, per input, a new array (or a view of one) that
                            # nothing else holds: not the incoming gradient, a view of it, another
                            # input's gradient or a saved array. A leaf then keeps it as its .grad
                            # without a copy
    anomaly_hint = ""       # what ad.detect_anomaly adds when this op makes a non-finite gradient
    display_name: str | None = None     # the name pictures and messages use, when not the class's
    if TYPE_CHECKING:
        # each class's own copy of the module's _record (see __init_subclass__)
        _record: Callable[..., Tensor]
        # set only in the mode that records them (gradcheck's localization): (args, kwargs)
        recorded_inputs: tuple[tuple[Any, ...], dict[str, Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # forward/backward are called as plain functions with ctx first, static or not
        for name in ("forward", "backward"):
            method = cls.__dict__.get(name)
            if method is not None and not isinstance(method, staticmethod):
                if isinstance(method, classmethod):
                    raise TypeError(f"{cls.__name__}.{name} must be a staticmethod taking ctx first")
                setattr(cls, name, staticmethod(method))
        if "backward" in cls.__dict__ and "fresh_grads" not in cls.__dict__:
            cls.fresh_grads = False
        # Each class gets code objects of its own for apply and _record: CPython specialises each
        # instruction for the types it meets, per code object, and a node's attribute accesses
        # would otherwise meet every op class in turn and stay unspecialised (a third slower).
        # (mypy sees apply as a bound method, not the classmethod object it reads and replaces)
        if "apply" not in cls.__dict__ and getattr(
                cls.apply.__func__, "generic_apply", False):  # type: ignore[attr-defined]
            cls.apply = classmethod(  # type: ignore[method-assign,assignment]
                _copy(Function.__dict__["apply"].__func__, cls))
            cls.apply.__func__.generic_apply = True  # type: ignore[attr-defined]
        cls._record = staticmethod(_copy(_record, cls, (None, cls.same_shape)))

    def __init__(self) -> None:
        self._edges = self.input_meta = self.needs_input_grad = self.saved_tensors = ()
        self._edge0 = self.saved_sources = self._straight = self.output_version = self.scope = None
        self.epoch = _UNCHECKED
        self.uses = 0

    @staticmethod
    def forward(ctx: Any, *inputs: Any) -> Any:
        raise NotImplementedError("a Function subclass must define forward(ctx, *inputs)")

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        raise NotImplementedError("a Function subclass must define backward(ctx, grad_output)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Tensor:
        """Run forward on the arrays of ``args`` and, when grad mode is on and an input requires
        grad, record the node for backward. Returns a Tensor."""
        ctx = _new(cls)
        ctx.saved_tensors = ()
        ctx.scope = None     # before forward, which may set a scope of its own (kept outside ad.name_scope)
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        needs = tuple([isinstance(a, Tensor) and a._requires_grad for a in args])
        ctx.needs_input_grad = needs = _CANONICAL.get(needs, needs)
        try:
            out = cls.forward(ctx, *arrays, **kwargs) if kwargs else cls.forward(ctx, *arrays)
        except (ValueError, TypeError) as error:
            raise _explain(cls, arrays, error) from None
        if type(out) is not np.ndarray:
            out = _as_output_array(out, cls, ctx)
        if _observer is not None:       # ad.compile is recording (see _observer)
            return _observer(cls, ctx, arrays, kwargs,
                             _wrap(out) if True not in needs else cls._record(ctx, out, args))
        if True not in needs:
            return _wrap(out)
        output = cls._record(ctx, out, args)
        if kwargs and output.grad_fn is ctx and state.mode.record_inputs:
            ctx.recorded_inputs = (args, kwargs)
        return output

    @property
    def input_nodes(self) -> tuple[Function | Tensor | None, ...]:
        """Per input: the input's node, the input itself (a leaf that requires grad), or None
        (what the engine walks)."""
        edges = self._edges
        if edges is None:
            edges = (self._edge0,) + (None,) * (len(self.input_meta) - 1)
        return edges

    @property
    def next_functions(self) -> tuple[tuple[Function | AccumulateGrad | None, int], ...]:
        """PyTorch's view of the edges: per input a pair (node, 0), a leaf that requires grad as
        ``(AccumulateGrad, 0)`` whose ``.variable`` is the leaf, ``(None, 0)`` for an input off the
        graph (``loss.grad_fn.next_functions[0][0]``, as in PyTorch's tutorial)."""
        return tuple((AccumulateGrad(edge) if edge is not None and not isinstance(edge, Function) else edge, 0)
                     for edge in self.input_nodes)

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep arrays (inputs, the output, or anything else) for backward, as ``saved_tensors``."""
        self.saved_tensors = arrays

    # In an ordinary backward ``saved_tensors`` is the saved arrays (a plain attribute: no cost);
    # under create_graph=True the engine swaps in ``unpack_saved()`` for the call.

    @property
    def saved(self) -> Any:
        """What ``save_for_backward`` kept: the arrays (None once a backward freed them)."""
        return self.saved_tensors

    def unpack_saved(self) -> tuple[Any, ...]:
        """The saved values as Tensors on the graph: inputs as the input tensors, the output as a
        tensor whose grad_fn is this node, anything else as a constant."""
        saved = self.saved_tensors
        sources = self.saved_sources or (None,) * len(saved)
        tensors = []
        for array, source in zip(saved, sources):
            if source is _OUTPUT:
                tensors.append(_wrap(array, True, self))
            elif source is not None:
                tensors.append(source)
            else:
                tensors.append(_wrap(array) if isinstance(array, np.ndarray) else array)
        return tuple(tensors)

    @property
    def freed(self) -> bool:
        """True once a backward without retain_graph has released this node's saved values."""
        return self.saved_tensors is None

    def __repr__(self) -> str:
        return f"<{self.name}>"

    def creation_site(self) -> str | None:
        """'file:line in function' of the user's code that made this node (traced modes only)."""
        return _user_site(self.trace) if self.trace else None

    @property
    def name(self) -> str:
        """The op's name in pictures and messages (``x * x`` records a MulSelf node named Mul)."""
        return self.display_name or type(self).__name__


# subclasses get their own copy (__init_subclass__); (mypy: as above)
Function.apply.__func__.generic_apply = True  # type: ignore[attr-defined]


# apply's needs_input_grad, as the tuples above where it is one of them (_record tells them by identity)
_CANONICAL: dict[tuple[bool, ...], tuple[bool, ...]] = {
    t: t for t in (_ONE, _NONE, _FIRST, _SECOND, _BOTH, _NEITHER, _FIRST3)}


# ---------------------------------------------------------------------------------------------
# the one recording path

def _record(ctx: Function, out: np.ndarray, inputs: tuple[Any, ...], input_meta: tuple[Any, ...] | None = None,
            elementwise: bool = False) -> Tensor:
    """Record ``ctx`` as the node that made ``out`` from ``inputs``; returns the output Tensor.

    ``inputs`` are forward's operands as given (tensors, arrays, numbers), and
    ``ctx.needs_input_grad`` says which of them are on the graph (at least one). ``input_meta``
    may be given by an adapter that knows it (an elementwise op next to a number); otherwise it
    is computed. Each class runs its own copy (``Function.__init_subclass__``), in which
    ``elementwise`` defaults to the class's ``same_shape``.

    Recording: link each input on the graph (its node counts one more consumer), note where the
    saved arrays came from (for the in-place checks at backward), tag the name scope, and wrap
    the output. Nothing is recorded when grad mode is off, or for an integer output.
    """
    plain = state.plain
    if not plain:
        mode = state.mode
        if not mode.grad_enabled:
            return _wrap(out)
    if not elementwise and out.dtype.kind != "f":
        return _wrap(out)
    needs = ctx.needs_input_grad
    # Linking: an input on the graph is its node (whose count of consumers goes up, below, once
    # for all patterns) or the leaf itself. Each branch finds the inputs' nodes (``sources``, None
    # for a leaf); the first two unroll the patterns that nearly every op records.
    if needs is _ONE or needs is _FIRST or needs is _FIRST3:    # input 0 alone on the graph
        x = inputs[0]
        source = x.grad_fn
        sources: Any = (source,)
        if input_meta is None:
            data = x._array
            if elementwise and data.shape == out.shape and data.dtype is out.dtype:
                input_meta = (_SAME,) + (None,) * (len(needs) - 1)
            else:
                input_meta = ((data.shape, data.dtype),) + (None,) * (len(needs) - 1)
        if source is None:
            ctx._edge0 = x
            ctx._straight = None
        else:
            ctx._edge0 = source
            ctx._straight = source if input_meta[0] is _SAME else None
        ctx._edges = None
        ctx.input_meta = input_meta
    elif needs is _BOTH:            # x * y, both on the graph
        a, b = inputs
        source_a, source_b = sources = (a.grad_fn, b.grad_fn)
        ctx._edges = (a if source_a is None else source_a, b if source_b is None else source_b)
        if input_meta is None:
            data_a, data_b = a._array, b._array
            shape, dtype = out.shape, out.dtype
            input_meta = (_SAME if elementwise and data_a.shape == shape and data_a.dtype is dtype
                          else (data_a.shape, data_a.dtype),
                          _SAME if elementwise and data_b.shape == shape and data_b.dtype is dtype
                          else (data_b.shape, data_b.dtype))
        ctx.input_meta = input_meta
        ctx._straight = None
    else:                           # any other pattern (input 1 alone, linear's three, apply's general case)
        count = len(needs)
        edges: list[Any] = [None] * count
        metas: list[Any] = [None] * count if input_meta is None else []
        sources = []
        shape, dtype = out.shape, out.dtype
        for i in range(count):
            if needs[i]:
                x = inputs[i]
                source = x.grad_fn
                sources.append(source)
                edges[i] = x if source is None else source
                if input_meta is None:
                    data = x._array
                    metas[i] = (_SAME if elementwise and data.shape == shape and data.dtype is dtype
                                else (data.shape, data.dtype))
        ctx._edges = tuple(edges)
        ctx.input_meta = input_meta if input_meta is not None else tuple(metas)
        ctx._straight = None
    for source in sources:
        if source is not None:
            source.uses += 1
    ctx.uses = 0
    countdown = _nodes_until_gc_pause[0] - 1
    _nodes_until_gc_pause[0] = countdown
    if not countdown:
        _nodes_until_gc_pause[0] = _GC_PAUSE_EVERY
        _pause_gc(ctx)
    output = _new_tensor(Tensor)        # _wrap(out, True, ctx), inline on this hot path
    output._array = out
    output._grad = output._hooks = output._counter = None
    output._requires_grad = True
    output.grad_fn = ctx
    saved = ctx.saved_tensors
    if not saved or input_meta is _SAME_NONE and saved[0] is None:
        # nothing saved, or only a number (x * 2.0, x / 2.0): nothing to check at backward
        ctx.saved_sources = None
        ctx.epoch = _UNCHECKED
    elif len(saved) == 1 and saved[0] is out:      # tanh, exp...: the output alone
        ctx.epoch = inplace_epoch[0]
        ctx.saved_sources = _OUTPUT_ONLY
        counter = output._counter = ctx.output_version = _new(VersionCounter)
        counter.version = counter.epoch = 0
        counter.writer = None
    elif len(saved) == 1 and type(inputs[0]) is Tensor and saved[0] is inputs[0]._array:
        ctx.epoch = inplace_epoch[0]                # log, x * x...: input 0 alone
        ctx.saved_sources = inputs[:1]
    elif len(saved) == 2 and len(inputs) > 1 and isinstance(inputs[0], Tensor) and isinstance(inputs[1], Tensor) and (
            saved[0] is inputs[0]._array and saved[1] is inputs[1]._array):
        ctx.epoch = inplace_epoch[0]                # x * y, linear's x and weight: inputs 0 and 1
        ctx.saved_sources = inputs[:2]
    else:
        _note_saved(ctx, output, out, inputs)
    if not plain:
        ctx.scope = mode.scope
        if mode.tracing:
            _annotate(ctx, inputs, out)
    return output


def _note_saved(ctx: Function, output: Tensor, out: np.ndarray, inputs: tuple[Any, ...]) -> None:
    """Note where each array the node saved came from, for the in-place checks at backward
    (``saved_sources``): an input tensor, the output (which then gets a version counter of its
    own, ``output_version``), or None (a constant). A node that saved only constants has nothing
    to check."""
    sources = []
    noted = False
    for array in ctx.saved_tensors:
        source = None
        if array is out:
            source = _OUTPUT
            if output._counter is None:
                ctx.output_version = output._counter = VersionCounter()
        elif array is not None:
            for x in inputs:
                if isinstance(x, Tensor) and x.data is array:     # an input tensor's array
                    source = x
                    break
        if source is not None:
            noted = True
        sources.append(source)
    if noted:
        ctx.epoch = inplace_epoch[0]
        ctx.saved_sources = tuple(sources)
    else:
        ctx.epoch = _UNCHECKED
        ctx.saved_sources = None


# ---------------------------------------------------------------------------------------------
# ad.compile's seam. While a compiled step is being recorded (autodiff/compiler.py sets it, through
# ``set_observer``), every op's entry hands over what it did once forward has run and the output is
# made: ``_observer(cls, ctx, arrays, kwargs, output)``, where ``arrays`` are forward's positional
# arguments exactly as forward received them (numbers already made 0-d arrays), and returns the
# output tensor. None otherwise: one comparison per op.
_observer: Callable[..., Tensor] | None = None


def set_observer(observer: Callable[..., Tensor] | None) -> Callable[..., Tensor] | None:
    """Install ``observer`` (or None) as the ops' recording hook; returns the previous one."""
    global _observer
    previous, _observer = _observer, observer
    return previous


# ---------------------------------------------------------------------------------------------
# adapters: the built-in ops' entries, each a thin unpacking of its arguments before _record


def unary_op(cls: type[Function], name: str | None = None, doc: str | None = None) -> Callable[..., Tensor]:
    """``cls.apply`` for one operand ``x`` and constant parameters: returns ``op(x, *params)``.

    Assumes what ``apply`` would find: x is a Tensor (or an array, recorded as a constant) and
    the params are not Tensors. The elementwise ops (``ad.exp`` is ``unary_op(Exp)``) and the
    reductions use it."""
    forward = cls.forward
    record = cls._record
    meta = _SAME_ONLY if cls.same_shape else None     # the promise: the output has x's shape and dtype

    def op(x: Any, *params: Any) -> Tensor:     # (x: a Tensor, or an array or number as a constant)
        ctx = _new(cls)
        ctx.saved_tensors = ()
        ctx.scope = None     # before forward, which may set a scope of its own (kept outside ad.name_scope)
        if isinstance(x, Tensor):
            data = x._array
            requires = x._requires_grad
        else:
            data = x
            requires = False
        ctx.needs_input_grad = _ONE if requires else _NONE
        try:
            out = forward(ctx, data, *params) if params else forward(ctx, data)
        except (ValueError, TypeError) as error:
            raise _explain(cls, (data,) + params, error) from None
        if type(out) is not np.ndarray:
            out = _as_output_array(out, cls, ctx)
        if _observer is not None:       # ad.compile is recording (see _observer)
            return _observer(cls, ctx, (data,) + params, None,
                             record(ctx, out, (x,), meta) if requires else _wrap(out))
        if requires:
            return record(ctx, out, (x,), meta)
        if out.dtype.kind == "f" and type(data) is _ndarray and data.dtype.kind != "f":
            # a floating value of a bool or integer tensor (exp, sqrt, x ** 0.5): computed in the
            # default float dtype, as PyTorch (numpy would pick float64, or float16 for int8)
            out = forward(ctx, *_promotion.floating(data), *params)
            if type(out) is not np.ndarray:
                out = _as_output_array(out, cls, ctx)
        return _wrap(out)

    return _named(op, name or cls.__name__.lower(), doc)


def binary_op(cls: type[Function], name: str | None = None, doc: str | None = None,
              same_operand: Callable[[Tensor], Tensor] | None = None) -> Callable[[TensorLike, TensorLike], Tensor]:
    """``cls.apply`` for two operands (tensors, arrays or numbers): returns ``op(a, b)``.

    Assumes an elementwise class when either operand may be a Python number: the number becomes
    a cached 0-d array of the other operand's dtype (see ``_constant``), and that operand's
    gradient needs no fitting. ``same_operand(a)``, if given, records ``op(a, a)`` for a tensor
    on the graph (``x * x``: one edge instead of two, see ops.MulSelf)."""
    forward = cls.forward
    record = cls._record
    elementwise = cls.same_shape

    def op(a: Any, b: Any) -> Tensor:      # (tensors, arrays or numbers)
        ctx = _new(cls)
        ctx.saved_tensors = ()
        ctx.scope = None     # before forward, which may set a scope of its own (kept outside ad.name_scope)
        kind = type(b)
        if (kind is float or kind is int) and type(a) is Tensor and elementwise and a._requires_grad:
            # the usual case, x * 2.0: the number as a cached 0-d array of x's dtype, and the
            # output of x's shape and dtype (NEP 50)
            data = a._array
            dtype = data.dtype
            table = _float32_constants if dtype is _float32 else (
                _float64_constants if dtype is _float64 else None)
            if table is not None:
                operand = table.get(b)
                if operand is None:
                    operand = _constant(b, data.dtype)
                ctx.needs_input_grad = _FIRST
                try:
                    out = forward(ctx, data, operand)
                except (ValueError, TypeError) as error:
                    raise _explain(cls, (data, b), error) from None
                if type(out) is not np.ndarray:
                    out = _as_output_array(out, cls, ctx)
                if _observer is not None:       # ad.compile is recording (see _observer)
                    return _observer(cls, ctx, (data, operand), None, record(ctx, out, (a, b), _SAME_NONE))
                return record(ctx, out, (a, b), _SAME_NONE)
        if isinstance(a, Tensor):
            data_a = a._array
            requires_a = a._requires_grad
            if a is b and requires_a and same_operand is not None:
                return same_operand(a)
        else:
            data_a = a
            requires_a = False
        if isinstance(b, Tensor):
            data_b = b._array
            requires_b = b._requires_grad
        else:
            data_b = b
            requires_b = False
        if type(data_a) is _ndarray and data_a.dtype.kind == "f":
            plain = data_a.dtype is data_b.dtype if type(data_b) is _ndarray else (kind is float or kind is int)
        else:
            plain = type(data_b) is _ndarray and data_b.dtype.kind == "f" and (
                type(data_a) is float or type(data_a) is int)
        if not plain:       # PyTorch's type promotion, off the plain path (see autodiff.promotion)
            data_a, data_b, promoted = _promotion.operands(data_a, data_b, cls)
        meta: tuple[Any, ...] | None = None
        if elementwise:     # a number next to a float array: as a 0-d array of its dtype
            if kind is float or kind is int:
                if type(data_a) is np.ndarray and data_a.dtype.kind == "f":
                    data_b = _constant(b, data_a.dtype)
                    meta = _SAME_NONE
            else:
                kind = type(a)
                if (kind is float or kind is int) and type(data_b) is np.ndarray and data_b.dtype.kind == "f":
                    data_a = _constant(a, data_b.dtype)
                    meta = _NONE_SAME
        if requires_a:      # known before forward, which may save only what the backward needs
            ctx.needs_input_grad = needs = _BOTH if requires_b else _FIRST
        else:
            ctx.needs_input_grad = needs = _SECOND if requires_b else _NEITHER
        try:
            out = forward(ctx, data_a, data_b)
            if not plain and out.dtype.kind == "f" and promoted.kind != "f":
                # a floating value of bool or integer operands (true division): the default float dtype
                out = forward(ctx, *_promotion.floating(data_a, data_b))
        except (ValueError, TypeError) as error:
            raise _explain(cls, (data_a, data_b), error) from None
        if type(out) is not np.ndarray:
            out = _as_output_array(out, cls, ctx)
        if _observer is not None:       # ad.compile is recording (see _observer)
            return _observer(cls, ctx, (data_a, data_b), None,
                             _wrap(out) if needs is _NEITHER else record(ctx, out, (a, b), meta))
        if needs is _NEITHER:
            return _wrap(out)
        return record(ctx, out, (a, b), meta)

    return _named(op, name or cls.__name__.lower(), doc)


def ternary_op(cls: type[Function], name: str | None = None, doc: str | None = None) -> _TernaryOp:
    """``cls.apply`` for three tensor operands, the last of which may be None: returns
    ``op(a, b, c=None)`` (``ad.fused.linear``: x, weight, bias). Any other operand (an array, a
    number) takes ``cls.apply``."""
    forward = cls.forward
    record = cls._record
    apply = cls.apply

    assert not cls.same_shape, "ternary_op serves ops whose gradients need fitting (not Elementwise)"

    def op(a: Any, b: Any, c: Any = None) -> Tensor:
        if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
            return apply(a, b, c)
        data_c: np.ndarray | None
        if c is None:
            data_c = None
            requires_c = False
        elif isinstance(c, Tensor):
            data_c = c._array
            requires_c = c._requires_grad
        else:
            return apply(a, b, c)
        data_a = a._array
        data_b = b._array
        ctx = _new(cls)
        ctx.saved_tensors = ()
        ctx.scope = None     # before forward, which may set a scope of its own (kept outside ad.name_scope)
        ctx.needs_input_grad = needs = (a._requires_grad, b._requires_grad, requires_c)
        try:
            out = forward(ctx, data_a, data_b, data_c)
        except (ValueError, TypeError) as error:
            raise _explain(cls, (data_a, data_b, data_c), error) from None
        if type(out) is not np.ndarray:
            out = _as_output_array(out, cls, ctx)
        if True in needs:
            output = record(ctx, out, (a, b, c), (
                (data_a.shape, data_a.dtype) if needs[0] else None,
                (data_b.shape, data_b.dtype) if needs[1] else None,
                # (requires_c: data_c is an array)
                (data_c.shape, data_c.dtype) if requires_c else None))  # type: ignore[union-attr]
        else:
            output = _wrap(out)
        if _observer is not None:       # ad.compile is recording (see _observer)
            return _observer(cls, ctx, (data_a, data_b, data_c), None, output)
        return output

    return _named(op, name or cls.__name__.lower(), doc)


_fast_paths: dict[type[Function], Callable[..., Tensor]] = {}


def apply1(cls: type[Function], x: TensorLike, *params: Any) -> Tensor:
    """``cls.apply(x, *params)`` for one tensor input and constant params, by ``unary_op(cls)``."""
    op = _fast_paths.get(cls)
    if op is None:
        op = _fast_paths[cls] = unary_op(cls)
    return op(x, *params)


def apply2(cls: type[Function], a: TensorLike, b: TensorLike) -> Tensor:
    """``cls.apply(a, b)`` for two operands, by ``binary_op(cls)``."""
    op = _fast_paths.get(cls)
    if op is None:
        op = _fast_paths[cls] = binary_op(cls)
    return op(a, b)


# ---------------------------------------------------------------------------------------------
# Python's cyclic collector and large graphs. Every node is an object the collector tracks, and
# while a graph of 10^5 or 10^6 nodes is being built, CPython's full collections walk all of it
# again and again (each time the tracked objects grow by a quarter), which costs more than the
# ops themselves. A graph holds no reference cycles (nodes point to their inputs only), so those
# walks find nothing to free. So every _GC_PAUSE_EVERY nodes recorded, the call that records
# one defers the full collections until that node is freed (by reference counting, when the
# graph dies): the collector's third threshold is set out of reach, and put back then. Young
# garbage is still collected as usual; old garbage with reference cycles waits (a full collection
# every 100 pauses bounds that, for programs that keep their graphs alive). gc.disable() and
# gc.collect() work as ever.
_GC_PAUSE_EVERY = 20_000
_nodes_until_gc_pause = [_GC_PAUSE_EVERY]     # (a list: cheaper to count down than a global)
_gc_pauses = [0]                     # nodes deferring the full collections, still alive
_gc_threshold = [0]                  # the collector's third threshold, to put back
_gc_lock = threading.Lock()          # threads may record and free graphs concurrently


def _pause_gc(node: Function) -> None:
    """Defer the collector's full collections until ``node`` is freed (see _GC_PAUSE_EVERY)."""
    with _gc_lock:
        pauses = _gc_pauses[0]
        if not pauses:
            first, second, _gc_threshold[0] = gc.get_threshold()
            gc.set_threshold(first, second, 1 << 30)
        _gc_pauses[0] = pauses + 1
    weakref.finalize(node, _resume_gc)
    if pauses and pauses % 100 == 0:
        # a program that keeps its graphs: one full collection, so that old garbage with
        # reference cycles cannot pile up without bound (outside the lock: the collection may
        # free paused nodes, whose finalizers take it)
        gc.collect()


def _resume_gc() -> None:
    with _gc_lock:
        _gc_pauses[0] -= 1
        if not _gc_pauses[0]:
            first, second, _ = gc.get_threshold()
            gc.set_threshold(first, second, _gc_threshold[0])


# ---------------------------------------------------------------------------------------------
# helpers

def _copy(function: Callable[..., Any], cls: type, defaults: tuple[Any, ...] | None = None) -> types.FunctionType:
    """``function`` with a code object of its own, named for ``cls`` (see __init_subclass__), and
    other ``defaults`` if given."""
    code = function.__code__
    if hasattr(code, "co_qualname"):        # (Python 3.11 and later)
        code = code.replace(co_qualname=f"{cls.__qualname__}.{function.__name__}")  # type: ignore[call-arg]  # (3.11+)
    else:                                   # a new code object all the same
        code = code.replace(co_name=code.co_name)
    return types.FunctionType(code, function.__globals__, function.__name__,
                              function.__defaults__ if defaults is None else defaults, function.__closure__)


def _named(op: Callable[..., Any], name: str, doc: str | None) -> Any:
    """Give an adapter its name and a code object of its own (see __init_subclass__)."""
    op.__name__ = op.__qualname__ = name
    op.__code__ = op.__code__.replace(co_name=name)
    op.__doc__ = doc
    return op


_float32, _float64 = np.dtype(np.float32), np.dtype(np.float64)
_ndarray = np.ndarray
_float32_constants: dict[float, np.ndarray] = {}
_float64_constants: dict[float, np.ndarray] = {}    # number -> read-only 0-d array of that dtype
# dtype -> such a table
_constants: dict[np.dtype, dict[float, np.ndarray]] = {_float32: _float32_constants, _float64: _float64_constants}


def _constant(number: float, dtype: np.dtype) -> np.ndarray:
    """A Python number as a read-only 0-d array of ``dtype``, cached. The result of ``x * 1.5`` is
    the same (NEP 50 casts the number to x's dtype), and numpy takes a 0-d array operand faster
    than a Python number, in the forward and again in the backward (``grad * 1.5``)."""
    table = _constants.get(dtype)
    if table is None:
        table = _constants[dtype] = {}
    array = table.get(number)
    if array is None:
        array = np.array(number, dtype)
        array.flags.writeable = False
        if number and number == number:     # not 0 (-0.0 == 0.0) nor nan: cache it
            if len(table) >= 4096:
                table.clear()
            table[number] = array
    return array


def _annotate(ctx: Function, inputs: tuple[Any, ...], out: np.ndarray) -> None:
    """The extras of traced modes (anomaly mode, gradcheck's localization): the creation stack,
    and the inputs when asked."""
    if _SAME in ctx.input_meta:     # spell the shapes out for the messages of traced modes
        ctx.input_meta = tuple((out.shape, out.dtype) if m is _SAME else m for m in ctx.input_meta)
    ctx.trace = traceback.extract_stack()[:-3]
    mode = state.mode
    if mode.record_inputs:
        ctx.recorded_inputs = (inputs, {})     # (apply adds its keyword arguments)
    if mode.anomaly:
        from .anomaly import record_forward
        record_forward(ctx, inputs, out)


def _explain(cls: type[Function], arrays: Any, error: Exception) -> Exception:
    """Say which op failed and on what shapes/dtypes, for numpy's broadcasting and type errors."""
    message = str(error)
    described = ", ".join(f"{a.shape} {a.dtype}" if isinstance(a, np.ndarray) else repr(a)
                          for a in arrays if isinstance(a, (np.ndarray, int, float, complex, str))
                          or a is None)
    op = (cls.display_name or cls.__name__).lower()
    if "could not be broadcast" in message:
        shapes = " and ".join(str(a.shape) for a in arrays if isinstance(a, np.ndarray))
        return ValueError(f"{op}: shapes {shapes} do not broadcast (numpy's rules: trailing axes must "
                          "match or be 1); reshape or unsqueeze one operand")
    if "ufunc" in message or "unsupported operand" in message or "not supported for" in message:
        return TypeError(f"{op}: cannot apply to operands ({described}): {message}")
    return error


def _as_output_array(out: object, cls: type[Function], ctx: Function) -> np.ndarray:
    """forward's result as an ndarray; numpy gives scalars for 0-d results, and an output that was
    saved as such a scalar is re-pointed at the array, so it is still known as the output."""
    if isinstance(out, Tensor):
        array = out.data
    elif isinstance(out, (np.generic, int, float, bool)):
        array = np.asarray(out)
    else:
        raise TypeError(f"{cls.__name__}.forward must return a numpy array, got {type(out).__name__}")
    saved = ctx.saved_tensors
    if saved:
        for s in saved:
            if s is out:
                ctx.saved_tensors = tuple(array if s is out else s for s in saved)
                break
    return array


class AccumulateGrad:
    """A leaf's place in ``next_functions`` (PyTorch's name): ``variable`` is the leaf tensor whose
    ``.grad`` the walk accumulates into."""

    __slots__ = ("variable",)

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad of a leaf of shape {self.variable.shape}>"


class Elementwise(Function):
    """Base class of elementwise ops, and their promise to the engine.

    forward returns an array of the broadcast shape of its array operands, in their result
    dtype (numbers next to an array take the array's dtype, NEP 50); backward returns, for each
    input that needs one, a gradient of the output's shape and dtype (the engine sums it back over
    broadcast axes). The engine then skips fitting the gradient of an input that already has the
    output's shape and dtype, and a single-input chain of such ops is walked straight through.
    A backward that breaks the promise gets the same clear error whichever way the op was called.
    """

    same_shape = True
