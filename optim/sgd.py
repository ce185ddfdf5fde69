"""SGD: stochastic gradient descent with optional (Nesterov) momentum."""
import numpy as np

from autodiff import Tensor
from autodiff.tensor import bump_version

from .optimizer import Optimizer, check_number

__all__ = ["SGD"]


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

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        check_number(group, "lr", "SGD", hint="pass a non-negative learning rate such as lr=0.01")
        check_number(group, "momentum", "SGD", hint="use momentum=0 for none, or e.g. momentum=0.9")
        check_number(group, "dampening", "SGD", hint="use dampening=0 (the default)")
        check_number(group, "weight_decay", "SGD", hint="use weight_decay=0 for none, or e.g. 1e-4")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"SGD: nesterov=True needs momentum > 0 and dampening = 0, got momentum="
                             f"{group['momentum']!r} and dampening={group['dampening']!r}; set momentum (e.g. 0.9) "
                             "and leave dampening at 0, or use nesterov=False")

    def _step_group(self, group):
        # the base class's loop with the common cases written inline: no maximize, weight decay,
        # dampening or nesterov, and a gradient of the parameter's dtype. The same operations as
        # _update (p -= lr * g; with momentum first b *= mu; b += g), so the same values.
        if type(self)._update is not SGD._update:       # a subclass with a rule of its own
            return super()._step_group(group)
        options = self._prepare_group(group)
        lr, momentum, dampening, weight_decay, nesterov, maximize = options
        simple = not (maximize or weight_decay or dampening or nesterov)
        states = self.state
        for p in group["params"]:
            grad = p.grad
            if grad is None:
                continue
            param = p.data
            g = grad.data if isinstance(grad, Tensor) else np.asarray(grad)
            if g.shape != param.shape:
                raise self._shape_error(param, g)
            state = states.get(p)
            if state is None:
                state = states[p] = {}
            if simple and g.dtype == param.dtype:
                if momentum:
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = np.array(g, copy=True)
                    else:
                        buf *= momentum
                        buf += g
                    g = buf
                param -= lr * g
            else:
                self._update(param, g, state, options, self._buffers(param))
            bump_version(p)     # an in-place change: graphs that saved p refuse to backward

    def _prepare_group(self, group):
        return (float(group["lr"]), float(group["momentum"]), float(group["dampening"]),
                float(group["weight_decay"]), bool(group["nesterov"]), bool(group["maximize"]))

    def _update(self, param, grad, state, options, scratch):
        lr, momentum, dampening, weight_decay, nesterov, maximize = options
        work, tmp = scratch
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
