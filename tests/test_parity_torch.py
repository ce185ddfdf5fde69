"""Optional second reference: PyTorch, in float64, for every op (forward and gradients of a
non-trivial scalar), PyTorch's choices at kinks and ties, a small composite model, and its
second-order gradients. Skipped when torch is not installed."""
import numpy as np
import pytest

import autodiff as ad
from helpers import loss_of, make_arrays

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-9, 1e-12


def _torch_dims(axis):
    if axis is None:
        return None
    return axis if isinstance(axis, tuple) else (axis,)


def _torch_reduce(fn):
    """Adapt a torch reduction (dim, keepdim) to this project's (axis, keepdims), None = all."""
    def reduce(t, axis=None, keepdims=False, **kwargs):
        dims = _torch_dims(axis)
        if dims is None:
            dims = tuple(range(t.ndim))
        return fn(t, dims, keepdims, **kwargs)
    return reduce


def _torch_prod(t, dims, keepdim):
    # torch.prod takes one dim at a time: reduce from the last so the others keep their index
    if t.ndim == 0:
        return t
    for d in sorted((d % t.ndim for d in dims), reverse=True):
        t = t.prod(dim=d, keepdim=keepdim)
    return t


torch_sum = _torch_reduce(lambda t, d, k: t.sum(dim=d, keepdim=k) if t.ndim else t)
torch_mean = _torch_reduce(lambda t, d, k: t.mean(dim=d, keepdim=k) if t.ndim else t)
torch_amax = _torch_reduce(lambda t, d, k: t.amax(dim=d, keepdim=k) if t.ndim else t)
torch_amin = _torch_reduce(lambda t, d, k: t.amin(dim=d, keepdim=k) if t.ndim else t)
torch_var = _torch_reduce(lambda t, d, k, ddof=1: t.var(dim=d, correction=ddof, keepdim=k))
torch_std = _torch_reduce(lambda t, d, k, ddof=1: t.std(dim=d, correction=ddof, keepdim=k))
torch_prod = _torch_reduce(_torch_prod)

BINARY_SHAPES = [((2, 3), (3,)), ((4, 2, 3), (2, 1)), ((), (2, 3)), ((1, 3), (2, 1))]
UNARY_SHAPES = [(), (2, 3), (4, 2, 3)]

CASES = []      # (id, engine fn, torch fn, shapes, domains)

for name, ours, theirs, domains in [
    ("add", lambda a, b: a + b, lambda a, b: a + b, "real"),
    ("sub", lambda a, b: a - b, lambda a, b: a - b, "real"),
    ("mul", lambda a, b: a * b, lambda a, b: a * b, "real"),
    ("div", lambda a, b: a / b, lambda a, b: a / b, ("real", "nonzero")),
    ("pow", lambda a, b: a ** b, lambda a, b: a ** b, ("positive", "real")),
    ("maximum", ad.maximum, torch.maximum, "real"),
    ("minimum", ad.minimum, torch.minimum, "real"),
    ("where", lambda a, b: ad.where(a.detach() > 0, a, b), lambda a, b: torch.where(a.detach() > 0, a, b), "nonzero"),
]:
    for shapes in BINARY_SHAPES:
        CASES.append((f"{name}-{shapes}", ours, theirs, shapes, domains))

for name, ours, theirs, domain in [
    ("neg", lambda t: -t, lambda t: -t, "real"),
    ("exp", ad.exp, torch.exp, "real"),
    ("log", ad.log, torch.log, "positive"),
    ("sqrt", ad.sqrt, torch.sqrt, "positive"),
    ("tanh", ad.tanh, torch.tanh, "real"),
    ("sigmoid", ad.sigmoid, torch.sigmoid, "real"),
    ("relu", ad.relu, torch.relu, "nonzero"),
    ("abs", ad.abs, torch.abs, "nonzero"),
    ("sin", ad.sin, torch.sin, "real"),
    ("cos", ad.cos, torch.cos, "real"),
    ("pow3", lambda t: t ** 3, lambda t: t ** 3, "real"),
    ("pow_neg_half", lambda t: t ** -0.5, lambda t: t ** -0.5, "positive"),
    ("rpow", lambda t: 1.7 ** t, lambda t: 1.7 ** t, "real"),
    ("rdiv", lambda t: 2.0 / t, lambda t: 2.0 / t, "nonzero"),
    ("clip", lambda t: ad.clip(t, -0.5, 0.5), lambda t: t.clamp(-0.5, 0.5), "clip"),
    ("sum", lambda t: t.sum(), torch_sum, "real"),
    ("mean", lambda t: t.mean(), torch_mean, "real"),
    ("max", lambda t: t.max(), torch_amax, "real"),
    ("min", lambda t: t.min(), torch_amin, "real"),
    ("prod", lambda t: t.prod(), torch_prod, "nonzero"),
]:
    for shape in UNARY_SHAPES:
        CASES.append((f"{name}-{shape}", ours, theirs, (shape,), domain))

for shape in [(2, 3), (4, 2, 3)]:
    for axis in [0, -1, (0, -1)]:
        for keepdims in (False, True):
            tag = f"{shape}-axis={axis}-keepdims={keepdims}"
            for name, ours, theirs, extra in [
                ("sum", lambda t, a, k: t.sum(axis=a, keepdims=k), torch_sum, {}),
                ("mean", lambda t, a, k: t.mean(axis=a, keepdims=k), torch_mean, {}),
                ("amax", lambda t, a, k: t.amax(axis=a, keepdims=k), torch_amax, {}),
                ("amin", lambda t, a, k: t.amin(dim=a, keepdim=k), torch_amin, {}),
                ("prod", lambda t, a, k: t.prod(axis=a, keepdims=k), torch_prod, {}),
                ("var", lambda t, a, k: t.var(axis=a, keepdims=k), torch_var, {}),
                ("var_biased", lambda t, a, k: t.var(a, unbiased=False, keepdim=k), torch_var, {"ddof": 0}),
                ("std", lambda t, a, k: t.std(dim=a, keepdim=k), torch_std, {}),
                ("std_correction0", lambda t, a, k: t.std(axis=a, correction=0, keepdims=k), torch_std, {"ddof": 0}),
            ] + ([
                ("max_dim", lambda t, a, k: t.max(a, keepdim=k).values,
                 lambda t, a, k: t.max(a, keepdim=k).values, {}),
                ("min_dim", lambda t, a, k: t.min(dim=a, keepdim=k)[0], lambda t, a, k: t.min(dim=a, keepdim=k)[0], {}),
            ] if isinstance(axis, int) else []):
                CASES.append((f"{name}-{tag}",
                              (lambda o, a, k: lambda t: o(t, a, k))(ours, axis, keepdims),
                              (lambda f, a, k, e: lambda t: f(t, a, k, **e))(theirs, axis, keepdims, extra),
                              (shape,), "nonzero" if name == "prod" else "real"))

for sa, sb in [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((4, 2, 3), (3, 5)),
               ((1, 2, 3), (4, 3, 2)), ((3,), (4, 3, 2))]:
    CASES.append((f"matmul-{sa}-{sb}", lambda a, b: a @ b, lambda a, b: a @ b, (sa, sb), "real"))

for name, shape, ours, theirs in [
    ("reshape", (2, 3), lambda t: t.reshape(3, 2), lambda t: t.reshape(3, 2)),
    ("permute", (4, 2, 3), lambda t: t.permute(1, 2, 0), lambda t: t.permute(1, 2, 0)),
    ("transpose", (4, 2, 3), lambda t: t.transpose(0, -1), lambda t: t.transpose(0, -1)),
    ("swapaxes", (4, 2, 3), lambda t: t.swapaxes(0, -1), lambda t: t.transpose(0, -1)),
    ("T", (2, 3), lambda t: t.T, lambda t: t.T),
    ("squeeze", (2, 1, 3), lambda t: t.squeeze(1), lambda t: t.squeeze(1)),
    ("unsqueeze", (2, 3), lambda t: t.unsqueeze(-1), lambda t: t.unsqueeze(-1)),
    ("broadcast_to", (1, 3), lambda t: t.broadcast_to((4, 2, 3)), lambda t: t.expand(4, 2, 3)),
    ("flatten", (4, 2, 3), lambda t: t.flatten(1), lambda t: t.flatten(1)),
]:
    CASES.append((f"{name}-{shape}", ours, theirs, (shape,), "real"))


@pytest.mark.parametrize("name,ours,theirs,shapes,domains", CASES, ids=[c[0] for c in CASES])
def test_forward_and_gradients_match_torch(name, ours, theirs, shapes, domains):
    arrays = make_arrays(shapes, domains)
    mine = [ad.tensor(a, requires_grad=True) for a in arrays]
    reference = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out, expected = ours(*mine), theirs(*reference)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=RTOL, atol=ATOL)
    loss_of(out).backward()
    ((expected + 1) ** 2).mean().backward()
    for t, r in zip(mine, reference):
        assert t.grad.shape == tuple(r.grad.shape)
        np.testing.assert_allclose(t.grad.data, r.grad.numpy(), rtol=RTOL, atol=ATOL)


# ---- kinks and ties: PyTorch's choices -------------------------------------------------------

KINKS = [
    ("relu_at_0", ad.relu, torch.relu, [[-1.0, 0.0, 1.0]]),
    ("abs_at_0", ad.abs, torch.abs, [[-1.0, 0.0, 1.0]]),
    ("clip_at_bounds", lambda t: ad.clip(t, -0.5, 0.5), lambda t: t.clamp(-0.5, 0.5), [[-1.0, -0.5, 0.0, 0.5, 1.0]]),
    ("clip_min_only", lambda t: t.clip(min=0.0), lambda t: t.clamp(min=0.0), [[-1.0, 0.0, 1.0]]),
    ("maximum_tie", ad.maximum, torch.maximum, [[1.0, 2.0, 3.0], [1.0, 0.0, 3.0]]),
    ("minimum_tie", ad.minimum, torch.minimum, [[1.0, 2.0, 3.0], [1.0, 0.0, 3.0]]),
    ("max_all_ties", lambda t: t.max(), lambda t: t.amax(), [[[1.0, 3.0, 3.0], [3.0, 0.0, 2.0]]]),
    ("min_all_ties", lambda t: t.min(), lambda t: t.amin(), [[[1.0, 0.0, 0.0], [3.0, 0.0, 2.0]]]),
    ("amax_axis_ties", lambda t: t.amax(axis=1), lambda t: t.amax(dim=1), [[[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]]),
    ("amin_axis0_ties", lambda t: t.amin(axis=0, keepdims=True), lambda t: t.amin(dim=0, keepdim=True),
     [[[1.0, 3.0, 3.0], [1.0, 2.0, 3.0]]]),
    # max/min along a dim: the gradient goes to the index returned (the first at ties)
    ("max_dim_ties", lambda t: t.max(1).values, lambda t: t.max(1).values, [[[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]]),
    ("min_dim0_ties", lambda t: t.min(0, keepdim=True)[0], lambda t: t.min(0, keepdim=True)[0],
     [[[1.0, 3.0, 3.0], [1.0, 2.0, 3.0]]]),
    ("pow_zero", lambda t: t ** 0, lambda t: t ** 0, [[-1.0, 0.0, 2.0]]),
    ("zero_pow_y", lambda b, y: b ** y, lambda b, y: b ** y, [[0.0, 0.0, 0.0, 0.0], [0.0, 0.5, 1.0, 2.0]]),
    ("x_pow_zero_tensor", lambda x, y: x ** y, lambda x, y: x ** y, [[0.0, 2.0], [0.0, 0.0]]),
    ("sqrt_at_0", ad.sqrt, torch.sqrt, [[0.0, 1.0]]),
]


@pytest.mark.parametrize("name,ours,theirs,values", KINKS, ids=[k[0] for k in KINKS])
def test_kinks_and_ties_match_torch(name, ours, theirs, values):
    arrays = [np.array(v, dtype=np.float64) for v in values]
    mine = [ad.tensor(a, requires_grad=True) for a in arrays]
    reference = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = ours(*mine), theirs(*reference)
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    weights = np.arange(1.0, 1.0 + out.size).reshape(out.shape)
    out.backward(gradient=weights)
    expected.backward(gradient=torch.tensor(weights))
    for t, r in zip(mine, reference):
        np.testing.assert_array_equal(t.grad.data, r.grad.numpy())


# ---- a small composite model, first and second order ----------------------------------------

def _model(lib, x, w1, b1, w2, b2, onehot):
    """A two-layer tanh MLP with a log-sum-exp cross-entropy, written once for both libraries."""
    hidden = (x @ w1 + b1).tanh() if lib is ad else torch.tanh(x @ w1 + b1)
    logits = hidden @ w2 + b2
    if lib is ad:
        top = logits.amax(axis=1, keepdims=True)
        lse = ((logits - top).exp().sum(axis=1, keepdims=True)).log() + top
        penalty = (w1 * w1).mean() + ad.relu(w2).sum() * 0.01 + ad.sigmoid(b1).var(correction=0)
    else:
        top = logits.amax(dim=1, keepdim=True)
        lse = torch.log(torch.exp(logits - top).sum(dim=1, keepdim=True)) + top
        penalty = (w1 * w1).mean() + torch.relu(w2).sum() * 0.01 + torch.sigmoid(b1).var(correction=0)
    return ((lse - logits) * onehot).sum(axis=1 if lib is ad else 1).mean() + penalty


def _model_inputs():
    rng = np.random.default_rng(3)
    arrays = [rng.normal(size=(5, 4)), rng.normal(size=(4, 6)) * 0.5, rng.normal(size=(6,)) * 0.1,
              rng.normal(size=(6, 3)) * 0.5, rng.normal(size=(3,)) * 0.1]
    onehot = np.eye(3)[rng.integers(0, 3, size=5)]
    return arrays, onehot


def test_composite_model_matches_torch():
    arrays, onehot = _model_inputs()
    mine = [ad.tensor(a, requires_grad=True) for a in arrays]
    reference = [torch.tensor(a, requires_grad=True) for a in arrays]
    loss = _model(ad, *mine, ad.tensor(onehot))
    expected = _model(torch, *reference, torch.tensor(onehot))
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=RTOL, atol=ATOL)
    loss.backward()
    expected.backward()
    for t, r in zip(mine, reference):
        np.testing.assert_allclose(t.grad.data, r.grad.numpy(), rtol=RTOL, atol=ATOL)


def test_composite_model_second_order_matches_torch():
    arrays, onehot = _model_inputs()
    mine = [ad.tensor(a, requires_grad=True) for a in arrays]
    reference = [torch.tensor(a, requires_grad=True) for a in arrays]
    grads = ad.grad(_model(ad, *mine, ad.tensor(onehot)), mine, create_graph=True)
    grads_ref = torch.autograd.grad(_model(torch, *reference, torch.tensor(onehot)), reference, create_graph=True)
    norm = sum(((g * g).sum() for g in grads), ad.tensor(np.float64(0.0)))
    norm_ref = sum((g * g).sum() for g in grads_ref)
    np.testing.assert_allclose(norm.item(), norm_ref.item(), rtol=RTOL)
    second = ad.grad(norm, mine)
    second_ref = torch.autograd.grad(norm_ref, reference)
    for s, r in zip(second, second_ref):
        np.testing.assert_allclose(s.data, r.numpy(), rtol=1e-8, atol=1e-11)


SCALAR_SECOND_ORDER = [
    ("exp", lambda t: (t * t).exp(), lambda t: (t * t).exp()),
    ("sqrt", lambda t: (t * t + 1.0).sqrt(), lambda t: (t * t + 1.0).sqrt()),
    ("tanh", lambda t: (t * 2.0).tanh(), lambda t: (t * 2.0).tanh()),
    ("sigmoid", lambda t: (t * 2.0).sigmoid(), lambda t: (t * 2.0).sigmoid()),
    ("rpow", lambda t: 2.0 ** (t * t), lambda t: 2.0 ** (t * t)),
    ("log", lambda t: (t * t).log(), lambda t: (t * t).log()),
    ("sin", lambda t: (t * t).sin(), lambda t: (t * t).sin()),
]


@pytest.mark.parametrize("name,ours,theirs", SCALAR_SECOND_ORDER, ids=[c[0] for c in SCALAR_SECOND_ORDER])
def test_second_order_through_0d_intermediates_matches_torch(name, ours, theirs):
    # a 0-d intermediate through ops that save their own output (exp, sqrt, tanh, sigmoid, pow)
    value = 0.7
    x = ad.tensor(np.float64(value), requires_grad=True)
    xr = torch.tensor(value, dtype=torch.float64, requires_grad=True)
    (d1,) = ad.grad(ours(x), x, create_graph=True)
    (d1r,) = torch.autograd.grad(theirs(xr), xr, create_graph=True)
    np.testing.assert_allclose(d1.item(), d1r.item(), rtol=RTOL)
    (d2,) = ad.grad(d1, x)
    (d2r,) = torch.autograd.grad(d1r, xr)
    np.testing.assert_allclose(d2.item(), d2r.item(), rtol=RTOL)
