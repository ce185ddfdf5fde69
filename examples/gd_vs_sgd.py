"""Full-batch gradient descent vs mini-batch SGD, at the same number of passes over the data.

    python examples/gd_vs_sgd.py   # prints the loss per epoch for both, writes examples-out/gd_vs_sgd.png

The problem is least squares (a linear model, mean squared error) on 1000 examples with 10
features of very different scales, so the loss is an ill-conditioned quadratic bowl.

Both runs use the same model, the same initial weights and the same learning rate, 1/L, where L
is the largest curvature (eigenvalue of the Hessian) of the loss: the classic safe step for
gradient descent on a quadratic. The only difference is the batch size of the DataLoader:

* gradient descent (GD): batch_size = 1000, so an epoch is 1 exact step;
* mini-batch SGD:        batch_size = 20, so an epoch is 50 noisy steps.

Both touch every example once per epoch, so an epoch costs about the same arithmetic either way.
GD spends it on one careful step; SGD on fifty rough ones, and fifty rough steps downhill get much
further than one careful step. That is why nearly all deep learning trains on mini-batches.

Lesson: after the same small number of epochs, mini-batch SGD reaches a lower loss than GD.

The catch, visible in the full run (``python examples/gd_vs_sgd.py``): at a constant learning
rate SGD stops improving at a noise floor a little above the best possible loss, bouncing around
the minimum, while GD keeps creeping down (and, given enough epochs, would reach the optimum).
A decaying learning rate removes the floor (see examples/lr_schedules.py and
examples/linear_regression.py).
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


def make_data(n=1000, d=10, seed=0):
    """X: (n, d) normal features scaled from 0.3 to 3 (an ill-conditioned problem); y = X w + 0.5
    + noise, as a column. float64."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.linspace(0.3, 3.0, d)
    y = X @ rng.normal(size=d) + 0.5 + rng.normal(0.0, 0.3, n)
    return X, y.reshape(-1, 1)


def largest_curvature(X):
    """L, the largest eigenvalue of the Hessian of mean((X w + b − y)²): 2/n · AᵀA with A = [X 1].
    Gradient descent on a quadratic converges for any lr < 2/L; lr = 1/L is the textbook choice."""
    design = np.c_[X, np.ones(len(X))]
    return float(np.linalg.eigvalsh(2.0 / len(X) * design.T @ design).max())


def train(X, y, batch_size, lr, epochs, seed=0):
    """Train nn.Linear with optim.SGD on batches of ``batch_size``; return the loss on the whole
    data set before training and after each epoch."""
    ad.manual_seed(seed)                          # same initial weights for every run
    model = nn.Linear(X.shape[1], 1, dtype="float64")
    optimizer = optim.SGD(model.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True, seed=seed)
    x_all, y_all = ad.tensor(X), ad.tensor(y)

    def full_loss():
        with ad.no_grad():
            return F.mse_loss(model(x_all), y_all).item()

    losses = [full_loss()]
    for _ in range(epochs):
        for xb, yb in loader:                     # GD: one batch per epoch; SGD: many
            loss = F.mse_loss(model(xb), yb)      # the loss (and so the gradient) of this batch
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        losses.append(full_loss())
    return losses


def main(quick=False):
    """Run GD and SGD for 5 epochs (30 when not ``quick``) and print the loss per epoch.
    Returns both loss histories, the best possible loss and the learning rate."""
    X, y = make_data()
    epochs = 5 if quick else 30
    lr = 1.0 / largest_curvature(X)
    design = np.c_[X, np.ones(len(X))]
    best = float(np.mean((design @ np.linalg.lstsq(design, y, rcond=None)[0] - y) ** 2))
    gd = train(X, y, batch_size=len(X), lr=lr, epochs=epochs)
    sgd = train(X, y, batch_size=20, lr=lr, epochs=epochs)
    print(f"least squares, {len(X)} examples; lr = 1/L = {lr:.4f} for both; best possible loss {best:.4f}")
    print("epoch   GD (1 step/epoch)   SGD (50 steps/epoch)")
    for epoch, (a, b) in enumerate(zip(gd, sgd)):
        print(f"{epoch:5d}   {a:17.4f}   {b:20.4f}")
    print(f"lesson: after 5 epochs SGD's loss {sgd[5]:.4f} < GD's {gd[5]:.4f}")
    return {"gd": gd, "sgd": sgd, "best": best, "lr": lr}


def plot(results):
    """Loss per epoch for both, on a log axis, with the best possible loss."""
    from examples.plotting import pyplot, save
    plt = pyplot()
    if plt is None:
        return
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(results["gd"], "o-", color="#3b528b", label="gradient descent (batch = all 1000)")
    axes.plot(results["sgd"], "s-", color="#d95f02", label="mini-batch SGD (batch = 20)")
    axes.axhline(results["best"], color="gray", linestyle="--", label="least-squares optimum")
    axes.set(title="same lr, same passes over the data", xlabel="epoch", ylabel="training loss (MSE)",
             yscale="log")
    axes.legend()
    save(figure, "gd_vs_sgd.png")


if __name__ == "__main__":
    plot(main())
