"""Draw the README's picture: an nn.MLP's training step with F.mse_loss, as a user draws it.

Writes docs/mlp_graph.dot (the DOT text; tests/test_viz.py regenerates it and fails when it
differs, so the picture beside it is never stale), docs/mlp_graph.svg and docs/mlp_graph.png.
With --sizes it also writes the size-rule pictures: a 2-4-1 MLP, a 5-layer and an 11-layer MLP,
and a 10^5-op chain (docs/size_*.png), each within 2000 x 4000 px.

    python examples/draw_mlp.py [--sizes] [output-directory]
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import autodiff as ad  # noqa: E402
import nn  # noqa: E402
import nn.functional as F  # noqa: E402

DOCS = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs"))


def mlp_step(sizes=(2, 8, 8, 1), activation="tanh", batch=16, seed=0):
    """(model, loss) of one forward pass of an nn.MLP on a small XOR-like data set."""
    ad.manual_seed(seed)
    model = nn.MLP(list(sizes), activation=activation)
    rng = np.random.default_rng(seed)
    x = ad.tensor(rng.normal(size=(batch, sizes[0])), dtype="float32")
    y = ad.tensor((x.data[:, :1] * x.data[:, -1:] > 0).astype(np.float32).repeat(sizes[-1], axis=1))
    loss = F.mse_loss(model(x), y)
    return model, loss


def picture():
    """The README's picture: drawn before backward(), so every gradient is shown."""
    model, loss = mlp_step()
    return ad.draw_graph(loss, params=model)


def chain(n_ops=100_000):
    """x, and a chain of n_ops scalar ops on it (y = y * 1.0001 + 0.001, repeated)."""
    x = ad.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(n_ops // 2):
        y = y * 1.0001 + 0.001
    return x, y


def size_pictures():
    """name -> picture of the size rule's four graphs."""
    pictures = {}
    for name, sizes in (("mlp_2_4_1", (2, 4, 1)), ("mlp_5_layers", (2, 16, 16, 16, 16, 1)),
                        ("mlp_11_layers", (2,) + (16,) * 10 + (1,))):
        model, loss = mlp_step(sizes)
        pictures[name] = ad.draw_graph(loss, params=model)
    x, y = chain()
    pictures["chain_100k"] = ad.draw_graph(y, params={"x": x})
    return pictures


def main(out_dir, sizes=False):
    os.makedirs(out_dir, exist_ok=True)
    graph = picture()
    with open(os.path.join(out_dir, "mlp_graph.dot"), "w", encoding="utf-8") as file:
        file.write(graph.source)
    for fmt in ("png", "svg"):
        print("wrote", graph.render(outfile=os.path.join(out_dir, f"mlp_graph.{fmt}"), cleanup=True, quiet=True))
    if sizes:
        for name, graph in size_pictures().items():
            print("wrote", graph.render(outfile=os.path.join(out_dir, f"size_{name}.png"), cleanup=True, quiet=True))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--sizes"]
    main(args[0] if args else DOCS, sizes="--sizes" in sys.argv[1:])
