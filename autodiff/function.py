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

``forward`` receives the inputs' arrays (other arguments as given) and returns an array.
``backward`` receives the gradient of the output and returns one gradient per input. Write it
with operations that both ndarrays and Tensors understand (arithmetic, ``np`` ufuncs, ``.sum``,
``.reshape``...): it then runs on raw arrays in an ordinary backward, and on Tensors, building a
graph, under ``create_graph=True`` (higher-order gradients). Gradients of broadcast inputs are
summed back to the input's shape by the engine, in one place.

The instance made by ``apply`` is the context ``ctx`` and the graph node (the output's
``grad_fn``): it holds the nodes of its inputs (``next_functions``), never its output tensor.
"""
import traceback

import numpy as np

from .grad_mode import state
from .tensor import Tensor, _wrap

__all__ = ["Function"]

_OUTPUT = object()      # marks a saved array that is the op's own output
_new = object.__new__


class Function:
    """Base class of differentiable ops. Subclass it, define static ``forward(ctx, *inputs)`` and
    ``backward(ctx, grad_output)``, and call ``YourOp.apply(*inputs)``."""

    # node attributes the engine reads; instances override them only when they differ
    next_functions = ()     # per input: the input's node, the input itself (a leaf), or None
    input_meta = ()         # per input: (shape, dtype) of the input, or None
    needs_input_grad = ()   # per input: does it need a gradient
    saved = ()              # arrays saved by save_for_backward (None once freed)
    saved_sources = None    # per saved array: its input Tensor, _OUTPUT, or None (a constant)
    hooks = None            # gradient hooks registered on the output tensor
    retained = None         # weakref to the output tensor when it called retain_grad()
    scope = None            # ad.name_scope active when the node was made
    trace = None            # creation stack, recorded in anomaly mode only
    freed = False

    @staticmethod
    def forward(ctx, *inputs):
        raise NotImplementedError("a Function subclass must define forward(ctx, *inputs)")

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError("a Function subclass must define backward(ctx, grad_output)")

    def save_for_backward(self, *arrays):
        """Keep arrays (inputs, the output, or anything else) for backward."""
        self.saved = arrays

    @property
    def saved_tensors(self):
        """The saved arrays; under ``create_graph=True`` the same values as Tensors on the graph
        (inputs as the input tensors, the output as a tensor whose grad_fn is this node)."""
        saved = self.saved
        if saved is None:
            raise RuntimeError(
                f"{type(self).__name__}: trying to backward through the graph a second time; its saved "
                "values were freed by the first backward. Pass retain_graph=True to the first "
                "backward() (or ad.grad) if you need to go through the graph again.")
        if not state.grad_enabled or not saved:
            return saved
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

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run forward on the arrays of ``args`` and, when grad mode is on and an input requires
        grad, record the node for backward. Returns a Tensor."""
        ctx = _new(cls)
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        try:
            out = cls.forward(ctx, *arrays, **kwargs)
        except (ValueError, TypeError) as error:
            raise _explain(cls, arrays, error) from None
        if type(out) is not np.ndarray:
            out = _as_output_array(out, cls)
        if not state.grad_enabled or out.dtype.kind != "f":
            return _wrap(out)
        next_functions = None
        for i, a in enumerate(args):
            if isinstance(a, Tensor) and a._requires_grad:
                if next_functions is None:
                    next_functions = [None] * len(args)
                    input_meta = [None] * len(args)
                fn = a.grad_fn
                next_functions[i] = a if fn is None else fn
                input_meta[i] = (arrays[i].shape, arrays[i].dtype)
        if next_functions is None:
            return _wrap(out)
        ctx.next_functions = next_functions
        ctx.input_meta = input_meta
        ctx.needs_input_grad = [f is not None for f in next_functions]
        if ctx.saved:
            ctx.saved_sources = _saved_sources(ctx.saved, args, arrays, out)
        scope = state.scope
        if scope is not None:
            ctx.scope = scope
        if state.tracing:
            ctx.trace = traceback.extract_stack()[:-1]
            if state.record_inputs:
                ctx.recorded_inputs = (args, kwargs)
        return _wrap(out, True, ctx)

    def __repr__(self):
        return f"<{type(self).__name__}>"

    def creation_site(self):
        """'file:line in function' of the user's code that made this node (traced modes only)."""
        if not self.trace:
            return None
        package = __file__.rsplit("/", 1)[0]
        for frame in reversed(self.trace):
            if not frame.filename.startswith(package):
                return f"{frame.filename}:{frame.lineno} in {frame.name}"
        return None

    @property
    def name(self):
        return type(self).__name__


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


def _as_output_array(out, cls):
    if isinstance(out, Tensor):
        return out.data
    if isinstance(out, (np.generic, int, float, bool)):
        return np.asarray(out)
    raise TypeError(f"{cls.__name__}.forward must return a numpy array, got {type(out).__name__}")


def _saved_sources(saved, args, arrays, out):
    """Match each saved array to where it came from, so create_graph can use the graph's tensors."""
    sources = []
    for array in saved:
        source = None
        if array is out:
            source = _OUTPUT
        else:
            for a, data in zip(args, arrays):
                if data is array and isinstance(a, Tensor):
                    source = a
                    break
        sources.append(source)
    return sources
