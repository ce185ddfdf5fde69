"""The graph machinery: accumulation, retain_graph, fan-out without aliasing, diamonds, reuse, a
10**6-deep chain, freeing by refcount alone, grad modes (thread-local), ad.grad, custom
Functions and gradcheck itself."""
import gc
import math
import threading
import weakref

import numpy as np
import pytest

import autodiff as ad


def leaf(values):
    return ad.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


# ---- accumulation and repeated backward ----------------------------------------------------------

def test_leaf_grad_accumulates_across_backward_calls():
    x = leaf([1.0, 2.0, 3.0])
    (x * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0, 2.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 6.0, 8.0])
    x.grad = None
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0, 3.0])


def test_retain_graph_allows_a_second_backward_that_accumulates():
    x = leaf([1.0, -2.0])
    y = (x * x * x).sum()
    y.backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad.data, [3.0, 12.0])
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [6.0, 24.0])


def test_second_backward_without_retain_graph_raises_and_names_retain_graph():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    first = x.grad.data.copy()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    np.testing.assert_array_equal(x.grad.data, first)


@pytest.mark.parametrize("build", [
    lambda x: (x + 1.0).sum(),          # ops that save nothing are freed too
    lambda x: (x * 2.0).sum(),
    lambda x: x.reshape(2, 1).sum(),
], ids=["add", "mul", "reshape"])
def test_second_backward_raises_for_every_kind_of_node(build):
    x = leaf([1.0, 2.0])
    y = build(x)
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_failed_second_backward_through_a_shared_subgraph_changes_no_grad():
    x = leaf([1.0, 2.0])
    w = leaf([3.0, 4.0])
    hidden = x * w
    hidden.sum().backward()
    before_x, before_w = x.grad.data.copy(), w.grad.data.copy()
    other = leaf([5.0, 6.0])
    with pytest.raises(RuntimeError, match="retain_graph"):
        (hidden * other).sum().backward()
    np.testing.assert_array_equal(x.grad.data, before_x)
    np.testing.assert_array_equal(w.grad.data, before_w)
    assert other.grad is None


def test_create_graph_retains_the_graph_by_default():
    x = leaf([2.0])
    y = (x ** 3).sum()
    y.backward(create_graph=True)
    np.testing.assert_array_equal(x.grad.data, [12.0])
    x.grad = None
    y.backward()            # retain_graph defaulted to create_graph=True
    np.testing.assert_array_equal(x.grad.data, [12.0])


def test_ad_grad_frees_the_graph_unless_retained():
    x = leaf([2.0])
    y = (x * x).sum()
    ad.grad(y, x)
    with pytest.raises(RuntimeError, match="retain_graph"):
        ad.grad(y, x)
    z = (x * x).sum()
    (g1,) = ad.grad(z, x, retain_graph=True)
    (g2,) = ad.grad(z, x)
    assert g1.item() == g2.item() == 4.0


def test_backward_with_an_explicit_gradient_weights_the_output():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    y = x * x
    y.backward(gradient=np.array([[1.0, 0.0], [0.5, -1.0]]))
    np.testing.assert_array_equal(x.grad.data, [[2.0, 0.0], [3.0, -8.0]])


def test_backward_gradient_may_be_a_tensor():
    x = leaf([1.0, 2.0])
    (x * 3.0).backward(gradient=ad.tensor(np.array([1.0, -1.0])))
    np.testing.assert_array_equal(x.grad.data, [3.0, -3.0])


def test_backward_from_a_leaf_itself():
    x = leaf([1.0, 2.0])
    x.backward(gradient=np.array([5.0, 6.0]))
    np.testing.assert_array_equal(x.grad.data, [5.0, 6.0])


def test_gradient_has_the_leaf_dtype_in_a_mixed_precision_graph():
    x32 = ad.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    y64 = ad.tensor(np.array([3.0, 4.0]), requires_grad=True)
    out = x32 * y64
    assert out.dtype == np.float64
    out.sum().backward()
    assert x32.grad.dtype == np.float32 and y64.grad.dtype == np.float64
    np.testing.assert_array_equal(x32.grad.data, [3.0, 4.0])
    np.testing.assert_array_equal(y64.grad.data, [1.0, 2.0])

    z32 = ad.tensor(np.array([1.5], dtype=np.float32), requires_grad=True)
    (z32.double() * 2.0).sum().backward()
    assert z32.grad.dtype == np.float32 and z32.grad.item() == 2.0
    (g,) = ad.grad((z32.double() ** 2).sum(), z32)
    assert g.dtype == np.float32 and g.item() == 3.0


# ---- fan-out, aliasing, diamond, reuse ------------------------------------------------------------

def test_fan_out_gives_each_leaf_its_own_gradient_array():
    a, b = leaf([1.0, 2.0, 3.0]), leaf([4.0, 5.0, 6.0])
    (a + b).sum().backward()
    assert a.grad.data is not b.grad.data
    assert not np.shares_memory(a.grad.data, b.grad.data)
    a.grad.data += 100.0
    np.testing.assert_array_equal(b.grad.data, [1.0, 1.0, 1.0])


def test_fan_out_accumulation_does_not_leak_between_siblings():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    y = (a + b).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(a.grad.data, [2.0, 2.0])
    np.testing.assert_array_equal(b.grad.data, [2.0, 2.0])


def test_same_tensor_used_twice_in_one_op():
    x = leaf([1.0, -2.0])
    (x + x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, -4.0])


PASS_THROUGH = {
    "clone": lambda x: x.clone(),
    "add_zero": lambda x: x + 0.0,
    "zero_add": lambda x: 0.0 + x,
    "add_constant_array": lambda x: x + np.zeros(3),
    "reshape_twice": lambda x: x.reshape(3, 1).reshape(3),
    "unsqueeze_squeeze": lambda x: x.unsqueeze(0).squeeze(0),
    "where_all_true": lambda x: ad.where(np.ones(3, dtype=bool), x, 0.0),
    "leaf_itself": lambda x: x,
}


@pytest.mark.parametrize("name", sorted(PASS_THROUGH))
def test_backward_gradient_argument_is_never_aliased(name):
    x = leaf([1.0, 2.0, 3.0])
    g = np.array([10.0, 20.0, 30.0])
    y = PASS_THROUGH[name](x)
    y.backward(gradient=g, retain_graph=True)
    assert not np.shares_memory(x.grad.data, g)
    np.testing.assert_array_equal(x.grad.data, [10.0, 20.0, 30.0])
    g[:] = -1.0                                   # the caller reuses its buffer
    np.testing.assert_array_equal(x.grad.data, [10.0, 20.0, 30.0])
    g[:] = [1.0, 2.0, 3.0]
    if name != "leaf_itself":
        y.backward(gradient=g)
    else:
        x.backward(gradient=g)
    np.testing.assert_array_equal(x.grad.data, [11.0, 22.0, 33.0])
    np.testing.assert_array_equal(g, [1.0, 2.0, 3.0])     # accumulation did not write into g


def test_ad_grad_results_do_not_alias_each_other():
    a, b = leaf([1.0, 2.0, 3.0]), leaf([4.0, 5.0, 6.0])
    ga, gb = ad.grad((a + b).sum(), [a, b])
    np.testing.assert_array_equal(ga.data, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(gb.data, [1.0, 1.0, 1.0])
    assert not np.shares_memory(ga.data, gb.data)
    ga.data += 100.0
    np.testing.assert_array_equal(gb.data, [1.0, 1.0, 1.0])


def test_ad_grad_results_do_not_alias_grad_outputs():
    x = leaf([1.0, 2.0, 3.0])
    g = np.array([10.0, 20.0, 30.0])
    (gx,) = ad.grad(x.clone(), x, grad_outputs=g)
    np.testing.assert_array_equal(gx.data, [10.0, 20.0, 30.0])
    assert not np.shares_memory(gx.data, g)
    g[:] = 0.0
    np.testing.assert_array_equal(gx.data, [10.0, 20.0, 30.0])


def test_diamond():
    # a -> b = 2a, c = exp(a) -> d = b * c: dd/da = 2 e^a + 2a e^a
    values = np.array([-1.0, 0.0, 0.5])
    a = leaf(values)
    b = a * 2.0
    c = a.exp()
    (b * c).sum().backward()
    np.testing.assert_allclose(a.grad.data, 2 * np.exp(values) * (1 + values), rtol=1e-15)


def test_reused_non_leaf():
    a = leaf([1.0, -3.0])
    b = a + a
    c = b + b
    c.sum().backward()
    np.testing.assert_array_equal(a.grad.data, [4.0, 4.0])

    a = leaf([1.0, -3.0])
    b = a + a
    c = b * b           # c = 4 a^2
    c.sum().backward()
    np.testing.assert_array_equal(a.grad.data, [8.0, -24.0])


def test_wide_fan_out_and_fan_in():
    x = leaf([0.5, 1.5])
    branches = [x * float(k) for k in range(1, 51)]
    total = branches[0]
    for branch in branches[1:]:
        total = total + branch
    total.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1275.0, 1275.0])     # 1 + 2 + ... + 50


def test_a_million_op_chain_backprops_iteratively():
    factor = 1.0000001
    x = ad.tensor(np.float64(1.0), requires_grad=True)
    y = x
    for i in range(10 ** 6):
        y = y * factor if i % 2 else y + 0.5
    y.backward()
    # 500000 multiplications by `factor`; additions of constants pass the gradient through
    np.testing.assert_allclose(x.grad.item(), factor ** 500000, rtol=1e-9)
    del y               # dropping a 10**6-deep graph must not overflow the C stack either
    gc.collect()


# ---- freeing by refcount alone ------------------------------------------------------------------

class _GcDisabled:
    def __enter__(self):
        self.was_enabled = gc.isenabled()
        gc.collect()
        gc.disable()

    def __exit__(self, *exc):
        if self.was_enabled:
            gc.enable()


def test_graph_is_freed_by_refcount_when_the_output_is_dropped():
    with _GcDisabled():
        x = leaf([1.0, 2.0, 3.0])
        hidden = (x.exp() * x).sin()
        y = hidden.sum()
        node, hidden_ref, out_ref = weakref.ref(hidden.grad_fn), weakref.ref(hidden), weakref.ref(y)
        del hidden, y
        assert out_ref() is None and hidden_ref() is None and node() is None


def test_graph_is_freed_by_refcount_after_backward():
    with _GcDisabled():
        x = leaf([1.0, 2.0, 3.0])
        y = (x.tanh() * x).sum()
        y.backward()
        node, out_ref = weakref.ref(y.grad_fn), weakref.ref(y)
        del y
        assert out_ref() is None and node() is None
        x_ref = weakref.ref(x)
        del x
        assert x_ref() is None


def test_graph_is_freed_by_refcount_after_retained_backward():
    with _GcDisabled():
        x = leaf([1.0, 2.0])
        y = (x.sigmoid() * x).sum()
        y.backward(retain_graph=True)
        node = weakref.ref(y.grad_fn)
        del y
        assert node() is None


def test_graph_and_gradient_graph_are_freed_by_refcount_with_create_graph():
    with _GcDisabled():
        x = leaf([1.0, 2.0, 3.0])
        y = (x.exp() * x.tanh()).sum()
        (g,) = ad.grad(y, x, create_graph=True)
        assert g.grad_fn is not None
        refs = [weakref.ref(y.grad_fn), weakref.ref(g.grad_fn), weakref.ref(g), weakref.ref(y)]
        (h,) = ad.grad((g * g).sum(), x)        # use the gradient graph once
        del y, g
        assert all(r() is None for r in refs)
        x_ref = weakref.ref(x)
        del x, h
        assert x_ref() is None


def test_backward_with_create_graph_frees_the_output_graph():
    with _GcDisabled():
        x = leaf([1.0, 2.0])
        y = (x.exp() * x).sum()
        y.backward(create_graph=True)
        node = weakref.ref(y.grad_fn)
        del y
        assert node() is None


def test_a_node_does_not_hold_its_output_tensor():
    with _GcDisabled():
        x = leaf([1.0, 2.0])
        for make in (lambda t: t.exp(), lambda t: t.tanh(), lambda t: t * t, lambda t: t.sqrt(),
                     lambda t: t.sum(), lambda t: t.max()):
            y = make(x)
            node = y.grad_fn
            out_ref = weakref.ref(y)
            del y
            assert out_ref() is None, f"{node!r} keeps its output alive (a reference cycle)"
            del node


# ---- grad modes ---------------------------------------------------------------------------------

def test_no_grad_context_records_nothing_and_restores():
    x = leaf([1.0, 2.0])
    assert ad.is_grad_enabled()
    with ad.no_grad():
        assert not ad.is_grad_enabled()
        y = x * 2.0
    assert ad.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    np.testing.assert_array_equal(y.data, [2.0, 4.0])
    z = x * 2.0
    assert z.requires_grad and not z.is_leaf


def test_enable_grad_inside_no_grad():
    x = leaf([1.0])
    with ad.no_grad():
        with ad.enable_grad():
            assert ad.is_grad_enabled()
            y = x * 2.0
        assert not ad.is_grad_enabled()
        z = x * 2.0
    assert y.requires_grad and not z.requires_grad


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(KeyError):
        with ad.no_grad():
            raise KeyError("boom")
    assert ad.is_grad_enabled()


def test_no_grad_and_enable_grad_as_decorators():
    x = leaf([1.0])

    @ad.no_grad()
    def without(t):
        assert not ad.is_grad_enabled()
        return t * 2.0

    @ad.enable_grad()
    def with_grad(t):
        assert ad.is_grad_enabled()
        return t * 2.0

    assert ad.is_grad_enabled()
    assert not without(x).requires_grad
    assert ad.is_grad_enabled()
    with ad.no_grad():
        assert with_grad(x).requires_grad
        assert not ad.is_grad_enabled()
    assert without.__name__ == "without"


def test_set_grad_enabled_as_a_function_and_a_context_manager():
    ad.set_grad_enabled(False)
    try:
        assert not ad.is_grad_enabled()
        assert not (leaf([1.0]) * 2.0).requires_grad
    finally:
        ad.set_grad_enabled(True)
    assert ad.is_grad_enabled()
    with ad.set_grad_enabled(False):
        assert not ad.is_grad_enabled()
        with ad.set_grad_enabled(True):
            assert ad.is_grad_enabled()
        assert not ad.is_grad_enabled()
    assert ad.is_grad_enabled()


def test_set_grad_enabled_as_a_decorator_changes_the_mode_only_inside_calls():
    # PyTorch's @torch.set_grad_enabled(False): decorating must not switch the mode globally
    @ad.set_grad_enabled(False)
    def inside():
        return ad.is_grad_enabled()

    assert ad.is_grad_enabled(), "decorating with set_grad_enabled(False) turned grad off globally"
    assert inside() is False
    assert ad.is_grad_enabled()


def test_grad_mode_is_thread_local():
    ready, release = threading.Event(), threading.Event()
    seen = {}

    def worker():
        seen["enabled_at_start"] = ad.is_grad_enabled()
        seen["records"] = (leaf([1.0]) * 2.0).requires_grad
        ad.set_grad_enabled(False)          # must not leak into the main thread
        ready.set()
        release.wait(5)
        seen["still_disabled"] = not ad.is_grad_enabled()

    with ad.no_grad():
        thread = threading.Thread(target=worker)
        thread.start()
        assert ready.wait(5)
        assert not ad.is_grad_enabled()
    assert ad.is_grad_enabled()             # the worker's set_grad_enabled(False) did not leak
    assert (leaf([1.0]) * 2.0).requires_grad
    release.set()
    thread.join(5)
    assert seen == {"enabled_at_start": True, "records": True, "still_disabled": True}


def test_backward_runs_inside_no_grad():
    x = leaf([3.0])
    y = (x * x).sum()
    with ad.no_grad():
        y.backward()
    np.testing.assert_array_equal(x.grad.data, [6.0])
    assert x.grad.grad_fn is None


# ---- ad.grad ------------------------------------------------------------------------------------

def test_ad_grad_returns_gradients_and_leaves_grad_untouched():
    x, w = leaf([1.0, 2.0]), leaf([3.0, -1.0])
    hidden = x * w
    y = (hidden * hidden).sum()
    gx, gw, gh = ad.grad(y, [x, w, hidden])
    np.testing.assert_array_equal(gx.data, [18.0, 4.0])         # 2 x w^2
    np.testing.assert_array_equal(gw.data, [6.0, -8.0])         # 2 w x^2
    np.testing.assert_array_equal(gh.data, [6.0, -4.0])         # 2 hidden
    assert x.grad is None and w.grad is None and hidden.grad is None
    assert not gx.requires_grad


def test_ad_grad_single_input_and_grad_outputs():
    x = leaf([1.0, 2.0])
    result = ad.grad(x * x, x, grad_outputs=np.array([1.0, 10.0]))
    assert isinstance(result, tuple) and len(result) == 1
    np.testing.assert_array_equal(result[0].data, [2.0, 40.0])


def test_ad_grad_multiple_outputs_sum_their_contributions():
    x = leaf([2.0])
    (g,) = ad.grad([(x * x).sum(), (x * 3.0).sum()], x)
    assert g.item() == 7.0


def test_ad_grad_unused_input():
    x, unused = leaf([1.0]), leaf([2.0])
    y = (x * 2.0).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        ad.grad(y, [x, unused], retain_graph=True)
    gx, gu = ad.grad(y, [x, unused], allow_unused=True)
    assert gx.item() == 2.0 and gu is None


def test_ad_grad_create_graph_gives_higher_derivatives():
    x = leaf([2.0, -1.0])
    (d1,) = ad.grad((x ** 3).sum(), x, create_graph=True)
    np.testing.assert_array_equal(d1.data, [12.0, 3.0])
    assert d1.requires_grad
    (d2,) = ad.grad(d1.sum(), x, create_graph=True)
    np.testing.assert_array_equal(d2.data, [12.0, -6.0])
    (d3,) = ad.grad(d2.sum(), x)
    np.testing.assert_array_equal(d3.data, [6.0, 6.0])


def test_ad_grad_create_graph_through_a_0d_exp():
    # d/dx e^(x^2) = 2x e^(x^2); d2/dx2 = (2 + 4x^2) e^(x^2): the saved output must stay on the graph
    x = ad.tensor(np.float64(0.5), requires_grad=True)
    (d1,) = ad.grad((x * x).exp(), x, create_graph=True)
    np.testing.assert_allclose(d1.item(), 2 * 0.5 * math.exp(0.25), rtol=1e-14)
    assert d1.requires_grad
    (d2,) = ad.grad(d1, x)
    np.testing.assert_allclose(d2.item(), (2 + 4 * 0.25) * math.exp(0.25), rtol=1e-14)


def test_ad_grad_of_a_mixed_second_derivative():
    x, y = leaf([1.5]), leaf([-2.0])
    f = (x * x * y).sum()                       # d2f/dxdy = 2x
    (dx,) = ad.grad(f, x, create_graph=True)
    (dxy,) = ad.grad(dx.sum(), y)
    assert dxy.item() == 3.0


def test_backward_create_graph_puts_grad_on_the_graph():
    x = leaf([3.0])
    (x ** 2).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (g2,) = ad.grad(x.grad.sum(), x)
    assert g2.item() == 2.0


def test_ad_grad_needs_grad_requiring_inputs_and_outputs():
    x = leaf([1.0])
    constant = ad.tensor(np.array([1.0]))
    with pytest.raises(RuntimeError):
        ad.grad((x * 2.0).sum(), constant)
    with pytest.raises(RuntimeError, match="requires_grad|require grad"):
        ad.grad((constant * 2.0).sum(), x)


# ---- custom Functions ----------------------------------------------------------------------------

class Square(ad.Function):
    calls = 0

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        Square.calls += 1
        (x,) = ctx.saved_tensors
        return 2 * x * grad


class ScaledProduct(ad.Function):
    """a * b * scale with a non-tensor argument; records needs_input_grad."""
    seen_needs = None

    @staticmethod
    def forward(ctx, a, b, scale):
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        return a * b * scale

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ScaledProduct.seen_needs = tuple(ctx.needs_input_grad)
        return (grad * b * ctx.scale if ctx.needs_input_grad[0] else None,
                grad * a * ctx.scale if ctx.needs_input_grad[1] else None,
                None)


def test_custom_function_forward_backward():
    x = leaf([1.0, -2.0, 3.0])
    y = Square.apply(x)
    assert isinstance(y, ad.Tensor) and isinstance(y.grad_fn, Square)
    np.testing.assert_array_equal(y.data, [1.0, 4.0, 9.0])
    y.backward(gradient=np.array([1.0, 1.0, 0.5]))
    np.testing.assert_array_equal(x.grad.data, [2.0, -4.0, 3.0])


def test_custom_function_needs_input_grad_and_non_tensor_arguments():
    a = leaf([2.0, 3.0])
    b = ad.tensor(np.array([5.0, 7.0]))         # a constant
    y = ScaledProduct.apply(a, b, 0.5)
    np.testing.assert_array_equal(y.data, [5.0, 10.5])
    y.sum().backward()
    assert ScaledProduct.seen_needs[:2] == (True, False)
    np.testing.assert_array_equal(a.grad.data, [2.5, 3.5])
    assert b.grad is None


def test_custom_function_gradcheck_and_second_order():
    x = leaf([0.3, -1.2])
    assert ad.gradcheck(lambda t: Square.apply(t).sum(), x)
    (d1,) = ad.grad(Square.apply(x).sum(), x, create_graph=True)
    (d2,) = ad.grad(d1.sum(), x)
    np.testing.assert_array_equal(d2.data, [2.0, 2.0])


def test_custom_function_without_grad_inputs_records_nothing():
    y = Square.apply(ad.tensor(np.array([2.0])))
    assert y.grad_fn is None and not y.requires_grad
    with ad.no_grad():
        z = Square.apply(leaf([2.0]))
    assert z.grad_fn is None and not z.requires_grad


def test_custom_function_backward_is_not_called_without_a_backward():
    before = Square.calls
    Square.apply(leaf([1.0]))
    assert Square.calls == before


def test_custom_function_broadcast_gradient_is_summed_back_by_the_engine():
    class BroadcastAdd(ad.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad):
            return grad, grad           # output-shaped: the engine un-broadcasts

    a = leaf([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = leaf([10.0, 20.0, 30.0])
    s = leaf(1.0)
    BroadcastAdd.apply(BroadcastAdd.apply(a, b), s).backward(gradient=np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    np.testing.assert_array_equal(a.grad.data, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    np.testing.assert_array_equal(b.grad.data, [5.0, 7.0, 9.0])
    assert s.grad.shape == () and s.grad.item() == 21.0


def test_custom_function_gradient_is_cast_to_the_input_dtype():
    class Upcast(ad.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return np.full(grad.shape, 2.0, dtype=np.float64) * grad

    x = ad.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    Upcast.apply(x).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])


def test_custom_function_wrong_gradient_count_is_reported():
    class TwoInputsOneGrad(ad.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, grad):
            return (grad,)

    a, b = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match=r"TwoInputsOneGrad.*1 gradient.*2 input"):
        TwoInputsOneGrad.apply(a, b).sum().backward()


def test_custom_function_wrong_gradient_shape_is_reported():
    class WrongShape(ad.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, grad):
            return np.ones(5)

    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match=r"WrongShape.*\(5,\).*\(3,\)"):
        WrongShape.apply(x).sum().backward()


def test_grad_mode_inside_backward_follows_create_graph_and_is_restored_on_error():
    seen = []

    class Probe(ad.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, grad):
            seen.append(ad.is_grad_enabled())
            return grad

    class Fails(ad.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, grad):
            raise ValueError("backward failed")

    x = leaf([1.0])
    Probe.apply(x).sum().backward()
    Probe.apply(x).sum().backward(create_graph=True)
    assert seen == [False, True]
    with pytest.raises(ValueError, match="backward failed"):
        Fails.apply(x).sum().backward()
    assert ad.is_grad_enabled()


# ---- gradcheck itself ----------------------------------------------------------------------------

class WrongSquare(ad.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 3 * x * grad             # wrong on purpose: d/dx x^2 is 2x


def test_gradcheck_catches_a_wrong_backward():
    x = leaf([0.5, -1.5])
    with pytest.raises(ad.GradcheckError, match=r"input 0"):
        ad.gradcheck(lambda t: WrongSquare.apply(t).sum(), x)
    assert ad.gradcheck(lambda t: WrongSquare.apply(t).sum(), x, raise_exception=False) is False


def test_gradcheck_catches_a_backward_that_ignores_its_incoming_gradient():
    class IgnoresGrad(ad.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 2 * x

    x = leaf([0.5, -1.5])
    with pytest.raises(ad.GradcheckError):
        ad.gradcheck(lambda t: (IgnoresGrad.apply(t) * 3.0).sum(), x)


def test_gradcheck_passes_a_correct_multi_input_function():
    a, b = leaf([[0.5, 1.0], [1.5, 2.0]]), leaf([0.3, -0.7])
    assert ad.gradcheck(lambda p, q: (p * q).tanh().sum(axis=0), (a, b)) is True


def test_gradcheck_refuses_float32_and_inputs_without_grad():
    x32 = ad.tensor(np.array([1.0], dtype=np.float32), requires_grad=True)
    with pytest.raises(TypeError, match="float64"):
        ad.gradcheck(lambda t: t.sum(), x32)
    with pytest.raises(ValueError, match="requires_grad|require"):
        ad.gradcheck(lambda t: t.sum(), ad.tensor(np.array([1.0])))


# ---- consumers counted in forward (the plain backward's readiness) ----------------------------------
# A node is ready once all the consumers counted in forward have sent their gradient; when some
# consumer is outside the backward, the counting walk finishes. Each case is checked against the
# same gradient computed on a fresh graph without the extra consumers.

def _grad_of(build):
    x = leaf([0.5, -1.5, 2.0])
    build(x).backward()
    return x.grad.data.copy()


@pytest.mark.parametrize("extra", [
    lambda h: h * 3.0,                      # a consumer that is never used
    lambda h: (h.exp() * h).sum(),          # a second loss, not backwarded
    lambda h: h[0],                         # a view of it
], ids=["dead", "other-loss", "view"])
def test_consumers_outside_the_backward_do_not_stall_it(extra):
    def build(x, with_extra):
        h = (x * x).tanh()
        if with_extra:
            kept = extra(h)                 # noqa: F841 (stays alive during the backward)
        return (h * x).sum() + h.sum()
    expected = _grad_of(lambda x: build(x, False))
    np.testing.assert_allclose(_grad_of(lambda x: build(x, True)), expected, rtol=1e-15)
    expected_plain = (lambda x: (2 * x * (1 - np.tanh(x * x) ** 2)) * (x + 1) + np.tanh(x * x))(
        np.array([0.5, -1.5, 2.0]))
    np.testing.assert_allclose(expected, expected_plain, rtol=1e-12)


def test_backward_of_an_intermediate_then_of_the_loss_with_retain_graph():
    x = leaf([0.3, 0.7])
    h = x.exp()
    loss = (h * h).sum()
    h.sum().backward(retain_graph=True)        # h's node has a consumer outside this backward
    np.testing.assert_allclose(x.grad.data, np.exp([0.3, 0.7]), rtol=1e-15)
    x.grad = None
    loss.backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.exp([0.6, 1.4]), rtol=1e-14)


def test_backward_of_several_roots_where_one_consumes_another():
    x = leaf([1.0, 2.0])
    y = (x * 3.0).sum()
    z = y * y
    ad.backward([y, z])
    np.testing.assert_allclose(x.grad.data, [3.0 + 2 * 9.0 * 3.0] * 2, rtol=1e-15)


def test_a_node_used_many_times_gets_all_its_gradients():
    x = leaf([0.2, 0.4])
    h = x.sin()
    total = h
    for k in range(2, 7):
        total = total + h * float(k)
    total.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.cos([0.2, 0.4]) * 21.0, rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_elementwise_ops_give_gradients_of_the_input_shape_and_dtype(dtype, shape):
    """The engine does not fit the gradients of built-in elementwise ops (same_shape): check that
    each one's backward really returns the input's shape and dtype, with number operands too."""
    cases = [lambda t: t.exp(), lambda t: (t * t + 1.0).log(), lambda t: (t * t + 1.0).sqrt(),
             lambda t: t.tanh(), lambda t: t.sigmoid(), lambda t: t.relu(), lambda t: abs(t),
             lambda t: t.sin(), lambda t: t.cos(), lambda t: -t, lambda t: t + 2, lambda t: 2 - t,
             lambda t: t * 1.5, lambda t: 3 * t, lambda t: t / 4.0, lambda t: 1.0 / (t * t + 1.0),
             lambda t: t - 0.5]
    rng = np.random.default_rng(0)
    for case in cases:
        x = ad.tensor(rng.uniform(0.5, 1.5, shape).astype(dtype), requires_grad=True)
        case(x).sum().backward()
        assert x.grad.shape == shape and x.grad.dtype == dtype
        assert type(x.grad.data) is np.ndarray


# ---- number operands (cached 0-d arrays) and needs_input_grad in forward ---------------------------

@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_number_operands_give_numpys_results_bit_for_bit(dtype):
    """Numbers next to a float tensor are handed to numpy as 0-d arrays of the tensor's dtype;
    the values (signed zeros, nan, inf, overflow) must be exactly numpy's for the Python number."""
    data = np.random.default_rng(1).standard_normal(40).astype(dtype)
    numbers = [0.1, 1 / 3, -0.0, 0, 7, -3, 1e-30, 3.3e38, 2 ** 40, float("nan"), float("inf")]
    ops = ["__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
           "__truediv__", "__rtruediv__"]
    with np.errstate(all="ignore"):
        for number in numbers:
            for op in ops:
                for requires in (False, True):
                    got = getattr(ad.tensor(data, requires_grad=requires), op)(number).data
                    want = getattr(data, op)(number)
                    assert got.dtype == want.dtype, (op, number)
                    np.testing.assert_array_equal(got, want)
                    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


def test_number_operand_gradients_match_central_differences():
    x = leaf([0.3, -1.2, 2.5])
    assert ad.gradcheck(lambda t: (2.0 - t * 1.5) / 4 + 3 / (t * t + 1) - (-0.0) * t, (x,))


def test_elementwise_ops_next_to_a_number_note_what_they_keep():
    """binary_op's fast path (tensor op number): Add, Sub, Mul and Div keep only the number and
    note no saved sources; a two-input row that keeps its tensor input (atan2, fmod...) notes it,
    so a change in place before the backward is refused."""
    from autodiff.function import Function
    binary = [cls for cls in _all_subclasses(Function)
              if cls.same_shape and cls.forward.__code__.co_argcount == 3]
    assert {c.__name__ for c in binary} >= {"Add", "Sub", "Mul", "Div", "Atan2"}
    for cls in binary:
        x = leaf([0.5, -1.5, 2.0])
        y = ad.function.apply2(cls, x, 1.5)
        if not any(saved is x.data or saved is y.data for saved in y.grad_fn.saved):
            assert y.grad_fn.saved_sources is None, cls.__name__
            x.data += 1.0      # a change in place of the tensor input: nothing saved, nothing to refuse
            y.sum().backward()
            continue
        assert cls.__name__ not in ("Add", "Sub", "Mul", "Div")
        assert y.grad_fn.saved_sources is not None, cls.__name__
        h = x * 1.0
        y = ad.function.apply2(cls, h, 1.5)
        with ad.no_grad():
            h.add_(1.0)
        with pytest.raises(RuntimeError, match="changed in place"):
            y.sum().backward()


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def test_cached_constants_cannot_be_written_by_a_backward():
    class Scale(ad.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, grad):
            return grad

    x = leaf([1.0, 2.0])
    y = x * 2.5
    (saved,) = [s for s in y.grad_fn.saved if s is not None]
    assert saved.shape == () and not saved.flags.writeable
    Scale.apply(y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.5, 2.5])
    np.testing.assert_array_equal((x * 2.5).data, [2.5, 5.0])


def test_forward_can_read_needs_input_grad_as_in_pytorch():
    seen = []

    class Probe(ad.Function):
        @staticmethod
        def forward(ctx, a, b):
            seen.append(ctx.needs_input_grad)
            return a * b

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    Probe.apply(leaf([1.0]), ad.tensor([2.0]))
    Probe.apply(ad.tensor([1.0]), leaf([2.0]))
    assert seen == [(True, False), (False, True)]


def test_a_number_product_keeps_only_the_number_so_its_input_may_change_in_place():
    x = leaf([1.0, 2.0])
    y = x * 1.0
    z = y * 3.0             # needs only 3.0 for y's gradient (PyTorch does not save y either)
    with ad.no_grad():
        y.mul_(2.0)
    z.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])


# ---- what a user's Function may do (regressions found in review) --------------------------------

def test_a_subclass_inherits_its_parents_apply():
    class Base(ad.Function):
        @classmethod
        def apply(cls, x, scale=2.0):       # fills in a default argument
            return super().apply(x, scale)

    class Scale(Base):
        @staticmethod
        def forward(ctx, x, s):
            ctx.s = s
            return x * s

        @staticmethod
        def backward(ctx, grad):
            return grad * ctx.s, None

    x = leaf([1.0, -2.0])
    Scale.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])


def test_attributes_that_forward_sets_on_ctx_are_kept():
    class StraightThrough(ad.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.straight, ctx.scope, ctx.uses_sign = True, "mine", True
            return np.sign(x)

        @staticmethod
        def backward(ctx, grad):
            return grad if ctx.straight else grad * 0

    x = leaf([1.0, -2.0])
    y = StraightThrough.apply(x)
    assert y.grad_fn.straight is True and y.grad_fn.scope == "mine"
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])


def test_anomaly_message_gives_shapes_of_nodes_made_outside_anomaly_mode():
    a, b = leaf([1.0, 2.0]), leaf([0.0, 1.0])
    with np.errstate(divide="ignore"):
        c = (a * 1.0) / (b * 1.0)      # Div of two same-shape tensors: no shapes recorded
    with np.errstate(divide="ignore"), pytest.raises(ad.AnomalyError, match=r"Div \(inputs of shape \(2,\), \(2,\)\)"):
        with ad.detect_anomaly():
            c.sum().backward()
