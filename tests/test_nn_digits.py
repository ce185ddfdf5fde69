"""End to end: an nn.MLP trained with nn.functional.cross_entropy and a hand-written SGD with
momentum (optim is written separately) reaches >= 97% test accuracy on scikit-learn's digits."""
import contextlib
import time

import numpy as np
import pytest

import autodiff as ad
import nn
from nn import functional as F


def load_split():
    datasets = pytest.importorskip("sklearn.datasets")
    model_selection = pytest.importorskip("sklearn.model_selection")
    X, y = datasets.load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return model_selection.train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)


def sgd_momentum(params, velocity, rate, momentum, weight_decay):
    """PyTorch's SGD: v = momentum * v + (g + weight_decay * p); p -= rate * v."""
    with ad.no_grad():
        for p, v in zip(params, velocity):
            v *= momentum
            v += p.grad.data + weight_decay * p.data
            p.data -= rate * v


def one_blas_thread():
    """Matrices this small are fastest on one thread; several only contend on a busy machine."""
    try:
        from threadpoolctl import threadpool_limits     # installed with scikit-learn
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def test_mlp_reaches_97_percent_on_digits():
    X_train, X_test, y_train, y_test = load_split()
    with one_blas_thread():
        train_and_evaluate(X_train, X_test, y_train, y_test)


def train_and_evaluate(X_train, X_test, y_train, y_test):
    start = time.perf_counter()
    ad.manual_seed(0)
    model = nn.MLP([64, 256, 10])
    params = list(model.parameters())
    velocity = [np.zeros_like(p.data) for p in params]
    order_rng = np.random.default_rng(0)
    epochs, batch = 40, 64
    steps, step = epochs * -(-len(X_train) // batch), 0
    losses = []
    for _ in range(epochs):
        order = order_rng.permutation(len(X_train))
        for i in range(0, len(order), batch):
            index = order[i:i + batch]
            loss = F.cross_entropy(model(ad.tensor(X_train[index])), y_train[index])
            model.zero_grad()
            loss.backward()
            rate = 0.1 * 0.5 * (1 + np.cos(np.pi * step / steps))       # cosine decay
            sgd_momentum(params, velocity, rate, momentum=0.9, weight_decay=5e-4)
            step += 1
            losses.append(loss.item())
    model.eval()
    with ad.no_grad():
        logits = model(ad.tensor(X_test))
    accuracy = (logits.data.argmax(axis=1) == y_test).mean()
    elapsed = time.perf_counter() - start
    assert logits.dtype == np.float32 and not logits.requires_grad
    assert np.mean(losses[-20:]) < 0.1 * np.mean(losses[:20])
    assert accuracy >= 0.97, f"test accuracy {accuracy:.4f}"
    assert elapsed < 20, f"training took {elapsed:.1f} s"
