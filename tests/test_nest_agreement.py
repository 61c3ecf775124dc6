"""The `ideal` chip against NEST (through pyNN.nest), the reference it must reproduce.

1. Single neurons of every cell type that both backends provide, under two protocols:

   * ``dc``: a DCSource (10 -> 210 ms) makes the neuron fire regularly (220 ms runs
     at dt = 0.1 ms, 120 ms at dt = 0.01 ms);
   * ``spikes``: fixed SpikeSourceArray trains drive it through an excitatory
     (delay 1.0 ms) and an inhibitory (delay 1.7 ms) projection with fixed weights,
     so that PSPs and IPSPs are visible before the first output spike and the
     neuron then fires several times.

   Two checks per case, on the same pair of runs:

   * ``test_spike_times``: same number of spikes, every spike within one time step,
     and on average within half a step. Both simulators work on the same time grid
     and label a spike with the end of the step in which threshold was crossed, so
     correct dynamics give identical times, with an occasional one-step difference
     where a crossing falls within integration error of a grid point (NEST
     integrates the nonlinear models with adaptive RKF45 and, for AdEx, resets in
     the middle of a step). A systematic one-step shift (a delay or refractory
     period off by one step) fails the average criterion.
   * ``test_subthreshold_trace``: the membrane potential, sampled every step, agrees
     to SUBTHRESHOLD_TOL_MV until the first output spike of either simulator (for HH,
     until 1 ms before it: its spikes are registered at the peak). A
     synaptic delay off by one step moves the rising PSP by 0.1 ms, a difference of
     ~0.2-1 mV here; a wrong alpha normalisation scales the PSPs by e. Correct,
     accurately integrated dynamics agree to < 5e-3 mV (worst seen: 1.5e-3 mV).
   * ``test_suprathreshold_voltage_jump_fires_on_arrival``: for the voltage-jump
     synapses (IF_curr_delta, Izhikevich), a jump that alone crosses threshold
     fires in the step it arrives, as in NEST.

   NEST runs with ``spike_precision="on_grid"`` (pyNN.nest's default "off_grid"
   selects the precise-spike-timing models iaf_psc_*_ps, whose spike times are not
   on the grid). All runs use dt = 0.1 ms; the models that NEST integrates with an
   adaptive solver and that are strongly nonlinear near threshold (AdEx and HH) are
   also run at dt = 0.01 ms, where one-step agreement is a 10x tighter requirement
   and the integration error of a fixed-step method is smaller. One step at 0.1 ms
   is not too coarse for either once they are integrated accurately (rk4; HH on
   sub-steps): every spike is then within one step at both time steps.

2. The Vogels-Abbott COBA network (examples/vogels_abbott.py, 4000 cells, 1 s) on
   both simulators with the same seeds: same number of synapses per projection, mean
   rate and ISI CV within 10 %. Each simulator runs once, in its own subprocess,
   started as soon as this module's first test runs so that they overlap with the
   single-neuron tests.

Cases where the engine is known to disagree with NEST are listed, with the diagnosis,
in KNOWN_DISCREPANCIES and marked ``xfail(strict=True)``: when the engine is fixed
they XPASS and fail, and the entry must then be removed.
"""

import contextlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nest")
pynn_nest = pytest.importorskip("pyNN.nest")
import pyNN.sparsehw as pynn_hw  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
VA_SCRIPT = REPO / "examples" / "vogels_abbott.py"

# ----------------------------------------------------------------------- protocols
TSTOP = 220.0            # ms
TSTOP_FINE = 120.0       # ms, runs at dt = 0.01 ms (10x the steps): 3 input bursts
DC_START, DC_STOP = 10.0, 210.0
EXC_DELAY, INH_DELAY = 1.0, 1.7   # ms, multiples of both time steps
EXC_TIMES = [5.0, 15.0, 30.0, 31.0, 32.0, 33.0, 60.0, 61.0, 62.0, 63.0, 64.0,
             90.0, 91.0, 92.0, 93.0, 120.0, 121.0, 122.0, 123.0, 124.0,
             160.0, 161.0, 162.0, 163.0, 164.0, 165.0]
INH_TIMES = [10.0, 62.5, 100.0, 121.5, 140.0]

SUBTHRESHOLD_TOL_MV = 0.02


@dataclass(frozen=True)
class Cell:
    """A cell type with PyNN default parameters, its DC amplitude (nA) and weights.

    `upstroke` (ms) is left out of the subthreshold window before the first spike:
    HH registers a spike at the peak of the action potential, so the samples just
    before it are on the upstroke (~400 mV/ms), where 0.1 mV is a 0.25 us shift.
    """
    dc: float
    w_exc: float
    w_inh: float
    params: dict = field(default_factory=dict)
    upstroke: float = 0.0


# weights: nA for current synapses, uS for conductances, mV for voltage jumps
# (inhibitory current/voltage weights are negative, PyNN's convention)
CELLS = {
    "IF_curr_exp": Cell(dc=2.0, w_exc=2.5, w_inh=-3.0),
    "IF_curr_alpha": Cell(dc=2.0, w_exc=5.0, w_inh=-4.0),
    "IF_curr_delta": Cell(dc=2.0, w_exc=6.0, w_inh=-6.0),
    "IF_cond_exp": Cell(dc=2.0, w_exc=0.03, w_inh=0.06),
    "IF_cond_alpha": Cell(dc=2.0, w_exc=0.15, w_inh=0.2),
    "IF_cond_exp_gsfa_grr": Cell(dc=2.0, w_exc=0.03, w_inh=0.06),
    "EIF_cond_exp_isfa_ista": Cell(dc=1.0, w_exc=0.02, w_inh=0.06),
    "EIF_cond_alpha_isfa_ista": Cell(dc=1.0, w_exc=0.015, w_inh=0.06),
    "Izhikevich": Cell(dc=0.01, w_exc=10.0, w_inh=-8.0),   # 0.01 nA = Izhikevich's I = 10
    "HH_cond_exp": Cell(dc=0.5, w_exc=0.08, w_inh=0.1, upstroke=1.0),
}
PROTOCOLS = ("dc", "spikes")
FINE_DT_CELLS = ("EIF_cond_exp_isfa_ista", "HH_cond_exp")

# ------------------------------------------------------------ known discrepancies
#: (test, cell, protocol, dt) -> reason, for cases where the engine is known to disagree
#: with NEST; test is "spikes", "trace" or "jump" (protocol "jump", dt 0.1). Each becomes
#: xfail(strict=True): fixing the engine makes it XPASS and fail, and the entry must go.
#: Example entry, as diagnosed at commit b42ac1c (fixed since):
#:   ("jump", "Izhikevich", "jump", 0.1): "engine: a voltage-jump synapse is applied
#:   after the threshold check, so a jump that crosses threshold fires one step late"
KNOWN_DISCREPANCIES = {}


def _known(test, cell, protocol, dt):
    return KNOWN_DISCREPANCIES.get((test, cell, protocol, dt))


def _cases(test):
    cases = [(cell, protocol, 0.1) for cell in CELLS for protocol in PROTOCOLS]
    cases += [(cell, protocol, 0.01) for cell in FINE_DT_CELLS for protocol in PROTOCOLS]
    params = []
    for cell, protocol, dt in cases:
        reason = _known(test, cell, protocol, dt)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(cell, protocol, dt, marks=marks,
                                   id=f"{cell}-{protocol}-dt{dt:g}"))
    return params


# -------------------------------------------------------------------- simulation
# pyNN 0.13's nest backend cannot initialise or record `v` of IF_curr_delta (no
# variable_map: v stays at NEST's default -70 mV, and recording raises), nor
# initialise IF_cond_exp_gsfa_grr (its variable_map says g_rr/g_sfa where PyNN's
# state variables are g_r/g_s: KeyError). These are pyNN.nest bugs; the maps are
# completed for the duration of a NEST run only.
_PYNN_NEST_MAPS = {
    "IF_curr_delta": ({"v": "V_m"}, {"v": 1}),
    "IF_cond_exp_gsfa_grr": (
        {"v": "V_m", "gsyn_exc": "g_ex", "gsyn_inh": "g_in", "g_r": "g_rr", "g_s": "g_sfa"},
        {"v": 1, "gsyn_exc": 0.001, "gsyn_inh": 0.001, "g_r": 0.001, "g_s": 0.001}),
}


@contextlib.contextmanager
def _pynn_nest_maps(cell):
    cls = getattr(pynn_nest, cell)
    if cell not in _PYNN_NEST_MAPS or "v" in getattr(cls, "variable_map", {}) and \
            all(k in cls.variable_map for k in _PYNN_NEST_MAPS[cell][0]):
        yield
        return
    saved = {name: cls.__dict__.get(name) for name in ("variable_map", "scale_factors")}
    cls.variable_map, cls.scale_factors = _PYNN_NEST_MAPS[cell]
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                delattr(cls, name)
            else:
                setattr(cls, name, value)


def simulate(sim, cell, protocol, dt):
    """Spike times (ms) and the v trace (mV, one sample per step from 0) of one cell."""
    spec = CELLS[cell]
    extra = {"spike_precision": "on_grid"} if sim is pynn_nest else {"chip": "ideal"}
    sim.setup(timestep=dt, min_delay=dt, max_delay=10.0, **extra)
    try:
        neuron = sim.Population(1, getattr(sim, cell)(**spec.params), label="neuron")
        if protocol == "dc":
            sim.DCSource(amplitude=spec.dc, start=DC_START, stop=DC_STOP).inject_into(neuron)
        else:
            exc = sim.Population(1, sim.SpikeSourceArray(spike_times=EXC_TIMES))
            inh = sim.Population(1, sim.SpikeSourceArray(spike_times=INH_TIMES))
            sim.Projection(exc, neuron, sim.AllToAllConnector(),
                           sim.StaticSynapse(weight=spec.w_exc, delay=EXC_DELAY),
                           receptor_type="excitatory")
            sim.Projection(inh, neuron, sim.AllToAllConnector(),
                           sim.StaticSynapse(weight=spec.w_inh, delay=INH_DELAY),
                           receptor_type="inhibitory")
        neuron.record(["spikes", "v"])
        sim.run(TSTOP if dt >= 0.1 else TSTOP_FINE)
        segment = neuron.get_data().segments[0]
        spikes = np.asarray(segment.spiketrains[0].rescale("ms").magnitude, dtype=float)
        v = segment.filter(name="v")[0]
        times = np.asarray(v.times.rescale("ms").magnitude, dtype=float)
        trace = np.asarray(v.rescale("mV").magnitude, dtype=float)[:, 0]
    finally:
        sim.end()
    return {"spikes": spikes, "t": times, "v": trace}


_RESULTS = {}


def results(cell, protocol, dt):
    """(NEST, sparsehw) results of a case, each simulated once per session."""
    key = (cell, protocol, dt)
    if key not in _RESULTS:
        with _pynn_nest_maps(cell):
            reference = simulate(pynn_nest, cell, protocol, dt)
        _RESULTS[key] = (reference, simulate(pynn_hw, cell, protocol, dt))
    return _RESULTS[key]


def _describe(reference, ours, dt):
    n = min(reference.size, ours.size)
    steps = np.rint((ours[:n] - reference[:n]) / dt).astype(int)
    return (f"NEST {reference.size} spikes {np.round(reference, 2).tolist()}\n"
            f"ours {ours.size} spikes {np.round(ours, 2).tolist()}\n"
            f"ours - NEST in steps: {steps.tolist()}")


# ------------------------------------------------------------------------ tests
@pytest.mark.parametrize("cell, protocol, dt", _cases("spikes"))
def test_spike_times(cell, protocol, dt):
    reference, ours = results(cell, protocol, dt)
    nest_spikes, our_spikes = reference["spikes"], ours["spikes"]
    # the protocol must be a real test: several spikes, the DC ones regular
    assert nest_spikes.size >= 3, f"NEST fired only {nest_spikes.size} spikes"
    message = _describe(nest_spikes, our_spikes, dt)
    assert our_spikes.size == nest_spikes.size, message
    diff = np.abs(our_spikes - nest_spikes)
    assert diff.max() <= dt + 1e-6, message
    assert diff.mean() <= 0.5 * dt, message


@pytest.mark.parametrize("cell, protocol, dt", _cases("trace"))
def test_subthreshold_trace(cell, protocol, dt):
    reference, ours = results(cell, protocol, dt)
    np.testing.assert_allclose(ours["t"], reference["t"], atol=1e-9)
    first = min([s["spikes"][0] for s in (reference, ours) if s["spikes"].size]
                + [reference["t"][-1]])
    before = reference["t"] < first - CELLS[cell].upstroke - 1e-9
    # the window must contain synaptic or DC input, not just rest
    assert reference["t"][before][-1] > (DC_START if protocol == "dc" else INH_TIMES[0]
                                         + INH_DELAY)
    error = np.abs(ours["v"][before] - reference["v"][before])
    worst = int(np.argmax(error))
    assert error.max() <= SUBTHRESHOLD_TOL_MV, (
        f"|v_ours - v_NEST| = {error.max():.3g} mV at t = {reference['t'][before][worst]:g} ms "
        f"(NEST {reference['v'][before][worst]:.4f} mV); first divergence > "
        f"{SUBTHRESHOLD_TOL_MV} mV at t = "
        f"{reference['t'][before][np.argmax(error > SUBTHRESHOLD_TOL_MV)]:g} ms")


JUMP_CELLS = {"IF_curr_delta": 30.0, "Izhikevich": 110.0}   # mV: from rest to above threshold


def _jump_cases():
    params = []
    for cell in JUMP_CELLS:
        reason = _known("jump", cell, "jump", 0.1)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(cell, marks=marks, id=cell))
    return params


@pytest.mark.parametrize("cell", _jump_cases())
def test_suprathreshold_voltage_jump_fires_on_arrival(cell):
    """One input spike at 10 ms, delay 1.5 ms, whose voltage jump alone crosses
    threshold: NEST fires at exactly 11.5 ms (the jump is added before the threshold
    test of the step ending at 11.5 ms), and so must we. In the spike-train protocol
    such crossings are a minority (Izhikevich: 1 of 5 spikes), so this checks them
    directly."""
    spikes = {}
    for sim in (pynn_nest, pynn_hw):
        extra = {"spike_precision": "on_grid"} if sim is pynn_nest else {"chip": "ideal"}
        sim.setup(timestep=0.1, min_delay=0.1, max_delay=10.0, **extra)
        try:
            with _pynn_nest_maps(cell):
                neuron = sim.Population(1, getattr(sim, cell)())
            source = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0]))
            sim.Projection(source, neuron, sim.AllToAllConnector(),
                           sim.StaticSynapse(weight=JUMP_CELLS[cell], delay=1.5),
                           receptor_type="excitatory")
            neuron.record("spikes")
            sim.run(20.0)
            train = neuron.get_data().segments[0].spiketrains[0]
            spikes[sim] = np.asarray(train.rescale("ms").magnitude, dtype=float)
        finally:
            sim.end()
    np.testing.assert_allclose(spikes[pynn_nest], [11.5], atol=1e-9)
    np.testing.assert_allclose(spikes[pynn_hw], spikes[pynn_nest], atol=1e-9)


# ------------------------------------------------------------ Vogels-Abbott COBA
VA_TESTS = ("test_vogels_abbott_",)
#: job name -> command-line arguments of examples/vogels_abbott.py
VA_JOBS = {"nest": ["nest"],
           "sparsehw": ["sparsehw", "--setup", "chip=ideal"],
           "digital": ["sparsehw", "--setup", "chip=digital"]}
VA_TIMEOUT_S = 600


def _lower_priority():
    """Let the single-neuron tests (the longer chain of work) run first on a busy CPU."""
    if hasattr(os, "nice"):
        os.nice(10)


class _VAJobs:
    """The Vogels-Abbott benchmark on each simulator, one subprocess each."""

    def __init__(self, directory):
        self.processes, self.outputs = {}, {}
        for name, arguments in VA_JOBS.items():
            output = directory / f"va_{name}.json"
            log = open(directory / f"va_{name}.log", "w")
            self.outputs[name] = output
            self.processes[name] = (subprocess.Popen(
                [sys.executable, str(VA_SCRIPT), *arguments, "--json", str(output)],
                cwd=str(REPO), stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_lower_priority), log)
        self._results = {}

    def result(self, name):
        if name not in self._results:
            process, log = self.processes[name]
            try:
                code = process.wait(timeout=VA_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pytest.fail(f"Vogels-Abbott on {name} did not finish in {VA_TIMEOUT_S} s")
            log.close()
            if code != 0:
                tail = Path(log.name).read_text()[-3000:]
                pytest.fail(f"examples/vogels_abbott.py {name} exited with {code}:\n{tail}")
            self._results[name] = json.loads(self.outputs[name].read_text())
        return self._results[name]

    def stop(self):
        for process, log in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()


@pytest.fixture(scope="session")
def va_jobs(tmp_path_factory):
    if not VA_SCRIPT.exists():
        pytest.skip(f"{VA_SCRIPT} not found")
    jobs = _VAJobs(tmp_path_factory.mktemp("vogels_abbott"))
    yield jobs
    jobs.stop()


@pytest.fixture(scope="module", autouse=True)
def _start_vogels_abbott_early(request):
    """Start the two network runs with this module's first test, if any VA test is
    selected, so that they run while the single-neuron tests do."""
    if any(test in item.nodeid for item in request.session.items for test in VA_TESTS):
        request.getfixturevalue("va_jobs")


@pytest.fixture(scope="module")
def va(va_jobs):
    return {name: va_jobs.result(name) for name in VA_JOBS}


def test_vogels_abbott_same_synapses(va):
    """The connectors draw the same random numbers, so each projection has the same
    number of synapses."""
    nest_counts = va["nest"]["synapses_by_projection"]
    our_counts = va["sparsehw"]["synapses_by_projection"]
    assert our_counts == nest_counts
    assert va["sparsehw"]["n_synapses"] == va["nest"]["n_synapses"]


@pytest.mark.parametrize("statistic", ["rate_hz", "cv_isi"])
def test_vogels_abbott_statistics_within_10_percent(va, statistic):
    reference, ours = va["nest"][statistic], va["sparsehw"][statistic]
    assert reference is not None and reference > 0
    assert ours is not None
    assert abs(ours - reference) <= 0.10 * reference, (
        f"{statistic}: NEST {reference:.4g}, ours {ours:.4g} "
        f"({100 * (ours - reference) / reference:+.1f} %)")


def test_vogels_abbott_on_the_digital_chip_stays_within_20_percent_of_ideal(va):
    """Issue 3's check: the network runs on `digital` (quantized weights, 12-bit decay
    factors, fixed-point state, placement on cores limited by synaptic memory), its
    report lists the cores and the losses, and its rate stays within 20 % of ideal."""
    ideal, digital = va["sparsehw"], va["digital"]
    assert digital["n_synapses"] == ideal["n_synapses"]
    assert abs(digital["rate_hz"] - ideal["rate_hz"]) <= 0.20 * ideal["rate_hz"], (
        f"rate on digital {digital['rate_hz']:.3g} Hz, ideal {ideal['rate_hz']:.3g} Hz")
    report = digital["hardware_report"]
    assert report["chip"]["name"] == "digital"
    cores = report["cores"]["per_core"]
    assert report["cores"]["used"] == len(cores) > 4000 / 1024   # memory splits populations
    assert sum(c["neurons"] for c in cores) == 4000
    assert all(c["memory_bits"] <= report["cores"]["limits"]["synaptic_memory_bits"]
               for c in cores)
    losses = {p["label"]: p["parameters"] for p in report["populations"]}
    assert losses["Excitatory_Cells"]["tau_m"]["rms_relative_error"] == pytest.approx(
        20.43 / 20 - 1, abs=0.001)                  # 12-bit decay factor
    assert all(p["weights"]["bits"] == 8 and p["weights"]["clipped"] == 0
               for p in report["projections"])
    assert report["totals"]["wiring_cost"] > 0
    # issue 4: every projection has an encoding; energy from the run's counts
    assert all(p["memory"]["encoding"] in p["memory"]["alternatives"]
               for p in report["projections"])
    assert sum(c["memory_bits"] for c in cores) == report["totals"]["memory_bits"]
    energy = report["energy"]
    assert energy["total_j"] == pytest.approx(sum(energy["by_category"].values()))
    assert energy["by_category"]["synaptic_events"] > 0 and energy["by_category"]["routing"] > 0
