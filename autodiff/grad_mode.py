"""Grad modes: thread-local state, read first through one flag (``state.plain``) by every op.

Also holds the other per-thread engine state: the current name scope (issue: graph pictures group
nodes by module) and whether anomaly mode records creation tracebacks.
"""
import functools
import threading

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "name_scope"]


class _Mode:
    """One thread's grad-mode state, a plain object (see _State)."""

    __slots__ = ("_grad_enabled", "scope", "anomaly", "tracing", "record_inputs")

    def __init__(self):
        self._grad_enabled = True
        self.scope = None           # "mlp.0" style path of the innermost ad.name_scope, or None
        self.anomaly = False        # ad.detect_anomaly() active
        self.tracing = False        # record creation stacks (anomaly mode, gradcheck's localization)
        self.record_inputs = False  # nodes keep their inputs (gradcheck's localization)


def _in_mode(name):
    """A _State attribute that lives in the thread's _Mode."""
    return property(lambda self: getattr(self.mode, name), lambda self, value: setattr(self.mode, name, value))


class _State(threading.local):
    """The per-thread state. ``plain`` (grad mode on, no name scope, no tracing), which every op
    reads first, is an attribute of its own; the rest lives in ``mode``, a plain object, which
    code that reads or writes several fields fetches once: a thread-local access costs about five
    plain ones (45 vs 9 ns). ``state.scope`` and the like still work, through ``mode``."""

    plain = True            # the default every new thread starts from

    def __init__(self):     # (threading.local calls it once in every thread)
        self.mode = _Mode()

    _grad_enabled = _in_mode("_grad_enabled")
    scope = _in_mode("scope")
    anomaly = _in_mode("anomaly")
    tracing = _in_mode("tracing")
    record_inputs = _in_mode("record_inputs")

    @property
    def grad_enabled(self):
        return self.mode._grad_enabled

    @grad_enabled.setter
    def grad_enabled(self, enabled):
        mode = self.mode
        mode._grad_enabled = enabled
        self.plain = enabled and mode.scope is None and not mode.tracing

    def refresh(self):
        mode = self.mode
        self.plain = mode._grad_enabled and mode.scope is None and not mode.tracing


state = _State()


def is_grad_enabled():
    """True when operations record a graph for backward (the default)."""
    return state.grad_enabled


class _GradModeContext:
    """Context manager and decorator that sets the grad mode, restoring the previous one on exit."""

    __slots__ = ("mode", "previous")

    def __init__(self, mode):
        self.mode = bool(mode)
        self.previous = []

    def __enter__(self):
        self.previous.append(state._grad_enabled)
        state.grad_enabled = self.mode
        return self

    def __exit__(self, *exc):
        state.grad_enabled = self.previous.pop()
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with _GradModeContext(mode):
                return fn(*args, **kwargs)
        return wrapper


def no_grad():
    """Disable graph recording: ``with ad.no_grad(): ...`` or ``@ad.no_grad()``.

    >>> import autodiff as ad
    >>> x = ad.tensor([1.0], requires_grad=True)
    >>> with ad.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """
    return _GradModeContext(False)


def enable_grad():
    """Enable graph recording inside a ``no_grad`` region (context manager or decorator)."""
    return _GradModeContext(True)


class set_grad_enabled(_GradModeContext):
    """Set grad mode to ``mode``: as a function call it takes effect at once, as a context manager
    it is restored on exit (PyTorch's semantics)."""

    __slots__ = ()

    def __init__(self, mode):
        super().__init__(mode)
        # the call itself switches the mode; __enter__ then only remembers what to restore
        self.previous.append(state.grad_enabled)
        state.grad_enabled = self.mode

    def __enter__(self):
        return self

    def __call__(self, fn):
        # as a decorator it applies during calls only: undo the switch the constructor made
        state.grad_enabled = self.previous.pop()
        return super().__call__(fn)


class name_scope:
    """Tag the graph nodes created inside with ``name`` (nested scopes join with '.').

    ``nn.Module.__call__`` opens one per module so graph pictures can group nodes by module.
    """

    __slots__ = ("name", "previous")

    def __init__(self, name):
        self.name = str(name)
        self.previous = None

    def __enter__(self):
        self.previous = enter_scope(self.name)
        return self

    def __exit__(self, *exc):
        exit_scope(self.previous)
        return False


def enter_scope(name):
    """Open scope ``name`` inside the current one; returns what ``exit_scope`` restores."""
    mode = state.mode
    previous = mode.scope
    mode.scope = name if previous is None else previous + "." + name
    state.plain = False
    return previous


def exit_scope(previous):
    mode = state.mode
    mode.scope = previous
    state.plain = mode._grad_enabled and previous is None and not mode.tracing   # refresh(), inline
