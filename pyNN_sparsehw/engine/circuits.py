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
aeif_cond_exp, izhikevich, hh_cond_exp_traub, iaf_cond_exp_sfa_rr, eprop_iaf_adapt,
gif_cond_exp) so that the `ideal` chip reproduces it.
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
    # statements run in every step after the integration and before the threshold
    # test (discrete-time parts of a model, e.g. a jump that enters one step late)
    after_integration: str = ""
    # state variable sent with each event (graded events: a synapse adds weight *
    # payload); "" for binary spikes (weight * 1)
    payload: str = ""


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
    # Brian2 slot of the synaptic pathway when the event must reach the target before
    # the target's own update ("": the default, after the thresholds)
    pathway_when: str = ""

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
        name="alif",
        # NEST 3.10's eprop_iaf_adapt (docs/alif.rst): the currents of a step act in the
        # next step (i_in), the threshold v_thresh + beta*b, reset by subtracting the
        # base threshold in the spike's step, b's jump entering one step after the spike
        # (z_spike), refractoriness that blocks spiking but not integration (n_ref)
        equations="""
            dv/dt = (v_rest - v)/tau_m + i_in/c_m : volt
            db/dt = -b/tau_a : 1
            i_in : amp
            z_spike : 1
            n_ref : 1
        """,
        parameters=dict(v_rest=mV, tau_m=ms, c_m=nF, v_thresh=mV, tau_refrac=ms,
                        i_offset=nA, tau_a=ms, beta=mV),
        states=dict(v=mV, b=brian2.Unit(1)),
        threshold="v >= v_thresh + beta*b and n_ref < 0.5",
        reset="v -= v_thresh - v_rest; z_spike = 1; n_ref = floor(tau_refrac/dt + 0.5)",
        refractory=None,
        method="linear",
        after_integration="b += z_spike; z_spike = 0; n_ref = clip(n_ref - 1, 0, inf); "
                          "i_in = i_offset + i_inj",
    ),
    Membrane(
        name="gif",
        # Mensi et al. 2012 / Pozzorini et al. 2015 as NEST's gif_cond_exp: spike-
        # triggered current i_eta and moving threshold v_t, each a sum of GIF_COMPONENTS
        # exponentials; written as the sum plus components 2..3 so that i_eta and v_t
        # are state variables (component 1 = sum - the others). Escape noise: in a step
        # the neuron fires with probability 1 - exp(-lambda*dt), drawn with Brian2's
        # seeded rand()
        equations="""
            dv/dt = (v_rest - v)/tau_m + (i_syn + i_offset + i_inj - i_eta)/c_m : volt (unless refractory)
            di_eta/dt = -(i_eta - eta2 - eta3)/tau_eta1 - eta2/tau_eta2 - eta3/tau_eta3 : amp
            deta2/dt = -eta2/tau_eta2 : amp
            deta3/dt = -eta3/tau_eta3 : amp
            dv_t/dt = -(v_t - v_t_star - gamma2 - gamma3)/tau_gamma1 - gamma2/tau_gamma2 - gamma3/tau_gamma3 : volt
            dgamma2/dt = -gamma2/tau_gamma2 : volt
            dgamma3/dt = -gamma3/tau_gamma3 : volt
        """,
        parameters=dict(v_rest=mV, tau_m=ms, c_m=nF, v_reset=mV, tau_refrac=ms, i_offset=nA,
                        delta_v=mV, v_t_star=mV, lambda0=brian2.Hz,
                        tau_eta1=ms, tau_eta2=ms, tau_eta3=ms, a_eta1=nA, a_eta2=nA,
                        a_eta3=nA, tau_gamma1=ms, tau_gamma2=ms, tau_gamma3=ms,
                        a_gamma1=mV, a_gamma2=mV, a_gamma3=mV),
        states=dict(v=mV, i_eta=nA, v_t=mV),
        threshold="rand() < 1 - exp(-lambda0*exp((v - v_t)/delta_v)*dt)",
        reset="""v = v_reset
                 i_eta += a_eta1 + a_eta2 + a_eta3
                 eta2 += a_eta2
                 eta3 += a_eta3
                 v_t += a_gamma1 + a_gamma2 + a_gamma3
                 gamma2 += a_gamma2
                 gamma3 += a_gamma3""",
        refractory="tau_refrac + dt",
        method="linear",
    ),
    Membrane(
        name="egru",
        # event-based GRU unit (Subramoney et al. 2023; docs/egru.rst), updated once per
        # time step: the four "graded" receptors a_<gate> hold the sums delivered in this
        # step (weight * graded event of the previous step, or weight * 1 for a spike);
        # the update computes the gates, the candidate (the reset gate scales only its
        # recurrent part), the state c and the payload y = c (each in its own fixed
        # point on a digital chip), then clears the sums. An event when c >= theta
        # latches y into y_sent, which its synapses deliver (weight * y_sent) in the
        # next step, before any later event can change it; the reset subtracts theta
        equations="""
            c : 1
            y : 1
            y_sent : 1
        """,
        parameters=dict(b_update=brian2.Unit(1), b_reset=brian2.Unit(1),
                        b_candidate=brian2.Unit(1), b_candidate_recurrent=brian2.Unit(1),
                        theta=brian2.Unit(1)),
        states=dict(c=brian2.Unit(1), y=brian2.Unit(1)),
        threshold="c >= theta",
        reset="c -= theta; y_sent = y",
        refractory=None,
        method="linear",
        after_integration=(
            "u_gate = 1/(1 + exp(-(a_update + b_update)))\n"
            "r_gate = 1/(1 + exp(-(a_reset + b_reset)))\n"
            "c = u_gate*tanh(a_candidate_input + b_candidate + "
            "r_gate*(a_candidate_recurrent + b_candidate_recurrent)) + (1 - u_gate)*c\n"
            "y = c\n"
            "a_update = 0\na_reset = 0\na_candidate_input = 0\na_candidate_recurrent = 0"),
        payload="y_sent",
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
        # a sum of graded events for a discrete-time unit (egru), cleared by its update;
        # delivered before the groups' update so that the unit sees the events of the
        # previous step in this one
        name="graded",
        equations="a_{r} : 1\n",
        parameters={}, states={"a_{r}": brian2.Unit(1)},
        current="", target="a_{r}", factor=1.0, weight_unit=brian2.Unit(1), linear=True,
        pathway_when="before_groups"),
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


#: exponentials in the spike-triggered current and in the moving threshold of the
#: "gif" membrane (PyNN's GIF_cond_exp has three of each by default)
GIF_COMPONENTS = 3

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


__all__ = ["MEMBRANES", "KINETICS", "GIF_COMPONENTS", "Membrane", "Kinetics",
           "integration_method", "unit_of", "receptor_equations", "Propagators",
           "PropagatorUpdate", "propagators_for"]
