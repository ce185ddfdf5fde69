"""Benchmark autodiff against hand-written numpy and PyTorch eager: ``python benchmarks/run.py [--quick]``.

``make bench`` installs what it needs (``pip install -e ".[bench,demo]"``) and runs this. PyTorch
is optional: without it the torch columns say n/a.

All engines are timed in one process, interleaved: each round runs one batch of samples per
engine, in an order rotated every round, after ``gc.collect()`` and a short pause (OpenBLAS's idle
threads spin for ~0.1 s after a call and would slow whichever engine ran next). Every engine is
warmed up first, and the workloads' results are checked to agree before anything is timed.
The table (medians, ratios to numpy, targets) is printed and, for a full run, written to
``benchmarks/RESULTS.md``. ``--profile`` prints where autodiff spends its time instead.
"""
import os
import sys

# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE force a slower OpenBLAS kernel; they are read when the
# library loads, so the only way out is a fresh process without them, before numpy is imported.
_FORCED_KERNEL_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
if __name__ == "__main__":
    _forced = [name for name in _FORCED_KERNEL_VARIABLES if name in os.environ]
    if _forced:
        _environment = {k: v for k, v in os.environ.items() if k not in _FORCED_KERNEL_VARIABLES}
        _environment["AUTODIFF_BENCH_UNSET"] = ",".join(_forced)
        os.execve(sys.executable, [sys.executable] + sys.orig_argv[1:], _environment)

import argparse  # noqa: E402
import gc  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))      # time this checkout's autodiff, installed or not

import numpy as np  # noqa: E402

from benchmarks import workloads as w  # noqa: E402

THREADS = 2          # BLAS threads for numpy and intra-op threads for torch
PAUSE_S = 0.15       # longer than OpenBLAS's idle spin after a call

FULL = dict(rounds=15, batch_s=0.2, warmup_s=0.5, deep_sizes=(10**5, 10**6), deep_rounds=(15, 5),
            deep_scalar=(10**5, 6),
            training_rounds=15, memory_repeats=3)
QUICK = dict(rounds=3, batch_s=0.02, warmup_s=0.05, deep_sizes=(10**4, 10**5), deep_rounds=(3, 1),
             deep_scalar=(10**5, 2),
             training_rounds=1, memory_repeats=1)

TARGETS = dict(chain=2.5, digits_step=1.5, mnist_step=1.10, mnist_memory=1.2, deep=3.0,
               deep_bytes_per_op=1000.0, training=1.5, adam_step=1.10, cnn_step=1.3, cnn_memory=1.5)
# the step compiled with ad.compile (issue 19): faster than the numpy written by hand
COMPILED_TARGETS = dict(chain=0.8, digits_step=1.0, digits_step_primitives=1.0, micrograd=1.0, training=1.1)
COLUMNS = ("numpy", "autodiff", "compiled", "torch")     # the table's engines; one not run reads n/a
COMPILED = "compiled"       # autodiff with the step compiled by ad.compile (workloads 1, 2, 3, 5, 8)
# adam_step: provisional (the optimizer's overhead over plain numpy; the same bound as workload 3)
LINEAR_TOLERANCE = 0.25      # bytes/op at the two deep sizes may differ by this fraction
ACCURACY_TOLERANCE = 0.006   # "equal accuracy": within 2 of the 360 test digits


# ---------------------------------------------------------------------------------------------
# setup: threads, BLAS kernel, machine


def pin_threads(torch):
    """Pin numpy's BLAS and torch to THREADS threads; returns the threadpoolctl limiter (keep it)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise SystemExit("benchmarks/run.py needs threadpoolctl to pin and report BLAS threads: "
                         "pip install -e '.[bench]'") from None
    limiter = threadpool_limits(limits=THREADS, user_api="blas")
    if torch is not None:
        torch.set_num_threads(THREADS)
    return limiter


def blas_description():
    """The BLAS libraries numpy (and anything else loaded) use: kernel, version, threads."""
    from threadpoolctl import threadpool_info
    lines = []
    for info in threadpool_info():
        if info.get("user_api") != "blas":
            continue
        owner = "numpy" if "numpy" in info["filepath"] else Path(info["filepath"]).parent.name
        lines.append(f"{info['internal_api']} {info.get('version')} kernel {info.get('architecture')}, "
                     f"{info['num_threads']} threads ({owner})")
    return lines


def machine_description(torch):
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines = [
        f"CPU: {cpu}, {os.cpu_count()} logical cores ({usable} usable)",
        f"OS: {platform.platform()}",
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        + (f"torch {torch.__version__}" if torch is not None else "torch not installed"),
    ]
    lines += ["BLAS: " + line for line in blas_description()]
    if torch is not None:
        lines.append(f"torch: {torch.get_num_threads()} intra-op threads, "
                     f"MKL {'yes' if torch.backends.mkl.is_available() else 'no'}")
    unset = os.environ.get("AUTODIFF_BENCH_UNSET")
    lines.append(f"Environment: {unset} unset by re-exec" if unset else
                 "Environment: no OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE to unset")
    return lines


def freeze_imports():
    """Import everything the run needs, then move every object alive so far into the cyclic
    collector's permanent generation (``gc.freeze()``).

    Importing torch and scikit-learn leaves ~200k tracked objects, and every full collection
    walks them all: the deep graphs of workload 4 trigger many, which made autodiff's forward
    there ~2x slower in this process than in a user's process without torch. The engines' own
    objects are still collected as always.
    """
    try:
        import sklearn.datasets  # noqa: F401  (workload 5)
        import sklearn.model_selection  # noqa: F401
    except ImportError:
        pass
    gc.collect()
    gc.freeze()


def freeze_leftovers():
    """Before each workload, freeze what the previous ones left alive (their models, and the
    modules torch imports on first use): a full collection walks every unfrozen object, and a
    deep graph triggers dozens of them. The ~0.1 M objects that workloads 1-3 leave made
    autodiff's 10^5-op chain 3.5 instead of 2.7 µs/op (5.2 in a full run) against a fresh
    process's figure. Each workload's own objects are collected as always."""
    gc.collect()
    gc.freeze()


# ---------------------------------------------------------------------------------------------
# timing and memory


class LoadMeter:
    """How much CPU other processes used while we ran: timings on a shared machine are only as
    good as it was quiet, so the results say how quiet it was (Linux /proc; None elsewhere)."""

    def __init__(self):
        self.start = self._read()

    @staticmethod
    def _read():
        try:
            fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return None
        tick = os.sysconf("SC_CLK_TCK")
        # user nice system idle iowait irq softirq steal
        busy = (fields[0] + fields[1] + fields[2] + fields[5] + fields[6]) / tick
        steal = fields[7] / tick if len(fields) > 7 else 0.0
        own = os.times()
        return time.perf_counter(), busy, steal, own.user + own.system

    def others(self):
        """(fraction of all CPUs used by other processes, fraction stolen by the hypervisor)."""
        end = self._read()
        if self.start is None or end is None:
            return None
        wall = (end[0] - self.start[0]) * (os.cpu_count() or 1)
        other = (end[1] - self.start[1]) - (end[3] - self.start[3])
        return max(other, 0.0) / wall, (end[2] - self.start[2]) / wall




class Samples:
    """Per-engine seconds per call, one sample per kept round, and the last call's result.
    ``busy`` counts the rounds dropped because other processes used the CPUs during them;
    ``all_busy`` says the machine was never quiet, so busy rounds had to be kept."""

    def __init__(self, times, results, busy=0, all_busy=False):
        self.times = times
        self.results = results
        self.busy = busy
        self.all_busy = all_busy

    def median(self, engine):
        return statistics.median(self.times[engine]) if engine in self.times else None

    def ratio(self, engine, reference="numpy"):
        """The median over rounds of engine/reference, each round's two samples taken together
        (a CPU that changes speed between rounds moves both samples of a round alike)."""
        if engine not in self.times:
            return None
        return statistics.median(a / b for a, b in zip(self.times[engine], self.times[reference]))

    def ratio_spread(self, engine, reference="numpy"):
        """(min, max) over rounds of engine/reference, each round's two samples taken together."""
        ratios = [a / b for a, b in zip(self.times[engine], self.times[reference])]
        return min(ratios), max(ratios)

    def rounds_note(self):
        kept = len(next(iter(self.times.values())))
        rounds = f"{kept} round{'s' if kept != 1 else ''}"
        if self.all_busy:
            return f"{rounds}, the machine busy in most of them"
        return rounds + (f" ({self.busy} busy one{'s' if self.busy != 1 else ''} dropped)" if self.busy else "")


# A round counts as busy when other processes used more than `threshold` of the CPUs during it
# (on a shared machine, a round timed while another job runs measures that job). Each round
# first waits up to max_wait_s for quiet; busy rounds are dropped and run again, up to
# `retries` times the rounds asked for.
QUIET = dict(threshold=0.10, probe_s=0.25, max_wait_s=10.0, retries=2)
round_counts = {"run": 0, "busy": 0}


def wait_until_quiet():
    """Sleep until other processes use under QUIET["threshold"] of the CPUs (probed over
    probe_s), for at most max_wait_s."""
    deadline = time.perf_counter() + QUIET["max_wait_s"]
    while time.perf_counter() < deadline:
        meter = LoadMeter()
        time.sleep(QUIET["probe_s"])
        load = meter.others()
        if load is None or load[0] < QUIET["threshold"]:
            return


def measure(calls, rounds, batch_s=0.2, warmup_s=0.5, inner=None):
    """Time each zero-argument callable in ``calls`` (engine -> callable), interleaved.

    Warm-up: each engine runs for ``warmup_s`` (at least once; not at all when warmup_s is None),
    which also sizes its batch to about ``batch_s`` unless ``inner`` fixes it. Then ``rounds``
    rounds; in each, every engine (order rotated per round) gets gc.collect(), a PAUSE_S sleep and
    one batch of back-to-back calls, whose mean is that round's sample. Rounds during which other
    processes were busy are dropped and run again (see QUIET); if too few quiet rounds come, all
    rounds are kept and the result says so.
    """
    per_batch = {}
    results = {}
    for engine, call in calls.items():
        if warmup_s is None:
            per_batch[engine] = inner or 1
            continue
        count, start = 0, time.perf_counter()
        while True:
            results[engine] = call()
            count += 1
            elapsed = time.perf_counter() - start
            if elapsed >= warmup_s:
                break
        per_batch[engine] = inner or max(1, round(batch_s * count / elapsed))
    engines = list(calls)
    quiet = {engine: [] for engine in engines}
    everything = {engine: [] for engine in engines}
    attempts = rounds * (1 + QUIET["retries"]) if QUIET["threshold"] is not None else rounds
    for round_index in range(attempts):
        if len(quiet[engines[0]]) == rounds:
            break
        if QUIET["threshold"] is not None:
            wait_until_quiet()
        meter = LoadMeter()
        shift = round_index % len(engines)
        sample = {}
        for engine in engines[shift:] + engines[:shift]:
            call, count = calls[engine], per_batch[engine]
            # the previous sample's result (for workload 4, a whole graph) must not stay alive
            # through this one's timing
            results.pop(engine, None)
            gc.collect()
            time.sleep(PAUSE_S)
            start = time.perf_counter()
            for _ in range(count):
                result = call()
            sample[engine] = (time.perf_counter() - start) / count
            results[engine] = result
            del result
        load = meter.others()
        busy = QUIET["threshold"] is not None and load is not None and load[0] >= QUIET["threshold"]
        round_counts["run"] += 1
        round_counts["busy"] += busy
        for engine in engines:
            everything[engine].append(sample[engine])
            if not busy:
                quiet[engine].append(sample[engine])
    enough = len(quiet[engines[0]]) >= max(1, rounds // 2)
    kept = quiet if enough else everything
    return Samples(kept, results, busy=len(everything[engines[0]]) - len(kept[engines[0]]),
                   all_busy=not enough)


def peak_bytes(call, repeats=1):
    """Peak of the memory allocated during ``call()`` (tracemalloc traces Python objects and
    numpy's buffers, not torch's), minimum over ``repeats``."""
    peaks = []
    for _ in range(repeats):
        gc.collect()
        tracemalloc.start()
        try:
            call()
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    return min(peaks)


# ---------------------------------------------------------------------------------------------
# the workloads


class Row:
    """One line of the results table (``compiled_target``/``compiled_passed``: the compiled
    engine's, where it has one)."""

    def __init__(self, name, unit, values, target, ratio=None, passed=None, note="",
                 compiled_target="—", compiled_passed=None, samples=None):
        self.name, self.unit, self.values, self.target = name, unit, values, target
        # a timed row's ratios are its samples' paired ones (the same figure its target is judged on)
        if ratio is None and samples is not None:
            ratio = {engine: samples.ratio(engine) for engine in values if engine != "numpy"}
        self.ratio = ratio if ratio is not None else _ratios(values)
        self.passed = passed
        self.note = note
        self.compiled_target, self.compiled_passed = compiled_target, compiled_passed


def _ratios(values):
    base = values.get("numpy")
    return {engine: (value / base if value is not None and base else None)
            for engine, value in values.items() if engine != "numpy"}


def _compiled(samples, target, note_format="{:.3f}"):
    """(target text, passed, note) of the compiled engine in ``samples`` (target None: none)."""
    if COMPILED not in samples.times:
        return "—", None, ""
    ratio = samples.ratio(COMPILED)
    low, high = samples.ratio_spread(COMPILED)
    note = f"; compiled/numpy per round {note_format.format(low)}–{note_format.format(high)}"
    if target is None:
        return "none", None, note
    return f"≤ ×{target}", ratio <= target, note


def run_chain(engines, config, rows):
    for shape in ((4,), (64, 64)):
        x0, seed_grad = w.chain_input(shape)
        calls = {engine: w.CHAIN[engine](x0, seed_grad) for engine in engines}
        samples = measure(calls, config["rounds"], config["batch_s"], config["warmup_s"])
        values = {engine: samples.median(engine) / w.CHAIN_OPS * 1e6 for engine in engines}
        ratio = samples.ratio("autodiff")
        low, high = samples.ratio_spread("autodiff")
        target, passed, note = _compiled(samples, COMPILED_TARGETS["chain"] if shape == (4,) else None)
        rows.append(Row(f"1. per op, chain of {w.CHAIN_OPS} ops on {shape}", "µs/op", values,
                        f"≤ ×{TARGETS['chain']}", passed=ratio <= TARGETS["chain"],
                        samples=samples, note=f"autodiff/numpy per round {low:.2f}–{high:.2f}{note}; {samples.rounds_note()}",
                        compiled_target=target, compiled_passed=passed))


def run_step(name, spec, engines, config, rows, memory_target=None, form=w.MLP):
    models, (X, y) = w.mlp_setup(engines=engines, form=form, **spec)
    calls = {engine: (lambda model=model: model.step(X, y)) for engine, model in models.items()}
    samples = measure(calls, config["rounds"], config["batch_s"], config["warmup_s"])
    values = {engine: samples.median(engine) * 1e3 for engine in engines}
    target = TARGETS.get(name)
    ratio = samples.ratio("autodiff")
    low, high = samples.ratio_spread("autodiff")
    label = {"digits_step": "2. MLP step, digits-sized (64, 64-128-10, tanh, SGD)",
             "digits_step_primitives": "2. MLP step, digits-sized, the loss from primitives (max, exp, "
                                       "sum, log, indexing, mean)",
             "mnist_step": "3. MLP step, MNIST-sized (256, 784-512-512-10, ReLU, Adam)"}[name]
    compiled_target, compiled_passed, note = _compiled(samples, COMPILED_TARGETS.get(name))
    rows.append(Row(label, "ms/step", values, f"≤ ×{target}" if target else "none",
                    passed=ratio <= target if target else None,
                    samples=samples, note=f"autodiff/numpy per round {low:.3f}–{high:.3f} (min–max){note}; {samples.rounds_note()}",
                    compiled_target=compiled_target, compiled_passed=compiled_passed))
    if memory_target is not None:
        memory = {engine: peak_bytes(calls[engine], config["memory_repeats"]) / 2**20
                  for engine in engines if engine != "torch"}
        memory_ratio = memory["autodiff"] / memory["numpy"]
        rows.append(Row("3. peak memory of one step (tracemalloc)", "MiB", memory,
                        f"≤ ×{memory_target}", passed=memory_ratio <= memory_target,
                        note="torch's C++ allocations are not traced"))


def _count(n):
    """10**5 -> '1e5'."""
    exponent = round(math.log10(n))
    return f"1e{exponent}" if 10 ** exponent == n else str(n)


def _time_deep(shape, n_ops, rounds, warmup_s, engines):
    """Time forward + backward of the n_ops-long chain on ``shape``, one call per sample."""
    calls = {engine: w.DEEP[engine](n_ops, shape) for engine in engines}
    return calls, measure(calls, rounds, warmup_s=warmup_s, inner=1)


def run_deep(engines, config, rows):
    """Workload 4 on (1,) arrays at both sizes (time, peak memory per op, linearity), then the
    0-d variant at 10**5 ops, for information only."""
    small, large = config["deep_sizes"]
    shape = w.DEEP_SHAPE
    bytes_per_op, us_per_op = {}, {}
    for n_ops, rounds in zip(config["deep_sizes"], config["deep_rounds"]):
        # the first size warms up the code; the second is long enough not to need it
        warmup = config["warmup_s"] if n_ops == small else None
        calls, samples = _time_deep(shape, n_ops, rounds, warmup, engines)
        values = {engine: samples.median(engine) / n_ops * 1e6 for engine in engines}
        us_per_op[n_ops] = values["autodiff"]
        ratio = samples.ratio("autodiff")
        low, high = samples.ratio_spread("autodiff")
        note = f"autodiff/numpy per round {low:.1f}–{high:.1f}; 1 run per round; {samples.rounds_note()}"
        if n_ops == small:
            target, passed = f"≤ ×{TARGETS['deep']}", ratio <= TARGETS["deep"]
        else:
            growth = us_per_op[large] / us_per_op[small]
            target = f"constant µs/op: autodiff at {_count(large)} ≤ ×{1 + LINEAR_TOLERANCE:g} of {_count(small)}"
            passed = growth <= 1 + LINEAR_TOLERANCE
            note = f"autodiff µs/op at {_count(large)} / at {_count(small)}: {growth:.2f}; " + note
        rows.append(Row(f"4. deep graph, {_count(n_ops)} chained ops on {shape} float64", "µs/op", values,
                        target, passed=passed, samples=samples, note=note))
        bytes_per_op[n_ops] = {engine: peak_bytes(calls[engine]) / n_ops
                               for engine in engines if engine != "torch"}
    growth = bytes_per_op[large]["autodiff"] / bytes_per_op[small]["autodiff"]
    linear = abs(growth - 1.0) <= LINEAR_TOLERANCE
    worst = max(bytes_per_op[n]["autodiff"] for n in bytes_per_op)
    for n_ops in (small, large):
        values = bytes_per_op[n_ops]
        rows.append(Row(f"4. peak memory per op at {_count(n_ops)} ops on {shape} (tracemalloc)", "B/op",
                        values, f"≤ {TARGETS['deep_bytes_per_op']:.0f} B/op, linear",
                        ratio={engine: None for engine in values if engine != "numpy"},
                        passed=worst <= TARGETS["deep_bytes_per_op"] and linear,
                        note=f"autodiff B/op at {_count(large)} / at {_count(small)}: {growth:.3f}; "
                        "torch's C++ allocations are not traced"))
    # the 0-d variant: numpy demotes every result to an np.float64 scalar, so its reference is a
    # loop of Python float arithmetic, not array code; no target
    n_ops, rounds = config["deep_scalar"]
    _, samples = _time_deep(w.DEEP_SCALAR_SHAPE, n_ops, rounds, config["warmup_s"], engines)
    values = {engine: samples.median(engine) / n_ops * 1e6 for engine in engines}
    low, high = samples.ratio_spread("autodiff")
    rows.append(Row(f"4. (information) deep graph, {_count(n_ops)} chained ops on 0-d float64", "µs/op",
                    values, "none", passed=None,
                    samples=samples, note="numpy turns 0-d results into np.float64 scalars, so its side is a Python float "
                    f"loop no array engine approaches; autodiff/numpy per round {low:.0f}–{high:.0f}; "
                    f"1 run per round; {samples.rounds_note()}"))


def run_training(engines, config, rows):
    data = w.load_digits_split()
    spec = w.DIGITS_TRAINING
    orders = w.epoch_orders(len(data[0]), spec["epochs"])
    calls = {engine: (lambda engine=engine: w.train_digits(engine, data, orders=orders, **spec))
             for engine in engines}
    samples = measure(calls, config["training_rounds"], warmup_s=0.0, inner=1)
    values = {engine: samples.median(engine) for engine in engines}
    accuracy = {engine: samples.results[engine][0] for engine in engines}
    equal = abs(accuracy["autodiff"] - accuracy["numpy"]) <= ACCURACY_TOLERANCE
    ratio = samples.ratio("autodiff")
    compiled_target, compiled_passed, compiled_note = _compiled(samples, COMPILED_TARGETS["training"])
    if compiled_passed is not None:
        compiled_passed = compiled_passed and abs(accuracy[COMPILED] - accuracy["numpy"]) <= ACCURACY_TOLERANCE
        compiled_target += ", equal accuracy"
    optimizer, options = spec["optimizer"]
    described = ", ".join(f"{k} {v}" for k, v in options.items())
    rows.append(Row(f"5. digits training, {spec['epochs']} epochs (64-128-10 {spec['activation']}, "
                    f"{optimizer.upper()} {described})", "s", values,
                    f"≤ ×{TARGETS['training']}, equal accuracy",
                    passed=ratio <= TARGETS["training"] and equal and accuracy["numpy"] >= 0.97,
                    samples=samples, note="test accuracy " + ", ".join(f"{e} {a:.2%}" for e, a in accuracy.items())
                    + f"{compiled_note}; {samples.rounds_note()}",
                    compiled_target=compiled_target, compiled_passed=compiled_passed))


def run_micrograd(engines, config, rows):
    """Workload 8: micrograd's demo step (full batch), eager and compiled against numpy."""
    models, (X, y) = w.micrograd_setup(engines, **w.MICROGRAD_STEP)
    calls = {engine: (lambda model=model: model.step(X, y)) for engine, model in models.items()}
    samples = measure(calls, config["rounds"], config["batch_s"], config["warmup_s"])
    values = {engine: samples.median(engine) * 1e6 for engine in engines}
    low, high = samples.ratio_spread("autodiff")
    target, passed, note = _compiled(samples, COMPILED_TARGETS["micrograd"])
    rows.append(Row("8. micrograd's demo step (make_moons(100), 2-16-16-1 ReLU, max-margin loss + L2, "
                    "full batch, SGD)", "µs/step", values, "none", passed=None,
                    samples=samples, note=f"autodiff/numpy per round {low:.2f}–{high:.2f}{note}; {samples.rounds_note()}",
                    compiled_target=target, compiled_passed=passed))


def run_adam_step(engines, config, rows):
    calls = {engine: w.ADAM_STEP[engine]() for engine in engines}
    samples = measure(calls, config["rounds"], config["batch_s"], config["warmup_s"])
    values = {engine: samples.median(engine) * 1e3 for engine in engines}
    ratio = samples.ratio("autodiff")
    low, high = samples.ratio_spread("autodiff")
    count = sum(math.prod(shape) for shape in w.ADAM_SHAPES)
    rows.append(Row(f"6. Adam step over a 784-512-512-10 MLP's parameters ({count:,} float32), "
                    "optim.Adam vs hand-written numpy Adam", "ms/step", values,
                    f"≤ ×{TARGETS['adam_step']}", passed=ratio <= TARGETS["adam_step"],
                    samples=samples, note=f"autodiff/numpy per round {low:.3f}–{high:.3f} (min–max); {samples.rounds_note()}"))


def run_cnn_step(engines, config, rows):
    """Workload 7: one training step of the digits CNN, time and peak memory."""
    models, (X, y) = w.cnn_setup(engines=engines, **w.CNN_STEP)
    calls = {engine: (lambda model=model: model.step(X, y)) for engine, model in models.items()}
    samples = measure(calls, config["rounds"], config["batch_s"], config["warmup_s"])
    values = {engine: samples.median(engine) * 1e3 for engine in engines}
    ratio = samples.ratio("autodiff")
    low, high = samples.ratio_spread("autodiff")
    rows.append(Row(f"7. CNN step, digits-sized ({w.CNN_STEP['batch']}, 1x8x8, conv32-pool-conv64-pool-linear, "
                    "ReLU, Adam)", "ms/step", values, f"≤ ×{TARGETS['cnn_step']}",
                    passed=ratio <= TARGETS["cnn_step"],
                    samples=samples, note=f"autodiff/numpy per round {low:.3f}–{high:.3f} (min–max); {samples.rounds_note()}"))
    memory = {engine: peak_bytes(calls[engine], config["memory_repeats"]) / 2**20
              for engine in engines if engine != "torch"}
    memory_ratio = memory["autodiff"] / memory["numpy"]
    rows.append(Row("7. peak memory of one CNN step (tracemalloc)", "MiB", memory, f"≤ ×{TARGETS['cnn_memory']}",
                    passed=memory_ratio <= TARGETS["cnn_memory"], note="torch's C++ allocations are not traced"))


def check_agreement(engines, config):
    """Assert the engines compute the same thing before anything is timed (and the compiled
    steps autodiff's eager values, to the bit); returns a summary."""
    eager = _without_compiled(engines)
    worst = {
        "chain (4,)": w.check_chain((4,), engines),
        "chain (64, 64)": w.check_chain((64, 64), engines),
        "digits step": w.check_mlp(engines=engines, **w.DIGITS_STEP),
        "digits step, loss from primitives": w.check_mlp(engines=engines, form=w.MLP_PRIMITIVES, **w.DIGITS_STEP),
        "MNIST step": w.check_mlp(engines=engines, **w.MNIST_STEP),
        f"deep chain {w.DEEP_SHAPE}": w.check_deep(config["deep_sizes"][0], eager),
        "deep chain 0-d": w.check_deep(config["deep_sizes"][0], eager, w.DEEP_SCALAR_SHAPE),
        "Adam step (updates)": w.check_adam_step(eager),
        "CNN step": w.check_cnn(engines=eager, **w.CNN_STEP),
        "micrograd step": w.check_micrograd(engines),
    }
    return ", ".join(f"{name} {error:.1e}" for name, error in worst.items())


# ---------------------------------------------------------------------------------------------
# output


def _format(value):
    if value is None:
        return "n/a"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def table(rows, engines):
    others = [e for e in engines if e != "numpy"]
    compiled = COMPILED in engines
    head = (["workload", "unit"] + list(engines) + [f"{e}/numpy" for e in others]
            + ["target (autodiff/numpy)", "result"]
            + (["target (compiled/numpy)", "compiled result"] if compiled else []) + ["notes"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row.name, row.unit] + [_format(row.values.get(e)) for e in engines]
        cells += [("×" + _format(row.ratio.get(e))) if row.ratio.get(e) is not None else "—" for e in others]
        cells += [row.target, _result(row.passed)]
        if compiled:
            cells += [row.compiled_target, _result(row.compiled_passed)]
        cells.append(row.note)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _result(passed):
    return "—" if passed is None else ("pass" if passed else "**miss**")


METHOD = """\
## How it is measured

- One process, all engines interleaved: each round runs one batch of back-to-back calls per
  engine, the engine order rotated every round; before each batch `gc.collect()` and a
  {pause} s pause (OpenBLAS's idle threads spin ~0.1 s after a call). Every engine is warmed up
  first. A sample is the mean time of a batch (~{batch} s of calls); the table's times are the
  medians over rounds, and its ratios the median over rounds of each round's ratio (the two
  engines' samples of the same round paired, so that these vCPUs' switches between a fast and
  a slower state cancel out); "per round" gives the spread of those paired ratios. The garbage collector stays on: its cost is part of an engine's cost; but the
  objects that importing torch and scikit-learn left, and before each workload those that the
  previous workloads left, are frozen (`gc.freeze()`), so that no engine pays for walking
  another's modules or models (the deep graphs of workload 4 trigger dozens of full collections).
- On a shared machine, each round first waits (up to {max_wait:.0f} s) until other processes use
  under {threshold:.0%} of the CPUs, and a round during which they used more is dropped and run
  again (the notes say how many; when too few quiet rounds come, all are kept and the note says
  so). The load line above says how busy the machine was over the whole run.
- Before timing, the engines' outputs, losses and gradients are checked to agree (float32:
  relative 1e-4; the chain against a float64 interpretation of its op table); the run aborts
  otherwise. Agreement (worst relative error): {agreement}.
- numpy is the hand-written reference: per-op forward and backward as in the classic tutorials
  (`h @ W + b`), softmax cross-entropy with its closed-form gradient (softmax - onehot) / N, plain
  out-of-place activations, SGD/Adam in numpy on the arrays.
- Workloads 1 and 4 measure the engine: autodiff and PyTorch run the same raw tensor ops. The MLP
  workloads (2, 3, 5) are written as a user writes them: `nn.MLP` (a Sequential of `nn.Linear`
  and `nn.Tanh`/`nn.ReLU`), `F.cross_entropy(logits, labels)` on int labels, `optim.SGD`/
  `optim.Adam` with `zero_grad()`/`step()`; PyTorch the same with `torch.nn.Sequential`,
  `torch.nn.Linear`, `torch.nn.functional.cross_entropy` and `torch.optim` (its defaults: the
  per-tensor loop on CPU). All start from the same seeded weights.
- Workload 6 times `optimizer.step()` alone over fixed gradients: `optim.Adam`, the numpy Adam of
  workload 3 (same formula and hyper-parameters), and `torch.optim.Adam`; the agreement
  check compares the three engines' parameter updates over three steps.
- Workload 1: the ten-op cycle (×1.5, +0.25, tanh, −0.5, square, neg, exp, ×2, −1, tanh)
  repeated 10 times, backward from a ones seed to the leaf. Workload 4: `x = x * 1.0000001 + 1e-7`
  (two ops per link) on a float64 leaf of shape (1,), forward and backward from a ones seed, in
  every engine; numpy keeps (1,) results as arrays, so its reference is the array code written by
  hand: one new array per op forward, and backward one multiply per link (the multiply's local
  gradient is a constant, nothing saved; the add passes the gradient through). Its time and
  peak memory per op are taken at two sizes; "linear" means autodiff's bytes per op at the two
  sizes differ by at most {linear:.0%}, and "constant µs/op" that the larger size costs at most
  {growth:g}× per op. The 0-d row is for information, without a target: on a 0-d array numpy
  returns `np.float64` scalars, so its side is a Python float loop (~0.07 µs/op) that no array
  engine approaches. Peak memory: tracemalloc peak during one call
  (Python objects and numpy buffers; torch's C++ allocations are invisible to it).
- Workload 7: one training step of the CNN of `examples/cnn_digits.py` (Conv2d(1, 32, 3, padding=1),
  ReLU, MaxPool2d(2), Conv2d(32, 64, 3, padding=1), ReLU, MaxPool2d(2), Flatten, Linear(256, 10),
  cross-entropy, Adam lr 3e-3) on a fixed batch of 64 8x8 images. The numpy reference is the
  classic im2col CNN in NCHW: each conv copies its padded input's windows into one contiguous
  (N·H·W, C·9) matrix and does one matmul; backward dW = doutᵀ·cols, dcols = dout·W and col2im
  by a loop over the 9 kernel offsets; max pooling by the reshape trick and a mask of the maxima.
  autodiff runs `nn.Sequential` of `nn.Conv2d`, `nn.ReLU`, `nn.MaxPool2d`, ... (its kernels copy
  windows from channels-last memory), PyTorch the same `torch.nn` modules.
- compiled: the same autodiff step, the same user code, wrapped in `ad.compile`: the first call
  with a signature records it, later calls replay the record as numpy calls into preallocated
  buffers (the optimizer's step included); a smaller last batch records once more. The agreement
  check asserts it computes autodiff's eager values bit for bit. Its targets (compiled/numpy):
  workload 1 on (4,) ≤ ×{chain}, workload 2 in both forms ≤ ×{digits}, micrograd's step
  ≤ ×{micrograd}, digits training ≤ ×{training} at equal accuracy. JAX's `jit` would be a column
  where installed; it is not installed here (not a dependency of the project).
- Workload 2, second row: the same step with the loss built from primitives (`logits -
  logits.amax(1, keepdims=True).detach()`, `exp`, `sum`, `log`, `log_probs[arange(N), y]`, `mean`)
  instead of `F.cross_entropy`; the numpy reference is the same hand-written one.
- Workload 8: micrograd's demo step: `make_moons(100, noise=0.1, random_state=1)`, labels ±1,
  an MLP 2-16-16-1 with ReLU, loss `mean(relu(1 - y·score)) + 1e-4·Σ p²`, full batch, SGD lr 0.1;
  the numpy reference writes forward and backward by hand.
- Workloads 2, 3 use a fixed synthetic batch; workload 5 trains on scikit-learn's digits
  (features / 16, 80/20 stratified split, random_state=0) with the same initial weights and the
  same shuffled batches for every engine, and reports wall time of the whole training + test.
"""


HOW_TO_RUN = """\
`make bench` reproduces this file from a fresh clone: it creates `.venv`, installs the package
with its `bench` and `demo` extras (threadpoolctl, scikit-learn, ...) and runs
`python benchmarks/run.py`, which checks that the engines compute the same thing, times every
workload (about ten minutes on two cores) and rewrites `benchmarks/RESULTS.md`. PyTorch is
optional: without it the torch columns read n/a; to fill them, install the CPU build first
(`make bench PARITY=1` adds the `parity` extra, `torch==2.13.0`).
`make bench BENCH_ARGS=--quick` is a smoke run that writes nothing, and
`python benchmarks/run.py --profile` prints where autodiff spends its time on workloads 1 and 2.
"""


def write_results(path, rows, engines, machine, config_name, agreement, elapsed):
    text = "\n".join([
        "# Benchmark results",
        "",
        HOW_TO_RUN,
        f"`python benchmarks/run.py{' --quick' if config_name == 'quick' else ''}`, "
        f"{time.strftime('%Y-%m-%d')}, {elapsed:.0f} s in all.",
        "",
        *[f"- {line}" for line in machine],
        "",
        table(rows, engines),
        "",
        METHOD.format(pause=PAUSE_S, batch=(FULL if config_name == "full" else QUICK)["batch_s"],
                      agreement=agreement, max_wait=QUIET["max_wait_s"],
                      threshold=QUIET["threshold"] or 1.0, linear=LINEAR_TOLERANCE,
                      growth=1 + LINEAR_TOLERANCE, chain=COMPILED_TARGETS["chain"],
                      digits=COMPILED_TARGETS["digits_step"], micrograd=COMPILED_TARGETS["micrograd"],
                      training=COMPILED_TARGETS["training"]),
    ])
    Path(path).write_text(text)


# ---------------------------------------------------------------------------------------------
# profile mode


def _without_compiled(engines):
    """The engines of a workload that has no compiled form (4, 6, 7)."""
    return tuple(e for e in engines if e != COMPILED)


def profile(torch):
    """cProfile of autodiff on workloads 1 and 2: the top 15 functions by own time."""
    import cProfile
    import pstats
    jobs = []
    for shape in ((4,), (64, 64)):
        x0, seed_grad = w.chain_input(shape)
        jobs.append((f"workload 1, chain on {shape}, 300 runs", w.chain_autodiff(x0, seed_grad), 300))
    models, (X, y) = w.mlp_setup(engines=("autodiff",), **w.DIGITS_STEP)
    jobs.append(("workload 2, digits MLP step (nn.MLP, F.cross_entropy, optim.SGD), 2000 steps",
                 lambda: models["autodiff"].step(X, y), 2000))
    for title, call, count in jobs:
        call()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(count):
            call()
        profiler.disable()
        print(f"\n### {title}\n")
        pstats.Stats(profiler).strip_dirs().sort_stats("tottime").print_stats(15)


# ---------------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller deep graphs (smoke test)")
    parser.add_argument("--output", help="where to write the markdown (default: benchmarks/RESULTS.md "
                        "for a full run, nowhere for --quick)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of autodiff on workloads 1-2")
    parser.add_argument("--only", metavar="N,N", help="run only these workloads (e.g. 2,5); writes nothing "
                        "unless --output is given")
    parser.add_argument("--no-wait", action="store_true",
                        help="do not hold rounds until other processes leave the CPUs alone")
    args = parser.parse_args(argv)
    if args.no_wait:
        QUIET["threshold"] = None
    elif args.quick:
        QUIET.update(max_wait_s=2.0, retries=1)

    torch = w.import_torch()
    limiter = pin_threads(torch)    # noqa: F841  (the limits hold while it lives)
    freeze_imports()
    machine = machine_description(torch)
    print("\n".join(machine), flush=True)
    if args.profile:
        profile(torch)
        return

    config_name = "quick" if args.quick else "full"
    config = QUICK if args.quick else FULL
    engines = ("numpy", "autodiff", COMPILED) + (("torch",) if torch is not None else ())
    probe = LoadMeter()
    time.sleep(1.0)
    busy = probe.others()
    if busy is not None and busy[0] > 0.1:
        print(f"warning: other processes are using {busy[0]:.0%} of the CPUs; the timings will be "
              "noisy (the results record how busy the machine was)", flush=True)
    meter = LoadMeter()
    started = time.perf_counter()
    agreement = check_agreement(engines, config)
    print(f"engines agree (worst relative error): {agreement}", flush=True)

    rows = []
    steps = [
        ("1. chain of small elementwise ops", lambda: run_chain(engines, config, rows)),
        ("2. digits-sized MLP step", lambda: (
            run_step("digits_step", w.DIGITS_STEP, engines, config, rows),
            run_step("digits_step_primitives", w.DIGITS_STEP, engines, config, rows, form=w.MLP_PRIMITIVES))),
        ("3. MNIST-sized MLP step", lambda: run_step("mnist_step", w.MNIST_STEP, engines, config, rows,
                                                    memory_target=TARGETS["mnist_memory"])),
        ("4. deep graph", lambda: run_deep(_without_compiled(engines), config, rows)),
        ("5. digits training", lambda: run_training(engines, config, rows)),
        ("6. Adam step", lambda: run_adam_step(_without_compiled(engines), config, rows)),
        ("7. CNN step", lambda: run_cnn_step(_without_compiled(engines), config, rows)),
        ("8. micrograd's demo step", lambda: run_micrograd(engines, config, rows)),
    ]
    if args.only:
        chosen = {part.strip() for part in args.only.split(",")}
        steps = [(title, step) for title, step in steps if title.split(".")[0] in chosen]
    for title, step in steps:
        print(f"running {title} ...", flush=True)
        freeze_leftovers()
        step()
    elapsed = time.perf_counter() - started
    load = meter.others()
    if load is not None:
        machine.append(f"Load: other processes used {load[0]:.1%} of the CPUs during the run "
                       f"(hypervisor steal {load[1]:.1%}); {round_counts['busy']} of "
                       f"{round_counts['run']} timing rounds were busy")
        print(machine[-1])

    print()
    print(table(rows, COLUMNS))
    output = args.output or (None if args.quick or args.only else ROOT / "benchmarks" / "RESULTS.md")
    if output:
        write_results(output, rows, COLUMNS, machine, config_name, agreement, elapsed)
        print(f"\nwritten to {output}")


if __name__ == "__main__":
    main()
