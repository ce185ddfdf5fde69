"""Every public name is exercised by a parity or gradcheck table: ``ad.__all__``, ``ad.linalg``,
the Tensor's methods and ``nn.functional``'s names. A name is covered by

* a row (or alias) of the elementwise tables, walked by test_elementwise_table.py and
  test_vocab_elementwise.py;
* a case of the tables of test_vocab_ops.py (``CASES``: PyTorch parity, gradcheck and
  gradgradcheck; ``VALUE_CASES``: ops without a gradient), a Tensor method also when it is the
  ``ad.`` function itself (attached by the vocabulary's tables);
* for the names that came before the vocabulary, the table-driven files that already test them
  (``EARLIER_TABLES``: the name must appear there);
* or it is not an op (``NOT_OPS``: grad modes, creation, tools, attributes).

A new public op without a table entry fails here."""
import os
import re

import autodiff as ad
from autodiff import ops
from nn import functional as F

import test_vocab_ops

TESTS = os.path.dirname(os.path.abspath(__file__))
# the files that tested the earlier ops (by name: ``ad.sum(``, ``.sum(``, ``F.conv2d(`` or ``"sum"``)
EARLIER_TABLES = ["test_parity_torch.py", "test_parity_torch_indexing_and_functional.py", "test_ops.py", "test_nn_functional.py",
                  "test_conv.py", "test_tensor.py", "test_edges.py", "test_engine.py", "test_indexing_and_joining.py", "test_softmax_and_functional.py",
                  "test_gradcheck_hooks_and_scopes.py",
                  "test_backward_walk.py", "test_reliability.py", "test_fast_paths.py", "test_hypothesis.py",
                  # issue 16: PyTorch's meanings (each item against PyTorch and a formula), the walk of every
                  # shared name with PyTorch's documented forms, PyTorch idioms run verbatim
                  "test_semantics.py", "test_api_walk.py", "test_pytorch_idioms.py",
                  # more layers and their functional forms, each against PyTorch and gradcheck
                  "test_nn_more.py",
                  # more of PyTorch's names: each against PyTorch, gradcheck and gradgradcheck
                  "test_vocab_more.py",
                  # the random draws (samplers, dropout variants) value for value against PyTorch
                  "test_random.py"]
NOT_OPS = {
    # grad modes, graph tools, the engine's classes
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "name_scope", "Function", "Elementwise",
    "backward", "grad", "unbroadcast", "gradcheck", "gradgradcheck", "GradcheckError", "draw_graph", "explain",
    "animate_backward", "save", "load", "detect_anomaly", "AnomalyError", "functional", "fused", "linalg", "nn",
    "optim", "manual_seed", "default_generator", "set_default_dtype", "get_default_dtype",
    # tensors and dtypes
    "Tensor", "tensor", "float16", "float32", "float64", "int32", "int64", "bool", "half", "double", "long",
    "DtypeError", "return_types", "device", "is_cuda",
    # Tensor attributes and graph methods
    "T", "mT", "data", "grad_fn", "is_leaf", "requires_grad", "requires_grad_", "retain_grad", "retains_grad",
    "register_hook", "detach", "detach_", "shape", "ndim", "dim", "size", "numel", "dtype", "item", "tolist",
    "numpy", "astype", "to", "double", "float", "int", "long", "clone", "view",
    # creation (constants and random draws: no parity to check)
    "zeros", "ones", "full", "eye", "arange", "linspace", "rand", "randn", "zeros_like", "ones_like", "full_like",
    "rand_like", "randn_like", "empty", "empty_like", "randint", "randperm", "as_tensor", "is_tensor",
    "int8", "int16", "uint8", "short",
}


def _covered_by_tables():
    names = {row.name for row in ops.ELEMENTWISE} | set(ops.ALIASES) | {name for name, _, _ in ops.OFF_GRAPH}
    names.add("floor_divide")       # test_vocab_elementwise.py: values, operator, and its refusing backward
    names |= {case.name for case in test_vocab_ops.CASES}
    names |= {case[0] for case in test_vocab_ops.VALUE_CASES}
    return names


def _earlier_text():
    text = ""
    for name in EARLIER_TABLES:
        with open(os.path.join(TESTS, name), encoding="utf-8") as handle:
            text += handle.read()
    return text


def _uncovered(names, prefix, covered, text):
    missing = []
    for name in names:
        if name in NOT_OPS or prefix + name in covered:
            continue
        if prefix == "" and name in covered:
            continue
        if not re.search(r"(\bad\.|\bF\.|\.)" + re.escape(name) + r"\(|\"" + re.escape(name) + r"\"", text):
            missing.append(prefix + name)
    return missing


def test_every_public_autodiff_name_is_in_a_table():
    covered, text = _covered_by_tables(), _earlier_text()
    assert not _uncovered(ad.__all__, "", covered, text)
    assert not _uncovered(ad.linalg.__all__, "linalg.", covered, "")


def test_every_tensor_method_is_in_a_table():
    covered, text = _covered_by_tables(), _earlier_text()
    methods = [m for m in dir(ad.Tensor) if not m.startswith("_")]
    missing = []
    for method in methods:
        function = getattr(ad, method, None)
        if method in covered and (getattr(ad.Tensor, method) is function or method in ops.ELEMENTWISE_METHODS):
            continue
        if "Tensor." + method in covered:
            continue
        missing += _uncovered([method], "", set(), text)
    assert not missing


def test_every_nn_functional_name_is_in_a_table():
    covered, text = _covered_by_tables(), _earlier_text()
    assert not _uncovered(F.__all__, "F.", covered, text)


def test_the_vocabulary_names_are_in_the_new_tables_not_only_in_earlier_files():
    # the names this issue added must be covered by the tables themselves
    covered = _covered_by_tables()
    added = set(ad.scans.__all__) | set(ad.gathering.__all__) | set(ad.shapes.__all__) | set(
        ad.contractions.__all__) | set(ad.pointwise.__all__) - {"one_hot"}
    assert added - {"one_hot"} <= covered
    from nn import functional_activations, functional_layers, functional_losses
    for module in (functional_activations, functional_layers, functional_losses):
        assert {"F." + name for name in module.__all__} <= covered, module.__name__


def test_the_tensor_docstring_lists_every_attached_method():
    doc = ad.Tensor.__doc__
    for name in list(ad._METHODS) + list(ops.ELEMENTWISE_METHODS) + list(ops.OPERATORS):
        assert re.search(r"\b" + re.escape(name) + r"\b", doc), name
        assert getattr(ad.Tensor, name) is not None
