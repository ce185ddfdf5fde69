"""The vocabulary's composite ops, one table (``CASES``) walked by every test: each case is checked
against PyTorch (values and gradients, float32 and float64, skipped without torch) and by
gradcheck and gradgradcheck in float64. A new op is tested by adding a row here; the coverage
test (test_vocab_coverage.py) fails for a public name no table exercises.

A case: the public name it exercises ("cumsum", "F.softplus", "linalg.norm", "Tensor.scatter_"),
our call, PyTorch's call (given the torch module first), and its inputs: a shape (random floats
in ``domain`` that require grad), an array (floats require grad, integers are indices), or
``Const(array)`` (no grad)."""
import math
from typing import Callable, NamedTuple

import numpy as np
import pytest

import autodiff as ad
import nn
from nn import functional as F


class Const(NamedTuple):
    array: np.ndarray


class Case(NamedTuple):
    name: str
    ours: Callable
    theirs: Callable
    inputs: tuple
    domain: tuple = (-2.0, 2.0)
    second_order: bool = True
    gradcheck: bool = True
    rtol64: float = 1e-9
    rtol32: float = 2e-4
    tag: str = ""


def C(name, ours, theirs, *inputs, **options):
    return Case(name, ours, theirs, inputs, **options)


rng = np.random.default_rng(17)
M3 = rng.normal(size=(2, 3, 3)) + 3 * np.eye(3)            # well conditioned
IDX = rng.integers(0, 3, (2, 4))
ZERO_ROW = np.vstack([rng.normal(size=(2, 5)), np.zeros((1, 5))])
ONE_HOT = np.array([0, 2, 1, 2])
NANS = np.arange(12).reshape(3, 4) % 5 == 1      # where a (3, 4) input is made nan (nansum, nanmean)
PROBS = rng.dirichlet(np.ones(5), 4)
SIGNS = Const(rng.choice([-1.0, 1.0], (4, 5)))
LABELS = np.array([1, 0, 4, 2])

CASES = [
    # ---- scans and order
    C("cumsum", lambda x: ad.cumsum(x, 1), lambda T, x: T.cumsum(x, 1), (3, 4)),
    C("diff", ad.diff, lambda T, x: T.diff(x), (3, 5)),
    C("diff", lambda x, p: x.diff(n=2, dim=0, prepend=p), lambda T, x, p: x.diff(n=2, dim=0, prepend=p), (3, 4), (2, 4),
      tag="n2-prepend"),
    C("nansum", lambda x: ad.nansum(ad.where(NANS, np.nan, x), 1),
      lambda T, x: T.nansum(T.where(T.tensor(NANS), np.nan, x), 1), (3, 4), tag="nans"),
    C("nanmean", lambda x: ad.where(NANS, np.nan, x).nanmean(0, keepdim=True),
      lambda T, x: T.where(T.tensor(NANS), np.nan, x).nanmean(0, keepdim=True), (3, 4), tag="nans"),
    C("clone", ad.clone, lambda T, x: T.clone(x), (3, 4)),
    C("cumsum", lambda x: x.cumsum(-1), lambda T, x: x.cumsum(-1), (2, 3, 4), tag="method"),
    C("cumsum", lambda x: ad.cumsum(x, 0), lambda T, x: T.cumsum(x, 0), (), tag="0-d"),
    C("cumprod", lambda x: ad.cumprod(x, 0), lambda T, x: T.cumprod(x, 0), (4, 3)),
    C("cumprod", lambda x: ad.cumprod(x, 1), lambda T, x: T.cumprod(x, 1),
      np.array([[0.5, 0.0, 2.0, 3.0], [0.0, 1.5, 0.0, -1.0], [1.0, 2.0, -0.5, 0.0]]), tag="zeros"),
    C("cummax", lambda x: ad.cummax(x, 1), lambda T, x: T.cummax(x, 1), (3, 5)),
    C("cummin", lambda x: ad.cummin(x, 0), lambda T, x: T.cummin(x, 0), (5, 2)),
    C("cummax", lambda x: ad.cummax(x, 0), lambda T, x: T.cummax(x, 0),
      np.array([1.0, 3.0, 3.0, 2.0, 5.0, 5.0, np.nan, 7.0, np.nan]), gradcheck=False, tag="ties-nan"),
    C("logcumsumexp", lambda x: ad.logcumsumexp(x, 1), lambda T, x: T.logcumsumexp(x, 1), (3, 4)),
    C("logcumsumexp", lambda x: ad.logcumsumexp(x, 0), lambda T, x: T.logcumsumexp(x, 0),
      np.array([-800.0, 0.0, 700.0, -1.0]), gradcheck=False, tag="wide"),
    C("sort", lambda x: ad.sort(x, 1), lambda T, x: T.sort(x, 1), (3, 5)),
    C("sort", lambda x: ad.sort(x, 0, descending=True), lambda T, x: T.sort(x, 0, descending=True), (4, 3),
      tag="descending"),
    C("sort", lambda x: ad.sort(x, descending=True, stable=True), lambda T, x: T.sort(x, descending=True, stable=True),
      np.array([3.0, 1.0, np.nan, 3.0, 2.0, 1.0]), gradcheck=False, tag="ties-nan"),
    C("argsort", lambda x: ad.argsort(x, 1, descending=True), lambda T, x: T.argsort(x, 1, descending=True),
      Const(rng.normal(size=(3, 5)))),
    C("msort", ad.msort, lambda T, x: T.msort(x), (4, 3)),
    C("topk", lambda x: ad.topk(x, 2), lambda T, x: T.topk(x, 2), (3, 5)),
    C("topk", lambda x: ad.topk(x, 3, 0, largest=False), lambda T, x: T.topk(x, 3, 0, largest=False), (4, 2),
      tag="smallest"),
    C("kthvalue", lambda x: ad.kthvalue(x, 2, 1, keepdim=True), lambda T, x: T.kthvalue(x, 2, 1, keepdim=True), (3, 5)),
    C("median", ad.median, lambda T, x: T.median(x), (3, 4)),
    C("median", lambda x: ad.median(x, 0), lambda T, x: T.median(x, 0), (5, 3), tag="dim"),
    C("median", lambda x: ad.median(x, 0), lambda T, x: T.median(x, 0),
      np.array([[1.0, 2.0], [np.nan, 1.0], [2.0, 0.5]]), gradcheck=False, tag="nan"),
    # ---- gather and scatter
    C("gather", lambda x, i: ad.gather(x, 0, i), lambda T, x, i: T.gather(x, 0, i), (3, 4), IDX),
    C("gather", lambda x, i: x.gather(1, i), lambda T, x, i: x.gather(1, i), (2, 5), IDX, tag="method"),
    C("take_along_dim", lambda x, i: ad.take_along_dim(x, i, 1), lambda T, x, i: T.take_along_dim(x, i, 1),
      (3, 4), np.array([[0], [3], [1]])),
    C("take_along_dim", lambda x, i: ad.take_along_dim(x, i), lambda T, x, i: T.take_along_dim(x, i),
      (3, 4), np.array([11, 0, 5]), tag="flat"),
    C("index_select", lambda x, i: ad.index_select(x, 1, i), lambda T, x, i: T.index_select(x, 1, i),
      (3, 4), np.array([3, 0, 3])),
    C("masked_fill", lambda x, m: ad.masked_fill(x, m, -1.5), lambda T, x, m: x.masked_fill(m, -1.5),
      (3, 4), rng.random((3, 4)) < 0.5),
    C("masked_fill", lambda x, v, m: ad.masked_fill(x, m, v), lambda T, x, v, m: x.masked_fill(m, v),
      (3, 4), (), rng.random((1, 4)) < 0.5, tag="tensor-value"),
    C("masked_select", lambda x, m: ad.masked_select(x, m), lambda T, x, m: T.masked_select(x, m),
      (3, 4), rng.random((4,)) < 0.5),
    C("scatter", lambda x, i, s: ad.scatter(x, 1, i, s), lambda T, x, i, s: T.scatter(x, 1, i, s),
      (3, 5), np.array([[0, 4], [2, 1], [3, 3 - 3]]), (3, 2)),
    C("scatter", lambda x, i: ad.scatter(x, 0, i, 2.5), lambda T, x, i: T.scatter(x, 0, i, 2.5),
      (3, 4), np.array([[0, 2, 1, 0]]), tag="value"),
    C("scatter_add", lambda x, i, s: ad.scatter_add(x, 0, i, s), lambda T, x, i, s: T.scatter_add(x, 0, i, s),
      (3, 4), IDX, (2, 4)),
    *[C("scatter_reduce", (lambda r, s: lambda x, i, v: ad.scatter_reduce(x, 0, i, v, r, include_self=s))(r, s),
        (lambda r, s: lambda T, x, i, v: T.scatter_reduce(x, 0, i, v, r, include_self=s))(r, s),
        (3, 4), IDX, (2, 4), tag=f"{r}-{s}")
      for r in ("sum", "prod", "mean", "amax", "amin") for s in (True, False)],
    C("index_add", lambda x, s: ad.index_add(x, 0, np.array([2, 0, 2]), s, alpha=-2.0),
      lambda T, x, s: T.index_add(x, 0, T.tensor([2, 0, 2]), s, alpha=-2.0), (3, 4), (3, 4)),
    C("Tensor.masked_fill_", lambda x, m: (x * 1.0).masked_fill_(m, 0.25),
      lambda T, x, m: (x * 1.0).masked_fill_(m, 0.25), (3, 4), rng.random((3, 4)) < 0.5),
    C("Tensor.scatter_", lambda x, i, s: (x * 1.0).scatter_(1, i, s), lambda T, x, i, s: (x * 1.0).scatter_(1, i, s),
      (2, 5), np.array([[4, 0], [1, 2]]), (2, 2)),
    C("Tensor.scatter_add_", lambda x, i, s: (x * 1.0).scatter_add_(0, i, s),
      lambda T, x, i, s: (x * 1.0).scatter_add_(0, i, s), (3, 4), IDX, (2, 4)),
    C("Tensor.scatter_reduce_", lambda x, i, s: (x * 1.0).scatter_reduce_(0, i, s, "amax"),
      lambda T, x, i, s: (x * 1.0).scatter_reduce_(0, i, s, "amax"), (3, 4), IDX, (2, 4)),
    C("Tensor.index_add_", lambda x, s: (x * 1.0).index_add_(1, np.array([1, 1]), s),
      lambda T, x, s: (x * 1.0).index_add_(1, T.tensor([1, 1]), s), (3, 4), (3, 2)),
    C("Tensor.pow_", lambda x: (x * 1.0).pow_(3), lambda T, x: (x * 1.0).pow_(3), (3, 4)),
    C("Tensor.clamp_", lambda x: (x * 1.0).clamp_(-0.5, 1.0), lambda T, x: (x * 1.0).clamp_(-0.5, 1.0), (3, 4)),
    C("Tensor.clip_", lambda x: (x * 1.0).clip_(min=0.3), lambda T, x: (x * 1.0).clip_(min=0.3), (3, 4)),
    C("Tensor.copy_", lambda x, y: (x * 1.0).copy_(y), lambda T, x, y: (x * 1.0).copy_(y), (3, 4), (4,)),
    # ---- shapes
    C("expand_dims", lambda x: ad.expand_dims(x, 1), lambda T, x: T.unsqueeze(x, 1), (3, 4)),
    C("Tensor.expand_dims", lambda x: x.expand_dims(-1), lambda T, x: x.unsqueeze(-1), (3, 4)),
    C("flip", lambda x: ad.flip(x, (0, 2)), lambda T, x: T.flip(x, (0, 2)), (2, 3, 4)),
    C("flip", lambda x: x.flip(1), lambda T, x: x.flip(1), (2, 3), tag="method"),
    C("fliplr", ad.fliplr, lambda T, x: T.fliplr(x), (2, 3)),
    C("flipud", ad.flipud, lambda T, x: T.flipud(x), (2, 3)),
    C("roll", lambda x: ad.roll(x, (1, -2), (0, 1)), lambda T, x: T.roll(x, (1, -2), (0, 1)), (3, 4)),
    C("roll", lambda x: ad.roll(x, 5), lambda T, x: T.roll(x, 5), (3, 4), tag="flat"),
    C("rot90", lambda x: ad.rot90(x, 1, (1, 2)), lambda T, x: T.rot90(x, 1, (1, 2)), (2, 3, 4)),
    C("rot90", lambda x: ad.rot90(x, -1), lambda T, x: T.rot90(x, -1), (2, 3), tag="k=-1"),
    C("tril", lambda x: ad.tril(x, -1), lambda T, x: T.tril(x, -1), (2, 3, 4)),
    C("triu", lambda x: ad.triu(x, 1), lambda T, x: T.triu(x, 1), (4, 3)),
    C("diag", lambda x: ad.diag(x, 1), lambda T, x: T.diag(x, 1), (3,)),
    C("diag", lambda x: ad.diag(x, -1), lambda T, x: T.diag(x, -1), (3, 4), tag="2-d"),
    C("diagonal", lambda x: ad.diagonal(x, 1, 0, 2), lambda T, x: T.diagonal(x, 1, 0, 2), (3, 2, 4)),
    C("diag_embed", lambda x: ad.diag_embed(x, -1, 0, 2), lambda T, x: T.diag_embed(x, -1, 0, 2), (2, 3)),
    C("trace", ad.trace, lambda T, x: T.trace(x), (3, 4)),
    C("chunk", lambda x: ad.chunk(x, 4, 1)[1], lambda T, x: T.chunk(x, 4, 1)[1], (2, 6)),
    C("unbind", lambda x: ad.unbind(x, 1)[2], lambda T, x: T.unbind(x, 1)[2], (2, 3)),
    C("expand", lambda x: x.expand(2, -1, 4), lambda T, x: x.expand(2, -1, 4), (3, 1)),
    C("expand", lambda x: ad.expand(x, (2, 3)), lambda T, x: x.expand((2, 3)), (3,), tag="function"),
    C("expand_as", lambda x, y: ad.expand_as(x, y), lambda T, x, y: x.expand_as(y), (1, 3), Const(np.zeros((2, 3)))),
    C("unflatten", lambda x: ad.unflatten(x, 1, (2, -1)), lambda T, x: T.unflatten(x, 1, (2, -1)), (3, 6)),
    C("movedim", lambda x: ad.movedim(x, (0, 1), (2, 0)), lambda T, x: T.movedim(x, (0, 1), (2, 0)), (2, 3, 4)),
    C("moveaxis", lambda x: ad.moveaxis(x, 0, -1), lambda T, x: T.moveaxis(x, 0, -1), (2, 3, 4)),
    C("narrow", lambda x: ad.narrow(x, 1, -3, 2), lambda T, x: T.narrow(x, 1, -3, 2), (2, 5)),
    C("atleast_1d", ad.atleast_1d, lambda T, x: T.atleast_1d(x), ()),
    C("atleast_2d", ad.atleast_2d, lambda T, x: T.atleast_2d(x), (3,)),
    C("atleast_3d", lambda x, y: ad.atleast_3d(x, y), lambda T, x, y: T.atleast_3d(x, y), (3,), (2, 3)),
    C("vstack", lambda x, y: ad.vstack([x, y]), lambda T, x, y: T.vstack([x, y]), (3,), (2, 3)),
    C("row_stack", lambda x, y: ad.row_stack([x, y]), lambda T, x, y: T.vstack([x, y]), (3,), (2, 3)),
    C("hstack", lambda x, y: ad.hstack([x, y]), lambda T, x, y: T.hstack([x, y]), (2, 1), (2, 3)),
    C("dstack", lambda x, y: ad.dstack([x, y]), lambda T, x, y: T.dstack([x, y]), (3,), (1, 3)),
    C("column_stack", lambda x, y: ad.column_stack([x, y]), lambda T, x, y: T.column_stack([x, y]), (3,), (3, 2)),
    C("tensor_split", lambda x: ad.tensor_split(x, 3, 1)[0], lambda T, x: T.tensor_split(x, 3, 1)[0], (2, 7)),
    C("tensor_split", lambda x: ad.tensor_split(x, [1, 4])[1], lambda T, x: T.tensor_split(x, [1, 4])[1], (6,),
      tag="indices"),
    C("array_split", lambda x: ad.array_split(x, 4)[3], lambda T, x: T.tensor_split(x, 4)[3], (6, 2)),
    C("meshgrid", lambda x, y: ad.meshgrid(x, y, indexing="xy")[0] * ad.meshgrid(x, y, indexing="ij")[1].T,
      lambda T, x, y: T.meshgrid(x, y, indexing="xy")[0] * T.meshgrid(x, y, indexing="ij")[1].T, (3,), (4,)),
    C("broadcast_tensors", lambda x, y: ad.broadcast_tensors(x, y)[0] * ad.broadcast_tensors(x, y)[1],
      lambda T, x, y: T.broadcast_tensors(x, y)[0] * T.broadcast_tensors(x, y)[1], (3, 1), (4,)),
    C("cartesian_prod", ad.cartesian_prod, lambda T, x, y: T.cartesian_prod(x, y), (3,), (2,)),
    # ---- products, norms, linear algebra
    C("einsum", lambda a, b: ad.einsum("bij,bjk->bik", a, b), lambda T, a, b: T.einsum("bij,bjk->bik", a, b),
      (2, 3, 4), (2, 4, 5)),
    C("einsum", lambda a, b: ad.einsum("...ij,jk", a, b), lambda T, a, b: T.einsum("...ij,jk", a, b),
      (2, 3, 4), (4, 5), tag="ellipsis-implicit"),
    C("einsum", lambda a: ad.einsum("ii->i", a), lambda T, a: T.einsum("ii->i", a), (3, 3), tag="diagonal"),
    C("einsum", lambda a: ad.einsum("iji", a), lambda T, a: T.einsum("iji", a), (3, 2, 3), tag="trace"),
    C("einsum", lambda a, b, c: ad.einsum("ij,jk,k->i", [a, b, c]),
      lambda T, a, b, c: T.einsum("ij,jk,k->i", [a, b, c]), (2, 3), (3, 4), (4,), tag="three"),
    C("einsum", lambda a, b: ad.einsum("bij,k->bk", a, b), lambda T, a, b: T.einsum("bij,k->bk", a, b),
      (2, 3, 2), (4,), tag="summed-alone"),
    C("einsum", lambda a, b: ad.einsum("...i,...i->...", a, b), lambda T, a, b: T.einsum("...i,...i->...", a, b),
      (4, 1, 3), (2, 3), tag="broadcast"),
    C("tensordot", lambda a, b: ad.tensordot(a, b, 2), lambda T, a, b: T.tensordot(a, b, 2), (2, 3, 4), (3, 4, 5)),
    C("tensordot", lambda a, b: ad.tensordot(a, b, ([0, 2], [2, 0])),
      lambda T, a, b: T.tensordot(a, b, ([0, 2], [2, 0])), (2, 3, 4), (4, 5, 2), tag="pairs"),
    C("outer", ad.outer, lambda T, a, b: T.outer(a, b), (3,), (4,)),
    C("ger", ad.ger, lambda T, a, b: T.outer(a, b), (3,), (2,)),
    C("inner", ad.inner, lambda T, a, b: T.inner(a, b), (2, 3), (4, 3)),
    C("cross", lambda a, b: ad.cross(a, b, dim=1), lambda T, a, b: T.cross(a, b, dim=1), (2, 3, 4), (1, 3, 4)),
    C("linalg.cross", ad.linalg.cross, lambda T, a, b: T.linalg.cross(a, b), (4, 3), (4, 3)),
    C("kron", ad.kron, lambda T, a, b: T.kron(a, b), (2, 3), (3,)),
    C("norm", ad.norm, lambda T, x: T.norm(x), (3, 4)),
    C("norm", lambda x: x.norm(3, 1, keepdim=True), lambda T, x: x.norm(3, 1, keepdim=True), (3, 4), tag="p=3"),
    C("norm", lambda x: ad.norm(x, dim=1), lambda T, x: T.norm(x, dim=1), ZERO_ROW, tag="zero-row", gradcheck=False),
    C("linalg.norm", ad.linalg.norm, lambda T, x: T.linalg.norm(x), (2, 3, 4)),
    C("linalg.norm", lambda x: ad.linalg.norm(x, 1), lambda T, x: T.linalg.norm(x, 1), (3, 4), tag="matrix-1"),
    C("linalg.norm", lambda x: ad.linalg.norm(x, math.inf, dim=1), lambda T, x: T.linalg.norm(x, math.inf, dim=1),
      (3, 4), tag="inf"),
    *[C("linalg.vector_norm", (lambda o: lambda x: ad.linalg.vector_norm(x, o, 1))(o),
        (lambda o: lambda T, x: T.linalg.vector_norm(x, o, 1))(o), shape, tag=f"ord={o}-{tag}",
        gradcheck=tag == "random")
      for o in (2, 1, 3, 0.5, math.inf, -math.inf, 0, -1.5) for shape, tag in ((ZERO_ROW, "zero-row"), ((3, 5), "random"))],
    *[C("linalg.matrix_norm", (lambda o: lambda x: ad.linalg.matrix_norm(x, o))(o),
        (lambda o: lambda T, x: T.linalg.matrix_norm(x, o))(o), (2, 3, 4), tag=f"ord={o}")
      for o in ("fro", 1, -1, math.inf, -math.inf)],
    *[C("linalg.matrix_norm", (lambda o, d, k: lambda x: ad.linalg.matrix_norm(x, o, d, k))(o, d, k),
        (lambda o, d, k: lambda T, x: T.linalg.matrix_norm(x, o, d, k))(o, d, k), shape, second_order=False,
        tag=f"ord={o}-{tag}")
      for o in ("nuc", 2, -2)
      for shape, d, k, tag in (((2, 3, 4), (-2, -1), False, "batch"), ((3, 2, 4), (2, 0), True, "dims-keepdim"))],
    C("norm", lambda x: ad.norm(x, "nuc"), lambda T, x: T.norm(x, "nuc"), (3, 4), second_order=False, tag="nuc"),
    C("mm", ad.mm, lambda T, a, b: T.mm(a, b), (3, 4), (4, 2)),
    C("mm", lambda a, b: a.mm(b), lambda T, a, b: a.mm(b), (1, 3), (3, 1), tag="method"),
    C("bmm", ad.bmm, lambda T, a, b: T.bmm(a, b), (2, 3, 4), (2, 4, 5)),
    C("mv", ad.mv, lambda T, a, b: T.mv(a, b), (3, 4), (4,)),
    C("addmm", ad.addmm, lambda T, c, a, b: T.addmm(c, a, b), (3, 2), (3, 4), (4, 2)),
    C("addmm", lambda c, a, b: c.addmm(a, b, beta=0.5, alpha=-2.0),
      lambda T, c, a, b: c.addmm(a, b, beta=0.5, alpha=-2.0), (2,), (3, 4), (4, 2), tag="broadcast-beta-alpha"),
    C("cdist", ad.cdist, lambda T, a, b: T.cdist(a, b), (2, 3, 4), (2, 5, 4)),
    C("cdist", lambda a, b: ad.cdist(a, b, 1.0), lambda T, a, b: T.cdist(a, b, 1.0), (3, 2), (4, 2), tag="p=1"),
    C("cdist", ad.cdist, lambda T, a, b: T.cdist(a, b), np.array([[1.0, 2.0], [0.5, 0.0]]), np.array([[1.0, 2.0]]),
      second_order=False, gradcheck=False, tag="zero-distance"),
    C("det", ad.det, lambda T, a: T.det(a), M3),
    C("linalg.det", ad.linalg.det, lambda T, a: T.linalg.det(a), M3[0]),
    C("inverse", ad.inverse, lambda T, a: T.inverse(a), M3),
    C("linalg.inv", ad.linalg.inv, lambda T, a: T.linalg.inv(a), M3[0]),
    C("slogdet", lambda a: ad.slogdet(a)[1] * ad.slogdet(a).sign, lambda T, a: T.slogdet(a)[1] * T.slogdet(a).sign, M3),
    C("linalg.slogdet", lambda a: ad.linalg.slogdet(a).logabsdet, lambda T, a: T.linalg.slogdet(a).logabsdet, -M3),
    C("logdet", ad.logdet, lambda T, a: T.logdet(a), M3),
    C("linalg.solve", ad.linalg.solve, lambda T, a, b: T.linalg.solve(a, b), M3, (2, 3, 2)),
    C("linalg.solve", ad.linalg.solve, lambda T, a, b: T.linalg.solve(a, b), M3, (3,), tag="vector"),
    C("linalg.solve", lambda a, b: ad.linalg.solve(a, b, left=False),
      lambda T, a, b: T.linalg.solve(a, b, left=False), M3[0], (4, 3), tag="right"),
    C("linalg.matrix_power", lambda a: ad.linalg.matrix_power(a, 3), lambda T, a: T.linalg.matrix_power(a, 3), M3),
    C("linalg.matrix_power", lambda a: ad.linalg.matrix_power(a, -2), lambda T, a: T.linalg.matrix_power(a, -2), M3,
      tag="inverse"),
    C("matrix_power", lambda a: ad.matrix_power(a, 0) + a, lambda T, a: T.matrix_power(a, 0) + a, (3, 3), tag="zero"),
    C("linalg.pinv", ad.linalg.pinv, lambda T, a: T.linalg.pinv(a), (2, 3, 5)),
    C("linalg.pinv", ad.linalg.pinv, lambda T, a: T.linalg.pinv(a), (5, 3), tag="tall"),
    C("linalg.pinv", lambda a: ad.linalg.pinv(a @ a.mT, hermitian=True),
      lambda T, a: T.linalg.pinv(a @ a.mT, hermitian=True), (3, 4), tag="hermitian"),
    C("pinverse", lambda a: ad.pinverse(a, rcond=1e-3), lambda T, a: T.pinverse(a, rcond=1e-3), (4, 3)),
    C("linalg.multi_dot", lambda a, b, c: ad.linalg.multi_dot([a, b, c]),
      lambda T, a, b, c: T.linalg.multi_dot([a, b, c]), (3,), (3, 4), (4, 2)),
    C("linalg.multi_dot", lambda a, b, c: ad.linalg.multi_dot([a, b, c]),
      lambda T, a, b, c: T.linalg.multi_dot([a, b, c]), (2, 3), (3, 4), (4,), tag="vector-last"),
    C("chain_matmul", ad.chain_matmul, lambda T, a, b, c: T.linalg.multi_dot([a, b, c]), (2, 3), (3, 4), (4, 2)),
    C("linalg.cholesky", lambda a: ad.linalg.cholesky(a @ a.mT + 3 * np.eye(4, dtype=a.dtype)),
      lambda T, a: T.linalg.cholesky(a @ a.mT + 3 * T.eye(4, dtype=a.dtype)), (2, 4, 4)),
    C("linalg.cholesky", lambda a: ad.linalg.cholesky(a @ a.mT + 3 * np.eye(3, dtype=a.dtype), upper=True),
      lambda T, a: T.linalg.cholesky(a @ a.mT + 3 * T.eye(3, dtype=a.dtype), upper=True), (3, 3), tag="upper"),
    *[C("linalg.qr", lambda a: tuple(ad.linalg.qr(a)), lambda T, a: tuple(T.linalg.qr(a)), shape, rtol32=2e-3,
        second_order=False, tag=str(shape)) for shape in [(4, 3), (3, 5), (2, 4, 4)]],
    C("linalg.qr", lambda a: tuple(ad.linalg.qr(a, mode="complete")),
      lambda T, a: tuple(T.linalg.qr(a, mode="complete")), (3, 4), rtol32=2e-3, second_order=False, tag="complete"),
    # eigenvectors and singular vectors are defined up to sign: sign-free functions of them
    C("linalg.eigh", lambda a: (lambda w, v: (w, v * v))(*ad.linalg.eigh(a + a.mT)),
      lambda T, a: (lambda w, v: (w, v * v))(*T.linalg.eigh(a + a.mT)), (2, 4, 4), rtol32=2e-3,
      second_order=False),
    C("linalg.eigh", lambda a: (lambda w, v: (w, v * v))(*ad.linalg.eigh(a + a.mT, UPLO="U")),
      lambda T, a: (lambda w, v: (w, v * v))(*T.linalg.eigh(a + a.mT, UPLO="U")), (3, 3), rtol32=2e-3,
      second_order=False, tag="upper"),
    *[C("linalg.svd", lambda a: (lambda u, s, vh: (u @ vh, s, u * u, vh * vh))(*ad.linalg.svd(a, full_matrices=False)),
        lambda T, a: (lambda u, s, vh: (u @ vh, s, u * u, vh * vh))(*T.linalg.svd(a, full_matrices=False)), shape,
        rtol32=2e-3, second_order=False, tag=str(shape)) for shape in [(4, 3), (3, 5), (2, 3, 3)]],
    C("addmv", lambda i, m, v: ad.addmv(i, m, v, beta=0.5, alpha=2.0),
      lambda T, i, m, v: T.addmv(i, m, v, beta=0.5, alpha=2.0), (3,), (3, 4), (4,)),
    C("addr", lambda i, a, b: ad.addr(i, a, b, alpha=-1.5), lambda T, i, a, b: T.addr(i, a, b, alpha=-1.5),
      (3, 1), (3,), (4,)),
    C("baddbmm", lambda i, a, b: ad.baddbmm(i, a, b, beta=2.0), lambda T, i, a, b: T.baddbmm(i, a, b, beta=2.0),
      (3, 2), (2, 3, 4), (2, 4, 2)),
    C("addbmm", ad.addbmm, lambda T, i, a, b: T.addbmm(i, a, b), (3, 2), (2, 3, 4), (2, 4, 2)),
    C("vdot", ad.vdot, lambda T, a, b: T.vdot(a, b), (5,), (5,)),
    # ---- pointwise with parameters
    C("lerp", ad.lerp, lambda T, a, b, w: T.lerp(a, b, w), (3, 4), (4,), (3, 1), domain=(0.0, 1.0)),
    C("lerp", lambda a, b: ad.lerp(a, b, 0.75), lambda T, a, b: T.lerp(a, b, 0.75), (3,), (3,), tag="number"),
    C("nan_to_num", lambda x: ad.nan_to_num(x, posinf=9.0), lambda T, x: T.nan_to_num(x, posinf=9.0),
      np.array([np.nan, np.inf, -np.inf, 1.5, -0.5]), gradcheck=False),
    C("round", lambda x: ad.round(x, decimals=1) + x, lambda T, x: T.round(x, decimals=1) + x, (3, 4)),
    C("addcmul", ad.addcmul, lambda T, a, b, c: T.addcmul(a, b, c), (3, 4), (4,), (3, 1)),
    C("addcmul", lambda a, b, c: ad.addcmul(a, b, c, value=-0.5), lambda T, a, b, c: T.addcmul(a, b, c, value=-0.5),
      (3,), (2, 3), (3,), tag="value"),
    C("addcdiv", lambda a, b, c: ad.addcdiv(a, b, c * c + 1, value=2.0),
      lambda T, a, b, c: T.addcdiv(a, b, c * c + 1, value=2.0), (3, 4), (4,), (3, 1)),
    C("clamp_min", lambda x: ad.clamp_min(x, 0.3), lambda T, x: T.clamp_min(x, 0.3), (3, 4)),
    C("clamp_min", ad.clamp_min, lambda T, x, m: T.clamp_min(x, m), (3, 4), (4,), tag="tensor"),
    C("clamp_max", lambda x: ad.clamp_max(x, -0.2), lambda T, x: T.clamp_max(x, -0.2), (3, 4)),
    C("clamp_max", ad.clamp_max, lambda T, x, m: T.clamp_max(x, m), (3, 4), (3, 1), tag="tensor"),
    # ---- nn.functional: activations
    *[C(f"F.{name}", getattr(F, name), (lambda n: lambda T, x: getattr(T.nn.functional, n)(x))(name),
        (3, 8), domain=(-7.0, 7.0), rtol64=1e-7 if name == "hardsigmoid" else 1e-9)     # (PyTorch's 1/6 is float32)
      for name in ("softplus", "logsigmoid", "silu", "mish", "elu", "selu", "celu", "hardtanh", "relu6",
                   "hardswish", "hardsigmoid", "softsign", "tanhshrink", "softshrink", "hardshrink", "glu")],
    C("F.softplus", lambda x: F.softplus(x, 2.0, 3.0), lambda T, x: T.nn.functional.softplus(x, 2.0, 3.0),
      (3, 4), domain=(-3.0, 3.0), tag="beta-threshold"),
    C("F.elu", lambda x: F.elu(x, 0.5), lambda T, x: T.nn.functional.elu(x, 0.5), (2, 5), tag="alpha"),
    C("F.celu", lambda x: F.celu(x, 2.0), lambda T, x: T.nn.functional.celu(x, 2.0), (2, 5), tag="alpha"),
    C("F.hardtanh", lambda x: F.hardtanh(x, -0.5, 2.0), lambda T, x: T.nn.functional.hardtanh(x, -0.5, 2.0),
      (2, 5), tag="bounds"),
    C("F.softmin", lambda x: F.softmin(x, 0), lambda T, x: T.nn.functional.softmin(x, 0), (3, 4)),
    C("F.prelu", F.prelu, lambda T, x, w: T.nn.functional.prelu(x, w), (2, 3, 4), (3,)),
    C("F.prelu", F.prelu, lambda T, x, w: T.nn.functional.prelu(x, w), (5,), (1,), tag="shared"),
    C("F.gelu", lambda x: F.gelu(x, approximate="tanh"), lambda T, x: T.nn.functional.gelu(x, approximate="tanh"),
      (3, 4), tag="tanh"),
    C("F.erf", F.erf, lambda T, x: T.erf(x), (3, 4)),
    # ---- nn.functional: distances and layers
    C("F.normalize", F.normalize, lambda T, x: T.nn.functional.normalize(x), ZERO_ROW, gradcheck=False),
    C("F.normalize", F.normalize, lambda T, x: T.nn.functional.normalize(x), (3, 4), tag="random"),
    C("F.normalize", lambda x: F.normalize(x, 1.0, 0), lambda T, x: T.nn.functional.normalize(x, 1.0, 0), (3, 4),
      tag="p=1"),
    C("F.cosine_similarity", F.cosine_similarity, lambda T, a, b: T.nn.functional.cosine_similarity(a, b),
      ZERO_ROW, (3, 5), gradcheck=False),
    C("F.cosine_similarity", F.cosine_similarity, lambda T, a, b: T.nn.functional.cosine_similarity(a, b),
      (3, 5), (3, 5), tag="random"),
    C("F.cosine_similarity", lambda a, b: F.cosine_similarity(a, b, -1),
      lambda T, a, b: T.nn.functional.cosine_similarity(a, b, -1), (2, 1, 4), (3, 4), tag="broadcast"),
    C("F.pairwise_distance", F.pairwise_distance, lambda T, a, b: T.nn.functional.pairwise_distance(a, b),
      (4, 5), (4, 5)),
    C("F.pairwise_distance", lambda a, b: F.pairwise_distance(a, b, 1.0, keepdim=True),
      lambda T, a, b: T.nn.functional.pairwise_distance(a, b, 1.0, keepdim=True), (4, 5), (5,), tag="p=1"),
    C("F.embedding", lambda w: F.embedding(np.array([[0, 3, 3], [1, 0, 2]]), w, padding_idx=3),
      lambda T, w: T.nn.functional.embedding(T.tensor([[0, 3, 3], [1, 0, 2]]), w, padding_idx=3), (4, 2),
      gradcheck=False),     # by design: no gradient to the padding row, whose value is used
    C("F.embedding", lambda w: F.embedding(np.array([[0, 3, 3], [1, 0, 2]]), w),
      lambda T, w: T.nn.functional.embedding(T.tensor([[0, 3, 3], [1, 0, 2]]), w), (4, 2), tag="plain"),
    C("F.embedding", lambda w: F.embedding(np.array([0, 3, 3]), w, scale_grad_by_freq=True),
      lambda T, w: T.nn.functional.embedding(T.tensor([0, 3, 3]), w, scale_grad_by_freq=True), (4, 2), tag="freq",
      gradcheck=False),     # by design: the gradient is scaled
    C("F.bilinear", F.bilinear, lambda T, a, b, w, c: T.nn.functional.bilinear(a, b, w, c), (4, 3), (4, 2), (5, 3, 2),
      (5,)),
    C("F.dropout1d", lambda x: F.dropout1d(x, 0.5, training=False) + F.dropout1d(x, 0.0),
      lambda T, x: T.nn.functional.dropout1d(x, 0.5, training=False) + T.nn.functional.dropout1d(x, 0.0), (2, 3, 4)),
    C("F.dropout3d", lambda x: F.dropout3d(x, 0.5, training=False) + F.dropout3d(x, 0.0),
      lambda T, x: T.nn.functional.dropout3d(x, 0.5, training=False) + T.nn.functional.dropout3d(x, 0.0),
      (1, 2, 2, 3, 2)),
    C("F.max_unpool3d", lambda x: F.max_unpool3d(*F.max_pool3d(x, 2, return_indices=True), 2),
      lambda T, x: T.nn.functional.max_unpool3d(*T.nn.functional.max_pool3d(x, 2, return_indices=True), 2),
      (1, 2, 4, 4, 2)),
    C("F.conv_transpose1d", lambda x, w: F.conv_transpose1d(x, w, stride=2),
      lambda T, x, w: T.nn.functional.conv_transpose1d(x, w, stride=2), (2, 3, 5), (3, 2, 3)),
    C("F.one_hot", lambda i: F.one_hot(i, 4), lambda T, i: T.nn.functional.one_hot(i, 4), ONE_HOT),
    # ---- nn.functional: losses
    C("F.kl_div", lambda a, b: F.kl_div(a, b, reduction="batchmean"),
      lambda T, a, b: T.nn.functional.kl_div(a, b, reduction="batchmean"), np.log(PROBS), PROBS),
    C("F.kl_div", lambda a, b: F.kl_div(a, b, reduction="none", log_target=True),
      lambda T, a, b: T.nn.functional.kl_div(a, b, reduction="none", log_target=True), np.log(PROBS), (4, 5),
      tag="log-target"),
    C("F.soft_margin_loss", F.soft_margin_loss, lambda T, x, y: T.nn.functional.soft_margin_loss(x, y), (4, 5), SIGNS),
    C("F.multilabel_soft_margin_loss", lambda x, y, w: F.multilabel_soft_margin_loss(x, y, w, reduction="none"),
      lambda T, x, y, w: T.nn.functional.multilabel_soft_margin_loss(x, y, w, reduction="none"), (4, 5),
      Const((SIGNS.array > 0).astype(float)), Const(rng.random(5))),
    C("F.margin_ranking_loss", lambda a, b, y: F.margin_ranking_loss(a, b, y, 0.3),
      lambda T, a, b, y: T.nn.functional.margin_ranking_loss(a, b, y, 0.3), (5,), (5,), Const(SIGNS.array[0])),
    C("F.hinge_embedding_loss", lambda x, y: F.hinge_embedding_loss(x, y, 0.5, reduction="sum"),
      lambda T, x, y: T.nn.functional.hinge_embedding_loss(x, y, 0.5, reduction="sum"), (4, 5), SIGNS),
    C("F.cosine_embedding_loss", lambda a, b, y: F.cosine_embedding_loss(a, b, y, 0.1),
      lambda T, a, b, y: T.nn.functional.cosine_embedding_loss(a, b, y, 0.1), (4, 5), (4, 5), Const(SIGNS.array[:, 0])),
    C("F.triplet_margin_loss", F.triplet_margin_loss, lambda T, a, p, n: T.nn.functional.triplet_margin_loss(a, p, n),
      (4, 5), (4, 5), (4, 5)),
    C("F.triplet_margin_loss", lambda a, p, n: F.triplet_margin_loss(a, p, n, 0.5, 1, swap=True, reduction="none"),
      lambda T, a, p, n: T.nn.functional.triplet_margin_loss(a, p, n, 0.5, 1, swap=True, reduction="none"),
      (4, 5), (4, 5), (4, 5), tag="swap-p1"),
    C("F.triplet_margin_with_distance_loss",
      lambda a, p, n: F.triplet_margin_with_distance_loss(a, p, n, distance_function=lambda u, v: 1 - F.cosine_similarity(u, v)),
      lambda T, a, p, n: T.nn.functional.triplet_margin_with_distance_loss(
          a, p, n, distance_function=lambda u, v: 1 - T.nn.functional.cosine_similarity(u, v)), (4, 5), (4, 5), (4, 5)),
    C("F.poisson_nll_loss", lambda x, y: F.poisson_nll_loss(x, y, full=True),
      lambda T, x, y: T.nn.functional.poisson_nll_loss(x, y, full=True), (4, 5), rng.poisson(3.0, (4, 5)) + 1.5),
    C("F.poisson_nll_loss", lambda x, y: F.poisson_nll_loss(x, y, log_input=False),
      lambda T, x, y: T.nn.functional.poisson_nll_loss(x, y, log_input=False), (4, 5),
      Const(rng.poisson(3.0, (4, 5)).astype(float)), domain=(0.2, 3.0), tag="rates"),
    C("F.gaussian_nll_loss", lambda x, y, v: F.gaussian_nll_loss(x, y, v, full=True),
      lambda T, x, y, v: T.nn.functional.gaussian_nll_loss(x, y, v, full=True), (4, 5), (4, 5),
      np.abs(rng.normal(size=(4, 1))) + 0.1),
    C("F.gaussian_nll_loss", lambda x, y, v: F.gaussian_nll_loss(x, y, v, reduction="none"),
      lambda T, x, y, v: T.nn.functional.gaussian_nll_loss(x, y, v, reduction="none"), (4, 5), (4, 5),
      np.abs(rng.normal(size=4)) * 1e-7, tag="clamped", gradcheck=False),
    C("F.multi_margin_loss", lambda x, t: F.multi_margin_loss(x, t), lambda T, x, t: T.nn.functional.multi_margin_loss(x, t),
      (4, 5), LABELS),
    C("F.multi_margin_loss", lambda x, t, w: F.multi_margin_loss(x, t, p=2, margin=0.7, weight=w),
      lambda T, x, t, w: T.nn.functional.multi_margin_loss(x, t, p=2, margin=0.7, weight=w), (4, 5), LABELS,
      Const(rng.random(5)), tag="p2-weight"),
    # ---- more of PyTorch's elementwise names with parameters (autodiff.pointwise)
    C("logit", lambda x: ad.logit(x, 0.2), lambda T, x: T.logit(x, 0.2), (3, 4), domain=(0.25, 0.75)),
    C("float_power", ad.float_power, lambda T, a, b: T.float_power(a, b), (3, 4), (4,), domain=(0.5, 2.0)),
    C("true_divide", ad.true_divide, lambda T, a, b: T.true_divide(a, b), (3, 4), (4,), domain=(0.5, 2.0)),
    C("rsub", lambda a, b: ad.rsub(a, b, alpha=2), lambda T, a, b: T.rsub(a, b, alpha=2), (3, 4), (4,)),
    C("positive", ad.positive, lambda T, x: T.positive(x), (3, 4)),
    C("ldexp", ad.ldexp, lambda T, a, b: T.ldexp(a, b), (3, 4), (4,)),
    C("polygamma", lambda x: ad.polygamma(2, x), lambda T, x: T.polygamma(2, x), (3, 4), domain=(0.5, 3.0)),
    C("mvlgamma", lambda x: ad.mvlgamma(x, 3), lambda T, x: T.mvlgamma(x, 3), (3, 4), domain=(2.0, 4.0)),
    # (PyTorch 2.13's vander backward raises: its reference here is the same matrix by powers)
    C("vander", lambda x: ad.vander(x, 4), lambda T, x: T.stack([x ** k for k in (3, 2, 1, 0)], 1), (5,)),
    C("block_diag", lambda a, b, c: ad.block_diag(a, b, c), lambda T, a, b, c: T.block_diag(a, b, c), (2, 3), (3,), ()),
    # ---- order statistics (scans.py)
    C("nanmedian", lambda x: ad.nanmedian(ad.where(NANS, np.nan, x), 1),
      lambda T, x: T.nanmedian(T.where(T.tensor(NANS), np.nan, x), 1), (3, 4), tag="nans"),
    C("nanmedian", ad.nanmedian, lambda T, x: T.nanmedian(x), (3, 5)),
    C("quantile", lambda x: ad.quantile(x, 0.3, 1), lambda T, x: T.quantile(x, 0.3, 1), (3, 5)),
    C("quantile", lambda x, q: ad.quantile(x, q, 0, keepdim=True), lambda T, x, q: T.quantile(x, q, 0, keepdim=True),
      (4, 3), Const(np.array([0.1, 0.5, 0.9])), tag="q-tensor"),
    C("nanquantile", lambda x: ad.nanquantile(ad.where(NANS, np.nan, x), 0.6, 1, interpolation="midpoint"),
      lambda T, x: T.nanquantile(T.where(T.tensor(NANS), np.nan, x), 0.6, 1, interpolation="midpoint"), (3, 4),
      tag="nans"),
    C("mode", lambda x: ad.mode(ad.round(x), 1), lambda T, x: T.mode(T.round(x), 1), (3, 6), gradcheck=False),
    # ---- indexing functions: reading (shapes.py) and writing into a copy (gathering.py)
    C("ravel", ad.ravel, lambda T, x: T.ravel(x), (2, 3, 2)),
    C("t", ad.t, lambda T, x: T.t(x), (3, 4)),
    # (overlapping windows: gradients add up; first order only, as the method's)
    C("as_strided", lambda x: ad.as_strided(x, (3, 2), (2, 3), 1), lambda T, x: T.as_strided(x, (3, 2), (2, 3), 1),
      (3, 4), second_order=False),
    C("select", lambda x: ad.select(x, 1, -1), lambda T, x: T.select(x, 1, -1), (2, 3, 4)),
    C("index_fill", lambda x, i: ad.index_fill(x, 1, i, 0.5), lambda T, x, i: T.index_fill(x, 1, i, 0.5), (3, 4),
      np.array([3, 1])),
    C("index_copy", lambda x, i, s: ad.index_copy(x, 0, i, s), lambda T, x, i, s: T.index_copy(x, 0, i, s), (3, 4),
      np.array([2, 0]), (2, 4)),
    C("index_put", lambda x, i, v: ad.index_put(x, (i,), v, accumulate=True),
      lambda T, x, i, v: T.index_put(x, (i,), v, accumulate=True), (3, 4), np.array([1, 1, 0]), (3, 4)),
    C("masked_scatter", lambda x, s: ad.masked_scatter(x, ad.tensor(NANS), s),
      lambda T, x, s: T.masked_scatter(x, T.tensor(NANS), s), (3, 4), (6,)),
    C("select_scatter", lambda x, s: ad.select_scatter(x, s, 0, 1), lambda T, x, s: T.select_scatter(x, s, 0, 1),
      (3, 4), (4,)),
    C("slice_scatter", lambda x, s: ad.slice_scatter(x, s, 1, 1, 3), lambda T, x, s: T.slice_scatter(x, s, 1, 1, 3),
      (3, 4), (3, 2)),
    C("diagonal_scatter", lambda x, s: ad.diagonal_scatter(x, s, -1), lambda T, x, s: T.diagonal_scatter(x, s, -1),
      (3, 4), (2,)),
]

IDS = [c.name + (f"-{c.tag}" if c.tag else "") for c in CASES]


def _inputs(case, dtype, seed=0):
    """(arrays, requires_grad flags) for a case, floats in ``dtype``."""
    draw = np.random.default_rng(seed)
    arrays, grads = [], []
    for spec in case.inputs:
        if isinstance(spec, Const):
            arrays.append(spec.array.astype(dtype) if spec.array.dtype.kind == "f" else spec.array)
            grads.append(False)
        elif isinstance(spec, np.ndarray):
            is_float = spec.dtype.kind == "f"
            arrays.append(spec.astype(dtype) if is_float else spec)
            grads.append(is_float)
        else:
            arrays.append(draw.uniform(*case.domain, spec).astype(dtype))
            grads.append(True)
    return arrays, grads


def _outputs(out):
    """The float outputs of a result (a tensor, or a tuple such as sort's (values, indices))."""
    items = out if isinstance(out, tuple) else (out,)
    return list(items)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_values_and_gradients_match_torch(case, dtype):
    torch = pytest.importorskip("torch")
    arrays, grads = _inputs(case, dtype)
    mine = [ad.tensor(a, requires_grad=g) for a, g in zip(arrays, grads)]
    theirs = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grads)]
    ours, expected = _outputs(case.ours(*mine)), _outputs(case.theirs(torch, *theirs))
    rtol = case.rtol64 if dtype == np.float64 else case.rtol32
    atol = rtol * 1e-2
    assert len(ours) == len(expected)
    for o, e in zip(ours, expected):
        assert o.shape == tuple(e.shape), case.name
        assert o.dtype == np.dtype(str(e.dtype).split(".")[1]), case.name
        np.testing.assert_allclose(o.data, e.detach().numpy(), rtol=rtol, atol=atol, equal_nan=True)
    differentiable = [(o, e) for o, e in zip(ours, expected) if o.requires_grad]
    if not differentiable:
        return
    total_mine, total_theirs = 0, 0
    for k, (o, e) in enumerate(differentiable):
        weights = np.cos(np.arange(o.size) + k).reshape(o.shape).astype(dtype)
        clean = np.where(np.isfinite(o.data), weights, 0).astype(dtype)     # nan outputs carry no gradient
        total_mine = total_mine + (o * clean).sum()
        total_theirs = total_theirs + (e * torch.tensor(clean)).sum()
    total_mine.backward()
    total_theirs.backward()
    for t, r, g in zip(mine, theirs, grads):
        if g:
            expected_grad = np.zeros(arrays[mine.index(t)].shape) if r.grad is None else r.grad.numpy()
            assert t.grad is not None and t.grad.shape == expected_grad.shape, case.name
            np.testing.assert_allclose(t.grad.data, expected_grad, rtol=rtol, atol=atol, equal_nan=True)


GRADCHECKED = [c for c in CASES if c.gradcheck and any(
    not isinstance(s, Const) and not (isinstance(s, np.ndarray) and s.dtype.kind != "f") for s in c.inputs)]


@pytest.mark.parametrize("case", GRADCHECKED, ids=[IDS[CASES.index(c)] for c in GRADCHECKED])
def test_gradcheck_and_gradgradcheck_in_float64(case):
    arrays, grads = _inputs(case, np.float64, seed=1)
    tensors = [ad.tensor(a, requires_grad=g) for a, g in zip(arrays, grads)]
    differentiable = [k for k, g in enumerate(grads) if g]

    def function(*variables):
        given = list(tensors)
        for k, v in zip(differentiable, variables):
            given[k] = v
        out = [o for o in _outputs(case.ours(*given)) if o.requires_grad]
        return out[0] if len(out) == 1 else tuple(out)

    variables = [tensors[k] for k in differentiable]
    assert ad.gradcheck(function, variables)
    if case.second_order:
        assert ad.gradgradcheck(function, variables)


# ---- ops without a gradient: values (and dtypes) equal to PyTorch's ---------------------------

VALUE_CASES = [
    ("heaviside", ad.heaviside, lambda T, a, b: T.heaviside(a, b), (np.array([-1.0, 0.0, 2.0]), np.array([0.5]))),
    ("searchsorted", lambda s, v: ad.searchsorted(s, v, right=True), lambda T, s, v: T.searchsorted(s, v, right=True),
     (np.array([1.0, 2.0, 2.0, 4.0]), np.array([[2.0, 0.5], [4.5, 3.0]]))),
    ("bucketize", ad.bucketize, lambda T, v, b: T.bucketize(v, b), (np.array([2, 0, 7]), np.array([1, 2, 4]))),
    ("isin", ad.isin, lambda T, e, t: T.isin(e, t), (np.array([[1, 2], [3, 4]]), np.array([4, 1]))),
    ("allclose", lambda a, b: ad.allclose(a, b, rtol=0.1), lambda T, a, b: T.allclose(a, b, rtol=0.1),
     (np.array([1.0, 2.0]), np.array([1.05, 2.1]))),
    ("allclose", lambda a, b: ad.allclose(a, b), lambda T, a, b: T.allclose(a, b), (np.array([1.0]), np.array([1.1]))),
    ("equal", ad.equal, lambda T, a, b: T.equal(a, b), (np.array([1, 2]), np.array([1, 2]))),
    ("equal", ad.equal, lambda T, a, b: T.equal(a, b), (np.array([1, 2]), np.array([1, 3]))),
    ("nonzero", ad.nonzero, lambda T, a: T.nonzero(a), (np.array([[0.0, 1.5], [2.0, 0.0]]),)),
    ("argwhere", ad.argwhere, lambda T, a: T.argwhere(a), (np.array([[0.0, 1.5], [2.0, 0.0]]),)),
    ("count_nonzero", ad.count_nonzero, lambda T, a: T.count_nonzero(a), (np.array([[0.0, 1.5], [2.0, 0.0]]),)),
    ("count_nonzero", lambda a: ad.count_nonzero(a, 1), lambda T, a: T.count_nonzero(a, 1),
     (np.array([[0.0, 1.5], [2.0, 3.0]]),)),
    ("all", lambda a: ad.all(a, 1), lambda T, a: T.all(a, 1), (np.array([[0.0, 1.5], [2.0, 3.0]]),)),
    ("any", ad.any, lambda T, a: T.any(a), (np.array([[0.0, 0.0], [0.0, 3.0]]),)),
    ("diff", lambda a: ad.diff(a, dim=0), lambda T, a: T.diff(a, dim=0), (np.array([[True, False], [True, True]]),)),
    ("nonzero", lambda a: ad.nonzero(a, as_tuple=True), lambda T, a: T.nonzero(a, as_tuple=True),
     (np.array([[0, 3], [1, 0]]),)),
    ("where", ad.where, lambda T, a: T.where(a), (np.array([[0, 3, 0], [1, 0, 2]]),)),
    ("bincount", ad.bincount, lambda T, a: T.bincount(a), (np.array([0, 3, 3, 1]),)),
    ("bincount", lambda a, w: ad.bincount(a, w, minlength=6), lambda T, a, w: T.bincount(a, w, minlength=6),
     (np.array([0, 3, 3, 1]), np.array([0.5, 1.0, 2.0, -1.0]))),
    ("unique", lambda a: ad.unique(a, return_inverse=True, return_counts=True),
     lambda T, a: T.unique(a, return_inverse=True, return_counts=True), (np.array([[3, 1], [3, 2]]),)),
    ("unique", lambda a: ad.unique(a, dim=0), lambda T, a: T.unique(a, dim=0), (np.array([[1, 2], [0, 1], [1, 2]]),)),
    ("broadcast_shapes", lambda: ad.broadcast_shapes((3, 1), (4,), ()),
     lambda T: tuple(T.broadcast_shapes((3, 1), (4,), ())), ()),
    ("argsort", lambda a: ad.argsort(a), lambda T, a: T.argsort(a, stable=True), (np.array([[2, 1, 2, 0]]),)),
]


@pytest.mark.parametrize("name,ours,theirs,arrays", VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_ops_without_gradients_match_torch(name, ours, theirs, arrays):
    torch = pytest.importorskip("torch")
    mine = ours(*[ad.tensor(a) for a in arrays])
    expected = theirs(torch, *[torch.tensor(a) for a in arrays])
    items = mine if isinstance(mine, tuple) else (mine,)
    references = expected if isinstance(expected, tuple) else (expected,)
    assert len(items) == len(references)
    for m, e in zip(items, references):
        if isinstance(e, torch.Tensor):
            assert isinstance(m, ad.Tensor) and not m.requires_grad
            assert m.dtype == np.dtype(str(e.dtype).split(".")[1])
            np.testing.assert_array_equal(m.data, e.numpy())
        else:
            assert m == e and type(m) is type(e)
