"""Six optimizers race down the Rosenbrock valley: SGD, SGD + momentum, Nesterov, RMSprop,
Adagrad and Adam, each for the same number of steps.

    python examples/optimizers.py   # tunes each lr on a grid, prints the table,
                                    # writes examples-out/optimizers.png (loss curves and paths)

Rosenbrock's function f(x, y) = (1 − x)² + 100 (y − x²)² has its minimum f = 0 at (1, 1), at the
end of a long, curved, flat-bottomed valley with steep walls: the walls force a small learning
rate (a larger one bounces from wall to wall and blows up), and with a small learning rate the
gentle slope along the valley floor is crossed at a crawl. It is the classic stress test.

* SGD follows the gradient: lr ≤ ~0.003 or it diverges (at 0.003 its first steps already bounce
  between the walls), and then it crawls along the floor.
* Momentum (SGD with momentum=0.9) adds up the gradients that agree from step to step (along
  the valley) while those that flip sign (across it) cancel: a heavy ball rolling down.
* Nesterov momentum looks ahead: it takes the gradient where momentum is about to carry it.
* Adagrad, RMSprop and Adam divide each coordinate's step by a running size of its gradients,
  so steep and flat directions move at similar speeds. Adagrad sums *all* past squared gradients,
  so its steps only ever shrink; RMSprop uses a moving average instead (without momentum it keeps
  hopping across the valley floor, so its last digits are chaotic); Adam is RMSprop plus momentum
  (with bias correction for the first steps).

To be fair, each optimizer gets its own best learning rate from the same grid (a shared lr would
only measure which one likes that lr). ``main(quick=True)`` reuses the grid's winners, stored in
BEST_LR below, instead of re-running the grid.

Lesson: at equal steps, Adam and momentum end far ahead of plain SGD.
"""
import math
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import autodiff as ad  # noqa: E402
import optim  # noqa: E402

START = (-1.2, 1.0)      # the classic starting point, on the far side of the valley's bend
STEPS = 500
LR_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3)

# name -> how to build it for a list of parameters and a learning rate (PyTorch's defaults otherwise)
OPTIMIZERS = {
    "SGD": lambda params, lr: optim.SGD(params, lr=lr),
    "SGD + momentum": lambda params, lr: optim.SGD(params, lr=lr, momentum=0.9),
    "Nesterov": lambda params, lr: optim.SGD(params, lr=lr, momentum=0.9, nesterov=True),
    "RMSprop": lambda params, lr: optim.RMSprop(params, lr=lr),
    "Adagrad": lambda params, lr: optim.Adagrad(params, lr=lr),
    "Adam": lambda params, lr: optim.Adam(params, lr=lr),
}

# the best lr of LR_GRID for each optimizer at STEPS steps from START (what tune() finds)
BEST_LR = {"SGD": 3e-3, "SGD + momentum": 3e-3, "Nesterov": 1e-3, "RMSprop": 3e-2, "Adagrad": 0.3,
           "Adam": 0.3}


def rosenbrock(point):
    """f(x, y) = (1 − x)² + 100 (y − x²)² of a tensor of shape (2,)."""
    x, y = point[0], point[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def run(name, lr, steps=STEPS):
    """Minimise Rosenbrock from START with optimizer ``name``; returns (losses, path).
    losses[t] is f before step t (and losses[steps] after the last); path the visited points."""
    point = ad.tensor(np.array(START), requires_grad=True)     # float64: the parameters
    optimizer = OPTIMIZERS[name]([point], lr)
    losses, path = [], [point.data.copy()]
    for _ in range(steps):
        loss = rosenbrock(point)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        path.append(point.data.copy())
    with ad.no_grad():
        losses.append(rosenbrock(point).item())
    return losses, np.array(path)


def tune(name):
    """The lr of LR_GRID with the lowest final loss (a diverged run counts as infinitely bad)."""
    finals = {}
    with warnings.catch_warnings():               # the diverging runs overflow: expected here
        warnings.simplefilter("ignore", RuntimeWarning)
        for lr in LR_GRID:
            final = run(name, lr)[0][-1]
            finals[lr] = final if math.isfinite(final) else math.inf
    return min(finals, key=finals.get), finals


def main(quick=False):
    """Run each optimizer for STEPS steps at its best lr (tuned on the grid unless ``quick``).
    Returns {name: {"lr", "losses", "path", "final"}}."""
    results = {}
    if not quick:
        print("final loss after 500 steps, per learning rate (inf: diverged)")
        print(f"{'':15s}" + "".join(f"{lr:>9g}" for lr in LR_GRID))
    for name in OPTIMIZERS:
        lr = BEST_LR[name]
        if not quick:
            lr, finals = tune(name)
            print(f"{name:15s}" + "".join(f"{finals[g]:9.2g}" for g in LR_GRID))
        losses, path = run(name, lr)
        results[name] = {"lr": lr, "losses": losses, "path": path, "final": losses[-1]}
    print(f"\nafter {STEPS} steps from {START}, each at its best lr (minimum: 0 at (1, 1))")
    for name, result in results.items():
        x, y = result["path"][-1]
        print(f"  {name:15s} lr {result['lr']:<7g} loss {result['final']:.2e}  at ({x:.3f}, {y:.3f})")
    print("lesson: Adam and SGD + momentum end below plain SGD")
    return results


def plot(results):
    """Loss curves (log scale) and the paths on the function's contours."""
    from examples.plotting import pyplot, save
    plt = pyplot()
    if plt is None:
        return
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    colors = plt.get_cmap("tab10").colors
    for color, (name, result) in zip(colors, results.items()):
        left.plot(result["losses"], color=color, label=f"{name} (lr {result['lr']:g})")
        right.plot(*result["path"].T, color=color, linewidth=1.2)
    left.set(title="Rosenbrock: loss vs step", xlabel="step", ylabel="f(x, y)", yscale="log")
    left.legend(fontsize="small")
    xx, yy = np.meshgrid(np.linspace(-1.6, 1.4, 300), np.linspace(-0.6, 1.6, 300))
    zz = (1 - xx) ** 2 + 100 * (yy - xx ** 2) ** 2
    right.contour(xx, yy, zz, levels=np.logspace(-1, 3, 13), colors="0.7", linewidths=0.7)
    right.plot(*START, "ko")
    right.plot(1, 1, "k*", markersize=12)
    right.set(title="paths from (−1.2, 1) to the minimum ★", xlabel="x", ylabel="y")
    save(figure, "optimizers.png")


if __name__ == "__main__":
    plot(main())
