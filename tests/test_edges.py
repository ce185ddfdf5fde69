"""The edges, asserted numerically: PyTorch's choices at kinks and ties, x ** 0, 0 ** y, empty
arrays and 0-d tensors. Every expected number here is worked out by hand, not computed by the
engine."""
import warnings

import numpy as np
import pytest

import autodiff as ad


def leaf(values):
    return ad.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def grad_of(fn, values, weights=None):
    x = leaf(values)
    out = fn(x)
    if weights is None:
        out.sum().backward()
    else:
        out.backward(gradient=np.asarray(weights, dtype=np.float64))
    return x.grad.data


# ---- kinks -------------------------------------------------------------------------------------

def test_relu_derivative_at_zero_is_zero():
    np.testing.assert_array_equal(grad_of(ad.relu, [-1.0, 0.0, 2.0]), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(grad_of(lambda t: t.relu(), [-0.0, 0.0]), [0.0, 0.0])


def test_relu_values():
    x = leaf([-1.5, 0.0, 2.5])
    np.testing.assert_array_equal(ad.relu(x).data, [0.0, 0.0, 2.5])


def test_abs_derivative_at_zero_is_zero():
    np.testing.assert_array_equal(grad_of(ad.abs, [-3.0, 0.0, 2.0]), [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(grad_of(abs, [-0.0, 0.0]), [0.0, 0.0])


def test_clip_passes_the_gradient_at_its_bounds():
    values = [-1.0, -0.5, 0.0, 0.5, 1.0]
    np.testing.assert_array_equal(grad_of(lambda t: ad.clip(t, -0.5, 0.5), values), [0, 1, 1, 1, 0])
    np.testing.assert_array_equal(grad_of(lambda t: t.clip(min=-0.5), values), [0, 1, 1, 1, 1])
    np.testing.assert_array_equal(grad_of(lambda t: t.clip(max=0.5), values), [1, 1, 1, 1, 0])
    np.testing.assert_array_equal(ad.clip(leaf(values), -0.5, 0.5).data, [-0.5, -0.5, 0.0, 0.5, 0.5])


def test_clip_with_equal_bounds_passes_the_gradient_at_the_bound_only():
    np.testing.assert_array_equal(grad_of(lambda t: ad.clip(t, 0.5, 0.5), [0.0, 0.5, 1.0]), [0, 1, 0])


@pytest.mark.parametrize("op", [ad.maximum, ad.minimum])
def test_maximum_minimum_tie_gives_half_to_each_side(op):
    a, b = leaf([1.0, 2.0, 3.0]), leaf([1.0, 2.0, 3.0])
    op(a, b).backward(gradient=np.array([1.0, 2.0, 4.0]))
    np.testing.assert_array_equal(a.grad.data, [0.5, 1.0, 2.0])
    np.testing.assert_array_equal(b.grad.data, [0.5, 1.0, 2.0])


def test_maximum_minimum_winner_takes_all_and_ties_split_under_broadcasting():
    a = leaf([0.0, 1.0, 2.0])
    b = leaf(1.0)                   # 0-d, broadcast against a; ties a[1]
    ad.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [0.0, 0.5, 1.0])
    assert b.grad.shape == ()
    assert b.grad.item() == 1.5     # wins at a[0], half of the tie at a[1]

    a = leaf([0.0, 1.0, 2.0])
    b = leaf(1.0)
    ad.minimum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [1.0, 0.5, 0.0])
    assert b.grad.item() == 1.5


def test_maximum_with_a_python_scalar_tie():
    np.testing.assert_array_equal(grad_of(lambda t: ad.maximum(t, 0.0), [-1.0, 0.0, 1.0]), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(grad_of(lambda t: ad.minimum(t, 0.0), [-1.0, 0.0, 1.0]), [1.0, 0.5, 0.0])


def test_max_over_all_splits_evenly_among_tied_maxima():
    np.testing.assert_array_equal(grad_of(lambda t: t.max(), [1.0, 3.0, 3.0, 2.0]), [0, 0.5, 0.5, 0])
    np.testing.assert_allclose(grad_of(lambda t: t.max(), [[5.0, 1.0], [5.0, 5.0]]),
                               [[1 / 3, 0.0], [1 / 3, 1 / 3]], rtol=1e-15)
    np.testing.assert_array_equal(grad_of(lambda t: t.min(), [1.0, 3.0, 1.0, 2.0]), [0.5, 0, 0.5, 0])


def test_max_of_a_constant_tensor_shares_equally():
    np.testing.assert_allclose(grad_of(lambda t: t.max(), np.full((2, 2), 7.0)), np.full((2, 2), 0.25))


def test_amax_over_an_axis_splits_among_ties_per_slice():
    values = [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0], [4.0, 4.0, 4.0]]
    expected = [[0, 0.5, 0.5], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]]
    np.testing.assert_allclose(grad_of(lambda t: t.amax(axis=1), values), expected, rtol=1e-15)
    np.testing.assert_allclose(grad_of(lambda t: t.amax(dim=-1, keepdim=True), values), expected, rtol=1e-15)
    # along axis 0: column 0 max 4 (once), column 1 max 4 (once), column 2 max 4 (once)
    np.testing.assert_array_equal(grad_of(lambda t: t.amax(0), values), [[0, 0, 0], [0, 0, 0], [1, 1, 1]])


def test_max_along_a_dim_sends_the_gradient_to_the_first_tied_index():
    values = [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0], [4.0, 4.0, 4.0]]
    np.testing.assert_array_equal(grad_of(lambda t: t.max(1).values, values), [[0, 1, 0], [1, 0, 0], [1, 0, 0]])
    np.testing.assert_array_equal(ad.tensor(values).max(1).indices.data, [1, 0, 0])
    np.testing.assert_array_equal(grad_of(lambda t: t.min(dim=0, keepdim=True)[0], values),
                                  [[1, 0, 0], [0, 1, 1], [0, 0, 0]])


def test_max_tie_share_scales_the_incoming_gradient():
    values = [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]
    np.testing.assert_array_equal(grad_of(lambda t: t.amax(axis=1), values, weights=[4.0, 10.0]),
                                  [[0, 2, 2], [5, 5, 0]])


def test_amin_over_an_axis_splits_among_ties():
    values = [[1.0, 1.0, 3.0], [0.0, 2.0, 0.0]]
    np.testing.assert_array_equal(grad_of(lambda t: t.amin(axis=1), values), [[0.5, 0.5, 0], [0.5, 0, 0.5]])
    np.testing.assert_array_equal(grad_of(lambda t: t.amin(axis=(0, 1)), values), [[0, 0, 0], [0.5, 0, 0.5]])
    np.testing.assert_array_equal(grad_of(lambda t: t.min(), values), [[0, 0, 0], [0.5, 0, 0.5]])


# ---- x ** 0 and 0 ** y ---------------------------------------------------------------------------

def test_x_to_the_zero_has_zero_derivative_everywhere():
    values = [-2.0, 0.0, 3.0]
    x = leaf(values)
    y = x ** 0
    np.testing.assert_array_equal(y.data, [1.0, 1.0, 1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(grad_of(lambda t: t ** 0.0, values), [0.0, 0.0, 0.0])


def test_x_to_a_zero_tensor_exponent_has_zero_derivative_in_both():
    x, p = leaf([-2.0, 0.0, 3.0]), leaf([0.0, 0.0, 0.0])
    y = x ** p
    np.testing.assert_array_equal(y.data, [1.0, 1.0, 1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 0.0])
    # d/dp x^p = x^p ln x: 0 ** p is the defined edge; ln 3 elsewhere (x = -2 has no real log)
    assert p.grad.data[1] == 0.0
    np.testing.assert_allclose(p.grad.data[2], np.log(3.0), rtol=1e-15)


def test_zero_to_the_y_has_zero_derivative_in_y_for_y_at_least_zero():
    y = leaf([0.0, 0.5, 1.0, 2.0])
    base = ad.tensor(np.zeros(4))
    out = base ** y
    np.testing.assert_array_equal(out.data, [1.0, 0.0, 0.0, 0.0])
    out.sum().backward()
    np.testing.assert_array_equal(y.grad.data, [0.0, 0.0, 0.0, 0.0])


def test_zero_python_scalar_to_the_y():
    y = leaf([0.0, 0.5, 1.0, 2.0])
    out = 0.0 ** y
    np.testing.assert_array_equal(out.data, [1.0, 0.0, 0.0, 0.0])
    out.sum().backward()
    np.testing.assert_array_equal(y.grad.data, [0.0, 0.0, 0.0, 0.0])


def test_zero_base_derivative_in_the_base():
    # d/dx x^y at x = 0: y x^(y-1) -> 1 for y = 1, 0 for y = 2 and 3
    x, y = leaf([0.0, 0.0, 0.0]), leaf([1.0, 2.0, 3.0])
    (x ** y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(y.grad.data, [0.0, 0.0, 0.0])


def test_scalar_powers_at_zero():
    np.testing.assert_array_equal(grad_of(lambda t: t ** 2, [0.0]), [0.0])
    np.testing.assert_array_equal(grad_of(lambda t: t ** 1, [0.0]), [1.0])
    np.testing.assert_array_equal(grad_of(lambda t: t ** 3, [0.0, -1.0]), [0.0, 3.0])


# ---- numerically extreme values ----------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_for_large_inputs(dtype):
    x = ad.tensor(np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=dtype), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # no overflow in exp
        y = ad.sigmoid(x)
        y.sum().backward()
    assert y.dtype == dtype and x.grad.dtype == dtype
    assert y.data[0] == 0.0 and y.data[-1] == 1.0 and y.data[2] == 0.5
    assert np.all(np.isfinite(x.grad.data))
    assert x.grad.data[2] == 0.25 and x.grad.data[0] == 0.0 and x.grad.data[-1] == 0.0
    # far in the left tail, sigmoid(x) ~ e^x keeps full relative precision
    np.testing.assert_allclose(y.data[1], np.exp(-50.0), rtol=1e-6)


def test_tanh_saturates_without_nan():
    x = leaf([-500.0, 500.0])
    y = ad.tanh(x)
    np.testing.assert_array_equal(y.data, [-1.0, 1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])


# ---- empty arrays ------------------------------------------------------------------------------

def test_empty_elementwise_and_sum():
    x = ad.tensor(np.zeros((0,)), requires_grad=True)
    y = (x.exp() * 2.0 + 1.0).sum()
    assert y.shape == () and y.item() == 0.0
    y.backward()
    assert x.grad.shape == (0,) and x.grad.dtype == np.float64


def test_empty_sum_over_an_axis():
    x = ad.tensor(np.zeros((2, 0)), requires_grad=True)
    y = x.sum(axis=1)
    np.testing.assert_array_equal(y.data, [0.0, 0.0])
    y.backward(gradient=np.array([1.0, 2.0]))
    assert x.grad.shape == (2, 0)


def test_empty_broadcast_with_a_nonempty_operand():
    a = ad.tensor(np.zeros((0, 3)), requires_grad=True)
    b = ad.tensor(np.ones(3), requires_grad=True)
    y = a * b + b
    assert y.shape == (0, 3)
    y.sum().backward()
    assert a.grad.shape == (0, 3)
    np.testing.assert_array_equal(b.grad.data, [0.0, 0.0, 0.0])     # no row to collect from


def test_empty_matmul():
    a = ad.tensor(np.zeros((2, 0)), requires_grad=True)
    b = ad.tensor(np.zeros((0, 3)), requires_grad=True)
    y = a @ b
    np.testing.assert_array_equal(y.data, np.zeros((2, 3)))
    y.sum().backward()
    assert a.grad.shape == (2, 0) and b.grad.shape == (0, 3)


def test_empty_mean_is_nan_with_an_empty_gradient():
    x = ad.tensor(np.zeros((0,)), requires_grad=True)
    y = x.mean()
    assert np.isnan(y.item())
    y.backward()
    assert x.grad.shape == (0,)


def test_empty_prod_is_one_with_an_empty_gradient():
    x = ad.tensor(np.zeros((0,)), requires_grad=True)
    y = x.prod()
    assert y.item() == 1.0
    y.backward()
    assert x.grad.shape == (0,)


def test_empty_prod_over_an_axis():
    x = ad.tensor(np.zeros((2, 0)), requires_grad=True)
    y = x.prod(axis=1)
    np.testing.assert_array_equal(y.data, [1.0, 1.0])
    y.sum().backward()
    assert x.grad.shape == (2, 0)


def test_empty_var_is_nan_with_an_empty_gradient():
    x = ad.tensor(np.zeros((0,)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)    # numpy: degrees of freedom <= 0
        y = x.var()
        assert np.isnan(y.item())
        y.backward()
    assert x.grad.shape == (0,)


def test_var_with_ddof_at_least_the_count_gives_nan_not_an_exception():
    # PyTorch: var of one element with correction=1 is nan, and so is its gradient
    x = ad.tensor(np.array([2.0]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        y = x.var(ddof=1)
        assert np.isnan(y.item())
        y.backward()
    assert x.grad.shape == (1,) and np.isnan(x.grad.data[0])


def test_empty_max_raises_a_helpful_error():
    x = ad.tensor(np.zeros((0,)), requires_grad=True)
    with pytest.raises(ValueError, match=r"max.*empty|empty.*max"):
        x.max()
    with pytest.raises(ValueError, match=r"min.*empty|empty.*min"):
        x.min()


def test_empty_reshape_and_transpose():
    x = ad.tensor(np.zeros((0, 3)), requires_grad=True)
    y = x.reshape(3, 0).T
    assert y.shape == (0, 3)
    y.sum().backward()
    assert x.grad.shape == (0, 3)


# ---- 0-d tensors -------------------------------------------------------------------------------

def test_zero_d_tensor_arithmetic_and_backward():
    x = ad.tensor(np.float64(3.0), requires_grad=True)
    assert x.shape == () and x.ndim == 0 and x.size == 1
    y = x * x + 2.0 * x
    assert y.shape == ()
    y.backward()                    # one element: no gradient= needed
    assert x.grad.shape == () and x.grad.item() == 8.0
    assert y.item() == 15.0


def test_zero_d_broadcast_against_a_matrix_sums_the_gradient():
    s = ad.tensor(np.float64(2.0), requires_grad=True)
    m = ad.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    (s * m).sum().backward()
    assert s.grad.shape == ()
    assert s.grad.item() == 15.0
    np.testing.assert_array_equal(m.grad.data, np.full((2, 3), 2.0))


def test_zero_d_reductions():
    x = ad.tensor(np.float64(-4.0), requires_grad=True)
    for fn, value, derivative in [(lambda t: t.sum(), -4.0, 1.0), (lambda t: t.mean(), -4.0, 1.0),
                                  (lambda t: t.max(), -4.0, 1.0), (lambda t: t.min(), -4.0, 1.0),
                                  (lambda t: t.prod(), -4.0, 1.0), (lambda t: t.var(correction=0), 0.0, 0.0),
                                  (lambda t: t.std(unbiased=False), 0.0, 0.0)]:
        x.grad = None
        y = fn(x)
        assert y.shape == () and y.item() == value
        y.backward()
        assert x.grad.shape == () and x.grad.item() == derivative


def test_one_element_tensor_of_any_shape_backprops_without_gradient_argument():
    x = ad.tensor(np.array([[2.0]]), requires_grad=True)
    y = x * 3.0
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [[3.0]])
