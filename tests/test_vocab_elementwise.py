"""The elementwise tables, walked row by row, beyond test_elementwise_table.py (which checks each
row's function, method, numpy route, gradchecks and kinks): every row of ``ops.ELEMENTWISE``
against PyTorch in float32 and float64 over broadcasting shapes, and at the edge values 0, -0,
+-1, +-inf, nan (values and gradients equal to PyTorch's, nan where PyTorch's is nan); every
entry of ``ops.OFF_GRAPH`` (comparisons, predicates, bitwise ops) off the graph with PyTorch's
values and dtype; the aliases; ``%`` and ``//``. PyTorch is optional: these tests skip without it.
"""
import inspect

import numpy as np
import pytest

import autodiff as ad
from autodiff import ops

ROWS = list(ops.ELEMENTWISE)
DIFFERENTIABLE = ROWS
OFF_GRAPH = [ops.Row(name, forward, None, doc) for name, forward, doc in ops.OFF_GRAPH]
UNARY_SHAPES = [(), (5,), (2, 3), (4, 1, 3)]
BINARY_SHAPES = [((2, 3), (3,)), ((4, 1, 3), (2, 1)), ((), (2, 3)), ((1, 3), (2, 1)), ((3,), ())]
EDGES = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -2.0, np.inf, -np.inf, np.nan])


def _two_inputs(row):
    return row.backward is not None and "a" in inspect.signature(row.backward).parameters


def _op(row):
    return getattr(ad, row.name)


def _draw(row, shapes, dtype, seed=0):
    """Inputs of the row's domain (the second operand's, for two inputs: the first is any real)."""
    rng = np.random.default_rng(seed)
    low, high = row.domain
    if len(shapes) == 1:
        return [rng.uniform(low, high, shapes[0]).astype(dtype)]
    return [rng.uniform(-3.0, 3.0, shapes[0]).astype(dtype), rng.uniform(low, high, shapes[1]).astype(dtype)]


def _shape_cases(row):
    return [tuple(pair) for pair in BINARY_SHAPES] if _two_inputs(row) else [(s,) for s in UNARY_SHAPES]


def test_aliases_are_the_same_functions_and_methods():
    for alias, name in ops.ALIASES.items():
        assert getattr(ad, alias) is getattr(ad, name)
        assert getattr(ad.Tensor, alias) is getattr(ad.Tensor, name)


def test_zero_gradient_rows_give_zeros_and_keep_integer_tensors():
    x = ad.tensor([-1.5, -0.5, 0.5, 2.5], requires_grad=True)
    for name in ("floor", "ceil", "round", "trunc", "fix", "sign", "sgn"):
        x.grad = None
        getattr(ad, name)(x).sum().backward()
        np.testing.assert_array_equal(x.grad.data, 0.0)
        ints = ad.tensor([-2, 3])
        assert getattr(ad, name)(ints).dtype == np.int64
    with pytest.raises(RuntimeError, match="floor_divide has no derivative"):
        ad.floor_divide(x, 2.0).sum().backward()
    assert ad.round(ad.tensor([1.2345, -2.5]), decimals=2).tolist() == pytest.approx([1.23, -2.5])


def test_operators_mod_and_floordiv_are_remainder_and_floor_divide():
    a, b = ad.tensor([5.0, -5.0, 3.5]), ad.tensor([2.0, 2.0, -2.0])
    np.testing.assert_array_equal((a % b).data, np.remainder(a.data, b.data))
    np.testing.assert_array_equal((a // b).data, np.floor_divide(a.data, b.data))
    np.testing.assert_array_equal((7.0 % b).data, np.remainder(7.0, b.data))
    np.testing.assert_array_equal((7 // b).data, np.floor_divide(7, b.data))


def test_rows_off_the_graph_give_plain_tensors():
    x = ad.tensor([0.5, np.nan, -np.inf], requires_grad=True)
    for row in OFF_GRAPH:
        if row.name.startswith("bitwise"):
            continue
        arity = row.forward.nin if isinstance(row.forward, np.ufunc) else sum(
            p.default is inspect.Parameter.empty for p in inspect.signature(row.forward).parameters.values())
        out = _op(row)(*[x] * arity)
        assert isinstance(out, ad.Tensor) and not out.requires_grad and out.grad_fn is None, row.name


# ---- every row against PyTorch ----------------------------------------------------------------

def _torch_op(torch, name):
    return getattr(torch, name)


def _compare(torch, row, arrays, rtol, atol, gradients=True):
    mine = [ad.tensor(a, requires_grad=gradients) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=gradients) for a in arrays]
    out, expected = _op(row)(*mine), _torch_op(torch, row.name)(*theirs)
    assert out.shape == tuple(expected.shape) and out.dtype == np.dtype(str(expected.dtype).split(".")[1])
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=atol, equal_nan=True)
    if not gradients:
        return
    weights = np.linspace(-1.0, 2.0, out.size).reshape(out.shape).astype(out.dtype)
    out.backward(gradient=weights)
    expected.backward(gradient=torch.tensor(weights))
    for t, r in zip(mine, theirs):
        assert t.grad.shape == tuple(r.grad.shape)
        np.testing.assert_allclose(t.grad.data, r.grad.numpy(force=True), rtol=rtol, atol=atol, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row", DIFFERENTIABLE, ids=[r.name for r in DIFFERENTIABLE])
def test_row_values_and_gradients_match_torch(row, dtype):
    torch = pytest.importorskip("torch")
    rtol, atol = (1e-5, 1e-6) if dtype == np.float32 else (1e-11, 1e-13)
    for shapes in _shape_cases(row):
        _compare(torch, row, _draw(row, shapes, dtype), rtol, atol)


@pytest.mark.parametrize("row", DIFFERENTIABLE, ids=[r.name for r in DIFFERENTIABLE])
def test_row_edge_values_match_torch(row):
    torch = pytest.importorskip("torch")
    edges = np.concatenate([EDGES, np.asarray(row.kinks, dtype=np.float64)])
    with np.errstate(all="ignore"):
        if _two_inputs(row):
            a, b = np.meshgrid(edges, edges, indexing="ij")
            _compare(torch, row, [a.ravel(), b.ravel()], 1e-12, 1e-14)
        else:
            _compare(torch, row, [edges], 1e-12, 1e-14)


def test_floor_divide_values_match_torch():
    torch = pytest.importorskip("torch")
    row = ops.Row("floor_divide", np.floor_divide, lambda g, a, b: None, "", domain=(0.3, 3.0))
    for shapes in _shape_cases(row):
        _compare(torch, row, _draw(row, shapes, np.float64), 1e-12, 1e-14, gradients=False)
    a, b = np.array([7, -7, 7, -7]), np.array([2, 2, -2, -2])
    assert ad.floor_divide(a, b).tolist() == torch.floor_divide(torch.tensor(a), torch.tensor(b)).tolist()


def _off_graph_inputs(row):
    if row.name.startswith("bitwise") or row.name.startswith("logical"):
        ints = [np.array([0, 1, 5, -3, 12]), np.array([1, 3, 1, 2, 0])]
        bools = [np.array([True, False, True, False]), np.array([True, True, False, False])]
        if "shift" in row.name:
            return [ints]
        return [ints, bools]
    values = np.array([0.5, np.nan, -np.inf, np.inf, -0.0, 0.0, 1.0, 1.0 + 1e-9])
    return [[values, np.array([0.5, np.nan, np.inf, np.inf, 0.0, -0.0, 1.0, 1.0])]]


@pytest.mark.parametrize("row", OFF_GRAPH, ids=[r.name for r in OFF_GRAPH])
def test_off_graph_rows_match_torch(row):
    torch = pytest.importorskip("torch")
    for arrays in _off_graph_inputs(row):
        arity = row.forward.nin if isinstance(row.forward, np.ufunc) else sum(
            p.default is inspect.Parameter.empty for p in inspect.signature(row.forward).parameters.values())
        arrays = arrays[:arity]
        out = _op(row)(*[ad.tensor(a) for a in arrays])
        expected = _torch_op(torch, row.name)(*[torch.tensor(a) for a in arrays])
        assert out.data.dtype == np.dtype(str(expected.dtype).split(".")[1]), row.name
        np.testing.assert_array_equal(out.data, expected.numpy())
        if arity == 2:      # broadcasting
            out = _op(row)(ad.tensor(arrays[0][:, None]), ad.tensor(arrays[1]))
            expected = _torch_op(torch, row.name)(torch.tensor(arrays[0][:, None]), torch.tensor(arrays[1]))
            np.testing.assert_array_equal(out.data, expected.numpy())
    assert ad.isclose(ad.tensor([1.0, 2.0]), ad.tensor([1.05, 2.0]), rtol=0.1).tolist() == \
        torch.isclose(torch.tensor([1.0, 2.0]), torch.tensor([1.05, 2.0]), rtol=0.1).tolist()


def test_aliases_exist_in_torch_with_the_same_meaning():
    torch = pytest.importorskip("torch")
    x = np.array([0.25, -0.5, 0.75])
    for alias, name in ops.ALIASES.items():
        arguments = [x, x[::-1].copy()] if name in ("atan2", "gt", "ge", "lt", "le", "ne") else [x]
        if name == "acosh":
            arguments = [x + 1.5]
        mine = getattr(ad, alias)(*[ad.tensor(a) for a in arguments])
        theirs = getattr(torch, alias)(*[torch.tensor(a) for a in arguments])
        np.testing.assert_allclose(mine.data, theirs.numpy(), rtol=1e-12)


def test_operators_match_torch():
    torch = pytest.importorskip("torch")
    a, b = np.array([5.5, -5.0, 3.0, 0.5]), np.array([2.0, 2.0, -2.0, -0.25])
    mine, theirs = ad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    (mine % ad.tensor(b) + mine % 0.75).sum().backward()      # (PyTorch has no derivative of 3.0 % t)
    (theirs % torch.tensor(b) + theirs % 0.75).sum().backward()
    np.testing.assert_allclose(mine.grad.data, theirs.grad.numpy())
    np.testing.assert_array_equal((ad.tensor(a) // ad.tensor(b)).data, (torch.tensor(a) // torch.tensor(b)).numpy())
