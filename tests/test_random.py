"""The generator (autodiff/random.py): a seed gives PyTorch's numbers, value for value, for every
draw that has a PyTorch counterpart (rand, randint, randperm, randn, Tensor.uniform_/normal_, nn's
initialisers and the DataLoader's orders); and its own contract (state, seeds, errors), which is
checked without PyTorch too."""
import math

import numpy as np
import pytest

import autodiff as ad
import nn
from nn import init
from nn.data import DataLoader, TensorDataset

SEEDS = [0, 1, 7, 2 ** 32 + 5, 2 ** 63 + 11, -3]


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def same(ours, theirs, where):
    ours = np.asarray(getattr(ours, "data", ours))
    theirs = theirs.detach().numpy()
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, where
    np.testing.assert_array_equal(ours, theirs, err_msg=where)


@pytest.mark.parametrize("seed", SEEDS)
def test_rand_randint_randperm_are_torchs_values(torch, seed):
    torch.manual_seed(seed)
    ad.manual_seed(seed)
    same(ad.rand(5, 3), torch.rand(5, 3), "rand float32")
    same(ad.rand(1001, dtype=ad.float64), torch.rand(1001, dtype=torch.float64), "rand float64")
    same(ad.randint(0, 10, (20,)), torch.randint(0, 10, (20,)), "randint")
    for high in (2 ** 28 - 1, 2 ** 28, 2 ** 31, 2 ** 40):      # from 2**28 on, two words per value
        same(ad.randint(-5, high, (9,)), torch.randint(-5, high, (9,)), f"randint(-5, {high})")
    same(ad.randint(0, 2 ** 30, (9,), dtype=ad.int32), torch.randint(0, 2 ** 30, (9,), dtype=torch.int32), "int32")
    same(ad.randint(7, (3, 4)), torch.randint(7, (3, 4)), "randint(high, size)")
    for n in (0, 1, 2, 33, 1437):
        same(ad.randperm(n), torch.randperm(n), f"randperm({n})")
    same(ad.rand(2), torch.rand(2), "the streams are still together")


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_uniform_in_place_is_torchs_value_for_any_bounds(torch, seed):
    for low, high in [(-0.3, 0.7), (-1 / math.sqrt(27), 1 / math.sqrt(27)), (2.5, 1e3), (-1e-3, 1e5)]:
        for dtype, torch_dtype in [(np.float32, torch.float32), (np.float64, torch.float64)]:
            torch.manual_seed(seed)
            ad.manual_seed(seed)
            theirs = torch.empty(4097, dtype=torch_dtype).uniform_(low, high)
            ours = ad.tensor(np.empty(4097, dtype)).uniform_(low, high)
            same(ours, theirs, f"uniform_({low}, {high}) {dtype.__name__}")


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_randn_is_torchs_value(torch, seed):
    torch.manual_seed(seed)
    ad.manual_seed(seed)
    # fewer than 16 values: float64 Box-Muller pairs, the second one kept for the next call
    same(ad.randn(3, dtype=ad.float64), torch.randn(3, dtype=torch.float64), "randn(3)")
    same(ad.randn(5, dtype=ad.float64), torch.randn(5, dtype=torch.float64), "randn(5), starting from the kept one")
    same(ad.randn(2), torch.randn(2), "randn(2) float32")
    # 16 or more: blocks of 16, the last one redrawn; PyTorch's vector log/sin/cos (SLEEF) may
    # differ from numpy's by an ulp or two, so most values agree bit for bit and all to a few ulps
    for n, dtype, torch_dtype, mean, std in [(16, np.float64, torch.float64, 0.0, 1.0),
                                             (17, np.float64, torch.float64, 0.0, 1.0),
                                             (1001, np.float64, torch.float64, 2.0, 3.0),
                                             (1001, np.float32, torch.float32, 0.0, 1.0),
                                             (1001, np.float32, torch.float32, -0.1, 0.02)]:
        ours = ad.zeros(n, dtype=dtype).normal_(mean, std).data
        theirs = torch.zeros(n, dtype=torch_dtype).normal_(mean, std).numpy()
        assert ours.dtype == theirs.dtype
        scale = abs(mean) + std * np.abs(theirs - mean).max() / std
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=8 * np.finfo(dtype).eps * scale, err_msg=f"normal {n}")
        assert np.mean(ours == theirs) > (0.99 if dtype == np.float64 else 0.7)
        same(ad.rand(2), torch.rand(2), "the streams are still together")


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_dropout_masks_are_torchs(torch, seed):
    x = np.random.default_rng(0).standard_normal((6, 8, 3, 3))
    for p in (0.1, 0.5, 0.77):
        for dtype in (np.float32, np.float64):
            torch.manual_seed(seed)
            ad.manual_seed(seed)
            same(nn.functional.dropout(ad.tensor(x.astype(dtype)), p),
                 torch.nn.functional.dropout(torch.tensor(x.astype(dtype)), p), f"dropout p={p} {dtype.__name__}")
            same(nn.functional.dropout2d(ad.tensor(x.astype(dtype)), p),
                 torch.nn.functional.dropout2d(torch.tensor(x.astype(dtype)), p), f"dropout2d p={p}")
            same(nn.Dropout(p)(ad.tensor(x[0, 0].astype(dtype))), torch.nn.Dropout(p)(torch.tensor(x[0, 0].astype(dtype))),
                 f"nn.Dropout p={p}")
            same(ad.rand(2), torch.rand(2), "the streams are still together")


def _torch_layers(torch):
    return [lambda: torch.nn.Linear(5, 7), lambda: torch.nn.Linear(3, 2, bias=False),
            lambda: torch.nn.Conv1d(2, 4, 3), lambda: torch.nn.Conv2d(1, 8, 3, padding=1),
            lambda: torch.nn.Conv2d(4, 6, (2, 3), groups=2), lambda: torch.nn.Conv3d(2, 3, 2),
            lambda: torch.nn.ConvTranspose2d(3, 5, 3, stride=2), lambda: torch.nn.Bilinear(3, 4, 2)]


OUR_LAYERS = [lambda: nn.Linear(5, 7), lambda: nn.Linear(3, 2, bias=False), lambda: nn.Conv1d(2, 4, 3),
              lambda: nn.Conv2d(1, 8, 3, padding=1), lambda: nn.Conv2d(4, 6, (2, 3), groups=2),
              lambda: nn.Conv3d(2, 3, 2), lambda: nn.ConvTranspose2d(3, 5, 3, stride=2), lambda: nn.Bilinear(3, 4, 2)]


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_every_layer_starts_from_torchs_weights(torch, seed):
    for dtype in (torch.float32, torch.float64):
        torch.set_default_dtype(dtype)
        ad.set_default_dtype(ad.float32 if dtype == torch.float32 else ad.float64)
        try:
            torch.manual_seed(seed)
            ad.manual_seed(seed)
            theirs = [make() for make in _torch_layers(torch)]
            ours = [make() for make in OUR_LAYERS]
            for layer, reference in zip(ours, theirs):
                state, expected = layer.state_dict(), reference.state_dict()
                assert list(state) == list(expected)
                for key in expected:
                    same(state[key], expected[key], f"{type(layer).__name__}.{key} {dtype}")
        finally:
            torch.set_default_dtype(torch.float32)
            ad.set_default_dtype(ad.float32)
    torch.manual_seed(seed)
    ad.manual_seed(seed)
    np.testing.assert_allclose(nn.Embedding(10, 4).weight.data, torch.nn.Embedding(10, 4).weight.detach().numpy(),
                               rtol=0, atol=8 * np.finfo(np.float32).eps)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_initialisers_are_torchs(torch, seed):
    cases = [("uniform_", (-2.0, 3.0)), ("kaiming_uniform_", ()), ("kaiming_uniform_", (math.sqrt(5),)),
             ("kaiming_uniform_", (0, "fan_out", "relu")), ("xavier_uniform_", (1.7,)), ("normal_", (0.5, 2.0)),
             ("xavier_normal_", ()), ("kaiming_normal_", ())]
    for name, arguments in cases:
        for shape in ((4, 6), (3, 2, 3, 3)):
            torch.manual_seed(seed)
            ad.manual_seed(seed)
            theirs = getattr(torch.nn.init, name)(torch.empty(shape, dtype=torch.float64), *arguments)
            ours = getattr(init, name)(ad.tensor(np.empty(shape)), *arguments)
            if "normal" in name:        # randn's few ulps (see test_randn_is_torchs_value)
                np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-14, atol=1e-15)
            else:
                same(ours, theirs, f"init.{name}{arguments} on {shape}")
    theirs = torch.nn.init.uniform_(torch.empty(50), generator=torch.Generator().manual_seed(seed))
    same(init.uniform_(ad.empty(50), generator=ad.Generator().manual_seed(seed)), theirs, "init with a generator")


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_dataloader_orders_are_torchs(torch, seed):
    def orders(loader, epochs):
        return [np.concatenate([np.asarray(getattr(batch[0], "data", batch[0])) for batch in loader])
                for _ in range(epochs)]

    for batch_size, drop_last in [(16, False), (25, False), (16, True)]:
        torch.manual_seed(seed)
        ad.manual_seed(seed)
        theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(100)), batch_size=batch_size,
                                             shuffle=True, drop_last=drop_last)
        ours = DataLoader(TensorDataset(np.arange(100)), batch_size=batch_size, shuffle=True, drop_last=drop_last)
        for epoch, (a, b) in enumerate(zip(orders(ours, 3), orders(theirs, 3))):
            np.testing.assert_array_equal(a, b, err_msg=f"epoch {epoch}, batch {batch_size}, drop {drop_last}")
        # an unshuffled loader also draws (a seed for workers, at each iter()), as PyTorch's
        list(DataLoader(TensorDataset(np.arange(5)), batch_size=2))
        list(torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(5)), batch_size=2))
        same(ad.rand(3), torch.rand(3), "after the loaders, the global streams agree")
        # a loader with its own generator (seed=s is generator=Generator().manual_seed(s))
        for ours in (DataLoader(TensorDataset(np.arange(50)), batch_size=batch_size, shuffle=True, seed=seed),
                     DataLoader(TensorDataset(np.arange(50)), batch_size=batch_size, shuffle=True,
                                generator=ad.Generator().manual_seed(seed))):
            theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.arange(50)),
                                                 batch_size=batch_size, shuffle=True,
                                                 generator=torch.Generator().manual_seed(seed))
            for epoch, (a, b) in enumerate(zip(orders(ours, 3), orders(theirs, 3))):
                np.testing.assert_array_equal(a, b, err_msg=f"own generator, epoch {epoch}")


def test_an_unseeded_generator_starts_where_torchs_does(torch):
    same(ad.rand(4, generator=ad.Generator()), torch.rand(4, generator=torch.Generator()), "default seed")
    assert ad.Generator().initial_seed() == torch.Generator().initial_seed()
    assert ad.manual_seed(3) is ad.default_generator
    assert isinstance(ad.default_generator, ad.Generator)


def test_seeding_repeats_and_separate_generators_are_independent():
    ad.manual_seed(5)
    first = [ad.rand(3).data, ad.randn(20).data, ad.randint(0, 9, (4,)).data, ad.randperm(6).data]
    ad.manual_seed(5)
    again = [ad.rand(3).data, ad.randn(20).data, ad.randint(0, 9, (4,)).data, ad.randperm(6).data]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    # a draw from another generator leaves the default one's stream alone
    ad.manual_seed(5)
    ad.rand(3, generator=ad.Generator().manual_seed(9))
    np.testing.assert_array_equal(ad.rand(3).data, first[0])
    assert ad.initial_seed() == 5


def test_state_round_trips_including_a_kept_normal():
    ad.manual_seed(11)
    ad.randn(1, dtype=ad.float64)                 # keeps its pair's second value
    state = ad.get_rng_state()
    assert state.dtype == np.uint8
    expected = [ad.randn(3, dtype=ad.float64).data, ad.rand(5).data]
    ad.manual_seed(0)
    ad.set_rng_state(state)
    np.testing.assert_array_equal(ad.randn(3, dtype=ad.float64).data, expected[0])
    np.testing.assert_array_equal(ad.rand(5).data, expected[1])
    assert ad.initial_seed() == 11
    with pytest.raises(ValueError, match="get_state returns"):
        ad.set_rng_state(ad.zeros(3))


def test_draws_have_the_right_distribution():
    # the formulas themselves, without PyTorch: ranges, moments, permutations
    generator = ad.Generator().manual_seed(1)
    uniform = ad.rand(200_000, generator=generator, dtype=ad.float64).data
    assert uniform.min() >= 0 and uniform.max() < 1 and abs(uniform.mean() - 0.5) < 0.005
    scaled = ad.empty(100_000).uniform_(-2.0, 6.0, generator=generator).data
    assert scaled.min() >= -2 and scaled.max() < 6 and abs(scaled.mean() - 2.0) < 0.05
    for n in (7, 100_003):
        normal = ad.randn(n, generator=generator, dtype=ad.float64).data
        assert np.isfinite(normal).all()
    normal = ad.randn(100_003, generator=generator).data
    assert abs(normal.mean()) < 0.02 and abs(normal.std() - 1) < 0.02
    integers = ad.randint(-3, 2 ** 40, (1000,), generator=generator).data
    assert integers.min() >= -3 and integers.max() < 2 ** 40 and integers.max() > 2 ** 38
    assert sorted(ad.randperm(1000, generator=generator).data.tolist()) == list(range(1000))


def test_bad_seeds_and_generators_are_refused():
    with pytest.raises(TypeError, match="seed must be an int"):
        ad.manual_seed(1.5)
    with pytest.raises(RuntimeError, match="out of range"):
        ad.manual_seed(2 ** 64)
    with pytest.raises(ValueError, match="device='cpu'"):
        ad.Generator("cuda")
    with pytest.raises(TypeError, match="ad.Generator"):
        ad.rand(2, generator=np.random.default_rng(0))
    with pytest.raises(TypeError, match="ad.Generator"):
        init.uniform_(ad.zeros(3), generator=np.random.default_rng(0))
    with pytest.raises(TypeError, match="ad.Generator"):
        DataLoader(TensorDataset(np.arange(3)), shuffle=True, generator=np.random.default_rng(0))
    with pytest.raises(ValueError, match="not both"):
        DataLoader(TensorDataset(np.arange(3)), shuffle=True, seed=1, generator=ad.Generator())


def _samplers(lib, dtype):
    """Each sampler as (name, call) for lib = ad or torch, in ``dtype``."""
    full, tensor = lib.full, lib.tensor
    probabilities = np.linspace(0, 1, 37)
    weights = np.abs(np.random.default_rng(1).standard_normal((3, 9)))
    return [
        ("normal(mean, std)", lambda: lib.normal(full((3, 1), 2.0, dtype=dtype), full((1, 40), 3.0, dtype=dtype))),
        ("normal(mean, 3.0)", lambda: lib.normal(full((50,), 2.0, dtype=dtype), 3.0)),
        ("normal(2.0, std)", lambda: lib.normal(2.0, full((50,), 3.0, dtype=dtype))),
        ("normal(2.0, 3.0, size)", lambda: lib.normal(2.0, 3.0, (5, 7), dtype=dtype)),
        ("bernoulli(p)", lambda: lib.bernoulli(tensor(probabilities, dtype=dtype))),
        ("bernoulli(x, 0.3)", lambda: lib.bernoulli(lib.zeros(30, dtype=dtype), 0.3)),
        ("bernoulli_(0.3)", lambda: lib.zeros(30, dtype=dtype).bernoulli_(0.3)),
        ("bernoulli_(p)", lambda: lib.zeros(4, 37, dtype=dtype).bernoulli_(tensor(probabilities, dtype=dtype))),
        ("multinomial, replacement", lambda: lib.multinomial(tensor(weights, dtype=dtype), 20, True)),
        ("multinomial", lambda: lib.multinomial(tensor(weights, dtype=dtype), 5)),
        ("Tensor.multinomial(1)", lambda: tensor(weights[0], dtype=dtype).multinomial(1)),
        ("exponential_", lambda: lib.zeros(30, dtype=dtype).exponential_(2.5)),
        ("geometric_", lambda: lib.zeros(30, dtype=dtype).geometric_(0.2)),
        ("cauchy_", lambda: lib.zeros(30, dtype=dtype).cauchy_(1.0, 0.5)),
        ("log_normal_", lambda: lib.zeros(30, dtype=dtype).log_normal_()),
        ("random_()", lambda: lib.zeros(30, dtype=dtype).random_()),
        ("random_(10)", lambda: lib.zeros(30, dtype=dtype).random_(10)),
        ("random_(-3, 10)", lambda: lib.zeros(30, dtype=dtype).random_(-3, 10)),
        ("randint_like", lambda: lib.randint_like(lib.zeros(7, dtype=dtype), 3, 10)),
    ] + [(f"random_() {name}", lambda name=name: lib.zeros(30, dtype=getattr(lib, name)).random_())
         for name in ("int64", "int32", "int16", "uint8", "bool")]


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_samplers_are_torchs(torch, seed):
    for dtype, torch_dtype in [(ad.float32, torch.float32), (ad.float64, torch.float64)]:
        torch.manual_seed(seed)
        ad.manual_seed(seed)
        for (name, ours), (_, theirs) in zip(_samplers(ad, dtype), _samplers(torch, torch_dtype)):
            ours, theirs = ours(), theirs()
            if name.startswith("normal") and dtype == ad.float32:     # randn's few float32 ulps
                assert ours.dtype == np.float32 and ours.shape == tuple(theirs.shape)
                np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=0, atol=1e-5, err_msg=name)
            else:
                same(ours, theirs, f"{name} {dtype}")
        same(ad.rand(3), torch.rand(3), "the streams are still together")


def test_samples_of_parameters_that_require_grad_have_zero_gradients(torch):
    for sample in (lambda lib, p: lib.normal(p, 1.0), lambda lib, p: lib.normal(1.0, p), lambda lib, p: lib.normal(p, p),
                   lambda lib, p: lib.bernoulli(p), lambda lib, p: lib.zeros(3, dtype=p.dtype).bernoulli_(p)):
        ours, theirs = ad.full((3,), 0.5, requires_grad=True), torch.full((3,), 0.5, requires_grad=True)
        a, b = sample(ad, ours), sample(torch, theirs)
        assert a.requires_grad and b.requires_grad
        a.sum().backward()
        b.sum().backward()
        np.testing.assert_array_equal(ours.grad.data, theirs.grad.numpy())
    with pytest.raises(RuntimeError, match="derivative of bernoulli"):        # PyTorch raises here too
        ad.bernoulli(ad.full((3,), 0.5, requires_grad=True), 0.3).sum().backward()
    with ad.no_grad():
        assert not ad.normal(ad.zeros(3, requires_grad=True), 1.0).requires_grad


def test_bad_sampler_arguments_are_refused():
    with pytest.raises(RuntimeError, match="std >= 0"):
        ad.normal(ad.zeros(3), -1.0)
    with pytest.raises(TypeError, match="give the size"):
        ad.normal(0.0, 1.0)
    with pytest.raises(RuntimeError, match=r"in \[0, 1\]"):
        ad.bernoulli(ad.tensor([0.5, 1.5]))
    with pytest.raises(RuntimeError, match="element < 0"):
        ad.multinomial(ad.tensor([1.0, -1.0]), 1)
    with pytest.raises(RuntimeError, match="without replacement"):
        ad.multinomial(ad.tensor([1.0, 1.0]), 3)
    with pytest.raises(RuntimeError, match="sum of probabilities"):
        ad.multinomial(ad.tensor([0.0, 0.0]), 1, True)
    with pytest.raises(RuntimeError, match="from=5 >= to=2"):
        ad.zeros(3).random_(5, 2)
    with pytest.raises(RuntimeError, match="lambda > 0"):
        ad.zeros(3).exponential_(0.0)
    with pytest.raises(RuntimeError, match=r"\(0, 1\)"):
        ad.zeros(3).geometric_(1.5)


def _training_losses(T, nn_, optim_, F, DataLoader, TensorDataset):
    """A PyTorch tutorial's loop, written once for either library: seeded data (randn), init,
    dropout, shuffled batches and Adam."""
    T.manual_seed(42)
    X = T.randn(256, 10)
    y = (X[:, :3].sum(1) > 0).long()
    model = nn_.Sequential(nn_.Linear(10, 32), nn_.ReLU(), nn_.Dropout(0.2), nn_.Linear(32, 32), nn_.Tanh(),
                           nn_.Linear(32, 2))
    optimizer = optim_.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(3):
        for xb, yb in DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses


def test_a_seeded_pytorch_training_script_gives_pytorchs_losses(torch):
    # the same script, step for step: the same data, weights, dropout masks and batches, so the
    # same losses (to float32 rounding: the float32 randn data differ from PyTorch's by ulps)
    from nn import functional as F
    ours = _training_losses(ad, nn, __import__("optim"), F, DataLoader, TensorDataset)
    theirs = _training_losses(torch, torch.nn, torch.optim, torch.nn.functional, torch.utils.data.DataLoader,
                              torch.utils.data.TensorDataset)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_recurrent_layers_with_dropout_follow_torch_after_the_same_seed(torch, kind):
    # the weights and the dropout masks between layers are PyTorch's draws, in PyTorch's order
    x = np.random.default_rng(0).standard_normal((2, 6, 4)).astype(np.float32)
    for batch_first in (False, True):
        for bidirectional in (False, True):
            torch.manual_seed(0)
            ad.manual_seed(0)
            theirs = getattr(torch.nn, kind)(4, 5, num_layers=3, dropout=0.5, batch_first=batch_first,
                                             bidirectional=bidirectional)
            ours = getattr(nn, kind)(4, 5, num_layers=3, dropout=0.5, batch_first=batch_first,
                                     bidirectional=bidirectional)
            np.testing.assert_allclose(ours(ad.tensor(x))[0].data, theirs(torch.tensor(x))[0].detach().numpy(),
                                       rtol=1e-5, atol=1e-6)


# ---- review sweep: float64 normals bit for bit, argument forms and errors as PyTorch's -----------------

@pytest.mark.parametrize("seed", range(40))
def test_float64_normals_are_torchs_bit_for_bit(torch, seed):
    # fewer than 16: mean + std * z rounded once (PyTorch's fma); 16 or more: the C library's log/cos/sin
    for count in (1, 3, 15, 20, 37, 64):
        torch.manual_seed(seed)
        ad.manual_seed(seed)
        same(ad.normal(2.0, 3.0, (count,), dtype=ad.float64), torch.normal(2.0, 3.0, (count,), dtype=torch.float64),
             f"normal({count})")
        same(ad.randn(count, dtype=ad.float64), torch.randn(count, dtype=torch.float64), f"randn({count})")
        same(ad.zeros(count, dtype=ad.float64).normal_(-1.0, 0.3),
             torch.zeros(count, dtype=torch.float64).normal_(-1.0, 0.3), f"normal_({count})")
        same(ad.zeros(count, dtype=ad.float64).log_normal_(0.5, 1.5),
             torch.zeros(count, dtype=torch.float64).log_normal_(0.5, 1.5), f"log_normal_({count})")
        same(ad.rand(3, dtype=ad.float64), torch.rand(3, dtype=torch.float64), "the stream after")


def test_randint_by_keyword_and_randperm_of_negative_n(torch):
    torch.manual_seed(4)
    ad.manual_seed(4)
    same(ad.randint(high=10, size=(6,)), torch.randint(high=10, size=(6,)), "randint(high=, size=)")
    same(ad.randint(low=2, high=10, size=(6,)), torch.randint(low=2, high=10, size=(6,)), "randint(low=, ...)")
    with pytest.raises(RuntimeError):
        torch.randperm(-1)
    with pytest.raises(RuntimeError, match="randperm"):
        ad.randperm(-1)


@pytest.mark.parametrize("op", ["rand", "randn"])
def test_rand_without_a_size_raises_as_torchs(torch, op):
    with pytest.raises(TypeError):
        getattr(torch, op)()
    with pytest.raises(TypeError, match=f"{op}.*size"):
        getattr(ad, op)()
    assert getattr(ad, op)(()).shape == ()


@pytest.mark.parametrize("call, error", [
    (lambda lib: lib.zeros(3).uniform_(3, 2), RuntimeError),
    (lambda lib: lib.zeros(3).uniform_(0, float("inf")), RuntimeError),
    (lambda lib: lib.zeros(3, dtype=lib.int64).uniform_(), NotImplementedError),
    (lambda lib: lib.zeros(3).normal_(0, -1), RuntimeError),
    (lambda lib: lib.zeros(3).normal_(0, float("nan")), RuntimeError),
    (lambda lib: lib.zeros(3, dtype=lib.int64).normal_(), NotImplementedError),
    (lambda lib: lib.zeros(3, dtype=lib.uint8).exponential_(), RuntimeError),
    (lambda lib: lib.zeros(3, dtype=lib.int64).cauchy_(), RuntimeError),
    (lambda lib: lib.zeros(3).cauchy_(0, 0), RuntimeError),
    (lambda lib: lib.zeros(3).cauchy_(0, -1), RuntimeError),
    (lambda lib: lib.zeros(3, dtype=lib.int64).log_normal_(), NotImplementedError),
    (lambda lib: lib.zeros(3, dtype=lib.bool).geometric_(0.5), NotImplementedError),
])
def test_in_place_samplers_refuse_what_torch_refuses(torch, call, error):
    with pytest.raises(error):
        call(torch)
    ad.manual_seed(0)
    before = ad.get_rng_state().data.copy()
    with pytest.raises(error):
        call(ad)
    np.testing.assert_array_equal(ad.get_rng_state().data, before)      # nothing drawn by a refused call


@pytest.mark.parametrize("seed", [0, 5, 2 ** 40 + 1])
def test_multinomial_of_one_sample_with_replacement_takes_torchs_fast_path(torch, seed):
    # PyTorch draws a single sample, with replacement or not, as argmax(weights / Exp(1))
    weights = [[1.0, 2.0, 3.0, 4.0], [0.5, 0.0, 2.0, 1.0]]
    torch.manual_seed(seed)
    ad.manual_seed(seed)
    for _ in range(5):
        same(ad.multinomial(ad.tensor(weights[0]), 1, True), torch.multinomial(torch.tensor(weights[0]), 1, True), "1-d")
        same(ad.multinomial(ad.tensor(weights), 1, replacement=True),
             torch.multinomial(torch.tensor(weights), 1, replacement=True), "2-d")
    same(ad.rand(4), torch.rand(4), "the stream after")


@pytest.mark.parametrize("count", [17, 20, 33, 50])
def test_float16_normals_of_a_partial_block_are_torchs(torch, count):
    # PyTorch draws float16 normals through whole float32 blocks: the last 16 values come from the
    # last block of ceil(count / 16) * 16 draws, and the stream moves on by that many words
    for seed in range(5):
        torch.manual_seed(seed)
        ad.manual_seed(seed)
        ours = ad.randn(count, dtype=ad.float16).data.astype(np.float32)
        theirs = torch.randn(count, dtype=torch.float16).float().numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-3)     # float32's few ulps, then rounded
        assert np.mean(ours == theirs) > 0.9
        same(ad.rand(4), torch.rand(4), "the stream after")


def test_randint_ranges_a_small_dtype_cannot_hold_raise_and_the_rest_are_torchs(torch):
    for low, high, name in [(0, 300, "uint8"), (-1, 2, "uint8"), (0, 10, "bool"), (0, 200, "int8")]:
        with pytest.raises(RuntimeError):
            torch.randint(low, high, (3,), dtype=getattr(torch, name))
        with pytest.raises(RuntimeError, match=f"randint.*{name}"):
            ad.randint(low, high, (3,), dtype=getattr(ad, name))
    with pytest.raises(RuntimeError, match="randint_like.*int8"):
        ad.randint_like(ad.zeros(2, dtype=ad.int8), 0, 200)
    torch.manual_seed(3)
    ad.manual_seed(3)
    for low, high, name in [(0, 256, "uint8"), (-128, 128, "int8"), (0, 2, "bool"), (-5, 5, "int16")]:
        same(ad.randint(low, high, (7,), dtype=getattr(ad, name)), torch.randint(low, high, (7,), dtype=getattr(torch, name)),
             name)
    same(ad.rand(3), torch.rand(3), "the stream after")


@pytest.mark.parametrize("call", ["rand(2.5)", "rand((2.0, 3))", "randn(2, 1.5)"])
def test_float_sizes_raise_as_torchs(torch, call):
    with pytest.raises(TypeError):
        eval("torch." + call, {"torch": torch})
    with pytest.raises(TypeError, match="size is ints"):
        eval("ad." + call, {"ad": ad})


def test_generator_device_and_clear_errors_for_bad_normal_and_multinomial_arguments():
    assert ad.Generator().device == "cpu" and repr(ad.Generator().device) == "device(type='cpu')"
    with pytest.raises(RuntimeError, match=r"normal: mean of shape \(3,\) and std of shape \(2,\)"):
        ad.normal(ad.zeros(3), ad.ones(2))
    with pytest.raises(RuntimeError, match="multinomial.*no categories"):
        ad.multinomial(ad.zeros(2, 0), 1)


def test_size_by_keyword_as_torchs(torch):
    for ours, theirs in [(lambda: ad.rand(size=(2, 3)), lambda: torch.rand(size=(2, 3))),
                         (lambda: ad.randn(size=(17,), dtype=ad.float64), lambda: torch.randn(size=(17,), dtype=torch.float64)),
                         (lambda: ad.randint(5, size=(4,)), lambda: torch.randint(5, size=(4,))),
                         (lambda: ad.randint(2, 9, size=(4,)), lambda: torch.randint(2, 9, size=(4,)))]:
        torch.manual_seed(8)
        ad.manual_seed(8)
        same(ours(), theirs(), "size=")
    with pytest.raises(TypeError, match="size once"):
        ad.rand(2, size=(3,))


def test_random_in_place_forms_and_bounds_are_torchs(torch):
    cases = [("uint8", (0, 300), {}), ("bool", (5,), {}), ("uint8", (-1, 5), {}), ("float32", (), {"to": 10}),
             ("bool", (0, None), {}), ("int8", (-128, None), {}), ("int64", (3,), {"to": 10}), ("float64", (-5, 5), {}),
             ("int32", (), {}), ("bool", (), {})]
    torch.manual_seed(4)
    ad.manual_seed(4)
    for dtype, bounds, keywords in cases:
        try:
            theirs = torch.zeros(5, dtype=getattr(torch, dtype)).random_(*bounds, **keywords)
        except RuntimeError as error:
            with pytest.raises(RuntimeError, match=str(error)):
                ad.zeros(5, dtype=np.dtype(dtype)).random_(*bounds, **keywords)
            continue
        same(ad.zeros(5, dtype=np.dtype(dtype)).random_(*bounds, **keywords), theirs, f"random_{bounds} {keywords} {dtype}")
    same(ad.rand(2), torch.rand(2), "the streams are still together")


def test_trunc_normal_is_torchs_rejection_sampling(torch):
    # both of PyTorch 2.13's paths: normal draws redrawn outside [a, b] (wide intervals) and
    # uniforms accepted under the density (narrow ones); float32 normals to a few ulps
    for dtype, torch_dtype in [(np.float32, torch.float32), (np.float64, torch.float64)]:
        for arguments in [(), (0.5, 2.0, -1.0, 3.0), (0.0, 0.02, -0.04, 0.04), (0.0, 1.0, 1.0, 3.0), (0.0, 1.0, -0.2, 0.2)]:
            torch.manual_seed(1)
            ad.manual_seed(1)
            theirs = torch.nn.init.trunc_normal_(torch.empty(500, dtype=torch_dtype), *arguments).numpy()
            ours = init.trunc_normal_(ad.tensor(np.empty(500, dtype)), *arguments).data
            assert ours.dtype == dtype
            np.testing.assert_allclose(ours, theirs, rtol=0, atol=8 * np.finfo(dtype).eps * 4, err_msg=str(arguments))
            if dtype == np.float64:
                np.testing.assert_array_equal(ours, theirs)
            same(ad.rand(2), torch.rand(2), "the streams are still together")


@pytest.mark.parametrize("name", ["alpha_dropout", "feature_alpha_dropout"])   # F.alpha_dropout, F.feature_alpha_dropout
def test_alpha_dropout_is_torchs(torch, name):
    x = np.random.default_rng(0).standard_normal((4, 6, 3, 3))
    for dtype in (np.float32, np.float64):
        for p in (0.1, 0.5):
            torch.manual_seed(2)
            ad.manual_seed(2)
            ours, theirs = ad.tensor(x.astype(dtype), requires_grad=True), torch.tensor(x.astype(dtype), requires_grad=True)
            a, b = getattr(nn.functional, name)(ours, p, True), getattr(torch.nn.functional, name)(theirs, p, True)
            same(a, b, f"{name} p={p}")
            a.sum().backward()
            b.sum().backward()
            same(ours.grad, theirs.grad, f"{name} gradient")
            same(ad.rand(2), torch.rand(2), "the streams are still together")
    module = "AlphaDropout" if name == "alpha_dropout" else "FeatureAlphaDropout"
    assert repr(getattr(nn, module)(0.2)) == repr(getattr(torch.nn, module)(0.2))
    layer = getattr(nn, module)(0.3).eval()
    assert layer(ad.tensor(x)) is not None and np.array_equal(layer(ad.tensor(x)).data, x)
    assert np.array_equal(getattr(nn.functional, name)(ad.tensor(x), 0.3).data, x)     # PyTorch's training=False
