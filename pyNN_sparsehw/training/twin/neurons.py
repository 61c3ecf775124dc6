"""Differentiable twins of the chip's neuron circuits, one time step at a time.

Functional, in the style of Norse: a neuron model is a parameter record and a state
record (NamedTuples of tensors, one entry per neuron, PyNN's units: ms, mV, nA, nF,
nS) and a step function ``step(state, parameters, dt, ...) -> (spikes, state)``.

Each step follows the engine's schedule of one time step (Brian2's order, see
:mod:`pyNN_sparsehw.engine.core`), so that a twin fed the same input emits the
same spikes in the same steps:

1. integrate the state over [t, t + dt): exactly for the linear LIF (as the engine's
   ``exact`` integrator), with classic Runge-Kutta for the AdEx circuit (as the
   engine's ``rk4``); the membrane is frozen while refractory, the synaptic currents
   and the adaptation keep evolving;
2. round fixed-point state to its resolution (digital chip);
3. threshold: a neuron that is not refractory spikes when v >= its threshold; the
   spike is labelled t + dt;
4. add the synaptic events delivered in this step to the currents (the caller's
   ``exc``/``inh`` increments, nA);
5. reset the neurons that spiked, and count the refractory period, ``tau_refrac +
   dt`` rounded down to whole steps r (as Brian2's ``timestep``): the membrane stays
   frozen for the r - 1 steps after the spike's and integrates again (and may
   spike) in step n + r.

A spike is a Heaviside step of the scaled distance to threshold, differentiated
through the pseudo-derivative of Bellec et al. (2018),
``0.3 * max(0, 1 - |v_scaled|)`` with ``v_scaled = (v - threshold) / (threshold -
v_reset)``. A `substitute` tensor of recorded spikes replaces the twin's spikes in
the forward pass while the gradient stays the twin's (straight-through), so that
the twin follows the chip's spike history: the in-the-loop rule of hxtorch.
"""

from typing import NamedTuple

import torch

#: Bellec et al. (2018): dampening factor of the pseudo-derivative
DAMPENING = 0.3
#: Brian2 rounds durations to steps as int((t + 1e-3 dt) / dt)
STEP_ROUNDING = 1e-3


class SpikeFunction(torch.autograd.Function):
    """Heaviside(x >= 0) whose derivative is ``DAMPENING * max(0, 1 - |x|)``."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * DAMPENING * torch.clamp(1.0 - x.abs(), min=0.0)


def spike(v, threshold, scale, substitute=None):
    """Spikes (0/1) of membranes `v` at `threshold` (mV), the pseudo-derivative taken
    of (v - threshold) / scale (scale: the voltage that stands for one threshold,
    mV); `substitute` (recorded spikes) replaces the forward value and keeps this
    gradient."""
    z = SpikeFunction.apply((v - threshold) / scale)
    if substitute is not None:
        z = z + (substitute.to(z.dtype) - z).detach()
    return z


def refractory_steps(tau_refrac, dt):
    """Whole steps a membrane stays frozen after a spike: Brian2's
    ``timestep(tau_refrac + dt, dt)`` (the engine's refractory period)."""
    return torch.floor((tau_refrac + dt) / dt + STEP_ROUNDING).to(torch.int64)


def _round_state(v, lsb):
    """Fixed-point rounding of `v` to `lsb` (None or 0: none), straight-through."""
    if lsb is None:
        return v
    lsb = torch.as_tensor(lsb, dtype=v.dtype)
    if not bool(torch.any(lsb > 0)):
        return v
    safe = torch.where(lsb > 0, lsb, torch.ones_like(lsb))
    rounded = torch.where(lsb > 0, torch.floor(v / safe + 0.5) * safe, v)
    return v + (rounded - v).detach()


# ------------------------------------------------------------------------- LIF
class LIFParameters(NamedTuple):
    """Current-based LIF with two exponential synaptic inputs (``IF_curr_exp``).

    tau_m, tau_refrac, tau_exc, tau_inh in ms; v_rest, v_reset, v_thresh in mV;
    c_m in nF; i_offset in nA; v_lsb: resolution of a fixed-point membrane (mV, 0:
    floating point).
    """
    tau_m: torch.Tensor
    c_m: torch.Tensor
    v_rest: torch.Tensor
    v_reset: torch.Tensor
    v_thresh: torch.Tensor
    tau_refrac: torch.Tensor
    i_offset: torch.Tensor
    tau_exc: torch.Tensor
    tau_inh: torch.Tensor
    v_lsb: torch.Tensor


class LIFState(NamedTuple):
    """v (mV), synaptic currents i_exc, i_inh (nA), refractory steps left."""
    v: torch.Tensor
    i_exc: torch.Tensor
    i_inh: torch.Tensor
    refractory: torch.Tensor


def lif_initial_state(parameters, batch, v=None):
    """Every neuron at rest (or at `v`, mV), no current, not refractory."""
    shape = (batch,) + tuple(parameters.v_rest.shape)
    v0 = parameters.v_rest if v is None else torch.as_tensor(v, dtype=parameters.v_rest.dtype)
    zeros = torch.zeros(shape, dtype=parameters.v_rest.dtype)
    return LIFState(v0.expand(shape).clone(), zeros, zeros.clone(),
                    torch.zeros(shape, dtype=torch.int64))


def _synaptic_coefficient(tau_m, tau_s, c_m, dt):
    """mV reached after dt by a current of 1 nA decaying with tau_s into a membrane
    (tau_m, c_m) starting from rest: tau_m tau_s (e^-dt/tau_s - e^-dt/tau_m) /
    (c_m (tau_s - tau_m)), and its limit dt e^-dt/tau_m / c_m for equal constants."""
    a_m, a_s = torch.exp(-dt / tau_m), torch.exp(-dt / tau_s)
    equal = torch.isclose(tau_m, tau_s, rtol=1e-9, atol=0.0)
    diff = torch.where(equal, torch.ones_like(tau_m), tau_s - tau_m)
    general = tau_m * tau_s * (a_s - a_m) / (c_m * diff)
    return torch.where(equal, dt * a_m / c_m, general)


class LIFConstants(NamedTuple):
    """What one LIF step needs, computed once from the parameters and dt: decay
    factors of the membrane and currents, the membrane's resting drive (mV), the mV
    per nA of each current over one step, threshold, reset, the scale of the
    pseudo-derivative (mV), refractory steps, fixed-point resolution (None: float)."""
    a_m: torch.Tensor
    a_exc: torch.Tensor
    a_inh: torch.Tensor
    v_inf: torch.Tensor
    k_exc: torch.Tensor
    k_inh: torch.Tensor
    v_thresh: torch.Tensor
    v_reset: torch.Tensor
    scale: torch.Tensor
    refractory: torch.Tensor
    v_lsb: object


def lif_constants(p, dt):
    """:class:`LIFConstants` of parameters `p` at time step `dt` (ms)."""
    lsb = p.v_lsb if bool(torch.any(p.v_lsb > 0)) else None
    return LIFConstants(torch.exp(-dt / p.tau_m), torch.exp(-dt / p.tau_exc),
                        torch.exp(-dt / p.tau_inh), p.v_rest + p.tau_m / p.c_m * p.i_offset,
                        _synaptic_coefficient(p.tau_m, p.tau_exc, p.c_m, dt),
                        _synaptic_coefficient(p.tau_m, p.tau_inh, p.c_m, dt),
                        p.v_thresh, p.v_reset, p.v_thresh - p.v_reset,
                        refractory_steps(p.tau_refrac, dt), lsb)


def lif_integrate(state, c, frozen):
    """Exact solution over one step of the linear LIF and its currents (constants
    `c`; the membrane of `frozen` neurons stays). Returns (v, i_exc, i_inh)."""
    v = c.v_inf + (state.v - c.v_inf) * c.a_m + c.k_exc * state.i_exc + c.k_inh * state.i_inh
    return torch.where(frozen, state.v, v), state.i_exc * c.a_exc, state.i_inh * c.a_inh


def _count_down(refractory):
    """Refractory steps left in this step; the membrane is frozen while > 0.

    Brian2 decides at each step's integration whether (t - lastspike) has reached
    the refractory period: a neuron that spiked in step n integrates again in step
    n + refractory_steps and may spike in that same step."""
    return torch.clamp(refractory - 1, min=0)


def _fire_and_reset(v, threshold, scale, v_reset, refractory_period, counting, substitute):
    """Threshold test (not while refractory), reset to v_reset, new refractory count."""
    z = spike(v, threshold, scale) * (counting == 0).to(v.dtype)
    if substitute is not None:
        z = z + (substitute.to(z.dtype) - z).detach()
    fired = z.detach() > 0
    # the reset does not carry gradient (Bellec et al. 2018)
    v = torch.where(fired, v_reset.expand_as(v), v)
    refractory = torch.where(fired, refractory_period.expand_as(counting), counting)
    return z, v, refractory


def lif_advance(state, c, exc=0.0, inh=0.0, substitute=None):
    """One time step of the LIF twin with precomputed constants `c`
    (:func:`lif_constants`); see :func:`lif_step`."""
    counting = _count_down(state.refractory)
    v, i_exc, i_inh = lif_integrate(state, c, counting > 0)
    v = _round_state(v, c.v_lsb)
    z, v, refractory = _fire_and_reset(v, c.v_thresh, c.scale, c.v_reset, c.refractory,
                                       counting, substitute)
    return z, LIFState(v, i_exc + exc, i_inh + inh, refractory)


def lif_step(state, p, dt, exc=0.0, inh=0.0, substitute=None):
    """One time step of the LIF twin (module docstring). `exc`, `inh`: currents
    (nA) delivered in this step; `substitute`: recorded spikes of this step.
    Returns (spikes, new state)."""
    return lif_advance(state, lif_constants(p, dt), exc, inh, substitute)


# ------------------------------------------------------------------------ AdEx
class AdExParameters(NamedTuple):
    """The AdEx circuit (the analog chip's neuron), current-based inputs: LIF
    parameters plus a (nS), b (nA), delta_T (mV; 0: no exponential term, v_thresh
    is the threshold), tau_w (ms), v_spike (mV, the threshold when delta_T > 0)."""
    tau_m: torch.Tensor
    c_m: torch.Tensor
    v_rest: torch.Tensor
    v_reset: torch.Tensor
    v_thresh: torch.Tensor
    tau_refrac: torch.Tensor
    i_offset: torch.Tensor
    tau_exc: torch.Tensor
    tau_inh: torch.Tensor
    a: torch.Tensor
    b: torch.Tensor
    delta_T: torch.Tensor
    tau_w: torch.Tensor
    v_spike: torch.Tensor


class AdExState(NamedTuple):
    """v (mV), adaptation current w (nA), synaptic currents (nA), refractory steps."""
    v: torch.Tensor
    w: torch.Tensor
    i_exc: torch.Tensor
    i_inh: torch.Tensor
    refractory: torch.Tensor


def adex_initial_state(parameters, batch, v=None):
    """At rest (or `v`), no adaptation, no current, not refractory."""
    lif = lif_initial_state(parameters, batch, v)
    return AdExState(lif.v, torch.zeros_like(lif.v), lif.i_exc, lif.i_inh, lif.refractory)


def _adex_derivatives(v, w, i_exc, i_inh, p, frozen):
    """d/dt of (v, w, i_exc, i_inh) in mV/ms and nA/ms, as the engine's equations
    (the exponential's argument clipped at v_spike)."""
    g_l = p.c_m / p.tau_m                                           # uS
    exponent = (torch.minimum(v, p.v_spike) - p.v_thresh) / torch.where(
        p.delta_T > 0, p.delta_T, torch.ones_like(p.delta_T))
    i_exp = torch.where(p.delta_T > 0, g_l * p.delta_T * torch.exp(exponent),
                        torch.zeros_like(v))                        # nA
    dv = (g_l * (p.v_rest - v) + i_exp - w + i_exc + i_inh + p.i_offset) / p.c_m
    dv = torch.where(frozen, torch.zeros_like(dv), dv)
    dw = (1e-3 * p.a * (v - p.v_rest) - w) / p.tau_w                 # nS * mV = 1e-3 nA
    return dv, dw, -i_exc / p.tau_exc, -i_inh / p.tau_inh


def adex_integrate(state, p, dt, frozen):
    """One classic Runge-Kutta step of the AdEx circuit (the engine's ``rk4``), the
    membrane of `frozen` neurons held. Returns (v, w, i_exc, i_inh)."""
    x = (state.v, state.w, state.i_exc, state.i_inh)
    k1 = _adex_derivatives(*x, p, frozen)
    k2 = _adex_derivatives(*(s + dt / 2 * k for s, k in zip(x, k1)), p, frozen)
    k3 = _adex_derivatives(*(s + dt / 2 * k for s, k in zip(x, k2)), p, frozen)
    k4 = _adex_derivatives(*(s + dt * k for s, k in zip(x, k3)), p, frozen)
    return tuple(s + dt / 6 * (a + 2 * b + 2 * c + d)
                 for s, a, b, c, d in zip(x, k1, k2, k3, k4))


def adex_step(state, p, dt, exc=0.0, inh=0.0, substitute=None):
    """One time step of the AdEx twin: integrate, threshold (v_spike with the
    exponential term, else v_thresh), deliver input, reset v and add b to w."""
    counting = _count_down(state.refractory)
    v, w, i_exc, i_inh = adex_integrate(state, p, dt, counting > 0)
    threshold = torch.where(p.delta_T > 0, p.v_spike, p.v_thresh)
    z, v, refractory = _fire_and_reset(v, threshold, threshold - p.v_reset, p.v_reset,
                                       refractory_steps(p.tau_refrac, dt), counting,
                                       substitute)
    w = w + p.b * z.detach()
    return z, AdExState(v, w, i_exc + exc, i_inh + inh, refractory)


# ------------------------------------------------------------------------ ALIF
class ALIFParameters(NamedTuple):
    """Adaptive-threshold LIF with voltage-jump inputs (``ALIF_curr_delta``, NEST's
    ``eprop_iaf_adapt``; docs/alif.rst): tau_m, tau_refrac, tau_a in ms; c_m in nF;
    v_rest, v_thresh, beta in mV; i_offset in nA; v_lsb (mV) and b_lsb: fixed-point
    resolutions of the state (0: floating point)."""
    tau_m: torch.Tensor
    c_m: torch.Tensor
    v_rest: torch.Tensor
    v_thresh: torch.Tensor
    tau_refrac: torch.Tensor
    i_offset: torch.Tensor
    tau_a: torch.Tensor
    beta: torch.Tensor
    v_lsb: torch.Tensor
    b_lsb: torch.Tensor


class ALIFState(NamedTuple):
    """v (mV), threshold adaptation b, the previous step's spike z, refractory steps
    left, and the current i_in (nA) applied in the next step."""
    v: torch.Tensor
    b: torch.Tensor
    z: torch.Tensor
    refractory: torch.Tensor
    i_in: torch.Tensor


def alif_initial_state(parameters, batch, v=None):
    """At rest (or `v`), no adaptation, no current (as NEST, the offset current acts
    from the second step on)."""
    lif = lif_initial_state(parameters, batch, v)
    return ALIFState(lif.v, lif.i_exc, lif.i_inh, lif.refractory, torch.zeros_like(lif.v))


class ALIFConstants(NamedTuple):
    """What one ALIF step needs, computed once from the parameters and dt: membrane
    and adaptation decay factors, mV per nA of current over one step, base threshold
    and its distance from rest (mV, the reset and the pseudo-derivative's scale),
    threshold_step (the parameter beta, mV), refractory steps, offset current (nA),
    fixed-point resolutions (None: floating point)."""
    alpha: torch.Tensor
    rho: torch.Tensor
    resistance: torch.Tensor
    v_rest: torch.Tensor
    v_thresh: torch.Tensor
    base: torch.Tensor
    threshold_step: torch.Tensor
    refractory: torch.Tensor
    i_offset: torch.Tensor
    v_lsb: torch.Tensor
    b_lsb: torch.Tensor


def alif_constants(p, dt):
    """:class:`ALIFConstants` of parameters `p` at time step `dt` (ms)."""
    alpha = torch.exp(-dt / p.tau_m)

    def resolution(lsb):
        return lsb if bool(torch.any(lsb > 0)) else None
    return ALIFConstants(alpha, torch.exp(-dt / p.tau_a), p.tau_m * (1 - alpha) / p.c_m,
                         p.v_rest, p.v_thresh, p.v_thresh - p.v_rest, p.beta,
                         torch.floor(p.tau_refrac / dt + 0.5).to(torch.int64), p.i_offset,
                         resolution(p.v_lsb), resolution(p.b_lsb))


def alif_advance(state, c, exc=0.0, inh=0.0, substitute=None):
    """One time step of the ALIF twin with precomputed constants `c`
    (:func:`alif_constants`); see :func:`alif_step`."""
    v = c.v_rest + c.alpha * (state.v - c.v_rest) + c.resistance * state.i_in
    b = c.rho * state.b + state.z
    v = _round_state(v, c.v_lsb) + exc + inh
    b = _round_state(b, c.b_lsb)
    z = spike(v, c.v_thresh + c.threshold_step * b, c.base) * \
        (state.refractory == 0).to(v.dtype)
    if substitute is not None:
        z = z + (substitute.to(z.dtype) - z).detach()
    v = v - z.detach() * c.base
    refractory = torch.clamp(torch.where(z.detach() > 0, c.refractory.expand_as(state.refractory),
                                         state.refractory) - 1, min=0)
    return z, ALIFState(v, b, z, refractory, c.i_offset.expand_as(v))


def alif_step(state, p, dt, exc=0.0, inh=0.0, substitute=None):
    """One step of docs/alif.rst: decay with the previous step's current, the
    adaptation's jump for the previous spike, fixed-point rounding, this step's
    voltage jumps `exc` + `inh` (mV), threshold ``v_thresh + beta * b``, reset by
    subtracting ``v_thresh - v_rest``, refractory count ``round(tau_refrac / dt)``.

    The threshold's dependence on b carries gradient (back-propagation through the
    adaptation, as Bellec et al. 2018); the reset does not."""
    return alif_advance(state, alif_constants(p, dt), exc, inh, substitute)
