"""Indexing (getitem, setitem, masks, fancy indices) and joining (concatenate, stack, split, pad,
repeat, tile), checked with gradcheck and gradgradcheck in float64."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad

from helpers import LEAF_RNG as RNG, check_both_orders, leaf


# ---- indexing ----------------------------------------------------------------------------------

INDEXES = [
    1, -1, slice(None, None, 2), slice(None, None, -1), (slice(1, 3), 0), (None, Ellipsis, 1),
    ([0, 0, 2],), (np.array([2, 0, 2, 2]), slice(None)), (np.array([0, 1]), np.array([3, 3])),
    (Ellipsis, None), (slice(None), [1, 1, 0]),
]


@pytest.mark.parametrize("index", INDEXES, ids=repr)
def test_getitem_matches_numpy_and_gradients(index):
    x = leaf(3, 4)
    out = x[index]
    expected = x.data[index]
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.data, expected)
    check_both_orders(lambda t: t[index] * t[index], x)


def test_repeated_fancy_indices_accumulate():
    x = leaf(4)
    x[[1, 1, 1, 3]].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 3.0, 0.0, 1.0])


def test_boolean_mask_indexing():
    x = leaf(3, 4)
    mask = x.data > 0
    out = x[mask]
    np.testing.assert_array_equal(out.data, x.data[mask])
    (out * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, 2.0 * mask)
    check_both_orders(lambda t: (t[mask] ** 2), x)
    # a mask given as a bool tensor, mixed with a slice
    rows = ad.tensor(np.array([True, False, True]))
    np.testing.assert_array_equal(x[rows, 1:].data, x.data[rows.data, 1:])


def test_index_with_int_tensor_picks_true_class_logit():
    logits = leaf(5, 3)
    target = ad.tensor([0, 2, 1, 1, 0])
    picked = logits[ad.arange(5), target]
    np.testing.assert_array_equal(picked.data, logits.data[np.arange(5), target.data])
    assert ad.gradcheck(lambda t: t[np.arange(5), target.data] ** 3, logits)


@settings(deadline=None, max_examples=25)
@given(data=st.data())
def test_random_fancy_indices_gradcheck(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    x = ad.tensor(RNG.standard_normal(shape), requires_grad=True)
    idx = data.draw(hnp.arrays(np.int64, st.integers(1, 5), elements=st.integers(0, shape[0] - 1)))
    out = x[idx]
    np.testing.assert_array_equal(out.data, x.data[idx])
    assert ad.gradcheck(lambda t: (t[idx] * t[idx]).sum(), x)


# ---- joining -------------------------------------------------------------------------------------

def test_concatenate_stack_split():
    a, b = leaf(2, 3), leaf(2, 5)
    out = ad.concatenate([a, b], axis=1)
    np.testing.assert_array_equal(out.data, np.concatenate([a.data, b.data], axis=1))
    check_both_orders(lambda a, b: ad.concatenate([a, b * b], axis=-1), a, b)
    c = leaf(2, 3)
    stacked = ad.stack([a, c], axis=1)
    np.testing.assert_array_equal(stacked.data, np.stack([a.data, c.data], axis=1))
    check_both_orders(lambda a, c: ad.stack([a, c.exp()], axis=2), a, c)
    # PyTorch's split takes the pieces' sizes; numpy's np.split on a tensor takes split points
    pieces = ad.split(b, [1, 2, 2], dim=1)
    for piece, expected in zip(pieces, np.split(b.data, [1, 3], axis=1)):
        np.testing.assert_array_equal(piece.data, expected)
    for piece, expected in zip(np.split(b, [1, 3], axis=1), np.split(b.data, [1, 3], axis=1)):
        np.testing.assert_array_equal(piece.data, expected)
    check_both_orders(lambda b: ad.split(b, [2, 3], dim=1)[1] ** 2, b)
    check_both_orders(lambda b: np.split(b, [2], axis=1)[1] ** 2, b)


def test_concatenate_shape_error_names_op():
    with pytest.raises(ValueError, match="concatenate"):
        ad.concatenate([ad.zeros(2, 3), ad.zeros(3, 2)], axis=0)


def test_where_pad_repeat_tile():
    a, b = leaf(2, 3), leaf(3)
    cond = a.data > 0
    out = ad.where(cond, a, b)
    np.testing.assert_array_equal(out.data, np.where(cond, a.data, b.data))
    check_both_orders(lambda a, b: ad.where(cond, a * a, b), a, b)
    check_both_orders(lambda a, b: ad.where(ad.tensor(cond), a, b.exp()), a, b)
    np.testing.assert_array_equal(ad.pad(a, ((1, 0), (2, 1)), constant_values=3.0).data,
                                  np.pad(a.data, ((1, 0), (2, 1)), constant_values=3.0))
    check_both_orders(lambda a: ad.pad(a, 1) ** 2, a)
    # numpy's element repeat is repeat_interleave (and np.repeat); PyTorch's repeat tiles
    np.testing.assert_array_equal(a.repeat_interleave(2, dim=1).data, np.repeat(a.data, 2, axis=1))
    np.testing.assert_array_equal(np.repeat(a, 2, axis=1).data, np.repeat(a.data, 2, axis=1))
    np.testing.assert_array_equal(a.tile((2, 2)).data, np.tile(a.data, (2, 2)))
    np.testing.assert_array_equal(a.repeat(2, 2).data, np.tile(a.data, (2, 2)))
    check_both_orders(lambda a: a.repeat_interleave(3, dim=0) ** 2, a)
    check_both_orders(lambda a: a.tile((1, 2, 2)) ** 2, a)
    check_both_orders(lambda a: a.repeat(2, 1, 3) ** 2, a)


