"""Learning-rate schedulers: sequences against closed forms written here, and against torch."""
import json
import math

import numpy as np
import pytest

import autodiff as ad
import optim
from optim import lr_scheduler

BASE_LRS = (0.1, 0.02)
EPOCHS = 30


def make_optimizer(lrs=BASE_LRS):
    return optim.SGD([{"params": [ad.tensor([0.0], requires_grad=True)], "lr": lr} for lr in lrs], lr=1.0)


def sequence(scheduler, optimizer, epochs=EPOCHS):
    """The learning rates used at epochs 0 .. epochs-1, the usual loop order."""
    lrs = []
    for _ in range(epochs):
        lrs.append(scheduler.get_last_lr())
        assert lrs[-1] == [group["lr"] for group in optimizer.param_groups]
        optimizer.step()
        scheduler.step()
    return np.array(lrs)


def cosine(base, t, T_max, eta_min=0.0):
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2


# (name, kwargs, closed form lr(base, epoch, group index))
CASES = [
    ("StepLR", dict(step_size=3, gamma=0.5), lambda b, t, i: b * 0.5 ** (t // 3)),
    ("StepLR", dict(step_size=1), lambda b, t, i: b * 0.1 ** t),
    ("MultiStepLR", dict(milestones=[9, 2, 5, 5], gamma=0.3),
     lambda b, t, i: b * 0.3 ** sum(t >= m for m in (2, 5, 5, 9))),
    ("ExponentialLR", dict(gamma=0.9), lambda b, t, i: b * 0.9 ** t),
    ("CosineAnnealingLR", dict(T_max=10), lambda b, t, i: cosine(b, t, 10)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.001), lambda b, t, i: cosine(b, t, 7, 0.001)),
    ("LambdaLR", dict(lr_lambda=lambda e: 0.95 ** e), lambda b, t, i: b * 0.95 ** t),
    ("LambdaLR", dict(lr_lambda=[lambda e: 1 / (1 + e), lambda e: min(1.0, (e + 1) / 4)]),
     lambda b, t, i: b * (1 / (1 + t) if i == 0 else min(1.0, (t + 1) / 4))),
    ("LinearLR", dict(), lambda b, t, i: b * (1 / 3 + (1 - 1 / 3) * min(t, 5) / 5)),
    ("LinearLR", dict(start_factor=0.25, total_iters=4), lambda b, t, i: b * (0.25 + 0.75 * min(t, 4) / 4)),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.1, total_iters=6),
     lambda b, t, i: b * (1.0 - 0.9 * min(t, 6) / 6)),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CASES)]


@pytest.mark.parametrize("name,kwargs,closed_form", CASES, ids=IDS)
def test_sequence_matches_closed_form(name, kwargs, closed_form):
    optimizer = make_optimizer()
    scheduler = getattr(lr_scheduler, name)(optimizer, **kwargs)
    lrs = sequence(scheduler, optimizer)
    expected = np.array([[closed_form(b, t, i) for i, b in enumerate(BASE_LRS)] for t in range(EPOCHS)])
    np.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(scheduler.closed_form_lr(), [closed_form(b, EPOCHS, i) for i, b in enumerate(BASE_LRS)],
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name,kwargs,closed_form", CASES, ids=IDS)
def test_sequence_matches_torch(name, kwargs, closed_form):
    torch = pytest.importorskip("torch")
    optimizer = make_optimizer()
    lrs = sequence(getattr(lr_scheduler, name)(optimizer, **kwargs), optimizer)
    torch_optimizer = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": lr}
                                       for lr in BASE_LRS], lr=1.0)
    torch_scheduler = getattr(torch.optim.lr_scheduler, name)(torch_optimizer, **kwargs)
    torch_lrs = []
    for _ in range(EPOCHS):
        torch_lrs.append(torch_scheduler.get_last_lr())
        torch_optimizer.step()
        torch_scheduler.step()
    np.testing.assert_allclose(lrs, np.array(torch_lrs), rtol=1e-14, atol=0)


def test_constructor_records_initial_lr_and_takes_the_first_step():
    optimizer = make_optimizer()
    scheduler = lr_scheduler.LinearLR(optimizer, start_factor=0.5, total_iters=2)
    assert scheduler.last_epoch == 0
    assert [g["initial_lr"] for g in optimizer.param_groups] == list(BASE_LRS)
    assert scheduler.base_lrs == list(BASE_LRS)
    assert scheduler.get_last_lr() == [0.05, 0.01]
    assert [g["lr"] for g in optimizer.param_groups] == [0.05, 0.01]
    # a second scheduler on the same optimizer keeps the first initial_lr as its base
    second = lr_scheduler.ExponentialLR(optimizer, gamma=0.5)
    assert second.base_lrs == list(BASE_LRS)


def test_learning_rate_reaches_the_optimizer_step():
    p = ad.tensor([0.0], requires_grad=True)
    optimizer = optim.SGD([p], lr=1.0)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    for _ in range(3):
        p.grad = ad.tensor([-1.0])
        optimizer.step()
        scheduler.step()
    np.testing.assert_allclose(p.data, [1.0 + 0.5 + 0.25])


def test_chained_schedulers_match_torch():
    torch = pytest.importorskip("torch")
    optimizer = make_optimizer()
    first = lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    second = lr_scheduler.MultiStepLR(optimizer, milestones=[3, 6], gamma=0.5)
    torch_optimizer = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": lr}
                                       for lr in BASE_LRS], lr=1.0)
    torch_first = torch.optim.lr_scheduler.ExponentialLR(torch_optimizer, gamma=0.9)
    torch_second = torch.optim.lr_scheduler.MultiStepLR(torch_optimizer, milestones=[3, 6], gamma=0.5)
    for epoch in range(12):
        np.testing.assert_allclose(second.get_last_lr(), torch_second.get_last_lr(), rtol=1e-14)
        np.testing.assert_allclose(second.get_last_lr(), [b * 0.9 ** epoch * 0.5 ** ((epoch >= 3) + (epoch >= 6))
                                                          for b in BASE_LRS], rtol=1e-12)
        optimizer.step()
        torch_optimizer.step()
        for s in (first, second, torch_first, torch_second):
            s.step()


@pytest.mark.parametrize("name,kwargs,closed_form", CASES, ids=IDS)
def test_state_dict_resumes_the_same_sequence(name, kwargs, closed_form):
    optimizer = make_optimizer()
    scheduler = getattr(lr_scheduler, name)(optimizer, **kwargs)
    sequence(scheduler, optimizer, 7)
    saved_optimizer = optimizer.state_dict()
    saved = json.loads(json.dumps(scheduler.state_dict()))  # plain data, no pickle needed

    fresh_optimizer = make_optimizer(lrs=(5.0, 5.0))
    fresh = getattr(lr_scheduler, name)(fresh_optimizer, **kwargs)
    fresh_optimizer.load_state_dict(saved_optimizer)
    fresh.load_state_dict(saved)
    assert fresh.last_epoch == scheduler.last_epoch == 7
    np.testing.assert_array_equal(sequence(fresh, fresh_optimizer, 12), sequence(scheduler, optimizer, 12))


def test_lambda_state_dict_keeps_callable_objects_state():
    class Warmup:
        def __init__(self, length):
            self.length = length

        def __call__(self, epoch):
            return min(1.0, (epoch + 1) / self.length)

    optimizer = make_optimizer()
    scheduler = lr_scheduler.LambdaLR(optimizer, [Warmup(4), lambda e: 1.0])
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [{"length": 4}, None]
    other = lr_scheduler.LambdaLR(make_optimizer(), [Warmup(10), lambda e: 1.0])
    other.load_state_dict(state)
    assert other.lr_lambdas[0].length == 4


def test_resuming_with_last_epoch_needs_initial_lr():
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(make_optimizer(), step_size=2, last_epoch=4)
    # as in PyTorch, the constructor's step keeps the (loaded) rate and only advances last_epoch
    optimizer = make_optimizer()
    for group in optimizer.param_groups:
        group["initial_lr"], group["lr"] = group["lr"], 0.9 * group["lr"]
    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=10, last_epoch=4)
    assert scheduler.last_epoch == 5 and scheduler.base_lrs == list(BASE_LRS)
    np.testing.assert_allclose(scheduler.get_last_lr(), [0.9 * b for b in BASE_LRS], rtol=1e-15)
    scheduler.step()
    ratio = (1 + math.cos(math.pi * 6 / 10)) / (1 + math.cos(math.pi * 5 / 10))
    np.testing.assert_allclose(scheduler.get_last_lr(), [ratio * 0.9 * b for b in BASE_LRS], rtol=1e-12)


def test_step_with_epoch_uses_the_closed_form():
    optimizer = make_optimizer()
    scheduler = lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
    scheduler.step(7)
    assert scheduler.last_epoch == 7
    np.testing.assert_allclose(scheduler.get_last_lr(), [b * 0.25 for b in BASE_LRS])


@pytest.mark.parametrize("make", [
    lambda o: lr_scheduler.StepLR(o, step_size=0),
    lambda o: lr_scheduler.StepLR(o, step_size=1.5),
    lambda o: lr_scheduler.MultiStepLR(o, milestones=[1.5]),
    lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=0),
    lambda o: lr_scheduler.LinearLR(o, start_factor=0.0),
    lambda o: lr_scheduler.LinearLR(o, end_factor=1.5),
    lambda o: lr_scheduler.LambdaLR(o, [lambda e: 1.0]),
    lambda o: lr_scheduler.LambdaLR(o, 0.5),
    lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0),
    lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="minimum"),
    lambda o: lr_scheduler.ReduceLROnPlateau(o, threshold_mode="relative"),
    lambda o: lr_scheduler.ReduceLROnPlateau(o, min_lr=[0.1]),
])
def test_bad_arguments(make):
    with pytest.raises(ValueError):
        make(make_optimizer())


def test_needs_an_optimizer():
    with pytest.raises(TypeError, match="Optimizer"):
        lr_scheduler.StepLR([ad.tensor([1.0], requires_grad=True)], step_size=1)


# ---- ReduceLROnPlateau -------------------------------------------------------------------------------
def test_plateau_by_hand():
    optimizer = make_optimizer()
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2, cooldown=1, min_lr=[0.02, 0.0])
    assert scheduler.get_last_lr() == list(BASE_LRS) and scheduler.last_epoch == 0
    lrs = []
    for metric in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5]:
        scheduler.step(ad.tensor(metric))
        lrs.append(scheduler.get_last_lr())
    # epochs 2-4 are bad (3 > patience 2): halve at 4; epoch 5 is cooldown; 6, 7 bad; 8 improves
    assert [lr[0] for lr in lrs] == [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.025]
    assert [lr[1] for lr in lrs] == [0.02, 0.02, 0.02, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.005]
    for _ in range(8):
        scheduler.step(0.5)
    assert scheduler.get_last_lr()[0] == 0.02  # min_lr floor
    assert scheduler.last_epoch == 19


def test_plateau_threshold_modes_by_hand():
    cases = [  # (mode, threshold_mode, best, improving value, not improving value)
        ("min", "rel", 10.0, 9.8, 9.95),    # needs < 10 * (1 - 0.01) = 9.9
        ("min", "abs", 10.0, 9.8, 9.95),    # needs < 10 - 0.1 = 9.9
        ("max", "rel", 10.0, 10.2, 10.05),  # needs > 10 * 1.01 = 10.1
        ("max", "abs", 10.0, 10.2, 10.05),  # needs > 10 + 0.1 = 10.1
    ]
    for mode, threshold_mode, best, better, not_better in cases:
        threshold = 0.01 if threshold_mode == "rel" else 0.1
        scheduler = lr_scheduler.ReduceLROnPlateau(make_optimizer(), mode=mode, threshold=threshold,
                                                   threshold_mode=threshold_mode, patience=0)
        scheduler.step(best)
        scheduler.step(better)
        assert scheduler.best == better and scheduler.get_last_lr() == list(BASE_LRS)
        scheduler.step(not_better)
        assert scheduler.best == better and scheduler.get_last_lr() == pytest.approx([0.01, 0.002])


def test_plateau_eps_skips_tiny_changes():
    scheduler = lr_scheduler.ReduceLROnPlateau(make_optimizer((1e-8, 1.0)), patience=0, eps=1e-8)
    scheduler.step(1.0)
    scheduler.step(2.0)
    assert scheduler.get_last_lr() == [1e-8, 0.1]


PLATEAU_CASES = [
    dict(),
    dict(patience=1, factor=0.5),
    dict(mode="max", patience=2, factor=0.3, cooldown=2),
    dict(threshold_mode="abs", threshold=0.05, patience=1, min_lr=0.004),
    dict(mode="max", threshold_mode="abs", threshold=0.01, patience=0, min_lr=[0.05, 0.0], eps=1e-3),
]


@pytest.mark.parametrize("kwargs", PLATEAU_CASES, ids=[str(k) for k in PLATEAU_CASES])
def test_plateau_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(1.0, 0.5, 10), 0.5 + 0.01 * rng.standard_normal(40),
                              np.linspace(0.5, 0.3, 10), 0.3 + 0.1 * rng.random(20)])
    optimizer = make_optimizer()
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, **kwargs)
    torch_optimizer = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": lr}
                                       for lr in BASE_LRS], lr=1.0)
    torch_scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_optimizer, **kwargs)
    reductions = 0
    for metric in metrics:
        before = scheduler.get_last_lr()
        scheduler.step(float(metric))
        torch_scheduler.step(float(metric))
        reductions += scheduler.get_last_lr() != before
        assert scheduler.get_last_lr() == torch_scheduler.get_last_lr()
        assert scheduler.num_bad_epochs == torch_scheduler.num_bad_epochs
        assert scheduler.cooldown_counter == torch_scheduler.cooldown_counter
    assert reductions > 0


def test_plateau_state_dict_round_trip():
    optimizer = make_optimizer()
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, patience=1, cooldown=1)
    for metric in [3.0, 2.0, 2.5, 2.5]:
        scheduler.step(metric)
    saved = json.loads(json.dumps(scheduler.state_dict()))
    other_optimizer = make_optimizer()
    other_optimizer.load_state_dict(optimizer.state_dict())
    other = lr_scheduler.ReduceLROnPlateau(other_optimizer)
    other.load_state_dict(saved)
    for metric in [2.5, 2.5, 2.5, 1.0, 1.0, 1.0]:
        scheduler.step(metric)
        other.step(metric)
        assert scheduler.get_last_lr() == other.get_last_lr()
