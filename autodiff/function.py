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
``ctx.needs_input_grad`` (one bool per input) is already set, so it can save only what the
backward will use (as ``Mul`` does: PyTorch's rule, which also lets an unsaved input change in
place before the backward). ``backward`` receives the gradient of the output and returns one gradient per input. Write it
with operations that both ndarrays and Tensors understand (arithmetic, ``np`` ufuncs, ``.sum``,
``.reshape``...): it then runs on raw arrays in an ordinary backward, and on Tensors, building a
graph, under ``create_graph=True`` (higher-order gradients). Gradients of broadcast inputs are
summed back to the input's shape by the engine, in one place.

The instance made by ``apply`` is the context ``ctx`` and the graph node (the output's
``grad_fn``): it holds the nodes of its inputs (``next_functions``), never its output tensor,
and counts the nodes that consume its output (``uses``), which lets an ordinary backward
start walking at once, without a counting pass (see ``engine._run_plain``). The attributes the
engine reads on every op are slots (see the class); ``forward`` may set any other attribute on
``ctx`` for its backward, as in PyTorch.

Speed notes (measured; see benchmarks/): each op function and each class's ``apply`` has a code
object of its own (``_named``, ``_copy``), and a long-lived graph pauses the cyclic collector
(``_pause_gc``).
"""
import gc
import threading
import traceback
import types
import weakref

import numpy as np

from .grad_mode import state
from .tensor import Tensor, _user_site, _wrap, inplace_epoch

__all__ = ["Function"]

_OUTPUT = object()      # marks a saved array that is the op's own output
_SAME = "same as the output"    # input_meta entry of a built-in elementwise op: the input has the
                                # output's shape and dtype, so its gradient needs no fitting
_SAME_NONE, _NONE_SAME, _SAME_ONLY, _SAME_SAME = (_SAME, None), (None, _SAME), (_SAME,), (_SAME, _SAME)
_BOTH, _FIRST, _SECOND, _NEITHER = (True, True), (True, False), (False, True), (False, False)
_OUTPUT_ONLY = (_OUTPUT,)
_new = object.__new__
_UNCHECKED = 1 << 62    # a node's epoch when it saved no input or output: later than any in-place op
_new_tensor = Tensor.__new__


class Function:
    """Base class of differentiable ops. Subclass it, define static ``forward(ctx, *inputs)`` and
    ``backward(ctx, grad_output)``, and call ``YourOp.apply(*inputs)``."""

    # The node attributes the engine reads on every op are slots, set wherever a node is made
    # (``apply``, ``unary_op``, ``binary_op``, ``__init__``); a node with no __dict__ entries is
    # cheaper to make and to free.
    #   _edges: per input: the input's node, the input itself (a leaf that requires grad), or
    #       None; or None when input 0 is the only one that needs a gradient: that one is then in
    #       _edge0 alone. ``next_functions`` builds the tuple on demand. (One tuple less per node
    #       is one object less for Python's cyclic collector to walk again and again while a deep
    #       graph is being built: measured, ~0.3 µs per op on a 10^5-op chain.)
    #   input_meta: per input: (shape, dtype) of the input, _SAME, or None
    #   needs_input_grad: per input: does it need a gradient
    #   saved: arrays saved by save_for_backward (None once freed)
    #   saved_sources: per saved array: its input Tensor, _OUTPUT, or None (a constant); or None
    #   epoch: the in-place epoch when the node saved input or output arrays (the engine checks
    #       their versions only if an in-place op came later); _UNCHECKED when there is nothing to check
    #   uses: how many nodes take this node's output as an input (counted in forward)
    #   _straight: the node of input 0, when that is the only input that needs a gradient and it
    #       has the output's shape and dtype (built-in elementwise ops): an ordinary backward goes
    #       straight on to it (see engine._run_plain); None otherwise, and once hooks are added
    #   output_version: the output's version counter, when the output itself was saved; or None
    #   scope: the ad.name_scope (module path) active when the node was made, or None
    # The rare ones below live in the instance __dict__, with these class defaults.
    __slots__ = ("_edges", "_edge0", "input_meta", "needs_input_grad", "saved", "saved_tensors",
                 "saved_sources", "epoch", "uses", "_straight", "output_version", "scope",
                 "__dict__", "__weakref__")
    hooks = None            # gradient hooks registered on the output tensor
    special = False         # hooks or retained is set: the engine looks at them only then
    retained = None         # weakref to the output tensor when it called retain_grad()
    trace = None            # creation stack, recorded in anomaly mode only
    same_shape = False      # built-in elementwise op: the output has the input's shape and dtype
    fresh_grads = False     # a promise: backward returns, per input, a new array (or a view of
                            # one) that nothing else holds: not the incoming gradient, a view of
                            # it, another input's gradient or a saved array. A leaf then keeps it
                            # as its .grad without a copy or a check. It holds for the class that
                            # sets it: a subclass with a backward of its own does not inherit it

    def __init_subclass__(cls, **kwargs):
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
        if "apply" not in cls.__dict__ and getattr(cls.apply.__func__, "generic_apply", False):
            # Function.apply with a code object of its own (see _named: CPython specialises each
            # instruction for the types it meets, per code object); not when a parent class
            # defines its own apply, which the subclass inherits
            cls.apply = classmethod(_copy(Function.__dict__["apply"].__func__, cls))
            cls.apply.__func__.generic_apply = True

    def __init__(self):
        self._edges = self.input_meta = self.needs_input_grad = self.saved = ()
        self._edge0 = None
        self.saved_tensors = ()
        self.saved_sources = None
        self.epoch = _UNCHECKED
        self.uses = 0
        self._straight = None
        self.output_version = self.scope = None

    @staticmethod
    def forward(ctx, *inputs):
        raise NotImplementedError("a Function subclass must define forward(ctx, *inputs)")

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError("a Function subclass must define backward(ctx, grad_output)")

    @property
    def next_functions(self):
        """Per input: the input's node, the input itself (a leaf that requires grad), or None."""
        edges = self._edges
        if edges is None:
            edges = (self._edge0,) if len(self.input_meta) == 1 else (self._edge0, None)
        return edges

    @next_functions.setter
    def next_functions(self, edges):
        self._edges = tuple(edges)

    def save_for_backward(self, *arrays):
        """Keep arrays (inputs, the output, or anything else) for backward, as ``saved_tensors``."""
        self.saved = self.saved_tensors = arrays

    # In an ordinary backward ``saved_tensors`` is the saved arrays (a plain attribute: no cost);
    # under create_graph=True the engine swaps in ``unpack_saved()`` for the call.

    def unpack_saved(self):
        """The saved values as Tensors on the graph: inputs as the input tensors, the output as a
        tensor whose grad_fn is this node, anything else as a constant."""
        saved = self.saved
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
    def freed(self):
        """True once a backward without retain_graph has released this node's saved values."""
        return self.saved is None

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run forward on the arrays of ``args`` and, when grad mode is on and an input requires
        grad, record the node for backward. Returns a Tensor."""
        ctx = _new(cls)
        # the slots' defaults (as in Function.__init__), inline, before forward: forward may set
        # attributes of its own, and they are kept (as ``scope`` outside name scopes)
        ctx.saved = ctx.saved_tensors = ()
        ctx.saved_sources = ctx.output_version = ctx.scope = ctx._straight = None
        ctx.epoch = _UNCHECKED
        ctx.uses = 0
        # one pass over the arguments: arrays for forward, and the edges and input_meta the node
        # will have if it is recorded (the nodes it consumes count it only then)
        arrays = []
        needs = []
        edges = []
        input_meta = []
        consumed = []
        for a in args:
            if isinstance(a, Tensor):
                data = a.data
                arrays.append(data)
                if a._requires_grad:
                    needs.append(True)
                    source = a.grad_fn
                    if source is None:
                        edges.append(a)
                    else:
                        edges.append(source)
                        consumed.append(source)
                    input_meta.append((data.shape, data.dtype))
                    continue
            else:
                arrays.append(a)
            needs.append(False)
            edges.append(None)
            input_meta.append(None)
        ctx.needs_input_grad = needs = tuple(needs)    # forward may read it (to save less), as in PyTorch
        try:
            out = cls.forward(ctx, *arrays, **kwargs) if kwargs else cls.forward(ctx, *arrays)
        except (ValueError, TypeError) as error:
            raise _explain(cls, arrays, error) from None
        if type(out) is not np.ndarray:
            out = _as_output_array(out, cls, ctx)
        plain = state.plain     # grad mode on, no name scope, no tracing: the usual case
        if not plain:
            mode = state.mode   # the rest of the thread's state (one thread-local access)
        if True not in needs or not (plain or mode._grad_enabled) or out.dtype.kind != "f":
            return _wrap(out)
        for source in consumed:
            source.uses += 1
        ctx._edges = tuple(edges)
        ctx.input_meta = tuple(input_meta)
        countdown = _gc_countdown[0] - 1     # see _pause_gc
        _gc_countdown[0] = countdown
        if not countdown:
            _gc_countdown[0] = _GC_PAUSE_NODES
            _pause_gc(ctx)
        output = _wrap(out, True, ctx)
        if ctx.saved:
            _note_saved(ctx, output, out, args, arrays)
        if not plain:
            ctx.scope = mode.scope
            if mode.tracing:
                _annotate(ctx, args, kwargs, out)
        return output

    def __repr__(self):
        return f"<{type(self).__name__}>"

    def creation_site(self):
        """'file:line in function' of the user's code that made this node (traced modes only)."""
        return _user_site(self.trace) if self.trace else None

    @property
    def name(self):
        return type(self).__name__


Function.apply.__func__.generic_apply = True     # subclasses get their own copy (__init_subclass__)


def unary_op(cls, name=None, doc=None):
    """``cls.apply`` specialised for one tensor input and constant params: returns the function
    ``op(x, *params) -> Tensor``, the unary ops' fast path (``ad.tanh`` is ``unary_op(Tanh)``)."""
    forward = cls.forward
    same_shape = cls.same_shape
    countdown = _GC_PAUSE_NODES     # nodes this op may record until the next _pause_gc

    def op(x, *params):
        nonlocal countdown
        ctx = _new(cls)
        ctx.saved = ctx.saved_tensors = ()
        if isinstance(x, Tensor):
            data = x.data
            requires = x._requires_grad
        else:
            data = x
            requires = False
        try:
            out = forward(ctx, data, *params) if params else forward(ctx, data)
        except (ValueError, TypeError) as error:
            raise _explain(cls, (data,) + params, error) from None
        if type(out) is not np.ndarray:
            out = _as_output_array(out, cls, ctx)
        plain = state.plain     # grad mode on, no name scope, no tracing: the usual case
        if not plain:
            mode = state.mode   # the rest of the thread's state (one thread-local access)
        if not requires or not (plain or mode._grad_enabled) or (not same_shape and out.dtype.kind != "f"):
            return _wrap(out)
        # the slots' defaults (as in Function.__init__), inline on this hot path
        ctx.saved_sources = ctx.output_version = ctx.scope = None
        ctx.epoch = _UNCHECKED
        ctx.uses = 0
        source = x.grad_fn
        if source is None:
            source = x
            ctx._straight = None
        else:
            source.uses += 1
            ctx._straight = source if same_shape else None
        ctx._edges = None
        ctx._edge0 = source
        ctx.input_meta = _SAME_ONLY if same_shape else ((data.shape, data.dtype),)
        ctx.needs_input_grad = _FIRST
        countdown -= 1     # see _pause_gc
        if not countdown:
            countdown = _GC_PAUSE_NODES
            _pause_gc(ctx)
        output = _new_tensor(Tensor)     # _wrap(out, True, ctx), inline on this hot path
        output.data = out
        output.grad = output._hooks = output._counter = None
        output._requires_grad = True
        output.grad_fn = ctx
        output._retains_grad = False
        saved = ctx.saved
        if saved:
            if len(saved) == 1 and saved[0] is out:     # tanh, exp, sigmoid...: the output alone
                ctx.epoch = inplace_epoch[0]
                ctx.saved_sources = _OUTPUT_ONLY
                output._counter = ctx.output_version = [0, None, 0]
            elif len(saved) == 1 and saved[0] is data and x is not data:   # log, x * x...: the input
                ctx.epoch = inplace_epoch[0]
                ctx.saved_sources = (x,)
            else:
                _note_saved(ctx, output, out, (x,), (data,))
        if not plain:
            ctx.scope = mode.scope
            if mode.tracing:
                _annotate(ctx, (x,) + params, {}, out)
        return output

    return _named(op, name or cls.__name__.lower(), doc)


def binary_op(cls, name=None, doc=None, same_operand=None):
    """``cls.apply`` specialised for two operands (tensors, arrays or numbers): returns the function
    ``op(a, b) -> Tensor``, the binary ops' fast path (``Tensor.__mul__`` is ``binary_op(Mul)``).
    ``same_operand(a)``, if given, records ``op(a, a)`` for a tensor on the graph (``x * x``: one
    edge instead of two, see ops.MulSelf)."""
    forward = cls.forward
    same_shape = cls.same_shape
    countdown = _GC_PAUSE_NODES     # nodes this op may record until the next _pause_gc

    def op(a, b):
        nonlocal countdown
        ctx = _new(cls)
        ctx.saved = ctx.saved_tensors = ()
        kind = type(b)
        if (kind is float or kind is int) and type(a) is Tensor and same_shape and a._requires_grad:
            # the usual case, ``x * 2.0`` on the graph, in one stretch: the number becomes a cached
            # 0-d array of x's dtype (see _constant), and the output has x's shape and dtype (NEP
            # 50), so the engine needs no shape/dtype check of x's gradient (_SAME)
            data = a.data
            dtype = data.dtype
            constants = _float32_constants if dtype is _float32 else (
                _float64_constants if dtype is _float64 else None)
            plain = state.plain     # grad mode on, no name scope, no tracing: the usual case
            if not plain:
                mode = state.mode   # the rest of the thread's state (one thread-local access)
            if constants is not None and (plain or mode._grad_enabled):
                operand = constants.get(b)
                if operand is None:
                    operand = _constant(b, dtype)
                ctx.needs_input_grad = _FIRST
                try:
                    out = forward(ctx, data, operand)
                except (ValueError, TypeError) as error:
                    raise _explain(cls, (data, b), error) from None
                if type(out) is not np.ndarray:
                    out = _as_output_array(out, cls, ctx)
                ctx.saved_sources = ctx.output_version = ctx.scope = None
                ctx.epoch = _UNCHECKED
                ctx.uses = 0
                source = a.grad_fn
                if source is None:
                    source = a
                    ctx._straight = None
                else:
                    source.uses += 1
                    ctx._straight = source
                ctx._edges = None
                ctx._edge0 = source
                ctx.input_meta = _SAME_NONE
                countdown -= 1     # see _pause_gc
                if not countdown:
                    countdown = _GC_PAUSE_NODES
                    _pause_gc(ctx)
                output = _new_tensor(Tensor)     # _wrap(out, True, ctx), inline on this hot path
                output.data = out
                output.grad = output._hooks = output._counter = None
                output._requires_grad = True
                output.grad_fn = ctx
                output._retains_grad = False
                # nothing for the in-place checks: next to a number, the elementwise ops (Add, Sub,
                # Mul, Div) keep no input or output, only the number (tests/test_engine.py checks)
                if not plain:
                    ctx.scope = mode.scope
                    if mode.tracing:
                        _annotate(ctx, (a, b), {}, out)
                return output
        if a is b and same_operand is not None and isinstance(a, Tensor) and a._requires_grad:
            return same_operand(a)
        if isinstance(a, Tensor):
            data_a = a.data
            requires_a = a._requires_grad
        else:
            data_a = a
            requires_a = False
        if isinstance(b, Tensor):
            data_b = b.data
            requires_b = b._requires_grad
        else:
            data_b = b
            requires_b = False
        if requires_a:      # known before forward, which may save only what the backward needs
            ctx.needs_input_grad = needs = _BOTH if requires_b else _FIRST
        else:
            ctx.needs_input_grad = needs = _SECOND if requires_b else _NEITHER
        operand_a, operand_b = data_a, data_b
        # a number next to a float array: as a 0-d array of its dtype (see _constant)
        if same_shape:
            if kind is float or kind is int:
                if type(data_a) is np.ndarray and data_a.dtype.kind == "f":
                    operand_b = _constant(data_b, data_a.dtype)
            else:
                kind = type(data_a)
                if (kind is float or kind is int) and type(data_b) is np.ndarray and data_b.dtype.kind == "f":
                    operand_a = _constant(data_a, data_b.dtype)
        try:
            out = forward(ctx, operand_a, operand_b)
        except (ValueError, TypeError) as error:
            raise _explain(cls, (data_a, data_b), error) from None
        if type(out) is not np.ndarray:
            out = _as_output_array(out, cls, ctx)
        plain = state.plain
        if not plain:
            mode = state.mode
        if not (requires_a or requires_b) or not (plain or mode._grad_enabled) or (
                not same_shape and out.dtype.kind != "f"):
            return _wrap(out)
        # the slots' defaults (as in Function.__init__)
        ctx.saved_sources = ctx.output_version = ctx.scope = None
        ctx.epoch = _UNCHECKED
        ctx.uses = 0
        ctx._straight = None
        # a number operand (int, float) leaves an elementwise op's output with the tensor's shape
        # and dtype (NEP 50): then the engine needs no shape/dtype check of that input's gradient
        if needs is _BOTH:
            source_a = a.grad_fn
            if source_a is None:
                source_a = a
            else:
                source_a.uses += 1
            source_b = b.grad_fn
            if source_b is None:
                source_b = b
            else:
                source_b.uses += 1
            ctx._edges = (source_a, source_b)
            shape_a, dtype_a = data_a.shape, data_a.dtype
            if same_shape and shape_a == data_b.shape and dtype_a is data_b.dtype:
                ctx.input_meta = _SAME_SAME     # x * y of one shape and dtype: no fitting either
            else:
                ctx.input_meta = ((shape_a, dtype_a), (data_b.shape, data_b.dtype))
        elif requires_a:
            same = same_shape and (type(b) is float or type(b) is int)
            ctx.input_meta = _SAME_NONE if same else ((data_a.shape, data_a.dtype), None)
            source_a = a.grad_fn
            if source_a is None:
                source_a = a
            else:
                source_a.uses += 1
                if same:
                    ctx._straight = source_a
            ctx._edges = None
            ctx._edge0 = source_a
        else:
            ctx.input_meta = _NONE_SAME if same_shape and (type(a) is float or type(a) is int) \
                else (None, (data_b.shape, data_b.dtype))
            source_b = b.grad_fn
            if source_b is None:
                source_b = b
            else:
                source_b.uses += 1
            ctx._edges = (None, source_b)
        countdown -= 1     # see _pause_gc
        if not countdown:
            countdown = _GC_PAUSE_NODES
            _pause_gc(ctx)
        output = _new_tensor(Tensor)     # _wrap(out, True, ctx), inline on this hot path
        output.data = out
        output.grad = output._hooks = output._counter = None
        output._requires_grad = True
        output.grad_fn = ctx
        output._retains_grad = False
        saved = ctx.saved
        if saved:
            if len(saved) == 2 and saved[0] is not out and saved[1] is not out:     # x * y
                first, second = saved       # each: an input tensor's array, or a constant
                first = (a if first is data_a and a is not data_a else
                         b if first is data_b and b is not data_b else None)
                second = (b if second is data_b and b is not data_b else
                          a if second is data_a and a is not data_a else None)
                if first is not None or second is not None:    # else constants only: nothing to check
                    ctx.epoch = inplace_epoch[0]
                    ctx.saved_sources = (first, second)
            elif len(saved) == 1 and saved[0] is data_a and a is not data_a and out is not data_a:
                ctx.epoch = inplace_epoch[0]    # the first input alone (cross-entropy's logits)
                ctx.saved_sources = (a,)
            else:
                _note_saved(ctx, output, out, (a, b), (data_a, data_b))
        if not plain:
            ctx.scope = mode.scope
            if mode.tracing:
                _annotate(ctx, (a, b), {}, out)
        return output

    return _named(op, name or cls.__name__.lower(), doc)


def ternary_op(cls, name=None, doc=None):
    """``cls.apply`` specialised for three tensor inputs, the last of which may be None: returns
    ``op(a, b, c=None) -> Tensor``, the fast path of ``F.linear`` (x, weight, bias). Any other
    operand (an array, a number) takes ``cls.apply``. Measured on a linear layer, on top of the
    layer's own forward: about 1.3 µs instead of 2.9 µs."""
    forward = cls.forward
    apply = cls.apply
    countdown = _GC_PAUSE_NODES     # nodes this op may record until the next _pause_gc

    def op(a, b, c=None):
        nonlocal countdown
        if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
            return apply(a, b, c)
        if c is None:
            data_c = None
            requires_c = False
        elif isinstance(c, Tensor):
            data_c = c.data
            requires_c = c._requires_grad
        else:
            return apply(a, b, c)
        ctx = _new(cls)
        # the slots' defaults (as in Function.__init__), before forward, which may set its own
        ctx.saved = ctx.saved_tensors = ()
        ctx.saved_sources = ctx.output_version = ctx.scope = ctx._straight = None
        ctx.epoch = _UNCHECKED
        ctx.uses = 0
        data_a = a.data
        data_b = b.data
        requires_a = a._requires_grad
        requires_b = b._requires_grad
        ctx.needs_input_grad = (requires_a, requires_b, requires_c)
        try:
            out = forward(ctx, data_a, data_b, data_c)
        except (ValueError, TypeError) as error:
            raise _explain(cls, (data_a, data_b, data_c), error) from None
        if type(out) is not np.ndarray:
            out = _as_output_array(out, cls, ctx)
        plain = state.plain     # grad mode on, no name scope, no tracing: the usual case
        if not plain:
            mode = state.mode   # the rest of the thread's state (one thread-local access)
        if not (requires_a or requires_b or requires_c) or not (plain or mode._grad_enabled) or (
                out.dtype.kind != "f"):
            return _wrap(out)
        if requires_a:
            source_a = a.grad_fn
            if source_a is None:
                source_a = a
            else:
                source_a.uses += 1
            meta_a = (data_a.shape, data_a.dtype)
        else:
            source_a = meta_a = None
        if requires_b:
            source_b = b.grad_fn
            if source_b is None:
                source_b = b
            else:
                source_b.uses += 1
            meta_b = (data_b.shape, data_b.dtype)
        else:
            source_b = meta_b = None
        if requires_c:
            source_c = c.grad_fn
            if source_c is None:
                source_c = c
            else:
                source_c.uses += 1
            meta_c = (data_c.shape, data_c.dtype)
        else:
            source_c = meta_c = None
        ctx._edges = (source_a, source_b, source_c)
        ctx.input_meta = (meta_a, meta_b, meta_c)
        countdown -= 1     # see _pause_gc
        if not countdown:
            countdown = _GC_PAUSE_NODES
            _pause_gc(ctx)
        output = _new_tensor(Tensor)     # _wrap(out, True, ctx), inline on this hot path
        output.data = out
        output.grad = output._hooks = output._counter = None
        output._requires_grad = True
        output.grad_fn = ctx
        output._retains_grad = False
        saved = ctx.saved
        if saved:
            if (len(saved) == 2 and saved[0] is data_a and saved[1] is data_b and out is not data_a
                    and out is not data_b):
                ctx.epoch = inplace_epoch[0]    # x and weight, as Linear saves them
                ctx.saved_sources = (a, b)
            else:
                _note_saved(ctx, output, out, (a, b, c), (data_a, data_b, data_c))
        if not plain:
            ctx.scope = mode.scope
            if mode.tracing:
                _annotate(ctx, (a, b, c), {}, out)
        return output

    return _named(op, name or cls.__name__.lower(), doc)


# Python's cyclic collector and large graphs. Every node is an object the collector tracks, and
# while a graph of 10^5 or 10^6 nodes is being built, CPython's full collections walk all of it
# again and again (each time the tracked objects grow by a quarter): measured, 0.3 µs per op at
# 10^5 ops and 0.8 µs at 10^6, against 1.5 µs for the op itself. A graph holds no reference
# cycles (nodes point to their inputs only), so walking it finds nothing to free. Every
# _GC_PAUSE_NODES nodes that one op function (or Function.apply, all classes together) records,
# the call that records one defers the full collections until that node is freed (by reference
# counting, when the graph dies): the collector's third threshold is set out of reach, and put
# back then. Young garbage is still collected as usual; old garbage with reference cycles waits
# (a full collection every 2·10^6 nodes recorded meanwhile bounds that, for programs that keep
# their graphs alive). gc.disable() and gc.collect() work as ever.
_GC_PAUSE_NODES = 20_000
_gc_countdown = [_GC_PAUSE_NODES]    # nodes Function.apply may record until the next _pause_gc
                                     # (the op functions each count their own)
_gc_pauses = [0]                     # nodes deferring the full collections, still alive
_gc_threshold = [0]                  # the collector's third threshold, to put back
_gc_lock = threading.Lock()          # threads may record and free graphs concurrently


def _pause_gc(node):
    """Defer the collector's full collections until ``node`` is freed (see _GC_PAUSE_NODES)."""
    with _gc_lock:
        pauses = _gc_pauses[0]
        if not pauses:
            first, second, _gc_threshold[0] = gc.get_threshold()
            gc.set_threshold(first, second, 1 << 30)
        _gc_pauses[0] = pauses + 1
    weakref.finalize(node, _resume_gc)
    if pauses and pauses % 100 == 0:
        # 2·10^6 nodes (a program that keeps its graphs, say): one full collection, so that old
        # garbage with reference cycles cannot pile up without bound (outside the lock: the
        # collection may free paused nodes, whose finalizers take it)
        gc.collect()


def _resume_gc():
    with _gc_lock:
        _gc_pauses[0] -= 1
        if not _gc_pauses[0]:
            first, second, _ = gc.get_threshold()
            gc.set_threshold(first, second, _gc_threshold[0])


def _copy(function, cls):
    """``function`` with a code object of its own, named for ``cls``."""
    code = function.__code__.replace(co_qualname=f"{cls.__qualname__}.{function.__name__}")
    return types.FunctionType(code, function.__globals__, function.__name__, function.__defaults__)


def _named(op, name, doc):
    """Give the op function its name, and a code object of its own: CPython specialises each
    instruction for the types it meets (``ctx.saved`` on a Mul node, ``forward`` being
    Mul.forward), so ops sharing one code object would keep undoing each other's specialisation
    in a mixed sequence (measured: a third slower per op)."""
    op.__name__ = op.__qualname__ = name
    op.__code__ = op.__code__.replace(co_name=name)
    op.__doc__ = doc
    return op


def _note_saved(ctx, output, out, args, arrays):
    """Note where each array the node saved came from, for the in-place checks at backward
    (``saved_sources``): an input tensor (one of ``args``, whose arrays are ``arrays``), the
    output (which then gets a version counter of its own), or None (a constant or a plain array).
    A node that saved only constants notes nothing."""
    sources = []
    noted = False
    for saved in ctx.saved:
        source = None
        if saved is out:
            source = _OUTPUT
            if ctx.output_version is None:
                ctx.output_version = output._counter = [0, None, 0]
        else:
            for a, data in zip(args, arrays):
                if data is saved and a is not data:     # an input tensor's array
                    source = a
                    break
        if source is not None:
            noted = True
        sources.append(source)
    if noted:
        ctx.epoch = inplace_epoch[0]
        ctx.saved_sources = tuple(sources)


_fast_paths = {}
_float32, _float64 = np.dtype(np.float32), np.dtype(np.float64)
_float32_constants, _float64_constants = {}, {}     # number -> read-only 0-d array of that dtype
_constants = {_float32: _float32_constants, _float64: _float64_constants}   # dtype -> such a table


def _constant(number, dtype):
    """A Python number as a read-only 0-d array of ``dtype``, cached. The result of ``x * 1.5`` is
    the same (NEP 50 casts the number to x's dtype), but numpy handles a 0-d array operand in
    half the time of a Python number, in the forward and again in the backward (``grad * 1.5``)."""
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


def apply1(cls, x, *params):
    """``cls.apply(x, *params)`` for one tensor input and constant params, by ``unary_op(cls)``."""
    op = _fast_paths.get(cls)
    if op is None:
        op = _fast_paths[cls] = unary_op(cls)
    return op(x, *params)


def apply2(cls, a, b):
    """``cls.apply(a, b)`` for two operands, by ``binary_op(cls)``."""
    op = _fast_paths.get(cls)
    if op is None:
        op = _fast_paths[cls] = binary_op(cls)
    return op(a, b)


def _annotate(ctx, args, kwargs, out):
    """The extras of traced modes (anomaly mode, gradcheck's localization): the creation stack,
    and the inputs when asked."""
    if _SAME in ctx.input_meta:     # spell the shapes out for the messages of traced modes
        ctx.input_meta = tuple((out.shape, out.dtype) if m is _SAME else m for m in ctx.input_meta)
    ctx.trace = traceback.extract_stack()[:-2]
    if state.record_inputs:
        ctx.recorded_inputs = (args, kwargs)
    if state.anomaly:
        from .anomaly import record_forward
        record_forward(ctx, args, out)


def _explain(cls, arrays, error):
    """Say which op failed and on what shapes/dtypes, for numpy's broadcasting and type errors."""
    message = str(error)
    described = ", ".join(f"{a.shape} {a.dtype}" if isinstance(a, np.ndarray) else repr(a)
                          for a in arrays if isinstance(a, (np.ndarray, int, float, complex, str))
                          or a is None)
    op = cls.__name__.lower()
    if "could not be broadcast" in message:
        shapes = " and ".join(str(a.shape) for a in arrays if isinstance(a, np.ndarray))
        return ValueError(f"{op}: shapes {shapes} do not broadcast (numpy's rules: trailing axes must "
                          "match or be 1); reshape or unsqueeze one operand")
    if "ufunc" in message or "unsupported operand" in message or "not supported for" in message:
        return TypeError(f"{op}: cannot apply to operands ({described}): {message}")
    return error


def _as_output_array(out, cls, ctx):
    """forward's result as an ndarray; numpy gives scalars for 0-d results, and an output that was
    saved as such a scalar is re-pointed at the array, so it is still known as the output."""
    if isinstance(out, Tensor):
        array = out.data
    elif isinstance(out, (np.generic, int, float, bool)):
        array = np.asarray(out)
    else:
        raise TypeError(f"{cls.__name__}.forward must return a numpy array, got {type(out).__name__}")
    saved = ctx.saved
    if saved:
        for s in saved:
            if s is out:
                ctx.saved = ctx.saved_tensors = tuple(array if s is out else s for s in saved)
                break
    return array
