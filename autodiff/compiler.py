"""``ad.compile``: record a training step once, replay it as straight-line numpy.

    step = ad.compile(train_step)           # or @ad.compile over its definition
    for xb, yb in loader:
        loss = step(xb, yb)                 # first call: eager, recorded; later calls: replayed

How it works
------------
The first call with a given signature runs ``fn`` eagerly while a recorder watches, at the array
level, everything it does: every op's forward (also ops on tensors that need no gradient), every
node's backward in the order the engine's walk calls them, with the routing and the summing of
gradients that the walk does between them, the leaves' gradients, and the *replayed calls*:
functions marked ``@replayed`` whose effects a replay must repeat (``optimizer.step()`` and
``zero_grad()``, BatchNorm's running statistics, Dropout's masks, gradient clipping, random
tensors). ``autodiff.codegen`` makes the record into one Python function of numpy calls: each
op's forward and backward as its class's lowering rule writes them (``autodiff.lowering``: numpy
calls that write, with ``out=``, into the record's buffers, which are the arrays of the recorded
call); an op without a rule calls its ``Function.forward``/``backward`` on a context of its own
(the fallback); the replayed calls are made again (so they read the optimizer's *current*
hyper-parameters and state, and draw from the same generator, as eager would), or, for SGD's
step and ``zero_grad``, lowered too. Later calls run that function on their arguments: no
Tensor, no node, no graph walk. The values are eager's to the bit: the forward, the gradients,
the updated parameters and buffers (the tests compare 50 steps of several models).

The signature (as ``jax.jit``'s): the shapes, dtypes and strides of the tensor and array arguments
(and their requires_grad; a strided argument is recorded strided, so that numpy's matrix products
give eager's bits), the values of the other (hashable) arguments, the grad mode and the default
dtype. Before each replay a record checks that the modules it called have the same training flag
and the same parameter and buffer objects, that the tensors it used keep their arrays and
``requires_grad``, and that no hook was added to a parameter; else the step records again, and
keeps both records (train and eval side by side). The cache keeps ``cache_size`` records (8 by
default; least recently used out). Everything else is assumed constant: Python values that ``fn``
reads from elsewhere (a global learning rate, a flag), and the arrays it closes over (read by
reference: writing into them, as ``load_state_dict`` writes into parameters, is seen; rebinding a
global to a new array is not).

What cannot be replayed is refused while recording with ``CompileError``, naming the line; the
call fails and nothing is cached. An error rather than an eager fallback with a warning: a step
that silently ran eagerly would lose the speed it was compiled for without anyone noticing, and
a wrong replay is never an option. Refused:

- reading a value inside ``fn``: ``.item()``, ``float(t)``, ``int(t)``, ``bool(t)`` (so an ``if`` on
  a tensor), ``.tolist()``, ``.numpy()``, ``.data``, ``np.asarray(t)``, ``ad.tensor(t)``, of a tensor
  the step computes, takes as an argument, or trains;
- an array that enters an op without being a value of the record: one that the caller's code (or
  ``nn``, ``optim``) made during the call, such as numpy computed from an argument or a draw from
  numpy's generator (it would be frozen in), and one that the engine derived from values outside an
  op (a boolean mask index, ``ad.argmax(t)``, a non-boolean ``ad.where`` condition). Arrays that
  existed before the call, and constants autodiff makes (``ad.zeros``, ``ad.tensor([...])``; nn's 0-d ones), are
  read by reference; numpy done on an argument and wrapped in ``ad.tensor`` (a copy) is not seen;
- changing a tensor the step uses in place, hooks and ``retain_grad`` on it, ``create_graph=True``,
  ``ad.grad``/``ad.backward`` (call ``loss.backward()``), an argument that requires grad.

What a replay returns: what ``fn`` returns, with this call's values, as tensors that do not require
grad (the record's own call too). The returned tensors and the parameters' ``.grad`` are recycled
between replays, but never while the caller still holds them (a tensor kept from an earlier call
keeps its values). Under ``ad.detect_anomaly()``, or inside another step's recording, the step runs
eagerly. A step is not meant to be called from several threads at once (calls are serialised).

The seams in the engine (each costs nothing while no step records): every op's entry hands what
it did to ``autodiff.function._observer`` (None otherwise); a recorded node's ``backward`` is
looked up on the node first, so the recorder sets its own there; ``nn.Module.__call__`` and
``@replayed`` functions read ``recording`` (a module int); and while a step records, ``Tensor``'s
off-graph methods (comparisons, ``any``, ``argmax``...) are recording versions and the tensors the
step tracks are of a watched subclass (``_watched_class``) that refuses value reads.
"""
from __future__ import annotations

import collections
import functools
import os
import sys
import threading
import tracemalloc
import types
from typing import Any, Callable, NoReturn, TypeVar

import numpy as np

from . import function as _function
from .function import _SAME
from .grad_mode import state
from .tensor import Tensor, _PROJECT_PACKAGES, _to_array, _wrap, get_default_dtype

__all__ = ["compile", "CompiledStep", "CompileError", "replayed"]


class CompileError(RuntimeError):
    """``ad.compile`` met something a replay could not repeat (the message says what and where)."""


# ---------------------------------------------------------------------------------------------
# the recording state: how many threads record (read by nn.Module.__call__ and @replayed, so that
# they pay one comparison when nobody records) and this thread's recorder


recording = 0
_recording_lock = threading.Lock()
_F = TypeVar("_F", bound=Callable[..., Any])


class _Local(threading.local):
    recorder: Recorder | None = None


_local = _Local()


def _dispatch(cls: type, ctx: Any, arrays: tuple[Any, ...], kwargs: dict[str, Any] | None,
              output: Tensor) -> Tensor:
    """The ops' seam while some thread records: hand the op to this thread's recorder."""
    recorder = _local.recorder
    if recorder is None or recorder.paused:
        return output
    return recorder.op(cls, ctx, arrays, kwargs, output)


def note_module(module: Any) -> None:
    """``nn.Module.__call__``'s seam: the recording step calls ``module`` (its training flag and
    its parameters become part of the record's guards)."""
    recorder = _local.recorder
    if recorder is not None and not recorder.paused and id(module) not in recorder.modules:
        # its flag as the step found it (None: the step sets it itself, with train() or eval())
        recorder.modules[id(module)] = (module, None if id(module) in recorder.flags_set else module.training)


def sets_training_flags(function: _F) -> _F:
    """Register ``function(module, ...)``, a replayed call that sets the training flags of
    ``module.modules()`` (``nn.Module.train``): a step that calls it needs no guard on them."""
    _TRAINING_SETTERS.add(function)
    return function


_TRAINING_SETTERS: set[Any] = set()


def replayed(function: _F) -> _F:
    """Mark ``function`` as a call that a compiled step makes again at every replay.

    Inside a step being recorded, a call of ``function`` runs as usual but is not looked into:
    the ops it runs are not recorded and it may read values. The record keeps the call (the
    function and its arguments, the same objects) and a replay makes it again at the same point.
    Arguments that are iterators are turned into lists first. An array (or tensor) it returns is a
    value of the step: a replay copies the new result into the recorded array. Use it for state
    changes (``optimizer.step()``, running statistics) and for random draws.
    """
    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        if recording:
            recorder = _local.recorder
            if recorder is not None and not recorder.paused:
                return recorder.replayed_call(function, args, kwargs)
        return function(*args, **kwargs)

    call.replayed = function      # type: ignore[attr-defined]
    return call       # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# watched tensors: while recording, the tensors the step tracks (op outputs, argument stand-ins,
# parameters) are of a subclass that records what is done to them off the graph (comparisons...)
# and refuses what a replay could not repeat (reading values, changing them in place)

_data_slot = Tensor.__dict__["_array"]     # the slot itself (Tensor.data is a property over it)


def _caller_is_engine(depth: int = 2) -> bool:
    code = sys._getframe(depth).f_code
    return code.co_filename.startswith(_PROJECT_PACKAGES) and code is not _TO_ARRAY_CODE


def _active() -> Recorder | None:
    recorder = _local.recorder
    return recorder if recorder is not None and not recorder.paused else None


def _get_data(self: Tensor) -> np.ndarray:
    array = _data_slot.__get__(self, Tensor)
    recorder = _active()
    if recorder is not None and not _caller_is_engine():
        recorder.refuse(f"reads the array of a tensor the step computes ({_describe(array)}) "
                        "with .data (or ad.tensor(t), which copies it)",
                        "use autodiff ops on the tensor (t.shape gives its shape)")
    return array


def _set_data(self: Tensor, value: np.ndarray) -> None:
    recorder = _active()
    if recorder is not None and not _caller_is_engine():
        recorder.refuse("rebinds .data of a tensor the step uses", "change tensors outside the step")
    _data_slot.__set__(self, value)


def _value_read(what: str, fix: str = "return the tensor from fn and read it after the call (loss.item() on "
                            "what the step returns)") -> Callable[..., Any]:
    def read(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        recorder = _active()
        if recorder is not None and not _caller_is_engine():
            recorder.refuse(f"reads the value of a tensor it computes ({what})", fix)
        return getattr(Tensor, read.__name__)(self, *args, **kwargs)
    return read


def _refused(what: str, fix: str) -> Callable[..., Any]:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        recorder = _active()
        if recorder is not None:
            recorder.refuse(what, fix)
        return getattr(Tensor, method.__name__)(self, *args, **kwargs)
    return method


def _array_op(name: str, how: Callable[..., tuple[Any, tuple[Any, ...], dict[str, Any]]]) -> Callable[..., Any]:
    """Tensor's method ``name``, which computes an array off the graph (a comparison, any,
    argmax), recording the result as a value of the step: ``how(self, *args)`` -> (function,
    arguments, keywords) that computes it from arrays."""
    original = _ORIGINALS[name]

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        recorder = _active()
        if recorder is not None and isinstance(result, Tensor):
            function, arguments, keywords = how(self, *args, **kwargs)
            recorder.array_op(function, arguments, keywords, result)
        return result
    method.__name__ = name
    return method


def _data(x: Any) -> Any:
    return _data_slot.__get__(x, Tensor) if isinstance(x, Tensor) else x


def _binary(ufunc: np.ufunc) -> Callable[[Tensor, Any], tuple[Any, tuple[Any, ...], dict[str, Any]]]:
    return lambda self, other: (ufunc, (_data(self), _data(other)), {})


def _by_method(name: str) -> Callable[..., tuple[Any, tuple[Any, ...], dict[str, Any]]]:
    """(function, arguments, keywords) that recompute Tensor's method ``name`` on an array, as
    the method itself does (any, all, argmax: their arguments are many)."""
    def how(self: Tensor, *args: Any, **kwargs: Any) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
        return _OnArray(name, args, kwargs), (_data(self),), {}
    return how


class _OnArray:
    """Tensor's original method ``name`` applied to an array (a tensor wrapping it), its array out."""

    def __init__(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.method, self.args, self.kwargs = _ORIGINALS[name], args, kwargs
        self.__name__ = name

    def __call__(self, array: np.ndarray) -> np.ndarray:
        return _data_slot.__get__(self.method(_wrap(array), *self.args, **self.kwargs), Tensor)


def _recorded_ufunc(self: Tensor, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
    result = _ORIGINALS["__array_ufunc__"](self, ufunc, method, *inputs, **kwargs)
    recorder = _active()
    if recorder is not None and isinstance(result, Tensor) and result.grad_fn is None and (
            not recorder.knows(_data_slot.__get__(result, Tensor))):
        # a ufunc without a gradient (np.greater, np.sign...): computed on the arrays
        recorder.array_op(ufunc, tuple(_data(x) for x in inputs), kwargs, result)
    return result


def _watched_backward(self: Tensor, gradient: Any = None, retain_graph: bool | None = None,
                      create_graph: bool = False, inputs: Any = None) -> None:
    recorder = _active()
    if recorder is None:
        return Tensor.backward(self, gradient, retain_graph, create_graph, inputs)
    if create_graph:
        recorder.refuse("calls backward(create_graph=True): higher-order gradients are not recorded",
                        "compute them eagerly, without ad.compile")
    if inputs is not None:
        recorder.refuse("calls backward(inputs=...)", "call loss.backward() and read the leaves' .grad")
    recorder.begin_walk(self, gradient)
    Tensor.backward(self, gradient, retain_graph, create_graph, inputs)
    recorder.end_walk()


def _watched_detach(self: Tensor) -> Tensor:
    result = Tensor.detach(self)
    recorder = _active()
    if recorder is not None:
        recorder.watch(result)      # the same array: a value of the step, read-protected the same
    return result


def _watched_repr(self: Tensor) -> str:
    array = _data_slot.__get__(self, Tensor)
    if _active() is None:
        return Tensor.__repr__(self)
    return f"tensor(<recorded by ad.compile>, shape={array.shape}, dtype={array.dtype})"


_WATCHED_METHODS = {
    "data": property(_get_data, _set_data),
    "item": _value_read(".item()"),
    "tolist": _value_read(".tolist()"),
    "numpy": _value_read(".numpy()"),
    "__array__": _value_read("np.asarray(t) or another numpy conversion"),
    "__bool__": _value_read("bool(t), which an `if` or `while` on a tensor calls",
                            "use ad.where (or ad.maximum/minimum) instead of an `if` on a tensor"),
    "__float__": _value_read("float(t)"),
    "__int__": _value_read("int(t)"),
    "__index__": _value_read("a tensor used as an index or a count (operator.index)"),
    "__repr__": _watched_repr,
    "_inplace": _refused("changes a tensor it computes or uses in place (+=, add_, mul_, copy_, "
                         "fill_...)", "use out-of-place ops (y = y + 1)"),
    "__setitem__": _refused("assigns into a tensor it computes or uses (t[i] = ...)",
                            "build the result with out-of-place ops (ad.where, ad.concatenate)"),
    "register_hook": _refused("registers a hook", "register hooks outside ad.compile"),
    "retain_grad": _refused("calls retain_grad()", "return the tensor from fn instead"),
    "detach_": _refused("calls detach_()", "use detach()"),
    "detach": _watched_detach,
    "backward": _watched_backward,
}
# Tensor's methods that compute arrays off the graph: while any thread records, Tensor has these
# recording versions instead (on every tensor: a comparison on a parameter not yet used counts),
# which act as the originals for a thread that does not record
_ORIGINALS = {name: Tensor.__dict__[name] for name in (
    "__array_ufunc__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__and__", "__or__",
    "__xor__", "__invert__", "any", "all", "argmax", "argmin")}
_RECORDING_METHODS = {
    "__array_ufunc__": _recorded_ufunc,
    "__eq__": _array_op("__eq__", _binary(np.equal)),
    "__ne__": _array_op("__ne__", _binary(np.not_equal)),
    "__lt__": _array_op("__lt__", _binary(np.less)),
    "__le__": _array_op("__le__", _binary(np.less_equal)),
    "__gt__": _array_op("__gt__", _binary(np.greater)),
    "__ge__": _array_op("__ge__", _binary(np.greater_equal)),
    "__and__": _array_op("__and__", _binary(np.bitwise_and)),
    "__or__": _array_op("__or__", _binary(np.bitwise_or)),
    "__xor__": _array_op("__xor__", _binary(np.bitwise_xor)),
    "__invert__": _array_op("__invert__", lambda self: (np.invert, (_data(self),), {})),
    "any": _array_op("any", _by_method("any")),
    "all": _array_op("all", _by_method("all")),
    "argmax": _array_op("argmax", _by_method("argmax")),
    "argmin": _array_op("argmin", _by_method("argmin")),
}
_RECORDING_METHODS["__array_ufunc__"].__name__ = "__array_ufunc__"


def _off_graph_methods() -> None:
    """The methods of ops.OFF_GRAPH (t.isnan(), t.gt(0)...): numpy on the operands' arrays."""
    from . import ops
    for name, run, _ in getattr(ops, "OFF_GRAPH", ()):
        aliases = [alias for alias, target in getattr(ops, "ALIASES", {}).items() if target == name]
        for method in [name] + aliases:
            if method in Tensor.__dict__ and method not in _ORIGINALS:
                _ORIGINALS[method] = Tensor.__dict__[method]
                _RECORDING_METHODS[method] = _array_op(method, lambda self, *args, run=run, **kwargs: (
                    run, (_data(self),) + tuple(_data(a) for a in args), kwargs))


_off_graph_methods()
for _name, _method in _WATCHED_METHODS.items():
    if callable(_method) and not isinstance(_method, property):
        _method.__name__ = _name  # type: ignore[attr-defined]
del _name, _method
_watched_classes: dict[type, type] = {}


def _watched_class(cls: type) -> type:
    """The watched subclass of a Tensor class (same layout, so an object can switch to it)."""
    watched = _watched_classes.get(cls)
    if watched is None:
        namespace = dict(_WATCHED_METHODS, __slots__=(), __module__=cls.__module__,
                         __qualname__=cls.__qualname__)
        watched = _watched_classes[cls] = type(cls.__name__, (cls,), namespace)
        watched._watched_original = cls  # type: ignore[attr-defined]
    return watched


# ---------------------------------------------------------------------------------------------
# the record


class _Ref:
    """A value of the step, as the generated code names it: ``array`` is the recorded array.
    ``kind``: "input" (an argument's buffer), "value" (an op's output: a buffer of the record),
    "view" (a view of a buffer, taken once), "external" (an array the step reads by reference: a
    parameter, a closure's constant), "constant" (read-only, made by the engine), "grad" (a
    gradient in the backward: a buffer or, when its op is not lowered, a fresh array)."""

    __slots__ = ("name", "array", "kind", "uses")

    def __init__(self, name: str, array: Any, kind: str) -> None:
        self.name, self.array, self.kind, self.uses = name, array, kind, 0

    def __repr__(self) -> str:
        return f"<{self.kind} {self.name} {self.array.shape} {self.array.dtype}>"


class OpRecord:
    """One op of the step: its class, the forward's arguments as recorded (arrays of the step's
    values, numbers, parameters such as axes), and its output. ``inputs`` are the ``_Ref`` of the
    positional array arguments (None for the others), ``backward`` the backward call if any."""

    __slots__ = ("cls", "ctx", "args", "kwargs", "inputs", "out", "fresh_out", "backward")

    def __init__(self, cls: type, ctx: Any, args: tuple[Any, ...], kwargs: dict[str, Any] | None,
                 inputs: list[_Ref | None], out: _Ref, fresh_out: bool) -> None:
        self.cls, self.ctx, self.args, self.kwargs, self.inputs, self.out = cls, ctx, args, kwargs, inputs, out
        self.fresh_out = fresh_out
        self.backward: BackwardRecord | None = None

    @property
    def name(self) -> str:
        return getattr(self.cls, "display_name", None) or self.cls.__name__


class BackwardRecord:
    """One node's backward in the walk: the op, its incoming gradient and, per input, the
    gradient it returned (a ``_Ref``, or None), with what the record saw (``results``)."""

    __slots__ = ("op", "grad", "outputs", "results", "tupled")

    def __init__(self, op: OpRecord, grad: _Ref, outputs: list[_Ref | None], results: tuple[Any, ...],
                 tupled: bool) -> None:
        self.op, self.grad, self.outputs, self.results, self.tupled = op, grad, outputs, results, tupled


class _Walk:
    """A backward being recorded: the gradients still on their way (node -> list of _Ref, in
    arrival order) and the leaves' gradients (leaf -> list of _Ref), as the engine's walk sums
    and delivers them."""

    def __init__(self, root: Tensor, priors: dict[Tensor, np.ndarray | None]) -> None:
        self.root = root.grad_fn
        self.root_seen = False
        self.pending: dict[Any, list[_Ref]] = {}
        self.leaves: dict[Tensor, list[_Ref]] = {}
        self.values: dict[Tensor, list[np.ndarray]] = {}     # leaf -> copies of its gradients' values, to check the engine's
        self.priors = priors        # leaf -> a copy of its .grad before the walk (or None)


class Recorder:
    """Watches one eager call of a step and keeps what a replay needs (``steps``, in order)."""

    def __init__(self, step: CompiledStep, trace_arrays: bool) -> None:
        self.step = step
        self.paused = 0
        self.steps: list[tuple[str, Any]] = []     # ("op", OpRecord), ("array", ...), ("call", ...)...
        self.refs: dict[int, _Ref] = {}            # id(array) -> _Ref
        self.counter = 0
        self.ops: dict[Any, OpRecord] = {}         # node -> OpRecord
        self.modules: dict[int, tuple[Any, Any]] = {}   # id -> (module called, its flag then, or None)
        self.flags_set: set[int] = set()           # ids of modules whose flags the step sets (train())
        self.leaves: dict[int, Tensor] = {}        # id -> leaf tensor on the graph (parameters)
        self.watched: list[tuple[Tensor, type]] = []    # (tensor, original class): switched back at the end
        self.walk: _Walk | None = None
        self.error: CompileError | None = None
        self.trace_arrays = trace_arrays
        self.inputs: list[_Ref] = []
        self.given: list[Any] = []
        self.aliases: list[np.ndarray] = []        # arrays known by the _Ref of another (kept alive: ids stay theirs)

    # ---- values ----------------------------------------------------------------------------
    def new_ref(self, array: Any, kind: str, prefix: str = "v") -> _Ref:
        self.counter += 1
        ref = _Ref(f"{prefix}{self.counter}", array, kind)
        self.refs[id(array)] = ref
        return ref

    def knows(self, array: Any) -> bool:
        return id(array) in self.refs

    def watch(self, tensor: Tensor) -> Tensor:
        cls = type(tensor)
        if getattr(cls, "_watched_original", None) is None:
            tensor.__class__ = _watched_class(cls)
            self.watched.append((tensor, cls))
        return tensor

    def bind(self, array: np.ndarray, where: str) -> _Ref:
        """The _Ref of an array that enters an op (or a replayed call). Refuses an array that the
        caller's code made during the call (see the module docstring)."""
        ref = self.refs.get(id(array))
        if ref is not None:
            return ref
        root = array
        while isinstance(root.base, np.ndarray):
            root = root.base
            ref = self.refs.get(id(root))
            if ref is not None and ref.kind in ("input", "value", "external", "view"):
                # a view of a buffer of the step: it stays a view of the same memory at replay
                return self.new_ref(array, "view")
        if array.ndim or array.flags.writeable:
            self.check_made(root, array, where)
        return self.new_ref(array, "constant" if not array.flags.writeable else "external", "c")

    def check_made(self, value: Any, shown: Any, where: str) -> None:
        """Refuse ``value`` (an array's memory, a numpy scalar) if code outside the engine made it
        during the call: a replay would take it as a constant, though it may come from the data."""
        if not self.trace_arrays:
            return
        made = tracemalloc.get_object_traceback(value)
        frame = None if made is None else next(
            (f for f in reversed(made) if not f.filename.startswith(_NUMPY_PACKAGE)), made[-1])
        if frame is not None and _from_values(frame):
            self.refuse(f"passes {where} an array that the engine computed from a tensor's values "
                        f"outside an op ({_describe(shown)}, at {frame.filename}:{frame.lineno}: a "
                        "boolean mask index, ad.argmax(t), a non-boolean "
                        "ad.where condition, ad.gt(a, b) and the other off-graph functions, pooling "
                        "without grad...)",
                        "express it with what the step records (t.argmax(), t > 0, t.isnan(), amax "
                        "for the values of a max, integer indices), or compute it outside fn",
                        why="A replay would reuse the values it had in this call.", site=_site())
        if frame is not None and not frame.filename.startswith(_ENGINE_PACKAGE) and not (
                getattr(shown, "ndim", 1) == 0 and frame.filename.startswith(_PROJECT_PACKAGES)):
            # (nn's and optim's own 0-d constants, np.zeros((), dtype), are constants too)
            self.refuse(f"passes {where} an array that is not one of its tracked values ({_describe(shown)}, "
                        f"made during the call at {frame.filename}:{frame.lineno})",
                        "compute it from the step's arguments with autodiff ops, pass it as an "
                        "argument, or make it once outside fn if it is a constant",
                        why="A replay would reuse the values it had in this call.", site=_site())

    # ---- ops ---------------------------------------------------------------------------------
    def op(self, cls: type, ctx: Any, arrays: tuple[Any, ...], kwargs: dict[str, Any] | None,
           output: Tensor) -> Tensor:
        """An op ran (the seam in autodiff.function): record it."""
        where = getattr(cls, "display_name", None) or cls.__name__
        inputs: list[_Ref | None] = []
        for a in arrays:
            if type(a) is np.ndarray:
                inputs.append(self.bind(a, where))
            else:
                inputs.append(None)
                self._bind_nested(a, where)
        if kwargs:
            for value in kwargs.values():
                self._bind_nested(value, where)
        out = _data_slot.__get__(output, Tensor)
        existing = self.refs.get(id(out))
        record = OpRecord(cls, ctx, tuple(arrays), dict(kwargs) if kwargs else None, inputs,
                          existing if existing is not None else self.new_ref(out, "value"),
                          existing is None)
        self.steps.append(("op", record))
        self.watch(output)
        if output.grad_fn is ctx:
            self.ops[ctx] = record
            node: Any = ctx
            node.backward = self._backward_hook     # (found on the node before its class's)
            for edge in node.input_nodes:
                if isinstance(edge, Tensor):
                    self._leaf(edge)
        return output

    def check_results(self, value: Any) -> None:
        """What fn returns: a tensor or array the record does not know must not be one made
        from this call's data (the replay would return it again, unchanged)."""
        array = _data_slot.__get__(value, Tensor) if isinstance(value, Tensor) else value
        if type(array) is np.ndarray:
            if id(array) not in self.refs:
                root = array
                while isinstance(root.base, np.ndarray):
                    root = root.base
                if id(root) not in self.refs:
                    self.check_made(root, array, "its result")
        elif isinstance(value, (tuple, list)):
            for item in value:
                self.check_results(item)
        elif isinstance(value, dict):
            for item in value.values():
                self.check_results(item)

    def _bind_nested(self, value: Any, where: str) -> None:
        if type(value) is np.ndarray:
            self.bind(value, where)
        elif isinstance(value, np.generic):
            self.check_made(value, value, where)
        elif isinstance(value, Tensor):
            self.bind(_data_slot.__get__(value, Tensor), where)
        elif isinstance(value, (tuple, list)):
            for item in value:
                self._bind_nested(item, where)

    def _leaf(self, leaf: Tensor) -> None:
        if id(leaf) not in self.leaves:
            self.leaves[id(leaf)] = leaf
            array = _data_slot.__get__(leaf, Tensor)
            if id(array) not in self.refs:
                self.new_ref(array, "external", "p")
            if leaf._hooks:
                self.refuse("uses a tensor with hooks (register_hook)", "remove the hooks, or do "
                            "without ad.compile", site=_site())
            self.watch(leaf)

    def array_op(self, function: Any, arguments: tuple[Any, ...], keywords: dict[str, Any], result: Tensor) -> None:
        """A value computed off the graph from the step's arrays (a comparison, any, argmax)."""
        name = getattr(function, "__name__", "array op")
        refs = [self.bind(a, name) if type(a) is np.ndarray else None for a in arguments]
        out = _data_slot.__get__(result, Tensor)
        ref = self.refs.get(id(out)) or self.new_ref(out, "value")
        self.steps.append(("array", (function, tuple(arguments), dict(keywords), refs, ref)))
        self.watch(result)

    # ---- replayed calls ----------------------------------------------------------------------
    def replayed_call(self, function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        args = tuple(list(a) if isinstance(a, (types.GeneratorType, map, filter, zip)) else a for a in args)
        for value in list(args) + list(kwargs.values()):
            self._mark_used(value)
        self.paused += 1
        try:
            result = function(*args, **kwargs)
        finally:
            self.paused -= 1
        if function in _TRAINING_SETTERS and args:
            self.flags_set.update(id(module) for module in args[0].modules())
        # its results (the result, or the items of a tuple or list of them): values of the step
        outs = []
        items = enumerate(result) if type(result) in (tuple, list) else [(None, result)]
        for index, item in items:
            array = _data_slot.__get__(item, Tensor) if isinstance(item, Tensor) else item
            if type(array) is np.ndarray:
                out = self.refs.get(id(array))
                fresh = out is None
                if fresh:
                    out = self.new_ref(array, "value")
                if isinstance(item, Tensor):
                    self.watch(item)
                outs.append((index, out, isinstance(item, Tensor), fresh))
        self.steps.append(("call", (function, args, kwargs, outs)))
        return result

    def _mark_used(self, value: Any) -> None:
        if type(value) is np.ndarray:
            ref = self.refs.get(id(value))
            if ref is None:
                self.bind(value, "a replayed call")
        elif isinstance(value, (tuple, list)):
            for item in value:
                self._mark_used(item)

    # ---- backward ----------------------------------------------------------------------------
    def begin_walk(self, root: Tensor, gradient: Any) -> None:
        if self.walk is not None:
            self.refuse("calls backward() inside a backward (a hook?)", "call backward once at a time")
        if gradient is not None:
            array = gradient.data if isinstance(gradient, Tensor) else np.asarray(gradient)
            if type(array) is np.ndarray and array.ndim:
                self.bind(array, "backward's gradient")
        priors = {}
        for leaf in self.leaves.values():
            grad = leaf.grad
            priors[leaf] = None if grad is None else np.array(grad.data, copy=True)
        self.walk = _Walk(root, priors)

    def _backward_hook(self, node: Any, g: np.ndarray) -> Any:
        """Each recorded node's ``backward`` while recording (set on the node itself)."""
        recorder = self
        walk = recorder.walk
        if walk is None:
            recorder.refuse("differentiates with ad.grad or ad.backward", "call loss.backward() "
                            "inside fn (the leaves' .grad are then what a replay delivers)")
        recorder.paused += 1
        try:
            result = type(node).backward(node, g)
        finally:
            recorder.paused -= 1
        recorder.on_backward(node, g, result)
        return result

    def on_backward(self, node: Any, g: np.ndarray, result: Any) -> None:
        walk: Any = self.walk
        op = self.ops[node]
        if node.special:
            self.refuse("uses a tensor with a hook or retain_grad()", "do that outside ad.compile")
        contributions = walk.pending.pop(node, None)
        if contributions is None:
            if node is not walk.root or walk.root_seen:
                raise CompileError(f"ad.compile: the engine walked {op.name} before its gradient was "
                                   "complete; this is a bug, please report it")
            walk.root_seen = True
            ref = self.refs.get(id(g))
            grad = ref if ref is not None else self.new_ref(g, "constant", "c")
        else:
            grad = self.sum(contributions)
            _check_same(grad.array, g, op.name)
        if id(g) not in self.refs:      # the engine's own array of this gradient: the same value
            self.refs[id(g)] = grad     # (so that a backward handing it on is seen to, as Add's)
            self.aliases.append(g)
        tupled = type(result) is tuple
        results = result if tupled else (tuple(result) if isinstance(result, list) else (result,))
        metas = node.input_meta
        results = results + (None,) * (len(metas) - len(results))
        outputs: list[_Ref | None] = []
        for gi in results:
            if gi is None:
                outputs.append(None)
                continue
            array = _data_slot.__get__(gi, Tensor) if isinstance(gi, Tensor) else gi
            if type(array) is not np.ndarray:
                array = np.asarray(array)
            ref = self.refs.get(id(array))
            if ref is None:
                ref = self.new_ref(array, "grad", "g")
            outputs.append(ref)
        record = BackwardRecord(op, grad, outputs, results, type(result) is tuple or isinstance(result, list))
        op.backward = record
        self.steps.append(("backward", record))
        for edge, meta, ref in zip(node.input_nodes, metas, outputs):
            if edge is None or ref is None:
                continue
            if meta is not _SAME and (ref.array.shape, ref.array.dtype) != meta:
                ref = self.fit(ref, meta)
            if isinstance(edge, Tensor):
                walk.leaves.setdefault(edge, []).append(ref)
                # (the engine may hand this very array to the leaf and add into it later)
                walk.values.setdefault(edge, []).append(np.array(ref.array, copy=True))
            else:
                walk.pending.setdefault(edge, []).append(ref)

    def sum(self, refs: list[_Ref]) -> _Ref:
        """The walk's sum of the gradients that reached a node, in arrival order."""
        total = refs[0]
        for ref in refs[1:]:
            array = total.array + ref.array
            if type(array) is not np.ndarray:
                array = np.asarray(array)
            new = self.new_ref(array, "grad", "s")
            self.steps.append(("add", (total, ref, new)))
            total = new
        return total

    def fit(self, ref: _Ref, meta: tuple[tuple[int, ...], np.dtype]) -> _Ref:
        """The engine's ``_fit``: sum a broadcast gradient back to the input's shape, cast it."""
        shape, dtype = meta
        array = ref.array
        if array.shape != shape:
            extra = array.ndim - len(shape)
            axes = tuple(range(extra)) + tuple(
                extra + i for i, n in enumerate(shape) if n == 1 and array.shape[extra + i] != 1)
            if axes:
                summed = np.add.reduce(array, axis=axes, keepdims=True)
                new = self.new_ref(summed, "grad", "r")
                self.steps.append(("reduce", (ref, axes, new)))
                ref, array = new, summed
            if extra or array.shape != shape:
                view = array.reshape(shape)
                new = self.new_ref(view, "grad", "r")
                self.steps.append(("reshape", (ref, shape, new)))
                ref, array = new, view
        if array.dtype != dtype:
            cast = array.astype(dtype)
            new = self.new_ref(cast, "grad", "r")
            self.steps.append(("cast", (ref, new)))
            ref = new
        return ref

    def end_walk(self) -> None:
        walk: Any = self.walk
        self.walk = None
        if walk.pending and any(walk.pending.values()):
            # a node that waited for a consumer outside this backward: the engine finished from
            # there, and we saw every call it made; anything left here was never walked
            left = [self.ops[n].name for n, refs in walk.pending.items() if refs]
            raise CompileError(f"ad.compile: gradients for {', '.join(left)} were never used by the "
                               "walk; this is a bug, please report it")
        for leaf, refs in walk.leaves.items():
            self.steps.append(("deliver", (leaf, refs)))
            # what the engine delivered must be what a replay computes
            expected = walk.priors.get(leaf)
            total = expected
            for value in walk.values[leaf]:
                total = value if total is None else total + value
            if leaf.grad is None:
                raise CompileError("ad.compile: a leaf got no gradient where one was recorded; "
                                   "this is a bug, please report it")
            _check_same(total, leaf.grad.data, "a leaf's gradient")

    # ---- refusals ----------------------------------------------------------------------------
    def refuse(self, what: str, fix: str, why: str = "A replay could not repeat that.",
               site: str | None = None) -> NoReturn:
        site = site or _site()
        error = CompileError(f"ad.compile: {self.step.name} {what}" + (f", at {site}" if site else "")
                             + f". {why} Fix: {fix}.")
        if self.error is None:
            self.error = error
        raise error


def _check_same(mine: np.ndarray, engines: np.ndarray, what: str) -> None:
    """The record's own value must be the engine's, bit for bit (else the replay would differ)."""
    if mine.shape != engines.shape or mine.dtype != engines.dtype or (
            np.ascontiguousarray(mine).tobytes() != np.ascontiguousarray(engines).tobytes()):
        raise CompileError(f"ad.compile: the recorded gradient of {what} differs from the engine's; "
                           "this is a bug, please report it")


def _describe(array: Any) -> str:
    if isinstance(array, np.ndarray):
        return f"shape {array.shape}, {array.dtype}"
    return f"a {type(array).__name__} scalar" if isinstance(array, np.generic) else type(array).__name__


_ENGINE_PACKAGE = _PROJECT_PACKAGES[0]      # autodiff/: the engine's own arrays are constants...
_DERIVED: list[tuple[str, int, int]] = []     # ...but for these functions', which compute arrays from values outside ops


def _from_values(frame: tracemalloc.Frame) -> bool:
    """Was this array made by one of the engine's functions that read values outside an op?"""
    if not _DERIVED:
        from . import conv, indexing, ops
        functions = [getattr(module, name, None) for module, name in (
            (ops, "where"), (ops, "_arg_extremum"), (ops, "_extremum"), (ops, "array_ufunc"),
            (indexing, "_normalize_index"), (conv, "max_pool"))]
        # the off-graph functions (ad.isnan(t), ad.gt(a, b)...): one code object, made per name
        off_graph = getattr(ops, "OFF_GRAPH", ())
        if off_graph:
            functions.append(getattr(ops, off_graph[0][0], None))
        functions += [_ORIGINALS[name] for name in _ORIGINALS if name != "__array_ufunc__"]
        for function in functions:
            if function is None or not hasattr(function, "__code__"):
                continue
            code = function.__code__
            lines = [line for _, _, line in code.co_lines() if line is not None]
            first, last = min(lines), max(lines)
            if function is indexing._normalize_index:   # its mask's nonzero() (lists are constants)
                import inspect
                source, start = inspect.getsourcelines(function)
                masks = [start + i for i, text in enumerate(source) if ".nonzero()" in text and "``" not in text]
                if masks:
                    first = last = masks[0]
            _DERIVED.append((code.co_filename, first, last))
    return any(frame.filename == name and first <= frame.lineno <= last for name, first, last in _DERIVED)
_NUMPY_PACKAGE = os.path.dirname(np.__file__) + os.sep


def _site() -> str | None:
    """'file:line in function' of the innermost frame outside autodiff, nn and optim."""
    frame: Any = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_PROJECT_PACKAGES):
        frame = frame.f_back
    return None if frame is None else f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"


# ---------------------------------------------------------------------------------------------
# the signature of a call


def _key(value: Any, leaves: list[Any]) -> Any:
    """The part of the signature for one argument; appends its arrays/tensors to ``leaves``."""
    if isinstance(value, Tensor):
        array = _data_slot.__get__(value, Tensor)
        leaves.append(value)
        return ("T", array.shape, array.dtype, array.strides, value._requires_grad)
    if type(value) is np.ndarray:
        leaves.append(value)
        return ("A", value.shape, value.dtype, value.strides)
    if isinstance(value, (tuple, list)):
        return (type(value).__name__,) + tuple(_key(item, leaves) for item in value)
    if isinstance(value, dict):
        return ("dict",) + tuple((k, _key(v, leaves)) for k, v in value.items())
    try:
        hash(value)
    except TypeError:
        raise TypeError(f"ad.compile: an argument of type {type(value).__name__} is neither an array "
                        "or tensor nor hashable; pass arrays, tensors or hashable values (or close "
                        "over it)") from None
    return ("V", type(value), value)


def signature(args: tuple[Any, ...], kwargs: dict[str, Any], grad_enabled: bool | None = None
              ) -> tuple[tuple[Any, ...], list[Any]]:
    """(key, leaves): the call's signature and its arrays and tensors in order. An array adds
    its shape and dtype to the key, a tensor those and its requires_grad; another argument a
    tagged tuple (``_key``)."""
    leaves: list[Any] = []
    key: list[Any] = [state.mode.grad_enabled if grad_enabled is None else grad_enabled, get_default_dtype()]
    for value in args:
        if type(value) is np.ndarray:
            leaves.append(value)
            key.append(value.shape)
            key.append(value.dtype)
            key.append(value.strides)
        elif isinstance(value, Tensor):
            array = _data_slot.__get__(value, Tensor)
            leaves.append(value)
            key.append(array.shape)
            key.append(array.dtype)
            key.append(array.strides)
            key.append(value._requires_grad)
        else:
            key.append(_key(value, leaves))
    if kwargs:
        for name in sorted(kwargs):
            key.append((name, _key(kwargs[name], leaves)))
    return tuple(key), leaves


def _like(array: np.ndarray) -> np.ndarray:
    """A copy of ``array`` laid out as it is (the same strides: a strided argument gives numpy's
    matrix products, and so their bits, as the argument itself would)."""
    buffer = np.empty_like(array)
    if buffer.strides != array.strides and array.size and all(stride >= 0 for stride in array.strides):
        extent = sum((n - 1) * stride for n, stride in zip(array.shape, array.strides)) + array.itemsize
        memory = np.empty(-(-extent // array.itemsize), array.dtype)
        buffer = np.lib.stride_tricks.as_strided(memory, array.shape, array.strides)
    np.copyto(buffer, array)
    return buffer


def _stand_ins(value: Any, buffers: list[np.ndarray]) -> Any:
    """The argument fn receives while recorded: arrays and tensors as copies in the record's own
    input buffers (a replay copies its arguments into them)."""
    if isinstance(value, Tensor):
        if value._requires_grad:
            raise CompileError("ad.compile: an argument requires grad; a compiled step differentiates "
                               "with respect to the parameters it uses (leaf tensors it closes over). "
                               "Pass inputs that do not require grad, or do without ad.compile")
        buffer = _like(_data_slot.__get__(value, Tensor))
        buffers.append(buffer)
        return _wrap(buffer)
    if type(value) is np.ndarray:
        buffer = _like(value)
        buffers.append(buffer)
        return buffer
    if isinstance(value, (tuple, list)):
        return type(value)(_stand_ins(item, buffers) for item in value)
    if isinstance(value, dict):
        return {k: _stand_ins(v, buffers) for k, v in value.items()}
    return value


# ---------------------------------------------------------------------------------------------
# recycled tensors: what a replay hands out

def _calibrate() -> int:
    holder = [Tensor.__new__(Tensor)]
    count = 0
    for t in holder:
        count = sys.getrefcount(t)
    return count


_UNHELD = _calibrate()      # references to a pooled tensor nobody else holds, seen from the loops below
_POOL = 4


class _OutputSlot:
    """The tensors a replay returns for one of fn's results: a buffer of the record, handed out
    in recycled tensors. One that a caller still holds when the next replay starts gets a copy
    of its values first, so it keeps them."""

    __slots__ = ("array", "tensors")

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.tensors = [_wrap(array), _wrap(array)]     # (made now: a replay makes none)

    def release(self) -> None:
        array = self.array
        for t in self.tensors:
            if t.data is array and sys.getrefcount(t) > _UNHELD:
                t.data = array.copy()

    def take(self) -> Tensor:
        tensors = self.tensors
        for t in tensors:
            if sys.getrefcount(t) <= _UNHELD:
                t.data = self.array
                return t
        t = _wrap(self.array)
        if len(tensors) < _POOL:
            tensors.append(t)
        return t


class _GradSlot:
    """The tensors a replay makes a leaf's ``.grad`` (each replay's gradient is a new array)."""

    __slots__ = ("tensors",)

    def __init__(self, array: np.ndarray) -> None:
        self.tensors = [_wrap(array), _wrap(array)]     # (made now: a replay makes none)

    def take(self, array: np.ndarray) -> Tensor:
        tensors = self.tensors
        for t in tensors:
            if sys.getrefcount(t) <= _UNHELD:
                t.data = array
                return t
        t = _wrap(array)
        if len(tensors) < _POOL:
            tensors.append(t)
        return t


def _accumulate(leaf: Tensor, gradient: np.ndarray) -> None:
    """The engine's accumulation of a gradient into a ``.grad`` that exists (``_deliver_leaf``)."""
    existing: Any = leaf._grad
    if existing.grad_fn is not None or existing._requires_grad or not existing.data.flags.writeable:
        leaf._grad = _wrap(existing.data + gradient)
    else:
        np.add(existing.data, gradient, out=existing.data)


# ---------------------------------------------------------------------------------------------
# the compiled step


class Stats:
    """What a compiled step holds: ``records`` (one per signature), ``buffers`` and ``bytes``
    (the arrays they keep), ``replays`` and ``recordings`` (calls of each kind so far),
    ``ops`` (in the records), ``lowered`` (ops replayed as numpy calls) and ``fallbacks``
    (ops replayed by calling their Function's forward/backward)."""

    __slots__ = ("records", "buffers", "bytes", "replays", "recordings", "ops", "lowered", "fallbacks")
    records: int
    buffers: int
    bytes: int
    replays: int
    recordings: int
    ops: int
    lowered: int
    fallbacks: int

    def __init__(self, **values: int) -> None:
        for name in self.__slots__:
            setattr(self, name, values.get(name, 0))

    def __repr__(self) -> str:
        return "Stats(" + ", ".join(f"{name}={getattr(self, name)}" for name in self.__slots__) + ")"


_MISS = object()     # a replay whose guards failed: record again


class CompiledStep:
    """A step compiled by ``ad.compile``: call it as ``fn``. See the module docstring."""

    def __init__(self, fn: Callable[..., Any], cache_size: int = 8) -> None:
        if not callable(fn):
            raise TypeError(f"ad.compile: expected a function, got {type(fn).__name__}")
        if not isinstance(cache_size, int) or cache_size < 1:
            raise ValueError(f"ad.compile: cache_size must be a positive int, got {cache_size!r}")
        self.fn = fn
        self.name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
        self.cache_size = cache_size
        # signature -> its Plans, most recently used first (several when the guards differ: a
        # module's training flag); keys in the order of use, least recent first
        self._records: collections.OrderedDict[tuple[Any, ...], list[Any]] = collections.OrderedDict()
        self._lock = threading.RLock()
        self._replays = 0
        self._recordings = 0
        self._last: Any = None
        functools.update_wrapper(self, fn, updated=())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if state.plain:         # grad mode on, not tracing (the usual case, in one look)
            enabled = True
        else:
            mode = state.mode
            if mode.anomaly or mode.tracing:
                return self.fn(*args, **kwargs)     # a debugging mode: eager
            enabled = mode.grad_enabled
        if recording and _local.recorder is not None:
            return self.fn(*args, **kwargs)     # part of another step's record
        key, leaves = signature(args, kwargs, enabled)
        with self._lock:
            plans = self._records.get(key)
            if plans is not None:
                for plan in plans:
                    result = plan.replay(leaves)
                    if result is not _MISS:
                        if plan is not plans[0]:
                            plans.remove(plan)
                            plans.insert(0, plan)
                        self._records.move_to_end(key)
                        self._replays += 1
                        self._last = plan
                        return result
            return self._record(key, args, kwargs, leaves)

    def _record(self, key: tuple[Any, ...], args: tuple[Any, ...], kwargs: dict[str, Any], leaves: list[Any]) -> Any:
        buffers: list[np.ndarray] = []     # (in the order of signature()'s leaves: the arguments, then keywords sorted)
        stand_args = tuple(_stand_ins(a, buffers) for a in args)
        stand_kwargs = {k: _stand_ins(kwargs[k], buffers) for k in sorted(kwargs)}
        recorder = _begin(self)
        for buffer in buffers:
            recorder.inputs.append(recorder.new_ref(buffer, "input", "x"))
        recorder.given = leaves
        for value in list(stand_args) + list(stand_kwargs.values()):
            _watch_stand_ins(recorder, value)
        failed = True
        try:
            result = self.fn(*stand_args, **stand_kwargs)
            if recorder.error is not None:      # refused, and the error was caught inside fn
                raise recorder.error
            recorder.check_results(result)
            for buffer, given in zip(buffers, _arrays_of(args + tuple(kwargs[k] for k in sorted(kwargs)))):
                if not _same_bits(buffer, given):
                    recorder.refuse("changes an argument's values in place", "compute a new tensor "
                                    "instead of writing into an argument", site=None)
            failed = False
        finally:
            _end(recorder)
        from .codegen import build
        plan = build(self, recorder, result)
        self._records.setdefault(key, []).insert(0, plan)
        self._records.move_to_end(key)
        while sum(len(plans) for plans in self._records.values()) > self.cache_size:
            oldest = next(iter(self._records))
            self._records[oldest].pop()
            if not self._records[oldest]:
                del self._records[oldest]
        self._recordings += 1
        self._last = plan
        del failed
        result, plan.first_result = plan.first_result(result), None
        return result

    # ---- looking inside ----------------------------------------------------------------------
    @property
    def stats(self) -> Stats:
        """Records, buffers, bytes, replays... (see ``Stats``)."""
        plans = [plan for plans in self._records.values() for plan in plans]
        return Stats(records=len(plans), buffers=sum(p.buffer_count for p in plans),
                     bytes=sum(p.buffer_bytes for p in plans), replays=self._replays,
                     recordings=self._recordings, ops=sum(p.op_count for p in plans),
                     lowered=sum(p.lowered for p in plans), fallbacks=sum(p.fallbacks for p in plans))

    @property
    def code(self) -> str:
        """The Python source of the most recently used record's replay (numpy calls, in order)."""
        return self._plan("code").source

    @property
    def graph(self) -> Any:
        """The most recent record's plan as a ``graphviz.Digraph`` (as ``ad.draw_graph(step)``)."""
        return self._plan("graph").draw()

    def _plan(self, what: str) -> Any:
        if self._last is None:
            raise RuntimeError(f"{what}: {self.name} has no record yet; call the step once first")
        return self._last

    def clear(self) -> None:
        """Forget every record (the next call records again)."""
        with self._lock:
            self._records.clear()
            self._last = None

    def __repr__(self) -> str:
        return f"<compiled step {self.name}: {len(self._records)} record(s), {self._replays} replay(s)>"


def _arrays_of(args: tuple[Any, ...]) -> list[np.ndarray]:
    leaves: list[Any] = []
    for a in args:
        _key(a, leaves)
    return [_data_slot.__get__(x, Tensor) if isinstance(x, Tensor) else x for x in leaves]


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and (
        np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes())


def _watch_stand_ins(recorder: Recorder, value: Any) -> None:
    if isinstance(value, Tensor):
        recorder.watch(value)
    elif isinstance(value, (tuple, list)):
        for item in value:
            _watch_stand_ins(recorder, item)
    elif isinstance(value, dict):
        for item in value.values():
            _watch_stand_ins(recorder, item)


_started_tracing = [0]


def _begin(step: CompiledStep) -> Recorder:
    """Make this thread record (the ops' seam on, tracemalloc on to see where arrays were made)."""
    global recording
    with _recording_lock:
        if _started_tracing[0]:
            _started_tracing[0] += 1
            trace = True
        elif tracemalloc.is_tracing():
            trace = False       # someone else traces: the call's arrays cannot be told from older ones
        else:
            tracemalloc.start(3)      # (two levels of numpy's Python, then the one that called it)
            _started_tracing[0] = 1
            trace = True
        recording += 1
        if recording == 1:
            _function.set_observer(_dispatch)
            for name, method in _RECORDING_METHODS.items():
                setattr(Tensor, name, method)
    recorder = Recorder(step, trace)
    _local.recorder = recorder
    return recorder


def _end(recorder: Recorder) -> None:
    global recording
    _local.recorder = None
    for tensor, cls in reversed(recorder.watched):
        tensor.__class__ = cls
    for node in recorder.ops:
        node.__dict__.pop("backward", None)
    with _recording_lock:
        recording -= 1
        if recording == 0:
            _function.set_observer(None)
            for name, method in _ORIGINALS.items():
                setattr(Tensor, name, method)
        if recorder.trace_arrays:
            _started_tracing[0] -= 1
            if not _started_tracing[0]:
                tracemalloc.stop()


def compile(fn: Callable[..., Any] | None = None, *, cache_size: int = 8) -> Any:
    """Compile a training step: ``step = ad.compile(fn)``, or ``@ad.compile`` over its definition.

    The first call with a given signature runs ``fn`` eagerly and records it; later calls with
    the same signature replay the record as numpy calls into preallocated buffers (the same
    values, bit for bit), without building tensors or a graph. ``fn`` may call
    ``optimizer.zero_grad()``, ``loss.backward()`` and ``optimizer.step()``; it must not read
    values (``.item()``, ``if`` on a tensor...), which raises ``ad.CompileError`` naming the line.
    See ``autodiff.compiler`` for the signature, what is assumed constant and what is refused.

    >>> import autodiff as ad, nn, optim, numpy as np
    >>> model = nn.Linear(3, 1)
    >>> opt = optim.SGD(model.parameters(), lr=0.1)
    >>> @ad.compile
    ... def step(x, y):
    ...     opt.zero_grad()
    ...     loss = ((model(x) - y) ** 2).mean()
    ...     loss.backward()
    ...     opt.step()
    ...     return loss
    >>> x, y = np.ones((4, 3), np.float32), np.zeros((4, 1), np.float32)
    >>> first, second = step(x, y).item(), step(x, y).item()
    >>> step.stats.replays
    1
    """
    if fn is None:
        return lambda f: CompiledStep(f, cache_size)
    return CompiledStep(fn, cache_size)


_TO_ARRAY_CODE = _to_array.__code__
