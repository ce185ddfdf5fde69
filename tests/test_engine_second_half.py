"""Issue 3: indexing, joining, softmax family, functional tools, gradcheck that names the op,
gradgradcheck, name scopes, hooks and retain_grad."""
import gc
import weakref

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad
from autodiff import functional as F

RNG = np.random.default_rng(1234)


def leaf(*shape, low=None):
    data = RNG.standard_normal(shape)
    if low is not None:
        data = np.abs(data) + low
    return ad.tensor(data, requires_grad=True)


def check_both_orders(fn, *inputs):
    """gradcheck and gradgradcheck in float64."""
    assert ad.gradcheck(fn, inputs)
    assert ad.gradgradcheck(fn, inputs)


# ---- indexing ----------------------------------------------------------------------------------

INDEXES = [
    1, -1, slice(None, None, 2), slice(None, None, -1), (slice(1, 3), 0), (None, Ellipsis, 1),
    ([0, 0, 2],), (np.array([2, 0, 2, 2]), slice(None)), (np.array([0, 1]), np.array([3, 3])),
    (Ellipsis, None), (slice(None), [1, 1, 0]),
]


@pytest.mark.parametrize("index", INDEXES, ids=repr)
def test_getitem_matches_numpy_and_gradients(index):
    x = leaf(3, 4)
    out = x[index]
    expected = x.data[index]
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.data, expected)
    check_both_orders(lambda t: t[index] * t[index], x)


def test_repeated_fancy_indices_accumulate():
    x = leaf(4)
    x[[1, 1, 1, 3]].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 3.0, 0.0, 1.0])


def test_boolean_mask_indexing():
    x = leaf(3, 4)
    mask = x.data > 0
    out = x[mask]
    np.testing.assert_array_equal(out.data, x.data[mask])
    (out * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, 2.0 * mask)
    check_both_orders(lambda t: (t[mask] ** 2), x)
    # a mask given as a bool tensor, mixed with a slice
    rows = ad.tensor(np.array([True, False, True]))
    np.testing.assert_array_equal(x[rows, 1:].data, x.data[rows.data, 1:])


def test_index_with_int_tensor_picks_true_class_logit():
    logits = leaf(5, 3)
    target = ad.tensor([0, 2, 1, 1, 0])
    picked = logits[ad.arange(5), target]
    np.testing.assert_array_equal(picked.data, logits.data[np.arange(5), target.data])
    assert ad.gradcheck(lambda t: t[np.arange(5), target.data] ** 3, logits)


@settings(deadline=None, max_examples=25)
@given(data=st.data())
def test_random_fancy_indices_gradcheck(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    x = ad.tensor(RNG.standard_normal(shape), requires_grad=True)
    idx = data.draw(hnp.arrays(np.int64, st.integers(1, 5), elements=st.integers(0, shape[0] - 1)))
    out = x[idx]
    np.testing.assert_array_equal(out.data, x.data[idx])
    assert ad.gradcheck(lambda t: (t[idx] * t[idx]).sum(), x)


# ---- joining -------------------------------------------------------------------------------------

def test_concatenate_stack_split():
    a, b = leaf(2, 3), leaf(2, 5)
    out = ad.concatenate([a, b], axis=1)
    np.testing.assert_array_equal(out.data, np.concatenate([a.data, b.data], axis=1))
    check_both_orders(lambda a, b: ad.concatenate([a, b * b], axis=-1), a, b)
    c = leaf(2, 3)
    stacked = ad.stack([a, c], axis=1)
    np.testing.assert_array_equal(stacked.data, np.stack([a.data, c.data], axis=1))
    check_both_orders(lambda a, c: ad.stack([a, c.exp()], axis=2), a, c)
    # PyTorch's split takes the pieces' sizes; numpy's np.split on a tensor takes split points
    pieces = ad.split(b, [1, 2, 2], dim=1)
    for piece, expected in zip(pieces, np.split(b.data, [1, 3], axis=1)):
        np.testing.assert_array_equal(piece.data, expected)
    for piece, expected in zip(np.split(b, [1, 3], axis=1), np.split(b.data, [1, 3], axis=1)):
        np.testing.assert_array_equal(piece.data, expected)
    check_both_orders(lambda b: ad.split(b, [2, 3], dim=1)[1] ** 2, b)
    check_both_orders(lambda b: np.split(b, [2], axis=1)[1] ** 2, b)


def test_concatenate_shape_error_names_op():
    with pytest.raises(ValueError, match="concatenate"):
        ad.concatenate([ad.zeros(2, 3), ad.zeros(3, 2)], axis=0)


def test_where_pad_repeat_tile():
    a, b = leaf(2, 3), leaf(3)
    cond = a.data > 0
    out = ad.where(cond, a, b)
    np.testing.assert_array_equal(out.data, np.where(cond, a.data, b.data))
    check_both_orders(lambda a, b: ad.where(cond, a * a, b), a, b)
    check_both_orders(lambda a, b: ad.where(ad.tensor(cond), a, b.exp()), a, b)
    np.testing.assert_array_equal(ad.pad(a, ((1, 0), (2, 1)), constant_values=3.0).data,
                                  np.pad(a.data, ((1, 0), (2, 1)), constant_values=3.0))
    check_both_orders(lambda a: ad.pad(a, 1) ** 2, a)
    # numpy's element repeat is repeat_interleave (and np.repeat); PyTorch's repeat tiles
    np.testing.assert_array_equal(a.repeat_interleave(2, dim=1).data, np.repeat(a.data, 2, axis=1))
    np.testing.assert_array_equal(np.repeat(a, 2, axis=1).data, np.repeat(a.data, 2, axis=1))
    np.testing.assert_array_equal(a.tile((2, 2)).data, np.tile(a.data, (2, 2)))
    np.testing.assert_array_equal(a.repeat(2, 2).data, np.tile(a.data, (2, 2)))
    check_both_orders(lambda a: a.repeat_interleave(3, dim=0) ** 2, a)
    check_both_orders(lambda a: a.tile((1, 2, 2)) ** 2, a)
    check_both_orders(lambda a: a.repeat(2, 1, 3) ** 2, a)


# ---- softmax family ------------------------------------------------------------------------------

@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_family_values_and_gradients(axis):
    x = leaf(3, 4)
    shifted = x.data - x.data.max(axis=axis, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=axis, keepdims=True)) + x.data.max(axis=axis, keepdims=True)
    np.testing.assert_allclose(ad.logsumexp(x, axis=axis).data, lse.squeeze(axis), rtol=1e-12)
    np.testing.assert_allclose(ad.softmax(x, axis=axis).data, np.exp(x.data - lse), rtol=1e-12)
    np.testing.assert_allclose(ad.log_softmax(x, axis=axis).data, x.data - lse, rtol=1e-12)
    for fn in (lambda t: ad.softmax(t, axis=axis), lambda t: ad.log_softmax(t, axis=axis),
               lambda t: ad.logsumexp(t, axis=axis), lambda t: ad.logsumexp(t, axis=axis, keepdims=True)):
        check_both_orders(fn, x)


def test_softmax_family_finite_at_huge_logits():
    x = ad.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype="float64", requires_grad=True)
    for out in (ad.softmax(x, axis=1), ad.log_softmax(x, axis=1), ad.logsumexp(x, axis=1)):
        assert np.isfinite(out.data).all()
    np.testing.assert_allclose(ad.logsumexp(x, axis=1).data, [1e4, -1e4 + np.log(3)])
    ad.log_softmax(x, axis=1).sum().backward()
    assert np.isfinite(x.grad.data).all()
    np.testing.assert_allclose(ad.softmax(ad.tensor([1e4, 1e4]), axis=0).data, [0.5, 0.5])


# ---- functional ------------------------------------------------------------------------------------

def test_hessian_of_quadratic_form_is_a_plus_a_transpose():
    A = RNG.standard_normal((4, 4))
    x = ad.tensor(RNG.standard_normal(4))
    H = F.hessian(lambda x: x @ (ad.tensor(A) @ x), x)
    np.testing.assert_allclose(H.data, A + A.T, rtol=1e-12, atol=1e-12)


def test_jacobian_hvp_jvp_vjp_closed_forms():
    A = RNG.standard_normal((3, 4))
    x = ad.tensor(RNG.standard_normal(4))
    J = F.jacobian(lambda x: (ad.tensor(A) @ x).tanh(), x)
    expected_J = (1 - np.tanh(A @ x.data) ** 2)[:, None] * A
    np.testing.assert_allclose(J.data, expected_J, rtol=1e-12)
    v_in, v_out = RNG.standard_normal(4), RNG.standard_normal(3)
    _, jv = F.jvp(lambda x: (ad.tensor(A) @ x).tanh(), x, ad.tensor(v_in))
    np.testing.assert_allclose(jv.data, expected_J @ v_in, rtol=1e-12)
    out, vj = F.vjp(lambda x: (ad.tensor(A) @ x).tanh(), x, ad.tensor(v_out))
    np.testing.assert_allclose(vj.data, v_out @ expected_J, rtol=1e-12)
    np.testing.assert_allclose(out.data, np.tanh(A @ x.data))
    # f(x) = sum(x^4): H = diag(12 x^2)
    _, hv = F.hvp(lambda x: (x ** 4).sum(), x, ad.tensor(v_in))
    np.testing.assert_allclose(hv.data, 12 * x.data ** 2 * v_in, rtol=1e-12)
    assert not x.requires_grad and x.grad is None      # the caller's tensor is untouched


def test_jacobian_of_tuple_inputs_nests_like_pytorch():
    a, b = ad.tensor(RNG.standard_normal(2)), ad.tensor(RNG.standard_normal(2))
    J = F.jacobian(lambda a, b: a * b, (a, b))
    assert isinstance(J, tuple) and len(J) == 2
    np.testing.assert_allclose(J[0].data, np.diag(b.data))
    np.testing.assert_allclose(J[1].data, np.diag(a.data))


# ---- gradcheck names the op ---------------------------------------------------------------------------

class WrongSquare(ad.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 3 * x * grad        # wrong on purpose: should be 2 x


class DetachingSquare(ad.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if isinstance(x, ad.Tensor):
            x = x.detach()         # right at first order, but cuts the graph
        return 2 * x * grad


def test_gradcheck_names_the_wrong_function():
    x = leaf(3)
    with pytest.raises(ad.GradcheckError) as info:
        ad.gradcheck(lambda t: (WrongSquare.apply(t.exp()) + t).sum(), x)
    message = str(info.value)
    assert "WrongSquare" in message
    assert "input 0" in message and "analytic" in message and "numerical" in message


def test_gradgradcheck_fails_on_detaching_backward():
    x = leaf(3)
    assert ad.gradcheck(lambda t: DetachingSquare.apply(t.sin()).sum(), x)
    with pytest.raises(ad.GradcheckError) as info:
        ad.gradgradcheck(lambda t: DetachingSquare.apply(t.sin()).sum(), x)
    assert "DetachingSquare" in str(info.value)


def test_gradcheck_refuses_float32():
    with pytest.raises(TypeError, match="double"):
        ad.gradcheck(lambda t: t * 2, ad.tensor([1.0], requires_grad=True))


# ---- name scopes, hooks, retain_grad ------------------------------------------------------------------

def test_name_scope_tags_nodes():
    x = leaf(2)
    with ad.name_scope("encoder"):
        with ad.name_scope("fc1"):
            y = x * 2
        z = y + 1
    w = z.exp()
    assert y.grad_fn.scope == "encoder.fc1"
    assert z.grad_fn.scope == "encoder"
    assert w.grad_fn.scope is None


def test_register_hook_inspects_and_replaces_gradient():
    x = leaf(3)
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(g.data.copy()))
    handle = x.register_hook(lambda g: g * 10)
    (y * y).sum().backward()
    np.testing.assert_allclose(seen[0], 2 * y.data)
    np.testing.assert_allclose(x.grad.data, 10 * 2 * 2 * y.data)
    handle.remove()
    x.grad = None
    (x * 1.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.ones(3))


def test_retain_grad_on_non_leaf():
    x = leaf(3)
    y = x.exp()
    y.retain_grad()
    z = (y * y).sum()
    z.backward()
    np.testing.assert_allclose(y.grad.data, 2 * y.data)
    w = x * 2
    (w * 1).sum().backward()
    assert w.grad is None          # only leaves and retain_grad() tensors keep .grad


def test_graph_with_hooks_and_retain_grad_is_freed_without_gc():
    gc.disable()
    try:
        x = leaf(3)
        y = x.exp()
        y.retain_grad()
        y.register_hook(lambda g: None)
        node = weakref.ref(y.grad_fn)
        (y * 2).sum().backward()
        del y
        assert node() is None
    finally:
        gc.enable()


def test_setitem_in_place_with_gradients_to_value_and_old_values():
    t = ad.zeros(4)
    t[1] = 5.0
    t[[0, 3]] = ad.tensor([1.0, 2.0])
    np.testing.assert_array_equal(t.data, [1.0, 5.0, 0.0, 2.0])
    assert t._version == 2

    def fn(x, v):
        y = x * 2.0
        y[0:2] = v * v
        return y * y

    x, v = leaf(3), leaf(1)
    assert ad.gradcheck(fn, (x, v))
    w = ad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w[0] = 3.0


def test_size_is_numpys_count_and_pytorchs_call():
    t = ad.zeros(2, 3)
    assert t.size == 6 and t.size() == (2, 3) and t.size(-1) == 3 and t.numel() == 6


def test_reductions_take_pytorch_keywords_too():
    t = leaf(2, 3)
    np.testing.assert_allclose(t.sum(dim=1, keepdim=True).data, t.data.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(t.mean(dim=0).data, t.data.mean(axis=0))
    assert ad.cat([t, t], dim=1).shape == (2, 6)
    with pytest.raises(TypeError, match="not both|multiple values"):
        t.sum(0, dim=1)
    with pytest.raises(TypeError, match="not both"):
        t.sum(0, axis=1)
