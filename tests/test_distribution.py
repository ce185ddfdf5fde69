"""The distribution: `python -m build` makes a wheel and an sdist of `numpy-autodiff` that install
into clean virtual environments and work there (import autodiff, nn, optim; a small training step
with its gradient checked against the formula).

Offline and quick: the build uses this environment's setuptools (`--no-isolation`); each clean venv
is made without pip and sees only numpy (and, to build the sdist, setuptools), linked in from this
environment, and pip installs into it with `--no-index`. Runs in the normal suite and in CI (`build`
and `setuptools` are in the `test` extra), so it is marked slow, never skipped.
"""
import importlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile

import pytest

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "numpy-autodiff"
# what is never part of a source tree to build: environments, caches, earlier builds
SKIP = shutil.ignore_patterns(".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__",
                              ".pytest_cache", ".hypothesis", ".mypy_cache", "demo-out", "examples-out", "*.pyc")

SMOKE = textwrap.dedent("""
    import sys, importlib.metadata
    import numpy as np
    import autodiff as ad, nn, optim
    for module in (ad, nn, optim):       # the installed copy, not a checkout
        assert module.__file__.startswith(sys.prefix), module.__file__
    assert importlib.metadata.version("numpy-autodiff") == "0.1.0"
    assert ad.nn is nn and ad.optim is optim and ad.nn.functional is nn.functional
    ad.manual_seed(0)
    model = nn.Linear(3, 2).double()
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = ad.randn(4, 3, dtype=ad.float64)
    y = model(x)
    loss = (y ** 2).mean()
    loss.backward()
    expected = 2 * y.data.T @ x.data / y.data.size          # d mean(y^2) / dW
    assert np.allclose(model.weight.grad.data, expected, rtol=1e-12, atol=1e-14)
    before = model.weight.data.copy()
    opt.step()
    assert np.allclose(model.weight.data, before - 0.1 * expected)
    print("smoke ok")
""")


def run(*command, cwd=None):
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(map(str, command))}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def clean_venv(path, *distributions):
    """A venv without pip whose only packages are ``distributions``, linked from this environment."""
    run(sys.executable, "-m", "venv", "--without-pip", str(path))
    python = str(path / "bin" / "python") if os.name != "nt" else str(path / "Scripts" / "python.exe")
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    for name in distributions:
        distribution = importlib.metadata.distribution(name)
        if distribution.files is None:          # installed without a RECORD (a system package)
            sources = [os.path.dirname(importlib.import_module(name).__file__),
                       str(getattr(distribution, "_path", ""))]     # its metadata folder, for pip
        else:
            tops = {file.parts[0] for file in distribution.files if file.parts[0] not in ("..", "__pycache__")}
            sources = [str(distribution.locate_file(top)) for top in tops]
        for source in sources:
            if os.path.exists(source):
                os.symlink(source, os.path.join(site, os.path.basename(source)))
    return python


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(wheel, sdist) built from a copy of the checkout."""
    for needed in ("build", "setuptools"):
        try:
            importlib.metadata.version(needed)
        except importlib.metadata.PackageNotFoundError:
            pytest.fail(f"the distribution test needs {needed}: pip install -e \".[test]\"")
    work = tmp_path_factory.mktemp("dist")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=SKIP)
    out = work / "out"
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source))
    wheels = sorted(out.glob("*.whl"))
    sdists = sorted(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, os.listdir(out)
    return wheels[0], sdists[0]


def test_the_wheel_holds_the_three_packages_under_the_new_name(built):
    wheel, _ = built
    assert wheel.name.startswith("numpy_autodiff-0.1.0-") and wheel.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read("numpy_autodiff-0.1.0.dist-info/METADATA").decode()
    tops = {name.split("/")[0] for name in names if not name.startswith("numpy_autodiff-0.1.0.dist-info")}
    assert tops == {"autodiff", "nn", "optim"}
    for module in ("autodiff/serialization.py", "autodiff/dtypes.py", "nn/module.py", "optim/optimizer.py"):
        assert module in names
    # PEP 561 markers: type checkers read the packages' inline hints only when these are installed
    for marker in ("autodiff/py.typed", "nn/py.typed", "optim/py.typed"):
        assert marker in names
    assert "Name: numpy-autodiff\n" in metadata
    assert "Requires-Dist: numpy>=2.0\n" in metadata
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    # the test extra refers to this distribution, never to the index's unrelated "autodiff"
    assert not [line for line in requires if line.split()[1].startswith("autodiff")]
    assert any(line.startswith("Requires-Dist: numpy-autodiff[") and "test" in line for line in requires)


def test_the_sdist_holds_the_sources_and_the_metadata(built):
    _, sdist = built
    assert sdist.name == "numpy_autodiff-0.1.0.tar.gz"
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"pyproject.toml", "README.md", "autodiff/__init__.py", "nn/__init__.py", "optim/__init__.py",
            "autodiff/py.typed", "nn/py.typed", "optim/py.typed"} <= names


def test_the_wheel_installs_into_a_clean_venv_and_works(built, tmp_path):
    wheel, _ = built
    python = clean_venv(tmp_path / "venv", "numpy")
    # no --no-deps: the numpy requirement must be met by the numpy that is there
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-index", "--quiet", str(wheel))
    assert "smoke ok" in run(python, "-I", "-c", SMOKE, cwd=tmp_path)


def test_the_sdist_installs_into_a_clean_venv_and_works(built, tmp_path):
    _, sdist = built
    python = clean_venv(tmp_path / "venv", "numpy", "setuptools")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-index", "--no-build-isolation",
        "--quiet", str(sdist))
    assert "smoke ok" in run(python, "-I", "-c", SMOKE, cwd=tmp_path)
    installed = run(python, "-I", "-c", "import importlib.metadata as m; print(m.distribution('numpy-autodiff')"
                                        ".read_text('INSTALLER'))")
    assert installed.strip() == "pip"


def test_every_install_hint_names_this_distribution():
    """No message, doc or config names the index's unrelated `autodiff` as something to install."""
    import re
    wrong = re.compile(r"(?<![\w-])autodiff\[|pip install (-U |--upgrade )?[\"']?autodiff\b")
    offenders = []
    for folder, _, files in os.walk(ROOT):
        if any(part in folder.split(os.sep) for part in (".git", ".venv", "__pycache__", "build", "dist")):
            continue
        for file in files:
            if file.endswith((".py", ".md", ".toml", ".cfg", ".txt")) or file in ("Makefile", "run"):
                path = os.path.join(folder, file)
                if path == os.path.abspath(__file__):
                    continue
                with open(path, encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        if wrong.search(line):
                            offenders.append(f"{os.path.relpath(path, ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
