"""More of PyTorch's layers: padding, pixel and channel shuffles, Fold/Unfold, Softmax2d, Threshold,
the old upsampling names, group/instance/RMS/local-response normalization, ParameterList/Dict and
the recurrent layers, each against PyTorch (repr, state-dict keys, initial values after the same
seed, outputs and gradients in float32 and float64) and against float64 finite differences."""
import numpy as np
import pytest

import autodiff as ad
import nn
from nn import functional as F

# (constructor call as text, the same in nn. and torch.nn., input shape)
MODULES = [
    ("ZeroPad1d(2)", (2, 3, 5)), ("ZeroPad1d((1, -1))", (3, 5)), ("ZeroPad2d((1, 2, 0, 3))", (2, 3, 4, 5)),
    ("ZeroPad3d(1)", (1, 2, 3, 3, 3)), ("ConstantPad1d(2, 3.5)", (2, 3, 4)), ("ConstantPad2d((1, 0, 2, 1), -1.0)", (3, 4, 5)),
    ("ConstantPad3d((1, 1, 0, 2, 1, 0), 0.5)", (2, 2, 3, 3)), ("ConstantPad2d(1, 2.0)", (4, 5)),
    ("ReflectionPad1d((2, 3))", (2, 3, 5)), ("ReflectionPad2d(2)", (2, 3, 4, 5)), ("ReflectionPad2d((1, 0, 2, 1))", (3, 4, 5)),
    ("ReflectionPad3d(1)", (1, 2, 3, 3, 3)), ("ReplicationPad1d((3, 1))", (2, 3, 4)), ("ReplicationPad2d(2)", (2, 3, 4, 5)),
    ("ReplicationPad3d((1, 0, 2, 1, 0, 1))", (2, 3, 3, 4)), ("CircularPad1d(2)", (2, 3, 4)),
    ("CircularPad2d((1, 2, 2, 0))", (2, 3, 4, 5)), ("CircularPad3d(1)", (1, 2, 3, 3, 3)),
    ("PixelShuffle(2)", (2, 8, 3, 3)), ("PixelShuffle(3)", (9, 2, 2)), ("PixelShuffle(2)", (2, 3, 4, 2, 2)),
    ("PixelUnshuffle(2)", (2, 2, 4, 6)), ("PixelUnshuffle(3)", (1, 6, 3)),
    ("ChannelShuffle(2)", (2, 6, 3, 3)), ("ChannelShuffle(3)", (2, 6, 4)),
    ("Fold(output_size=(4, 5), kernel_size=2)", (2, 12, 12)), ("Fold(4, (2, 3), dilation=1, padding=1, stride=2)", (24, 6)),
    ("Unfold(kernel_size=(2, 3), padding=1, stride=2)", (2, 3, 5, 6)), ("Unfold(2, dilation=2)", (3, 5, 5)),
    ("Softmax2d()", (2, 3, 4, 5)), ("Softmax2d()", (3, 4, 5)),
    ("Threshold(0.1, 20.0)", (3, 4)), ("Threshold(-0.5, -2.0)", (2, 3, 4)),
    ("UpsamplingNearest2d(scale_factor=2)", (2, 3, 3, 4)), ("UpsamplingNearest2d(size=(5, 7))", (1, 2, 3, 4)),
    ("UpsamplingBilinear2d(scale_factor=2)", (2, 3, 3, 4)), ("UpsamplingBilinear2d(size=(5, 7))", (1, 2, 3, 4)),
    ("GroupNorm(2, 4)", (3, 4, 5)), ("GroupNorm(3, 6, eps=1e-3, affine=False)", (2, 6, 2, 3)),
    ("GroupNorm(1, 3, bias=False)", (4, 3)), ("GroupNorm(3, 3)", (2, 3, 2, 2, 2)),
    ("InstanceNorm1d(3)", (2, 3, 5)), ("InstanceNorm1d(3, affine=True)", (3, 4)),
    ("InstanceNorm2d(3, affine=True, track_running_stats=True)", (2, 3, 4, 5)),
    ("InstanceNorm3d(2, eps=1e-3, affine=True, bias=False)", (2, 2, 3, 2, 2)),
    ("RMSNorm(5)", (3, 4, 5)), ("RMSNorm([4, 5], eps=1e-3)", (3, 4, 5)), ("RMSNorm(5, elementwise_affine=False)", (2, 5)),
    ("LocalResponseNorm(3)", (2, 5, 4)), ("LocalResponseNorm(4, alpha=0.5, beta=0.6, k=2.0)", (2, 6, 3, 3)),
    ("LocalResponseNorm(2, alpha=1.0)", (2, 4, 2, 2, 3)),
]


def _module_pair(torch, text):
    return eval("nn." + text, {"nn": nn}), eval("torch.nn." + text, {"torch": torch})


def _nudge(module, torch=None):
    """Parameters away from the ones/zeros of their initialisation, so that a forgotten weight or
    bias shows (the same values in ours and PyTorch's)."""
    for k, (_, p) in enumerate(sorted(module.named_parameters())):
        values = np.cos(np.arange(p.numel() if torch else p.size) + k).reshape(tuple(p.shape)) + 1.5
        if torch:
            with torch.no_grad():
                p.copy_(torch.tensor(values))
        else:
            p.data[...] = values


@pytest.mark.parametrize("text,shape", MODULES, ids=[f"{t}-{s}" for t, s in MODULES])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_module_matches_torch(text, shape, dtype):
    torch = pytest.importorskip("torch")
    ours, theirs = _module_pair(torch, text)
    assert repr(ours) == repr(theirs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    for (name, mine), (_, reference) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        np.testing.assert_array_equal(np.asarray(mine.data), reference.numpy(), err_msg=name)    # the initial values
    ours.to(dtype)
    theirs.to(getattr(torch, dtype))
    _nudge(ours)
    _nudge(theirs, torch)
    values = np.random.default_rng(0).normal(size=shape).astype(dtype)
    x, reference = ad.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    out, expected = ours(x), theirs(reference)
    assert out.shape == tuple(expected.shape) and out.dtype == np.dtype(dtype)
    tolerance = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **tolerance)
    weights = np.cos(np.arange(out.size)).reshape(out.shape).astype(dtype)
    out.backward(gradient=ad.tensor(weights))
    expected.backward(torch.tensor(weights))
    np.testing.assert_allclose(x.grad.data, reference.grad.numpy(), **tolerance)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), err_msg=name, **tolerance)
    for (name, mine), (_, theirs_value) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        np.testing.assert_allclose(np.asarray(mine.data), theirs_value.numpy(), err_msg=name, **tolerance)


@pytest.mark.parametrize("text,shape", [m for m in MODULES if "Upsampling" not in m[0]][::2],
                         ids=[t for t, _ in MODULES if "Upsampling" not in t][::2])
def test_module_gradcheck(text, shape):
    module = eval("nn." + text, {"nn": nn}).double()
    _nudge(module)
    values = np.random.default_rng(1).normal(size=shape)
    parameters = list(module.parameters())
    assert ad.gradcheck(lambda x, *ps: module(x), (ad.tensor(values, requires_grad=True), *parameters))


def _rng_tensors(torch, *shapes, seed=2):
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=s) for s in shapes]
    return ([ad.tensor(a, requires_grad=True) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays] if torch else None)


# (our call, PyTorch's call, input shapes); ``f`` is F or torch.nn.functional
FUNCTIONS = [
    ("F.pixel_shuffle(x, 2)", [(2, 8, 2, 3)]), ("F.pixel_unshuffle(x, 2)", [(2, 2, 4, 2)]),
    ("F.channel_shuffle(x, 2)", [(2, 4, 3)]), ("F.threshold(x, 0.2, -3.0)", [(3, 4)]),
    ("F.group_norm(x, 2, w, b, 1e-3)", [(3, 4, 5), (4,), (4,)]), ("F.group_norm(x, 4, w)", [(2, 4, 2, 2), (4,)]),
    ("F.instance_norm(x, weight=w, bias=b)", [(2, 3, 5), (3,), (3,)]), ("F.instance_norm(x, eps=0.1)", [(2, 3, 2, 2)]),
    ("F.rms_norm(x, (4,), w)", [(3, 4), (4,)]), ("F.rms_norm(x, [2, 4], w, 1e-2)", [(3, 2, 4), (2, 4)]),
    ("F.local_response_norm(x, 3)", [(2, 5, 3)]), ("F.local_response_norm(x, 2, 0.3, 0.9, 1.5)", [(2, 4, 2, 3)]),
    ("F.upsample_nearest(x, scale_factor=2)", [(2, 3, 2, 3)]), ("F.upsample_bilinear(x, size=(3, 5))", [(1, 2, 2, 3)]),
    ("F.upsample(x, scale_factor=2, mode='linear')", [(2, 3, 4)]),
]


@pytest.mark.parametrize("call,shapes", FUNCTIONS, ids=[c for c, _ in FUNCTIONS])
def test_functional_matches_torch_and_gradcheck(call, shapes):
    torch = pytest.importorskip("torch")
    ours, theirs = _rng_tensors(torch, *shapes)
    names = ["x", "w", "b"][:len(shapes)]
    out = eval(call, {"F": F, **dict(zip(names, ours))})
    expected = eval(call, {"F": torch.nn.functional, **dict(zip(names, theirs))})
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    ((out + 1) ** 2).mean().backward()
    ((expected + 1) ** 2).mean().backward()
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.data, reference.grad.numpy(), rtol=1e-10, atol=1e-12)
    fresh, _ = _rng_tensors(None, *shapes)
    assert ad.gradcheck(lambda *args: eval(call, {"F": F, **dict(zip(names, args))}), tuple(fresh))


def test_rms_norm_default_eps_is_the_dtype_epsilon():
    torch = pytest.importorskip("torch")
    values = np.array([[1e-4, -2e-4, 3e-4]], dtype=np.float32)
    for dtype in ("float32", "float64"):
        out = F.rms_norm(ad.tensor(values.astype(dtype)), (3,))
        expected = torch.nn.functional.rms_norm(torch.tensor(values.astype(dtype)), (3,))
        np.testing.assert_allclose(out.data, expected.numpy(), rtol=1e-6)
        assert nn.RMSNorm(3).eps is None


def test_instance_norm_running_statistics_train_then_eval_like_torch():
    torch = pytest.importorskip("torch")
    ours = nn.InstanceNorm1d(3, momentum=0.3, track_running_stats=True).double()
    theirs = torch.nn.InstanceNorm1d(3, momentum=0.3, track_running_stats=True).double()
    rng = np.random.default_rng(3)
    for _ in range(3):
        values = rng.normal(size=(4, 3, 6)) * 2 + 1
        np.testing.assert_allclose(ours(ad.tensor(values)).data, theirs(torch.tensor(values)).numpy(), rtol=1e-10)
    for name, value in theirs.state_dict().items():
        np.testing.assert_allclose(np.asarray(ours.state_dict()[name].data), value.numpy(), rtol=1e-12, err_msg=name)
    ours.eval()
    theirs.eval()
    values = rng.normal(size=(2, 3, 5))
    np.testing.assert_allclose(ours(ad.tensor(values)).data, theirs(torch.tensor(values)).numpy(), rtol=1e-10)
    # unbatched (C, L)
    np.testing.assert_allclose(ours(ad.tensor(values[0])).data, theirs(torch.tensor(values[0])).numpy(), rtol=1e-10)


def test_a_state_dict_loads_into_torch_and_gives_the_same_outputs():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Conv2d(3, 4, 3), nn.GroupNorm(2, 4), nn.InstanceNorm2d(4, affine=True),
                         nn.PixelShuffle(2), nn.RMSNorm(8)).double()
    for p in ours.parameters():
        p.data[...] = np.sin(np.arange(p.data.size)).reshape(p.shape)
    theirs = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.GroupNorm(2, 4),
                                 torch.nn.InstanceNorm2d(4, affine=True), torch.nn.PixelShuffle(2),
                                 torch.nn.RMSNorm(8)).double()
    theirs.load_state_dict({k: torch.tensor(np.asarray(v.data)) for k, v in ours.state_dict().items()})
    values = np.random.default_rng(4).normal(size=(2, 3, 6, 6))
    np.testing.assert_allclose(ours(ad.tensor(values)).data, theirs(torch.tensor(values)).detach().numpy(),
                               rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("make,shape,message", [
    (lambda: nn.ReflectionPad1d(3), (1, 2, 3), r"ReflectionPad1d: .*must be smaller than its size 3"),
    (lambda: nn.ReflectionPad2d(1), (3, 4), r"ReflectionPad2d: expected a 3-D \(C, H, W\) or 4-D"),
    (lambda: nn.ZeroPad2d(1), (3,), r"ZeroPad2d: pads the last 2 dims, but the input of shape \(3,\) has 1"),
    (lambda: nn.CircularPad1d(5), (1, 2, 3), r"CircularPad1d: .*at most its size 3"),
    (lambda: nn.PixelShuffle(2), (1, 3, 2, 2), r"pixel_shuffle: .*\(dim -3, of size 3.*divisible by upscale_factor\*\*2 = 4"),
    (lambda: nn.PixelUnshuffle(2), (1, 1, 3, 4), r"pixel_unshuffle: the input's height .*divisible by downscale_factor"),
    (lambda: nn.ChannelShuffle(2), (1, 3, 2), r"channel_shuffle: the number of channels \(3.*groups \(2\)"),
    (lambda: nn.Softmax2d(), (3, 4), r"Softmax2d: expected a 3-D"),
    (lambda: nn.GroupNorm(2, 4), (2, 3, 4), r"GroupNorm: expected an input of shape \(N, 4, \*\), got \(2, 3, 4\)"),
    (lambda: nn.InstanceNorm1d(3, affine=True), (2, 4, 5), r"InstanceNorm1d: .*num_features \(3\), but got 4"),
    (lambda: nn.InstanceNorm2d(3), (3, 4), r"InstanceNorm2d: expected a 3-D \(C, H, W\) or 4-D"),
    (lambda: nn.InstanceNorm1d(3), (2, 3, 1), r"instance_norm: expected more than 1 spatial element"),
    (lambda: nn.RMSNorm(4), (2, 3), r"RMSNorm: input of shape \(2, 3\) does not end with normalized_shape \(4,\)"),
    (lambda: nn.LocalResponseNorm(2), (3, 4), r"LocalResponseNorm: expected an input of at least 3 dims"),
    (lambda: nn.UpsamplingBilinear2d(scale_factor=2), (1, 2, 3), r"UpsamplingBilinear2d: expected a 4-D input"),
])
def test_bad_input_names_the_layer_the_shapes_and_the_fix(make, shape, message):
    with pytest.raises(ValueError, match=message):
        make()(ad.zeros(*shape))


def test_bad_constructor_arguments_are_refused():
    with pytest.raises(ValueError, match=r"GroupNorm: num_channels \(5\) must be divisible by num_groups \(2\)"):
        nn.GroupNorm(2, 5)
    with pytest.raises(ValueError, match=r"ZeroPad2d: padding must be an int or a tuple of 4 ints"):
        nn.ZeroPad2d((1, 2))
    with pytest.raises(ValueError, match="pixel_shuffle: upscale_factor must be a positive int"):
        nn.PixelShuffle(0)(ad.zeros(1, 4, 2, 2))


def test_threshold_in_place_and_eval_modes():
    x = ad.tensor([-1.0, 0.5, 2.0])
    assert nn.Threshold(0.5, 9.0, inplace=True)(x) is x and x.tolist() == [9.0, 9.0, 2.0]
    norm = nn.InstanceNorm2d(2, track_running_stats=True)
    norm(ad.randn(3, 2, 4, 4))
    assert int(norm.num_batches_tracked.item()) == 0         # kept, never counted, as PyTorch's
    assert not np.allclose(norm.running_mean.data, 0.0)
    before = norm.running_mean.data.copy()
    norm.eval()(ad.randn(3, 2, 4, 4))
    np.testing.assert_array_equal(norm.running_mean.data, before)


def test_parameter_list_and_dict_register_like_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    arrays = [rng.normal(size=(2, 3)), rng.normal(size=(3,))]

    class Ours(nn.Module):
        def __init__(self):
            super().__init__()
            self.weights = nn.ParameterList([nn.Parameter(ad.tensor(arrays[0])), ad.tensor(arrays[1])])
            self.extra = nn.ParameterDict({"scale": ad.tensor(arrays[1]), "bias": nn.Parameter(ad.tensor(arrays[1]))})

        def forward(self, x):
            return (x @ self.weights[0] + self.weights[1]) * self.extra["scale"] + self.extra["bias"]

    class Theirs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weights = torch.nn.ParameterList([torch.nn.Parameter(torch.tensor(arrays[0])),
                                                   torch.tensor(arrays[1])])
            self.extra = torch.nn.ParameterDict({"scale": torch.tensor(arrays[1]),
                                                 "bias": torch.nn.Parameter(torch.tensor(arrays[1]))})

        def forward(self, x):
            return (x @ self.weights[0] + self.weights[1]) * self.extra["scale"] + self.extra["bias"]

    ours, theirs = Ours(), Theirs()
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()] == \
        ["weights.0", "weights.1", "extra.bias", "extra.scale"]            # a plain dict's keys sorted
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in ours.weights)
    assert repr(ours).replace("float64", "torch.float64") == \
        repr(theirs).replace("torch.DoubleTensor", "torch.float64").replace("Theirs", "Ours")
    values = rng.normal(size=(4, 2))
    out, expected = ours(ad.tensor(values)), theirs(torch.tensor(values))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    expected.sum().backward()
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-12, err_msg=name)
    theirs.load_state_dict({k: torch.tensor(np.asarray(v.data)) for k, v in ours.state_dict().items()})


def test_parameter_list_and_dict_behave_as_list_and_dict():
    plist = nn.ParameterList()
    plist.append(ad.ones(2)).extend([ad.zeros(3)])
    plist += [nn.Parameter(ad.ones(1))]
    assert len(plist) == 3 and [p.shape for p in plist] == [(2,), (3,), (1,)]
    assert isinstance(plist[1:], nn.ParameterList) and len(plist[1:]) == 2 and plist[-1].shape == (1,)
    plist[0] = ad.zeros(4)
    assert plist[0].shape == (4,) and isinstance(plist[0], nn.Parameter)
    with pytest.raises(IndexError, match="ParameterList index 3 is out of range"):
        plist[3]
    with pytest.raises(RuntimeError, match="ParameterList should not be called"):
        plist(ad.ones(1))
    pdict = nn.ParameterDict([("b", ad.ones(2)), ("a", ad.ones(1))])       # pairs keep their order
    assert list(pdict) == ["b", "a"] and "a" in pdict and len(pdict) == 2
    assert pdict.pop("b").shape == (2,) and list(pdict.keys()) == ["a"] and list(pdict.state_dict()) == ["a"]
    assert pdict.get("missing") is None and pdict.setdefault("c", ad.zeros(2)).shape == (2,)
    with pytest.raises(KeyError):
        pdict["missing"]
    with pytest.raises(TypeError, match="ParameterDict: keys must be strings"):
        pdict[1] = ad.ones(1)
    pdict.clear()
    assert len(pdict) == 0 and list(pdict.parameters()) == []


# ---------------------------------------------------------------------------------------------
# recurrent layers

RECURRENT = ["RNN", "LSTM", "GRU"]
RECURRENT_GRID = [(kind, layers, bidirectional, batch_first, with_state)
                  for kind in RECURRENT for layers in (1, 2) for bidirectional in (False, True)
                  for batch_first in (False, True) for with_state in (False, True)]


def _pairs_of_states(torch, kind, shape, rng, dtype):
    count = 2 if kind == "LSTM" else 1
    arrays = [rng.normal(size=shape).astype(dtype) for _ in range(count)]
    ours = [ad.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    return (tuple(ours), tuple(theirs)) if kind == "LSTM" else (ours[0], theirs[0])


def _flat(state):
    return list(state) if isinstance(state, tuple) else [state]


@pytest.mark.parametrize("kind,layers,bidirectional,batch_first,with_state", RECURRENT_GRID)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_recurrent_layer_matches_torch(kind, layers, bidirectional, batch_first, with_state, dtype):
    torch = pytest.importorskip("torch")
    options = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
    ad.manual_seed(7)
    ours = getattr(nn, kind)(3, 4, **options)
    torch.manual_seed(7)
    theirs = getattr(torch.nn, kind)(3, 4, **options)
    assert repr(ours) == repr(theirs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    for (name, mine), (_, reference) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_array_equal(mine.data, reference.detach().numpy(), err_msg=name)   # the same seed's draws
    ours.to(dtype)
    theirs.to(getattr(torch, dtype))
    rng = np.random.default_rng(8)
    shape = (2, 5, 3) if batch_first else (5, 2, 3)
    values = rng.normal(size=shape).astype(dtype)
    x, reference = ad.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    state_shape = (layers * (2 if bidirectional else 1), 2, 4)
    if with_state:
        state, state_reference = _pairs_of_states(torch, kind, state_shape, rng, dtype)
        out, final = ours(x, state)
        expected, expected_final = theirs(reference, state_reference)
    else:
        out, final = ours(x)
        expected, expected_final = theirs(reference)
    tolerance = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **tolerance)
    for mine, reference_final in zip(_flat(final), _flat(expected_final)):
        assert mine.shape == tuple(reference_final.shape)
        np.testing.assert_allclose(mine.data, reference_final.detach().numpy(), **tolerance)
    # a loss through the output and every final state
    loss = ((out + 1) ** 2).mean() + sum((s * s).sum() for s in _flat(final))
    expected_loss = ((expected + 1) ** 2).mean() + sum((s * s).sum() for s in _flat(expected_final))
    loss.backward()
    expected_loss.backward()
    np.testing.assert_allclose(x.grad.data, reference.grad.numpy(), **tolerance)
    if with_state:
        for mine, theirs_state in zip(_flat(state), _flat(state_reference)):
            np.testing.assert_allclose(mine.grad.data, theirs_state.grad.numpy(), **tolerance)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), err_msg=name, **tolerance)


@pytest.mark.parametrize("text", ["RNN(2, 3, nonlinearity='relu', bias=False)", "RNN(2, 3, 2, dropout=0.5)",
                                  "LSTM(2, 3, bias=False)", "GRU(2, 3, batch_first=True)",
                                  "LSTM(2, 3, proj_size=2)", "LSTM(2, 4, 2, proj_size=1, bidirectional=True)"])
def test_recurrent_options_unbatched_input_and_state_dict_load_into_torch(text):
    torch = pytest.importorskip("torch")
    ours = eval("nn." + text, {"nn": nn}).double().eval()      # eval: no dropout between layers
    theirs = eval("torch.nn." + text, {"torch": torch}).double().eval()
    assert repr(ours) == repr(theirs)
    theirs.load_state_dict({k: torch.tensor(np.asarray(v.data)) for k, v in ours.state_dict().items()})
    values = np.random.default_rng(9).normal(size=(4, 2))          # unbatched (L, input_size)
    out, final = ours(ad.tensor(values))
    expected, expected_final = theirs(torch.tensor(values))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    for mine, reference in zip(_flat(final), _flat(expected_final)):
        assert mine.shape == tuple(reference.shape)
        np.testing.assert_allclose(mine.data, reference.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("bias,batched,with_state", [(True, True, True), (True, True, False), (False, False, True)])
def test_cells_match_torch(kind, bias, batched, with_state):
    torch = pytest.importorskip("torch")
    ad.manual_seed(11)
    ours = getattr(nn, kind)(3, 5, bias=bias)
    torch.manual_seed(11)
    theirs = getattr(torch.nn, kind)(3, 5, bias=bias)
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    for (name, mine), (_, reference) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_array_equal(mine.data, reference.detach().numpy(), err_msg=name)
    ours.double()
    theirs.double()
    rng = np.random.default_rng(12)
    values = rng.normal(size=(2, 3) if batched else (3,))
    x, reference = ad.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    args, reference_args = [x], [reference]
    if with_state:
        state, state_reference = _pairs_of_states(torch, kind.replace("Cell", ""), (2, 5) if batched else (5,),
                                                  rng, "float64")
        args.append(state)
        reference_args.append(state_reference)
    out, expected = ours(*args), theirs(*reference_args)
    loss = sum(((o + 1) ** 2).sum() for o in _flat(out))
    sum(((o + 1) ** 2).sum() for o in _flat(expected)).backward()
    loss.backward()
    for mine, reference_out in zip(_flat(out), _flat(expected)):
        np.testing.assert_allclose(mine.data, reference_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x.grad.data, reference.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("kind", RECURRENT)
def test_recurrent_gradcheck(kind):
    ad.manual_seed(3)
    layer = getattr(nn, kind)(2, 2, num_layers=2, bidirectional=True).double()
    rng = np.random.default_rng(13)
    x = ad.tensor(rng.normal(size=(3, 1, 2)), requires_grad=True)
    count = 2 if kind == "LSTM" else 1
    states = [ad.tensor(rng.normal(size=(4, 1, 2)), requires_grad=True) for _ in range(count)]
    parameters = list(layer.parameters())

    def run(x, *rest):
        state = tuple(rest[:count]) if kind == "LSTM" else rest[0]
        out, final = layer(x, state)
        return ad.cat([out.reshape(-1)] + [s.reshape(-1) for s in _flat(final)])

    assert ad.gradcheck(run, (x, *states, *parameters))


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_gradcheck(kind):
    cell = getattr(nn, kind)(2, 3).double()
    rng = np.random.default_rng(14)
    x = ad.tensor(rng.normal(size=(2, 2)), requires_grad=True)
    h = ad.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    c = ad.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    if kind == "LSTMCell":
        assert ad.gradcheck(lambda x, h, c, *ps: ad.cat(cell(x, (h, c)), 1), (x, h, c, *cell.parameters()))
    else:
        assert ad.gradcheck(lambda x, h, *ps: cell(x, h), (x, h, *cell.parameters()))


def test_recurrent_dropout_between_layers_only_in_training():
    layer = nn.GRU(3, 4, num_layers=2, dropout=0.5).double()
    x = ad.tensor(np.random.default_rng(15).normal(size=(5, 2, 3)))
    first, _ = layer(x)
    second, _ = layer(x)
    assert not np.allclose(first.data, second.data)          # a fresh mask per call
    layer.eval()
    np.testing.assert_array_equal(layer(x)[0].data, layer(x)[0].data)


@pytest.mark.parametrize("call,message", [
    (lambda: nn.RNN(3, 4)(ad.zeros(2, 5, 2)), r"RNN: input of shape \(2, 5, 2\) has 2 features .*input_size 3"),
    (lambda: nn.RNN(3, 4)(ad.zeros(2, 5, 3), ad.zeros(1, 4, 4)),
     r"RNN: expected hx of shape \(1, 5, 4\) .*got \(1, 4, 4\)"),
    (lambda: nn.GRU(3, 4)(ad.zeros(2, 5, 3), ad.zeros(5, 4)), r"GRU: for a batched 3-D input, hx should be 3-D"),
    (lambda: nn.LSTM(3, 4, bidirectional=True)(ad.zeros(2, 5, 3), (ad.zeros(1, 5, 4), ad.zeros(1, 5, 4))),
     r"LSTM: expected h0 of shape \(2, 5, 4\)"),
    (lambda: nn.LSTM(3, 4)(ad.zeros(2, 5, 3), ad.zeros(1, 5, 4)), r"LSTM: hx must be a pair \(h0, c0\)"),
    (lambda: nn.RNN(3, 4)(ad.zeros(2, 3, 4, 3)), r"RNN: expected input to be 2-D \(L, input_size\) or 3-D"),
    (lambda: nn.RNNCell(3, 4)(ad.zeros(2, 2, 3)), r"RNNCell: expected input to be 1-D .* or 2-D"),
    (lambda: nn.GRUCell(3, 4)(ad.zeros(2, 3), ad.zeros(3, 4)), r"GRUCell: hx of shape \(3, 4\) .*expected \(2, 4\)"),
    (lambda: nn.RNN(3, 4, dropout=2), r"RNN: dropout should be a number in range \[0, 1\]"),
    (lambda: nn.RNN(3, 4, nonlinearity="sigmoid"), r"RNN: unknown nonlinearity 'sigmoid'"),
    (lambda: nn.GRU(3, 4, proj_size=2), r"GRU: proj_size is only supported for LSTM"),
    (lambda: nn.LSTM(3, 4, proj_size=4), r"LSTM: proj_size \(4\) has to be smaller than hidden_size \(4\)"),
    (lambda: nn.LSTM(3, 4, proj_size=2)(ad.zeros(2, 5, 3), (ad.zeros(1, 5, 4), ad.zeros(1, 5, 4))),
     r"LSTM: expected h0 of shape \(1, 5, 2\)"),
    (lambda: nn.LSTM(3, 4).double()(ad.zeros(2, 5, 3, dtype="float32")), r"LSTM.*float32.*float64"),
])
def test_recurrent_bad_input_names_the_layer_and_the_fix(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


# ---------------------------------------------------------------------------------------------
# initialisers: eye_, dirac_, orthogonal_, sparse_


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 2, 3, 3), (6, 6), (1, 4)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_orthogonal_is_pytorchs_after_the_same_seed(shape, dtype):
    torch = pytest.importorskip("torch")
    ad.manual_seed(1)
    ours = nn.init.orthogonal_(ad.zeros(*shape, dtype=dtype), gain=2.0)
    torch.manual_seed(1)
    theirs = torch.nn.init.orthogonal_(torch.zeros(*shape, dtype=getattr(torch, dtype)), gain=2.0)
    assert ours.dtype == np.dtype(dtype)
    # the same draws and LAPACK's QR: equal to rounding
    np.testing.assert_allclose(ours.data, theirs.numpy(), atol=2e-6 if dtype == "float32" else 1e-14)
    flat = ours.data.reshape(shape[0], -1).astype(np.float64) / 2.0
    gram = flat @ flat.T if shape[0] <= flat.shape[1] else flat.T @ flat
    np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-5)


def test_eye_dirac_and_sparse_are_pytorchs():
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(nn.init.eye_(ad.ones(3, 5)).data, torch.nn.init.eye_(torch.ones(3, 5)).numpy())
    for shape, groups in [((6, 2, 3, 3), 2), ((4, 3, 5), 1), ((2, 4, 3, 3, 3), 1)]:
        np.testing.assert_array_equal(nn.init.dirac_(ad.ones(*shape), groups).data,
                                      torch.nn.init.dirac_(torch.ones(*shape), groups).numpy())
    ad.manual_seed(2)
    ours = nn.init.sparse_(ad.ones(6, 4), 0.5, std=0.1)
    torch.manual_seed(2)
    theirs = torch.nn.init.sparse_(torch.ones(6, 4), 0.5, std=0.1).numpy()
    np.testing.assert_array_equal(ours.data == 0, theirs == 0)      # the same rows zeroed in every column
    assert ((ours.data == 0).sum(axis=0) == 3).all()
    np.testing.assert_allclose(ours.data, theirs, rtol=1e-6)


def test_initialisers_refuse_the_wrong_ranks():
    with pytest.raises(ValueError, match=r"eye_: only tensors with 2 dimensions.*\(2, 3, 4\)"):
        nn.init.eye_(ad.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=r"dirac_: only tensors with 3, 4, or 5 dimensions"):
        nn.init.dirac_(ad.zeros(2, 3))
    with pytest.raises(ValueError, match=r"dirac_: dim 0 \(size 5\) must be divisible by groups \(2\)"):
        nn.init.dirac_(ad.zeros(5, 3, 3), groups=2)
    with pytest.raises(ValueError, match="orthogonal_: only tensors with 2 or more dimensions"):
        nn.init.orthogonal_(ad.zeros(3))
    with pytest.raises(ValueError, match="sparse_: only tensors with 2 dimensions"):
        nn.init.sparse_(ad.zeros(3), 0.5)


def test_dirac_initialised_convolution_keeps_its_input():
    conv = nn.Conv2d(3, 3, 3, padding=1, bias=False)
    nn.init.dirac_(conv.weight)
    x = ad.randn(2, 3, 5, 5)
    np.testing.assert_allclose(conv(x).data, x.data, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lstm_with_projections_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    options = dict(num_layers=2, bidirectional=True, batch_first=True, proj_size=2)
    ad.manual_seed(21)
    ours = nn.LSTM(3, 4, **options)
    torch.manual_seed(21)
    theirs = torch.nn.LSTM(3, 4, **options)
    assert repr(ours) == repr(theirs)
    assert [(k, tuple(v.shape)) for k, v in ours.named_parameters()] == \
        [(k, tuple(v.shape)) for k, v in theirs.named_parameters()]
    for (name, mine), (_, reference) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_array_equal(mine.data, reference.detach().numpy(), err_msg=name)
    ours.to(dtype)
    theirs.to(getattr(torch, dtype))
    rng = np.random.default_rng(22)
    arrays = [rng.normal(size=s).astype(dtype) for s in [(2, 5, 3), (4, 2, 2), (4, 2, 4)]]
    mine = [ad.tensor(a, requires_grad=True) for a in arrays]
    reference = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, (h, c) = ours(mine[0], (mine[1], mine[2]))
    expected, (expected_h, expected_c) = theirs(reference[0], (reference[1], reference[2]))
    tolerance = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)
    for a, b in [(out, expected), (h, expected_h), (c, expected_c)]:
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(a.data, b.detach().numpy(), **tolerance)
    (((out + 1) ** 2).mean() + (h * c[..., :2]).sum()).backward()
    (((expected + 1) ** 2).mean() + (expected_h * expected_c[..., :2]).sum()).backward()
    for a, b in zip(mine, reference):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), **tolerance)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), err_msg=name, **tolerance)


def test_lstm_with_projections_gradcheck():
    layer = nn.LSTM(2, 3, proj_size=2, bidirectional=True).double()
    rng = np.random.default_rng(23)
    x = ad.tensor(rng.normal(size=(3, 1, 2)), requires_grad=True)

    def run(x, *parameters):
        out, (h, c) = layer(x)
        return ad.cat([out.reshape(-1), h.reshape(-1), c.reshape(-1)])

    assert ad.gradcheck(run, (x, *layer.parameters()))


def test_recurrent_all_weights_and_flatten_parameters_as_torch():
    torch = pytest.importorskip("torch")
    ours = nn.LSTM(2, 3, num_layers=2, bidirectional=True, proj_size=1)
    theirs = torch.nn.LSTM(2, 3, num_layers=2, bidirectional=True, proj_size=1)
    ours.flatten_parameters()
    assert [[tuple(p.shape) for p in group] for group in ours.all_weights] == \
        [[tuple(p.shape) for p in group] for group in theirs.all_weights]
    assert [p for group in ours.all_weights for p in group] == list(ours.parameters())


def test_threshold_in_place_and_parameter_dict_union_as_torchs():
    torch = pytest.importorskip("torch")
    values = np.random.default_rng(3).normal(size=(3, 4))
    ours, theirs = ad.tensor(values), torch.tensor(values)
    assert F.threshold_(ours, 0.1, -2.0) is ours
    torch.nn.functional.threshold_(theirs, 0.1, -2.0)
    np.testing.assert_array_equal(ours.data, theirs.numpy())

    def union(lib, module):
        def p(n):
            return module.Parameter(lib.zeros(n))
        left, right = module.ParameterDict({"a": p(1), "b": p(2)}), module.ParameterDict({"b": p(3), "c": p(4)})
        merged = left | right
        left |= {"d": p(5)}
        return [(k, tuple(v.shape)) for k, v in merged.items()], list(left), type(merged).__name__
    assert union(ad, nn) == union(torch, torch.nn)
