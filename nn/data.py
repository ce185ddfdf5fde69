"""Mini-batches in PyTorch's shape: ``TensorDataset`` and ``DataLoader``.

The loader indexes the dataset's arrays with one index array per batch, so an epoch never copies
the whole data set (only each batch is gathered).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np
from numpy.typing import ArrayLike

import autodiff as ad
from autodiff import Tensor

if TYPE_CHECKING:
    from typing import Protocol

    class _DatasetLike(Protocol):
        """What DataLoader iterates over: a Dataset, or anything with ``__len__`` and
        ``__getitem__(int)`` giving a sample (a tuple of arrays or tensors)."""

        def __len__(self) -> int: ...
        def __getitem__(self, index: int, /) -> Sequence[Any]: ...

__all__ = ["Dataset", "TensorDataset", "DataLoader"]


class Dataset:
    """Anything with ``__len__`` and ``__getitem__(index) -> tuple of arrays or tensors``."""

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: Any) -> Any:
        raise NotImplementedError


class TensorDataset(Dataset):
    """Samples are rows of the given tensors or arrays (all with the same first dimension).

    >>> ds = TensorDataset(np.zeros((5, 2)), np.arange(5))
    >>> len(ds), ds[1][1]
    (5, tensor(1))
    """

    def __init__(self, *tensors: Tensor | ArrayLike) -> None:
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor or array")
        self.tensors = tuple(t if isinstance(t, Tensor) else ad.Tensor(np.asarray(t)) for t in tensors)
        sizes = {len(t.data) if t.data.ndim else None for t in self.tensors}
        if len(sizes) != 1 or None in sizes:
            raise ValueError("TensorDataset: all tensors must have the same first dimension, got shapes "
                             f"{[t.shape for t in self.tensors]}")

    def __len__(self) -> int:
        return len(self.tensors[0].data)

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(ad.Tensor(t.data[index]) for t in self.tensors)


class DataLoader:
    """Iterate over a dataset in mini-batches.

    ``DataLoader(dataset, batch_size=1, shuffle=False, drop_last=False, generator=None, seed=None)``:
    each epoch (each ``iter()``) yields tuples of tensors with a leading batch axis. The draws are
    PyTorch's (single-process loading): each ``iter()`` takes one 63-bit number from ``generator``
    (``ad.default_generator`` when None), the workers' base seed in PyTorch, and with ``shuffle``
    the order is then ``randperm`` from ``generator``, or, when it is None, from a new generator
    seeded by a second 63-bit number of ``ad.default_generator``. So after ``ad.manual_seed(s)`` the
    batches are PyTorch's for the same seed. ``seed=s`` (this engine's shorthand) is
    ``generator=ad.Generator().manual_seed(s)``.
    """

    def __init__(self, dataset: _DatasetLike, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 generator: ad.Generator | None = None, seed: int | None = None) -> None:
        if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if generator is not None and not isinstance(generator, ad.Generator):
            raise TypeError(f"DataLoader: generator must be an ad.Generator, got {type(generator).__name__}")
        if generator is not None and seed is not None:
            raise ValueError("DataLoader: give generator or seed, not both (seed=s is "
                             "generator=ad.Generator().manual_seed(s))")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = ad.Generator().manual_seed(seed) if seed is not None else generator

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self) -> np.ndarray:
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        generator = self.generator
        if generator is None:
            generator = ad.Generator().manual_seed(ad.default_generator.random64())
        return generator.permutation(n)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        (ad.default_generator if self.generator is None else self.generator).random64()   # the base seed
        return self._batches()

    def _batches(self) -> Iterator[tuple[Tensor, ...]]:
        order = self._order()
        stop = len(self) * self.batch_size
        for start in range(0, min(stop, len(order)), self.batch_size):
            index = order[start:start + self.batch_size]
            if isinstance(self.dataset, TensorDataset):
                yield tuple(ad.Tensor(t.data[index]) for t in self.dataset.tensors)
            else:
                samples = [self.dataset[int(i)] for i in index]
                yield tuple(ad.Tensor(np.stack([np.asarray(s[k].data if isinstance(s[k], Tensor) else s[k])
                                                for s in samples]))
                            for k in range(len(samples[0])))
        if self.shuffle and self.generator is not None:
            self.generator.permutation(len(order))    # PyTorch's sampler draws one more, unused, at its end
