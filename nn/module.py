"""Module: the base class of layers and models (PyTorch's ``nn.Module``).

A module registers what is assigned to its attributes: Parameters, sub-modules, and buffers made
with ``register_buffer``. Everything else (``parameters()``, ``state_dict()``, ``train()``,
``to(dtype)``...) walks that registry. Calling a module runs ``forward`` inside
``ad.name_scope(name)``, where ``name`` is the attribute the module was assigned to in its parent
(the root module uses its class name); scopes nest, so the nodes of ``model.encoder.fc1`` are
tagged ``"Model.encoder.fc1"`` when the whole model runs.
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

import numpy as np

from autodiff import Tensor, compiler
from autodiff.dtypes import parse_to
from autodiff.tensor import bump_version
from autodiff.grad_mode import run_in_scope

from .parameter import Parameter

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Module"]


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys it did not find and the keys it did not use."""

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


def _check_name(name: object, kind: str, owner: str) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{owner}: {kind} name must be a string, got {type(name).__name__}")
    if name == "" or "." in name:
        raise KeyError(f"{owner}: {kind} name {name!r} must be non-empty and contain no '.' "
                       "(dots separate the names of nested modules)")


class Module:
    """Base class of every layer and model: subclass it, assign Parameters and sub-modules in
    ``__init__`` (after ``super().__init__()``) and define ``forward``.

    >>> import autodiff as ad, nn
    >>> class Affine(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.scale = nn.Parameter([2.0])
    ...     def forward(self, x):
    ...         return x * self.scale
    >>> [name for name, _ in Affine().named_parameters()]
    ['scale']
    """

    training = True      # class default, so a subclass that forgot super().__init__() still reads it
    # the registries, set by __init__ (declared here for type checkers)
    _parameters: OrderedDict[str, Parameter | None]
    _buffers: OrderedDict[str, Tensor | None]
    _non_persistent_buffers: set[str]
    _modules: OrderedDict[str, Module | None]
    _scope_name: str

    def __init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "training", True)
        set_(self, "_parameters", OrderedDict())
        set_(self, "_buffers", OrderedDict())
        set_(self, "_non_persistent_buffers", set())
        set_(self, "_modules", OrderedDict())
        set_(self, "_scope_name", type(self).__name__)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define forward(self, ...) "
                                  "in the subclass")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``forward(*args, **kwargs)`` inside ``ad.name_scope(name)`` (see the module docstring)."""
        if compiler.recording:      # ad.compile notes the modules a step calls (their training flags)
            compiler.note_module(self)
        return run_in_scope(self._scope_name, self.forward, args, kwargs)

    # ---- registration --------------------------------------------------------------------------
    def _registry(self, what: str) -> dict[str, Any]:
        registry = self.__dict__.get(what)
        if registry is None:
            raise AttributeError(f"{type(self).__name__}: cannot assign parameters, buffers or modules "
                                 "before Module.__init__() runs; call super().__init__() first in "
                                 f"{type(self).__name__}.__init__")
        return registry

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Parameter):
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            self.add_module(name, value)
        elif "_parameters" in self.__dict__ and name in self._parameters:
            if value is not None:
                raise TypeError(f"{type(self).__name__}: cannot assign a {type(value).__name__} to "
                                f"parameter {name!r}; wrap it as nn.Parameter(...) or assign None")
            self._parameters[name] = None
        elif "_modules" in self.__dict__ and name in self._modules:
            if value is not None:
                raise TypeError(f"{type(self).__name__}: cannot assign a {type(value).__name__} to "
                                f"sub-module {name!r}; assign a Module or None")
            self._modules[name] = None
        elif "_buffers" in self.__dict__ and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"{type(self).__name__}: cannot assign a {type(value).__name__} to "
                                f"buffer {name!r}; assign a Tensor or None")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # only reached when ordinary lookup fails: look in the registries
        d = self.__dict__
        for what in ("_parameters", "_buffers", "_modules"):
            registry = d.get(what)
            if registry is not None and name in registry:
                return registry[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for what in ("_parameters", "_buffers", "_modules"):
            registry = self.__dict__.get(what)
            if registry is not None and name in registry:
                del registry[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def _forget(self, name: str, keep: str) -> None:
        """Drop ``name`` from the instance dict and from the registries other than ``keep``, which
        is about to be assigned (so a replaced entry keeps its place, as in PyTorch)."""
        for what in ("_parameters", "_buffers", "_modules"):
            if what != keep:
                self.__dict__[what].pop(name, None)
        self._non_persistent_buffers.discard(name)
        self.__dict__.pop(name, None)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (a Parameter, or None for an absent one such as a disabled bias)."""
        self._registry("_parameters")
        _check_name(name, "parameter", type(self).__name__)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"{type(self).__name__}.register_parameter({name!r}): expected an "
                            f"nn.Parameter or None, got {type(param).__name__}")
        self._forget(name, "_parameters")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | np.ndarray | None, persistent: bool = True) -> None:
        """Register a tensor that is state but not a parameter (BatchNorm's running mean). Persistent
        buffers are part of ``state_dict()``. ``tensor`` may be a Tensor, an ndarray or None."""
        self._registry("_buffers")
        _check_name(name, "buffer", type(self).__name__)
        if tensor is not None and not isinstance(tensor, Tensor):
            if not isinstance(tensor, np.ndarray):
                raise TypeError(f"{type(self).__name__}.register_buffer({name!r}): expected a Tensor, "
                                f"an ndarray or None, got {type(tensor).__name__}")
            tensor = Tensor(tensor)
        self._forget(name, "_buffers")
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` (or None) as the child ``name``; it takes ``name`` as its scope."""
        self._registry("_modules")
        _check_name(name, "module", type(self).__name__)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.add_module({name!r}): expected a Module or None, "
                            f"got {type(module).__name__}")
        self._forget(name, "_modules")
        self._modules[name] = module
        if module is not None:
            object.__setattr__(module, "_scope_name", name)

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The module at dotted path ``target`` ('' is self)."""
        module = self
        if target == "":
            return module
        for part in target.split("."):
            children = module.__dict__.get("_modules", {})
            if part not in children or children[part] is None:
                raise AttributeError(f"{type(module).__name__} has no sub-module {part!r} (looking up "
                                     f"{target!r})")
            module = children[part]
        return module

    # ---- walks (iterative, in registration order) -----------------------------------------------
    def named_modules(self, memo: set[int] | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for self and every descendant, parents before children."""
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if id(module) in memo:
                    continue
                memo.add(id(module))
            yield name, module
            children = [(f"{name}.{key}" if name else key, child)
                        for key, child in module._modules.items() if child is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) of the direct children (a module registered twice appears once)."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry: str, prefix: str, recurse: bool,
                       remove_duplicate: bool) -> Iterator[tuple[str, Any]]:
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for module_name, module in modules:
            for name, value in module.__dict__[registry].items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{module_name}.{name}" if module_name else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs, e.g. ``('0.weight', ...)``; a shared parameter appears
        once, under its first name."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer) pairs, persistent or not."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def apply(self, fn: Callable[[Module], object]) -> Self:
        """Call ``fn(module)`` on every sub-module, children before their parent, then on self
        (PyTorch's order). Returns self. Typical use: custom initialisation."""
        stack: list[tuple[Module, bool]] = [(self, False)]
        while stack:
            module, expanded = stack.pop()
            if expanded:
                fn(module)
                continue
            stack.append((module, True))
            stack.extend((child, False) for child in reversed(list(module.children())))
        return self

    # ---- modes and gradients --------------------------------------------------------------------
    @compiler.replayed          # inside a compiled step: set again at every replay
    def train(self, mode: bool = True) -> Self:
        """Set training mode (Dropout drops, BatchNorm uses batch statistics) on self and every
        sub-module. Returns self."""
        if not isinstance(mode, bool):
            raise TypeError(f"{type(self).__name__}.train: mode must be a bool, got {type(mode).__name__}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Self:
        """Evaluation mode: ``train(False)``. Returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Self:
        """Set ``requires_grad`` of every parameter (False freezes the module). Returns self."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    @compiler.replayed      # inside a compiled step: done again at every replay
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the parameters' gradients: to None (default, as PyTorch), or to zeros in place."""
        for param in self.parameters():
            grad = param.grad
            if grad is None:
                continue
            if set_to_none:
                param.grad = None
            elif grad.grad_fn is None and not grad.requires_grad and grad.data.flags.writeable:
                grad.data.fill(0)
            else:
                param.grad = Tensor(np.zeros_like(grad.data))

    # ---- dtype casts --------------------------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> Self:
        """Cast floating parameters, their gradients and floating buffers to a floating dtype, with
        PyTorch's forms: ``to(ad.float64)``, ``to("float64")``, ``to("cpu")`` (the one device: a
        no-op), ``to("cpu", ad.float64)``, ``to(tensor)`` (its dtype), ``to(dtype=...)``. The
        Parameter objects stay the same (their ``.data`` is replaced), so an optimizer built before
        keeps working. Integer buffers (``num_batches_tracked``) keep their dtype. An integer or
        complex dtype raises TypeError, another device RuntimeError. Returns self."""
        dtype = parse_to(args, kwargs, f"{type(self).__name__}.to")
        if dtype is None:
            return self
        if dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}.to only accepts floating point dtypes, but got desired "
                            f"dtype={dtype} (parameters must stay floating to have gradients); use "
                            "model.double(), model.float() or model.to(ad.float64)")
        seen = set()
        for module in self.modules():
            for tensor in list(module._parameters.values()) + list(module._buffers.values()):
                if tensor is None or id(tensor) in seen:
                    continue
                seen.add(id(tensor))
                if tensor.data.dtype.kind == "f" and tensor.data.dtype != dtype:
                    tensor.data = tensor.data.astype(dtype)
                grad = tensor.grad
                if grad is not None and grad.data.dtype != dtype:
                    grad.data = grad.data.astype(dtype)
        return self

    def cpu(self) -> Self:
        """The one device: returns self (PyTorch code that calls ``model.cpu()`` runs unchanged)."""
        return self

    def half(self) -> Self:
        """``to(float16)``."""
        return self.to(np.float16)

    def double(self) -> Self:
        """``to(float64)``."""
        return self.to(np.float64)

    def float(self) -> Self:
        """``to(float32)``."""
        return self.to(np.float32)

    # ---- state dicts ----------------------------------------------------------------------------
    def _state_items(self) -> Iterator[tuple[str, Tensor]]:
        """(key, tensor) for every parameter and persistent buffer, PyTorch's keys and order."""
        for module_name, module in self.named_modules(remove_duplicate=False):
            prefix = f"{module_name}." if module_name else ""
            for name, param in module._parameters.items():
                if param is not None:
                    yield prefix + name, param
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent_buffers:
                    yield prefix + name, buffer

    def state_dict(self, destination: dict[str, Tensor] | None = None, prefix: str = "",
                   keep_vars: bool = False) -> dict[str, Tensor]:
        """An OrderedDict from dotted names (``'0.weight'``, ``'1.running_mean'``) to tensors that
        share the module's arrays (detached, unless ``keep_vars``): parameters and persistent
        buffers, with PyTorch's keys, so ``torch_model.load_state_dict`` accepts it once converted
        with ``torch.from_numpy``."""
        destination = OrderedDict() if destination is None else destination
        for key, tensor in self._state_items():
            destination[prefix + key] = tensor if keep_vars else tensor.detach()
        return destination

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy ``state_dict``'s values into the parameters and buffers, in place (``np.copyto``), so
        optimizers holding the parameters keep valid references.

        As PyTorch: each value is cast to the dtype the model holds (a float64 value into a float32
        parameter becomes float32; to keep the file's precision, cast the model first with
        ``model.double()`` or ``model.to(ad.float64)``), and ``strict`` is only about keys: with
        ``strict=True`` (the default) a missing or unexpected key is an error, with ``strict=False``
        they are returned as ``(missing_keys, unexpected_keys)``. A shape mismatch, and a cast that
        would lose information (a float or complex value into an integer buffer, a complex value
        into a real parameter, an integer out of the buffer's range), is always an error naming the
        key. Values may be Tensors, ndarrays, or anything ``np.asarray`` accepts (torch tensors).
        Every entry is checked before anything is copied: a failed load changes nothing.
        """
        if not hasattr(state_dict, "items"):
            raise TypeError(f"{type(self).__name__}.load_state_dict: expected a dict of tensors, got "
                            f"{type(state_dict).__name__}")
        own = OrderedDict(self._state_items())
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        errors = []
        copies = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            try:
                value = _as_array(state_dict[key])
            except (TypeError, ValueError, RuntimeError) as error:
                errors.append(f"{key}: could not read the value as an array ({error})")
                continue
            if value.shape != target.data.shape:
                errors.append(f"size mismatch for {key}: copying a value of shape {value.shape}, the "
                              f"shape in the current model is {target.data.shape}")
                continue
            problem = _cast_problem(value, target.data.dtype)
            if problem:
                errors.append(f"dtype mismatch for {key}: {problem}")
                continue
            if not target.data.flags.writeable:
                errors.append(f"{key}: the model's array is read-only, so it cannot be loaded in place")
                continue
            copies.append((target, value))
        if strict:
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ".")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__} (nothing was "
                               "loaded):\n\t" + "\n\t".join(errors))
        for target, value in copies:
            np.copyto(target.data, value, casting="unsafe")     # _cast_problem allowed it
            bump_version(target)    # a graph that saved the old values now refuses to backward
        return IncompatibleKeys(missing, unexpected)

    # ---- printing -----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in ``repr`` (a layer's sizes and options)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra_lines = self.extra_repr().split("\n") if self.extra_repr() else []
        child_lines = [f"({key}): " + _indent(repr(module), 2) for key, module in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                body = extra_lines[0]
            else:
                body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{self._get_name()}({body})"

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))


def _indent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


def _as_array(value: object) -> np.ndarray:
    """A state-dict value as an ndarray, without copying when it already is one."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.ndarray):
        return value
    try:
        return np.asarray(value)
    except (TypeError, RuntimeError):
        detach = getattr(value, "detach", None)     # a torch tensor that requires grad
        if detach is None:
            raise
        return np.asarray(detach())


def _cast_problem(value: np.ndarray, dtype: np.dtype) -> str | None:
    """Why ``value`` cannot be cast into an array of ``dtype`` without losing information (None when
    it can: the same dtype, float to any float, int or bool to float, int into an int that holds
    every value)."""
    source = value.dtype
    if source == dtype:
        return None
    if source.kind == "c" and dtype.kind != "c":
        return (f"the value is {source}, the model holds {dtype}: casting would drop the imaginary part. "
                "Models here are real (model.to takes floating dtypes: model.double() or "
                "model.to(ad.float64)); load value.real if that is what you mean")
    if source.kind not in "biufc":
        return f"the value has dtype {source}, which cannot be cast to the model's {dtype}"
    if dtype.kind in "iub" and source.kind in "fc":
        return (f"the value is {source}, the model holds an integer buffer ({dtype}): a floating value "
                "would lose its fraction; is this the state dict of this model? (a float value belongs in "
                "a parameter; to change the model's float dtype use model.double() or "
                "model.to(ad.float64))")
    if dtype.kind == "b" and source.kind != "b":
        return f"the value is {source}, the model holds a bool buffer"
    if dtype.kind in "iu" and not np.can_cast(source, dtype, "safe") and value.size:
        info = np.iinfo(dtype)
        low, high = value.min(), value.max()
        if low < info.min or high > info.max:
            return (f"the value ({source}) holds numbers from {low} to {high}, outside the range of the "
                    f"model's {dtype}")
    return None


# a compiled step that calls train() itself needs no guard on the flags it sets
compiler.sets_training_flags(Module.train.replayed)  # type: ignore[attr-defined]
