"""The small errors a new user met: random tensors of an integer dtype, and a spent
model.parameters() generator given to a second optimizer."""
import numpy as np
import pytest

import autodiff as ad
import nn
import optim


@pytest.mark.parametrize("op", [ad.randn, ad.rand])
@pytest.mark.parametrize("dtype", ["int64", ad.int32, np.int64, ad.bool])
def test_random_tensors_of_an_integer_dtype_say_why_and_what_works(op, dtype):
    name = op.__name__
    with pytest.raises(TypeError, match=rf"{name}: random samples are floating point, so dtype="
                                        rf"{np.dtype(dtype)} cannot hold them.*ad.float32"):
        op(3, dtype=dtype)


@pytest.mark.parametrize("op", [ad.randn_like, ad.rand_like])
def test_random_like_an_integer_tensor_says_so(op):
    with pytest.raises(TypeError, match="random samples are floating point"):
        op(ad.tensor([1, 2, 3]))
    assert op(ad.tensor([1, 2, 3]), dtype=ad.float64).dtype == np.float64


def test_random_tensors_with_a_dtype_that_is_not_one():
    with pytest.raises(TypeError, match=r"randn: dtype='floot32' is not a dtype"):
        ad.randn(3, dtype="floot32")


def test_random_tensors_in_every_float_dtype():
    ad.manual_seed(0)
    for dtype in (ad.float16, ad.float32, ad.float64, "float16", np.float32):
        for op in (ad.randn, ad.rand):
            sample = op(2000, dtype=dtype)
            assert sample.dtype == np.dtype(dtype) and sample.shape == (2000,)
    samples = ad.randn(20000, dtype=ad.float16).data.astype(np.float64)
    assert abs(samples.mean()) < 0.05 and abs(samples.std() - 1) < 0.05
    uniform = ad.rand(20000, dtype="float16").data
    assert uniform.min() >= 0 and uniform.max() <= 1


def test_float16_samples_are_the_float32_draws_rounded():
    for op in (ad.randn, ad.rand):
        ad.manual_seed(3)
        half = op(48, dtype=ad.float16).data
        ad.manual_seed(3)
        np.testing.assert_array_equal(half, op(48, dtype=ad.float32).data.astype(np.float16))
    # a partial block of normals: PyTorch draws whole float32 blocks, the last 16 from the last one
    ad.manual_seed(3)
    half = ad.randn(40, dtype=ad.float16).data
    ad.manual_seed(3)
    blocks = ad.randn(48, dtype=ad.float32).data.astype(np.float16)
    np.testing.assert_array_equal(half, np.concatenate([blocks[:24], blocks[32:]]))


def test_integer_random_dtypes_raise_in_torch_too():
    torch = pytest.importorskip("torch")
    for op in (torch.randn, torch.rand):
        with pytest.raises((RuntimeError, NotImplementedError)):
            op(3, dtype=torch.int64)


@pytest.mark.parametrize("make", [lambda p: optim.SGD(p, lr=0.1), lambda p: optim.Adam(p)])
def test_a_spent_parameters_generator_names_the_cause_and_the_fix(make):
    model = nn.Linear(2, 2)
    params = model.parameters()
    optim.SGD(params, lr=0.1)                     # the first optimizer consumes the generator
    with pytest.raises(ValueError, match=r"empty parameter list because the generator passed as params was "
                                         r"already consumed.*list\(model.parameters\(\)\)"):
        make(params)


def test_a_fresh_generator_of_no_parameters_is_not_called_spent():
    with pytest.raises(ValueError, match="empty parameter list") as caught:
        optim.SGD(nn.ReLU().parameters(), lr=0.1)
    assert "consumed" not in str(caught.value)
    with pytest.raises(ValueError, match="empty parameter list") as caught:
        optim.SGD([], lr=0.1)
    assert "consumed" not in str(caught.value)


def test_the_shared_list_works_for_two_optimizers():
    model = nn.Linear(2, 2)
    params = list(model.parameters())
    first, second = optim.SGD(params, lr=0.1), optim.Adam(params)
    assert first.param_groups[0]["params"] == second.param_groups[0]["params"] == params


# ---- the new-user sweep (micrograd's lecture, PyTorch's 60-minute blitz) ----------------------------

@pytest.mark.parametrize("loss", ["binary_cross_entropy", "binary_cross_entropy_with_logits"])
@pytest.mark.parametrize("target_dtype", ["int64", "bool"])
def test_binary_losses_refuse_integer_labels_as_pytorch_does(loss, target_dtype):
    """They computed in float64 (numpy's int64 x float32); PyTorch raises. The error names the
    loss, both dtypes and the fix."""
    torch = pytest.importorskip("torch")
    probabilities = np.array([0.2, 0.7, 0.9, 0.4], dtype=np.float32)
    labels = np.array([0, 1, 1, 0]).astype(target_dtype)
    with pytest.raises(Exception):
        getattr(torch.nn.functional, loss)(torch.tensor(probabilities), torch.tensor(labels))
    from nn import functional as F
    with pytest.raises(ad.DtypeError, match=rf"{loss}: target is {target_dtype} but the input is float32.*"
                                            r"target\.float\(\)"):
        getattr(F, loss)(ad.tensor(probabilities), ad.tensor(labels))
    fixed = getattr(F, loss)(ad.tensor(probabilities), ad.tensor(labels).float())
    expected = getattr(torch.nn.functional, loss)(torch.tensor(probabilities), torch.tensor(labels).float())
    assert fixed.dtype == np.float32 and fixed.item() == pytest.approx(expected.item(), rel=1e-6)


def test_binary_cross_entropy_wants_the_inputs_dtype_and_with_logits_promotes():
    torch = pytest.importorskip("torch")
    from nn import functional as F
    probabilities = np.array([0.2, 0.7, 0.9], dtype=np.float32)
    target = np.array([0.0, 1.0, 1.0])
    with pytest.raises(RuntimeError):
        torch.nn.functional.binary_cross_entropy(torch.tensor(probabilities), torch.tensor(target))
    with pytest.raises(ad.DtypeError, match="target is float64 but the input is float32"):
        F.binary_cross_entropy(ad.tensor(probabilities), ad.tensor(target))
    ours = F.binary_cross_entropy_with_logits(ad.tensor(probabilities), ad.tensor(target))
    theirs = torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(probabilities), torch.tensor(target))
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-6)
