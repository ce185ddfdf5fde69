"""SGD: stochastic gradient descent with optional (Nesterov) momentum."""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .optimizer import Optimizer, Params, Scratch, check_number

__all__ = ["SGD"]


class _Options(NamedTuple):
    """A group's hyper-parameters as ``_update`` reads them (made once per change, see
    ``_prepare_group``). ``common``: no maximize, weight decay, dampening or Nesterov (the fast
    path); ``scalars``: dtype -> (lr, momentum) as 0-d arrays of that dtype, which numpy takes
    faster than Python floats, with the same result (the float is cast to the array's dtype)."""

    common: bool
    lr: float
    momentum: float
    dampening: float
    weight_decay: float
    nesterov: bool
    maximize: bool
    scalars: dict


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's formulation.

    For each parameter ``p`` with gradient ``g``, every step::

        g <- -g                                 if maximize
        g <- g + weight_decay * p               if weight_decay != 0 (coupled: an L2 term in g)
        if momentum != 0:
            b <- g                              at the parameter's first step (a copy, no dampening)
            b <- momentum * b + (1 - dampening) * g    at later steps
            g <- g + momentum * b               if nesterov
            g <- b                              otherwise
        p <- p - lr * g

    The momentum buffer ``b`` is kept in ``state[p]["momentum_buffer"]``. Note the convention:
    ``lr`` multiplies the whole buffer (unlike Sutskever et al., who put it inside).

    Args:
        params: tensors, or dicts of parameter groups.
        lr: learning rate (default 1e-3).
        momentum: momentum factor mu (default 0).
        dampening: dampening of the new gradient in the buffer (default 0).
        weight_decay: L2 penalty lambda (default 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening = 0).
        maximize: ascend the objective instead of descending.

    >>> import autodiff as ad, optim
    >>> x = ad.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.SGD([x], lr=0.1, momentum=0.9)
    >>> (x * x).sum().backward()
    >>> opt.step()
    >>> x
    tensor([ 0.8, -1.6], requires_grad=True)
    """

    def __init__(self, params: Params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, maximize: bool = False) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)
        # id(group) -> (hyper-parameters, what _prepare_group made of them)
        self._prepared: dict[int, tuple[tuple[Any, ...], _Options]] = {}

    def _check_group(self, group: dict[str, Any]) -> None:
        check_number(group, "lr", "SGD", hint="pass a non-negative learning rate such as lr=0.01")
        check_number(group, "momentum", "SGD", hint="use momentum=0 for none, or e.g. momentum=0.9")
        check_number(group, "dampening", "SGD", hint="use dampening=0 (the default)")
        check_number(group, "weight_decay", "SGD", hint="use weight_decay=0 for none, or e.g. 1e-4")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"SGD: nesterov=True needs momentum > 0 and dampening = 0, got momentum="
                             f"{group['momentum']!r} and dampening={group['dampening']!r}; set momentum (e.g. 0.9) "
                             "and leave dampening at 0, or use nesterov=False")

    wants_scratch = False   # the common cases below need no work arrays

    def _prepare_group(self, group: dict[str, Any]) -> _Options:
        hyper = (group["lr"], group["momentum"], group["dampening"], group["weight_decay"],
                 group["nesterov"], group["maximize"])
        cached = self._prepared.get(id(group))
        if cached is not None and cached[0] == hyper:
            return cached[1]    # the same numbers as last step (a scheduler's new lr is not)
        lr, momentum, dampening, weight_decay = (float(hyper[0]), float(hyper[1]), float(hyper[2]),
                                                 float(hyper[3]))
        nesterov, maximize = bool(hyper[4]), bool(hyper[5])
        common = not (maximize or weight_decay or dampening or nesterov)
        options = _Options(common, lr, momentum, dampening, weight_decay, nesterov, maximize, {})
        if all(type(value) in (int, float, bool) for value in hyper):   # (an array could change in
            self._prepared[id(group)] = (hyper, options)                 # place: not kept)
        else:
            self._prepared.pop(id(group), None)
        return options

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], options: _Options,
                scratch: Scratch | None) -> None:
        dtype = param.dtype
        if options.common and grad.dtype == dtype:
            # the common cases, with fewer calls; the same operations as below, so the same values
            scalars = options.scalars.get(dtype)
            if scalars is None:
                scalars = options.scalars[dtype] = (np.array(options.lr, dtype), np.array(options.momentum, dtype))
            lr, momentum = scalars
            if options.momentum:
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = np.array(grad, copy=True)
                else:
                    buf *= momentum
                    buf += grad
                grad = buf
            if param.size >= 1024:      # lr * grad into a work array: no 32 kB allocation
                step = self._buffers(param)[0]
                np.multiply(grad, lr, out=step)
                param -= step
            else:
                param -= lr * grad
            return
        lr, momentum, dampening, weight_decay = options.lr, options.momentum, options.dampening, options.weight_decay
        nesterov, maximize = options.nesterov, options.maximize
        work, tmp = scratch or self._buffers(param)
        g = grad
        if maximize:
            g = np.negative(grad, out=work)
        if weight_decay != 0:
            np.multiply(param, weight_decay, out=tmp)
            g = np.add(g, tmp, out=work)
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, dtype=param.dtype, copy=True)
            else:
                np.multiply(buf, momentum, out=buf)
                if dampening != 0:
                    np.multiply(g, 1 - dampening, out=tmp)
                    np.add(buf, tmp, out=buf)
                else:
                    np.add(buf, g, out=buf)
            if nesterov:
                np.multiply(buf, momentum, out=tmp)
                g = np.add(g, tmp, out=work)
            else:
                g = buf
        np.multiply(g, lr, out=tmp)
        np.subtract(param, tmp, out=param)
