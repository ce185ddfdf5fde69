"""nn.utils: gradient clipping (PyTorch's formula, 1e-6 included) and parameter vectors."""
import numpy as np
import pytest

import autodiff as ad
import nn
from nn import utils


def params_with_grads(seed=0, scale=1.0):
    r = np.random.default_rng(seed)
    params = [nn.Parameter(r.normal(size=shape)) for shape in [(3, 4), (4,), (2, 2)]]
    for p in params:
        p.grad = ad.tensor(r.normal(size=p.shape) * scale)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
def test_clip_grad_norm_formula(norm_type):
    params = params_with_grads(scale=3.0)
    grads = [p.grad.data.copy() for p in params]
    flat = np.concatenate([g.ravel() for g in grads])
    total = np.abs(flat).max() if norm_type == float("inf") else (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)
    arrays = [p.grad.data for p in params]
    returned = utils.clip_grad_norm_(params, max_norm=1.0, norm_type=norm_type)
    assert isinstance(returned, ad.Tensor) and returned.shape == ()
    np.testing.assert_allclose(returned.item(), total, rtol=1e-13)
    coef = 1.0 / (total + 1e-6)
    for p, g, array in zip(params, grads, arrays):
        assert p.grad.data is array                       # in place
        np.testing.assert_allclose(p.grad.data, g * coef, rtol=1e-13)


def test_clip_grad_norm_leaves_small_gradients_alone():
    params = params_with_grads(1, scale=0.01)
    grads = [p.grad.data.copy() for p in params]
    utils.clip_grad_norm_(params, max_norm=10.0)
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(p.grad.data, g)


def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip("torch")
    for norm_type in [2.0, 1.5, float("inf")]:
        ours = params_with_grads(2, scale=5.0)
        theirs = [torch.tensor(p.data, requires_grad=True) for p in ours]
        for p, t in zip(ours, theirs):
            t.grad = torch.tensor(p.grad.data.copy())
        a = utils.clip_grad_norm_(ours, 0.5, norm_type)
        b = torch.nn.utils.clip_grad_norm_(theirs, 0.5, norm_type)
        np.testing.assert_allclose(a.item(), b.item(), rtol=1e-13)
        for p, t in zip(ours, theirs):
            np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-13)


def test_clip_grad_norm_edges():
    assert utils.clip_grad_norm_([nn.Parameter([1.0])], 1.0).item() == 0.0      # no gradients
    single = params_with_grads(3)[0]
    norm = np.linalg.norm(single.grad.data)
    assert utils.clip_grad_norm_(single, 100.0).item() == pytest.approx(norm)       # a lone tensor
    bad = params_with_grads(4)
    bad[0].grad.data[0, 0] = np.inf
    with pytest.raises(RuntimeError, match="not finite|inf"):
        utils.clip_grad_norm_(bad, 1.0, error_if_nonfinite=True)
    model = nn.Linear(3, 2)
    model(ad.ones(1, 3) * 100).sum().backward()
    utils.clip_grad_norm_(model.parameters(), 1e-3)
    total = np.sqrt(sum((p.grad.data.astype(np.float64) ** 2).sum() for p in model.parameters()))
    assert total <= 1e-3 * (1 + 1e-5)
    with pytest.raises(TypeError, match="expected a Tensor or an iterable"):
        utils.clip_grad_norm_(3.0, 1.0)


def test_clip_grad_value():
    params = params_with_grads(5, scale=2.0)
    grads = [p.grad.data.copy() for p in params]
    params[1].grad = None
    utils.clip_grad_value_(params, 0.5)
    np.testing.assert_array_equal(params[0].grad.data, np.clip(grads[0], -0.5, 0.5))
    assert params[1].grad is None


def test_parameters_to_vector_and_back():
    model = nn.MLP([3, 4, 2], dtype="float64")
    vector = utils.parameters_to_vector(model.parameters())
    assert vector.shape == (3 * 4 + 4 + 4 * 2 + 2,)
    np.testing.assert_array_equal(vector.data[:12], model[0].weight.data.ravel())
    vector.sum().backward()                                    # on the graph
    assert all((p.grad.data == 1).all() for p in model.parameters())
    arrays = [p.data for p in model.parameters()]
    utils.vector_to_parameters(ad.tensor(np.arange(vector.size, dtype=np.float64)), model.parameters())
    assert all(p.data is a for p, a in zip(model.parameters(), arrays))        # copied in place
    np.testing.assert_array_equal(model[2].bias.data, [vector.size - 2, vector.size - 1])
    with pytest.raises(ValueError, match="has 5 elements but the parameters have 26"):
        utils.vector_to_parameters(np.zeros(5), model.parameters())
    with pytest.raises(TypeError, match="1-D"):
        utils.vector_to_parameters(np.zeros((2, 13)), model.parameters())
