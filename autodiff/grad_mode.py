"""Grad modes: one thread-local flag, read in one place (``Function.apply``).

Also holds the other per-thread engine state: the current name scope (issue: graph pictures group
nodes by module) and whether anomaly mode records creation tracebacks.
"""
import functools
import threading

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "name_scope"]


class _State(threading.local):
    # class attributes are the defaults every new thread starts from
    _grad_enabled = True
    scope = None          # "mlp.0" style path of the innermost ad.name_scope, or None
    anomaly = False       # ad.detect_anomaly() active
    tracing = False       # record creation stacks (anomaly mode, gradcheck's localization)
    record_inputs = False  # nodes keep their inputs (gradcheck's localization)

    plain = True          # grad mode on, no scope, no tracing: what ops check first (one read)

    @property
    def grad_enabled(self):
        return self._grad_enabled

    @grad_enabled.setter
    def grad_enabled(self, mode):
        self._grad_enabled = mode
        self.plain = mode and self.scope is None and not self.tracing

    def refresh(self):
        self.plain = self._grad_enabled and self.scope is None and not self.tracing


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
    previous = state.scope
    state.scope = name if previous is None else previous + "." + name
    state.plain = False
    state.plain = False
    return previous


def exit_scope(previous):
    state.scope = previous
    state.plain = state._grad_enabled and previous is None and not state.tracing   # refresh(), inline
