"""The Tensor itself: creation rules and dtypes, NEP 50 promotion, attributes, copies and casts,
and the creation functions."""
import numpy as np
import pytest

import autodiff as ad


# ---- ad.tensor dtype rules --------------------------------------------------------------------

@pytest.mark.parametrize("data,dtype", [
    (1.5, np.float32), ([1.0, 2.0], np.float32), ([[1.0], [2.0]], np.float32),
    (3, np.int64), ([1, 2], np.int64), (True, np.bool_), ([True, False], np.bool_),
    (np.arange(3, dtype=np.int32), np.int32), (np.ones(2, dtype=np.float64), np.float64),
    (np.ones(2, dtype=np.float16), np.float16), (np.float64(2.0), np.float64),
])
def test_tensor_creation_dtypes(data, dtype):
    assert ad.tensor(data).dtype == dtype


def test_explicit_dtype_wins():
    t = ad.tensor([1, 2], dtype=np.float64)
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.data, [1.0, 2.0])
    assert ad.tensor(1.5, dtype="float64").dtype == np.float64


def test_tensor_copies_its_data():
    source = np.array([1.0, 2.0])
    t = ad.tensor(source)
    source[0] = 100.0
    assert t.data[0] == 1.0


def test_tensor_of_a_tensor_is_a_new_leaf():
    x = ad.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = ad.tensor(x)
    assert y.is_leaf and not y.requires_grad
    assert not np.shares_memory(x.data, y.data)


def test_default_dtype_can_be_switched_and_back():
    assert ad.get_default_dtype() == np.float32
    ad.set_default_dtype("float64")
    try:
        assert ad.tensor(1.5).dtype == np.float64
        assert ad.zeros(2).dtype == np.float64
        assert ad.randn(2).dtype == np.float64
        assert ad.tensor(2).dtype == np.int64         # ints are unaffected
    finally:
        ad.set_default_dtype(np.float32)
    assert ad.tensor(1.5).dtype == np.float32


# ---- NEP 50 promotion ---------------------------------------------------------------------------

PYTHON_SCALAR_OPS = {
    "add": lambda t: t + 2.0, "radd": lambda t: 2.0 + t, "sub": lambda t: t - 2, "rsub": lambda t: 2 - t,
    "mul": lambda t: t * 2.5, "rmul": lambda t: 2.5 * t, "div": lambda t: t / 3.0, "rdiv": lambda t: 3.0 / t,
    "pow": lambda t: t ** 2.0, "pow_int": lambda t: t ** 3, "rpow": lambda t: 2.0 ** t,
    "maximum": lambda t: ad.maximum(t, 0.5), "minimum": lambda t: ad.minimum(0.5, t),
    "clip": lambda t: ad.clip(t, -0.5, 0.5), "where": lambda t: ad.where(np.array([True, False]), t, 0.0),
    "mean": lambda t: t.mean(), "var": lambda t: t.var(ddof=1), "std": lambda t: t.std(),
}


@pytest.mark.parametrize("name", sorted(PYTHON_SCALAR_OPS))
def test_python_scalars_never_upcast_float32(name):
    x = ad.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    y = PYTHON_SCALAR_OPS[name](x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("left,right,expected", [
    (np.float32, np.float64, np.float64), (np.float64, np.float32, np.float64), (np.float16, np.float32, np.float32),
    (np.int64, np.float32, np.float32), (np.int32, np.int64, np.int64), (np.bool_, np.float32, np.float32),
    (np.int16, np.float16, np.float16), (np.uint8, np.int8, np.int16),
])
def test_tensor_tensor_promotion_follows_pytorch(left, right, expected):
    # PyTorch's rule: the higher category's dtype (numpy: int64 + float32 is float64)
    a, b = ad.tensor(np.ones(2, dtype=left)), ad.tensor(np.ones(2, dtype=right))
    assert (a + b).dtype == expected and (a * b).dtype == expected
    if np.bool_ not in (left, right):      # PyTorch refuses subtraction with a bool tensor
        assert (b - a).dtype == expected


def test_zero_d_tensors_and_numpy_scalars_combine_like_python_scalars():
    x = ad.tensor(np.ones(2, dtype=np.float32))
    assert (x * np.float64(2.0)).dtype == np.float32          # PyTorch: a 0-d operand does not widen
    assert (x * ad.tensor(2.0, dtype=ad.float64)).dtype == np.float32
    assert (ad.tensor([1, 2]) * ad.tensor(2.0, dtype=ad.float64)).dtype == np.float64   # a higher category
    assert (ad.tensor([1, 2]) * 3).dtype == np.int64
    assert (ad.tensor([1, 2]) * 1.5).dtype == np.float32       # the default float dtype
    assert (ad.tensor([1, 2]) / 2).dtype == np.float32
    assert (ad.tensor([1, 2]) / ad.tensor([2, 4])).dtype == np.float32


def test_int_and_bool_results_are_off_the_graph():
    x = ad.tensor(np.array([1.0, 2.0]), requires_grad=True)
    n = ad.tensor([1, 2])
    assert not (n * 2).requires_grad
    assert (x * n).requires_grad and (x * n).dtype == np.float64     # float64 with int64: float64
    (x * n).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 2.0])


# ---- attributes ------------------------------------------------------------------------------

def test_array_attributes():
    t = ad.tensor(np.arange(24.0).reshape(2, 3, 4))
    assert t.shape == (2, 3, 4) and t.ndim == 3 and t.size == 24 and t.dtype == np.float64
    assert t.T.shape == (4, 3, 2)
    np.testing.assert_array_equal(t.T.data, np.arange(24.0).reshape(2, 3, 4).transpose(2, 1, 0))
    assert ad.tensor(np.ones(3)).T.shape == (3,)
    assert ad.tensor(7.5).item() == 7.5 and isinstance(ad.tensor(7.5).item(), float)
    assert ad.tensor([[3]]).item() == 3


def test_leaf_and_non_leaf():
    x = ad.tensor(np.ones(2), requires_grad=True)
    y = x * 2.0
    assert x.is_leaf and x.grad_fn is None and x.requires_grad
    assert not y.is_leaf and y.grad_fn is not None and y.requires_grad
    constant = ad.tensor(np.ones(2))
    assert constant.is_leaf and not constant.requires_grad and not (constant * 2.0).requires_grad


def test_non_leaf_grad_is_not_kept():
    x = ad.tensor(np.ones(2), requires_grad=True)
    y = x * 2.0
    (y * y).sum().backward()
    assert y.grad is None
    np.testing.assert_array_equal(x.grad.data, [8.0, 8.0])


def test_transpose_gradient_has_the_original_shape():
    x = ad.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    weights = np.arange(6.0).reshape(3, 2)
    (x.T * weights).sum().backward()
    np.testing.assert_array_equal(x.grad.data, weights.T)


def test_numpy_shares_data_and_detach_leaves_the_graph():
    x = ad.tensor(np.array([1.0, 2.0]), requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert np.shares_memory(d.numpy(), x.data)
    plain = ad.tensor(np.array([1.0, 2.0]))
    assert plain.numpy() is plain.data


def test_clone_copies_and_stays_on_the_graph():
    x = ad.tensor(np.array([1.0, 2.0]), requires_grad=True)
    c = x.clone()
    assert not np.shares_memory(c.data, x.data)
    assert c.requires_grad and not c.is_leaf
    (c * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])


@pytest.mark.parametrize("cast,dtype", [
    (lambda t: t.astype(np.float32), np.float32), (lambda t: t.float(), np.float32),
    (lambda t: t.double(), np.float64), (lambda t: t.astype("float16"), np.float16),
])
def test_casts_are_differentiable_and_cast_the_gradient_back(cast, dtype):
    x = ad.tensor(np.array([1.5, -2.0], dtype=np.float32), requires_grad=True)
    y = cast(x)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y.data, np.array([1.5, -2.0], dtype=dtype))
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [3.0, -4.0])


def test_cast_to_int_is_off_the_graph():
    x = ad.tensor(np.array([1.7, -2.2]), requires_grad=True)
    n = x.astype(np.int64)
    assert n.dtype == np.int64 and not n.requires_grad
    np.testing.assert_array_equal(n.data, [1, -2])


# ---- creation functions ----------------------------------------------------------------------

def test_constant_creation_functions():
    for t in (ad.zeros(2, 3), ad.zeros((2, 3))):
        assert t.shape == (2, 3) and t.dtype == np.float32 and not t.data.any()
    o = ad.ones(4, dtype=np.float64)
    assert o.dtype == np.float64 and (o.data == 1.0).all()
    f = ad.full((2, 2), 7)
    assert f.dtype == np.int64 and (f.data == 7).all()
    f = ad.full(3, 1.5)
    assert f.shape == (3,) and f.dtype == np.float32 and (f.data == 1.5).all()
    np.testing.assert_array_equal(ad.eye(3).data, [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert ad.eye(2, 3).shape == (2, 3)
    z = ad.zeros(2, requires_grad=True)
    assert z.requires_grad and z.is_leaf


def test_ranges():
    a = ad.arange(5)
    assert a.dtype == np.int64
    np.testing.assert_array_equal(a.data, [0, 1, 2, 3, 4])
    b = ad.arange(0, 1, 0.25)
    assert b.dtype == np.float32
    np.testing.assert_array_equal(b.data, [0.0, 0.25, 0.5, 0.75])
    np.testing.assert_array_equal(ad.arange(2, 8, 3).data, [2, 5])
    c = ad.linspace(0, 1, 5)
    assert c.dtype == np.float32
    np.testing.assert_allclose(c.data, [0.0, 0.25, 0.5, 0.75, 1.0])


def test_random_creation_is_seeded():
    ad.manual_seed(123)
    first = (ad.rand(3, 4).data.copy(), ad.randn(5).data.copy())
    ad.manual_seed(123)
    second = (ad.rand(3, 4).data.copy(), ad.randn(5).data.copy())
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    ad.manual_seed(124)
    assert not np.array_equal(ad.rand(3, 4).data, first[0])
    u = ad.rand(1000)
    assert u.dtype == np.float32 and u.data.min() >= 0.0 and u.data.max() < 1.0
    n = ad.randn(20000, dtype=np.float64)
    assert abs(n.data.mean()) < 0.05 and abs(n.data.std() - 1.0) < 0.05


def test_like_functions_follow_their_argument():
    base = ad.tensor(np.ones((2, 3), dtype=np.float64))
    for t in (ad.zeros_like(base), ad.ones_like(base), ad.randn_like(base)):
        assert t.shape == (2, 3) and t.dtype == np.float64
    assert not ad.zeros_like(base).data.any() and (ad.ones_like(base).data == 1).all()
    assert ad.zeros_like(base, dtype=np.float32).dtype == np.float32
    assert ad.ones_like(base, requires_grad=True).requires_grad


def test_negative_dimension_is_refused():
    with pytest.raises(ValueError, match="negative"):
        ad.zeros(2, -1)
