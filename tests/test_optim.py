"""Optimizers against their update rules written out by hand in numpy, and against torch.optim.

The objective is non-convex and built from autodiff ops: sum(sin(x) * x**2) plus a Rosenbrock
valley (1 - a)**2 + 10 * (b - a**2)**2 over three float64 parameters. The references below use
its gradient derived by hand, so neither the engine nor the optimizer checks itself. With
maximize=True the runs maximize the negated objective (the objective itself is unbounded above).
"""
import io
import json

import numpy as np
import pytest

import autodiff as ad
import optim

STEPS = 25
X0 = np.array([0.5, -1.2, 2.0, 0.1])
A0 = np.array([-1.0, 0.3, 1.2])
B0 = np.array([1.5, 0.2, 1.0])
START = (X0, A0, B0)
TOL = dict(rtol=1e-12, atol=1e-13)


def objective(x, a, b):
    """The loss from autodiff ops (works on autodiff tensors)."""
    return ad.sum(ad.sin(x) * x ** 2) + ad.sum((1 - a) ** 2 + 10 * (b - a ** 2) ** 2)


def hand_gradients(x, a, b):
    return [np.cos(x) * x ** 2 + 2 * x * np.sin(x),
            -2 * (1 - a) - 40 * a * (b - a ** 2),
            20 * (b - a ** 2)]


# ---- the update rules, written out by hand from the PyTorch documentation ------------------------
def ref_sgd(p, g, s, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False):
    if maximize:
        g = -g
    if weight_decay:
        g = g + weight_decay * p
    if momentum:
        s["b"] = g.copy() if "b" not in s else momentum * s["b"] + (1 - dampening) * g
        g = g + momentum * s["b"] if nesterov else s["b"]
    return p - lr * g


def ref_adam(p, g, s, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False,
             decoupled=False):
    beta1, beta2 = betas
    t = s["t"] = s.get("t", 0) + 1
    if maximize:
        g = -g
    if weight_decay and decoupled:
        p = p * (1 - lr * weight_decay)
    elif weight_decay:
        g = g + weight_decay * p
    m = s["m"] = beta1 * s.get("m", 0) + (1 - beta1) * g
    v = s["v"] = beta2 * s.get("v", 0) + (1 - beta2) * g * g
    if amsgrad:
        v = s["v_max"] = np.maximum(s.get("v_max", 0), v)
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps)


def ref_adamw(p, g, s, weight_decay=1e-2, **kwargs):
    return ref_adam(p, g, s, weight_decay=weight_decay, decoupled=True, **kwargs)


def ref_rmsprop(p, g, s, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                maximize=False):
    if maximize:
        g = -g
    if weight_decay:
        g = g + weight_decay * p
    v = s["v"] = alpha * s.get("v", 0) + (1 - alpha) * g * g
    if centered:
        avg = s["a"] = alpha * s.get("a", 0) + (1 - alpha) * g
        denom = np.sqrt(v - avg * avg) + eps
    else:
        denom = np.sqrt(v) + eps
    if momentum > 0:
        s["b"] = momentum * s.get("b", 0) + g / denom
        return p - lr * s["b"]
    return p - lr * g / denom


def ref_adagrad(p, g, s, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                maximize=False):
    t = s["t"] = s.get("t", 0) + 1
    if maximize:
        g = -g
    if weight_decay:
        g = g + weight_decay * p
    lr_t = lr / (1 + (t - 1) * lr_decay)
    s["sum"] = s.get("sum", np.full_like(p, initial_accumulator_value)) + g * g
    return p - lr_t * g / (np.sqrt(s["sum"]) + eps)


REFERENCES = {"SGD": ref_sgd, "Adam": ref_adam, "AdamW": ref_adamw, "RMSprop": ref_rmsprop,
              "Adagrad": ref_adagrad}

CASES = [
    ("SGD", dict(lr=0.01)),
    ("SGD", dict(lr=0.01, momentum=0.9)),
    ("SGD", dict(lr=0.01, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.01, weight_decay=0.1)),
    ("SGD", dict(lr=0.005, maximize=True)),
    ("SGD", dict(lr=0.01, momentum=0.8, dampening=0.1, weight_decay=0.05, maximize=True)),
    ("SGD", dict(lr=0.01, momentum=0.7, nesterov=True, weight_decay=0.05)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.9), eps=1e-6)),
    ("Adam", dict(lr=0.05, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, maximize=True)),
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1, maximize=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3, amsgrad=True, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, eps=1e-6)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.1, maximize=True)),
]
CASE_IDS = [name + "-" + ",".join(f"{k}={v}" for k, v in kw.items()) for name, kw in CASES]

# two groups: x alone with its own lr (and momentum/betas where the optimizer has one), a and b on defaults
GROUP_CASES = [
    ("SGD", dict(lr=0.01, momentum=0.9), dict(lr=0.03, momentum=0.5)),
    ("Adam", dict(lr=0.05), dict(lr=0.01, betas=(0.5, 0.9))),
    ("AdamW", dict(lr=0.05), dict(lr=0.01, weight_decay=0.5)),
    ("RMSprop", dict(lr=0.01), dict(lr=0.002, centered=True)),
    ("Adagrad", dict(lr=0.1), dict(lr=0.3, lr_decay=0.1)),
]


def make_params(dtype=np.float64):
    return [ad.tensor(v.astype(dtype), requires_grad=True) for v in START]


def sign(defaults):
    return -1.0 if defaults.get("maximize") else 1.0


def run_ours(name, defaults, steps=STEPS, x_group=None):
    params = make_params()
    spec = params if x_group is None else [dict(params=[params[0]], **x_group), {"params": params[1:]}]
    opt = getattr(optim, name)(spec, **defaults)
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        (sign(defaults) * objective(*params)).backward()
        opt.step()
        trajectory.append([p.data.copy() for p in params])
    return trajectory


def run_reference(name, defaults, steps=STEPS, x_group=None):
    update = REFERENCES[name]
    per_param = [dict(defaults, **(x_group or {})), defaults, defaults]
    values = [v.copy() for v in START]
    states = [{} for _ in values]
    trajectory = []
    for _ in range(steps):
        grads = [sign(defaults) * g for g in hand_gradients(*values)]
        values = [update(p, g, s, **kw) for p, g, s, kw in zip(values, grads, states, per_param)]
        trajectory.append([v.copy() for v in values])
    return trajectory


def run_torch(name, defaults, steps=STEPS, x_group=None):
    torch = pytest.importorskip("torch")
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in START]
    spec = params if x_group is None else [dict(params=[params[0]], **x_group), {"params": params[1:]}]
    opt = getattr(torch.optim, name)(spec, **defaults)
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        x, a, b = params
        loss = (torch.sin(x) * x ** 2).sum() + ((1 - a) ** 2 + 10 * (b - a ** 2) ** 2).sum()
        (sign(defaults) * loss).backward()
        opt.step()
        trajectory.append([p.detach().numpy().copy() for p in params])
    return trajectory


def assert_same_trajectory(ours, reference, **tol):
    assert len(ours) == len(reference)
    for step, (mine, theirs) in enumerate(zip(ours, reference)):
        for i, (m, t) in enumerate(zip(mine, theirs)):
            assert m.shape == t.shape and m.dtype == np.float64 and np.isfinite(m).all()
            np.testing.assert_allclose(m, t, err_msg=f"step {step + 1}, parameter {i}", **(tol or TOL))


def test_objective_gradient_matches_hand_derivation():
    params = make_params()
    objective(*params).backward()
    for p, g in zip(params, hand_gradients(*START)):
        np.testing.assert_allclose(p.grad.data, g, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("name,defaults", CASES, ids=CASE_IDS)
def test_matches_hand_written_rule(name, defaults):
    ours = run_ours(name, defaults)
    assert_same_trajectory(ours, run_reference(name, defaults))
    moved = np.abs(ours[-1][0] - X0).max()
    assert 1e-3 < moved < 10, "the test should move the parameters, but not blow up"


@pytest.mark.parametrize("name,defaults,x_group", GROUP_CASES, ids=[c[0] for c in GROUP_CASES])
def test_param_groups_with_their_own_hyperparameters(name, defaults, x_group):
    ours = run_ours(name, defaults, x_group=x_group)
    assert_same_trajectory(ours, run_reference(name, defaults, x_group=x_group))
    alone = run_ours(name, defaults)
    assert not np.allclose(ours[-1][0], alone[-1][0]), "the group's own hyper-parameters must be used"


@pytest.mark.parametrize("name,defaults", CASES, ids=CASE_IDS)
def test_matches_torch(name, defaults):
    assert_same_trajectory(run_ours(name, defaults), run_torch(name, defaults))


@pytest.mark.parametrize("name,defaults,x_group", GROUP_CASES, ids=[c[0] for c in GROUP_CASES])
def test_param_groups_match_torch(name, defaults, x_group):
    assert_same_trajectory(run_ours(name, defaults, x_group=x_group), run_torch(name, defaults, x_group=x_group))


def test_default_hyperparameters_match_torch():
    torch = pytest.importorskip("torch")
    for name in REFERENCES:
        ours = getattr(optim, name)(make_params()).defaults
        theirs = getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)]).defaults
        for key, value in ours.items():
            assert theirs[key] == value, (name, key)


# ---- state dict: resume exactly ------------------------------------------------------------------
ALL_OPTIONS = {
    "SGD": dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.01),
    "Adam": dict(lr=0.05, amsgrad=True, weight_decay=0.01),
    "AdamW": dict(lr=0.05, amsgrad=True),
    "RMSprop": dict(lr=0.01, momentum=0.5, centered=True),
    "Adagrad": dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
}


def train(opt, params, steps):
    for _ in range(steps):
        opt.zero_grad()
        objective(*params).backward()
        opt.step()


def to_npz_and_json(state_dict):
    """What a saver without pickle does: arrays into an npz, everything else into JSON."""
    arrays = {}

    def pack(value):
        if isinstance(value, np.ndarray):
            key = f"a{len(arrays)}"
            arrays[key] = value
            return {"__array__": key}
        if isinstance(value, dict):
            return {str(k): pack(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [pack(v) for v in value]
        assert value is None or isinstance(value, (bool, int, float, str)), type(value)
        return value

    text = json.dumps(pack(state_dict))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as loaded:
        arrays = {k: loaded[k] for k in loaded.files}

    def unpack(value):
        if isinstance(value, dict):
            if set(value) == {"__array__"}:
                return arrays[value["__array__"]]
            return {k: unpack(v) for k, v in value.items()}
        if isinstance(value, list):
            return [unpack(v) for v in value]
        return value

    return unpack(json.loads(text))


@pytest.mark.parametrize("through_files", [False, True], ids=["dict", "npz+json"])
@pytest.mark.parametrize("name", list(ALL_OPTIONS))
def test_state_dict_resumes_the_identical_trajectory(name, through_files):
    cls, options = getattr(optim, name), ALL_OPTIONS[name]
    params = make_params()
    opt = cls([{"params": params[:1], "lr": options["lr"] / 2}, {"params": params[1:]}], **options)
    train(opt, params, 10)
    saved = opt.state_dict()
    if through_files:
        saved = to_npz_and_json(saved)

    copies = [ad.tensor(p.data.copy(), requires_grad=True) for p in params]
    resumed = cls([{"params": copies[:1]}, {"params": copies[1:]}], lr=123.0)
    resumed.load_state_dict(saved)
    assert resumed.param_groups[0]["lr"] == options["lr"] / 2
    train(opt, params, 10)
    train(resumed, copies, 10)
    for p, q in zip(params, copies):
        np.testing.assert_array_equal(p.data, q.data)
    for p, q in zip(params, copies):
        for key, value in opt.state[p].items():
            np.testing.assert_array_equal(value, resumed.state[q][key])


def test_state_dict_layout_is_pytorchs():
    params = make_params()
    opt = optim.Adam([{"params": params[:2]}, {"params": params[2:], "lr": 0.1}])
    params[1].grad = ad.tensor(np.ones(3))
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["params"] == [0, 1] and sd["param_groups"][1]["params"] == [2]
    assert sd["param_groups"][1]["lr"] == 0.1 and sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert list(sd["state"]) == [1]
    assert set(sd["state"][1]) == {"step", "exp_avg", "exp_avg_sq"} and sd["state"][1]["step"] == 1
    # a snapshot: later steps do not change it
    before = sd["state"][1]["exp_avg"].copy()
    opt.step()
    np.testing.assert_array_equal(sd["state"][1]["exp_avg"], before)


def test_state_dict_matches_torch_layout():
    torch = pytest.importorskip("torch")
    ours = optim.SGD(make_params(), lr=0.1, momentum=0.9)
    theirs = torch.optim.SGD([torch.zeros(1, requires_grad=True) for _ in range(3)], lr=0.1, momentum=0.9)
    a, b = ours.state_dict()["param_groups"][0], theirs.state_dict()["param_groups"][0]
    assert a["params"] == b["params"]
    assert {k: v for k, v in a.items()} == {k: b[k] for k in a}


def test_load_state_dict_casts_to_the_parameter_dtype_and_copies():
    params = make_params()
    opt = optim.Adam(params, lr=0.05)
    train(opt, params, 3)
    saved = opt.state_dict()
    params32 = make_params(np.float32)
    opt32 = optim.Adam(params32)
    opt32.load_state_dict(saved)
    for p in params32:
        assert opt32.state[p]["exp_avg"].dtype == np.float32
    opt.load_state_dict(saved)
    assert opt.state[params[0]]["exp_avg"] is not saved["state"][0]["exp_avg"]


def test_load_state_dict_errors():
    params = make_params()
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    train(opt, params, 2)
    saved = opt.state_dict()
    with pytest.raises(ValueError, match="parameter group"):
        optim.SGD([{"params": params[:1]}, {"params": params[1:]}]).load_state_dict(saved)
    with pytest.raises(ValueError, match=r"3 parameter\(s\) in the state dict but 2 here"):
        optim.SGD([{"params": params[:2]}]).load_state_dict(saved)
    shuffled = [params[1], params[0], params[2]]
    with pytest.raises(ValueError, match="shape"):
        optim.SGD(shuffled).load_state_dict(saved)
    with pytest.raises(ValueError, match="state_dict"):
        optim.SGD(params).load_state_dict({"state": {}})


# ---- construction errors ---------------------------------------------------------------------------
def _p():
    return ad.tensor([1.0, 2.0], requires_grad=True)


BAD_ARGUMENTS = [
    (optim.SGD, dict(lr=-0.1), "lr"),
    (optim.SGD, dict(momentum=-0.5), "momentum"),
    (optim.SGD, dict(weight_decay=-1e-4), "weight_decay"),
    (optim.SGD, dict(nesterov=True), "nesterov"),
    (optim.SGD, dict(nesterov=True, momentum=0.9, dampening=0.1), "dampening"),
    (optim.SGD, dict(lr="0.1"), "lr"),
    (optim.SGD, dict(lr=float("nan")), "lr"),
    (optim.Adam, dict(lr=-1e-3), "lr"),
    (optim.Adam, dict(betas=(1.0, 0.999)), r"betas\[0\]"),
    (optim.Adam, dict(betas=(0.9, -0.1)), r"betas\[1\]"),
    (optim.Adam, dict(betas=0.9), "betas"),
    (optim.Adam, dict(eps=-1e-8), "eps"),
    (optim.Adam, dict(weight_decay=-0.1), "weight_decay"),
    (optim.AdamW, dict(betas=(0.9, 1.5)), r"betas\[1\]"),
    (optim.RMSprop, dict(lr=-0.01), "lr"),
    (optim.RMSprop, dict(alpha=1.5), "alpha"),
    (optim.RMSprop, dict(eps=-1.0), "eps"),
    (optim.RMSprop, dict(momentum=-0.9), "momentum"),
    (optim.RMSprop, dict(weight_decay=-0.9), "weight_decay"),
    (optim.Adagrad, dict(lr=-0.01), "lr"),
    (optim.Adagrad, dict(lr_decay=-0.01), "lr_decay"),
    (optim.Adagrad, dict(initial_accumulator_value=-1), "initial_accumulator_value"),
    (optim.Adagrad, dict(eps=-1e-10), "eps"),
    (optim.Adagrad, dict(weight_decay=-1e-10), "weight_decay"),
]


@pytest.mark.parametrize("cls,kwargs,argument", BAD_ARGUMENTS,
                         ids=[f"{c.__name__}-{list(k)[-1]}" for c, k, _ in BAD_ARGUMENTS])
def test_bad_hyperparameters_raise_value_error_naming_the_argument(cls, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        cls([_p()], **kwargs)
    # the same check guards groups added later
    opt = cls([_p()])
    with pytest.raises(ValueError, match=argument):
        opt.add_param_group(dict(params=[_p()], **kwargs))


def test_bad_parameter_lists():
    p = _p()
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([])
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam(iter([]))
    with pytest.raises(ValueError, match="not a leaf"):
        optim.SGD([p * 2])
    with pytest.raises(ValueError, match="int64"):
        optim.SGD([ad.tensor([1, 2])])
    with pytest.raises(TypeError, match="int64"):  # also a TypeError, as in PyTorch
        optim.SGD([ad.tensor([1, 2])])
    with pytest.raises(ValueError, match="not an autodiff Tensor"):
        optim.SGD([np.ones(3)])
    with pytest.raises(ValueError, match="named_parameters"):     # (name, tensor) pairs mixed with tensors
        optim.SGD([("weight", p), p * 1.0])
    with pytest.raises(ValueError, match="wrap it in a list"):
        optim.SGD(p)
    with pytest.raises(ValueError, match="twice"):
        optim.SGD([p, p])
    with pytest.raises(ValueError, match="another parameter group"):
        optim.SGD([{"params": [p]}, {"params": [_p(), p]}])
    opt = optim.SGD([p])
    with pytest.raises(ValueError, match="another parameter group"):
        opt.add_param_group({"params": p})
    with pytest.raises(ValueError, match="set"):
        opt.add_param_group({"params": {_p()}})
    with pytest.raises(ValueError, match="'params'"):
        opt.add_param_group({"lr": 0.1})


def test_add_param_group_takes_defaults():
    opt = optim.SGD([_p()], lr=0.1, momentum=0.9)
    q = _p()
    opt.add_param_group({"params": q, "lr": 0.5})
    group = opt.param_groups[1]
    assert group["params"] == [q] and group["lr"] == 0.5 and group["momentum"] == 0.9


# ---- behaviour of step ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(ALL_OPTIONS))
def test_parameters_without_grad_are_skipped(name):
    frozen, trained = _p(), _p()
    opt = getattr(optim, name)([frozen, trained], **ALL_OPTIONS[name])
    for _ in range(3):
        opt.zero_grad()
        ad.sum(ad.sin(trained) * trained).backward()
        opt.step()
    np.testing.assert_array_equal(frozen.data, [1.0, 2.0])
    assert frozen not in opt.state or not opt.state[frozen]
    assert not np.array_equal(trained.data, [1.0, 2.0])


@pytest.mark.parametrize("name", list(ALL_OPTIONS))
def test_float32_parameters_stay_float32(name):
    params = make_params(np.float32)
    opt = getattr(optim, name)(params, **ALL_OPTIONS[name])
    train(opt, params, 3)
    for p in params:
        assert p.dtype == np.float32
        for value in opt.state[p].values():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32
    # and they follow the float64 run closely
    params64 = make_params()
    train(getattr(optim, name)(params64, **ALL_OPTIONS[name]), params64, 3)
    for p, q in zip(params, params64):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", list(ALL_OPTIONS))
def test_updates_in_place_without_touching_grad_or_recording_a_graph(name):
    params = make_params()
    options = dict(ALL_OPTIONS[name], maximize=True)
    opt = getattr(optim, name)(params, **options)
    views = [p.data for p in params]
    before = [v.copy() for v in views]
    objective(*params).backward()
    grads = [p.grad.data for p in params]
    grad_copies = [g.copy() for g in grads]
    with ad.enable_grad():
        opt.step()
    for p, view, old, grad, grad_copy in zip(params, views, before, grads, grad_copies):
        assert p.data is view and not np.array_equal(view, old)
        assert p.grad.data is grad
        np.testing.assert_array_equal(grad, grad_copy)
        assert p.is_leaf and p.requires_grad and p.grad_fn is None


def test_zero_grad():
    params = make_params()
    opt = optim.SGD(params)
    objective(*params).backward()
    opt.zero_grad()
    assert all(p.grad is None for p in params)
    objective(*params).backward()
    arrays = [p.grad.data for p in params]
    opt.zero_grad(set_to_none=False)
    for p, array in zip(params, arrays):
        assert p.grad.data is array and not array.any()
    objective(*params).backward()  # accumulates into the zeroed arrays
    for p, g in zip(params, hand_gradients(*START)):
        np.testing.assert_allclose(p.grad.data, g, rtol=1e-13)


def test_step_with_closure_returns_the_loss_and_runs_with_grad_enabled():
    params = make_params()
    opt = optim.Adam(params, lr=0.05)
    calls = []

    def closure():
        calls.append(ad.is_grad_enabled())
        opt.zero_grad()
        loss = objective(*params)
        loss.backward()
        return loss

    with ad.no_grad():
        loss = opt.step(closure)
    assert calls == [True]
    assert loss.item() == pytest.approx(float(objective(*[ad.tensor(v) for v in START]).item()))
    opt.step(closure)
    assert calls == [True, True]
    expected = run_reference("Adam", dict(lr=0.05), steps=2)[-1]
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.data, e, **TOL)


def test_changing_lr_in_a_group_takes_effect():
    p = ad.tensor([1.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    p.grad = ad.tensor([1.0])
    assert opt.step() is None
    opt.param_groups[0]["lr"] = 0.5
    opt.step()
    np.testing.assert_allclose(p.data, [1.0 - 0.1 - 0.5])


def test_state_is_keyed_by_parameter_and_repr_lists_groups():
    params = make_params()
    opt = optim.RMSprop(params, momentum=0.9, centered=True)
    train(opt, params, 1)
    assert set(opt.state) == set(params)
    assert set(opt.state[params[0]]) == {"step", "square_avg", "momentum_buffer", "grad_avg"}
    assert "Parameter Group 0" in repr(opt) and "centered: True" in repr(opt)


@pytest.mark.parametrize("options", [dict(lr=0.1), dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
                                     dict(lr=0.1, momentum=0.9, dampening=0.5, maximize=True)])
def test_sgd_on_column_major_parameters_matches_row_major(options):
    """Parameters of one shape but two memory layouts in one optimizer (each gets work arrays of its
    own layout): the same values, and each keeps its layout."""
    r = np.random.default_rng(0)
    start = r.normal(size=(3, 4))
    row = ad.tensor(start, requires_grad=True)
    column = ad.Tensor(np.asfortranarray(start), requires_grad=True)     # ad.tensor would copy to C order
    opt = optim.SGD([row, column], **options)
    for _ in range(3):
        g = r.normal(size=(3, 4))
        row.grad, column.grad = ad.tensor(g), ad.Tensor(np.asfortranarray(g))
        opt.step()
    np.testing.assert_array_equal(row.data, column.data)
    assert row.data.flags.c_contiguous and column.data.flags.f_contiguous


@pytest.mark.parametrize("options", [dict(lr=0.1), dict(lr=0.05, momentum=0.9)])
def test_sgd_inline_loop_gives_the_bits_of_its_update_rule(options):
    """SGD's common cases run inline in _step_group; a subclass that wraps _update takes the base
    class's loop through _update. Both must give identical parameters and momentum buffers."""
    class Wrapped(optim.SGD):
        def _update(self, param, grad, state, group, scratch):
            super()._update(param, grad, state, group, scratch)

    r = np.random.default_rng(1)
    start = [r.normal(size=(4, 3)).astype(np.float32), r.normal(size=3).astype(np.float32)]
    runs = []
    for cls in (optim.SGD, Wrapped):
        params = [ad.tensor(a, requires_grad=True) for a in start]
        opt = cls(params, **options)
        g = np.random.default_rng(2)
        for _ in range(4):
            for p in params:
                p.grad = ad.tensor(g.normal(size=p.shape).astype(np.float32))
            opt.step()
        runs.append((params, opt))
    (ours, fast), (theirs, slow) = runs
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.data, q.data)
        for key, value in slow.state[q].items():
            np.testing.assert_array_equal(fast.state[p][key], value)


def test_a_subclass_that_writes_only_update_gets_the_group_dict():
    class Halving(optim.Optimizer):
        def __init__(self, params, lr=0.5):
            super().__init__(params, dict(lr=lr))

        def _update(self, param, grad, state, group, scratch):
            assert isinstance(group, dict) and group["params"]
            assert scratch[0].shape == param.shape
            param -= group["lr"] * grad

    x = ad.tensor([1.0, 2.0], requires_grad=True)
    x.grad = ad.tensor([2.0, 2.0])
    Halving([x]).step()
    np.testing.assert_array_equal(x.data, [0.0, 1.0])


def test_optim_does_not_import_nn():
    import subprocess
    import sys
    code = "import sys, optim; assert 'nn' not in sys.modules, 'optim imported nn'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(__import__("pathlib").Path(__file__).parents[1]))


@pytest.mark.parametrize("name", list(ALL_OPTIONS))
def test_zero_learning_rate_leaves_parameters_alone(name):
    # also with zero gradients, where a rate folded into a denominator could give 0 * inf
    params = make_params()
    opt = getattr(optim, name)(params, **dict(ALL_OPTIONS[name], lr=0.0, weight_decay=0.0))
    for p in params:
        p.grad = ad.tensor(np.zeros_like(p.data))
    opt.step()
    objective(*params).backward()
    opt.step()
    for p, start in zip(params, START):
        np.testing.assert_array_equal(p.data, start)
    if name != "SGD":  # SGD keeps no step count
        assert all(opt.state[p]["step"] == 2 for p in params)


@pytest.mark.parametrize("make", ["SGD", "Adam"])
def test_named_parameters_are_accepted_as_in_pytorch(make):
    """PyTorch 2.13 takes model.named_parameters() and keeps the names as "param_names"; the steps
    are those of model.parameters()."""
    torch = pytest.importorskip("torch")
    import nn
    kwargs = dict(lr=0.1, momentum=0.9) if make == "SGD" else dict(lr=0.01)
    rng = np.random.default_rng(0)
    weight, bias, x = rng.standard_normal((2, 3)), rng.standard_normal(2), rng.standard_normal((4, 3))
    model = nn.Linear(3, 2).double()
    model.load_state_dict({"weight": weight, "bias": bias})
    theirs = torch.nn.Linear(3, 2).double()
    theirs.load_state_dict({"weight": torch.tensor(weight), "bias": torch.tensor(bias)})
    ours_opt = getattr(optim, make)(model.named_parameters(), **kwargs)
    their_opt = getattr(torch.optim, make)(theirs.named_parameters(), **kwargs)
    for _ in range(3):
        ours_opt.zero_grad()
        (model(ad.tensor(x)) ** 2).sum().backward()
        ours_opt.step()
        their_opt.zero_grad()
        (theirs(torch.tensor(x)) ** 2).sum().backward()
        their_opt.step()
    np.testing.assert_allclose(model.weight.data, theirs.weight.detach().numpy(), rtol=1e-12)
    assert ours_opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    assert their_opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    with pytest.raises(TypeError, match="all \\(name, tensor\\) pairs.*or all tensors"):
        getattr(optim, make)([("weight", model.weight), model.bias], lr=0.1)
