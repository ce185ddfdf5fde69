"""PyTorch's names mean PyTorch's meanings; numpy's functions on tensors mean numpy's (issue 16).

Each item is checked against a formula (always) and against PyTorch where it is installed (the
``torch`` fixture skips cleanly without it).
"""
import numpy as np
import pytest

import autodiff as ad
import nn
from nn import functional as F

from helpers import make_arrays


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def leaf(array, dtype=np.float64):
    return ad.tensor(np.asarray(array, dtype), requires_grad=True)


def grad_of(fn, values, weights=None):
    x = leaf(values)
    out = fn(x)
    out.backward(ad.tensor(np.ones(out.shape) if weights is None else np.asarray(weights, np.float64)))
    return x.grad.data


def both(torch, array, requires_grad=True):
    """The same float64 values as an autodiff leaf and a torch leaf."""
    array = np.asarray(array, np.float64)
    return ad.tensor(array, requires_grad=requires_grad), torch.tensor(array, requires_grad=requires_grad)


def assert_same(ours, theirs, rtol=1e-12, atol=1e-12):
    """A tensor (or nested tuple of them) equal to PyTorch's: shape, dtype name and values."""
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b, rtol, atol)
        return
    expected = theirs.detach().numpy()
    assert ours.shape == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(ours.data, expected, rtol=rtol, atol=atol)


def backprop_both(ours, theirs, out_ours, out_theirs, seed=0):
    """Backprop the same random weights through both outputs and compare the leaves' gradients."""
    weights = np.random.default_rng(seed).standard_normal(out_ours.shape)
    out_ours.backward(ad.tensor(weights, dtype=out_ours.dtype))
    out_theirs.backward(__import__("torch").tensor(weights, dtype=out_theirs.dtype))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-12, atol=1e-12)


TIES = [[1.0, 3.0, 3.0, -1.0], [2.0, 2.0, 0.0, 2.0], [4.0, 4.0, 4.0, 4.0]]


# ---- max / min ---------------------------------------------------------------------------------

def test_max_along_a_dim_is_a_named_tuple_of_values_and_indices():
    x = leaf(TIES)
    result = x.max(1)
    values, indices = result
    assert type(result).__name__ == "max" and result.values is values and result.indices is indices
    np.testing.assert_array_equal(values.data, [3.0, 2.0, 4.0])
    np.testing.assert_array_equal(indices.data, [1, 0, 0])     # the first at ties
    assert indices.dtype == np.int64 and not indices.requires_grad
    for form in (ad.max(x, 1), x.max(dim=1), x.max(axis=1), ad.max(x, dim=-1)):
        np.testing.assert_array_equal(form.values.data, values.data)
    kept = x.min(0, keepdim=True)
    assert type(kept).__name__ == "min" and kept.values.shape == (1, 4) and kept.indices.shape == (1, 4)
    np.testing.assert_array_equal(kept.indices.data, [[0, 1, 1, 0]])


def test_max_along_a_dim_sends_the_gradient_to_the_returned_index():
    # a formula: d values[i] / d x[i, j] = 1 where j is the returned index, else 0
    expected = np.zeros((3, 4))
    expected[[0, 1, 2], [1, 0, 0]] = [10.0, 20.0, 30.0]
    np.testing.assert_array_equal(grad_of(lambda t: t.max(1).values, TIES, [10.0, 20.0, 30.0]), expected)
    assert ad.gradcheck(lambda t: t.max(1, keepdim=True).values * t.min(0).values.sum(),
                        (leaf(np.random.default_rng(1).standard_normal((3, 4))),))
    assert ad.gradgradcheck(lambda t: (t.max(0).values ** 2).sum(),
                            (leaf(np.random.default_rng(2).standard_normal((3, 4))),))


def test_max_without_a_dim_and_amax_share_ties_evenly():
    np.testing.assert_allclose(grad_of(lambda t: t.max(), TIES), (np.array(TIES) == 4.0) * 0.25)
    np.testing.assert_allclose(grad_of(lambda t: t.amax(1), TIES),
                               [[0, 0.5, 0.5, 0], [1 / 3, 1 / 3, 0, 1 / 3], [0.25] * 4])
    np.testing.assert_allclose(grad_of(lambda t: ad.amin(t, (0, 1)), TIES), np.array(TIES) == -1.0)


def test_max_of_two_tensors_is_the_elementwise_maximum():
    a, b = leaf([1.0, 5.0, 2.0]), leaf([3.0, 4.0, 2.0])
    np.testing.assert_array_equal(a.max(b).data, [3.0, 5.0, 2.0])
    np.testing.assert_array_equal(ad.min(a, b).data, [1.0, 4.0, 2.0])
    np.testing.assert_array_equal(ad.max(a, other=b).data, [3.0, 5.0, 2.0])


def test_max_errors_name_the_fix():
    x = leaf(TIES)
    with pytest.raises(TypeError, match="amax"):
        x.max(dim=(0, 1))
    with pytest.raises(IndexError, match="size 0"):
        ad.zeros(3, 0).max(1)


@pytest.mark.parametrize("form", ["max1", "min0k", "max-1", "maxall", "amax01", "amin1k"])
def test_max_min_values_indices_and_gradients_match_torch(torch, form):
    data = np.array(TIES) if form != "max-1" else np.random.default_rng(3).standard_normal((2, 3, 4))
    ours, theirs = both(torch, data)
    call = {"max1": lambda t: t.max(1), "min0k": lambda t: t.min(0, keepdim=True),
            "max-1": lambda t: t.max(dim=-1), "maxall": lambda t: t.max(),
            "amax01": lambda t: t.amax((0, 1)), "amin1k": lambda t: t.amin(1, keepdim=True)}[form]
    a, b = call(ours), call(theirs)
    assert_same(a, b)
    values_ours, values_theirs = (a.values, b.values) if isinstance(a, tuple) else (a, b)
    backprop_both([ours], [theirs], values_ours, values_theirs)


def test_max_along_a_dim_with_nan_matches_torch(torch):
    data = [[1.0, np.nan, 3.0, np.nan], [0.0, 2.0, 1.0, 2.0]]
    ours, theirs = both(torch, data)
    assert_same(ours.max(1), theirs.max(1))
    assert_same(ours.min(1), theirs.min(1))


# ---- var / std ---------------------------------------------------------------------------------

def test_var_and_std_are_unbiased_by_default():
    data = np.random.default_rng(4).standard_normal((5, 3))
    x = leaf(data)
    n = 5
    unbiased = ((data - data.mean(0)) ** 2).sum(0) / (n - 1)
    np.testing.assert_allclose(x.var(0).data, unbiased, rtol=1e-12)
    np.testing.assert_allclose(ad.std(x, 0).data, np.sqrt(unbiased), rtol=1e-12)
    np.testing.assert_allclose(x.var(0, correction=0).data, unbiased * (n - 1) / n, rtol=1e-12)
    np.testing.assert_allclose(x.var(0, False).data, unbiased * (n - 1) / n, rtol=1e-12)
    np.testing.assert_allclose(x.var(0, unbiased=False, keepdim=True).data, [unbiased * (n - 1) / n], rtol=1e-12)
    np.testing.assert_allclose(x.var(False).item(), data.var(), rtol=1e-12)     # var(unbiased)
    np.testing.assert_allclose(x.var(0, ddof=2).data, unbiased * (n - 1) / (n - 2), rtol=1e-12)
    np.testing.assert_allclose(x.std(dim=(0, 1), correction=0).item(), data.std(), rtol=1e-12)
    assert ad.gradcheck(lambda t: t.std(1) * t.var(0).sum(), (x,))
    assert ad.gradgradcheck(lambda t: t.std(0, correction=0).sum(), (x,))


def test_var_std_refuse_conflicting_and_integer_arguments():
    x = leaf([[1.0, 2.0], [3.0, 5.0]])
    with pytest.raises(TypeError, match="unbiased.*correction"):
        x.var(0, True, correction=0)
    with pytest.raises(RuntimeError, match=r"x\.float\(\)"):
        ad.tensor([1, 2, 3]).var()
    with pytest.raises(RuntimeError, match=r"x\.float\(\)"):
        ad.tensor([1, 2, 3]).mean()
    np.testing.assert_allclose(ad.tensor([1, 2, 4]).mean(dtype=ad.float32).item(), 7 / 3, rtol=1e-6)


@pytest.mark.parametrize("call", [
    lambda t: t.var(), lambda t: t.var(0), lambda t: t.var(1, keepdim=True), lambda t: t.var(1, False),
    lambda t: t.var(dim=(0, 1), correction=2), lambda t: t.std(), lambda t: t.std(0), lambda t: t.var(False),
    lambda t: t.std(1, unbiased=False, keepdim=True), lambda t: t.std(dim=0, correction=0),
], ids=["var", "var0", "var1k", "var1biased", "var01c2", "std", "std0", "var_false", "std1k", "std0c0"])
def test_var_std_forms_match_torch(torch, call):
    ours, theirs = both(torch, np.random.default_rng(5).standard_normal((4, 3)))
    a, b = call(ours), call(theirs)
    assert_same(a, b)
    backprop_both([ours], [theirs], a, b)


def test_std_gradient_is_zero_where_std_is_zero(torch):
    # constant rows, and one element with correction 0: PyTorch gives 0, not 0/0
    data = [[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]]
    np.testing.assert_array_equal(grad_of(lambda t: t.std(1), data)[0], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(grad_of(lambda t: t.std(0, correction=0), [[3.0, 1.0]]), [[0.0, 0.0]])
    for call in (lambda t: t.std(1), lambda t: t.std(0, correction=0), lambda t: t.std(1, correction=0)):
        ours, theirs = both(torch, data)
        a, b = call(ours), call(theirs)
        assert_same(a, b)
        backprop_both([ours], [theirs], a, b)
    ours, theirs = both(torch, [2.0])        # one element, correction 1: nan, as PyTorch
    ours.std().backward()
    theirs.std().backward()
    assert np.isnan(ours.grad.data[0]) and np.isnan(theirs.grad.numpy()[0])


def test_layer_and_batch_norm_use_the_biased_variance(torch):
    data = np.random.default_rng(6).standard_normal((4, 3))
    x = ad.tensor(data, dtype=ad.float32)
    expected = (data - data.mean(1, keepdims=True)) / np.sqrt(data.var(1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(nn.LayerNorm(3)(x).data, expected, rtol=1e-5, atol=1e-5)
    expected = (data - data.mean(0)) / np.sqrt(data.var(0) + 1e-5)
    np.testing.assert_allclose(nn.BatchNorm1d(3)(x).data, expected, rtol=1e-5, atol=1e-5)
    theirs = torch.nn.BatchNorm1d(3)(torch.tensor(data, dtype=torch.float32))
    np.testing.assert_allclose(nn.BatchNorm1d(3)(x).data, theirs.detach().numpy(), rtol=1e-5, atol=1e-5)


# ---- transpose / permute -----------------------------------------------------------------------

def test_transpose_swaps_two_dims_and_permute_permutes():
    data = np.arange(24.0).reshape(2, 3, 4)
    x = leaf(data)
    np.testing.assert_array_equal(x.transpose(0, 2).data, np.swapaxes(data, 0, 2))
    np.testing.assert_array_equal(ad.transpose(x, -1, 1).data, np.swapaxes(data, -1, 1))
    np.testing.assert_array_equal(x.transpose().data, data.T)          # no dims: all reversed
    np.testing.assert_array_equal(x.permute(2, 0, 1).data, np.transpose(data, (2, 0, 1)))
    np.testing.assert_array_equal(x.permute((2, 0, 1)).data, np.transpose(data, (2, 0, 1)))
    np.testing.assert_array_equal(x.mT.data, np.swapaxes(data, -1, -2))
    np.testing.assert_array_equal(x.T.data, data.T)
    m = leaf(data[0])
    np.testing.assert_array_equal(m.t().data, data[0].T)
    assert leaf([1.0, 2.0]).t().shape == (2,)
    with pytest.raises(RuntimeError, match="t\\(\\)"):
        x.t()
    with pytest.raises(RuntimeError, match="mT"):
        leaf([1.0, 2.0]).mT


def test_double_backward_through_transposes_and_permutes():
    x = leaf(np.random.default_rng(7).standard_normal((2, 3, 4)))
    w = leaf(np.random.default_rng(8).standard_normal((3, 4)))
    f = lambda x, w: ((x.transpose(1, 2) @ w) * x.permute(0, 2, 1).sum()).tanh().sum()  # noqa: E731
    assert ad.gradcheck(f, (x, w)) and ad.gradgradcheck(f, (x, w))
    assert ad.gradgradcheck(lambda x: (x.prod(dim=(0, 2)) ** 2).sum(), (x,))     # Prod under create_graph
    assert ad.gradgradcheck(lambda x: x.mT.matmul(x).sum() ** 2, (x,))


@pytest.mark.parametrize("call", [
    lambda t: t.transpose(0, 1), lambda t: t.transpose(-1, 0), lambda t: t.permute(2, 0, 1), lambda t: t.mT,
    lambda t: t.swapaxes(0, 2), lambda t: t.swapdims(1, 2), lambda t: t[0].t(), lambda t: t[0].T,
], ids=["t01", "t-10", "permute", "mT", "swapaxes", "swapdims", "t()", "T"])
def test_transposes_match_torch(torch, call):
    ours, theirs = both(torch, np.random.default_rng(9).standard_normal((2, 3, 4)))
    a, b = call(ours), call(theirs)
    assert_same(a, b)
    backprop_both([ours], [theirs], a, b)


def test_cross_entropy_of_nd_logits_matches_torch_to_second_order(torch):
    logits = np.random.default_rng(10).standard_normal((2, 3, 4, 5))
    target = np.random.default_rng(11).integers(0, 3, (2, 4, 5))
    ours, theirs = both(torch, logits)
    a = F.cross_entropy(ours, target)
    b = torch.nn.functional.cross_entropy(theirs, torch.tensor(target))
    assert_same(a, b)
    (ga,) = ad.grad(a, ours, create_graph=True)
    (gb,) = torch.autograd.grad(b, theirs, create_graph=True)
    assert_same(ga, gb)
    (ga * ga).sum().backward()
    (gb * gb).sum().backward()
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---- repeat, squeeze, split, dim= -------------------------------------------------------------

def test_repeat_tiles_and_repeat_interleave_repeats_elements():
    data = np.arange(6.0).reshape(2, 3)
    x = leaf(data)
    np.testing.assert_array_equal(x.repeat(2, 1).data, np.tile(data, (2, 1)))
    np.testing.assert_array_equal(x.repeat((1, 2, 2)).data, np.tile(data, (1, 2, 2)))
    np.testing.assert_array_equal(ad.repeat(x, 2, 3).data, np.tile(data, (2, 3)))
    np.testing.assert_array_equal(x.repeat_interleave(2, dim=1).data, np.repeat(data, 2, axis=1))
    np.testing.assert_array_equal(x.repeat_interleave(2).data, np.repeat(data, 2))
    np.testing.assert_array_equal(ad.repeat_interleave(x, ad.tensor([1, 3]), dim=0).data,
                                  np.repeat(data, [1, 3], axis=0))
    # the gradient of each element: how many copies there are
    np.testing.assert_array_equal(grad_of(lambda t: t.repeat(2, 3), data), np.full((2, 3), 6.0))
    assert ad.gradgradcheck(lambda t: (t.repeat(2, 1, 2) ** 3).sum(), (x,))
    with pytest.raises(ValueError, match="repeat_interleave"):
        x.repeat(2)                 # fewer sizes than dims
    with pytest.raises(TypeError, match="repeat_interleave"):
        x.repeat(2, axis=0)         # numpy's keywords


@pytest.mark.parametrize("call", [
    lambda L, t: t.repeat(2, 1), lambda L, t: t.repeat(1, 2, 3), lambda L, t: t.repeat((2, 2)),
    lambda L, t: t.repeat_interleave(2), lambda L, t: t.repeat_interleave(3, dim=1),
    lambda L, t: L.repeat_interleave(t, L.tensor([2, 0]), dim=0), lambda L, t: t.tile((2,)),
], ids=["repeat21", "repeat123", "repeat_tuple", "interleave", "interleave_dim", "interleave_tensor", "tile"])
def test_repeat_forms_match_torch(torch, call):
    ours, theirs = both(torch, np.random.default_rng(12).standard_normal((2, 3)))
    a, b = call(ad, ours), call(torch, theirs)
    assert_same(a, b)
    backprop_both([ours], [theirs], a, b)


def test_squeeze_leaves_a_dim_whose_size_is_not_one():
    x = leaf(np.zeros((2, 1, 3, 1)))
    assert x.squeeze(0).shape == (2, 1, 3, 1)
    assert x.squeeze(1).shape == (2, 3, 1)
    assert x.squeeze((1, 2, 3)).shape == (2, 3)
    assert x.squeeze().shape == (2, 3)
    assert ad.squeeze(x, -1).shape == (2, 1, 3)


@pytest.mark.parametrize("call", [
    lambda t: t.squeeze(0), lambda t: t.squeeze(1), lambda t: t.squeeze(), lambda t: t.squeeze((1, 3)),
    lambda t: t.squeeze(-1), lambda t: t.unsqueeze(2), lambda t: t.flatten(1), lambda t: t.flatten(start_dim=2),
], ids=["sq0", "sq1", "sq", "sq13", "sq-1", "unsq2", "flatten1", "flatten_start_dim"])
def test_squeeze_forms_match_torch(torch, call):
    ours, theirs = both(torch, np.random.default_rng(13).standard_normal((2, 1, 3, 1)))
    assert_same(call(ours), call(theirs))


def test_split_takes_sizes_as_pytorch_and_sections_through_numpy():
    data = np.arange(10.0)
    x = leaf(data)
    assert [p.data.tolist() for p in x.split(4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [p.shape for p in ad.split(x, [1, 6, 3])] == [(1,), (6,), (3,)]
    assert isinstance(x.split(5), tuple)
    assert [p.data.tolist() for p in np.split(x, 2)] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    assert [p.shape for p in np.array_split(x, 3)] == [(4,), (3,), (3,)]
    assert [p.shape for p in np.split(x, [2, 5])] == [(2,), (3,), (5,)]
    with pytest.raises(ValueError, match="add up to 10"):
        x.split([3, 3])
    with pytest.raises(ValueError, match="equal division"):
        np.split(x, 3)
    np.testing.assert_array_equal(grad_of(lambda t: t.split(3)[1] * 2.0, data),
                                  [0, 0, 0, 2, 2, 2, 0, 0, 0, 0])


@pytest.mark.parametrize("call", [
    lambda L, t: t.split(2), lambda L, t: t.split(2, dim=1), lambda L, t: L.split(t, [1, 2], 1),
    lambda L, t: L.split(t, 3, dim=0), lambda L, t: t.split([2, 1], 0),
], ids=["split2", "split2dim1", "sizes", "big", "sizes0"])
def test_split_forms_match_torch(torch, call):
    ours, theirs = both(torch, np.random.default_rng(14).standard_normal((3, 3)))
    a, b = call(ad, ours), call(torch, theirs)
    assert_same(a, b)
    backprop_both([ours], [theirs], ad.cat([p.reshape(-1) for p in a]), torch.cat([p.reshape(-1) for p in b]))


def test_dim_is_accepted_by_joins_and_reductions():
    a, b = leaf(np.ones((2, 3))), leaf(np.zeros((2, 3)))
    assert ad.stack([a, b], dim=1).shape == (2, 2, 3)
    assert ad.cat([a, b], dim=1).shape == (2, 6)
    assert ad.concatenate([a, b], dim=-1).shape == (2, 6)
    assert ad.stack([a, b], axis=2).shape == (2, 3, 2)
    for name in ("sum", "mean", "amax", "amin", "prod", "logsumexp", "var", "std", "argmax", "argmin"):
        assert getattr(ad, name)(a, dim=1).shape == (2,), name
        assert getattr(a, name)(dim=0, keepdim=True).shape == (1, 3), name
    assert a.any(dim=1).shape == (2,) and a.all(1, keepdim=True).shape == (2, 1)
    assert ad.softmax(a, dim=0).shape == (2, 3) and ad.log_softmax(a, dim=1).shape == (2, 3)


def test_joins_of_mixed_dtypes_promote_as_torch(torch):
    parts = [np.arange(3, dtype=np.int64), np.ones(3, np.float32)]
    ours = ad.cat([ad.tensor(p) for p in parts])
    theirs = torch.cat([torch.tensor(p) for p in parts])
    assert_same(ours, theirs)
    assert_same(ad.stack([ad.tensor(p) for p in parts], dim=1), torch.stack([torch.tensor(p) for p in parts], 1))


# ---- type promotion ----------------------------------------------------------------------------

DTYPES = ["bool", "uint8", "int32", "int64", "float16", "float32", "float64"]


def _operand(lib, kind, dtype):
    """A 1-d tensor, a 0-d tensor or a Python number of ``dtype``."""
    values = np.array([1, 2, 3]).astype(dtype)
    if kind == "1d":
        return lib.tensor(values)
    if kind == "0d":
        return lib.tensor(values[1])
    return values[1].item()         # a Python bool, int or float


@pytest.mark.parametrize("left", DTYPES)
@pytest.mark.parametrize("right", DTYPES)
@pytest.mark.parametrize("kinds", [("1d", "1d"), ("1d", "0d"), ("0d", "1d"), ("1d", "number"), ("0d", "0d"),
                                   ("number", "1d")])
def test_binary_promotion_matches_torch(torch, left, right, kinds):
    for name, op in [("add", lambda a, b: a + b), ("mul", lambda a, b: a * b), ("div", lambda a, b: a / b)]:
        if "bool" in (left, right) and name == "add" and left == right:
            continue
        a, b = _operand(torch, kinds[0], left), _operand(torch, kinds[1], right)
        if not isinstance(a, torch.Tensor) and not isinstance(b, torch.Tensor):
            continue
        try:
            expected = op(a, b)
        except (RuntimeError, TypeError):
            continue
        got = op(_operand(ad, kinds[0], left), _operand(ad, kinds[1], right))
        assert str(got.dtype) == str(expected.dtype).replace("torch.", ""), (name, left, right, kinds)
        np.testing.assert_allclose(got.data.astype(np.float64), expected.double().numpy(), rtol=1e-3)


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int8", "int32", "int64"])
@pytest.mark.parametrize("name", ["exp", "log", "log1p", "sqrt", "sin", "cos", "tanh", "sigmoid", "abs", "neg",
                                  "relu"])
def test_unary_ops_of_integers_take_the_default_float_dtype(torch, dtype, name):
    values = np.array([1, 2, 3]).astype(dtype)
    try:
        expected = getattr(torch, name)(torch.tensor(values))
    except (RuntimeError, NotImplementedError, TypeError):
        return          # PyTorch has no such op for bool (neg, abs, relu)
    got = getattr(ad, name)(ad.tensor(values))
    assert str(got.dtype) == str(expected.dtype).replace("torch.", "")
    np.testing.assert_allclose(got.data.astype(np.float64), expected.double().numpy(), rtol=1e-6)


def test_promotion_formulas_without_torch():
    i, f32 = ad.tensor([1, 2, 3]), ad.tensor([1.0, 2.0, 3.0])
    assert (i / 2).dtype == np.float32 and (i / 2).data.tolist() == [0.5, 1.0, 1.5]
    assert (i * 1.5).dtype == np.float32 and (i + f32).dtype == np.float32
    assert (f32 * ad.tensor(2.0, dtype=ad.float64)).dtype == np.float32
    assert (f32 + ad.tensor([1.0, 1.0, 1.0], dtype=ad.float64)).dtype == np.float64
    assert ad.exp(i).dtype == np.float32 and (i ** 0.5).dtype == np.float32 and (i ** 2).dtype == np.int64
    assert ad.where(i > 1, i, 2.5).dtype == np.float32 and ad.clamp(i, min=0.5).dtype == np.float32
    ad.set_default_dtype(ad.float64)
    assert (i / 2).dtype == np.float64 and ad.exp(i).dtype == np.float64


def test_float32_gradient_of_a_float64_zero_d_operand_keeps_its_dtype(torch):
    w32 = leaf([1.0, 2.0], np.float32)
    s64 = leaf(3.0)
    out = w32 * s64
    assert out.dtype == np.float32
    out.sum().backward()
    assert w32.grad.dtype == np.float32 and s64.grad.dtype == np.float64
    tw, ts = torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    (tw * ts).sum().backward()
    np.testing.assert_allclose(s64.grad.data, ts.grad.numpy())


def test_casts_follow_torch(torch):
    data = np.array([1.5, -2.25, 3.0])
    ours, theirs = ad.tensor(data), torch.tensor(data)
    for name in ("int", "long", "float", "double", "half", "bool", "short", "byte"):
        if name == "byte":
            ours_in, theirs_in = ad.tensor(np.abs(data)), torch.tensor(np.abs(data))
        else:
            ours_in, theirs_in = ours, theirs
        assert_same(getattr(ours_in, name)(), getattr(theirs_in, name)())
    assert ours.int().dtype == np.int32 and ours.long().dtype == np.int64
    for dtype in ("float16", "float32", "int64", "bool"):
        assert_same(ours.to(getattr(ad, dtype)), theirs.to(getattr(torch, dtype)))
        assert_same(ours.type(getattr(ad, dtype)), theirs.type(getattr(torch, dtype)))
    assert ours.type() == theirs.type() == "torch.DoubleTensor"
    assert ad.tensor([1.0]).type() == torch.tensor([1.0]).type()
    assert_same(ours.type("torch.FloatTensor"), theirs.type("torch.FloatTensor"))
    assert_same(ours.to("cpu", ad.float32), theirs.to("cpu", torch.float32))
    assert_same(ours.to(ad.tensor([1], dtype=ad.int32)), theirs.to(torch.tensor([1], dtype=torch.int32)))


# ---- layers refuse an input of another dtype ---------------------------------------------------

@pytest.mark.parametrize("make,shape", [
    (lambda: nn.Linear(3, 2), (4, 3)), (lambda: nn.LayerNorm(3), (4, 3)), (lambda: nn.BatchNorm1d(3), (4, 3)),
    (lambda: nn.Conv2d(3, 2, 2), (1, 3, 4, 4)), (lambda: nn.ConvTranspose2d(3, 2, 2), (1, 3, 4, 4)),
    (lambda: nn.MLP([3, 4, 2]), (4, 3)),
])
def test_a_float64_input_to_a_float32_layer_names_both_dtypes_and_the_fix(make, shape):
    layer = make()
    x = ad.tensor(np.ones(shape))          # float64
    with pytest.raises(RuntimeError, match=r"float64.*float32.*x\.float\(\).*model\.double\(\)"):
        layer(x)
    with pytest.raises(TypeError):         # also a TypeError, as Python code may expect
        layer(x)
    assert layer(x.float()).dtype == np.float32
    assert layer.double()(x).dtype == np.float64


def test_mixed_dtype_matmul_raises_as_torch(torch):
    a, b = ad.ones(2, 3), ad.ones(3, 2, dtype=ad.float64)
    with pytest.raises(RuntimeError, match="same dtype"):
        a @ b
    with pytest.raises(RuntimeError):
        torch.ones(2, 3) @ torch.ones(3, 2, dtype=torch.float64)
    assert (a @ b.float()).dtype == np.float32


# ---- dtypes, devices, from_numpy, inplace -----------------------------------------------------

def test_dtype_constants_and_devices():
    assert ad.zeros(2, dtype=ad.float64).dtype == np.float64 and ad.ones(2, dtype=ad.float16).dtype == np.float16
    assert ad.tensor([1, 2], dtype=ad.int32).dtype == np.int32 and ad.full((2,), True).dtype == ad.bool
    assert ad.arange(3, dtype=ad.float64).dtype == np.float64
    x = ad.tensor([1.0, 2.0])
    assert x.to("cpu") is x and x.cpu() is x and x.to(device="cpu") is x and str(x.device) == "cpu"
    assert x.device == ad.device("cpu")
    for call in (lambda: x.to("cuda"), lambda: x.cuda(), lambda: x.to("mps:0"), lambda: ad.device("cuda")):
        with pytest.raises(RuntimeError, match="cpu"):
            call()
    model = nn.Linear(2, 3)
    assert model.to("cpu") is model and model.cpu() is model


def test_from_numpy_shares_memory(torch):
    array = np.arange(3.0)
    t = ad.from_numpy(array)
    array[0] = 7.0
    assert t.data[0] == 7.0 and t.dtype == np.float64
    t.data[1] = 8.0
    assert array[1] == 8.0
    assert_same(ad.from_numpy(np.arange(3, dtype=np.int32)), torch.from_numpy(np.arange(3, dtype=np.int32)))
    with pytest.raises(TypeError, match="ndarray"):
        ad.from_numpy([1.0, 2.0])


def test_inplace_flags_change_the_input_as_torch(torch):
    data = np.array([[-1.0, 2.0], [3.0, -4.0]])
    for ours_layer, theirs_layer in [(nn.ReLU(inplace=True), torch.nn.ReLU(inplace=True)),
                                     (nn.LeakyReLU(0.1, inplace=True), torch.nn.LeakyReLU(0.1, inplace=True))]:
        ours, theirs = ad.tensor(data), torch.tensor(data)
        out_ours, out_theirs = ours_layer(ours), theirs_layer(theirs)
        assert out_ours is ours
        np.testing.assert_array_equal(ours.data, theirs.numpy())
        np.testing.assert_array_equal(out_ours.data, out_theirs.numpy())
        assert repr(ours_layer) == repr(theirs_layer)
    # on the graph: a non-leaf changed in place, the gradient through the new value
    a, b = both(torch, data)
    h_ours, h_theirs = a * 2.0, b * 2.0
    F.relu(h_ours, inplace=True)
    torch.nn.functional.relu(h_theirs, inplace=True)
    (h_ours * h_ours).sum().backward()
    (h_theirs * h_theirs).sum().backward()
    np.testing.assert_array_equal(a.grad.data, b.grad.numpy())
    assert repr(nn.Dropout(0.2, inplace=True)) == repr(torch.nn.Dropout(0.2, inplace=True))
    assert nn.Dropout(0.5, inplace=True).eval()(ad.tensor(data)).shape == (2, 2)


def test_nn_and_optim_are_reachable_from_ad():
    assert ad.nn is nn and ad.nn.functional is F
    import optim
    assert ad.optim is optim and ad.optim.SGD is optim.SGD


# ---- .grad assignment, failed backward ---------------------------------------------------------

def test_assigning_grad_is_checked_at_the_assignment():
    p = leaf([1.0, 2.0])
    with pytest.raises(TypeError, match=r"Tensor or None.*int.*p\.grad = None"):
        p.grad = 0
    with pytest.raises(TypeError, match="ndarray"):
        p.grad = np.zeros(2)
    with pytest.raises(RuntimeError, match=r"shape.*\(3,\).*\(2,\)"):
        p.grad = ad.zeros(3, dtype=ad.float64)
    with pytest.raises(RuntimeError, match="float32.*float64"):
        p.grad = ad.zeros(2)
    assert p.grad is None
    p.grad = ad.tensor([0.5, 0.5], dtype=ad.float64)
    (p * p).sum().backward()
    np.testing.assert_array_equal(p.grad.data, [2.5, 4.5])
    p.grad = None
    assert p.grad is None


def test_assigning_grad_matches_torch_errors(torch):
    q = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError):
        q.grad = 0
    with pytest.raises(RuntimeError):
        q.grad = torch.zeros(3)
    with pytest.raises(RuntimeError):
        q.grad = torch.zeros(2, dtype=torch.float64)


def test_a_failing_backward_changes_no_grad():
    a, b, c = leaf([1.0, 2.0]), leaf([3.0, 4.0]), leaf([5.0])
    a.grad = ad.tensor([10.0, 10.0], dtype=ad.float64)

    def fails(grad):
        raise ValueError("a hook that fails")
    b.register_hook(fails)
    loss = (a * b).sum() + (c * c).sum()
    with pytest.raises(ValueError, match="hook that fails"):
        loss.backward()
    np.testing.assert_array_equal(a.grad.data, [10.0, 10.0])
    assert b.grad is None and c.grad is None


def test_micrograd_update_idioms():
    p = leaf([1.0, -2.0])
    (p * p).sum().backward()
    p.data -= 0.1 * p.grad                      # a graph-free result into a plain array
    np.testing.assert_allclose(p.data, [0.8, -1.6])
    p.data += -0.1 * p.grad
    np.testing.assert_allclose(p.data, [0.6, -1.2])
    with pytest.raises(RuntimeError, match=r"with ad\.no_grad\(\): p -= lr \* p\.grad"):
        p -= 0.1 * p.grad
    with ad.no_grad():
        p -= 0.1 * p.grad
    np.testing.assert_allclose(p.data, [0.4, -0.8])
    with pytest.raises(RuntimeError, match=r"with ad\.no_grad\(\)"):
        p.data -= p * 0.1                       # a result that requires grad would leave the graph


# ---- x ** k ------------------------------------------------------------------------------------

def _ulps(a, b):
    a, b = np.asarray(a), np.asarray(b, a.dtype)
    kind = np.int32 if a.dtype == np.float32 else np.int64
    return int(np.abs(a.view(kind).astype(np.int64) - b.view(kind).astype(np.int64)).max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [2, 3, 4, -1, -2, 0.5, -0.5, 0, 1])
def test_small_powers_are_within_an_ulp_of_torch(torch, dtype, k):
    data = np.random.default_rng(15).standard_normal(4000).astype(dtype) * 3
    data[data == 0] = 1
    if k in (0.5, -0.5):
        data = np.abs(data)
    ours, theirs = ad.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    out_ours, out_theirs = ours ** k, theirs ** k
    assert _ulps(out_ours.data, out_theirs.detach().numpy()) <= 1
    out_ours.backward(ad.tensor(np.ones_like(data)))
    out_theirs.backward(torch.ones_like(theirs))
    assert _ulps(ours.grad.data, theirs.grad.numpy()) <= 1


@pytest.mark.parametrize("k", [2, 3, 4, -1, -2, 0.5, -3, 5, 2.5])
def test_powers_match_their_formula_and_second_derivative(k):
    data = np.random.default_rng(16).uniform(0.5, 2.0, 6) * (1 if k in (0.5, 2.5) else np.array([1, -1] * 3))
    x = leaf(data)
    np.testing.assert_allclose((x ** k).data, np.power(data, float(k)), rtol=1e-15)
    np.testing.assert_allclose(grad_of(lambda t: t ** k, data), k * np.power(data, k - 1.0), rtol=1e-14)
    assert ad.gradgradcheck(lambda t: (t ** k).sum(), (x,))


def test_integer_powers_keep_integers_and_refuse_negative_exponents():
    assert (ad.tensor([2, 3]) ** 2).data.tolist() == [4, 9]
    with pytest.raises(ValueError, match="negative integer powers"):
        ad.tensor([2, 3]) ** -1


# ---- numpy's functions keep numpy's meanings ---------------------------------------------------

NUMPY_CALLS = {
    "max": lambda m, x: m.max(x, axis=1), "min": lambda m, x: m.min(x, axis=(0, 2), keepdims=True),
    "amax": lambda m, x: m.amax(x), "amin": lambda m, x: m.amin(x, 0),
    "var": lambda m, x: m.var(x, axis=1), "var_ddof": lambda m, x: m.var(x, 0, ddof=1),
    "std": lambda m, x: m.std(x), "std_ddof": lambda m, x: m.std(x, axis=2, ddof=1, keepdims=True),
    "transpose": lambda m, x: m.transpose(x), "transpose_axes": lambda m, x: m.transpose(x, (1, 2, 0)),
    "squeeze": lambda m, x: m.squeeze(x[:, :1], axis=1), "repeat": lambda m, x: m.repeat(x, 2, axis=1),
    "repeat_flat": lambda m, x: m.repeat(x, 2), "split": lambda m, x: m.split(x, 2, axis=0)[1],
    "split_points": lambda m, x: m.split(x, [1, 3], axis=2)[1], "array_split": lambda m, x: m.array_split(x, 3, 2)[0],
    "dot": lambda m, x: m.dot(x, x.reshape(3, 4, 2)), "dot_2d": lambda m, x: m.dot(x[0], x[1].T),
    "sum": lambda m, x: m.sum(x, (0, 2)), "mean": lambda m, x: m.mean(x, axis=-1), "prod": lambda m, x: m.prod(x, 1),
    "concatenate_none": lambda m, x: m.concatenate([x, x], axis=None), "stack": lambda m, x: m.stack([x, x], 1),
    "swapaxes": lambda m, x: m.swapaxes(x, 0, 2), "expand_dims": lambda m, x: m.expand_dims(x, (0, 2)),
    "tile": lambda m, x: m.tile(x, (2, 1)), "clip": lambda m, x: m.clip(x, -0.5, 0.5),
}


@pytest.mark.parametrize("name", sorted(NUMPY_CALLS))
def test_numpy_functions_on_tensors_keep_numpy_meanings(name):
    data = make_arrays([(2, 3, 4)], "nonzero")[0]
    call = NUMPY_CALLS[name]
    x = leaf(data)
    out = call(np, x)
    assert isinstance(out, ad.Tensor) and out.requires_grad
    expected = call(np, data)
    assert out.shape == expected.shape and out.dtype == expected.dtype
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-15)
    assert ad.gradcheck(lambda t: call(np, t), (x,))


def test_numpy_functions_of_integers_take_numpy_dtypes():
    ints = ad.tensor([1, 2, 4])
    for call in (lambda m, x: m.mean(x), lambda m, x: m.var(x), lambda m, x: m.std(x), lambda m, x: m.sum(x),
                 lambda m, x: m.exp(x), lambda m, x: m.true_divide(x, 2), lambda m, x: m.add(x, 1.5),
                 lambda m, x: m.sqrt(x), lambda m, x: m.where(x > 1, x, 0.5)):
        out, expected = call(np, ints), call(np, ints.data)
        assert out.dtype == np.asarray(expected).dtype
        np.testing.assert_allclose(out.data, expected)


def test_np_dot_of_nd_tensors_is_numpys_and_t_dot_is_1d_only(torch):
    a, b, c = (make_arrays([s], "real", seed)[0] for s, seed in [((2, 3), 1), ((2, 3, 4), 2), ((2, 2, 3), 3)])
    for x, y in [(a, b), (c, b), (b, np.ones(4)), (np.ones(3), b)]:
        out = np.dot(leaf(x), leaf(y))
        assert out.shape == np.dot(x, y).shape
        np.testing.assert_allclose(out.data, np.dot(x, y), rtol=1e-12)
        assert ad.gradcheck(lambda s, t: np.dot(s, t), (leaf(x), leaf(y)))
    assert np.dot(leaf(c), leaf(b)).shape == (2, 2, 2, 4)
    u, v = make_arrays([(5,), (5,)], "real")
    ours = (both(torch, u), both(torch, v))
    assert_same(ours[0][0].dot(ours[1][0]), ours[0][1].dot(ours[1][1]))
    assert_same(ad.dot(ours[0][0], ours[1][0]), torch.dot(ours[0][1], ours[1][1]))
    with pytest.raises(RuntimeError, match="1D"):
        leaf(a).dot(leaf(a))
    with pytest.raises(RuntimeError):
        torch.tensor(a).dot(torch.tensor(a))


# ---- the bugs found by peers' test suites ------------------------------------------------------

@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_of_a_zero_d_tensor(torch, name):
    ours, theirs = both(torch, 3.0)
    for dim in (0, -1):
        a, b = getattr(ad, name)(ours, dim), getattr(torch, name)(theirs, dim)
        assert_same(a, b)
    a.backward()
    b.backward()
    np.testing.assert_array_equal(ours.grad.data, theirs.grad.numpy())
    assert getattr(ours, name)(0).item() == (1.0 if name == "softmax" else 0.0)


def test_a_boolean_mask_must_match_the_dims_it_indexes(torch):
    a = ad.tensor(np.arange(10.0), requires_grad=True)
    with pytest.raises(IndexError, match="mask"):
        a[ad.tensor([True, False])]
    with pytest.raises(IndexError):
        torch.arange(10.0)[torch.tensor([True, False])]
    with pytest.raises(IndexError):
        np.arange(10.0)[np.array([True, False])]
    m = ad.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    with pytest.raises(IndexError, match="dim 1"):
        m[:, [True, False, True]]
    with pytest.raises(IndexError):
        m[np.ones((3, 3), bool)]
    mask = np.array([True, False, True, True])
    np.testing.assert_array_equal(m[:, mask].data, m.data[:, mask])
    np.testing.assert_array_equal(m[..., mask].data, m.data[..., mask])
    np.testing.assert_array_equal(m[m.data > 5].data, m.data[m.data > 5])
    m[1, mask].sum().backward()
    np.testing.assert_array_equal(m.grad.data, np.outer([0, 1, 0], mask))


@pytest.mark.parametrize("index", [
    lambda j: ((0,), j), lambda j: (j, (2, 1, 0)), lambda j: ((0, 2), slice(None)), lambda j: (slice(None), (3,)),
    lambda j: ((1, 1), [0, 3]),
], ids=["tuple_first", "tuple_second", "tuple_rows", "tuple_column", "repeated"])
def test_tuples_inside_an_index_index_as_numpy_and_torch(torch, index):
    data = np.arange(12.0).reshape(3, 4)
    j = np.array([2, 0, 1])
    ours, theirs = both(torch, data)
    expected = data[index(j)]
    out = ours[index(j)]
    np.testing.assert_array_equal(out.data, expected)
    torch_out = theirs[index(torch.tensor(j))]
    assert_same(out, torch_out)
    backprop_both([ours], [theirs], out, torch_out)


def test_a_list_of_sequences_indexes_as_an_index_array_as_numpy():
    # numpy's meaning, and PyTorch's announced one (PyTorch 2.13 still reads it as a tuple, with
    # a deprecation warning): listed in the README's deliberate differences
    data = np.arange(12.0).reshape(3, 4)
    x = leaf(data)
    np.testing.assert_array_equal(x[[(0, 1), (1, 2)]].data, data[[(0, 1), (1, 2)]])
    assert x[[(0, 1), (1, 2)]].shape == (2, 2, 4)


def test_an_empty_dim_tuple_reduces_every_dim_as_torch_and_none_through_numpy(torch):
    data = np.random.default_rng(17).standard_normal((2, 3))
    ours, theirs = both(torch, data)
    for name in ("sum", "mean", "amax", "var", "std"):
        assert_same(getattr(ours, name)(dim=()), getattr(theirs, name)(dim=()))
    assert np.sum(ours, axis=()).shape == (2, 3)            # numpy's axis=(): no reduction
    assert_same(ours.any(dim=()), theirs.any(dim=()))


@pytest.mark.parametrize("shape", [(4,), (2, 3), (2, 3, 4), (2, 3, 4, 5)])
def test_softmax_modules_without_a_dim_take_torchs_implicit_dim(torch, shape):
    data = np.random.default_rng(18).standard_normal(shape)
    ours, theirs = both(torch, data)
    with pytest.warns(UserWarning):
        expected = torch.nn.Softmax()(theirs), torch.nn.functional.log_softmax(theirs)
    assert_same(nn.Softmax()(ours), expected[0])
    assert_same(F.log_softmax(ours), expected[1])
    assert repr(nn.Softmax()) == repr(torch.nn.Softmax())
    # ad.softmax's own default is the last dim (torch.softmax has no default: it raises)
    np.testing.assert_allclose(ad.softmax(ours).data, torch.softmax(theirs, -1).detach().numpy(), rtol=1e-12)
