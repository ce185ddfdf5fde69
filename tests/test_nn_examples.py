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


def test_custom_loss_gallery_passes_its_gradchecks():
    results = load_example("custom_loss").main(quick=True)
    assert results["gallery_gradcheck"] == {"triplet_margin": True, "nt_xent": True, "kl_label_smoothing": True}
    assert results["kl_is_ce_minus_entropy"] is True


def test_custom_loss_gallery_matches_torch():
    import numpy as np
    import pytest
    import autodiff as ad
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    example = load_example("custom_loss")
    rng = np.random.default_rng(5)

    def compare(ours, theirs, *arrays, constants=()):
        mine = [ad.tensor(a, requires_grad=True) for a in arrays]
        reference = [torch.tensor(a, requires_grad=True) for a in arrays]
        value, expected = ours(*mine, *constants), theirs(*reference, *constants)
        np.testing.assert_allclose(value.item(), expected.item(), rtol=1e-10)
        value.backward()
        expected.backward()
        for m, r in zip(mine, reference):
            np.testing.assert_allclose(m.grad.data, r.grad.numpy(), rtol=1e-9, atol=1e-12)

    def torch_focal(logits, targets, alpha=0.25, gamma=2.0):      # torchvision's sigmoid_focal_loss
        p = torch.sigmoid(logits)
        ce = tf.binary_cross_entropy_with_logits(logits, targets, reduction="none")
        p_t = p * targets + (1 - p) * (1 - targets)
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        return (alpha_t * (1 - p_t) ** gamma * ce).mean()

    def torch_nt_xent(z1, z2, temperature=0.5):
        n = z1.shape[0]
        z = tf.normalize(torch.cat([z1, z2]), dim=1)
        similarity = (z @ z.T / temperature).masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
        return tf.cross_entropy(similarity, torch.cat([torch.arange(n, 2 * n), torch.arange(n)]))

    def torch_kl(logits, labels, smoothing=0.1):
        classes = logits.shape[-1]
        q = tf.one_hot(torch.tensor(labels), classes).double() * (1 - smoothing) + smoothing / classes
        return tf.kl_div(torch.log_softmax(logits, -1), q, reduction="batchmean")

    targets = (rng.random(8) < 0.5).astype(np.float64)
    compare(lambda z: example.focal_loss(z, ad.tensor(targets)), lambda z: torch_focal(z, torch.tensor(targets)),
            rng.normal(0, 3, 8))
    compare(example.triplet_margin, tf.triplet_margin_loss, *(rng.normal(size=(6, 4)) for _ in range(3)))
    compare(example.nt_xent, torch_nt_xent, rng.normal(size=(4, 3)), rng.normal(size=(4, 3)))
    labels = rng.integers(0, 5, 6)
    compare(example.kl_label_smoothing, torch_kl, rng.normal(size=(6, 5)), constants=(labels,))
