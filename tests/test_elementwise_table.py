"""The elementwise ops declared as rows of ``ops.ELEMENTWISE``: the test walks the table, so a new
row is tested without a new test. Values against the row's own forward, gradients against central
differences (first and second order, float64) and, where installed, against PyTorch's op of the
same name, also at the row's kinks (where the derivative is PyTorch's choice)."""
import inspect

import numpy as np
import pytest

import autodiff as ad
from autodiff.ops import ELEMENTWISE

ROWS = {row.name: row for row in ELEMENTWISE}


def _two_inputs(row):
    return "a" in inspect.signature(row.backward).parameters


def _inputs(row, shape=(2, 3), seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    low, high = row.domain
    count = 2 if _two_inputs(row) else 1
    return [ad.tensor(rng.uniform(low, high, shape).astype(dtype), requires_grad=True) for _ in range(count)]


@pytest.mark.parametrize("name", ROWS)
def test_row_function_method_and_numpy_agree_with_the_forward(name):
    row = ROWS[name]
    inputs = _inputs(row)
    expected = row.forward(*(t.data for t in inputs))
    function = getattr(ad, name)
    np.testing.assert_array_equal(function(*inputs).data, expected)
    np.testing.assert_array_equal(getattr(inputs[0], name)(*inputs[1:]).data, expected)
    if isinstance(row.forward, np.ufunc):
        np.testing.assert_array_equal(row.forward(*inputs).data, expected)    # np.log1p(t) too
    assert type(function(*inputs).grad_fn).__name__.lower() == name.replace("_", "")


@pytest.mark.parametrize("name", ROWS)
def test_row_gradients_first_and_second_order(name):
    row = ROWS[name]
    inputs = _inputs(row, seed=1)
    assert ad.gradcheck(lambda *xs: getattr(ad, name)(*xs), inputs)
    assert ad.gradgradcheck(lambda *xs: getattr(ad, name)(*xs), inputs)


@pytest.mark.parametrize("name", ROWS)
def test_row_keeps_float32(name):
    row = ROWS[name]
    inputs = _inputs(row, dtype=np.float32)
    out = getattr(ad, name)(*inputs)
    assert out.dtype == np.float32
    out.sum().backward()
    assert all(t.grad.dtype == np.float32 for t in inputs)


@pytest.mark.parametrize("name", ROWS)
def test_row_matches_torch_values_gradients_and_kinks(name):
    torch = pytest.importorskip("torch")
    row = ROWS[name]
    torch_op = getattr(torch, name, None)
    if torch_op is None:
        pytest.fail(f"row {name!r} has no torch.{name} to compare with; name the row as PyTorch does")
    inputs = _inputs(row, seed=2)
    points = [inputs]
    for kink in row.kinks:        # the derivative at a kink is PyTorch's choice
        points.append([ad.tensor(np.full((3,), kink), requires_grad=True) for _ in inputs])
    for xs in points:
        out = getattr(ad, name)(*xs)
        theirs_in = [torch.tensor(x.data, requires_grad=True) for x in xs]
        theirs = torch_op(*theirs_in)
        np.testing.assert_allclose(out.data, theirs.detach().numpy(), rtol=1e-12, atol=1e-300)
        weights = np.linspace(-1.0, 2.0, out.data.size).reshape(out.shape)
        (out * weights).sum().backward()
        (theirs * torch.tensor(weights)).sum().backward()
        for x, t in zip(xs, theirs_in):
            np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-12, atol=1e-300)


def test_a_row_is_all_it_takes():
    """log1p, the example row: the class, the function, the method and the numpy route exist,
    and the class saves only what its backward names (the input)."""
    x = ad.tensor([0.5, 1.0], dtype="float64", requires_grad=True)
    y = np.log1p(x)
    assert type(y.grad_fn) is ad.ops.Log1p and y.grad_fn.saved_tensors[0] is x.data
    assert ad.Tensor.log1p is ad.log1p and "log1p" in ad.Tensor.__doc__
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, 1 / (1 + x.data))
