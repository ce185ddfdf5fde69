"""Every promise a Function class makes is kept by the engine on every path, and checked.

The test finds, for every op class, the ways a user reaches it (``Cls.apply``, the ``ad.``
function, the Tensor method, the operator) by calling every public entry and looking at the node
it records, so a new op is covered without editing a list."""
import operator

import numpy as np
import pytest

import autodiff as ad
from autodiff.function import Elementwise


def _subclasses(cls=ad.Function):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _x(seed=0):
    # values in (0.5, 1.5): inside every elementwise op's domain (log, sqrt, acos after 17...)
    return ad.tensor(0.5 + np.random.default_rng(seed).random(3) * 0.5, requires_grad=True)


_OPERATORS = {"a + b": operator.add, "a - b": operator.sub, "a * b": operator.mul, "a / b": operator.truediv,
              "-a": operator.neg, "a ** b": operator.pow, "a * a": lambda a: a * a, "abs(a)": abs}


# modules of ad.'s functions that are not ops (calling them changes state or writes files)
_NOT_OPS = ("autodiff.grad_mode", "autodiff.creation", "autodiff.serialization", "autodiff.viz",
            "autodiff.viz_html", "autodiff.explainer", "autodiff.gradcheck", "autodiff.anomaly",
            "autodiff.tensor", "autodiff.engine", "autodiff.functional", "autodiff.dtypes",
            "autodiff.compile", "autodiff._siblings")


def _entries():
    """(description, call) pairs for every public op entry of the engine: ad.<name>,
    Tensor.<name>, the operators; each call takes the input tensors."""
    for name in sorted(dir(ad)):
        fn = getattr(ad, name)
        if callable(fn) and not isinstance(fn, type) and not name.startswith("_") and (
                getattr(fn, "__module__", "") or "").startswith("autodiff") and fn.__module__ not in _NOT_OPS:
            yield f"ad.{name}", fn
    for name in sorted(dir(ad.Tensor)):
        attr = getattr(ad.Tensor, name, None)
        if name.endswith("_") or name in ("backward", "register_hook", "retain_grad", "detach", "numpy",
                                          "tolist", "item", "requires_grad_"):
            continue            # in-place ops and graph tools: not ops
        if callable(attr) and not name.startswith("_") or name in ("__add__", "__mul__", "__sub__",
                                                                   "__truediv__", "__neg__", "__abs__"):
            yield f"Tensor.{name}", (lambda name: lambda t, *rest: getattr(t, name)(*rest))(name)
    yield from _OPERATORS.items()


_FORMS = {"(x)": lambda x, y: (x,), "(x, y)": lambda x, y: (x, y), "(x, 2.0)": lambda x, y: (x, 2.0),
          "(2.0, x)": lambda x, y: (2.0, x)}


def _reaching_entries():
    """{class: [(description, call, form)]}: the entries whose node is that class."""
    dtype = ad.get_default_dtype()
    try:
        return _reach()
    finally:                # whatever an entry did, the tests after this one start as usual
        ad.set_default_dtype(dtype)
        ad.set_grad_enabled(True)


def _reach():
    found = {}
    for description, call in _entries():
        for form, arguments in _FORMS.items():
            x, y = _x(1), _x(2)
            try:
                with np.errstate(all="ignore"):
                    out = call(*arguments(x, y))
            except Exception:
                continue
            node = getattr(out, "grad_fn", None)
            if isinstance(node, ad.Function) and type(node).same_shape and any(
                    edge is x or edge is y for edge in node.input_nodes):   # the op itself
                found.setdefault(type(node), []).append((description, call, form))
    return found


REACHING = _reaching_entries()
ELEMENTWISE_CLASSES = sorted((cls for cls in _subclasses() if cls.same_shape and cls is not Elementwise and
                              cls.__module__.startswith(("autodiff", "nn", "optim"))),
                             key=lambda cls: cls.__qualname__)


def test_every_elementwise_class_is_reached_by_some_entry():
    missing = [cls.__qualname__ for cls in ELEMENTWISE_CLASSES if cls not in REACHING]
    assert not missing, f"no ad. function, method or operator records these elementwise ops: {missing}"
    assert issubclass(ad.ops.Mul, Elementwise) and "a * b" in [d for d, _, _ in REACHING[ad.ops.Mul]]


def _broken(shape):
    def backward(ctx, grad):
        wrong = np.zeros(grad.shape + (2,), grad.dtype)
        return (wrong,) * len(ctx.needs_input_grad)
    return backward


@pytest.mark.parametrize("cls", ELEMENTWISE_CLASSES, ids=lambda cls: cls.__qualname__)
@pytest.mark.parametrize("where", ["on a leaf", "in a chain"])
def test_a_broken_elementwise_promise_gives_the_same_error_on_every_path(cls, where, monkeypatch):
    calls = [(f"{cls.__qualname__}.apply", cls.apply, None)] + REACHING.get(cls, [])
    monkeypatch.setattr(cls, "backward", staticmethod(_broken(None)))
    for description, call, form in calls:
        x, y = _x(1), _x(2)
        if where == "in a chain":       # the op's input is another elementwise node's output
            x, y = x * 1.0, y * 1.0
        if form is None:                # Cls.apply: with the arguments a reaching entry uses
            form = calls[1][2] if len(calls) > 1 else "(x)"
            arguments = [a.data if False else a for a in _FORMS[form](x, y)]
        else:
            arguments = _FORMS[form](x, y)
        with np.errstate(all="ignore"):
            out = call(*arguments)
        assert type(out.grad_fn) is cls, description
        with pytest.raises(RuntimeError, match=rf"{cls.__name__}\.backward returned a gradient of shape "
                                               r"\(3, 2\).*elementwise.*output's shape \(3,\)"):
            (out * out).sum().backward()


def test_a_broken_promise_deep_in_a_run_names_the_op_that_broke_it(monkeypatch):
    monkeypatch.setattr(ad.ops.Sigmoid, "backward", staticmethod(_broken(None)))
    x = _x()
    y = ad.tanh(ad.sigmoid(ad.tanh(x * 1.0)) * 2.0)     # sigmoid sits in the middle of a run
    with pytest.raises(RuntimeError, match=r"Sigmoid\.backward returned a gradient of shape \(3, 2\)"):
        y.sum().backward()
    assert x.grad is None


def test_a_user_elementwise_op_gets_the_same_check():
    class Twice(Elementwise):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, grad):
            return np.concatenate([grad, grad])      # wrong: twice as long

    x = _x()
    for y in (Twice.apply(x), Twice.apply(x * 1.0)):
        with pytest.raises(RuntimeError, match="Twice.backward returned a gradient of shape"):
            y.sum().backward()


def test_elementwise_nodes_record_their_inputs_as_same_as_the_output_on_every_path():
    from autodiff.function import _SAME
    for cls, entries in REACHING.items():
        for description, call, form in entries:
            x, y = _x(1), _x(2)
            with np.errstate(all="ignore"):
                node = call(*_FORMS[form](x, y)).grad_fn
            assert all(meta in (_SAME, None) for meta in node.input_meta), (cls, description)
