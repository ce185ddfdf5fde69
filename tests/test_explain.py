"""ad.explain and ad.animate_backward (issue 20): backprop explained node by node."""
import io
import os
import re

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F


def micrograd(a_value=-4.0, b_value=2.0, as_tensors=True):
    """micrograd's README expression, on tensors (float64) or on Python floats."""
    if as_tensors:
        a = ad.tensor(a_value, requires_grad=True, dtype="float64")
        b = ad.tensor(b_value, requires_grad=True, dtype="float64")
        relu = lambda t: t.relu()      # noqa: E731
    else:
        a, b = a_value, b_value
        relu = lambda t: max(t, 0.0)   # noqa: E731
    c = a + b
    d = a * b + b ** 3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + relu(b + a)
    d += 3 * d + relu(b - a)
    e = c - d
    f = e ** 2
    g = f / 2.0
    g += 10.0 / f
    return a, b, e, f, g


def central_difference(fn, x, h=1e-6):
    return (fn(x + h) - fn(x - h)) / (2 * h)


def test_micrograd_expression_matches_the_hand_derivation():
    a, b, e, f, g = micrograd()
    out = io.StringIO()
    steps = ad.explain(g, params={"a": a, "b": b, "e": e, "f": f, "g": g}, file=out)
    leaves = {s.input: float(s.product) for s in steps if s.kind == "leaf"}
    # micrograd's README: a.grad 138.8338, b.grad 645.5773; and finite differences in float64
    assert leaves["a"] == pytest.approx(138.8338, abs=1e-4)
    assert leaves["b"] == pytest.approx(645.5773, abs=1e-4)
    assert leaves["a"] == pytest.approx(central_difference(lambda x: micrograd(x, 2.0, False)[-1], -4.0), rel=1e-7)
    assert leaves["b"] == pytest.approx(central_difference(lambda y: micrograd(-4.0, y, False)[-1], 2.0), rel=1e-7)
    text = out.getvalue()
    assert "a.grad = 138.8338" in text and "b.grad = 645.5773" in text
    # by hand: g = f/2 + 10/f, f = e^2, e = -7 -> dg/df = 1/2 - 10/f^2 = 0.5 - 10/2401;
    # dg/de = dg/df * 2e
    dg_df = 0.5 - 10 / 49.0 ** 2
    assert "dg/df += dg/dt2 · dt2/df = 1 · 0.5 = 0.5" in text
    assert f"dt3/df = -10.0/f² = {-10 / 49.0 ** 2:.6g}" in text
    assert f"df/de = 2·e = -14" in text
    assert f"dg/de += dg/df · df/de = {dg_df:.6g} · -14 = {dg_df * -14:.6g}" in text
    edges = [s for s in steps if s.kind == "edge"]
    for s in edges:             # each product is the incoming gradient times the local derivative
        assert float(s.product) == pytest.approx(float(s.incoming) * float(s.local), rel=1e-12)
    # each leaf's gradient is the sum of what its edges brought
    for name in ("a", "b"):
        assert sum(float(s.product) for s in edges if s.input == name) == pytest.approx(leaves[name], rel=1e-12)
    # explain left everything as it was: no .grad, graph alive; backward then agrees
    assert a.grad is None and b.grad is None
    g.backward()
    assert float(a.grad) == pytest.approx(leaves["a"], rel=1e-12)
    assert float(b.grad) == pytest.approx(leaves["b"], rel=1e-12)


def test_lecture_example_step_by_step():
    a = ad.tensor(2.0, requires_grad=True, dtype="float64")
    b = ad.tensor(-3.0, requires_grad=True, dtype="float64")
    c = a * b
    L = c + a
    out = io.StringIO()
    steps = ad.explain(L, params={"a": a, "b": b, "c": c, "L": L}, file=out)
    text = out.getvalue()
    assert "dc/da = b = -3" in text and "dL/da += dL/dc · dc/da = 1 · -3 = -3" in text
    assert "dc/db = a = 2" in text
    edges = [(s.step, s.op, s.output, s.input, float(s.local), float(s.product)) for s in steps if s.kind == "edge"]
    assert edges == [(1, "Add", "L", "c", 1.0, 1.0), (1, "Add", "L", "a", 1.0, 1.0),
                     (2, "Mul", "c", "a", -3.0, -3.0), (2, "Mul", "c", "b", 2.0, 2.0)]
    assert text.rstrip().endswith("a.grad = -2\n  b.grad = 2")


def test_walk_order_is_the_engines():
    x = ad.tensor([0.5, -1.0, 2.0], requires_grad=True, dtype="float64")
    h1 = x * 2.0
    h2 = h1.tanh()
    h3 = h1.exp()
    h4 = h2 * h3
    L = h4.sum() + (h2 ** 2).sum()
    names = {"h1": h1, "h2": h2, "h3": h3, "h4": h4}
    seen = []
    for name, t in names.items():
        t.register_hook(lambda grad, name=name: seen.append(name))
    steps = ad.explain(L, params=names, file=None)
    walked = [s.output for s in steps if s.kind == "edge"]
    walked = [n for i, n in enumerate(walked) if n in names and n not in walked[:i]]
    L.backward()
    assert walked == seen


def test_tensors_show_shapes_and_norms_and_agree_with_backward():
    ad.manual_seed(0)
    model = nn.MLP([2, 4, 1], activation="tanh", dtype="float64")
    x = ad.randn(8, 2, dtype="float64")
    y = ad.randn(8, 1, dtype="float64")
    loss = F.mse_loss(model(x), y)
    out = io.StringIO()
    steps = ad.explain(loss, params=model, file=out)
    text = out.getvalue()
    assert "Jacobian" in text and "‖" in text and "(4, 2)" in text
    leaves = {s.input: s.product for s in steps if s.kind == "leaf"}
    assert set(leaves) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    expected = ad.grad(loss, list(model.parameters()), retain_graph=True)
    for (name, p), grad in zip(model.named_parameters(), expected):
        np.testing.assert_allclose(leaves[name], grad.data, rtol=1e-12, atol=1e-15)
        assert p.grad is None
        if grad.data.size > 1:
            assert f"{name}.grad = {p.data.shape} ‖{np.linalg.norm(grad.data):.7g}‖" in text
        else:
            assert f"{name}.grad = [{grad.data.item():.7g}]" in text


def test_explain_errors():
    x = ad.tensor(3.0, requires_grad=True)
    with pytest.raises(ValueError, match="leaf"):
        ad.explain(x, file=None)
    with ad.no_grad():
        y = x * 2
    with pytest.raises(ValueError, match="no_grad"):
        ad.explain(y, file=None)
    z = x * 2
    z.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        ad.explain(z, file=None)


# ---- animate_backward ------------------------------------------------------------------------------

def need_renderer():
    pytest.importorskip("graphviz")
    from autodiff import viz
    if viz.find_renderer() is None:
        pytest.skip("no renderer")


def test_gif_has_one_frame_per_node_of_the_walk(tmp_path):
    need_renderer()
    Image = pytest.importorskip("PIL.Image")
    a, b, e, f, g = micrograd()
    steps = ad.explain(g, file=None)
    walked = len({s.step for s in steps if s.kind == "edge"})
    path = ad.animate_backward(g, params={"a": a, "b": b}, path=tmp_path / "walk.gif")
    with Image.open(path) as gif:
        assert gif.n_frames == walked == 25
        gif.seek(0)
        first = np.asarray(gif.convert("RGB")).copy()
        gif.seek(gif.n_frames - 1)
        last = np.asarray(gif.convert("RGB")).copy()
    assert first.shape == last.shape and (first != last).any()     # the gradients filled in
    assert a.grad is None and b.grad is None


def test_html_slider(tmp_path):
    need_renderer()
    ad.manual_seed(1)
    model = nn.MLP([2, 3, 1], activation="tanh")
    loss = F.mse_loss(model(ad.randn(4, 2)), ad.randn(4, 1))
    path = ad.animate_backward(loss, params=model, path=tmp_path / "walk.html")
    text = open(path, encoding="utf-8").read()
    frames = re.findall(r'\{"svg":', text)
    steps = ad.explain(loss, file=None)
    assert len(frames) == len({s.step for s in steps if s.kind == "edge"})
    assert 'type="range"' in text and "0.weight.grad" in text
    assert not re.search(r"https?://(?!www\.w3\.org/)", text)
    with pytest.raises(ValueError, match=r"\.gif"):
        ad.animate_backward(loss, path=tmp_path / "walk.mp4")
    with pytest.raises(ValueError, match="max_frames"):
        ad.animate_backward(loss, path=tmp_path / "walk.gif", max_frames=3)
