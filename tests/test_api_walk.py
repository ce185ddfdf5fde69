"""Every public name that PyTorch also has, run with PyTorch's documented argument forms and
compared with PyTorch: values, dtypes, shapes, ``requires_grad``, gradients, and errors.

The walk covers ``ad.__all__`` and every public Tensor method or attribute whose name
``torch``/``torch.Tensor`` also has, so a new name is tested without a new test: a name without
an entry in the form tables runs the default forms (one tensor, two tensors, a tensor and a dim)
that PyTorch accepts, and fails if PyTorch accepts none of them (then add its forms here). A name
whose meaning is deliberately not PyTorch's is listed in SKIP with the reason (the README lists
the same differences).

Each form runs in PyTorch first. If PyTorch raises, autodiff must raise too; if PyTorch returns,
autodiff must return the same thing, except for the forms marked ``raises``: PyTorch arguments
that autodiff does not support and refuses with an error (never a different answer).
"""
import inspect

import numpy as np
import pytest

import autodiff as ad

torch = pytest.importorskip("torch")
# log of a negative, 0/0...: nan in both libraries, with numpy's or PyTorch's warning
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")

RNG = np.random.default_rng(0)
DATA = {
    "X": RNG.uniform(0.5, 2.0, (3, 4)),                 # positive float64, requires grad
    "Y": RNG.uniform(0.5, 2.0, (3, 4)),
    "N": RNG.choice([-1.0, 1.0], (3, 4)) * RNG.uniform(0.3, 2.0, (3, 4)),    # both signs
    "T": np.round(RNG.uniform(-2, 2, (3, 4))),         # ties
    "V": RNG.standard_normal(4),
    "W": RNG.standard_normal(4),
    "Z": RNG.standard_normal((4, 2)),
    "Q": RNG.standard_normal((2, 3, 4)),
    "R": RNG.standard_normal((2, 1, 4, 1)),
    "S": np.array(1.5),
    "C": RNG.standard_normal((3, 4)),                   # no grad (in-place ops)
    "I": RNG.integers(0, 6, (3, 4)),                    # int64
    "J": np.array([1, 2, 0]),                           # int64 counts
    "M": RNG.uniform(size=(3, 4)) > 0.5,                # bool
    "L": RNG.integers(1, 7, (3, 4)),                    # int64, for bitwise ops
    "K": np.array([0, 2, 1, 2, 5]),                     # int64 counts (bincount)
    "U": RNG.uniform(0.5, 2.0, 5),                      # float weights for K
    "A": RNG.standard_normal((3, 3)) + 3 * np.eye(3),   # square, well conditioned, det > 0
    "B": RNG.standard_normal((2, 3, 3)) + 3 * np.eye(3),
    "G": np.array([[0, 2], [3, 1], [1, 3]]),           # int64 indices along dim 1 of (3, 4), distinct per row
    "Y3": RNG.standard_normal((3, 2)),                  # a source of G's shape (scatter_add, scatter_reduce)
    "H": np.array([0, 3]),                              # int64 indices along dim 1
    "H0": np.array([0, 2]),                             # int64 indices along dim 0
    "Y2": RNG.standard_normal((2, 4)),                  # a source for index_add along dim 0
    "Q2": RNG.standard_normal((2, 4, 2)),               # bmm's second batch, for Q
    "PR": RNG.uniform(0.0, 1.0, (3, 4)),                # probabilities (bernoulli, multinomial), requires grad
    "SS": np.array([-1.0, 0.0, 0.5, 0.5, 2.0]),         # sorted, with a tie (searchsorted, bucketize)
    "SR": np.sort(RNG.standard_normal((3, 5)), -1),     # sorted rows, one per row of X/N
    "V3": RNG.standard_normal(3),                       # a diagonal or a column of (3, 4)
    "V2": RNG.standard_normal(2),
}
NO_GRAD = {"C", "I", "J", "M", "L", "K", "G", "H", "H0"}


class P:
    """A placeholder in a form: the input of that name, as each library's tensor."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


class Lib:
    """A placeholder for an attribute of the library (``Lib("float32")``: ad.float32 / torch.float32)."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"lib.{self.name}"


X, Y, N, T, V, W, Z, Q, R, S, C, I, J, M, L, K, U, A, B, G, H = (P(n) for n in "XYNTVWZQRSCIJMLKUABGH")
H0, Y2, Y3, Q2, PR = P("H0"), P("Y2"), P("Y3"), P("Q2"), P("PR")
SS, SR, V3, V2 = P("SS"), P("SR"), P("V3"), P("V2")
F32, F64, I32 = Lib("float32"), Lib("float64"), Lib("int32")


def form(*args, raises=False, random=False, **kwargs):
    """One argument form: positional and keyword arguments. ``raises``: autodiff refuses it (a
    PyTorch argument it does not support); ``random``: compare shapes and dtypes only."""
    return dict(args=args, kwargs=kwargs, raises=raises, random=random)


REDUCE_ALL = [form(X), form(N, 1), form(N, -1, True), form(N, dim=0), form(N, dim=1, keepdim=True),
              form(N, dim=(0, 1)), form(N, axis=0), form(N, (0, 1), keepdim=True)]
DIM_ONLY = [form(X), form(N, 1), form(N, -1, True), form(N, dim=0), form(N, dim=1, keepdim=True)]
VARIANCE = REDUCE_ALL + [form(N, 1, False), form(N, 0, True, True), form(N, unbiased=False),
                         form(N, dim=1, correction=0), form(N, dim=(0, 1), correction=2, keepdim=True),
                         form(N, False), form(I, raises=False)]
BINARY = [form(X, Y), form(X, 2.0), form(N, V), form(S, X), form(X, S), form(I, 2), form(I, 1.5), form(X, I),
          form(2.0, X), form(I, I), form(M, X), form(N, 3)]
UNARY = [form(X), form(N), form(I), form(S)]

FUNCTION_FORMS = {
    "mm": [form(X, Z), form(X, Y), form(V, Z)],
    "bmm": [form(Q, Q2), form(Q, Z)],
    "mv": [form(X, V), form(X, Z)],
    "addmm": [form(Y3, X, Z), form(Y3, X, Z, beta=0.5, alpha=2.0), form(Y3, X, Z, beta=0), form(X, X, Z)],
    "add": BINARY + [form(X, Y, alpha=2, raises=True)],
    "sub": BINARY + [form(X, Y, alpha=2, raises=True)],
    "mul": BINARY,
    "div": BINARY + [form(X, Y, rounding_mode="floor", raises=True)],
    "pow": [form(X, 2), form(N, 3), form(X, 0.5), form(X, -1), form(N, -2), form(X, Y), form(2.0, X), form(I, 2),
            form(I, 0.5), form(X, 0), form(S, X),
            # a float exponent makes an integer base floating, even a whole one; bool ** int is int64
            form(I, 2.0), form(I, 3.0), form(I, -1.0), form(I, 4.0), form(M, 2), form(M, 3), form(M, 2.0)],
    "maximum": [form(X, Y), form(N, V), form(X, I), form(T, T)],
    "minimum": [form(X, Y), form(N, V), form(X, I), form(T, T)],
    "clip": [form(N, -0.5, 0.5), form(N, min=0.0), form(N, max=0.3), form(I, min=2), form(I, min=0.5),
             form(N, min=Y), form(N, Y, X)],
    "clamp": [form(N, -0.5, 0.5), form(N, min=0.0), form(N, max=0.3), form(I, min=2), form(I, min=0.5),
              form(N, min=Y), form(N, V, None)],
    "where": [form(M, X, Y), form(M, X, 0.0), form(M, I, X), form(M, I, 2.5), form(M, N, V)],
    "matmul": [form(X, Z), form(X, V), form(V, Z), form(Q, Z), form(V, W), form(X, Y)],
    "dot": [form(V, W), form(X, Y), form(V, V)],
    "sum": REDUCE_ALL + [form(I), form(M), form(N, dtype=F32), form(I, 1), form(N, dim=())],
    "mean": REDUCE_ALL + [form(I), form(I, dtype=F32), form(N, dim=())],
    "prod": [form(X), form(N, 1), form(N, 0, True), form(N, dim=1), form(I), form(N, dtype=F32)],
    "amax": REDUCE_ALL + [form(T, 1), form(T), form(N, dim=())],
    "amin": REDUCE_ALL + [form(T, 0), form(T)],
    "max": DIM_ONLY + [form(T), form(T, 1), form(T, dim=0, keepdim=True), form(X, Y), form(N, (0, 1)), form(I, 1)],
    "min": DIM_ONLY + [form(T), form(T, 1), form(T, dim=0, keepdim=True), form(X, Y), form(N, (0, 1)), form(I, 1)],
    # (not dim=(): PyTorch's values reduce every dim, but its gradient is inf, as if none were)
    "var": VARIANCE,
    "std": VARIANCE + [form(T, 0)],
    "argmax": [form(N), form(N, 1), form(N, dim=0, keepdim=True), form(T, 1)],
    "argmin": [form(N), form(N, 1), form(N, dim=0, keepdim=True), form(T, 1)],
    "logsumexp": [form(N, 1), form(N, -1, True), form(N, dim=(0, 1)), form(I, 1)],
    "softmax": [form(N, 1), form(N, 0), form(N, dim=-1), form(S, 0), form(I, 1), form(I, 1, dtype=F32)],
    "log_softmax": [form(N, 1), form(N, 0), form(N, dim=-1), form(S, -1), form(N, 1, dtype=F32)],
    "reshape": [form(X, (2, 6)), form(X, (-1,)), form(Q, (4, -1))],
    "transpose": [form(Q, 0, 2), form(X, 1, 0), form(Q, -1, 1), form(Q, (0, 1, 2))],
    "permute": [form(Q, (2, 0, 1)), form(Q, (0, 1)), form(X, (1, 0))],
    "swapaxes": [form(Q, 0, 2), form(X, 1, 0)],
    "swapdims": [form(Q, 0, 2), form(X, 1, 0)],
    "squeeze": [form(R), form(R, 1), form(R, 0), form(R, (1, 3)), form(R, -1), form(R, dim=2)],
    "unsqueeze": [form(X, 1), form(X, -1), form(X, dim=0), form(S, 0)],
    "broadcast_to": [form(V, (3, 4)), form(S, (2, 2)), form(X, (2, 3, 4)), form(X, (4, 4))],
    "flatten": [form(Q), form(Q, 1), form(Q, 0, 1), form(Q, start_dim=1), form(S)],
    "cat": [form([X, Y]), form([X, Y], 1), form([X, Y], dim=-1), form([X, I]), form([X, V])],
    "concatenate": [form([X, Y]), form([X, Y], 1), form([X, Y], axis=-1)],
    "stack": [form([X, Y]), form([X, Y], 1), form([X, Y], dim=2), form([X, I])],
    "split": [form(X, 2), form(X, [1, 2]), form(X, 3, 1), form(X, 2, dim=1), form(X, [2, 2])],
    "repeat_interleave": [form(X, 2), form(X, 2, 1), form(X, 2, dim=0), form(X, J, dim=0), form(V, 3)],
    "tile": [form(X, (2,)), form(X, (2, 1, 2)), form(V, (3, 1))],
    "zeros": [form(2, 3), form((2, 3)), form(2, dtype=F64), form(3, dtype=I32)],
    "ones": [form(2, 3), form((2, 3)), form(2, dtype=F64)],
    "full": [form((2, 3), 1.5), form((2,), 7), form((2,), True), form((2, 2), 0.5, dtype=F64)],
    "eye": [form(3), form(2, 3), form(3, dtype=F64)],
    "arange": [form(5), form(1, 4), form(0, 1, 0.25), form(5, dtype=F64), form(0.0, 1.0, 0.5)],
    "linspace": [form(0, 1, 5), form(-1.0, 1.0, steps=3), form(0, 1, 4, dtype=F64)],
    "zeros_like": [form(X), form(I), form(X, dtype=F32)],
    "ones_like": [form(X), form(I), form(X, dtype=F32)],
    "full_like": [form(X, 2.5), form(I, 3), form(X, 1, dtype=F32)],
    "rand": [form(2, 3, random=True), form((2, 3), random=True), form(2, dtype=F64, random=True)],
    "randn": [form(2, 3, random=True), form((2, 3), random=True), form(2, dtype=F64, random=True)],
    "rand_like": [form(X, random=True), form(X, dtype=F32, random=True)],
    "randn_like": [form(X, random=True), form(X, dtype=F32, random=True)],
    "tensor": [form([1.0, 2.0]), form([1, 2]), form([True, False]), form([[1.0], [2.0]], dtype=F64),
               form(np.arange(3.0)), form(2.5), form([1.0], requires_grad=True)],
    "from_numpy": [form(np.arange(3.0)), form(np.arange(3, dtype=np.int32))],
    # the new-user sweep: the blitz's creation names (empty and the draws: shapes and dtypes only)
    "empty": [form(2, 3, random=True), form((2, 3), random=True), form(2, dtype=F64, random=True)],
    "empty_like": [form(X, random=True), form(I, random=True), form(X, dtype=F32, random=True)],
    "randint": [form(0, 10, (3, 2), random=True), form(5, (4,), random=True), form(2, 9, size=(3,), random=True),
                form(0, 10, (3,), dtype=I32, random=True)],
    "randperm": [form(6, random=True), form(4, dtype=I32, random=True)],
    "normal": [form(X, Y, random=True), form(X, 2.0, random=True), form(1.0, C, random=True),
               form(0.0, 1.0, (2, 3), random=True), form(0.0, 2.0, size=(3,), dtype=F64, random=True)],
    "bernoulli": [form(PR, random=True), form(PR, 0.3, random=True), form(N, raises=True)],
    "multinomial": [form(PR, 2, random=True), form(PR, 5, True, random=True), form(PR, 1, replacement=True, random=True),
                    form(PR, 5, raises=True), form(N, 2, raises=True)],
    "randint_like": [form(I, 10, random=True), form(X, 3, 10, random=True), form(I, 5, dtype=I32, random=True)],
    "as_tensor": [form(np.arange(3.0)), form([1, 2]), form([1.5, 2.0], dtype=F64), form(X), form(X, dtype=F32)],
    "is_tensor": [form(X), form(np.arange(3.0)), form(2.0)],
    "numel": [form(X), form(Q), form(S)],
    "device": [form("cpu")],
    # the vocabulary (issue 17): the forms that need more than a tensor and a dim
    "bincount": [form(K), form(K, U), form(K, weights=U, minlength=8)],
    "bitwise_and": [form(I, L), form(I, 3), form(M, M)], "bitwise_or": [form(I, L), form(I, 3), form(M, M)],
    "bitwise_xor": [form(I, L), form(I, 3), form(M, M)], "bitwise_not": [form(I), form(M)],
    "bitwise_left_shift": [form(I, 1), form(I, L)], "bitwise_right_shift": [form(L, 1), form(L, I)],
    "broadcast_shapes": [form((3, 1), (1, 4)), form((2, 3, 1), (4,))],
    "cartesian_prod": [form(V, W), form(V, W, V)],
    "column_stack": [form([X, Y]), form([V, W])], "dstack": [form([X, Y]), form([V, W])],
    "hstack": [form([X, Y]), form([V, W])], "vstack": [form([X, Y]), form([V, W])],
    "row_stack": [form([X, Y]), form([V, W])],
    "det": [form(A), form(B)], "inverse": [form(A), form(B)], "logdet": [form(A), form(B)],
    "slogdet": [form(A), form(B)],
    "einsum": [form("ij,jk->ik", X, Z), form("ii", A), form("bij->bji", Q), form("i,j->ij", V, W),
               form("ij,ij->", X, Y)],
    "flip": [form(X, (0,)), form(Q, (0, 2)), form(X, [1])],
    "gather": [form(X, 1, G), form(X, dim=1, index=G), form(N, -1, G)],
    "take_along_dim": [form(X, G, 1), form(X, G, dim=-1)],
    "index_add": [form(X, 0, H0, Y2), form(X, 0, H0, Y2, alpha=2.0)],
    "index_select": [form(X, 1, H), form(X, 0, H0)],
    "lerp": [form(X, Y, 0.3), form(X, Y, N)],
    "masked_fill": [form(X, M, 0.0), form(N, M, -1.5)], "masked_select": [form(X, M), form(V, M)],
    "meshgrid": [form(V, W, indexing="ij"), form(V, W, indexing="xy")],
    "movedim": [form(Q, 0, 2), form(Q, (0, 1), (2, 0))], "moveaxis": [form(Q, 0, 2), form(Q, (0, 1), (2, 0))],
    "narrow": [form(X, 1, 1, 2), form(X, 0, 0, 2)],
    "outer": [form(V, W)], "ger": [form(V, W)],
    "scatter": [form(X, 1, G, Y3), form(X, 1, G, 2.0)],
    "scatter_add": [form(X, 1, G, Y3), form(N, -1, G, Y3)],
    "scatter_reduce": [form(X, 1, G, Y3, "sum"), form(X, 1, G, Y3, "amax"),
                       form(X, 1, G, Y3, "mean", include_self=False), form(X, 1, G, Y3, "prod")],
    "unflatten": [form(X, 1, (2, 2)), form(Q, -1, (2, -1))],
    "unique": [form(I), form(I, sorted=True, return_counts=True), form(I, return_inverse=True), form(I, dim=0)],
    "addcmul": [form(X, Y, N), form(X, V, N, value=0.5), form(S, X, V), form(I, I, L), form(I, I, L, value=2),
                form(X, I, M)],
    "addcdiv": [form(X, Y, X), form(N, V, Y, value=-0.5), form(S, N, X), form(X, I, L)],
    "clamp_min": [form(N, 0.0), form(N, Y), form(I, 2), form(I, 0.5), form(N, V)],
    "clamp_max": [form(N, 0.5), form(N, Y), form(I, 2), form(I, 0.5), form(N, V)],
    "addmv": [form(S, X, V), form(S, X, V, beta=0.5, alpha=2.0), form(S, X, V, beta=0), form(V, X, V), form(S, X, Z)],
    "addr": [form(S, V, W), form(V, V, W, beta=0.5, alpha=-1.0), form(X, V, W), form(S, V, X)],
    "baddbmm": [form(Y3, Q, Q2), form(Y3, Q, Q2, beta=0.5, alpha=2.0), form(S, Q, Q2, beta=0), form(X, Q, Q2)],
    "addbmm": [form(Y3, Q, Q2), form(Y3, Q, Q2, alpha=0.5), form(S, Q, Q2), form(Y3, Q, Z)],
    "vdot": [form(V, W), form(V, V), form(X, Y), form(V, Z)],
    "matrix_power": [form(A, 2), form(A, 0), form(A, 1), form(A, -1), form(B, 3), form(B, -2), form(X, 2)],
    "pinverse": [form(X), form(Z), form(Q), form(X, 1e-3), form(B, rcond=0.1)],
    "chain_matmul": [form(X, Z), form(A, X, Z), form(A), form(V, Z), form(X, X)],
    "polygamma": [form(0, X), form(1, X), form(2, N), form(3, X), form(1, I), form(-1, X)],
    "mvlgamma": [form(X, 1), form(X, p=2), form(I, 3), form(X, 0)],
    "logit": [form(X), form(N), form(I), form(X, 0.2), form(N, eps=0.7), form(X, 1)],
    "heaviside": [form(N, S), form(T, X), form(I, L), form(N, I), form(X, 0.5)],
    "float_power": [form(X, Y), form(N, 2), form(I, 0.5), form(2.0, X), form(X, I)],
    "ldexp": [form(X, I), form(N, Y), form(I, L), form(X, 2)],
    "nextafter": [form(X, Y), form(N, V), form(I, L)],
    "rsub": [form(X, Y), form(N, 2.0), form(X, Y, alpha=2), form(I, L)],
    "var_mean": VARIANCE, "std_mean": VARIANCE,
    "aminmax": [form(X), form(N, dim=0), form(N, dim=-1, keepdim=True), form(S), form(T, dim=1), form(I, dim=0),
                form(N, keepdim=True)],
    "cov": [form(X), form(V), form(X, correction=0), form(N, correction=3), form(Q), form(I), form(S)],
    "corrcoef": [form(X), form(V), form(N), form(I), form(Q)],
    # (p=0: PyTorch's backward raises there, an undefined tensor; autodiff's gradient is 0, see test_vocab_more)
    "dist": [form(X, Y), form(N, V), form(X, Y, 1), form(X, Y, float("inf")),
             form(X, Y, -float("inf")), form(X, Y, 3.5), form(X, X), form(I, L)],
    "searchsorted": [form(SS, N), form(SS, T, right=True), form(SS, T, side="right"), form(SS, T, side="left"),
                     form(SR, N), form(SR, T, right=True), form(SS, 0.5), form(SS, 0.5, right=True), form(SR, 0.5),
                     form(SS, I), form(SS, N, out_int32=True), form(SS, T, side="left", right=True), form(SR, V),
                     form(SS, S)],
    "bucketize": [form(N, SS), form(T, SS, right=True), form(I, SS), form(N, SS, out_int32=True), form(N, SR),
                  form(0.5, SS)],
    "logspace": [form(0, 2, 5), form(-1.5, 1.0, 4, base=2.0), form(2, 0, 3, dtype=F64), form(0, 1, 1),
                 form(0, 3, 0), form(1, 2, 3, requires_grad=True)],
    "tril_indices": [form(3, 4), form(3, 4, 1), form(4, 3, -1), form(0, 3), form(3, 3, dtype=I32), form(2, 5, 10)],
    "triu_indices": [form(3, 4), form(3, 4, 1), form(4, 3, -1), form(0, 3), form(3, 3, dtype=I32), form(2, 5, -10)],
    # (PyTorch 2.13's vander backward raises, a version-counter error: the walk compares values on
    # tensors without grad; test_vocab_more checks autodiff's gradient by gradcheck)
    "vander": [form(K), form(J, 2), form(K, N=6, increasing=True), form(J), form(K, 0), form(K, 1), form(C)],
    "block_diag": [form(X, V, S), form(Z), form(I, X), form(S, J), form(Q)],
    "result_type": [form(X, Y), form(I, 1.5), form(I, F32 and S), form(M, 2), form(I, M), form(2, 3.0)],
    "promote_types": [form(F32, F64), form(I32, F32), form(Lib("int64"), Lib("float16")), form(Lib("uint8"), Lib("int8")),
                      form(Lib("bool"), I32)],
    "can_cast": [form(F64, F32), form(F32, I32), form(I32, F32), form(Lib("int64"), Lib("bool")),
                 form(Lib("bool"), Lib("uint8"))],
    "is_nonzero": [form(S), form(X), form(Lib("float32"))],
    "ravel": [form(X), form(Q), form(S), form(I)],
    "t": [form(X), form(V), form(S), form(Q), form(I)],
    "as_strided": [form(X, (2, 2), (1, 2)), form(X, (3, 3), (1, 1), 2), form(V, (2, 3), (0, 1)), form(X, (2,), (5,), 1),
                   form(X, (4, 4), (4, 1)), form(X, (2, 2), (1,))],
    "select": [form(X, 0, 1), form(Q, -1, -2), form(X, 1, 4), form(V, 0, 3), form(S, 0, 0), form(Q, dim=1, index=2)],
    "index_fill": [form(X, 1, H, -1.5), form(N, 0, H0, 2.0), form(X, -1, H, S), form(I, 1, H, 7), form(X, 1, H, 2),
                   form(V, 0, H, 1.0), form(X, 0, H, 1.0)],
    "index_copy": [form(X, 0, H0, Y2), form(N, 1, H, Y3), form(X, 0, H, Y2), form(V, 0, H, V2)],
    "index_put": [form(X, (H0,), Y2), form(X, (H0, H), S), form(X, (M,), S), form(X, (H0,), Y2, True),
                  form(X, (J,), W), form(X, (J, J), S, True), form(X, (H0,), 2.5)],
    "masked_scatter": [form(X, M, N), form(X, M, Y2), form(N, M, Q), form(I, M, L)],
    "select_scatter": [form(X, V, 0, 1), form(X, V3, 1, -1), form(Q, X, 0, 1), form(X, V, 0, 3)],
    "slice_scatter": [form(X, Y2, 0, 1), form(X, Y2, 0, 0, 3, 2), form(X, Y3, 1, 2), form(X, X), form(X, Y2, start=1),
                      form(X, Y3, dim=1, start=0, end=4, step=2), form(X, Y2, 0, 5)],
    "diagonal_scatter": [form(X, V3, 0), form(A, V3), form(X, V3, 1), form(X, V2, -1), form(Q, Y3, 0, 0, 2),
                         form(Q, Y2, 0, 0, 2)],
    "nanmedian": [form(X), form(N, 1), form(N, -1, True), form(N, dim=0), form(T, 1), form(S), form(I, 0), form(I)],
    "quantile": [form(X, 0.3), form(N, 0.5, 1), form(N, 0.25, -1, True), form(N, 1.0, dim=0), form(X, 0.0),
                 form(N, 0.4, 1, interpolation="nearest"), form(N, 0.4, 0, interpolation="lower"),
                 form(N, 0.4, 0, interpolation="higher"), form(N, 0.7, 1, interpolation="midpoint"), form(I, 0.5),
                 form(X, 1.5), form(X, 0.5, keepdim=True), form(S, 0.2), form(X, 0.5, 1, interpolation="cubic")],
    "nanquantile": [form(X, 0.3), form(N, 0.5, 1), form(N, 0.25, -1, True), form(T, 0.6, 0, interpolation="nearest"),
                    form(X, 1.5), form(X, 0.5, keepdim=True)],
    "mode": [form(T), form(T, 0), form(T, 1, True), form(T, dim=0), form(I), form(S), form(N)],
    "renorm": [form(X, 2, 0, 1.0), form(N, 1, 1, 0.5), form(Q, 3, 2, 0.1), form(N, 2, 0, 100.0), form(I, 2, 0, 1.0),
               form(V, 2, 0, 1.0), form(N, float("inf"), 1, 0.5)],
    "histc": [form(X), form(N, 10), form(N, 5, -1.0, 1.0), form(T, 4, 0, 3), form(I), form(N, bins=3, min=0.5, max=0.5),
              form(S, 3)],
    "isin": [form(T, N), form(I, L), form(T, 1.0), form(1.0, T), form(T, T, invert=True), form(I, J), form(I, K),
             form(M, M)],
    **{name: [form(X), form(N, dim=0), form(N, V), form(X, V, dim=1), form(N, dx=0.5), form(X, Y), form(I),
              form(Q, V), form(Q, W, dim=0), form(X, W, dim=0), form(R, dim=2)]
       for name in ("trapezoid", "trapz", "cumulative_trapezoid")},
}

# names in both namespaces whose comparison is not a call with tensors (each with the reason)
SKIP = {
    "Tensor": "the class: its methods are walked below",
    "nn": "a package: its modules and functional are compared with PyTorch's in test_nn_*.py",
    "optim": "a package: the optimizers are compared with PyTorch's in test_optim.py",
    "linalg": "a module: its functions are compared with PyTorch's in test_vocab_ops.py",
    "no_grad": "checked by test_grad_mode_names_behave_as_torch",
    "enable_grad": "checked by test_grad_mode_names_behave_as_torch",
    "set_grad_enabled": "checked by test_grad_mode_names_behave_as_torch",
    "is_grad_enabled": "checked by test_grad_mode_names_behave_as_torch",
    "set_default_dtype": "checked by test_default_dtype_names_behave_as_torch",
    "get_default_dtype": "checked by test_default_dtype_names_behave_as_torch",
    "manual_seed": "the generator: its draws are compared value for value with PyTorch's in test_random.py",
    "default_generator": "the generator: see manual_seed",
    "Generator": "the generator: see manual_seed",
    "seed": "the generator: see manual_seed",
    "initial_seed": "the generator: see manual_seed",
    "get_rng_state": "the generator: see manual_seed",
    "set_rng_state": "the generator: see manual_seed",
    "random": "a module: the generator, see manual_seed",
    "save": "files: PyTorch pickles, autodiff writes a format that never executes code (test_serialization)",
    "load": "files: see save",
    "functional": "a module (autodiff.functional: vjp, jvp, ...; torch.functional is unrelated helpers)",
    "return_types": "a module: checked by test_return_types_name_the_same_results",
}
DTYPE_NAMES = {"float16", "float32", "float64", "int32", "int64", "bool", "half", "double", "long", "float", "int",
               "int8", "int16", "uint8", "short"}

METHOD_FORMS = {
    "mm": [form(X, Z), form(X, Y), form(V, Z)],
    "bmm": [form(Q, Q2), form(Q, Z)],
    "mv": [form(X, V), form(X, Z)],
    "addmm": [form(Y3, X, Z), form(Y3, X, Z, beta=0.5, alpha=2.0), form(Y3, X, Z, beta=0), form(X, X, Z)],
    "exp_": [form(C)],
    "polygamma": [form(X, 1), form(N, 0), form(X, 2), form(I, 1)],
    "is_nonzero": [form(S), form(X), form(J)],
    "aminmax": [form(X), form(N, dim=0), form(N, dim=-1, keepdim=True), form(S), form(T, dim=1)],
    "log_": [form(C)],
    "sqrt_": [form(C)],
    "abs_": [form(C)],
    "neg_": [form(C)],
    "square_": [form(C)],
    "sigmoid_": [form(C)],
    "tanh_": [form(C)],
    "relu_": [form(C)],
    "sin_": [form(C)],
    "cos_": [form(C)],
    "floor_": [form(C)],
    "ceil_": [form(C)],
    "uniform_": [form(C, -1.0, 1.0, random=True), form(C, random=True)],
    "random_": [form(C, random=True), form(C, 10, random=True), form(C, -3, 10, random=True), form(I, random=True),
                form(C, 5, 2, raises=True)],
    "exponential_": [form(C, random=True), form(C, 2.5, random=True), form(C, -1.0, raises=True)],
    "geometric_": [form(C, 0.3, random=True), form(C, 1.5, raises=True)],
    "cauchy_": [form(C, random=True), form(C, 1.0, 2.0, random=True)],
    "log_normal_": [form(C, random=True), form(C, 0.0, 0.5, random=True)],
    "bernoulli_": [form(C, random=True), form(C, 0.3, random=True), form(C, PR, random=True), form(C, 1.5, raises=True)],
    "bernoulli": [form(PR, random=True), form(PR, 0.3, random=True)],
    "multinomial": [form(PR, 2, random=True), form(PR, 5, True, random=True)],
    "normal_": [form(C, 0.0, 2.0, random=True), form(C, random=True)],
    "view_as": [form(X, Y), form(X, Z)],
    "type_as": [form(X, I), form(I, X), form(M, X)],
    "is_contiguous": [form(X)],
    "new_zeros": [form(X, 2, 3), form(X, (2,)), form(I, 3), form(X, 2, dtype=I32)],
    "new_ones": [form(X, 2, 3), form(X, (2,)), form(I, 3)],
    "new_full": [form(X, (2, 2), 7.0), form(I, (2,), 3)],
    "new_empty": [form(X, 2, 3, random=True), form(I, (3,), random=True)],
    "new_tensor": [form(X, [1.0, 2.0]), form(I, [1, 2])],
    "add": BINARY[:5] + [form(X, Y, alpha=2)], "sub": BINARY[:5] + [form(X, Y, alpha=2)],
    "mul": BINARY[:5], "div": BINARY[:5] + [form(I, 2)],
    "add_": [form(C, 2.0), form(C, V), form(C, Y, alpha=2), form(X, 1.0)],
    "sub_": [form(C, 2.0), form(C, V), form(C, Y, alpha=2), form(X, 1.0)],
    "mul_": [form(C, 2.0), form(C, V), form(X, 2.0)],
    "div_": [form(C, 2.0), form(C, Y)],
    "pow_": [form(C, 2), form(C, 3.0)],
    "clamp_": [form(C, -0.5, 0.5), form(C, min=0.0)],
    "clip_": [form(C, -0.5, 0.5), form(C, max=0.0)],
    "fill_": [form(C, 2.5), form(C, 3)],
    "zero_": [form(C)],
    "copy_": [form(C, Y), form(C, V), form(C, I)],
    "requires_grad_": [form(C), form(C, False)],
    "all": [form(M), form(M, 1), form(M, dim=0, keepdim=True), form(X), form(I, 0), form(M, dim=())],
    "any": [form(M), form(M, 1), form(M, dim=0, keepdim=True), form(X), form(I, 0), form(M, dim=())],
    "clamp": FUNCTION_FORMS["clamp"], "clip": FUNCTION_FORMS["clip"],
    "dot": [form(V, W), form(X, Y)],
    "matmul": [form(X, Z), form(X, V), form(Q, Z)],
    "maximum": [form(X, Y), form(N, V)], "minimum": [form(X, Y), form(N, V)],
    "permute": [form(Q, 2, 0, 1), form(Q, (2, 0, 1)), form(X, 1, 0), form(Q, 0, 1)],
    "pow": [form(X, 2), form(X, 0.5), form(X, Y), form(N, 3), form(I, 2), form(I, 2.0), form(I, -2.0), form(M, 2)],
    "repeat": [form(X, 2, 1), form(X, (2, 1)), form(X, 1, 2, 1), form(V, 3), form(X, 2), form(X, [2, 2])],
    "repeat_interleave": [form(X, 2), form(X, 2, dim=1), form(X, J, 0)],
    "reshape": [form(X, 2, 6), form(X, (2, 6)), form(X, -1), form(Q, 4, -1)],
    "view": [form(X, 2, 6), form(X, (2, 6)), form(X, -1)],
    "size": [form(X), form(X, 1), form(X, -1), form(X, dim=0)],
    "split": [form(X, 2), form(X, [1, 2]), form(X, 2, dim=1), form(X, 2, 1)],
    "squeeze": FUNCTION_FORMS["squeeze"], "unsqueeze": FUNCTION_FORMS["unsqueeze"],
    "swapaxes": FUNCTION_FORMS["swapaxes"], "swapdims": FUNCTION_FORMS["swapdims"],
    "transpose": [form(Q, 0, 2), form(X, 1, 0), form(Q, -1, 1)],
    "t": [form(X), form(V), form(S), form(Q)],
    "tile": [form(X, (2,)), form(X, (2, 1, 2))],
    "to": [form(X, F32), form(X, "cpu"), form(X, "cpu", F32), form(X, I), form(X, dtype=F32), form(X, device="cpu"),
           form(I, F64), form(X, "cuda")],
    "type": [form(X), form(X, F32), form(X, "torch.FloatTensor"), form(I)],
    "broadcast_to": FUNCTION_FORMS["broadcast_to"],
    "flatten": [form(Q), form(Q, 1), form(Q, 0, 1), form(Q, start_dim=1, end_dim=-1)],
    "item": [form(S), form(X)],
    "numpy": [form(C), form(X)],
    "tolist": [form(X), form(I)],
    "softmax": [form(N, 1), form(N, 0), form(N, dim=-1)],
    "log_softmax": [form(N, 1), form(N, dim=-1)],
    "logsumexp": [form(N, 1), form(N, -1, True), form(N, dim=(0, 1))],
    "sum": FUNCTION_FORMS["sum"], "mean": FUNCTION_FORMS["mean"], "prod": FUNCTION_FORMS["prod"],
    "amax": FUNCTION_FORMS["amax"], "amin": FUNCTION_FORMS["amin"], "max": FUNCTION_FORMS["max"],
    "min": FUNCTION_FORMS["min"], "var": FUNCTION_FORMS["var"], "std": FUNCTION_FORMS["std"],
    "argmax": FUNCTION_FORMS["argmax"], "argmin": FUNCTION_FORMS["argmin"],
    "cpu": [form(X)], "cuda": [form(X)], "contiguous": [form(X)], "clone": [form(X)], "detach": [form(X)],
    "detach_": [form(C)], "dim": [form(Q), form(S)], "numel": [form(Q)],
    # the vocabulary's methods that need more than a tensor and a dim
    "expand": [form(V, 3, 4), form(V, (3, 4)), form(V, 3, -1), form(S, 2, 2)],
    "index_add_": [form(C, 0, H0, Y2), form(C, 0, H0, Y2, alpha=2.0)],
    "masked_fill_": [form(C, M, 0.0)],
    "scatter_": [form(C, 1, G, Y3), form(C, 1, G, 2.0)], "scatter_add_": [form(C, 1, G, Y3)],
    "scatter_reduce_": [form(C, 1, G, Y3, "sum"), form(C, 1, G, Y3, "amax")],
    # properties, views and the in-place methods of the PyTorch-gaps sweep (tests/test_tensor_gaps.py)
    "H": [form(X), form(S), form(V), form(Q)], "mH": [form(X), form(Q), form(V), form(S)],
    "adjoint": [form(X), form(Q), form(V)], "itemsize": [form(X), form(I), form(M)], "nbytes": [form(Q), form(I)],
    "stride": [form(X), form(X, 1), form(X, -2), form(X, 2), form(Q, 0)],
    "nelement": [form(Q), form(S)], "ndimension": [form(Q), form(S)], "element_size": [form(X), form(I), form(M)],
    "is_floating_point": [form(X), form(I)], "is_complex": [form(X)], "storage_offset": [form(X), form(S)],
    "view": [form(X, 12), form(X, 2, -1), form(X, (4, 3)), form(X, -1, 5), form(X, 5), form(X, F64), form(C, I32),
             form(X, -1, -1)],
    "as_strided": [form(X, (2, 2), (1, 2)), form(X, (3, 3), (1, 1), 2), form(V, (2, 3), (0, 1)), form(X, (4, 4), (4, 1)),
                   form(X, (3,), (-1,)), form(X, (2, 2), (1,))],
    "unfold": [form(X, 1, 2, 1), form(X, 0, 2, 1), form(Q, -1, 3, 1), form(X, 1, 2, 2), form(X, 1, 5, 1)],
    "addcmul_": [form(C, Y, N), form(C, V, N, value=0.5), form(X, Y, N)],
    "addcdiv_": [form(C, Y, X, value=2.0), form(C, N, V)],
    "lerp_": [form(C, Y, 0.3), form(C, Y, X), form(C, V, 0.8)],
    "clamp_min_": [form(C, 0.0), form(C, Y), form(I, 2)], "clamp_max_": [form(C, 0.5), form(C, Y), form(I, 2)],
    "fill_diagonal_": [form(C, 2.0), form(C, 1.0, wrap=True), form(I, 7), form(I, 2.5), form(V, 1.0)],
    "index_fill_": [form(C, 1, H, 2.0), form(C, 0, H0, -1.0), form(I, 1, H, 3), form(C, 1, G, 1.0)],
    "index_copy_": [form(C, 0, H0, Y2), form(C, 1, H, G)],
    "put_": [form(C, G, Y3, accumulate=True), form(C, H, Y3)],
    "sign_": [form(C), form(I)], "trunc_": [form(C), form(I)], "frac_": [form(C), form(I)],
    "reciprocal_": [form(C), form(I)], "round_": [form(C), form(C, decimals=1), form(I)],
    "t_": [form(C), form(Q)], "transpose_": [form(C, 0, 1), form(Q, 0, 2)],
    "squeeze_": [form(C), form(C, 0)], "unsqueeze_": [form(C, 0), form(C, -1)],
}
for _name in ("bincount", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
              "bitwise_right_shift", "det", "inverse", "logdet", "slogdet", "flip", "gather", "take_along_dim",
              "index_add", "index_select", "lerp", "masked_fill", "masked_select", "movedim", "moveaxis", "narrow",
              "outer", "ger", "scatter", "scatter_add", "scatter_reduce", "unflatten", "unique", "addcmul", "addcdiv",
              "clamp_min", "clamp_max", "addmv", "addr", "baddbmm", "addbmm", "vdot", "matrix_power", "pinverse",
              "mvlgamma", "logit", "heaviside", "float_power", "ldexp", "nextafter", "cov", "corrcoef", "dist",
              "ravel", "select", "index_fill", "index_copy", "index_put", "masked_scatter", "select_scatter",
              "slice_scatter", "diagonal_scatter", "nanmedian", "quantile", "nanquantile", "mode", "renorm", "histc"):
    METHOD_FORMS.setdefault(_name, FUNCTION_FORMS[_name])
# attributes (read, not called)
ATTRIBUTES = {"T", "mT", "shape", "ndim", "dtype", "device", "is_leaf", "grad", "grad_fn", "requires_grad", "data",
              "is_cuda", "retains_grad", "H", "mH", "itemsize", "nbytes"}
# outputs whose requires_grad flag differs from PyTorch's while no gradient differs (the reason each)
NO_GRADIENT_OUTPUTS = {
    "bincount": "PyTorch marks the weighted counts as requiring grad, but its backward is not implemented "
                "(raises); autodiff's counts are off the graph",
    "slogdet": "the sign has no gradient: autodiff leaves it off the graph (PyTorch marks it requires_grad)",
}
SKIP_METHODS = {
    "backward": "the walk itself backpropagates every form (and test_engine covers backward's arguments)",
    "register_hook": "hooks: test_engine and test_backward_walk compare them with PyTorch",
    "retain_grad": "test_engine compares retain_grad with PyTorch",
    "data_ptr": "an address: each library's own memory (test_tensor_gaps checks it is numpy's and moves with views)",
}


# ---------------------------------------------------------------------------------------------
# running a form in a library

def build(lib, value, leaves):
    """A form's argument as ``lib``'s: placeholders become (fresh) tensors."""
    if isinstance(value, P):
        if value.name not in leaves:
            data = DATA[value.name]
            leaves[value.name] = lib.tensor(data.copy(), requires_grad=value.name not in NO_GRAD and
                                            data.dtype.kind == "f")
        return leaves[value.name]
    if isinstance(value, Lib):
        return getattr(lib, value.name)
    if isinstance(value, list):
        return [build(lib, v, leaves) for v in value]
    if isinstance(value, tuple) and any(isinstance(v, (P, Lib)) for v in value):
        return tuple(build(lib, v, leaves) for v in value)
    if isinstance(value, np.ndarray):
        return value.copy()
    return value


def call(lib, name, spec, method):
    leaves = {}
    args = [build(lib, a, leaves) for a in spec["args"]]
    kwargs = {k: build(lib, v, leaves) for k, v in spec["kwargs"].items()}
    if method:
        receiver, *args = args
        if name in ATTRIBUTES:
            return getattr(receiver, name), leaves
        return getattr(receiver, name)(*args, **kwargs), leaves
    return getattr(lib, name)(*args, **kwargs), leaves


def tensors_in(value):
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in tensors_in(v)]
    return [value] if isinstance(value, (ad.Tensor, torch.Tensor)) else []


def describe(value):
    """A result as plain data: tensors as (shape, dtype name, requires_grad, values)."""
    if isinstance(value, (tuple, list)):
        return [describe(v) for v in value]
    if isinstance(value, ad.Tensor):
        return ("tensor", tuple(value.shape), str(value.dtype), value.requires_grad, value.data)
    if isinstance(value, torch.Tensor):
        return ("tensor", tuple(value.shape), str(value.dtype).replace("torch.", ""), value.requires_grad,
                value.detach().numpy(force=True))   # (force: a ZeroTensor gradient)
    if isinstance(value, np.ndarray):       # autodiff's .data and .numpy(): the values
        return ("tensor", value.shape, str(value.dtype), False, value)
    if isinstance(value, (torch.dtype, np.dtype)):
        return ("dtype", str(value).replace("torch.", ""))
    if isinstance(value, torch.Size):
        return tuple(value)
    if isinstance(value, torch.device) or type(value).__name__ == "Device":
        return ("device", str(value))
    if isinstance(value, ad.Function) or type(value).__module__.startswith("torch"):
        return ("node",)            # a grad_fn: compared by being there
    return value


def assert_same(ours, theirs, where, random=False, loose=False):
    """``loose``: float32 arithmetic was involved (a gradient cast back to float64)."""
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), f"{where}: {ours!r:.200} != {theirs!r:.200}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same(a, b, f"{where}[{i}]", random, loose)
        return
    if isinstance(theirs, tuple) and theirs and theirs[0] == "tensor":
        assert isinstance(ours, tuple) and ours[:4] == theirs[:4], f"{where}: {ours[:4]} != {theirs[:4]}"
        if not random:
            tolerance = 1e-5 if loose or theirs[2] in ("float32", "float16") else 1e-12
            np.testing.assert_allclose(np.asarray(ours[4], np.float64), np.asarray(theirs[4], np.float64),
                                       rtol=tolerance, atol=tolerance, err_msg=where)
        return
    if isinstance(theirs, float):
        assert ours == pytest.approx(theirs, rel=1e-12, nan_ok=True), where
        return
    assert ours == theirs, f"{where}: {ours!r} != {theirs!r}"


def backprop(lib, result, leaves, weights_seed):
    """Backprop fixed weights through every float output that requires grad; the leaves' grads."""
    outputs = [t for t in tensors_in(result) if t.dtype in (lib.float32, lib.float64)]
    if not any(t.requires_grad for t in outputs):
        return None
    rng = np.random.default_rng(weights_seed)
    loss = None
    for out in outputs:     # a weight for every float output, so both libraries draw the same ones
        weights = lib.tensor(rng.standard_normal(tuple(out.shape)), dtype=out.dtype)
        if not out.requires_grad:
            continue
        term = (out * weights).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    # a leaf the backward did not reach: zeros (PyTorch leaves some such .grad None, some zero)
    return {name: lib.zeros_like(t) if t.grad is None else t.grad for name, t in sorted(leaves.items())
            if t.requires_grad and t.grad_fn is None}


def _without_flags(ours, theirs):
    """PyTorch's described outputs with autodiff's requires_grad flags (see NO_GRADIENT_OUTPUTS)."""
    if isinstance(theirs, list):
        return [_without_flags(a, b) for a, b in zip(ours, theirs)]
    if isinstance(theirs, tuple) and theirs and theirs[0] == "tensor" and isinstance(ours, tuple):
        return theirs[:3] + ours[3:4] + theirs[4:]
    return theirs


def compare_form(name, spec, method):
    where = f"{'Tensor.' if method else 'ad.'}{name}{tuple(spec['args'])}{spec['kwargs'] or ''}"
    try:
        theirs, their_leaves = call(torch, name, spec, method)
    except Exception as torch_error:      # PyTorch refuses: autodiff must refuse too
        with pytest.raises(Exception):
            call(ad, name, spec, method)
        return f"both raise ({type(torch_error).__name__})"
    if spec["raises"]:
        with pytest.raises((TypeError, ValueError, RuntimeError, NotImplementedError)):
            call(ad, name, spec, method)
        return "autodiff refuses (unsupported)"
    ours, our_leaves = call(ad, name, spec, method)
    described = describe(theirs)
    if name in NO_GRADIENT_OUTPUTS:
        described = _without_flags(describe(ours), described)
    assert_same(describe(ours), described, where, spec["random"])
    if method and name.endswith("_") and spec["args"] and isinstance(spec["args"][0], P):
        receiver = spec["args"][0].name     # an in-place method: the receiver changed alike
        assert_same(describe(our_leaves[receiver]), describe(their_leaves[receiver]), where + " (changed)",
                    spec["random"])
    if spec["random"]:
        return "ran"
    try:
        their_grads = backprop(torch, theirs, their_leaves, 1)
    except RuntimeError:        # PyTorch's backward refuses (floor_divide): so must ours
        if name in NO_GRADIENT_OUTPUTS:
            assert backprop(ad, ours, our_leaves, 1) is None, where
            return "no gradient"
        with pytest.raises((RuntimeError, TypeError, NotImplementedError)):
            backprop(ad, ours, our_leaves, 1)
        return "both refuse the backward"
    our_grads = backprop(ad, ours, our_leaves, 1)
    assert (our_grads is None) == (their_grads is None), where
    if their_grads:
        loose = any(str(t.dtype) in ("torch.float32", "torch.float16") for t in tensors_in(theirs))
        assert_same(describe(list(our_grads.values())), describe(list(their_grads.values())), where + " grads",
                    loose=loose)
    return "same"


# ---------------------------------------------------------------------------------------------
# the walk

def _default_forms(name, method):
    """Forms for a name without an entry: the ones PyTorch accepts among the usual shapes of call."""
    candidates = [form(X), form(N), form(I), form(X, Y), form(I, L), form(X, 1), form(N, 0)] if not method else \
        [form(X), form(N), form(I), form(X, Y), form(I, L), form(X, 1)]
    accepted = []
    for spec in candidates:
        try:
            call(torch, name, spec, method)
        except Exception:
            continue
        accepted.append(spec)
    return accepted


FUNCTION_NAMES = sorted(n for n in ad.__all__ if hasattr(torch, n) and n not in SKIP and n not in DTYPE_NAMES)
METHOD_NAMES = sorted(n for n in dir(ad.Tensor) if not n.startswith("_") and hasattr(torch.Tensor, n)
                      and n not in SKIP_METHODS)


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_function_matches_torch(name):
    forms = FUNCTION_FORMS.get(name) or _default_forms(name, method=False)
    assert forms, f"ad.{name}: no default form works in PyTorch; list its documented forms in FUNCTION_FORMS"
    for spec in forms:
        compare_form(name, spec, method=False)


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_tensor_method_matches_torch(name):
    if name in ATTRIBUTES:
        forms = [form(X), form(Q), form(S), form(I)]
    else:
        forms = METHOD_FORMS.get(name) or _default_forms(name, method=True)
    assert forms, f"Tensor.{name}: no default form works in PyTorch; list its documented forms in METHOD_FORMS"
    for spec in forms:
        compare_form(name, spec, method=True)


def _axis_form(name, spec, method):
    """The form with its dim passed as ``axis=`` (PyTorch's alias of ``dim``): a ``dim=`` keyword,
    or a dim given last by position where autodiff's signature names that parameter ``dim``;
    None when the form passes no dim."""
    kwargs = dict(spec["kwargs"])
    if "dim" in kwargs:
        kwargs["axis"] = kwargs.pop("dim")
        return dict(spec, kwargs=kwargs)
    try:
        parameters = list(inspect.signature(getattr(ad.Tensor if method else ad, name)).parameters)
    except (TypeError, ValueError):
        return None
    if "dim" not in parameters or len(spec["args"]) != parameters.index("dim") + 1:
        return None
    return dict(spec, args=spec["args"][:-1], kwargs=dict(kwargs, axis=spec["args"][-1]))


@pytest.mark.parametrize("method", [False, True], ids=["function", "method"])
def test_axis_is_an_alias_of_dim_wherever_pytorch_takes_it(method):
    """Every form of the walk that passes a dim, run again with ``axis=`` in both libraries: the
    same result where PyTorch takes it, an error where PyTorch raises."""
    names = METHOD_NAMES if method else FUNCTION_NAMES
    tables = METHOD_FORMS if method else FUNCTION_FORMS
    checked = {}
    for name in names:
        if method and name in ATTRIBUTES:
            continue
        for spec in tables.get(name) or _default_forms(name, method):
            variant = _axis_form(name, spec, method)
            if variant is not None:
                checked[name] = compare_form(name, variant, method)
    # the scans and sorts of the vocabulary are among them (they once refused axis=)
    assert {"cumsum", "sort", "median", "unbind", "gather", "sum", "softmax"} <= set(checked), sorted(checked)


def test_axis_where_dim_is_not_the_last_argument_and_both_at_once():
    x = RNG.standard_normal((3, 4))
    index = np.array([[0, 2], [1, 1], [3, 0]])
    calls = [lambda lib, t: t.topk(2, axis=0), lambda lib, t: t.kthvalue(2, axis=0, keepdim=True),
             lambda lib, t: t.repeat_interleave(2, axis=1), lambda lib, t: t.scatter_add(axis=1, index=lib.tensor(index), src=t),
             lambda lib, t: t.narrow(axis=1, start=1, length=2), lambda lib, t: lib.linalg.vector_norm(t, axis=0),
             lambda lib, t: t.index_select(axis=1, index=lib.tensor([3, 0])), lambda lib, t: t.size(axis=1)]
    for i, run in enumerate(calls):
        ours, theirs = run(ad, ad.tensor(x, requires_grad=True)), run(torch, torch.tensor(x, requires_grad=True))
        assert_same(describe(ours), describe(theirs), f"call {i}")
    for run in (lambda lib, t: t.cumsum(0, axis=1), lambda lib, t: t.sort(dim=0, axis=1),
                lambda lib, t: lib.gather(t, 1, lib.tensor(index), axis=1), lambda lib, t: t.size(0, axis=1)):
        for lib in (torch, ad):
            with pytest.raises(TypeError):
                run(lib, lib.tensor(x))


def test_operators_match_torch():
    operators = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
                 "**": lambda a, b: a ** b, "@": lambda a, b: a @ b, "==": lambda a, b: a == b,
                 "<": lambda a, b: a < b, ">=": lambda a, b: a >= b, "&": lambda a, b: a & b}
    pairs = [(X, Y), (X, 2.0), (2.0, X), (I, 2), (I, 1.5), (I, 2.0), (M, 2), (X, I), (S, X), (N, V), (M, M), (X, Z)]
    for symbol, op in operators.items():
        for a, b in pairs:
            spec = form(a, b)

            def run(lib, op=op, spec=spec):
                leaves = {}
                return op(build(lib, spec["args"][0], leaves), build(lib, spec["args"][1], leaves)), leaves
            try:
                theirs, their_leaves = run(torch)
            except Exception:
                with pytest.raises(Exception):
                    run(ad)
                continue
            ours, our_leaves = run(ad)
            assert_same(describe(ours), describe(theirs), f"{a} {symbol} {b}")
            their_grads, our_grads = backprop(torch, theirs, their_leaves, 2), backprop(ad, ours, our_leaves, 2)
            if their_grads:
                assert_same(describe(list(our_grads.values())), describe(list(their_grads.values())),
                            f"{a} {symbol} {b} grads")
    for unary in (lambda t: -t, lambda t: abs(t), lambda t: +t):
        for a in (X, N, I):
            theirs, ours = unary(build(torch, a, {})), unary(build(ad, a, {}))
            assert_same(describe(ours), describe(theirs), f"unary on {a}")


def test_dtype_names_are_torchs():
    for name in sorted(DTYPE_NAMES):
        assert str(getattr(ad, name)) == str(getattr(torch, name)).replace("torch.", ""), name
        assert ad.zeros(2, dtype=getattr(ad, name)).dtype == getattr(ad, name)


def test_grad_mode_names_behave_as_torch():
    for lib in (ad, torch):
        x = lib.tensor([1.0], requires_grad=True)
        with lib.no_grad():
            assert not lib.is_grad_enabled() and not (x * 2).requires_grad
            with lib.enable_grad():
                assert lib.is_grad_enabled() and (x * 2).requires_grad
        with lib.set_grad_enabled(False):
            assert not (x * 2).requires_grad
        assert lib.is_grad_enabled()

        @lib.no_grad()
        def decorated(t):
            return t * 2
        assert not decorated(x).requires_grad


def test_default_dtype_names_behave_as_torch():
    for lib in (ad, torch):
        assert str(lib.get_default_dtype()).replace("torch.", "") == "float32"
        lib.set_default_dtype(lib.float64)
        try:
            assert lib.tensor([1.0]).dtype == lib.float64 and (lib.tensor([1, 2]) / 2).dtype == lib.float64
        finally:
            lib.set_default_dtype(lib.float32)


def test_return_types_name_the_same_results():
    for name in ("max", "min"):
        ours, theirs = getattr(ad.return_types, name), getattr(torch.return_types, name)
        assert ours.__name__ == theirs.__name__
        assert getattr(ad.tensor([[1.0, 2.0]]), name)(1).values.shape == (1,)


def test_every_public_name_is_walked_or_skipped_with_a_reason():
    # the walk's coverage: each shared name is run with forms, or named in SKIP with its reason
    shared = {n for n in ad.__all__ if hasattr(torch, n)}
    assert shared <= set(FUNCTION_NAMES) | set(SKIP) | DTYPE_NAMES
    assert all(reason for reason in list(SKIP.values()) + list(SKIP_METHODS.values()))
    assert set(ad.__all__) <= set(dir(ad)), "every name of ad.__all__ exists"
    assert len(METHOD_NAMES) > 80
    assert not [n for n in FUNCTION_FORMS if n not in FUNCTION_NAMES], "a form table entry for a missing name"
    assert not [n for n in METHOD_FORMS if n not in METHOD_NAMES], "a form table entry for a missing method"

