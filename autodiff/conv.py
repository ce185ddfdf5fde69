"""Convolution and window ops on PyTorch's layouts: inputs (N, C, *spatial), conv weights
(out_channels, in_channels / groups, *kernel), for any number of spatial dims (``nn.functional``
exposes 1, 2 and 3, with PyTorch's signatures: see nn/spatial.py).

The ops, each a Function with forward and backward side by side:

* ``Conv``: y = conv(x, w) + b. im2col through ``sliding_window_view`` and one matmul.
* ``ConvTranspose``: the adjoint of ``Conv`` in its input (col2im); with a bias it is
  ``conv_transpose``, and without it the input gradient of ``Conv``.
* ``ConvWeight``: the adjoint of ``Conv`` in its weight (the weight gradient).

The three are bilinear and each one's backward is written as calls of the three, so gradients
of any order come for free (PyTorch defines its convolution backward the same way):
with <., .> the sum of elementwise products, <conv(x, w), g> = <x, transpose(g, w)> =
<w, weight(x, g)>, which gives every partial derivative below.

* ``Unfold`` / ``Fold``: im2col and col2im in PyTorch's (N, C * prod(kernel), L) layout, each the
  other's backward.
* ``MaxPool``: the max of each window; it keeps where each max is (flat in its plane: PyTorch's
  ``return_indices``), and its backward is the scatter-add of the gradient there.
* ``SpatialGather`` / ``SpatialScatter``: values at given flat spatial indices and the
  scatter-add back, each the other's backward (max pooling's higher-order gradients, adaptive
  max pooling, max unpooling).

Speed: the kernels work in channels-last memory, (N, *spatial, C). Windows copied from a
channels-last array read whole channel rows (measured: 40 us instead of 490 us for the im2col
of a (64, 32, 4, 4) float32 input with a 3x3 kernel, whose matmul takes 380 us), and the matmul
output (N * positions, out_channels) is already channels-last: the conv returns it as a view
with PyTorch's (N, C, *spatial) shape, and the next conv or pooling reads it without a copy.
Values and shapes are PyTorch's whatever the memory layout; only ``.data.strides`` tell.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Iterator, NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .function import Function
from .grad_mode import is_grad_enabled
from .tensor import Tensor

if TYPE_CHECKING:
    from .engine import _G, _Gradient

__all__ = ["ConvGeometry", "Conv", "ConvTranspose", "ConvWeight", "Unfold", "Fold", "SpatialGather",
           "SpatialScatter", "conv", "conv_transpose", "conv_weight", "unfold", "fold",
           "MaxPool", "spatial_gather", "spatial_scatter", "max_pool", "first_max", "disjoint", "window_count"]


class ConvGeometry(NamedTuple):
    """The shape of one convolution x -> y, per spatial dim: ``kernel`` sizes, ``stride``,
    ``padding`` as (before, after) zeros added to x, ``dilation``; ``groups``; and the spatial
    sizes of x (``input_size``) and y (``output_size``). ``ConvTranspose`` runs the same
    convolution backwards, from y to x."""
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    dilation: tuple[int, ...]
    groups: int
    input_size: tuple[int, ...]
    output_size: tuple[int, ...]

    @property
    def span(self) -> tuple[int, ...]:
        """The extent of a dilated kernel per dim: (k - 1) * dilation + 1."""
        return tuple((k - 1) * d + 1 for k, d in zip(self.kernel, self.dilation))


def window_count(size: int, kernel: int, stride: int, padding: tuple[int, int], dilation: int,
                 ceil_mode: bool = False) -> int:
    """Positions of a window along one dim: floor((size + before + after - span) / stride) + 1
    (``ceil_mode``: rounded up, but the last window must start inside the input or the padding
    before it, as PyTorch's pooling). ``padding`` is (before, after). May be < 1: callers check."""
    before, after = padding
    extent = size + before + after - ((kernel - 1) * dilation + 1)
    if extent < 0:
        return 0
    if not ceil_mode:
        return extent // stride + 1
    count = -(-extent // stride) + 1
    if (count - 1) * stride >= size + before:
        count -= 1
    return count


# ---------------------------------------------------------------------------------------------
# layout helpers: channels-last working arrays


def _spatial_axes(ndim: int) -> tuple[int, ...]:
    return tuple(range(2, ndim))


def _to_channels_last(x: np.ndarray, padding: tuple[tuple[int, int], ...] | None = None,
                      fill: float = 0) -> np.ndarray:
    """(N, C, *S) -> a C-contiguous (N, *S_padded, C) array, padded with ``fill``; a view of x
    when x already has that memory layout and there is no padding."""
    d = x.ndim - 2
    view = x.transpose((0,) + tuple(range(2, d + 2)) + (1,))
    if padding is None or not any(before or after for before, after in padding):
        return view if view.flags.c_contiguous else np.ascontiguousarray(view)
    shape = ((x.shape[0],) + tuple(n + before + after for n, (before, after) in zip(x.shape[2:], padding))
             + (x.shape[1],))
    out = np.zeros(shape, x.dtype) if fill == 0 else np.full(shape, fill, x.dtype)
    out[(slice(None),) + tuple(slice(before, before + n) for n, (before, _) in zip(x.shape[2:], padding))] = view
    return out


def _from_channels_last(y: np.ndarray) -> np.ndarray:
    """(N, *S, C) -> the (N, C, *S) view of the same memory."""
    d = y.ndim - 2
    return y.transpose((0, d + 1) + tuple(range(1, d + 1)))


def _is_channels_last(x: np.ndarray) -> bool:
    """True when x (N, C, *S) is laid out as a C-contiguous (N, *S, C) array (and C > 1)."""
    d = x.ndim - 2
    return x.shape[1] > 1 and x.transpose((0,) + tuple(range(2, d + 2)) + (1,)).flags.c_contiguous


def _rows(grad: np.ndarray) -> np.ndarray:
    """(N, C, *S) -> its (N * prod(S), C) matrix: a view when grad is channels-last."""
    view = grad.transpose((0,) + tuple(range(2, grad.ndim)) + (1,))
    return view.reshape(-1, grad.shape[1])


def _window_view(xl: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    """The windows of a channels-last (N, *S_padded, C) array: a (N, *O, C, *K) view."""
    d = len(geometry.kernel)
    windows = sliding_window_view(xl, geometry.span, axis=tuple(range(1, d + 1)))   # (N, *L, C, *span)
    index = ((slice(None),)
             + tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(geometry.output_size, geometry.stride))
             + (slice(None),)
             + tuple(slice(None, None, dilation) for dilation in geometry.dilation))
    return windows[index]


def _offsets(geometry: ConvGeometry) -> Iterator[tuple[tuple[int, ...], tuple[slice, ...]]]:
    """Each kernel position k as the slices of the output grid's inputs in the padded input."""
    for k in np.ndindex(*geometry.kernel):
        yield k, tuple(slice(ki * dl, ki * dl + (o - 1) * s + 1, s) for ki, dl, o, s in
                       zip(k, geometry.dilation, geometry.output_size, geometry.stride))


def _crop(buffer: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    """The input-sized part of a channels-last padded buffer (N, *S_padded, C)."""
    return buffer[(slice(None),) + tuple(slice(before, before + n) for (before, _), n in
                                         zip(geometry.padding, geometry.input_size))]


# ---------------------------------------------------------------------------------------------
# kernels on arrays


def _columns(x: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    """im2col: x (N, C, *S) -> contiguous (N * prod(O), G, prod(K) * C/G): one row per output
    position, the columns of each group ordered (kernel position, channel)."""
    n, channels = x.shape[:2]
    groups, d = geometry.groups, len(geometry.kernel)
    windows = _window_view(_to_channels_last(x, geometry.padding), geometry)     # (N, *O, C, *K)
    windows = windows.reshape((n,) + geometry.output_size + (groups, channels // groups) + geometry.kernel)
    order = (tuple(range(d + 2)) + tuple(range(d + 3, 2 * d + 3)) + (d + 2,))    # (N, *O, G, *K, C/G)
    columns = np.ascontiguousarray(windows.transpose(order))
    return columns.reshape(n * math.prod(geometry.output_size), groups, math.prod(geometry.kernel) * channels // groups)


def _grouped_weight(weight: np.ndarray, groups: int) -> np.ndarray:
    """(O, C/G, *K) -> contiguous (G, O/G, prod(K) * C/G), columns ordered as ``_columns``'."""
    out_channels, group_channels = weight.shape[:2]
    d = weight.ndim - 2
    grouped = weight.reshape((groups, out_channels // groups, group_channels) + weight.shape[2:])
    return np.ascontiguousarray(grouped.transpose((0, 1) + tuple(range(3, d + 3)) + (2,))).reshape(
        groups, out_channels // groups, -1)


def _conv(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, geometry: ConvGeometry,
          columns: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """y (N, O, *O_spatial) = conv(x, weight) + bias, and the im2col columns it used."""
    if columns is None:
        columns = _columns(x, geometry)
    grouped = _grouped_weight(weight, geometry.groups)
    if geometry.groups == 1:
        out = columns[:, 0, :] @ grouped[0].T           # (N * P, O)
    else:
        out = np.matmul(columns.transpose(1, 0, 2), grouped.transpose(0, 2, 1))   # (G, N * P, O/G)
        out = out.transpose(1, 0, 2).reshape(out.shape[1], weight.shape[0])
    if bias is not None:
        if np.result_type(out, bias) == out.dtype:
            out += bias
        else:       # promoted as numpy promotes x and weight (in place would cast the bias)
            out = out + bias
    out = out.reshape((x.shape[0],) + geometry.output_size + (weight.shape[0],))
    return _from_channels_last(out), columns


def _conv_transpose(grad: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                    geometry: ConvGeometry) -> np.ndarray:
    """col2im: the adjoint of the conv in its input, grad (N, O, *O_spatial) -> (N, C, *S), plus
    a bias per channel C when given."""
    n, out_channels = grad.shape[:2]
    groups = geometry.groups
    group_channels = weight.shape[1]
    grouped = _grouped_weight(weight, groups)           # (G, O/G, K * C/G)
    rows = _rows(grad)                                  # (N * P, O)
    if groups == 1:
        columns = (rows @ grouped[0])[None]             # (1, N * P, K * C)
    else:
        columns = np.matmul(rows.reshape(rows.shape[0], groups, out_channels // groups).transpose(1, 0, 2), grouped)
    columns = columns.reshape((groups, n) + geometry.output_size + geometry.kernel + (group_channels,))
    padded = tuple(size + before + after for size, (before, after) in zip(geometry.input_size, geometry.padding))
    buffer = np.zeros((n,) + padded + (groups * group_channels,), columns.dtype)
    by_group = buffer.reshape((n,) + padded + (groups, group_channels))
    d = len(geometry.kernel)
    to_rows = (1,) + tuple(range(2, d + 2)) + (0, d + 2)     # (G, N, *O, C/G) -> (N, *O, G, C/G)
    lead = (slice(None),) * (d + 2)
    for k, window in _offsets(geometry):
        by_group[(slice(None),) + window] += columns[lead + k].transpose(to_rows)
    out = _crop(buffer, geometry)
    if bias is not None:
        if np.result_type(out, bias) == out.dtype:
            out += bias
        else:
            out = out + bias
    return _from_channels_last(out)


def _conv_weight(x: np.ndarray, grad: np.ndarray, geometry: ConvGeometry,
                 columns: np.ndarray | None = None) -> np.ndarray:
    """The adjoint of the conv in its weight: (N, C, *S), (N, O, *O_spatial) -> (O, C/G, *K)."""
    if columns is None:
        columns = _columns(x, geometry)
    groups = geometry.groups
    rows = _rows(grad)                                  # (N * P, O)
    if groups == 1:
        out = (rows.T @ columns[:, 0, :])[None]         # (1, O, K * C)
    else:
        out = np.matmul(rows.reshape(rows.shape[0], groups, grad.shape[1] // groups).transpose(1, 2, 0),
                        columns.transpose(1, 0, 2))
    out_channels = grad.shape[1]
    d = len(geometry.kernel)
    out = out.reshape((out_channels,) + geometry.kernel + (x.shape[1] // groups,))      # (O, *K, C/G)
    return np.ascontiguousarray(out.transpose((0, d + 1) + tuple(range(1, d + 1))))


def _has_tensor(*values: object) -> bool:
    return any(isinstance(v, Tensor) for v in values)


def conv(x: np.ndarray | Tensor, weight: np.ndarray | Tensor, bias: np.ndarray | Tensor | None,
         geometry: ConvGeometry) -> np.ndarray | Tensor:
    """conv(x, weight) + bias: arrays in, an array out; a graph node when any input is a Tensor."""
    if _has_tensor(x, weight, bias):
        return Conv.apply(x, weight, bias, geometry)
    return _conv(x, weight, bias, geometry)[0]  # type: ignore[arg-type]  # (arrays: no Tensor among them)


def conv_transpose(y: np.ndarray | Tensor, weight: np.ndarray | Tensor, bias: np.ndarray | Tensor | None,
                   geometry: ConvGeometry) -> np.ndarray | Tensor:
    """The conv's adjoint in its input (plus bias): an array, or a graph node for Tensors."""
    if _has_tensor(y, weight, bias):
        return ConvTranspose.apply(y, weight, bias, geometry)
    return _conv_transpose(y, weight, bias, geometry)  # type: ignore[arg-type]  # (arrays, as in conv)


def conv_weight(x: np.ndarray | Tensor, grad: np.ndarray | Tensor, geometry: ConvGeometry) -> np.ndarray | Tensor:
    """The conv's adjoint in its weight: an array, or a graph node for Tensors."""
    if _has_tensor(x, grad):
        return ConvWeight.apply(x, grad, geometry)
    return _conv_weight(x, grad, geometry)  # type: ignore[arg-type]  # (arrays, as in conv)


def _bias_grad(grad: _Gradient) -> _Gradient:
    return grad.sum(axis=(0,) + _spatial_axes(grad.ndim))


# ---------------------------------------------------------------------------------------------
# the convolution Functions


class Conv(Function):
    """y = conv(x, weight) + bias: (N, C, *S), (O, C/G, *K), (O,) or None -> (N, O, *O_spatial),
    y[n, o] = bias[o] + sum over c in o's group and k of weight[o, c, k] * x_padded[n, c, p*stride + k*dilation].

    Backward: dx = conv_transpose(g, weight), dweight = conv_weight(x, g), dbias = g summed over
    all but the channel axis. The im2col columns of x are kept for dweight (one matmul)."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                geometry: ConvGeometry) -> np.ndarray:
        out, columns = _conv(x, weight, bias, geometry)
        # the columns are saved (and so freed after the backward) only when dweight needs them
        ctx.save_for_backward(x, weight, columns if ctx.needs_input_grad[1] else None)
        ctx.geometry = geometry
        return out

    @staticmethod
    def backward(ctx: Any, grad: _Gradient) -> tuple[_Gradient, _Gradient, _Gradient, None]:
        x, weight, columns = ctx.saved_tensors
        need_x, need_weight, need_bias = ctx.needs_input_grad[:3]
        geometry = ctx.geometry
        grad_x = conv_transpose(grad, weight, None, geometry) if need_x else None
        grad_weight: _Gradient = None
        if need_weight:
            if isinstance(grad, Tensor) or isinstance(x, Tensor):    # create_graph: on the graph
                grad_weight = ConvWeight.apply(x, grad, geometry)
            else:
                grad_weight = _conv_weight(x, grad, geometry, columns)
        grad_bias = _bias_grad(grad) if need_bias else None
        return grad_x, grad_weight, grad_bias, None


class ConvTranspose(Function):
    """x = conv_transpose(y, weight) + bias: the adjoint of ``Conv`` (geometry x -> y) in its input,
    (N, O, *O_spatial), (O, C/G, *K), (C,) or None -> (N, C, *input_size). This is PyTorch's
    conv_transpose with weight (in_channels, out_channels / groups, *K), read as the weight of
    the convolution it reverses.

    Backward: dy = conv(g, weight), dweight = conv_weight(g, y), dbias = g summed over all but
    the channel axis."""

    @staticmethod
    def forward(ctx: Any, y: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                geometry: ConvGeometry) -> np.ndarray:
        ctx.save_for_backward(y, weight)
        ctx.geometry = geometry
        return _conv_transpose(y, weight, bias, geometry)

    @staticmethod
    def backward(ctx: Any, grad: _Gradient) -> tuple[_Gradient, _Gradient, _Gradient, None]:
        y, weight = ctx.saved_tensors
        need_y, need_weight, need_bias = ctx.needs_input_grad[:3]
        geometry = ctx.geometry
        grad_y = conv(grad, weight, None, geometry) if need_y else None
        grad_weight = conv_weight(grad, y, geometry) if need_weight else None
        grad_bias = _bias_grad(grad) if need_bias else None
        return grad_y, grad_weight, grad_bias, None


class ConvWeight(Function):
    """dweight = conv_weight(x, g): the adjoint of ``Conv`` in its weight, (N, C, *S),
    (N, O, *O_spatial) -> (O, C/G, *K); dweight[o, c, k] = sum over n, p of
    g[n, o, p] * x_padded[n, c, p*stride + k*dilation].

    Backward (h: the incoming gradient, weight-shaped): dx = conv_transpose(g, h), dg = conv(x, h)."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, grad: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
        ctx.save_for_backward(x, grad)
        ctx.geometry = geometry
        return _conv_weight(x, grad, geometry)

    @staticmethod
    def backward(ctx: Any, grad_weight: _Gradient) -> tuple[_Gradient, _Gradient, None]:
        x, grad = ctx.saved_tensors
        need_x, need_grad = ctx.needs_input_grad[:2]
        geometry = ctx.geometry
        grad_x = conv_transpose(grad, grad_weight, None, geometry) if need_x else None
        grad_grad = conv(x, grad_weight, None, geometry) if need_grad else None
        return grad_x, grad_grad, None


# ---------------------------------------------------------------------------------------------
# unfold / fold (PyTorch's im2col layout)


def _unfold(x: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    """(N, C, *S) -> (N, C * prod(K), prod(O)), rows ordered (channel, kernel position)."""
    n, channels = x.shape[:2]
    d = len(geometry.kernel)
    windows = _window_view(_to_channels_last(x, geometry.padding), geometry)   # (N, *O, C, *K)
    order = (0, d + 1) + tuple(range(d + 2, 2 * d + 2)) + tuple(range(1, d + 1))   # (N, C, *K, *O)
    return np.ascontiguousarray(windows.transpose(order)).reshape(
        n, channels * math.prod(geometry.kernel), math.prod(geometry.output_size))


def _fold(columns: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    """(N, C * prod(K), prod(O)) -> (N, C, *input_size), overlapping windows summed."""
    n = columns.shape[0]
    channels = columns.shape[1] // math.prod(geometry.kernel)
    d = len(geometry.kernel)
    blocks = columns.reshape((n, channels) + geometry.kernel + geometry.output_size)
    padded = tuple(size + before + after for size, (before, after) in zip(geometry.input_size, geometry.padding))
    buffer = np.zeros((n,) + padded + (channels,), columns.dtype)
    to_rows = (0,) + tuple(range(2, d + 2)) + (1,)        # (N, C, *O) -> (N, *O, C)
    for k, window in _offsets(geometry):
        buffer[(slice(None),) + window] += blocks[(slice(None), slice(None)) + k].transpose(to_rows)
    return _from_channels_last(_crop(buffer, geometry))


def unfold(x: _G, geometry: ConvGeometry) -> _G:
    """``Unfold`` on arrays, or a graph node for a Tensor."""
    return Unfold.apply(x, geometry) if isinstance(x, Tensor) else _unfold(x, geometry)


def fold(columns: _G, geometry: ConvGeometry) -> _G:
    """``Fold`` on arrays, or a graph node for a Tensor."""
    return Fold.apply(columns, geometry) if isinstance(columns, Tensor) else _fold(columns, geometry)


class Unfold(Function):
    """im2col: (N, C, *S) -> (N, C * prod(K), L), L = prod(output positions); column l holds the
    window at output position l, channel-major. Backward: fold."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
        ctx.geometry = geometry
        return _unfold(x, geometry)

    @staticmethod
    def backward(ctx: Any, grad: _Gradient) -> tuple[_Gradient, None]:
        return fold(grad, ctx.geometry), None


class Fold(Function):
    """col2im: (N, C * prod(K), L) -> (N, C, *S), each column added into its window (overlaps
    sum). Backward: unfold."""

    @staticmethod
    def forward(ctx: Any, columns: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
        ctx.geometry = geometry
        return _fold(columns, geometry)

    @staticmethod
    def backward(ctx: Any, grad: _Gradient) -> tuple[_Gradient, None]:
        return unfold(grad, ctx.geometry), None


# ---------------------------------------------------------------------------------------------
# gather / scatter at spatial indices (max pooling)


def _flat_positions(indices: np.ndarray, channels_last: bool, plane: int) -> np.ndarray:
    """Plane indices (N, C, *O) as positions in a flat working array: (N, *S, C) when
    ``channels_last`` (returned in (N, *O, C) order), else (N, C, *S) (in (N, C, *O) order)."""
    n, channels = indices.shape[:2]
    extra = (1,) * (indices.ndim - 2)
    if channels_last:
        rows = indices.transpose((0,) + tuple(range(2, indices.ndim)) + (1,))     # (N, *O, C)
        flat = rows + (np.arange(n) * plane).reshape((n,) + extra + (1,))
        flat *= channels
        flat += np.arange(channels)
        return flat
    return indices + (np.arange(n * channels) * plane).reshape((n, channels) + extra)


def _spatial_gather(x: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """out[n, c, *o] = x[n, c].flat[indices[n, c, *o]]: (N, C, *S), int (N, C, *O) -> (N, C, *O)."""
    channels_last = _is_channels_last(x)
    work = _to_channels_last(x) if channels_last else np.ascontiguousarray(x)
    out = work.reshape(-1).take(_flat_positions(indices, channels_last, math.prod(x.shape[2:])))
    return _from_channels_last(out) if channels_last else out


def _spatial_scatter(grad: np.ndarray, indices: np.ndarray, input_size: tuple[int, ...], unique: bool) -> np.ndarray:
    """zeros (N, C, *input_size) with grad[n, c, *o] added at x[n, c].flat[indices[n, c, *o]].
    ``unique``: no index repeats within a plane (disjoint windows), so assignment suffices."""
    n, channels = grad.shape[:2]
    channels_last = _is_channels_last(grad)
    flat = _flat_positions(indices, channels_last, math.prod(input_size)).reshape(-1)
    values = (grad.transpose((0,) + tuple(range(2, grad.ndim)) + (1,)) if channels_last else grad).reshape(-1)
    size = n * channels * math.prod(input_size)
    if unique:
        out = np.zeros(size, grad.dtype)
        out[flat] = values
    else:       # repeated positions accumulate (in float64, then rounded once)
        out = np.bincount(flat, weights=values, minlength=size).astype(grad.dtype, copy=False)
    if channels_last:
        return _from_channels_last(out.reshape((n,) + tuple(input_size) + (channels,)))
    return out.reshape((n, channels) + tuple(input_size))


def spatial_gather(x: _G, indices: np.ndarray) -> _G:
    """``SpatialGather`` on arrays, or a graph node for a Tensor."""
    return SpatialGather.apply(x, indices) if isinstance(x, Tensor) else _spatial_gather(x, indices)


def spatial_scatter(grad: _G, indices: np.ndarray, input_size: tuple[int, ...], unique: bool) -> _G:
    """``SpatialScatter`` on arrays, or a graph node for a Tensor."""
    if isinstance(grad, Tensor):
        return SpatialScatter.apply(grad, indices, input_size, unique)
    return _spatial_scatter(grad, indices, input_size, unique)


class SpatialGather(Function):
    """out[n, c, *o] = x[n, c].flat[indices[n, c, *o]]: (N, C, *S), int64 (N, C, *O) -> (N, C, *O);
    max pooling with the indices of the maxima. Backward: the scatter-add of the gradient to
    those indices (``unique``: they do not repeat within a plane)."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, indices: np.ndarray, unique: bool = False) -> np.ndarray:
        ctx.indices, ctx.input_size, ctx.unique = indices, x.shape[2:], unique
        return _spatial_gather(x, indices)

    @staticmethod
    def backward(ctx: Any, grad: _Gradient) -> tuple[_Gradient, None, None]:
        return spatial_scatter(grad, ctx.indices, ctx.input_size, ctx.unique), None, None


class SpatialScatter(Function):
    """zeros (N, C, *input_size) with grad[n, c, *o] added at x[n, c].flat[indices[n, c, *o]].
    Backward: the gather at those indices."""

    @staticmethod
    def forward(ctx: Any, grad: np.ndarray, indices: np.ndarray, input_size: tuple[int, ...],
                unique: bool = False) -> np.ndarray:
        ctx.indices = indices
        return _spatial_scatter(grad, indices, input_size, unique)

    @staticmethod
    def backward(ctx: Any, grad: _Gradient) -> tuple[_Gradient, None, None, None]:
        return spatial_gather(grad, ctx.indices), None, None, None


def _max_pool(x: np.ndarray, geometry: ConvGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Max over each window of x (N, C, *S), and where it is: (values (N, C, *O), indices int64
    (N, C, *O)), the index flat in x[n, c] (PyTorch's ``return_indices``). As PyTorch picks it:
    the first maximum in scan order; the last NaN where a window holds NaN; the first position
    inside the input where a window holds only -inf. ``geometry.padding`` is filled with -inf
    (and includes ceil_mode's extra windows)."""
    d = x.ndim - 2
    n, channels = x.shape[:2]
    channels_last = _is_channels_last(x)
    # the working array (B, *S, D): x's channel rows when x is channels-last, else (N * C, *S, 1)
    work = x if channels_last else x.reshape((n * channels, 1) + x.shape[2:])
    # padding never wins: -inf for floats, the smallest value for integers
    fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    windows = _window_view(_to_channels_last(work, geometry.padding, fill=fill), geometry)    # (B, *O, D, *K)
    # one copy, kernel positions first: each position's values are then one contiguous row, and
    # the max and the first position holding it are a few whole-array ops (numpy's argmax along
    # a leading axis would copy again, and a running loop needs masked writes: both slower)
    order = tuple(range(d + 2, 2 * d + 2)) + tuple(range(d + 2))
    columns = np.ascontiguousarray(windows.transpose(order)).reshape(
        (math.prod(geometry.kernel),) + windows.shape[:d + 2])
    values, best = first_max(columns)
    if geometry.padding and columns.dtype.kind == "f" and any(before for before, _ in geometry.padding):
        _fix_empty_windows(values, best, geometry)
    # kernel position k -> its offset in the flat input plane; output position -> window origin
    size = x.shape[2:]
    plane_strides = [math.prod(size[i + 1:]) for i in range(d)]
    offsets = np.zeros(geometry.kernel, np.intp)
    origins = np.zeros(geometry.output_size, np.intp)
    for i in range(d):
        shape = [1] * d
        shape[i] = -1
        offsets += (np.arange(geometry.kernel[i]) * geometry.dilation[i] * plane_strides[i]).reshape(shape)
        origins += ((np.arange(geometry.output_size[i]) * geometry.stride[i] - geometry.padding[i][0])
                    * plane_strides[i]).reshape(shape)
    indices = offsets.reshape(-1).take(best)
    indices += origins[..., None]                           # (B, *O, D)
    if channels_last:
        return _from_channels_last(values), _from_channels_last(indices.astype(np.int64, copy=False))
    out_shape = (n, channels) + geometry.output_size
    return values.reshape(out_shape), indices.astype(np.int64, copy=False).reshape(out_shape)


def first_max(candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The max over axis 0 of (K, ...) candidates and the first k holding it, as PyTorch's
    pooling picks: the first maximum in order, but the last NaN where there is NaN.
    Returns (values, best), both (...)."""
    values = np.maximum.reduce(candidates, axis=0)          # NaN wins, as in PyTorch
    # the first k holding the max is the count of the k before it that do not (a loop over k:
    # np.logical_or.accumulate along axis 0 is 25x slower)
    count = len(candidates)
    best = np.zeros(values.shape, np.uint8 if count < 256 else np.intp)
    found = candidates[0] == values
    for k in range(1, count):
        best += ~found
        if k < count - 1:
            found |= candidates[k] == values
    if candidates.dtype.kind == "f":
        nan = np.isnan(values)
        if nan.any():
            last = len(candidates) - 1 - np.isnan(candidates[::-1]).argmax(axis=0)
            best[nan] = last[nan]
    return values, best


def _fix_empty_windows(values: np.ndarray, best: np.ndarray, geometry: ConvGeometry) -> None:
    """In a window holding only -inf, PyTorch picks its first position inside the input; the
    first position may be padding (-inf too). In place on ``best`` (B, *O, D)."""
    empty = values == -np.inf
    if not empty.any():
        return
    d = len(geometry.kernel)
    inside = np.ones(geometry.output_size + geometry.kernel, bool)
    for i in range(d):
        start = np.arange(geometry.output_size[i]) * geometry.stride[i] - geometry.padding[i][0]
        position = start[:, None] + np.arange(geometry.kernel[i]) * geometry.dilation[i]
        ok = (position >= 0) & (position < geometry.input_size[i])
        shape = [1] * (2 * d)
        shape[i], shape[d + i] = ok.shape
        inside = inside & ok.reshape(shape)
    first = inside.reshape(geometry.output_size + (-1,)).argmax(axis=-1)    # (*O,)
    best[empty] = np.broadcast_to(first[..., None], best.shape)[empty]


def disjoint(geometry: ConvGeometry) -> bool:
    """True when no two windows share an input position (so gradients need no accumulation)."""
    return all(o == 1 or s >= span for o, s, span in zip(geometry.output_size, geometry.stride, geometry.span))


def max_pool(x: _G, geometry: ConvGeometry) -> tuple[_G, np.ndarray]:
    """(values, indices) of ``_max_pool``; the values a graph node when x is a Tensor that
    requires grad (in grad mode)."""
    if not isinstance(x, Tensor):
        return _max_pool(x, geometry)
    if x.requires_grad and is_grad_enabled():
        out = MaxPool.apply(x, geometry)
        return out, out.grad_fn.indices  # type: ignore[union-attr]  # (recorded: MaxPool.forward set them)
    values, indices = _max_pool(x.data, geometry)
    return Tensor(values), indices


class MaxPool(Function):
    """The max of each window: (N, C, *S) -> (N, C, *O). ``ctx.indices`` (N, C, *O) says where
    each max is, flat in x[n, c] (see ``_max_pool``). Backward: the gradient goes to that one
    position (ties: the first in scan order, as PyTorch), a scatter-add."""

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
        values, indices = _max_pool(x, geometry)
        ctx.indices, ctx.input_size, ctx.unique = indices, x.shape[2:], disjoint(geometry)
        return values

    @staticmethod
    def backward(ctx: Any, grad: _Gradient) -> tuple[_Gradient, None]:
        return spatial_scatter(grad, ctx.indices, ctx.input_size, ctx.unique), None
