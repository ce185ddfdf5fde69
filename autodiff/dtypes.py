"""PyTorch's dtype names as numpy dtypes (``ad.float32``...), and the reading of ``.to(...)``
arguments (a device, a dtype, or a tensor whose dtype to take), shared by everything that has a
``.to``.

The engine runs on the CPU through numpy, so the one device is ``"cpu"``: naming it is a no-op, as
in PyTorch code written to run anywhere; any other device is an error that says so.
"""
from __future__ import annotations

import builtins
import re
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

__all__ = ["float16", "float32", "float64", "int32", "int64", "bool", "half", "double", "long", "int8", "int16",
           "uint8", "short",
           "as_dtype", "check_device", "parse_to", "device", "type_name", "DtypeError", "layer_dtype_error"]

float16 = half = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
int32 = np.dtype(np.int32)
int64 = long = np.dtype(np.int64)
int16 = short = np.dtype(np.int16)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
bool = np.dtype(np.bool_)       # noqa: A001 (PyTorch's name; numpy's bool dtype)

# the device types PyTorch knows: a string starting with one of them is a device, never a dtype
_DEVICE = re.compile(r"(cpu|cuda|mps|xpu|xla|meta|hip|ipu|hpu|mtia|maia|ve|fpga|lazy|vulkan|mkldnn|opengl|"
                     r"opencl|ideep|privateuseone)(:\d+)?\Z")


class DtypeError(RuntimeError, TypeError):
    """Operands of dtypes that an op cannot combine (a float64 input to a float32 layer, a float32
    matrix times a float64 one). A RuntimeError, as PyTorch raises, and a TypeError, as Python
    code expects of a wrong type."""


def layer_dtype_error(layer: str, input_dtype: object, parameter_dtype: object) -> DtypeError:
    """The error for an input whose dtype is not the layer's parameters', naming both and the
    fixes (PyTorch raises too, rather than computing silently in the wider dtype)."""
    return DtypeError(f"{layer}: the input is {input_dtype} but the layer's parameters are {parameter_dtype}; "
                      f"they must match (as in PyTorch). Convert the input (x.to({parameter_dtype}), e.g. "
                      f"x.float()) or the model (model.to({input_dtype}), e.g. model.double())")


# PyTorch's legacy tensor type names (``t.type()``), by dtype
_TYPE_NAMES: dict[np.dtype, str] = {np.dtype(np.float32): "FloatTensor", np.dtype(np.float64): "DoubleTensor",
               np.dtype(np.float16): "HalfTensor", np.dtype(np.int64): "LongTensor",
               np.dtype(np.int32): "IntTensor", np.dtype(np.int16): "ShortTensor",
               np.dtype(np.int8): "CharTensor", np.dtype(np.uint8): "ByteTensor",
               np.dtype(np.bool_): "BoolTensor"}
_BY_TYPE_NAME: dict[str, np.dtype] = {name: dtype for dtype, name in _TYPE_NAMES.items()}


def type_name(dtype: DTypeLike) -> str:
    """PyTorch's type name of a tensor of ``dtype``: ``'torch.FloatTensor'`` for float32 (what
    ``t.type()`` returns, so that code comparing it with PyTorch's names runs unchanged)."""
    return "torch." + _TYPE_NAMES.get(np.dtype(dtype), f"{np.dtype(dtype).name}Tensor")


def as_dtype(value: DTypeLike, owner: str) -> np.dtype:
    """``value`` (a numpy dtype or type, a name such as ``"float64"``, ``ad.float64``, a
    ``torch.float64``, or a type name such as ``"torch.DoubleTensor"``) as a numpy dtype; a
    TypeError naming ``owner`` otherwise."""
    text = str(value)
    if text.startswith("torch."):           # torch.float64 -> float64, without importing torch
        value = text[len("torch."):]
    if isinstance(value, str) and value in _BY_TYPE_NAME:
        return _BY_TYPE_NAME[value]
    try:
        return np.dtype(value)
    except (TypeError, ValueError):
        raise TypeError(f"{owner}: {value!r} is not a dtype; use ad.float32, ad.float64, a numpy dtype or "
                        "a name such as 'float64'") from None


class Device:
    """A device, as PyTorch's ``torch.device``: the one there is, ``device(type='cpu')``."""

    __slots__ = ()
    type = "cpu"
    index = None

    def __str__(self) -> str:
        return "cpu"

    def __repr__(self) -> str:
        return "device(type='cpu')"

    def __eq__(self, other: object) -> builtins.bool:     # (bool is the dtype here)
        return str(other) in ("cpu", "cpu:0") if isinstance(other, (str, Device)) or type(other).__name__ == "device" \
            else NotImplemented

    def __hash__(self) -> int:
        return hash("cpu")


CPU = Device()


def device(spec: object = "cpu", index: int | None = None) -> Device:
    """``ad.device("cpu")``: the CPU (PyTorch's ``torch.device``); any other device raises."""
    check_device(spec if index is None else f"{spec}:{index}", "device")
    return CPU


def check_device(device: object, owner: str) -> None:
    """Accept the CPU (``"cpu"``, ``"cpu:0"``, a ``torch.device('cpu')``, None); refuse any other
    device with a RuntimeError naming ``owner``."""
    if device is None:
        return
    text = str(device)
    match = _DEVICE.match(text)
    if match is None:
        raise RuntimeError(f"{owner}: {device!r} is not a device; the one device is 'cpu'")
    if match.group(1) != "cpu":
        raise RuntimeError(f"{owner}: device {text!r} is not available: autodiff computes on the CPU "
                           "with numpy; use 'cpu' (a no-op) or leave the device out")


def parse_to(args: tuple[Any, ...], kwargs: dict[str, Any], owner: str) -> np.dtype | None:
    """The dtype that ``.to(*args, **kwargs)`` asks for (None when only a device is named), with
    PyTorch's forms: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)``, and the
    keywords ``device=``, ``dtype=``, ``non_blocking=``, ``copy=``. Strings name a device when they
    are one (``"cpu"``, ``"cuda:0"``) and a dtype otherwise (``"float64"``)."""
    unknown = set(kwargs) - {"device", "dtype", "non_blocking", "copy", "memory_format"}
    if unknown:
        raise TypeError(f"{owner}() got an unexpected keyword argument {sorted(unknown)[0]!r}")
    dtype = kwargs.get("dtype")
    device = kwargs.get("device")
    named = [arg for arg in args if not isinstance(arg, type(True))]    # to(x, True): non_blocking
    if len(named) > 2:
        raise TypeError(f"{owner}() takes a device, a dtype, or (device, dtype); got {args!r}")
    for position, arg in enumerate(named):
        if position == 0 and (_DEVICE.match(str(arg)) or type(arg).__name__ == "device"):
            device = arg
        elif not isinstance(arg, (type, np.dtype)) and hasattr(arg, "dtype") and hasattr(arg, "shape"):
            # a tensor or an array: take its dtype
            dtype = arg.dtype
        elif isinstance(arg, str) and not _DEVICE.match(arg):
            try:
                dtype = as_dtype(arg, owner)
            except TypeError:
                raise RuntimeError(f"{owner}: {arg!r} is neither a device ('cpu') nor a dtype (ad.float32, "
                                   "'float64', ...)") from None
        else:
            dtype = arg
    check_device(device, owner)
    return None if dtype is None else as_dtype(dtype, owner)
