"""examples/custom_loss.py runs and its numbers hold."""
import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "examples", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_custom_loss_example():
    results = load_example("custom_loss").main(quick=True)
    assert results["gradcheck"] is True
    assert results["matches_bce"] is True
    assert results["penalty_grad_ok"] is True
    assert results["final_loss"] < 0.5 * results["initial_loss"]
    assert 0 < results["penalty_fraction"] < 1
    assert results["accuracy"] >= 0.9


def test_focal_loss_down_weights_easy_examples():
    import autodiff as ad
    example = load_example("custom_loss")
    logits = ad.tensor([4.0, 0.1], dtype="float64")        # an easy and a hard positive
    targets = ad.tensor([1.0, 1.0], dtype="float64")
    focal = example.focal_loss(logits, targets, alpha=None, gamma=2.0, reduction="none").data
    plain = example.focal_loss(logits, targets, alpha=None, gamma=0.0, reduction="none").data
    assert focal[0] / plain[0] < 1e-3 < focal[1] / plain[1]
