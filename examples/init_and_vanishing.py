"""Vanishing and exploding gradients in deep nets, and the initialisations that prevent them.

    python examples/init_and_vanishing.py   # prints the tables, writes examples-out/init_and_vanishing.png

A 10-layer MLP (16 inputs, nine hidden layers of 64 units, a linear output layer of 64 units
fit to 64 random targets) does one forward and one backward pass on a random batch; nothing is
trained. (The output is as wide as the hidden layers so that the last layer is a fair yardstick
for the first: a 1-unit output layer would get a larger gradient than any hidden layer anyway.)
We look at two things per layer:

* forward: the spread (std) of each hidden layer's activations;
* backward: the size of each weight's gradient, mean |grad| from ``nn.grad_flow``.

Backprop multiplies the output's gradient by one layer's Jacobian per layer on its way down,
roughly  (weight scale × sqrt(width) × slope of the activation)  each time. If that factor is
below 1 the gradient shrinks geometrically and the first layers barely learn (vanishing); above
1 it grows geometrically (exploding). Initialisation sets the weight scale:

* naive "small", U(−0.1, 0.1): the factor is below 1, so signals die out layer by layer;
* naive "unit", N(0, 1): the factor is far above 1 (sqrt(64) = 8 before the activation):
  ReLU activations and gradients explode, sigmoid and tanh saturate;
* Xavier/Glorot (std = gain × sqrt(2 / (fan_in + fan_out)), gain 5/3 for tanh) keeps the factor
  near 1 for tanh; He/Kaiming (std = sqrt(2 / fan_in)) does it for ReLU, which zeroes half its
  inputs (hence the 2).

Sigmoid has a problem Xavier's standard gain (1) does not fix: its slope is at most 1/4 (at 0),
so even with Xavier each layer shrinks the gradient about 4× and the whole net ~10⁶×. That, more
than anything, is why hidden layers use tanh or ReLU and sigmoid lives on at the output.

The ratio of the first layer's gradient to the last layer's is not the whole story, so the table
also shows the forward pass: with small init, tanh and ReLU nets have gradients of even size but
tiny ones, because the forward signal itself has died out by the last hidden layer; ReLU with
unit init explodes forward and backward (~10¹²); tanh with unit init is saturated forward yet its
gradient grows ~400× on the way down.

Lesson: in the deep sigmoid net without good init the first layer's gradient is at least 10×
(with small init ~10⁹×) below the last layer's; tanh + Xavier and ReLU + He keep activations at
a steady spread and the first layer's gradient within a factor of 2 of the last layer's.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import autodiff as ad  # noqa: E402
import nn  # noqa: E402
from nn import functional as F  # noqa: E402

DEPTH, WIDTH, INPUTS = 10, 64, 16
ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def initialise(weight, activation, scheme):
    """Fill a Linear weight in place with one of the schemes, all via nn.init."""
    if scheme == "small":
        nn.init.uniform_(weight, -0.1, 0.1)
    elif scheme == "unit":
        nn.init.normal_(weight, 0.0, 1.0)
    elif scheme == "xavier":             # Glorot: keeps variance for activations with slope ~1 at 0
        nn.init.xavier_normal_(weight, gain=nn.init.calculate_gain(activation))
    elif scheme == "he":                 # Kaiming: fan_in mode, gain sqrt(2) for ReLU
        nn.init.kaiming_normal_(weight, nonlinearity="relu")
    else:
        raise ValueError(f"unknown init scheme {scheme!r}")


def build(activation, scheme, seed=0):
    """A DEPTH-layer MLP: Linear, activation, ..., Linear (to WIDTH outputs); zero biases."""
    ad.manual_seed(seed)
    sizes = [INPUTS] + [WIDTH] * DEPTH
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(n_in, n_out)
        initialise(linear.weight, activation, scheme)
        nn.init.zeros_(linear.bias)      # biases out of the picture: only the weights' scale matters
        layers.append(linear)
        if i < DEPTH - 1:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def probe(activation, scheme, X, y):
    """One forward and backward pass. Returns (std of each hidden activation, mean |grad| of each
    weight first to last (the output layer's last), the grad_flow table)."""
    model = build(activation, scheme)
    h, stds = ad.tensor(X), []
    for layer in model:                  # the Sequential's forward, step by step, to watch h
        h = layer(h)
        if isinstance(layer, ACTIVATIONS[activation]):
            stds.append(float(h.data.std()))
    loss = F.mse_loss(h, ad.tensor(y))
    loss.backward()
    flow = nn.grad_flow(model)           # one row per parameter: name, shape, mean/max |grad|
    grads = [row.mean_abs_grad for row in flow if row.name.endswith("weight")]
    return stds, grads, flow


CASES = [("sigmoid", "small"), ("sigmoid", "unit"), ("sigmoid", "xavier"),
         ("tanh", "small"), ("tanh", "unit"), ("tanh", "xavier"),
         ("relu", "small"), ("relu", "unit"), ("relu", "he")]


def main(quick=False):
    """Probe every (activation, init) case. ``quick`` skips printing the two full grad_flow
    tables. Returns {(activation, scheme): {"stds", "grads", "ratio"}}: ``ratio`` is the first
    layer's mean |grad| over the last (output) layer's."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(256, INPUTS)).astype(np.float32)
    y = rng.normal(size=(256, WIDTH)).astype(np.float32)
    results = {}
    for activation, scheme in CASES:
        stds, grads, flow = probe(activation, scheme, X, y)
        results[(activation, scheme)] = {"stds": stds, "grads": grads, "ratio": grads[0] / grads[-1]}
        if not quick and (activation, scheme) in (("sigmoid", "small"), ("relu", "he")):
            print(f"nn.grad_flow of the {activation} net with {scheme} init:\n{flow}\n")
    print(f"{DEPTH}-layer MLPs of width {WIDTH}, one backward pass")
    print(f"{'':18s} {'activation std':^23s}   {'mean |grad| of the weight':^36s}")
    print(f"{'activation':10s} {'init':7s} {'1st hidden':>11s} {'last hidden':>11s}   {'1st layer':>11s} "
          f"{'last layer':>11s} {'1st/last':>12s}")
    for (activation, scheme), r in results.items():
        print(f"{activation:10s} {scheme:7s} {r['stds'][0]:11.2e} {r['stds'][-1]:11.2e}   {r['grads'][0]:11.2e} "
              f"{r['grads'][-1]:11.2e} {r['ratio']:12.1e}")
    print("lesson: sigmoid without good init: 1st/last < 0.1 (vanishing); tanh + xavier and relu + he: "
          "steady activations, 1st/last near 1")
    return results


def plot(results):
    """mean |grad| per layer, one line per case, on a log axis."""
    from examples.plotting import pyplot, save
    plt = pyplot()
    if plt is None:
        return
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.8), sharey=True)
    for ax, activation in zip(axes, ACTIVATIONS):
        for (act, scheme), r in results.items():
            if act == activation:
                ax.plot(np.arange(1, DEPTH + 1), r["grads"], marker="o", label=f"{scheme} init")
        ax.set(title=f"{activation} hidden layers", xlabel="layer (1 = first)", yscale="log")
        ax.legend(fontsize="small", loc="center right" if activation == "relu" else "upper right")
    axes[0].set_ylabel("mean |grad| of the weight")
    save(figure, "init_and_vanishing.png")


if __name__ == "__main__":
    plot(main())
