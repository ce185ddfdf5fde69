"""Indexing, joining, the softmax family and the functional tools against PyTorch (float64)."""
import numpy as np
import pytest

import autodiff as ad
from autodiff import functional as F

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(7)

CASES = [
    ("getitem_int_slice", lambda m, t: t[1, ::2] * 2),
    ("getitem_fancy_repeated", lambda m, t: t[[0, 2, 2, 0]] ** 2),
    ("getitem_mask", lambda m, t: (t[t.detach() > 0] if m is torch else t[t.data > 0]) * 3),
    ("getitem_newaxis", lambda m, t: t[None, :, 1:3].sum()),
    ("concatenate", lambda m, t: (m.cat if m is torch else m.concatenate)([t, t * t], 1)),
    ("stack", lambda m, t: m.stack([t, t.exp()], 0)),
    ("where", lambda m, t: m.where(t > 0, t * t, -t)),
    ("softmax", lambda m, t: m.softmax(t, 1) if m is torch else ad.softmax(t, axis=1)),
    ("log_softmax", lambda m, t: m.log_softmax(t, 0) if m is torch else ad.log_softmax(t, axis=0)),
    ("logsumexp", lambda m, t: m.logsumexp(t, 1) if m is torch else ad.logsumexp(t, axis=1)),
    ("tile", lambda m, t: t.repeat(2, 1) if m is torch else t.tile((2, 1))),
    ("pad", lambda m, t: torch.nn.functional.pad(t, (1, 2)) if m is torch else ad.pad(t, ((0, 0), (1, 2)))),
]


@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_forward_first_and_second_order_match_torch(name, fn):
    data = RNG.standard_normal((3, 4))
    weights = RNG.standard_normal(fn(np, ad.tensor(data)).shape) if name != "getitem_mask" else None
    ours = ad.tensor(data, requires_grad=True)
    theirs = torch.tensor(data, requires_grad=True)
    out_ours, out_theirs = fn(ad, ours), fn(torch, theirs)
    np.testing.assert_allclose(out_ours.data, out_theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
    w = np.ones(out_ours.shape) if weights is None else weights
    (g_ours,) = ad.grad(out_ours, ours, w, create_graph=True)
    (g_theirs,) = torch.autograd.grad(out_theirs, theirs, torch.tensor(w), create_graph=True)
    np.testing.assert_allclose(g_ours.data, g_theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    if g_theirs.requires_grad:
        (gg_ours,) = ad.grad((g_ours ** 2).sum(), ours, allow_unused=True)
        (gg_theirs,) = torch.autograd.grad((g_theirs ** 2).sum(), theirs, allow_unused=True)
        expected = np.zeros_like(data) if gg_theirs is None else gg_theirs.numpy()
        got = np.zeros_like(data) if gg_ours is None else gg_ours.data
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_functional_tools_match_torch():
    A = RNG.standard_normal((3, 3))
    x = RNG.standard_normal(3)
    v = RNG.standard_normal(3)

    def f_ours(t):
        return ((ad.tensor(A) @ t).tanh() ** 2).sum()

    def f_theirs(t):
        return ((torch.tensor(A) @ t).tanh() ** 2).sum()

    tx = torch.tensor(x)
    np.testing.assert_allclose(F.hessian(f_ours, ad.tensor(x)).data,
                               torch.autograd.functional.hessian(f_theirs, tx).numpy(), rtol=1e-10)
    np.testing.assert_allclose(F.hvp(f_ours, ad.tensor(x), ad.tensor(v))[1].data,
                               torch.autograd.functional.hvp(f_theirs, tx, torch.tensor(v))[1].numpy(), rtol=1e-10)

    def g_ours(t):
        return (ad.tensor(A) @ t).sin()

    def g_theirs(t):
        return (torch.tensor(A) @ t).sin()

    np.testing.assert_allclose(F.jacobian(g_ours, ad.tensor(x)).data,
                               torch.autograd.functional.jacobian(g_theirs, tx).numpy(), rtol=1e-12)
    np.testing.assert_allclose(F.jvp(g_ours, ad.tensor(x), ad.tensor(v))[1].data,
                               torch.autograd.functional.jvp(g_theirs, tx, torch.tensor(v))[1].numpy(), rtol=1e-12)
    np.testing.assert_allclose(F.vjp(g_ours, ad.tensor(x), ad.tensor(v))[1].data,
                               torch.autograd.functional.vjp(g_theirs, tx, torch.tensor(v))[1].numpy(), rtol=1e-12)
