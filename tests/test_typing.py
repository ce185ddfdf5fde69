"""The typed public API: mypy --disallow-untyped-defs passes over the typed files, and it catches a
user's type error against the public API (so an editor completes and checks user code).

One mypy run (its cache in the repository's .mypy_cache, so a rerun takes about a second) checks
the packages of ``TYPED`` (all of autodiff, nn and optim) with the settings of ``[tool.mypy]`` in pyproject.toml, together with a
small user program: a training loop that must check cleanly, with deliberate mistakes on the lines
marked ``# expect:``, each of which mypy must report on that line. mypy is in the ``test`` extra,
so this runs in CI (where a skipped test fails).
"""
import os
import re
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# What mypy checks with --disallow-untyped-defs: the three packages, every module of them (a new
# module is checked without being listed).
TYPED = ["autodiff", "nn", "optim"]

# A user's program. Each line marked `# expect: TEXT` must get a mypy error containing TEXT;
# every other line must check cleanly (correct use of the API raises no false alarm).
USER_CODE = textwrap.dedent('''
    import os
    import tempfile
    from typing import Iterator

    import numpy as np

    import autodiff as ad
    import nn
    import optim
    from nn.parameter import Parameter


    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 3)
            self.scale = nn.Parameter(np.ones(3))

        def forward(self, x: ad.Tensor) -> ad.Tensor:
            return self.fc(x) * self.scale


    @ad.no_grad()
    def evaluate(model: nn.Module, x: ad.Tensor) -> float:
        return float(model(x).sum().item())


    model = Net()
    params: Iterator[Parameter] = model.parameters()
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    sched = optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    data = nn.data.DataLoader(nn.data.TensorDataset(np.zeros((8, 4)), np.zeros(8)), batch_size=4)
    for x, y in data:
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        opt.step()
        sched.step()
    last: list[float] = sched.get_last_lr()
    score: float = evaluate(model, ad.randn(2, 4))
    with ad.no_grad():
        model.eval()
    path = os.path.join(tempfile.mkdtemp(), "model.npz")
    ad.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, path)
    model.load_state_dict(ad.load(path)["model"])
    w = ad.tensor([1.0, 2.0], requires_grad=True)
    (dw,) = ad.grad((w * w).sum(), [w])
    ok: bool = ad.gradcheck(lambda t: (t * t).sum(), ad.tensor([1.0], dtype="float64", requires_grad=True))
    nn.init.kaiming_uniform_(model.fc.weight, a=5 ** 0.5)

    # the Tensor API: operators, the elementwise table's methods and ad. functions, the vocabulary
    t = ad.randn(3, 4, requires_grad=True)
    mixed: ad.Tensor = (t.exp().sum() + ad.exp(t).mean() * 2 - t.tanh().max()) / 3
    chain: ad.Tensor = -(t @ t.T) % 2.0 // 1.0 + 1.5 * t.sigmoid().log1p().reshape(4, 3).sum(dim=0).sqrt()
    values, indices = t.max(dim=1)
    picked: ad.Tensor = t.softmax(dim=-1).cumsum(1).flip(0)[0] + t.max(0).values + ad.where(t > 0, t, 0.0)
    array: np.ndarray = t.detach().data
    shape: tuple[int, ...] = t.shape
    rows: int = t.size(0) + t.ndim
    fit: ad.Tensor = ad.fused.linear(t, ad.zeros(2, 4)).relu().pow(2).mean()
    fit.backward()
    t.sum(dim="a")  # expect: Argument "dim" to "sum" of "Tensor" has incompatible type "str"
    t.reshape("3")  # expect: Argument 1 to "reshape" of "Tensor" has incompatible type "str"
    name: str = t.exp()  # expect: Incompatible types in assignment (expression has type "Tensor", variable has type "str")

    optim.SGD(model.parameters(), lr="0.1")  # expect: Argument "lr" to "SGD" has incompatible type "str"
    model.train("yes")  # expect: Argument 1 to "train" of "Module" has incompatible type "str"
    optim.lr_scheduler.StepLR(opt, step_size=2.5)  # expect: Argument "step_size" to "StepLR" has incompatible type "float"
    ad.save(model.state_dict(), 42)  # expect: Argument 2 to "save" has incompatible type "int"
    optim.Adam([w], betas=0.9)  # expect: Argument "betas" to "Adam" has incompatible type "float"
    count: int = model.parameters()  # expect: Incompatible types in assignment
''')


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory):
    """mypy's report on TYPED and the user program (file -> [(line, message)])."""
    pytest.importorskip("mypy", reason='the type check needs mypy: pip install -e ".[test]"')
    user = tmp_path_factory.mktemp("typing") / "user_code.py"
    user.write_text(USER_CODE)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", os.path.join(ROOT, "pyproject.toml"),
         "--cache-dir", os.path.join(ROOT, ".mypy_cache"), "--disallow-untyped-defs",
         "--follow-imports=silent", "--no-pretty", "--show-error-codes", "--no-error-summary",
         *TYPED, str(user)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    if result.returncode not in (0, 1) or result.stderr.strip():    # 2: mypy itself failed
        pytest.fail(f"mypy did not run (exit {result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    errors = {}
    for line in result.stdout.splitlines():
        match = re.match(r"(.+?):(\d+): error: (.*)", line)
        if match:
            name = "user_code.py" if os.path.basename(match.group(1)) == "user_code.py" else match.group(1)
            errors.setdefault(name, []).append((int(match.group(2)), match.group(3)))
    return errors, result.stdout


def test_the_typed_files_pass_mypy_disallow_untyped_defs(mypy_output):
    errors, report = mypy_output
    found = {name: found for name, found in errors.items() if name != "user_code.py"}
    assert not found, "mypy --disallow-untyped-defs reports errors:\n" + "\n".join(
        line for line in report.splitlines() if "user_code.py" not in line)


def test_the_typed_list_names_existing_files():
    missing = [name for name in TYPED if not os.path.isfile(os.path.join(ROOT, name, "__init__.py"))]
    assert not missing


def test_mypy_reports_a_users_type_errors_on_their_lines(mypy_output):
    errors, report = mypy_output
    expected = {number: line.split("# expect: ", 1)[1]
                for number, line in enumerate(USER_CODE.splitlines(), 1) if "# expect: " in line}
    assert len(expected) == 9
    got = errors.get("user_code.py", [])
    missed = [f"line {number}: {text}" for number, text in expected.items()
              if not any(line == number and text in message for line, message in got)]
    false_alarms = [f"line {line}: {message}" for line, message in got if line not in expected]
    assert not missed and not false_alarms, (
        f"missed: {missed}\nfalse alarms on correct code: {false_alarms}\nmypy said:\n{report}")
