"""The main demo (`make demo`): train an MLP on scikit-learn's bundled digits, print its test
accuracy, and write the loss/accuracy curve and the graph of one training step to demo-out/.

The training step is compiled with ``ad.compile`` (recorded at its first call, then replayed as
numpy calls); ``--eager`` runs the same step eagerly, building a graph at every call. Both give
the same numbers, to the bit.

    python examples/demo.py [--epochs 30] [--out demo-out] [--eager]
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import autodiff as ad  # noqa: E402
import nn  # noqa: E402
import optim  # noqa: E402
from nn import functional as F  # noqa: E402
from nn.data import DataLoader, TensorDataset  # noqa: E402
from examples.progress import progress  # noqa: E402


def load_digits_split():
    """Digits (8x8 images, 10 classes), features / 16, 80/20 stratified split (random_state=0)."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        sys.exit('the demo needs scikit-learn: pip install -e ".[demo]" (or run `make demo`)')
    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    return train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)


def accuracy(model, X, y):
    model.eval()
    with ad.no_grad():
        predicted = model(ad.tensor(X)).data.argmax(axis=1)
    model.train()
    return float((predicted == y).mean())


def train(epochs=30, batch_size=64, lr=0.1, momentum=0.9, seed=0, show_progress=True, compiled=True):
    """Train a 64-128-10 ReLU MLP with SGD + momentum, the step compiled with ``ad.compile``
    (or eager). Returns (model, history, test accuracy)."""
    X_train, X_test, y_train, y_test = load_digits_split()
    ad.manual_seed(seed)
    model = nn.MLP([64, 128, 10], activation="relu")
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    loader = DataLoader(TensorDataset(X_train, y_train), batch_size=batch_size, shuffle=True, seed=seed)

    def train_step(xb, yb):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        return loss

    step = ad.compile(train_step) if compiled else train_step
    history = {"loss": [], "train_accuracy": [], "test_accuracy": []}
    for epoch in range(epochs):
        total, count = 0.0, 0
        bar = progress(loader, f"epoch {epoch + 1}/{epochs}", enabled=show_progress)
        for xb, yb in bar:
            loss = step(xb, yb)
            total += loss.item() * len(yb)
            count += len(yb)
            bar.set_postfix(loss=total / count)
        bar.close()
        history["loss"].append(total / count)
        history["train_accuracy"].append(accuracy(model, X_train, y_train))
        history["test_accuracy"].append(accuracy(model, X_test, y_test))
    return model, history, history["test_accuracy"][-1]


def save_curves(history, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print('  (matplotlib not installed: pip install -e ".[demo]" for the loss curve)')
        return False
    epochs = np.arange(1, len(history["loss"]) + 1)
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.plot(epochs, history["loss"], color="#3b528b")
    left.set(title="training loss (cross-entropy)", xlabel="epoch", yscale="log")
    right.plot(epochs, history["train_accuracy"], label="train", color="#21918c")
    right.plot(epochs, history["test_accuracy"], label="test", color="#d95f02", linestyle="--")
    right.set(title="accuracy", xlabel="epoch", ylim=(0.8, 1.0))
    right.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def save_graph(model, path):
    """The graph of one training step (forward and loss) on a small batch, with gradients."""
    X_train, _, y_train, _ = load_digits_split()
    return write_graph(F.cross_entropy(model(ad.tensor(X_train[:4])), y_train[:4]), model, path)


def write_graph(loss, model, path):
    """Draw ``loss``'s graph (the model's parameters named) as SVG into ``path``; False, saying
    why, when graphviz or a renderer is missing."""
    try:
        graph = ad.draw_graph(loss, params=model)
        svg = graph.pipe(format="svg")
    except (ImportError, RuntimeError, OSError) as error:
        print(f"  (graph picture skipped: {error})")
        return False
    with open(path, "wb") as handle:
        handle.write(svg)
    return True


def _one_blas_thread():
    """Small matrices run faster (and steadier) on one BLAS thread than on several."""
    try:
        from threadpoolctl import threadpool_limits     # comes with scikit-learn
        return threadpool_limits(limits=1, user_api="blas")
    except ImportError:
        import contextlib
        return contextlib.nullcontext()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", default="demo-out")
    parser.add_argument("--eager", action="store_true", help="run the training step eagerly (no ad.compile)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    print(f"autodiff demo: a 64-128-10 MLP on scikit-learn's digits, {args.epochs} epochs, "
          f"{'eager' if args.eager else 'compiled'} step")
    start = time.perf_counter()
    with _one_blas_thread():
        model, history, test_accuracy = train(epochs=args.epochs, compiled=not args.eager)
    elapsed = time.perf_counter() - start
    print(f"test accuracy: {test_accuracy:.2%}  (training took {elapsed:.1f} s)")
    if save_curves(history, os.path.join(args.out, "loss.png")):
        print(f"wrote {os.path.join(args.out, 'loss.png')}")
    if save_graph(model, os.path.join(args.out, "graph.svg")):
        print(f"wrote {os.path.join(args.out, 'graph.svg')}")
    return test_accuracy


if __name__ == "__main__":
    main()
