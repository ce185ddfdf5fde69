"""Random numbers drawn as PyTorch draws them on the CPU, so that a seed gives PyTorch's numbers.

After ``ad.manual_seed(s)``, these give, bit for bit, what ``torch.manual_seed(s)`` and the same
calls give in PyTorch 2.x on the CPU: ``ad.rand``, ``randint``, ``randperm``, ``bernoulli``,
``multinomial``, the in-place samplers (``uniform_``, ``exponential_``, ``geometric_``,
``cauchy_``, ``log_normal_``, ``random_``, ``bernoulli_``), ``nn``'s initialisers (every layer's
default init), dropout and the DataLoader's shuffling; and ``ad.randn``, ``normal`` and
``normal_`` in float64. In float32 these three are within a few ulps of PyTorch's (most bit for
bit): PyTorch takes the logs and sines of 16 or more float32 values from SLEEF's vector
functions, and no numpy function rounds as they do.

The engine is PyTorch's: the 32-bit Mersenne Twister with its classic seeding, which is numpy's
MT19937 as ``np.random.RandomState(seed)`` seeds it. On its 32-bit words, each draw is PyTorch's
formula:

- uniform float32 on [a, b): the low 24 bits of one word × 2⁻²⁴ = x, then x·(b − a) + a;
- uniform float64: the low 53 bits of two words (the first one high) × 2⁻⁵³ = x, then
  x·(b − a) + a rounded once (PyTorch's fused multiply-add);
- dropout's mask (bernoulli with keep probability 1 − p): keep where a float64 uniform < 1 − p;
- randint(low, high): one word (two when high − low ≥ 2²⁸) modulo (high − low), plus low;
- randperm(n): for i = 0 … n − 2, swap position i with i + (one word mod (n − i));
- normal, 16 values or more: a float uniform each, then Box-Muller over blocks of 16 (the first
  8 as u₁, the last 8 as u₂); when n is not a multiple of 16 the last 16 are drawn again;
- normal, fewer than 16: Box-Muller on two float64 uniforms per pair, the second value kept for
  the next draw (log_normal: exp of one such normal per value);
- exponential, geometric, cauchy: one float64 uniform u per value, through −log1p(−u)/λ,
  ceil(log u / log1p(−p)), median + σ·tan(π(u − ½));
- multinomial: with replacement a float64 uniform per sample, found in the normalised cumulative
  weights; without (or for a single sample), the top k of weights / Exp(1) draws.
"""
from __future__ import annotations

import math
import os
from typing import Any, SupportsIndex

import numpy as np

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "default_generator", "get_rng_state",
           "set_rng_state"]

_DEFAULT_SEED = 67280421310721       # the seed PyTorch's generator starts from, unless seeded
_STATE_WORDS = 624 + 4               # key, position, seed (2 words), normal cache flag (+ 2 value words)


class Generator:
    """A random number generator with PyTorch's engine and formulas (``torch.Generator`` on the
    CPU). ``ad.default_generator`` is the one that every draw uses unless given another.

    >>> import autodiff as ad
    >>> g = ad.Generator().manual_seed(0)
    >>> ad.rand(2, generator=g)          # torch.rand(2, generator=torch.Generator().manual_seed(0))
    tensor([0.4963, 0.7682])
    """

    def __init__(self, device: str = "cpu") -> None:
        if str(device) != "cpu":
            raise ValueError(f"Generator: device {device!r} is not available; this engine runs on the CPU "
                             "(numpy), so use device='cpu'")
        self.manual_seed(_DEFAULT_SEED)

    @property
    def device(self) -> Any:
        """Where the generator draws: always the CPU."""
        from .dtypes import CPU
        return CPU

    def manual_seed(self, seed: SupportsIndex) -> Generator:
        """Restart the stream from ``seed`` (an int in [-2⁶³, 2⁶⁴)); returns the generator."""
        if isinstance(seed, (bool, float)) or not hasattr(seed, "__index__"):
            raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__} {seed!r}")
        seed = int(seed)
        if not -2 ** 63 <= seed < 2 ** 64:
            raise RuntimeError(f"manual_seed: seed {seed} is out of range; it must be in [-2**63, 2**64)")
        self._seed = seed % 2 ** 64
        key = np.random.RandomState(self._seed & 0xFFFFFFFF).get_state(legacy=False)["state"]
        self._engine = np.random.MT19937()
        self._engine.state = {"bit_generator": "MT19937", "state": key}
        self._next_normal: float | None = None
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy; returns the seed."""
        value = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(value)
        return value

    def initial_seed(self) -> int:
        """The seed the stream was last started from."""
        return self._seed

    def get_state(self) -> Any:
        """The generator's state as a uint8 tensor, for ``set_state`` (this engine's own layout,
        not PyTorch's bytes)."""
        from .tensor import Tensor
        state = self._engine.state["state"]
        cached = self._next_normal is not None
        words = np.concatenate([state["key"].astype(np.uint32),
                                np.array([state["pos"], self._seed & 0xFFFFFFFF, self._seed >> 32, cached],
                                         np.uint32),
                                np.array([self._next_normal if cached else 0.0]).view(np.uint32)])
        return Tensor(words.view(np.uint8).copy())

    def set_state(self, new_state: Any) -> Generator:
        """Restore a state that ``get_state`` returned."""
        array = np.asarray(getattr(new_state, "data", new_state))
        if array.dtype != np.uint8 or array.shape != ((_STATE_WORDS + 2) * 4,):
            raise ValueError(f"set_state: expected the uint8 tensor of {(_STATE_WORDS + 2) * 4} bytes that "
                             f"get_state returns, got {array.dtype} of shape {array.shape}")
        words = array.view(np.uint32)
        self._engine.state = {"bit_generator": "MT19937", "state": {"key": words[:624].copy(), "pos": int(words[624])}}
        self._seed = int(words[625]) | int(words[626]) << 32
        self._next_normal = float(words[628:].view(np.float64)[0]) if words[627] else None
        return self

    # -- draws, each as PyTorch makes it (see the module's docstring) --------------------------------------

    def _words(self, count: int) -> np.ndarray:
        """The next ``count`` 32-bit words, as uint64."""
        return self._engine.random_raw(count)

    def _words64(self, count: int) -> np.ndarray:
        """The next ``count`` 64-bit numbers, each from two words (the first one high)."""
        words = self._words(2 * count)
        return (words[0::2] << np.uint64(32)) | words[1::2]

    def _unit(self, count: int, dtype: np.dtype) -> np.ndarray:
        """``count`` uniforms on [0, 1) in float32 (24 bits) or float64 (53 bits)."""
        if dtype == np.float64:
            return (self._words64(count) & np.uint64(2 ** 53 - 1)).astype(np.float64) * 2.0 ** -53
        return (self._words(count) & np.uint64(2 ** 24 - 1)).astype(np.float32) * np.float32(2.0 ** -24)

    def uniform(self, low: float, high: float, shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
        """An array of U(low, high) samples (``Tensor.uniform_``)."""
        dtype = np.dtype(dtype)
        _require_floating(dtype, "uniform_", NotImplementedError)
        if not low <= high:
            raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={low} > to={high}")
        if not (math.isfinite(low) and math.isfinite(high)):
            raise RuntimeError(f"uniform_: from={low} and to={high} must be finite")
        count = math.prod(shape)
        if dtype == np.float64:
            x = self._unit(count, dtype)
            return _fused_multiply_add(x, float(high) - float(low), float(low)).reshape(shape)
        low32, high32 = np.float32(low), np.float32(high)
        x = self._unit(count, np.dtype(np.float32)).astype(np.float64)
        samples = x * np.float64(high32 - low32) + np.float64(low32)
        return samples.astype(np.float32).astype(dtype, copy=False).reshape(shape)

    def normal(self, mean: float, std: float, shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
        """An array of N(mean, std²) samples (``Tensor.normal_``, ``randn``)."""
        dtype = np.dtype(dtype)
        _require_floating(dtype, "normal_", NotImplementedError)
        if not std >= 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        count = math.prod(shape)
        if count < 16:     # one float64 normal each, times std plus mean rounded once (PyTorch's fma)
            unit = np.array([self._normal_one() for _ in range(count)], np.float64)
            return _fused_multiply_add(unit, float(std), float(mean)).astype(dtype).reshape(shape)
        drawn = np.dtype(np.float64) if dtype == np.float64 else np.dtype(np.float32)
        samples = np.empty(count, drawn)
        whole = count - count % 16
        if dtype == np.float16 and whole < count:
            # PyTorch fills float16 through a float32 buffer of whole blocks: the last 16 are
            # the last block of ceil(count / 16) * 16 draws
            blocks = _box_muller_16(self._unit(whole + 16, drawn), mean, std)
            samples[:count - 16], samples[count - 16:] = blocks[:count - 16], blocks[whole:]
            return samples.astype(dtype).reshape(shape)
        samples[:whole] = _box_muller_16(self._unit(count, drawn)[:whole], mean, std)
        if whole < count:
            samples[count - 16:] = _box_muller_16(self._unit(16, drawn), mean, std)
        return samples.astype(dtype, copy=False).reshape(shape)

    def _normal_one(self) -> float:
        if self._next_normal is not None:
            value, self._next_normal = self._next_normal, None
            return value
        u1, u2 = self._unit(2, np.dtype(np.float64))
        radius = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        self._next_normal = radius * math.sin(theta)
        return radius * math.cos(theta)

    def integers(self, low: int, high: int, shape: tuple[int, ...]) -> np.ndarray:
        """An int64 array of integers drawn from [low, high) (``randint``)."""
        span, count = high - low, math.prod(shape)
        words = self._words(count) if span < 2 ** 28 else self._words64(count)
        return ((words % np.uint64(span)).astype(np.int64) + low).reshape(shape)

    def permutation(self, n: int) -> np.ndarray:
        """A random permutation of 0 … n − 1, int64 (``randperm``)."""
        order = np.arange(n)
        if n > 1:
            offsets = (self._words(n - 1) % np.arange(n, 1, -1, dtype=np.uint64)).tolist()
            for i, offset in enumerate(offsets):
                j = i + offset
                order[i], order[j] = order[j], order[i]
        return order

    def exponential(self, lambd: float, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """Exp(lambd) samples: −1/lambd · log1p(−u), u a float64 uniform (``exponential_``)."""
        _require_floating(dtype, "exponential_", RuntimeError)
        u = self._unit(math.prod(shape), np.dtype(np.float64))
        return (_libm(math.log1p, -u) * (-1.0 / lambd)).astype(dtype).reshape(shape)

    def geometric(self, p: float, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """Geometric(p) samples (trials to the first success, from 1): ceil(log(u) / log1p(−p))."""
        if np.dtype(dtype) == np.bool_:
            raise NotImplementedError("geometric_: not implemented for bool tensors (as in PyTorch); use an "
                                      "integer or floating tensor")
        u = self._unit(math.prod(shape), np.dtype(np.float64))
        with np.errstate(divide="ignore"):
            return np.ceil(np.log(u) / math.log1p(-p)).astype(dtype).reshape(shape)

    def cauchy(self, median: float, sigma: float, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """Cauchy(median, sigma) samples: median + sigma · tan(π (u − 1/2))."""
        _require_floating(dtype, "cauchy_", RuntimeError)
        if not sigma > 0:
            raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
        u = self._unit(math.prod(shape), np.dtype(np.float64))
        return (median + sigma * _libm(math.tan, math.pi * (u - 0.5))).astype(dtype).reshape(shape)

    def log_normal(self, mean: float, std: float, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """exp(N(mean, std²)) samples, each normal drawn as ``normal``'s fewer-than-16 path."""
        _require_floating(dtype, "log_normal_", NotImplementedError)
        unit = np.array([self._normal_one() for _ in range(math.prod(shape))], np.float64)
        return _libm(math.exp, _fused_multiply_add(unit, float(std), float(mean))).astype(dtype).reshape(shape)

    def bernoulli(self, p: np.ndarray) -> np.ndarray:
        """A bool array, True with probability ``p`` (an array of probabilities): u < p, with u in
        p's precision (float64 for float64 p, else float32)."""
        precision = np.dtype(np.float64) if p.dtype == np.float64 else np.dtype(np.float32)
        return (self._unit(p.size, precision) < p.reshape(-1)).reshape(p.shape)

    def bits(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """``random_()``: integers from 0 to the largest that ``dtype`` holds exactly (2²⁴ for
        float32, 2⁵³ for float64; 2³¹ − 1 for int32, ...)."""
        dtype, count = np.dtype(dtype), math.prod(shape)
        if dtype.kind == "f":
            digits = np.finfo(dtype).nmant + 1
            words = self._words(count) if digits <= 32 else self._words64(count)
            return (words % np.uint64(2 ** digits + 1)).astype(dtype).reshape(shape)
        if dtype == np.bool_:
            return (self._words(count) % np.uint64(2)).astype(dtype).reshape(shape)
        top = int(np.iinfo(dtype).max) + 1
        words = self._words(count) if top <= 2 ** 32 else self._words64(count)
        return (words % np.uint64(top)).astype(dtype).reshape(shape)

    def multinomial(self, weights: np.ndarray, samples: int, replacement: bool) -> np.ndarray:
        """Category indices (int64, (rows, samples)) drawn from each row of ``weights`` (rows,
        categories). With replacement: a float64 uniform per sample, found in the row's normalised
        cumulative sums; without, or for one sample either way (PyTorch's fast path): the top
        ``samples`` of weights / Exp(1) (the Gumbel trick)."""
        if not replacement or samples == 1:
            keys = weights / self.exponential(1.0, weights.shape, weights.dtype)
            return np.argsort(-keys, axis=1, kind="stable")[:, :samples].astype(np.int64)
        cumulative = np.cumsum(weights, axis=1)
        cumulative = cumulative / cumulative[:, -1:]
        cumulative[:, -1] = 1
        out = np.empty((len(weights), samples), np.int64)
        for row, sums in enumerate(cumulative):
            out[row] = np.searchsorted(sums.astype(np.float64), self._unit(samples, np.dtype(np.float64)), side="left")
        return out

    def random64(self) -> int:
        """One int in [0, 2⁶³) (``torch.empty((), dtype=torch.int64).random_()``: a seed for another
        generator, as the DataLoader draws them)."""
        return int(self._words64(1)[0] % np.uint64(2 ** 63))


def _libm(function: Any, values: np.ndarray) -> np.ndarray:
    """``function`` (one of Python's math functions: the C library's, as PyTorch's loops call
    them; numpy's vector versions can differ in the last bit) on each float64 value."""
    return np.array([function(value) for value in values.tolist()], np.float64)


def _require_floating(dtype: Any, op: str, error: type[Exception]) -> None:
    """Continuous samples only fill floating tensors; raise PyTorch's exception class otherwise."""
    if np.dtype(dtype).kind != "f":
        raise error(f"{op}: samples a continuous distribution, so it fills floating tensors only, not "
                    f"{np.dtype(dtype)}; use a floating tensor (e.g. .float()) and convert afterwards")


def _libm_shaped(function: Any) -> Any:
    """``_libm(function, ·)`` for an array of any shape."""
    return lambda values: _libm(function, values.ravel()).reshape(values.shape)


def _fused_multiply_add(x: np.ndarray, scale: float, shift: float) -> np.ndarray:
    """x·scale + shift rounded once, in float64: the exact product as a sum of two doubles
    (Dekker's product on Veltkamp's halves), added to ``shift`` without error (Knuth's two-sum)."""
    product = x * scale
    x_high, x_low = _halves(x)
    scale_high, scale_low = _halves(scale)
    product_error = ((x_high * scale_high - product) + x_high * scale_low + x_low * scale_high) + x_low * scale_low
    total = product + shift
    back = total - product
    sum_error = (product - (total - back)) + (shift - back)
    return total + (sum_error + product_error)


def _halves(value: Any) -> tuple[Any, Any]:
    """Veltkamp's split of float64s into a high part of 26 bits and the rest, high + low = value."""
    big = 134217729.0 * value          # 2**27 + 1
    high = big - (big - value)
    return high, value - high


def _box_muller_16(uniforms: np.ndarray, mean: float, std: float) -> np.ndarray:
    """Box-Muller on blocks of 16 uniforms, in their dtype: u₁ = 1 − the first 8, u₂ = the last 8;
    radius·cos(2πu₂) then radius·sin(2πu₂), each times std plus mean rounded once (a fused
    multiply-add, as PyTorch's compiled loop)."""
    dtype = uniforms.dtype.type
    blocks = uniforms.reshape(-1, 16)
    # float64: PyTorch's scalar loop calls the C library's log, cos and sin, which numpy's vector
    # versions miss by an ulp now and then; float32: PyTorch's vector functions (within ulps anyway)
    log, cos, sin = ((np.log, np.cos, np.sin) if dtype is not np.float64 else
                     (_libm_shaped(math.log), _libm_shaped(math.cos), _libm_shaped(math.sin)))
    radius = np.sqrt(dtype(-2.0) * log(dtype(1.0) - blocks[:, :8]))
    theta = dtype(2.0 * math.pi) * blocks[:, 8:]
    normal = np.concatenate([radius * cos(theta), radius * sin(theta)], axis=1).ravel()
    if dtype is np.float64:
        return _fused_multiply_add(normal, float(dtype(std)), float(dtype(mean)))
    return (normal.astype(np.float64) * np.float64(dtype(std)) + np.float64(dtype(mean))).astype(dtype)


default_generator = Generator()


def manual_seed(seed: SupportsIndex) -> Generator:
    """Seed ``ad.default_generator``, which ``rand``, ``randn``, ``nn``'s initialisers, dropout and
    the DataLoader draw from; returns it."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed ``ad.default_generator`` from the operating system's entropy; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The seed ``ad.default_generator`` last started from."""
    return default_generator.initial_seed()


def get_rng_state() -> Any:
    """``ad.default_generator``'s state, as a uint8 tensor."""
    return default_generator.get_state()


def set_rng_state(new_state: Any) -> None:
    """Restore ``ad.default_generator`` to a state from ``get_rng_state``."""
    default_generator.set_state(new_state)
