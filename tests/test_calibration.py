"""Calibration (issue 5).

Measurement helpers and search algorithms against closed forms; the result file; trim
codes in the mapping; placement around failed circuits; setup(calibration=...) and
its cache; and a calibration of a one-chip variant of the analog chip (512 circuits,
the default chip's model otherwise): the spread of firing rates of identical neurons
before and after, and the residual against what the trim resolution predicts.
"""

import time
import warnings
from importlib import resources
from types import SimpleNamespace

import numpy as np
import pytest

import pyNN.sparsehw as sim
from pyNN_sparsehw import simulator
from pyNN_sparsehw.calibration import (CalibrationError, CalibrationResult, cache_path,
                                       calibrate, default_routines, needs_calibration,
                                       reference_chip)
from pyNN_sparsehw.calibration import measures
from pyNN_sparsehw.calibration.bench import DT, spike_times
from pyNN_sparsehw.calibration.command import main as calibrate_command
from pyNN_sparsehw.calibration.routines import FiringRate, Threshold
from pyNN_sparsehw.calibration.search import BinarySearch, LinearPrediction
from pyNN_sparsehw.chip import load_chip
from pyNN_sparsehw.chip.placement import ChipResourceError, Mesh, Placer
from pyNN_sparsehw.chip.realise import trim_step

SEED = 11
#: the end-to-end routine's reference input on PyNN's default neuron
REFERENCE = dict(i_offset=FiringRate().input_current)
#: another operating point (tests/test_chip_mapping.py's identical neurons)
OTHER = dict(cm=0.2, tau_m=20.0, v_rest=-60.0, v_reset=-60.0, v_thresh=-50.0,
             tau_refrac=5.0, tau_syn_E=5.0, tau_syn_I=10.0, e_rev_E=0.0, e_rev_I=-80.0,
             i_offset=0.25)
DEFAULTS = sim.IF_cond_exp.default_parameters


# --------------------------------------------------------------- measurements
def test_limit_and_time_constant_of_an_exponential_from_three_samples():
    rng = np.random.default_rng(0)
    v_inf, tau = rng.uniform(-70, -40, 50), rng.uniform(0.5, 40.0, 50)
    v0, spacing = v_inf - 12.0, 2.5
    samples = [v_inf + (v0 - v_inf) * np.exp(-k * spacing / tau) for k in range(3)]
    np.testing.assert_allclose(measures.exponential_limit(*samples), v_inf, atol=1e-9)
    np.testing.assert_allclose(measures.decay_time_constant(*samples, spacing), tau, rtol=1e-9)


def test_threshold_from_a_rising_membrane_is_within_half_a_step_and_unbiased():
    rng = np.random.default_rng(1)
    n, rho, v_inf, v0 = 4000, np.exp(-DT / 10.0), -35.0, -62.0
    threshold = rng.uniform(-58.0, -42.0, n)
    k = np.arange(200)[:, None]
    free = v_inf + (v0 - v_inf) * rho ** k
    crossed = np.argmax(free >= threshold, axis=0)          # first sample above
    v = np.where(k < crossed, free, -70.0)                  # reset from then on
    step = free[crossed, 0] - free[crossed - 1, 0]
    error = measures.threshold_crossing(v) - threshold
    assert np.all(np.abs(error) <= step / 2 + 1e-9)
    assert abs(error.mean()) < 0.05 * step.mean()
    assert np.isnan(measures.threshold_crossing(free[:, :1])[0])      # never spiked


def test_refractory_clamp_and_reset_potential_of_a_trace():
    rise = np.linspace(-60.0, -50.5, 20)
    trace = np.concatenate([rise, np.full(37, -65.0), -65.0 + np.cumsum(np.full(10, 0.3))])
    v = np.stack([trace, np.linspace(-60, -55, trace.size)], axis=1)   # 2nd never spikes
    duration = measures.clamped_duration(v, DT)
    assert duration[0] == pytest.approx(3.7) and np.isnan(duration[1])
    assert measures.reset_potential(v[:, :1])[0] == -65.0


def test_mean_firing_rate_from_inter_spike_intervals():
    indices = np.array([0, 3, 0, 3, 1, 0])
    times = np.array([10.0, 5.0, 30.0, 7.5, 12.0, 50.0])
    rates = measures.mean_firing_rate(indices, times, 4)
    assert rates[0] == pytest.approx(50.0) and rates[3] == pytest.approx(400.0)
    assert np.isnan(rates[1]) and np.isnan(rates[2])


def test_charge_integral_of_an_exponential_includes_its_tail():
    t = np.arange(0.0, 15.0 + DT / 2, DT)[:, None]
    amplitude, tau, baseline = np.array([3.0, -2.0]), np.array([5.0, 2.0]), -65.0
    v = baseline + amplitude * np.exp(-t / tau)
    charge = measures.charge_integral(v, baseline, DT, 50)
    # the trapezoid rule's error on an exponential: (dt / tau)**2 / 12
    np.testing.assert_allclose(charge, amplitude * tau, rtol=1.1 * (DT / tau.min()) ** 2 / 12)


# ----------------------------------------------------------------- searches
STEP = 20.0 / 64                      # mV per code of the analog chip's voltage trims


def _counting(function):
    """`function` with a count of its calls."""
    def measure(codes):
        measure.calls += 1
        return function(codes)
    measure.calls = 0
    return measure


def test_binary_search_finds_the_nearest_code_with_bits_plus_one_measurements():
    rng = np.random.default_rng(2)
    offset = rng.normal(0.0, 2.0, (1, 3000))
    offset[0, :5] = [15.0, -15.0, 9.0, -9.0, 0.0]            # two beyond the trim's reach
    rising = _counting(lambda codes: -65.0 + offset + (codes - 32) * STEP)
    target = np.full((1, 1), -65.0)
    start = np.full(offset.shape, 32)
    outcome = BinarySearch()(rising, target, 6, 0.75 * STEP, start)
    assert rising.calls == outcome.calls == 7
    nearest = np.argmin(np.abs(-65.0 + offset + (np.arange(64)[:, None, None] - 32) * STEP
                               + 65.0), axis=0)
    np.testing.assert_array_equal(outcome.codes, nearest)
    assert list(outcome.success[0, :5]) == [False, False, True, True, True]
    assert outcome.codes[0, 0] == 0 and outcome.codes[0, 1] == 63
    good = outcome.success
    assert np.std(outcome.error[good]) == pytest.approx(STEP / np.sqrt(12), rel=0.05)
    falling = _counting(lambda codes: -rising(codes))
    mirrored = BinarySearch(increasing=False)(falling, -target, 6, 0.75 * STEP, start)
    np.testing.assert_array_equal(mirrored.codes, outcome.codes)


def test_linear_and_polynomial_prediction_need_few_measurements():
    rng = np.random.default_rng(3)
    gain = rng.normal(1.0, 0.15, (2, 2000))              # two streams at once
    linear = _counting(lambda codes: 20.0 * gain * (1 + (codes - 64) / 91.4))
    start = np.full(gain.shape, 64)
    outcome = LinearPrediction()(linear, np.full((2, 1), 20.0), 7, 1.0, start)
    assert linear.calls == 3
    grid = np.arange(128)[:, None, None]
    nearest = np.argmin(np.abs(20.0 * gain * (1 + (grid - 64) / 91.4) - 20.0), axis=0)
    reachable = outcome.success
    np.testing.assert_array_equal(outcome.codes[reachable], nearest[reachable])
    # a curved response: a quadratic fit through three codes is exact, a line is not
    curved = _counting(lambda codes: 0.0005 * (codes + 30.0) ** 2 + gain[:1] * 10.0)
    target = np.full((1, 1), 16.0)
    nearest = np.argmin(np.abs(0.0005 * (grid + 30.0) ** 2 + gain[:1] * 10.0 - 16.0), axis=0)
    quadratic = LinearPrediction((0.2, 0.6, 1.0), degree=2)(
        curved, target, 7, 0.2, start[:1])
    straight = LinearPrediction((0.2, 1.0))(curved, target, 7, 0.2, start[:1])
    ok = quadratic.success
    assert ok.mean() > 0.9
    np.testing.assert_array_equal(quadratic.codes[ok], nearest[ok])
    assert np.mean(straight.codes == nearest) < 0.5


def test_circuits_that_cannot_be_measured_keep_their_codes_and_fail():
    broken = np.zeros((1, 100), dtype=bool)
    broken[0, ::10] = True                                   # e.g. never spike

    def measure(codes):
        return np.where(broken, np.nan, -65.0 + (codes - 32) * STEP)
    start = np.full(broken.shape, 40)
    start[0, ::20] = 7
    for algorithm in (BinarySearch(), LinearPrediction()):
        outcome = algorithm(measure, np.full((1, 1), -65.0), 6, 0.75 * STEP, start)
        np.testing.assert_array_equal(outcome.codes[broken], start[broken])
        np.testing.assert_array_equal(outcome.success, ~broken)
        assert np.all(outcome.codes[~broken] == 32)


def test_noisy_searches_average_the_trial_to_trial_noise():
    rng = np.random.default_rng(4)
    offset = rng.normal(0.0, 2.0, (1, 4000))
    noise = 0.2

    def frozen(codes):
        return -50.0 + offset + (codes - 32) * STEP

    def noisy(codes):
        return frozen(codes) + rng.normal(0.0, noise, codes.shape)
    target, start = np.full((1, 1), -50.0), np.full(offset.shape, 32)
    spread = {}
    for name, algorithm in [
            ("plain", BinarySearch()),
            ("noisy binary", BinarySearch(repeats=4)),
            ("noisy linear", LinearPrediction((0.375, 0.625), repeats=4, common_slope=True))]:
        outcome = algorithm(noisy, target, 6, 0.75 * STEP + 3 * noise / 2, start)
        spread[name] = np.std(frozen(outcome.codes) - target)
    limit = np.sqrt(STEP ** 2 / 12 + noise ** 2 / 8)          # quantization + 8 trials
    assert spread["noisy linear"] < 1.15 * limit
    assert spread["noisy binary"] < 1.5 * limit
    assert spread["plain"] > 1.3 * spread["noisy binary"]


# ------------------------------------------------------------ result, mapping
def test_result_round_trips_through_json_and_refuses_another_chip_instance(tmp_path):
    chip = load_chip("analog")
    result = CalibrationResult.empty(chip, 3, {"v_rest": -65.0})
    rng = np.random.default_rng(5)
    result.codes["v_rest"] = rng.integers(0, 64, result.shape)
    result.success["v_rest"] = rng.random(result.shape) > 0.01
    path = result.save(tmp_path / "cal.json")
    loaded = CalibrationResult.load(path)
    np.testing.assert_array_equal(loaded.codes["v_rest"], result.codes["v_rest"])
    np.testing.assert_array_equal(loaded.usable, result.usable)
    assert loaded.targets == {"v_rest": -65.0} and loaded.shape == (16, 512)
    cores, circuits = loaded.failed
    assert cores.size == np.count_nonzero(~result.success["v_rest"])
    assert f"{cores.size} failed" in loaded.summary()
    with pytest.raises(CalibrationError, match=r"chip_seed 3\).*chip_seed 4\)"):
        loaded.check(chip, 4)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(CalibrationError, match="not a pyNN_sparsehw calibration"):
        CalibrationResult.load(tmp_path / "bad.json")


def test_trim_codes_correct_each_circuit_by_whole_trim_steps():
    chip = load_chip("analog")
    result = CalibrationResult.empty(chip, 2)
    codes = np.arange(result.shape[0] * result.shape[1]).reshape(result.shape)
    result.codes["v_rest"] = codes % 64
    result.codes["tau_m"] = codes % 128
    values = {}
    for calibration in (None, result):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            sim.setup(chip=chip, chip_seed=2, calibration=calibration, trial_noise=False)
        cells = sim.Population(700, sim.IF_cond_exp())
        values[calibration is None] = cells.get(["v_rest", "tau_m"], hardware=True)
    (rest0, tau0), (rest1, tau1) = values[True], values[False]
    k = np.arange(700)
    np.testing.assert_allclose(rest1 - rest0, (k % 64 - 32) * trim_step(chip.parameter("v_rest")))
    np.testing.assert_allclose(tau1 / tau0, 1 + (k % 128 - 64) * trim_step(chip.parameter("tau_m")))


def test_placement_skips_unusable_circuits():
    usable = np.ones((2, 8), dtype=bool)
    usable[0, [1, 2, 6]] = False
    placer = Placer(Mesh((1, 1), (2, 1)), 8, 2, 0, "test", usable=usable)
    placer.place(0, "a", 4)
    placer.place(1, "b", 6)
    np.testing.assert_array_equal(placer.circuit[0], [0, 3, 4, 5])
    np.testing.assert_array_equal(placer.core[1], [0, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(placer.circuit[1], [7, 0, 1, 2, 3, 4])
    with pytest.raises(ChipResourceError, match="3 circuits are unusable"):
        placer.place(2, "c", 4)


def test_setup_without_calibration_warns_how_to_calibrate_and_trimless_chips_are_silent():
    with pytest.warns(UserWarning, match=r"chip 'analog' \(chip_seed 7\) runs uncalibrated.*"
                                         r"calibration='auto'.*--chip analog --seed 7"):
        sim.setup(chip="analog", chip_seed=7, calibration=None)
    assert simulator.state.calibration is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for chip in ("ideal", "digital"):
            sim.setup(chip=chip)                       # calibration="auto": nothing to do
            assert simulator.state.calibration is None
            assert not needs_calibration(load_chip(chip))
    assert not needs_calibration(reference_chip(load_chip("analog")))
    with pytest.raises(TypeError, match="calibration must be 'auto', None"):
        sim.setup(chip="analog", calibration=3)


def test_cache_file_is_keyed_by_chip_model_seed_and_targets():
    analog = load_chip("analog")
    paths = {cache_path(analog, 1), cache_path(analog, 2),
             cache_path(analog, 1, {"v_thresh": -52.0}), cache_path(load_chip("digital"), 1)}
    assert len(paths) == 4
    assert cache_path(analog, 1) == cache_path(analog, 1, {"v_thresh": -50.0})  # the default


# ------------------------------------------------- calibration of a small chip
def _one_chip_model(folder):
    """The analog chip model with one chip instead of 16, as a TOML file."""
    text = (resources.files("pyNN_sparsehw.models") / "analog.toml").read_text()
    for old, new in (("max_chips = 16", "max_chips = 1"),
                     ("chip_grid = [4, 4]", "chip_grid = [1, 1]")):
        assert old in text
        text = text.replace(old, new)
    path = folder / "analog_one_chip.toml"
    path.write_text(text)
    return str(path)


@pytest.fixture(scope="module")
def one_chip(tmp_path_factory):
    """A calibrated one-chip analog variant, through setup(calibration="auto"), with
    its own cache folder."""
    folder = tmp_path_factory.mktemp("calibration")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYNN_SPARSEHW_CACHE", str(folder / "cache"))
        path = _one_chip_model(folder)
        start = time.perf_counter()
        sim.setup(chip=path, chip_seed=SEED)
        seconds = time.perf_counter() - start
        yield SimpleNamespace(path=path, chip=load_chip(path), seconds=seconds,
                              result=simulator.state.calibration, folder=folder)


def firing_rates(chip, calibration, parameters, trial_noise=True, tstop=300.0):
    """Rates (Hz) of identical IF_cond_exp neurons under the identical constant input,
    one on every usable circuit: from inter-spike intervals, or spike count / time for
    neurons with fewer than two spikes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        sim.setup(chip=chip, chip_seed=SEED, calibration=calibration, trial_noise=trial_noise)
    n = 512 if calibration is None else int(calibration.usable.sum())
    cells = sim.Population(n, sim.IF_cond_exp(**parameters))
    cells.record("spikes")
    sim.run(tstop)
    indices, times = spike_times(cells)
    rates = measures.mean_firing_rate(indices, times, n)
    counted = np.bincount(indices, minlength=n) / (tstop / 1000.0)
    return np.where(np.isnan(rates), counted, rates)


def cv(rates):
    return np.std(rates) / np.mean(rates)


def test_same_seed_reuses_the_cache_and_another_seed_calibrates_anew(one_chip):
    result = one_chip.result
    assert one_chip.seconds > 2.0 and result.info["seconds"] < 60
    assert cache_path(one_chip.chip, SEED).is_file()
    start = time.perf_counter()
    sim.setup(chip=one_chip.path, chip_seed=SEED)
    assert time.perf_counter() - start < 2.0
    again = simulator.state.calibration
    for stream, codes in result.codes.items():
        np.testing.assert_array_equal(again.codes[stream], codes)
    start = time.perf_counter()
    sim.setup(chip=one_chip.path, chip_seed=SEED + 1)
    assert time.perf_counter() - start > 2.0               # it calibrated
    other = simulator.state.calibration
    assert other.chip_seed == SEED + 1 and cache_path(one_chip.chip, SEED + 1).is_file()
    assert np.mean(other.codes["v_rest"] == result.codes["v_rest"]) < 0.3


def test_calibration_shrinks_the_rate_spread_of_identical_neurons(one_chip):
    """Uncalibrated CV > 10 %; calibrated (trial-to-trial noise kept) < 3 % and at least
    5x smaller, at the end-to-end reference input and at another operating point."""
    for parameters in (REFERENCE, OTHER):
        before = cv(firing_rates(one_chip.path, None, parameters))
        after = cv(firing_rates(one_chip.path, one_chip.result, parameters))
        assert before > 0.10, (parameters, before)
        assert after < 0.03 and before / after >= 5, (parameters, before, after)


def _sigmas(chip, threshold_trials):
    """Frozen residual of each calibrated parameter: a uniform quantization error of
    one trim step, step / sqrt(12) (absolute: in the parameter's unit; relative: a
    fraction of its value); the threshold adds its calibration noise, the
    trial-to-trial sigma over the `threshold_trials` trials averaged."""
    def quantization(key):
        return trim_step(chip.parameter(key)) / np.sqrt(12)
    noise = chip.parameter("v_thresh")["noise"]["sigma"]
    return {"v_rest": quantization("v_rest"), "v_reset": quantization("v_reset"),
            "v_thresh": np.hypot(quantization("v_thresh"), noise / np.sqrt(threshold_trials)),
            "tau_m": quantization("tau_m"), "cm": quantization("c_m"),
            "i_offset": quantization("i_offset"), "tau_refrac": quantization("tau_refrac"),
            "tau_syn_E": quantization("tau_syn"), "tau_syn_I": quantization("tau_syn"),
            "gain_exc": quantization("gain_syn"), "gain_inh": quantization("gain_syn")}


RELATIVE = {"tau_m", "cm", "tau_refrac", "tau_syn_E", "tau_syn_I", "gain_exc", "gain_inh"}


def _threshold_trials():
    algorithm = Threshold().algorithm
    return algorithm.repeats * len(algorithm.fit_codes)


def _period(p):
    """Closed-form period (ms) of a LIF neuron under constant current (no noise)."""
    drive = p["v_rest"] + p["tau_m"] / p["cm"] * p["i_offset"]
    return p["tau_refrac"] + p["tau_m"] * np.log((drive - p["v_reset"]) / (drive - p["v_thresh"]))


def _sensitivity(p, name):
    h = 1e-5 * max(abs(p[name]), 1.0)
    return (_period({**p, name: p[name] + h}) - _period({**p, name: p[name] - h})) / (2 * h)


def test_parameter_residuals_match_the_trim_resolution(one_chip):
    """Each calibrated parameter's frozen spread (usable circuits) is the trim's
    quantization step / sqrt(12), the threshold's plus its calibration noise."""
    from pyNN_sparsehw.calibration.spread import realised_parameters
    chip, result = one_chip.chip, one_chip.result
    before = realised_parameters(chip, SEED, None, result.targets)
    after = realised_parameters(chip, SEED, result.codes, result.targets)
    usable = result.usable.reshape(-1)
    sigmas = _sigmas(chip, _threshold_trials())
    del sigmas["cm"]                 # refined end to end: it compensates the rate instead
    for name, predicted in sigmas.items():
        values = after[name][usable]
        spread = np.std(values) / (abs(np.mean(values)) if name in RELATIVE else 1.0)
        assert 0.8 < spread / predicted < 1.25, (name, spread, predicted)
        assert np.std(before[name]) > 5 * np.std(values), name


def test_rate_residual_matches_the_trim_resolution(one_chip):
    """Frozen rate spread (trial-to-trial noise off) at the reference input:

    - after the parameter routines alone: the trims' quantization errors (step /
      sqrt(12) each, threshold with its calibration noise) propagated through the
      closed-form LIF period, plus the period's rounding to whole time steps;
    - after the end-to-end routine too: what is left is its own estimate's noise, the
      trial-to-trial rate noise over the trials of its fit, plus the capacitance trim's
      quantization and the rounding.
    Both within 25 %."""
    chip, result = one_chip.chip, one_chip.result
    p = {**DEFAULTS, **REFERENCE}
    sigmas = {name: sigma * (p[name] if name in RELATIVE else 1.0)
              for name, sigma in _sigmas(chip, _threshold_trials()).items() if name in p}
    parameter_level = calibrate(chip, SEED, routines=default_routines()[:-1], progress=False)
    rates = firing_rates(one_chip.path, parameter_level, REFERENCE, trial_noise=False)
    period = 1000.0 / np.mean(rates)
    variance = sum((_sensitivity(p, name) * sigma) ** 2 for name, sigma in sigmas.items())
    predicted = np.sqrt(variance + DT ** 2 / 12) / period
    assert 0.75 < cv(rates) / predicted < 1.25, (cv(rates), predicted)

    rates = firing_rates(one_chip.path, result, REFERENCE, trial_noise=False)
    e2e = FiringRate().algorithm
    noise = chip.parameter("v_thresh")["noise"]["sigma"]
    trial = _sensitivity(p, "v_thresh") * noise
    variance = (trial ** 2 / (e2e.repeats * len(e2e.fit_codes))
                + (_sensitivity(p, "cm") * sigmas["cm"]) ** 2 + DT ** 2 / 12)
    predicted = np.sqrt(variance) / period
    assert 0.75 < cv(rates) / predicted < 1.25, (cv(rates), predicted)


def test_calibration_keeps_the_trial_to_trial_noise(one_chip):
    """Calibration corrects the frozen deviation only: the threshold's fresh noise of
    every trial is still there, and kept apart from it."""
    chip, result = one_chip.chip, one_chip.result
    n = int(result.usable.sum())
    sim.setup(chip=one_chip.path, chip_seed=SEED, calibration=result)
    cells = sim.Population(n, sim.IF_cond_exp())
    first = cells.get("v_thresh", hardware=True)
    mapped = simulator.state.mapping().populations[0]
    noise = mapped.noise["v_thresh"].copy()
    sigma = chip.parameter("v_thresh")["noise"]["sigma"]
    assert np.std(noise) == pytest.approx(sigma, rel=0.15)
    sim.run(1.0)
    sim.reset()                                              # a new trial
    second = cells.get("v_thresh", hardware=True)
    assert np.std(second - first) == pytest.approx(sigma * np.sqrt(2), rel=0.15)
    frozen = first - noise                                   # deviation + trim correction
    assert np.std(frozen) < 0.7 * sigma
    sim.setup(chip=one_chip.path, chip_seed=SEED, calibration=result, trial_noise=False)
    cells = sim.Population(n, sim.IF_cond_exp())
    np.testing.assert_allclose(cells.get("v_thresh", hardware=True), frozen, atol=1e-12)


def test_failed_circuits_are_reported_and_avoided_by_placement(one_chip):
    result = one_chip.result
    cores, circuits = result.failed
    assert 0 < cores.size < 30                 # a few trims out of range on 512 circuits
    assert f"{512 - cores.size} of 512 circuits usable, {cores.size} failed" in result.summary()
    sim.setup(chip=one_chip.path, chip_seed=SEED, calibration=result)
    sim.Population(512 - cores.size, sim.IF_cond_exp())
    placed = simulator.state.mapping().populations[0].circuits
    assert not set(placed) & set(circuits) and len(set(placed)) == placed.size
    # the hardware report says how the chip is calibrated
    status = sim.hardware_report().as_dict()["chip"]["calibration"]
    assert status["calibrated"] and status["circuits"] == 512
    assert status["failed_circuits"] == cores.size == 512 - status["usable_circuits"]
    assert status["failures"] == result.failures()
    assert f"{512 - cores.size} of 512 circuits usable" in str(sim.hardware_report())
    sim.setup(chip=one_chip.path, chip_seed=SEED, calibration=result)
    sim.Population(512, sim.IF_cond_exp(), label="all")
    with pytest.raises(ChipResourceError, match=rf"'all' does not fit.*{cores.size} circuits "
                                                rf"are unusable"):
        sim.run(1.0)


def test_command_shows_the_spread_and_writes_a_plot(one_chip, tmp_path, capsys):
    status = calibrate_command(["--chip", one_chip.path, "--seed", str(SEED), "--show",
                                "--out", str(tmp_path), "--quiet"])
    assert status == 0
    out = capsys.readouterr().out
    for name in ("v_rest", "tau_m", "v_thresh", "tau_refrac", "gain_exc", "failed circuits"):
        assert name in out
    assert (tmp_path / f"analog-seed{SEED}-spread.png").stat().st_size > 10000
    saved = CalibrationResult.load(tmp_path / f"analog-seed{SEED}.json")
    np.testing.assert_array_equal(saved.codes["tau_m"], one_chip.result.codes["tau_m"])
    assert calibrate_command(["--chip", "nonexistent"]) == 2
