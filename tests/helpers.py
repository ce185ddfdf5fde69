"""The one op-testing helper (tinygrad's ``helper_test_op`` in spirit) and its small utilities.

``check_op(op, reference, shapes)`` builds seeded float64 inputs, compares ``op``'s forward with a
numpy ``reference`` written in the test (shape first, then values), backprops the non-trivial
scalar ``((out + 1) ** 2).mean()`` (a backward that ignores its incoming gradient fails), and
compares every input's ``.grad`` with explicit ``rtol``/``atol`` against two references:

* central differences of the *numpy reference* loss (independent of the engine altogether), and
* the project's own float64 ``ad.gradcheck`` of the same scalar.

With ``second_order=True`` it also runs a gradgradcheck: the first gradients taken with
``ad.grad(create_graph=True)``, a weighted scalar of them, and ``ad.gradcheck`` of that function
(only away from kinks, where second derivatives exist).
"""
import numpy as np

import autodiff as ad

SEED = 0
EPS = 1e-6          # central-difference step (float64 only)

# per-input value domains: chosen so that no input sits within reach of a kink or a pole
DOMAINS = {
    "real": lambda rng, shape: rng.uniform(-2.0, 2.0, size=shape),
    "positive": lambda rng, shape: rng.uniform(0.5, 2.0, size=shape),
    "nonzero": lambda rng, shape: rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.3, 2.0, size=shape),
    # clear of the bounds +-0.5 used by the clip tests: |x| in [0, 0.4] or [0.6, 2]
    "clip": lambda rng, shape: rng.choice([-1.0, 1.0], size=shape) * np.where(
        rng.uniform(size=shape) < 0.5, rng.uniform(0.0, 0.4, size=shape), rng.uniform(0.6, 2.0, size=shape)),
}


def make_arrays(shapes, domains="real", seed=SEED):
    """Seeded float64 arrays, one per shape; ``domains`` is one name or one name per shape."""
    rng = np.random.default_rng(seed)
    if isinstance(domains, str):
        domains = [domains] * len(shapes)
    return [np.asarray(DOMAINS[d](rng, tuple(s)), dtype=np.float64) for s, d in zip(shapes, domains)]


def loss_of(out):
    """The non-trivial scalar every op test backprops: d loss / d out = 2 (out + 1) / out.size."""
    return ((out + 1) ** 2).mean()


def reference_loss(values):
    values = np.asarray(values, dtype=np.float64)
    return np.mean((values + 1.0) ** 2)


def numerical_gradient(f, arrays, index, eps=EPS):
    """Central differences of the numpy function ``f(*arrays)`` with respect to ``arrays[index]``."""
    arrays = [a.copy() for a in arrays]
    target = arrays[index]
    grad = np.zeros(target.shape)
    flat, grad_flat = target.reshape(-1), grad.reshape(-1)
    for e in range(flat.size):
        original = flat[e]
        flat[e] = original + eps
        plus = f(*arrays)
        flat[e] = original - eps
        minus = f(*arrays)
        flat[e] = original
        grad_flat[e] = (plus - minus) / (2 * eps)
    return grad


def check_op(op, reference, shapes, domains="real", seed=SEED, rtol=1e-5, atol=1e-7,
             forward_rtol=1e-10, forward_atol=1e-12, arrays=None, second_order=False):
    """Test ``op(*tensors)`` against ``reference(*arrays)``: forward shape and values, then every
    input's gradient of ``((out + 1) ** 2).mean()``; with ``second_order`` also the gradients of
    those gradients. Returns ``(out, grads)``."""
    if arrays is None:
        arrays = make_arrays(shapes, domains, seed)
    originals = [a.copy() for a in arrays]
    tensors = [ad.tensor(a, requires_grad=True) for a in arrays]

    out = op(*tensors)
    expected = np.asarray(reference(*originals), dtype=np.float64)
    assert isinstance(out, ad.Tensor), f"op returned {type(out).__name__}, not a Tensor"
    assert out.shape == expected.shape, f"forward shape {out.shape}, expected {expected.shape}"
    assert out.dtype == np.float64, f"forward dtype {out.dtype} for float64 inputs"
    np.testing.assert_allclose(out.data, expected, rtol=forward_rtol, atol=forward_atol,
                               err_msg="forward values differ from the numpy reference")
    assert out.requires_grad and out.grad_fn is not None, "output of an op on grad inputs is off the graph"

    loss = loss_of(out)
    loss.backward()
    grads = []
    for i, (t, a) in enumerate(zip(tensors, originals)):
        np.testing.assert_array_equal(t.data, a, err_msg=f"op or backward modified input {i}")
        assert t.grad is not None, f"input {i} got no gradient"
        assert t.grad.shape == t.shape, f"input {i}: gradient shape {t.grad.shape} != input shape {t.shape}"
        assert t.grad.dtype == np.float64, f"input {i}: gradient dtype {t.grad.dtype}"
        numeric = numerical_gradient(lambda *xs: reference_loss(reference(*xs)), originals, i)
        np.testing.assert_allclose(t.grad.data, numeric, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i} differs from central differences "
                                           "of the numpy reference")
        grads.append(t.grad.data.copy())

    fresh = [ad.tensor(a, requires_grad=True) for a in originals]
    assert ad.gradcheck(lambda *ts: loss_of(op(*ts)), fresh, eps=EPS, atol=atol, rtol=rtol)
    if second_order:
        _gradgradcheck(op, originals, seed)
    return out, grads


def _gradgradcheck(op, arrays, seed, rtol=1e-3, atol=1e-5):
    tensors = [ad.tensor(a, requires_grad=True) for a in arrays]
    weights = [np.random.default_rng(seed + 1 + i).uniform(0.5, 1.5, size=a.shape)
               for i, a in enumerate(arrays)]

    def first_gradients_scalar(*ts):
        # gradcheck evaluates its function under no_grad for the numerical part: re-enable it
        with ad.enable_grad():
            grads = ad.grad(loss_of(op(*ts)), ts, create_graph=True)
            for g in grads:
                assert g.requires_grad, "create_graph=True returned a gradient that is off the graph"
            total = None
            for g, w in zip(grads, weights):
                term = (g * w).sum() + (g * g).sum()
                total = term if total is None else total + term
            return total

    assert ad.gradcheck(first_gradients_scalar, tensors, eps=EPS, atol=atol, rtol=rtol)


def reduce_to(full, shape):
    """Sum a gradient of the broadcast shape back to ``shape`` by scattering every element onto
    the input element it was broadcast from (np.bincount: independent of the engine's method)."""
    full = np.asarray(full, dtype=np.float64)
    size = int(np.prod(shape))
    if size == 0 or full.size == 0:
        return np.zeros(shape)
    index = np.broadcast_to(np.arange(size).reshape(shape), full.shape)
    return np.bincount(index.reshape(-1), weights=full.reshape(-1), minlength=size).reshape(shape)


# ---- the random leaves of the engine's gradcheck tests ---------------------------------------------
LEAF_RNG = np.random.default_rng(1234)


def leaf(*shape, low=None):
    """A float64 leaf that requires grad, of standard normal values (|values| + low if ``low``)."""
    data = LEAF_RNG.standard_normal(shape)
    if low is not None:
        data = np.abs(data) + low
    return ad.tensor(data, requires_grad=True)


def check_both_orders(fn, *inputs):
    """gradcheck and gradgradcheck in float64."""
    assert ad.gradcheck(fn, inputs)
    assert ad.gradgradcheck(fn, inputs)
