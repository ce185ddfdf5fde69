"""PyTorch idioms, written verbatim, run once with ``torch`` and once with ``autodiff`` in its place.

Each idiom is a function of ``torch`` (the real module, or ``autodiff`` standing in for it: its
names are PyTorch's, and ``autodiff.nn`` is the ``nn`` package) and of numpy data; both runs must
return the same numbers, dtypes and gradients. These are the spellings a PyTorch user types from
habit or from a tutorial; each of them once gave numpy's answer here without an error.
"""
import math

import numpy as np
import pytest

import autodiff as ad

torch_module = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
X = RNG.standard_normal((6, 4))
W = RNG.standard_normal((4, 3))
LABELS = np.array([0, 2, 1, 1, 0, 2])


def accuracy_by_max(torch):
    out = torch.tensor(X) @ torch.tensor(W)
    _, predicted = out.max(1)
    correct = (predicted == torch.tensor(LABELS)).sum().item()
    return correct / torch.tensor(LABELS).size(0), predicted


def standardize(torch):
    x = torch.tensor(X, requires_grad=True)
    z = (x - x.mean(0)) / x.std(0)
    (z ** 3).sum().backward()
    return z, x.grad, x.var(1), x.std()


def transpose_and_friends(torch):
    x = torch.tensor(X, requires_grad=True)
    y = x.transpose(0, 1).contiguous().view(-1)
    z = x.t() @ x + x.T @ x + x.unsqueeze(0).mT.squeeze(0) @ x
    (y.sum() + z.sum()).backward()
    return y, z, x.grad, x.reshape(2, 3, 4).permute(2, 0, 1)


def repeat_tile(torch):
    x = torch.tensor(X[:2], requires_grad=True)
    y = x.repeat(2, 1)
    z = x.repeat_interleave(2, dim=0)
    (y * torch.tensor(np.arange(32.0).reshape(4, 8)[:, :4])).sum().backward()
    return y, z, x.grad


def split_chunks(torch):
    x = torch.tensor(X, requires_grad=True)
    pieces = x.split(2)
    sizes = torch.split(x, [1, 3], dim=1)
    total = sum((p * (i + 1)).sum() for i, p in enumerate(pieces)) + sizes[1].sum()
    total.backward()
    return [p.shape[0] for p in pieces], sizes[0], x.grad


def grad_none_training_loop(torch):
    w = torch.tensor(W, requires_grad=True)
    x, y = torch.tensor(X), torch.tensor(LABELS)
    losses = []
    for _ in range(5):
        loss = torch.nn.functional.cross_entropy(x @ w, y)
        loss.backward()
        with torch.no_grad():
            w -= 0.5 * w.grad
        w.grad = None
        losses.append(loss.item())
    return losses, w


def micrograd_update(torch):
    p = torch.tensor(W, requires_grad=True)
    for _ in range(3):
        loss = ((torch.tensor(X) @ p).tanh() ** 2).mean()
        loss.backward()
        p.data -= 0.1 * p.grad
        p.grad = None
    return p, loss


def integer_arithmetic(torch):
    counts = torch.tensor(LABELS)
    x = torch.tensor(X)
    return (counts / 2, counts * 1.5, (x > 0).float().mean(), counts.float().mean(), counts.sum(),
            (counts + 0.5).dtype, torch.exp(counts), counts.long(), counts.int(), counts.double() / 3, counts * counts)


def joins(torch):
    a, b = torch.tensor(X, requires_grad=True), torch.tensor(X * 2)
    c = torch.cat([a, b], dim=1)
    s = torch.stack([a, b], dim=1)
    (c.sum() + (s ** 2).sum()).backward()
    return c, s, a.grad


def values_and_indices(torch):
    x = torch.tensor(np.round(X), requires_grad=True)      # rounding makes ties
    values, indices = torch.max(x, dim=0)
    smallest = x.min(dim=1, keepdim=True)
    (values.sum() + smallest.values.sum() * 2 + x.max()).backward()
    return values, indices, smallest.indices, x.argmax(dim=1), x.grad, x.amax(1)


def shapes(torch):
    x = torch.tensor(X, requires_grad=True)
    v = x.view(-1, 3)
    f = x.reshape(2, 3, 4).flatten(1)
    s = x.sum(dim=(0, 1))
    q = x.unsqueeze(1).squeeze(0).squeeze(1)
    (v.sum() + f.sum() * 2 + s + q.sum()).backward()
    return v.shape, f, s, q.shape, x.grad


def learning_pytorch_with_examples(torch):
    # the tutorial's polynomial fit of sin(x), autograd version (fixed starting values)
    dtype = torch.float64
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
    y = torch.sin(x)
    a, b, c, d = (torch.tensor(v, dtype=dtype, requires_grad=True) for v in (0.1, -0.2, 0.3, -0.1))
    learning_rate = 1e-6
    for t in range(100):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    return loss.item(), a, b, c, d


def softmax_and_losses(torch):
    F = torch.nn.functional
    logits = torch.tensor(X[:, :3], requires_grad=True)
    p = F.softmax(logits, dim=1)
    logp = F.log_softmax(logits, dim=-1)
    loss = F.cross_entropy(logits, torch.tensor(LABELS)) + F.nll_loss(logp, torch.tensor(LABELS)) + p.std()
    loss.backward()
    return p, logp, loss, logits.grad


def where_clamp(torch):
    x = torch.tensor(X, requires_grad=True)
    y = torch.where(x > 0, x, torch.zeros_like(x)) + x.clamp(min=0) * 2 + x.clamp(-0.5, 0.5)
    y.sum().backward()
    return y, x.grad


def numpy_bridge(torch):
    array = X.copy()
    t = torch.from_numpy(array)
    array[0, 0] = 42.0
    x = t.float().requires_grad_()
    return t[0, 0].item(), x.dtype, x.detach().numpy().dtype, t.to("cpu").cpu().dtype


def model_idioms(torch):
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(inplace=True), nn.Linear(8, 3)).to("cpu")
    state = {key: np.asarray(value) for key, value in REFERENCE_STATE.items()}
    model.load_state_dict({key: torch.tensor(value) for key, value in state.items()})
    x = torch.tensor(X, dtype=torch.float32)
    out = model(x)
    loss = torch.nn.functional.cross_entropy(out, torch.tensor(LABELS))
    loss.backward()
    _, predicted = out.max(1)
    return out, loss, predicted, model[0].weight.grad, model[2].bias.grad


REFERENCE_STATE = {
    "0.weight": RNG.standard_normal((8, 4)).astype(np.float32), "0.bias": RNG.standard_normal(8).astype(np.float32),
    "2.weight": RNG.standard_normal((3, 8)).astype(np.float32), "2.bias": RNG.standard_normal(3).astype(np.float32),
}

IDIOMS = [accuracy_by_max, standardize, transpose_and_friends, repeat_tile, split_chunks, grad_none_training_loop,
          micrograd_update, integer_arithmetic, joins, values_and_indices, shapes, learning_pytorch_with_examples,
          softmax_and_losses, where_clamp, numpy_bridge, model_idioms]


# ---- the new-user sweep: spellings from micrograd's lecture and PyTorch's 60-minute blitz -------------

def formatted_losses(torch):
    """``print(f"loss {loss:.4f}")`` in every training loop: a 0-d tensor formats as its number."""
    x = torch.tensor(X, requires_grad=True)
    loss = (x ** 2).mean()
    return f"{loss:.4f}", f"{loss:>12.3e}", f"{loss}", f"{x.sum().long():d}", format(loss.detach(), "")


def labelled_scalars(torch):
    """micrograd's lecture names its values: ``e = a * b; e.label = 'e'`` (PyTorch's tensors take any
    attribute)."""
    a = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(-3.0, requires_grad=True)
    a.label, b.label = "a", "b"
    e = a * b
    e.label = "e"
    e.backward()
    return [t.label for t in (a, b, e)], a.grad, b.grad


def blitz_creation(torch):
    """The blitz's first page: shapes and dtypes of the creation functions (the random values
    come from each library's own generator, so only what is not random is compared)."""
    torch.manual_seed(0)
    x = torch.empty(5, 3)
    y = torch.randn_like(torch.ones(5, 3, dtype=torch.double), dtype=torch.float)
    ints = torch.randint(0, 10, (4, 2))
    short_form = torch.randint(3, (6,))
    perm = torch.randperm(7)
    array = X.copy()
    shared = torch.as_tensor(array)
    array[0, 0] = 7.0
    return (tuple(x.shape), x.dtype, torch.empty_like(y).dtype, y.dtype, tuple(ints.shape), ints.dtype,
            bool(((ints >= 0) & (ints < 10)).all()), bool(((short_form >= 0) & (short_form < 3)).all()),
            sorted(perm.tolist()), perm.dtype, shared[0, 0].item(), torch.as_tensor([1, 2]).dtype,
            torch.is_tensor(x), torch.is_tensor(array), torch.numel(x), torch.ones(2).to(torch.int).dtype,
            torch.float, torch.int, torch.int8, torch.int16, torch.uint8, torch.short)


def grad_fn_walk(torch):
    """The blitz's ``loss.grad_fn.next_functions[0][0]``: pairs (node, 0), a leaf reached as an
    AccumulateGrad whose ``.variable`` is the leaf, ``(None, 0)`` for an input off the graph."""
    x = torch.tensor(X, requires_grad=True)
    w = torch.tensor(W, requires_grad=True)
    c = torch.tensor(W)
    product = w * c
    loss = ((x @ w) * 2).sum() + product.sum()
    leaves, indices, stack = [], [], [loss.grad_fn]
    while stack:
        for node, index in stack.pop().next_functions:
            indices.append(index)
            if node is None:
                continue
            if hasattr(node, "variable"):
                leaves.append(node.variable)
            else:
                stack.append(node)
    first, off_graph = product.grad_fn.next_functions
    return (sorted(tuple(leaf.shape) for leaf in leaves), sum(leaf is w for leaf in leaves), set(indices),
            first[0].variable is w, off_graph, len(loss.grad_fn.next_functions[0]))


IDIOMS += [formatted_losses, labelled_scalars, blitz_creation, grad_fn_walk]


def comparable(value):
    """A result of either library as plain Python/numpy: (shape, dtype name, values) for tensors."""
    if isinstance(value, (tuple, list)):
        return [comparable(v) for v in value]
    if isinstance(value, ad.Tensor):
        return ("tensor", tuple(value.shape), str(value.dtype), value.data)
    if isinstance(value, torch_module.Tensor):
        return ("tensor", tuple(value.shape), str(value.dtype).replace("torch.", ""), value.detach().numpy())
    if isinstance(value, torch_module.dtype):
        return ("dtype", str(value).replace("torch.", ""))
    if isinstance(value, np.dtype):
        return ("dtype", str(value))
    if isinstance(value, torch_module.Size):
        return tuple(value)
    return value


def assert_close(ours, theirs, where="result"):
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_close(a, b, f"{where}[{i}]")
    elif isinstance(theirs, tuple) and theirs and theirs[0] == "tensor":
        assert ours[:3] == theirs[:3], f"{where}: {ours[:3]} != {theirs[:3]}"
        tolerance = 1e-5 if theirs[2] in ("float32", "float16") else 1e-10
        np.testing.assert_allclose(ours[3], theirs[3], rtol=tolerance, atol=tolerance, err_msg=where)
    elif isinstance(theirs, float):
        assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-9), where
    else:
        assert ours == theirs, where


@pytest.mark.parametrize("idiom", IDIOMS, ids=[f.__name__ for f in IDIOMS])
def test_idiom_gives_pytorchs_numbers(idiom):
    theirs = comparable(idiom(torch_module))
    ours = comparable(idiom(ad))
    assert_close(ours, theirs)

