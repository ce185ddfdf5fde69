"""A small CNN on scikit-learn's digits, beating the MLP of the main demo (97.50%): its test
accuracy for seeds 0, 1 and 2, the loss/accuracy curves and the graph of one training step
(modules as clusters) written to an output folder.

    python examples/cnn_digits.py [--seeds 0 1 2] [--epochs 30] [--out cnn-out]

The net, on (N, 1, 8, 8) images with pixels / 16 and the demo's split (80/20 stratified,
random_state=0): Conv2d(1, 32, 3, padding=1), ReLU, MaxPool2d(2), Conv2d(32, 64, 3, padding=1),
ReLU, MaxPool2d(2), Flatten, Linear(256, 10); Adam (lr 3e-3), batches of 64, 30 epochs.

A seed is ``ad.manual_seed(seed)``, and the engine then draws what ``torch.manual_seed(seed)``
draws (autodiff/random.py): the same initial weights and the same batch orders as this recipe
written in PyTorch (torch.nn.Sequential, DataLoader(shuffle=True)), so a run follows PyTorch's run
to float32 rounding (tests/test_conv_modules.py compares the per-epoch losses). Measured, seeds
0, 1, 2: 98.61%, 98.06%, 98.61% (PyTorch's own runs: the same three). Over seeds 0-9 the recipe
gives 97.78% to 98.61%, median 98.19%, in either engine: its spread over seeds is one or two of
the 360 test digits.
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import autodiff as ad  # noqa: E402
import nn  # noqa: E402
import optim  # noqa: E402
from nn import functional as F  # noqa: E402
from nn.data import DataLoader, TensorDataset  # noqa: E402
from examples.demo import _one_blas_thread, load_digits_split, save_curves, write_graph  # noqa: E402
from examples.progress import progress  # noqa: E402

MLP_ACCURACY = 0.9750      # the main demo's MLP (examples/demo.py), for comparison


def images(X):
    """Flat (N, 64) digits as (N, 1, 8, 8) images (PyTorch's layout)."""
    return X.reshape(-1, 1, 8, 8)


def make_cnn():
    """The issue's CNN: two conv-ReLU-maxpool blocks (8x8 -> 4x4 -> 2x2), then a linear layer."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 10),
    )


def accuracy(model, X, y):
    model.eval()
    with ad.no_grad():
        predicted = model(ad.tensor(images(X))).data.argmax(axis=1)
    model.train()
    return float((predicted == y).mean())


def train(seed=0, epochs=30, batch_size=64, lr=3e-3, split=None, show_progress=True):
    """Train the CNN with Adam from ``ad.manual_seed(seed)`` (the weights, then the batch orders,
    as PyTorch draws them). Returns (model, history, test accuracy)."""
    X_train, X_test, y_train, y_test = load_digits_split() if split is None else split
    ad.manual_seed(seed)
    model = make_cnn()
    loader = DataLoader(TensorDataset(images(X_train), y_train), batch_size=batch_size, shuffle=True)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    history = {"loss": [], "train_accuracy": [], "test_accuracy": []}
    for epoch in range(epochs):
        total, count = 0.0, 0
        bar = progress(loader, f"seed {seed} epoch {epoch + 1}/{epochs}", enabled=show_progress)
        for xb, yb in bar:
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
            count += len(yb)
            bar.set_postfix(loss=total / count)
        bar.close()
        history["loss"].append(total / count)
        history["train_accuracy"].append(accuracy(model, X_train, y_train))
        history["test_accuracy"].append(accuracy(model, X_test, y_test))
    return model, history, history["test_accuracy"][-1]


def save_graph(model, path, split=None):
    """The graph of one training step (forward, loss, gradients) on 4 digits; the modules of the
    Sequential are drawn as clusters (their name scopes)."""
    X_train, _, y_train, _ = load_digits_split() if split is None else split
    return write_graph(F.cross_entropy(model(ad.tensor(images(X_train[:4]))), y_train[:4]), model, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", default="cnn-out")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    split = load_digits_split()
    print(f"CNN on scikit-learn's digits, {args.epochs} epochs, seeds {args.seeds}")
    results = {}
    with _one_blas_thread():
        for seed in args.seeds:
            start = time.perf_counter()
            model, history, test_accuracy = train(seed, args.epochs, split=split, show_progress=not args.quiet)
            results[seed] = test_accuracy
            print(f"seed {seed}: test accuracy {test_accuracy:.2%} ({time.perf_counter() - start:.1f} s)")
            if seed == args.seeds[0]:
                first_model, first_history = model, history
    median = statistics.median(results.values())
    print(f"median test accuracy {median:.2%} over seeds {args.seeds} (the MLP demo: {MLP_ACCURACY:.2%})")
    curves = os.path.join(args.out, "loss.png")
    if save_curves(first_history, curves):
        print(f"wrote {curves} (seed {args.seeds[0]})")
    graph = os.path.join(args.out, "graph.svg")
    if save_graph(first_model, graph, split):
        print(f"wrote {graph}")
    return results


if __name__ == "__main__":
    main()
