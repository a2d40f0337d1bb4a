"""ember.optim optimizers against torch.optim: same start, same gradients, same parameters; state dicts."""

import copy

import numpy as np
import pytest
import torch

import ember as em
import ember.optim as optim
from ember.errors import CheckpointError
from ember.nn import Parameter
from ember.tensor import Tensor

SHAPES = [(4, 3), (5,), (2, 3, 2)]
STEPS = 20
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.1, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.5, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9), eps=1e-6, maximize=True, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, weight_decay=0.1, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1, maximize=True)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, momentum_decay=0.01)),
    ("RAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]


def _ids(case):
    name, kwargs = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in kwargs.items())


def _problem(dtype, steps=STEPS, seed=0, layout="contiguous"):
    """Start weights and a gradient sequence; the last parameter gets no gradient at step 3."""
    rng = np.random.default_rng(seed)
    w0 = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = []
    for k in range(steps):
        gs = []
        for s in SHAPES:
            if layout == "transposed" and len(s) >= 2:
                g = rng.standard_normal(s[::-1]).astype(dtype).T  # Fortran-ordered: not C-contiguous
            else:
                g = rng.standard_normal(s).astype(dtype)
            gs.append(g)
        if k == 3:
            gs[-1] = None
        grads.append(gs)
    return w0, grads


def _groups(params, group_lrs):
    if group_lrs is None:
        return params
    return [{"params": params[:1], "lr": group_lrs[0]}, {"params": params[1:], "lr": group_lrs[1]}]


def _ember_run(name, kwargs, w0, grads, group_lrs=None, opt=None, params=None):
    if params is None:
        params = [Parameter(Tensor(w.copy(order="K"))) for w in w0]
    if opt is None:
        opt = getattr(optim, name)(_groups(params, group_lrs), **kwargs)
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = None if g is None else Tensor(g.copy(order="K"))
        opt.step()
    return params, opt


def _torch_run(name, kwargs, w0, grads, group_lrs=None):
    params = [torch.nn.Parameter(torch.from_numpy(w.copy())) for w in w0]
    opt = getattr(torch.optim, name)(_groups(params, group_lrs), **kwargs)
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = None if g is None else torch.from_numpy(np.ascontiguousarray(g))
        opt.step()
    return params, opt


def _assert_params(ours, theirs, dtype):
    for p, q in zip(ours, theirs):
        assert p.data.dtype == np.dtype(dtype)
        np.testing.assert_allclose(p.data, q.detach().numpy(), **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_matches_torch_after_20_steps(case, dtype):
    name, kwargs = case
    w0, grads = _problem(dtype)
    ours, _ = _ember_run(name, kwargs, w0, grads)
    theirs, _ = _torch_run(name, kwargs, w0, grads)
    _assert_params(ours, theirs, dtype)
    assert not np.allclose(ours[0].data, w0[0])


@pytest.mark.parametrize(
    "case",
    [
        ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
        ("Adam", dict(lr=0.01, amsgrad=True)),
        ("AdamW", dict(lr=0.01)),
        ("RMSprop", dict(centered=True, momentum=0.5)),
        ("NAdam", dict()),
        ("RAdam", dict(weight_decay=0.1)),
    ],
    ids=_ids,
)
def test_two_param_groups_with_different_lr(case):
    name, kwargs = case
    w0, grads = _problem(np.float32, seed=1)
    ours, opt = _ember_run(name, kwargs, w0, grads, group_lrs=(0.05, 0.002))
    theirs, _ = _torch_run(name, kwargs, w0, grads, group_lrs=(0.05, 0.002))
    _assert_params(ours, theirs, np.float32)
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.002]


@pytest.mark.parametrize(
    "case",
    [("Adam", dict(lr=0.01)), ("AdamW", dict(lr=0.01, amsgrad=True, maximize=True)), ("SGD", dict(momentum=0.9))],
    ids=_ids,
)
def test_non_contiguous_gradients(case):
    """Fortran-ordered gradients take Adam's NumPy path instead of the fused kernel; both agree with torch."""
    name, kwargs = case
    w0, grads = _problem(np.float32, seed=2, layout="transposed")
    ours, _ = _ember_run(name, kwargs, w0, grads)
    theirs, _ = _torch_run(name, kwargs, w0, grads)
    _assert_params(ours, theirs, np.float32)


def test_adam_fused_kernel_and_numpy_path_agree():
    w0, grads = _problem(np.float32, seed=3)
    fused, _ = _ember_run("Adam", dict(lr=0.01, weight_decay=0.1), w0, grads)
    w0_f = [np.asfortranarray(w) for w in w0]
    grads_f = [[None if g is None else np.asfortranarray(g) for g in gs] for gs in grads]
    plain, _ = _ember_run("Adam", dict(lr=0.01, weight_decay=0.1), w0_f, grads_f)
    assert not plain[0].data.flags.c_contiguous
    for a, b in zip(fused, plain):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-6, atol=1e-7)


def test_end_to_end_training_matches_torch():
    """Real gradients from ember autograd through a small linear model, Adam, 5 steps."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = rng.standard_normal((16, 3)).astype(np.float32)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    ew, eb = Parameter(Tensor(w.copy())), Parameter(Tensor(b.copy()))
    tw, tb = torch.nn.Parameter(torch.from_numpy(w.copy())), torch.nn.Parameter(torch.from_numpy(b.copy()))
    eopt, topt = optim.Adam([ew, eb], lr=0.05), torch.optim.Adam([tw, tb], lr=0.05)
    ex, ey, tx, ty = Tensor(x), Tensor(y), torch.from_numpy(x), torch.from_numpy(y)
    losses = []
    for _ in range(5):
        eopt.zero_grad()
        loss = ((ex @ ew.T + eb - ey) ** 2).mean()
        loss.backward()
        eopt.step()
        topt.zero_grad()
        ((tx @ tw.T + tb - ty) ** 2).mean().backward()
        topt.step()
        losses.append(loss.item())
    np.testing.assert_allclose(ew.data, tw.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(eb.data, tb.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert losses[-1] < losses[0]


# ----------------------------------------------------------------------------- state dicts
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_state_dict_layout_matches_torch(case):
    name, kwargs = case
    w0, grads = _problem(np.float32, steps=4)
    _, ours = _ember_run(name, kwargs, w0, grads, group_lrs=(0.01, 0.02))
    _, theirs = _torch_run(name, kwargs, w0, grads, group_lrs=(0.01, 0.02))
    sd, tsd = ours.state_dict(), theirs.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [g["params"] for g in tsd["param_groups"]]
    assert [set(g) for g in sd["param_groups"]] == [set(g) for g in tsd["param_groups"]]
    assert sorted(sd["state"]) == sorted(tsd["state"])
    for index, tstate in tsd["state"].items():
        state = sd["state"][index]
        assert set(state) == set(tstate)
        for key, tvalue in tstate.items():
            value = state[key]
            assert isinstance(value, Tensor), key
            assert str(value.dtype).split(".")[-1] == str(tvalue.dtype).split(".")[-1], key
            np.testing.assert_allclose(value.data, tvalue.numpy(), rtol=1e-5, atol=1e-6, err_msg=key)


ROUND_TRIP = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("RMSprop", dict(centered=True, momentum=0.5)),
    ("Adagrad", dict(lr_decay=0.01)),
    ("Adadelta", dict()),
    ("Adamax", dict()),
    ("NAdam", dict(weight_decay=0.1)),
    ("RAdam", dict()),
]


def _continue_from(name, kwargs, sd, params_after, grads):
    params = [Parameter(Tensor(p.data.copy())) for p in params_after]
    opt = getattr(optim, name)(_groups(params, (0.01, 0.03)), **kwargs)
    opt.load_state_dict(sd)
    return _ember_run(name, kwargs, None, grads, opt=opt, params=params)


@pytest.mark.parametrize("case", ROUND_TRIP, ids=_ids)
def test_state_dict_round_trip_in_memory(case):
    name, kwargs = case
    w0, grads = _problem(np.float32, seed=5)
    straight, _ = _ember_run(name, kwargs, w0, grads, group_lrs=(0.01, 0.03))
    half, opt = _ember_run(name, kwargs, w0, grads[:10], group_lrs=(0.01, 0.03))
    sd = opt.state_dict()
    frozen = copy.deepcopy(sd)
    resumed, _ = _continue_from(name, kwargs, sd, half, grads[10:])
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a.data, b.data)
    # loading copied the state: the dict we loaded from is unchanged by the later steps
    for index, state in frozen["state"].items():
        for key, value in state.items():
            if isinstance(value, Tensor):
                np.testing.assert_array_equal(sd["state"][index][key].data, value.data)


@pytest.mark.parametrize("case", ROUND_TRIP, ids=_ids)
def test_state_dict_round_trip_through_a_file(case, tmp_path):
    name, kwargs = case
    w0, grads = _problem(np.float32, seed=6)
    straight, _ = _ember_run(name, kwargs, w0, grads, group_lrs=(0.01, 0.03))
    half, opt = _ember_run(name, kwargs, w0, grads[:10], group_lrs=(0.01, 0.03))
    path = tmp_path / "opt.safetensors"
    em.save(opt.state_dict(), path)
    loaded = em.load(path)
    assert sorted(loaded["state"]) == sorted(opt.state_dict()["state"])
    resumed, opt2 = _continue_from(name, kwargs, loaded, half, grads[10:])
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a.data, b.data)
    step = next(iter(opt2.state.values())).get("step")
    if step is not None:
        assert step.data.shape == () and step.data.dtype == np.float32


def test_load_state_dict_casts_to_parameter_dtype_but_not_step():
    w0, grads = _problem(np.float64, steps=3)
    _, opt64 = _ember_run("Adam", {}, w0, grads)
    params = [Parameter(Tensor(w.astype(np.float32))) for w in w0]
    opt32 = optim.Adam(params)
    opt32.load_state_dict(opt64.state_dict())
    state = opt32.state[params[0]]
    assert state["exp_avg"].data.dtype == np.float32
    assert state["step"].data.dtype == np.float32 and float(state["step"].data) == 3.0
    assert state["exp_avg"] is not opt64.state_dict()["state"][0]["exp_avg"]


def test_load_state_dict_errors_name_the_mismatch():
    w0, grads = _problem(np.float32, steps=2)
    params, opt = _ember_run("Adam", {}, w0, grads, group_lrs=(0.1, 0.2))
    sd = opt.state_dict()
    fresh = optim.Adam([Parameter(Tensor(w.copy())) for w in w0])
    with pytest.raises(CheckpointError, match="2 parameter groups, the optimizer has 1"):
        fresh.load_state_dict(sd)
    other = [Parameter(Tensor(w.copy())) for w in w0]
    wrong_size = optim.Adam([{"params": other[:2]}, {"params": other[2:]}])
    with pytest.raises(CheckpointError, match="group 0 has 1 parameters, the optimizer's group 0 has 2"):
        wrong_size.load_state_dict(sd)
    assert len(wrong_size.state) == 0 and wrong_size.param_groups[0]["lr"] == 1e-3
    with pytest.raises(CheckpointError, match="'state' and 'param_groups'"):
        fresh.load_state_dict({"state": {}})


def test_load_state_dict_restores_options():
    w0, grads = _problem(np.float32, steps=2)
    _, opt = _ember_run("SGD", dict(lr=0.5, momentum=0.9), w0, grads)
    fresh = optim.SGD([Parameter(Tensor(w.copy())) for w in w0], lr=0.1)
    fresh.load_state_dict(opt.state_dict())
    assert fresh.param_groups[0]["lr"] == 0.5 and fresh.param_groups[0]["momentum"] == 0.9
    assert fresh.param_groups[0]["params"][0] is not opt.param_groups[0]["params"][0]


def test_scratch_buffers_are_not_state():
    w0, grads = _problem(np.float32, steps=2)
    _, opt = _ember_run("RMSprop", dict(centered=True), w0, grads)
    assert set(opt.state_dict()["state"][0]) == {"step", "square_avg", "grad_avg"}


# ---------------------------------------------------------------------------- API details
def test_zero_grad_sets_to_none_or_zeroes_in_place():
    p = Parameter(Tensor(np.ones(3, np.float32)))
    opt = optim.SGD([p], lr=0.1)
    p.grad = Tensor(np.full(3, 2.0, np.float32))
    grad = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad and np.all(grad.data == 0)
    opt.zero_grad()
    assert p.grad is None


def test_step_skips_parameters_without_grad():
    a, b = Parameter(Tensor(np.ones(3, np.float32))), Parameter(Tensor(np.ones(2, np.float32)))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = Tensor(np.ones(3, np.float32))
    opt.step()
    assert np.all(a.data < 1) and np.all(b.data == 1)
    assert b not in opt.state


def test_closure_is_run_with_grad_enabled_and_its_loss_returned():
    p = Parameter(Tensor(np.array([3.0], np.float32)))
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with em.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 9.0
    np.testing.assert_allclose(p.data, [1.5])  # 3 - 0.25 * 6


def test_update_bumps_the_version_counter():
    p = Parameter(Tensor(np.ones(3, np.float32)))
    opt = optim.Adam([p])
    p.grad = Tensor(np.ones(3, np.float32))
    before = p._version
    opt.step()
    assert p._version == before + 1


def test_param_groups_hold_every_option():
    a, b = Parameter(Tensor(np.ones(3, np.float32))), Parameter(Tensor(np.ones(2, np.float32)))
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0
    assert opt.param_groups[1]["params"] == [b] and opt.param_groups[1]["momentum"] == 0.9
    assert opt.defaults["lr"] == 0.1
    assert "Parameter Group 1" in repr(opt)


def test_named_parameters_keep_their_names():
    model = em.nn.Linear(3, 2)
    opt = optim.Adam(model.named_parameters())
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]


def test_parameter_in_two_groups_is_named_in_the_error():
    model = em.nn.Linear(3, 2)
    named = list(model.named_parameters())
    opt = optim.SGD(named[:1], lr=0.1)
    with pytest.raises(ValueError, match="'weight'.*already parameter 0 of param group 0"):
        opt.add_param_group({"params": named})
    assert len(opt.param_groups) == 1
    w = Parameter(Tensor(np.ones(2, np.float32)))
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.Adam([{"params": [w]}, {"params": [w]}])


def test_add_param_group_takes_defaults_and_new_parameters_get_stepped():
    a, b = Parameter(Tensor(np.ones(3, np.float32))), Parameter(Tensor(np.ones(2, np.float32)))
    opt = optim.Adagrad([a], lr=0.1, initial_accumulator_value=0.5)
    opt.add_param_group({"params": [b], "lr": 0.2})
    assert opt.param_groups[1]["initial_accumulator_value"] == 0.5
    a.grad, b.grad = Tensor(np.ones(3, np.float32)), Tensor(np.ones(2, np.float32))
    opt.step()
    assert np.all(b.data < 1) and float(opt.state[b]["step"].data) == 1.0


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: optim.SGD(p, lr=-1), "Invalid learning rate: -1"),
        (lambda p: optim.SGD(p, momentum=-0.5), "Invalid momentum value: -0.5"),
        (lambda p: optim.SGD(p, weight_decay=-1e-4), "Invalid weight_decay value: -0.0001"),
        (lambda p: optim.SGD(p, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
        (lambda p: optim.Adam(p, betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
        (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
        (lambda p: optim.AdamW(p, eps=-1e-8), "Invalid epsilon value: -1e-08"),
        (lambda p: optim.RMSprop(p, alpha=-0.1), "Invalid alpha value: -0.1"),
        (lambda p: optim.Adagrad(p, lr_decay=-1), "Invalid lr_decay value: -1"),
        (lambda p: optim.Adagrad(p, initial_accumulator_value=-1), "Invalid initial_accumulator_value value: -1"),
        (lambda p: optim.Adadelta(p, rho=1.5), "Invalid rho value: 1.5"),
        (lambda p: optim.NAdam(p, momentum_decay=-1), "Invalid momentum_decay value: -1"),
        (lambda p: optim.RAdam(p, lr=-0.5), "Invalid learning rate: -0.5"),
        (lambda p: optim.LBFGS(p, line_search_fn="armijo"), "only 'strong_wolfe'"),
        (lambda p: optim.Adam([{"params": p, "lr": -2}]), "Invalid learning rate: -2"),
    ],
)
def test_bad_options_raise_value_error_naming_the_value(make, message):
    params = [Parameter(Tensor(np.ones(2, np.float32)))]
    with pytest.raises(ValueError, match=message):
        make(params)


def test_bad_params_argument():
    p = Parameter(Tensor(np.ones(2, np.float32)))
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p}}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)


def test_compat_keywords_are_accepted():
    p = [Parameter(Tensor(np.ones(2, np.float32)))]
    opt = optim.Adam(p, foreach=True, fused=True, capturable=True, differentiable=False)
    p[0].grad = Tensor(np.ones(2, np.float32))
    opt.step()
    assert opt.param_groups[0]["fused"] is True


# ----------------------------------------------------------------------------------- LBFGS
def _lbfgs_pair(problem, dtype, ls, steps, **kwargs):
    rng = np.random.default_rng(7)
    if problem == "lstsq":
        A = rng.standard_normal((12, 5)).astype(dtype)
        b = rng.standard_normal(12).astype(dtype)
        x0 = np.zeros(5, dtype)

        def em_loss(x):
            r = Tensor(A) @ x - Tensor(b)
            return (r * r).sum()

        def torch_loss(x):
            return ((torch.from_numpy(A) @ x - torch.from_numpy(b)) ** 2).sum()
    else:
        x0 = np.array([-1.5, 2.0, 0.5, -0.3, 1.2], dtype)

        def em_loss(x):
            a = x[1:] - x[:-1] * x[:-1]
            c = 1 - x[:-1]
            return (100 * a * a + c * c).sum()

        def torch_loss(x):
            return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()

    ep, tp = Parameter(Tensor(x0.copy())), torch.nn.Parameter(torch.from_numpy(x0.copy()))
    options = dict(lr=1 if ls else 0.1, max_iter=10, history_size=4, line_search_fn=ls, **kwargs)
    eo, to = optim.LBFGS([ep], **options), torch.optim.LBFGS([tp], **options)

    def em_closure():
        eo.zero_grad()
        loss = em_loss(ep)
        loss.backward()
        return loss

    def torch_closure():
        to.zero_grad()
        loss = torch_loss(tp)
        loss.backward()
        return loss

    losses = []
    for _ in range(steps):
        losses.append((float(eo.step(em_closure)), float(to.step(torch_closure).detach())))
    return ep, tp, eo, to, losses, em_closure


@pytest.mark.parametrize(
    "problem, dtype",
    [("lstsq", np.float32), ("lstsq", np.float64), ("rosenbrock", np.float64)],
)
@pytest.mark.parametrize("ls", [None, "strong_wolfe"])
def test_lbfgs_matches_torch(problem, dtype, ls):
    ep, tp, eo, to, losses, _ = _lbfgs_pair(problem, dtype, ls, steps=3)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ep.data, tp.detach().numpy(), **tol)
    np.testing.assert_allclose([a for a, _ in losses], [b for _, b in losses], **tol)
    if dtype == np.float64:  # in float32 the line search at the optimum runs in rounding noise
        assert eo.state[ep]["func_evals"] == to.state[tp]["func_evals"]
        assert eo.state[ep]["n_iter"] == to.state[tp]["n_iter"]
    assert losses[-1][0] < losses[0][0]


def test_lbfgs_state_dict_round_trip_through_a_file(tmp_path):
    ep, _, eo, _, _, _ = _lbfgs_pair("rosenbrock", np.float64, "strong_wolfe", steps=2)
    path = tmp_path / "lbfgs.safetensors"
    em.save(eo.state_dict(), path)
    resumed = Parameter(Tensor(ep.data.copy()))
    ro = optim.LBFGS([resumed], lr=1, max_iter=10, history_size=4, line_search_fn="strong_wolfe")
    ro.load_state_dict(em.load(path))

    def closure():
        ro.zero_grad()
        a = resumed[1:] - resumed[:-1] * resumed[:-1]
        c = 1 - resumed[:-1]
        loss = (100 * a * a + c * c).sum()
        loss.backward()
        return loss

    ep4, _, _, _, _, _ = _lbfgs_pair("rosenbrock", np.float64, "strong_wolfe", steps=4)
    ro.step(closure)
    ro.step(closure)
    np.testing.assert_allclose(resumed.data, ep4.data, rtol=1e-12, atol=1e-14)


def test_lbfgs_rejects_groups_and_needs_a_closure():
    a, b = Parameter(Tensor(np.ones(2, np.float32))), Parameter(Tensor(np.ones(2, np.float32)))
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [a]}, {"params": [b]}])
    with pytest.raises(TypeError, match="closure"):
        optim.LBFGS([a]).step(None)
