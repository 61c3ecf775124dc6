"""ALIF_curr_delta (docs/alif.rst) against NEST 3.10's eprop_iaf_adapt, run directly.

NEST's e-prop neuron is driven here without e-prop plasticity: a constant current
``I_e`` and spike_generators through static synapses (both are valid inputs of
``eprop_iaf_adapt``). The engine realises the same discrete-time update, so spike
times, the membrane potential and the adaptation variable agree to rounding error
(the spec asks for one time step; identical times are what a correct realisation
gives). Then the chips: ``digital`` holds b in fixed point and quantizes tau_a to a
12-bit decay; ``analog`` refuses the cell type and names the AdEx adaptation current.
"""

import numpy as np
import pytest

nest = pytest.importorskip("nest")
import pyNN.sparsehw as sim  # noqa: E402
from pyNN_sparsehw.mapping.vocabulary import MappingError  # noqa: E402

#: three neurons differing in drive, refractoriness and adaptation
PARAMETERS = dict(cm=[1.0, 0.5, 2.0], tau_m=[20.0, 10.0, 30.0], v_rest=[-65.0, -70.0, -60.0],
                  v_thresh=[-50.0, -52.0, -45.0], tau_refrac=[2.0, 5.0, 0.0],
                  i_offset=[1.0, 2.5, 1.8], tau_a=[200.0, 50.0, 1200.0],
                  beta=[1.7, 4.0, 0.5])
TSTOP = 400.0
#: input trains (ms), excitatory and inhibitory, same for every neuron
EXC_TIMES = np.arange(3.0, 390.0, 7.0)
INH_TIMES = np.arange(5.0, 390.0, 23.0)
EXC_WEIGHT, INH_WEIGHT = 6.0, -9.0        # mV
EXC_DELAY, INH_DELAY = 1.0, 3.0           # ms


def _nest_run(parameters, dt, with_inputs):
    """Spike times per neuron and (V_m, adaptation) sampled every step, from NEST."""
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.ResetKernel()
    nest.resolution = dt
    n = len(parameters["cm"])
    p = {k: np.asarray(v, dtype=float) for k, v in parameters.items()}
    neurons = nest.Create("eprop_iaf_adapt", n, params=[dict(
        C_m=1000.0 * p["cm"][i], tau_m=p["tau_m"][i], E_L=p["v_rest"][i],
        V_th=p["v_thresh"][i], t_ref=p["tau_refrac"][i], I_e=1000.0 * p["i_offset"][i],
        adapt_tau=p["tau_a"][i], adapt_beta=p["beta"][i]) for i in range(n)])
    neurons.set(V_m=list(p["v_rest"]))
    if with_inputs:
        for times, weight, delay in ((EXC_TIMES, EXC_WEIGHT, EXC_DELAY),
                                     (INH_TIMES, INH_WEIGHT, INH_DELAY)):
            generator = nest.Create("spike_generator", params={"spike_times": times})
            nest.Connect(generator, neurons, syn_spec={"synapse_model": "static_synapse",
                                                       "weight": weight, "delay": delay})
    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)
    meter = nest.Create("multimeter", params={"record_from": ["V_m", "adaptation"],
                                              "interval": dt})
    nest.Connect(meter, neurons)
    nest.Simulate(TSTOP)
    events = recorder.events
    ids = neurons.tolist()
    spikes = [np.sort(events["times"][events["senders"] == i]) for i in ids]
    samples = meter.events
    first = samples["senders"] == ids[0]
    traces = {"steps": np.rint(samples["times"][first] / dt).astype(int)}
    for name in ("V_m", "adaptation"):
        traces[name] = np.stack([samples[name][samples["senders"] == i] for i in ids], axis=1)
    return spikes, traces


def _engine_run(parameters, dt, with_inputs, chip="ideal"):
    """Spike times per neuron and (v, b) sampled every step, from the engine."""
    sim.setup(timestep=dt, min_delay=dt, chip=chip)
    cells = sim.Population(len(parameters["cm"]), sim.ALIF_curr_delta(**parameters),
                           initial_values={"v": parameters["v_rest"]}, label="alif")
    if with_inputs:
        for times, weight, delay, receptor in (
                (EXC_TIMES, EXC_WEIGHT, EXC_DELAY, "excitatory"),
                (INH_TIMES, INH_WEIGHT, INH_DELAY, "inhibitory")):
            source = sim.Population(1, sim.SpikeSourceArray(spike_times=times))
            sim.Projection(source, cells, sim.AllToAllConnector(),
                           sim.StaticSynapse(weight=weight, delay=delay),
                           receptor_type=receptor)
    cells.record(["spikes", "v", "b"])
    sim.run(TSTOP)
    segment = cells.get_data().segments[0]
    spikes = [np.asarray(train.magnitude) for train in segment.spiketrains]
    traces = {name: np.asarray(segment.filter(name=name)[0].magnitude) for name in ("v", "b")}
    sim.end()
    return spikes, traces


@pytest.mark.parametrize("dt,with_inputs", [(1.0, False), (1.0, True), (0.1, True)],
                         ids=["dc-1ms", "dc+spikes-1ms", "dc+spikes-0.1ms"])
def test_agrees_with_nest_eprop_iaf_adapt(dt, with_inputs):
    nest_spikes, nest_traces = _nest_run(PARAMETERS, dt, with_inputs)
    spikes, traces = _engine_run(PARAMETERS, dt, with_inputs)
    for i, (reference, ours) in enumerate(zip(nest_spikes, spikes)):
        assert len(reference) > 5, f"neuron {i} fires too little to test adaptation"
        assert len(ours) == len(reference), (i, ours, reference)
        np.testing.assert_allclose(ours, reference, atol=1e-9, err_msg=f"neuron {i}")
    # the engine samples every step from t = 0 (the initial value) to TSTOP
    steps = nest_traces["steps"]
    assert steps.size > 0.95 * TSTOP / dt
    np.testing.assert_allclose(traces["v"][steps], nest_traces["V_m"], atol=1e-9)
    np.testing.assert_allclose(traces["b"][steps], nest_traces["adaptation"], atol=1e-12)


def test_current_source_acts_as_i_offset():
    """A DCSource from t = 0 reaches the membrane as i_offset does (both from the
    second step, NEST's current timing): the same spikes."""
    parameters = dict(PARAMETERS, i_offset=[0.0, 0.0, 0.0])
    sim.setup(timestep=1.0, chip="ideal")
    cells = sim.Population(3, sim.ALIF_curr_delta(**parameters),
                           initial_values={"v": parameters["v_rest"]})
    for i, amplitude in enumerate(PARAMETERS["i_offset"]):
        sim.DCSource(amplitude=amplitude, start=0.0, stop=TSTOP).inject_into(cells[i:i + 1])
    cells.record("spikes")
    sim.run(TSTOP)
    driven = [np.asarray(t.magnitude) for t in cells.get_data().segments[0].spiketrains]
    sim.end()
    reference, _ = _engine_run(PARAMETERS, 1.0, False)
    for ours, expected in zip(driven, reference):
        np.testing.assert_array_equal(ours, expected)


def test_threshold_adapts():
    """Under constant drive the interspike intervals lengthen as b builds up, and b
    decays with tau_a between spikes."""
    spikes, traces = _engine_run(PARAMETERS, 1.0, False)
    isi = np.diff(spikes[0])
    assert isi[-1] > 1.5 * isi[0]
    b = traces["b"][:, 0]
    last = int(spikes[0][-1])          # b of the last spike enters at last + 1 ms
    quiet = b[last + 1:last + 1 + min(10, int(np.diff(spikes[0])[-1]) - 1)]
    np.testing.assert_allclose(quiet[1:] / quiet[:-1], np.exp(-1.0 / 200.0), rtol=1e-12)


def test_digital_holds_alif_in_fixed_point():
    """On the digital chip b lives on its fixed-point grid, tau_a becomes a 12-bit
    decay and the spikes stay close to the ideal chip's."""
    from pyNN_sparsehw.chip import load_chip
    chip = load_chip("digital")
    low, high = chip.state_resolution["b"]["range"]
    lsb = (high - low) / (2 ** int(chip.state_resolution["b"]["bits"]) - 1)
    ideal, _ = _engine_run(PARAMETERS, 1.0, True)
    digital, traces = _engine_run(PARAMETERS, 1.0, True, chip="digital")
    codes = traces["b"] / lsb
    np.testing.assert_allclose(codes, np.round(codes), atol=1e-6)
    assert np.any(traces["b"] > 1.0)
    for reference, ours in zip(ideal, digital):
        assert abs(len(ours) - len(reference)) <= max(1, 0.1 * len(reference))


@pytest.mark.filterwarnings("ignore:chip .analog.*runs uncalibrated")
def test_analog_refuses_alif_and_names_adex_adaptation():
    sim.setup(timestep=0.1, chip="analog", calibration=None)
    sim.Population(2, sim.ALIF_curr_delta(), label="lsnn")
    with pytest.raises(MappingError, match=r"'lsnn'.*analog chip cannot realise cell type "
                                           r"ALIF_curr_delta.*EIF_cond_exp_isfa_ista.*a, b, "
                                           r"tau_w"):
        sim.run(1.0)
    sim.end()
