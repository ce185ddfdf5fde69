"""The declarations for type checkers match what is attached at run time.

Tensor's operators ``+ - * / % //`` and unary ``-`` and its elementwise methods are the ``ad.``
functions themselves, set on the class after it is made (tensor.py, from ``ops.OPERATORS`` and
``ops.ELEMENTWISE_METHODS``); the vocabulary's methods are the vocabulary's functions, set in
autodiff/__init__.py; indexing.py sets ``__getitem__``/``__setitem__``; and the elementwise
table's rows put their ``ad.`` functions and classes into autodiff.ops through ``globals()``. A
type checker sees none of that, so each is declared in an ``if TYPE_CHECKING:`` block: in
Tensor's class body and in autodiff/ops.py. These tests read those blocks (the source, with
``ast``) and hold them against the running objects:

- the names: every attached method and table-made name is declared, and every declaration is
  attached (so a new table row or vocabulary method without a declaration fails here);
- the signatures: every call a declaration allows binds to the attached function, and every
  parameter the attached function names is declared, under the same name and kind, with the
  same default (a declaration may be narrower: positional-only where the function's own name
  for the operand is not PyTorch's).

No mypy here: this runs in the fast suite (tests/test_typing.py runs mypy on the declarations).
"""
import ast
import copy
import inspect
import os
import types

import numpy as np
import pytest

import autodiff as ad
from autodiff import ops

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _source(relative):
    with open(os.path.join(ROOT, relative), encoding="utf-8") as file:
        return ast.parse(file.read())


def _is_type_checking_block(node):
    return isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _declared(body):
    """{name: [FunctionDef or AnnAssign, ...]} of the TYPE_CHECKING blocks in ``body`` (the
    functions, overloads included, and the annotated names; not the imports)."""
    found = {}
    for block in filter(_is_type_checking_block, body):
        for node in block.body:
            if isinstance(node, ast.FunctionDef):
                found.setdefault(node.name, []).append(node)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                found.setdefault(node.target.id, []).append(node)
    return found


def _bound_outside(body):
    """{name: [FunctionDef, ...]} of the names that statements of ``body`` bind outside its
    TYPE_CHECKING blocks (defs, classes, assignments, imports, loop targets); defs keep their nodes."""
    found = {}
    for node in body:
        if _is_type_checking_block(node):
            continue
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found.setdefault(node.name, []).append(node)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                found.setdefault((alias.asname or alias.name).split(".")[0], [])
        else:
            targets = []
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        found.setdefault(name.id, [])
    return found


def _tensor_class():
    return next(node for node in _source("autodiff/tensor.py").body
                if isinstance(node, ast.ClassDef) and node.name == "Tensor")


def _signature(node):
    """The signature a FunctionDef declares: the def compiled without its annotations and
    decorators (defaults evaluated, ``...`` kept as Ellipsis)."""
    node = copy.deepcopy(node)
    node.decorator_list, node.returns, node.body = [], None, [ast.Pass()]
    arguments = node.args
    for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                     *filter(None, (arguments.vararg, arguments.kwarg))):
        argument.annotation = None
    module = ast.fix_missing_locations(ast.Module(body=[node], type_ignores=[]))
    namespace = {"np": np}
    exec(compile(module, "<declaration>", "exec"), namespace)
    return inspect.signature(namespace[node.name])


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _mismatches(declared, actual, receiver, overload=False):
    """How ``declared`` (a signature) promises what ``actual`` (the attached function's) does not
    do; ``receiver``: the first parameter of both is the tensor itself (a method); ``overload``:
    one case of an overloaded declaration, which may require what the function defaults (its
    implementation's declaration may not). [] if none."""
    problems = []
    declared_params = list(declared.parameters.values())[1 if receiver else 0:]
    actual_params = list(actual.parameters.values())
    placeholder = ("self",) if receiver else ()
    # every call the declaration allows binds: all arguments, the required ones only, and each
    # positional-or-keyword parameter by keyword
    calls = []
    positional = [p for p in declared_params if p.kind in _POSITIONAL]
    keywords = {p.name: p.name for p in declared_params if p.kind == p.KEYWORD_ONLY}
    extra = ("more", "more") if any(p.kind == p.VAR_POSITIONAL for p in declared_params) else ()
    calls.append(((*[p.name for p in positional], *extra), keywords))
    calls.append(([p.name for p in positional if p.default is p.empty],
                  {p.name: p.name for p in declared_params if p.kind == p.KEYWORD_ONLY and p.default is p.empty}))
    for i, p in enumerate(positional):
        if p.kind == p.POSITIONAL_OR_KEYWORD:   # p by keyword, and so the required ones after it
            later = [q for q in positional[i + 1:] if q.default is q.empty]
            calls.append(([q.name for q in positional[:i]], {q.name: q.name for q in [p, *later, *(
                q for q in declared_params if q.kind == q.KEYWORD_ONLY and q.default is q.empty)]}))
    for args, kwargs in calls:
        try:
            actual.bind(*placeholder, *args, **kwargs)
        except TypeError as error:
            problems.append(f"the declared call ({', '.join(map(str, args))}"
                            f"{', ' if args and kwargs else ''}{', '.join(f'{k}=' for k in kwargs)}) does not "
                            f"bind to {actual}: {error}")
    # every parameter the function names is declared: same name, kind and default
    by_name = {p.name: p for p in declared_params}
    actual_named = actual_params[1 if receiver else 0:]
    for position, p in enumerate(actual_named):
        if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            continue
        mine = by_name.get(p.name)
        if mine is None:
            # a positional operand may be declared positional-only under another name
            counterpart = declared_params[position] if position < len(declared_params) else None
            if not (p.kind == p.POSITIONAL_OR_KEYWORD and counterpart is not None
                    and counterpart.kind == counterpart.POSITIONAL_ONLY):
                problems.append(f"parameter {p.name!r} of {actual} is not declared")
            continue
        if mine.kind != p.kind:
            problems.append(f"parameter {p.name!r} is {mine.kind.description} in the declaration, "
                            f"{p.kind.description} in {actual}")
        if p.default is not p.empty and mine.default is p.empty and not overload:
            problems.append(f"parameter {p.name!r} is optional in {actual} but required in the declaration")
        elif p.default is not p.empty and mine.default not in (p.empty, Ellipsis) and not _same(
                mine.default, p.default):
            problems.append(f"parameter {p.name!r}: the declaration's default {mine.default!r} is not "
                            f"{p.default!r} of {actual}")
    return problems


def _same(a, b):
    return type(a) is type(b) and a == b


def _variants(nodes):
    return [node for node in nodes if isinstance(node, ast.FunctionDef)]


def _is_overload(node):
    return any(ast.unparse(decorator) in ("overload", "typing.overload") for decorator in node.decorator_list)


# ---------------------------------------------------------------------------------------------
# Tensor: the methods attached to the class after it is made

def _attached_methods():
    """{name: function} of Tensor's attributes that are functions defined outside its class body."""
    return {name: value for name, value in vars(ad.Tensor).items()
            if isinstance(value, types.FunctionType) and not value.__qualname__.startswith("Tensor.")}


def _runtime_signature(name, function):
    signature = inspect.signature(function)
    kinds = [p.kind for p in signature.parameters.values()]
    if name.endswith("_") and kinds[1:] == [inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD]:
        # an in-place method that passes its arguments on to the out-of-place one (gathering._in_place)
        return inspect.signature(getattr(ad.Tensor, name[:-1]))
    return signature


def test_tensor_declares_exactly_the_attached_methods():
    cls = _tensor_class()
    declared, body = _declared(cls.body), _bound_outside(cls.body)
    attached = _attached_methods()
    assert attached, "the attached methods were not found"
    undeclared = sorted(set(attached) - set(declared) - set(body))
    not_attached = sorted(set(declared) - set(attached))
    assert not undeclared, (f"Tensor methods attached at run time but not declared in the TYPE_CHECKING block "
                            f"of Tensor's class body (autodiff/tensor.py): {undeclared}")
    assert not not_attached, f"declared in Tensor's TYPE_CHECKING block but not attached: {not_attached}"
    assert not set(declared) & set(body), "declared twice: in the block and in the class body"


def test_the_attached_set_covers_the_tables():
    """The attached set that the test above compares is the tables' (not an empty or partial walk)."""
    attached = set(_attached_methods())
    tables = set(ops.OPERATORS) | set(ops.ELEMENTWISE_METHODS) | set(ad._METHODS)
    assert tables <= attached
    assert attached - tables == {"__getitem__", "__setitem__"}


@pytest.mark.parametrize("name", sorted(_attached_methods()))
def test_tensor_declarations_fit_the_attached_functions(name):
    cls = _tensor_class()
    nodes = _variants(_declared(cls.body).get(name, []) + _bound_outside(cls.body).get(name, []))
    assert nodes, f"Tensor.{name} has no declaration"
    actual = _runtime_signature(name, getattr(ad.Tensor, name))
    problems = [f"{'overload ' if len(nodes) > 1 else ''}line {node.lineno}: {problem}"
                for node in nodes for problem in _mismatches(_signature(node), actual, True, _is_overload(node))]
    assert not problems, f"Tensor.{name}:\n" + "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# autodiff.ops: the names the table's rows put there through globals()

def _table_made():
    """{name: object} of autodiff.ops's globals that no statement of ops.py binds."""
    bound = _bound_outside(_source("autodiff/ops.py").body)
    # (a dunder is the module's own: __builtins__, __warningregistry__ once a warning was raised...)
    return {name: value for name, value in vars(ops).items()
            if name not in bound and not (name.startswith("__") and name.endswith("__"))}


def test_ops_declares_exactly_the_table_made_names():
    declared = _declared(_source("autodiff/ops.py").body)
    made = _table_made()
    rows = {row.name for row in ops.ELEMENTWISE} | {entry[0] for entry in ops.OFF_GRAPH} | set(ops.ALIASES)
    assert rows <= set(made), "the walk of ops.py's statements misses the rows"
    assert not sorted(set(made) - set(declared)), (
        f"made by the table (globals()) but not declared in autodiff/ops.py's TYPE_CHECKING block: "
        f"{sorted(set(made) - set(declared))}")
    assert not sorted(set(declared) - set(made)), (
        f"declared in ops.py's TYPE_CHECKING blocks but not made by the table: {sorted(set(declared) - set(made))}")


@pytest.mark.parametrize("name", sorted(_table_made()))
def test_ops_declarations_fit_the_table_made_objects(name):
    nodes = _declared(_source("autodiff/ops.py").body).get(name, [])
    value = getattr(ops, name)
    assert nodes, f"ops.{name} has no declaration"
    for node in nodes:
        if isinstance(node, ast.AnnAssign):     # a class: `Exp: type[Elementwise]`
            annotation = ast.unparse(node.annotation)
            assert annotation.startswith("type[") and isinstance(value, type), (name, annotation)
            assert issubclass(value, getattr(ops, annotation[5:-1])), (name, annotation)
        else:
            problems = _mismatches(_signature(node), inspect.signature(value), False, _is_overload(node))
            assert not problems, f"ops.{name}, line {node.lineno}:\n" + "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# the check itself fails where it should

def test_the_signature_check_catches_drift():
    def declared(self, dim: int, keepdim: bool = False): ...     # noqa: E704
    source = ast.parse(inspect.getsource(declared).strip()).body[0]
    assert not _mismatches(_signature(source), inspect.signature(lambda input, dim, keepdim=False: None), True)
    # a new parameter, a renamed one, another default, a required one declared optional
    assert _mismatches(_signature(source), inspect.signature(lambda input, dim, keepdim=False, out=None: None), True)
    assert _mismatches(_signature(source), inspect.signature(lambda input, axis, keepdim=False: None), True)
    assert _mismatches(_signature(source), inspect.signature(lambda input, dim, keepdim=True: None), True)
    assert _mismatches(_signature(source), inspect.signature(lambda input, dim, keepdim: None), True)
