"""Optimizers step by step beside torch.optim (float64), schedules against their formulas."""

import math

import numpy as np
import pytest
import torch

from backproplab.nn.optimizers import SGD, Adam, initialize_optimizer
from backproplab.nn.schedulers import Cosine, Exponential, Triangle, initialize_scheduler
from conftest import assert_close


def run_beside_torch(ours, make_theirs, steps=20, clip=None, seed=0):
    rng = np.random.default_rng(seed)
    shapes = {"W": (4, 3), "b": (1, 3)}
    params = {k: rng.standard_normal(s) for k, s in shapes.items()}
    tparams = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    theirs = make_theirs(list(tparams.values()))
    for step in range(steps):
        grads = {k: rng.standard_normal(s) * (5 if step % 3 == 0 else 1) for k, s in shapes.items()}
        ours.step([(k, params[k], grads[k]) for k in shapes], t=0)
        for k, p in tparams.items():
            p.grad = torch.tensor(grads[k])
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(list(tparams.values()), clip)
        theirs.step()
        for k in shapes:
            assert_close(params[k], tparams[k].detach().numpy(), tol=1e-12, what=f"step {step} {k}")


@pytest.mark.parametrize("momentum, nesterov, wd", [(0.0, False, 0.0), (0.9, False, 0.0), (0.9, True, 1e-3), (0.5, False, 0.1)])
def test_sgd_matches_torch(momentum, nesterov, wd):
    ours = SGD(0.05, momentum=momentum, nesterov=nesterov, weight_decay=wd)
    run_beside_torch(ours, lambda p: torch.optim.SGD(p, lr=0.05, momentum=momentum, nesterov=nesterov, weight_decay=wd))


def test_sgd_with_global_norm_clipping_matches_torch():
    ours = SGD(0.05, momentum=0.9, clip_norm=1.0)
    run_beside_torch(ours, lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9), clip=1.0)


@pytest.mark.parametrize("wd", [0.0, 0.01])
def test_adam_matches_torch(wd):
    ours = Adam(0.01, betas=(0.8, 0.99), eps=1e-7, weight_decay=wd)
    run_beside_torch(ours, lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-7, weight_decay=wd), steps=30)


def test_float32_parameters_stay_float32():
    p = np.ones((2, 2), dtype=np.float32)
    for opt in (SGD(0.1, momentum=0.9), Adam(0.1)):
        opt.step([("p", p, np.full((2, 2), 0.5, dtype=np.float32))])
        assert p.dtype == np.float32


def test_non_finite_gradient_is_refused_and_not_applied():
    p = np.ones(3)
    with pytest.raises(FloatingPointError, match="non-finite gradient for \\['w'\\].*lower the learning rate"):
        SGD(0.1).step([("w", p, np.array([1.0, np.nan, 0.0]))])
    np.testing.assert_array_equal(p, np.ones(3))


def test_schedules_match_their_formulas():
    exp = Exponential(0.1, decay=0.5, stage_length=10)
    assert exp(0) == 0.1 and exp(5) == pytest.approx(0.1 * 0.5**0.5) and exp(20) == pytest.approx(0.025)
    stair = Exponential(0.1, decay=0.5, stage_length=10, staircase=True)
    assert stair(9.99) == 0.1 and stair(10) == pytest.approx(0.05) and stair(29.5) == pytest.approx(0.025)
    cos = Cosine(0.1, total_epochs=100)
    assert cos(0) == 0.1 and cos(50) == pytest.approx(0.05) and cos(100) == pytest.approx(0.0, abs=1e-15)
    assert cos(25) == pytest.approx(0.05 * (1 + math.cos(math.pi / 4)))
    warm = Cosine(0.1, total_epochs=10, warmup=2)
    assert warm(1) == pytest.approx(0.05) and warm(2) == pytest.approx(0.1) and warm(10) == pytest.approx(0)
    assert initialize_scheduler("constant", 0.3)(1234) == 0.3


def test_triangle_rises_then_falls_linearly():
    tri = Triangle(1.0, total_epochs=10, peak=0.25, start=0.2, end=0.05)
    assert tri(0) == pytest.approx(0.2) and tri(2.5) == pytest.approx(1.0) and tri(10) == pytest.approx(0.05)
    assert tri(1.25) == pytest.approx(0.6) and tri(6.25) == pytest.approx(0.525)
    assert tri(20) == pytest.approx(0.05)  # past the end it stays at the end


def test_schedule_drives_the_optimizer_step():
    opt = initialize_optimizer("sgd", lr=1.0, lr_scheduler="exponential", decay=0.5, stage_length=1, staircase=True)
    p = np.zeros(1)
    opt.step([("p", p, np.ones(1))], t=2.5)  # lr = 0.25 at t = 2.5 with staircase
    assert p[0] == pytest.approx(-0.25)


def test_bad_settings_are_clear_errors():
    with pytest.raises(KeyError, match="unknown optimizer 'rmsprop'"):
        initialize_optimizer("rmsprop", 0.1)
    with pytest.raises(KeyError, match="unknown learning-rate schedule 'step'"):
        initialize_scheduler("step", 0.1)
    with pytest.raises(ValueError, match="lr must be a positive number"):
        initialize_scheduler("constant", -1)
    with pytest.raises(ValueError, match="momentum must be in"):
        SGD(0.1, momentum=1.5)
    with pytest.raises(ValueError, match="decay must be in"):
        Exponential(0.1, decay=0)
