"""Smoke test of the benchmark: every engine computes the same thing, on tiny sizes.

Timings are never asserted here (they belong to ``python benchmarks/run.py``); this only keeps the
workloads honest: a benchmark of a wrong computation is worthless.
"""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))    # benchmarks/ is not installed

from benchmarks import run, workloads as w  # noqa: E402

ENGINES = ("numpy", "autodiff")
TINY_STEPS = [
    dict(sizes=(6, 5, 3), batch=4, activation="tanh", optimizer=("sgd", {"lr": 0.1})),
    dict(sizes=(6, 5, 3), batch=4, activation="tanh", optimizer=("sgd", {"lr": 0.1, "momentum": 0.9})),
    dict(sizes=(7, 8, 5, 3), batch=5, activation="relu", optimizer=("adam", {"lr": 1e-3})),
]


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("shape", [(4,), (3, 5)])
def test_chain_matches_its_op_table(shape):
    assert w.check_chain(shape, ENGINES) <= w.RTOL


@pytest.mark.parametrize("spec", TINY_STEPS, ids=["sgd", "momentum", "adam"])
def test_mlp_steps_agree(spec):
    assert w.check_mlp(engines=ENGINES, **spec) <= w.RTOL


def test_adam_steps_agree():
    assert w.check_adam_step(ENGINES) <= w.RTOL


@pytest.mark.parametrize("shape", [w.DEEP_SHAPE, w.DEEP_SCALAR_SHAPE], ids=["(1,)", "0-d"])
def test_deep_chain_agrees(shape):
    x, grad = (w._to_numpy(a) for a in w.deep_autodiff(200, shape)())
    assert grad.shape == shape and np.allclose(grad, w.DEEP_MUL ** 100, rtol=1e-12)
    assert w.check_deep(200, ENGINES, shape) <= 1e-9


def test_deep_reference_is_array_code_on_one_element_arrays():
    # on (1,) numpy keeps arrays (the reference the targets are set against); on 0-d it demotes
    # every result to an np.float64 scalar, which is why that row has no target
    x, grad = w.deep_numpy(4)()
    assert type(x) is np.ndarray and type(grad) is np.ndarray and x.shape == (1,)
    x, grad = w.deep_numpy(4, w.DEEP_SCALAR_SHAPE)()
    assert type(x) is np.float64


def test_torch_agrees(torch):
    engines = ENGINES + ("torch",)
    assert w.check_micrograd(engines + ("compiled",), steps=2) <= w.RTOL
    assert w.check_chain((3, 5), engines) <= w.RTOL
    for spec in TINY_STEPS:
        assert w.check_mlp(engines=engines, **spec) <= w.RTOL
    assert w.check_deep(200, engines) <= 1e-9
    assert w.check_deep(200, engines, w.DEEP_SCALAR_SHAPE) <= 1e-9
    assert w.check_adam_step(engines) <= w.RTOL


def test_training_runs_the_same_batches_in_every_engine():
    rng = np.random.default_rng(0)
    X = rng.random((40, 6), dtype=np.float32)
    y = rng.integers(0, 3, 40)
    data = (X[:30], y[:30], X[30:], y[30:])
    spec = dict(sizes=(6, 5, 3), batch=8, epochs=2, activation="relu",
                optimizer=("sgd", {"lr": 0.1, "momentum": 0.9}))
    (acc_np, loss_np), (acc_ad, loss_ad) = (w.train_digits(e, data, **spec) for e in ENGINES)
    assert acc_np == acc_ad
    assert loss_ad == pytest.approx(loss_np, rel=w.RTOL)


def test_digits_split():
    pytest.importorskip("sklearn")
    X_train, y_train, X_test, y_test = w.load_digits_split()
    assert X_train.shape == (1437, 64) and X_test.shape == (360, 64)
    assert X_train.dtype == np.float32 and 0.0 <= X_train.min() and X_train.max() <= 1.0
    assert np.bincount(y_test).min() >= 35      # stratified: every digit is in the test split


def test_agreement_check_catches_a_wrong_engine():
    right = [np.array([1.0, 2.0, 3.0])]
    wrong = [np.array([1.0, 2.0, 3.01])]
    assert w._agree("same", {"numpy": right, "autodiff": right}) == 0.0
    with pytest.raises(AssertionError, match="autodiff disagrees"):
        w._agree("different", {"numpy": right, "autodiff": wrong})


def test_harness_renders_a_table(monkeypatch):
    monkeypatch.setattr(run, "PAUSE_S", 0.0)
    monkeypatch.setitem(run.QUIET, "threshold", None)
    samples = run.measure({"numpy": lambda: 1, "autodiff": lambda: 2}, rounds=2, warmup_s=None)
    assert len(samples.times["numpy"]) == len(samples.times["autodiff"]) == 2
    assert samples.results == {"numpy": 1, "autodiff": 2}
    row = run.Row("demo", "s", {"numpy": 1.0, "autodiff": 2.0}, "≤ ×2.5", passed=True)
    text = run.table([row], ("numpy", "autodiff"))
    assert "| demo | s | 1.00 | 2.00 | ×2.00 | ≤ ×2.5 | pass |" in text
    # without torch installed (or the compiled engine run), their columns are still there and say so
    text = run.table([row], run.COLUMNS)
    assert "| demo | s | 1.00 | 2.00 | n/a | n/a | ×2.00 | — | — | ≤ ×2.5 | pass | — | — |" in text
    row = run.Row("step", "s", {"numpy": 1.0, "autodiff": 2.0, "compiled": 0.9}, "≤ ×2.5", passed=True,
                  compiled_target="≤ ×1.0", compiled_passed=True)
    assert "| step | s | 1.00 | 2.00 | 0.900 | n/a | ×2.00 | ×0.900 | — | ≤ ×2.5 | pass | ≤ ×1.0 | pass |" in (
        run.table([row], run.COLUMNS))


@pytest.mark.parametrize("spec", TINY_STEPS, ids=["sgd", "momentum", "adam"])
def test_compiled_steps_agree_with_numpy_and_equal_eager(spec):
    # the compiled engine: numpy's values to float32 rounding, autodiff's eager values to the bit
    assert w.check_mlp(engines=ENGINES + ("compiled",), **spec) <= w.RTOL
    assert w.check_mlp(engines=ENGINES + ("compiled",), form=w.MLP_PRIMITIVES, **spec) <= w.RTOL


def test_compiled_chain_agrees():
    assert w.check_chain((3, 5), ENGINES + ("compiled",)) <= w.RTOL


def test_micrograd_step_agrees():
    rng = np.random.default_rng(0)
    data = (rng.standard_normal((20, 2)).astype(np.float32), np.sign(rng.standard_normal((20, 1))).astype(np.float32))
    assert w.check_micrograd(ENGINES + ("compiled",), data=data, sizes=(2, 5, 4, 1)) <= w.RTOL


def test_micrograd_data_is_the_demo_s():
    pytest.importorskip("sklearn")
    X, y = w.moons(**{k: w.MICROGRAD_STEP[k] for k in ("samples", "noise", "seed")})
    assert X.shape == (100, 2) and y.shape == (100, 1) and set(np.unique(y)) == {-1.0, 1.0}


def test_cnn_steps_agree():
    # workload 7 on a batch of 5: the numpy reference, autodiff (and torch below) compute the
    # same losses, gradients and Adam updates
    assert w.check_cnn(batch=5, optimizer=("adam", {"lr": 3e-3}), engines=ENGINES) <= w.RTOL


def test_cnn_steps_agree_with_torch(torch):
    assert w.check_cnn(batch=5, optimizer=("adam", {"lr": 3e-3}), engines=ENGINES + ("torch",)) <= w.RTOL
