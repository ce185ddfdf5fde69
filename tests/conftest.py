"""Test configuration: make the repository root importable, and keep global engine state
(grad mode, default dtype) from leaking from one test into the next."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import autodiff as ad  # noqa: E402  (needs ROOT on sys.path)

# tests import their shared helper as `helpers`
TESTS = os.path.dirname(os.path.abspath(__file__))
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)


@pytest.fixture(autouse=True)
def _restore_engine_state():
    """A test that fails half-way must not leave grad mode off or float64 as the default for the
    tests after it (each test asserts what it expects about that state itself)."""
    dtype = ad.get_default_dtype()
    yield
    ad.set_grad_enabled(True)
    ad.set_default_dtype(dtype)
