"""ember.optim.lr_scheduler against torch.optim.lr_scheduler: the same learning-rate sequences, state dicts."""

import warnings

import numpy as np
import pytest
import torch

import ember as em
import ember.optim as optim
from ember.nn import Parameter
from ember.optim import lr_scheduler
from ember.tensor import Tensor

LRS = (0.1, 0.03)


def _optimizers(kind="SGD"):
    """An ember and a torch optimizer, each with two param groups of different lr."""
    ours = [Parameter(Tensor(np.ones(2, np.float32))) for _ in range(2)]
    theirs = [torch.nn.Parameter(torch.ones(2)) for _ in range(2)]
    options = dict(momentum=0.9) if kind == "SGD" else {}
    make = [
        lambda params: getattr(optim, kind)(
            [{"params": params[:1], "lr": LRS[0]}, {"params": params[1:], "lr": LRS[1]}], **options
        ),
        lambda params: getattr(torch.optim, kind)(
            [{"params": params[:1], "lr": LRS[0]}, {"params": params[1:], "lr": LRS[1]}], **options
        ),
    ]
    return make[0](ours), make[1](theirs)


def _momentum(group):
    return group["betas"][0] if "betas" in group else group.get("momentum", 0.0)


def _record(opt, sched, steps, metrics=None):
    """lr and momentum of every group after construction and after each step."""
    rows = [[*sched.get_last_lr(), *(g["lr"] for g in opt.param_groups), *map(_momentum, opt.param_groups)]]
    for k in range(steps):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[k])
        rows.append([*sched.get_last_lr(), *(g["lr"] for g in opt.param_groups), *map(_momentum, opt.param_groups)])
    return np.array(rows, dtype=np.float64)


PLATEAU_METRIC = [5, 4, 4, 4.2, 4.1, 4, 4, 3, 3.1, 3.05, 3, 3, 3, 2.9, 2.95, 2.99, 3, 3.2, 3.1, 3, 2, 2, 2.1, 2.2, 2.2]
PLATEAU_METRIC = PLATEAU_METRIC + PLATEAU_METRIC[::-1]


def _plateau_max_metric():
    return [-m for m in PLATEAU_METRIC]


# (id, optimizer kind, number of steps, factory(module, optimizer) -> scheduler, metrics)
CASES = [
    ("LambdaLR", "SGD", 30, lambda m, o: m.LambdaLR(o, lambda e: 0.95**e), None),
    ("LambdaLR-per-group", "SGD", 30, lambda m, o: m.LambdaLR(o, [lambda e: 0.9**e, lambda e: 1 / (e + 1)]), None),
    ("MultiplicativeLR", "SGD", 30, lambda m, o: m.MultiplicativeLR(o, lambda e: 0.9), None),
    ("StepLR", "SGD", 40, lambda m, o: m.StepLR(o, step_size=7, gamma=0.5), None),
    ("MultiStepLR", "SGD", 40, lambda m, o: m.MultiStepLR(o, milestones=[5, 12, 12, 20], gamma=0.3), None),
    ("ConstantLR", "SGD", 30, lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=6), None),
    ("LinearLR", "SGD", 30, lambda m, o: m.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=10), None),
    ("ExponentialLR", "SGD", 30, lambda m, o: m.ExponentialLR(o, gamma=0.93), None),
    ("PolynomialLR", "SGD", 30, lambda m, o: m.PolynomialLR(o, total_iters=20, power=2.0), None),
    ("CosineAnnealingLR", "SGD", 60, lambda m, o: m.CosineAnnealingLR(o, T_max=10, eta_min=0.001), None),
    ("CosineAnnealingWarmRestarts", "SGD", 60, lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5), None),
    (
        "CosineAnnealingWarmRestarts-Tmult",
        "SGD",
        60,
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=1e-4),
        None,
    ),
    (
        "CyclicLR-triangular",
        "SGD",
        50,
        lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=4, step_size_down=6),
        None,
    ),
    (
        "CyclicLR-triangular2",
        "SGD",
        50,
        lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5, mode="triangular2"),
        None,
    ),
    (
        "CyclicLR-exp_range",
        "SGD",
        50,
        lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3, mode="exp_range", gamma=0.97),
        None,
    ),
    (
        "CyclicLR-adam-betas",
        "Adam",
        40,
        lambda m, o: m.CyclicLR(o, base_lr=0.001, max_lr=0.01, step_size_up=5, base_momentum=0.85, max_momentum=0.95),
        None,
    ),
    (
        "CyclicLR-no-momentum",
        "Adam",
        40,
        lambda m, o: m.CyclicLR(o, base_lr=0.001, max_lr=0.01, step_size_up=5, cycle_momentum=False),
        None,
    ),
    ("OneCycleLR-cos", "SGD", 50, lambda m, o: m.OneCycleLR(o, max_lr=[0.1, 0.2], total_steps=50), None),
    (
        "OneCycleLR-linear",
        "SGD",
        50,
        lambda m, o: m.OneCycleLR(o, max_lr=0.1, epochs=5, steps_per_epoch=10, anneal_strategy="linear"),
        None,
    ),
    (
        "OneCycleLR-three-phase-adam",
        "Adam",
        60,
        lambda m, o: m.OneCycleLR(o, max_lr=0.01, total_steps=60, pct_start=0.25, three_phase=True),
        None,
    ),
    (
        "SequentialLR",
        "SGD",
        40,
        lambda m, o: m.SequentialLR(
            o, [m.LinearLR(o, start_factor=0.1, total_iters=5), m.ExponentialLR(o, gamma=0.9)], milestones=[5]
        ),
        None,
    ),
    (
        "SequentialLR-three",
        "SGD",
        50,
        lambda m, o: m.SequentialLR(
            o,
            [m.ConstantLR(o, factor=0.5, total_iters=4), m.CosineAnnealingLR(o, T_max=10), m.StepLR(o, 5, 0.5)],
            milestones=[4, 15],
        ),
        None,
    ),
    (
        "ChainedScheduler",
        "SGD",
        30,
        lambda m, o: m.ChainedScheduler([m.ConstantLR(o, factor=0.5, total_iters=3), m.ExponentialLR(o, gamma=0.9)]),
        None,
    ),
    (
        "ChainedScheduler-warmup-cosine",
        "SGD",
        40,
        lambda m, o: m.ChainedScheduler(
            [m.LinearLR(o, start_factor=0.25, total_iters=8), m.CosineAnnealingLR(o, T_max=15, eta_min=0.002)]
        ),
        None,
    ),
    ("ReduceLROnPlateau", "SGD", 50, lambda m, o: m.ReduceLROnPlateau(o, patience=2, factor=0.5), PLATEAU_METRIC),
    (
        "ReduceLROnPlateau-abs-cooldown-min_lr",
        "SGD",
        50,
        lambda m, o: m.ReduceLROnPlateau(
            o, patience=1, factor=0.3, threshold=0.05, threshold_mode="abs", cooldown=2, min_lr=[0.005, 0.004]
        ),
        PLATEAU_METRIC,
    ),
    (
        "ReduceLROnPlateau-max",
        "Adam",
        50,
        lambda m, o: m.ReduceLROnPlateau(o, mode="max", patience=0, factor=0.7, threshold=0.01),
        _plateau_max_metric(),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_sequence_matches_torch(case):
    _, kind, steps, make, metrics = case
    ours_opt, theirs_opt = _optimizers(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither side may warn in the normal protocol
        ours = _record(ours_opt, make(lr_scheduler, ours_opt), steps, metrics)
        theirs = _record(theirs_opt, make(torch.optim.lr_scheduler, theirs_opt), steps, metrics)
    np.testing.assert_array_equal(ours, theirs)  # the same formulas in the same order: bit-identical
    assert len(np.unique(ours[:, 0])) > 1  # the schedule moved


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_state_dict_round_trip_midway(case, tmp_path):
    _, kind, steps, make, metrics = case
    opt, _ = _optimizers(kind)
    straight = _record(opt, make(lr_scheduler, opt), steps, metrics)
    half = steps // 2
    opt, _ = _optimizers(kind)
    sched = make(lr_scheduler, opt)
    first = _record(opt, sched, half, metrics)
    path = tmp_path / "sched.safetensors"
    em.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, path)
    checkpoint = em.load(path)

    opt2, _ = _optimizers(kind)
    sched2 = make(lr_scheduler, opt2)
    opt2.load_state_dict(checkpoint["optimizer"])
    sched2.load_state_dict(checkpoint["scheduler"])
    rest = _record(opt2, sched2, steps - half, None if metrics is None else metrics[half:])
    np.testing.assert_array_equal(np.concatenate([first, rest[1:]]), straight)


def test_state_dict_leaves_out_the_optimizer_and_lambdas():
    opt, _ = _optimizers()
    sched = lr_scheduler.LambdaLR(opt, lambda e: 0.5**e)
    sd = sched.state_dict()
    assert "optimizer" not in sd and sd["lr_lambdas"] == [None, None]
    assert sd["base_lrs"] == list(LRS) and sd["last_epoch"] == 0


def test_lambda_callable_object_state_is_saved():
    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, epoch):
            return self.rate**epoch

    opt, _ = _optimizers()
    sched = lr_scheduler.LambdaLR(opt, Decay(0.5))
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [{"rate": 0.5}, {"rate": 0.5}]
    other = lr_scheduler.LambdaLR(_optimizers()[0], [Decay(0.9), Decay(0.9)])
    other.load_state_dict(sd)
    assert other.lr_lambdas[0].rate == 0.5


def test_constructor_records_initial_lr_and_base_lrs():
    opt, _ = _optimizers()
    sched = lr_scheduler.StepLR(opt, step_size=2)
    assert [g["initial_lr"] for g in opt.param_groups] == list(LRS)
    assert sched.base_lrs == list(LRS) and sched.last_epoch == 0
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(_optimizers()[0], step_size=2, last_epoch=3)


def test_closed_form_with_epoch_argument_matches_torch():
    ours_opt, theirs_opt = _optimizers()
    ours = lr_scheduler.MultiStepLR(ours_opt, milestones=[2, 5], gamma=0.5)
    theirs = torch.optim.lr_scheduler.MultiStepLR(theirs_opt, milestones=[2, 5], gamma=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in (3, 7, 1):
            ours_opt.step()
            theirs_opt.step()
            ours.step(epoch)
            theirs.step(epoch)
            assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-15)


def test_warnings_for_misuse():
    opt, _ = _optimizers()
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda o: lr_scheduler.StepLR("not an optimizer", 3), TypeError, "is not an Optimizer"),
        (lambda o: lr_scheduler.ConstantLR(o, factor=2.0), ValueError, "between 0 and 1, got 2.0"),
        (lambda o: lr_scheduler.LinearLR(o, start_factor=0), ValueError, "greater than 0"),
        (lambda o: lr_scheduler.LambdaLR(o, [lambda e: 1.0]), ValueError, "Expected 2 lr_lambdas, but got 1"),
        (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "positive integer T_0"),
        (lambda o: lr_scheduler.CyclicLR(o, 0.1, [0.2, 0.3, 0.4]), ValueError, "max_lr must have the same length"),
        (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1), ValueError, "total_steps OR"),
        (lambda o: lr_scheduler.OneCycleLR(o, 0.1, total_steps=10, pct_start=1.5), ValueError, "pct_start"),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="up"), ValueError, "mode up is unknown"),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), ValueError, "Factor should be < 1.0"),
        (
            lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2)], milestones=[3]),
            ValueError,
            "number of milestones",
        ),
        (
            lambda o: lr_scheduler.ChainedScheduler([lr_scheduler.ReduceLROnPlateau(o)]),
            ValueError,
            "does not support `ReduceLROnPlateau`",
        ),
    ],
)
def test_bad_arguments(make, error, message):
    opt, _ = _optimizers()
    with pytest.raises(error, match=message):
        make(opt)


def test_one_cycle_refuses_to_step_past_total_steps():
    opt, _ = _optimizers()
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        sched.step()


def test_plateau_accepts_a_tensor_metric():
    opt, _ = _optimizers()
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    sched.step(em.tensor(1.0))
    sched.step(em.tensor(2.0))
    assert sched.get_last_lr() == pytest.approx([LRS[0] / 2, LRS[1] / 2])
