"""Grad modes: the per-thread state that decides whether ops record a graph, and its one owner.

The state of a thread is a ``_Mode`` (grad mode, the current ``ad.name_scope``, anomaly mode,
tracing) plus one derived flag, ``state.plain``:

    plain = grad mode on  and  no name scope  and  not tracing

Every op reads ``state.plain`` first: when it is true (the usual case) a node is recorded with
nothing else to look up. ``_refresh`` is the only place that computes it, and every change of
the state goes through a function of this module (``suspend``/``restore``, ``enter_scope``/
``exit_scope``, ``set_tracing``/``restore_tracing``, the context managers), which calls it. Other
modules read ``state.plain`` and ``state.mode`` but never write them.
"""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable, Literal, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "name_scope"]


class _Mode:
    """One thread's grad-mode state (read it as ``state.mode``; change it through this module)."""

    __slots__ = ("grad_enabled", "scope", "anomaly", "tracing", "record_inputs")

    def __init__(self) -> None:
        self.grad_enabled = True    # ops record a graph (ad.no_grad() turns it off)
        self.scope: str | None = None  # "mlp.0" style path of the innermost ad.name_scope, or None
        self.anomaly = False        # ad.detect_anomaly() is active
        self.tracing = False        # nodes record their creation stack (anomaly mode, gradcheck)
        self.record_inputs = False  # nodes keep their inputs (gradcheck's localization)


class _State(threading.local):
    """Per thread: ``plain`` (see the module docstring) and ``mode``, the rest of the state.

    ``plain`` is an attribute of its own because every op reads it; the rest lives in ``mode``,
    a plain object that code needing several fields fetches once (a thread-local attribute costs
    several times an ordinary one)."""

    plain = True            # the default every new thread starts from

    def __init__(self) -> None:     # (threading.local calls it once in every thread)
        self.mode = _Mode()


state = _State()


def _refresh(mode: _Mode) -> None:
    """Recompute ``state.plain`` from ``mode`` (the thread's state): the one place that does."""
    state.plain = mode.grad_enabled and mode.scope is None and not mode.tracing


def is_grad_enabled() -> bool:
    """True when operations record a graph for backward (the default)."""
    return state.mode.grad_enabled


def set_enabled(enabled: bool) -> bool:
    """Turn grad mode on or off for this thread; returns the previous setting (for ``restore``)."""
    mode = state.mode
    previous = mode.grad_enabled
    mode.grad_enabled = bool(enabled)
    _refresh(mode)
    return previous


def suspend() -> bool:
    """Turn grad mode off (the backward walk, an optimizer's step); returns what ``restore`` needs."""
    mode = state.mode
    previous = mode.grad_enabled
    mode.grad_enabled = state.plain = False     # (_refresh, knowing that grad mode is off)
    return previous


def restore(previous: bool) -> None:
    """Put back the grad mode that ``suspend`` or ``set_enabled`` returned."""
    mode = state.mode
    mode.grad_enabled = previous
    _refresh(mode)


def enter_scope(name: str) -> str | None:
    """Open scope ``name`` inside the current one (``ad.name_scope``, every ``nn.Module`` call);
    returns what ``exit_scope`` restores."""
    mode = state.mode
    previous = mode.scope
    mode.scope = name if previous is None else previous + "." + name
    state.plain = False     # _refresh(mode), knowing that a scope is now open
    return previous


def exit_scope(previous: str | None) -> None:
    """Close the scope that ``enter_scope`` opened (``previous`` is what it returned)."""
    mode = state.mode
    mode.scope = previous
    if previous is None:    # (inside an outer scope, plain stays False)
        _refresh(mode)


def run_in_scope(name: str, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``fn(*args, **kwargs)`` inside scope ``name`` (what ``nn.Module.__call__`` does)."""
    mode = state.mode
    previous = mode.scope
    mode.scope = name if previous is None else previous + "." + name
    state.plain = False     # _refresh(mode), knowing that a scope is now open
    try:
        return fn(*args, **kwargs) if kwargs else fn(*args)
    finally:
        mode.scope = previous
        if previous is None:    # _refresh(mode), knowing that no scope is open (in one, plain stays False)
            state.plain = mode.grad_enabled and not mode.tracing


def set_tracing(tracing: bool, anomaly: bool | None = None,
                record_inputs: bool | None = None) -> tuple[bool, bool, bool]:
    """Turn creation stacks on or off (and, when given, anomaly checks and input recording);
    returns what ``restore_tracing`` restores."""
    mode = state.mode
    previous = (mode.tracing, mode.anomaly, mode.record_inputs)
    mode.tracing = bool(tracing)
    if anomaly is not None:
        mode.anomaly = bool(anomaly)
    if record_inputs is not None:
        mode.record_inputs = bool(record_inputs)
    _refresh(mode)
    return previous


def restore_tracing(previous: tuple[bool, bool, bool]) -> None:
    """Put back what ``set_tracing`` returned."""
    mode = state.mode
    mode.tracing, mode.anomaly, mode.record_inputs = previous
    _refresh(mode)


class _GradModeContext:
    """Context manager and decorator that sets the grad mode, restoring the previous one on exit."""

    __slots__ = ("enabled", "previous")

    def __init__(self, enabled: bool) -> None:
        self.enabled = bool(enabled)
        self.previous: list[bool] = []

    def __enter__(self) -> _GradModeContext:
        self.previous.append(set_enabled(self.enabled))
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        restore(self.previous.pop())
        return False

    def __call__(self, fn: _F) -> _F:
        enabled = self.enabled

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _GradModeContext(enabled):
                return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]  # (functools.wraps keeps fn's signature)


def no_grad() -> _GradModeContext:
    """Disable graph recording: ``with ad.no_grad(): ...`` or ``@ad.no_grad()``.

    >>> import autodiff as ad
    >>> x = ad.tensor([1.0], requires_grad=True)
    >>> with ad.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """
    return _GradModeContext(False)


def enable_grad() -> _GradModeContext:
    """Enable graph recording inside a ``no_grad`` region (context manager or decorator)."""
    return _GradModeContext(True)


class set_grad_enabled(_GradModeContext):
    """Set grad mode to ``mode``: as a function call it takes effect at once, as a context manager
    it is restored on exit (PyTorch's semantics)."""

    __slots__ = ()

    def __init__(self, mode: bool) -> None:
        super().__init__(mode)
        # the call itself switches the mode; __enter__ then only remembers what to restore
        self.previous.append(set_enabled(self.enabled))

    def __enter__(self) -> set_grad_enabled:
        return self

    def __call__(self, fn: _F) -> _F:
        # as a decorator it applies during calls only: undo the switch the constructor made
        restore(self.previous.pop())
        return super().__call__(fn)


class name_scope:
    """Tag the graph nodes created inside with ``name`` (nested scopes join with '.').

    ``nn.Module.__call__`` opens one per module so graph pictures can group nodes by module.
    """

    __slots__ = ("name", "previous")

    def __init__(self, name: object) -> None:
        self.name = str(name)
        self.previous: str | None = None

    def __enter__(self) -> name_scope:
        self.previous = enter_scope(self.name)
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        exit_scope(self.previous)
        return False
