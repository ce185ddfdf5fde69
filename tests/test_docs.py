"""docs/how-it-works.md points at functions, classes and files by name (not line numbers): every
name it cites must still be defined somewhere in the packages, so the reading path cannot rot."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("autodiff", "nn", "optim")
# words of the prose in backticks that name no definition (arguments, attributes set in code)
PROSE = {"ctx", "x", "out", "param", "forward", "backward", "apply", "epoch", "uses", "grad_fn",
         "input_meta", "saved_sources", "create_graph", "retain_graph", "requires_grad", "nn",
         "__call__", "__init_subclass__", "needs_input_grad", "_straight", "plain"}


def _sources():
    texts = {}
    for package in PACKAGES:
        for name in os.listdir(os.path.join(ROOT, package)):
            if name.endswith(".py"):
                with open(os.path.join(ROOT, package, name), encoding="utf-8") as handle:
                    texts[name] = handle.read()
    return texts


def test_every_name_the_reading_path_cites_is_defined():
    with open(os.path.join(ROOT, "docs", "how-it-works.md"), encoding="utf-8") as handle:
        doc = handle.read()
    sources = _sources()
    code = "\n".join(sources.values())
    cited = set(re.findall(r"`([A-Za-z_][A-Za-z0-9_.]*)`", doc))
    assert len(cited) > 30
    missing = []
    for name in sorted(cited):
        last = name.rsplit(".", 1)[-1]
        if name.endswith(".py"):
            if name not in sources:
                missing.append(name)
            continue
        if last in PROSE or f"{last}.py" in sources:     # (a module: nn.functional)
            continue
        if re.search(rf'Row\("{last.lower()}"', code):    # a class made from a table row (Log1p)
            continue
        defined = re.search(rf"^\s*(?:def|class)\s+{re.escape(last)}\b|^\s*{re.escape(last)}\s*(?::[^=\n]*)?=[^=]"
                            rf"|\b{re.escape(last)}\s*=\s*(?:unary_op|binary_op|ternary_op)\(", code, re.M)
        if not defined:
            missing.append(name)
    assert not missing, f"docs/how-it-works.md cites names defined nowhere: {missing}"
