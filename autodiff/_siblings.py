"""``ad.nn`` / ``ad.optim``: this project's top-level ``nn`` and ``optim`` packages, found beside
``autodiff/``, never a user's file of the same name.

``nn`` and ``optim`` are generic names: a user's ``nn.py`` in the directory a script runs from comes
first on ``sys.path`` and shadows the package. Handing that file back as ``ad.nn`` would fail later
with a baffling AttributeError; importing the real package under another name would make a second
copy with its own classes. So the package Python would import is located first (``find_spec``,
which runs nothing), and when it is not the one installed beside autodiff the error names it.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))     # the folder holding autodiff/


def sibling_package(name: str) -> types.ModuleType:
    """Import and return the top-level package ``name`` installed beside ``autodiff``."""
    expected = os.path.join(_ROOT, name)
    found = _location(name)
    if found is None:
        raise ImportError(f"ad.{name}: no package {name!r} can be imported; it is installed together with "
                          f"autodiff (pip install numpy-autodiff, or from a checkout pip install -e .); "
                          f"expected it at {expected}", name=name)
    if os.path.realpath(found) != os.path.realpath(expected):
        shadow = found if not os.path.isdir(found) else found + os.sep
        raise ImportError(
            f"ad.{name}: the {name!r} that Python imports is {shadow}, not autodiff's {name} package "
            f"({expected}{os.sep}). A file or folder named {name} earlier on sys.path shadows it (so "
            f"`import {name}` gets that file too). Fix: rename {shadow} (e.g. to my_{name}.py) and delete "
            f"its __pycache__, or run from a directory that does not hold it.", name=name, path=found)
    return importlib.import_module(name)


def _location(name: str) -> str | None:
    """The file or folder ``import name`` would load (or has loaded), without running it."""
    module = sys.modules.get(name)
    if module is not None:
        spec = getattr(module, "__spec__", None)
        origin = getattr(module, "__file__", None)
        locations = list(getattr(module, "__path__", None) or [])
    else:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            return None
        if spec is None:
            return None
        origin = spec.origin if spec.has_location else None
        locations = list(spec.submodule_search_locations or [])
    if origin:
        # a package is located by its folder; a module by its file
        return os.path.dirname(origin) if os.path.basename(origin).startswith("__init__.") else origin
    if locations:           # a namespace package: a folder without __init__.py
        return locations[0]
    return getattr(spec, "origin", None) or name
