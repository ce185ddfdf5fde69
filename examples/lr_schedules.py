"""Learning-rate schedules: a large constant lr vs StepLR, ExponentialLR and CosineAnnealingLR.

    python examples/lr_schedules.py   # prints the final losses, writes examples-out/lr_schedules.png

The task is noisy on purpose: fit y = sin(2x) + noise (noise std 0.3, so no model can get the
mean squared error below about 0.09 on fresh data) with a small tanh MLP, trained by SGD with
momentum on mini-batches of 16. Each mini-batch gradient is the true gradient plus noise, and
each step moves the weights by lr × that noise. So:

* with a large constant lr, training makes fast progress at first and then keeps bouncing around
  the minimum, never settling: the loss stalls at a floor set by lr × noise, and jumps about;
* with a schedule, lr starts just as large (fast early progress) and shrinks later, so the
  bouncing shrinks with it and the weights settle near the bottom.

The schedules, all stepped once per epoch with ``scheduler.step()`` after the epoch's batches:

* StepLR(step_size=E/3, gamma=0.1): lr × 0.1 every third of the run (a staircase);
* ExponentialLR(gamma): lr × gamma every epoch, with gamma chosen to end at 1% of the start;
* CosineAnnealingLR(T_max=E): lr follows half a cosine from its start down to 0 at epoch E.

Every run starts from the same weights and sees the same batches in the same order, so the
schedule is the only difference.

Lesson: every decaying schedule ends at a lower training loss than the same large lr held
constant.
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
from optim import lr_scheduler  # noqa: E402

LR = 0.1            # large for this problem: fast at first, too jumpy to settle

# name -> the scheduler for an optimizer and a run of ``epochs`` epochs (None: keep lr constant)
SCHEDULES = {
    "constant": lambda optimizer, epochs: None,
    "StepLR": lambda optimizer, epochs: lr_scheduler.StepLR(optimizer, step_size=epochs // 3, gamma=0.1),
    "ExponentialLR": lambda optimizer, epochs: lr_scheduler.ExponentialLR(optimizer, gamma=0.01 ** (1 / epochs)),
    "CosineAnnealingLR": lambda optimizer, epochs: lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs),
}


def make_data(n, seed):
    """n points x ~ U(−2, 2), y = sin(2x) + N(0, 0.3²), as float32 columns."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (n, 1))
    y = np.sin(2 * x) + rng.normal(0.0, 0.3, (n, 1))
    return x.astype(np.float32), y.astype(np.float32)


def train(schedule, epochs, X, Y, seed=0, show_progress=False):
    """Train a 1-32-32-1 tanh MLP with SGD(lr=LR, momentum=0.9) under ``schedule``.
    Returns (per-epoch lr, per-epoch loss on the whole training set, the model)."""
    ad.manual_seed(seed)                                   # same initial weights for every schedule
    model = nn.MLP([1, 32, 32, 1], activation="tanh")
    optimizer = optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    scheduler = SCHEDULES[schedule](optimizer, epochs)
    loader = DataLoader(TensorDataset(X, Y), batch_size=16, shuffle=True, seed=seed)   # same batches too
    x_all, y_all = ad.tensor(X), ad.tensor(Y)
    lrs, losses = [], []
    bar = progress(range(epochs), f"{schedule:>17s}", enabled=show_progress)
    for _ in bar:
        lrs.append(optimizer.param_groups[0]["lr"])        # the lr this epoch trains with
        for xb, yb in loader:
            loss = F.mse_loss(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if scheduler is not None:
            scheduler.step()                               # once per epoch, after its batches
        with ad.no_grad():
            losses.append(F.mse_loss(model(x_all), y_all).item())
        bar.set_postfix(loss=losses[-1], lr=lrs[-1])
    bar.close()
    return lrs, losses, model


def main(quick=False):
    """Train under each schedule for 15 epochs (30 when not ``quick``). Returns {name: {"lrs",
    "losses", "final", "test"}} with the final training loss and the loss on fresh data."""
    epochs = 15 if quick else 30
    X, Y = make_data(512, seed=0)
    X_test, Y_test = make_data(2000, seed=1)
    results = {}
    for name in SCHEDULES:
        lrs, losses, model = train(name, epochs, X, Y, show_progress=not quick)
        with ad.no_grad():
            test = F.mse_loss(model(ad.tensor(X_test)), ad.tensor(Y_test)).item()
        results[name] = {"lrs": lrs, "losses": losses, "final": losses[-1], "test": test}
    print(f"SGD(lr={LR}, momentum=0.9), {epochs} epochs of 32 mini-batches "
          "(noise variance 0.09: about the best test loss possible)")
    for name, result in results.items():
        print(f"  {name:18s} final lr {result['lrs'][-1]:.5f}   train loss {result['final']:.4f}   "
              f"test loss {result['test']:.4f}")
    print("lesson: every decaying schedule ends below the constant lr")
    return results


def plot(results):
    """lr per epoch (top) and training loss per epoch (bottom) for each schedule."""
    from examples.plotting import pyplot, save
    plt = pyplot()
    if plt is None:
        return
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(6.5, 6), sharex=True)
    for name, result in results.items():
        epochs = np.arange(1, len(result["lrs"]) + 1)
        top.plot(epochs, result["lrs"], drawstyle="steps-post", label=name)
        bottom.plot(epochs, result["losses"], marker=".", label=name)
    top.set(title="learning rate per epoch", ylabel="lr", yscale="log")
    bottom.set(title="training loss after each epoch", xlabel="epoch", ylabel="MSE", yscale="log")
    bottom.legend()
    save(figure, "lr_schedules.png")


if __name__ == "__main__":
    plot(main())
