"""Containers: Sequential, ModuleList, ModuleDict, ParameterList and ParameterDict (PyTorch's semantics and
state-dict keys)."""
from __future__ import annotations

import operator
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView, overload

from autodiff import Tensor

from .module import Module, _indent
from .parameter import Parameter

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]


def _index(index: Any, length: int, owner: str) -> int:
    """A position in [0, length) from a possibly negative int index."""
    try:
        index = operator.index(index)
    except TypeError:
        raise TypeError(f"{owner} indices must be integers or slices, got {type(index).__name__}") from None
    if not -length <= index < length:
        raise IndexError(f"{owner} index {index} is out of range for {length} module(s)")
    return index % length


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(Linear(2, 3), ReLU(), Linear(3, 1))``, or
    ``Sequential(OrderedDict(name=module, ...))`` for named stages. Children are named ``'0'``,
    ``'1'``... so the state-dict keys (``'0.weight'``) match ``torch.nn.Sequential``'s.

    Supports ``len``, iteration, ``seq[i]`` (a module), ``seq[a:b]`` (a Sequential keeping the
    children's names), ``seq[i] = module``, ``del seq[i]`` and ``append``.
    """

    _modules: OrderedDict[str, Module]  # type: ignore[assignment]  # (a container's children are modules)

    @overload
    def __init__(self, *modules: Module) -> None: ...
    @overload
    def __init__(self, modules: OrderedDict[str, Module], /) -> None: ...

    def __init__(self, *modules: Any) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(modules):
                if not isinstance(module, Module):
                    raise TypeError(f"{type(self).__name__}: argument {i} is a {type(module).__name__}, "
                                    "not a Module; pass layers such as nn.Linear(2, 3) or nn.ReLU()")
                self.add_module(str(i), module)

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    @overload
    def __getitem__(self, index: slice) -> Sequential: ...
    @overload
    def __getitem__(self, index: int) -> Module: ...

    def __getitem__(self, index: int | slice) -> Module | Sequential:
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        keys = list(self._modules)
        return self._modules[keys[_index(index, len(keys), type(self).__name__)]]

    def __setitem__(self, index: int, module: Module) -> None:
        keys = list(self._modules)
        self.add_module(keys[_index(index, len(keys), type(self).__name__)], module)

    def __delitem__(self, index: int | slice) -> None:
        keys = list(self._modules)
        if isinstance(index, slice):
            for key in keys[index]:
                del self._modules[key]
        else:
            del self._modules[keys[_index(index, len(keys), type(self).__name__)]]

    def append(self, module: Module) -> Self:
        """Add ``module`` at the end (named by its position). Returns self."""
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules that are registered (their parameters are the list's), named ``'0'``,
    ``'1'``...; it has no ``forward``: iterate over it in the parent's ``forward``."""

    _modules: OrderedDict[str, Module]  # type: ignore[assignment]  # (a container's children are modules)

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    @overload
    def __getitem__(self, index: slice) -> ModuleList: ...
    @overload
    def __getitem__(self, index: int) -> Module: ...

    def __getitem__(self, index: int | slice) -> Module | ModuleList:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(modules[index])
        return modules[_index(index, len(modules), "ModuleList")]

    def __setitem__(self, index: int, module: Module) -> None:
        self.add_module(str(_index(index, len(self), "ModuleList")), module)

    def __delitem__(self, index: int | slice) -> None:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            del modules[index]
        else:
            del modules[_index(index, len(modules), "ModuleList")]
        self._renumber(modules)

    def _renumber(self, modules: list[Module]) -> None:
        # keep the names '0'..'n-1' as PyTorch does
        self._modules.clear()
        for i, module in enumerate(modules):
            self.add_module(str(i), module)

    def append(self, module: Module) -> Self:
        """Add ``module`` at the end. Returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> Self:
        """Append every module of an iterable. Returns self."""
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index``."""
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._renumber(modules)

    def __iadd__(self, modules: Iterable[Module]) -> Self:
        return self.extend(modules)

    def __repr__(self) -> str:
        # PyTorch's form: consecutive equal entries are shown once, as "(0-2): 3 x Linear(...)"
        reprs = [repr(module) for module in self]
        if not reprs:
            return self._get_name() + "()"
        blocks: list[list[Any]] = []    # [first index, last index, repr]
        for i, text in enumerate(reprs):
            if blocks and blocks[-1][2] == text:
                blocks[-1][1] = i
            else:
                blocks.append([i, i, text])
        lines = [_indent(f"({first}): {text}" if first == last else
                         f"({first}-{last}): {last - first + 1} x {text}", 2) for first, last, text in blocks]
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """A dict of registered modules (insertion-ordered); keys become the state-dict prefixes."""

    _modules: OrderedDict[str, Module]  # type: ignore[assignment]  # (a container's children are modules)

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> KeysView[str]:
        return self._modules.keys()

    def values(self) -> ValuesView[Module]:
        return self._modules.values()

    def items(self) -> ItemsView[str, Module]:
        return self._modules.items()

    def pop(self, key: str) -> Module:
        """Remove ``key`` and return its module."""
        module = self._modules[key]
        del self._modules[key]
        return module

    def clear(self) -> None:
        self._modules.clear()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add the (name, module) pairs of a mapping or an iterable of pairs."""
        pairs = modules.items() if hasattr(modules, "items") else modules
        for key, module in pairs:
            self[key] = module


def _as_parameter(value: Any) -> Any:
    """A plain tensor becomes a Parameter (as PyTorch's containers do); anything else is kept."""
    return Parameter(value) if isinstance(value, Tensor) and not isinstance(value, Parameter) else value


def _describe(value: Any) -> str:
    """PyTorch's line for an entry of a parameter container (the dtype by its autodiff name)."""
    if isinstance(value, Tensor):
        kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
        return f"{kind} containing: [{value.dtype} of size {'x'.join(str(n) for n in value.shape)}]"
    return f"Object of type: {type(value).__name__}"


class ParameterList(Module):
    """A list of registered parameters, named ``'0'``, ``'1'``... (so their state-dict keys are
    ``'<list name>.0'``...); a plain tensor put in it becomes a Parameter. It has no ``forward``."""

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        self._size = 0
        if values is not None:
            self.extend(values)

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Any]:
        return iter([self[i] for i in range(len(self))])

    @overload
    def __getitem__(self, index: slice) -> ParameterList: ...
    @overload
    def __getitem__(self, index: int) -> Any: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return ParameterList(list(self)[index])
        return getattr(self, str(_index(index, len(self), "ParameterList")))

    def __setitem__(self, index: int, value: Any) -> None:
        setattr(self, str(_index(index, len(self), "ParameterList")), _as_parameter(value))

    def append(self, value: Any) -> Self:
        """Add ``value`` (a Parameter; a tensor is made one) at the end. Returns self."""
        self._size += 1
        self[self._size - 1] = value
        return self

    def extend(self, values: Iterable[Any]) -> Self:
        """Append every value of an iterable. Returns self."""
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise TypeError(f"ParameterList.extend should be called with an iterable, but got {type(values).__name__}")
        for value in values:
            self.append(value)
        return self

    def __iadd__(self, values: Iterable[Any]) -> Self:
        return self.extend(values)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("ParameterList should not be called: index it or iterate over it in the parent's forward")

    def extra_repr(self) -> str:
        return "\n".join(f"  ({k}): {_describe(value)}" for k, value in enumerate(self))


class ParameterDict(Module):
    """A dict of registered parameters (insertion-ordered; its keys are the state-dict names under
    the dict's own). A plain tensor put in it becomes a Parameter. Built or updated from a plain
    dict, the keys are taken in sorted order, from an OrderedDict, a ParameterDict or pairs, in
    their order, as PyTorch's. It has no ``forward``."""

    def __init__(self, parameters: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None) -> None:
        super().__init__()
        self._keys: dict[str, None] = {}
        if parameters is not None:
            self.update(parameters)

    def _key(self, key: Any) -> str:
        if not isinstance(key, str):
            raise TypeError(f"ParameterDict: keys must be strings, got {type(key).__name__} {key!r}")
        return key

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys:
            raise KeyError(key)
        return getattr(self, self._key(key))

    def __setitem__(self, key: str, value: Any) -> None:
        key = self._key(key)
        setattr(self, key, _as_parameter(value))
        self._keys[key] = None

    def __delitem__(self, key: str) -> None:
        del self._keys[key]
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __reversed__(self) -> Iterator[str]:
        return reversed(list(self._keys))

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def keys(self) -> KeysView[str]:
        return self._keys.keys()

    def items(self) -> list[tuple[str, Any]]:
        return [(key, self[key]) for key in self._keys]

    def values(self) -> list[Any]:
        return [self[key] for key in self._keys]

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key: str) -> Any:
        """Remove ``key`` and return its value."""
        value = self[key]
        del self[key]
        return value

    def popitem(self) -> tuple[str, Any]:
        """Remove and return the last (key, value) pair."""
        if not self._keys:
            raise KeyError("popitem(): ParameterDict is empty")
        key = list(self._keys)[-1]
        return key, self.pop(key)

    def clear(self) -> None:
        for key in list(self._keys):
            del self[key]

    def copy(self) -> ParameterDict:
        """A new ParameterDict holding the same parameters."""
        return ParameterDict(OrderedDict(self.items()))

    def update(self, values: ParameterDict | Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        """Add the pairs of a mapping (a plain dict's in sorted key order, as PyTorch's) or an
        iterable of (key, value) pairs."""
        if isinstance(values, (OrderedDict, ParameterDict)):
            pairs: Iterable[Any] = list(values.items())
        elif isinstance(values, Mapping):
            pairs = sorted(values.items())
        else:
            pairs = values
        for position, pair in enumerate(pairs):
            if not hasattr(pair, "__len__") or len(pair) != 2:
                raise ValueError(f"ParameterDict.update: element #{position} should be a (key, value) pair, "
                                 f"got {pair!r}")
            self[pair[0]] = pair[1]

    def __or__(self, other: Any) -> ParameterDict:
        """A new ParameterDict: this one's pairs, then ``other``'s (which win)."""
        if not isinstance(other, ParameterDict):
            return NotImplemented
        merged = self.copy()
        merged.update(other)
        return merged

    def __ror__(self, other: Any) -> ParameterDict:
        if not isinstance(other, ParameterDict):
            return NotImplemented
        merged = other.copy()
        merged.update(self)
        return merged

    def __ior__(self, other: Any) -> ParameterDict:
        self.update(other)
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("ParameterDict should not be called: index it by key in the parent's forward")

    def extra_repr(self) -> str:
        return "\n".join(f"  ({key}): {_describe(value)}" for key, value in self.items())
