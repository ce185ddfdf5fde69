"""Every op against a numpy reference written here: forward shape and values, first-order
gradients (central differences of the reference and ad.gradcheck), second-order gradients away
from kinks, and float32 inputs keeping float32 outputs and gradients.

Binary ops run over the fixed cross product of operand shapes (), (3,), (2,3), (1,3), (2,1),
(4,2,3) (all pairs broadcast); reductions over every axis form (None, int, negative, tuple) with
and without keepdims, on 0-d to 3-d inputs."""
import itertools
import math
from dataclasses import dataclass

import numpy as np
import pytest

import autodiff as ad
from helpers import check_op, loss_of, make_arrays

SHAPES = [(), (3,), (2, 3), (1, 3), (2, 1), (4, 2, 3)]
UNARY_SHAPES = [(), (3,), (2, 3), (4, 2, 3)]


@dataclass
class Case:
    id: str
    family: str
    op: object
    ref: object
    shapes: tuple
    domains: object = "real"


CASES = []


# ---- binary elementwise ops, full cross product ------------------------------------------------

BINARY = {
    # name: (engine op, numpy reference, domains of (a, b))
    "add": (lambda a, b: a + b, lambda a, b: a + b, "real"),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, "real"),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, "real"),
    "div": (lambda a, b: a / b, lambda a, b: a * (1.0 / b), ("real", "nonzero")),
    "pow": (lambda a, b: a ** b, lambda a, b: np.exp(b * np.log(a)), ("positive", "real")),
    "maximum": (ad.maximum, lambda a, b: np.where(a >= b, a, b), "real"),
    "minimum": (ad.minimum, lambda a, b: np.where(a <= b, a, b), "real"),
}

for name, (op, ref, domains) in BINARY.items():
    for sa, sb in itertools.product(SHAPES, SHAPES):
        CASES.append(Case(f"{name}-{sa}-{sb}", name, op, ref, (sa, sb), domains))


# ---- reflected forms: python scalar or ndarray on the left ------------------------------------

CONSTANT = np.random.default_rng(42).uniform(0.5, 2.0, size=(2, 3))

REFLECTED = {
    "radd": (lambda t: 2.5 + t, lambda x: 2.5 + x, "real"),
    "rsub": (lambda t: 2.5 - t, lambda x: 2.5 - x, "real"),
    "rmul": (lambda t: 2.5 * t, lambda x: 2.5 * x, "real"),
    "rdiv": (lambda t: 2.5 / t, lambda x: 2.5 * (1.0 / x), "nonzero"),
    "rpow": (lambda t: 2.5 ** t, lambda x: np.exp(x * math.log(2.5)), "real"),
    "array_add": (lambda t: CONSTANT + t, lambda x: CONSTANT + x, "real"),
    "array_sub": (lambda t: CONSTANT - t, lambda x: CONSTANT - x, "real"),
    "array_mul": (lambda t: CONSTANT * t, lambda x: CONSTANT * x, "real"),
    "array_div": (lambda t: CONSTANT / t, lambda x: CONSTANT * (1.0 / x), "nonzero"),
    "array_pow": (lambda t: CONSTANT ** t, lambda x: np.exp(x * np.log(CONSTANT)), "real"),
}

for name, (op, ref, domain) in REFLECTED.items():
    for shape in SHAPES:
        CASES.append(Case(f"{name}-{shape}", name, op, ref, (shape,), domain))


# ---- unary elementwise ops --------------------------------------------------------------------

UNARY = {
    "neg": (lambda t: -t, lambda x: 0.0 - x, "real"),
    "neg_fn": (ad.neg, lambda x: 0.0 - x, "real"),
    "exp": (ad.exp, lambda x: math.e ** x, "real"),
    "log": (ad.log, np.log, "positive"),
    "sqrt": (ad.sqrt, lambda x: x ** 0.5, "positive"),
    "tanh": (ad.tanh, lambda x: (np.exp(2 * x) - 1) / (np.exp(2 * x) + 1), "real"),
    "sigmoid": (ad.sigmoid, lambda x: 1.0 / (1.0 + np.exp(-x)), "real"),
    "relu": (ad.relu, lambda x: np.where(x > 0, x, 0.0), "nonzero"),
    "abs": (ad.abs, lambda x: np.where(x < 0, -x, x), "nonzero"),
    "abs_builtin": (abs, lambda x: np.where(x < 0, -x, x), "nonzero"),
    "sin": (ad.sin, np.sin, "real"),
    "cos": (ad.cos, np.cos, "real"),
    "square": (lambda t: t ** 2, lambda x: x * x, "real"),
    "cube": (lambda t: t ** 3, lambda x: x * x * x, "real"),
    "pow_half": (lambda t: t ** 0.5, np.sqrt, "positive"),
    "pow_neg_float": (lambda t: t ** -1.5, lambda x: 1.0 / (x * np.sqrt(x)), "positive"),
    "pow_neg_int": (lambda t: t ** -2, lambda x: 1.0 / (x * x), "nonzero"),
    "pow_zero": (lambda t: t ** 0, lambda x: np.ones_like(x), "real"),
    "pow_one": (lambda t: t ** 1, lambda x: x, "real"),
    "pow_tensor_exponent": (lambda t: t ** ad.tensor(1.5), lambda x: np.exp(1.5 * np.log(x)),
                            "positive"),
    "clip": (lambda t: ad.clip(t, -0.5, 0.5), lambda x: np.where(x < -0.5, -0.5, np.where(x > 0.5, 0.5, x)),
             "clip"),
    "clip_min": (lambda t: t.clip(min=-0.5), lambda x: np.where(x < -0.5, -0.5, x), "clip"),
    "clip_max": (lambda t: t.clip(max=0.5), lambda x: np.where(x > 0.5, 0.5, x), "clip"),
    "clamp": (lambda t: ad.clamp(t, -0.5, 0.5), lambda x: np.where(x < -0.5, -0.5, np.where(x > 0.5, 0.5, x)),
              "clip"),
    "clone": (lambda t: t.clone(), lambda x: x, "real"),
    "maximum_scalar": (lambda t: ad.maximum(t, 0.25), lambda x: np.where(x > 0.25, x, 0.25), "nonzero"),
    "minimum_scalar": (lambda t: ad.minimum(t, 0.25), lambda x: np.where(x < 0.25, x, 0.25), "nonzero"),
}

for name, (op, ref, domain) in UNARY.items():
    for shape in UNARY_SHAPES:
        CASES.append(Case(f"{name}-{shape}", name, op, ref, (shape,), domain))


# ---- where ------------------------------------------------------------------------------------

WHERE_SHAPES = [((2, 3), (2, 3), (2, 3)), ((3,), (2, 1), ()), ((2, 1), (1, 3), (4, 2, 3)),
                ((), (3,), (2, 3)), ((4, 2, 3), (3,), ()), ((1, 3), (2, 1), (2, 3))]

for cond_shape, sa, sb in WHERE_SHAPES:
    cond = np.random.default_rng(7).uniform(size=cond_shape) < 0.5
    if cond.ndim:
        cond.reshape(-1)[:2] = [True, False]      # both branches taken when there is room
    CASES.append(Case(f"where-{cond_shape}-{sa}-{sb}", "where",
                      (lambda c: lambda a, b: ad.where(c, a, b))(cond),
                      (lambda c: lambda a, b: c * a + (1.0 - c) * b)(cond.astype(np.float64)),
                      (sa, sb)))


# ---- matmul -----------------------------------------------------------------------------------

def ref_matmul(a, b):
    """Matrix product by explicit sums (numpy's matmul rules for 1-D and batched operands)."""
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    out = np.sum(a2[..., :, :, None] * b2[..., None, :, :], axis=-2)
    if a.ndim == 1:
        out = out[..., 0, :]
    if b.ndim == 1:
        out = out[..., 0]
    return out


MATMUL_SHAPES = [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((4, 2, 3), (3, 2)),
                 ((4, 2, 3), (4, 3, 5)), ((1, 2, 3), (4, 3, 2)), ((3,), (4, 3, 2)), ((4, 2, 3), (3,)),
                 ((2, 3), (4, 3, 1)), ((1, 3), (3, 1))]

for sa, sb in MATMUL_SHAPES:
    CASES.append(Case(f"matmul-{sa}-{sb}", "matmul", lambda a, b: a @ b, ref_matmul, (sa, sb)))
CASES.append(Case("matmul_fn-(2, 3)-(3, 4)", "matmul_fn", ad.matmul, ref_matmul, ((2, 3), (3, 4))))
CASES.append(Case("rmatmul_array-(3, 2)", "rmatmul", lambda t: CONSTANT @ t, lambda x: ref_matmul(CONSTANT, x),
                  ((3, 2),)))


# ---- reductions -------------------------------------------------------------------------------

def axis_forms(ndim):
    forms = [None]
    if ndim >= 1:
        forms += [0, -1]
    if ndim >= 2:
        forms += [1, -2, (0, -1)]
    if ndim == 3:
        forms += [(0, 2), (1, 2), (-3, -2, -1)]
    return forms


def normalized(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else axis
    return tuple(sorted(a % ndim for a in axes))


def count(shape, axis):
    return math.prod(shape[a] for a in normalized(axis, len(shape)))


def ref_var(x, axis, keepdims, ddof):
    centered = x - np.mean(x, axis=axis, keepdims=True)
    return np.sum(centered * centered, axis=axis, keepdims=keepdims) / (count(x.shape, axis) - ddof)


REDUCTIONS = {
    # name: (engine op (t, axis, keepdims), numpy reference (x, axis, keepdims), domain, min count)
    "sum": (lambda t, ax, k: t.sum(axis=ax, keepdims=k), lambda x, ax, k: np.sum(x, axis=ax, keepdims=k), "real", 1),
    "mean": (lambda t, ax, k: t.mean(axis=ax, keepdims=k),
             lambda x, ax, k: np.sum(x, axis=ax, keepdims=k) / count(x.shape, ax), "real", 1),
    # amax/amin: several dims at once (PyTorch's max(dim) takes one dim and returns indices too)
    "amax": (lambda t, ax, k: t.amax(axis=ax, keepdims=k), lambda x, ax, k: np.max(x, axis=ax, keepdims=k), "real", 1),
    "amin": (lambda t, ax, k: t.amin(axis=ax, keepdims=k), lambda x, ax, k: np.min(x, axis=ax, keepdims=k), "real", 1),
    "prod": (lambda t, ax, k: t.prod(axis=ax, keepdims=k), lambda x, ax, k: np.prod(x, axis=ax, keepdims=k),
             "nonzero", 1),
    # var/std: unbiased by default (PyTorch's correction=1); correction=0 is numpy's default
    "var": (lambda t, ax, k: t.var(axis=ax, keepdims=k), lambda x, ax, k: ref_var(x, ax, k, 1), "real", 2),
    "var_biased": (lambda t, ax, k: t.var(axis=ax, correction=0, keepdims=k), lambda x, ax, k: ref_var(x, ax, k, 0),
                   "real", 1),
    "std": (lambda t, ax, k: t.std(axis=ax, keepdims=k), lambda x, ax, k: np.sqrt(ref_var(x, ax, k, 1)), "real", 2),
    "std_biased": (lambda t, ax, k: t.std(axis=ax, unbiased=False, keepdims=k),
                   lambda x, ax, k: np.sqrt(ref_var(x, ax, k, 0)), "real", 2),
    # max/min along one dim: the values of (values, indices)
    "max_dim": (lambda t, ax, k: t.max(ax, keepdim=k).values, lambda x, ax, k: np.max(x, axis=ax, keepdims=k),
                "real", 1),
    "min_dim": (lambda t, ax, k: t.min(dim=ax, keepdim=k)[0], lambda x, ax, k: np.min(x, axis=ax, keepdims=k),
                "real", 1),
}

for name, (op, ref, domain, min_count) in REDUCTIONS.items():
    for shape in UNARY_SHAPES:
        for axis in axis_forms(len(shape)):
            if name.endswith("_dim") and not isinstance(axis, int):
                continue        # max(dim)/min(dim) take one dim
            if count(shape, axis) < min_count:
                continue        # var with ddof=1 of one element, std of a constant: no gradient
            for keepdims in (False, True):
                CASES.append(Case(
                    f"{name}-{shape}-axis={axis}-keepdims={keepdims}", name,
                    (lambda o, a, k: lambda t: o(t, a, k))(op, axis, keepdims),
                    (lambda r, a, k: lambda x: r(x, a, k))(ref, axis, keepdims),
                    (shape,), domain))


# ---- shape ops --------------------------------------------------------------------------------

SHAPE_OPS = [
    ("reshape", (2, 3), lambda t: t.reshape((3, 2)), lambda x: x.reshape(3, 2)),
    ("reshape", (2, 3), lambda t: t.reshape(3, 2), lambda x: x.reshape(3, 2)),
    ("reshape", (2, 3), lambda t: t.reshape(-1), lambda x: x.reshape(6)),
    ("reshape", (4, 2, 3), lambda t: ad.reshape(t, (8, 3)), lambda x: x.reshape(8, 3)),
    ("reshape", (4, 2, 3), lambda t: t.reshape(2, -1, 2), lambda x: x.reshape(2, 6, 2)),
    ("reshape", (), lambda t: t.reshape(1, 1), lambda x: x.reshape(1, 1)),
    ("reshape", (3,), lambda t: t.reshape(3, 1), lambda x: x[:, None]),
    ("transpose", (2, 3), lambda t: t.transpose(), lambda x: np.array([[x[i, j] for i in range(2)] for j in range(3)])),
    ("transpose", (4, 2, 3), lambda t: t.transpose(0, 2), lambda x: np.einsum("abc->cba", x)),
    ("transpose", (4, 2, 3), lambda t: ad.transpose(t, -1, 1), lambda x: np.einsum("abc->acb", x)),
    ("permute", (4, 2, 3), lambda t: t.permute(1, 2, 0), lambda x: np.moveaxis(x, 0, -1)),
    ("permute", (4, 2, 3), lambda t: ad.permute(t, (-1, 0, 1)), lambda x: np.moveaxis(x, -1, 0)),
    ("transpose", (2, 3), lambda t: t.T, lambda x: np.array([[x[i, j] for i in range(2)] for j in range(3)])),
    ("transpose", (4, 2, 3), lambda t: t.T, lambda x: np.einsum("abc->cba", x)),
    ("permute", (4, 2, 3), lambda t: ad.permute(t, 2, 0, 1), lambda x: np.einsum("abc->cab", x)),
    ("swapaxes", (4, 2, 3), lambda t: t.swapaxes(0, -1), lambda x: np.einsum("abc->cba", x)),
    ("swapaxes", (2, 3), lambda t: ad.swapaxes(t, 1, 0), lambda x: np.einsum("ab->ba", x)),
    ("squeeze", (1, 3), lambda t: t.squeeze(), lambda x: x[0]),
    ("squeeze", (2, 1), lambda t: t.squeeze(1), lambda x: x[:, 0]),
    ("squeeze", (4, 1, 3, 1), lambda t: ad.squeeze(t, -1), lambda x: x[..., 0]),
    ("squeeze", (1, 1), lambda t: t.squeeze(), lambda x: x[0, 0]),
    ("unsqueeze", (3,), lambda t: t.unsqueeze(0), lambda x: x[None]),
    ("unsqueeze", (3,), lambda t: ad.unsqueeze(t, -1), lambda x: x[:, None]),
    ("unsqueeze", (2, 3), lambda t: t.unsqueeze(1), lambda x: x[:, None, :]),
    ("unsqueeze", (), lambda t: t.unsqueeze(0), lambda x: x[None]),
    ("broadcast_to", (3,), lambda t: t.broadcast_to((2, 3)), lambda x: np.stack([x, x])),
    ("broadcast_to", (1, 3), lambda t: ad.broadcast_to(t, (4, 2, 3)), lambda x: np.tile(x, (4, 2, 1))),
    ("broadcast_to", (), lambda t: t.broadcast_to((2, 3)), lambda x: np.full((2, 3), x)),
    ("broadcast_to", (2, 1), lambda t: t.broadcast_to((2, 3)), lambda x: np.concatenate([x, x, x], axis=1)),
    ("broadcast_to", (4, 1, 3), lambda t: t.broadcast_to((4, 2, 3)), lambda x: np.concatenate([x, x], axis=1)),
    ("flatten", (4, 2, 3), lambda t: t.flatten(), lambda x: x.reshape(24)),
    ("flatten", (4, 2, 3), lambda t: ad.flatten(t, 1), lambda x: x.reshape(4, 6)),
    ("flatten", (4, 2, 3), lambda t: t.flatten(0, 1), lambda x: x.reshape(8, 3)),
    ("flatten", (), lambda t: t.flatten(), lambda x: x.reshape(1)),
]

for i, (name, shape, op, ref) in enumerate(SHAPE_OPS):
    CASES.append(Case(f"{name}{i}-{shape}", name, op, ref, (shape,)))


# ---- the tests --------------------------------------------------------------------------------

def _id(case):
    return case.id


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_op(case):
    check_op(case.op, case.ref, case.shapes, case.domains)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_op_second_order(case):
    check_op(case.op, case.ref, case.shapes, case.domains, second_order=True)


def _first_of_each_family():
    seen, chosen = set(), []
    for case in CASES:
        # the first case of a family is its 0-d or () x () one; take a non-trivial shape instead
        if case.family not in seen and any(len(s) for s in case.shapes):
            seen.add(case.family)
            chosen.append(case)
    return chosen


@pytest.mark.parametrize("case", _first_of_each_family(), ids=_id)
def test_op_float32_keeps_float32(case):
    """float32 inputs give a float32 output and float32 gradients of the inputs' shapes (python
    scalars and float64 constants inside backward formulas must not upcast), with values close to
    the float64 reference."""
    arrays = make_arrays(case.shapes, case.domains)
    tensors = [ad.tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
    out = case.op(*tensors)
    if case.family.startswith(("array_", "rmatmul")):
        # a float64 ndarray operand promotes (NEP 50: arrays are never weak)
        assert out.dtype == np.float64
    else:
        assert out.dtype == np.float32
    expected = np.asarray(case.ref(*[a.astype(np.float32).astype(np.float64) for a in arrays]))
    np.testing.assert_allclose(out.data, expected, rtol=2e-5, atol=2e-6)
    loss_of(out).backward()
    for t in tensors:
        assert t.grad is not None
        assert t.grad.shape == t.shape
        assert t.grad.dtype == np.float32


# ---- numpy interoperability: ufuncs on tensors are the same ops ------------------------------

UFUNCS = [
    (np.exp, np.exp, "real"), (np.log, np.log, "positive"), (np.sqrt, np.sqrt, "positive"),
    (np.tanh, np.tanh, "real"), (np.sin, np.sin, "real"), (np.cos, np.cos, "real"),
    (np.abs, np.abs, "nonzero"), (np.negative, np.negative, "real"), (np.square, lambda x: x * x, "real"),
]


@pytest.mark.parametrize("ufunc,ref,domain", UFUNCS, ids=[u[0].__name__ for u in UFUNCS])
def test_numpy_unary_ufunc_on_tensor(ufunc, ref, domain):
    check_op(ufunc, ref, ((2, 3),), domain)


@pytest.mark.parametrize("ufunc,ref", [
    (np.add, lambda a, b: a + b), (np.subtract, lambda a, b: a - b), (np.multiply, lambda a, b: a * b),
    (np.maximum, lambda a, b: np.where(a > b, a, b)), (np.minimum, lambda a, b: np.where(a < b, a, b)),
], ids=lambda u: getattr(u, "__name__", ""))
def test_numpy_binary_ufunc_on_tensors(ufunc, ref):
    check_op(ufunc, ref, ((2, 3), (3,)))


def test_numpy_divide_and_power_ufuncs():
    check_op(np.true_divide, lambda a, b: a * (1 / b), ((2, 3), (3,)), ("real", "nonzero"))
    check_op(np.power, lambda a, b: np.exp(b * np.log(a)), ((2, 3), (3,)), ("positive", "real"))


def test_ndarray_times_tensor_is_a_tensor_on_the_graph():
    x = ad.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    array = np.array([[2.0, 3.0, 4.0], [5.0, 6.0, 7.0]])
    y = array * x
    assert isinstance(y, ad.Tensor) and y.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [7.0, 9.0, 11.0])


# ---- function and method spellings agree with the reference -----------------------------------

@pytest.mark.parametrize("fn,ref", [
    (ad.add, lambda a, b: a + b), (ad.sub, lambda a, b: a - b), (ad.mul, lambda a, b: a * b),
    (ad.div, lambda a, b: a / b), (ad.pow, lambda a, b: np.exp(b * np.log(a))),
], ids=["add", "sub", "mul", "div", "pow"])
def test_function_forms(fn, ref):
    check_op(fn, ref, ((2, 3), (3,)), ("positive", "positive"))


@pytest.mark.parametrize("method,ref,domain", [
    ("exp", np.exp, "real"), ("log", np.log, "positive"), ("sqrt", np.sqrt, "positive"),
    ("tanh", np.tanh, "real"), ("sigmoid", lambda x: 1 / (1 + np.exp(-x)), "real"),
    ("relu", lambda x: x * (x > 0), "nonzero"), ("abs", np.abs, "nonzero"), ("sin", np.sin, "real"),
    ("cos", np.cos, "real"), ("neg", np.negative, "real"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_method_forms(method, ref, domain):
    check_op(lambda t: getattr(t, method)(), ref, ((2, 3),), domain)


@pytest.mark.parametrize("fn,ref", [
    (lambda t: ad.sum(t, axis=-1), lambda x: x.sum(axis=-1)),
    (lambda t: ad.mean(t, axis=(0, 1)), lambda x: x.sum(axis=(0, 1)) / 8),
    (lambda t: ad.max(t, axis=0, keepdims=True).values, lambda x: x.max(axis=0, keepdims=True)),
    (lambda t: ad.min(t), lambda x: x.min()),
    (lambda t: ad.var(t, axis=1), lambda x: ((x - x.mean(1, keepdims=True)) ** 2).sum(1)),
    (lambda t: ad.std(t, axis=-1), lambda x: np.sqrt(((x - x.mean(-1, keepdims=True)) ** 2).sum(-1) / 2)),
    (lambda t: ad.prod(t, axis=2), lambda x: x[..., 0] * x[..., 1] * x[..., 2]),
    (lambda t: np.sum(t, axis=1), lambda x: x.sum(axis=1)),
    (lambda t: np.mean(t), lambda x: x.sum() / 24),
    (lambda t: np.max(t, axis=-1), lambda x: x.max(axis=-1)),
], ids=["sum", "mean", "max", "min", "var", "std", "prod", "np.sum", "np.mean", "np.max"])
def test_reduction_function_forms(fn, ref):
    check_op(fn, ref, ((4, 2, 3),), "nonzero")


# ---- argmax / argmin: values, no gradient ----------------------------------------------------

def test_argmax_argmin_values_and_dtype():
    data = np.array([[1.0, 5.0, 3.0], [7.0, 0.0, 2.0]])
    x = ad.tensor(data, requires_grad=True)
    assert x.argmax().item() == 3
    assert x.argmin().item() == 4
    np.testing.assert_array_equal(x.argmax(axis=1).data, [1, 0])
    np.testing.assert_array_equal(ad.argmin(x, axis=0).data, [0, 1, 1])
    np.testing.assert_array_equal(x.argmax(axis=-1, keepdims=True).data, [[1], [0]])
    for result in (x.argmax(), x.argmin(axis=0)):
        assert result.dtype == np.int64
        assert not result.requires_grad and result.grad_fn is None


# ---- comparisons ------------------------------------------------------------------------------

def test_comparisons_give_bool_tensors_off_the_graph():
    a = ad.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    b = ad.tensor(np.array([3.0, 2.0, 1.0]), requires_grad=True)
    results = {
        "lt": (a < b, [True, False, False]), "le": (a <= b, [True, True, False]),
        "gt": (a > b, [False, False, True]), "ge": (a >= b, [False, True, True]),
        "eq": (a == b, [False, True, False]), "ne": (a != b, [True, False, True]),
        "scalar": (a > 1.5, [False, True, True]),
    }
    for name, (result, expected) in results.items():
        assert isinstance(result, ad.Tensor), name
        assert result.dtype == np.bool_, name
        assert not result.requires_grad and result.grad_fn is None, name
        np.testing.assert_array_equal(result.data, expected, err_msg=name)


def test_where_accepts_a_bool_tensor_from_a_comparison():
    x = ad.tensor(np.array([-2.0, -0.5, 0.5, 2.0]), requires_grad=True)
    y = ad.where(x > 0, x * 3.0, x * x)
    np.testing.assert_allclose(y.data, [4.0, 0.25, 1.5, 6.0])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [-4.0, -1.0, 3.0, 3.0])
