"""Linear regression two ways: by hand with raw tensors, then with nn.Linear, optim.SGD and a
DataLoader. Both land on the least-squares solution.

    python examples/linear_regression.py   # prints both fits, writes examples-out/linear_regression.png

The model is ŷ = X w + b and the loss the mean squared error J(w, b) = mean((ŷ − y)²). Its exact
minimiser is the least-squares solution, which numpy computes directly (np.linalg.lstsq); here
gradient descent finds it step by step, as it would for a model with no closed form.

(a) By hand: w and b are leaf tensors with requires_grad=True. Each step builds J, calls
    backward() to get ∇J, and writes the update θ ← θ − α ∇J(θ) inside ``ad.no_grad()`` (the
    update itself must not become part of the next step's graph).
(b) The same model as ``nn.Linear(3, 1)``, trained by ``optim.SGD`` on shuffled mini-batches of
    20 rows. A mini-batch gradient is a noisy estimate of ∇J, so with a constant step the
    parameters keep jittering around the minimum; a step size that decays like α / (1 + t/2)
    (Robbins-Monro: Σ α_t = ∞ so it can still travel, Σ α_t² < ∞ so the noise dies out) lets
    them settle.

Lesson: both fits agree with np.linalg.lstsq to within 1e-3 on every parameter (float64).
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

TRUE_W, TRUE_B = np.array([2.0, -3.0, 0.5]), 1.0


def make_data(n=200, noise=0.5, seed=0):
    """n rows of 3 standard-normal features; y = X·[2, −3, 0.5] + 1 + N(0, noise²). float64."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = X @ TRUE_W + TRUE_B + rng.normal(0.0, noise, n)
    return X, y.reshape(-1, 1)            # y as a column, the shape the model outputs


def least_squares(X, y):
    """The exact minimiser [w..., b] of the mean squared error, from numpy (a column of ones
    in the design matrix stands for the bias)."""
    design = np.c_[X, np.ones(len(X))]
    return np.linalg.lstsq(design, y.reshape(-1), rcond=None)[0]


def fit_by_hand(X, y, lr=0.1, steps=200):
    """(a) Gradient descent with raw tensors and the update written out. Returns ([w..., b], losses)."""
    x_t, y_t = ad.tensor(X), ad.tensor(y)              # float64 arrays stay float64
    w = ad.zeros(3, 1, dtype="float64", requires_grad=True)
    b = ad.zeros(1, dtype="float64", requires_grad=True)
    losses = []
    for _ in range(steps):
        loss = ((x_t @ w + b - y_t) ** 2).mean()       # J(w, b)
        w.grad = b.grad = None                         # gradients accumulate: start from nothing
        loss.backward()                                # w.grad = ∂J/∂w, b.grad = ∂J/∂b
        with ad.no_grad():                             # θ ← θ − α ∇J(θ), off the graph
            w.data -= lr * w.grad.data
            b.data -= lr * b.grad.data
        losses.append(loss.item())
    return np.r_[w.data.reshape(-1), b.data], losses


def fit_with_nn(X, y, lr=0.1, epochs=100, batch_size=20, seed=0, show_progress=False):
    """(b) nn.Linear + optim.SGD over shuffled mini-batches, lr decaying as lr / (1 + epoch/2).
    Returns ([w..., b], per-epoch losses on the whole data set)."""
    ad.manual_seed(seed)                               # nn.Linear's initial weights
    model = nn.Linear(3, 1, dtype="float64")
    optimizer = optim.SGD(model.parameters(), lr=lr)
    # LambdaLR sets lr = base lr × the function of the epoch count, at each scheduler.step()
    scheduler = optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0 / (1.0 + epoch / 2))
    loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True, seed=seed)
    x_all, y_all = ad.tensor(X), ad.tensor(y)
    losses = []
    bar = progress(range(epochs), "SGD epochs", enabled=show_progress)
    for _ in bar:
        for xb, yb in loader:                          # one pass over the data = one epoch
            loss = F.mse_loss(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        scheduler.step()                               # decay once per epoch
        with ad.no_grad():
            losses.append(F.mse_loss(model(x_all), y_all).item())
        bar.set_postfix(loss=losses[-1], lr=scheduler.get_last_lr()[0])
    bar.close()
    return np.r_[model.weight.data.reshape(-1), model.bias.data], losses


def main(quick=False):
    """Fit both ways and compare with least squares. ``quick`` changes nothing (both take well
    under a second). Returns the three solutions and each fit's largest parameter error."""
    X, y = make_data()
    exact = least_squares(X, y)
    by_hand, hand_losses = fit_by_hand(X, y)
    with_nn, nn_losses = fit_with_nn(X, y, show_progress=not quick)
    error_hand = float(np.abs(by_hand - exact).max())
    error_nn = float(np.abs(with_nn - exact).max())
    np.set_printoptions(precision=5, suppress=True)
    print(f"true parameters      [w1 w2 w3 b] = {np.r_[TRUE_W, TRUE_B]}")
    print(f"least squares (numpy)              = {exact}")
    print(f"(a) raw tensors, 200 GD steps      = {by_hand}   max error {error_hand:.1e}")
    print(f"(b) nn.Linear + SGD, 100 epochs    = {with_nn}   max error {error_nn:.1e}")
    print("lesson: both max errors < 1e-3")
    return {"exact": exact, "by_hand": by_hand, "with_nn": with_nn, "error_hand": error_hand,
            "error_nn": error_nn, "hand_losses": hand_losses, "nn_losses": nn_losses}


def plot(results):
    """The training loss of both fits, each against its own clock."""
    from examples.plotting import pyplot, save
    plt = pyplot()
    if plt is None:
        return
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    X, y = make_data()
    exact = results["exact"]
    best = float(np.mean((np.c_[X, np.ones(len(X))] @ exact - y.reshape(-1)) ** 2))
    for axes, losses, title, unit in ((left, results["hand_losses"], "(a) raw tensors, full batch", "step"),
                                      (right, results["nn_losses"], "(b) nn.Linear + SGD, batches of 20", "epoch")):
        # the excess loss bottoms out at float64's rounding (~1e-16): clip it there for the log axis
        axes.plot(np.maximum(np.asarray(losses) - best, 1e-16), color="#3b528b")
        axes.set(title=title, xlabel=unit, ylabel="loss − least-squares loss", yscale="log")
    save(figure, "linear_regression.png")


if __name__ == "__main__":
    plot(main())
