"""Module.load_state_dict casts values to the model's dtypes as PyTorch does (strict is only about
keys), refuses casts that lose information by key, and Module.to takes PyTorch's forms: a float
dtype in any spelling, the "cpu" device, (device, dtype), a tensor; the ad.float32... constants."""
import numpy as np
import pytest

import autodiff as ad
import nn


def model():
    ad.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


def float64_state(source):
    return {k: (v.data.astype(np.float64) if v.data.dtype.kind == "f" else v.data.copy())
            for k, v in source.state_dict().items()}


# ---- the dtype constants --------------------------------------------------------------------------
def test_dtype_constants_are_numpy_dtypes_with_pytorchs_names():
    expected = {"float16": np.float16, "float32": np.float32, "float64": np.float64, "int32": np.int32,
                "int64": np.int64, "bool": np.bool_, "half": np.float16, "double": np.float64, "long": np.int64}
    for name, dtype in expected.items():
        constant = getattr(ad, name)
        assert isinstance(constant, np.dtype) and constant == np.dtype(dtype), name
    assert ad.zeros(2, dtype=ad.float64).dtype == np.float64
    assert ad.tensor([1, 2], dtype=ad.int32).dtype == np.int32
    assert ad.ones(2, dtype=ad.bool).dtype == np.bool_


def test_dtype_constants_match_torchs():
    torch = pytest.importorskip("torch")
    for name in ("float16", "float32", "float64", "int32", "int64", "bool", "half", "double", "long"):
        ours = getattr(ad, name)
        theirs = torch.zeros(1, dtype=getattr(torch, name)).numpy().dtype
        assert ours == theirs, name


# ---- load_state_dict: casts ------------------------------------------------------------------------
def test_float64_values_load_into_a_float32_model_under_strict():
    source, target = model(), model()
    for p in source.parameters():
        p.data += 1.0
    state = float64_state(source)
    result = target.load_state_dict(state)          # strict=True: the keys match, the dtypes are cast
    assert result.missing_keys == [] and result.unexpected_keys == []
    for key, value in target.state_dict().items():
        assert value.dtype == source.state_dict()[key].dtype         # the model keeps its dtypes
        np.testing.assert_array_equal(value.data, state[key].astype(value.dtype))


def test_float32_values_load_into_a_float64_model_and_ints_into_floats():
    target = model().double()
    state = {k: v.data for k, v in model().state_dict().items()}
    target.load_state_dict(state)
    assert all(p.dtype == np.float64 for p in target.parameters())
    np.testing.assert_array_equal(target[0].weight.data, state["0.weight"].astype(np.float64))
    layer = nn.Linear(2, 2)
    layer.load_state_dict({"weight": np.array([[1, 2], [3, 4]]), "bias": np.array([True, False])})
    assert layer.weight.dtype == np.float32 and layer.weight.data.tolist() == [[1, 2], [3, 4]]
    assert layer.bias.data.tolist() == [1.0, 0.0]


def test_strict_is_only_about_keys():
    target = model()
    state = float64_state(model())
    del state["2.bias"]
    state["extra"] = np.zeros(1)
    with pytest.raises(RuntimeError) as caught:
        target.load_state_dict(state)
    message = str(caught.value)
    assert 'Missing key(s) in state_dict: "2.bias"' in message and '"extra"' in message
    assert "dtype" not in message
    result = target.load_state_dict(state, strict=False)
    assert result.missing_keys == ["2.bias"] and result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(target[0].weight.data, state["0.weight"].astype(np.float32))


@pytest.mark.parametrize("strict", [True, False])
def test_unsafe_casts_are_errors_naming_the_key_and_change_nothing(strict):
    target = model()
    before = {k: v.data.copy() for k, v in target.state_dict().items()}
    state = float64_state(model())
    state["1.num_batches_tracked"] = np.array(3.5)              # a float into the int64 counter
    with pytest.raises(RuntimeError, match=r"dtype mismatch for 1.num_batches_tracked: the value is float64, "
                                           r"the model holds an integer buffer \(int64\)"):
        target.load_state_dict(state, strict=strict)
    state = float64_state(model())
    state["0.bias"] = state["0.bias"] + 1j                       # complex into a real parameter
    with pytest.raises(RuntimeError, match=r"dtype mismatch for 0.bias: the value is complex128.*imaginary.*"
                                           r"model.double\(\).*model.to\(ad.float64\)"):
        target.load_state_dict(state, strict=strict)
    state = float64_state(model())
    state["1.num_batches_tracked"] = np.array(True)               # bool into an int buffer is safe
    target_copy = model()
    target_copy.load_state_dict(state, strict=strict)
    assert target_copy[1].num_batches_tracked.data == 1 and target_copy[1].num_batches_tracked.dtype == np.int64
    for key, value in target.state_dict().items():                 # the failed loads changed nothing
        np.testing.assert_array_equal(value.data, before[key])


def test_integer_values_out_of_the_buffers_range_are_refused():
    layer = nn.Module()
    layer.register_buffer("count", ad.tensor(np.array(0, np.int32)))
    layer.load_state_dict({"count": np.array(7, np.int64)})      # fits: cast as PyTorch does
    assert layer.count.data == 7 and layer.count.dtype == np.int32
    with pytest.raises(RuntimeError, match=r"dtype mismatch for count: .*outside the range of the model's int32"):
        layer.load_state_dict({"count": np.array(2**40, np.int64)})
    assert layer.count.data == 7


def test_load_state_dict_casts_as_torch_does():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
    state64 = {k: (v.double() if v.is_floating_point() else v) for k, v in theirs.state_dict().items()}
    ours = model()
    ours.load_state_dict(state64)                     # torch float64 tensors into our float32 model
    theirs.load_state_dict(state64)                   # torch casts into its float32 model too
    for key, value in theirs.state_dict().items():
        ours_value = ours.state_dict()[key].data
        assert ours_value.dtype == value.numpy().dtype, key
        np.testing.assert_array_equal(ours_value, value.numpy())


# ---- Module.to -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("spelling", [np.float64, np.dtype("float64"), "float64", ad.float64, "double"])
def test_module_to_takes_float_dtypes_in_every_spelling(spelling):
    net = model()
    params = list(net.parameters())
    assert net.to(spelling) is net
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert all(a is b for a, b in zip(params, net.parameters()))
    assert net[1].num_batches_tracked.dtype == np.int64          # integer buffers keep their dtype


def test_module_to_takes_pytorchs_device_and_tensor_forms():
    net = model()
    assert net.to("cpu") is net and net[0].weight.dtype == np.float32
    assert net.cpu() is net
    net.to("cpu", ad.float64)
    assert net[0].weight.dtype == np.float64
    net.to(device="cpu", dtype=ad.float32)
    assert net[0].weight.dtype == np.float32
    net.to(ad.zeros(1, dtype=ad.float64))                      # to(tensor): the tensor's dtype
    assert net[0].weight.dtype == np.float64
    net.to(dtype="float16")
    assert net[0].weight.dtype == np.float16 and net.half() is net
    net.to("cpu:0", non_blocking=True)
    assert net[0].weight.dtype == np.float16


def test_module_to_accepts_torch_dtypes_and_devices():
    torch = pytest.importorskip("torch")
    net = model()
    net.to(torch.float64)
    assert net[0].weight.dtype == np.float64
    net.to(torch.device("cpu"), torch.float32)
    assert net[0].weight.dtype == np.float32


@pytest.mark.parametrize("dtype", [np.int64, "int64", ad.int32, ad.bool, np.complex128])
def test_module_to_refuses_non_float_dtypes_with_type_error(dtype):
    net = model()
    with pytest.raises(TypeError, match=r"only accepts floating point dtypes.*model.double\(\)"):
        net.to(dtype)
    assert net[0].weight.dtype == np.float32


def test_module_to_int_dtype_raises_type_error_as_torch_does():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError):
        torch.nn.Linear(2, 2).to(torch.int64)
    with pytest.raises(TypeError):
        nn.Linear(2, 2).to(torch.int64)


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "mps"])
def test_module_to_another_device_is_a_clear_error(device):
    net = model()
    with pytest.raises(RuntimeError, match=rf"device '{device}' is not available.*CPU.*'cpu'"):
        net.to(device)
    with pytest.raises(RuntimeError, match="not available"):
        net.to(device=device, dtype=ad.float64)
    assert net[0].weight.dtype == np.float32


def test_module_to_refuses_what_is_neither_device_nor_dtype():
    net = model()
    with pytest.raises(RuntimeError, match="'floot64' is neither a device"):
        net.to("floot64")
    with pytest.raises(TypeError, match="unexpected keyword argument 'dtyp'"):
        net.to(dtyp=ad.float64)
    with pytest.raises(TypeError, match="is not a dtype"):
        net.to(object())
