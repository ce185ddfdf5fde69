"""Two moons: a small MLP learns a curved decision boundary, trained with nn and optim.Adam.

    python examples/moons.py   # trains, prints accuracies, writes examples-out/moons.png

scikit-learn's ``make_moons`` draws two interleaving half circles with Gaussian noise (std
0.15 here): no straight line separates them, but a 2-32-32-2 ReLU MLP bends its boundary
around them easily. The recipe is the standard one for classification:

* the model outputs 2 scores (logits) per point, one per class;
* ``F.cross_entropy`` turns them into probabilities with a softmax and takes −log of the true
  class's probability (fused into one stable op);
* Adam on shuffled mini-batches of 32, with held-out test points to measure what was learned
  rather than what was memorised.

Lesson: test accuracy ≥ 0.95 (the noise makes a few points land on the wrong moon, so 100% is
neither possible nor the goal).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import autodiff as ad  # noqa: E402
import nn  # noqa: E402
import optim  # noqa: E402
from nn import functional as F  # noqa: E402
from nn.data import DataLoader, TensorDataset  # noqa: E402
from examples.progress import progress  # noqa: E402


def load_moons(n=1000, noise=0.15, seed=0):
    """make_moons points as float32 (N, 2) and int64 labels (N,), split 70/30 into train and test."""
    try:
        from sklearn.datasets import make_moons
        from sklearn.model_selection import train_test_split
    except ImportError:
        sys.exit('this example needs scikit-learn: pip install -e ".[demo]"')
    X, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    return train_test_split(X.astype(np.float32), y.astype(np.int64), test_size=0.3, random_state=seed)


def accuracy(model, X, y):
    """Fraction of points whose highest-scoring class is the true one."""
    with ad.no_grad():
        return float((model(ad.tensor(X)).numpy().argmax(axis=1) == y).mean())


def train(epochs=30, lr=0.01, batch_size=32, seed=0, show_progress=False):
    """Train the MLP; returns (model, per-epoch mean training loss, the data split)."""
    X_train, X_test, y_train, y_test = load_moons()
    ad.manual_seed(seed)
    model = nn.MLP([2, 32, 32, 2], activation="relu")   # Linear, ReLU, Linear, ReLU, Linear
    optimizer = optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(X_train, y_train), batch_size=batch_size, shuffle=True, seed=seed)
    losses = []
    bar = progress(range(epochs), "moons epochs", enabled=show_progress)
    for _ in bar:
        total = 0.0
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)       # logits (B, 2) and labels (B,) -> mean loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
        losses.append(total / len(y_train))
        bar.set_postfix(loss=losses[-1])
    bar.close()
    return model, losses, (X_train, X_test, y_train, y_test)


def main(quick=False):
    """Train for 30 epochs (20 when ``quick``) and report accuracies. Returns a dict with
    ``train_accuracy``, ``test_accuracy``, ``losses``, ``model`` and ``data``."""
    model, losses, data = train(epochs=20 if quick else 30, show_progress=not quick)
    X_train, X_test, y_train, y_test = data
    results = {"model": model, "losses": losses, "data": data,
               "train_accuracy": accuracy(model, X_train, y_train),
               "test_accuracy": accuracy(model, X_test, y_test)}
    print(f"two moons (noise 0.15), {len(y_train)} training and {len(y_test)} test points, "
          f"{len(losses)} epochs of Adam")
    print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f}; train accuracy {results['train_accuracy']:.3f}, "
          f"test accuracy {results['test_accuracy']:.3f}  (lesson: test >= 0.95)")
    return results


def plot(results):
    """The decision boundary over the plane, with the test points."""
    from examples.plotting import pyplot, save
    plt = pyplot()
    if plt is None:
        return
    X_train, X_test, y_train, y_test = results["data"]
    xx, yy = np.meshgrid(np.linspace(-1.6, 2.6, 300), np.linspace(-1.2, 1.7, 300))
    grid = np.c_[xx.ravel(), yy.ravel()].astype(np.float32)
    with ad.no_grad():       # P(class 1) over the plane: the softmax of the two scores
        probability = ad.softmax(results["model"](ad.tensor(grid)), axis=1).numpy()[:, 1].reshape(xx.shape)
    figure, axes = plt.subplots(figsize=(6.5, 4.5))
    axes.contourf(xx, yy, probability, levels=20, cmap="RdBu_r", alpha=0.6)
    axes.contour(xx, yy, probability, levels=[0.5], colors="k")
    axes.scatter(X_test[:, 0], X_test[:, 1], c=y_test, cmap="RdBu_r", edgecolors="k", s=18)
    axes.set(title=f"decision boundary (black); test accuracy {results['test_accuracy']:.1%}",
             xlabel="$x_1$", ylabel="$x_2$")
    save(figure, "moons.png")


if __name__ == "__main__":
    plot(main())
