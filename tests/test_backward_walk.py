"""Adversarial tests of the backward walk: the plain walk that counts consumers in forward
(``node.uses``), its fallback to the counting walk, the deferred delivery of leaf gradients, and
the elementwise ops that skip gradient fitting when the other operand is a Python number.

Every gradient is compared with an independent reference: PyTorch in float64 where it can be
imported (each such test skips on its own otherwise), or closed forms / ``ad.gradcheck``.
"""
import threading

import numpy as np
import pytest

import autodiff as ad


# ---- helpers -----------------------------------------------------------------------------------

def _torch():
    return pytest.importorskip("torch")


def ad_leaf(values, dtype=np.float64):
    return ad.tensor(np.array(values, dtype=dtype), requires_grad=True)


def torch_leaf(values):
    torch = _torch()
    return torch.tensor(np.array(values, dtype=np.float64), requires_grad=True)


def as_np(g):
    if g is None:
        return None
    if hasattr(g, "detach") and not isinstance(g, ad.Tensor):
        return g.detach().numpy()
    return np.asarray(g.data)


def assert_same_grad(ours, theirs, rtol=1e-10, atol=1e-12, what="grad"):
    ours, theirs = as_np(ours), as_np(theirs)
    if theirs is None:
        assert ours is None or not np.any(ours), f"{what}: expected no gradient, got {ours}"
        return
    assert ours is not None, f"{what}: expected {theirs}, got None"
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=what)


def compare_with_torch(build, *arrays, rtol=1e-10, atol=1e-12):
    """``build(leaves, keep)`` returns a scalar loss; ``keep`` (a list) holds tensors that must stay
    alive during the backward (dead branches). Runs it on both libraries and compares .grad."""
    _torch()
    xs = [ad_leaf(a) for a in arrays]
    keep = []
    build(xs, keep).backward()
    ts = [torch_leaf(a) for a in arrays]
    tkeep = []
    build(ts, tkeep).backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        assert_same_grad(x.grad, t.grad, rtol, atol, what=f"leaf {i}")
    return xs, ts


A = [[0.3, -0.7, 1.1], [0.5, 0.9, -1.3]]
B = [[-0.4, 0.6, 0.2], [1.2, -0.8, 0.35]]


# ---- graph shapes: diamonds, fan-out, dead branches --------------------------------------------

def test_diamond():
    compare_with_torch(lambda xs, keep: (xs[0].tanh() * 2.0 + xs[0].tanh().sin()).sum(), A)

    def shared(xs, keep):
        h = xs[0].tanh()
        return (h * 2.0 + h.sin() + h * h).sum()
    compare_with_torch(shared, A)


def test_multi_level_fan_out_with_dead_branches_at_every_level():
    def build(xs, keep):
        x, y = xs
        h1 = x * y
        keep.append(h1.exp())               # dead at level 1
        h2 = h1.sin()
        keep.append(h2 * 3.0)               # dead at level 2
        keep.append(h1 * h2)                # dead node that consumes two live nodes
        h3 = h2 + h1
        keep.append(h3.tanh().cos())        # dead chain of two
        return (h3 * h2).sum() + h1.sum() + (h3 - y).sum()
    compare_with_torch(build, A, B)


def test_dead_branch_whose_only_live_path_is_long():
    def build(xs, keep):
        (x,) = xs
        h = x * 1.5
        keep.append(h + 1.0)
        for _ in range(20):
            h = (h * 0.9).sin() + h * 0.1
            keep.append(h * 2.0)
        return h.sum()
    compare_with_torch(build, A)


def test_dead_branch_everywhere_but_the_root_keeps_gradients_right_twice():
    # the same graph backwarded twice (retain_graph): the second walk also falls back
    torch = _torch()
    results = []
    for lib in ("ad", "torch"):
        x = ad_leaf(A) if lib == "ad" else torch_leaf(A)
        h = x.exp()
        dead = h * 2.0                          # noqa: F841
        loss = (h * x).sum()
        loss.backward(retain_graph=True)
        loss.backward()
        results.append(x.grad)
    assert_same_grad(results[0], results[1])
    del torch


# a program of random ops, run identically on both libraries
_UNARY = [
    lambda a: a.tanh(), lambda a: a.sin(), lambda a: a * 1.5, lambda a: 2.0 - a, lambda a: a.sigmoid(),
    lambda a: a / 3.0, lambda a: -a, lambda a: a.tanh().exp(), lambda a: (a * a + 1.0).sqrt(),
    lambda a: a.cos(), lambda a: a ** 2, lambda a: a.reshape(3, 2).T, lambda a: a[0] * a,
    lambda a: a[:, 1:2] + a, lambda a: 1.0 / (a * a + 1.0), lambda a: (a * a + 0.5).log(),
]
_BINARY = [
    lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a * b.tanh(),
    lambda a, b: a / (b * b + 1.0), lambda a, b: a.T.reshape(2, 3) * b,
]


def _program(seed, steps=14):
    rng = np.random.default_rng(seed)
    ops = []
    count = 2
    for _ in range(steps):
        if rng.uniform() < 0.5:
            ops.append(("u", int(rng.integers(len(_UNARY))), int(rng.integers(count)), None))
        else:
            ops.append(("b", int(rng.integers(len(_BINARY))), int(rng.integers(count)),
                        int(rng.integers(count))))
        count += 1
    dead = sorted(set(int(i) for i in rng.integers(2, count, size=4)))
    used = sorted(set(int(i) for i in rng.integers(2, count, size=3)) | {count - 1})
    weights = rng.uniform(-1, 1, size=len(used))
    retained = sorted(set(int(i) for i in rng.integers(2, count, size=3)))
    return ops, dead, used, weights, retained


def _execute(program, leaves, keep):
    ops, dead, used, weights, retained = program
    nodes = list(leaves)
    for kind, op, i, j in ops:
        nodes.append(_UNARY[op](nodes[i]) if kind == "u" else _BINARY[op](nodes[i], nodes[j]))
    for i in dead:
        keep.append(nodes[i] * 2.0)
    for i in retained:
        nodes[i].retain_grad()
    return nodes


@pytest.mark.parametrize("seed", range(40))
def test_random_graphs_with_dead_branches_match_torch(seed):
    torch = _torch()
    program = _program(seed)
    _, _, used, weights, retained = program
    grads = []
    for lib in ("ad", "torch"):
        leaves = [ad_leaf(A), ad_leaf(B)] if lib == "ad" else [torch_leaf(A), torch_leaf(B)]
        keep = []
        nodes = _execute(program, leaves, keep)
        loss = 0.0
        for i, w in zip(used, weights):
            loss = loss + (nodes[i] * float(w)).sum()
        loss.backward()
        grads.append([leaves[0].grad, leaves[1].grad] + [nodes[i].grad for i in retained])
    for k, (ours, theirs) in enumerate(zip(*grads)):
        assert_same_grad(ours, theirs, rtol=1e-9, atol=1e-11, what=f"grad {k}")
    del torch


@pytest.mark.parametrize("seed", range(20))
def test_random_graphs_with_several_roots_match_torch(seed):
    # roots may consume each other, and may be listed twice
    torch = _torch()
    program = _program(seed + 100)
    rng = np.random.default_rng(seed)
    count = 2 + len(program[0])
    roots = [int(i) for i in rng.integers(2, count, size=3)]
    weights = [rng.uniform(-1, 1, size=(2, 3)) for _ in roots]
    grads = []
    for lib in ("ad", "torch"):
        leaves = [ad_leaf(A), ad_leaf(B)] if lib == "ad" else [torch_leaf(A), torch_leaf(B)]
        keep = []
        nodes = _execute(program, leaves, keep)
        if lib == "ad":
            ad.backward([nodes[i] for i in roots], [ad.tensor(w) for w in weights])
        else:
            torch.autograd.backward([nodes[i] for i in roots], [torch.tensor(w) for w in weights])
        grads.append([leaves[0].grad, leaves[1].grad] + [nodes[i].grad for i in program[4]])
    for k, (ours, theirs) in enumerate(zip(*grads)):
        assert_same_grad(ours, theirs, rtol=1e-9, atol=1e-11, what=f"grad {k}")


def test_random_graph_backward_twice_with_a_consumer_added_in_between():
    torch = _torch()
    program = _program(7)
    grads = []
    for lib in ("ad", "torch"):
        leaves = [ad_leaf(A), ad_leaf(B)] if lib == "ad" else [torch_leaf(A), torch_leaf(B)]
        nodes = _execute(program, leaves, [])
        loss = nodes[-1].sum() + nodes[4].sum()
        loss.backward(retain_graph=True)
        extra = (nodes[3] * nodes[5]).sum()     # a new consumer of two nodes already walked
        loss.backward(retain_graph=True)
        extra.backward()
        grads.append([leaves[0].grad, leaves[1].grad])
    for ours, theirs in zip(*grads):
        assert_same_grad(ours, theirs, rtol=1e-9, atol=1e-11)
    del torch


# ---- the same tensor twice in one op -----------------------------------------------------------

@pytest.mark.parametrize("op", [
    lambda a: a * a, lambda a: a + a, lambda a: a - a, lambda a: a / a, lambda a: a.sin() * a.sin(),
], ids=["mul", "add", "sub", "div", "mul-of-intermediate"])
def test_same_tensor_twice_in_one_op(op):
    compare_with_torch(lambda xs, keep: (op(xs[0]) * 1.0).sum(), A)
    compare_with_torch(lambda xs, keep: op(xs[0] * 2.0).sum(), A)      # on an intermediate


# ---- consumers created between backward calls; backward on an intermediate first -------------

def test_consumer_created_between_two_backward_calls():
    torch = _torch()
    out = []
    for lib in ("ad", "torch"):
        x = ad_leaf(A) if lib == "ad" else torch_leaf(A)
        h = x.tanh()
        loss = (h * x).sum()
        loss.backward(retain_graph=True)
        first = as_np(x.grad).copy()
        z = h * 5.0                             # a new consumer of a node already walked (retained)
        loss.backward(retain_graph=True)
        z.sum().backward()
        out.append((first, x.grad))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-12)
    assert_same_grad(out[0][1], out[1][1])
    del torch


def test_backward_on_an_intermediate_then_on_the_loss():
    torch = _torch()
    out = []
    for lib in ("ad", "torch"):
        x = ad_leaf(A) if lib == "ad" else torch_leaf(A)
        h = (x * x).sin()
        h2 = h.exp()
        loss = (h2 * h).sum()
        h2.sum().backward(retain_graph=True)
        after_first = as_np(x.grad).copy()
        loss.backward()
        out.append((after_first, as_np(x.grad)))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-12)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-12)
    del torch


def test_roots_that_consume_each_other():
    torch = _torch()
    out = []
    for lib in ("ad", "torch"):
        x = ad_leaf(A) if lib == "ad" else torch_leaf(A)
        a = x.sin()
        b = a * 2.0 + a.exp()
        c = (b * a).sum()
        dead = a * 7.0                          # noqa: F841
        ga = np.full((2, 3), 0.5)
        gb = np.arange(6.0).reshape(2, 3)
        if lib == "ad":
            ad.backward([c, a, b, a], [None, ad.tensor(ga), ad.tensor(gb), ad.tensor(ga)])
        else:
            torch.autograd.backward([c, a, b, a], [None, torch.tensor(ga), torch.tensor(gb), torch.tensor(ga)])
        out.append(x.grad)
    assert_same_grad(out[0], out[1])


def test_a_leaf_root_and_a_graph_root_together():
    torch = _torch()
    out = []
    for lib in ("ad", "torch"):
        x = ad_leaf(A) if lib == "ad" else torch_leaf(A)
        loss = (x * x.exp()).sum()
        g = np.full((2, 3), 2.0)
        if lib == "ad":
            ad.backward([x, loss], [ad.tensor(g), None])
        else:
            torch.autograd.backward([x, loss], [torch.tensor(g), None])
        out.append(x.grad)
    assert_same_grad(out[0], out[1])


# ---- hooks and retain_grad -----------------------------------------------------------------------

def _hook_run(lib):
    torch = _torch()
    x = ad_leaf(A) if lib == "ad" else torch_leaf(A)
    log = []
    y = x * 2.0
    y.register_hook(lambda g: log.append(("y1", as_np(g).copy())))
    y.register_hook(lambda g: g * 10.0)
    y.register_hook(lambda g: (log.append(("y3", as_np(g).copy())), g + 1.0)[1])
    y.retain_grad()
    z = y.sin()
    z.register_hook(lambda g: log.append(("z", as_np(g).copy())))
    x.register_hook(lambda g: log.append(("x", as_np(g).copy())))
    dead = y * 3.0                              # noqa: F841
    loss = (z * y).sum() + (y * y).sum()
    loss.backward()
    del torch
    return log, x.grad, y.grad


def test_hooks_on_intermediates_order_values_and_replacement():
    ours, theirs = _hook_run("ad"), _hook_run("torch")
    assert [name for name, _ in ours[0]] == [name for name, _ in theirs[0]]
    for (name, a), (_, b) in zip(ours[0], theirs[0]):
        np.testing.assert_allclose(a, b, rtol=1e-12, err_msg=name)
    assert_same_grad(ours[1], theirs[1], what="x.grad")
    assert_same_grad(ours[2], theirs[2], what="retained y.grad (after the hooks, as PyTorch)")


def test_hook_removed_before_backward_does_not_run():
    x = ad_leaf([1.0, 2.0])
    y = x * 3.0
    handle = y.register_hook(lambda g: g * 100.0)
    handle.remove()
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.data, 18.0 * np.array([1.0, 2.0]))


def test_leaf_hook_runs_once_with_the_summed_gradient():
    # PyTorch runs a leaf's hooks once, on the gradient summed over all its uses
    torch = _torch()
    out = []
    for lib in ("ad", "torch"):
        x = ad_leaf([1.0, 2.0]) if lib == "ad" else torch_leaf([1.0, 2.0])
        calls = []
        x.register_hook(lambda g: (calls.append(as_np(g).copy()), g * g)[1])
        ((x * 2.0).sum() + (x * 3.0).sum()).backward()
        out.append((calls, x.grad))
    assert len(out[0][0]) == len(out[1][0]) == 1
    np.testing.assert_allclose(out[0][0][0], out[1][0][0])
    assert_same_grad(out[0][1], out[1][1])
    del torch


def test_leaf_hook_returning_a_held_tensor_does_not_let_accumulation_write_into_it():
    x = ad_leaf([1.0, 1.0])
    buffer = ad.tensor(np.array([1.0, 1.0]))
    x.register_hook(lambda g: buffer)
    (x * 2.0).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 2.0])
    np.testing.assert_allclose(buffer.data, [1.0, 1.0])      # the user's tensor is left alone


def test_a_gradient_seen_by_a_leaf_hook_is_not_changed_by_the_next_backward():
    x = ad_leaf([1.0, 1.0])
    seen = []
    x.register_hook(lambda g: seen.append(g))
    (x * 2.0).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(seen[0].data, [2.0, 2.0])
    np.testing.assert_allclose(seen[1].data, [3.0, 3.0])
    np.testing.assert_allclose(x.grad.data, [5.0, 5.0])


def test_retain_grad_on_intermediate_used_many_times_with_dead_consumer():
    torch = _torch()
    out = []
    for lib in ("ad", "torch"):
        x = ad_leaf(A) if lib == "ad" else torch_leaf(A)
        h = x.tanh()
        h.retain_grad()
        dead = h.exp()                          # noqa: F841
        loss = (h * h * h).sum() + h.sum() + (h * x).sum()
        loss.backward(retain_graph=True)
        loss.backward()
        out.append((x.grad, h.grad))
    assert_same_grad(out[0][0], out[1][0])
    assert_same_grad(out[0][1], out[1][1])


def test_retained_gradient_of_a_0d_intermediate_used_twice_is_an_array():
    x = ad.tensor(np.float64(1.5), requires_grad=True)
    y = x * 2.0
    y.retain_grad()
    seen = []
    y.register_hook(lambda g: seen.append(type(g.data)))
    (y * y).backward()
    assert y.grad.shape == () and float(y.grad.data) == 6.0
    assert type(y.grad.data) is np.ndarray
    assert seen == [np.ndarray]
    assert type(x.grad.data) is np.ndarray and float(x.grad.data) == 12.0


# ---- in-place ops on non-leaves -----------------------------------------------------------------

@pytest.mark.parametrize("change", [
    lambda y: y.add_(1.0), lambda y: y.__iadd__(1), lambda y: y.sub_(0.5), lambda y: y.mul_(2.0),
    lambda y: y.div_(4.0), lambda y: y.__iadd__(y),
], ids=["add_", "iadd", "sub_", "mul_", "div_", "iadd-self"])
def test_inplace_on_a_consumed_non_leaf(change):
    def build(xs, keep):
        x, w = xs
        y = x * w                        # Mul saves x and w, not y
        z = y + 1.0                      # consumes y before the change (saves nothing)
        keep.append(y.exp())             # a dead consumer of the old y
        change(y)
        return (z * 2.0).sum() + (y * w).sum()
    compare_with_torch(build, A, B)


def test_inplace_mul_after_a_number_product_that_does_not_need_the_value():
    # PyTorch: y * 2.0 saves only the number, so changing y in place afterwards is fine
    def build(xs, keep):
        (x,) = xs
        y = x * 3.0
        z = y * 2.0
        y.mul_(2.0)
        return (z + y).sum()
    compare_with_torch(build, A)


def test_retain_grad_then_inplace_reports_the_gradient_of_the_new_value():
    torch = _torch()
    out = []
    for lib in ("ad", "torch"):
        x = ad_leaf([1.0, 2.0]) if lib == "ad" else torch_leaf([1.0, 2.0])
        y = x * 2.0
        y.retain_grad()
        y.mul_(3.0)
        (y * y).sum().backward()
        out.append((x.grad, y.grad))
    assert_same_grad(out[0][0], out[1][0], what="x.grad")
    assert_same_grad(out[0][1], out[1][1], what="y.grad")
    del torch


def test_setitem_on_a_non_leaf():
    torch = _torch()
    out = []
    for lib in ("ad", "torch"):
        x = ad_leaf([0.5, 1.0, 1.5]) if lib == "ad" else torch_leaf([0.5, 1.0, 1.5])
        w = ad_leaf(2.0) if lib == "ad" else torch_leaf(2.0)
        y = x * 1.0
        k = y.exp()                     # consumed before the change (saves its output, not y)
        y[0] = w * 2.0
        ((y * 3.0).sum() + k.sum()).backward()
        out.append((x.grad, w.grad))
    assert_same_grad(out[0][0], out[1][0])
    assert_same_grad(out[0][1], out[1][1])
    del torch


# ---- views used along with their base -----------------------------------------------------------

def test_views_used_with_the_base():
    def build(xs, keep):
        x, w = xs
        y = (x * w).exp()
        v = y[1]
        t = y.T
        r = y.reshape(3, 2)
        keep.append(y[0])               # a dead view
        keep.append(r.T)
        return (v * y).sum() + (t * t).sum() + (r[0] * 2.0).sum() + (x[0] * x).sum() + x.T.sum()
    compare_with_torch(build, A, B)


# ---- a failed backward changes no .grad -----------------------------------------------------------

_FREED = "second time|retain_graph|freed"


def test_freed_root_reached_again_changes_no_grad():
    x, a = ad_leaf([0.5, 1.0]), ad_leaf([2.0, 3.0])
    f = x.exp()
    f.backward(np.ones(2))
    before = x.grad.data.copy()
    loss = (a * 3.0).sum() + f.sum()
    with pytest.raises(RuntimeError, match=_FREED):
        loss.backward()
    assert a.grad is None
    np.testing.assert_array_equal(x.grad.data, before)


def test_freed_shared_node_reached_from_the_second_loss_changes_no_grad():
    x, a = ad_leaf([0.5, 1.0]), ad_leaf([2.0, 3.0])
    e = x.exp()
    l1 = e.sum()
    l2 = (a * 3.0).sum() + (e * 2.0).sum() + (a * x).sum()
    l1.backward()
    before = x.grad.data.copy()
    with pytest.raises(RuntimeError, match=_FREED):
        l2.backward()
    assert a.grad is None
    np.testing.assert_array_equal(x.grad.data, before)


def test_freed_graph_with_a_leaf_root_changes_no_grad():
    x, w = ad_leaf([0.5, 1.0]), ad_leaf([1.0, 1.0])
    loss = w.exp().sum()
    loss.backward()
    with pytest.raises(RuntimeError, match=_FREED):
        ad.backward([x, loss], [ad.tensor(np.ones(2)), None])
    assert x.grad is None


def _version_error_graph(route):
    a, b = ad_leaf([1.0, 1.0]), ad_leaf([2.0, 2.0])
    y = b * b                       # saves b (b * 3.0 would not: its backward needs only 3.0)
    e = y.exp()
    keep = []
    if route == "fallback":
        keep.append(y * 5.0)        # a consumer outside the backward: the counting walk finishes
    loss = e.sum() + (a * 2.0).sum()
    with ad.no_grad():
        b.add_(1.0)                 # changes a tensor y's node saved
    if route == "roots":
        return a, b, lambda: ad.backward([loss, e], [None, ad.tensor(np.ones(2))]), keep
    return a, b, loss.backward, keep


@pytest.mark.parametrize("route", ["plain", "fallback", "roots"])
def test_version_counter_error_changes_no_grad(route):
    a, b, run, keep = _version_error_graph(route)
    with pytest.raises(RuntimeError, match="in place"):
        run()
    assert a.grad is None, f"a.grad was set by a backward that failed: {a.grad}"
    assert b.grad is None


def test_inplace_change_of_a_saved_output_through_a_view_is_caught():
    torch = _torch()
    for lib in ("ad", "torch"):
        x = ad_leaf([0.5, 1.0]) if lib == "ad" else torch_leaf([0.5, 1.0])
        a = ad_leaf([1.0, 2.0]) if lib == "ad" else torch_leaf([1.0, 2.0])
        y = x.exp()                     # saves its output
        loss = (y * 1.0).sum() + (a * a).sum()
        v = y[0:1]
        with (ad.no_grad() if lib == "ad" else torch.no_grad()):
            v.mul_(2.0)
        with pytest.raises(RuntimeError):
            loss.backward()
        if lib == "ad":
            assert a.grad is None and x.grad is None


# ---- graphs built partly under no_grad -----------------------------------------------------------

def test_graph_built_partly_under_no_grad():
    torch = _torch()
    out = []
    for lib in ("ad", "torch"):
        lib_no_grad = ad.no_grad if lib == "ad" else torch.no_grad
        lib_enable = ad.enable_grad if lib == "ad" else torch.enable_grad
        x = ad_leaf(A) if lib == "ad" else torch_leaf(A)
        h = x.sin()
        with lib_no_grad():
            c = h * 3.0                 # a constant: not a consumer of h's node
            dead = h.exp()              # noqa: F841
            with lib_enable():
                live = h * h            # a real consumer
        loss = (h * c).sum() + live.sum()
        loss.backward()
        out.append(x.grad)
    assert_same_grad(out[0], out[1])


# ---- Python numbers and numpy scalars as operands ------------------------------------------------

_NUMBER_OPS = {
    "2-t": lambda t: 2 - t, "1.0/t": lambda t: 1.0 / t, "t**2": lambda t: t ** 2,
    "t**-1.5": lambda t: t ** -1.5, "3+t": lambda t: 3 + t, "t*2": lambda t: t * 2,
    "2.5*t": lambda t: 2.5 * t, "t/4.0": lambda t: t / 4.0, "t-0.5": lambda t: t - 0.5, "-t": lambda t: -t,
    "chain": lambda t: (2 - t) * (1.0 / t) + t ** 2 - 3,
    "unary-chain": lambda t: ((1.0 - t).exp() * 0.5 + (t * 2).sqrt().log() - (t / 3).tanh()).sigmoid(),
    "true*t": lambda t: t * True, "t+false": lambda t: t + False,
}
_TOL = {np.float16: 2e-2, np.float32: 1e-5, np.float64: 1e-12}


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64], ids=lambda d: d.__name__)
@pytest.mark.parametrize("shape", [(), (3,), (2, 3)], ids=str)
@pytest.mark.parametrize("name", list(_NUMBER_OPS))
def test_number_operands_give_gradients_of_the_tensors_shape_and_dtype(name, shape, dtype):
    torch = _torch()
    op = _NUMBER_OPS[name]
    values = np.random.default_rng(0).uniform(0.5, 1.5, shape).astype(dtype)
    x = ad.tensor(values, requires_grad=True)
    op(x).sum().backward()
    assert x.grad.shape == shape and x.grad.dtype == dtype
    assert type(x.grad.data) is np.ndarray
    t = torch.tensor(values.astype(np.float64), requires_grad=True)
    op(t).sum().backward()
    np.testing.assert_allclose(x.grad.data.astype(np.float64), t.grad.numpy(), rtol=_TOL[dtype],
                               atol=_TOL[dtype])


@pytest.mark.parametrize("tensor_dtype, scalar", [
    (np.float32, np.float64(2.5)), (np.float64, np.float32(2.5)), (np.float16, np.int64(3)),
    (np.float32, np.float16(1.5)), (np.float32, np.bool_(True)), (np.float16, np.float64(0.75)),
], ids=["f32*np.f64", "f64*np.f32", "f16*np.i64", "f32*np.f16", "f32*np.bool", "f16*np.f64"])
@pytest.mark.parametrize("shape", [(), (3,)], ids=str)
def test_numpy_scalar_operands_give_gradients_in_the_tensors_dtype(tensor_dtype, scalar, shape):
    values = np.random.default_rng(1).uniform(0.5, 1.5, shape).astype(tensor_dtype)
    s = float(scalar)
    cases = [
        (lambda t: t * scalar, lambda v: np.full_like(v, s)),
        (lambda t: scalar - t, lambda v: np.full_like(v, -1.0)),
        (lambda t: (t + scalar).exp(), lambda v: np.exp(v + s)),
        (lambda t: scalar / (t + 1.0), lambda v: -s / (v + 1.0) ** 2),
    ]
    for op, closed in cases:
        x = ad.tensor(values, requires_grad=True)
        op(x).sum().backward()
        assert x.grad.dtype == tensor_dtype and x.grad.shape == shape
        expected = closed(values.astype(np.float64))
        np.testing.assert_allclose(x.grad.data.astype(np.float64), expected, rtol=_TOL[tensor_dtype],
                                   atol=_TOL[tensor_dtype])


@pytest.mark.parametrize("grad_dtype", [np.float64, np.float16])
def test_root_gradient_of_another_dtype_still_gives_the_leaf_its_dtype(grad_dtype):
    torch = _torch()
    values = np.array([0.5, 1.0, 1.5], np.float32)
    x = ad.tensor(values, requires_grad=True)
    y = (x * 2.0).exp() * 0.5 - 1
    y.backward(ad.tensor(np.ones(3), dtype=grad_dtype))
    t = torch.tensor(values, requires_grad=True)
    ty = (t * 2.0).exp() * 0.5 - 1
    ty.backward(torch.ones(3, dtype=getattr(torch, np.dtype(grad_dtype).name)))
    assert x.grad.dtype == np.float32
    assert t.grad.dtype == torch.float32
    np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-6)


def test_hook_result_of_a_wider_dtype_does_not_reach_a_float32_leaf():
    x = ad.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    y = x * 3.0
    y.register_hook(lambda g: g * np.float64(0.5))
    (y + 1.0).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.data, [1.5, 1.5])


# ---- custom Functions ------------------------------------------------------------------------------

class BroadcastingGrad(ad.Function):
    """y = x * 2 (x of shape (3, 1)); its backward returns a gradient of the broadcast shape
    (2, 3, 4) holding 0.5 * grad: the engine must sum it back to (3, 1)."""

    @staticmethod
    def forward(ctx, x):
        return x * 2.0

    @staticmethod
    def backward(ctx, grad):
        return np.broadcast_to(grad * 0.25, (2, 3, 4)).copy()


class ScalarGrad(ad.Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.k = k
        return x * k

    @staticmethod
    def backward(ctx, grad):
        return np.float64(float(grad) * ctx.k), None


def test_custom_function_returning_a_broadcast_gradient():
    x = ad_leaf([[1.0], [2.0], [3.0]])
    y = BroadcastingGrad.apply(x)
    dead = y * 1.0                      # noqa: F841
    (y * 3.0).sum().backward()
    # each of the 3 rows gets 2*4 copies of 0.25 * 3
    np.testing.assert_allclose(x.grad.data, np.full((3, 1), 8 * 0.75))
    assert x.grad.shape == (3, 1)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_custom_function_returning_a_numpy_scalar_for_a_0d_input(dtype):
    x = ad.tensor(np.array(1.5, dtype), requires_grad=True)
    y = ScalarGrad.apply(x, 3.0)
    (y * y + y).backward()
    assert x.grad.dtype == dtype and x.grad.shape == ()
    np.testing.assert_allclose(float(x.grad.data), (2 * 4.5 + 1) * 3.0, rtol=1e-3)


def test_custom_function_used_twice_with_a_dead_branch_passes_gradcheck():
    class Cube(ad.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 3 * x * x * grad

    def fn(x, w):
        c = Cube.apply(x * w)
        dead = c * 2.0                  # noqa: F841
        return (c * c.sin() + Cube.apply(c)).sum()

    x = ad_leaf([0.3, -0.6, 0.9])
    w = ad_leaf([1.1, 0.7, -0.4])
    assert ad.gradcheck(fn, (x, w))


# ---- threads ------------------------------------------------------------------------------------

def test_threads_backward_separate_graphs_at_the_same_time():
    errors = []
    barrier = threading.Barrier(8)

    def work(k):
        try:
            barrier.wait()
            for i in range(40):
                values = np.linspace(0.1, 1.0, 5) + k + i * 0.01
                x = ad_leaf(values)
                h = x.sin()
                dead = h * 2.0                  # noqa: F841
                loss = (h * h).sum() + (x * 0.5).sum()
                if k % 2:
                    with ad.no_grad():          # grad mode is per thread
                        (x * 2.0)
                loss.backward()
                expected = 2 * np.sin(values) * np.cos(values) + 0.5
                np.testing.assert_allclose(x.grad.data, expected, rtol=1e-12)
                assert ad.is_grad_enabled()
        except BaseException as error:         # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


# ---- deep chains ----------------------------------------------------------------------------------

@pytest.mark.parametrize("dead", ["none", "bottom", "top"])
def test_deep_chain_of_1e5_nodes(dead):
    n = 100_000
    x = ad_leaf([1.0, 2.0])
    h = x
    keep = []
    for i in range(n):
        h = h * 0.99999 if i % 2 else h + 0.5
        if dead == "bottom" and i == 2 or dead == "top" and i == n - 3:
            keep.append(h * 2.0)
    h.sum().backward(retain_graph=True)
    expected = 0.99999 ** (n // 2)
    np.testing.assert_allclose(x.grad.data, [expected, expected], rtol=1e-9)
    h.sum().backward()
    np.testing.assert_allclose(x.grad.data, [2 * expected, 2 * expected], rtol=1e-9)


# ---- create_graph and ad.grad after / around a plain backward ------------------------------------

def test_create_graph_after_a_plain_backward_with_retain_graph():
    torch = _torch()
    out = []
    for lib in ("ad", "torch"):
        lib_grad = ad.grad if lib == "ad" else torch.autograd.grad
        x = ad_leaf([0.3, 0.8]) if lib == "ad" else torch_leaf([0.3, 0.8])
        y = x.exp() * x
        dead = y * 2.0                          # noqa: F841
        loss = (y * y).sum()
        loss.backward(retain_graph=True)
        first = as_np(x.grad).copy()
        (gx,) = lib_grad(loss, x, create_graph=True)
        loss.backward(retain_graph=True)        # plain again: the create_graph walk added consumers
        gx.sum().backward()
        out.append((first, as_np(x.grad)))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-12)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-12)


def test_backward_create_graph_then_plain_backward_of_the_gradient():
    torch = _torch()
    out = []
    for lib in ("ad", "torch"):
        x = ad_leaf([0.3, 0.8]) if lib == "ad" else torch_leaf([0.3, 0.8])
        loss = (x.sin() * x * x).sum()
        loss.backward(retain_graph=True)
        loss.backward(create_graph=True)
        g = x.grad
        x.grad = None
        (g * g).sum().backward()
        out.append(as_np(x.grad))
    np.testing.assert_allclose(out[0], out[1], rtol=1e-12)


def test_ad_grad_on_an_intermediate_with_a_dead_sibling():
    torch = _torch()
    out = []
    for lib in ("ad", "torch"):
        lib_grad = ad.grad if lib == "ad" else torch.autograd.grad
        x = ad_leaf(A) if lib == "ad" else torch_leaf(A)
        h = x.exp()
        dead = h * 2.0                          # noqa: F841
        sibling = x.sin()
        dead2 = sibling.exp()                   # noqa: F841
        loss = (h * h).sum() + (h * sibling).sum()
        gh, gx = lib_grad(loss, [h, x], retain_graph=True)
        loss.backward()
        out.append((as_np(gh), as_np(gx), as_np(x.grad)))
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_anomaly_mode_gives_the_same_gradients():
    def build(xs, keep):
        x, w = xs
        h = (x * w).tanh()
        keep.append(h * 3.0)
        return (h * h).sum() + (h * x).sum()
    plain, _ = compare_with_torch(build, A, B)
    xs = [ad_leaf(A), ad_leaf(B)]
    with ad.detect_anomaly():
        build(xs, []).backward()
    for p, a in zip(plain, xs):
        np.testing.assert_allclose(a.grad.data, p.grad.data, rtol=1e-14)


# ---- more: ad.grad's grad_outputs, backward(inputs=), retained grads of a failed backward -------

@pytest.mark.parametrize("form", ["ndarray", "tensor"])
def test_ad_grad_with_float64_grad_outputs_gives_a_float32_gradient(form):
    torch = _torch()
    values = np.array([0.5, 1.0, 1.5], np.float32)
    x = ad.tensor(values, requires_grad=True)
    y = (x * 2.0).exp() - 1.0
    weights = np.array([1.0, 2.0, 3.0])
    (gx,) = ad.grad(y, x, grad_outputs=weights if form == "ndarray" else ad.tensor(weights))
    t = torch.tensor(values, requires_grad=True)
    (gt,) = torch.autograd.grad((t * 2.0).exp() - 1.0, t, grad_outputs=torch.tensor(weights))
    assert gt.dtype == torch.float32
    assert gx.dtype == np.float32
    np.testing.assert_allclose(gx.data, gt.numpy(), rtol=1e-6)


def test_ad_grad_refuses_an_ndarray_grad_outputs_of_the_wrong_shape():
    x = ad_leaf([1.0, 2.0, 3.0])
    y = (x * 2.0).exp()
    with pytest.raises(RuntimeError, match="shape"):
        ad.grad(y, x, grad_outputs=np.ones((2, 3)))


def test_backward_with_inputs_and_dead_branches():
    torch = _torch()
    out = []
    for lib in ("ad", "torch"):
        x = ad_leaf(A) if lib == "ad" else torch_leaf(A)
        w = ad_leaf(B) if lib == "ad" else torch_leaf(B)
        h = (x * w).sin()
        dead = h * 2.0                          # noqa: F841
        loss = (h * h).sum() + (w * 3.0).sum()
        loss.backward(inputs=[x], retain_graph=True)
        loss.backward()
        out.append((x.grad, w.grad))
    assert_same_grad(out[0][0], out[1][0])
    assert_same_grad(out[0][1], out[1][1])
    del torch


def test_failed_backward_leaves_a_retained_intermediate_grad_unchanged():
    x, w = ad_leaf([0.5, 1.0]), ad_leaf([2.0, 3.0])
    f = x.exp()
    f.backward(np.ones(2))                  # frees f's node
    h = w * 2.0
    h.retain_grad()
    loss = f.sum() + h.sin().sum()
    with pytest.raises(RuntimeError, match=_FREED):
        loss.backward()
    assert w.grad is None
    assert h.grad is None, f"h.grad was set by a backward that failed: {h.grad}"


@pytest.mark.parametrize("seed", range(30))
def test_the_fast_walks_give_the_reference_walks_gradients(seed):
    # engine.reference_backward is the textbook walk (topological order, then the chain rule);
    # the plain walk, its runs and the counting walk must give the same gradients, to the bit
    # wherever the order of additions is the same
    from autodiff.engine import reference_backward
    program = _program(seed + 500)
    _, _, used, weights, _ = program
    results = []
    for walk in ("reference", "plain", "counting"):
        leaves = [ad_leaf(A), ad_leaf(B)]
        nodes = _execute(program[:4] + ([],), leaves, [])
        loss = 0.0
        for i, w in zip(used, weights):
            loss = loss + (nodes[i] * float(w)).sum()
        if walk == "reference":
            grads = reference_backward(loss)
            results.append([grads.get(leaf) for leaf in leaves])
            assert leaves[0].grad is None and not loss.grad_fn.freed      # it changes nothing
        elif walk == "plain":
            loss.backward()
            results.append([None if leaf.grad is None else leaf.grad.data for leaf in leaves])
        else:
            results.append([None if g is None else g.data
                            for g in ad.grad(loss, leaves, allow_unused=True)])
    for k, (reference, plain, counting) in enumerate(zip(*results)):
        if reference is None:
            assert plain is None and counting is None
            continue
        np.testing.assert_allclose(plain, reference, rtol=1e-12, atol=1e-14, err_msg=f"leaf {k}")
        np.testing.assert_allclose(counting, reference, rtol=1e-12, atol=1e-14, err_msg=f"leaf {k}")


def test_the_reference_walk_reads_like_the_textbook():
    # the idea comes first in engine.py, in about 15 lines
    import inspect
    from autodiff import engine
    source = inspect.getsource(engine.reference_backward)
    body = [line for line in source.splitlines() if line.strip() and not line.strip().startswith(('"""', "#"))]
    assert len(body) <= 26
    assert engine.__doc__.index("reference_backward") < 600
