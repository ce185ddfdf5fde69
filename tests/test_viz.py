"""Graph pictures (issue 6): draw_graph's DOT text, rendering, and nn.grad_flow."""
import os
import re
import sys
import time

import numpy as np
import pytest

import autodiff as ad
from autodiff import viz
from nn.grad_flow import grad_flow

pytest.importorskip("graphviz")


# ---- reading DOT text -------------------------------------------------------------------------

NODE = re.compile(r'^\s*"?([\w.]+)"? \[(.*)\]$')
EDGE = re.compile(r'^\s*"?([\w.]+)"? -> "?([\w.]+)"?')


def nodes(source):
    """node id -> (attribute text, cluster path as a tuple of cluster names)."""
    found, clusters = {}, []
    for line in source.splitlines():
        opening = re.match(r'^\s*subgraph "?cluster_([^" ]+)"? \{', line)
        if opening:
            clusters.append(opening.group(1))
            continue
        if line.strip() == "}" and clusters:
            clusters.pop()
            continue
        match = NODE.match(line)
        if match and match.group(1) not in ("graph", "node", "edge"):
            found[match.group(1)] = (match.group(2), tuple(clusters))
    return found


def edges(source):
    return [match.groups() for match in map(EDGE.match, source.splitlines()) if match]


def node_named(source, name):
    """(id, attributes) of the tensor node whose title is ``name``."""
    hits = [(node, attrs) for node, (attrs, _) in nodes(source).items()
            if f"<b>{name}</b>" in attrs or f"<i>{name}</i>" in attrs]
    assert len(hits) == 1, (name, hits)
    return hits[0]


def op_nodes(source, op):
    """Op nodes named ``op`` (their label may go on: ``Mul × 2.0``)."""
    return [node for node, (attrs, _) in nodes(source).items()
            if re.search(rf'label="?{op}[ "]', attrs) and "shape=ellipse" in attrs]


def fill(attrs):
    return re.search(r'fillcolor="(#[0-9a-f]{6})"', attrs).group(1)


def scalar_expression():
    a = ad.tensor(2.0, requires_grad=True)
    b = ad.tensor(-3.0, requires_grad=True)
    c = a * b + a
    return a, b, c


def mlp(depth=3, width=4, seed=0, activation=ad.tanh):
    """A small MLP from raw ops, in name scopes numbered like nn.Sequential's children."""
    rng = np.random.default_rng(seed)
    x = ad.tensor(rng.normal(size=(5, 3)), dtype="float32")
    params, h = {}, x
    sizes = [3] + [width] * (depth - 1) + [1]
    for i in range(depth):
        w = ad.tensor(rng.normal(size=(sizes[i], sizes[i + 1])), dtype="float32", requires_grad=True)
        b = ad.zeros(sizes[i + 1], requires_grad=True)
        params[f"{2 * i}.weight"], params[f"{2 * i}.bias"] = w, b
        with ad.name_scope(str(2 * i)):
            h = h @ w + b
        if i < depth - 1:
            with ad.name_scope(str(2 * i + 1)):
                h = activation(h)
    loss = (h * h).mean()
    return params, loss


# ---- what the picture says --------------------------------------------------------------------

def test_scalar_expression_values_and_grads():
    a, b, c = scalar_expression()
    source = ad.draw_graph(c, params={"a": a, "b": b, "c": c}).source
    _, a_attrs = node_named(source, "a")
    _, b_attrs = node_named(source, "b")
    _, c_attrs = node_named(source, "c")
    # c = a*b + a = -4; dc/da = b + 1 = -2; dc/db = a = 2
    assert "value 2<" in a_attrs and "grad -2<" in a_attrs
    assert "value -3<" in b_attrs and "grad 2<" in b_attrs
    assert "value -4<" in c_attrs and "grad 1<" in c_attrs
    assert all("scalar float32" in attrs for attrs in (a_attrs, b_attrs, c_attrs))
    assert len(op_nodes(source, "Mul")) == 1 and len(op_nodes(source, "Add")) == 1
    assert "d c / d tensor" in source            # the caption says what the gradients are of
    assert a.grad is None and b.grad is None      # drawing never touches .grad


def test_edges_follow_the_data():
    a, b, c = scalar_expression()
    source = ad.draw_graph(c, params=[("a", a), ("b", b), ("c", c)]).source
    a_id, _ = node_named(source, "a")
    b_id, _ = node_named(source, "b")
    c_id, _ = node_named(source, "c")
    (mul,), (add,) = op_nodes(source, "Mul"), op_nodes(source, "Add")
    graph_edges = edges(source)
    assert (a_id, mul) in graph_edges and (b_id, mul) in graph_edges
    assert (a_id, add) in graph_edges and (add, c_id) in graph_edges
    product = [head for tail, head in graph_edges if tail == mul]
    assert len(product) == 1 and (product[0], add) in graph_edges     # mul -> a*b -> add


def test_names_shapes_and_user_function():
    class Square(ad.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 2 * x * grad

    class Model:     # anything with named_parameters()
        def __init__(self):
            self.weight = ad.ones((2, 3), requires_grad=True)

        def named_parameters(self):
            return [("layer.weight", self.weight)]

    model = Model()
    x = ad.tensor(np.arange(6.0).reshape(3, 2), dtype="float64", requires_grad=True)
    out = Square.apply(model.weight).sum() + (x.sum() * 0.0).astype("float32")
    source = ad.draw_graph(out, params=model).source
    _, weight = node_named(source, "layer.weight")
    assert "(2, 3) float32" in weight
    assert "value [[1, 1, 1]," in weight          # 6 elements: printed in full
    assert op_nodes(source, "Square")
    _, leaf = node_named(source, "input")          # unnamed leaves say what they are
    assert "(3, 2) float64" in leaf and "style=\"filled,dashed\"" in leaf
    assert "penwidth=2" in weight and "rounded" in weight           # parameters stand apart
    _, output = node_named(source, "output")
    assert "peripheries=2" in output


def test_large_tensors_are_summarized():
    w = ad.tensor(np.arange(12.0).reshape(3, 4), dtype="float64", requires_grad=True)
    loss = (w * w).sum()
    source = ad.draw_graph(loss, params={"w": w}).source
    _, attrs = node_named(source, "w")
    norm = np.sqrt((np.arange(12.0) ** 2).sum())
    assert f"value norm {norm:.4g}, min 0, max 11" in attrs
    assert f"grad norm {2 * norm:.4g}, min 0, max 22" in attrs
    assert "value" not in node_named(ad.draw_graph(loss, params={"w": w}, show_values=False).source, "w")[1]
    summary = ad.draw_graph(loss, params={"w": w}, show_values="summary").source
    assert "value norm" in node_named(summary, "output")[1]
    assert "grad" not in node_named(ad.draw_graph(loss, params={"w": w}, show_grads=False).source, "w")[1]


def test_reused_node_is_drawn_once():
    a = ad.tensor([1.0, 2.0], requires_grad=True)
    b = a * 3.0
    c = b + b
    loss = c.sum()
    source = ad.draw_graph(loss, params={"a": a}).source
    assert len(op_nodes(source, "Add")) == 1 and len(op_nodes(source, "Mul")) == 1
    assert len(nodes(source)) == 3 * 2 + 1          # Mul, Add, Sum and their outputs, and a
    (add,), (mul,) = op_nodes(source, "Add"), op_nodes(source, "Mul")
    b_id = [head for tail, head in edges(source) if tail == mul][0]
    assert edges(source).count((b_id, add)) == 2     # b is used twice by b + b
    _, a_attrs = node_named(source, "a")
    assert "grad [6, 6]" in a_attrs                  # d/da sum(2 * 3a) = 6


def test_a_tensor_times_itself_is_one_mul_with_one_edge():
    a = ad.tensor([1.0, 2.0], requires_grad=True)
    source = ad.draw_graph((a * a).sum(), params={"a": a}).source
    (mul,) = op_nodes(source, "Mul")
    a_id = node_named(source, "a")[0]
    assert edges(source).count((a_id, mul)) == 1


def test_output_is_deterministic():
    def draw():
        params, loss = mlp(seed=3)
        return ad.draw_graph(loss, params=params).source
    first = draw()
    assert first == draw()
    params, loss = mlp(seed=3)
    picture = ad.draw_graph(loss, params=params)
    assert picture.source == ad.draw_graph(loss, params=params).source == first


def test_mlp_clusters_colours_and_legend():
    params, loss = mlp(depth=3)
    source = ad.draw_graph(loss, params={**params, "loss": loss}).source
    found = nodes(source)
    for i in range(3):
        node, _ = node_named(source, f"{2 * i}.weight")
        assert found[node][1] == (str(2 * i),)       # each parameter sits in its layer's box
    assert all(clusters in ((), ("0",), ("1",), ("2",), ("3",), ("4",)) for _, clusters in found.values())
    tanh = op_nodes(source, "Tanh")
    assert [found[node][1] for node in tanh] == [("3",), ("1",)]
    assert found[node_named(source, "loss")[0]][1] == ()
    assert "mean |grad| (log scale)" in source
    viridis_fills = {fill(attrs) for attrs, _ in found.values() if "shape=box" in attrs}
    assert len(viridis_fills) >= 3                  # magnitudes differ, so colours do
    assert "grad" in node_named(source, "0.bias")[1]


def test_vanishing_path_is_darker():
    params, loss = mlp(depth=6, width=3, activation=ad.sigmoid, seed=1)
    source = ad.draw_graph(loss, params=params).source
    first = fill(node_named(source, "0.weight")[1])
    last = fill(node_named(source, "10.weight")[1])
    position = {viz._viridis(i / 160): i for i in range(161)}

    def rank(color):      # where a colour sits on viridis (0 = dark purple, 160 = yellow)
        return min(position.items(), key=lambda kv: sum(
            (int(kv[0][k:k + 2], 16) - int(color[k:k + 2], 16)) ** 2 for k in (1, 3, 5)))[1]
    assert rank(first) < rank(last)
    assert viz._viridis(0.0) == "#440154" and viz._viridis(1.0) == "#fde725"


def test_zero_gradient_has_its_own_colour():
    a = ad.tensor([1.0, -1.0], requires_grad=True)
    b = ad.tensor([2.0, 3.0], requires_grad=True)
    loss = (a * 0.0 + b).sum()
    source = ad.draw_graph(loss, params={"a": a, "b": b}).source
    assert fill(node_named(source, "a")[1]) == viz._ZERO_COLOR
    assert f'bgcolor="{viz._ZERO_COLOR}">0<' in source


def test_nested_scopes_are_nested_clusters():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    with ad.name_scope("encoder"):
        with ad.name_scope("fc1"):
            h = x * 2.0
        with ad.name_scope("fc2"):
            h = h + 1.0
    loss = (h * h).sum()
    source = ad.draw_graph(loss).source
    found = nodes(source)
    assert [found[node][1] for node in op_nodes(source, "Mul")] == [(), ("encoder", "encoder.fc1")]
    assert found[op_nodes(source, "Add")[0]][1] == ("encoder", "encoder.fc2")
    assert found[op_nodes(source, "Sum")[0]][1] == ()


def test_intermediate_grads_after_retained_backward():
    a = ad.tensor([1.0, 2.0], requires_grad=True)
    h = a * 3.0
    h.retain_grad()
    loss = (h * h).sum()
    loss.backward(retain_graph=True)
    before = (a.grad.data.copy(), h.grad.data.copy())
    source = ad.draw_graph(loss, params={"a": a, "h": h}).source
    assert "grad [6, 12]" in node_named(source, "h")[1]       # d/dh sum(h^2) = 2h
    assert "grad [18, 36]" in node_named(source, "a")[1]
    assert "freed" not in source
    np.testing.assert_array_equal(a.grad.data, before[0])     # not accumulated again
    np.testing.assert_array_equal(h.grad.data, before[1])


def test_caption_after_a_freeing_backward():
    a = ad.tensor([1.0, 2.0], requires_grad=True)
    h = a * 3.0
    loss = (h * h).sum()
    loss.backward()
    source = ad.draw_graph(loss, params={"a": a}).source
    assert "freed by backward()" in source and "retain_graph=True" in source
    assert "grad [18, 36]" in node_named(source, "a")[1]     # the leaf's .grad survives
    mul = op_nodes(source, "Mul")
    outputs = [head for tail, head in edges(source) if tail in mul]
    assert all("grad" not in nodes(source)[node][0] for node in outputs)


def test_non_scalar_root_uses_the_sum():
    a = ad.tensor([1.0, 2.0], requires_grad=True)
    out = a * a
    source = ad.draw_graph(out, params={"a": a}).source
    assert "grad [2, 4]" in node_named(source, "a")[1]
    assert "d sum(output) / d tensor" in source


def test_several_roots_and_a_broken_backward():
    x = ad.tensor(3.0, requires_grad=True)
    source = ad.draw_graph(x * 2.0, x * 3.0, params={"x": x}).source
    assert "grad 5<" in node_named(source, "x")[1]
    assert node_named(source, "output 0") and node_named(source, "output 1")
    assert "d sum(output 0 + output 1) / d tensor" in source

    class Broken(ad.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1.0

        @staticmethod
        def backward(ctx, grad):
            raise ValueError("boom")

    source = ad.draw_graph(Broken.apply(x) * 2.0).source      # still drawn, and says why
    assert op_nodes(source, "Broken") and "ad.grad failed" in source and "boom" in source


def test_long_chain_collapses():
    x = ad.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5_000):
        y = y * 1.0001 + 0.001
    start = time.perf_counter()
    source = ad.draw_graph(y, params={"x": x}, max_nodes=200, max_size=None).source
    assert time.perf_counter() - start < 10
    found = nodes(source)
    assert len(found) <= 200 + 4
    summaries = [attrs for attrs, _ in found.values() if "ops (" in attrs]
    assert len(summaries) == 1
    assert re.search(r"\.\.\. 9,9\d\d ops \(Add x4,9\d\d, Mul x4,9\d\d\) \.\.\.", summaries[0])
    assert "mean |grad|" in summaries[0]
    assert "<b>x</b>" in source                               # both ends stay in the picture
    assert "ops folded into 1 summary node (max_nodes=200)" in source
    ids = list(found)
    assert ids == sorted(ids, key=lambda n: ids.index(n))     # and it stays deterministic
    assert source == ad.draw_graph(y, params={"x": x}, max_nodes=200, max_size=None).source


def test_repeated_blocks_collapse_with_their_scopes():
    x = ad.tensor(np.ones(4), dtype="float32", requires_grad=True)
    h, params = x, {}
    for i in range(60):
        w = ad.tensor(np.full(4, 0.9), dtype="float32", requires_grad=True)
        params[f"blocks.{i}.weight"] = w
        with ad.name_scope("blocks"), ad.name_scope(str(i)):
            h = ad.tanh(h * w) + h
    source = ad.draw_graph(h.sum(), params=params, max_nodes=80, max_size=None).source
    found = nodes(source)
    assert len(found) <= 80 + 4
    (summary,) = [(attrs, clusters) for attrs, clusters in found.values() if "ops (" in attrs]
    assert re.search(r"in \d+ scopes: blocks\.\d+ \.\.\. blocks\.\d+", summary[0])
    assert "leaf tensors" in summary[0]                       # the folded blocks' weights
    assert summary[1] == ("blocks",)


def test_hundred_thousand_ops_draw_in_seconds():
    x = ad.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(50_000):
        y = y * 1.0 + 0.0
    start = time.perf_counter()
    source = ad.draw_graph(y).source
    elapsed = time.perf_counter() - start
    assert len(nodes(source)) <= 500 + 4
    assert re.search(r"9\d,\d\d\d of 100,000 ops folded", source)
    assert elapsed < 15, elapsed


def test_params_errors_are_explained():
    a, b, c = scalar_expression()
    with pytest.raises(TypeError, match="named_parameters"):
        ad.draw_graph(c, params=[a])
    with pytest.raises(TypeError, match="Tensor"):
        ad.draw_graph(c.data)
    with pytest.raises(ValueError, match="show_values"):
        ad.draw_graph(c, show_values="yes")


# ---- rendering -------------------------------------------------------------------------------

def test_missing_graphviz_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)
    a, b, c = scalar_expression()
    with pytest.raises(ImportError, match=re.escape('pip install "numpy-autodiff[viz]"')):
        ad.draw_graph(c)


def test_render_svg_and_png(tmp_path):
    if viz.find_renderer() is None:
        pytest.skip("no renderer at all (neither dot nor graphviz-pure)")
    params, loss = mlp()
    picture = ad.draw_graph(loss, params=params)
    svg = picture.pipe(format="svg", encoding="utf-8")
    assert "<svg" in svg and "0.weight" in svg and "MatMul" in svg
    assert picture._repr_mimebundle_()["image/svg+xml"].lstrip().startswith("<?xml")  # Jupyter
    png = picture.render(outfile=tmp_path / "graph.png")
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(picture.render(outfile=tmp_path / "graph.svg")) > 1000


def test_renderer_font_width_notes_are_dropped_other_warnings_kept(capfd):
    """A renderer without font files (graphviz-pure) notes each label character it sizes as a
    space ("→", "×"): those notes are not passed on; its other warnings are."""
    if viz.find_renderer() is None:
        pytest.skip("no renderer at all (neither dot nor graphviz-pure)")
    a, b, c = scalar_expression()
    picture = ad.draw_graph(c)
    picture.node("arrow", "x → y × 2 ÷ 3 …")
    picture.node("odd", "odd", shape="no_such_shape")
    capfd.readouterr()
    svg = picture.pipe(format="svg", encoding="utf-8")
    assert "<svg" in svg
    err = capfd.readouterr().err
    assert viz._FONT_WIDTH_NOTE not in err
    assert "no_such_shape" in err       # "Warning: using box for unknown shape no_such_shape"


def test_renderer_search_order(monkeypatch, tmp_path):
    renderer = viz.find_renderer()
    if renderer is None:
        pytest.skip("no renderer at all (neither dot nor graphviz-pure)")
    monkeypatch.setenv("AUTODIFF_DOT", renderer)
    assert viz.find_renderer() == renderer
    monkeypatch.setenv("AUTODIFF_DOT", str(tmp_path / "no-such-dot"))
    with pytest.raises(viz.RendererNotFoundError, match="AUTODIFF_DOT"):
        viz.find_renderer()
    monkeypatch.delenv("AUTODIFF_DOT")
    beside = [d for d in viz._interpreter_script_dirs()
              if os.path.exists(os.path.join(d, "graphviz-pure"))]
    if beside:      # found beside the interpreter without PATH (an unactivated virtualenv)
        monkeypatch.setenv("PATH", str(tmp_path))
        assert viz.find_renderer() == os.path.join(beside[0], "graphviz-pure")


def test_no_renderer_error(monkeypatch):
    monkeypatch.setattr(viz, "find_renderer", lambda: None)
    a, b, c = scalar_expression()
    picture = ad.draw_graph(c)
    assert "Mul" in picture.source                 # the DOT text needs no renderer
    for render in (lambda: picture.pipe(format="svg"), lambda: picture.render("x", format="png"),
                   picture._repr_mimebundle_):
        with pytest.raises(viz.RendererNotFoundError) as error:
            render()
        message = str(error.value)
        assert 'pip install "numpy-autodiff[viz]"' in message and "graphviz" in message
        assert ".source" in message


def test_graphviz_pure_pdf_is_explained(tmp_path, monkeypatch):
    renderer = viz.find_renderer()
    if renderer is None or "graphviz-pure" not in os.path.basename(renderer):
        pytest.skip("only graphviz-pure lacks pdf")
    a, b, c = scalar_expression()
    with pytest.raises(RuntimeError, match="pdf"):
        ad.draw_graph(c).pipe(format="pdf", quiet=True)


# ---- nn.grad_flow ------------------------------------------------------------------------------

def test_grad_flow_table():
    w = ad.tensor([[1.0, -2.0], [3.0, 0.5]], requires_grad=True)
    b = ad.tensor([0.5, -0.25, 0.0], requires_grad=True)
    unused = ad.zeros(2, requires_grad=True)
    upstream_w = np.array([[1.0, -2.0], [3.0, 0.0]])
    upstream_b = np.array([0.004, -0.002, 0.0])
    ((w * ad.tensor(upstream_w, dtype="float32")).sum() + (b * ad.tensor(upstream_b, dtype="float32")).sum()).backward()
    rows = grad_flow([("0.weight", w), ("0.bias", b), ("unused", unused)])
    assert [row.name for row in rows] == ["0.weight", "0.bias", "unused"]
    assert rows[0].shape == (2, 2)
    assert rows[0].mean_abs_grad == pytest.approx((1 + 2 + 3 + 0) / 4)
    assert rows[0].max_abs_grad == pytest.approx(3.0)
    assert rows[1].mean_abs_grad == pytest.approx(0.002, rel=1e-6)
    assert rows[1].max_abs_grad == pytest.approx(0.004, rel=1e-6)
    assert rows[2].mean_abs_grad is None and rows[2].max_abs_grad is None
    table = str(rows)
    assert table.splitlines()[0].split() == ["parameter", "shape", "mean", "|grad|", "max", "|grad|"]
    assert re.search(r"0.weight +\(2, 2\) +1.5 +3\n", table) and "0.002 " in table and "1.5" in table and "0.004" in table
    assert "spans 2.9 decades" in table and "no gradient (.grad is None): unused" in table


def test_grad_flow_plot(tmp_path):
    pytest.importorskip("matplotlib")
    params, loss = mlp()
    loss.backward()
    rows = grad_flow(params, path=tmp_path / "flow.png")
    assert len(rows) == 6 and rows.figure is not None
    assert open(tmp_path / "flow.png", "rb").read(8) == b"\x89PNG\r\n\x1a\n"


# ---- issue 20: pictures that teach ------------------------------------------------------------------

def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def need_renderer():
    if viz.find_renderer() is None:
        pytest.skip("no renderer (pip install \"numpy-autodiff[viz]\" brings graphviz-pure)")


def test_size_rule_pictures_fit():
    """A 2-4-1, a 5-layer and an 11-layer MLP and a 10^5-op chain, rendered to PNG at 96 dpi by
    the renderer, each fit in 2000 x 4000 px (the docs/size_*.png pictures)."""
    need_renderer()
    from examples import draw_mlp
    pictures = draw_mlp.size_pictures()
    sizes = {name: png_size(picture.pipe(format="png", quiet=True)) for name, picture in pictures.items()}
    for name, (width, height) in sizes.items():
        assert width <= 2000 and height <= 4000, (name, width, height)
    # and they are drawn top to bottom, with the long ones folded to fit, saying so
    assert all("rankdir=TB" in picture.source for picture in pictures.values())
    assert "ops folded into 1 summary node (to fit 2000x4000 px)" in pictures["chain_100k"].source
    assert "ops folded" not in pictures["mlp_2_4_1"].source
    # without the rule the 11-layer net is longer than 4000 px
    model, loss = draw_mlp.mlp_step((2,) + (16,) * 10 + (1,))
    assert png_size(ad.draw_graph(loss, params=model, max_size=None).pipe(format="png", quiet=True))[1] > 4000


def test_readme_dot_is_current():
    """docs/mlp_graph.dot is what examples/draw_mlp.py draws today (rerun it when this fails:
    python examples/draw_mlp.py)."""
    from examples import draw_mlp
    committed = open(os.path.join(draw_mlp.DOCS, "mlp_graph.dot"), encoding="utf-8").read()
    assert draw_mlp.picture().source == committed, "docs/mlp_graph.dot is stale: run python examples/draw_mlp.py"


def test_module_clusters_are_labelled_with_the_module():
    import nn
    import nn.functional as F
    ad.manual_seed(0)
    model = nn.MLP([2, 8, 1], activation="tanh")
    loss = F.mse_loss(model(ad.randn(4, 2)), ad.randn(4, 1))
    source = ad.draw_graph(loss, params=model).source
    assert 'label="0: Linear(2→8)"' in source and 'label="1: Tanh"' in source
    assert 'label="2: Linear(8→1)"' in source and 'label="MLP(2→8→1)"' in source
    found = nodes(source)
    assert found[node_named(source, "0.weight")[0]][1] == ("MLP", "MLP.0")
    # the data x (which Linear saved) is a small box with its shape and value; the target y,
    # which Sub does not keep, is a small box that says so
    data = [attrs for attrs, _ in found.values() if "dotted" in attrs]
    assert len(data) == 2
    assert any("(4, 2) float32" in attrs and "value [[" in attrs for attrs in data)
    assert any("value not kept" in attrs for attrs in data)
    x_box = next(node for node, (attrs, _) in found.items() if "(4, 2) float32" in attrs and "dotted" in attrs)
    (linear,) = [node for node in op_nodes(source, "Linear") if found[node][1] == ("MLP", "MLP.0")]
    assert (x_box, linear) in edges(source)


def test_constants_are_written_into_their_op():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = ((x * 2.0) ** 2 / 4.0 - 1.0).sum() + (10.0 / x).sum() + (x * x).sum()
    source = ad.draw_graph(y, params={"x": x}).source
    labels = re.findall(r'label="([^"<]+)"', source)
    for text in ("Mul × 2.0", "Pow ** 2", "Div ÷ 4.0", "Sub − a number", "Div 10.0 ÷ x", "Mul x × x"):
        assert text in labels, (text, labels)
    # a non-scalar constant is a box of its own, with its value
    w = ad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    source = ad.draw_graph((w * ad.tensor([4.0, 5.0, 6.0])).sum(), params={"w": w}).source
    (box,) = [attrs for attrs, _ in nodes(source).values() if "dotted" in attrs]
    assert "value [4, 5, 6]" in box and "(3) float32" in box


def test_a_clear_hint_when_there_is_no_graph():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    with ad.no_grad():
        y = x * 2
    source = ad.draw_graph(y).source
    assert "No graph to draw" in source and "no_grad" in source and "requires_grad=True" in source
    assert "No graph yet: this is a leaf tensor" in ad.draw_graph(x).source


def test_svg_repr_and_view_format(tmp_path):
    a, b, c = scalar_expression()
    picture = ad.draw_graph(c)
    assert picture.format == "svg"          # what view() and render() write: graphviz-pure can
    need_renderer()
    assert picture._repr_svg_().lstrip().startswith("<?xml") and "<svg" in picture._repr_svg_()
    path = picture.render(tmp_path / "picture", view=False)
    assert path.endswith(".svg") and "<svg" in open(path, encoding="utf-8").read()


def test_wide_shallow_graphs_go_left_to_right():
    need_renderer()
    leaves = [ad.tensor(np.arange(8.0) + i, requires_grad=True) for i in range(40)]
    total = leaves[0]
    for leaf in leaves[1:]:
        total = total + leaf          # 40 long boxes: too wide side by side
    picture = ad.draw_graph(total.sum(), params={f"p{i}": t for i, t in enumerate(leaves)})
    width, height = png_size(picture.pipe(format="png", quiet=True))
    assert width <= 2000 and height <= 4000


def test_source_needs_no_renderer_even_with_a_bad_autodiff_dot(monkeypatch, tmp_path):
    monkeypatch.setenv("AUTODIFF_DOT", str(tmp_path / "no-such-dot"))
    a, b, c = scalar_expression()
    picture = ad.draw_graph(c)
    assert "Mul" in picture.source
    with pytest.raises(viz.RendererNotFoundError, match="AUTODIFF_DOT"):
        picture.pipe(format="svg")
