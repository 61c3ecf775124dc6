"""Equations of the neuron and synapse circuits the engine can simulate.

A neuron group is a *membrane* (the soma: LIF, AdEx, Izhikevich, Hodgkin-Huxley,
LIF with spike-frequency adaptation and relative refractoriness) combined with any
number of named *receptors*, each with a kinetics (how a synaptic event shapes the
input: exponential or alpha current/conductance, or a voltage jump). Each is a
:class:`Membrane` or :class:`Kinetics` record holding Brian2 equation text plus the
units of every parameter and state variable. Values reach the engine in PyNN's standard units
(ms, mV, nA, nF, µS, nS for adaptation conductances, Hz) and are multiplied by
the Brian2 unit declared here, which is the single place where units are fixed.

The models follow the reference simulator NEST (iaf_psc_exp, iaf_cond_exp,
aeif_cond_exp, izhikevich, hh_cond_exp_traub, iaf_cond_exp_sfa_rr) so that the
`ideal` chip reproduces it.
"""

from dataclasses import dataclass, field

import numpy as np

import brian2
from brian2 import mV, ms, nA, nF, uS, nS

from .integrators import CachedIntegrator

E_ALPHA = 2.718281828459045  # e: alpha kernels peak at w for t = tau


@dataclass(frozen=True)
class Membrane:
    """A soma circuit: equations using ``i_syn`` (amp) from the kinetics."""
    name: str
    equations: str
    parameters: dict
    states: dict
    threshold: str
    reset: str
    # refractory period: an expression of time, or None. Brian2 counts it from the
    # start of the step in which the spike occurs, NEST from its end: hence "+ dt"
    refractory: object
    method: str
    voltage_jump_target: str = "v"
    extra_states: dict = field(default_factory=dict)  # internal, not user-visible


@dataclass(frozen=True)
class Kinetics:
    """A synaptic receptor: the shape one synaptic event gives to the input.

    Equations, parameter and state names contain ``{r}``, replaced by the receptor's
    name, so that a neuron may have any number of receptors. `current` is the
    receptor's contribution to ``i_syn``; `target` the variable an event increments
    (by the weight times `factor`).
    """
    name: str
    equations: str
    parameters: dict
    states: dict
    current: str
    target: str
    factor: float
    weight_unit: object
    linear: bool

    def for_receptor(self, receptor):
        """(equations, parameter units, state units) with ``{r}`` = `receptor`."""
        def named(table):
            return {key.format(r=receptor): unit for key, unit in table.items()}
        return (self.equations.format(r=receptor), named(self.parameters),
                named(self.states))


MEMBRANES = {m.name: m for m in [
    Membrane(
        name="lif",
        equations="""
            dv/dt = (v_rest - v)/tau_m + (i_syn + i_offset + i_inj)/c_m : volt (unless refractory)
        """,
        parameters=dict(v_rest=mV, tau_m=ms, c_m=nF, v_thresh=mV, v_reset=mV,
                        tau_refrac=ms, i_offset=nA),
        states=dict(v=mV),
        threshold="v >= v_thresh",
        reset="v = v_reset",
        refractory="tau_refrac + dt",
        method="linear",
    ),
    Membrane(
        name="adex",
        equations="""
            dv/dt = (g_L*(v_rest - v) + i_exp - w + i_syn + i_offset + i_inj)/c_m : volt (unless refractory)
            dw/dt = (a*(v - v_rest) - w)/tau_w : amp
            g_L = c_m/tau_m : siemens
            i_exp = g_L*delta_T*exp((clip(v, -1*volt, v_spike) - v_thresh)/(delta_T + int(delta_T <= 0*mV)*mV)) : amp
        """,
        parameters=dict(v_rest=mV, tau_m=ms, c_m=nF, v_thresh=mV, v_reset=mV,
                        tau_refrac=ms, i_offset=nA, a=nS, b=nA, delta_T=mV,
                        tau_w=ms, v_spike=mV),
        states=dict(v=mV, w=nA),
        # with delta_T = 0 the exponential term vanishes and v_thresh is the threshold
        threshold="(delta_T > 0*mV and v >= v_spike) or (delta_T <= 0*mV and v >= v_thresh)",
        reset="v = v_reset; w += b",
        refractory="tau_refrac + dt",
        method="rk4",
    ),
    Membrane(
        name="lif_sfa_rr",
        equations="""
            dv/dt = ((v_rest - v)*c_m/tau_m + g_s*(e_rev_sfa - v) + g_r*(e_rev_rr - v) + i_syn + i_offset + i_inj)/c_m : volt (unless refractory)
            dg_s/dt = -g_s/tau_sfa : siemens
            dg_r/dt = -g_r/tau_rr : siemens
        """,
        parameters=dict(v_rest=mV, tau_m=ms, c_m=nF, v_thresh=mV, v_reset=mV,
                        tau_refrac=ms, i_offset=nA, tau_sfa=ms, e_rev_sfa=mV,
                        q_sfa=nS, tau_rr=ms, e_rev_rr=mV, q_rr=nS),
        states=dict(v=mV, g_s=nS, g_r=nS),
        threshold="v >= v_thresh",
        reset="v = v_reset; g_s += q_sfa; g_r += q_rr",
        refractory="tau_refrac + dt",
        method="rk4",
    ),
    Membrane(
        name="izhikevich",
        # 1 nA drives 1000 mV/ms, as in NEST's izhikevich (I_e in pA added to dv/dt in mV/ms)
        equations="""
            dv/dt = (0.04/ms/mV)*v**2 + (5/ms)*v + 140*mV/ms - u + (i_offset + i_inj + i_syn)/pF : volt
            du/dt = a*(b*v - u) : volt/second
        """,
        parameters=dict(a=1 / ms, b=1 / ms, c=mV, d=mV / ms, i_offset=nA),
        states=dict(v=mV, u=mV / ms),
        threshold="v >= 30*mV",
        reset="v = c; u += d",
        refractory=None,
        method="euler",
    ),
    Membrane(
        name="hh",
        # Traub-Miles as NEST's hh_cond_exp_traub; the spike is registered at the
        # peak of the action potential, as NEST does
        equations="""
            dv/dt = (g_leak*(e_rev_leak - v) - gbar_Na*m**3*h*(v - e_rev_Na) - gbar_K*n**4*(v - e_rev_K) + i_syn + i_offset + i_inj)/c_m : volt
            dm/dt = alpha_m*(1 - m) - beta_m*m : 1
            dn/dt = alpha_n*(1 - n) - beta_n*n : 1
            dh/dt = alpha_h*(1 - h) - beta_h*h : 1
            u_hh = v - v_offset : volt
            alpha_m = 0.32/mV*(13*mV - u_hh)/(exp((13*mV - u_hh)/(4*mV)) - 1)/ms : Hz
            beta_m = 0.28/mV*(u_hh - 40*mV)/(exp((u_hh - 40*mV)/(5*mV)) - 1)/ms : Hz
            alpha_h = 0.128*exp((17*mV - u_hh)/(18*mV))/ms : Hz
            beta_h = 4/(1 + exp((40*mV - u_hh)/(5*mV)))/ms : Hz
            alpha_n = 0.032/mV*(15*mV - u_hh)/(exp((15*mV - u_hh)/(5*mV)) - 1)/ms : Hz
            beta_n = 0.5*exp((10*mV - u_hh)/(40*mV))/ms : Hz
            v_previous : volt
        """,
        parameters=dict(gbar_Na=uS, gbar_K=uS, g_leak=uS, c_m=nF, v_offset=mV,
                        e_rev_Na=mV, e_rev_K=mV, e_rev_leak=mV, i_offset=nA),
        states=dict(v=mV, m=brian2.Unit(1), n=brian2.Unit(1), h=brian2.Unit(1)),
        threshold="v > v_offset + 30*mV and v < v_previous",
        reset="",
        refractory=2 * ms,
        method="rk4_substeps",
    ),
]}


KINETICS = {k.name: k for k in [
    Kinetics(
        name="curr_exp",
        equations="di_{r}/dt = -i_{r}/tau_{r} : amp\n",
        parameters={"tau_{r}": ms}, states={"i_{r}": nA},
        current="i_{r}", target="i_{r}", factor=1.0, weight_unit=nA, linear=True),
    Kinetics(
        name="curr_alpha",
        equations="di_{r}/dt = (x_{r} - i_{r})/tau_{r} : amp\n"
                  "dx_{r}/dt = -x_{r}/tau_{r} : amp\n",
        parameters={"tau_{r}": ms}, states={"i_{r}": nA, "x_{r}": nA},
        current="i_{r}", target="x_{r}", factor=E_ALPHA, weight_unit=nA, linear=True),
    Kinetics(
        name="voltage_jump",
        equations="",
        parameters={}, states={},
        current="", target="v", factor=1.0, weight_unit=mV, linear=True),
    Kinetics(
        name="cond_exp",
        equations="dg_{r}/dt = -g_{r}/tau_{r} : siemens\n",
        parameters={"tau_{r}": ms, "e_{r}": mV}, states={"g_{r}": uS},
        current="g_{r}*(e_{r} - v)", target="g_{r}", factor=1.0, weight_unit=uS,
        linear=False),
    Kinetics(
        name="cond_alpha",
        equations="dg_{r}/dt = (y_{r} - g_{r})/tau_{r} : siemens\n"
                  "dy_{r}/dt = -y_{r}/tau_{r} : siemens\n",
        parameters={"tau_{r}": ms, "e_{r}": mV}, states={"g_{r}": uS, "y_{r}": uS},
        current="g_{r}*(e_{r} - v)", target="y_{r}", factor=E_ALPHA, weight_unit=uS,
        linear=False),
]}


def receptor_equations(receptors):
    """Brian2 equations, parameter units and state units of a set of receptors.

    `receptors` maps receptor name to kinetics name; the equations define ``i_syn``
    as the sum of the receptors' currents.
    """
    equations, parameters, states, currents = [], {}, {}, []
    for receptor, kind in receptors.items():
        kinetics = KINETICS[kind]
        eqs, params, sts = kinetics.for_receptor(receptor)
        equations.append(eqs)
        parameters.update(params)
        states.update(sts)
        if kinetics.current:
            currents.append(kinetics.current.format(r=receptor))
    equations.append(f"i_syn = {' + '.join(currents) or '0*amp'} : amp\n")
    return "".join(equations), parameters, states


class Propagators:
    """Exact integration of the leaky membrane with exponential current receptors,
    from per-neuron propagators computed once (as NEST's iaf_psc_exp does).

    Brian2's ``exact`` method derives the same solution but evaluates a dozen
    exponentials per neuron and step; here they are per-neuron variables
    (``P_v``, ``P_{r}``, ``P_decay_{r}``), recomputed by :meth:`compute` when a time
    constant or the capacitance changes. During the refractory period v stays, the
    currents decay. Applicable when every receptor is ``curr_exp`` or
    ``voltage_jump`` (:func:`propagators_for`).
    """

    def __init__(self, receptors):
        self.currents = [r for r, kind in receptors.items() if kind == "curr_exp"]

    def inputs(self):
        """The parameters the propagators depend on."""
        return {"tau_m", "c_m", *(f"tau_{r}" for r in self.currents)}

    def declarations(self):
        """Brian2 declarations of the propagator variables."""
        return "P_v : 1\n" + "".join(f"P_{r} : ohm\nP_decay_{r} : 1\n" for r in self.currents)

    def code(self):
        """Brian2 abstract code advancing v and the currents by one step."""
        drive = " + ".join(f"P_{r}*i_{r}" for r in self.currents) or "0*volt"
        lines = ["v_inf = v_rest + (i_offset + i_inj)*tau_m/c_m",
                 f"_v = v_inf + (v - v_inf)*P_v + {drive}",
                 "v = v + int(not_refractory)*(_v - v)"]
        lines += [f"i_{r} = P_decay_{r}*i_{r}" for r in self.currents]
        return "\n".join(lines)

    def compute(self, values, dt):
        """Propagators (Brian2 quantities) from per-neuron `values` in standard units
        (tau in ms, c_m in nF) at time step `dt` (ms)."""
        tau_m = np.asarray(values["tau_m"], dtype=float)
        c_m = np.asarray(values["c_m"], dtype=float)
        decay_m = np.exp(-dt / tau_m)
        result = {"P_v": decay_m}
        for r in self.currents:
            tau = np.asarray(values[f"tau_{r}"], dtype=float)
            # (e^{-h/tau_m} - e^{-h/tau}) tau tau_m / (tau_m - tau), stable as tau -> tau_m
            rate = 1.0 / tau - 1.0 / tau_m
            small = np.abs(rate * dt) < 1e-12
            safe = np.where(small, 1.0, rate)
            window = np.where(small, dt, -np.expm1(-dt * safe) / safe)
            result[f"P_{r}"] = decay_m * window / c_m * brian2.Mohm
            result[f"P_decay_{r}"] = np.exp(-dt / tau)
        return result


class PropagatorUpdate(brian2.StateUpdateMethod):
    """A Brian2 state updater emitting the code of a :class:`Propagators`."""

    def __init__(self, propagators):
        self.propagators = propagators
        self.__name__ = "propagators"

    def can_integrate(self, equations, variables, method_options=None):
        return True

    def __call__(self, equations, variables=None, method_options=None):
        return self.propagators.code()

    def __repr__(self):
        return "PropagatorUpdate()"


def propagators_for(membrane, receptors):
    """The :class:`Propagators` of a neuron circuit, or None where Brian2 integrates."""
    if membrane.name == "lif" and receptors and all(
            kind in ("curr_exp", "voltage_jump") for kind in receptors.values()):
        return Propagators(receptors)
    return None


def integration_method(membrane, receptors, dt):
    """Brian2 integration method for a membrane with the given receptor kinetics
    at time step `dt` (ms); its derived code is cached on disk (see
    :mod:`.integrators`).

    Linear current-based LIF is integrated exactly. Conductance input makes the
    system nonlinear (g*v): classic Runge-Kutta keeps it within 1e-6 mV of the exact
    solution at dt = 0.1 ms, as NEST's adaptive solver does; exponential Euler (g
    frozen over a step) would be off by ~0.02 mV per PSP and shift spikes by a step.
    """
    if membrane.method == "linear":
        linear = all(KINETICS[kind].linear for kind in receptors.values())
        return CachedIntegrator("exact" if linear else "rk4")
    if membrane.method == "rk4_substeps":
        n = int(np.ceil(dt / HH_MAX_STEP - 1e-9))
        return CachedIntegrator(rk4_substeps(n), name=f"rk4 x {n} substeps")
    return CachedIntegrator(membrane.method)


#: longest step (ms) of the Hodgkin-Huxley integration: classic Runge-Kutta is unstable
#: on the gating variables at 0.1 ms; at 0.025 ms spike times equal those at 0.01 ms
#: (where they match NEST's adaptive solver) and code generation stays short
HH_MAX_STEP = 0.025


def rk4_substeps(n):
    """A Brian2 state updater doing `n` classic Runge-Kutta steps of dt/n per step."""
    if n <= 1:
        return "rk4"
    lines, previous = [], "x"
    for k in range(n):
        h, start, half = f"dt/{n}", f"t + {k}*dt/{n}", f"dt/{2 * n}"
        lines += [f"a{k} = {h}*f({previous}, {start})",
                  f"b{k} = {h}*f({previous} + a{k}/2, {start} + {half})",
                  f"c{k} = {h}*f({previous} + b{k}/2, {start} + {half})",
                  f"d{k} = {h}*f({previous} + c{k}, {start} + {h})"]
        new = "x_new" if k == n - 1 else f"x_sub{k + 1}"
        lines.append(f"{new} = {previous} + (a{k} + 2*b{k} + 2*c{k} + d{k})/6")
        previous = new
    return brian2.ExplicitStateUpdater("\n".join(lines))


def unit_of(name, membrane, receptors):
    """Brian2 unit of a parameter or state variable of a neuron circuit."""
    _, parameters, states = receptor_equations(receptors)
    for table in (membrane.parameters, membrane.states, parameters, states):
        if name in table:
            return table[name]
    raise KeyError(f"variable '{name}' is not part of the {membrane.name} circuit with "
                   f"receptors {dict(receptors)}")


__all__ = ["MEMBRANES", "KINETICS", "Membrane", "Kinetics", "integration_method", "unit_of",
           "receptor_equations", "Propagators", "PropagatorUpdate", "propagators_for"]
