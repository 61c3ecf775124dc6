"""Activity and backward sparsity of an EGRU, and its multiply-accumulates (MACs)
per step, dense against event-driven, counted as Subramoney et al. (2023) count them.

Per sample and step, with I inputs, H units and three gates:

forward, dense
    every weight is used every step: ``3H (I + H)``.
forward, event-driven
    only the columns of inputs that are non-zero and of units that sent an event in
    the previous step: ``3H (nnz(x_t) + n_events(t-1))``.
backward, dense
    the error sent back to the previous step's outputs (``R^T δ``: ``3H·H``) and the
    weight gradients (``δ ⊗ [x_t, y_{t-1}]``: ``3H (I + H)``).
backward, event-driven
    ``R^T δ`` only for the units whose output has a non-zero derivative in the
    previous step (an event, or a non-zero pseudo-derivative): ``3H n_active(t-1)``;
    the weight gradients only for the columns of the forward pass: ``3H (nnz(x_t) +
    n_events(t-1))``.

Activity sparsity is the fraction of (unit, step) pairs without an event; backward
sparsity the fraction with a zero pseudo-derivative.
"""

from dataclasses import dataclass, asdict

import torch

from .cell import PSEUDO_DERIVATIVE_SHARPNESS

GATES = 3


@dataclass(frozen=True)
class EGRUOperations:
    """Sparsity and MACs per sample and step (averages over batch and time)."""
    activity: float            # events per unit and step
    activity_sparsity: float   # 1 - activity
    backward_sparsity: float   # fraction of zero pseudo-derivatives
    forward_dense: float
    forward_events: float
    backward_dense: float
    backward_events: float

    def as_dict(self):
        return asdict(self)


def _previous(per_step):
    """(T, B) counts shifted by one step, zero at t = 0 (no output before the start)."""
    return torch.cat([torch.zeros_like(per_step[:1]), per_step[:-1]])


def count_operations(x, step, threshold, sharpness=PSEUDO_DERIVATIVE_SHARPNESS):
    """Sparsity and MACs of one EGRU run.

    Parameters
    ----------
    x : tensor (T, B, I), the input sequence
    step : :class:`pyNN_sparsehw.training.egru.cell.EGRUStep` of (T, B, H) tensors
    threshold : tensor (H,), the thresholds θ
    sharpness : ε of the pseudo-derivative (zero where |ĉ - θ| >= 1/ε)
    """
    events = step.events.detach()
    hidden, inputs = events.shape[-1], x.shape[-1]
    surrogate = (step.c_before_reset.detach() - threshold.detach()).abs() * sharpness < 1.0
    active = (events > 0) | surrogate
    sent = _previous(events.sum(-1))
    input_columns = (x.detach() != 0).sum(-1).to(events.dtype)
    forward_events = GATES * hidden * (input_columns + sent)
    backward_events = GATES * hidden * _previous(active.sum(-1).to(events.dtype)) + \
        forward_events
    activity = float(events.mean())
    return EGRUOperations(
        activity=activity, activity_sparsity=1.0 - activity,
        backward_sparsity=1.0 - float(surrogate.to(events.dtype).mean()),
        forward_dense=float(GATES * hidden * (inputs + hidden)),
        forward_events=float(forward_events.mean()),
        backward_dense=float(GATES * hidden * hidden + GATES * hidden * (inputs + hidden)),
        backward_events=float(backward_events.mean()))


__all__ = ["EGRUOperations", "count_operations"]
