"""A/B: this checkout's autodiff against another version of it, on the same workloads.

    python benchmarks/ab.py --baseline main~3          # a git ref, checked out in a temporary worktree
    python benchmarks/ab.py --baseline-dir ../old      # or a directory holding autodiff/, nn/, optim/
    python benchmarks/ab.py --baseline HEAD --workloads chain4,digits --rounds 21

Each round runs one subprocess per side (the order alternates round by round), and each subprocess
times the autodiff workload and its hand-written numpy reference side by side. A side's sample is
its autodiff/numpy ratio, so a CPU that changes speed between the two subprocesses (these vCPUs
flip between a fast and a slower state within seconds) cancels out; the round's figure is
new/old of those ratios, and the result is the median over rounds with the spread (min-max and
the quartiles). The workloads' code (``benchmarks/workloads.py``) is this checkout's for both
sides, so both run the same user code; only the packages ``autodiff``, ``nn`` and ``optim``
differ. A new/old of 1.05 means the new version takes 5% longer.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = ("chain4", "chain64", "digits", "deep", "training")


def worker(root, workload, seconds):
    """Runs in the subprocess: time ``workload`` with ``root``'s packages; print JSON."""
    sys.path.insert(0, str(root))
    sys.path.insert(1, str(ROOT))
    import gc

    import numpy as np
    from threadpoolctl import threadpool_limits

    import autodiff
    from benchmarks import workloads as w
    assert Path(autodiff.__file__).resolve().parent.parent == Path(root).resolve(), autodiff.__file__
    limiter = threadpool_limits(limits=2, user_api="blas")    # noqa: F841 (kept alive)
    if workload.startswith("chain"):
        shape = (4,) if workload == "chain4" else (64, 64)
        x0, seed_grad = w.chain_input(shape)
        calls = {"numpy": w.chain_numpy(x0, seed_grad), "autodiff": w.chain_autodiff(x0, seed_grad)}
    elif workload == "deep":        # workload 4: 10^5 chained ops on (1,) float64
        calls = {"numpy": w.deep_numpy(10**5), "autodiff": w.deep_autodiff(10**5)}
    elif workload == "training":    # workload 5, three epochs of it
        data = w.load_digits_split()
        spec = dict(w.DIGITS_TRAINING, epochs=3)
        orders = w.epoch_orders(len(data[0]), spec["epochs"])
        calls = {engine: (lambda engine=engine: w.train_digits(engine, data, orders=orders, **spec))
                 for engine in ("numpy", "autodiff")}
    else:
        models, (X, y) = w.mlp_setup(engines=("numpy", "autodiff"), **w.DIGITS_STEP)
        calls = {engine: (lambda model=model: model.step(X, y)) for engine, model in models.items()}
    per_batch = {}
    for engine, call in calls.items():     # warm up, and size a batch to about 0.1 s
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < 0.3:
            call()
            count += 1
        per_batch[engine] = max(1, round(0.1 * count / (time.perf_counter() - start)))
    ratios = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(ratios) < 3:
        sample = {}
        for engine, call in calls.items():
            gc.collect()
            start = time.perf_counter()
            for _ in range(per_batch[engine]):
                call()
            sample[engine] = (time.perf_counter() - start) / per_batch[engine]
        ratios.append(sample["autodiff"] / sample["numpy"])
    print(json.dumps({"ratio": statistics.median(ratios), "samples": len(ratios)}))
    del np


def run_side(root, workload, seconds):
    env = dict(os.environ, PYTHONPATH=str(root), OPENBLAS_NUM_THREADS="2")
    env.pop("OPENBLAS_CORETYPE", None)
    done = subprocess.run([sys.executable, __file__, "--worker", str(root), workload, str(seconds)],
                          capture_output=True, text=True, env=env, cwd=str(root))
    if done.returncode:
        raise SystemExit(f"ab: the {workload} worker for {root} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])["ratio"]


def quartiles(values):
    q = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
    return q[0], q[2]


def compare(baseline, workloads, rounds, seconds, log=print):
    """Run the rounds; returns {workload: dict(median, low, high, q1, q3, new, old)}."""
    results = {}
    for workload in workloads:
        per_round, news, olds = [], [], []
        for r in range(rounds):
            sides = [("new", ROOT), ("old", baseline)]
            if r % 2:
                sides.reverse()
            got = {name: run_side(root, workload, seconds) for name, root in sides}
            per_round.append(got["new"] / got["old"])
            news.append(got["new"])
            olds.append(got["old"])
            log(f"  {workload} round {r + 1:2d}: new {got['new']:.3f}  old {got['old']:.3f}  "
                f"new/old {per_round[-1]:.3f}")
        q1, q3 = quartiles(per_round)
        results[workload] = dict(median=statistics.median(per_round), low=min(per_round),
                                 high=max(per_round), q1=q1, q3=q3, rounds=rounds,
                                 new=statistics.median(news), old=statistics.median(olds))
    return results


def checkout(ref):
    """A temporary worktree of ``ref``; returns its path."""
    path = Path(tempfile.mkdtemp(prefix="autodiff-ab-")) / "baseline"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(path), ref],
                   check=True)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--baseline", help="a git ref to compare against (checked out temporarily)")
    source.add_argument("--baseline-dir", help="a directory with the baseline's autodiff/, nn/, optim/")
    parser.add_argument("--workloads", default="chain4,digits",
                        help=f"comma-separated, from {', '.join(WORKLOADS)} (default chain4,digits)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=0.6, help="timing per side per round")
    args = parser.parse_args(argv)
    workloads = args.workloads.split(",")
    for name in workloads:
        if name not in WORKLOADS:
            parser.error(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}")
    baseline = Path(args.baseline_dir).resolve() if args.baseline_dir else checkout(args.baseline)
    try:
        results = compare(baseline, workloads, args.rounds, args.seconds)
    finally:
        if args.baseline:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)])
            shutil.rmtree(baseline.parent, ignore_errors=True)
    label = args.baseline or args.baseline_dir
    print(f"\nnew (this checkout) / old ({label}), autodiff/numpy ratios paired per round:")
    print("| workload | new/old median | quartiles | min–max | rounds | new ×numpy | old ×numpy |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['median']:.3f} | {r['q1']:.3f}–{r['q3']:.3f} | {r['low']:.3f}–{r['high']:.3f} "
              f"| {r['rounds']} | ×{r['new']:.2f} | ×{r['old']:.2f} |")
    return results


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    else:
        main()
