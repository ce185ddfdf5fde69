"""The vocabulary beyond values and gradients: numpy's functions keep numpy's meaning on tensors,
views are views (and read-only where PyTorch's writable view cannot be had), bad input gets a
clear error naming the op, and the engine fix the vocabulary needed (a one-input Function that
saves two arrays)."""
import numpy as np
import pytest

import autodiff as ad
import nn
from nn import functional as F


def leaf(values):
    return ad.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


# ---- numpy's functions on tensors: numpy's meaning, on the graph ------------------------------

X = np.array([[3.0, -1.0, 2.0, 0.5], [1.5, 4.0, -2.0, 1.0], [0.0, 2.5, -0.5, 3.5]])
NUMPY_CALLS = [
    ("median-even", lambda m: m.median(m.asarray(X[:, :2]))),      # numpy averages the two middles
    ("median-axis", lambda m: m.median(m.asarray(X), axis=1)),
    ("median-keepdims", lambda m: m.median(m.asarray(X), axis=0, keepdims=True)),
    ("cumsum-flat", lambda m: m.cumsum(m.asarray(X))),
    ("cumprod-axis", lambda m: m.cumprod(m.asarray(X), axis=0)),
    ("sort-last", lambda m: m.sort(m.asarray(X))),
    ("sort-none", lambda m: m.sort(m.asarray(X), axis=None)),
    ("flip-all", lambda m: m.flip(m.asarray(X))),
    ("roll", lambda m: m.roll(m.asarray(X), 2)),
    ("rot90", lambda m: m.rot90(m.asarray(X), 3)),
    ("trace-3d", lambda m: m.trace(m.asarray(X.reshape(2, 3, 2)))),
    ("diagonal", lambda m: m.diagonal(m.asarray(X), 1)),
    ("tril", lambda m: m.tril(m.asarray(X), -1)),
    ("einsum", lambda m: m.einsum("ij,kj->ik", m.asarray(X), m.asarray(X))),
    ("tensordot", lambda m: m.tensordot(m.asarray(X), m.asarray(X.T), 1)),
    ("outer-flattens", lambda m: m.outer(m.asarray(X[:2, :2]), m.asarray(X[0]))),
    ("inner", lambda m: m.inner(m.asarray(X), m.asarray(X))),
    ("kron", lambda m: m.kron(m.asarray(X[:2, :2]), m.asarray(X[:1]))),
    ("cross", lambda m: m.cross(m.asarray(X[:, :3]), m.asarray(X[:, 1:]))),
    ("norm", lambda m: m.linalg.norm(m.asarray(X))),
    ("norm-ord", lambda m: m.linalg.norm(m.asarray(X), 1)),
    ("norm-axis", lambda m: m.linalg.norm(m.asarray(X), axis=1)),
    ("det", lambda m: m.linalg.det(m.asarray(X[:, :3]))),
    ("inv", lambda m: m.linalg.inv(m.asarray(X[:, :3]))),
    ("solve-matrix", lambda m: m.linalg.solve(m.asarray(X[:, :3]), m.asarray(X[:, 1:]))),
    ("solve-vector", lambda m: m.linalg.solve(m.asarray(X[:, :3]), m.asarray(X[0, :3]))),
    ("meshgrid-xy", lambda m: m.meshgrid(m.asarray(X[0]), m.asarray(X[1, :3]))[0]),
    ("vstack", lambda m: m.vstack([m.asarray(X[0]), m.asarray(X)])),
    ("column_stack", lambda m: m.column_stack([m.asarray(X[:, 0]), m.asarray(X)])),
    ("array_split", lambda m: m.array_split(m.asarray(X), 2, axis=1)[1]),
    ("moveaxis", lambda m: m.moveaxis(m.asarray(X.reshape(2, 3, 2)), 0, -1)),
    ("take_along_axis-negative", lambda m: m.take_along_axis(m.asarray(X), np.array([[-1], [0], [2]]), axis=1)),
    ("nan_to_num", lambda m: m.nan_to_num(m.asarray(np.array([np.nan, np.inf, 1.0])), posinf=5.0)),
    ("round", lambda m: m.round(m.asarray(X * 1.2345), 2)),
    ("arctan2", lambda m: m.arctan2(m.asarray(X), m.asarray(X[0]))),
    ("logaddexp", lambda m: m.logaddexp(m.asarray(X), 1.0)),
    ("floor_divide", lambda m: m.floor_divide(m.asarray(X), 0.7)),
    ("mod", lambda m: m.mod(m.asarray(X), -0.7)),
    ("expm1", lambda m: m.expm1(m.asarray(X))),
]


class _Tensors:
    """numpy's namespace, with asarray making leaf tensors: the same call on tensors."""

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def asarray(values):
        return leaf(values)


@pytest.mark.parametrize("name,call", NUMPY_CALLS, ids=[n for n, _ in NUMPY_CALLS])
def test_numpy_functions_keep_numpy_meaning_on_tensors(name, call):
    expected = call(np)
    out = call(_Tensors())
    assert isinstance(out, ad.Tensor) and out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    if out.requires_grad and name != "floor_divide":        # (no derivative, as PyTorch's)
        out.sum().backward()


def test_numpy_and_torch_medians_differ_as_they_should():
    t = ad.tensor([4.0, 1.0, 3.0, 2.0])
    assert np.median(t).item() == 2.5 and ad.median(t).item() == 2.0
    assert np.isnan(np.median(ad.tensor([1.0, np.nan, 2.0])).item())
    assert np.allclose(ad.tensor([1.0]), ad.tensor([1.0 + 1e-9])) is True
    assert np.array_equal(ad.tensor([1, 2]), ad.tensor([1, 2]))


def test_numpy_functions_without_an_op_still_refuse():
    with pytest.raises(TypeError, match="histogram"):
        np.histogram(leaf([1.0, 2.0]))


# ---- views and copies ---------------------------------------------------------------------------

def test_views_share_data_and_copies_do_not_as_in_pytorch():
    x = ad.tensor(np.arange(12.0).reshape(3, 4))
    ad.narrow(x, 1, 1, 2).mul_(0.0)
    assert x.data[0, 1] == 0.0                  # narrow is a view
    x.unbind(0)[2].add_(100.0)
    assert x.data[2, 0] == 108.0                # so is unbind
    y = x.flip(0)
    y.add_(1.0)
    assert x.data[0, 0] == 0.0                  # flip copies
    with pytest.raises(ValueError, match="read-only"):
        x.diagonal().add_(1.0)                  # PyTorch's writable view: refused rather than lost
    with pytest.raises(ValueError, match="read-only"):
        x.expand(2, 3, 4).add_(1.0)


def test_in_place_variants_follow_the_graph_and_refuse_leaves():
    w = leaf([1.0, 2.0, 3.0])
    h = w * 2.0
    h.masked_fill_(np.array([True, False, False]), 0.0)
    h.sum().backward()
    np.testing.assert_array_equal(w.grad.data, [0.0, 2.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf"):
        w.index_add_(0, np.array([0]), ad.tensor([1.0]))


def test_zero_dimensional_inputs():
    s = leaf(2.5)
    assert ad.cumsum(s, 0).shape == () and ad.cummax(s, 0).indices.item() == 0
    assert ad.sort(s).values.item() == 2.5 and ad.atleast_2d(s).shape == (1, 1)
    assert ad.median(s).item() == 2.5 and ad.linalg.vector_norm(s).item() == 2.5


def test_one_input_function_saving_two_arrays_records_and_checks_versions():
    class ExpKeepingBoth(ad.Function):
        @staticmethod
        def forward(ctx, x):
            out = np.exp(x)
            ctx.save_for_backward(x, out)
            return out

        @staticmethod
        def backward(ctx, grad):
            x, out = ctx.saved_tensors
            return grad * out

    x = leaf([0.5, -1.0])
    y = ExpKeepingBoth.apply(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.exp(x.data))
    h = x * 1.0
    z = ExpKeepingBoth.apply(h)
    with ad.no_grad():
        h.add_(1.0)
    with pytest.raises(RuntimeError, match="changed in place"):
        z.sum().backward()


def test_singular_matrices():
    singular = leaf([[1.0, 2.0], [2.0, 4.0]])
    ad.det(singular).backward()      # the adjugate: the true derivative of the polynomial det
    np.testing.assert_allclose(singular.grad.data, [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)
    with pytest.raises(np.linalg.LinAlgError, match="inv: a matrix of the batch .* is singular"):
        ad.inverse(singular)
    assert ad.slogdet(singular).sign.item() == 0 and ad.logdet(singular).item() == -np.inf
    assert np.isnan(ad.logdet(leaf([[0.0, 1.0], [1.0, 0.0]])).item())


# ---- errors name the op, the shapes and the fix ----------------------------------------------------

ERRORS = [
    (lambda: ad.gather(leaf(np.ones((2, 3))), 1, np.array([[3]])), IndexError, r"gather: index 3 is out of bounds"),
    (lambda: ad.gather(leaf(np.ones((2, 3))), 0, np.array([0, 1])), ValueError, r"gather: index of shape \(2,\) must"),
    (lambda: ad.gather(leaf(np.ones((2, 3))), 0, np.array([[0.0]])), TypeError, r"gather: index must be an integer"),
    (lambda: ad.scatter(leaf(np.ones((2, 3))), 0, np.array([[0, 1]]), leaf([1.0])), ValueError,
     r"scatter: src of shape \(1,\)"),
    (lambda: ad.scatter_reduce(leaf([1.0]), 0, np.array([0]), leaf([1.0]), "max"), ValueError, r"reduce must be one of"),
    (lambda: ad.masked_fill(leaf([1.0, 2.0]), np.array([1, 0]), 0.0), TypeError, r"masked_fill: mask must be a bool"),
    (lambda: ad.index_add(leaf(np.ones((2, 3))), 1, np.array([0]), leaf(np.ones((2, 2)))), ValueError,
     r"index_add: source of shape \(2, 2\) does not fit.* it must be \(2, 1, \)|index_add: source of shape"),
    (lambda: ad.einsum("ij,jk", leaf(np.ones((2, 3))), leaf(np.ones((4, 2)))), ValueError,
     r"einsum: subscript 'j' has sizes 3 and 4"),
    (lambda: ad.einsum("ijk", leaf(np.ones((2, 3)))), ValueError, r"einsum: subscripts 'ijk' do not fit"),
    (lambda: ad.einsum("ij,jk", leaf(np.ones((2, 3)))), ValueError, r"einsum: .* 2 operand\(s\) but 1 tensor"),
    (lambda: ad.tensordot(leaf(np.ones((2, 3))), leaf(np.ones((4, 2))), 1), ValueError, r"tensordot: dimensions"),
    (lambda: ad.linalg.solve(leaf(np.eye(3)), leaf(np.ones(2))), ValueError, r"solve: A of shape \(3, 3\) and B"),
    (lambda: ad.det(leaf(np.ones((2, 3)))), ValueError, r"det: needs square matrices"),
    (lambda: ad.linalg.matrix_norm(ad.tensor(np.eye(2, dtype=np.int64)), "nuc"), TypeError, r"matrix_norm: needs a floating"),
    (lambda: ad.grad(ad.grad(ad.linalg.matrix_norm(x := leaf(np.eye(2) * 2), "nuc"), x, create_graph=True)[0].sum(), x),
     RuntimeError, r"matrix_norm: the second derivative of 'nuc', 2 and -2"),
    (lambda: ad.cdist(leaf(np.ones((2, 3))), leaf(np.ones((2, 4)))), ValueError, r"cdist: needs"),
    (lambda: ad.cross(leaf(np.ones((2, 2))), leaf(np.ones((2, 2)))), ValueError, r"cross: no dimension of size 3"),
    (lambda: ad.topk(leaf([1.0, 2.0]), 3), ValueError, r"topk: k=3 is out of range"),
    (lambda: ad.kthvalue(leaf([1.0, 2.0]), 0), ValueError, r"kthvalue: k=0"),
    (lambda: ad.cumsum(leaf([1.0]), None), TypeError, r"cumsum: give dim"),
    (lambda: ad.expand(leaf([[1.0, 2.0]]), 3, 3), ValueError, r"expand: a tensor of shape \(1, 2\) cannot expand"),
    (lambda: ad.unflatten(leaf(np.ones((2, 6))), 1, (4, -1)), ValueError, r"unflatten: sizes \(4, -1\)"),
    (lambda: ad.narrow(leaf(np.ones(3)), 0, 2, 2), IndexError, r"narrow: start 2 and length 2"),
    (lambda: ad.tril(leaf([1.0])), ValueError, r"tril: needs a matrix"),
    (lambda: ad.meshgrid(leaf([1.0]), indexing="yx"), ValueError, r"meshgrid: indexing"),
    (lambda: F.glu(leaf(np.ones((2, 3)))), ValueError, r"glu: dimension -1 .* even"),
    (lambda: F.one_hot(ad.tensor([0, 4]), 3), ValueError, r"one_hot: class value 4"),
    (lambda: F.one_hot(ad.tensor([0.0]), 3), TypeError, r"one_hot: index must be an integer"),
    (lambda: F.embedding(ad.tensor([5]), leaf(np.ones((3, 2)))), IndexError, r"embedding: index 5 is out of range"),
    (lambda: F.prelu(leaf(np.ones((2, 3))), leaf([1.0, 2.0])), ValueError, r"prelu: weight of shape \(2,\)"),
    (lambda: F.gaussian_nll_loss(leaf(np.ones((2, 3))), leaf(np.ones((2, 3))), leaf(np.ones(3))), ValueError,
     r"gaussian_nll_loss: var of shape \(3,\)"),
    (lambda: F.multi_margin_loss(leaf(np.ones((2, 3))), ad.tensor([0])), ValueError, r"multi_margin_loss: target"),
    (lambda: F.soft_margin_loss(leaf(np.ones((2, 3))), leaf(np.ones(3))), ValueError, r"soft_margin_loss: input of shape"),
    (lambda: F.kl_div(leaf([0.1]), leaf([0.1]), reduction="avg"), ValueError, r"kl_div: reduction"),
    (lambda: nn.Embedding(3, 2, padding_idx=3), ValueError, r"Embedding: padding_idx 3"),
    (lambda: ad.median(ad.tensor(np.ones(0, dtype=np.int64))), ValueError, r"median: the integer input is empty"),
    (lambda: ad.floor_divide(leaf([1.0]), 2.0).sum().backward(), RuntimeError, r"floor_divide has no derivative"),
]


@pytest.mark.parametrize("call,error,message", ERRORS, ids=[m.split(":")[0].split("\\")[0] for _, _, m in ERRORS])
def test_errors_name_the_op_and_the_shapes(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_gaussian_nll_loss_takes_a_number_as_the_variance_as_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    for var, reduction in ((1.0, "mean"), (0.5, "sum"), (2.0, "none")):
        ours = F.gaussian_nll_loss(ad.tensor(x), ad.tensor(y), var, reduction=reduction)
        theirs = torch.nn.functional.gaussian_nll_loss(torch.tensor(x), torch.tensor(y), var, reduction=reduction)
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(ad.tensor(x), ad.tensor(y), -1.0)


def test_atleast_on_one_sequence_returns_a_tuple_as_pytorch():
    torch = pytest.importorskip("torch")
    t = ad.tensor([1.0, 2.0])
    for op in ("atleast_1d", "atleast_2d", "atleast_3d"):
        ours, theirs = getattr(ad, op)([t]), getattr(torch, op)([torch.tensor([1.0, 2.0])])
        assert isinstance(ours, tuple) and len(ours) == len(theirs) == 1
        assert ours[0].shape == tuple(theirs[0].shape)
        assert getattr(ad, op)((t,))[0].shape == tuple(getattr(torch, op)((torch.tensor([1.0, 2.0]),))[0].shape)
        assert getattr(ad, op)(t).shape == tuple(getattr(torch, op)(torch.tensor([1.0, 2.0])).shape)
    assert ad.vstack([ad.tensor([1.0, 2.0]), ad.tensor([3.0, 4.0])]).shape == (2, 2)
    assert ad.vstack([[1.0, 2.0], [3.0, 4.0]]).shape == (2, 2)


@pytest.mark.parametrize("call, match", [
    (lambda x: ad.linalg.norm(x[0], "fro"), "at least 2 dimensions"),
    (lambda x: ad.norm(x, "abc"), "p must be 'fro', 'nuc' or a number"),
    (lambda x: ad.norm(x, "nuc", dim=1), "pair of dimensions"),
    (lambda x: ad.linalg.vector_norm(x, "fro"), "ord must be a number"),
])
def test_norms_name_a_wrong_order_or_dim(call, match):
    with pytest.raises(ValueError, match=match):
        call(ad.randn(3, 4))
