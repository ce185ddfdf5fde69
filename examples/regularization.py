"""L1 and L2 regularization on an overfitting problem: a degree-15 polynomial through 20 noisy points.

    python examples/regularization.py   # prints the table, writes examples-out/regularization.png

The data: 20 points x ~ U(−1, 1), y = sin(πx) + N(0, 0.2²). The model: a linear model on 15
polynomial features of x, plus a bias. With 16 parameters for 20 noisy points it can bend to
chase the noise, and does: tiny training error, a wiggly curve, a large test error (measured
against the noise-free sin(πx) on a fine grid).

The features are Chebyshev polynomials T₁(x), ..., T₁₅(x). They span exactly the same functions
as x, x², ..., x¹⁵, but on [−1, 1] they are far better conditioned (powers of x look alike near
0 and ±1), so gradient descent reaches the overfit in a few thousand steps instead of millions.

Regularization adds a penalty on the weights to the loss (biases are not penalized):

* L2 (ridge):  J + λ Σ w²  — its gradient 2λw pulls each weight toward 0 in proportion to its
  size, so large weights shrink a lot and small ones barely: weights get small, rarely exactly 0.
* L1 (lasso):  J + λ Σ |w| — its gradient λ·sign(w) pulls every weight toward 0 at the same
  speed however small it is, so weights that do not earn their keep are driven to (near) 0: a
  sparse model. (Near: ~1e-7 here. Gradient steps only hover at 0; exact zeros take a proximal
  step, soft thresholding, as in scikit-learn's Lasso.)

The L2 penalty is what optimizers call (coupled) weight decay: ``optim.Adam(..., weight_decay=wd)``
adds wd·w to the gradient, the gradient of (wd/2) Σ w². ``main`` checks that training with
weight_decay = 2λ on the weights' parameter group gives the same weights as the explicit penalty.

All runs: Adam, lr 0.01 annealed to 0 by a cosine schedule (so L1's weights can settle at 0
rather than hop around it), 3000 full-batch steps, from zero weights. Without a penalty the fit
does not go all the way to the least-squares solution (whose test error is in the hundreds): a
finite number of gradient steps is itself a mild regularizer. It still overfits plainly.

Lesson: L1 drives more weights to (near) zero than no penalty or L2; L2 gives a smaller weight
norm than no penalty; both regularized fits have a lower test error than the unregularized one.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import autodiff as ad  # noqa: E402
import nn  # noqa: E402
import optim  # noqa: E402
from nn import functional as F  # noqa: E402

DEGREE = 15
LAMBDA = 1e-2            # the penalty's strength, for both L1 and L2
NEAR_ZERO = 1e-3         # a weight below this in size counts as zero


def features(x):
    """(n,) -> (n, DEGREE): Chebyshev polynomials T_1(x) .. T_DEGREE(x) (T_0 = 1 is the bias)."""
    return np.polynomial.chebyshev.chebvander(x, DEGREE)[:, 1:]


def make_data(n_train=20, noise=0.2, seed=0):
    """Noisy training points of sin(πx), and a noise-free test grid of 500 points. float64."""
    rng = np.random.default_rng(seed)
    x_train = rng.uniform(-1, 1, n_train)
    y_train = np.sin(np.pi * x_train) + rng.normal(0.0, noise, n_train)
    x_test = np.linspace(-1, 1, 500)
    return x_train, y_train.reshape(-1, 1), x_test, np.sin(np.pi * x_test).reshape(-1, 1)


def penalty(weight, kind):
    """λ Σ|w| (L1), λ Σ w² (L2), or 0."""
    if kind == "L1":
        return LAMBDA * ad.abs(weight).sum()
    if kind == "L2":
        return LAMBDA * (weight * weight).sum()
    return 0.0


def fit(X, y, kind="none", weight_decay=0.0, steps=3000, lr=0.01):
    """Train nn.Linear(DEGREE, 1) on (X, y) with MSE + penalty(kind), full batch. With
    ``weight_decay`` the weights (not the bias) get Adam's coupled weight decay instead."""
    model = nn.Linear(DEGREE, 1, dtype="float64")
    nn.init.zeros_(model.weight)                     # start from the flat line: no initial bias
    nn.init.zeros_(model.bias)
    # two parameter groups, so that only the weights are decayed
    optimizer = optim.Adam([{"params": [model.weight], "weight_decay": weight_decay},
                            {"params": [model.bias]}], lr=lr)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    x_t, y_t = ad.tensor(X), ad.tensor(y)
    for _ in range(steps):
        loss = F.mse_loss(model(x_t), y_t) + penalty(model.weight, kind)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()                             # stepped per step here: T_max = steps
    return model


def mse(model, X, y):
    with ad.no_grad():
        return F.mse_loss(model(ad.tensor(X)), ad.tensor(y)).item()


def main(quick=False):
    """Fit with no penalty, L2 and L1 (and L2 as weight decay). ``quick`` changes nothing: each
    fit takes a fraction of a second. Returns {kind: {"weights", "train", "test", "norm",
    "zeros", "model"}} and "weight_decay_matches"."""
    x_train, y_train, x_test, y_test = make_data()
    X_train, X_test = features(x_train), features(x_test)
    results = {}
    for kind in ("none", "L2", "L1"):
        model = fit(X_train, y_train, kind)
        weights = model.weight.data.reshape(-1).copy()
        results[kind] = {"model": model, "weights": weights, "train": mse(model, X_train, y_train),
                         "test": mse(model, X_test, y_test), "norm": float(np.linalg.norm(weights)),
                         "zeros": int((np.abs(weights) < NEAR_ZERO).sum())}
    decayed = fit(X_train, y_train, weight_decay=2 * LAMBDA).weight.data.reshape(-1)
    results["weight_decay_matches"] = bool(np.allclose(decayed, results["L2"]["weights"], rtol=0, atol=1e-8))

    print(f"degree-{DEGREE} polynomial, {len(x_train)} noisy points; λ = {LAMBDA}")
    print(f"{'penalty':8s} {'train MSE':>10s} {'test MSE':>10s} {'‖w‖':>7s} {'|w| < ' + str(NEAR_ZERO):>12s}")
    for kind in ("none", "L2", "L1"):
        r = results[kind]
        print(f"{kind:8s} {r['train']:10.4f} {r['test']:10.4f} {r['norm']:7.3f} {r['zeros']:>7d} of {DEGREE}")
    print(f"Adam(weight_decay=2λ) gives the L2 fit's weights: {results['weight_decay_matches']}")
    print("lesson: L1 has the most zeros; L2's ‖w‖ < none's; both test MSEs < none's")
    return results


def plot(results):
    """The three fits over the data (left) and |weight| per degree (right)."""
    from examples.plotting import pyplot, save
    plt = pyplot()
    if plt is None:
        return
    x_train, y_train, x_test, y_test = make_data()
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.plot(x_test, y_test, "k--", linewidth=1, label="sin(πx), the truth")
    left.scatter(x_train, y_train, color="k", zorder=3, label="training points")
    colors = {"none": "#d95f02", "L2": "#3b528b", "L1": "#21918c"}
    degrees = np.arange(1, DEGREE + 1)
    for offset, kind in zip((-0.27, 0, 0.27), ("none", "L2", "L1")):
        r = results[kind]
        with ad.no_grad():
            curve = r["model"](ad.tensor(features(x_test))).numpy()
        left.plot(x_test, curve, color=colors[kind], label=f"{kind}: test MSE {r['test']:.3f}")
        right.bar(degrees + offset, np.maximum(np.abs(r["weights"]), 1e-6), width=0.27,
                  color=colors[kind], label=kind)
    left.set(title="fits", xlabel="x", ylim=(-2, 2))
    left.legend(fontsize="small")
    right.axhline(NEAR_ZERO, color="gray", linestyle=":", label=f"'zero' below {NEAR_ZERO}")
    right.set(title="|weight| of each Chebyshev feature (bars at 1e-6: below it)", xlabel="degree",
              yscale="log", xticks=degrees, ylim=(5e-7, 50))
    right.legend(fontsize="small", loc="upper center", ncols=4)
    save(figure, "regularization.png")


if __name__ == "__main__":
    plot(main())
