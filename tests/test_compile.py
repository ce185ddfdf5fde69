"""ad.compile: a recorded step replays to the same bits as eager, and refuses what it cannot replay.

Every model here is trained twice from the same seeded start, eagerly and compiled, on batches
that change every step, and the losses, every parameter and every buffer are compared bit for
bit after every step (the eager engine is the reference: a replay must be indistinguishable).
"""
import gc
import importlib
import re

import numpy as np
import pytest

import autodiff as ad
import nn
import optim
function_module = importlib.import_module("autodiff.function")
engine_module = importlib.import_module("autodiff.engine")
tensor_module = importlib.import_module("autodiff.tensor")
from nn import functional as F
from nn.utils import clip_grad_norm_

STEPS = 50


def batches(steps, batch, features, classes, seed=1):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        yield (rng.standard_normal((batch, features)).astype(np.float32), rng.integers(0, classes, batch))


def train(make, loss_fn, compiled, steps=STEPS, batch=16, features=6, classes=3, clip=None,
          scheduler=None, data=None, zero_grad="optimizer"):
    """Train a fresh model (``make()`` -> model, optimizer, seeded) for ``steps``; return the losses,
    the parameters and buffers after every step, and the step function."""
    ad.manual_seed(0)
    model, optimizer = make()
    schedule = scheduler(optimizer) if scheduler else None

    def step(x, y):
        if zero_grad == "optimizer":
            optimizer.zero_grad()
        elif zero_grad == "model":
            model.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        if clip is not None:
            clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        return loss

    run = ad.compile(step) if compiled else step
    ad.manual_seed(1)           # the same dropout masks for both runs
    losses, states = [], []
    for x, y in (data or batches(steps, batch, features, classes)):
        losses.append(run(x, y).item())
        states.append([p.data.copy() for p in model.parameters()] + [b.data.copy() for b in model.buffers()])
        if schedule is not None:
            schedule.step()
    return losses, states, run


def assert_same_training(make, loss_fn, **options):
    eager_losses, eager_states, _ = train(make, loss_fn, False, **options)
    losses, states, step = train(make, loss_fn, True, **options)
    assert step.stats.replays == len(losses) - step.stats.recordings
    assert step.stats.recordings < len(losses)
    for i, (a, b) in enumerate(zip(eager_losses, losses)):
        assert np.float64(a).tobytes() == np.float64(b).tobytes(), f"loss of step {i}: {a} != {b}"
    for i, (eager, compiled) in enumerate(zip(eager_states, states)):
        for j, (a, b) in enumerate(zip(eager, compiled)):
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), f"parameter/buffer {j} after step {i}"
    return step


def mlp(sizes, optimizer, **kwargs):
    def make():
        model = nn.MLP(sizes, **kwargs)
        return model, optimizer(model.parameters())
    return make


def cross_entropy(out, y):
    return F.cross_entropy(out, y)


# ---------------------------------------------------------------------------------------------
# bitwise equality with eager, 50 steps


def test_demo_mlp_with_sgd_momentum():
    step = assert_same_training(mlp([6, 16, 3], lambda p: optim.SGD(p, lr=0.1, momentum=0.9)), cross_entropy)
    assert step.stats.fallbacks == 0


def test_mlp_with_adam_weight_decay_and_clipping():
    make = mlp([6, 16, 16, 3], lambda p: optim.Adam(p, lr=1e-2, weight_decay=1e-3), activation="tanh")
    assert_same_training(make, cross_entropy, clip=0.5)


def test_adamw_amsgrad_and_model_zero_grad():
    make = mlp([6, 8, 3], lambda p: optim.AdamW(p, lr=1e-2, amsgrad=True))
    assert_same_training(make, cross_entropy, zero_grad="model", steps=10)


def test_batchnorm_and_dropout():
    def make():
        model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
        return model, optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    assert_same_training(make, cross_entropy)


def test_dropout_masks_are_new_at_each_replay_and_those_of_eager():
    layer = nn.Dropout(0.5)
    step = ad.compile(lambda x: layer(x) * 1.0)
    ones = np.ones((4, 8), np.float32)
    ad.manual_seed(5)
    compiled = [step(ones).numpy().copy() for _ in range(4)]
    ad.manual_seed(5)
    eager = [(layer(ad.tensor(ones)) * 1.0).numpy() for _ in range(4)]
    assert step.stats.replays == 3
    assert all(np.array_equal(a, b) for a, b in zip(compiled, eager))
    assert not np.array_equal(compiled[1], compiled[2])


def hinge_with_where_and_max(out, y):
    """A custom loss: a margin through ad.where on a comparison, and ad.maximum / a max reduction."""
    target = out[:, 0] * 0.0 + 1.0
    margin = 1.0 - target * (out[:, 0] - out[:, 1])
    hinge = ad.where(margin > 0, margin, 0.0).mean()
    return hinge + ad.maximum(out, 0.25).sum() * 0.01 + out.amax(axis=1).mean() * 0.1


def test_custom_loss_with_where_and_max():
    assert_same_training(mlp([6, 16, 3], lambda p: optim.SGD(p, lr=0.05)), hinge_with_where_and_max)


def test_scheduler_stepping_outside_the_step():
    make = mlp([6, 16, 3], lambda p: optim.SGD(p, lr=0.1, momentum=0.9))
    step = assert_same_training(make, cross_entropy, scheduler=lambda o: optim.lr_scheduler.StepLR(o, 5, 0.5))
    assert step.stats.recordings == 1      # the learning rate is read at each replay, not recorded


def test_adam_with_a_scheduler_outside_the_step():
    make = mlp([6, 8, 3], lambda p: optim.Adam(p, lr=1e-2))
    assert_same_training(make, cross_entropy, steps=12,
                         scheduler=lambda o: optim.lr_scheduler.ExponentialLR(o, 0.8))


# ---------------------------------------------------------------------------------------------
# the signature: new records


def test_a_new_batch_size_records_again_and_both_records_replay():
    rng = np.random.default_rng(0)
    data = [(rng.standard_normal((n, 6)).astype(np.float32), rng.integers(0, 3, n))
            for n in (16, 16, 5, 16, 5, 5)]
    make = mlp([6, 8, 3], lambda p: optim.SGD(p, lr=0.1, momentum=0.9))
    step = assert_same_training(make, cross_entropy, data=data)
    assert step.stats.records == 2 and step.stats.recordings == 2 and step.stats.replays == 4


def test_model_eval_records_again():
    def make():
        model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 3))
        return model, optim.SGD(model.parameters(), lr=0.1)
    ad.manual_seed(0)
    model, _ = make()
    predict = ad.compile(lambda x: model(x))
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    with ad.no_grad():
        train_out = predict(x).numpy().copy()
        model.eval()
        first = predict(x).numpy().copy()
        second = predict(x).numpy().copy()
        eager = model(ad.tensor(x)).numpy()
    assert predict.stats.records == 2 and predict.stats.replays == 1
    assert np.array_equal(first, eager) and np.array_equal(second, eager)
    assert not np.array_equal(train_out, eager)


def test_grad_mode_and_argument_kinds_are_part_of_the_signature():
    w = ad.tensor([1.0, 2.0], requires_grad=True)
    step = ad.compile(lambda x, scale: (w * x * scale).sum())
    x = np.ones(2, np.float32)
    with ad.no_grad():
        assert step(x, 2.0).item() == 6.0
        assert step(x, 2.0).item() == 6.0
        assert step(x, 3.0).item() == 9.0          # another value of a non-tensor argument
        assert step(x.astype(np.float64), 3.0).item() == 9.0   # another dtype
    assert step.stats.records == 3 and step.stats.replays == 1


def test_replacing_a_parameter_or_its_array_records_again():
    model = nn.Linear(3, 2)
    step = ad.compile(lambda x: model(x).sum())
    x = np.ones((2, 3), np.float32)
    with ad.no_grad():
        step(x)
        step(x)
        model.weight = nn.Parameter(np.zeros((2, 3), np.float32))
        assert step(x).item() == pytest.approx(2 * model.bias.data.sum())
        model.bias.data = np.zeros(2, np.float32)
        assert step(x).item() == 0.0
    assert step.stats.recordings == 3


def test_loading_values_in_place_between_calls_is_seen():
    model = nn.Linear(3, 2)
    step = ad.compile(lambda x: model(x).sum())
    x = np.ones((2, 3), np.float32)
    with ad.no_grad():
        step(x)
        model.load_state_dict({"weight": np.full((2, 3), 2.0, np.float32), "bias": np.zeros(2, np.float32)})
        assert step(x).item() == 24.0
    assert step.stats.replays == 1


def test_cache_keeps_one_record_per_signature_up_to_its_size():
    w = ad.tensor([1.0], requires_grad=True)
    step = ad.compile(lambda x: (w * x).sum(), cache_size=2)
    with ad.no_grad():
        for n in (1, 2, 3, 1):
            step(np.ones(n, np.float32))
    assert step.stats.records == 2 and step.stats.recordings == 4


# ---------------------------------------------------------------------------------------------
# replays build nothing, and the replayed values behave


@pytest.fixture
def construction_counter(monkeypatch):
    """Counts every Tensor and every Function object made (the engine's constructors)."""
    counts = {"tensors": 0, "functions": 0}

    def counting(original, key):
        def make(cls, *args):
            if isinstance(cls, type) and issubclass(cls, ad.Tensor):
                counts["tensors"] += 1
            elif isinstance(cls, type) and issubclass(cls, ad.Function):
                counts["functions"] += 1
            return original(cls, *args)
        return make

    for module in (function_module, tensor_module, engine_module):
        monkeypatch.setattr(module, "_new_tensor", counting(object.__new__, "tensors"))
    monkeypatch.setattr(function_module, "_new", counting(object.__new__, "functions"))
    init = ad.Tensor.__init__

    def counting_init(self, *args, **kwargs):
        counts["tensors"] += 1
        init(self, *args, **kwargs)
    monkeypatch.setattr(ad.Tensor, "__init__", counting_init)
    function_init = ad.Function.__init__

    def counting_function_init(self, *args, **kwargs):
        counts["functions"] += 1
        function_init(self, *args, **kwargs)
    monkeypatch.setattr(ad.Function, "__init__", counting_function_init)
    return counts


def _training_step(compiled):
    ad.manual_seed(0)
    model = nn.MLP([6, 8, 3])
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def step(x, y):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss
    return ad.compile(step) if compiled else step


def test_a_replay_makes_no_tensor_and_no_function_and_is_counted(construction_counter):
    step = _training_step(compiled=True)
    data = list(batches(5, 16, 6, 3))
    step(*data[0])
    step(*data[1])
    assert construction_counter["tensors"] > 0 and construction_counter["functions"] > 0
    construction_counter.update(tensors=0, functions=0)
    for x, y in data[2:]:
        loss = step(x, y)               # also while the caller holds the last call's loss
        assert np.isfinite(loss.item())
    assert construction_counter == {"tensors": 0, "functions": 0}
    assert step.stats.replays == 4 and step.stats.recordings == 1


def test_the_counter_sees_an_eager_step(construction_counter):
    step = _training_step(compiled=False)
    for x, y in batches(2, 16, 6, 3):
        step(x, y)
    assert construction_counter["tensors"] > 10 and construction_counter["functions"] > 3


def test_returned_tensors_keep_their_values_and_grads_are_readable():
    ad.manual_seed(0)
    model = nn.Linear(3, 1)
    optimizer = optim.SGD(model.parameters(), lr=0.1)

    @ad.compile
    def step(x):
        optimizer.zero_grad()
        out = model(x)
        loss = (out * out).mean()
        loss.backward()
        optimizer.step()
        return loss, out

    kept = []
    for i in range(4):
        loss, out = step(np.full((2, 3), float(i), np.float32))
        kept.append((loss, loss.item(), out.numpy().copy()))
        assert model.weight.grad is not None and model.weight.grad.shape == (1, 3)
        assert not loss.requires_grad
    for loss, value, out in kept:
        assert loss.item() == value
    assert len({id(loss) for loss, _, _ in kept}) >= 2


def test_gradients_accumulate_across_calls_without_zero_grad():
    results = []
    for compiled in (False, True):
        w = ad.tensor([1.0, -2.0, 3.0], requires_grad=True)

        def step(x):
            loss = (w * x).sum() * (w * w).sum()
            loss.backward()
            return loss
        run = ad.compile(step) if compiled else step
        for i in range(4):
            run(np.full(3, i + 1.0, np.float32))
        results.append(w.grad.numpy().copy())
    assert results[0].tobytes() == results[1].tobytes()


def test_shared_parameter_gets_the_summed_gradient():
    results = []
    for compiled in (False, True):
        w = ad.tensor(np.linspace(-1, 1, 4, dtype=np.float32), requires_grad=True)
        optimizer = optim.SGD([w], lr=0.1)

        def step(x):
            optimizer.zero_grad()
            loss = ((w * x).tanh() + (w * 2.0).exp() * x + w * w).sum()
            loss.backward()
            optimizer.step()
            return loss
        run = ad.compile(step) if compiled else step
        for x, _ in batches(6, 4, 1, 1):
            run(x[:, 0])
        results.append(w.data.copy())
    assert results[0].tobytes() == results[1].tobytes()


# ---------------------------------------------------------------------------------------------
# ops without a lowering rule replay through their Function (the fallback)


class CubeRoot(ad.Function):
    """A user's op: no lowering rule can exist for it."""

    @staticmethod
    def forward(ctx, x):
        out = np.cbrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad / (3.0 * out * out)


def test_ops_without_a_rule_replay_through_their_function():
    def loss_fn(out, y):
        return CubeRoot.apply(ad.log_softmax(out, axis=1) * -1.0 + 1.0).mean() + ad.sigmoid(out).mean()
    step = assert_same_training(mlp([6, 8, 3], lambda p: optim.SGD(p, lr=0.1)), loss_fn, steps=10)
    assert step.stats.fallbacks == 3 and step.stats.lowered > 0
    assert "CubeRoot_forward" in step.code and "LogSoftmax_backward" in step.code


@pytest.mark.parametrize("loss_fn", [
    lambda out, y: F.mse_loss(out[:, 0], ad.Tensor(y).astype(np.float32)),
    lambda out, y: F.smooth_l1_loss(out, out * 0.5 + 0.25),
    lambda out, y: F.huber_loss(out, out * 0.5 + 0.25, delta=0.5),
    lambda out, y: F.cross_entropy(out, y, label_smoothing=0.1),
    lambda out, y: F.nll_loss(F.log_softmax(out, dim=1), y),
    lambda out, y: F.binary_cross_entropy_with_logits(out, out.detach() * 0.0 + 0.5),
    lambda out, y: F.cross_entropy(F.leaky_relu(out, 0.1) + F.gelu(out), y),
    lambda out, y: F.cross_entropy(F.softplus(out) + F.mish(out) + F.prelu(out, ad.tensor([0.25], dtype=np.float32)), y),
    lambda out, y: F.cross_entropy(F.elu(out) + F.selu(out) + F.celu(out, 0.5), y),
    lambda out, y: F.cross_entropy(F.hardtanh(out * 2.0) + F.relu6(out * 4.0) + F.hardswish(out * 4.0)
                                   + F.hardsigmoid(out * 4.0), y),
    lambda out, y: F.cross_entropy(F.softshrink(out, 0.1) + F.hardshrink(out, 0.1), y),
    lambda out, y: F.hinge_embedding_loss(out[:, 0], ad.where(ad.Tensor(y) == 1, 1.0, -1.0)),
    lambda out, y: F.cosine_embedding_loss(out[:, :2], out[:, 1:], ad.where(ad.Tensor(y) == 1, 1.0, -1.0)),
    lambda out, y: (F.cross_entropy(out, y) + out.max(1).values.mean() * 0.1
                    + out.min(dim=0, keepdim=True)[0].sum() * 0.1 + out.gather(1, out.argmax(1, keepdim=True)).mean()),
    lambda out, y: (F.cross_entropy(out, y) + ad.where(out > 0.5, float("nan"), out).nansum() * 0.01
                    + ad.where(out < -0.5, float("nan"), out).nanmean(0).nansum() * 0.01),
], ids=["mse", "smooth_l1", "huber", "label_smoothing", "nll", "bce_logits", "leaky_relu_gelu", "softplus_mish_prelu",
        "elu_selu_celu", "hardtanh_relu6_hardswish_hardsigmoid", "softshrink_hardshrink", "hinge_embedding",
        "cosine_embedding", "max_min_along_dim", "nansum_nanmean"])
def test_functional_losses_and_activations(loss_fn):
    assert_same_training(mlp([6, 8, 3], lambda p: optim.SGD(p, lr=0.1)), loss_fn, steps=6)


# ---------------------------------------------------------------------------------------------
# what cannot be replayed is refused while recording, naming the line


def _refusal(extra):
    ad.manual_seed(0)
    model = nn.MLP([4, 8, 3])
    optimizer = optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        optimizer.zero_grad()
        out = model(x)
        loss = extra(F.cross_entropy(out, y), out, x)
        loss.backward()
        optimizer.step()
        return loss
    return ad.compile(step), model


def _if_on_tensor(loss, out, x):
    if loss > 1.0:
        return loss * 2.0
    return loss


REFUSED = {
    ".item()": (lambda loss, out, x: loss * loss.item(), r"\.item\(\)"),
    "if": (_if_on_tensor, r"bool\(t\).*ad\.where"),
    "float()": (lambda loss, out, x: loss * float(loss), r"float\(t\)"),
    ".numpy()": (lambda loss, out, x: loss + ad.tensor(out.numpy().max()), r"\.numpy\(\)"),
    ".data": (lambda loss, out, x: loss - ad.tensor(out.data.max()), r"\.data"),
    "untracked array": (lambda loss, out, x: loss + (out * np.random.rand(*out.shape).astype(np.float32)).sum(),
                        r"not one of its tracked values.*made during the call at .*test_compile\.py"),
    "numpy on an argument": (lambda loss, out, x: loss + (ad.Tensor(np.tanh(x))[:, :3] * out).sum(),
                             r"not one of its tracked values"),
    "in place": (lambda loss, out, x: loss + out.mul_(2.0).sum(), r"in place"),
    "create_graph": (lambda loss, out, x: loss.backward(create_graph=True) or loss, r"create_graph"),
    "ad.grad": (lambda loss, out, x: ad.grad(loss, [out], retain_graph=True) and loss, r"ad\.grad"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_with_a_message_naming_the_line(name):
    extra, message = REFUSED[name]
    step, model = _refusal(extra)
    x, y = np.ones((4, 4), np.float32), np.array([0, 1, 2, 0])
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(ad.CompileError, match=message) as error:
        step(x, y)
    assert re.search(r"test_compile\.py:\d+", str(error.value))
    assert step.stats.records == 0
    assert type(model[0].weight) is nn.Parameter      # the recorder's watch is undone
    with pytest.raises(ad.CompileError):        # refused again: nothing was cached
        step(x, y)
    del before


def test_an_argument_that_requires_grad_is_refused():
    step = ad.compile(lambda x: (x * x).sum())
    with pytest.raises(ad.CompileError, match="requires grad"):
        step(ad.tensor([1.0, 2.0], requires_grad=True))


def test_a_refusal_caught_inside_fn_still_fails_the_call():
    w = ad.tensor([1.0], requires_grad=True)

    def step(x):
        loss = (w * x).sum()
        try:
            loss.item()
        except ad.CompileError:
            pass
        return loss
    with pytest.raises(ad.CompileError, match="item"):
        ad.compile(step)(np.ones(1, np.float32))


def test_values_read_by_the_caller_after_the_call_are_fine():
    step, _ = _refusal(lambda loss, out, x: loss)
    x, y = np.ones((4, 4), np.float32), np.array([0, 1, 2, 0])
    first = step(x, y)
    assert first.item() > 0 and float(first) == first.item() and bool(first > 0)
    assert np.isfinite(step(x, y).numpy())


# ---------------------------------------------------------------------------------------------
# looking inside


def test_stats_code_and_graph():
    step = _training_step(compiled=True)
    data = list(batches(3, 16, 6, 3))
    for x, y in data:
        step(x, y)
    stats = step.stats
    assert (stats.records, stats.recordings, stats.replays) == (1, 1, 2)
    assert stats.buffers > 5 and stats.bytes > 16 * 8 * 4 and stats.ops == stats.lowered == 4
    assert "out=" in step.code and "Optimizer_step" in step.code and "matmul" in step.code
    pytest.importorskip("graphviz")
    for graph in (step.graph, ad.draw_graph(step)):
        assert "Linear" in graph.source and "Optimizer.step" in graph.source and "backward" in graph.source


def test_a_step_with_no_record_says_so():
    step = ad.compile(lambda x: x)
    with pytest.raises(RuntimeError, match="no record yet"):
        step.code
    gc.collect()


def test_the_demo_trains_the_same_compiled_and_eager():
    pytest.importorskip("sklearn")
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "demo.py")
    spec = importlib.util.spec_from_file_location("demo_for_compile", path)
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    compiled = demo.train(epochs=3, show_progress=False)
    eager = demo.train(epochs=3, show_progress=False, compiled=False)
    assert compiled[1] == eager[1]      # losses and accuracies, epoch by epoch, to the bit
    for a, b in zip(compiled[0].parameters(), eager[0].parameters()):
        assert a.data.tobytes() == b.data.tobytes()


# ---------------------------------------------------------------------------------------------
# every lowering rule, against eager, op by op (the rule tables are walked: a class with a rule
# and no case here fails test_every_rule_has_a_case)

from autodiff import lowering  # noqa: E402

RNG = np.random.default_rng(7)


def _array(*shape, low=-2.0, high=2.0, dtype=np.float64):
    return RNG.uniform(low, high, shape).astype(dtype)


LABELS = RNG.integers(0, 4, 20)

OP_CASES = {
    "add": (lambda a, b: a + b, [_array(3, 4), _array(1, 4)]),
    "sub": (lambda a, b: (a - b) - 2.0, [_array(3, 4), _array(4)]),
    "mul": (lambda a, b: a * b * 3.0, [_array(3, 4), _array(3, 1)]),
    "mul_self": (lambda a: a * a, [_array(3, 4)]),
    "div": (lambda a, b: a / (b * b + 1.0) / 3.0, [_array(3, 4), _array(3, 4)]),
    "tanh_relu": (lambda a: ad.tanh(a) + ad.relu(a), [_array(3, 40)]),
    "tanh_large": (lambda a: ad.tanh(a), [_array(40, 40, dtype=np.float32)]),
    "maximum_minimum": (lambda a, b: ad.maximum(a, b) + ad.minimum(a, 0.5), [_array(3, 4), _array(3, 4)]),
    "where": (lambda a, b: ad.where(a > 0.1, a, b) + ad.where(b < 0, 1.0, a), [_array(3, 4), _array(3, 4)]),
    "pow": (lambda a: a ** 2 + a ** 3, [_array(3, 4)]),
    "sum": (lambda a: a.sum(axis=1, keepdims=True) * a.sum() + a.sum(axis=0, keepdims=True), [_array(3, 4)]),
    "max": (lambda a: a.amax(axis=1) + a.min(), [_array(3, 4)]),
    "matmul": (lambda a, b: a @ b.T, [_array(3, 4), _array(5, 4)]),
    "linear": (lambda x, w, b: F.linear(x, w, b), [_array(6, 4), _array(3, 4), _array(3)]),
    "shapes": (lambda a, b: a.reshape(-1)[:6] * ad.broadcast_to(b, (2, 6)).T.reshape(-1)[:6], [_array(3, 4), _array(6)]),
    "cast_clone": (lambda a: a.astype(np.float32).clone().astype(np.float64), [_array(3, 4)]),
    "getitem": (lambda a: a[1:, ::2].sum() + a[[0, 2, 2], [1, 3, 3]], [_array(3, 4)]),
    "cross_entropy": (lambda a: F.cross_entropy(a, LABELS), [_array(20, 4, dtype=np.float32)]),
    "cross_entropy_few_rows": (lambda a: F.cross_entropy(a, LABELS[:5]), [_array(5, 4, dtype=np.float32)]),
}
def _row_cases():
    import inspect
    from autodiff import ops
    cases = {}
    for row in ops.ELEMENTWISE:
        function = getattr(ops, row.name)
        low, high = row.domain
        inputs = 2 if "a" in inspect.signature(row.backward).parameters else 1
        cases[f"row_{row.name}"] = (lambda *a, function=function: function(*a),
                                    [_array(3, 4, low=low, high=high) for _ in range(inputs)])
    return cases


OP_CASES.update(_row_cases())
_SEEN_CLASSES = set()


def _run_case(expression, arrays, compiled):
    params = [ad.tensor(a, requires_grad=True) for a in arrays]

    def step():
        out = expression(*params)
        loss = (out * out).sum() if out.ndim else out * out
        loss.backward()
        return loss, out
    run = ad.compile(step) if compiled else step
    results = []
    for i in range(3):
        for p in params:
            p.grad = None
            p.data *= 1.0 + 0.01 * i        # new values in place: a replay reads them
        loss, out = run()
        results.append([loss.data.tobytes(), out.data.tobytes()] + [p.grad.data.tobytes() for p in params])
    if compiled:
        plan = run._last
        _SEEN_CLASSES.update(plan.op_classes)
        assert run.stats.replays == 2
    return results


@pytest.mark.parametrize("name", list(OP_CASES))
def test_each_op_replays_as_eager(name):
    expression, arrays = OP_CASES[name]
    eager = _run_case(expression, [a.copy() for a in arrays], compiled=False)
    compiled = _run_case(expression, [a.copy() for a in arrays], compiled=True)
    assert compiled == eager


def test_every_rule_has_a_case():
    for name, (expression, arrays) in OP_CASES.items():
        _run_case(expression, [a.copy() for a in arrays], compiled=True)
    missing = {cls.__name__ for cls in set(lowering.FORWARD) | set(lowering.BACKWARD)} - {
        cls.__name__ for cls in _SEEN_CLASSES}
    assert not missing, f"lowering rules without a case in OP_CASES: {sorted(missing)}"


def test_arguments_viewed_inside_the_step_and_strided_arguments():
    # views of an argument (reshape, transpose, slices, a returned slice) keep reading the
    # argument's buffer; a strided argument gives eager's values too
    w = ad.tensor(RNG.standard_normal((4, 4)), requires_grad=True)
    start = w.data.copy()

    def step(x):
        out = (x.reshape(2, 8) @ ad.ones(8, 1, dtype=np.float64)).sum() + (x.T @ x[:, :3] * w[:, :3]).sum()
        out.backward()
        return out, x[1:]
    data = [RNG.standard_normal((4, 8)) for _ in range(4)]
    outputs = {}
    for compiled in (False, True):
        w.data[...] = start
        w.grad = None
        run = ad.compile(step) if compiled else step
        got = []
        for i, d in enumerate(data):
            x = ad.Tensor(d[:, ::2] if i % 2 else np.ascontiguousarray(d[:, :4]))   # strided, or not
            loss, tail = run(x)
            got.append((loss.data.tobytes(), tail.data.copy(), w.grad.data.tobytes()))
        outputs[compiled] = got
    for (a, ta, ga), (b, tb, gb) in zip(outputs[False], outputs[True]):
        assert a == b and ga == gb and np.array_equal(ta, tb)


def test_a_step_that_sets_train_mode_itself_replays_after_an_eval_outside():
    results = []
    for compiled in (False, True):
        ad.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 8), nn.Dropout(0.5), nn.Linear(8, 3))
        optimizer = optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            model.train()
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            return loss
        run = ad.compile(step) if compiled else step
        ad.manual_seed(1)
        losses = []
        for x, y in batches(6, 8, 6, 3):
            losses.append(run(x, y).item())
            model.eval()            # an evaluation between steps
            with ad.no_grad():
                losses.append(model(ad.tensor(x)).sum().item())
        results.append(losses)
        if compiled:
            assert run.stats.recordings == 1 and run.stats.replays == 5
    assert results[0] == results[1]


def test_a_gradient_kept_from_an_earlier_call_keeps_its_values():
    step = _training_step(compiled=True)
    data = list(batches(5, 16, 6, 3))
    optimizer = next(c.cell_contents for c in step.fn.__closure__ if isinstance(c.cell_contents, optim.SGD))
    kept = []
    for x, y in data:
        step(x, y)
        kept.append([(p.grad, p.grad.data.copy()) for p in optimizer.param_groups[0]["params"]])
    for grads in kept:
        for grad, values in grads:
            assert np.array_equal(grad.data, values)
    assert len({id(grad) for grads in kept for grad, _ in grads}) > len(kept[0])


def test_other_threads_compute_as_usual_while_a_step_records():
    import threading
    x = np.linspace(-1, 1, 12).reshape(3, 4)
    expected = [(ad.tensor(x) > 0).numpy().copy(), ad.tanh(ad.tensor(x)).numpy().copy()]
    errors = []

    def eager_work():
        try:
            for _ in range(200):
                t = ad.tensor(x)
                assert np.array_equal((t > 0).numpy(), expected[0])
                assert np.array_equal(ad.tanh(t).numpy(), expected[1])
        except Exception as error:      # (reported below, from the main thread)
            errors.append(error)

    worker = threading.Thread(target=eager_work)
    worker.start()
    for _ in range(20):
        step = _training_step(compiled=True)
        for xb, yb in batches(2, 8, 6, 3):
            step(xb, yb)
    worker.join()
    assert not errors
