"""Spike-train metrics (against elephant and closed forms) and `sparsehw compare`
against pyNN.nest: the Vogels-Abbott network and PyNN's own examples."""

import contextlib
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from pyNN_sparsehw.cli import commands as cli
from pyNN_sparsehw.cli.compare import (Tolerances, compare_populations, count_reliability,
                                   population_checks, population_metrics, run_simulator,
                                   summary_text)
from pyNN_sparsehw.cli.scripts import load_spikes, save_spikes
from pyNN_sparsehw.report.spiketrains import (PopulationSpikes, isi_cv, matched_spike_pairs,
                                       rate_correlation, spike_agreement,
                                       van_rossum_distances)

REPO = Path(__file__).resolve().parent.parent
VOGELS_ABBOTT = REPO / "examples" / "vogels_abbott.py"
#: the Vogels-Abbott network at full size, half the biological time (fast enough for
#: the default test run; `make compare` runs 1 s)
VA_ARGS = ["nest", "--n", "4000", "--tstop", "500"]


def random_population(rng, n, rate_hz, duration_ms, label="p"):
    counts = rng.poisson(rate_hz * duration_ms / 1000.0, n)
    neuron = np.repeat(np.arange(n), counts)
    times = rng.uniform(0.0, duration_ms, neuron.size)
    return PopulationSpikes(label, n, np.arange(n), neuron, times, 0.0, duration_ms)


# ---------------------------------------------------------------- metrics
@pytest.mark.parametrize("tau_ms", [2.0, 10.0, 50.0])
def test_van_rossum_matches_elephant(tau_ms):
    elephant = pytest.importorskip("elephant.spike_train_dissimilarity")
    import neo
    import quantities as pq
    rng = np.random.default_rng(7)
    a = random_population(rng, 30, 25.0, 1000.0)
    b = random_population(rng, 30, 25.0, 1000.0)
    # neuron 0: b is a is jittered copy; neuron 1: empty in a
    keep = a.neuron != 1
    a = PopulationSpikes("p", 30, a.recorded, a.neuron[keep], a.times[keep], 0.0, 1000.0)
    first = a.neuron == 0
    b = PopulationSpikes("p", 30, b.recorded, np.concatenate([b.neuron[b.neuron != 0],
                                                              a.neuron[first]]),
                         np.concatenate([b.times[b.neuron != 0], a.times[first] + 0.3]),
                         0.0, 1000.0)
    ours = van_rossum_distances(a.neuron, a.times, b.neuron, b.times, 30, tau_ms)
    reference = [elephant.van_rossum_distance(
        [neo.SpikeTrain(x * pq.ms, t_stop=1000 * pq.ms), neo.SpikeTrain(y * pq.ms,
                                                                        t_stop=1000 * pq.ms)],
        tau_ms * pq.ms)[0, 1] for x, y in zip(a.trains(), b.trains())]
    np.testing.assert_allclose(ours, reference, rtol=1e-9, atol=1e-9)
    assert ours[0] < 0.5 * np.median(ours)      # the jittered copy is close


def test_van_rossum_closed_forms():
    # one spike against none: 1; two single spikes delta apart: sqrt(2 - 2 exp(-delta/tau))
    d = van_rossum_distances(np.array([0, 1]), np.array([5.0, 5.0]), np.array([1]),
                             np.array([8.0]), 2, 10.0)
    np.testing.assert_allclose(d, [1.0, np.sqrt(2 - 2 * np.exp(-0.3))], rtol=1e-12)


def test_spike_agreement_pairs_one_to_one():
    n = np.zeros(4, dtype=int)
    t = np.array([10.0, 30.0, 50.0, 70.0])
    assert spike_agreement(n, t, n, t, 1.0) == 1.0
    assert spike_agreement(n, t, n, t + 0.5, 1.0) == 1.0
    assert spike_agreement(n, t, n, t + 2.0, 1.0) == 0.0
    assert spike_agreement(n, t, n[:2], t[:2], 1.0) == pytest.approx(2 * 2 / 6)
    # two spikes near one partner: only one pair
    assert matched_spike_pairs(np.array([0, 0]), np.array([10.0, 10.2]), np.array([0]),
                               np.array([10.1]), 1.0) == 1
    # the same times on different neurons never pair
    assert matched_spike_pairs(np.array([0]), np.array([10.0]), np.array([1]),
                               np.array([10.0]), 1.0) == 0
    assert spike_agreement(n[:0], t[:0], n[:0], t[:0], 1.0) == 1.0


def test_isi_cv_per_neuron():
    neuron = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    times = np.array([0.0, 1.0, 4.0, 0.0, 5.0, 10.0, 1.0, 2.0])
    cv = isi_cv(neuron, times, 4)
    np.testing.assert_allclose(cv[:2], [0.5, 0.0])       # intervals (1, 3); (5, 5)
    assert np.isnan(cv[2]) and np.isnan(cv[3])          # 2 spikes; none
    rng = np.random.default_rng(3)
    p = random_population(rng, 50, 30.0, 2000.0)
    expected = [np.std(np.diff(x)) / np.mean(np.diff(x)) if x.size >= 3 else np.nan
                for x in p.trains()]
    np.testing.assert_allclose(isi_cv(p.neuron, p.times, 50), expected, rtol=1e-10)


def test_rate_correlation_and_reliability():
    rng = np.random.default_rng(5)
    a, b = rng.poisson(10, 200), rng.poisson(10, 200)
    assert rate_correlation(a, b) == pytest.approx(np.corrcoef(a, b)[0, 1])
    assert np.isnan(rate_correlation(np.ones(5), np.arange(5)))
    # equal rates: the spread is counting noise; rates from 1 to 100: it is not
    assert count_reliability(rng.poisson(20, 5000)) < 0.1
    rates = np.linspace(1, 100, 5000)
    expected = 1 - rates.mean() / (rates.var() + rates.mean())
    assert count_reliability(rng.poisson(rates)) == pytest.approx(expected, abs=0.02)


def test_checks_deterministic_and_stochastic():
    rng = np.random.default_rng(11)
    reference = random_population(rng, 100, 20.0, 1000.0)
    same = population_metrics(reference, reference)
    assert same["spike_agreement"] == 1.0 and same["van_rossum_per_spike"] == 0.0
    checks = population_checks(same, Tolerances(), deterministic=True)
    assert all(c["passed"] for c in checks.values())
    # 30 % more spikes (3 ms after others): rate and spike agreement fail
    extra = rng.random(reference.times.size) < 0.3
    more = PopulationSpikes("p", 100, reference.recorded,
                            np.concatenate([reference.neuron, reference.neuron[extra]]),
                            np.concatenate([reference.times, reference.times[extra] + 3.0]),
                            0.0, 1000.0)
    metrics = population_metrics(more, reference)
    assert metrics["rate_difference_relative"] == pytest.approx(extra.sum()
                                                                / reference.times.size)
    n = reference.times.size
    assert metrics["spike_agreement"] == pytest.approx(2 * n / (2 * n + extra.sum()))
    checks = population_checks(metrics, Tolerances(), deterministic=True)
    assert checks["rate"]["passed"] is False and checks["spike_agreement"]["passed"] is False
    # a stochastic network: spike timing is not checked, counting noise is allowed for
    independent = population_metrics(random_population(rng, 100, 20.0, 1000.0), reference)
    checks = population_checks(independent, Tolerances(), deterministic=False)
    assert checks["spike_agreement"]["passed"] is None
    assert checks["rate_correlation"]["passed"] is None     # equal rates: noise only
    assert checks["rate"]["passed"] is True
    assert checks["rate"]["limit"] == pytest.approx(
        0.1 * independent["reference"]["rate_hz"] + 0.5 + 3 * independent["rate_noise_hz"])


def test_compare_populations_matches_labels():
    rng = np.random.default_rng(2)
    a = [random_population(rng, 10, 5.0, 500.0, "x"), random_population(rng, 10, 5.0, 500.0, "y")]
    b = [a[0], random_population(rng, 10, 5.0, 500.0, "z")]
    result = compare_populations(a, b, Tolerances(), deterministic=True)
    assert [e["label"] for e in result["populations"]] == ["x"]
    assert sorted(result["missing"]) == ["y", "z"]


def test_tolerances_parse():
    t = Tolerances.parse(["rate=0.05", "isi-cv=0.3", "min_cv_neurons=2"])
    assert (t.rate, t.isi_cv, t.min_cv_neurons, t.rate_hz) == (0.05, 0.3, 2, 0.5)
    with pytest.raises(ValueError, match="KEY=VALUE with KEY one of rate"):
        Tolerances.parse(["speed=1"])
    with pytest.raises(ValueError, match="not a number"):
        Tolerances.parse(["rate=fast"])


def test_spikes_file_round_trip(tmp_path):
    rng = np.random.default_rng(4)
    populations = [random_population(rng, 7, 40.0, 300.0, "a b"),
                   random_population(rng, 3, 0.0, 300.0, "empty")]
    save_spikes(tmp_path / "s.npz", populations)
    loaded = load_spikes(tmp_path / "s.npz")
    assert [p.label for p in loaded] == ["a b", "empty"]
    for p, q in zip(populations, loaded):
        np.testing.assert_array_equal(p.times, q.times)
        np.testing.assert_array_equal(p.neuron, q.neuron)
        assert (p.size, p.t_start, p.t_stop) == (q.size, q.t_start, q.t_stop)


# ------------------------------------------------- against pyNN.nest (processes)
def assert_png_not_blank(path):
    from matplotlib.image import imread
    image = imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 100
    ink = np.mean(image[..., :3] < 0.5)
    assert ink > 0.01, f"{path} is (nearly) blank"


@pytest.fixture(scope="module")
def vogels_abbott_ideal(tmp_path_factory):
    """`sparsehw compare` of the Vogels-Abbott network, chip ideal, against nest
    (and a simulator that does not exist)."""
    pytest.importorskip("nest")
    out = tmp_path_factory.mktemp("va_ideal")
    argv = ["compare", str(VOGELS_ABBOTT), *VA_ARGS, "--chip", "ideal", "--reference", "nest",
            "--reference", "nosuchsim", "--out", str(out)]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = cli.main(argv)
    return status, out, printed.getvalue()


def test_compare_vogels_abbott_ideal_passes(vogels_abbott_ideal):
    status, out, _ = vogels_abbott_ideal
    assert status == 0
    result = json.loads((out / "comparison.json").read_text())
    assert result["passed"] and result["compared"] == 1
    assert result["chip"]["name"] == "ideal"
    assert not result["deterministic"] and "SpikeSourcePoisson 'expoisson'" in \
        result["stochastic_elements"]
    assert result["runs"]["nosuchsim"]["status"] == "unavailable"
    populations = result["comparisons"][0]["populations"]
    assert [p["label"] for p in populations] == ["Excitatory_Cells", "Inhibitory_Cells"]
    for entry in populations:
        m = entry["metrics"]
        assert m["neurons_compared"] == {"Excitatory_Cells": 3200,
                                         "Inhibitory_Cells": 800}[entry["label"]]
        assert abs(m["rate_difference_relative"]) < 0.05
        assert abs(m["isi_cv_difference"]) < 0.1
        assert m["rate_correlation"] > 0.75
        assert m["spike_agreement"] < 0.5          # chaotic: spike times diverge
    for name in ("rasters", "rates"):
        assert_png_not_blank(out / f"{name}.png")


def test_compare_vogels_abbott_analog_differs(vogels_abbott_ideal, tmp_path):
    """Uncalibrated analog chip: mismatch raises the rates and decorrelates the rates
    of single neurons from NEST's; the default tolerances fail, with the numbers."""
    _, out, _ = vogels_abbott_ideal
    nest = load_spikes(out / "nest" / "spikes.npz")
    ideal = load_spikes(out / "sparsehw" / "spikes.npz")
    analog = run_simulator("sparsehw", VOGELS_ABBOTT, VA_ARGS, tmp_path, chip="analog",
                           calibration="none")
    assert analog.status == "ok", analog.message
    result = compare_populations(analog.spikes, nest, Tolerances(), deterministic=False)
    baseline = compare_populations(ideal, nest, Tolerances(), deterministic=False)
    assert baseline["passed"] and not result["passed"]
    for entry, ideal_entry in zip(result["populations"], baseline["populations"]):
        m, m0 = entry["metrics"], ideal_entry["metrics"]
        assert m["rate_difference_relative"] > 0.1
        assert m["rate_correlation"] < m0["rate_correlation"] - 0.1
        assert entry["checks"]["rate_correlation"]["passed"] is False
    text = summary_text(dict(chip={"name": "analog"}, runs={},
                             comparisons=[dict(result, reference="nest")]))
    assert "sparsehw (chip analog) vs nest: FAIL" in text
    corr = result["populations"][0]["metrics"]["rate_correlation"]
    assert f"{corr:.4g}" in text


def test_unavailable_reference_is_one_line(vogels_abbott_ideal):
    _, _, stdout = vogels_abbott_ideal
    assert "sparsehw (chip ideal) vs nest: PASS" in stdout
    message = [line for line in stdout.splitlines() if "not available" in line]
    assert len(message) == 1
    assert "nosuchsim is not available (PyNN has no backend pyNN.nosuchsim)" in message[0]
    assert "Traceback" not in stdout


def test_nothing_compared_exit_status(tmp_path, capsys):
    script = tmp_path / "net.py"
    script.write_text("import pyNN.nest as sim\n")
    status = cli.main(["compare", str(script), "--reference", "nosuchsim", "--out",
                       str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert status == 2
    assert "nothing could be compared" in captured.err
    assert "Traceback" not in captured.out + captured.err
    result = json.loads((tmp_path / "out" / "comparison.json").read_text())
    assert result["runs"]["sparsehw"]["status"] == "skipped"
    assert result["compared"] == 0 and not result["passed"]


def test_worker_reports_missing_simulator(tmp_path, monkeypatch):
    """A backend module that exists but whose simulator cannot be imported."""
    from pyNN_sparsehw.cli import compare
    monkeypatch.setitem(sys.modules, "pyNN.nest", None)     # import pyNN.nest fails
    status = compare.worker("nest", tmp_path, tmp_path / "never_run.py", [])
    info = json.loads((tmp_path / "run.json").read_text())
    assert status == compare.UNAVAILABLE
    assert info["status"] == "unavailable"
    assert info["message"].startswith("pyNN.nest cannot be imported (ModuleNotFoundError")


def test_worker_saves_spikes_and_report(tmp_path):
    from pyNN_sparsehw.cli import compare
    script = tmp_path / "net.py"
    script.write_text(
        "import pyNN.nest as sim\n"
        "sim.setup(timestep=0.1)\n"
        "p = sim.Population(2, sim.SpikeSourceArray(spike_times=[5.0, 9.0]), label='in')\n"
        "q = sim.Population(3, sim.SpikeSourcePoisson(rate=10.0), label='noise')\n"
        "p.record('spikes')\n"
        "sim.run(20.0)\n")
    assert compare.worker("sparsehw", tmp_path, script, []) == 0
    info = json.loads((tmp_path / "run.json").read_text())
    assert info["populations"] == [dict(label="in", size=2, recorded=2, spikes=4)]
    assert info["stochastic"] == ["SpikeSourcePoisson 'noise'"]
    spikes = load_spikes(tmp_path / "spikes.npz")
    np.testing.assert_allclose(spikes[0].times, [5.0, 9.0, 5.0, 9.0])
    np.testing.assert_array_equal(spikes[0].neuron, [0, 0, 1, 1])
    report = json.loads((tmp_path / "hardware_report.json").read_text())
    assert [p["label"] for p in report["populations"]] == ["in", "noise"]


# ------------------------------------------------------ PyNN's own examples
@pytest.fixture(scope="module")
def pynn_examples(tmp_path_factory):
    sys.path.insert(0, str(REPO / "conformance"))
    try:
        from run_examples import extract_examples
        from run_scenarios import fetch_sdist
    finally:
        sys.path.pop(0)
    try:
        sdist = fetch_sdist(REPO / ".cache" / "pynn-sdist")
    except Exception as error:  # no network and no cached copy
        pytest.skip(f"PyNN's source distribution cannot be fetched: {error}")
    folder = tmp_path_factory.mktemp("pynn_examples")
    extract_examples(sdist, folder)
    return folder


@pytest.mark.parametrize("example", ["specific_network.py"])
def test_compare_pynn_example_ideal_passes(pynn_examples, example, tmp_path, monkeypatch):
    """Deterministic networks of PyNN's examples (spike arrays in, recurrent or
    feed-forward): on the ideal chip the spike times agree with NEST's."""
    pytest.importorskip("nest")
    monkeypatch.chdir(tmp_path)           # the examples write Results/ here
    status = cli.main(["compare", str(pynn_examples / example), "--chip", "ideal",
                       "--out", str(tmp_path / "out")])
    result = json.loads((tmp_path / "out" / "comparison.json").read_text())
    assert status == 0 and result["passed"] and result["deterministic"]
    for entry in result["comparisons"][0]["populations"]:
        assert entry["metrics"]["spike_agreement"] > 0.99
        assert entry["checks"]["spike_agreement"]["passed"] is True
