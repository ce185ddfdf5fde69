"""nn.Module, Parameter, containers and layers: registration, walks, modes, casts, name scopes,
state dicts, printing; each layer against a numpy formula, the float64 gradcheck and PyTorch."""
import copy
from collections import OrderedDict

import numpy as np
import pytest

import autodiff as ad
import nn
from nn import functional as F


def rng(seed=0):
    return np.random.default_rng(seed)


def leaf(array):
    return ad.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.act = nn.ReLU()
        self.register_buffer("scale", ad.tensor([2.0]))
        self.register_buffer("cache", ad.zeros(2), persistent=False)

    def forward(self, x):
        return self.act(self.fc1(x)) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.head = nn.Linear(3, 2)
        self.temperature = nn.Parameter([1.5])

    def forward(self, x):
        return self.head(self.encoder(x)) / self.temperature


# ---------------------------------------------------------------------------------------------
# Parameter and registration

def test_parameter_is_a_leaf_tensor_that_requires_grad_and_shares_data():
    array = np.ones(3, np.float32)
    p = nn.Parameter(array)
    assert isinstance(p, ad.Tensor) and p.requires_grad and p.is_leaf and p.data is array
    assert not nn.Parameter(array, requires_grad=False).requires_grad
    t = ad.tensor([1.0, 2.0])
    assert nn.Parameter(t).data is t.data
    assert repr(nn.Parameter([1.0])).startswith("Parameter containing:\ntensor([1.]")
    with pytest.raises(TypeError, match="floating"):
        nn.Parameter(np.array([1, 2]))
    # ops on a Parameter give plain tensors, and gradients reach it
    y = p * 2
    assert type(y) is ad.Tensor
    y.sum().backward()
    np.testing.assert_array_equal(p.grad.data, 2.0)
    clone = copy.deepcopy(p)
    assert isinstance(clone, nn.Parameter) and clone.data is not p.data and clone.requires_grad


def test_registration_by_attribute_and_dotted_names():
    net = Net()
    names = [name for name, _ in net.named_parameters()]
    assert names == ["temperature", "encoder.fc1.weight", "encoder.fc1.bias", "head.weight", "head.bias"]
    assert [name for name, _ in net.named_buffers()] == ["encoder.scale", "encoder.cache"]
    assert [name for name, _ in net.named_children()] == ["encoder", "head"]
    assert [name for name, _ in net.named_modules()] == ["", "encoder", "encoder.fc1", "encoder.act", "head"]
    assert [type(m).__name__ for m in net.modules()] == ["Net", "Encoder", "Linear", "ReLU", "Linear"]
    assert list(net.children()) == [net.encoder, net.head]
    assert len(list(net.parameters())) == 5 and len(list(net.buffers())) == 2
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["temperature"]
    assert [n for n, _ in net.encoder.named_parameters(prefix="enc")] == ["enc.fc1.weight", "enc.fc1.bias"]
    assert net.get_submodule("encoder.fc1") is net.encoder.fc1
    assert "fc1" in dir(net.encoder)


def test_shared_parameters_and_modules_are_listed_once():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(model.modules())) == 3
    tied = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    tied[1].weight = tied[0].weight
    assert [n for n, _ in tied.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    # PyTorch's state_dict keeps every key, shared or not
    assert list(tied.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_reassigning_and_deleting_attributes():
    net = Net()
    net.head = nn.Identity()                  # a module replaces a module
    assert isinstance(net.head, nn.Identity)
    net.temperature = None                    # a parameter slot can be emptied
    assert net.temperature is None and "temperature" not in dict(net.named_parameters())
    with pytest.raises(TypeError, match=r"wrap it as nn.Parameter"):
        net.encoder.fc1.weight = ad.ones(3, 4)
    net.encoder.scale = ad.tensor([3.0])      # buffers take tensors
    assert net.encoder.scale.item() == 3.0
    net.encoder.fc1.bias = nn.Parameter(np.zeros(3, np.float32))
    assert net.encoder.fc1.bias.data.sum() == 0
    del net.head
    assert "head" not in dict(net.named_children())
    net.plain = 5                             # ordinary attributes stay ordinary
    assert net.plain == 5
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        net.missing
    with pytest.raises(KeyError, match="contain no '.'"):
        net.add_module("a.b", nn.ReLU())
    with pytest.raises(TypeError, match="register_buffer"):
        net.register_buffer("bad", [1.0])


def test_forgetting_super_init_gives_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"call super\(\).__init__\(\) first"):
        Broken()


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="no forward"):
        nn.Module()(1)


# ---------------------------------------------------------------------------------------------
# modes, gradients, casts, apply

def test_train_and_eval_reach_every_submodule():
    net = Net()
    assert net.training and net.encoder.fc1.training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.encoder.train(False)
    assert net.training and not net.encoder.act.training


def test_zero_grad_to_none_or_in_place():
    net = Net()
    net(ad.ones(2, 4)).sum().backward()
    grads = {n: p.grad for n, p in net.named_parameters()}
    assert all(g is not None for g in grads.values())
    net.zero_grad(set_to_none=False)
    for name, p in net.named_parameters():
        assert p.grad is grads[name] and not p.grad.data.any()
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_to_double_float_keep_the_parameter_objects():
    net = Net()
    bn = nn.BatchNorm1d(3)
    net.norm = bn
    params = list(net.parameters())
    net(ad.ones(2, 4)).sum().backward()
    assert net.double() is net
    assert all(a is b for a, b in zip(net.parameters(), params))
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert all(p.grad.dtype == np.float64 for p in net.parameters() if p.grad is not None)
    assert net.head.weight.grad is not None
    assert bn.running_mean.dtype == np.float64
    assert bn.num_batches_tracked.dtype == np.int64          # integer buffers keep their dtype
    assert net(ad.ones(2, 4, dtype="float64")).dtype == np.float64
    net.float()
    assert all(p.dtype == np.float32 for p in params) and all(a is b for a, b in zip(net.parameters(), params))
    net.to("float64")
    assert params[0].dtype == np.float64
    with pytest.raises(TypeError, match="floating"):
        net.to(np.int32)


def test_requires_grad_freezes_and_apply_visits_children_first():
    net = Net()
    net.encoder.requires_grad_(False)
    assert [n for n, p in net.named_parameters() if p.requires_grad] == ["temperature", "head.weight", "head.bias"]
    visited = []
    assert net.apply(lambda m: visited.append(type(m).__name__)) is net
    assert visited == ["Linear", "ReLU", "Encoder", "Linear", "Net"]      # PyTorch's order

    def init_weights(module):
        if isinstance(module, nn.Linear):
            nn.init.zeros_(module.weight)
    net.apply(init_weights)
    assert not net.head.weight.data.any()


def test_calls_run_inside_name_scopes_given_by_attribute_paths():
    net = Net()
    out = net(ad.ones(1, 4))                  # root scope is the class name; scopes nest
    assert out.grad_fn.scope == "Net"         # the division by temperature
    head = out.grad_fn.input_nodes[0]
    assert head.scope == "Net.head"
    mul = head.input_nodes[0]              # encoder's output * scale
    assert mul.scope == "Net.encoder"
    relu = mul.input_nodes[0]
    assert relu.scope == "Net.encoder.act"
    assert relu.input_nodes[0].scope == "Net.encoder.fc1"
    model = nn.Sequential(nn.Linear(2, 2), nn.Tanh())
    y = model(ad.ones(1, 2))
    assert y.grad_fn.scope == "Sequential.1" and y.grad_fn.input_nodes[0].scope == "Sequential.0"
    assert nn.Linear(2, 2)(ad.ones(1, 2)).grad_fn.scope == "Linear"
    assert ad.ones(1, requires_grad=True).exp().grad_fn.scope is None      # closed afterwards


# ---------------------------------------------------------------------------------------------
# state dicts

def test_state_dict_keys_share_data_and_are_detached():
    net = Net()
    sd = net.state_dict()
    assert list(sd) == ["temperature", "encoder.scale", "encoder.fc1.weight", "encoder.fc1.bias",
                        "head.weight", "head.bias"]     # non-persistent buffers are left out
    assert sd["head.weight"].data is net.head.weight.data
    assert not sd["head.weight"].requires_grad and type(sd["head.weight"]) is ad.Tensor
    assert net.state_dict(keep_vars=True)["head.weight"] is net.head.weight
    bn = nn.BatchNorm1d(3)
    sd = bn.state_dict()
    assert list(sd) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert sd["num_batches_tracked"].dtype == np.int64 and sd["num_batches_tracked"].shape == ()
    no_stats = nn.BatchNorm1d(3, track_running_stats=False, affine=False)
    assert list(no_stats.state_dict()) == []


def test_load_state_dict_copies_in_place_from_tensors_and_arrays():
    source, target = Net(), Net()
    arrays = {name: p.data for name, p in target.named_parameters()}
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for name, p in target.named_parameters():
        assert p.data is arrays[name]                       # same arrays: optimizers stay valid
        np.testing.assert_array_equal(p.data, dict(source.named_parameters())[name].data)
    plain = {k: v.data.copy() + 1 for k, v in source.state_dict().items()}
    target.load_state_dict(plain)
    np.testing.assert_array_equal(target.head.bias.data, source.head.bias.data + 1)
    # a state dict of a model that requires grad (keep_vars) loads too
    target.load_state_dict(source.state_dict(keep_vars=True))
    np.testing.assert_array_equal(target.head.bias.data, source.head.bias.data)


def test_strict_loading_reports_every_problem_by_name_and_changes_nothing():
    net = Net()
    before = {k: v.data.copy() for k, v in net.state_dict().items()}
    bad = {k: v.data.copy() + 10 for k, v in net.state_dict().items()}
    del bad["head.bias"]
    bad["extra.weight"] = np.ones(2)
    bad["head.weight"] = np.ones((3, 3), np.float32)
    bad["encoder.fc1.bias"] = np.ones(3, np.float64)     # castable: not an error, but not loaded either
    with pytest.raises(RuntimeError) as error:
        net.load_state_dict(bad)
    message = str(error.value)
    for expected in ['Missing key(s) in state_dict: "head.bias"', 'Unexpected key(s) in state_dict: "extra.weight"',
                     "size mismatch for head.weight: copying a value of shape (3, 3), the shape in the current "
                     "model is (2, 3)", "nothing was loaded"]:
        assert expected in message
    for k, v in net.state_dict().items():               # the good entries were not copied either
        np.testing.assert_array_equal(v.data, before[k])


def test_non_strict_loading_returns_the_keys_and_casts():
    net = Net()
    partial = {"head.bias": np.array([5.0, 6.0]), "unused": np.zeros(1)}      # float64 into float32
    result = net.load_state_dict(partial, strict=False)
    assert "head.weight" in result.missing_keys and result.unexpected_keys == ["unused"]
    np.testing.assert_array_equal(net.head.bias.data, [5.0, 6.0])
    assert net.head.bias.dtype == np.float32
    with pytest.raises(RuntimeError, match="size mismatch for head.bias"):      # shapes always matter
        net.load_state_dict({"head.bias": np.zeros(3)}, strict=False)
    with pytest.raises(RuntimeError, match="num_batches_tracked: the value is float32, the model holds an "
                                           "integer buffer"):
        nn.BatchNorm1d(2).load_state_dict({"num_batches_tracked": np.array(1.0, np.float32)}, strict=False)
    with pytest.raises(TypeError, match="expected a dict"):
        net.load_state_dict([1, 2])


def test_load_state_dict_from_and_into_torch():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
                                 torch.nn.Linear(4, 2))
    ours.load_state_dict(theirs.state_dict())            # torch tensors, via np.asarray
    x = rng(1).normal(size=(5, 3)).astype(np.float32)
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(ours(ad.tensor(x)).data, theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    ours[1].running_mean.data[:] = 0.5
    theirs.load_state_dict({k: torch.from_numpy(v.data) for k, v in ours.state_dict().items()}, strict=True)
    np.testing.assert_allclose(theirs[1].running_mean.numpy(), 0.5)
    params = dict(theirs.named_parameters())
    ours.load_state_dict(params, strict=False)            # torch tensors that require grad
    np.testing.assert_array_equal(ours[0].weight.data, params["0.weight"].detach().numpy())


# ---------------------------------------------------------------------------------------------
# printing

def test_repr_is_pytorchs_tree():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Dropout(0.1), nn.Linear(3, 1, bias=False), nn.GELU(),
                          nn.LeakyReLU(), nn.Softmax(dim=-1), nn.LogSoftmax(dim=1), nn.Flatten(), nn.Identity(),
                          nn.LayerNorm(4), nn.BatchNorm1d(3), nn.Tanh(), nn.Sigmoid(), nn.CrossEntropyLoss(),
                          nn.GELU(approximate="tanh"), nn.LayerNorm((2, 3), elementwise_affine=False),
                          nn.Sequential(nn.Linear(1, 1)))
    expected = """Sequential(
  (0): Linear(in_features=2, out_features=3, bias=True)
  (1): ReLU()
  (2): Dropout(p=0.1, inplace=False)
  (3): Linear(in_features=3, out_features=1, bias=False)
  (4): GELU(approximate='none')
  (5): LeakyReLU(negative_slope=0.01)
  (6): Softmax(dim=-1)
  (7): LogSoftmax(dim=1)
  (8): Flatten(start_dim=1, end_dim=-1)
  (9): Identity()
  (10): LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)
  (11): BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
  (12): Tanh()
  (13): Sigmoid()
  (14): CrossEntropyLoss()
  (15): GELU(approximate='tanh')
  (16): LayerNorm((2, 3), eps=1e-05, elementwise_affine=False, bias=False)
  (17): Sequential(
    (0): Linear(in_features=1, out_features=1, bias=True)
  )
)"""
    assert repr(model) == expected
    assert repr(nn.MLP([2, 3, 1])).startswith("MLP(\n  (0): Linear(in_features=2, out_features=3, bias=True)")
    assert repr(nn.ModuleDict({"a": nn.ReLU()})) == "ModuleDict(\n  (a): ReLU()\n)"


def test_repr_matches_torch():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Dropout(0.1), nn.Linear(3, 1, bias=False), nn.GELU(),
                          nn.LeakyReLU(), nn.Softmax(dim=-1), nn.LogSoftmax(dim=1), nn.Flatten(), nn.Identity(),
                          nn.LayerNorm(4), nn.BatchNorm1d(3), nn.Tanh(), nn.Sigmoid(), nn.CrossEntropyLoss(),
                          nn.GELU(approximate="tanh"), nn.LayerNorm((2, 3), elementwise_affine=False),
                          nn.Sequential(nn.Linear(1, 1)))
    torch = pytest.importorskip("torch")
    tn = torch.nn
    theirs = tn.Sequential(tn.Linear(2, 3), tn.ReLU(), tn.Dropout(0.1), tn.Linear(3, 1, bias=False), tn.GELU(),
                           tn.LeakyReLU(), tn.Softmax(dim=-1), tn.LogSoftmax(dim=1), tn.Flatten(), tn.Identity(),
                           tn.LayerNorm(4), tn.BatchNorm1d(3), tn.Tanh(), tn.Sigmoid(), tn.CrossEntropyLoss(),
                           tn.GELU(approximate="tanh"), tn.LayerNorm((2, 3), elementwise_affine=False),
                           tn.Sequential(tn.Linear(1, 1)))
    assert repr(model) == repr(theirs)
    assert repr(nn.ModuleDict({"a": nn.ReLU()})) == repr(tn.ModuleDict({"a": tn.ReLU()}))


# ---------------------------------------------------------------------------------------------
# containers

def test_sequential_indexing_slicing_and_editing():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    model = nn.Sequential(*layers)
    assert len(model) == 3 and list(model) == layers
    assert model[0] is layers[0] and model[-1] is layers[2]
    head = model[1:]
    assert isinstance(head, nn.Sequential) and list(head._modules) == ["1", "2"]
    assert list(head.state_dict()) == ["2.weight", "2.bias"]          # names kept, as PyTorch
    x = ad.randn(4, 2)
    np.testing.assert_array_equal(model(x).data, layers[2](layers[1](layers[0](x))).data)
    with pytest.raises(IndexError, match="out of range"):
        model[3]
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.ReLU(), F.relu)
    model[1] = nn.Tanh()
    assert isinstance(model[1], nn.Tanh)
    model.append(nn.Sigmoid())
    assert len(model) == 4 and list(model._modules) == ["0", "1", "2", "3"]
    del model[3]
    assert len(model) == 3
    named = nn.Sequential(OrderedDict(first=nn.Linear(2, 2), act=nn.ReLU()))
    assert list(named.state_dict()) == ["first.weight", "first.bias"]
    assert named[0] is named.first


def test_module_list_and_dict_register_their_modules():
    blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(blocks) == 3 and len(list(blocks.parameters())) == 6
    blocks.append(nn.ReLU())
    blocks.insert(0, nn.Tanh())
    assert [type(m).__name__ for m in blocks] == ["Tanh", "Linear", "Linear", "Linear", "ReLU"]
    del blocks[0]
    assert list(blocks._modules) == ["0", "1", "2", "3"] and isinstance(blocks[0], nn.Linear)
    assert isinstance(blocks[1:3], nn.ModuleList) and len(blocks[1:3]) == 2
    blocks[3] = nn.Sigmoid()
    assert isinstance(blocks[-1], nn.Sigmoid)
    blocks += [nn.Identity()]
    assert len(blocks) == 5

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = blocks
            self.heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 3)})

    holder = Holder()
    assert "blocks.0.weight" in holder.state_dict() and "heads.b.bias" in holder.state_dict()
    heads = holder.heads
    assert list(heads) == ["a", "b"] and "a" in heads and len(heads) == 2
    heads["c"] = nn.ReLU()
    assert list(heads.keys()) == ["a", "b", "c"]
    assert isinstance(heads.pop("c"), nn.ReLU) and "c" not in heads
    assert [k for k, _ in heads.items()] == ["a", "b"] and len(list(heads.values())) == 2
    heads.update([("d", nn.Tanh())])
    del heads["d"]
    heads.clear()
    assert len(heads) == 0


# ---------------------------------------------------------------------------------------------
# layers

def test_linear_init_is_pytorchs_uniform_from_the_seeded_generator():
    ad.manual_seed(0)
    layer = nn.Linear(50, 40)
    bound = 1 / np.sqrt(50)
    assert layer.weight.shape == (40, 50) and layer.bias.shape == (40,)
    assert layer.weight.dtype == np.float32
    for p in (layer.weight, layer.bias):
        assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.9 * bound
    assert abs(layer.weight.data.std() - bound / np.sqrt(3)) < 0.01
    ad.manual_seed(0)
    again = nn.Linear(50, 40)
    np.testing.assert_array_equal(again.weight.data, layer.weight.data)
    assert nn.Linear(2, 3, dtype="float64").weight.dtype == np.float64
    assert nn.Linear(2, 3, bias=False).bias is None
    assert list(nn.Linear(2, 3, bias=False).state_dict()) == ["weight"]
    with pytest.raises(TypeError, match="floating"):
        nn.Linear(2, 3, dtype="int32")


def test_linear_layer_against_formula_and_gradcheck():
    layer = nn.Linear(4, 3, dtype="float64")
    x = rng(2).normal(size=(5, 4))
    np.testing.assert_allclose(layer(ad.tensor(x)).data, x @ layer.weight.data.T + layer.bias.data, rtol=1e-14)
    params = [layer.weight, layer.bias]
    assert ad.gradcheck(lambda x, w, b: layer(x), (leaf(x), *params))


def test_linear_weight_and_its_gradient_are_column_major_and_give_row_major_results():
    """nn.Linear stores its weight column-major (a faster product); values, gradients, the
    optimizer's update and the state dict are those of a row-major copy."""
    import optim
    from nn import functional as F
    layer = nn.Linear(6, 4)
    assert layer.weight.data.flags.f_contiguous and not layer.weight.data.flags.c_contiguous
    row = [ad.tensor(np.ascontiguousarray(p.data), requires_grad=True) for p in (layer.weight, layer.bias)]
    for shape in [(5, 6), (2, 3, 6), (6,)]:
        x = ad.tensor(rng(3).normal(size=shape).astype(np.float32))
        out, ref = layer(x), F.linear(x, *row)
        np.testing.assert_allclose(out.data, ref.data, rtol=1e-6, atol=1e-6)
        ((out + 1.0) ** 2).sum().backward()
        ((ref + 1.0) ** 2).sum().backward()
        assert layer.weight.grad.data.flags.f_contiguous
        for p, q in zip((layer.weight, layer.bias), row):
            np.testing.assert_allclose(p.grad.data, q.grad.data, rtol=1e-5, atol=1e-6)
    optim.SGD(layer.parameters(), lr=0.1, momentum=0.9).step()
    optim.SGD(row, lr=0.1, momentum=0.9).step()
    assert layer.weight.data.flags.f_contiguous
    np.testing.assert_allclose(layer.weight.data, row[0].data, rtol=1e-5, atol=1e-6)
    state = layer.state_dict()
    np.testing.assert_array_equal(state["weight"].data, layer.weight.data)
    again = nn.Linear(6, 4)
    again.load_state_dict(state)
    np.testing.assert_array_equal(again.weight.data, layer.weight.data)
    assert again.weight.data.flags.f_contiguous


def test_linear_layer_matches_torch():
    compare_module_with_torch(nn.Linear(4, 3), lambda torch: torch.nn.Linear(4, 3), rng(2).normal(size=(5, 4)))


def compare_module_with_torch(ours, make_theirs, x, train=True):
    """Same weights (ours copied into theirs, strict), float64: outputs and every gradient."""
    torch = pytest.importorskip("torch")
    ours.double()
    theirs = make_theirs(torch).double()
    theirs.load_state_dict({k: torch.from_numpy(v.data.copy()) for k, v in ours.state_dict().items()}, strict=True)
    ours.train(train), theirs.train(train)
    mine = leaf(x)
    ref = torch.tensor(x, requires_grad=True)
    out, expected = ours(mine), theirs(ref)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    ((out + 1.0) ** 2).mean().backward()
    ((expected + 1.0) ** 2).mean().backward()
    np.testing.assert_allclose(mine.grad.data, ref.grad.numpy(), rtol=1e-10, atol=1e-12)
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(dict(ours.named_parameters())[name].grad.data, p.grad.numpy(),
                                   rtol=1e-10, atol=1e-12)
    for name, b in theirs.named_buffers():
        np.testing.assert_allclose(dict(ours.named_buffers())[name].data, b.numpy(), rtol=1e-12, atol=1e-15)
    return out


def test_mlp_is_a_positional_sequential():
    model = nn.MLP([2, 3, 1])
    assert isinstance(model, nn.Sequential)
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear"]
    deep = nn.MLP([4, 8, 8, 2], activation="tanh", output_activation="sigmoid", dropout=0.2)
    assert [type(m).__name__ for m in deep] == ["Linear", "Tanh", "Dropout", "Linear", "Tanh", "Dropout",
                                                "Linear", "Sigmoid"]
    assert list(deep.state_dict()) == ["0.weight", "0.bias", "3.weight", "3.bias", "6.weight", "6.bias"]
    shared = nn.LeakyReLU(0.2)
    custom = nn.MLP([2, 2, 2, 2], activation=shared)
    assert custom[1] is not custom[3] and custom[1].negative_slope == 0.2
    assert isinstance(nn.MLP([2, 2, 2], activation=nn.GELU)[1], nn.GELU)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        nn.MLP([2, 2, 2], activation="swish")
    with pytest.raises(ValueError, match="at least the input and output"):
        nn.MLP([2])


def test_mlp_matches_torch_sequential():
    torch = pytest.importorskip("torch")
    tn = torch.nn
    compare_module_with_torch(nn.MLP([3, 5, 4, 2], activation="tanh"),
                              lambda t: tn.Sequential(tn.Linear(3, 5), tn.Tanh(), tn.Linear(5, 4), tn.Tanh(),
                                                      tn.Linear(4, 2)), rng(3).normal(size=(6, 3)))


def test_flatten_and_identity():
    x = ad.tensor(rng(4).normal(size=(2, 3, 4, 5)))
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)
    assert nn.Identity(3, unused=True)(x) is x
    assert ad.gradcheck(lambda t: nn.Flatten()(t), (leaf(rng(5).normal(size=(2, 2, 2))),))


def np_layer_norm(x, axes, weight, bias, eps):
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


@pytest.mark.parametrize("shape, normalized", [((4, 5), 5), ((2, 3, 4), (3, 4))])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm(shape, normalized, affine):
    r = rng(6)
    layer = nn.LayerNorm(normalized, eps=1e-5, elementwise_affine=affine, dtype="float64")
    if affine:
        layer.weight.data[...] = r.normal(size=layer.weight.shape)
        layer.bias.data[...] = r.normal(size=layer.bias.shape)
    x = r.normal(2, 3, shape)
    k = 1 if isinstance(normalized, int) else len(normalized)
    axes = tuple(range(len(shape) - k, len(shape)))
    expected = np_layer_norm(x, axes, layer.weight.data if affine else 1.0, layer.bias.data if affine else 0.0,
                             1e-5)
    np.testing.assert_allclose(layer(ad.tensor(x)).data, expected, rtol=1e-12, atol=1e-12)
    params = list(layer.parameters())
    assert ad.gradcheck(lambda x, *p: layer(x), (leaf(x), *params))
    with pytest.raises(ValueError, match="does not end with normalized_shape"):
        layer(ad.ones(2, 7))


@pytest.mark.parametrize("shape, normalized", [((4, 5), 5), ((2, 3, 4), (3, 4))])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_torch(shape, normalized, affine):
    r = rng(6)
    layer = nn.LayerNorm(normalized, elementwise_affine=affine)
    if affine:
        layer.weight.data[...] = r.normal(size=layer.weight.shape)
        layer.bias.data[...] = r.normal(size=layer.bias.shape)
    x = r.normal(2, 3, shape)
    compare_module_with_torch(layer, lambda torch: torch.nn.LayerNorm(normalized, elementwise_affine=affine), x)


def np_batch_norm_train(x, weight, bias, eps):
    axes = (0,) if x.ndim == 2 else (0, 2)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight.reshape(shape) + bias.reshape(shape)


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5)])
def test_batch_norm_training_forward_running_stats_and_eval(shape):
    r = rng(7)
    bn = nn.BatchNorm1d(3, momentum=0.1, dtype="float64")
    bn.weight.data[...] = r.normal(size=3)
    bn.bias.data[...] = r.normal(size=3)
    axes = (0,) if len(shape) == 2 else (0, 2)
    count = shape[0] * (shape[2] if len(shape) == 3 else 1)
    running_mean, running_var = np.zeros(3), np.ones(3)
    batches = [r.normal(1.0, 2.0, shape) for _ in range(3)]
    for step, x in enumerate(batches, 1):
        out = bn(ad.tensor(x))
        np.testing.assert_allclose(out.data, np_batch_norm_train(x, bn.weight.data, bn.bias.data, 1e-5),
                                   rtol=1e-12, atol=1e-12)
        running_mean = 0.9 * running_mean + 0.1 * x.mean(axis=axes)
        running_var = 0.9 * running_var + 0.1 * x.var(axis=axes) * count / (count - 1)     # unbiased
        np.testing.assert_allclose(bn.running_mean.data, running_mean, rtol=1e-13)
        np.testing.assert_allclose(bn.running_var.data, running_var, rtol=1e-13)
        assert bn.num_batches_tracked.item() == step
    bn.eval()
    x = r.normal(size=shape)
    stat_shape = (1, 3) + (1,) * (len(shape) - 2)
    expected = (x - running_mean.reshape(stat_shape)) / np.sqrt(running_var.reshape(stat_shape) + 1e-5) \
        * bn.weight.data.reshape(stat_shape) + bn.bias.data.reshape(stat_shape)
    np.testing.assert_allclose(bn(ad.tensor(x)).data, expected, rtol=1e-12, atol=1e-12)
    assert bn.num_batches_tracked.item() == 3                      # eval does not update
    params = list(bn.parameters())
    assert ad.gradcheck(lambda x, *p: bn(x), (leaf(x), *params))            # eval
    bn.train()
    assert ad.gradcheck(lambda x, *p: bn(x), (leaf(x), *params))            # train: through the batch stats


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5)])
@pytest.mark.parametrize("options", [dict(), dict(momentum=None), dict(momentum=0.3, affine=False),
                                     dict(track_running_stats=False)], ids=["default", "cumulative", "no-affine",
                                                                             "no-stats"])
def test_batch_norm_against_torch_through_train_and_eval(shape, options):
    torch = pytest.importorskip("torch")
    r = rng(8)
    bn = nn.BatchNorm1d(3, **options)
    if bn.affine:
        bn.weight.data[...] = r.normal(size=3)
        bn.bias.data[...] = r.normal(size=3)
    theirs = torch.nn.BatchNorm1d(3, **options)
    for step in range(3):
        compare_module_with_torch(bn, lambda t: theirs, r.normal(0.5, 2.0, shape), train=True)
        bn.zero_grad(), theirs.zero_grad()
    compare_module_with_torch(bn, lambda t: theirs, r.normal(size=shape), train=False)


def test_batch_norm_errors_and_reset():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 3\) or \(N, 3, L\), got \(2, 4\)"):
        bn(ad.ones(2, 4))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(ad.ones(1, 3))
    bn.eval()
    assert bn(ad.ones(1, 3)).shape == (1, 3)            # a single sample is fine in eval
    bn.train()
    bn(ad.randn(4, 3))
    running_mean = bn.running_mean
    bn.reset_running_stats()
    assert bn.running_mean is running_mean and not running_mean.data.any()
    assert bn.num_batches_tracked.item() == 0


def test_layers_gradcheck_in_float64():
    r = rng(9)
    x = leaf(r.normal(size=(4, 3)))
    modules = [nn.ReLU(), nn.LeakyReLU(0.1), nn.Tanh(), nn.Sigmoid(), nn.GELU(), nn.GELU("tanh"), nn.Softmax(dim=1),
               nn.LogSoftmax(dim=0), nn.Identity(), nn.MLP([3, 4, 2], dtype="float64")]
    for module in modules:
        params = list(module.parameters())
        assert ad.gradcheck(lambda x, *p: module(x), (x, *params)), type(module).__name__
    dropout = nn.Dropout(0.5)
    ad.manual_seed(1)

    def with_fixed_mask(t):
        ad.manual_seed(1)
        return dropout(t)
    assert ad.gradcheck(with_fixed_mask, (x,))


def test_float32_stays_float32_through_every_layer_and_loss():
    x = ad.tensor(rng(10).normal(size=(4, 3)).astype(np.float32), requires_grad=True)
    layers = [nn.Linear(3, 3), nn.ReLU(), nn.LeakyReLU(), nn.Tanh(), nn.Sigmoid(), nn.GELU(), nn.GELU("tanh"),
              nn.Softmax(), nn.LogSoftmax(), nn.Flatten(), nn.Identity(), nn.Dropout(0.3), nn.LayerNorm(3),
              nn.BatchNorm1d(3), nn.MLP([3, 4, 3])]
    for layer in layers:
        for mode in (True, False):
            layer.train(mode)
            out = layer(x)
            assert out.dtype == np.float32, type(layer).__name__
            out.sum().backward()
            assert x.grad.dtype == np.float32
            x.grad = None
    probs = ad.sigmoid(x)
    targets = (rng(11).random((4, 3)) > 0.5).astype(np.float64)     # float64 arrays take the input's dtype
    labels = np.array([0, 1, 2, 1])
    losses = [F.mse_loss(x, targets), F.l1_loss(x, targets), F.huber_loss(x, targets), F.smooth_l1_loss(x, targets),
              F.cross_entropy(x, labels), F.cross_entropy(x, labels, weight=np.ones(3), label_smoothing=0.1),
              F.cross_entropy(x, targets), F.nll_loss(x, labels, weight=np.ones(3)),
              F.binary_cross_entropy(probs, targets), F.binary_cross_entropy_with_logits(x, targets,
                                                                                           pos_weight=np.ones(3))]
    for loss in losses:
        assert loss.dtype == np.float32, loss.grad_fn


def test_module_list_repr_groups_repeated_entries_as_pytorch():
    blocks = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU(),
                            nn.Sequential(nn.Linear(2, 1)), nn.Sequential(nn.Linear(2, 1))])
    expected = """ModuleList(
  (0-2): 3 x Linear(in_features=2, out_features=2, bias=True)
  (3): ReLU()
  (4-5): 2 x Sequential(
    (0): Linear(in_features=2, out_features=1, bias=True)
  )
)"""
    assert repr(blocks) == expected
    assert repr(nn.ModuleList()) == "ModuleList()"


def test_module_list_repr_matches_torch():
    blocks = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU(),
                            nn.Sequential(nn.Linear(2, 1)), nn.Sequential(nn.Linear(2, 1))])
    torch = pytest.importorskip("torch")
    tn = torch.nn
    theirs = tn.ModuleList([tn.Linear(2, 2), tn.Linear(2, 2), tn.Linear(2, 2), tn.ReLU(),
                            tn.Sequential(tn.Linear(2, 1)), tn.Sequential(tn.Linear(2, 1))])
    assert repr(blocks) == repr(theirs)
    assert repr(nn.ModuleList()) == repr(tn.ModuleList())
