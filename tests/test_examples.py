"""The teaching examples in examples/ run and teach what they say: each ``main(quick=True)``
returns the numbers its lesson is about, and each plot is written (when matplotlib is there)."""
import importlib
import os

import numpy as np
import pytest


def example(name):
    return importlib.import_module(f"examples.{name}")


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Run these tests with one BLAS thread. The examples' matrices are tiny, and OpenBLAS's
    threads cost more than they save on them: on a busy 2-core machine the digits demo took
    0.5-5 s per training with 2 threads and a steady 0.2 s with 1. threadpoolctl comes with
    scikit-learn; without it the tests run as they are (only slower)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture
def plot_into(tmp_path, monkeypatch):
    """Call an example's plot(results) with examples-out/ redirected to tmp_path; return the path
    of the PNG it wrote (or skip without matplotlib)."""
    pytest.importorskip("matplotlib")
    plotting = example("plotting")
    monkeypatch.setattr(plotting, "OUT_DIR", str(tmp_path))

    def run(module, results, name):
        module.plot(results)
        path = tmp_path / name
        assert path.is_file() and path.stat().st_size > 1000, f"{name} was not written"
        return path
    return run


def test_xor(plot_into):
    xor = example("xor")
    results = xor.main(quick=True)
    assert results["final_loss"] < 0.05
    assert results["final_loss"] < results["losses"][0] / 4
    assert (results["outputs"] > 0.5).tolist() == [False, True, True, False]
    assert results["stalled_loss"] > 0.1          # the documented stalling seed does stall
    plot_into(xor, results, "xor.png")


def test_linear_regression(plot_into):
    linear_regression = example("linear_regression")
    results = linear_regression.main(quick=True)
    assert results["error_hand"] < 1e-3
    assert results["error_nn"] < 1e-3
    assert results["with_nn"].dtype == np.float64
    plot_into(linear_regression, results, "linear_regression.png")


def test_gd_vs_sgd(plot_into):
    gd_vs_sgd = example("gd_vs_sgd")
    results = gd_vs_sgd.main(quick=True)
    gd, sgd = results["gd"], results["sgd"]
    assert len(gd) == len(sgd) == 6                 # the initial loss and 5 epochs
    assert gd[0] == sgd[0]                          # same start
    assert sgd[-1] < gd[-1]
    assert sgd[-1] < 0.5 * gd[-1]                   # and not by a hair
    assert sgd[-1] >= results["best"] - 1e-9        # nobody beats least squares
    plot_into(gd_vs_sgd, results, "gd_vs_sgd.png")


def test_optimizers(plot_into):
    optimizers = example("optimizers")
    results = optimizers.main(quick=True)
    assert set(results) == {"SGD", "SGD + momentum", "Nesterov", "RMSprop", "Adagrad", "Adam"}
    assert all(len(r["losses"]) == optimizers.STEPS + 1 for r in results.values())
    sgd = results["SGD"]["final"]
    assert results["Adam"]["final"] < sgd
    assert results["SGD + momentum"]["final"] < sgd
    plot_into(optimizers, results, "optimizers.png")


def test_optimizers_tuned_lrs_match_the_table():
    optimizers = example("optimizers")
    best, _ = optimizers.tune("SGD")
    assert best == optimizers.BEST_LR["SGD"]


def test_lr_schedules(plot_into):
    lr_schedules = example("lr_schedules")
    results = lr_schedules.main(quick=True)
    constant = results["constant"]
    assert all(lr == lr_schedules.LR for lr in constant["lrs"])
    for name in ("StepLR", "ExponentialLR", "CosineAnnealingLR"):
        assert results[name]["lrs"][-1] < lr_schedules.LR / 50, name     # it did decay
        assert results[name]["final"] < constant["final"], name
    plot_into(lr_schedules, results, "lr_schedules.png")


def test_init_and_vanishing(plot_into):
    init_and_vanishing = example("init_and_vanishing")
    results = init_and_vanishing.main(quick=True)
    # vanishing: the deep sigmoid net's first layer gets far less gradient than its last
    assert results[("sigmoid", "small")]["ratio"] < 0.1
    assert results[("sigmoid", "unit")]["ratio"] < 0.1
    # good init keeps first and last layers' gradients, and the activations, in proportion
    for case in (("tanh", "xavier"), ("relu", "he")):
        r = results[case]
        assert 0.5 < r["ratio"] < 2, case
        assert 0.5 < r["stds"][-1] / r["stds"][0] < 2, case
    # and the naive ReLU inits die out or blow up
    assert results[("relu", "small")]["stds"][-1] < 1e-3
    assert results[("relu", "unit")]["stds"][-1] > 1e3
    plot_into(init_and_vanishing, results, "init_and_vanishing.png")


def test_regularization(plot_into):
    regularization = example("regularization")
    results = regularization.main(quick=True)
    none, l2, l1 = results["none"], results["L2"], results["L1"]
    assert l1["zeros"] > none["zeros"]
    assert l1["zeros"] > l2["zeros"]
    assert l2["norm"] < none["norm"]
    assert l2["test"] < none["test"]
    assert l1["test"] < none["test"]
    assert none["train"] < l2["train"] and none["train"] < l1["train"]    # overfitting: best on train
    assert results["weight_decay_matches"]
    plot_into(regularization, results, "regularization.png")


def test_custom_op():
    custom_op = example("custom_op")
    results = custom_op.main(quick=True)
    assert results["wrong_raised"]
    assert "WrongSoftplus" in results["wrong_message"]
    assert results["right_gradcheck"] is True
    assert results["right_gradgradcheck"] is True
    assert results["forgetful_passes_on_sum"] and results["forgetful_caught_on_output"]
    assert results["op_at_1000"] == 1000.0 and results["composed_at_1000"] == np.inf


def test_moons(plot_into):
    pytest.importorskip("sklearn")
    moons = example("moons")
    results = moons.main(quick=True)
    assert results["test_accuracy"] >= 0.95
    assert results["losses"][-1] < results["losses"][0] / 4
    plot_into(moons, results, "moons.png")


def test_custom_loss():
    results = example("custom_loss").main(quick=True)
    assert results["gradcheck"] and results["matches_bce"] and results["penalty_grad_ok"]
    assert results["final_loss"] < 0.5 * results["initial_loss"]
    assert results["accuracy"] >= 0.9


def test_demo_train():
    pytest.importorskip("sklearn")
    _, history, test_accuracy = example("demo").train(epochs=30, show_progress=False)
    assert test_accuracy >= 0.97
    assert len(history["loss"]) == 30


def test_demo_main_writes_its_pictures(tmp_path, capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    example("demo").main(["--out", str(tmp_path)])
    assert (tmp_path / "loss.png").is_file()
    try:
        import graphviz  # noqa: F401  (the graph picture needs the viz extra)
    except ImportError:
        assert "graph picture skipped" in capsys.readouterr().out
    else:
        svg = (tmp_path / "graph.svg").read_text()
        assert svg.lstrip().startswith("<") and "</svg>" in svg


def test_examples_write_nothing_into_the_repository():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, ".gitignore")) as handle:
        assert "examples-out/" in handle.read().split()
