"""PyNN's GIF_cond_exp on the `ideal` chip against NEST 3.10's gif_cond_exp.

The model fires stochastically (escape noise), so the two simulators are compared in
distribution: 200 neurons at each of three DC levels (i_offset), same parameters,
different random numbers. Per level, the spike counts must agree within counting
noise (4 sigma of the difference of two counts, sigma^2 = N1 + N2, a Poisson bound
that is generous for these sub-Poisson trains), and the ISI coefficient of variation
within 4 standard errors (SE of a CV from n intervals: CV*sqrt((1 + 2 CV^2)/(2n))).
Adaptation (the spike-triggered current eta and the moving threshold gamma) must be
visible in both: the rate in the first 100 ms exceeds the rate over 300-600 ms, by
ratios that agree within counting noise, and the mean i_eta and v_t - v_t_star over
300-600 ms, both sums of spike-triggered kernels, are positive and agree within the
relative counting noise of the spikes behind them (4 sigma).
"""

import numpy as np
import pytest

nest = pytest.importorskip("nest")
import pyNN.sparsehw as sim  # noqa: E402
from pyNN.parameters import ArrayParameter  # noqa: E402
from pyNN_sparsehw.mapping.vocabulary import MappingError, component_parameters  # noqa: E402

LEVELS = [1.0, 1.5, 2.2]     # nA
N = 200                      # neurons per level
TSTOP, DT = 600.0, 0.25      # ms
EARLY, LATE = (0.0, 100.0), (300.0, 600.0)
#: PyNN's defaults except a softer threshold (delta_v) and a higher lambda0: noisier
#: firing, so that the ISI distribution is not a near-delta
PARAMETERS = dict(cm=1.0, tau_m=20.0, v_rest=-65.0, v_reset=-65.0, tau_refrac=4.0,
                  delta_v=2.0, v_t_star=-48.0, lambda0=5.0,
                  tau_eta=[1.0, 10.0, 100.0], a_eta=[1.0, 1.0, 1.0],
                  tau_gamma=[1.0, 10.0, 100.0], a_gamma=[1.0, 1.0, 1.0])
RECORDED = N                 # neurons per level whose i_eta and v_t are sampled


def _sampled(level):
    return np.arange(level * N, level * N + RECORDED)


def _nest_run():
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.ResetKernel()
    nest.resolution = DT
    nest.rng_seed = 12345
    p = PARAMETERS
    cells = nest.Create("gif_cond_exp", N * len(LEVELS), params=dict(
        C_m=1000.0 * p["cm"], g_L=1000.0 * p["cm"] / p["tau_m"], E_L=p["v_rest"],
        V_reset=p["v_reset"], t_ref=p["tau_refrac"], Delta_V=p["delta_v"],
        V_T_star=p["v_t_star"], lambda_0=p["lambda0"], tau_stc=p["tau_eta"],
        q_stc=[1000.0 * a for a in p["a_eta"]], tau_sfa=p["tau_gamma"],
        q_sfa=p["a_gamma"]))
    cells.set(I_e=list(1000.0 * np.repeat(LEVELS, N)), V_m=p["v_rest"])
    recorder = nest.Create("spike_recorder")
    nest.Connect(cells, recorder)
    sampled = np.concatenate([_sampled(k) for k in range(len(LEVELS))])
    meter = nest.Create("multimeter", params={"record_from": ["I_stc", "E_sfa"],
                                              "interval": 1.0})
    nest.Connect(meter, cells[sampled.tolist()])
    nest.Simulate(TSTOP)
    ids = np.asarray(cells.tolist())
    events = recorder.events
    trains = [events["times"][events["senders"] == i] for i in ids]
    samples = meter.events
    late = samples["times"] >= LATE[0]
    traces = {}
    for k in range(len(LEVELS)):
        mine = np.isin(samples["senders"], ids[_sampled(k)]) & late
        traces[k] = (samples["I_stc"][mine].mean() / 1000.0, samples["E_sfa"][mine].mean())
    return trains, traces


def _engine_run(rng_seed=7, size=None, duration=TSTOP):
    sim.setup(timestep=DT, chip="ideal", rng_seed=rng_seed)
    size = size or N * len(LEVELS)
    cells = sim.Population(size, sim.GIF_cond_exp(
        i_offset=np.repeat(LEVELS, N)[:size], **PARAMETERS), label="gif")
    cells.record("spikes")
    if size == N * len(LEVELS):
        cells[np.concatenate([_sampled(k) for k in range(len(LEVELS))])].record(
            ["i_eta", "v_t"], sampling_interval=1.0)
    sim.run(duration)
    segment = cells.get_data().segments[0]
    trains = [np.asarray(train.magnitude) for train in segment.spiketrains]
    traces = {}
    if size == N * len(LEVELS):
        late = int(LATE[0])
        i_eta = np.asarray(segment.filter(name="i_eta")[0].magnitude)[late:]
        v_t = np.asarray(segment.filter(name="v_t")[0].magnitude)[late:]
        for k in range(len(LEVELS)):
            columns = slice(k * RECORDED, (k + 1) * RECORDED)
            traces[k] = (i_eta[:, columns].mean(), v_t[:, columns].mean())
    sim.end()
    return trains, traces


def _count(trains, window):
    return sum(int(np.count_nonzero((t >= window[0]) & (t < window[1]))) for t in trains)


def _cv(trains):
    intervals = np.concatenate([np.diff(t) for t in trains])
    cv = intervals.std() / intervals.mean()
    return cv, cv * np.sqrt((1 + 2 * cv ** 2) / (2 * intervals.size))


@pytest.fixture(scope="module")
def runs():
    return _nest_run(), _engine_run()


@pytest.mark.parametrize("level", range(len(LEVELS)))
def test_rate_and_isi_cv_agree_with_nest(runs, level):
    (nest_trains, _), (trains, _) = runs
    ours, reference = (t[level * N:(level + 1) * N] for t in (trains, nest_trains))
    n_ours, n_ref = _count(ours, (0, TSTOP)), _count(reference, (0, TSTOP))
    assert n_ref > 400
    assert abs(n_ours - n_ref) < 4 * np.sqrt(n_ours + n_ref), (n_ours, n_ref)
    (cv_ours, se_ours), (cv_ref, se_ref) = _cv(ours), _cv(reference)
    assert abs(cv_ours - cv_ref) < 4 * np.hypot(se_ours, se_ref), (cv_ours, cv_ref)


@pytest.mark.parametrize("level", range(len(LEVELS)))
def test_adaptation_visible_in_both(runs, level):
    (nest_trains, nest_traces), (trains, traces) = runs
    ratios = []
    for all_trains in (trains, nest_trains):
        group = all_trains[level * N:(level + 1) * N]
        early = _count(group, EARLY)
        late = _count(group, LATE)
        rate_early = early / (EARLY[1] - EARLY[0])
        rate_late = late / (LATE[1] - LATE[0])
        assert rate_early > 1.3 * rate_late
        # relative counting noise of the ratio
        ratios.append((rate_early / rate_late, np.sqrt(1 / early + 1 / late)))
    (r1, e1), (r2, e2) = ratios
    assert abs(np.log(r1 / r2)) < 4 * np.hypot(e1, e2)
    late_counts = [_count(t[level * N:(level + 1) * N], LATE) for t in (trains, nest_trains)]
    tolerance = 4 * np.sqrt(sum(1 / n for n in late_counts))
    (i_eta, v_t), (nest_i_eta, nest_v_t) = traces[level], nest_traces[level]
    gamma, nest_gamma = v_t - PARAMETERS["v_t_star"], nest_v_t - PARAMETERS["v_t_star"]
    assert min(i_eta, nest_i_eta, gamma, nest_gamma) > 0.05
    assert abs(np.log(i_eta / nest_i_eta)) < tolerance, (i_eta, nest_i_eta)
    assert abs(np.log(gamma / nest_gamma)) < tolerance, (gamma, nest_gamma)


def test_escape_noise_draws_from_the_seeded_generator():
    first, _ = _engine_run(rng_seed=3, size=50, duration=100.0)
    again, _ = _engine_run(rng_seed=3, size=50, duration=100.0)
    other, _ = _engine_run(rng_seed=4, size=50, duration=100.0)
    assert sum(len(t) for t in first) > 20
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_array_parameters_split_into_padded_components():
    values = np.array([ArrayParameter([5.0, 50.0]), ArrayParameter([7.0])], dtype=object)
    taus = component_parameters("tau_eta", values)
    np.testing.assert_array_equal(np.stack([taus[f"tau_eta{k}"] for k in (1, 2, 3)]),
                                  [[5.0, 7.0], [50.0, 1.0], [1.0, 1.0]])
    amplitudes = component_parameters("a_gamma", [ArrayParameter([2.0])])
    assert [float(amplitudes[f"a_gamma{k}"][0]) for k in (1, 2, 3)] == [2.0, 0.0, 0.0]


def test_more_components_than_circuits_is_an_error():
    sim.setup(timestep=DT, chip="ideal")
    sim.Population(2, sim.GIF_cond_exp(tau_eta=[1.0, 2.0, 3.0, 4.0],
                                       a_eta=[0.1, 0.1, 0.1, 0.1]), label="four")
    with pytest.raises(MappingError, match=r"'tau_eta' has 4 components.*at most 3"):
        sim.run(1.0)
    sim.end()


@pytest.mark.filterwarnings("ignore:chip .analog.*runs uncalibrated")
@pytest.mark.parametrize("chip", ["analog", "digital"])
def test_chips_without_escape_noise_refuse_it(chip):
    sim.setup(timestep=0.1, chip=chip, calibration=None)
    sim.Population(2, sim.GIF_cond_exp(), label="stochastic")
    with pytest.raises(MappingError, match=rf"'stochastic'.*the {chip} chip cannot realise "
                                           r"cell type GIF_cond_exp.*escape-noise"):
        sim.run(1.0)
    sim.end()
