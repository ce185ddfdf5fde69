"""ad.nn, ad.optim, ad.nn.functional reach the top-level packages, lazily; when the nn or optim that
Python would import is a user's file of the same name, they raise an ImportError naming that file
and the fix, without running it and without loading a second copy. Each case runs in a subprocess
with a temporary directory first on sys.path."""
import os
import subprocess
import sys
import textwrap

import pytest

import autodiff as ad
import nn
import optim
import nn.functional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_ad_nn_and_ad_optim_are_the_top_level_packages():
    assert ad.nn is nn and ad.optim is optim and ad.nn.functional is nn.functional
    from autodiff import nn as from_import
    assert from_import is nn
    assert {"nn", "optim"} <= set(dir(ad))
    with pytest.raises(AttributeError, match="has no attribute 'nnn'"):
        ad.nnn


def run(tmp_path, code):
    """Run ``code`` in a fresh interpreter with tmp_path first on sys.path and the checkout after it."""
    script = textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(tmp_path)!r}, {ROOT!r}]
    """) + textwrap.dedent(code)
    result = subprocess.run([sys.executable, "-c", script], cwd=str(tmp_path), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_lazy_access_imports_nothing_until_asked(tmp_path):
    out = run(tmp_path, """
        import autodiff as ad
        print("nn" in sys.modules, "optim" in sys.modules)
        ad.nn.Linear(2, 2)
        print("nn" in sys.modules, ad.nn is sys.modules["nn"], ad.optim is sys.modules["optim"])
    """)
    assert out.split() == ["False", "False", "True", "True", "True"]


@pytest.mark.parametrize("package", ["nn", "optim"])
def test_a_users_file_that_shadows_the_package_is_named_and_never_run(tmp_path, package):
    shadow = tmp_path / f"{package}.py"
    shadow.write_text("print('USER FILE RAN')\n")
    out = run(tmp_path, f"""
        import autodiff as ad
        for attempt in range(2):
            try:
                ad.{package}
            except ImportError as error:
                print("ERROR:", error)
        try:
            from autodiff import {package}
        except ImportError as error:
            print("FROM-IMPORT:", type(error).__name__)
        print("loaded:", "{package}" in sys.modules)
    """)
    assert "USER FILE RAN" not in out
    errors = [line for line in out.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 2                        # refused every time, not cached
    message = errors[0]
    assert str(shadow) in message and f"not autodiff's {package} package" in message
    assert os.path.join(ROOT, package) in message and "rename" in message.lower()
    assert "FROM-IMPORT: ImportError" in out and "loaded: False" in out


def test_a_shadowing_folder_is_named_too(tmp_path):
    (tmp_path / "nn").mkdir()
    (tmp_path / "nn" / "__init__.py").write_text("print('USER PACKAGE RAN')\n")
    out = run(tmp_path, """
        import autodiff as ad
        try:
            ad.nn
        except ImportError as error:
            print("ERROR:", error)
    """)
    assert "USER PACKAGE RAN" not in out
    assert f"is {tmp_path / 'nn'}{os.sep}," in out


def test_a_shadow_already_imported_is_refused_and_the_real_one_already_imported_is_returned(tmp_path):
    (tmp_path / "optim.py").write_text("VALUE = 1\n")
    out = run(tmp_path, """
        import optim                      # the user's file, imported first
        import autodiff as ad
        try:
            ad.optim
        except ImportError as error:
            print("ERROR:", error)
        sys.path.remove(sys.path[0])
        del sys.modules["optim"]
        import optim as real
        print("real:", ad.optim is real, real.SGD.__name__)
    """)
    assert "ERROR:" in out and str(tmp_path / "optim.py") in out
    assert "real: True SGD" in out
