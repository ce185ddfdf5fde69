"""The benchmark workloads, each written once per engine: numpy by hand, autodiff, PyTorch eager.

The numpy versions are the reference every ratio is measured against, so they are written as a
careful person writes forward and backward by hand (the classic tutorials' code: one line per op
forward, the local derivative per op backward, softmax cross-entropy with its closed-form
gradient) and use nothing the engine could not also use: no in-place activation tricks, no folded
constants, no fused kernels beyond numpy's own ufuncs.

Workloads 1 and 4 measure the engine, so their autodiff versions use raw tensor ops; the MLP
workloads (2, 3, 5), the optimizer step (6) and the CNN step (7) are written as a user writes
them, with ``nn`` (``nn.MLP`` of ``nn.Linear``, ``nn.Conv2d``..., ``F.cross_entropy`` on integer
labels) and ``optim``, and PyTorch's with ``torch.nn`` and ``torch.optim``. Everything is
float32 except the deep chain of workload 4 (float64, so 1 + 1e-7 is representable).
``check_*`` functions assert that the engines compute the same thing; ``run.py`` calls them once
before timing and the smoke test calls them on tiny sizes.

PyTorch is optional: ``import_torch()`` returns None when it is not installed.
"""
import math

import numpy as np

import autodiff as ad
import nn
import optim
from nn import functional as F

DTYPE = np.float32
RTOL = 1e-4     # float32 agreement between engines, normwise (see ``relative_error``)


def import_torch():
    """The torch module, or None when it is not installed (PyTorch is an optional reference)."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def relative_error(actual, expected):
    """max |actual - expected| / max |expected|: a normwise relative error that elements near zero
    cannot blow up."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise AssertionError(f"shapes differ: {actual.shape} vs {expected.shape}")
    scale = np.max(np.abs(expected)) if expected.size else 0.0
    return float(np.max(np.abs(actual - expected)) / scale) if scale > 0 else float(np.max(np.abs(actual)))


def _agree(what, results, reference="numpy", rtol=RTOL):
    """Assert every engine's arrays in ``results[engine]`` (a list) match the reference engine's."""
    worst = 0.0
    for engine, arrays in results.items():
        if engine == reference:
            continue
        for i, (got, want) in enumerate(zip(arrays, results[reference])):
            error = relative_error(got, want)
            worst = max(worst, error)
            if not error <= rtol:
                raise AssertionError(f"{what}: {engine} disagrees with {reference} on item {i} "
                                     f"(relative error {error:.2e} > {rtol:.0e}); the benchmark would "
                                     "time different computations")
    return worst


def _to_numpy(x):
    """An engine's array (ndarray, autodiff Tensor, torch tensor, number) as an ndarray."""
    if isinstance(x, ad.Tensor):
        return x.detach().numpy()
    if hasattr(x, "detach") and hasattr(x, "numpy"):     # torch.Tensor, without importing torch
        return x.detach().numpy()
    return np.asarray(x)


# ---------------------------------------------------------------------------------------------
# workload 1: a chain of small elementwise ops
#
# One cycle of ten ops, repeated CHAIN_REPEATS times (100 ops). It contracts towards a fixed point,
# so float32 rounding differences between engines shrink instead of growing, and the gradient stays
# well inside float32's normal range (no denormal slow paths). Every engine writes the cycle out
# by hand, op for op in this order; ``chain_reference`` interprets this table in float64 and the
# check compares all three engines with it, which proves they run the same sequence.

CHAIN_CYCLE = (
    ("mul", 1.5), ("add", 0.25), ("tanh", None), ("sub", 0.5),
    ("square", None), ("neg", None), ("exp", None),          # exp(-x^2), three ops
    ("mul", 2.0), ("sub", 1.0), ("tanh", None),
)
CHAIN_REPEATS = 10
CHAIN_OPS = len(CHAIN_CYCLE) * CHAIN_REPEATS


def chain_input(shape, seed=0):
    """The chain's input x0 (float32 normal samples) and the seed gradient dL/dy (ones)."""
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal(shape).astype(DTYPE)
    return x0, np.ones(shape, DTYPE)


def chain_reference(x0, repeats=CHAIN_REPEATS):
    """CHAIN_CYCLE interpreted in float64: (y, dy/dx0 summed against ones). Checks only."""
    x = x0.astype(np.float64)
    derivative = np.ones_like(x)
    for _ in range(repeats):
        for op, c in CHAIN_CYCLE:
            if op == "mul":
                x, local = x * c, c
            elif op == "add":
                x, local = x + c, 1.0
            elif op == "sub":
                x, local = x - c, 1.0
            elif op == "tanh":
                x = np.tanh(x)
                local = 1.0 - x * x
            elif op == "square":
                x, local = x * x, 2.0 * x
            elif op == "neg":
                x, local = -x, -1.0
            elif op == "exp":
                x = np.exp(x)
                local = x
            derivative = derivative * local
    return x, derivative


def chain_numpy(x0, seed_grad, repeats=CHAIN_REPEATS):
    """Hand-written forward and backward of the chain: returns run() -> (y, dL/dx0)."""
    def run():
        x = x0
        saved = []
        for _ in range(repeats):
            x = x * 1.5
            x = x + 0.25
            t1 = np.tanh(x)
            x = t1 - 0.5
            u = x
            x = u * u
            x = -x
            e = np.exp(x)
            x = e * 2.0
            x = x - 1.0
            t2 = np.tanh(x)
            x = t2
            saved.append((t1, u, e, t2))
        g = seed_grad
        for t1, u, e, t2 in reversed(saved):
            g = g * (1.0 - t2 * t2)     # tanh; "sub 1.0" passes g through
            g = g * 2.0                 # mul 2.0
            g = g * e                   # exp
            g = -g                      # neg
            g = g * (2.0 * u)           # square; "sub 0.5" passes g through
            g = g * (1.0 - t1 * t1)     # tanh; "add 0.25" passes g through
            g = g * 1.5                 # mul 1.5
        return x, g
    return run


def _chain_on_tensors(x, repeats):
    """The cycle on a tensor that has operators and .tanh()/.exp() (autodiff's and torch's alike)."""
    for _ in range(repeats):
        x = x * 1.5
        x = x + 0.25
        x = x.tanh()
        x = x - 0.5
        x = x * x
        x = -x
        x = x.exp()
        x = x * 2.0
        x = x - 1.0
        x = x.tanh()
    return x


def chain_autodiff(x0, seed_grad, repeats=CHAIN_REPEATS):
    """The chain on autodiff tensors, backward to the leaf: returns run() -> (y, leaf.grad)."""
    leaf = ad.tensor(x0, requires_grad=True)

    def run():
        leaf.grad = None
        y = _chain_on_tensors(leaf, repeats)
        y.backward(seed_grad)
        return y, leaf.grad
    return run


def chain_torch(x0, seed_grad, repeats=CHAIN_REPEATS):
    """The chain in PyTorch eager, backward to the leaf: returns run() -> (y, leaf.grad)."""
    torch = import_torch()
    leaf = torch.tensor(x0, requires_grad=True)
    seed = torch.from_numpy(seed_grad)

    def run():
        leaf.grad = None
        y = _chain_on_tensors(leaf, repeats)
        y.backward(seed)
        return y, leaf.grad
    return run


def chain_compiled(x0, seed_grad, repeats=CHAIN_REPEATS):
    """The chain of ``chain_autodiff``, its forward and backward compiled with ``ad.compile``
    (recorded at the first call, replayed as numpy calls after): run() -> (y, leaf.grad)."""
    leaf = ad.tensor(x0, requires_grad=True)

    @ad.compile
    def forward_backward():
        y = _chain_on_tensors(leaf, repeats)
        y.backward(seed_grad)
        return y, leaf.grad

    def run():
        leaf.grad = None
        return forward_backward()
    return run


CHAIN = {"numpy": chain_numpy, "autodiff": chain_autodiff, "compiled": chain_compiled, "torch": chain_torch}


def check_chain(shape, engines):
    """Assert every engine's chain output and gradient match the float64 interpretation of
    CHAIN_CYCLE (and so each other). Returns the worst relative error."""
    x0, seed_grad = chain_input(shape)
    y, grad = chain_reference(x0)
    results = {"reference": [y, grad]}
    for engine in engines:
        results[engine] = [_to_numpy(a) for a in CHAIN[engine](x0, seed_grad)()]
    return _agree(f"chain of {CHAIN_OPS} ops on {shape}", results, reference="reference")


# ---------------------------------------------------------------------------------------------
# workloads 2, 3 and 5: an MLP training step (forward, softmax cross-entropy, backward, update)

def init_mlp(sizes, seed=0):
    """Initial weights for an MLP with layer ``sizes`` (PyTorch Linear's default: uniform in
    +-1/sqrt(fan_in)), from a seeded numpy RNG: a list of (W (in, out), b (out,)) float32 pairs.
    Every engine copies these, so all start from the same point."""
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / math.sqrt(fan_in)
        W = rng.uniform(-bound, bound, (fan_in, fan_out)).astype(DTYPE)
        b = rng.uniform(-bound, bound, fan_out).astype(DTYPE)
        layers.append((W, b))
    return layers


def synthetic_batch(batch, features, classes, seed=1):
    """A fixed batch: inputs uniform in [0, 1) (like scaled pixels) and int64 labels."""
    rng = np.random.default_rng(seed)
    X = rng.random((batch, features), dtype=DTYPE)
    y = rng.integers(0, classes, batch)
    return X, y


class SGD:
    """Plain numpy SGD on arrays, in place, PyTorch's convention: with momentum mu,
    buf = g on the first step, then buf = mu * buf + g; p -= lr * buf."""

    def __init__(self, lr, momentum=0.0):
        self.lr, self.momentum = lr, momentum
        self.buffers = None

    def update(self, params, grads):
        lr, momentum = self.lr, self.momentum
        if not momentum:
            for p, g in zip(params, grads):
                p -= lr * g
            return
        if self.buffers is None:
            self.buffers = [g.copy() for g in grads]
        else:
            for buf, g in zip(self.buffers, grads):
                buf *= momentum
                buf += g
        for p, buf in zip(params, self.buffers):
            p -= lr * buf


class Adam:
    """Plain numpy Adam on arrays, in place, PyTorch's formula (coupled, no weight decay):
    m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)."""

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.step_count = 0
        self.moments = None

    def update(self, params, grads):
        beta1, beta2 = self.beta1, self.beta2
        if self.moments is None:
            self.moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
        self.step_count += 1
        step_size = self.lr / (1.0 - beta1 ** self.step_count)
        correction2_sqrt = math.sqrt(1.0 - beta2 ** self.step_count)
        for p, g, (m, v) in zip(params, grads, self.moments):
            m *= beta1
            m += (1.0 - beta1) * g
            v *= beta2
            v += (1.0 - beta2) * (g * g)
            denom = np.sqrt(v) / correction2_sqrt
            denom += self.eps
            p -= step_size * (m / denom)


def make_optimizer(config):
    """An array optimizer from a config such as ("sgd", {"lr": 0.1}) or ("adam", {"lr": 1e-3})."""
    name, options = config
    return {"sgd": SGD, "adam": Adam}[name](**options)


def softmax_cross_entropy(logits, y):
    """Mean softmax cross-entropy of (N, C) logits against (N,) labels and its gradient, the
    classic way: a max-shifted log-sum-exp forward and (softmax - onehot) / N backward."""
    N = logits.shape[0]
    rows = np.arange(N)
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    sum_exp = exp.sum(axis=1, keepdims=True)
    log_probs = shifted - np.log(sum_exp)
    loss = -log_probs[rows, y].mean()
    dlogits = exp / sum_exp
    dlogits[rows, y] -= 1.0
    dlogits /= N
    return loss, dlogits


class NumpyMLP:
    """An MLP trained with hand-written numpy forward and backward (the reference)."""

    def __init__(self, layers, activation, optimizer):
        self.layers = [(W.copy(), b.copy()) for W, b in layers]
        self.activation = activation
        self.optimizer = make_optimizer(optimizer)
        self.grads = None

    def loss_and_grads(self, X, y):
        """Forward and backward on a batch: (loss, [dW1, db1, dW2, db2, ...])."""
        relu = self.activation == "relu"
        last = len(self.layers) - 1
        hidden = [X]
        h = X
        for i, (W, b) in enumerate(self.layers):
            a = h @ W + b
            if i < last:
                h = np.maximum(a, 0) if relu else np.tanh(a)
                hidden.append(h)
        loss, dout = softmax_cross_entropy(a, y)
        grads = [None] * (2 * len(self.layers))
        for i in range(last, -1, -1):
            W, _ = self.layers[i]
            h = hidden[i]
            grads[2 * i] = h.T @ dout
            grads[2 * i + 1] = dout.sum(axis=0)
            if i:
                dout = dout @ W.T
                dout = dout * (h > 0) if relu else dout * (1.0 - h * h)
        return loss, grads

    def step(self, X, y):
        """One training step on a batch; returns the loss (a float)."""
        self.grads = None       # as zero_grad() (set_to_none) in the other engines
        # the activations die when loss_and_grads returns, before the update (as in the classic
        # model.loss(X, y) -> (loss, grads) followed by the solver's update)
        loss, self.grads = self.loss_and_grads(X, y)
        self.optimizer.update([p for layer in self.layers for p in layer], self.grads)
        return float(loss)

    def predict(self, X):
        """Class predictions (N,) for inputs (N, D)."""
        h = X
        for i, (W, b) in enumerate(self.layers):
            h = h @ W + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0) if self.activation == "relu" else np.tanh(h)
        return h.argmax(axis=1)

    def gradients(self):
        return list(self.grads)


def _layer_sizes(layers):
    """[in, hidden..., out] of the (W (in, out), b) pairs from ``init_mlp``."""
    return [layers[0][0].shape[0]] + [W.shape[1] for W, _ in layers]


class AutodiffMLP:
    """The same MLP as a user writes it with this project: ``nn.MLP`` (a Sequential of nn.Linear
    and nn.Tanh/nn.ReLU), ``F.cross_entropy(logits, labels)`` on int labels, ``optim.SGD`` or
    ``optim.Adam`` with ``zero_grad()`` / ``step()``."""

    def __init__(self, layers, activation, optimizer):
        self.model = nn.MLP(_layer_sizes(layers), activation=activation, dtype=DTYPE)
        self.linears = [module for module in self.model if isinstance(module, nn.Linear)]
        for linear, (W, b) in zip(self.linears, layers):
            linear.weight.data[...] = W.T       # nn.Linear.weight is (out, in)
            linear.bias.data[...] = b
        name, options = optimizer
        self.optimizer = {"sgd": optim.SGD, "adam": optim.Adam}[name](self.model.parameters(), **options)

    def step(self, X, y):
        """One training step on a batch; returns the loss (a float)."""
        self.optimizer.zero_grad()
        # ad.Tensor wraps the batch without copying it (ad.tensor would copy)
        loss = F.cross_entropy(self.model(ad.Tensor(X)), y)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def predict(self, X):
        with ad.no_grad():
            return self.model(ad.Tensor(X)).data.argmax(axis=1)

    def gradients(self):
        """[dW1, db1, ...] in the reference's layout (W as (in, out))."""
        return [g for linear in self.linears for g in (linear.weight.grad.data.T, linear.bias.grad.data)]


def torch_mlp(torch, layers, activation):
    """torch.nn.Sequential of Linear layers holding ``layers``' weights (W (in, out) transposed into
    PyTorch's (out, in)), with ReLU or Tanh between them: (model, [its Linear modules])."""
    modules = []
    for i, (W, b) in enumerate(layers):
        linear = torch.nn.Linear(W.shape[0], W.shape[1])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W.T))
            linear.bias.copy_(torch.from_numpy(b))
        modules.append(linear)
        if i < len(layers) - 1:
            modules.append(torch.nn.ReLU() if activation == "relu" else torch.nn.Tanh())
    return torch.nn.Sequential(*modules), [m for m in modules if isinstance(m, torch.nn.Linear)]


class TorchMLP:
    """The same MLP in idiomatic PyTorch eager: ``torch.nn.Sequential`` of ``torch.nn.Linear`` and
    activations, ``F.cross_entropy``, ``torch.optim.SGD``/``Adam`` with their defaults,
    ``zero_grad()`` (set_to_none)."""

    def __init__(self, layers, activation, optimizer):
        torch = self.torch = import_torch()
        self.model, self.linears = torch_mlp(torch, layers, activation)
        name, options = optimizer
        make = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[name]
        self.optimizer = make(self.model.parameters(), **options)

    def step(self, X, y):
        torch = self.torch
        self.optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(self.model(torch.from_numpy(X)), torch.from_numpy(y))
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def predict(self, X):
        with self.torch.no_grad():
            return self.model(self.torch.from_numpy(X)).argmax(dim=1).numpy()

    def gradients(self):
        return [g for linear in self.linears for g in (linear.weight.grad.numpy().T, linear.bias.grad.numpy())]


class CompiledMLP(AutodiffMLP):
    """AutodiffMLP's training step, the same user code, compiled with ``ad.compile``."""

    def __init__(self, layers, activation, optimizer):
        super().__init__(layers, activation, optimizer)
        model, optimizer, loss_of = self.model, self.optimizer, self.loss

        @ad.compile
        def step(X, y):
            optimizer.zero_grad()
            loss = loss_of(model(ad.Tensor(X)), y)
            loss.backward()
            optimizer.step()
            return loss
        self.compiled = step

    def loss(self, logits, y):
        return F.cross_entropy(logits, y)

    def step(self, X, y):
        return self.compiled(X, y).item()


def primitive_cross_entropy(logits, y, rows):
    """The mean softmax cross-entropy built from primitive ops (max, sub, exp, sum, log,
    indexing, mean), as a user writes it without the fused loss; ``rows`` is arange(N)."""
    shifted = logits - logits.amax(axis=1, keepdims=True).detach()
    log_probs = shifted - shifted.exp().sum(axis=1, keepdims=True).log()
    return -log_probs[rows, y].mean()


def _rows(cache, n):
    rows = cache.get(n)
    if rows is None:
        rows = cache[n] = np.arange(n)
    return rows


class AutodiffMLPPrimitives(AutodiffMLP):
    """AutodiffMLP with the loss built from primitives (``primitive_cross_entropy``)."""

    def __init__(self, layers, activation, optimizer):
        super().__init__(layers, activation, optimizer)
        self.rows = {}

    def step(self, X, y):
        self.optimizer.zero_grad()
        loss = primitive_cross_entropy(self.model(ad.Tensor(X)), y, _rows(self.rows, len(y)))
        loss.backward()
        self.optimizer.step()
        return loss.item()


class CompiledMLPPrimitives(CompiledMLP):
    """AutodiffMLPPrimitives's step, compiled with ``ad.compile``."""

    def __init__(self, layers, activation, optimizer):
        self.rows = {}
        super().__init__(layers, activation, optimizer)

    def loss(self, logits, y):
        return primitive_cross_entropy(logits, y, self.rows[len(y)])

    def step(self, X, y):
        _rows(self.rows, len(y))    # a constant is made outside the compiled step (else it is refused)
        return self.compiled(X, y).item()


class TorchMLPPrimitives(TorchMLP):
    """TorchMLP with the loss built from primitives, as ``primitive_cross_entropy``."""

    def step(self, X, y):
        torch = self.torch
        self.optimizer.zero_grad()
        logits = self.model(torch.from_numpy(X))
        shifted = logits - logits.max(dim=1, keepdim=True).values.detach()
        log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
        loss = -log_probs[torch.arange(len(y)), torch.from_numpy(y)].mean()
        loss.backward()
        self.optimizer.step()
        return loss.item()


MLP = {"numpy": NumpyMLP, "autodiff": AutodiffMLP, "compiled": CompiledMLP, "torch": TorchMLP}
# workload 2's second form: the same step with the loss built from primitives (the reference is
# the same hand-written numpy)
MLP_PRIMITIVES = {"numpy": NumpyMLP, "autodiff": AutodiffMLPPrimitives, "compiled": CompiledMLPPrimitives,
                  "torch": TorchMLPPrimitives}

# the two step workloads: (layer sizes, batch, activation, optimizer config)
DIGITS_STEP = dict(sizes=(64, 128, 10), batch=64, activation="tanh", optimizer=("sgd", {"lr": 0.1}))
MNIST_STEP = dict(sizes=(784, 512, 512, 10), batch=256, activation="relu",
                  optimizer=("adam", {"lr": 1e-3}))


def mlp_setup(sizes, batch, activation, optimizer, engines, seed=0, form=MLP):
    """Models for each engine, from the same initial weights, and one fixed synthetic batch (X, y).
    ``form``: MLP (nn.MLP + F.cross_entropy) or MLP_PRIMITIVES (the loss from primitives)."""
    layers = init_mlp(sizes, seed)
    X, y = synthetic_batch(batch, sizes[0], sizes[-1], seed + 1)
    models = {engine: form[engine](layers, activation, optimizer) for engine in engines}
    return models, (X, y)


def check_mlp(sizes, batch, activation, optimizer, engines, steps=3, form=MLP):
    """Assert the engines' losses and gradients agree over ``steps`` training steps from the same
    weights (later steps also check that the updates agree), and that the compiled step gives
    autodiff's eager values to the bit. Returns the worst relative error."""
    models, (X, y) = mlp_setup(sizes, batch, activation, optimizer, engines, form=form)
    worst = 0.0
    for step in range(steps):
        results = {}
        for engine, model in models.items():
            loss = model.step(X, y)
            results[engine] = [loss] + [np.array(g) for g in model.gradients()]
        worst = max(worst, _agree(f"MLP {sizes} step {step + 1}", results))
        _same_bits(f"MLP {sizes} step {step + 1}", results)
    return worst


def _same_bits(what, results):
    """The compiled engine replays autodiff's eager step: the same values, bit for bit."""
    if "compiled" in results and "autodiff" in results:
        for i, (got, want) in enumerate(zip(results["compiled"], results["autodiff"])):
            if np.asarray(got).tobytes() != np.asarray(want).tobytes():
                raise AssertionError(f"{what}: the compiled step differs from autodiff's eager step "
                                     f"on item {i}")


# ---------------------------------------------------------------------------------------------
# workload 4: a deep graph of chained ops, x = x * A + B (two ops per link), forward and backward
#
# Every engine runs it on a one-element float64 array of shape (1,) (DEEP_SHAPE): numpy keeps the
# results of ``x * A`` on such an array as arrays, so the reference is the array code a careful
# person writes by hand, and autodiff and torch run the same computation on (1,) tensors. With
# shape () numpy demotes every result to an ``np.float64`` scalar, and its "reference" becomes a
# loop of Python float arithmetic (~0.07 µs/op) that no array engine can approach: ``run.py``
# times that variant too, for information only, with no target.

DEEP_MUL, DEEP_ADD = 1.0000001, 1e-7
DEEP_SHAPE = (1,)
DEEP_SCALAR_SHAPE = ()


def deep_numpy(n_ops, shape=DEEP_SHAPE):
    """Hand-written forward and backward of n_ops chained float64 ops on an array of ``shape``:
    run() -> (x, dx/dx0). The add passes the gradient through and the multiply by a constant
    needs nothing saved, so the backward is one multiply per link."""
    seed = np.ones(shape)

    def run():
        x = np.ones(shape)
        for _ in range(n_ops // 2):
            x = x * DEEP_MUL
            x = x + DEEP_ADD
        g = seed
        for _ in range(n_ops // 2):
            g = g * DEEP_MUL
        return x, g
    return run


def deep_autodiff(n_ops, shape=DEEP_SHAPE):
    """The chain on a float64 autodiff leaf of ``shape``, backward from ones: run() -> (x, leaf.grad)."""
    seed = np.ones(shape)

    def run():
        leaf = ad.tensor(np.ones(shape), dtype=np.float64, requires_grad=True)
        x = leaf
        for _ in range(n_ops // 2):
            x = x * DEEP_MUL
            x = x + DEEP_ADD
        x.backward(seed)
        return x, leaf.grad
    return run


def deep_torch(n_ops, shape=DEEP_SHAPE):
    """The chain on a float64 torch leaf of ``shape``, backward from ones: run() -> (x, leaf.grad)."""
    torch = import_torch()
    seed = torch.ones(shape, dtype=torch.float64)

    def run():
        leaf = torch.ones(shape, dtype=torch.float64, requires_grad=True)
        x = leaf
        for _ in range(n_ops // 2):
            x = x * DEEP_MUL
            x = x + DEEP_ADD
        x.backward(seed)
        return x, leaf.grad
    return run


DEEP = {"numpy": deep_numpy, "autodiff": deep_autodiff, "torch": deep_torch}


def check_deep(n_ops, engines, shape=DEEP_SHAPE):
    """Assert the engines' chain value and gradient agree (float64, so to 1e-9), and that they are
    arrays of ``shape`` (the numpy reference included: a (1,) array must stay an array)."""
    results = {engine: [_to_numpy(a) for a in DEEP[engine](n_ops, shape)()] for engine in engines}
    for engine, arrays in results.items():
        for array in arrays:
            if array.shape != shape:
                raise AssertionError(f"deep chain on {shape}: {engine} returned shape {array.shape}")
    return _agree(f"deep chain of {n_ops} ops on {shape}", results, rtol=1e-9)


# ---------------------------------------------------------------------------------------------
# workload 5: full training on scikit-learn's bundled digits

DIGITS_TRAINING = dict(sizes=(64, 128, 10), batch=64, epochs=30, activation="relu",
                       optimizer=("sgd", {"lr": 0.1, "momentum": 0.9}))


def load_digits_split():
    """scikit-learn's digits, features / 16, 80/20 stratified split (random_state=0):
    (X_train, y_train, X_test, y_test) as float32 / int64."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        raise ImportError("the digits workload needs scikit-learn: pip install -e '.[demo]'") from None
    digits = load_digits()
    X = (digits.data / 16.0).astype(DTYPE)
    y = digits.target.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
    return X_train, y_train, X_test, y_test


def epoch_orders(n, epochs, seed=0):
    """The shuffled sample order of every epoch, fixed in advance so all engines see the same batches."""
    rng = np.random.default_rng(seed)
    return [rng.permutation(n) for _ in range(epochs)]


def train_digits(engine, data, sizes, batch, epochs, activation, optimizer, orders=None, seed=0):
    """Train from seeded weights for ``epochs`` on the training split, then score the test split.
    Returns (test accuracy, last batch loss)."""
    X_train, y_train, X_test, y_test = data
    if orders is None:
        orders = epoch_orders(len(X_train), epochs, seed)
    model = MLP[engine](init_mlp(sizes, seed), activation, optimizer)
    loss = float("nan")     # (the last batch is smaller: a compiled step records it once more)
    for order in orders:
        for start in range(0, len(order), batch):
            idx = order[start:start + batch]
            loss = model.step(X_train[idx], y_train[idx])
    accuracy = float((model.predict(X_test) == y_test).mean())
    return accuracy, loss


# ---------------------------------------------------------------------------------------------
# workload 6: one Adam step over an MLP's parameters (the optimizer's own cost)

ADAM_SHAPES = ((784, 512), (512,), (512, 512), (512,), (512, 10), (10,))   # a 784-512-512-10 MLP
ADAM_OPTIONS = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8)


def adam_state(seed=0):
    """Float32 starting parameters (~N(0, 0.05)) and fixed gradients (~N(0, 0.01)) of ADAM_SHAPES."""
    rng = np.random.default_rng(seed)
    params = [(rng.standard_normal(shape) * 0.05).astype(DTYPE) for shape in ADAM_SHAPES]
    grads = [(rng.standard_normal(shape) * 1e-2).astype(DTYPE) for shape in ADAM_SHAPES]
    return params, grads


def adam_numpy():
    """The hand-written numpy Adam (``Adam`` above) on arrays: run() -> the parameters."""
    start, grads = adam_state()
    params = [p.copy() for p in start]
    optimizer = Adam(**ADAM_OPTIONS)

    def run():
        optimizer.update(params, grads)
        return params
    return run


def adam_autodiff():
    """optim.Adam on leaf tensors whose .grad is set: run() -> the parameters."""
    start, grads = adam_state()
    params = [ad.tensor(p, requires_grad=True) for p in start]
    for p, g in zip(params, grads):
        p.grad = ad.tensor(g)
    optimizer = optim.Adam(params, **ADAM_OPTIONS)

    def run():
        optimizer.step()
        return params
    return run


def adam_torch():
    """torch.optim.Adam with its defaults on leaf tensors whose .grad is set: run() -> the parameters."""
    torch = import_torch()
    start, grads = adam_state()
    params = [torch.tensor(p, requires_grad=True) for p in start]
    for p, g in zip(params, grads):
        p.grad = torch.tensor(g)
    optimizer = torch.optim.Adam(params, **ADAM_OPTIONS)

    def run():
        optimizer.step()
        return params
    return run


ADAM_STEP = {"numpy": adam_numpy, "autodiff": adam_autodiff, "torch": adam_torch}


def check_adam_step(engines, steps=3):
    """Assert the engines' parameter changes (from the common start) agree after each of
    ``steps`` Adam steps; the changes, ~lr, are what a wrong update would get wrong. Returns the
    worst relative error."""
    start, _ = adam_state()
    runs = {engine: ADAM_STEP[engine]() for engine in engines}
    worst = 0.0
    for step in range(steps):
        results = {engine: [_to_numpy(p) - p0 for p, p0 in zip(run(), start)] for engine, run in runs.items()}
        worst = max(worst, _agree(f"Adam step {step + 1}", results))
    return worst


# ---------------------------------------------------------------------------------------------
# workload 7: a CNN training step (the digits CNN of examples/cnn_digits.py)
#
# Conv2d(1, 32, 3, padding=1), ReLU, MaxPool2d(2), Conv2d(32, 64, 3, padding=1), ReLU,
# MaxPool2d(2), Flatten, Linear(256, 10), softmax cross-entropy, Adam; a batch of 64 8x8 images.
# The numpy reference is the classic im2col CNN in NCHW: each conv copies its padded input's
# windows into one contiguous (N * H_out * W_out, C * kH * kW) matrix and does one matmul;
# backward dW = dout^T @ cols, dcols = dout @ W and col2im by a loop over the kernel offsets; max
# pooling by the reshape trick, its backward a mask of where the maxima are.

CNN_STEP = dict(batch=64, optimizer=("adam", {"lr": 3e-3}))
CNN_CONVS = ((1, 32), (32, 64))         # (in, out) channels of the two 3x3 convs
CNN_FEATURES, CNN_CLASSES = 256, 10


def init_cnn(seed=0):
    """Initial parameters with PyTorch's default bounds (U(+-1/sqrt(fan_in))), float32:
    [W1 (32, 1, 3, 3), b1, W2 (64, 32, 3, 3), b2, W3 (256, 10) (in, out), b3]."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in_channels, out_channels in CNN_CONVS:
        bound = 1.0 / math.sqrt(fan_in_channels * 9)
        params.append(rng.uniform(-bound, bound, (out_channels, fan_in_channels, 3, 3)).astype(DTYPE))
        params.append(rng.uniform(-bound, bound, out_channels).astype(DTYPE))
    bound = 1.0 / math.sqrt(CNN_FEATURES)
    params.append(rng.uniform(-bound, bound, (CNN_FEATURES, CNN_CLASSES)).astype(DTYPE))
    params.append(rng.uniform(-bound, bound, CNN_CLASSES).astype(DTYPE))
    return params


def synthetic_images(batch, seed=1):
    """A fixed batch of (N, 1, 8, 8) float32 images in [0, 1) and int64 labels in [0, 10)."""
    rng = np.random.default_rng(seed)
    return rng.random((batch, 1, 8, 8), dtype=DTYPE), rng.integers(0, CNN_CLASSES, batch)


def _im2col(x, pad):
    """(N, C, H, W) -> the contiguous (N * H * W, C * 9) windows of a 3x3 'same' conv."""
    from numpy.lib.stride_tricks import sliding_window_view
    n, channels, height, width = x.shape
    padded = np.zeros((n, channels, height + 2 * pad, width + 2 * pad), x.dtype)
    padded[:, :, pad:pad + height, pad:pad + width] = x
    windows = sliding_window_view(padded, (3, 3), axis=(2, 3))      # (N, C, H, W, 3, 3)
    return np.ascontiguousarray(windows.transpose(0, 2, 3, 1, 4, 5)).reshape(n * height * width, channels * 9)


def _conv_forward(x, W, b):
    """3x3 conv, padding 1, stride 1: (N, C, H, W) -> (N, O, H, W), and the im2col matrix."""
    n, _, height, width = x.shape
    cols = _im2col(x, 1)
    out = cols @ W.reshape(W.shape[0], -1).T + b                   # (N * H * W, O)
    return out.reshape(n, height, width, -1).transpose(0, 3, 1, 2), cols


def _conv_backward(dout, cols, W, x_shape, need_dx=True):
    """The textbook im2col backward: (dx or None, dW, db)."""
    n, channels, height, width = x_shape
    out_channels = W.shape[0]
    dout2d = dout.transpose(0, 2, 3, 1).reshape(-1, out_channels)
    dW = (dout2d.T @ cols).reshape(W.shape)
    db = dout2d.sum(axis=0)
    if not need_dx:
        return None, dW, db
    dcols = (dout2d @ W.reshape(out_channels, -1)).reshape(n, height, width, channels, 3, 3)
    dpadded = np.zeros((n, channels, height + 2, width + 2), dout.dtype)
    for i in range(3):
        for j in range(3):
            dpadded[:, :, i:i + height, j:j + width] += dcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return dpadded[:, :, 1:-1, 1:-1], dW, db


def _pool_forward(x):
    """2x2 max pooling, stride 2, by the reshape trick."""
    n, channels, height, width = x.shape
    return x.reshape(n, channels, height // 2, 2, width // 2, 2).max(axis=(3, 5))


def _pool_backward(dout, x, out):
    """The gradient to where the maxima are (all of a window's tied maxima: after a ReLU those
    are zeros, whose gradient the ReLU's backward then drops, so the weights' gradients are
    those of routing to one index, as the other engines do)."""
    n, channels, height, width = x.shape
    mask = x.reshape(n, channels, height // 2, 2, width // 2, 2) == out[:, :, :, None, :, None]
    return (mask * dout[:, :, :, None, :, None]).reshape(x.shape)


class NumpyCNN:
    """The CNN trained with hand-written numpy forward and backward (the reference)."""

    def __init__(self, params, optimizer):
        self.params = [p.copy() for p in params]
        self.optimizer = make_optimizer(optimizer)
        self.grads = None

    def loss_and_grads(self, X, y):
        W1, b1, W2, b2, W3, b3 = self.params
        c1, cols1 = _conv_forward(X, W1, b1)
        r1 = np.maximum(c1, 0)
        p1 = _pool_forward(r1)
        c2, cols2 = _conv_forward(p1, W2, b2)
        r2 = np.maximum(c2, 0)
        p2 = _pool_forward(r2)
        flat = p2.reshape(len(X), -1)
        loss, dlogits = softmax_cross_entropy(flat @ W3 + b3, y)
        dW3 = flat.T @ dlogits
        db3 = dlogits.sum(axis=0)
        dp2 = (dlogits @ W3.T).reshape(p2.shape)
        dc2 = _pool_backward(dp2, r2, p2) * (c2 > 0)
        dp1, dW2, db2 = _conv_backward(dc2, cols2, W2, p1.shape)
        dc1 = _pool_backward(dp1, r1, p1) * (c1 > 0)
        _, dW1, db1 = _conv_backward(dc1, cols1, W1, X.shape, need_dx=False)
        return loss, [dW1, db1, dW2, db2, dW3, db3]

    def step(self, X, y):
        """One training step on a batch; returns the loss (a float)."""
        self.grads = None
        loss, self.grads = self.loss_and_grads(X, y)
        self.optimizer.update(self.params, self.grads)
        return float(loss)

    def gradients(self):
        return list(self.grads)


class AutodiffCNN:
    """The CNN as a user writes it with this project: nn.Sequential of nn.Conv2d, nn.ReLU,
    nn.MaxPool2d, nn.Flatten, nn.Linear; F.cross_entropy; optim.Adam."""

    def __init__(self, params, optimizer):
        self.model = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1, dtype=DTYPE), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1, dtype=DTYPE), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(CNN_FEATURES, CNN_CLASSES, dtype=DTYPE))
        self.layers = [self.model[0], self.model[3], self.model[7]]
        W1, b1, W2, b2, W3, b3 = params
        for layer, (W, b) in zip(self.layers, ((W1, b1), (W2, b2), (W3.T, b3))):
            layer.weight.data[...] = W
            layer.bias.data[...] = b
        name, options = optimizer
        self.optimizer = {"sgd": optim.SGD, "adam": optim.Adam}[name](self.model.parameters(), **options)

    def step(self, X, y):
        self.optimizer.zero_grad()
        loss = F.cross_entropy(self.model(ad.Tensor(X)), y)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def gradients(self):
        grads = [g.data for layer in self.layers for g in (layer.weight.grad, layer.bias.grad)]
        grads[4] = grads[4].T
        return grads


class TorchCNN:
    """The CNN in idiomatic PyTorch eager (torch.nn.Sequential, F.cross_entropy, torch.optim)."""

    def __init__(self, params, optimizer):
        torch = self.torch = import_torch()
        self.model = torch.nn.Sequential(
            torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Flatten(), torch.nn.Linear(CNN_FEATURES, CNN_CLASSES))
        self.layers = [self.model[0], self.model[3], self.model[7]]
        W1, b1, W2, b2, W3, b3 = params
        with torch.no_grad():
            for layer, (W, b) in zip(self.layers, ((W1, b1), (W2, b2), (W3.T, b3))):
                layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(W)))
                layer.bias.copy_(torch.from_numpy(b))
        name, options = optimizer
        make = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[name]
        self.optimizer = make(self.model.parameters(), **options)

    def step(self, X, y):
        torch = self.torch
        self.optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(self.model(torch.from_numpy(X)), torch.from_numpy(y))
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def gradients(self):
        grads = [g.grad.numpy() for layer in self.layers for g in (layer.weight, layer.bias)]
        grads[4] = grads[4].T
        return grads


CNN = {"numpy": NumpyCNN, "autodiff": AutodiffCNN, "torch": TorchCNN}


def cnn_setup(batch, optimizer, engines, seed=0):
    """Models for each engine from the same initial parameters, and one fixed batch (X, y)."""
    params = init_cnn(seed)
    X, y = synthetic_images(batch, seed + 1)
    return {engine: CNN[engine](params, optimizer) for engine in engines}, (X, y)


def check_cnn(batch, optimizer, engines, steps=3):
    """Assert the engines' losses and gradients agree over ``steps`` training steps from the same
    parameters (later steps also check the updates). Returns the worst relative error."""
    models, (X, y) = cnn_setup(batch, optimizer, engines)
    worst = 0.0
    for step in range(steps):
        results = {}
        for engine, model in models.items():
            loss = model.step(X, y)
            results[engine] = [loss] + [np.array(g) for g in model.gradients()]
        worst = max(worst, _agree(f"CNN step {step + 1}", results))
    return worst


# ---------------------------------------------------------------------------------------------
# workload 8: micrograd's demo step
#
# micrograd's demo.ipynb: make_moons(100, noise=0.1, random_state=1), labels +-1, an MLP 2-16-16-1
# with ReLU, the SVM "max-margin" loss mean(relu(1 - y * score)) plus an L2 term 1e-4 * sum(p^2),
# full batch, SGD with lr 0.1 (micrograd decays it; a constant rate here). The numpy reference
# writes the forward and the backward by hand, as micrograd's own loss does per sample.

MICROGRAD_STEP = dict(samples=100, noise=0.1, seed=1, sizes=(2, 16, 16, 1), alpha=1e-4, lr=0.1)


def moons(samples, noise, seed):
    """make_moons points (N, 2) float32 and labels as +-1 float32 (N, 1)."""
    try:
        from sklearn.datasets import make_moons
    except ImportError:
        raise ImportError("the micrograd workload needs scikit-learn: pip install -e '.[demo]'") from None
    X, y = make_moons(samples, noise=noise, random_state=seed)
    return X.astype(DTYPE), (y * 2 - 1).astype(DTYPE).reshape(-1, 1)


class NumpyMicrograd:
    """micrograd's demo step by hand: forward, the max-margin loss with L2, backward, SGD."""

    def __init__(self, layers, alpha, lr):
        self.params = [p.copy() for layer in layers for p in layer]
        self.alpha, self.lr = alpha, lr
        self.grads = None

    def step(self, X, y):
        W1, b1, W2, b2, W3, b3 = params = self.params
        alpha, n = self.alpha, len(X)
        h1 = X @ W1 + b1
        a1 = np.maximum(h1, 0)
        h2 = a1 @ W2 + b2
        a2 = np.maximum(h2, 0)
        score = a2 @ W3 + b3
        margins = 1.0 - y * score
        loss = np.maximum(margins, 0).mean() + alpha * sum((p * p).sum() for p in params)
        dscore = -y * (margins > 0) / n
        dW3, db3 = a2.T @ dscore, dscore.sum(axis=0)
        dh2 = (dscore @ W3.T) * (h2 > 0)
        dW2, db2 = a1.T @ dh2, dh2.sum(axis=0)
        dh1 = (dh2 @ W2.T) * (h1 > 0)
        dW1, db1 = X.T @ dh1, dh1.sum(axis=0)
        self.grads = [g + 2 * alpha * p for g, p in zip((dW1, db1, dW2, db2, dW3, db3), params)]
        for p, g in zip(params, self.grads):
            p -= self.lr * g
        return float(loss)

    def gradients(self):
        return list(self.grads)


class AutodiffMicrograd:
    """The demo step as a user writes it here: nn.MLP, the loss from ops, optim.SGD."""

    def __init__(self, layers, alpha, lr):
        self.model = nn.MLP(_layer_sizes(layers), activation="relu", dtype=DTYPE)
        self.linears = [module for module in self.model if isinstance(module, nn.Linear)]
        for linear, (W, b) in zip(self.linears, layers):
            linear.weight.data[...] = W.T
            linear.bias.data[...] = b
        self.params = list(self.model.parameters())
        self.alpha = alpha
        self.optimizer = optim.SGD(self.params, lr=lr)

    def loss(self, X, y):
        score = self.model(ad.Tensor(X))
        data_loss = F.relu(1.0 - ad.Tensor(y) * score).mean()
        return data_loss + self.alpha * sum((p * p).sum() for p in self.params)

    def train_step(self, X, y):
        self.optimizer.zero_grad()
        loss = self.loss(X, y)
        loss.backward()
        self.optimizer.step()
        return loss

    def step(self, X, y):
        return self.train_step(X, y).item()

    def gradients(self):
        return [g for linear in self.linears for g in (linear.weight.grad.data.T, linear.bias.grad.data)]


class CompiledMicrograd(AutodiffMicrograd):
    """AutodiffMicrograd's step compiled with ``ad.compile``."""

    def __init__(self, layers, alpha, lr):
        super().__init__(layers, alpha, lr)
        self.compiled = ad.compile(self.train_step)

    def step(self, X, y):
        return self.compiled(X, y).item()


class TorchMicrograd:
    """The demo step in PyTorch eager."""

    def __init__(self, layers, alpha, lr):
        torch = self.torch = import_torch()
        self.model, self.linears = torch_mlp(torch, layers, "relu")
        self.params = list(self.model.parameters())
        self.alpha = alpha
        self.optimizer = torch.optim.SGD(self.params, lr=lr)

    def step(self, X, y):
        torch = self.torch
        self.optimizer.zero_grad()
        score = self.model(torch.from_numpy(X))
        loss = torch.relu(1.0 - torch.from_numpy(y) * score).mean() + self.alpha * sum((p * p).sum() for p in self.params)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def gradients(self):
        return [g for linear in self.linears for g in (linear.weight.grad.numpy().T, linear.bias.grad.numpy())]


MICROGRAD = {"numpy": NumpyMicrograd, "autodiff": AutodiffMicrograd, "compiled": CompiledMicrograd,
             "torch": TorchMicrograd}


def micrograd_setup(engines, samples, noise, seed, sizes, alpha, lr, data=None):
    """The engines' models from the same seeded weights, and the data (X, y)."""
    X, y = data if data is not None else moons(samples, noise, seed)
    layers = init_mlp(sizes, seed=0)
    return {engine: MICROGRAD[engine](layers, alpha, lr) for engine in engines}, (X, y)


def check_micrograd(engines, steps=3, data=None, **spec):
    """Assert the engines' losses, gradients and updates agree over ``steps`` steps."""
    spec = dict(MICROGRAD_STEP, **spec)
    models, (X, y) = micrograd_setup(engines, data=data, **spec)
    worst = 0.0
    for step in range(steps):
        results = {engine: [model.step(X, y)] + [np.array(g) for g in model.gradients()]
                   for engine, model in models.items()}
        worst = max(worst, _agree(f"micrograd step {step + 1}", results))
        _same_bits(f"micrograd step {step + 1}", results)
    return worst
