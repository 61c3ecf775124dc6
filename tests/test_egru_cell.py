"""EGRU in torch (Subramoney et al. 2023): closed forms of one unit, the
pseudo-derivative, and the sparsity and operation counts on constructed runs."""

import math

import pytest
import torch

from pyNN_sparsehw.training.egru import (EGRU, EGRUStep, activity_regulariser,
                                         count_operations, egru_initial_state, egru_step)
from pyNN_sparsehw.training.egru.cell import EGRUParameters, EventFunction


def one_unit(b_update=0.0, b_candidate=0.0, threshold=0.5, w=0.0, r=0.0):
    """A single unit with scalar input, every weight `w` (input) or `r` (recurrent)."""
    def t(v):
        return torch.tensor([[v]], dtype=torch.float64)

    def b(v):
        return torch.tensor([v], dtype=torch.float64)
    return EGRUParameters(t(w), t(w), t(w), t(r), t(r), t(r), b(b_update), b(0.0),
                          b(b_candidate), b(0.0), b(threshold))


def test_constant_drive_has_the_closed_form_state_and_fires_with_its_value():
    # u = sigmoid(0) = 1/2, z = tanh(atanh(0.8)) = 0.8: without events the state
    # is ĉ_n = 0.8 (1 - 2^-n); it crosses θ = 0.65 at n = 3 (0.7), sends 0.7 and
    # keeps 0.7 - 0.65 = 0.05; then ĉ = 0.4 + c/2
    p = one_unit(b_candidate=math.atanh(0.8), threshold=0.65)
    state = egru_initial_state(1, 1, torch.float64)
    seen = []
    for _ in range(6):
        step, state = egru_step(torch.zeros(1, 1, dtype=torch.float64), state, p)
        seen.append((float(step.c_before_reset), float(step.events), float(step.y)))
    expected_c = [0.4, 0.6, 0.7, 0.425, 0.6125, 0.70625]
    assert [c for c, _, _ in seen] == pytest.approx(expected_c, abs=1e-12)
    assert [e for _, e, _ in seen] == [0, 0, 1, 0, 0, 1]
    assert [y for _, _, y in seen] == pytest.approx([0, 0, 0.7, 0, 0, 0.70625], abs=1e-12)
    assert float(state.c) == pytest.approx(0.70625 - 0.65, abs=1e-12)


def test_the_reset_gate_scales_only_the_recurrent_candidate():
    # one unit that fired y = 1 last step: candidate input part W x + b_z, recurrent
    # part r (R y + b_zr); with the reset gate at sigmoid(b_r)
    p = one_unit(w=0.3, r=0.5)._replace(b_reset=torch.tensor([1.0], dtype=torch.float64),
                                       threshold=torch.tensor([5.0], dtype=torch.float64))
    state = egru_initial_state(1, 1, torch.float64)._replace(
        y=torch.ones(1, 1, dtype=torch.float64))
    x = torch.full((1, 1), 2.0, dtype=torch.float64)
    step, _ = egru_step(x, state, p)
    sig = lambda v: 1 / (1 + math.exp(-v))                       # noqa: E731
    u = sig(0.3 * 2 + 0.5)
    reset = sig(0.3 * 2 + 0.5 + 1.0)
    z = math.tanh(0.3 * 2 + reset * 0.5)
    assert float(step.c_before_reset) == pytest.approx(u * z, abs=1e-12)


def test_event_pseudo_derivative_is_a_triangle_of_height_0_7():
    distance = torch.tensor([-2.0, -0.5, 0.0, 0.25, 1.0, 3.0], requires_grad=True)
    events = EventFunction.apply(distance)
    events.sum().backward()
    assert events.tolist() == [0, 0, 1, 1, 1, 1]
    assert distance.grad.tolist() == pytest.approx([0, 0.35, 0.7, 0.525, 0, 0])


def test_operation_counts_on_a_constructed_run():
    # T = 3 steps, B = 1, I = 2, H = 2, θ = 0.5
    x = torch.tensor([[[1.0, 0.0]], [[1.0, 1.0]], [[0.0, 0.0]]])
    events = torch.tensor([[[1.0, 0.0]], [[1.0, 1.0]], [[0.0, 0.0]]])
    c_hat = torch.tensor([[[0.9, -0.6]], [[0.6, 0.7]], [[2.0, 0.2]]])
    step = EGRUStep(events, events * c_hat, c_hat)
    ops = count_operations(x, step, torch.tensor([0.5, 0.5]))
    assert ops.activity == pytest.approx(3 / 6)
    assert ops.activity_sparsity == pytest.approx(3 / 6)
    # |ĉ - θ| < 1: 0.4, 0.1, 0.2, 0.3 and 0.3 yes; 1.1 and 1.5 no -> 2 of 6 zero
    assert ops.backward_sparsity == pytest.approx(2 / 6)
    assert ops.forward_dense == 3 * 2 * (2 + 2)
    # non-zero inputs 1, 2, 0; events of the previous step 0, 1, 2
    assert ops.forward_events == pytest.approx(6 * (1 + 3 + 2) / 3)
    assert ops.backward_dense == 3 * 2 * 2 + 3 * 2 * 4
    # units active in the previous step (event or pseudo-derivative): 0, 1, 2
    assert ops.backward_events == pytest.approx(6 * (0 + 1 + 2) / 3 + 6 * (1 + 3 + 2) / 3)


def test_activity_regulariser_lowers_the_activity():
    generator = torch.Generator().manual_seed(0)
    layer = EGRU(4, 16, generator=generator)
    x = torch.rand(20, 8, 4, generator=generator)
    before = float(layer(x).events.detach().mean())
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.1)
    for _ in range(15):
        optimizer.zero_grad()
        activity_regulariser(layer(x).events).backward()
        optimizer.step()
    after = float(layer(x).events.detach().mean())
    assert before > 0.1 and after < before / 2


def test_thresholds_are_drawn_from_a_beta_of_mean_0_3():
    layer = EGRU(1, 1000, generator=torch.Generator().manual_seed(1))
    theta = layer.threshold.detach()
    # standard error of the mean sqrt(0.019/1000) = 0.0044
    assert float(theta.mean()) == pytest.approx(0.3, abs=0.015)
    # Beta(3, 7) variance = ab / ((a+b)^2 (a+b+1)) = 21/1100
    assert float(theta.var()) == pytest.approx(21 / 1100, rel=0.2)
    assert float(theta.min()) > 0 and float(theta.max()) < 1
