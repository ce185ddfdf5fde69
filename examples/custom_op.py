"""A custom op: softplus as an ``ad.Function``, a buggy backward caught by ``ad.gradcheck``, and
the fixed one passing gradcheck and gradgradcheck.

    python examples/custom_op.py

softplus(x) = log(1 + eˣ), a smooth ReLU. Why write it as an op instead of composing
``ad.log(1 + ad.exp(x))``? Because the composition overflows: e¹⁰⁰⁰ is inf in float64, so
softplus(1000) comes out inf instead of 1000. As an op, the forward can use the stable
``np.logaddexp(0, x)``, and the backward is one line: d softplus / dx = 1 / (1 + e⁻ˣ) = sigmoid(x).

A custom op is a subclass of ``ad.Function`` with two static methods:
* ``forward(ctx, x)``: numpy arrays in, an array out; ``ctx.save_for_backward`` keeps what
  backward needs;
* ``backward(ctx, grad)``: the gradient of the loss with respect to the op's output in, the
  gradient with respect to each input out (chain rule: grad × the local derivative).

The backward is written by hand, so it can be wrong, and a wrong gradient does not crash:
training just goes badly. ``ad.gradcheck`` compares it with central differences
(f(x + ε) − f(x − ε)) / 2ε in float64 and, on a mismatch, raises ``ad.GradcheckError`` naming
the op (by class name) whose backward disagrees with its forward.

Lesson: the wrong backward raises GradcheckError whose message names ``WrongSoftplus``; the
right one passes gradcheck and gradgradcheck (second derivatives too, because its backward is
written with operations autodiff can differentiate again).
"""
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import autodiff as ad  # noqa: E402


class WrongSoftplus(ad.Function):
    """softplus with a classic slip in backward: e^x where e^-x belongs."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0.0, x)          # log(e^0 + e^x), computed without overflow

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (1 + np.exp(x))        # BUG: this is sigmoid(-x), not sigmoid(x)


class Softplus(ad.Function):
    """softplus(x) = log(1 + e^x); its derivative is sigmoid(x) = 1 / (1 + e^-x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0.0, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        # arithmetic and np.exp work on arrays (ordinary backward) and on Tensors (under
        # create_graph=True, as in gradgradcheck), so this backward can be differentiated again
        return grad / (1 + np.exp(-x))


class ForgetfulSoftplus(ad.Function):
    """softplus whose backward forgets the chain rule: it returns the local derivative alone."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0.0, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 1 / (1 + np.exp(-x))              # BUG: should be grad / (1 + e^-x)


def softplus(x):
    """softplus of a Tensor, through the custom op."""
    return Softplus.apply(x)


def main(quick=False):
    """Run the checks. ``quick`` changes nothing (a handful of 5-element gradchecks).
    Returns a dict of booleans and the wrong op's error message."""
    # gradcheck needs float64 inputs that require grad: central differences are meaningless in float32
    x = ad.tensor(np.random.default_rng(0).normal(0.0, 2.0, 5), dtype="float64", requires_grad=True)
    results = {}

    # 1. the wrong backward is caught, and the message says which op is to blame
    try:
        ad.gradcheck(WrongSoftplus.apply, x)
        results["wrong_raised"], message = False, ""
    except ad.GradcheckError as error:
        results["wrong_raised"], message = True, str(error)
    results["wrong_message"] = message
    print("1. gradcheck on WrongSoftplus raised GradcheckError:")
    print("   " + message.replace("\n", "\n   "))

    # 2. the right one passes, first and second order
    results["right_gradcheck"] = ad.gradcheck(softplus, x)
    results["right_gradgradcheck"] = ad.gradgradcheck(softplus, x)
    print(f"2. Softplus: gradcheck {results['right_gradcheck']}, "
          f"gradgradcheck {results['right_gradgradcheck']}")

    # 3. a pitfall: check the op's own output, not its .sum(). The sum feeds backward a gradient
    #    of all ones, and a backward that ignores its incoming gradient looks right on ones.
    results["forgetful_passes_on_sum"] = ad.gradcheck(lambda t: ForgetfulSoftplus.apply(t).sum(), x,
                                                      raise_exception=False)
    results["forgetful_caught_on_output"] = not ad.gradcheck(ForgetfulSoftplus.apply, x,
                                                             raise_exception=False)
    print(f"3. ForgetfulSoftplus (ignores grad): passes gradcheck of .sum(): "
          f"{results['forgetful_passes_on_sum']}; "
          f"caught on the raw output: {results['forgetful_caught_on_output']}")

    # 4. why the op: the composed formula overflows where the op does not
    big = ad.tensor([1000.0], dtype="float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)      # exp(1000) overflows: that is the point
        composed = ad.log(1 + ad.exp(big)).item()
    results["op_at_1000"], results["composed_at_1000"] = softplus(big).item(), composed
    print(f"4. softplus(1000): custom op {results['op_at_1000']}, log(1 + exp(x)) composed {composed}")
    print("lesson: WrongSoftplus raises GradcheckError naming it; Softplus passes both checks")
    return results


if __name__ == "__main__":
    main()
