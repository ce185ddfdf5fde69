"""Optimizer: the base class that holds parameter groups and per-parameter state.

Subclasses write one method, ``_update(param, grad, state, group, scratch)``, that applies their
rule in place to ``param.data`` (and may override ``_prepare_group`` to read a group's
hyper-parameters once per step rather than once per parameter); the base class walks the groups,
skips parameters without a gradient, runs everything under ``ad.no_grad()`` and handles
``zero_grad`` and the state dict.
"""
from __future__ import annotations

import copy
import numbers
import types
from typing import Any, Callable, Iterable, Mapping, TypeVar, Union, overload

import numpy as np

from autodiff import Tensor, enable_grad, grad_mode
from autodiff.compiler import replayed
from autodiff.tensor import bump_version, new_epoch

__all__ = ["Optimizer", "ParameterError"]

# what an optimizer optimizes: tensors, or parameter-group dicts {"params": tensors, "lr": ...}
Params = Union[Iterable[Tensor], Iterable[dict[str, Any]]]
# per parameter shape and layout: two work arrays an update may overwrite
Scratch = tuple[np.ndarray, np.ndarray]
_T = TypeVar("_T")


class ParameterError(TypeError, ValueError):
    """A wrong kind of thing in the parameter list (not a tensor, an integer tensor, ...).

    It is both a ``TypeError`` (what PyTorch raises for these) and a ``ValueError`` (what this
    project raises for every bad constructor argument), so either ``except`` catches it.
    """


def _describe(value: object) -> str:
    return f"a {type(value).__name__}" if not isinstance(value, Tensor) else f"a {value.dtype} tensor"


def check_number(group: Mapping[str, Any], name: str, owner: str, low: float = 0.0, high: float | None = None,
                 high_open: bool = False, hint: str = "") -> None:
    """Raise a ValueError naming ``name`` unless ``group[name]`` is a real number in range."""
    value = group[name]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{owner}: {name} must be a number, got {value!r}")
    # (type: ignore: typeshed's numbers.Real declares < and <= but not >= and >)
    too_high = high is not None and (value >= high if high_open else value > high)  # type: ignore[operator]
    if not value >= low or too_high:  # type: ignore[operator]  # `not >=` also catches nan
        if high is None:
            wanted = f">= {low}"
        else:
            wanted = f"in [{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{owner}: {name} must be {wanted}, got {value!r}" + (f"; {hint}" if hint else ""))


class Optimizer:
    """Base class of all optimizers: updates a list of tensors from their ``.grad``.

    ``params`` is an iterable of tensors, or of dicts ``{"params": [...], "lr": ..., ...}`` that
    make parameter groups with their own hyper-parameters (missing ones come from ``defaults``).

    Attributes:
        param_groups: list of dicts, each with ``"params"`` (a list of tensors) and every
            hyper-parameter of the optimizer; schedulers change ``group["lr"]`` here.
        defaults: the hyper-parameters given to the constructor.
        state: dict from parameter tensor to a dict of its running statistics (numpy arrays
            and Python numbers), created at the parameter's first update.
    """

    def __init__(self, params: Params, defaults: Mapping[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        # (shape, strides, dtype) -> work arrays reused across steps; not state
        self._scratch: dict[tuple[Any, ...], Scratch] = {}
        name = type(self).__name__
        if isinstance(params, (Tensor, dict)):
            raise ParameterError(
                f"{name}: params must be an iterable of tensors or of parameter-group dicts, got "
                f"{_describe(params) if isinstance(params, Tensor) else 'a dict'}; wrap it in a list: "
                f"{name}([param], ...) or {name}([{{'params': [...]}}], ...)")
        # a generator that has already run to its end (model.parameters() given to an earlier
        # optimizer) yields nothing: say so, rather than "empty" with no cause
        spent = isinstance(params, types.GeneratorType) and params.gi_frame is None
        try:
            param_groups: list[Any] = list(params)
        except TypeError:
            raise ParameterError(f"{name}: params must be an iterable of tensors, got {_describe(params)}; "
                                 f"pass a list such as model.parameters()") from None
        if not param_groups and spent:
            raise ValueError(f"{name}: got an empty parameter list because the generator passed as params "
                             "was already consumed: model.parameters() is a generator, which can be iterated "
                             "only once, and something (another optimizer?) used it up. Pass "
                             "list(model.parameters()) to share one list, or call model.parameters() again")
        if not param_groups:
            raise ValueError(f"{name}: got an empty parameter list; pass the tensors to optimize "
                             "(if you froze everything, there is nothing to train)")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ---- groups ---------------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters (the others from ``defaults``).

        Useful to start training layers that were frozen: ``opt.add_param_group({"params":
        layer.parameters(), "lr": 1e-4})``.
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise ParameterError(f"{name}: a parameter group must be a dict with a 'params' key, got "
                                 f"{_describe(param_group)}; pass either a list of tensors or a list of dicts")
        if "params" not in param_group:
            raise ValueError(f"{name}: parameter group {param_group!r} has no 'params' key; "
                             "write {'params': [tensors...], ...}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise ParameterError(f"{name}: parameters must be an ordered sequence, not a set (the order of "
                                 "a set changes between runs, so the state dict could not be matched); "
                                 "pass a list")
        else:
            params = list(params)
        group = dict(param_group)
        # model.named_parameters(): (name, tensor) pairs, kept as PyTorch's "param_names"
        if params and all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in params):
            group["param_names"] = [p[0] for p in params]
            params = [p[1] for p in params]
        group["params"] = params

        existing = {p for g in self.param_groups for p in g["params"]}
        seen = set()
        for i, p in enumerate(params):
            where = f"parameter {i} of group {len(self.param_groups)}"
            if not isinstance(p, Tensor):
                hint = (" (parameters are all (name, tensor) pairs, as named_parameters() gives, or all "
                        "tensors, not a mix)" if isinstance(p, tuple) else "")
                raise ParameterError(f"{name}: {where} is {_describe(p)}, not an autodiff Tensor; "
                                     f"make it with ad.tensor(..., requires_grad=True){hint}")
            if p.dtype.kind != "f":
                raise ParameterError(f"{name}: {where} has dtype {p.dtype}; only floating-point tensors can "
                                     "be optimized: convert it with .float() or .double() before making it a parameter")
            if p.grad_fn is not None:
                raise ValueError(f"{name}: {where} is not a leaf tensor (it was computed by "
                                 f"{type(p.grad_fn).__name__}), so it can't be updated in place; pass the tensor "
                                 "you created, or x.detach().requires_grad_()")
            if p in seen:
                raise ValueError(f"{name}: {where} appears twice in the group; each parameter may be "
                                 "listed only once (it would be updated twice per step)")
            if p in existing:
                raise ValueError(f"{name}: {where} is already in another parameter group; each parameter "
                                 "may belong to only one group")
            seen.add(p)
        for key, default in self.defaults.items():
            group.setdefault(key, default)
        self._check_group(group)
        self.param_groups.append(group)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # a subclass's own step or zero_grad is repeated by a compiled step too (see replayed)
        for name in ("step", "zero_grad"):
            method = cls.__dict__.get(name)
            if method is not None and not hasattr(method, "replayed"):
                setattr(cls, name, replayed(method))

    def _check_group(self, group: dict[str, Any]) -> None:
        """Validate a group's hyper-parameters (raise ValueError naming the bad one). Per subclass."""

    # ---- gradients ------------------------------------------------------------------------------
    @replayed       # ad.compile: a compiled step that calls it calls it again at every replay
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters.

        ``set_to_none=True`` (default) drops them (``p.grad = None``: less memory, and the next
        backward writes instead of adds); ``set_to_none=False`` sets the existing arrays to zero
        in place, so references to ``p.grad.data`` stay valid.
        """
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif grad.grad_fn is not None or grad.requires_grad or not grad.data.flags.writeable:
                    # a gradient on a graph (create_graph=True) may share its array with that graph
                    p.grad = Tensor(np.zeros_like(grad.data))
                else:
                    grad.data.fill(0)

    # ---- the update -----------------------------------------------------------------------------
    @overload
    def step(self, closure: None = None) -> None: ...
    @overload
    def step(self, closure: Callable[[], _T]) -> _T: ...

    @replayed       # ad.compile: repeated at every replay, with the hyper-parameters of then
    def step(self, closure: Callable[[], _T] | None = None) -> _T | None:
        """Update every parameter that has a gradient, in place; return ``closure()``'s value.

        ``closure`` (optional) re-evaluates the model and returns the loss; it runs under
        ``ad.enable_grad()`` (so it may call ``backward``) before the update. Parameters whose
        ``.grad`` is None are skipped, so frozen layers stay frozen.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        # under no_grad: the updates run on arrays, but a subclass's may use tensor ops
        previous = grad_mode.suspend()
        try:
            for group in self.param_groups:
                self._step_group(group)
        finally:
            grad_mode.restore(previous)
        return loss

    def _step_group(self, group: dict[str, Any]) -> None:
        """Update the parameters of ``group`` that have a gradient: ``_update`` on each. The
        update is an in-place change: each parameter's version is bumped (in one new epoch for
        the step), so a graph that saved a parameter before this step refuses to backward."""
        options = self._prepare_group(group)     # once per group, not per parameter
        update = self._update
        buffers = self._buffers if self.wants_scratch else None
        states = self.state
        epoch, writer = new_epoch()
        for p in group["params"]:
            grad = p.grad
            if grad is None:
                continue
            param = p.data
            grad = grad.data if type(grad) is Tensor or isinstance(grad, Tensor) else np.asarray(grad)
            if grad.shape != param.shape:
                raise self._shape_error(param, grad)
            state = states.get(p)
            if state is None:
                state = states[p] = {}
            bump_version(p, epoch, writer)     # before the update, which may fail half way
            if buffers is None:
                update(param, grad, state, options, None)
            else:
                update(param, grad, state, options, buffers(param))

    def _shape_error(self, param: np.ndarray, grad: np.ndarray) -> ValueError:
        return ValueError(f"{type(self).__name__}.step: a parameter of shape {param.shape} has a gradient "
                          f"of shape {grad.shape}; its .grad must have the parameter's shape")

    def _prepare_group(self, group: dict[str, Any]) -> Any:
        """What ``_update`` receives as ``group``: the group dict itself unless a subclass reads its
        hyper-parameters once per step here (converted to floats, say) instead of per parameter."""
        return group

    wants_scratch = True    # _update gets work arrays (False: it asks self._buffers when needed)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: Any,
                scratch: Scratch | None) -> None:
        """Apply the rule to ``param`` (an ndarray, in place) given ``grad`` (read only).

        ``group`` is what ``_prepare_group`` made of the parameter's group (by default the dict).
        ``scratch`` is a pair of work arrays shaped and laid out like ``param``, free to overwrite
        (None when the class sets ``wants_scratch = False``: it calls ``self._buffers(param)``
        itself, when it needs them).
        """
        raise NotImplementedError

    def _buffers(self, array: np.ndarray) -> Scratch:
        # shared by the parameters of the same shape, dtype and memory layout (strides)
        key = (array.shape, array.strides, array.dtype)
        buffers = self._scratch.get(key)
        if buffers is None:
            buffers = self._scratch[key] = (np.empty_like(array), np.empty_like(array))
        return buffers

    # ---- saving and resuming -------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as plain data, in PyTorch's layout.

        ``{"state": {index: {name: ndarray or number}}, "param_groups": [{hyper-parameters...,
        "params": [index, ...]}]}`` where parameters are numbered 0, 1, ... in order across the
        groups. Arrays are copies (a snapshot, unlike PyTorch, which hands out its live tensors),
        so continuing to train does not change a state dict already taken.
        """
        index: dict[Tensor, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {key: copy.deepcopy(value) for key, value in group.items() if key != "params"}
            packed["params"] = [index.setdefault(p, len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for p, values in self.state.items():
            if p in index and values:
                state[index[p]] = {key: _copy_value(value) for key, value in values.items()}
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a state from :meth:`state_dict`; training then continues exactly as before.

        The current groups keep their parameters and take the saved hyper-parameters; the saved
        arrays are copied and cast to each parameter's dtype. Integer keys that came back as
        strings (from JSON) are accepted.
        """
        name = type(self).__name__
        try:
            saved_groups = state_dict["param_groups"]
            saved_state = state_dict["state"]
        except (KeyError, TypeError):
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups' "
                             "(what state_dict() returns)") from None
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved_groups)} parameter "
                             f"group(s) but this optimizer has {len(self.param_groups)}; build the optimizer "
                             "with the same groups as the one that was saved")
        by_index = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} has {len(saved['params'])} "
                                 f"parameter(s) in the state dict but {len(group['params'])} here; build the "
                                 "optimizer with the same parameters as the one that was saved")
            for index, p in zip(saved["params"], group["params"]):
                by_index[int(index)] = p

        state = {}
        for index, values in saved_state.items():
            p = by_index.get(int(index))
            if p is None:
                raise ValueError(f"{name}.load_state_dict: state for parameter {index}, which no group lists")
            state[p] = {key: _load_value(value, p, key, name) for key, value in values.items()}

        groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            new = {key: copy.deepcopy(value) for key, value in saved.items() if key != "params"}
            for key, default in self.defaults.items():
                new.setdefault(key, default)
            new["params"] = group["params"]
            self._check_group(new)
            groups.append(new)
        self.param_groups = groups
        self.state = state

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _copy_value(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, np.generic):
        return value.item()
    return copy.deepcopy(value)


def _load_value(value: Any, param: Tensor, key: str, owner: str) -> Any:
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.ndarray) and value.ndim > 0:
        if value.shape != param.data.shape:
            raise ValueError(f"{owner}.load_state_dict: state '{key}' has shape {value.shape} but its "
                             f"parameter has shape {param.data.shape}; the state dict belongs to other parameters")
        # a copy in the parameter's dtype: the loaded optimizer must not share buffers with the saved one
        return np.array(value, dtype=param.data.dtype, copy=True)
    if isinstance(value, (np.ndarray, np.generic)):
        value = value.item()
    if key == "step" and isinstance(value, float) and value.is_integer():
        value = int(value)
    return copy.deepcopy(value)
