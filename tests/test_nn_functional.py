"""nn.functional: every activation and loss (each option) against a numpy formula written here,
against PyTorch with the same inputs when torch is installed (values and gradients, float64), and
through the project's float64 gradcheck."""
import math

import numpy as np
import pytest

import autodiff as ad
import nn
from nn import functional as F

RTOL, ATOL = 1e-10, 1e-12


def rng(seed=0):
    return np.random.default_rng(seed)


def leaf(array):
    return ad.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def scalar_of(out):
    """A non-trivial scalar, so a backward that ignores its incoming gradient fails."""
    return ((out + 1.0) ** 2).mean() if out.ndim else (out + 1.0) ** 2


def check_forward(ours, reference, *arrays, rtol=RTOL, atol=ATOL):
    out = ours(*[ad.tensor(a) for a in arrays])
    expected = np.asarray(reference(*arrays))
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=rtol, atol=atol)
    return out


def check_torch(ours, theirs, *arrays, rtol=RTOL, atol=ATOL):
    """Compare values and gradients of every float input with PyTorch's, in float64."""
    torch = pytest.importorskip("torch")
    mine = [leaf(a) for a in arrays]
    ref = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    out = ours(*mine)
    expected = theirs(*ref)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=atol)
    scalar_of(out).backward()
    (((expected + 1.0) ** 2).mean()).backward()
    for m, r in zip(mine, ref):
        np.testing.assert_allclose(m.grad.data, r.grad.numpy(), rtol=rtol, atol=atol)


def gradcheck(fn, *arrays):
    assert ad.gradcheck(fn, tuple(leaf(a) for a in arrays))


def gradgradcheck(fn, *arrays):
    """Second order, and the first-order gradient computed on the graph (create_graph=True, the
    Tensor path of a fused backward) equals the ordinary one: gradgradcheck cannot see a constant
    term that only the Tensor path gets wrong."""
    assert ad.gradgradcheck(fn, tuple(leaf(a) for a in arrays))
    plain, on_graph = [leaf(a) for a in arrays], [leaf(a) for a in arrays]
    expected = ad.grad(scalar_of(fn(*plain)), plain)
    got = ad.grad(scalar_of(fn(*on_graph)), on_graph, create_graph=True)
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g.data, e.data, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------------------------
# activations

def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


math_erf = np.vectorize(math.erf)     # the C library's erf: an independent float64 reference


def np_gelu(x):
    return 0.5 * x * (1 + math_erf(x / np.sqrt(2)))


def np_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


ACTIVATIONS = [
    ("relu", F.relu, lambda x: np.maximum(x, 0), "relu"),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x), "leaky_relu"),
    ("tanh", F.tanh, np.tanh, "tanh"),
    ("sigmoid", F.sigmoid, np_sigmoid, "sigmoid"),
    ("gelu", F.gelu, np_gelu, "gelu"),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), np_gelu_tanh, "gelu_tanh"),
    ("softmax", lambda x: F.softmax(x, dim=1), lambda x: np.exp(np_log_softmax(x, 1)), "softmax"),
    ("softmax_axis", lambda x: F.softmax(x, axis=0), lambda x: np.exp(np_log_softmax(x, 0)), "softmax0"),
    ("log_softmax", lambda x: F.log_softmax(x, dim=-1), lambda x: np_log_softmax(x, -1), "log_softmax"),
]


def torch_activation(name):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    return {
        "relu": tf.relu, "leaky_relu": lambda x: tf.leaky_relu(x, 0.2), "tanh": torch.tanh,
        "sigmoid": torch.sigmoid, "gelu": tf.gelu, "gelu_tanh": lambda x: tf.gelu(x, approximate="tanh"),
        "softmax": lambda x: tf.softmax(x, dim=1), "softmax0": lambda x: tf.softmax(x, dim=0),
        "log_softmax": lambda x: tf.log_softmax(x, dim=-1),
    }[name]


@pytest.mark.parametrize("name, ours, reference, torch_name", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_matches_formula_and_gradcheck(name, ours, reference, torch_name):
    x = rng(1).normal(0, 2, (3, 4))
    check_forward(ours, reference, x)
    gradcheck(ours, x)


@pytest.mark.parametrize("name, ours, reference, torch_name", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_matches_torch(name, ours, reference, torch_name):
    x = rng(2).normal(0, 2, (3, 4))
    x[0, 0] = 0.0         # relu / leaky_relu at 0: PyTorch's derivative conventions
    check_torch(ours, torch_activation(torch_name), x)


def test_leaky_relu_derivative_at_zero_is_the_slope():
    x = leaf([0.0, -1.0, 2.0])
    F.leaky_relu(x, 0.1).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.1, 0.1, 1.0])


def test_activation_modules_call_the_functions():
    x = ad.tensor(rng(3).normal(size=(2, 5)))
    pairs = [(nn.ReLU(), F.relu(x)), (nn.LeakyReLU(0.3), F.leaky_relu(x, 0.3)), (nn.Tanh(), F.tanh(x)),
             (nn.Sigmoid(), F.sigmoid(x)), (nn.GELU(), F.gelu(x)), (nn.GELU("tanh"), F.gelu(x, "tanh")),
             (nn.Softmax(dim=0), F.softmax(x, 0)), (nn.Softmax(axis=0), F.softmax(x, 0)),
             (nn.LogSoftmax(dim=1), F.log_softmax(x, 1)), (nn.LogSoftmax(), F.log_softmax(x, -1))]
    for module, expected in pairs:
        np.testing.assert_array_equal(module(x).data, expected.data)
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")
    with pytest.raises(TypeError, match="dim= .* or axis="):
        F.softmax(x, dim=0, axis=1)


def test_gelu_second_order():
    gradgradcheck(F.gelu, rng(4).normal(size=5))


# ---------------------------------------------------------------------------------------------
# erf

def erf_grid():
    positive = np.concatenate([np.geomspace(1e-300, 1e-3, 200), np.linspace(1e-3, 6.5, 4001),
                               [0.46875, 0.46875 + 1e-12, 4.0, 4.0 + 1e-12, 26.5, 27.0, 1e3]])
    return np.concatenate([-positive[::-1], [0.0], positive])


def test_erf_cody_agrees_with_scipy_to_float64_precision():
    special = pytest.importorskip("scipy.special")
    x = erf_grid()
    ours, theirs = F.erf_cody(x), special.erf(x)
    # relative where erf is small (erf(x) ~ 2x/sqrt(pi)), absolute elsewhere
    np.testing.assert_allclose(ours, theirs, rtol=2e-15, atol=2e-16)
    assert F.erf_cody(np.array([np.inf, -np.inf])).tolist() == [1.0, -1.0]
    assert np.isnan(F.erf_cody(np.array([np.nan]))).all()
    assert F.erf_cody(np.array([-0.0]))[0] == 0.0


def test_erf_cody_agrees_with_the_c_library():
    x = erf_grid()
    np.testing.assert_allclose(F.erf_cody(x), math_erf(x), rtol=2e-15, atol=2e-16)


def test_erf_cody_against_known_values():
    # values from Abramowitz & Stegun table 7.1 / mpmath, 16 digits
    known = {0.5: 0.5204998778130465, 1.0: 0.8427007929497149, 2.0: 0.9953222650189527,
             3.0: 0.9999779095030014, 1e-10: 1.1283791670955126e-10}
    for x, value in known.items():
        assert F.erf_cody(np.array([x]))[0] == pytest.approx(value, rel=1e-15)


def test_erf_scipy_and_fallback_paths_agree(monkeypatch):
    pytest.importorskip("scipy")
    x = erf_grid()
    from autodiff import special
    with_scipy = F.erf(ad.tensor(x)).data
    complement_with_scipy = ad.erfc(ad.tensor(x)).data
    monkeypatch.setattr(special, "_scipy", {"erf": False, "erfc": False})
    fallback = F.erf(ad.tensor(x)).data
    np.testing.assert_allclose(fallback, with_scipy, rtol=2e-15, atol=2e-16)
    # erfc without the cancellation of 1 - erf: relative accuracy out to erfc(26) ~ 1e-296
    np.testing.assert_allclose(ad.erfc(ad.tensor(x)).data, complement_with_scipy, rtol=1e-14, atol=0)
    # the fallback keeps float32 inputs float32
    assert F.erf(ad.tensor(np.float32([0.5]))).dtype == np.float32


def test_erf_gradient_and_second_order():
    x = rng(5).normal(0, 1.5, 6)
    gradcheck(F.erf, x)
    gradgradcheck(F.erf, x)
    t = leaf(x)
    F.erf(t).sum().backward()
    np.testing.assert_allclose(t.grad.data, 2 / np.sqrt(np.pi) * np.exp(-x ** 2), rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# linear and dropout

@pytest.mark.parametrize("shape", [(4,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_formula_gradcheck(shape, bias):
    r = rng(6)
    x, w, b = r.normal(size=shape), r.normal(size=(5, 4)), r.normal(size=5)
    args = (x, w, b) if bias else (x, w)
    ours = (lambda x, w, b=None: F.linear(x, w, b))
    check_forward(ours, lambda x, w, b=0.0: x @ w.T + b, *args)
    gradcheck(ours, *args)
    gradgradcheck(ours, *args)


@pytest.mark.parametrize("shape", [(4,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(shape, bias):
    r = rng(6)
    x, w, b = r.normal(size=shape), r.normal(size=(5, 4)), r.normal(size=5)
    args = (x, w, b) if bias else (x, w)
    ours = (lambda x, w, b=None: F.linear(x, w, b))
    torch = pytest.importorskip("torch")
    check_torch(ours, lambda x, w, b=None: torch.nn.functional.linear(x, w, b), *args)


def test_fused_linear_equals_composed_form():
    r = rng(7)
    arrays = r.normal(size=(6, 3)), r.normal(size=(2, 3)), r.normal(size=2)
    fused = [leaf(a) for a in arrays]
    composed = [leaf(a) for a in arrays]
    out_f = F.linear(*fused)
    out_c = composed[0] @ composed[1].T + composed[2]
    np.testing.assert_allclose(out_f.data, out_c.data, rtol=1e-14)
    scalar_of(out_f).backward()
    scalar_of(out_c).backward()
    for a, b in zip(fused, composed):
        np.testing.assert_allclose(a.grad.data, b.grad.data, rtol=1e-13)


def test_linear_shape_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 3\).*\(5, 4\)"):
        F.linear(ad.ones(2, 3), ad.ones(5, 4))
    with pytest.raises(ValueError, match=r"bias of shape \(4,\)"):
        F.linear(ad.ones(2, 4), ad.ones(5, 4), ad.ones(4))


def test_dropout_scales_kept_units_and_is_identity_when_not_training():
    ad.manual_seed(0)
    x = leaf(np.ones((200, 50)))
    out = F.dropout(x, 0.3, training=True)
    kept = out.data != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(out.data[kept], 1 / 0.7)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.data, out.data)        # gradient is the scaled mask
    assert F.dropout(x, 0.3, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert (F.dropout(x, 1.0).data == 0).all()
    with pytest.raises(ValueError, match="probability"):
        F.dropout(x, 1.5)


def test_dropout_mask_comes_from_the_seeded_generator():
    ad.manual_seed(123)
    first = F.dropout(ad.ones(10, 10), 0.5).data
    ad.manual_seed(123)
    second = F.dropout(ad.ones(10, 10), 0.5).data
    np.testing.assert_array_equal(first, second)
    layer = nn.Dropout(0.5)
    assert layer(ad.ones(4)).shape == (4,)
    layer.eval()
    np.testing.assert_array_equal(layer(ad.ones(4)).data, 1.0)
    assert repr(layer) == "Dropout(p=0.5, inplace=False)"


# ---------------------------------------------------------------------------------------------
# regression losses

def np_reduce(loss, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction](loss)


def np_huber(d, delta):
    a = np.abs(d)
    return np.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))


def np_smooth_l1(d, beta):
    a = np.abs(d)
    if beta == 0:
        return a
    return np.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)


REGRESSION = [
    ("mse", {}, F.mse_loss, lambda d, **k: d * d, "mse_loss"),
    ("l1", {}, F.l1_loss, lambda d, **k: np.abs(d), "l1_loss"),
    ("huber", {"delta": 1.0}, F.huber_loss, lambda d, delta: np_huber(d, delta), "huber_loss"),
    ("huber_0.5", {"delta": 0.5}, F.huber_loss, lambda d, delta: np_huber(d, delta), "huber_loss"),
    ("smooth_l1", {"beta": 1.0}, F.smooth_l1_loss, lambda d, beta: np_smooth_l1(d, beta), "smooth_l1_loss"),
    ("smooth_l1_0.3", {"beta": 0.3}, F.smooth_l1_loss, lambda d, beta: np_smooth_l1(d, beta), "smooth_l1_loss"),
    ("smooth_l1_0", {"beta": 0.0}, F.smooth_l1_loss, lambda d, beta: np_smooth_l1(d, beta), "smooth_l1_loss"),
]


def regression_inputs(seed=8):
    r = rng(seed)
    return r.normal(0, 1.5, (4, 3)), r.normal(0, 1.5, (4, 3))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name, options, ours, formula, torch_name", REGRESSION, ids=[c[0] for c in REGRESSION])
def test_regression_loss(name, options, ours, formula, torch_name, reduction):
    x, t = regression_inputs()
    fn = lambda a, b: ours(a, b, reduction=reduction, **options)      # noqa: E731
    check_forward(fn, lambda a, b: np_reduce(formula(a - b, **options), reduction), x, t)
    gradcheck(fn, x, t)          # with respect to both the input and the target


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name, options, ours, formula, torch_name", REGRESSION, ids=[c[0] for c in REGRESSION])
def test_regression_loss_matches_torch(name, options, ours, formula, torch_name, reduction):
    x, t = regression_inputs()
    fn = lambda a, b: ours(a, b, reduction=reduction, **options)      # noqa: E731
    torch = pytest.importorskip("torch")
    check_torch(fn, lambda a, b: getattr(torch.nn.functional, torch_name)(a, b, reduction=reduction, **options),
                x, t)


def test_regression_loss_modules():
    x, t = (ad.tensor(a) for a in regression_inputs(9))
    pairs = [(nn.MSELoss(), F.mse_loss(x, t)), (nn.L1Loss(reduction="sum"), F.l1_loss(x, t, "sum")),
             (nn.HuberLoss(delta=0.5), F.huber_loss(x, t, delta=0.5)),
             (nn.SmoothL1Loss(beta=0.2, reduction="none"), F.smooth_l1_loss(x, t, "none", beta=0.2))]
    for module, expected in pairs:
        np.testing.assert_array_equal(module(x, t).data, expected.data)
    assert repr(nn.MSELoss()) == "MSELoss()"


def test_regression_shape_mismatch_is_an_error_not_a_broadcast():
    with pytest.raises(ValueError, match=r"mse_loss: input of shape \(4, 1\) and target of shape \(4,\)"):
        F.mse_loss(ad.ones(4, 1), np.ones(4))
    with pytest.raises(ValueError, match="reduction must be"):
        F.l1_loss(ad.ones(2), ad.ones(2), reduction="avg")
    with pytest.raises(ValueError, match="reduction must be"):
        nn.MSELoss(reduction="batchmean")


def test_regression_target_array_takes_the_input_dtype():
    x = ad.ones(3, requires_grad=True)           # float32
    loss = F.mse_loss(x, np.zeros(3))            # float64 target
    assert loss.dtype == np.float32


# ---------------------------------------------------------------------------------------------
# nll_loss and cross_entropy with class indices

def np_class_loss(logp, target, weight, ignore_index, reduction, smoothing):
    """PyTorch's documented semantics, one row at a time. logp: (N, C) log-probabilities."""
    n, c = logp.shape
    w = np.ones(c) if weight is None else weight
    losses, denominator = np.zeros(n), 0.0
    for i in range(n):
        if target[i] == ignore_index:
            continue
        nll = -w[target[i]] * logp[i, target[i]]
        smooth = -(w * logp[i]).sum()
        losses[i] = (1 - smoothing) * nll + smoothing / c * smooth
        denominator += w[target[i]]
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    with np.errstate(invalid="ignore"):
        return losses.sum() / np.float64(denominator)        # nan when every target is ignored


CLASS_OPTIONS = [
    dict(),
    dict(weight=np.array([0.2, 1.0, 3.0, 0.5])),
    dict(ignore_index=1),
    dict(weight=np.array([0.2, 1.0, 3.0, 0.5]), ignore_index=2),
    dict(label_smoothing=0.1),
    dict(label_smoothing=0.25, weight=np.array([0.2, 1.0, 3.0, 0.5]), ignore_index=0),
]


def class_case(seed=10, n=6, c=4):
    r = rng(seed)
    logits = r.normal(0, 2, (n, c))
    target = r.integers(0, c, n)
    target[:3] = [0, 1, 2]          # so every ignore_index option ignores something
    return logits, target


def option_id(options):
    return "-".join(f"{k}" for k in options) or "plain"


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", CLASS_OPTIONS, ids=[option_id(o) for o in CLASS_OPTIONS])
def test_cross_entropy_class_indices(options, reduction):
    logits, target = class_case()
    ignore_index = options.get("ignore_index", -100)
    fn = lambda z: F.cross_entropy(z, target, reduction=reduction, **options)     # noqa: E731
    check_forward(fn, lambda z: np_class_loss(np_log_softmax(z, 1), target, options.get("weight"),
                                              ignore_index, reduction, options.get("label_smoothing", 0.0)),
                  logits)
    gradcheck(fn, logits)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", CLASS_OPTIONS, ids=[option_id(o) for o in CLASS_OPTIONS])
def test_cross_entropy_class_indices_match_torch(options, reduction):
    logits, target = class_case()
    fn = lambda z: F.cross_entropy(z, target, reduction=reduction, **options)     # noqa: E731
    torch = pytest.importorskip("torch")
    torch_options = dict(options)
    if "weight" in torch_options:
        torch_options["weight"] = torch.tensor(torch_options["weight"])
    check_torch(fn, lambda z: torch.nn.functional.cross_entropy(
        z, torch.tensor(target), reduction=reduction, **torch_options), logits)


@pytest.mark.parametrize("options", CLASS_OPTIONS[:4], ids=[option_id(o) for o in CLASS_OPTIONS[:4]])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss(options, reduction):
    logits, target = class_case(11)
    logp = np_log_softmax(logits, 1)
    ignore_index = options.get("ignore_index", -100)
    fn = lambda z: F.nll_loss(z, target, reduction=reduction, **options)      # noqa: E731
    check_forward(fn, lambda z: np_class_loss(z, target, options.get("weight"), ignore_index, reduction, 0.0),
                  logp)
    gradcheck(fn, logp)


@pytest.mark.parametrize("options", CLASS_OPTIONS[:4], ids=[option_id(o) for o in CLASS_OPTIONS[:4]])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_matches_torch(options, reduction):
    logits, target = class_case(11)
    logp = np_log_softmax(logits, 1)
    fn = lambda z: F.nll_loss(z, target, reduction=reduction, **options)      # noqa: E731
    torch = pytest.importorskip("torch")
    torch_options = dict(options)
    if "weight" in torch_options:
        torch_options["weight"] = torch.tensor(torch_options["weight"])
    check_torch(fn, lambda z: torch.nn.functional.nll_loss(z, torch.tensor(target), reduction=reduction,
                                                           **torch_options), logp)


def test_fused_cross_entropy_equals_composed_nll_of_log_softmax():
    logits, target = class_case(12)
    weight = np.array([0.5, 2.0, 1.0, 1.5])
    for options in [dict(), dict(weight=weight, ignore_index=1)]:
        a, b = leaf(logits), leaf(logits)
        fused = F.cross_entropy(a, target, **options)
        composed = F.nll_loss(F.log_softmax(b, dim=1), target, **options)
        np.testing.assert_allclose(fused.data, composed.data, rtol=1e-13)
        scalar_of(fused).backward()
        scalar_of(composed).backward()
        np.testing.assert_allclose(a.grad.data, b.grad.data, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("options", [dict(), dict(label_smoothing=0.2, weight=np.array([1.0, 2.0, 0.5]),
                                                  ignore_index=0)])
def test_cross_entropy_second_order(options):
    logits, target = class_case(13, n=3, c=3)
    for reduction in ["mean", "none"]:
        gradgradcheck(lambda z: F.cross_entropy(z, target, reduction=reduction, **options), logits)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_class_losses_with_extra_axes_and_single_samples(reduction):
    r = rng(14)
    logits = r.normal(size=(2, 3, 4))            # (N, C, d1)
    target = r.integers(0, 3, (2, 4))
    target[0, 0] = -100
    moved = np.moveaxis(logits, 1, -1).reshape(-1, 3)
    expected = np_class_loss(np_log_softmax(moved, 1), target.reshape(-1), None, -100, reduction, 0.1)
    out = F.cross_entropy(ad.tensor(logits), target, reduction=reduction, label_smoothing=0.1)
    np.testing.assert_allclose(out.data, expected.reshape(target.shape) if reduction == "none" else expected,
                               rtol=RTOL)
    gradcheck(lambda z: F.cross_entropy(z, target, reduction=reduction), logits)
    single = F.cross_entropy(ad.tensor(logits[0, :, 1]), np.array(target[0, 1]), reduction=reduction)
    assert single.shape == ()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_class_losses_with_extra_axes_match_torch(reduction):
    r = rng(14)
    logits = r.normal(size=(2, 3, 4))            # (N, C, d1)
    target = r.integers(0, 3, (2, 4))
    target[0, 0] = -100
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    check_torch(lambda z: F.cross_entropy(z, target, reduction=reduction, label_smoothing=0.1),
                lambda z: tf.cross_entropy(z, torch.tensor(target), reduction=reduction, label_smoothing=0.1),
                logits)
    check_torch(lambda z: F.nll_loss(z, target, reduction=reduction),
                lambda z: tf.nll_loss(z, torch.tensor(target), reduction=reduction), logits)
    check_torch(lambda z: F.cross_entropy(z, np.array(2), reduction=reduction),
                lambda z: tf.cross_entropy(z, torch.tensor(2), reduction=reduction), logits[0, :, 0])


def test_cross_entropy_accepts_int_tensors_and_lists_and_is_stable():
    logits = ad.tensor([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0]], dtype="float64", requires_grad=True)
    for target in (ad.tensor([0, 2]), [0, 2], np.array([0, 2], dtype=np.int32)):
        loss = F.cross_entropy(logits, target)
        np.testing.assert_allclose(loss.item(), np.log(3) / 2, rtol=1e-14)
    loss.backward()
    assert np.isfinite(logits.grad.data).all()


def test_cross_entropy_plain_path_gives_the_general_paths_bits():
    """(N, C) logits, int labels, mean, nothing else: the lean front end and the plain fused
    forward and backward. A weight of ones takes the general path through the same arithmetic,
    so values and gradients must be identical to the bit."""
    for dtype, (n, c) in [(np.float32, (64, 10)), (np.float64, (5, 3)), (np.float32, (1, 1))]:
        r = rng(21)
        logits = r.normal(0, 3, (n, c)).astype(dtype)
        target = r.integers(0, c, n)
        a, b = ad.tensor(logits, requires_grad=True), ad.tensor(logits, requires_grad=True)
        plain = F.cross_entropy(a, target)
        general = F.cross_entropy(b, target, weight=np.ones(c, dtype))
        assert plain.grad_fn.plain and not general.grad_fn.plain
        assert plain.dtype == general.dtype == dtype and plain.shape == general.shape == ()
        np.testing.assert_array_equal(plain.data, general.data)
        (plain * 3.0).backward()
        (general * 3.0).backward()
        np.testing.assert_array_equal(a.grad.data, b.grad.data)


def test_cross_entropy_plain_path_twice_with_retain_graph_and_second_order():
    logits, target = class_case(22)
    a = leaf(logits)
    loss = F.cross_entropy(a, target, ignore_index=-1)      # an ignore_index no label uses
    assert loss.grad_fn.plain
    loss.backward(retain_graph=True)
    first = a.grad.data.copy()
    loss.backward()                                         # the saved softmax is intact
    np.testing.assert_array_equal(a.grad.data, 2 * first)
    b = leaf(logits)
    (g,) = ad.grad(F.cross_entropy(b, target), b, create_graph=True)
    np.testing.assert_allclose(g.data, first, rtol=1e-13, atol=1e-16)
    gradgradcheck(lambda z: F.cross_entropy(z, target), logits)


def test_cross_entropy_plain_cases_that_take_the_general_path():
    """Labels that are int32, uint64 or a list take the general front end (and the plain fused
    forward), column-major logits the general forward: all with the plain path's values. Then
    ignored labels and bad ones, whose errors come from the general path."""
    logits, target = class_case(23)
    expected = np_class_loss(np_log_softmax(logits, 1), target, None, -100, "mean", 0.0)
    for z, t, plain in [(logits, target, True), (logits, ad.tensor(target), True),
                        (logits, target.astype(np.int32), True), (logits, target.astype(np.uint64), True),
                        (logits, list(target), True), (np.asfortranarray(logits), target, False)]:
        loss = F.cross_entropy(ad.Tensor(z, requires_grad=True), t)     # ad.Tensor keeps the layout
        assert loss.grad_fn.plain == plain
        np.testing.assert_allclose(loss.data, expected, rtol=1e-13)
    ignored = F.cross_entropy(leaf(logits), target, ignore_index=int(target[0]))
    assert not ignored.grad_fn.plain
    np.testing.assert_allclose(ignored.data, np_class_loss(np_log_softmax(logits, 1), target, None,
                                                           int(target[0]), "mean", 0.0), rtol=1e-13)
    with pytest.raises(IndexError, match=r"cross_entropy: target -1 is out of range for 4 classes"):
        F.cross_entropy(leaf(logits), np.array([0, -1, 2, 1, 0, 0]))
    with pytest.raises(IndexError, match=r"cross_entropy: target 4 is out of range for 4 classes"):
        F.cross_entropy(leaf(logits), np.array([0, 4, 2, 1, 0, 0]))
    with pytest.raises(ValueError, match=r"cross_entropy: target of shape \(5,\) does not fit input of "
                                         r"shape \(6, 4\)"):
        F.cross_entropy(leaf(logits), target[:5])
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(leaf(logits), target, reduction="average")


def test_all_ignored_mean_is_nan_as_in_pytorch():
    logits = ad.tensor(rng(15).normal(size=(2, 3)), requires_grad=True)
    loss = F.cross_entropy(logits, np.array([-100, -100]))
    assert np.isnan(loss.item())
    assert np.isnan(F.nll_loss(logits, np.array([-100, -100])).item())
    assert F.cross_entropy(logits, np.array([-100, -100]), reduction="sum").item() == 0.0


def test_class_target_errors_name_the_loss_and_shapes():
    logits = ad.ones(4, 3)
    with pytest.raises(ValueError, match=r"cross_entropy: float target of shape \(4,\) does not fit logits "
                                         r"of shape \(4, 3\)"):
        F.cross_entropy(logits, np.zeros(4))
    with pytest.raises(ValueError, match=r"cross_entropy: target of shape \(4, 1\) does not fit input of "
                                         r"shape \(4, 3\).*\(4,\)"):
        F.cross_entropy(logits, np.zeros((4, 1), dtype=int))
    with pytest.raises(IndexError, match=r"cross_entropy: target 3 is out of range for 3 classes"):
        F.cross_entropy(logits, np.array([0, 1, 2, 3]))
    with pytest.raises(IndexError, match=r"nll_loss: target -1 is out of range"):
        F.nll_loss(logits, np.array([0, 1, 2, -1]))
    with pytest.raises(TypeError, match=r"nll_loss: class-index targets must be integers, got dtype float"):
        F.nll_loss(logits, np.zeros(4))
    with pytest.raises(TypeError, match="bool"):
        F.cross_entropy(logits, np.zeros(4, dtype=bool))
    with pytest.raises(ValueError, match=r"weight of shape \(2,\) must have one entry per class, \(3,\)"):
        F.cross_entropy(logits, np.zeros(4, dtype=int), weight=np.ones(2))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(logits, np.zeros(4, dtype=int), label_smoothing=1.5)


# ---------------------------------------------------------------------------------------------
# cross_entropy with class probabilities

def np_prob_cross_entropy(logits, target, weight, reduction, smoothing):
    c = logits.shape[1]
    target = target * (1 - smoothing) + smoothing / c
    w = np.ones(c) if weight is None else weight
    shape = (1, c) + (1,) * (logits.ndim - 2)
    per = -(np_log_softmax(logits, 1) * target * w.reshape(shape)).sum(axis=1)
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    return per.sum() / (logits.size / c)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", [dict(), dict(weight=np.array([0.3, 1.0, 2.0])), dict(label_smoothing=0.2),
                                     dict(weight=np.array([0.3, 1.0, 2.0]), label_smoothing=0.05)],
                         ids=["plain", "weight", "smoothing", "both"])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2)])
def test_cross_entropy_probability_targets(options, reduction, shape):
    r = rng(16)
    logits = r.normal(size=shape)
    target = np.exp(np_log_softmax(r.normal(size=shape), 1))
    fn = lambda z, t: F.cross_entropy(z, t, reduction=reduction, **options)      # noqa: E731
    check_forward(fn, lambda z, t: np_prob_cross_entropy(z, t, options.get("weight"), reduction,
                                                        options.get("label_smoothing", 0.0)), logits, target)
    gradcheck(fn, logits, target)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", [dict(), dict(weight=np.array([0.3, 1.0, 2.0])), dict(label_smoothing=0.2),
                                     dict(weight=np.array([0.3, 1.0, 2.0]), label_smoothing=0.05)],
                         ids=["plain", "weight", "smoothing", "both"])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2)])
def test_cross_entropy_probability_targets_match_torch(options, reduction, shape):
    r = rng(16)
    logits = r.normal(size=shape)
    target = np.exp(np_log_softmax(r.normal(size=shape), 1))
    fn = lambda z, t: F.cross_entropy(z, t, reduction=reduction, **options)      # noqa: E731
    torch = pytest.importorskip("torch")
    torch_options = dict(options)
    if "weight" in torch_options:
        torch_options["weight"] = torch.tensor(torch_options["weight"])
    check_torch(fn, lambda z, t: torch.nn.functional.cross_entropy(z, t, reduction=reduction, **torch_options),
                logits, target)


def test_class_loss_modules():
    logits, target = class_case(17)
    x = ad.tensor(logits)
    weight = np.array([1.0, 2.0, 0.5, 1.0])
    ce = nn.CrossEntropyLoss(weight=ad.tensor(weight, dtype="float64"), ignore_index=1, label_smoothing=0.1)
    np.testing.assert_array_equal(ce(x, target).data, F.cross_entropy(x, target, weight=weight, ignore_index=1,
                                                                      label_smoothing=0.1).data)
    assert list(ce.state_dict()) == ["weight"]          # PyTorch registers class weights as buffers
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    nll = nn.NLLLoss(reduction="sum")
    np.testing.assert_array_equal(nll(x, target).data, F.nll_loss(x, target, reduction="sum").data)
    assert nn.CrossEntropyLoss(weight=[1.0, 2.0]).weight.shape == (2,)


# ---------------------------------------------------------------------------------------------
# binary cross-entropies

def np_bce(x, t, w):
    return -w * (t * np.maximum(np.log(x), -100) + (1 - t) * np.maximum(np.log(1 - x), -100))


def np_bce_logits(x, t, w, pw):
    log_sig = -np.logaddexp(0, -x)
    log_one_minus = -np.logaddexp(0, x)
    return -w * (pw * t * log_sig + (1 - t) * log_one_minus)


def binary_case(seed=18, shape=(4, 3)):
    r = rng(seed)
    return r.uniform(0.05, 0.95, shape), r.uniform(0, 1, shape), r.uniform(0.5, 2, shape[-1:])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(weighted, reduction):
    x, t, w = binary_case()
    weight = w if weighted else None
    fn = lambda a, b: F.binary_cross_entropy(a, b, weight=weight, reduction=reduction)      # noqa: E731
    check_forward(fn, lambda a, b: np_reduce(np_bce(a, b, 1.0 if weight is None else weight), reduction), x, t)
    gradcheck(fn, x, t)
    gradgradcheck(fn, x, t)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_matches_torch(weighted, reduction):
    x, t, w = binary_case()
    weight = w if weighted else None
    fn = lambda a, b: F.binary_cross_entropy(a, b, weight=weight, reduction=reduction)      # noqa: E731
    torch = pytest.importorskip("torch")
    tw = None if weight is None else torch.tensor(np.broadcast_to(weight, x.shape).copy())
    check_torch(fn, lambda a, b: torch.nn.functional.binary_cross_entropy(a, b, weight=tw, reduction=reduction),
                x, t)


def test_binary_cross_entropy_clamps_its_logs_at_minus_100():
    x = leaf([0.0, 1.0, 0.0, 1.0])
    t = ad.tensor([1.0, 0.0, 0.0, 1.0], dtype="float64")
    loss = F.binary_cross_entropy(x, t, reduction="none")
    np.testing.assert_array_equal(loss.data, [100.0, 100.0, 0.0, 0.0])
    loss.sum().backward()
    assert np.isfinite(x.grad.data).all()
    with pytest.raises(ValueError, match=r"binary_cross_entropy: every input must be a probability in \[0, 1\]"):
        F.binary_cross_entropy(ad.tensor([1.5]), ad.tensor([1.0]))


def test_binary_cross_entropy_at_0_and_1_matches_torch():
    torch = pytest.importorskip("torch")
    x = leaf([0.0, 1.0, 0.0, 1.0])
    t = ad.tensor([1.0, 0.0, 0.0, 1.0], dtype="float64")
    loss = F.binary_cross_entropy(x, t, reduction="none")
    loss.sum().backward()
    tx = torch.tensor([0.0, 1.0, 0.0, 1.0], dtype=torch.float64, requires_grad=True)
    tl = torch.nn.functional.binary_cross_entropy(tx, torch.tensor(t.data), reduction="none")
    tl.sum().backward()
    np.testing.assert_array_equal(loss.data, tl.detach().numpy())
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted, positive", [(False, False), (True, False), (False, True), (True, True)])
def test_binary_cross_entropy_with_logits(weighted, positive, reduction):
    x, t, w = binary_case(19)
    x = (x - 0.5) * 8
    weight = w if weighted else None
    pos_weight = np.array([0.5, 2.0, 3.0]) if positive else None
    fn = lambda a, b: F.binary_cross_entropy_with_logits(      # noqa: E731
        a, b, weight=weight, reduction=reduction, pos_weight=pos_weight)
    check_forward(fn, lambda a, b: np_reduce(np_bce_logits(a, b, 1.0 if weight is None else weight,
                                                           1.0 if pos_weight is None else pos_weight), reduction),
                  x, t)
    gradcheck(fn, x, t)
    gradgradcheck(fn, x, t)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted, positive", [(False, False), (True, False), (False, True), (True, True)])
def test_binary_cross_entropy_with_logits_matches_torch(weighted, positive, reduction):
    x, t, w = binary_case(19)
    x = (x - 0.5) * 8
    weight = w if weighted else None
    pos_weight = np.array([0.5, 2.0, 3.0]) if positive else None
    fn = lambda a, b: F.binary_cross_entropy_with_logits(      # noqa: E731
        a, b, weight=weight, reduction=reduction, pos_weight=pos_weight)
    torch = pytest.importorskip("torch")
    tw = None if weight is None else torch.tensor(weight)
    tp = None if pos_weight is None else torch.tensor(pos_weight)
    check_torch(fn, lambda a, b: torch.nn.functional.binary_cross_entropy_with_logits(
        a, b, weight=tw, reduction=reduction, pos_weight=tp), x, t)


def test_binary_cross_entropy_with_logits_is_finite_for_large_logits_and_exact_at_zero():
    x = leaf([100.0, -100.0, 100.0, -100.0, 0.0, 0.0])
    t = ad.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 0.0], dtype="float64")
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none", pos_weight=np.array(2.0))
    np.testing.assert_allclose(loss.data, [0.0, 0.0, 100.0, 200.0, 2 * math.log(2), math.log(2)], atol=1e-40,
                               rtol=1e-15)
    loss.sum().backward()
    # d/dx at 0 is (1 + (p - 1) t) sigmoid(0) - p t: -1 for t = 1 (p = 2), 0.5 for t = 0
    np.testing.assert_allclose(x.grad.data[4:], [-1.0, 0.5], rtol=1e-15)
    assert np.isfinite(x.grad.data).all()


def test_binary_loss_modules_and_errors():
    x, t, w = binary_case(20)
    a, b = ad.tensor(x), ad.tensor(t)
    np.testing.assert_array_equal(nn.BCELoss(weight=ad.tensor(w, dtype="float64"))(a, b).data,
                                  F.binary_cross_entropy(a, b, weight=w).data)
    module = nn.BCEWithLogitsLoss(pos_weight=ad.tensor(w, dtype="float64"), reduction="sum")
    np.testing.assert_array_equal(module(a, b).data,
                                  F.binary_cross_entropy_with_logits(a, b, reduction="sum", pos_weight=w).data)
    assert list(module.state_dict()) == ["pos_weight"]
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: input of shape \(4, 3\) and target "
                                         r"of shape \(4,\) differ"):
        F.binary_cross_entropy_with_logits(a, np.ones(4))
    with pytest.raises(ValueError, match=r"pos_weight of shape \(2,\) does not broadcast"):
        F.binary_cross_entropy_with_logits(a, b, pos_weight=np.ones(2))


# ---------------------------------------------------------------------------------------------
# edges and properties

def test_empty_batches():
    logits = ad.zeros(0, 3, dtype="float64", requires_grad=True)
    empty = np.zeros(0, dtype=int)
    assert np.isnan(F.cross_entropy(logits, empty).item())          # PyTorch: nan
    assert F.cross_entropy(logits, empty, reduction="sum").item() == 0.0
    assert F.cross_entropy(logits, empty, reduction="none").shape == (0,)
    F.cross_entropy(logits, empty, reduction="sum").backward()
    assert logits.grad.shape == (0, 3)
    assert np.isnan(F.cross_entropy(logits, np.zeros((0, 3))).item())
    assert F.linear(ad.zeros(0, 3), ad.ones(2, 3), ad.ones(2)).shape == (0, 2)


def test_cross_entropy_fused_matches_composed_for_random_shapes_and_options():
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies

    @hypothesis.settings(max_examples=40, deadline=None)
    @hypothesis.given(rows=st.integers(1, 6), classes=st.integers(1, 5), seed=st.integers(0, 2 ** 16),
                      weighted=st.booleans(), ignore=st.booleans(), smoothing=st.sampled_from([0.0, 0.1, 0.7]),
                      reduction=st.sampled_from(["mean", "sum", "none"]))
    def check(rows, classes, seed, weighted, ignore, smoothing, reduction):
        r = rng(seed)
        logits = r.normal(0, 3, (rows, classes))
        target = r.integers(0, classes, rows)
        weight = r.uniform(0.1, 2, classes) if weighted else None
        ignore_index = int(target[0]) if ignore else -100
        expected = np_class_loss(np_log_softmax(logits, 1), target, weight, ignore_index, reduction, smoothing)
        a = leaf(logits)
        with np.errstate(invalid="ignore"):
            out = F.cross_entropy(a, target, weight=weight, ignore_index=ignore_index, reduction=reduction,
                                  label_smoothing=smoothing)
        np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-14)
        if not np.isfinite(out.data).all():
            return                  # every target ignored: nan, as PyTorch
        # the fused gradient against the same loss written from engine ops
        b = leaf(logits)
        logp = F.log_softmax(b, dim=1)
        w = np.ones(classes) if weight is None else weight
        valid = target != ignore_index
        safe = np.where(valid, target, 0)
        per_row = ((1 - smoothing) * -(logp[np.arange(rows), safe] * w[safe])
                   + smoothing / classes * -(logp * w).sum(axis=1)) * valid
        if reduction == "mean":
            composed = per_row.sum() / (w[safe] * valid).sum()
        else:
            composed = per_row.sum() if reduction == "sum" else per_row
        (fused_grad,) = ad.grad(scalar_of(out), a)
        (composed_grad,) = ad.grad(scalar_of(composed), b)
        np.testing.assert_allclose(fused_grad.data, composed_grad.data, rtol=1e-10, atol=1e-13)

    check()
