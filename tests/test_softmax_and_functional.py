"""The softmax family (values, gradients, huge logits) and the functional tools (jacobian,
hessian, hvp, jvp, vjp) against closed forms."""
import numpy as np
import pytest

import autodiff as ad
from autodiff import functional as F

from helpers import LEAF_RNG as RNG, check_both_orders, leaf


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


