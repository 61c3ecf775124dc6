"""Units and time: NIR's continuous-time neurons as discrete-time chip neurons.

NIR describes neurons as ordinary differential equations with time in seconds and
dimensionless voltages and currents (``tau * dv/dt = (v_leak - v) + r * I``). A
network trained in discrete time (snnTorch, Norse, Sinabs, Spyx...) was exported with
some time step `dt` (seconds) and some rule that turned its per-step decay factors
into time constants. Reading a graph needs the same two things:

- `dt`: the seconds of one NIR step; each NIR step becomes one time step of the chip
  (``sim.setup(timestep=h)``, `h` in ms), so chip time is NIR time stretched by
  ``h / (1000 dt)``.
- the discretisation: ``"euler"`` (forward Euler, what every discrete-time exporter
  writes: decay ``1 - dt/tau``, input gain ``dt/tau``) or ``"exact"`` (the ODE solved
  over a step with the input held: decay ``exp(-dt/tau)``, gain ``1 - decay``).

From a decay factor `beta` per step and the chip's step `h` (ms) the chip's membrane
time constant is ``-h / ln(beta)``: the chip integrates its ODE exactly, so it decays
by `beta` per step. Voltages are taken as mV (a NIR voltage of 1 is 1 mV on the chip).

The functions here are the one place where these conversions live; the reader and the
writer both call them (see docs/nir.rst).
"""

import numpy as np
from scipy.special import exprel

DISCRETISATIONS = ("euler", "exact")

#: decay factor used for a membrane that should forget its state at every step
#: (Threshold nodes): exp(-50) ~ 2e-22, below double precision next to 1
FORGET_ALL_DECAY_EXPONENT = 50.0

#: membrane time constant (ms) that stands for "no leak" (IF nodes, decay 1): its
#: decay per 1 ms step, exp(-1e-12), is 1 to within double precision
NO_LEAK_TAU_MS = 1.0e12

#: threshold (mV) of a membrane that must never fire (LI, CubaLI nodes); finite, as
#: PyNN's parameter checks require, and far beyond any voltage a neuron reaches
NO_THRESHOLD_MV = 1.0e12


class DiscretisationError(ValueError):
    """A NIR time constant has no discrete-time counterpart at this time step."""


def check_discretisation(discretisation):
    if discretisation not in DISCRETISATIONS:
        raise ValueError(f"discretisation must be one of {', '.join(DISCRETISATIONS)}, "
                         f"got {discretisation!r}")


def decay_and_gain(tau, dt, discretisation):
    """Per-step decay factor and input gain of ``tau dx/dt = -x + input``.

    Parameters
    ----------
    tau : array
        Time constants in seconds (NIR's unit).
    dt : float
        Seconds per NIR step.
    discretisation : str
        ``"euler"``: decay ``1 - dt/tau``, gain ``dt/tau``; ``"exact"``: decay
        ``exp(-dt/tau)``, gain ``1 - decay``.

    Returns
    -------
    (decay, gain) : arrays
        ``x[t] = decay * x[t-1] + gain * input[t]``. With ``"euler"``, `decay` is
        negative where ``tau < dt``: the caller reports that node.
    """
    check_discretisation(discretisation)
    tau = np.asarray(tau, dtype=float)
    if discretisation == "euler":
        gain = dt / tau
        return 1.0 - gain, gain
    decay = np.exp(-dt / tau)
    return decay, 1.0 - decay


def tau_from_decay(decay, dt, discretisation):
    """NIR time constant (s) whose per-step decay is `decay` (inverse of
    :func:`decay_and_gain`)."""
    check_discretisation(discretisation)
    decay = np.asarray(decay, dtype=float)
    if discretisation == "euler":
        return dt / (1.0 - decay)
    return -dt / np.log(decay)


def chip_tau(decay, h):
    """Chip time constant (ms) that decays by `decay` over one chip step of `h` ms.

    A decay of 1 (no leak) gives :data:`NO_LEAK_TAU_MS`; a decay in (0, 1) gives
    ``-h / ln(decay)``. Decays outside (0, 1] have no chip counterpart: NaN."""
    decay = np.asarray(decay, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = np.where(decay >= 1.0, NO_LEAK_TAU_MS, -h / np.log(decay))
    return np.where((decay > 0.0) & (decay <= 1.0), tau, np.nan)


def chip_decay(tau_ms, h):
    """Per-step decay of a chip time constant `tau_ms` (ms) at step `h` (ms)."""
    return np.exp(-h / np.asarray(tau_ms, dtype=float))


def current_to_voltage(tau_m, tau_syn, c_m, h):
    """Voltage (mV) one chip step adds to the membrane per nA of exponential
    synaptic current present at the start of the step.

    The current-based LIF ``dv/dt = (v_rest - v)/tau_m + i/c_m``, ``di/dt = -i/tau_syn``,
    solved exactly over a step of `h` ms from ``i(0) = 1 nA``, ``v(0) = v_rest``::

        K = (1/c_m) * integral_0^h exp(-(h-s)/tau_m) exp(-s/tau_syn) ds
          = (h/c_m) * exp(-h/tau_m) * exprel(h (1/tau_m - 1/tau_syn))

    (exprel(x) = (e^x - 1)/x keeps equal time constants finite). Units: ms, nF -> mV/nA.
    """
    tau_m = np.asarray(tau_m, dtype=float)
    tau_syn = np.asarray(tau_syn, dtype=float)
    return (h / np.asarray(c_m, dtype=float)) * np.exp(-h / tau_m) \
        * exprel(h * (1.0 / tau_m - 1.0 / tau_syn))
