"""nn.init: PyTorch's gains, fans and bounds; in place, without a graph, from the seeded generator."""
import math

import numpy as np
import pytest

import autodiff as ad
import nn
from nn import init


def test_calculate_gain_table():
    expected = {"linear": 1, "conv2d": 1, "sigmoid": 1, "tanh": 5 / 3, "relu": math.sqrt(2), "selu": 0.75,
                "leaky_relu": math.sqrt(2 / (1 + 0.01 ** 2))}
    for name, gain in expected.items():
        assert init.calculate_gain(name) == pytest.approx(gain, rel=1e-15)
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04), rel=1e-15)
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3), rel=1e-15)
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", "big")


def test_calculate_gain_matches_torch():
    torch = pytest.importorskip("torch")
    for name in ["linear", "sigmoid", "tanh", "relu", "selu", "leaky_relu"]:
        assert init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name), rel=1e-15)
    assert init.calculate_gain("leaky_relu", 0.3) == pytest.approx(torch.nn.init.calculate_gain("leaky_relu", 0.3))


@pytest.mark.parametrize("shape", [(3, 5), (4, 2, 3), (6, 3, 2, 2)])
def test_fan_in_and_fan_out(shape):
    receptive = int(np.prod(shape[2:]))
    assert init._calculate_fan_in_and_fan_out(ad.zeros(*shape)) == (shape[1] * receptive, shape[0] * receptive)


@pytest.mark.parametrize("shape", [(3, 5), (4, 2, 3), (6, 3, 2, 2)])
def test_fan_in_and_fan_out_match_torch(shape):
    torch = pytest.importorskip("torch")
    assert init._calculate_fan_in_and_fan_out(ad.zeros(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))


def test_fans_need_two_dimensions():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(ad.zeros(5))


def sample(fill, shape=(400, 300), **kwargs):
    ad.manual_seed(0)
    p = nn.Parameter(np.zeros(shape, np.float64))
    array = p.data
    assert fill(p, **kwargs) is p
    assert p.data is array and p.grad_fn is None and p.requires_grad       # in place, off the graph
    return p.data


def test_uniform_and_normal():
    data = sample(init.uniform_, a=-2.0, b=3.0)
    assert data.min() >= -2 and data.max() < 3 and abs(data.mean() - 0.5) < 0.02
    data = sample(init.normal_, mean=1.0, std=2.0)
    assert abs(data.mean() - 1.0) < 0.02 and abs(data.std() - 2.0) < 0.02


def test_constants():
    p = nn.Parameter(np.ones((2, 3), np.float32))
    assert not init.zeros_(p).data.any()
    assert (init.ones_(p).data == 1).all()
    assert (init.constant_(p, 0.25).data == 0.25).all()
    assert p.dtype == np.float32


def test_xavier():
    fan_in, fan_out = 300, 400
    bound = math.sqrt(6 / (fan_in + fan_out))
    data = sample(init.xavier_uniform_)
    assert data.max() <= bound and data.max() > 0.99 * bound and data.min() >= -bound
    data = sample(init.xavier_uniform_, gain=2.0)
    assert data.max() > 1.98 * bound
    data = sample(init.xavier_normal_, gain=0.5)
    assert abs(data.std() - 0.5 * math.sqrt(2 / (fan_in + fan_out))) < 5e-4


@pytest.mark.parametrize("mode, fan", [("fan_in", 300), ("fan_out", 400)])
def test_kaiming(mode, fan):
    data = sample(init.kaiming_uniform_, mode=mode, nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / fan)
    assert data.max() <= bound and data.max() > 0.99 * bound
    data = sample(init.kaiming_normal_, mode=mode, nonlinearity="relu")
    assert abs(data.std() - math.sqrt(2 / fan)) < 5e-4
    data = sample(init.kaiming_uniform_, a=math.sqrt(5), mode=mode)        # Linear's default: 1 / sqrt(fan)
    assert data.max() <= 1 / math.sqrt(fan) and data.max() > 0.99 / math.sqrt(fan)
    with pytest.raises(ValueError, match="mode 'fan_avg'"):
        init.kaiming_normal_(ad.zeros(2, 2), mode="fan_avg")


def test_seeded_and_dtype_preserving():
    ad.manual_seed(5)
    a = init.xavier_normal_(nn.Parameter(np.zeros((3, 4), np.float32)))
    ad.manual_seed(5)
    b = init.xavier_normal_(nn.Parameter(np.zeros((3, 4), np.float32)))
    np.testing.assert_array_equal(a.data, b.data)
    assert a.dtype == np.float32
    generator = ad.Generator().manual_seed(1)
    c = init.uniform_(ad.zeros(3), generator=generator)
    assert c.data.any()
    assert init.kaiming_uniform_(ad.zeros(0, 3)).shape == (0, 3)       # empty: nothing to do
    with pytest.raises(TypeError, match="expected a Tensor"):
        init.zeros_([1.0, 2.0])


def test_init_works_on_parameters_in_use_and_records_no_graph():
    layer = nn.Linear(3, 2)
    out = layer(ad.ones(1, 3))
    init.ones_(layer.weight)
    init.zeros_(layer.bias)
    np.testing.assert_array_equal(layer(ad.ones(1, 3)).data, [[3.0, 3.0]])
    assert out.requires_grad and layer.weight.grad_fn is None
