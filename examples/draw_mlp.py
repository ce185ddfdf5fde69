"""Draw a small MLP's graph after one training step: docs/mlp_graph.png and docs/mlp_graph.svg.

The MLP is written with raw ops inside ad.name_scope, numbered like nn.Sequential's children
("0", "1", ...), so the picture boxes each layer and names parameters "0.weight". The data x
and targets y do not require grad, so, as constants, they are not drawn.
TODO: switch to nn.MLP / nn.Sequential once the nn package lands; its Module.__call__ opens the
same name scopes and model.named_parameters() gives the names.

    python examples/draw_mlp.py [output-directory]
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import autodiff as ad  # noqa: E402


def make_mlp(sizes, seed=0):
    """Parameters of Linear layers (weight (in, out), bias (out,)), named as nn.Sequential would
    name them with an activation after every Linear but the last: 0.weight, 0.bias, 2.weight..."""
    rng = np.random.default_rng(seed)
    params = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        params[f"{2 * i}.weight"] = ad.tensor(rng.normal(0, 1 / np.sqrt(n_in), (n_in, n_out)),
                                              dtype="float32", requires_grad=True)
        params[f"{2 * i}.bias"] = ad.zeros(n_out, requires_grad=True)
    return params


def forward(params, x, n_layers):
    for i in range(n_layers):
        with ad.name_scope(str(2 * i)):
            x = x @ params[f"{2 * i}.weight"] + params[f"{2 * i}.bias"]
        if i < n_layers - 1:
            with ad.name_scope(str(2 * i + 1)):
                x = ad.tanh(x)
    return x


def main(out_dir):
    rng = np.random.default_rng(1)
    x = ad.tensor(rng.normal(size=(16, 2)), dtype="float32")
    y = ad.tensor((x.data[:, :1] * x.data[:, 1:] > 0).astype(np.float32))
    sizes = [2, 8, 8, 1]
    params = make_mlp(sizes)

    prediction = forward(params, x, len(sizes) - 1)
    loss = ((prediction - y) ** 2).mean()
    loss.backward(retain_graph=True)     # keep the graph so the picture can show every gradient
    # top to bottom: a deep, narrow graph reads better as a column than as one long row
    picture = ad.draw_graph(loss, params={**params, "loss": loss}, rankdir="TB")
    with ad.no_grad():                   # the training step's update (optim.SGD, lr=0.1)
        for p in params.values():
            p.data -= 0.1 * p.grad.data
            p.grad = None

    os.makedirs(out_dir, exist_ok=True)
    for fmt in ("png", "svg"):
        path = picture.render(outfile=os.path.join(out_dir, f"mlp_graph.{fmt}"), cleanup=True)
        print("wrote", path)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs")))
