"""The replay of a compiled step: one generated Python function of numpy calls, from a record.

``build(step, recorder, result)`` turns what ``autodiff.compiler.Recorder`` saw into the source of
``replay(leaves)`` and executes it. Every array the step uses is a name in the function's
globals: the record's buffers (its inputs, the ops' outputs, work arrays), the arrays it reads by
reference (parameters), constants; each op is its lowering rule's lines (``autodiff.lowering``) or
a call of its ``Function.forward``/``backward`` (the fallback). ``step.code`` shows the source.
"""
from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from . import lowering, ops
from .compiler import (CompileError, _GradSlot, _MISS, _OutputSlot, _accumulate, _data_slot)

if TYPE_CHECKING:
    from .compiler import BackwardRecord, CompiledStep, OpRecord, Recorder, _Ref
from .lowering import Decline
from .tensor import Tensor, _wrap

_new = object.__new__


class Lowering:
    """What a lowering rule sees of its op (see ``autodiff.lowering``): names of the arguments,
    the output, the incoming gradient and the gradients' buffers, and ``emit``."""

    def __init__(self, plan: Plan, op: OpRecord, kept: dict[str, Any], trial: bool = False) -> None:
        self.plan, self.op, self.kept, self.trial = plan, op, kept, trial
        self.lines: list[str] = []
        self.record: Any = op.backward
        self.made: list[tuple[_Ref, np.ndarray]] = []    # buffers to bind if the rule is kept
        self.views: list[tuple[_Ref, np.ndarray]] = []   # views of buffers to bind
        self.new_locals: list[_Ref] = []

    # ---- the forward ----------------------------------------------------------------------
    def array(self, i: int) -> Any:
        """Forward's argument i as recorded (an array, a number...)."""
        return self.op.args[i]

    def arg(self, i: int) -> str:
        """The name of forward's argument i."""
        ref = self.op.inputs[i] if i < len(self.op.inputs) else None
        return self.plan.ref(ref) if ref is not None else self.plan.const(self.op.args[i])

    @property
    def result(self) -> str:
        if not self.op.fresh_out:
            raise Decline
        return self.plan.ref(self.op.out)

    def arg_view(self, i: int, expression: str, make: Callable[[Any], Any]) -> str:
        """A view of forward's argument i (``make(array)``, spelled ``expression`` after its
        name): taken once, unless the argument is an input of the step (a replay may read the
        caller's array in place of the input buffer)."""
        ref = self.op.inputs[i]
        if ref is not None and ref.kind == "input":
            return f"{self.arg(i)}{expression}"
        return self.const(make(self.op.args[i]))

    def view_of_input(self) -> None:
        """The output is a view of input 0 (a reshape, a transpose): it needs no code."""
        out, x = self.op.out.array, self.op.args[0]
        if not (self.op.fresh_out and type(x) is np.ndarray and _root(out) is _root(x)):
            raise Decline

    # ---- the backward ---------------------------------------------------------------------
    @property
    def g(self) -> str:
        ref = self.record.grad      # (a gradient is made by code that comes before the backward's)
        return ref.name if ref.kind == "grad" else self.plan.ref(ref)

    @property
    def grad_array(self) -> Any:
        return self.record.grad.array

    def _new_output(self, i: int) -> _Ref:
        record = self.record
        ref = record.outputs[i] if i < len(record.outputs) else None
        if ref is None or ref.kind != "grad" or ref.name in self.plan.defined or ref is record.grad or (
                sum(r is ref for r in record.outputs) != 1):
            raise Decline
        return ref

    def out(self, i: int) -> str:
        """The buffer of input i's gradient (a new array at each position the engine made one)."""
        ref = self._new_output(i)
        buffer = np.empty_like(ref.array)
        self.made.append((ref, buffer))
        return ref.name

    def passes(self, i: int) -> None:
        """The engine handed the incoming gradient itself on to input i (or nothing)."""
        outputs = self.record.outputs
        if i < len(outputs) and outputs[i] is not None and outputs[i] is not self.record.grad:
            raise Decline

    def fresh(self, i: int, expression: str) -> None:
        """Input i's gradient is ``expression``, a new array at each replay."""
        ref = self._new_output(i)
        self.emit(f"{ref.name} = {expression}")
        self.new_locals.append(ref)

    view = fresh

    def view_of_grad(self, i: int, shape: tuple[int, ...] | None = None,
                     broadcast: tuple[int, ...] | None = None) -> None:
        """Input i's gradient is a view of the incoming one: reshaped to ``shape`` and/or broadcast
        (read only) to ``broadcast``; taken once when the incoming gradient is in a buffer."""
        ref = self._new_output(i)
        array = self.plan.persistent(self.g)
        if array is not None:
            view = array if shape is None else array.reshape(shape)
            self.views.append((ref, view if broadcast is None else np.broadcast_to(view, broadcast)))
            return
        expression = self.g if shape is None else f"{self.g}.reshape({shape!r})"
        if broadcast is not None:
            expression = f"{self.f(np.broadcast_to)}({expression}, {broadcast!r})"
        self.emit(f"{ref.name} = {expression}")
        self.new_locals.append(ref)

    def fresh_or_into(self, i: int, head: str, transposed: bool = False) -> None:
        """``head`` is a numpy call without its closing parenthesis: into a buffer (``out=``)
        when the gradient goes on to other ops, as a new array when only a leaf takes it."""
        ref = self._new_output(i)
        if self.plan.uses.get(ref.name, 0) == 1 and self.plan.leaf_only.get(ref.name):
            self.emit(f"{ref.name} = {head})" + (".T" if transposed else ""))
            self.new_locals.append(ref)
            self.plan.owned.add(ref.name)
            return
        buffer = np.empty_like(ref.array)
        self.made.append((ref, buffer))
        target = self.plan.const(buffer.T) if transposed else ref.name
        self.emit(f"{head}, out={target})")

    # ---- both -----------------------------------------------------------------------------
    def f(self, function: Any, name: str | None = None) -> str:
        return self.plan.function(function, name)

    def const(self, value: Any) -> str:
        return self.plan.const(value)

    def temp(self, shape: tuple[int, ...], dtype: Any) -> str:
        return self.plan.temp(np.empty(shape, dtype), count=not self.trial)

    def temp_like(self, array: np.ndarray) -> str:
        return self.plan.temp(np.empty_like(array), count=not self.trial)

    def buffer(self, name: str) -> np.ndarray:
        for ref, array in self.made:
            if ref.name == name:
                return array
        return self.plan.namespace[name]

    def local(self, expression: str) -> str:
        name = self.plan.new_local()
        self.emit(f"{name} = {expression}")
        return name

    def reshaped(self, name: str, shape: tuple[int, ...]) -> str:
        """``name``'s value reshaped: a view taken once when it is a buffer, else at each replay."""
        array = self.plan.persistent(name)
        if array is not None:
            return self.const(array.reshape(shape))
        return self.local(f"{name}.reshape({shape!r})")

    def keep(self, **values: Any) -> None:
        self.kept.update(values)

    def emit(self, line: str) -> None:
        self.lines.append(line)


class CallLowering:
    """What a replayed call's rule sees (``lowering.CALLS``): the call's arguments (the recorded
    objects), names for constants, work arrays, and ``real_call()``, the line that makes the
    call itself."""

    def __init__(self, plan: Plan, args: tuple[Any, ...], kwargs: dict[str, Any], call: str) -> None:
        self.plan, self.args, self.kwargs, self._call = plan, args, kwargs, call
        self.lines: list[str] = []
        plan.counter += 1
        self.tag = plan.counter

    def real_call(self) -> str:
        return self._call

    def const(self, value: Any) -> str:
        return self.plan.const(value)

    def f(self, function: Any, name: str | None = None) -> str:
        return self.plan.function(function, name)

    def temp_like(self, array: np.ndarray) -> str:
        return self.plan.temp(np.empty_like(array))

    def emit(self, line: str) -> None:
        self.lines.append(line)


def _unheld_count() -> int:
    """What ``getrefcount(t)`` says in the replay's ``t = pooled...`` of a pooled tensor that nobody
    else holds (the namespace, the slot's list, the local, the argument); measured once."""
    if not _UNHELD:
        probe = _GradSlot(np.zeros(1))
        namespace: dict[str, Any] = {"getrefcount": sys.getrefcount, "pooled": probe.tensors[0]}
        exec("def count():\n    t = pooled\n    return getrefcount(t)\n", namespace)
        _UNHELD.append(namespace["count"]())
    return _UNHELD[0]


_UNHELD: list[int] = []
_CODE: dict[str, Any] = {}      # source -> its code object


def _root(array: np.ndarray) -> np.ndarray:
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _shares(out: np.ndarray, arrays: tuple[Any, ...]) -> bool:
    root = _root(out)
    return any(type(a) is np.ndarray and _root(a) is root for a in arrays)


class Plan:
    """A record made into code: ``replay(leaves)`` and what ``step.stats``/``step.graph`` show."""

    def __init__(self, step: CompiledStep, recorder: Recorder) -> None:
        self.step = step
        self.recorder: Any = recorder
        self.namespace: dict[str, Any] = {"MISS": _MISS}
        self.ids: dict[int, str] = {}
        self.lines: list[str] = []
        self.defined: set[str] = set()      # names of values made so far (buffers bound, locals assigned)
        self.locals: set[str] = set()
        self.owned: set[str] = set()        # locals that hold a new array only one leaf takes
        self.buffers: dict[int, np.ndarray] = {}     # id -> array the record owns (stats)
        self.counter = 0
        self.ops: dict[OpRecord, tuple[Any, str | None]] = {}   # op -> ((rule, kept) or None, ctx name)
        self.lowered = self.fallbacks = 0
        self.nodes: list[tuple[str, str, list[str], list[str]]] = []    # for the picture
        uses: Any = _uses(recorder)
        self.uses, self.leaf_only = uses
        self.namespace["getrefcount"] = sys.getrefcount
        self.unheld = _unheld_count()
        self.scalars: set[str] = set()      # forward values the replay holds as numpy scalars (_scalar)
        self.pinned: set[str] = set()       # values whose recorded arrays must stay theirs (_pins)
        # made by build():
        self.source = ""
        self.replay: Callable[[list[Any]], Any] = lambda leaves: _MISS
        self.op_count = self.buffer_count = self.buffer_bytes = 0
        self.first_result: Any = None
        self.draw: Callable[[], Any] = lambda: None
        self.op_classes: list[type] = []
        self.input_names: list[str] = []

    # ---- names ------------------------------------------------------------------------------
    def bind(self, value: Any, name: str) -> str:
        self.namespace[name] = value
        self.ids[id(value)] = name
        return name

    def const(self, value: Any) -> str:
        if value is None or type(value) in (bool, int, str) or (type(value) is float and math.isfinite(value)):
            return repr(value)
        name = self.ids.get(id(value))
        if name is not None and self.namespace.get(name) is value:
            return name
        self.counter += 1
        return self.bind(value, f"k{self.counter}")

    def function(self, function: Any, name: str | None = None) -> str:
        name = name or getattr(function, "__name__", None) or "f"
        existing = self.namespace.get(name)
        if existing is function or (existing is not None and existing == function and
                                    type(existing) is type(function)):
            return name     # (np.add.reduce is a new bound method at each access, equal to the last)
        if existing is not None or not name.isidentifier():
            self.counter += 1
            name = f"{name if name.isidentifier() else 'f'}_{self.counter}"
        return self.bind(function, name)

    def temp(self, array: np.ndarray, count: bool = True) -> str:
        self.counter += 1
        if count:       # (a trial of a rule makes arrays it does not keep)
            self.buffers[id(array)] = array
        return self.bind(array, f"t{self.counter}")

    def new_local(self) -> str:
        self.counter += 1
        name = f"l{self.counter}"
        self.locals.add(name)
        return name

    def ref(self, ref: _Ref) -> str:
        """The name of a value, binding its array the first time (a value of the backward must
        have been made by the code before)."""
        name = ref.name
        if name in self.defined:
            return name
        if ref.kind == "grad":
            raise CompileError(f"ad.compile: internal error, gradient {name} used before it is made; "
                               "please report it")
        self.bind(ref.array, name)
        if ref.kind in ("input", "value") and ref.array.base is None:
            self.buffers[id(ref.array)] = ref.array
        self.defined.add(name)
        return name

    def define_buffer(self, ref: _Ref, array: np.ndarray) -> None:
        self.bind(array, ref.name)
        self.buffers[id(array)] = array
        self.defined.add(ref.name)

    def define_local(self, ref: _Ref) -> None:
        self.locals.add(ref.name)
        self.defined.add(ref.name)

    def emit(self, line: str) -> None:
        self.lines.append(line)

    def persistent(self, name: str) -> np.ndarray | None:
        """The array of a value made so far that lives in a buffer (None for a fresh one)."""
        if name in self.defined and name not in self.locals:
            value = self.namespace.get(name)
            if type(value) is np.ndarray:
                return value
        return None

    # ---- ops --------------------------------------------------------------------------------
    def forward(self, op: OpRecord) -> None:
        kept: dict[str, Any] = {}
        forward_rule = lowering.FORWARD.get(op.cls)
        backward_rule: Any = lowering.BACKWARD.get(op.cls) if op.backward is not None else None
        if forward_rule is not None and (op.backward is None or backward_rule is not None):
            forward_lowering = Lowering(self, op, kept)
            try:
                forward_rule(forward_lowering)
                if op.backward is not None:     # (a trial: the backward's code is made at its turn)
                    backward_rule(Lowering(self, op, dict(kept), trial=True))
            except Decline:
                pass
            else:
                if not self._scalar(op):
                    self._keep(forward_lowering, op)
                self.ops[op] = ((backward_rule, kept), None)
                self.lowered += 1
                self._node("op", op.name, op.inputs, [op.out])
                return
        self.fallbacks += 1
        ctx: Any = _new(op.cls)
        ctx.needs_input_grad = op.ctx.needs_input_grad
        ctx.saved_tensors = ()
        ctx.scope = None
        self.counter += 1
        ctx_name = self.bind(ctx, f"ctx{self.counter}")
        args = [self._array_arg(ref) if ref is not None else self.const(value)
                for ref, value in zip(op.inputs, op.args)]
        args += [f"{key}={self.const(value)}" for key, value in (op.kwargs or {}).items()]
        cls: Any = op.cls
        call = f"{self.function(cls.forward, cls.__name__ + '_forward')}({', '.join([ctx_name] + args)})"
        if op.fresh_out and not _shares(op.out.array, op.args):
            self.emit(f"{self.function(np.copyto)}({self.ref(op.out)}, {call})")
        else:
            self.ref(op.out)
            if op.backward is not None:
                self.emit(call)
        self.ops[op] = (None, ctx_name)
        self._node("op", op.name + " (Function.forward)", op.inputs, [op.out])

    def _array_arg(self, ref: _Ref) -> str:
        """A value as a Function's argument: a 0-d array also where the replay holds a scalar."""
        name = self.ref(ref)
        return f"{self.function(np.asarray)}({name})" if name in self.scalars else name

    def _scalar(self, op: OpRecord) -> bool:
        """Replay a 0-d op on 0-d operands as numpy scalar arithmetic (a tenth of a ufunc call
        with out=, the same IEEE operation), its value a local, when nothing needs its array
        (see ``_pins``). Returns whether it did."""
        out = op.out
        if not op.fresh_out or out.array.ndim or out.name in self.pinned:
            return False
        if op.cls is ops.Sum:
            x, axes, keepdims = op.args
            if keepdims or op.inputs[0] is None:
                return False
            expression = f"{self.function(np.add.reduce, 'add_reduce')}({self.ref(op.inputs[0])}, axis={axes!r})"
        else:
            form = _SCALAR_FORMS.get(op.cls)
            if form is None or any(type(a) is np.ndarray and a.ndim for a in op.args):
                return False
            operands = []
            for ref, value in zip(op.inputs, op.args):
                if ref is None:
                    operands.append(self.const(value))
                elif ref.name in self.scalars:
                    operands.append(ref.name)
                elif ref.kind == "constant":
                    operands.append(self.const(ref.array[()]))
                else:
                    operands.append(f"{self.ref(ref)}[()]")
            expression = form.format(*operands)
        self.emit(f"{out.name} = {expression}")
        self.define_local(out)
        self.scalars.add(out.name)
        return True

    def _keep(self, lowering_: Lowering, op: OpRecord) -> None:
        for ref, array in lowering_.made:
            self.define_buffer(ref, array)
        if op.fresh_out:
            self.ref(op.out)
        self.lines.extend(lowering_.lines)

    def backward(self, record: BackwardRecord) -> None:
        op = record.op
        lowered, ctx_name = self.ops[op]
        g = self.ref(record.grad)
        if lowered is not None:
            rule, kept = lowered
            lowered = Lowering(self, op, kept)
            rule(lowered)
            for ref, array in lowered.made:
                self.define_buffer(ref, array)
            for ref in lowered.new_locals:
                self.define_local(ref)
            for ref, view in lowered.views:
                self.bind(view, ref.name)
                self.defined.add(ref.name)
            self.lines.extend(lowered.lines)
            self._node("backward", op.name + " backward", [record.grad], record.outputs)
            return
        result = self.new_local()
        cls: Any = op.cls
        self.emit(f"{result} = {self.function(cls.backward, cls.__name__ + '_backward')}({ctx_name}, {g})")
        output: _Ref | None
        for i, (output, value) in enumerate(zip(record.outputs, record.results)):
            if output is None:
                continue
            ref = output
            if ref is None or ref.name in self.defined:
                continue        # none, or the incoming gradient / another value handed on
            item = f"{result}[{i}]" if record.tupled else result
            if isinstance(value, Tensor):
                item += ".data"
            elif type(value) is not np.ndarray:
                item = f"{self.function(np.asarray)}({item})"
            self.emit(f"{ref.name} = {item}")
            self.define_local(ref)
            if isinstance(value, np.ndarray) and value.base is None and sum(r is ref for r in record.outputs) == 1:
                self.owned.add(ref.name)
        self._node("backward", op.name + " backward (Function.backward)", [record.grad], record.outputs)

    def array_op(self, item: Any) -> None:
        function, arguments, keywords, refs, out = item
        args = [self.ref(ref) if ref is not None else self.const(value) for ref, value in zip(refs, arguments)]
        target = self.ref(out)
        if isinstance(function, np.ufunc) and not keywords and len(args) == function.nin:
            self.emit(f"{self.function(function)}({', '.join(args)}, out={target})")
        else:
            keywords = [f"{key}={self.const(value)}" for key, value in keywords.items()]
            self.emit(f"{self.function(np.copyto)}({target}, {self.function(function)}({', '.join(args + keywords)}))")
        self._node("array", getattr(function, "__name__", "array op"), refs, [out])

    def call(self, item: Any) -> None:
        function, args, kwargs, outs = item
        arguments = [self.const(value) for value in args]
        arguments += [f"{key}={self.const(value)}" for key, value in kwargs.items()]
        name = getattr(function, "__qualname__", getattr(function, "__name__", "call")).replace(".", "_")
        call = f"{self.function(function, name)}({', '.join(arguments)})"
        copied = [(index, out, is_tensor) for index, out, is_tensor, fresh in outs if fresh]
        rule = lowering.CALLS.get(function)
        if rule is not None and not copied:
            lowered = CallLowering(self, args, kwargs, call)
            try:
                rule(lowered)
            except Decline:
                pass
            else:
                self.lines.extend(lowered.lines)
                self._node("call", getattr(function, "__qualname__", name) + " (numpy)", [], [])
                return
        if not copied:
            self.emit(call)
        else:       # its new results into the record's arrays
            result = self.new_local()
            self.emit(f"{result} = {call}")
            for index, out, is_tensor in copied:
                item = result if index is None else f"{result}[{index}]"
                self.emit(f"{self.function(np.copyto)}({self.ref(out)}, {item}{'.data' if is_tensor else ''})")
        self._node("call", getattr(function, "__qualname__", name), [], [out for _, out, _, _ in outs])

    def add(self, item: Any) -> None:
        a, b, total = item
        names = self.ref(a), self.ref(b)
        self.define_buffer(total, total.array)
        self.emit(f"{self.function(np.add)}({names[0]}, {names[1]}, out={total.name})")
        self._node("sum", "+", [a, b], [total])

    def reduce(self, item: Any) -> None:
        source, axes, new = item
        name = self.ref(source)
        self.define_buffer(new, new.array)
        self.emit(f"{self.function(np.add.reduce, 'add_reduce')}({name}, axis={axes!r}, keepdims=True, "
                  f"out={new.name})")
        self._node("sum", "sum back", [source], [new])

    def reshape(self, item: Any) -> None:
        source, shape, new = item
        name = self.ref(source)
        array = self.persistent(name)
        if array is not None:       # a view of a buffer, taken once
            self.bind(array.reshape(shape), new.name)
            self.defined.add(new.name)
        else:
            self.emit(f"{new.name} = {name}.reshape({shape!r})")
            self.define_local(new)

    def cast(self, item: Any) -> None:
        source, new = item
        name = self.ref(source)
        self.define_buffer(new, new.array)
        self.emit(f"{self.function(np.copyto)}({new.name}, {name}, casting='unsafe')")

    def deliver(self, item: Any) -> None:
        leaf, refs = item
        self.counter += 1
        leaf_name = self.bind(leaf, f"leaf{self.counter}")
        slot = self.bind(_GradSlot(refs[0].array), f"grads{self.counter}")
        names = [self.ref(ref) for ref in refs]
        self.counter += 1
        first = f"l{self.counter}"
        self.emit(f"if {leaf_name}._grad is None:")      # (the slot behind .grad, as the engine writes it)
        head = names[0]
        if head in self.owned and self.uses.get(head) == 1:
            self.emit(f"    {first} = {head}")
        else:
            self.emit(f"    {first} = {head}.copy()")
        for name in names[1:]:
            self.emit(f"    {self.function(np.add)}({first}, {name}, out={first})")
        # the slot's first tensor, unless someone still holds it (then the slot finds another)
        pooled = self.bind(self.namespace[slot].tensors[0], f"pooled{self.counter}")
        self.emit(f"    t = {pooled}")
        self.emit(f"    if getrefcount(t) > {self.unheld}:")
        self.emit(f"        t = {slot}.take({first})")
        self.emit("    else:")
        self.emit(f"        t.data = {first}")
        self.emit(f"    {leaf_name}._grad = t")
        self.emit("else:")
        for name in names:
            self.emit(f"    {self.function(_accumulate)}({leaf_name}, {name})")
        self._node("leaf", "→ .grad", refs, [])

    def _node(self, kind: str, label: str, inputs: Any, outputs: Any) -> None:
        self.nodes.append((kind, label, [r.name for r in inputs if r is not None],
                           [r.name for r in outputs if r is not None]))


_SCALAR_FORMS = {ops.Add: "{0} + {1}", ops.Sub: "{0} - {1}", ops.Mul: "{0} * {1}", ops.Div: "{0} / {1}",
                 ops.MulSelf: "{0} * {0}", ops.Neg: "-{0}"}


def _pins(recorder: Recorder, result: Any) -> set[str]:
    """The values whose recorded arrays something holds on to, so that they must stay the
    replay's buffers: arrays handed to replayed calls and array ops, the results, the bases of
    views taken once, a backward's given gradient."""
    pinned = set()
    refs = recorder.refs

    def pin(value: Any) -> None:
        if isinstance(value, Tensor):
            value = _data_slot.__get__(value, Tensor)
        if type(value) is np.ndarray:
            ref = refs.get(id(value))
            if ref is not None:
                pinned.add(ref.name)
            while isinstance(value.base, np.ndarray):
                value = value.base
                ref = refs.get(id(value))
                if ref is not None:
                    pinned.add(ref.name)
        elif isinstance(value, (tuple, list)):
            for item in value:
                pin(item)
        elif isinstance(value, dict):
            for item in value.values():
                pin(item)

    for kind, item in recorder.steps:
        if kind == "array":
            for ref in item[3]:
                if ref is not None:
                    pinned.add(ref.name)
        elif kind == "call":
            pin(item[1])
            pin(item[2])
        elif kind == "backward" and item.grad.kind != "grad":
            pinned.add(item.grad.name)
    for ref in list(refs.values()):
        if ref.kind == "view":
            pin(ref.array)
    pin(result)
    return pinned


def _held(plan: Plan, ref: _Ref) -> bool:
    """Does anything but the code's name hold the input buffer of ``ref`` (a view of it taken
    once, a replayed call's argument, a result)? Then the replay copies the caller's array into
    it; else it reads the caller's array where it is (no copy, and its own layout, as eager)."""
    if ref.name in plan.pinned:
        return True
    buffer = ref.array
    for name, value in plan.namespace.items():
        if type(value) is np.ndarray and value is not buffer and _root(value) is buffer:
            return True
    for other in plan.recorder.refs.values():
        if other is not ref and type(other.array) is np.ndarray and _root(other.array) is buffer and (
                other.name in plan.defined and other.name not in plan.locals):
            return True
    return False


def _uses(recorder: Recorder) -> tuple[dict[str, int], dict[str, bool]]:
    """How many times each value is read in the record, and which gradients only a leaf takes."""
    uses: dict[str, int] = {}
    leaf_only: dict[str, bool] = {}

    def use(ref: _Ref | None, leaf: bool = False) -> None:
        if ref is not None:
            uses[ref.name] = uses.get(ref.name, 0) + 1
            leaf_only[ref.name] = leaf_only.get(ref.name, True) and leaf

    for kind, item in recorder.steps:
        if kind == "op":
            for ref in item.inputs:
                use(ref)
        elif kind == "array":
            for ref in item[3]:
                use(ref)
        elif kind == "backward":
            use(item.grad)
        elif kind == "add":
            use(item[0])
            use(item[1])
        elif kind in ("reduce", "reshape", "cast"):
            use(item[0])
        elif kind == "deliver":
            for ref in item[1]:
                use(ref, leaf=True)
    return uses, leaf_only


def _template(plan: Plan, recorder: Recorder, value: Any, released: list[str]) -> str:
    """The expression that rebuilds fn's result at replay (and its output slots)."""
    if isinstance(value, Tensor):
        for leaf in recorder.leaves.values():
            if leaf.grad is value:
                return f"{plan.const(leaf)}.grad"
        array = _data_slot.__get__(value, Tensor)
        ref = recorder.refs.get(id(array))
        if ref is not None and ref.kind in ("value", "input", "view"):
            slot = _OutputSlot(array)
            name = plan.const(slot)
            released.append(name)
            return f"{name}.take()"
        if ref is not None and ref.kind == "grad":
            raise CompileError(f"ad.compile: {plan.step.name} returns a gradient it computed "
                               "inside the backward; return what backward() wrote into .grad instead")
        return plan.const(value)
    if isinstance(value, tuple) and hasattr(value, "_make"):
        items = ", ".join(_template(plan, recorder, v, released) for v in value)
        return f"{plan.const(type(value))}._make(({items},))"
    if type(value) in (tuple, list):
        items = ", ".join(_template(plan, recorder, v, released) for v in value)
        return f"({items},)" if type(value) is tuple else f"[{items}]"
    if type(value) is dict:
        items = ", ".join(f"{plan.const(k)}: {_template(plan, recorder, v, released)}" for k, v in value.items())
        return "{" + items + "}"
    return plan.const(value)


def _guards(plan: Plan, recorder: Recorder) -> list[str]:
    """The conditions a replay checks first (else the step records again)."""
    checks = []
    used = recorder.refs
    for module, training in recorder.modules.values():
        name = plan.const(module)
        if training is not None:        # (None: the step sets the flag itself)
            checks.append(f"{name}.training is not {training!r}" if type(training) is bool else
                          f"{name}.training != {plan.const(training)}")
        for registry in ("_parameters", "_buffers"):
            entries = module.__dict__.get(registry)
            if not entries:
                continue
            entries_name = plan.const(entries)
            for key, tensor in entries.items():
                checks.append(f"{entries_name}.get({key!r}) is not {plan.const(tensor)}")
                if isinstance(tensor, Tensor):
                    array = _data_slot.__get__(tensor, Tensor)
                    if id(array) in used:
                        checks.append(f"{plan.const(tensor)}.data is not {plan.ref(used[id(array)])}")
    for leaf in recorder.leaves.values():
        name = plan.const(leaf)
        array = _data_slot.__get__(leaf, Tensor)
        checks.append(f"{name}.data is not {plan.ref(recorder.refs[id(array)])}")
        checks.append(f"{name}._requires_grad is not True")
        checks.append(f"{name}._hooks")
    return checks


def build(step: CompiledStep, recorder: Recorder, result: Any) -> Plan:
    """The Plan of a record: its replay function, compiled."""
    plan = Plan(step, recorder)
    plan.pinned = _pins(recorder, result)
    checks = _guards(plan, recorder)
    for i, ref in enumerate(recorder.inputs):
        plan.ref(ref)
    body = []
    checks = list(dict.fromkeys(checks))
    for start in range(0, len(checks), 8):
        body.append("if " + " or ".join(checks[start:start + 8]) + ":")
        body.append("    return MISS")
    released: list[str] = []
    template = _template(plan, recorder, result, released)
    for name in released:
        body.append(f"{name}.release()")
    copyto = plan.function(np.copyto)
    inputs = []
    for i, (ref, given) in enumerate(zip(recorder.inputs, recorder.given)):
        caller = f"leaves[{i}]{'.data' if isinstance(given, Tensor) else ''}"
        inputs.append((ref, caller))
    handlers: dict[str, Callable[[Any], None]] = {"op": plan.forward, "array": plan.array_op, "call": plan.call, "backward": plan.backward,
                "add": plan.add, "reduce": plan.reduce, "reshape": plan.reshape, "cast": plan.cast,
                "deliver": plan.deliver}
    for kind, item in recorder.steps:
        handlers[kind](item)
    for ref, caller in inputs:
        if _held(plan, ref):
            body.append(f"{copyto}({ref.name}, {caller})")      # into the buffer others hold
        else:
            body.append(f"{ref.name} = {caller}")      # the caller's array itself, read in place
    body += plan.lines
    body.append(f"return {template}")
    source = "def replay(leaves):\n" + "".join(f"    {line}\n" for line in body)
    code = _CODE.get(source)        # (the same model recorded again makes the same source)
    if code is None:
        if len(_CODE) >= 64:
            _CODE.clear()
        code = _CODE[source] = compile(source, f"<ad.compile {step.name}>", "exec")
    exec(code, plan.namespace)
    plan.source = source
    plan.replay = plan.namespace["replay"]
    plan.op_count = plan.lowered + plan.fallbacks
    plan.buffer_count = len(plan.buffers)
    plan.buffer_bytes = sum(a.nbytes for a in plan.buffers.values())
    plan.first_result = _FirstResult(recorder)
    plan.draw = lambda: _draw(plan)
    # what the picture and the tests read; the record itself (the recorded call's arrays, which
    # the replay does not use) is let go
    plan.op_classes = [item.cls for kind, item in recorder.steps if kind == "op"]
    plan.input_names = [ref.name for ref in recorder.inputs]
    plan.recorder = plan.uses = plan.leaf_only = None
    return plan


class _FirstResult:
    """The recorded call's own result as a replay returns it: its tensors off the graph, with
    arrays of their own (a replay rewrites the record's buffers)."""

    def __init__(self, recorder: Recorder) -> None:
        self.refs = recorder.refs
        self.leaves = recorder.leaves

    def __call__(self, value: Any) -> Any:
        if isinstance(value, Tensor):
            array = _data_slot.__get__(value, Tensor)
            ref = self.refs.get(id(array))
            if ref is not None and ref.kind in ("value", "input", "view"):
                return _wrap(array.copy())
            return value
        if isinstance(value, tuple) and hasattr(value, "_make"):
            return type(value)._make(self(item) for item in value)
        if type(value) in (tuple, list):
            return type(value)(self(item) for item in value)
        if type(value) is dict:
            return {key: self(item) for key, item in value.items()}
        return value


_STYLE = {"op": ("ellipse", "#dbe9f6"), "backward": ("ellipse", "#f6e3db"), "array": ("ellipse", "#eeeeee"),
          "call": ("box", "#e7f6db"), "sum": ("circle", "#ffffff"), "leaf": ("box", "#fff3c4")}


def _draw(plan: Plan) -> Any:
    from .viz import _import_graphviz
    graphviz = _import_graphviz()
    graph = graphviz.Digraph(f"ad.compile {plan.step.name}", graph_attr={"rankdir": "TB", "fontsize": "10"},
                             node_attr={"fontsize": "10", "style": "filled"})
    made = {}
    graph.node("inputs", "inputs", shape="box", fillcolor="#ffffff", style="dashed")
    for name in plan.input_names:
        made[name] = "inputs"
    for index, (kind, label, inputs, outputs) in enumerate(plan.nodes):
        shape, colour = _STYLE[kind]
        node = f"n{index}"
        graph.node(node, label, shape=shape, fillcolor=colour)
        for name in inputs:
            if name in made:
                graph.edge(made[name], node)
        for name in outputs:
            made[name] = node
    stats = plan.step.stats
    graph.attr(label=f"{plan.step.name}: {plan.lowered} ops as numpy calls, {plan.fallbacks} by "
                     f"Function.forward/backward; {stats.buffers} buffers, {stats.bytes:,} bytes")
    return graph
