"""How a step compiled with ``ad.compile`` replays ``optimizer.step()`` and ``zero_grad()``.

Both are replayed calls (``autodiff.compiler.replayed``): a replay makes them again, so they read
the optimizer's hyper-parameters and state as they are then (a scheduler stepping outside the
step works). These rules (``autodiff.lowering.CALLS``) write SGD's step and ``zero_grad`` as the
same numpy calls without the methods' Python: SGD's ``_prepare_group`` still reads the group's
hyper-parameters at each replay, and whatever the rule does not cover at that moment (another
group layout, new state, a group that is not SGD's common case) calls the real method instead. The
values are the real method's, to the bit (tests/test_compile.py trains both ways).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from autodiff import lowering
from autodiff.tensor import bump_version, new_epoch

from .optimizer import Optimizer
from .sgd import SGD

if TYPE_CHECKING:
    from autodiff.codegen import CallLowering


def _optimizer_layout(C: CallLowering, optimizer: Optimizer) -> list[str]:
    """The condition, at replay, that the optimizer still has the groups, parameters, arrays and
    state of the record (else the real method runs)."""
    changed = [f"{C.const(optimizer)}.param_groups is not {C.const(optimizer.param_groups)}",
               f"{C.const(optimizer)}.state is not {C.const(optimizer.state)}"]
    for group in optimizer.param_groups:
        params = group["params"]
        changed.append(f"{C.const(group)}['params'] is not {C.const(params)}")
        changed.append(f"len({C.const(params)}) != {len(params)}")
        for p in params:
            changed.append(f"{C.const(p)}.data is not {C.const(p.data)}")
    return changed


def _sgd_step(C: CallLowering) -> None:
    optimizer = C.args[0] if len(C.args) == 1 and not C.kwargs else None
    if type(optimizer) is not SGD:
        raise lowering.Decline
    real = C.real_call()
    states = optimizer.state
    epoch_name = C.f(new_epoch, "new_epoch")
    bump = C.f(bump_version, "bump_version")
    fast = []           # the lines of the fast path
    conditions = []
    for index, group in enumerate(optimizer.param_groups):
        options = optimizer._prepare_group(group)
        momentum = bool(options[2])
        o = f"o{C.tag}_{index}"
        C.emit(f"{o} = {C.const(optimizer._prepare_group)}({C.const(group)})")
        conditions.append(f"{o}[0] and bool({o}[2]) is {momentum}")
        fast.append(f"epoch, writer = {epoch_name}()")
        scalars: dict[Any, str] = {}
        for p in group["params"]:
            param = p.data
            state = states.get(p)
            if state is None or param.dtype.kind != "f" or (momentum and "momentum_buffer" not in state):
                raise lowering.Decline   # (no update at record time: its first one takes the real method)
            dtype = param.dtype
            if dtype not in scalars:
                name = scalars[dtype] = f"s{C.tag}_{index}_{len(scalars)}"
                fast.append(f"{name} = {o}[7].get({C.const(dtype)})")
                fast.append(f"if {name} is None:")
                fast.append(f"    {name} = {o}[7][{C.const(dtype)}] = ({C.f(np.array, 'array')}({o}[1], "
                            f"{C.const(dtype)}), {C.f(np.array, 'array')}({o}[2], {C.const(dtype)}))")
            lr, mom = f"{scalars[dtype]}[0]", f"{scalars[dtype]}[1]"
            P, work = C.const(param), C.temp_like(param)
            leaf = C.const(p)
            fast.append(f"g = {leaf}._grad")        # (the slot behind .grad)
            fast.append("if g is not None:")
            fast.append("    g = g.data")
            # bump_version(p, epoch, writer), inline
            fast.append(f"    c = {leaf}._counter")
            fast.append("    if c is None or writer is not None:")
            fast.append(f"        {bump}({leaf}, epoch, writer)")
            fast.append("    else:")
            fast.append("        c.version += 1")
            fast.append("        c.epoch = epoch")
            if momentum:
                state_name = C.const(state)
                fast.append(f"    b = {state_name}['momentum_buffer']")
                fast.append(f"    {C.f(np.multiply)}(b, {mom}, out=b)")
                fast.append(f"    {C.f(np.add)}(b, g, out=b)")
                fast.append("    g = b")
            # param -= lr * grad (also lr * grad into a work array first, for large ones)
            fast.append(f"    {C.f(np.multiply)}(g, {lr}, out={work})")
            fast.append(f"    {C.f(np.subtract)}({P}, {work}, out={P})")
    changed = _optimizer_layout(C, optimizer)
    C.emit("if " + " or ".join(changed) + " or not (" + " and ".join(conditions) + "):")
    C.emit(f"    {real}")
    C.emit("else:")
    for line in fast:
        C.emit("    " + line)


def _zero_grad(C: CallLowering) -> None:
    optimizer = C.args[0] if C.args else None
    set_to_none = C.args[1] if len(C.args) > 1 else C.kwargs.get("set_to_none", True)
    if not isinstance(optimizer, Optimizer) or type(optimizer).zero_grad is not Optimizer.zero_grad or (
            set_to_none is not True) or len(C.args) > 2 or set(C.kwargs) - {"set_to_none"}:
        raise lowering.Decline
    C.emit("if " + " or ".join(_optimizer_layout(C, optimizer)) + ":")
    C.emit(f"    {C.real_call()}")
    C.emit("else:")
    for group in optimizer.param_groups:
        for p in group["params"]:
            C.emit(f"    {C.const(p)}._grad = None")      # (p.grad = None: the slot behind it)


# (the functions that @replayed wraps, as the record keeps them)
lowering.CALLS[Optimizer.step.replayed] = _sgd_step  # type: ignore[attr-defined]
lowering.CALLS[Optimizer.zero_grad.replayed] = _zero_grad  # type: ignore[attr-defined]
