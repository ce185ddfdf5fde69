"""PyTorch gaps that users hit: ``.data`` assignment, ``view``'s refusals, bool dtypes, the
memory queries, the in-place methods that change shape or fill slices, ``unfold``, and the
matrix functions; each against PyTorch (where installed) and gradients by ad.gradcheck."""
import numpy as np
import pytest

import autodiff as ad
import nn
import optim

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(5)


def both(array, requires_grad=False):
    return (ad.tensor(array.copy(), requires_grad=requires_grad),
            torch.tensor(array.copy(), requires_grad=requires_grad))


def same(ours, theirs, rtol=1e-12):
    theirs = theirs.detach().numpy()
    assert ours.shape == theirs.shape and str(ours.dtype) == str(theirs.dtype)
    np.testing.assert_allclose(ours.data if isinstance(ours, ad.Tensor) else ours, theirs, rtol=rtol, atol=rtol)


# ---- p.data = ... ----------------------------------------------------------------------------

def test_assigning_a_tensor_to_data_stores_its_array_shared():
    p = ad.tensor([1.0, 2.0], requires_grad=True)
    source = ad.tensor([[3.0, 4.0, 5.0]], dtype=ad.float64)
    p.data = source
    assert type(p.data) is np.ndarray and p.data is source.data
    assert p.shape == (1, 3) and p.dtype == np.float64 and p.requires_grad and p.is_leaf
    source.data[0, 0] = 9.0         # shared, as PyTorch's
    assert p.data[0, 0] == 9.0


def test_assigning_data_of_another_shape_and_dtype_matches_torch():
    ours = ad.tensor(np.ones(3, np.float32), requires_grad=True)
    theirs = torch.ones(3, requires_grad=True)
    ours.data = np.zeros((2, 2))
    theirs.data = torch.zeros(2, 2, dtype=torch.float64)
    assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    (ours * 2).sum().backward()
    (theirs * 2).sum().backward()
    same(ours.grad, theirs.grad)


def test_assigning_data_refuses_what_torch_refuses():
    p = ad.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="tensor or an ndarray"):
        p.data = [1.0]
    with pytest.raises(TypeError, match="tensor or an ndarray"):
        p.data = 1.0
    with pytest.raises(RuntimeError, match="floating point"):
        p.data = ad.tensor([1, 2])
    assert p.data.tolist() == [1.0]         # a refused assignment changes nothing
    with pytest.raises(RuntimeError):
        torch.ones(1, requires_grad=True).data = torch.tensor([1, 2])
    q = ad.tensor([1, 2])
    q.data = np.float64(2.5) * np.ones(())     # a numpy scalar becomes a 0-d array
    assert isinstance(q.data, np.ndarray) and q.data.shape == ()


def test_optimizers_keep_working_after_data_is_replaced():
    for make_ours, make_theirs in [(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                                    lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9)),
                                   (lambda ps: optim.Adam(ps, lr=0.1), lambda ps: torch.optim.Adam(ps, lr=0.1))]:
        ours, theirs = nn.Parameter(np.ones(3)), torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
        opt_ours, opt_theirs = make_ours([ours]), make_theirs([theirs])
        for step in range(3):
            for p, opt in ((ours, opt_ours), (theirs, opt_theirs)):
                opt.zero_grad()
                (p * p * p).sum().backward()
                opt.step()
            if step == 0:
                ours.data = ad.tensor(np.array([0.5, -1.0, 2.0]))
                theirs.data = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
        assert type(ours.data) is np.ndarray
        same(ours, theirs)


# ---- view --------------------------------------------------------------------------------------

def test_view_refuses_where_torch_needs_a_copy_and_shares_memory_where_it_works():
    array = RNG.standard_normal((2, 3, 4))
    for make in (lambda t: t, lambda t: t.transpose(0, 1), lambda t: t[:, 1:], lambda t: t.permute(2, 0, 1),
                 lambda t: t[:, :, ::2]):
        ours, theirs = make(ad.tensor(array)), make(torch.tensor(array))
        for shape in [(-1,), (6, 4), (2, 12), (3, 2, 4), (2, 3, 2, 2), (4, -1), (24, 1), (1, -1, 1)]:
            try:
                expected = theirs.view(*shape)
            except RuntimeError as error:
                with pytest.raises(RuntimeError, match="reshape") if "stride" in str(error) else \
                        pytest.raises(RuntimeError):
                    ours.view(*shape)
                continue
            got = ours.view(*shape)
            same(got, expected)
            assert np.shares_memory(got.data, ours.data)
            before = got._version
            ours.add_(1.0)          # a view counts its base's in-place changes
            theirs.add_(1.0)
            assert got._version == before + 1
            same(got, theirs.view(*shape))
    with pytest.raises(RuntimeError, match="Use .reshape"):
        ad.tensor(np.ones((2, 3))).t().view(-1)


def test_view_gradient_and_dtype_views():
    x = ad.tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    assert ad.gradcheck(lambda t: t.view(2, 6) * t.view(2, 6), (x,))
    ours, theirs = both(np.arange(6.0).reshape(2, 3))
    for dtype in ("int64", "int32", "float32", "int16", "uint8"):
        try:
            expected = theirs.view(getattr(torch, dtype))
        except RuntimeError:
            with pytest.raises(RuntimeError):
                ours.view(getattr(ad, dtype) if hasattr(ad, dtype) else dtype)
            continue
        got = ours.view(np.dtype(dtype))
        same(got, expected)
        assert np.shares_memory(got.data, ours.data) and not got.requires_grad
    with pytest.raises(RuntimeError):
        torch.ones((3, 2)).t().view(torch.int16)
    with pytest.raises(RuntimeError):
        ad.tensor(np.ones((3, 2), np.float32)).t().view(np.int16)


# ---- bool and integer dtypes of the elementwise ops -------------------------------------------

@pytest.mark.parametrize("dtype", ["bool", "int64", "int32", "uint8"])
@pytest.mark.parametrize("name", ["square", "abs", "neg", "sign", "sgn", "floor", "ceil", "trunc", "frac", "round",
                                  "reciprocal", "sqrt", "exp", "sigmoid"])
def test_elementwise_dtypes_of_bool_and_integer_tensors_match_torch(name, dtype):
    values = np.array([1, 0, 1, 1]) if dtype == "bool" else np.array([3, 0, 2, 7])
    ours, theirs = both(values.astype(dtype))
    try:
        expected = getattr(theirs, name)()
    except (RuntimeError, NotImplementedError):
        with pytest.raises((RuntimeError, NotImplementedError, TypeError)):
            getattr(ours, name)()
        return
    with np.errstate(divide="ignore"):
        same(getattr(ours, name)(), expected, rtol=1e-6)


def test_bool_square_and_pow_are_int64():
    mask = ad.tensor([True, False])
    assert mask.square().dtype == np.int64 and ad.square(mask).tolist() == [1, 0]
    assert str((mask ** 2).dtype) == str(torch.tensor([True, False]).pow(2).dtype).replace("torch.", "")


# ---- memory queries ----------------------------------------------------------------------------

def test_strides_offsets_and_sizes_match_torch():
    array = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    for make in (lambda t: t, lambda t: t.transpose(0, 2), lambda t: t[1:, :, 2:], lambda t: t[:, 1],
                 lambda t: t.expand(5, 2, 3, 4), lambda t: t.permute(1, 2, 0)[1:], lambda t: t[..., ::2]):
        ours, theirs = make(ad.tensor(array)), make(torch.tensor(array))
        assert ours.stride() == theirs.stride()
        assert [ours.stride(d) for d in range(-ours.ndim, ours.ndim)] == \
            [theirs.stride(d) for d in range(-theirs.ndim, theirs.ndim)]
        assert ours.storage_offset() == theirs.storage_offset()
        assert (ours.nelement(), ours.ndimension(), ours.element_size(), ours.itemsize, ours.nbytes) == \
            (theirs.nelement(), theirs.ndimension(), theirs.element_size(), theirs.itemsize, theirs.nbytes)
        assert ours.is_contiguous() == theirs.is_contiguous()
    with pytest.raises(IndexError):
        ad.tensor(array).stride(3)
    base = ad.tensor(array)
    assert base[0, 1].data_ptr() - base.data_ptr() == 4 * base.element_size()
    assert base.data_ptr() == base.data.ctypes.data
    assert base.is_floating_point() and not ad.tensor([1]).is_floating_point() and not base.is_complex()


def test_conjugate_transposes_are_transposes_for_real_tensors():
    x = ad.tensor(RNG.standard_normal((2, 3, 4)), requires_grad=True)
    assert ad.gradcheck(lambda t: t.mH * 2 + t.adjoint(), (x,))
    assert ad.gradcheck(lambda t: t[0].H, (x,))
    with pytest.raises(RuntimeError, match="mH"):
        x.H


# ---- in-place methods ----------------------------------------------------------------------------

INPLACE = [
    ("sign_", (), {}), ("trunc_", (), {}), ("frac_", (), {}), ("reciprocal_", (), {}), ("round_", (), {}),
    ("round_", (), {"decimals": 2}), ("clamp_min_", (0.1,), {}), ("clamp_max_", (-0.2,), {}),
    ("lerp_", ("OTHER", 0.3), {}), ("lerp_", ("OTHER", "OTHER"), {}), ("addcmul_", ("OTHER", "OTHER"), {"value": 0.5}),
    ("addcdiv_", ("OTHER", "POSITIVE"), {"value": 2.0}), ("fill_diagonal_", (1.5,), {}),
    ("fill_diagonal_", (-2.0,), {"wrap": True}), ("index_fill_", (0, "INDEX", -1.0), {}),
    ("index_copy_", (0, "INDEX", "ROWS"), {}), ("put_", ("FLAT", "THREE"), {}),
    ("put_", ("FLAT", "THREE"), {"accumulate": True}),
    ("t_", (), {}), ("transpose_", (0, 1), {}), ("squeeze_", (), {}), ("unsqueeze_", (1,), {}),
]


def _arguments(lib, args, kwargs, leaves):
    values = {"OTHER": RNG.standard_normal((7, 3)), "POSITIVE": RNG.uniform(0.5, 2.0, (7, 3)),
              "INDEX": np.array([4, 0]), "ROWS": RNG.standard_normal((2, 3)), "FLAT": np.array([19, 3, -1]),
              "THREE": RNG.standard_normal(3)}
    out = []
    for a in args:
        if isinstance(a, str):
            float_value = values[a].dtype.kind == "f"
            if a not in leaves:
                leaves[a] = values[a]
            out.append(lib.tensor(leaves[a].copy(), requires_grad=float_value))
        else:
            out.append(a)
    return out, kwargs


@pytest.mark.parametrize("name, args, kwargs", INPLACE, ids=[f"{n}{i}" for i, (n, _, _) in enumerate(INPLACE)])
def test_inplace_methods_match_torch_values_graph_and_versions(name, args, kwargs):
    base = RNG.standard_normal((7, 3)) * 3
    leaves = {}
    results = {}
    for lib in (ad, torch):
        x = lib.tensor(base.copy(), requires_grad=True)
        operands, options = _arguments(lib, args, kwargs, leaves)
        with pytest.raises(RuntimeError, match="leaf"):     # a leaf that requires grad refuses
            getattr(x, name)(*operands, **options)
        y = x * 1.5                   # a non-leaf: the in-place op joins the graph
        version = y._version
        out = getattr(y, name)(*operands, **options)
        assert out is y and y._version > version
        weights = lib.tensor(np.linspace(-1, 1, y.numel()).reshape(tuple(y.shape)))
        (y * weights).sum().backward()
        results[lib] = (y, x.grad, [t.grad for t in operands if isinstance(t, (ad.Tensor, torch.Tensor))])
        with lib.no_grad():         # and off the graph it writes straight through
            z = lib.tensor(base.copy())
            getattr(z, name)(*[o.detach() if hasattr(o, "detach") else o for o in operands], **options)
            results[lib, "no_grad"] = z
    (y_ours, gx_ours, g_ours), (y_theirs, gx_theirs, g_theirs) = results[ad], results[torch]
    same(y_ours, y_theirs)
    same(results[ad, "no_grad"], results[torch, "no_grad"])
    same(gx_ours, gx_theirs)
    for a, b in zip(g_ours, g_theirs):
        assert (a is None) == (b is None)
        if a is not None:
            same(a, b)


def test_inplace_errors_match_torch():
    for lib in (ad, torch):
        with pytest.raises(IndexError):
            lib.zeros(3, 4).index_fill_(1, lib.tensor([4]), 1.0)
        with pytest.raises(IndexError):
            lib.zeros(3, 4).index_copy_(1, lib.tensor([-1]), lib.ones(3, 1))
        with pytest.raises(IndexError):
            lib.zeros(3, 4).put_(lib.tensor([12]), lib.tensor([1.0]))
        with pytest.raises(RuntimeError):
            lib.zeros(2, 2, 3).fill_diagonal_(1.0)
        with pytest.raises(RuntimeError):
            lib.zeros(3, 4).index_copy_(0, lib.tensor([0]), lib.ones(1, 4, dtype=lib.int64))
        with pytest.raises((RuntimeError, TypeError)):
            lib.tensor([1, 2]).reciprocal_()
    ours, theirs = both(np.zeros((2, 3), np.int64))
    same(ours.index_fill_(1, ad.tensor([0, -1]), 2.5), theirs.index_fill_(1, torch.tensor([0, -1]), 2.5))
    same(ours.fill_diagonal_(7.9), theirs.fill_diagonal_(7.9))


def test_shape_changing_inplace_keeps_gradients_and_views_apart():
    x = ad.tensor(RNG.standard_normal((2, 3)), requires_grad=True)
    assert ad.gradcheck(lambda t: (t * 1).t_().unsqueeze_(0).transpose_(0, 2).squeeze_(1) * 2, (x,))
    ours, theirs = both(np.arange(6.0).reshape(2, 3))
    alias_ours, alias_theirs = ours.view(6), theirs.view(6)
    ours.t_()
    theirs.t_()
    same(ours, theirs)
    same(alias_ours, alias_theirs)          # the other tensor keeps its shape
    ours[0, 1] = 50.0                        # and still shares the memory
    theirs[0, 1] = 50.0
    same(alias_ours, alias_theirs)


# ---- unfold -----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, dim, size, step", [((7,), 0, 3, 2), ((2, 5, 3), 1, 2, 1), ((3, 4), -1, 4, 3),
                                                    ((3, 4), 0, 1, 1), ((), 0, 1, 1), ((2, 6), 1, 3, 3)])
def test_unfold_matches_torch_with_gradients(shape, dim, size, step):
    array = RNG.standard_normal(shape)
    ours, theirs = both(array, requires_grad=True)
    out_ours, out_theirs = ours.unfold(dim, size, step), theirs.unfold(dim, size, step)
    same(out_ours, out_theirs)
    weights = RNG.standard_normal(tuple(out_theirs.shape))
    (out_ours * ad.tensor(weights)).sum().backward()
    (out_theirs * torch.tensor(weights)).sum().backward()
    same(ours.grad, theirs.grad)
    assert ad.gradcheck(lambda t: t.unfold(dim, size, step), (ad.tensor(array, requires_grad=True),))


def test_unfold_errors():
    for lib in (ad, torch):
        with pytest.raises(RuntimeError):
            lib.zeros(7).unfold(0, 8, 1)
        with pytest.raises(RuntimeError):
            lib.zeros(7).unfold(0, 2, 0)
        with pytest.raises(IndexError):
            lib.zeros(7).unfold(1, 2, 1)


# ---- matrix functions and decompositions (values and gradients: test_vocab_ops's cases) --------

def test_pinv_tolerances_match_torch():
    u, _ = np.linalg.qr(RNG.standard_normal((5, 5)))
    v, _ = np.linalg.qr(RNG.standard_normal((4, 4)))
    A = u[:, :4] @ np.diag([3.0, 1.0, 1e-3, 1e-7]) @ v.T      # singular values spread out
    for options in [{}, {"rtol": 1e-2}, {"atol": 0.5}, {"atol": 1e-6, "rtol": 1e-4}, {"hermitian": False}]:
        same(ad.linalg.pinv(ad.tensor(A), **options), torch.linalg.pinv(torch.tensor(A), **options), rtol=1e-6)
    same(ad.pinverse(ad.tensor(A)), torch.pinverse(torch.tensor(A)), rtol=1e-6)
    same(ad.pinverse(ad.tensor(A), 1e-2), torch.pinverse(torch.tensor(A), 1e-2), rtol=1e-7)


def test_matrix_functions_refuse_what_torch_refuses():
    for lib in (ad, torch):
        with pytest.raises(RuntimeError):
            lib.linalg.multi_dot([lib.ones(2, 2)])
        with pytest.raises(RuntimeError):
            lib.linalg.multi_dot([lib.ones(2, 3), lib.ones(2, 3)])
        with pytest.raises(RuntimeError):
            lib.linalg.matrix_power(lib.ones(2, 2, dtype=lib.int64), -1)
        with pytest.raises(RuntimeError):
            lib.vdot(lib.ones(3), lib.ones(3, dtype=lib.float64))
        with pytest.raises(RuntimeError):
            lib.addr(lib.ones(2, 3, dtype=lib.int64), lib.tensor([1, 2]), lib.tensor([1, 2, 3]), alpha=2.5)
        with pytest.raises(Exception):
            lib.linalg.cholesky(lib.tensor([[1.0, 2.0], [2.0, 1.0]]))
    same(ad.matrix_power(ad.tensor([[1, 1], [1, 0]]), 10), torch.matrix_power(torch.tensor([[1, 1], [1, 0]]), 10))
    same(ad.addr(ad.ones(2, 3, dtype=ad.int64), ad.tensor([1, 2]), ad.tensor([1, 2, 3]), alpha=2),
         torch.addr(torch.ones(2, 3, dtype=torch.int64), torch.tensor([1, 2]), torch.tensor([1, 2, 3]), alpha=2))


def test_decompositions_refuse_the_gradients_torch_refuses_and_second_order():
    A = ad.tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    Q, R = ad.linalg.qr(A, mode="r")
    assert Q.shape == (0,) and R.shape == (3, 3)
    with pytest.raises(RuntimeError, match="mode='r'"):
        R.sum().backward()
    with pytest.raises(RuntimeError, match="complete"):
        ad.linalg.qr(A, mode="complete").Q.sum().backward()
    for decompose in (lambda t: ad.linalg.qr(t).R, lambda t: ad.linalg.svd(t, full_matrices=False).S,
                      lambda t: ad.linalg.eigh(t[:3] + t[:3].mT).eigenvalues):
        (grad,) = ad.grad(decompose(A).sum(), A, create_graph=False)
        assert grad.shape == A.shape
        with pytest.raises(NotImplementedError, match="second-order"):
            ad.grad(decompose(A).sum(), A, create_graph=True)
    names = ad.linalg.svd(ad.tensor(np.eye(2)))
    assert type(names).__name__ == type(torch.linalg.svd(torch.eye(2))).__name__ and names.S.shape == (2,)
    assert ad.linalg.eigh(ad.tensor(np.eye(2))).eigenvalues.shape == (2,)


# ---- as_strided ---------------------------------------------------------------------------------

@pytest.mark.parametrize("make, size, stride, offset", [
    (lambda t: t, (3, 2), (1, 2), None), (lambda t: t[1:], (2, 2), (1, 1), None),
    (lambda t: t.reshape(3, 4).t(), (2, 3), (3, 1), 2), (lambda t: t.expand(2, 12), (3, 2), (1, 2), None),
    (lambda t: t * 2, (4,), (3,), None), (lambda t: t.reshape(3, 4)[:, 1:], (2, 2), (4, 1), None),
    (lambda t: t, (2, 0), (1, 1), 12)])
def test_as_strided_matches_torch_with_gradients(make, size, stride, offset):
    base = RNG.standard_normal(12)
    ours, theirs = both(base, requires_grad=True)
    out_ours, out_theirs = make(ours).as_strided(size, stride, offset), make(theirs).as_strided(size, stride, offset)
    same(out_ours, out_theirs)
    weights = RNG.standard_normal(size)
    (out_ours * ad.tensor(weights)).sum().backward()
    (out_theirs * torch.tensor(weights)).sum().backward()
    same(ours.grad, theirs.grad)
    assert ad.gradcheck(lambda t: make(t).as_strided(size, stride, offset), (ad.tensor(base, requires_grad=True),))


def test_as_strided_is_a_view_and_refuses_what_torch_refuses():
    values = ad.arange(6.0)
    window = values.as_strided((2, 2), (1, 1))
    values.add_(1.0)
    assert np.shares_memory(window.data, values.data) and window._version == values._version
    assert window.tolist() == [[1.0, 2.0], [2.0, 3.0]]
    for lib in (ad, torch):
        for size, stride in [((3, 3), (2, 1)), ((3,), (-1,)), ((3,), (1, 1))]:
            with pytest.raises(RuntimeError):
                lib.arange(6.0).as_strided(size, stride)


def test_review_a_view_of_a_leaf_that_requires_grad_is_not_changed_in_place():
    # (found by the review against torch 2.13: the write went through to the leaf's data, silently)
    torch = pytest.importorskip("torch")
    changes = [lambda x: x[0:1].mul_(3), lambda x: x.t().sign_(), lambda x: x.view(4).fill_(0),
               lambda x: x[0].__setitem__(0, 5.0), lambda x: x[0:1].clamp_min_(2.0), lambda x: x[0:1].t_(),
               lambda x: x.as_strided((2,), (1,)).zero_()]
    for change in changes:
        for lib in (ad, torch):
            x = lib.ones((2, 2), requires_grad=True)
            with pytest.raises(RuntimeError, match="view of a leaf"):
                change(x)
            assert x.detach().numpy().tolist() == [[1.0, 1.0], [1.0, 1.0]]
    for lib in (ad, torch):
        x = lib.ones((2, 2), requires_grad=True)
        with lib.no_grad():
            x[0:1].mul_(3)                  # allowed: outside grad mode
        x.detach()[1:].mul_(2)              # allowed: a view off the graph
        y = x * 1
        y[0:1].mul_(2)                      # allowed: a view of a non-leaf
        assert x.detach().numpy().tolist() == [[3.0, 3.0], [2.0, 2.0]]
