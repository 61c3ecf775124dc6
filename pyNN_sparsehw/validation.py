"""Validation of user input, before any simulation.

One place for the rules that make a network meaningful, checked when the PyNN calls
happen (``setup``, ``Population``, ``set``, ``initialize``, ``Projection``, current
sources, ``run``), vectorized over the per-neuron and per-synapse arrays. The rules
follow the parameter checks of NEST 3.10's models (``set_status``: capacitance and
time constants > 0, refractory time >= 0, reset below threshold, for AdEx
``V_peak >= V_th``, ``Delta_T >= 0``...), plus finiteness everywhere.

Every error names the object, the parameter, the offending value and the allowed
range, and suggests a fix. PyNN's error classes are used:
:class:`pyNN.errors.InvalidParameterValueError` for parameters,
:class:`pyNN.errors.InvalidWeightError` for weights and
:class:`pyNN.errors.ConnectionError` for delays; objects of an earlier ``setup()``
raise :class:`StaleObjectError`.
"""

import numbers
import re

import numpy as np

from pyNN import common, errors

# ------------------------------------------------------------------------ rules
FINITE = "a finite number"
POSITIVE = "a finite number > 0"
NON_NEGATIVE = "a finite number >= 0"
DURATION = "a number >= 0 (inf allowed)"
FRACTION = "a number between 0 and 1"

#: cell and spike-source parameters with more than finiteness to check (NEST's
#: set_status checks); every other numeric parameter must be finite
CELL_PARAMETER_RULES = {
    "cm": POSITIVE, "tau_m": POSITIVE, "tau_syn_E": POSITIVE, "tau_syn_I": POSITIVE,
    "tau_syn": POSITIVE, "tau_sfa": POSITIVE, "tau_rr": POSITIVE, "tau_w": POSITIVE,
    "tau_refrac": NON_NEGATIVE, "delta_T": NON_NEGATIVE,
    "gbar_Na": NON_NEGATIVE, "gbar_K": NON_NEGATIVE, "g_leak": NON_NEGATIVE,
    "rate": NON_NEGATIVE, "duration": DURATION,
    # ALIF_curr_delta (NEST eprop_iaf_adapt: adapt_tau > 0, adapt_beta >= 0)
    "tau_a": POSITIVE, "beta": NON_NEGATIVE,
    # GIF_cond_exp (NEST gif_cond_exp: Delta_V > 0, lambda_0 >= 0, tau_stc, tau_sfa > 0)
    "delta_v": POSITIVE, "lambda0": NON_NEGATIVE, "tau_eta": POSITIVE, "tau_gamma": POSITIVE,
}
#: state variables (initial values) with more than finiteness to check
STATE_RULES = {"gsyn_exc": NON_NEGATIVE, "gsyn_inh": NON_NEGATIVE, "gsyn": NON_NEGATIVE,
               "g_r": NON_NEGATIVE, "g_s": NON_NEGATIVE,
               "m": FRACTION, "n": FRACTION, "h": FRACTION}
#: current-source parameters (``stop`` is checked against ``start``)
SOURCE_RULES = {"stdev": NON_NEGATIVE, "dt": NON_NEGATIVE, "times": NON_NEGATIVE,
                "stop": DURATION}
#: units of the current sources' parameters
SOURCE_UNITS = {"amplitude": "nA", "amplitudes": "nA", "offset": "nA", "mean": "nA",
                "stdev": "nA", "start": "ms", "stop": "ms", "dt": "ms", "times": "ms",
                "frequency": "Hz", "phase": "deg"}
#: synapse parameters (weights and delays have their own checks)
SYNAPSE_RULES = {"U": FRACTION, "tau_rec": POSITIVE, "tau_facil": NON_NEGATIVE,
                 "tau_plus": POSITIVE, "tau_minus": POSITIVE, "A_plus": NON_NEGATIVE,
                 "A_minus": NON_NEGATIVE, "dendritic_delay_fraction": FRACTION}
#: largest (v_spike - v_thresh) / delta_T whose exponential stays far from overflow
#: (NEST's aeif models: log(DBL_MAX / 1e20))
MAX_EXP_ARGUMENT = float(np.log(np.finfo(float).max / 1e20))


class StaleObjectError(RuntimeError):
    """A Population, Projection, view or assembly of an earlier ``setup()`` is used
    after a new ``setup()``, which destroyed its network."""


def numeric(values):
    """`values` as a float array; array-valued parameters (PyNN's ArrayParameter or
    Sequence, one per neuron, e.g. GIF_cond_exp's ``tau_eta``) are flattened."""
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        items = np.ravel(np.asarray(values, dtype=object))
        return np.concatenate([np.ravel(np.asarray(getattr(item, "value", item), dtype=float))
                               for item in items])


def violations(values, rule):
    """Boolean mask of the values that break `rule` (NaN breaks every rule)."""
    values = np.asarray(values, dtype=float)
    if rule == FINITE:
        return ~np.isfinite(values)
    if rule == POSITIVE:
        return ~(np.isfinite(values) & (values > 0))
    if rule == NON_NEGATIVE:
        return ~(np.isfinite(values) & (values >= 0))
    if rule == DURATION:
        return ~(values >= 0)
    if rule == FRACTION:
        return ~((values >= 0) & (values <= 1))
    raise ValueError(f"unknown rule {rule!r}")


def _where(mask, noun):
    """' for neuron 3 (and 4 more)' for the first offending index of a mask."""
    bad = np.flatnonzero(mask)
    if bad.size == 0 or mask.size <= 1:
        return ""
    more = f" (and {bad.size - 1} more)" if bad.size > 1 else ""
    return f" for {noun} {int(bad[0])}{more}"


def _first(values, mask):
    return np.asarray(values, dtype=float).ravel()[np.flatnonzero(mask)[0]]


def _value(value, unit=""):
    return f"{value:g} {unit}".rstrip()


def _suggestion(rule, default, unit):
    if default is not None and np.isscalar(default) and not violations(default, rule):
        return f" PyNN's default is {_value(float(default), unit)}."
    return ""


def check_values(owner, name, values, rule, unit="", default=None, noun="neuron",
                 error=errors.InvalidParameterValueError):
    """Raise `error` when some of `values` break `rule`.

    Parameters
    ----------
    owner : str
        Who holds the values, e.g. ``"population 'exc' (IF_curr_exp)"``.
    name : str
        The parameter's name.
    values : array-like
        The values (any shape), in the parameter's unit `unit`.
    rule : str
        One of FINITE, POSITIVE, NON_NEGATIVE, DURATION, FRACTION.
    default : float, optional
        A valid value to suggest.
    noun : str
        What an index counts (neuron, connection...).
    """
    values = numeric(values)
    mask = np.atleast_1d(violations(values, rule))
    if mask.any():
        raise error(f"{owner}: {name} = {_value(_first(values, mask), unit)}"
                    f"{_where(mask, noun)}; it must be {rule}{' (' + unit + ')' if unit else ''}."
                    f" Give a value in that range.{_suggestion(rule, default, unit)}")


def _check_order(owner, parameters, low, high, units, strict, why):
    """`low` < `high` (strict) or <= per neuron."""
    lo = np.asarray(parameters[low], dtype=float)
    hi = np.asarray(parameters[high], dtype=float)
    mask = np.atleast_1d(~(lo < hi) if strict else ~(lo <= hi))
    if mask.any():
        k = np.flatnonzero(mask)[0]
        lo_k, hi_k = np.broadcast_to(lo, mask.shape)[k], np.broadcast_to(hi, mask.shape)[k]
        relation = "below" if strict else "at most"
        raise errors.InvalidParameterValueError(
            f"{owner}: {low} = {_value(lo_k, units.get(low, ''))} must be {relation} "
            f"{high} = {_value(hi_k, units.get(high, ''))}{_where(mask, 'neuron')} ({why}). "
            f"Lower {low} or raise {high}.")


def check_cell_parameters(owner, parameters, units=None, defaults=None):
    """Check the per-neuron parameter arrays of a population (PyNN names and units).

    Each parameter must obey its rule in :data:`CELL_PARAMETER_RULES` (else be
    finite); ``spike_times`` must be finite, >= 0 and non-decreasing per neuron;
    integrate-and-fire types need ``v_reset < v_thresh``; AdEx types need
    ``v_thresh <= v_spike``, ``v_reset < v_spike`` and an exponential term that
    cannot overflow. Receptor parameters of composed neurons (``"AMPA.tau_syn"``)
    follow the rule of their last part.
    """
    units, defaults = units or {}, defaults or {}
    for name, values in parameters.items():
        if name.endswith("locations"):
            continue
        if name == "spike_times":
            check_spike_times(owner, values)
            continue
        rule = CELL_PARAMETER_RULES.get(name.rsplit(".", 1)[-1], FINITE)
        check_values(owner, name, values, rule, units.get(name, ""), defaults.get(name))
    if "v_spike" in parameters:
        _check_order(owner, parameters, "v_thresh", "v_spike", units, False,
                     "the spike is detected at v_spike, above the threshold")
        _check_order(owner, parameters, "v_reset", "v_spike", units, True,
                     "a neuron reset at or above v_spike fires at every time step")
        delta_t = np.asarray(parameters["delta_T"], dtype=float)
        ratio = np.divide(np.asarray(parameters["v_spike"]) - parameters["v_thresh"], delta_t,
                          out=np.zeros(np.broadcast(delta_t, parameters["v_spike"]).shape),
                          where=delta_t > 0)
        mask = np.atleast_1d(ratio >= MAX_EXP_ARGUMENT)
        if mask.any():
            raise errors.InvalidParameterValueError(
                f"{owner}: (v_spike - v_thresh) / delta_T = {_first(ratio, mask):g}"
                f"{_where(mask, 'neuron')} overflows the exponential term (limit "
                f"{MAX_EXP_ARGUMENT:.0f}). Increase delta_T or lower v_spike.")
    elif "v_reset" in parameters and "v_thresh" in parameters:
        _check_order(owner, parameters, "v_reset", "v_thresh", units, True,
                     "a neuron reset at or above threshold fires at every time step")


def check_spike_times(owner, sequences):
    """Spike times of each neuron: finite, >= 0 ms and in non-decreasing order."""
    sequences = [np.asarray(getattr(seq, "value", seq), dtype=float).ravel()
                 for seq in sequences]
    if not sequences:
        return
    times = np.concatenate(sequences)
    owners = np.repeat(np.arange(len(sequences)), [seq.size for seq in sequences])
    bad = violations(times, NON_NEGATIVE)
    if bad.any():
        neuron = int(owners[np.flatnonzero(bad)[0]])
        raise errors.InvalidParameterValueError(
            f"{owner}: spike_times of neuron {neuron} contain {_first(times, bad):g} ms; "
            f"spike times must be {NON_NEGATIVE} (ms). Remove or correct that spike.")
    # only differences between spikes of the same neuron count
    decreasing = np.flatnonzero((np.diff(times) < 0) & (owners[1:] == owners[:-1]))
    if decreasing.size:
        neuron = int(owners[decreasing[0]])
        raise errors.InvalidParameterValueError(
            f"{owner}, neuron {neuron}: spike times must be in increasing order, got "
            f"{sequences[neuron]}. Sort them.")


def check_initial_values(owner, name, values, unit=""):
    """Initial values of a state variable: finite, conductances >= 0, gating
    variables of HH between 0 and 1."""
    rule = STATE_RULES.get(name.rsplit(".", 1)[-1], FINITE)
    check_values(owner, f"initial value of {name}", values, rule, unit)


def check_population_size(label, size):
    """A population's size must be a positive whole number."""
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
        raise errors.InvalidDimensionsError(
            f"{f'population {label!r}' if label else 'Population'}: size must be a whole "
            f"number >= 1, got {size!r}. "
            f"Give the number of neurons, e.g. Population(10, ...).")


# ------------------------------------------------------------- current sources
def check_current_source(owner, parameters, defaults=None):
    """Parameters of a current source (native names: nA, ms, Hz, degrees):
    all finite, ``stdev`` and ``dt`` >= 0, step ``times`` >= 0, ``stop >= start``
    (``stop`` may be inf)."""
    defaults = defaults or {}
    for name, values in parameters.items():
        values = np.asarray(getattr(values, "value", values), dtype=float)
        check_values(owner, name, values, SOURCE_RULES.get(name, FINITE),
                     SOURCE_UNITS.get(name, ""), defaults.get(name), noun="step")
    if "start" in parameters and "stop" in parameters and \
            not float(parameters["stop"]) >= float(parameters["start"]):
        raise errors.InvalidParameterValueError(
            f"{owner}: stop = {float(parameters['stop']):g} ms is before start = "
            f"{float(parameters['start']):g} ms; stop must be >= start. Swap them or "
            f"give a later stop.")


# ----------------------------------------------------------------- connections
def check_weights(owner, weights):
    """Weights must be finite (sign conventions are PyNN's, checked elsewhere)."""
    check_values(owner, "weight", weights, FINITE, noun="connection",
                 error=errors.InvalidWeightError)


def check_delays(owner, delays, min_delay, dt):
    """Delays (ms) must be finite and at least the minimum delay (NEST: a delay may
    not be shorter than the time step, nor than min_delay when setup() set one)."""
    check_values(owner, "delay", delays, FINITE, "ms", noun="connection",
                 error=errors.ConnectionError)
    delays = np.asarray(delays, dtype=float)
    if delays.size and delays.min() < min_delay - 1e-9:
        what = "the time step" if min_delay <= dt else "min_delay set in setup()"
        raise errors.ConnectionError(
            f"{owner}: delay = {delays.min():g} ms{_where(delays < min_delay - 1e-9, 'connection')}"
            f" is shorter than {what}, {min_delay:g} ms; delays must be >= {min_delay:g} ms. "
            f"Use longer delays, or a smaller timestep/min_delay in setup().")


def check_synapse_parameter(owner, name, values):
    """Synapse parameters other than weight and delay: finite, with the ranges of
    :data:`SYNAPSE_RULES`."""
    check_values(owner, name, values, SYNAPSE_RULES.get(name, FINITE), noun="connection")


# ------------------------------------------------------------------ setup / run
def check_timestep(timestep):
    """The time step (ms): a finite number > 0."""
    if not _is_number(timestep) or not float(timestep) > 0 or not np.isfinite(timestep):
        raise errors.InvalidParameterValueError(
            f"setup(): timestep = {timestep!r} ms; the time step must be {POSITIVE} "
            f"(ms). Use e.g. timestep=0.1.")
    return float(timestep)


def check_delay_bounds(timestep, min_delay, max_delay):
    """min_delay: "auto" or a number >= timestep; max_delay: "auto" or a number >=
    min_delay (and >= timestep)."""
    for name, value, low, low_name in (("min_delay", min_delay, timestep, "timestep"),
                                       ("max_delay", max_delay,
                                        timestep if min_delay == "auto" else min_delay,
                                        "timestep" if min_delay == "auto" else "min_delay")):
        if isinstance(value, str) and value == "auto":
            continue
        if not _is_number(value) or not np.isfinite(value) or value < low - 1e-12:
            raise errors.InvalidParameterValueError(
                f"setup(): {name} = {value!r} ms; {name} must be \"auto\" or a finite number "
                f">= {low_name} = {low:g} ms. Use {name}=\"auto\" or a value >= {low:g}.")


def check_seed(name, seed):
    """A seed: a non-negative whole number (an int, or a string of digits as read
    from an environment variable); a float with a fractional part is an error, not
    truncated."""
    if isinstance(seed, str) and re.fullmatch(r"\s*\d+\s*", seed):
        return int(seed)
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    if isinstance(seed, numbers.Real) and np.isfinite(seed) and float(seed).is_integer() \
            and seed >= 0:
        return int(seed)
    raise errors.InvalidParameterValueError(
        f"setup(): {name} = {seed!r}; {name} must be a whole number >= 0. Use e.g. "
        f"{name}=0.")


def check_run_time(simtime, now):
    """run(simtime): `simtime` (ms) a finite number >= 0."""
    if not _is_number(simtime) or not np.isfinite(simtime) or simtime < 0:
        raise errors.InvalidParameterValueError(
            f"run(): simtime = {simtime!r} ms; the time to run must be {NON_NEGATIVE} (ms) "
            f"(current time {now:g} ms). Use run_until() for an absolute time.")
    return float(simtime)


def check_run_until(tstop, now, dt):
    """run_until(tstop): `tstop` (ms) finite and not in the past."""
    if not _is_number(tstop) or not np.isfinite(tstop):
        raise errors.InvalidParameterValueError(
            f"run_until(): time = {tstop!r} ms; it must be a finite number (ms) >= the "
            f"current time {now:g} ms.")
    if tstop - now < -dt / 2:
        raise errors.InvalidParameterValueError(
            f"run_until(): time {tstop:g} ms is in the past (current time {now:g} ms); "
            f"give a time >= {now:g} ms, or reset() first.")
    return float(tstop)


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# ----------------------------------------------------------------- stale objects
def check_current(obj, generation, action):
    """Raise :class:`StaleObjectError` when `obj` (Population, PopulationView,
    Assembly or Projection) was created before the last ``setup()``."""
    for part, born in _generations(obj):
        if born != generation:
            raise StaleObjectError(
                f"cannot {action} {_describe(part)}: it belongs to a previous setup() "
                f"(each setup() starts a new network and destroys the old one). Create "
                f"it again after the last setup().")


def _generations(obj):
    """(object, generation) of `obj` and of everything it is made of; objects that
    record no generation (plain numbers...) are not checked."""
    if isinstance(obj, common.Assembly):
        return [pair for p in obj.populations for pair in _generations(p)]
    if isinstance(obj, common.PopulationView):
        return [(obj, born) for _, born in _generations(obj.grandparent)]
    if isinstance(obj, (list, tuple, np.ndarray)):   # neuron ids
        return [pair for item in obj for pair in _generations(item)]
    # Population, Projection, ID, current source (vars(): PyNN's __getattr__ would
    # look for a parameter)
    born = vars(obj).get("_generation") if hasattr(obj, "__dict__") else None
    return [] if born is None else [(obj, born)]


def _describe(obj):
    if isinstance(obj, numbers.Integral):
        return f"neuron id {int(obj)}"
    kind = type(obj).__name__
    label = vars(obj).get("label") if hasattr(obj, "__dict__") else None
    return f"{kind} '{label}'" if label else kind
