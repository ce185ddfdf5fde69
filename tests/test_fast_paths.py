"""The engine's specialised paths give what the general ones give: F.linear's ternary op against
Linear.apply, the leaves' fresh gradients (Function.fresh_grads), tanh's in-place backward,
loss.backward()'s short entry and the optimizer's step outside a no_grad object."""
import numpy as np
import pytest

import autodiff as ad
import nn
import optim
from autodiff.function import ternary_op
from nn import functional as F
from nn.functional import Linear


def leaf(values, dtype=np.float64):
    return ad.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ---- F.linear: ternary_op(Linear) against Linear.apply ------------------------------------------

@pytest.mark.parametrize("x_grad", [True, False])
@pytest.mark.parametrize("w_grad", [True, False])
@pytest.mark.parametrize("bias", ["grad", "frozen", None])
@pytest.mark.parametrize("x_shape", [(5, 3), (3,), (2, 4, 3)])
def test_linear_fast_path_matches_the_generic_apply(x_grad, w_grad, bias, x_shape):
    results = []
    for op in (F.linear, Linear.apply):
        x = ad.tensor(rand(*x_shape), requires_grad=x_grad)
        w = ad.tensor(rand(4, 3, seed=1), requires_grad=w_grad)
        b = None if bias is None else ad.tensor(rand(4, seed=2), requires_grad=bias == "grad")
        y = op(x, w, b)
        leaves = [t for t in (x, w, b) if t is not None and t.requires_grad]
        assert y.requires_grad == bool(leaves)
        if leaves:
            assert len(y.grad_fn.input_nodes) == 3
            (y * y).sum().backward()
        results.append([y.data] + [t.grad.data for t in leaves])
    for fast, generic in zip(*results):
        np.testing.assert_array_equal(fast, generic)


def test_linear_fast_path_takes_arrays_and_lists_through_the_generic_apply():
    w, b = leaf(rand(4, 3)), leaf(rand(4))
    x = rand(5, 3)
    expected = x @ w.data.T + b.data
    np.testing.assert_allclose(F.linear(x, w, b).data, expected, rtol=1e-12)
    # a list becomes a tensor of the default dtype (float32), as ad.tensor makes it: against a
    # float64 weight that is an error naming both dtypes (PyTorch's rule)
    with pytest.raises(RuntimeError, match="float32.*float64"):
        F.linear(x.tolist(), w, b)
    y = F.linear(ad.tensor(x), w.data, b)       # an array weight: a constant
    y.sum().backward()
    np.testing.assert_allclose(b.grad.data, np.full(4, 5.0))
    assert w.grad is None


def test_linear_fast_path_gradients_match_central_differences():
    x, w, b = leaf(rand(5, 3)), leaf(rand(4, 3, seed=1)), leaf(rand(4, seed=2))
    assert ad.gradcheck(lambda x, w, b: F.linear(x, w, b).tanh(), (x, w, b))
    assert ad.gradgradcheck(lambda x, w, b: F.linear(x, w, b).tanh(), (x, w, b))


def test_linear_fast_path_records_what_the_in_place_checks_need():
    x, w, b = leaf(rand(5, 3)), leaf(rand(4, 3, seed=1)), leaf(rand(4, seed=2))
    h = x * 1.0
    y = F.linear(h, w, b)
    h.data += 1.0           # not tracked: .data
    h.mul_(2.0)             # tracked: the saved input changed
    with pytest.raises(RuntimeError, match="in place|inplace|version"):
        y.sum().backward()
    y = F.linear(x * 1.0, w, b)
    w.data.fill(0.0)
    with ad.no_grad():
        w.add_(1.0)         # the saved weight changed
    with pytest.raises(RuntimeError, match="in place|inplace|version"):
        y.sum().backward()
    y = F.linear(x * 1.0, w, b)
    with ad.no_grad():
        b.add_(1.0)         # the bias is not saved: its change does not matter (PyTorch)
    y.sum().backward()


def test_linear_fast_path_errors_name_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"linear: input of shape \(5, 2\)"):
        F.linear(leaf(rand(5, 2)), leaf(rand(4, 3)), leaf(rand(4)))
    with pytest.raises(ValueError, match=r"linear: bias of shape \(3,\)"):
        F.linear(leaf(rand(5, 3)), leaf(rand(4, 3)), leaf(rand(3)))


def test_linear_fast_path_honours_grad_modes_scopes_and_anomaly_mode():
    x, w = leaf(rand(2, 3)), leaf(rand(4, 3))
    with ad.no_grad():
        assert not F.linear(x, w).requires_grad
    with ad.name_scope("layer"):
        assert F.linear(x, w).grad_fn.scope == "layer"
    with ad.detect_anomaly():
        node = F.linear(x, w).grad_fn
    assert node.creation_site() is not None and "test_fast_paths.py" in node.creation_site()


def test_ternary_op_serves_a_user_function_with_three_inputs():
    class MulAdd(ad.Function):      # a * b + c
        @staticmethod
        def forward(ctx, a, b, c):
            ctx.save_for_backward(a, b)
            return a * b + (0.0 if c is None else c)

        @staticmethod
        def backward(ctx, grad):
            a, b = ctx.saved_tensors
            return grad * b, grad * a, grad

    op = ternary_op(MulAdd)
    a, b, c = leaf([1.0, 2.0]), leaf([3.0, 4.0]), leaf([0.5, 0.5])
    op(a, b, c).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [3.0, 4.0])
    np.testing.assert_array_equal(b.grad.data, [1.0, 2.0])
    np.testing.assert_array_equal(c.grad.data, [1.0, 1.0])
    y = op(a, a, None)          # one tensor twice: both gradients reach it
    a.grad = None
    y.sum().backward()
    np.testing.assert_array_equal(a.grad.data, [2.0, 4.0])


# ---- leaves keep fresh gradients without a copy -------------------------------------------------

def test_linear_declares_fresh_gradients_and_its_subclasses_with_a_backward_do_not():
    assert Linear.fresh_grads and not ad.Function.fresh_grads

    class Doubled(Linear):
        @staticmethod
        def backward(ctx, grad):
            gx, gw, gb = Linear.backward(ctx, grad)
            return gx, gw, gw.sum(axis=1) * 0 + gb    # fresh, but the class did not say so

    class Same(Linear):
        pass

    assert not Doubled.fresh_grads and Same.fresh_grads


def test_a_backward_that_returns_one_array_twice_still_gives_each_leaf_its_own():
    class Shared(ad.Function):      # a + b, whose backward hands the same array to both (and no
                                    # fresh_grads promise: the engine checks)
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad):
            g = grad * 1.0
            return g, g[...]        # the second is a view: copied all the same

    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    Shared.apply(a, b).sum().backward()
    assert not np.shares_memory(a.grad.data, b.grad.data)


def test_linear_leaf_gradients_are_their_own_arrays_and_accumulate():
    layer = nn.Linear(3, 2, dtype="float64")
    x = ad.tensor(rand(4, 3))
    for step in (1, 2):
        F.cross_entropy(layer(x), np.array([0, 1, 1, 0])).backward()
        grads = [p.grad.data for p in layer.parameters()]
        assert not np.shares_memory(grads[0], grads[1])
        for held in (x.data, layer.weight.data, layer.bias.data):
            assert not any(np.shares_memory(g, held) for g in grads)
        assert layer.weight.grad.data.flags.f_contiguous      # the weight's layout
    layer.zero_grad()
    F.cross_entropy(layer(x), np.array([0, 1, 1, 0])).backward()
    np.testing.assert_allclose(grads[0], 2 * layer.weight.grad.data, rtol=1e-12)


# ---- tanh's and relu's backward in place ---------------------------------------------------------

ACTIVATIONS = {
    "tanh": (ad.tanh, lambda x, g: g * (np.array(1, x.dtype) - np.tanh(x) * np.tanh(x))),
    "relu": (ad.relu, lambda x, g: g * ~(np.maximum(x, 0) <= 0)),     # PyTorch: passes at nan
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.longdouble])
@pytest.mark.parametrize("shape", [(), (3,), (4, 5), (40, 30)])     # (40, 30): tanh's in-place path
def test_activation_backward_gives_the_formulas_bits(name, dtype, shape):
    op, formula = ACTIVATIONS[name]
    values = rand(*shape) if shape else np.float64(0.7)
    if shape:
        values.flat[0], values.flat[-1] = 0.0, -0.0        # relu's kink: gradient 0
        if len(values.flat) > 3:
            values.flat[2] = np.nan
    x = leaf(values, dtype)
    g = np.asarray(rand(*shape, seed=3) if shape else -1.3, dtype=dtype)
    if shape:
        g.flat[1] = np.nan if len(g.flat) > 2 else g.flat[1]
    y = op(x)
    y.backward(g)
    expected = formula(x.data, g)
    assert x.grad.dtype == dtype and x.grad.shape == shape
    np.testing.assert_array_equal(x.grad.data, expected)
    assert not np.shares_memory(x.grad.data, g)


def test_tanh_second_derivative_still_works():
    x = leaf([0.3, -1.2])
    (dx,) = ad.grad(ad.tanh(x).sum(), x, create_graph=True)
    dx.sum().backward()
    t = np.tanh(x.data)
    np.testing.assert_allclose(x.grad.data, -2 * t * (1 - t * t), rtol=1e-12)


# ---- loss.backward() and the optimizer's step --------------------------------------------------

def test_loss_backward_short_entry_matches_the_general_one():
    x = leaf(rand(3, 2))
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    first = x.grad.data.copy()
    loss.backward(gradient=ad.tensor(1.0, dtype="float64"))     # the general entry
    np.testing.assert_array_equal(x.grad.data, 2 * first)
    with pytest.raises(RuntimeError, match="retain_graph"):
        loss.backward()
    y = (x * 1.0).sum().reshape(1, 1)     # one element, not 0-d
    y.backward()
    assert x.grad.shape == (3, 2)
    with pytest.raises(RuntimeError, match="does not require grad"):
        ad.tensor(1.0).backward()


def test_optimizer_step_runs_without_grad_and_restores_the_mode_even_on_error():
    p = leaf([1.0, 2.0])
    seen = []

    class Probe(optim.SGD):
        def _update(self, param, grad, state, options, scratch):
            seen.append(ad.is_grad_enabled())
            raise ValueError("boom")

    opt = Probe([p], lr=0.1)
    (p * p).sum().backward()
    with pytest.raises(ValueError, match="boom"):
        opt.step()
    assert seen == [False] and ad.is_grad_enabled()
    with ad.no_grad():
        with pytest.raises(ValueError):
            opt.step()
        assert not ad.is_grad_enabled()
    assert (p * 2.0).requires_grad


# ---- row maxima for softmax and cross-entropy --------------------------------------------------

@pytest.mark.parametrize("shape", [(1, 1), (8, 3), (16, 2), (64, 10), (300, 64), (20, 65), (5, 200)])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_row_max_equals_numpys_max_along_rows(shape, dtype):
    from autodiff.ops import row_max
    x = rand(*shape).astype(dtype)
    x.flat[::7] = -0.0
    if x.size > 3:
        x.flat[1], x.flat[2] = np.inf, -np.inf
    for array in (x, np.asfortranarray(x), x[:, ::-1]):
        expected = array.max(axis=1, keepdims=True)
        got = row_max(array)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
    x[0, 0] = np.nan
    assert np.isnan(row_max(x)[0, 0])


# ---- module calls: name scopes and the grad mode ------------------------------------------------

def test_module_calls_restore_scope_and_grad_mode_even_when_forward_changes_or_fails():
    from autodiff.grad_mode import state

    class SwitchOff(nn.Module):
        def forward(self, x):
            ad.set_grad_enabled(False)      # the call form: lasts after forward
            return x * 2.0

    class Fails(nn.Module):
        def forward(self, x):
            raise ValueError("inner")

    outer = nn.Sequential(nn.Tanh(), nn.Sequential(nn.Tanh(), nn.ReLU()))
    x = leaf([0.5, -1.0])
    y = outer(x)
    assert y.grad_fn.scope == "Sequential.1.1"     # the attribute path
    assert state.mode.scope is None and state.plain and (x * 2.0).grad_fn.scope is None
    nested = nn.Sequential(nn.Tanh(), Fails())
    with pytest.raises(ValueError, match="inner"):
        nested(x)
    assert state.mode.scope is None and state.plain
    try:
        assert not nn.Sequential(SwitchOff())(x).requires_grad
        assert not ad.is_grad_enabled() and not state.plain and not (x * 2.0).requires_grad
    finally:
        ad.set_grad_enabled(True)
    assert state.plain and (x * 2.0).requires_grad
    with ad.no_grad():
        outer(x)
    assert state.plain


def test_an_optimizer_step_between_forward_and_backward_is_caught_and_located():
    layer = nn.Linear(3, 2, dtype="float64")
    opt = optim.SGD(layer.parameters(), lr=0.1)
    x = ad.tensor(rand(4, 3))
    F.cross_entropy(layer(x), np.array([0, 1, 1, 0])).backward()
    loss = F.cross_entropy(layer(x), np.array([0, 1, 1, 0]))
    opt.step()      # changes the weight that the new graph saved
    with pytest.raises(RuntimeError, match="changed in place.*detect_anomaly"):
        loss.backward()
    with ad.detect_anomaly():
        loss = F.cross_entropy(layer(x), np.array([0, 1, 1, 0]))
        opt.step()
        with pytest.raises(RuntimeError, match=r"changed in place afterwards by .*test_fast_paths.py:\d+"):
            loss.backward()


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3,), (40, 30)])      # (40, 30): the work-array path
def test_sgd_common_path_gives_the_formulas_bits(momentum, dtype, shape):
    start = rand(*shape).astype(dtype)
    grads = [rand(*shape, seed=s).astype(dtype) for s in (1, 2, 3)]
    p = ad.tensor(start.copy(), requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=momentum)
    expected, buf = start.copy(), None
    for g in grads:
        p.grad = ad.tensor(g.copy())
        opt.step()
        if momentum:            # PyTorch's rule, with Python floats
            buf = g.copy() if buf is None else buf * momentum + g
            expected -= 0.1 * buf
        else:
            expected -= 0.1 * g
        np.testing.assert_array_equal(p.data, expected)
    assert p.dtype == dtype


# ---- x * x: one Mul node with one edge ----------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.longdouble])
def test_a_tensor_times_itself_gives_mul_with_the_two_halves_summed(dtype):
    x = leaf(rand(3, 4), dtype)
    g = rand(3, 4, seed=5).astype(dtype)
    y = x * x
    assert y.grad_fn.name == "Mul" and type(y.grad_fn).__name__ == "MulSelf" and isinstance(y.grad_fn, ad.ops.Mul)
    assert len(y.grad_fn.input_nodes) == 1
    np.testing.assert_array_equal(y.data, x.data * x.data)
    y.backward(g)
    np.testing.assert_array_equal(x.grad.data, g * x.data + g * x.data)
    assert x.grad.dtype == dtype


def test_a_tensor_times_itself_keeps_checks_hooks_and_higher_derivatives():
    x = leaf([1.5, -2.0])
    h = x * 1.0
    y = h * h
    with ad.no_grad():
        h.add_(1.0)
    with pytest.raises(RuntimeError, match="changed in place"):
        y.sum().backward()
    seen = []
    h = x * 1.0
    h.register_hook(lambda grad: seen.append(grad.data.copy()))
    (h * h).sum().backward()
    np.testing.assert_array_equal(seen[0], 2 * h.data)
    x.grad = None
    (dx,) = ad.grad((x * x * x).sum(), x, create_graph=True)     # 3x^2
    dx.sum().backward()
    np.testing.assert_allclose(x.grad.data, 6 * x.data, rtol=1e-12)
    assert ad.gradcheck(lambda t: t * t, (leaf([0.3, -0.7]),))
    assert ad.gradgradcheck(lambda t: t * t, (leaf([0.3, -0.7]),))
    c = ad.tensor([2.0])            # not on the graph: an ordinary Mul
    assert not (c * c).requires_grad and (c * c).data[0] == 4.0


def _function_classes(cls=ad.Function):
    for sub in cls.__subclasses__():
        yield sub
        yield from _function_classes(sub)


def test_every_function_that_promises_fresh_gradients_keeps_the_promise():
    # the engine hands these gradients to leaves without a check: none may share memory with the
    # incoming gradient, a saved array, an input, or another input's gradient
    promising = {cls for cls in _function_classes() if cls.fresh_grads}
    assert Linear in promising
    cases = {Linear: [((5, 3), (4, 3), (4,)), ((3,), (4, 3), (4,)), ((2, 5, 3), (4, 3), None)]}
    assert promising <= set(cases), f"add a case for {promising - set(cases)}"
    for cls, shapes in cases.items():
        for layout in ("C", "F"):
            for shape in shapes:
                inputs = [None if s is None else
                          ad.Tensor(np.asarray(rand(*s, seed=i), order=layout), requires_grad=True)
                          for i, s in enumerate(shape)]
                assert inputs[1].data.flags.f_contiguous == (layout == "F")
                y = cls.apply(*inputs)
                g = rand(*y.shape, seed=9)
                node = y.grad_fn
                grads = node.backward(node, g)
                arrays = [g] + list(node.saved) + [t.data for t in inputs if t is not None]
                for i, gi in enumerate(grads):
                    if gi is None:
                        continue
                    assert not any(np.shares_memory(gi, a) for a in arrays), (cls, shape, i)
                    assert not any(np.shares_memory(gi, other) for j, other in enumerate(grads)
                                   if j != i and other is not None), (cls, shape, i)


def test_linear_promotes_a_bias_of_a_wider_dtype_as_numpy_does():
    x, w = ad.tensor(rand(2, 3).astype(np.float32)), ad.tensor(rand(4, 3).astype(np.float32))
    b = leaf(rand(4), np.float64)
    y = F.linear(x, w, b)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y.data, x.data @ w.data.T + b.data)
    y.sum().backward()
    assert b.grad.dtype == np.float64


def test_each_thread_starts_from_the_default_grad_state_and_keeps_its_own():
    import threading
    from autodiff.grad_mode import state
    seen = {}

    def worker(name, off):
        x = leaf([1.0, 2.0])
        if off:
            with ad.no_grad(), ad.name_scope("worker"):
                barrier.wait()
                seen[name] = (ad.is_grad_enabled(), state.mode.scope, state.plain, (x * 2.0).requires_grad)
                barrier.wait()
        else:
            barrier.wait()
            y = nn.Sequential(nn.Tanh())(x)
            seen[name] = (ad.is_grad_enabled(), state.mode.scope, state.plain, y.grad_fn.scope)
            barrier.wait()

    barrier = threading.Barrier(2)
    with ad.no_grad(), ad.name_scope("main"):
        threads = [threading.Thread(target=worker, args=(name, off)) for name, off in (("a", True), ("b", False))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not ad.is_grad_enabled() and state.mode.scope == "main" and state.mode is not None
    assert seen["a"] == (False, "worker", False, False)
    assert seen["b"] == (True, None, True, "Sequential.0")
    assert state.plain and state.mode.scope is None


def test_sgd_follows_every_change_of_its_hyper_parameters():
    p = ad.tensor(np.zeros(3), requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.0)

    def step():
        before = p.data.copy()
        p.grad = ad.tensor(np.ones(3))
        opt.step()
        return (before - p.data)[0]

    assert np.isclose(step(), 0.1) and np.isclose(step(), 0.1)
    opt.param_groups[0]["lr"] = 0.5         # as a scheduler does
    assert np.isclose(step(), 0.5)
    scheduler = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    scheduler.step()
    assert np.isclose(step(), 0.25)
    lr = np.array(0.2)                      # an array lr, then changed in place
    opt.param_groups[0]["lr"] = lr
    assert np.isclose(step(), 0.2)
    lr[...] = 0.3
    assert np.isclose(step(), 0.3)
    opt.param_groups[0]["lr"] = 0.1
    opt.param_groups[0]["momentum"] = 0.9   # momentum switched on: a buffer from now on
    assert np.isclose(step(), 0.1) and np.isclose(step(), 0.1 * 1.9)
