"""A custom loss from tensor ops: focal loss for binary classification, plus an L1/L2 penalty.

Run it (``python examples/custom_loss.py``) to see the focal loss pass ``ad.gradcheck`` in float64,
then a tiny model trained for a few steps on it with a weight penalty added. Import it and call
``main(quick=True)`` to get the numbers (tests do).

Focal loss (Lin et al., 2017) down-weights the examples a classifier already gets right:
    FL = alpha_t * (1 - p_t)^gamma * CE,   CE = -log p_t,
where p_t is the predicted probability of the true class. Any loss built from autodiff ops is
differentiable for free: no backward to write.
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
    print(f"focal(gamma=0, alpha=None) == BCE-with-logits: {results['matches_bce']}")
    print(f"loss {results['initial_loss']:.4f} -> {results['final_loss']:.4f} "
          f"(L1 + L2 penalty {100 * results['penalty_fraction']:.1f}% of it), "
          f"train accuracy {100 * results['accuracy']:.1f}%")
