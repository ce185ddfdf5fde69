"""The vocabulary's modules: activations, losses and layers against PyTorch's (reprs, attributes,
parameters and their initial distribution, state-dict keys, outputs and gradients with the same
weights)."""
import numpy as np
import pytest

import autodiff as ad
import nn

# (our module, PyTorch's constructor call as text, input shapes / arrays)
ACTIVATIONS = [
    ("Softplus()", [(3, 4)]), ("Softplus(2.0, 5.0)", [(3, 4)]), ("LogSigmoid()", [(3, 4)]), ("SiLU()", [(3, 4)]),
    ("Mish()", [(3, 4)]), ("ELU()", [(3, 4)]), ("ELU(alpha=0.5)", [(3, 4)]), ("SELU()", [(3, 4)]),
    ("CELU(2.0)", [(3, 4)]), ("Hardtanh()", [(3, 4)]), ("Hardtanh(-2.0, 0.5)", [(3, 4)]), ("ReLU6()", [(3, 4)]),
    ("Hardswish()", [(3, 4)]), ("Hardsigmoid()", [(3, 4)]), ("Softsign()", [(3, 4)]), ("Tanhshrink()", [(3, 4)]),
    ("Softshrink()", [(3, 4)]), ("Softshrink(1.0)", [(3, 4)]), ("Hardshrink(0.3)", [(3, 4)]), ("GLU()", [(3, 4)]),
    ("GLU(0)", [(4, 3)]), ("Softmin(1)", [(3, 4)]), ("PReLU()", [(3, 4)]), ("PReLU(3, 0.1)", [(2, 3, 4)]),
    ("Unflatten(1, (2, 2))", [(3, 4)]), ("Identity()", [(3, 4)]), ("Flatten()", [(3, 2, 2)]),
    ("PairwiseDistance()", [(3, 4), (3, 4)]), ("CosineSimilarity(0)", [(3, 4), (3, 4)]),
    ("Bilinear(4, 2, 5)", [(3, 4), (3, 2)]), ("Bilinear(4, 2, 5, bias=False)", [(3, 4), (3, 2)]),
]
SIGNS = np.where(np.arange(12).reshape(3, 4) % 3, 1.0, -1.0)
LOSSES = [
    ("KLDivLoss(reduction='batchmean')", [np.log(np.full((3, 4), 0.25)), np.full((3, 4), 0.25) + [0.1, -0.1, 0.0, 0.0]]),
    ("KLDivLoss(reduction='sum', log_target=True)", [(3, 4), (3, 4)]),
    ("SoftMarginLoss()", [(3, 4), SIGNS]),
    ("MultiLabelSoftMarginLoss(weight=ad_or_torch.tensor([1.0, 2.0, 0.5, 1.0]))", [(3, 4), (SIGNS > 0) * 1.0]),
    ("MarginRankingLoss(0.5)", [(4,), (4,), SIGNS[0]]),
    ("HingeEmbeddingLoss(margin=2.0, reduction='none')", [(3, 4), SIGNS]),
    ("CosineEmbeddingLoss(0.2)", [(3, 4), (3, 4), SIGNS[:, 0].copy()]),
    ("TripletMarginLoss(margin=0.5, p=1.0)", [(3, 4), (3, 4), (3, 4)]),
    ("TripletMarginWithDistanceLoss(swap=True)", [(3, 4), (3, 4), (3, 4)]),
    ("PoissonNLLLoss(full=True)", [(3, 4), np.arange(12.0).reshape(3, 4) + 2]),
    ("GaussianNLLLoss(full=True)", [(3, 4), (3, 4), np.full((3, 1), 0.5)]),
    ("MultiMarginLoss(p=2, margin=0.5)", [(3, 4), np.array([0, 3, 1])]),
]


def _arrays(specs, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s) if isinstance(s, tuple) else np.asarray(s) for s in specs]


def _both(torch, text):
    ours = eval("nn." + text, {"nn": nn, "ad_or_torch": ad})
    theirs = eval("torch.nn." + text, {"torch": torch, "ad_or_torch": torch})
    return ours, theirs


def _same_parameters(ours, theirs, torch):
    """Copy PyTorch's initial parameters into ours (after checking names and shapes)."""
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    for (_, mine), (_, reference) in zip(ours.named_parameters(), theirs.named_parameters()):
        mine.data[...] = reference.detach().numpy()


@pytest.mark.parametrize("text,specs", ACTIVATIONS + LOSSES, ids=[t for t, _ in ACTIVATIONS + LOSSES])
def test_module_matches_torch(text, specs):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    ours, theirs = _both(torch, text)
    assert repr(ours) == repr(theirs)
    ours.double()
    theirs.double()
    _same_parameters(ours, theirs, torch)
    arrays = _arrays(specs)
    mine = [ad.tensor(a, requires_grad=a.dtype.kind == "f" and k == 0) for k, a in enumerate(arrays)]
    reference = [torch.tensor(a, requires_grad=a.dtype.kind == "f" and k == 0) for k, a in enumerate(arrays)]
    out, expected = ours(*mine), theirs(*reference)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-7, atol=1e-12)
    weights = np.cos(np.arange(out.size)).reshape(out.shape)
    out.backward(gradient=weights)
    expected.backward(torch.tensor(weights))
    np.testing.assert_allclose(mine[0].grad.data, reference[0].grad.numpy(), rtol=1e-7, atol=1e-12)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-7, atol=1e-12, err_msg=name)


def test_embedding_initialisation_padding_and_from_pretrained():
    ad.manual_seed(0)
    table = nn.Embedding(1000, 8, padding_idx=-1)
    assert table.padding_idx == 999 and table.weight.shape == (1000, 8)
    np.testing.assert_array_equal(table.weight.data[999], 0.0)
    values = table.weight.data[:999]
    assert abs(values.mean()) < 0.05 and abs(values.std() - 1.0) < 0.05       # N(0, 1) as PyTorch
    out = table(ad.tensor([[1, 999], [999, 2]]))
    assert out.shape == (2, 2, 8)
    out.sum().backward()
    np.testing.assert_array_equal(table.weight.grad.data[999], 0.0)
    np.testing.assert_array_equal(table.weight.grad.data[1], 1.0)
    pretrained = nn.Embedding.from_pretrained(ad.tensor(np.eye(3)))
    assert not pretrained.weight.requires_grad and repr(pretrained) == "Embedding(3, 3)"
    np.testing.assert_array_equal(pretrained(ad.tensor([2, 0])).data, np.eye(3)[[2, 0]])
    assert list(table.state_dict()) == ["weight"]


def test_embedding_max_norm_renormalises_looked_up_rows_in_place_like_torch():
    torch = pytest.importorskip("torch")
    weights = np.arange(12.0).reshape(4, 3) / 3
    ours = nn.Embedding(4, 3, max_norm=1.5, _weight=ad.tensor(weights))
    theirs = torch.nn.Embedding(4, 3, max_norm=1.5, _weight=torch.tensor(weights))
    index = [[0, 2], [2, 1]]
    np.testing.assert_allclose(ours(ad.tensor(index)).data, theirs(torch.tensor(index)).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.weight.data, theirs.weight.detach().numpy(), rtol=1e-12)


def test_bilinear_and_prelu_initialisation_follow_torch():
    ad.manual_seed(1)
    layer = nn.Bilinear(16, 3, 50)
    bound = 1 / 4
    assert layer.weight.shape == (50, 16, 3) and layer.bias.shape == (50,)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.weight.data).max() > 0.9 * bound
    assert np.abs(layer.bias.data).max() <= bound
    prelu = nn.PReLU(4)
    np.testing.assert_array_equal(prelu.weight.data, 0.25)
    assert prelu.weight.dtype == ad.get_default_dtype() and list(prelu.state_dict()) == ["weight"]


def test_activation_modules_take_options_as_pytorch_and_refuse_others():
    assert nn.Hardtanh(max_val=2.0).max_val == 2.0 and nn.Hardtanh(max_val=2.0).min_val == -1.0
    assert nn.Softplus(beta=3).beta == 3 and repr(nn.ELU(inplace=True)) == "ELU(alpha=1.0, inplace=True)"
    with pytest.raises(TypeError, match="Softplus takes the options"):
        nn.Softplus(alpha=1.0)
    with pytest.raises(TypeError, match="MarginRankingLoss takes the options"):
        nn.MarginRankingLoss(margins=1.0)
    with pytest.raises(ValueError, match="reduction"):
        nn.SoftMarginLoss(reduction="batchmean")


def test_inplace_activations_write_into_their_input():
    x = ad.tensor([-1.0, 0.5, 2.0])
    y = nn.ELU(inplace=True)(x)
    assert y is x and x.data[0] == pytest.approx(np.expm1(-1.0))
    leaf = ad.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        nn.SiLU(inplace=True)(leaf)
