"""Special functions on arrays for the elementwise table: erf and erfc, from scipy.special when
it is installed (lazily imported), else from Cody's rational approximations in pure numpy, both
float64-accurate; and in numpy alone, PyTorch's gamma family (lgamma, digamma, trigamma,
polygamma, the Hurwitz zeta), erfinv, and the Bessel functions i0 and i1."""
from __future__ import annotations

from typing import Any, Callable, Literal

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["erf", "erfc", "erf_cody", "erfc_cody", "zeta", "lgamma", "digamma", "trigamma", "polygamma",
           "erfinv", "i0", "i1"]

# W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969),
# as in his SPECFUN routine CALERF: erf on |x| <= 0.46875, erfc(x) exp(x^2) on (0.46875, 4] and an
# asymptotic form beyond; relative error below 1e-16 in float64 over the whole real line.
_CODY_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
           3.20937758913846947e03, 1.85777706184603153e-1)
_CODY_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
           2.84423683343917062e03)
_CODY_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
           2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
           2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_CODY_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
           1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
           3.43936767414372164e03, 1.23033935480374942e03)
_CODY_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
           1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_CODY_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
           6.05183413124413191e-2, 2.33520497626869185e-3)
_ONE_OVER_SQRT_PI = 5.6418958354775628695e-1


def erf_cody(x: ArrayLike) -> np.ndarray:
    """erf of an array in pure numpy (Cody's rational approximations), computed in float64."""
    return _cody(x, complement=False)


def erfc_cody(x: ArrayLike) -> np.ndarray:
    """erfc = 1 - erf of an array in pure numpy (Cody), computed in float64 without the
    cancellation of 1 - erf for large x."""
    return _cody(x, complement=True)


def _cody(x: ArrayLike, complement: bool) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    y = np.abs(x)
    out = np.empty_like(y)

    small = y <= 0.46875
    ys = y[small]
    ysq = np.where(ys > 1.11e-16, ys * ys, 0.0)
    num, den = _CODY_A[4] * ysq, ysq
    for i in range(3):
        num = (num + _CODY_A[i]) * ysq
        den = (den + _CODY_B[i]) * ysq
    out[small] = x[small] * (num + _CODY_A[3]) / (den + _CODY_B[3])
    if complement:
        out[small] = 1.0 - out[small]

    middle = (y > 0.46875) & (y <= 4.0)
    ym = y[middle]
    num, den = _CODY_C[8] * ym, ym
    for i in range(7):
        num = (num + _CODY_C[i]) * ym
        den = (den + _CODY_D[i]) * ym
    erfc = (num + _CODY_C[7]) / (den + _CODY_D[7])
    out[middle] = _erf_from_scaled_erfc(ym, erfc, x[middle], complement)

    large = y > 4.0
    yl = y[large]
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        ysq = 1.0 / (yl * yl)
        num, den = _CODY_P[5] * ysq, ysq
        for i in range(4):
            num = (num + _CODY_P[i]) * ysq
            den = (den + _CODY_Q[i]) * ysq
        erfc = (_ONE_OVER_SQRT_PI - ysq * (num + _CODY_P[4]) / (den + _CODY_Q[4])) / yl
        erfc = np.where(yl >= 26.543, 0.0, erfc)
    out[large] = _erf_from_scaled_erfc(yl, erfc, x[large], complement)
    out[np.isnan(x)] = np.nan
    return out


def _erf_from_scaled_erfc(y: np.ndarray, scaled: np.ndarray, x: np.ndarray,
                          complement: bool) -> np.ndarray:
    """erf (or erfc) from erfc(y) exp(y^2), with exp(-y^2) split as Cody does to keep its last bits."""
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        rounded = np.trunc(y * 16.0) / 16.0
        delta = (y - rounded) * (y + rounded)
        erfc = np.exp(-rounded * rounded) * np.exp(-delta) * scaled
    erfc = np.where(np.isfinite(erfc), erfc, 0.0)
    if complement:
        return np.where(x < 0, 2.0 - erfc, erfc)
    value = (0.5 - erfc) + 0.5
    return np.where(x < 0, -value, value)


# name -> scipy.special's function, or False without scipy
_scipy: dict[str, Callable[[np.ndarray], Any] | Literal[False]] = {}


def erf(x: np.ndarray) -> np.ndarray:
    """erf of an array: scipy.special.erf when scipy is installed, else Cody's approximation;
    in x's floating dtype."""
    return _special("erf", erf_cody, x)


def erfc(x: np.ndarray) -> np.ndarray:
    """erfc of an array, as ``erf``."""
    return _special("erfc", erfc_cody, x)


def _special(name: str, fallback: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    function = _scipy.get(name)
    if function is None:
        try:
            import scipy.special
            function = getattr(scipy.special, name)
        except ImportError:
            function = False
        _scipy[name] = function
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    if function is False:
        return fallback(x).astype(x.dtype, copy=False)
    return np.asarray(function(x), dtype=x.dtype)


# ---------------------------------------------------------------------------------------------
# the gamma family, erfinv and the Bessel function i0, in numpy (vectorised), as PyTorch computes
# them: digamma, trigamma and the Hurwitz zeta by PyTorch's (Cephes') recurrences and series, so
# values agree with PyTorch's to the last bits and at its poles; lgamma, erfinv and i0 to
# ~1e-15 relative (PyTorch calls the C library's lgamma and refines erfinv on erf, where ours
# refines on erfc near +-1, which keeps the last digits there).

_EULER = 0.57721566490153286061
_MACHEP = 1.11022302462515654042e-16
_ZETA_MAX_TERMS = 100_000
# (2k)! / B_2k: the Euler-Maclaurin tail of the Hurwitz zeta (Cephes' zeta.c)
_ZETA_A = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
           -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15,
           1.8152105401943546773e17, -7.1661652561756670113e18)
# B_2k / (2k (2k - 1)): Stirling's series of lgamma
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156, -3617 / 122400)
_HALF_LOG_TWO_PI = 0.91893853320467274178


def _float64(x: ArrayLike) -> np.ndarray:
    return np.array(x, dtype=np.float64, copy=True, ndmin=0)


def zeta(s: ArrayLike, q: ArrayLike) -> np.ndarray:
    """The Hurwitz zeta function sum_k (k + q)^-s, elementwise (broadcast), as PyTorch's
    ``special.zeta``: inf at s = 1 and at non-positive integer q, nan for s < 1 (and for q <= 0
    with non-integer s)."""
    s, q = np.broadcast_arrays(_float64(s), _float64(q))
    s, q = s.astype(np.float64), q.astype(np.float64)
    out = np.full(s.shape, np.nan)
    with np.errstate(all="ignore"):
        pole = (s == 1) | ((q <= 0) & (q == np.floor(q)))
        valid = (s > 1) & ~pole & ~((q <= 0) & (s != np.floor(s)))
        x, a = s[valid], q[valid]
        total = a ** -x
        term = np.zeros_like(total)
        done = np.zeros(total.shape, bool)
        i = 0
        while True:     # direct sum until a > 9 (at least 9 terms), or until the terms vanish
            live = ~done & ((i < 9) | (a <= 9.0))
            if not live.any():
                break
            if i == _ZETA_MAX_TERMS:   # q below -10^5: PyTorch sums on for |q| terms; we give up
                total = np.where(live, np.nan, total)
                done |= live
                break
            i += 1
            a = np.where(live, a + 1, a)
            term = np.where(live, a ** -x, term)
            total = np.where(live, total + term, total)
            done |= live & (np.abs(term) < _MACHEP * np.abs(total))
        # Euler-Maclaurin tail for the rest (Cephes: 12 terms at most)
        tail = ~done
        w = a
        total = np.where(tail, total + term * w / (x - 1) - 0.5 * term, total)
        factor, k, b = np.ones_like(total), 0.0, term
        for coefficient in _ZETA_A:
            factor = factor * (x + k)
            b = b / w
            t = factor * b / coefficient
            total = np.where(tail, total + t, total)
            tail &= ~(np.abs(t / total) < _MACHEP)
            k += 1
            factor = factor * (x + k)
            b = b / w
            k += 1
    out[valid] = total
    out[pole] = np.inf
    return out


def lgamma(x: ArrayLike) -> np.ndarray:
    """log |Gamma(x)|, elementwise, in float64: inf at 0, at the negative integers and at +-inf.
    Stirling's series past 10 (smaller x shifted up by the recurrence), the Taylor series of
    lgamma(1 + e) near 1 and 2 (where it is 0, so relative accuracy holds), reflection below 0.5."""
    x = _float64(x)
    out = np.empty_like(x)
    with np.errstate(all="ignore"):
        negative = x < 0.5
        reflected = np.where(negative, 1.0 - x, x)
        out = _lgamma_positive(reflected)
        # log(pi / |sin(pi x)|) with x - round(x) exact, so sin(pi x) keeps its digits near integers
        sine = np.abs(np.sin(np.pi * (x - np.round(x))))
        out = np.where(negative, np.log(np.pi) - np.log(sine) - out, out)
        out = np.where(negative & (x == np.floor(x)), np.inf, out)
        # -log|x| - Euler x for tiny x (sin(pi x) would lose digits among the subnormals)
        out = np.where((np.abs(x) < 1e-9) & (x != 0), -np.log(np.abs(x)) - _EULER * x, out)
        out = np.where(np.isinf(x), np.inf, out)
    return out


def _lgamma_positive(x: np.ndarray) -> np.ndarray:
    """lgamma for x >= 0.5 (any other value passes through unused)."""
    near_one, near_two = np.abs(x - 1) < 0.5, np.abs(x - 2) <= 0.5
    shift = np.zeros_like(x)
    y = x.copy()
    for _ in range(10):        # lgamma(x) = lgamma(x + 1) - log x, until x >= 10
        small = y < 10
        shift = np.where(small, shift + np.log(np.where(small, y, 1.0)), shift)
        y = np.where(small, y + 1, y)
    inverse = 1.0 / y
    square = inverse * inverse
    series = np.zeros_like(y)
    for coefficient in reversed(_STIRLING):
        series = series * square + coefficient
    log_y = np.log(y)
    out = y * (log_y - 1) - 0.5 * log_y + _HALF_LOG_TWO_PI + series * inverse - shift
    if near_one.any() or near_two.any():
        e = np.where(near_one, x - 1, x - 2)
        taylor = np.zeros_like(e)
        for k in range(_TAYLOR_TERMS, 1, -1):
            taylor = taylor * e + (-1) ** k * _ZETA_INTEGERS[k] / k
        taylor = (taylor * e - _EULER) * e       # lgamma(1 + e)
        out = np.where(near_one, taylor, out)
        out = np.where(near_two, taylor + np.log1p(e), out)
    return np.where(np.isnan(x), np.nan, out)


# lgamma(1 + e) = -Euler e + sum_k>=2 (-1)^k zeta(k) e^k / k, for |e| <= 1/2: 60 terms reach 1e-19
_TAYLOR_TERMS = 60
_ZETA_INTEGERS = np.concatenate([[np.nan, np.inf], zeta(np.arange(2, _TAYLOR_TERMS + 1), 1.0)])

_PSI_10 = 2.25175258906672110764
# Cephes' psi: B_2k / 2k, highest power first
_PSI_A = (8.33333333333333333333e-2, -2.10927960927960927961e-2, 7.57575757575757575758e-3,
          -4.16666666666666666667e-3, 3.96825396825396825397e-3, -8.33333333333333333333e-3,
          8.33333333333333333333e-2)


def digamma(x: ArrayLike) -> np.ndarray:
    """d/dx lgamma(x), elementwise, in float64, as PyTorch's: -inf at +0, inf at -0, nan at the
    negative integers; reflection below 0, the recurrence up to 10 and the asymptotic series."""
    x = _float64(x)
    with np.errstate(all="ignore"):
        negative = x < 0
        y = np.where(negative, 1.0 - x, x)
        result = np.zeros_like(y)
        for _ in range(10):
            small = y < 10
            result = np.where(small, result - 1 / np.where(small, y, 1.0), result)
            y = np.where(small, y + 1, y)
        z = 1.0 / (y * y)
        polynomial = np.zeros_like(y)
        for coefficient in _PSI_A:
            polynomial = polynomial * z + coefficient
        tail = np.where(y < 1e17, z * polynomial, 0.0)
        out = np.where(y == 10, result + _PSI_10, result + np.log(y) - 0.5 / y - tail)
        fraction = x - np.trunc(x)
        out = np.where(negative, out - np.pi / np.tan(np.pi * fraction), out)
        out = np.where(negative & (x == np.trunc(x)), np.nan, out)
        out = np.where(x == 0, np.copysign(np.inf, -x), out)
        out = np.where(x == np.inf, np.inf, out)
    return out


def trigamma(x: ArrayLike) -> np.ndarray:
    """polygamma(1, x) as PyTorch computes it (reflection below 0.5, six recurrence steps, then
    its asymptotic series), in float64."""
    x = _float64(x)
    with np.errstate(all="ignore"):
        reflect = x < 0.5
        sine = np.sin(np.pi * x)
        result = np.where(reflect, -(np.pi * np.pi) / (sine * sine), 0.0)
        y = np.where(reflect, 1 - x, x)
        for _ in range(6):
            result = result + 1 / (y * y)
            y = y + 1
        inverse_square = 1 / (y * y)
        result = result + (1 + 1 / (2 * y) + inverse_square * (1. / 6 - inverse_square * (
            1. / 30 - inverse_square * (1. / 42)))) / y
    return np.where(reflect, -result, result)


def polygamma(n: int, x: ArrayLike) -> np.ndarray:
    """The n-th derivative of digamma, elementwise, in float64, as PyTorch's:
    (-1)^(n+1) n! zeta(n + 1, x) for n >= 2."""
    if n == 0:
        return digamma(x)
    if n == 1:
        return trigamma(x)
    sign = 1.0 if n % 2 else -1.0
    with np.errstate(all="ignore"):
        return sign * np.exp(lgamma(n + 1.0)) * zeta(n + 1.0, x)


# PyTorch's initial approximation of erfinv (a rational function in y, or in sqrt(-log((1-|y|)/2)))
_ERFINV_A = (0.886226899, -1.645349621, 0.914624893, -0.140543331)
_ERFINV_B = (-2.118377725, 1.442710462, -0.329097515, 0.012229801)
_ERFINV_C = (-1.970840454, -1.624906493, 3.429567803, 1.641345311)
_ERFINV_D = (3.543889200, 1.637067800)
_TWO_OVER_SQRT_PI = 1.12837916709551257390


def erfinv(y: ArrayLike) -> np.ndarray:
    """The inverse of erf on (-1, 1), elementwise, in float64: +-inf at +-1, nan outside.
    PyTorch's initial approximation, then Newton steps on erf (|y| <= 0.5) or on erfc (beyond,
    where 1 - |y| is exact, so the result keeps its digits as |y| nears 1)."""
    y = _float64(y)
    a, b, c, d = _ERFINV_A, _ERFINV_B, _ERFINV_C, _ERFINV_D
    size = np.abs(y)
    with np.errstate(all="ignore"):
        z = y * y
        central = y * (((a[3] * z + a[2]) * z + a[1]) * z + a[0]) / (
            (((b[3] * z + b[2]) * z + b[1]) * z + b[0]) * z + 1.0)
        w = np.sqrt(-np.log((1.0 - size) / 2.0))
        outer = np.copysign(((c[3] * w + c[2]) * w + c[1]) * w + c[0], y) / ((d[1] * w + d[0]) * w + 1.0)
        x = np.where(size <= 0.7, central, outer)
        x = np.where(size < 1, x, 0.0)
        far = size > 0.5
        complement = 1.0 - size
        for _ in range(3):
            slope = _TWO_OVER_SQRT_PI * np.exp(-x * x)
            near_step = (erf(x) - y) / slope
            # on erfc(|x|) = 1 - |y|: the step for |x|, with y's sign
            far_step = -np.sign(y) * (erfc(np.abs(x)) - complement) / slope
            x = x - np.where(far, far_step, near_step)
        x = np.where(size == 1, np.copysign(np.inf, y), x)
        x = np.where(size > 1, np.nan, x)
    return np.where(np.isnan(y), np.nan, x)


def _bessel_i(order: int, x: ArrayLike) -> np.ndarray:
    """I_0 or I_1 (``order``) of x, in float64: the power series up to |x| = 20 (positive terms,
    so no cancellation), the asymptotic series beyond (its least term is near e^-2|x|)."""
    x = _float64(x)
    size = np.abs(x)
    with np.errstate(all="ignore"):
        half_square = (size / 2) ** 2
        term = size / 2 if order == 1 else np.ones_like(size)     # (x/2)^order / order!
        series = term.copy()
        for k in range(1, 80):
            term = term * half_square / (k * (k + order))
            series = series + term
        large = np.maximum(size, 20.0)
        mu = 4.0 * order * order
        coefficient = np.ones_like(size)
        asymptotic = np.ones_like(size)
        for k in range(1, 40):
            coefficient = coefficient * -(mu - (2 * k - 1) ** 2) / (k * 8 * large)
            asymptotic = asymptotic + coefficient
        # (inf once e^|x| overflows, past 709.78, as PyTorch's)
        asymptotic = np.exp(large) * asymptotic / np.sqrt(2 * np.pi * large)
        out = np.where(size <= 20, series, asymptotic)
    if order == 1:
        out = np.copysign(out, x)
    return np.where(np.isnan(x), np.nan, out)


def i0(x: ArrayLike) -> np.ndarray:
    """The modified Bessel function of the first kind of order 0, elementwise, in float64."""
    return _bessel_i(0, x)


def i1(x: ArrayLike) -> np.ndarray:
    """The modified Bessel function of the first kind of order 1 (i0's derivative), in float64."""
    return _bessel_i(1, x)
