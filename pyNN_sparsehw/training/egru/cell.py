"""The event-based gated recurrent unit (EGRU) of Subramoney et al. (ICLR 2023,
"Efficient recurrent architectures through activity sparsity and sparse
back-propagation through time"), in torch, one time step at a time.

A GRU whose units communicate only by events. With input ``x_t`` (I values) and the
graded events of the previous step ``y_{t-1}`` (H values), per unit:

.. code-block:: text

    u_t  = sigmoid(W_u x_t + R_u y_{t-1} + b_u)                    update gate
    r_t  = sigmoid(W_r x_t + R_r y_{t-1} + b_r)                    reset gate
    z_t  = tanh(W_z x_t + b_z + r_t * (R_z y_{t-1} + b_zr))        candidate
    ĉ_t  = u_t * z_t + (1 - u_t) * c_{t-1}                         internal state
    e_t  = H(ĉ_t - θ)                                             event (0/1)
    y_t  = e_t * ĉ_t                                              graded event
    c_t  = ĉ_t - e_t * θ                                          reset by subtraction

The reset gate multiplies only the recurrent part of the candidate (the form of
cuDNN and ``torch.nn.GRU``), so that on the chip it is a separate synaptic input.
The paper writes the reset as ``- e_t θ`` in the state equation of step t; the
event is tested on the state before it (ĉ_t) and sent with that value. (EvNN, the
authors' code, applies the subtraction to c_{t-1} before the gating, scaling it by
the retention gate; here it is the paper's.)

The event H is differentiated through the pseudo-derivative
``γ max(0, 1 - ε abs(ĉ - θ))`` with γ = 0.7, ε = 1 (:class:`EventFunction`). The
threshold θ is learned per unit, drawn at initialisation from Beta(3, 7) (mean 0.3).

Quantities are dimensionless (a unit's state lies in (-1, 1) + resets). The step
optionally rounds ĉ to a fixed-point resolution (straight-through), as the digital
chip holds it (see :mod:`pyNN_sparsehw.training.egru.deploy`).
"""

from typing import NamedTuple

import torch
from torch import nn

#: Subramoney et al.: height γ and inverse width ε of the pseudo-derivative
PSEUDO_DERIVATIVE_HEIGHT = 0.7
PSEUDO_DERIVATIVE_SHARPNESS = 1.0
#: The initial thresholds are drawn from Beta(3, 7), of mean 3/(3 + 7) = 0.3
#: (Subramoney et al.)
THRESHOLD_BETA = (3.0, 7.0)
#: the four synaptic inputs of a unit, as the chip's EGRU cell type names them
GATE_INPUTS = ("update", "reset", "candidate_input", "candidate_recurrent")


def pseudo_derivative(distance, height=PSEUDO_DERIVATIVE_HEIGHT,
                      sharpness=PSEUDO_DERIVATIVE_SHARPNESS):
    """``height * max(0, 1 - sharpness*abs(distance))``: the event's surrogate slope at
    ``distance = ĉ - θ``."""
    return height * torch.clamp(1.0 - sharpness * distance.abs(), min=0.0)


class EventFunction(torch.autograd.Function):
    """H(distance >= 0) in the forward pass, :func:`pseudo_derivative` backward."""

    @staticmethod
    def forward(ctx, distance):
        ctx.save_for_backward(distance)
        return (distance >= 0).to(distance.dtype)

    @staticmethod
    def backward(ctx, grad):
        (distance,) = ctx.saved_tensors
        return grad * pseudo_derivative(distance)


def round_straight_through(value, lsb):
    """`value` rounded to multiples of `lsb` (None or 0: unchanged), gradient as the
    identity."""
    if not lsb:
        return value
    rounded = torch.floor(value / lsb + 0.5) * lsb
    return value + (rounded - value).detach()


class EGRUParameters(NamedTuple):
    """Weights (output rows, input columns) and per-unit vectors of one EGRU layer.

    w_* : (H, I) input weights of the update gate, reset gate and candidate
    r_* : (H, H) recurrent weights (from the graded events of the previous step)
    b_* : (H,) biases; b_zr the recurrent candidate bias (scaled by the reset gate)
    threshold : (H,) event threshold θ (> 0)
    """
    w_update: torch.Tensor
    w_reset: torch.Tensor
    w_candidate: torch.Tensor
    r_update: torch.Tensor
    r_reset: torch.Tensor
    r_candidate: torch.Tensor
    b_update: torch.Tensor
    b_reset: torch.Tensor
    b_candidate: torch.Tensor
    b_candidate_recurrent: torch.Tensor
    threshold: torch.Tensor


class EGRUState(NamedTuple):
    """c: internal state after the reset; y: graded events sent in the last step."""
    c: torch.Tensor
    y: torch.Tensor


class EGRUStep(NamedTuple):
    """What one step produced: events e (0/1), graded events y = e*ĉ, and the
    state before the reset ĉ (whose distance to θ sets the pseudo-derivative)."""
    events: torch.Tensor
    y: torch.Tensor
    c_before_reset: torch.Tensor


def egru_initial_state(batch, hidden, dtype=torch.float32):
    """All states and graded events zero."""
    zeros = torch.zeros(batch, hidden, dtype=dtype)
    return EGRUState(zeros, zeros.clone())


def gate_inputs(x, y, p):
    """The four synaptic inputs of every unit (the chip's receptors), shape (B, H)
    each: update and reset gates (input + recurrent + bias), the candidate's input
    part (with b_z) and its recurrent part (with b_zr)."""
    return {
        "update": x @ p.w_update.T + y @ p.r_update.T + p.b_update,
        "reset": x @ p.w_reset.T + y @ p.r_reset.T + p.b_reset,
        "candidate_input": x @ p.w_candidate.T + p.b_candidate,
        "candidate_recurrent": y @ p.r_candidate.T + p.b_candidate_recurrent,
    }


def egru_update(inputs, c, threshold, state_lsb=None, payload_lsb=None):
    """One unit update from its four summed inputs (:func:`gate_inputs`): returns
    (:class:`EGRUStep`, c after the reset). `state_lsb`, `payload_lsb`: fixed-point
    resolutions of the state and of the graded event, each rounded from the exact
    new state (None: floating point)."""
    u = torch.sigmoid(inputs["update"])
    r = torch.sigmoid(inputs["reset"])
    z = torch.tanh(inputs["candidate_input"] + r * inputs["candidate_recurrent"])
    exact = u * z + (1.0 - u) * c
    c_hat = round_straight_through(exact, state_lsb)
    events = EventFunction.apply(c_hat - threshold)
    payload = c_hat if payload_lsb == state_lsb else round_straight_through(exact, payload_lsb)
    return EGRUStep(events, events * payload, c_hat), c_hat - events * threshold


def egru_step(x, state, parameters, state_lsb=None, payload_lsb=None):
    """Advance one EGRU layer by one step with input `x` (B, I): returns
    (:class:`EGRUStep`, new :class:`EGRUState`)."""
    inputs = gate_inputs(x, state.y, parameters)
    step, c = egru_update(inputs, state.c, parameters.threshold, state_lsb, payload_lsb)
    return step, EGRUState(c, step.y)


class EGRU(nn.Module):
    """One EGRU layer over sequences (time first: x of shape (T, B, I)).

    Parameters
    ----------
    input_size, hidden_size : int
    generator : torch.Generator, optional
        Seeds the initial weights (uniform ±1/sqrt(H), as torch.nn.GRU) and the
        thresholds (Beta(3, 7)).
    quantizer : callable, optional
        Applied to every weight matrix in the forward pass (e.g. the chip's
        :class:`pyNN_sparsehw.training.twin.WeightQuantizer`, straight-through).
    state_lsb, payload_lsb : float, optional
        Fixed-point resolutions of the state and of the graded events.
    """

    def __init__(self, input_size, hidden_size, generator=None, quantizer=None,
                 state_lsb=None, payload_lsb=None):
        super().__init__()
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.quantizer, self.state_lsb, self.payload_lsb = quantizer, state_lsb, payload_lsb
        bound = 1.0 / hidden_size ** 0.5

        def uniform(*shape):
            return nn.Parameter((torch.rand(*shape, generator=generator) * 2 - 1) * bound)

        self.w_update, self.w_reset, self.w_candidate = (
            uniform(hidden_size, input_size) for _ in range(3))
        self.r_update, self.r_reset, self.r_candidate = (
            uniform(hidden_size, hidden_size) for _ in range(3))
        self.b_update, self.b_reset, self.b_candidate, self.b_candidate_recurrent = (
            uniform(hidden_size) for _ in range(4))
        a, b = THRESHOLD_BETA
        gamma_a = torch._standard_gamma(torch.full((hidden_size,), a), generator=generator)
        gamma_b = torch._standard_gamma(torch.full((hidden_size,), b), generator=generator)
        self.threshold = nn.Parameter(gamma_a / (gamma_a + gamma_b))

    def parameters_now(self):
        """The :class:`EGRUParameters` of the forward pass (weights quantized,
        thresholds kept >= 1e-3)."""
        quantize = self.quantizer or (lambda w: w)
        return EGRUParameters(
            quantize(self.w_update), quantize(self.w_reset), quantize(self.w_candidate),
            quantize(self.r_update), quantize(self.r_reset), quantize(self.r_candidate),
            self.b_update, self.b_reset, self.b_candidate, self.b_candidate_recurrent,
            torch.clamp(self.threshold, min=1e-3))

    def forward(self, x):
        """Run over `x` (T, B, I): returns an :class:`EGRUStep` of (T, B, H) tensors."""
        parameters = self.parameters_now()
        state = egru_initial_state(x.shape[1], self.hidden_size, x.dtype)
        steps = []
        for x_t in x:
            step, state = egru_step(x_t, state, parameters, self.state_lsb,
                                    self.payload_lsb)
            steps.append(step)
        return EGRUStep(*(torch.stack(parts) for parts in zip(*steps)))


def activity_regulariser(events):
    """The activity, mean events per unit and step (an L1 penalty on the events); its
    gradient reaches the states through the pseudo-derivative. Scale it by the
    regularisation strength in the loss."""
    return events.mean()


__all__ = ["PSEUDO_DERIVATIVE_HEIGHT", "PSEUDO_DERIVATIVE_SHARPNESS", "THRESHOLD_BETA",
           "GATE_INPUTS", "pseudo_derivative", "EventFunction", "round_straight_through",
           "EGRUParameters", "EGRUState", "EGRUStep", "egru_initial_state", "gate_inputs",
           "egru_update", "egru_step", "EGRU", "activity_regulariser"]
