"""nn.data: TensorDataset and DataLoader in PyTorch's shape."""
import numpy as np
import pytest

import autodiff as ad
from nn.data import DataLoader, TensorDataset


def test_batches_cover_the_data_once_per_epoch_in_order():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    loader = DataLoader(TensorDataset(X, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and [b[0].shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    np.testing.assert_array_equal(np.concatenate([b[1].data for b in batches]), y)
    assert batches[0][1].dtype == np.int64 and batches[0][0].dtype == np.float64


def test_shuffle_is_a_permutation_reproducible_by_seed_and_new_each_epoch():
    X = np.arange(50)
    loader = DataLoader(TensorDataset(X), batch_size=7, shuffle=True, drop_last=True, seed=3)
    first = np.concatenate([b[0].data for b in loader])
    second = np.concatenate([b[0].data for b in loader])
    assert len(loader) == 7 and len(first) == 49 and len(set(first.tolist())) == 49
    assert not np.array_equal(first, second)
    again = np.concatenate([b[0].data for b in DataLoader(TensorDataset(X), 7, True, True, seed=3)])
    np.testing.assert_array_equal(first, again)


def test_manual_seed_drives_unseeded_shuffles():
    X = np.arange(30)
    ad.manual_seed(5)
    a = np.concatenate([b[0].data for b in DataLoader(TensorDataset(X), 8, shuffle=True)])
    ad.manual_seed(5)
    b = np.concatenate([b[0].data for b in DataLoader(TensorDataset(X), 8, shuffle=True)])
    np.testing.assert_array_equal(a, b)


def test_errors():
    with pytest.raises(ValueError, match="first dimension"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(TensorDataset(np.zeros(3)), batch_size=0)
