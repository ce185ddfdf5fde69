"""The README's code runs as written (a new user copies it first)."""
import os
import re

import numpy as np
import pytest

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    text = open(README, encoding="utf-8").read()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    namespace = {"X_train": rng.random((100, 64), dtype=np.float32), "y_train": rng.integers(0, 10, 100)}
    for block in blocks:
        if "import torch" in block:
            pytest.importorskip("torch")
        exec(compile(block, "README.md", "exec"), namespace)
    assert os.path.exists(tmp_path / "model.npz")
