"""Time one optim.Adam step over an MLP's parameters against a hand-written numpy Adam.

Parameters are those of a 784-512-512-10 MLP in float32 (784x512, 512, 512x512, 512, 512x10, 10).
The two are timed interleaved (alternating which goes first) and the medians of the repeats are
compared; the ratio optim / numpy is what the speed issue tracks (1.0 = no overhead).

    python benchmarks/optim_step.py [--repeats 30] [--steps 20]
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import autodiff as ad  # noqa: E402
import optim  # noqa: E402

SHAPES = [(784, 512), (512,), (512, 512), (512,), (512, 10), (10,)]
LR, BETA1, BETA2, EPS = 1e-3, 0.9, 0.999, 1e-8


class NumpyAdam:
    """Adam as one would write it by hand in numpy: state updated in place, the rest in expressions."""

    def __init__(self, params):
        self.params = params
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        step_size = LR / (1 - BETA1 ** self.t)
        bias_correction2 = 1 - BETA2 ** self.t
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= BETA1
            m += (1 - BETA1) * g
            v *= BETA2
            v += (1 - BETA2) * (g * g)
            p -= step_size * m / (np.sqrt(v / bias_correction2) + EPS)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed rounds of each (median is reported)")
    parser.add_argument("--steps", type=int, default=20, help="optimizer steps per timed round")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    start = [rng.standard_normal(shape).astype(np.float32) * 0.05 for shape in SHAPES]
    grads = [rng.standard_normal(shape).astype(np.float32) * 1e-2 for shape in SHAPES]

    params = [ad.tensor(value, requires_grad=True) for value in start]
    for p, g in zip(params, grads):
        p.grad = ad.tensor(g)
    ours = optim.Adam(params, lr=LR, betas=(BETA1, BETA2), eps=EPS)
    reference_params = [value.copy() for value in start]
    reference = NumpyAdam(reference_params)

    def run_ours():
        for _ in range(args.steps):
            ours.step()

    def run_reference():
        for _ in range(args.steps):
            reference.step(grads)

    run_ours()  # warm up (allocates state and work arrays) and check both compute the same
    run_reference()
    for p, q in zip(params, reference_params):
        np.testing.assert_allclose(p.data, q, rtol=1e-5, atol=1e-6)
        assert p.dtype == np.float32

    times = {"optim.Adam": [], "numpy Adam": []}
    runners = {"optim.Adam": run_ours, "numpy Adam": run_reference}
    for repeat in range(args.repeats):
        order = list(runners) if repeat % 2 == 0 else list(reversed(runners))
        for name in order:
            begin = time.perf_counter()
            runners[name]()
            times[name].append((time.perf_counter() - begin) / args.steps)

    count = sum(int(np.prod(shape)) for shape in SHAPES)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"Adam step over {len(SHAPES)} float32 tensors ({count:,} numbers), "
          f"median of {args.repeats} x {args.steps} steps")
    for name, value in medians.items():
        print(f"  {name:11s} {value * 1e3:8.3f} ms/step")
    print(f"  ratio optim / numpy: {medians['optim.Adam'] / medians['numpy Adam']:.3f}")


if __name__ == "__main__":
    main()
