"""Convolution, pooling, interpolation, unfold/fold and padding (nn.functional's spatial ops).

Each op is checked against PyTorch (values and every input's gradient, float32 and float64) over
a grid of settings, with odd sizes, batch 1 and channel 1 among them; against the project's own
float64 central differences (gradcheck, and gradgradcheck for the ops whose backward is itself
made of differentiable ops); and for the errors a user meets first.
"""
import itertools
import warnings

import numpy as np
import pytest

import autodiff as ad
from nn import functional as F


def rand(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def leaf(array, dtype=np.float64):
    return ad.tensor(np.asarray(array, dtype=dtype), requires_grad=True)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


TOLERANCE = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}


def compare(torch, ours, theirs, arrays, dtype, grads=True, exact_grads=False, **kwargs):
    """Run ``ours`` on autodiff leaves and ``theirs`` on torch leaves made from the same arrays
    (cast to dtype): compare the outputs (shape, then values) and, backpropagating
    sum(out * weights) with fixed random weights, every input's gradient."""
    arrays = [np.asarray(a, dtype=dtype) for a in arrays]
    mine = [ad.tensor(a.copy(), requires_grad=grads) for a in arrays]
    reference = [torch.tensor(a.copy(), requires_grad=grads) for a in arrays]
    out = ours(*mine, **kwargs)
    expected = theirs(*reference, **kwargs)
    tolerance = TOLERANCE[dtype]
    assert out.shape == tuple(expected.shape), (out.shape, tuple(expected.shape))
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **tolerance)
    if not grads:
        return out
    weights = rand(*out.shape, seed=99, dtype=dtype)
    (out * ad.tensor(weights)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    for i, (a, b) in enumerate(zip(mine, reference)):
        assert a.grad is not None, f"input {i} got no gradient"
        if exact_grads:     # to the rounding of a sum: a gradient routed elsewhere is far off
            np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-6 if dtype == np.float32 else 1e-13,
                                       atol=0, err_msg=f"input {i}")
        else:
            np.testing.assert_allclose(a.grad.data, b.grad.numpy(), **tolerance, err_msg=f"input {i}")
    return out


DTYPES = [np.float32, np.float64]

# ---------------------------------------------------------------------------------------------
# convolution

# (N, C_in, spatial, C_out, kernel, stride, padding, dilation, groups, bias)
CONV2D_CASES = [
    (2, 3, (7, 6), 4, (3, 3), 1, 0, 1, 1, True),
    (1, 1, (5, 5), 1, (3, 3), 1, 1, 1, 1, False),            # batch 1, channel 1
    (2, 4, (9, 8), 6, (3, 2), (2, 3), (1, 2), (2, 1), 2, True),
    (3, 6, (5, 7), 6, (3, 3), 1, "same", 1, 6, True),         # depthwise, 'same'
    (2, 2, (6, 6), 3, (2, 2), 1, "same", 2, 1, True),         # 'same' with an even kernel
    (1, 3, (8, 7), 2, (1, 1), 2, 0, 1, 1, True),              # 1x1, strided
    (2, 4, (6, 5), 4, (3, 3), 2, 1, 1, 4, False),
    (2, 3, (5, 5), 2, (5, 5), 1, "valid", 1, 1, True),         # kernel = input
    (1, 4, (11, 3), 8, (4, 2), (3, 1), (2, 1), (1, 2), 2, True),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", CONV2D_CASES, ids=[f"case{i}" for i in range(len(CONV2D_CASES))])
def test_conv2d_matches_torch(torch, case, dtype):
    n, c, spatial, o, kernel, stride, padding, dilation, groups, bias = case
    arrays = [rand(n, c, *spatial, seed=1), rand(o, c // groups, *kernel, seed=2)] + ([rand(o, seed=3)] if bias else [])

    def run(f):
        return lambda x, w, b=None: f(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    compare(torch, run(F.conv2d), run(torch.nn.functional.conv2d), arrays, dtype)


CONV1D_CASES = [
    (2, 3, 9, 4, 3, 1, 0, 1, 1),
    (1, 1, 7, 1, 2, 2, 1, 1, 1),
    (3, 4, 10, 6, 3, 3, 2, 2, 2),
    (2, 4, 8, 4, 4, 1, "same", 1, 4),
    (2, 2, 5, 3, 3, 1, "valid", 2, 1),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", CONV1D_CASES, ids=[f"case{i}" for i in range(len(CONV1D_CASES))])
def test_conv1d_matches_torch(torch, case, dtype):
    n, c, length, o, kernel, stride, padding, dilation, groups = case
    arrays = [rand(n, c, length, seed=1), rand(o, c // groups, kernel, seed=2), rand(o, seed=3)]

    def run(f):
        return lambda x, w, b: f(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    with warnings.catch_warnings():     # PyTorch's note on 'same' with an even kernel
        warnings.simplefilter("ignore", UserWarning)
        compare(torch, run(F.conv1d), run(torch.nn.functional.conv1d), arrays, dtype)


# (N, C_in, spatial, C_out, kernel, stride, padding, output_padding, dilation, groups)
CONV_TRANSPOSE2D_CASES = [
    (2, 3, (4, 5), 2, (3, 3), 1, 0, 0, 1, 1),
    (1, 1, (3, 3), 1, (2, 2), 2, 0, 0, 1, 1),
    (2, 4, (5, 4), 6, (3, 3), 2, 1, 1, 1, 2),
    (2, 2, (3, 4), 4, (3, 2), (2, 3), (1, 0), (1, 2), (2, 1), 1),
    (1, 4, (5, 5), 4, (3, 3), 1, 1, 1, 2, 4),                # output_padding < dilation
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", CONV_TRANSPOSE2D_CASES, ids=[f"case{i}" for i in range(len(CONV_TRANSPOSE2D_CASES))])
def test_conv_transpose2d_matches_torch(torch, case, dtype):
    n, c, spatial, o, kernel, stride, padding, output_padding, dilation, groups = case
    arrays = [rand(n, c, *spatial, seed=1), rand(c, o // groups, *kernel, seed=2), rand(o, seed=3)]

    def run(f):
        return lambda x, w, b: f(x, w, b, stride=stride, padding=padding, output_padding=output_padding,
                                 groups=groups, dilation=dilation)
    compare(torch, run(F.conv_transpose2d), run(torch.nn.functional.conv_transpose2d), arrays, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", [(2, 3, 5, 2, 3, 2, 1, 1, 1, 1), (1, 4, 4, 2, 2, 3, 0, 2, 1, 2),
                                  (2, 2, 6, 2, 3, 1, 2, 1, 2, 1)])
def test_conv_transpose1d_matches_torch(torch, case, dtype):
    n, c, length, o, kernel, stride, padding, output_padding, dilation, groups = case
    arrays = [rand(n, c, length, seed=1), rand(c, o // groups, kernel, seed=2), rand(o, seed=3)]

    def run(f):
        return lambda x, w, b: f(x, w, b, stride, padding, output_padding, groups, dilation)
    compare(torch, run(F.conv_transpose1d), run(torch.nn.functional.conv_transpose1d), arrays, dtype)


def test_unbatched_inputs_match_torch(torch):
    x, w = rand(3, 6, 5, seed=1), rand(4, 3, 3, 3, seed=2)
    compare(torch, lambda a, b: F.conv2d(a, b, padding=1), lambda a, b: torch.nn.functional.conv2d(a, b, padding=1),
            [x, w], np.float64)
    compare(torch, lambda a: F.max_pool2d(a, 2), lambda a: torch.nn.functional.max_pool2d(a, 2), [x], np.float64)
    compare(torch, lambda a, b: F.conv1d(a, b), lambda a, b: torch.nn.functional.conv1d(a, b),
            [rand(3, 7), rand(2, 3, 2)], np.float64)


def test_channels_last_memory_gives_the_same_values_and_gradients():
    # conv outputs live in channels-last memory; an op must not care how its input is laid out
    data = rand(2, 5, 6, 7, seed=1)
    layouts = {"nchw": np.ascontiguousarray(data),
               "nhwc": np.ascontiguousarray(data.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)}
    weight = rand(4, 5, 3, 3, seed=2)
    results = {}
    for name, array in layouts.items():
        x = ad.Tensor(array, requires_grad=True)
        out = F.max_pool2d(F.conv2d(x, ad.tensor(weight), padding=1), 2, stride=1) + F.avg_pool2d(x, 3, 1, 1).sum()
        out.backward(ad.tensor(rand(*out.shape, seed=3)))
        results[name] = (out.data, x.grad.data)
    assert not layouts["nhwc"].flags.c_contiguous
    np.testing.assert_allclose(results["nchw"][0], results["nhwc"][0], rtol=1e-12)
    np.testing.assert_allclose(results["nchw"][1], results["nhwc"][1], rtol=1e-12)


def test_conv_of_int_and_mixed_dtypes():
    x = ad.tensor(np.arange(16).reshape(1, 1, 4, 4))
    w = ad.tensor(np.ones((1, 1, 2, 2), np.int64))
    out = F.conv2d(x, w)
    assert out.dtype == np.int64 and out.data[0, 0, 0, 0] == 0 + 1 + 4 + 5
    # float32 input, float64 weight: an error naming both dtypes and the fix, as PyTorch raises
    with pytest.raises(RuntimeError, match=r"float32.*float64.*x\.to\(float64\)"):
        F.conv2d(ad.tensor(rand(1, 1, 4, 4, dtype=np.float32)), leaf(rand(1, 1, 2, 2)))


# ---------------------------------------------------------------------------------------------
# gradcheck / gradgradcheck (float64 central differences, no torch)


def test_conv2d_gradcheck_and_gradgradcheck():
    inputs = (leaf(rand(2, 4, 5, 4, seed=1)), leaf(rand(4, 2, 2, 3, seed=2)), leaf(rand(4, seed=3)))

    def f(x, w, b):
        return F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
    assert ad.gradcheck(f, inputs)
    assert ad.gradgradcheck(f, inputs)


def test_conv1d_and_conv_transpose_gradgradcheck():
    conv_inputs = (leaf(rand(1, 2, 7, seed=1)), leaf(rand(3, 2, 3, seed=2)), leaf(rand(3, seed=3)))
    assert ad.gradgradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding="valid", dilation=2), conv_inputs)
    transpose_inputs = (leaf(rand(1, 4, 3, 2, seed=4)), leaf(rand(4, 1, 2, 3, seed=5)), leaf(rand(2, seed=6)))

    def f(x, w, b):
        return F.conv_transpose2d(x, w, b, stride=2, padding=(0, 1), output_padding=1, groups=2)
    assert ad.gradcheck(f, transpose_inputs)
    assert ad.gradgradcheck(f, transpose_inputs)


def test_second_derivative_of_a_conv_net_matches_torch(torch):
    # a gradient penalty through conv, relu-free smooth layers and pooling: d/dw of |dL/dx|^2
    x, w1, w2 = rand(2, 2, 6, 6, seed=1), rand(3, 2, 3, 3, seed=2), rand(2, 3, 2, 2, seed=3)

    def penalty(module, conv, pool, tanh, grad, xs):
        x, w1, w2 = xs
        h = tanh(conv(x, w1, None, 1, 1))
        y = pool(conv(h, w2, None, 2, 0), 2)
        (gx,) = grad(y.sum(), x)
        return (gx * gx).sum()
    ours_leaves = [leaf(a) for a in (x, w1, w2)]
    p = penalty(ad, F.conv2d, F.max_pool2d, ad.tanh,
                lambda out, inp: ad.grad(out, inp, create_graph=True), ours_leaves)
    p.backward()
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w1, w2)]
    tf = torch.nn.functional
    q = penalty(torch, tf.conv2d, tf.max_pool2d, torch.tanh,
                lambda out, inp: torch.autograd.grad(out, inp, create_graph=True), theirs)
    q.backward()
    np.testing.assert_allclose(p.item(), q.item(), rtol=1e-10)
    for a, b in zip(ours_leaves, theirs):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# max pooling

# (input shape, kernel, stride, padding, dilation, ceil_mode)
MAX_POOL2D_CASES = [
    ((2, 3, 8, 8), 2, None, 0, 1, False),
    ((1, 1, 7, 5), 3, 2, 1, 1, False),
    ((2, 2, 7, 5), 3, 2, 1, 1, True),
    ((1, 3, 9, 10), (3, 2), (2, 1), (1, 1), (2, 3), False),
    ((2, 1, 6, 7), (2, 3), (3, 2), (1, 0), 1, True),
    ((1, 2, 5, 5), 4, 1, 2, 1, False),
    ((1, 2, 8, 9), 3, 3, 0, 2, True),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", MAX_POOL2D_CASES, ids=[f"case{i}" for i in range(len(MAX_POOL2D_CASES))])
def test_max_pool2d_matches_torch_with_indices(torch, case, dtype):
    shape, kernel, stride, padding, dilation, ceil_mode = case
    # a quarter of the values tied at 0 (as after a ReLU), the rest distinct
    data = np.maximum(rand(*shape, seed=4), -0.7) + 0.7

    def run(f):
        return lambda x: f(x, kernel, stride, padding, dilation, ceil_mode, True)[0]
    compare(torch, run(F.max_pool2d), run(torch.nn.functional.max_pool2d), [data], dtype, exact_grads=True)
    ours = F.max_pool2d(ad.tensor(data), kernel, stride, padding, dilation, ceil_mode, return_indices=True)[1]
    theirs = torch.nn.functional.max_pool2d(torch.tensor(data), kernel, stride, padding, dilation, ceil_mode,
                                            return_indices=True)[1]
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours.data, theirs.numpy())


@pytest.mark.parametrize("case", [(2, None, 0, 1, False), (3, 2, 1, 1, True), (2, 1, 1, 2, False),
                                  (4, 3, 2, 1, True)])
def test_max_pool1d_matches_torch_with_indices(torch, case):
    kernel, stride, padding, dilation, ceil_mode = case
    data = np.maximum(rand(2, 3, 11, seed=5), 0)

    def run(f):
        return lambda x: f(x, kernel, stride, padding, dilation, ceil_mode)
    compare(torch, run(F.max_pool1d), run(torch.nn.functional.max_pool1d), [data], np.float64, exact_grads=True)
    ours = F.max_pool1d(ad.tensor(data), kernel, stride, padding, dilation, ceil_mode, return_indices=True)[1]
    theirs = torch.nn.functional.max_pool1d(torch.tensor(data), kernel, stride, padding, dilation, ceil_mode,
                                            return_indices=True)[1]
    np.testing.assert_array_equal(ours.data, theirs.numpy())


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_max_pool_ties_route_to_the_first_position_as_torch(torch, layout):
    # all-zero windows (after a ReLU) and windows of equal positive values: the whole gradient
    # goes to one position, the first in scan order; overlapping windows accumulate
    data = np.zeros((2, 3, 6, 6))
    data[0, 0, 2:4, 2:4] = 1.0
    data[1, 2, :, 3] = 2.0
    data[1, 1] = np.arange(36).reshape(6, 6) % 3
    if layout == "channels_last":
        data = np.ascontiguousarray(data.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    for kernel, stride, padding in [(2, 2, 0), (3, 1, 1), (3, 2, 0)]:
        def run(f):
            return lambda x: f(x, kernel, stride, padding)
        compare(torch, run(F.max_pool2d), run(torch.nn.functional.max_pool2d), [data], np.float64,
                exact_grads=True)


def test_max_pool_nan_and_infinities_as_torch(torch):
    data = rand(1, 2, 5, 6, seed=6)
    data[0, 0, 0, :3] = np.nan
    data[0, 0, 3, 3] = np.nan
    data[0, 1, :2, :] = -np.inf
    data[0, 1, 4, 5] = np.inf
    for kernel, stride, padding in [(2, 2, 1), (3, 1, 1), (2, 1, 0)]:
        ours, our_indices = F.max_pool2d(ad.tensor(data), kernel, stride, padding, return_indices=True)
        theirs, their_indices = torch.nn.functional.max_pool2d(torch.tensor(data), kernel, stride, padding,
                                                               return_indices=True)
        np.testing.assert_array_equal(ours.data, theirs.numpy())
        np.testing.assert_array_equal(our_indices.data, their_indices.numpy())


def test_max_pool_of_integers_as_torch(torch):
    data = np.random.default_rng(7).integers(-5, 5, (2, 2, 5, 5))
    ours, indices = F.max_pool2d(ad.tensor(data), 3, 2, 1, return_indices=True)
    theirs, their_indices = torch.nn.functional.max_pool2d(torch.tensor(data), 3, 2, 1, return_indices=True)
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours.data, theirs.numpy())
    np.testing.assert_array_equal(indices.data, their_indices.numpy())


def test_max_pool_gradcheck_and_gradgradcheck():
    # distinct values (no ties): the max is differentiable there
    x = leaf(np.random.default_rng(8).permutation(2 * 2 * 5 * 6).reshape(2, 2, 5, 6) / 7.0)
    for args in [(2, 2, 0), (3, 2, 1), (3, 1, 1)]:
        assert ad.gradcheck(lambda t: F.max_pool2d(t, *args), (x,))
        assert ad.gradgradcheck(lambda t: F.max_pool2d(t, *args) ** 2, (x,))


# ---------------------------------------------------------------------------------------------
# average and adaptive pooling

AVG_POOL2D_CASES = [
    ((2, 3, 8, 8), 2, None, 0, False, True, None),
    ((1, 1, 7, 5), 3, 2, 1, False, False, None),
    ((2, 2, 7, 5), 3, 2, 1, True, True, None),
    ((2, 2, 7, 5), 3, 2, 1, True, False, None),
    ((1, 3, 6, 9), (2, 3), (1, 2), (1, 1), True, True, None),
    ((2, 2, 5, 5), 3, 2, 1, False, True, 4),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", AVG_POOL2D_CASES, ids=[f"case{i}" for i in range(len(AVG_POOL2D_CASES))])
def test_avg_pool2d_matches_torch(torch, case, dtype):
    shape, kernel, stride, padding, ceil_mode, include_pad, divisor = case

    def run(f):
        return lambda x: f(x, kernel, stride, padding, ceil_mode, include_pad, divisor)
    compare(torch, run(F.avg_pool2d), run(torch.nn.functional.avg_pool2d), [rand(*shape, seed=9)], dtype)


@pytest.mark.parametrize("case", [(2, None, 0, False, True), (3, 2, 1, True, False), (4, 3, 2, True, True)])
def test_avg_pool1d_matches_torch(torch, case):
    def run(f):
        return lambda x: f(x, *case)
    compare(torch, run(F.avg_pool1d), run(torch.nn.functional.avg_pool1d), [rand(2, 3, 11, seed=10)], np.float64)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("size", [1, 3, (2, 5), (None, 2), (4, 4)])
def test_adaptive_pools_2d_match_torch(torch, size, dtype):
    data = np.maximum(rand(2, 3, 7, 6, seed=11), 0)     # ties for the max
    compare(torch, lambda x: F.adaptive_avg_pool2d(x, size), lambda x: torch.nn.functional.adaptive_avg_pool2d(x, size),
            [data], dtype)
    compare(torch, lambda x: F.adaptive_max_pool2d(x, size), lambda x: torch.nn.functional.adaptive_max_pool2d(x, size),
            [data], dtype, exact_grads=True)
    ours = F.adaptive_max_pool2d(ad.tensor(data), size, return_indices=True)[1]
    theirs = torch.nn.functional.adaptive_max_pool2d(torch.tensor(data), size, return_indices=True)[1]
    np.testing.assert_array_equal(ours.data, theirs.numpy())


@pytest.mark.parametrize("size", [1, 4, 7, 9])
def test_adaptive_pools_1d_match_torch(torch, size):
    data = rand(2, 3, 7, seed=12)
    compare(torch, lambda x: F.adaptive_avg_pool1d(x, size), lambda x: torch.nn.functional.adaptive_avg_pool1d(x, size),
            [data], np.float64)
    compare(torch, lambda x: F.adaptive_max_pool1d(x, size), lambda x: torch.nn.functional.adaptive_max_pool1d(x, size),
            [data], np.float64, exact_grads=True)


def test_pooling_gradcheck_and_gradgradcheck():
    x = leaf(rand(1, 2, 5, 6, seed=13))
    checks = [lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False),
              lambda t: F.avg_pool1d(t.reshape(2, 5, 6), 2, 1),
              lambda t: F.adaptive_avg_pool2d(t, (3, 4))]
    for f in checks:
        assert ad.gradcheck(f, (x,))
        assert ad.gradgradcheck(lambda t: f(t) ** 2, (x,))
    distinct = leaf(np.random.default_rng(14).permutation(60).reshape(1, 2, 5, 6) / 9.0)
    assert ad.gradcheck(lambda t: F.adaptive_max_pool2d(t, (2, 4)), (distinct,))
    assert ad.gradgradcheck(lambda t: F.adaptive_max_pool2d(t, (2, 4)) ** 2, (distinct,))


# ---------------------------------------------------------------------------------------------
# interpolation

INTERPOLATE_CASES = [
    dict(size=(5, 7), mode="nearest"),
    dict(scale_factor=2, mode="nearest"),
    dict(scale_factor=(1.7, 0.6), mode="nearest"),
    dict(size=(3, 10), mode="nearest-exact"),
    dict(scale_factor=2.5, mode="nearest", recompute_scale_factor=True),
    dict(size=(7, 9), mode="bilinear", align_corners=False),
    dict(size=(7, 9), mode="bilinear", align_corners=True),
    dict(scale_factor=(0.5, 1.5), mode="bilinear"),
    dict(scale_factor=1.3, mode="bilinear", align_corners=True),
    dict(size=(2, 3), mode="area"),
    dict(size=(1, 1), mode="bilinear", align_corners=True),
    dict(size=(7, 9), mode="bicubic"),
    dict(scale_factor=(0.6, 2.2), mode="bicubic"),
    dict(scale_factor=1.5, mode="bicubic", align_corners=True),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("options", INTERPOLATE_CASES, ids=[f"case{i}" for i in range(len(INTERPOLATE_CASES))])
def test_interpolate_2d_matches_torch(torch, options, dtype):
    compare(torch, lambda x: F.interpolate(x, **options), lambda x: torch.nn.functional.interpolate(x, **options),
            [rand(2, 3, 4, 6, seed=15)], dtype)


@pytest.mark.parametrize("options", [dict(size=9, mode="linear"), dict(scale_factor=3, mode="nearest"),
                                     dict(scale_factor=0.7, mode="linear", align_corners=True), dict(size=4, mode="area")])
def test_interpolate_1d_matches_torch(torch, options):
    compare(torch, lambda x: F.interpolate(x, **options), lambda x: torch.nn.functional.interpolate(x, **options),
            [rand(2, 3, 7, seed=16)], np.float64)


def test_interpolate_gradcheck_and_gradgradcheck():
    x = leaf(rand(1, 2, 3, 4, seed=17))
    for options in [dict(size=(5, 3), mode="bilinear"), dict(scale_factor=2, mode="nearest"),
                    dict(size=(4, 6), mode="bilinear", align_corners=True)]:
        assert ad.gradcheck(lambda t: F.interpolate(t, **options), (x,))
        assert ad.gradgradcheck(lambda t: F.interpolate(t, **options) ** 2, (x,))


# ---------------------------------------------------------------------------------------------
# 3-d ops and max unpooling

THREE_D = [
    (lambda f: lambda x, w: f.conv3d(x, w, None, (1, 2, 1), 1, (1, 1, 2), 2), [(2, 4, 5, 6, 7), (4, 2, 3, 2, 3)]),
    (lambda f: lambda x, w: f.conv_transpose3d(x, w, None, 2, 1, (1, 0, 1)), [(1, 3, 3, 4, 2), (3, 2, 2, 3, 3)]),
    (lambda f: lambda x: f.max_pool3d(x, 2, 2, 1, ceil_mode=True), [(2, 2, 5, 6, 7)]),
    (lambda f: lambda x: f.avg_pool3d(x, 3, 2, 1, count_include_pad=False), [(2, 2, 5, 6, 7)]),
    (lambda f: lambda x: f.adaptive_avg_pool3d(x, (2, 4, 3)), [(2, 2, 5, 6, 7)]),
    (lambda f: lambda x: f.adaptive_max_pool3d(x, (2, 4, 3)), [(2, 2, 5, 6, 7)]),
    (lambda f: lambda x: f.interpolate(x, size=(3, 8, 4), mode="trilinear"), [(2, 2, 5, 6, 7)]),
    (lambda f: lambda x: f.interpolate(x, scale_factor=(1.5, 0.5, 2), mode="trilinear", align_corners=True),
     [(2, 2, 5, 6, 7)]),
    (lambda f: lambda x: f.interpolate(x, scale_factor=(1.5, 0.5, 2), mode="nearest"), [(2, 2, 5, 6, 7)]),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", THREE_D, ids=["conv3d", "conv_transpose3d", "max_pool3d", "avg_pool3d",
                                               "adaptive_avg_pool3d", "adaptive_max_pool3d", "trilinear",
                                               "trilinear_corners", "nearest3d"])
def test_3d_ops_match_torch(torch, case, dtype):
    make, shapes = case
    arrays = [np.maximum(rand(*shape, seed=40 + i), -0.5) for i, shape in enumerate(shapes)]
    compare(torch, make(F), make(torch.nn.functional), arrays, dtype)


@pytest.mark.parametrize("case", [(2, None, 0), (3, 2, 1), (3, 1, 1)], ids=["disjoint", "overlapping", "stride1"])
def test_max_unpool_matches_torch(torch, case):
    kernel, stride, padding = case
    tf = torch.nn.functional
    data = np.maximum(rand(2, 3, 6, 7, seed=24), 0)      # ties, and (overlapping) repeated indices
    _, indices = tf.max_pool2d(torch.tensor(data), kernel, stride, padding, return_indices=True)
    pooled = rand(*indices.shape, seed=25)
    compare(torch, lambda v: F.max_unpool2d(v, ad.tensor(indices.numpy()), kernel, stride, padding, output_size=(6, 7)),
            lambda v: tf.max_unpool2d(v, indices, kernel, stride, padding, output_size=(6, 7)), [pooled], np.float64)
    _, indices1 = tf.max_pool1d(torch.tensor(data[0]), kernel, stride, padding, return_indices=True)
    compare(torch, lambda v: F.max_unpool1d(v, indices1.numpy(), kernel, stride, padding),
            lambda v: tf.max_unpool1d(v, indices1, kernel, stride, padding), [rand(*indices1.shape, seed=26)],
            np.float64)


def test_max_unpool_gradgradcheck_and_errors():
    values, indices = F.max_pool2d(ad.tensor(rand(1, 2, 4, 4, seed=27)), 2, return_indices=True)
    assert ad.gradgradcheck(lambda v: F.max_unpool2d(v, indices, 2) ** 2, (leaf(values.data),))
    with pytest.raises(ValueError, match=r"max_unpool2d: indices must lie in \[0, 4\)"):
        F.max_unpool2d(values, indices, 1)
    with pytest.raises(ValueError, match=r"max_unpool2d: indices of shape \(1, 2, 3, 2\)"):
        F.max_unpool2d(values, indices.data[:, :, :, :].repeat(3, axis=2)[:, :, :3], 2)


# ---------------------------------------------------------------------------------------------
# unfold / fold and padding

UNFOLD_CASES = [((2, 3, 6, 5), 2, 1, 0, 1), ((1, 1, 7, 7), 3, 2, 1, 2), ((2, 2, 5, 6), (2, 3), (1, 2), (1, 0), (2, 1))]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", UNFOLD_CASES, ids=["plain", "strided", "mixed"])
def test_unfold_and_fold_match_torch(torch, case, dtype):
    shape, kernel, dilation, padding, stride = case
    options = dict(kernel_size=kernel, dilation=dilation, padding=padding, stride=stride)
    columns = compare(torch, lambda x: F.unfold(x, **options), lambda x: torch.nn.functional.unfold(x, **options),
                      [rand(*shape, seed=18)], dtype)
    compare(torch, lambda c: F.fold(c, shape[2:], **options),
            lambda c: torch.nn.functional.fold(c, shape[2:], **options), [rand(*columns.shape, seed=19)], dtype)


def test_unfold_fold_gradgradcheck():
    x = leaf(rand(1, 2, 4, 5, seed=20))
    assert ad.gradgradcheck(lambda t: F.unfold(t, 2, padding=1, stride=2) ** 2, (x,))
    c = leaf(rand(1, 8, 6, seed=21))
    assert ad.gradgradcheck(lambda t: F.fold(t, (3, 4), 2) ** 2, (c,))


PAD_CASES = [
    ((2, 3, 4, 5), (1, 2), "constant"), ((2, 3, 4, 5), (1, 2, 0, 3), "constant"),
    ((2, 3, 4, 5), (-1, 2, 1, -2), "constant"),
    ((2, 3, 4, 5), (2, 1, 3, 0, 1, 1), "constant"),
    ((2, 3, 5), (2, 3), "reflect"), ((2, 3, 4, 5), (1, 2, 3, 1), "reflect"), ((3, 5), (4, 1), "reflect"),
    ((2, 3, 5), (2, 6), "replicate"), ((2, 3, 4, 5), (1, 0, 2, 3), "replicate"), ((2, 3, 5), (-1, 2), "replicate"),
    ((2, 3, 5), (2, 5), "circular"), ((2, 3, 4, 5), (1, 2, 4, 1), "circular"), ((2, 3, 5), (-2, 3), "circular"),
    ((1, 2, 3, 4, 5), (1, 1, 2, 0, 1, 2), "replicate"),
]


@pytest.mark.parametrize("case", PAD_CASES, ids=[f"{m}{i}" for i, (_, _, m) in enumerate(PAD_CASES)])
def test_pad_matches_torch(torch, case):
    shape, amounts, mode = case
    value = 1.5 if mode == "constant" else None
    compare(torch, lambda x: F.pad(x, amounts, mode, value), lambda x: torch.nn.functional.pad(x, amounts, mode, value),
            [rand(*shape, seed=22)], np.float64)


def test_pad_gradgradcheck():
    x = leaf(rand(1, 2, 4, 3, seed=23))
    for mode in ("constant", "reflect", "replicate", "circular"):
        assert ad.gradgradcheck(lambda t: F.pad(t, (1, 2, 2, 1), mode) ** 2, (x,))


def test_pad_keeps_numpy_meaning_in_ad_pad():
    x = ad.ones(2, 3)
    assert ad.pad(x, (1, 2)).shape == (5, 6)           # numpy: every axis (1, 2)
    assert F.pad(x, (1, 2)).shape == (2, 6)            # PyTorch: the last axis only


# ---------------------------------------------------------------------------------------------
# channel dropout


def test_dropout2d_zeroes_whole_channels_and_scales_the_rest():
    ad.manual_seed(0)
    x = leaf(np.ones((8, 16, 3, 3)))
    out = F.dropout2d(x, 0.5)
    planes = out.data.reshape(8, 16, 9)
    assert set(np.unique(planes)) <= {0.0, 2.0}
    assert (planes.min(axis=2) == planes.max(axis=2)).all()       # a whole plane kept or dropped
    assert 0.3 < (planes[:, :, 0] == 0).mean() < 0.7
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, out.data)
    assert F.dropout2d(x, 0.5, training=False) is x


# ---------------------------------------------------------------------------------------------
# errors: the op, the shapes and the fix


def test_conv_errors_name_the_op_the_shapes_and_the_fix():
    w = ad.ones(4, 3, 3, 3)
    with pytest.raises(ValueError, match=r"conv2d: input of shape \(2, 5, 5, 3\) has 5 channels.*expects 3.*"
                                         r"channels-last \(N, H, W, C\).*permute\(0, 3, 1, 2\)"):
        F.conv2d(ad.ones(2, 5, 5, 3), w)
    with pytest.raises(ValueError, match=r"conv2d: input of shape \(2, 2, 5, 5\) has 2 channels.*weight of shape "
                                         r"\(4, 3, 3, 3\) with groups=1 expects 3"):
        F.conv2d(ad.ones(2, 2, 5, 5), w)
    with pytest.raises(ValueError, match=r"conv2d: the input's spatial size \(2, 2\) padded to \(2, 2\) is smaller "
                                         r"than the kernel \(3, 3\).*larger input or padding"):
        F.conv2d(ad.ones(1, 3, 2, 2), w)
    with pytest.raises(ValueError, match=r"conv2d: groups=3 does not divide the weight's 4 output channels"):
        F.conv2d(ad.ones(1, 3, 5, 5), ad.ones(4, 1, 3, 3), groups=3)
    with pytest.raises(ValueError, match=r"conv2d: groups=2 does not divide the input's 5 channels \(input shape "
                                         r"\(1, 5, 5, 5\), weight shape \(4, 2, 3, 3\)\)"):
        F.conv2d(ad.ones(1, 5, 5, 5), ad.ones(4, 2, 3, 3), groups=2)
    with pytest.raises(ValueError, match=r"conv2d: input of shape \(1, 6, 5, 5\) has 6 channels.*groups=3 expects 3"):
        F.conv2d(ad.ones(1, 6, 5, 5), ad.ones(3, 1, 3, 3), groups=3)
    with pytest.raises(ValueError, match=r"conv2d: padding='same' is not supported for strided convolutions"):
        F.conv2d(ad.ones(1, 3, 5, 5), w, padding="same", stride=2)
    with pytest.raises(ValueError, match=r"conv2d: bias of shape \(3,\).*must be \(4,\)"):
        F.conv2d(ad.ones(1, 3, 5, 5), w, ad.ones(3))
    with pytest.raises(ValueError, match=r"conv2d: expected a 4-D input \(N, C, H, W\).*got shape \(5, 5\)"):
        F.conv2d(ad.ones(5, 5), w)
    with pytest.raises(ValueError, match=r"conv1d: .*channels-last \(N, L, C\).*permute\(0, 2, 1\)"):
        F.conv1d(ad.ones(2, 7, 3), ad.ones(4, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d: stride must be positive"):
        F.conv2d(ad.ones(1, 3, 5, 5), w, stride=0)
    with pytest.raises(ValueError, match=r"conv_transpose2d: output_padding \(2, 2\) must be smaller than"):
        F.conv_transpose2d(ad.ones(1, 4, 3, 3), ad.ones(4, 2, 3, 3), stride=2, output_padding=2)
    with pytest.raises(ValueError, match=r"conv_transpose2d: input of shape \(1, 3, 3, 4\) has 3 channels.*expects 4"):
        F.conv_transpose2d(ad.ones(1, 3, 3, 4), ad.ones(4, 2, 3, 3))


def test_pooling_and_padding_errors():
    with pytest.raises(ValueError, match=r"max_pool2d: input of shape \(1, 1, 2, 2\) gives an output of size "
                                         r"\(0, 0\).*smaller kernel or a larger input"):
        F.max_pool2d(ad.ones(1, 1, 2, 2), 3)
    with pytest.raises(ValueError, match=r"avg_pool2d: padding \(2, 2\) must be at most half"):
        F.avg_pool2d(ad.ones(1, 1, 5, 5), 3, padding=2)
    with pytest.raises(ValueError, match=r"max_pool2d: expected a 4-D input"):
        F.max_pool2d(ad.ones(5), 2)
    with pytest.raises(ValueError, match=r"pad: reflect padding \(4, 0\) of dim 2 must be smaller than its size 4"):
        F.pad(ad.ones(1, 1, 4), (4, 0), mode="reflect")
    with pytest.raises(ValueError, match=r"pad: reflect padding of 1 dims .* needs a 2-D or 3-D input"):
        F.pad(ad.ones(1, 1, 4, 4), (1, 1), mode="reflect")
    with pytest.raises(ValueError, match=r"pad: padding mode 'reflect' does not take a value"):
        F.pad(ad.ones(1, 1, 4), (1, 1), mode="reflect", value=2.0)
    with pytest.raises(ValueError, match=r"interpolate: give exactly one of size and scale_factor"):
        F.interpolate(ad.ones(1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"align_corners option can only be set with the interpolating modes"):
        F.interpolate(ad.ones(1, 1, 4, 4), scale_factor=2, align_corners=True)
    with pytest.raises(ValueError, match=r"interpolate: got a 4-D input, but linear mode needs a 3-D input"):
        F.interpolate(ad.ones(1, 1, 4, 4), scale_factor=2, mode="linear")
    with pytest.raises(ValueError, match=r"fold: output_size=\(3, 3\).*input \(shape \(1, 4, 5\)\) has 5 blocks"):
        F.fold(ad.ones(1, 4, 5), (3, 3), 2)


def test_a_failed_call_leaves_the_inputs_alone():
    x = leaf(rand(1, 3, 5, 5))
    before = x.data.copy()
    with pytest.raises(ValueError):
        F.conv2d(x, ad.ones(4, 2, 3, 3))
    np.testing.assert_array_equal(x.data, before)
    assert x.grad is None and x.grad_fn is None


def test_empty_batch_gives_empty_outputs(torch):
    x = np.zeros((0, 3, 5, 5))
    w = rand(2, 3, 3, 3)
    assert F.conv2d(ad.tensor(x), ad.tensor(w)).shape == tuple(torch.nn.functional.conv2d(
        torch.tensor(x), torch.tensor(w)).shape)
    assert F.max_pool2d(ad.tensor(x), 2).shape == (0, 3, 2, 2)


def test_every_setting_of_a_small_conv_grid_matches_torch(torch):
    # the cross product, float64, values and gradients: stride x padding x dilation x groups
    x, tf = rand(2, 4, 7, 6, seed=30), torch.nn.functional
    for stride, padding, dilation, groups in itertools.product((1, 2, 3), (0, 1, 2), (1, 2), (1, 2, 4)):
        w = rand(4, 4 // groups, 3, 2, seed=31)

        def run(f):
            return lambda a, b: f(a, b, None, stride, padding, dilation, groups)
        compare(torch, run(F.conv2d), run(tf.conv2d), [x, w], np.float64)
