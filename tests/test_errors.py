"""Errors are written for the person who reads them: the op, the shapes (and dtypes), the fix.
A failed op must leave its inputs exactly as they were (no half-built graph)."""
import re

import numpy as np
import pytest

import autodiff as ad


def leaf(shape):
    return ad.tensor(np.ones(shape), requires_grad=True)


# ---- broadcasting and matmul shape errors -----------------------------------------------------

def test_add_broadcast_error_message_is_exact():
    with pytest.raises(ValueError) as info:
        leaf((3, 4)) + leaf((5,))
    assert "add: shapes (3, 4) and (5,) do not broadcast" in str(info.value)


@pytest.mark.parametrize("name,op", [
    ("add", lambda a, b: a + b), ("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b), ("pow", lambda a, b: a ** b), ("maximum", ad.maximum),
    ("minimum", ad.minimum),
])
def test_binary_broadcast_errors_name_the_op_and_both_shapes(name, op):
    with pytest.raises(ValueError) as info:
        op(leaf((3, 4)), leaf((5,)))
    message = str(info.value)
    assert message.startswith(name + ":") or re.search(rf"\b{name}\b", message), message
    assert "(3, 4)" in message and "(5,)" in message, message
    assert "broadcast" in message


def test_where_broadcast_error_names_the_op_and_shapes():
    with pytest.raises(ValueError) as info:
        ad.where(np.ones((2,), dtype=bool), leaf((3,)), leaf((2, 4)))
    message = str(info.value)
    assert "where" in message and "(3,)" in message and "(2, 4)" in message, message


def test_matmul_error_message_is_exact():
    with pytest.raises(ValueError) as info:
        leaf((3, 4)) @ leaf((5, 6))
    assert str(info.value).startswith("matmul: (3, 4) @ (5, 6): inner dimensions 4 and 5 differ")


@pytest.mark.parametrize("sa,sb,inner", [
    ((3,), (4,), "3 and 4"), ((2, 3), (4,), "3 and 4"), ((4,), (3, 2), "4 and 3"),
    ((5, 2, 3), (5, 4, 2), "3 and 4"),
])
def test_matmul_errors_name_both_shapes(sa, sb, inner):
    with pytest.raises(ValueError) as info:
        ad.matmul(leaf(sa), leaf(sb))
    message = str(info.value)
    assert message.startswith(f"matmul: {sa} @ {sb}"), message
    assert inner in message


def test_matmul_with_a_0d_operand_says_to_use_mul():
    with pytest.raises(ValueError, match=r"matmul.*\(\).*\*"):
        leaf(()) @ leaf((3,))


def test_matmul_batch_broadcast_error_names_shapes():
    with pytest.raises(ValueError) as info:
        leaf((2, 3, 4)) @ leaf((5, 4, 6))
    message = str(info.value)
    assert "matmul" in message and "(2, 3, 4)" in message and "(5, 4, 6)" in message, message


# ---- axis and shape arguments -----------------------------------------------------------------

@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "var", "std", "prod", "argmax", "argmin"])
def test_axis_out_of_range_names_the_op_the_axis_and_the_rank(name):
    x = leaf((2, 3))
    with pytest.raises(ValueError) as info:
        getattr(x, name)(axis=2)
    message = str(info.value)
    assert name in message and "2" in message and "out of range" in message, message
    with pytest.raises(ValueError, match=name):
        getattr(x, name)(axis=-3)


def test_axis_out_of_range_on_a_0d_tensor():
    with pytest.raises(ValueError, match=r"sum.*0-d"):
        leaf(()).sum(axis=1)


def test_axis_of_the_wrong_type():
    with pytest.raises(TypeError, match="sum"):
        leaf((2, 3)).sum(axis=1.5)


def test_repeated_axis():
    with pytest.raises(ValueError, match=r"sum.*repeated"):
        leaf((2, 3)).sum(axis=(1, -1))


def test_reshape_error_names_shapes_and_sizes():
    with pytest.raises(ValueError) as info:
        leaf((2, 3)).reshape(4, 2)
    message = str(info.value)
    assert "reshape" in message and "(2, 3)" in message and "(4, 2)" in message, message


def test_broadcast_to_error_names_shapes():
    with pytest.raises(ValueError, match=r"broadcast_to.*\(2, 3\).*\(4, 3\)"):
        leaf((2, 3)).broadcast_to((4, 3))


def test_permute_error_names_the_dims_and_shape():
    with pytest.raises(ValueError, match=r"permute.*\(0, 0, 1\).*\(2, 3, 4\)"):
        leaf((2, 3, 4)).permute(0, 0, 1)


def test_transpose_with_a_permutation_names_permute():
    # PyTorch's transpose swaps two dims: a numpy-style permutation is refused, naming permute
    with pytest.raises(TypeError, match=r"transpose.*permute\(1, 2, 0\)"):
        leaf((2, 3, 4)).transpose(1, 2, 0)
    with pytest.raises(TypeError, match=r"permute\(1, 0\)"):
        ad.transpose(leaf((2, 3)), (1, 0))


def test_squeeze_of_a_non_unit_axis():
    # PyTorch leaves a dim whose size is not 1; numpy's np.squeeze raises
    assert leaf((2, 3)).squeeze(0).shape == (2, 3)
    with pytest.raises(ValueError, match=r"squeeze.*\(2, 3\)"):
        np.squeeze(leaf((2, 3)), 0)


@pytest.mark.parametrize("call,name", [
    (lambda x: x.unsqueeze(4), "unsqueeze"), (lambda x: x.swapaxes(0, 5), "swapaxes"),
    (lambda x: x.flatten(0, 7), "flatten"),
])
def test_other_axis_errors_name_the_op(call, name):
    with pytest.raises(ValueError, match=name):
        call(leaf((2, 3)))


def test_clip_needs_a_bound():
    with pytest.raises(ValueError, match="clip"):
        ad.clip(leaf((2,)))


def test_max_of_empty_names_the_shape():
    with pytest.raises(ValueError, match=r"\(0, 3\)"):
        ad.tensor(np.zeros((0, 3)), requires_grad=True).max()


# ---- a failed op leaves no half-built graph ---------------------------------------------------

@pytest.mark.parametrize("failing", [
    lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a @ b, lambda a, b: ad.maximum(a, b),
    lambda a, b: a.sum(axis=5), lambda a, b: a.reshape(7), lambda a, b: ad.where(np.ones(4, bool), a, b),
    lambda a, b: a + "text",
], ids=["add", "mul", "matmul", "maximum", "sum_axis", "reshape", "where", "add_str"])
def test_failed_op_leaves_inputs_unchanged(failing):
    a = ad.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    b = ad.tensor(np.arange(5.0), requires_grad=True)
    hidden = a * 2.0            # a non-leaf input too
    data_a, data_b = a.data.copy(), b.data.copy()
    node = hidden.grad_fn
    with pytest.raises((ValueError, TypeError)):
        failing(hidden, b)
    for t, data in ((a, data_a), (b, data_b)):
        np.testing.assert_array_equal(t.data, data)
        assert t.grad is None and t.is_leaf and t.requires_grad and t.grad_fn is None
    assert hidden.grad_fn is node and hidden.grad is None
    # and the graph still works, with the right gradient
    hidden.sum().backward()
    np.testing.assert_array_equal(a.grad.data, np.full((2, 3), 2.0))
    assert b.grad is None


# ---- bad data and dtypes ----------------------------------------------------------------------

def test_tensor_of_strings_is_a_type_error():
    with pytest.raises(TypeError) as info:
        ad.tensor(["a"])
    message = str(info.value)
    assert "tensor" in message and ("numeric" in message or "number" in message), message


def test_tensor_of_none_is_a_type_error():
    with pytest.raises(TypeError, match="None"):
        ad.tensor(None)


def test_ragged_nested_list_is_a_value_error():
    with pytest.raises(ValueError, match="rectangular|same length"):
        ad.tensor([[1.0, 2.0], [3.0]])


def test_object_array_is_refused():
    with pytest.raises(TypeError, match="numeric|object"):
        ad.tensor(np.array([{}, 1], dtype=object))


@pytest.mark.parametrize("make", [
    lambda: ad.tensor([1, 2], requires_grad=True),
    lambda: ad.tensor(np.array([True]), requires_grad=True),
    lambda: ad.zeros(2, dtype=np.int64, requires_grad=True),
    lambda: ad.arange(3, requires_grad=True),
    lambda: ad.full((2,), 3, requires_grad=True),
], ids=["list_of_ints", "bool", "zeros_int", "arange_int", "full_int"])
def test_requires_grad_on_a_non_float_tensor_is_refused(make):
    with pytest.raises(TypeError) as info:
        make()
    message = str(info.value)
    assert "float" in message and ("int64" in message or "bool" in message), message


def test_setting_requires_grad_on_an_int_tensor_is_refused():
    x = ad.tensor([1, 2])
    with pytest.raises(TypeError, match=r"int64.*\.float\(\)|\.float\(\).*int64|float"):
        x.requires_grad = True
    assert not x.requires_grad


def test_requires_grad_of_a_non_leaf_cannot_be_turned_off():
    y = leaf((2,)) * 2.0
    with pytest.raises(RuntimeError, match="detach"):
        y.requires_grad = False


def test_operand_of_the_wrong_type_names_the_op():
    with pytest.raises(TypeError, match="add"):
        leaf((2,)) + "text"


def test_set_default_dtype_refuses_non_float():
    with pytest.raises(TypeError, match="float"):
        ad.set_default_dtype(np.int64)


# ---- backward misuse --------------------------------------------------------------------------

def test_backward_on_a_non_scalar_suggests_sum_or_gradient():
    y = leaf((2, 3)) * 2.0
    with pytest.raises(RuntimeError) as info:
        y.backward()
    message = str(info.value)
    assert ".sum()" in message and "gradient=" in message and "(2, 3)" in message, message


def test_backward_with_a_gradient_of_the_wrong_shape_names_both_shapes():
    y = leaf((2, 3)) * 2.0
    with pytest.raises(RuntimeError, match=r"\(3,\).*\(2, 3\)"):
        y.backward(gradient=np.ones(3))


def test_backward_of_a_tensor_without_a_graph():
    with pytest.raises(RuntimeError, match="requires_grad"):
        ad.tensor(np.array(1.0)).backward()
    x = leaf(())
    with ad.no_grad():
        y = x * 2.0
    with pytest.raises(RuntimeError, match="requires_grad|no_grad"):
        y.backward()


def test_second_backward_message_names_retain_graph():
    x = leaf((3,))
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError) as info:
        y.backward()
    assert "retain_graph=True" in str(info.value)


def test_ad_grad_with_a_non_tensor_input():
    x = leaf((2,))
    with pytest.raises((RuntimeError, TypeError), match="Tensor"):
        ad.grad((x * 2.0).sum(), [np.ones(2)])


# ---- conversions ------------------------------------------------------------------------------

def test_numpy_of_a_tensor_that_requires_grad_says_detach():
    with pytest.raises(RuntimeError, match=r"detach\(\)"):
        leaf((2,)).numpy()
    with pytest.raises(TypeError, match="detach"):
        np.asarray(leaf((2,)))


def test_item_of_many_elements_names_the_shape():
    with pytest.raises(ValueError, match=r"item.*\(2, 3\)"):
        leaf((2, 3)).item()


def test_truth_value_of_many_elements_is_ambiguous():
    with pytest.raises(ValueError, match="ambiguous"):
        bool(ad.tensor(np.ones(3)))


def test_unknown_numpy_ufunc_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="cbrt"):
        np.cbrt(leaf((2,)))


def test_ufunc_methods_and_out_are_refused():
    with pytest.raises(TypeError, match="reduce"):
        np.add.reduce(leaf((2,)))
    # out= an array: a result that requires grad would leave the graph there
    with pytest.raises(RuntimeError, match=r"out.*with ad.no_grad\(\): p -= lr \* p.grad"):
        np.exp(leaf((2,)), out=np.empty(2))
    with pytest.raises(TypeError, match="out=tensor"):
        np.exp(leaf((2,)).detach(), out=leaf((2,)))


def test_unknown_numpy_function_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="histogram"):
        np.histogram(leaf((2,)))
    # numpy's joining functions have autodiff ops, so they stay on the graph
    joined = np.concatenate([leaf((2,)), leaf((2,))])
    assert isinstance(joined, ad.Tensor) and joined.requires_grad


# ---- custom Function misuse -------------------------------------------------------------------

def test_function_forward_must_return_an_array():
    class ReturnsList(ad.Function):
        @staticmethod
        def forward(ctx, x):
            return [1.0, 2.0]

        @staticmethod
        def backward(ctx, grad):
            return grad

    with pytest.raises(TypeError, match="ReturnsList"):
        ReturnsList.apply(leaf((2,)))


def test_function_backward_returning_a_non_array_names_the_function():
    class ReturnsString(ad.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, grad):
            return "oops"

    with pytest.raises(TypeError, match="ReturnsString"):
        ReturnsString.apply(leaf((2,))).sum().backward()
