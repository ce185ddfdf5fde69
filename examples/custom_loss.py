"""A gallery of custom losses from tensor ops, plus a model trained on one with an L1/L2 penalty.

Run it (``python examples/custom_loss.py``) to see each loss pass ``ad.gradcheck`` in float64,
then a tiny model trained for a few steps on the focal loss with a weight penalty added. Import it
and call ``main(quick=True)`` to get the numbers (tests do, and compare each loss with PyTorch).

* Focal loss (Lin et al., 2017) down-weights the examples a classifier already gets right:
  FL = alpha_t (1 - p_t)^gamma CE, CE = -log p_t, p_t the predicted probability of the true class.
* Triplet margin loss (metric learning): an anchor should be closer to a positive than to a
  negative by a margin: max(0, ||a - p|| - ||a - n|| + margin).
* NT-Xent (SimCLR's contrastive loss): two views of each example, the other view is the one
  right answer among the 2N - 1 others, by cosine similarity over a temperature.
* KL with label smoothing: KL(q || softmax(logits)) for the smoothed target q = (1 - eps) one-hot
  + eps / C; it differs from label-smoothed cross-entropy by q's entropy, a constant.

Any loss built from autodiff ops is differentiable for free: no backward to write.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import autodiff as ad  # noqa: E402
import nn  # noqa: E402
from nn import functional as F  # noqa: E402


def focal_loss(logits, targets, alpha=0.25, gamma=2.0, reduction="mean"):
    """Binary focal loss of raw scores ``logits`` (N,) against 0/1 ``targets`` (N,).

    ``alpha`` weights the positive class (1 - alpha the negative; None for no weighting) and
    ``gamma`` focuses on hard examples; gamma = 0 and alpha = None is binary cross-entropy.
    """
    targets = targets if isinstance(targets, ad.Tensor) else ad.tensor(targets, dtype=logits.dtype)
    probs = ad.sigmoid(logits)
    # -log p_t from the stable fused formula (never log(0)), the rest from plain tensor ops
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = probs * targets + (1.0 - probs) * (1.0 - targets)
    loss = (1.0 - p_t) ** gamma * ce
    if alpha is not None:
        loss = (alpha * targets + (1.0 - alpha) * (1.0 - targets)) * loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def triplet_margin(anchor, positive, negative, margin=1.0, eps=1e-6):
    """max(0, ||a - p|| - ||a - n|| + margin), averaged over the rows of (N, D) embeddings
    (with PyTorch's eps added to the differences, so a zero distance has a gradient)."""
    to_positive = ad.linalg.vector_norm(anchor - positive + eps, dim=-1)
    to_negative = ad.linalg.vector_norm(anchor - negative + eps, dim=-1)
    return ad.clip(to_positive - to_negative + margin, min=0.0).mean()


def nt_xent(z1, z2, temperature=0.5):
    """SimCLR's normalized-temperature cross-entropy for two views (N, D) of N examples: each of
    the 2N embeddings must pick its other view among the 2N - 1 others by cosine similarity."""
    n = z1.shape[0]
    z = F.normalize(ad.cat([z1, z2]), dim=1)
    similarity = (z @ z.T) / temperature
    similarity = ad.masked_fill(similarity, np.eye(2 * n, dtype=bool), -np.inf)    # not oneself
    other_view = np.concatenate([np.arange(n, 2 * n), np.arange(n)])
    return F.cross_entropy(similarity, other_view)


def kl_label_smoothing(logits, labels, smoothing=0.1):
    """KL(q || softmax(logits)) per example, averaged ("batchmean"), for the smoothed targets
    q = (1 - smoothing) one_hot(labels) + smoothing / C."""
    classes = logits.shape[-1]
    target = F.one_hot(ad.tensor(labels), classes).astype(logits.dtype) * (1 - smoothing) + smoothing / classes
    return F.kl_div(ad.log_softmax(logits, dim=-1), target, reduction="batchmean")


def penalty(model, l1=0.0, l2=0.0):
    """l1 * sum |w| + l2 * sum w^2 over the weight matrices (biases are not penalised)."""
    total = 0.0
    for name, param in model.named_parameters():
        if name.endswith("weight"):
            if l1:
                total = total + l1 * ad.abs(param).sum()
            if l2:
                total = total + l2 * (param * param).sum()
    return total


def make_data(n, rng):
    """Two noisy interleaved half-moons-like clusters in 2-D with 0/1 labels (imbalanced 3:1)."""
    labels = (rng.random(n) < 0.25).astype(np.float64)
    angles = rng.uniform(0, np.pi, n)
    points = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    points[labels == 1] = points[labels == 1] * [1, -1] + [1.0, 0.4]
    return points + rng.normal(0, 0.1, points.shape), labels


def main(quick=True):
    """Check the focal loss's gradient, then train a small MLP with it plus an L1 + L2 penalty.

    Returns a dict with ``gradcheck`` (True), ``matches_bce`` (focal with gamma = 0 and no alpha
    equals binary cross-entropy), ``penalty_grad_ok`` (the L1 + L2 penalty's gradient is
    l1 sign(w) + 2 l2 w), the losses before and after training, the penalty's share of
    the final objective, and the training accuracy.
    """
    rng = np.random.default_rng(0)
    ad.manual_seed(0)

    logits = ad.tensor(rng.normal(0, 3, 8), dtype="float64", requires_grad=True)
    targets = ad.tensor((rng.random(8) < 0.5).astype(np.float64))
    checked = ad.gradcheck(lambda z: focal_loss(z, targets, alpha=0.25, gamma=2.0), logits)
    plain = focal_loss(logits, targets, alpha=None, gamma=0.0).item()
    bce = F.binary_cross_entropy_with_logits(logits, targets).item()

    # the rest of the gallery, each checked against finite differences in float64
    def embeddings(*shape):
        return ad.tensor(rng.normal(size=shape), dtype="float64", requires_grad=True)

    labels = rng.integers(0, 5, 6)
    gallery = {
        "triplet_margin": ad.gradcheck(triplet_margin, (embeddings(6, 4), embeddings(6, 4), embeddings(6, 4))),
        "nt_xent": ad.gradcheck(nt_xent, (embeddings(4, 3), embeddings(4, 3))),
        "kl_label_smoothing": ad.gradcheck(lambda z: kl_label_smoothing(z, labels), embeddings(6, 5)),
    }
    # KL to the smoothed target = label-smoothed cross-entropy minus the target's entropy
    scores = embeddings(6, 5)
    smoothed = np.full((6, 5), 0.1 / 5) + 0.9 * np.eye(5)[labels]
    entropy = -(smoothed * np.log(smoothed)).sum(axis=1).mean()
    kl_is_ce_minus_entropy = bool(abs(kl_label_smoothing(scores, labels).item() - (
        F.cross_entropy(scores, labels, label_smoothing=0.1).item() - entropy)) < 1e-12)

    points, labels = make_data(256 if quick else 2048, rng)
    x = ad.tensor(points, dtype="float32")
    y = ad.tensor(labels, dtype="float32")
    model = nn.MLP([2, 16, 16, 1], activation="tanh")
    params = list(model.parameters())
    velocity = [np.zeros_like(p.data) for p in params]
    steps, rate, momentum, l1, l2 = (60 if quick else 400), 0.5, 0.9, 1e-4, 1e-3

    # the penalty's gradient is l1 sign(w) + 2 l2 w, with nothing written by hand
    weight = model[0].weight
    (grad,) = ad.grad(penalty(model, l1=l1, l2=l2), weight)
    penalty_grad_ok = np.allclose(grad.data, l1 * np.sign(weight.data) + 2 * l2 * weight.data, atol=1e-7)

    def objective():
        scores = model(x).reshape(-1)
        data_loss = focal_loss(scores, y)
        reg = penalty(model, l1=l1, l2=l2)
        return data_loss, reg, data_loss + reg

    with ad.no_grad():
        initial = objective()[2].item()
    for _ in range(steps):
        _, _, total = objective()
        model.zero_grad()
        total.backward()
        with ad.no_grad():          # hand-written SGD with momentum on the arrays
            for p, v in zip(params, velocity):
                v *= momentum
                v += p.grad.data
                p.data -= rate * v
    with ad.no_grad():
        data_loss, reg, total = objective()
        accuracy = float(((model(x).data.reshape(-1) > 0) == (labels > 0.5)).mean())
    return {
        "gradcheck": bool(checked),
        "gallery_gradcheck": {name: bool(ok) for name, ok in gallery.items()},
        "kl_is_ce_minus_entropy": kl_is_ce_minus_entropy,
        "matches_bce": abs(plain - bce) < 1e-12,
        "penalty_grad_ok": bool(penalty_grad_ok),
        "initial_loss": initial,
        "final_loss": total.item(),
        "penalty_fraction": float(reg.item() / total.item()),
        "accuracy": accuracy,
    }


if __name__ == "__main__":
    results = main(quick="--full" not in sys.argv)
    print(f"focal loss gradcheck (float64): {'passed' if results['gradcheck'] else 'FAILED'}")
    for name, ok in results["gallery_gradcheck"].items():
        print(f"{name} gradcheck (float64): {'passed' if ok else 'FAILED'}")
    print(f"KL with label smoothing == smoothed cross-entropy - H(q): {results['kl_is_ce_minus_entropy']}")
    print(f"focal(gamma=0, alpha=None) == BCE-with-logits: {results['matches_bce']}")
    print(f"loss {results['initial_loss']:.4f} -> {results['final_loss']:.4f} "
          f"(L1 + L2 penalty {100 * results['penalty_fraction']:.1f}% of it), "
          f"train accuracy {100 * results['accuracy']:.1f}%")
