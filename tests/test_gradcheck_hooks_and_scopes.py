"""gradcheck names the op whose backward is wrong; gradgradcheck; name scopes, tensor hooks and
retain_grad."""
import gc
import weakref

import numpy as np
import pytest

import autodiff as ad

from helpers import check_both_orders, leaf


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
