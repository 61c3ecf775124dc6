"""Hardware-in-the-loop training (pyNN_sparsehw.training): the pieces against closed
forms, the chip runner against the recordings and the chip's weight grid, and the
checks of issue 6 in reduced form (the full 30-iteration check on the whole test
split is `make train-demo`)."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pyNN_sparsehw.training import (Architecture, ArchitectureTwin, ChipNetwork,  # noqa: E402
                                    Config, NeuronParameters, RateCode, SpikingNetwork, Stage,
                                    accuracy, cross_entropy, evaluate_on_chip, load_digits,
                                    run_stage, train_offline)
from pyNN_sparsehw.training.demo import main as demo_main  # noqa: E402
from pyNN_sparsehw.training.report import read_history, write_report  # noqa: E402
from pyNN_sparsehw.training.trainer import InTheLoopTrainer, batches, train_software  # noqa: E402

NEURON = NeuronParameters()


#: a reduced experiment: 3 epochs in the nominal twin (about 15 s; training under
#: mismatch draws, the default, needs more epochs, and the in-the-loop test needs a
#: network that naive transfer harms)
SMALL = Config(software_epochs=3, software_batch=128, robust_to=None)


@pytest.fixture(scope="module")
def software():
    """The reduced experiment's software side: trained offline in the nominal twin."""
    return train_offline(SMALL, progress=False)


# ----------------------------------------------------------------- pieces
def test_architecture_feed_forward_and_its_errors():
    arch = Architecture.feed_forward(64, 100, 10)
    assert arch.layers == (("input", 64), ("hidden", 100), ("output", 10))
    assert arch.projections == (("input", "hidden"), ("hidden", "output"))
    assert arch.incoming("output") == [("hidden", "output")]
    with pytest.raises(ValueError, match="'output' -> 'hidden' is recurrent"):
        Architecture((("input", 2), ("hidden", 2), ("output", 2)),
                     (("input", "hidden"), ("hidden", "output"), ("output", "hidden")))
    with pytest.raises(ValueError, match="names a layer that does not exist"):
        Architecture((("input", 2), ("output", 2)), (("input", "outptu"),))
    with pytest.raises(ValueError, match="output receive no projection"):
        Architecture((("input", 2), ("hidden", 2), ("output", 2)), (("input", "hidden"),))


def test_digits_split_is_fixed_stratified_and_disjoint():
    data = load_digits(0.2, seed=0)
    assert data.x_train.shape == (1438, 64) and data.x_test.shape == (359, 64)
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0
    # every class holds 20 % of its images in the test set (rounded)
    from sklearn.datasets import load_digits as sklearn_digits
    per_class = np.bincount(sklearn_digits().target)
    np.testing.assert_array_equal(np.bincount(data.y_test), np.round(0.2 * per_class))
    # train and test are disjoint and together hold every image exactly once
    every = np.vstack([data.x_train, data.x_test])
    assert np.unique(every, axis=0).shape[0] == np.unique(sklearn_digits().data, axis=0).shape[0]
    again = load_digits(0.2, seed=0)
    np.testing.assert_array_equal(again.x_test, data.x_test)
    other = load_digits(0.2, seed=1)
    assert not np.array_equal(other.y_test, data.y_test)


def test_rate_code_trains_are_regular_on_the_grid_within_their_windows():
    code = RateCode(max_rate=100.0, window=50.0, gap=25.0, dt=0.5)
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, (6, 16))
    x[0, :] = 0.0
    x[1, 0] = 1.0                                   # input 0 has phase 0
    trains = code.spike_trains(x, t_start=100.0)
    counts = code.counts(x)
    assert counts[0].sum() == 0
    # input 0 at 100 Hz, phase 0: spikes at 0.5, 10.5, ..., 40.5 ms of the window
    window_1 = trains[0][(trains[0] >= 175.0) & (trains[0] < 250.0)]
    np.testing.assert_allclose(window_1, 175.0 + np.array([0.5, 10.5, 20.5, 30.5, 40.5]))
    for j, train in enumerate(trains):
        assert np.all(np.diff(train) > 0)
        np.testing.assert_allclose(train / code.dt, np.round(train / code.dt), atol=1e-9)
        sample = ((train - 100.0) // code.period).astype(int)
        offset = train - 100.0 - sample * code.period
        assert np.all((offset >= code.dt) & (offset < code.window))
        np.testing.assert_array_equal(np.bincount(sample, minlength=6), counts[:, j])
        for s in np.unique(sample):
            intervals = np.diff(train[sample == s])
            np.testing.assert_allclose(intervals, 1000.0 / (x[s, j] * 100.0), atol=code.dt)
    # a regular train of rate r shows r * window spikes, give or take one
    assert np.all(np.abs(counts - x * 100.0 * 0.05) <= 1.0)


def test_window_counts_assign_spikes_to_their_sample():
    code = RateCode(window=50.0, gap=25.0, dt=0.5)
    senders = np.array([0, 0, 1, 1, 2, 0, 1])
    # a spike labelled T belongs to the period holding T - dt/2: 75.0 is the last
    # step of sample 0, 75.5 the first of sample 1 (150.5 of sample 2); 225.5 lies
    # beyond 3 samples
    times = np.array([10.0, 75.0, 75.5, 150.5, 149.5, 225.5, 0.5])
    counts = code.window_counts(senders, times, n_neurons=3, n_samples=3)
    np.testing.assert_array_equal(counts, [[2, 1, 0], [0, 1, 1], [0, 1, 0]])


def test_loss_and_accuracy_closed_forms():
    logits = np.array([[0.0, np.log(3.0)], [2.0, 2.0]])
    labels = np.array([1, 0])
    # -log(3/4) and -log(1/2)
    assert float(cross_entropy(torch.tensor(logits), labels)) == \
        pytest.approx((np.log(4 / 3) + np.log(2)) / 2)
    # a tie between two outputs counts one half
    assert accuracy(np.array([[1, 3, 3], [5, 0, 0], [0, 0, 0]]), np.array([1, 0, 2])) == \
        pytest.approx((0.5 + 1 + 1 / 3) / 3)


def test_spike_tensor_holds_the_trains_steps():
    code = RateCode(window=50.0, gap=25.0, dt=0.5)
    x = np.random.default_rng(4).uniform(0, 1, (5, 7))
    spikes = code.spike_tensor(x)
    assert spikes.shape == (150, 5, 7)
    np.testing.assert_array_equal(spikes.sum(axis=0), code.counts(x))
    trains = code.spike_trains(x)
    for j, train in enumerate(trains):
        sample = (train // code.period).astype(int)
        step = np.rint((train - sample * code.period) / code.dt).astype(int) - 1
        expected = np.zeros((150, 5))
        expected[step, sample] = 1.0
        np.testing.assert_array_equal(spikes[:, :, j], expected)


def test_window_spikes_are_the_counts_per_step():
    code = RateCode(window=50.0, gap=25.0, dt=0.5)
    senders = np.array([0, 0, 1, 1, 2, 0, 1])
    times = np.array([10.0, 75.0, 75.5, 150.5, 149.5, 225.5, 0.5])
    spikes = code.window_spikes(senders, times, n_neurons=3, n_samples=3)
    np.testing.assert_array_equal(spikes.sum(axis=0),
                                  code.window_counts(senders, times, 3, 3))
    # 75.0: the last step (149) of sample 0; 75.5: the first step (0) of sample 1
    assert spikes[149, 0, 0] == 1 and spikes[0, 1, 1] == 1 and spikes[19, 0, 0] == 1


def test_batches_cover_each_epoch_once():
    stream = batches(10, 3, np.random.default_rng(0))
    epoch = np.concatenate([next(stream) for _ in range(3)])
    assert len(set(epoch.tolist())) == 9
    with pytest.raises(ValueError, match="batch_size must lie in 1 .. 10"):
        batches(10, 11, np.random.default_rng(0))


def test_offline_training_lowers_the_loss_with_torch_adam():
    arch = Architecture.feed_forward(6, 8, 2)
    code = RateCode()
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (40, 6))
    y = (x[:, :3].sum(axis=1) > x[:, 3:].sum(axis=1)).astype(np.int64)
    model = SpikingNetwork(arch, weight_limit=1.0, seed=1)
    before = model.numpy_weights()
    history = train_software(model, code, x, y, epochs=6, batch_size=20, learning_rate=0.05,
                             progress=False)
    assert history[-1][0] < history[0][0]
    for key, w in model.numpy_weights().items():
        assert np.abs(w).max() <= 1.0 and not np.allclose(w, before[key])


def test_sampled_twin_draws_the_chips_mismatch_afresh_and_quantizes():
    """A mismatch instance of the analog model: relative sigmas (tau_m 15 %),
    absolute ones (v_thresh 2 mV), per neuron input and per synapse gains (15 %,
    10 %), weights on the 6-bit grid whose top code is the weight limit; a new draw
    every call; the ideal model's instance is the nominal twin."""
    from pyNN_sparsehw.chip.model import load_chip
    arch = Architecture.feed_forward(40, 4000, 10)
    analog = load_chip("analog")
    generator = torch.Generator().manual_seed(0)
    first = ArchitectureTwin.sampled(arch, 0.5, analog, generator, 0.5, dtype=torch.float64)
    second = ArchitectureTwin.sampled(arch, 0.5, analog, generator, 0.5, dtype=torch.float64)
    hidden = first.populations["hidden"].parameters
    assert float((hidden.tau_m / NEURON.tau_m).std()) == pytest.approx(0.15, rel=0.05)
    assert float((hidden.v_thresh - NEURON.v_thresh).std()) == pytest.approx(2.0, rel=0.05)
    assert float(hidden.tau_m.mean()) == pytest.approx(NEURON.tau_m, rel=0.01)
    assert float(hidden.c_m.std() / hidden.c_m.mean()) == pytest.approx(0.02, rel=0.1)
    excitatory = first.gains[("input", "hidden")][0]
    per_input = excitatory.mean(dim=0)                    # the neuron input's gain
    assert float(per_input.std()) == pytest.approx(0.15, rel=0.1)
    assert float((excitatory / per_input).std()) == pytest.approx(0.1, rel=0.05)
    assert not torch.equal(hidden.tau_m, second.populations["hidden"].parameters.tau_m)
    half = ArchitectureTwin.sampled(arch, 0.5, analog, generator, 0.5, spread=0.5)
    spread = half.populations["hidden"].parameters.tau_m / NEURON.tau_m
    assert float(spread.std()) == pytest.approx(0.075, rel=0.05)
    weight = torch.linspace(-0.6, 0.6, 40 * 4000, dtype=torch.float64).reshape(40, 4000)
    exc, inh = first.projections(("input", "hidden"), weight)
    codes = exc.weight / first.gains[("input", "hidden")][0] / (0.5 / 63)
    np.testing.assert_allclose(codes, np.round(codes), atol=1e-9)
    assert float(codes.max()) == 63 and float(inh.weight.max()) == 0.0
    ideal = ArchitectureTwin.sampled(arch, 0.5, load_chip("ideal"), generator, 0.5)
    nominal = ArchitectureTwin.nominal(arch, 0.5)
    for field, value in nominal.populations["hidden"].parameters._asdict().items():
        assert torch.equal(getattr(ideal.populations["hidden"].parameters, field), value)
    assert torch.equal(ideal.projections(("input", "hidden"), weight.float())[0].weight,
                       nominal.projections(("input", "hidden"), weight.float())[0].weight)


# --------------------------------------------------------------- on chips
def test_chip_network_counts_what_it_records(software):
    arch = Architecture((("input", 3), ("out", 2)), (("input", "out"),), NEURON)
    code = RateCode()
    chip = ChipNetwork(arch, code, 1.0, {"chip": "ideal"})
    chip.write_weights({("input", "out"): np.array([[1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])})
    x = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    counts = chip.run(x)
    np.testing.assert_array_equal(counts["input"], code.counts(x))
    assert counts["out"][1].sum() == 0                  # no input, no spikes
    assert counts["out"][0, 0] > 0 and counts["out"][0, 1] == 0
    assert counts["out"][3, 1] > 0 and counts["out"][2, 1] < counts["out"][3, 1]  # inhibition
    # counts are the recorded spikes, sample by sample (the network is rebuilt per run)
    again = chip.run(x[::-1])
    np.testing.assert_array_equal(again["out"], counts["out"][::-1])


@pytest.mark.parametrize("chip_name", ["analog", "digital", "ideal"])
def test_written_weights_sit_on_the_chip_grid_within_range(chip_name):
    arch = Architecture.feed_forward(64, 20, 10)
    # uncalibrated: calibrating chip 7 (cold cache) would take minutes, and the grid
    # and the gains' mismatch are what is checked
    chip = ChipNetwork(arch, RateCode(), 0.5, {"chip": chip_name, "chip_seed": 7,
                                               "calibration": None})
    rng = np.random.default_rng(0)
    weights = {key: rng.normal(0.0, 0.25, (arch.size(key[0]), arch.size(key[1])))
               for key in arch.projections}
    weights[("input", "hidden")][0, 0] = 2.0          # beyond the limit: clipped to 0.5
    chip.write_weights(weights)
    realised = chip.realised_weights()
    grid = chip.weight_grid()
    if chip_name == "ideal":
        assert grid == {}
        clipped = np.clip(weights[("input", "hidden")], -0.5, 0.5)
        np.testing.assert_allclose(realised[("input", "hidden")], clipped, rtol=1e-12)
        return
    assert set(grid) == {"input->hidden exc", "input->hidden inh", "hidden->output exc",
                         "hidden->output inh"}
    for label, (off_grid, lowest, highest, top) in grid.items():
        assert off_grid < 1e-9, label
        assert 0 <= lowest and highest <= top
    if chip_name == "analog":
        # 6-bit codes with the weight limit as the largest code: the clipped weight
        # gets code 63, and the mismatch shows only through the synapses' gains
        assert grid["input->hidden exc"][2] == 63 == grid["input->hidden exc"][3]
        gain = realised[("input", "hidden")][0, 0] / 0.5
        assert 0.5 < gain < 1.5 and gain != 1.0
    # the realised weights keep the sign of the written ones
    for key in arch.projections:
        w = np.clip(weights[key], -0.5, 0.5)
        big = np.abs(w) > 0.05
        assert np.all(np.sign(realised[key][big]) == np.sign(w[big]))


def test_nominal_twin_gives_the_ideal_chips_spikes(software):
    """The twin of the nominal chip, run in float64 with the trained weights, emits
    the spikes the ideal chip records, step by step, in every layer. (A gap of 100
    ms lets the chip's neurons come to rest between samples, as the twin's start.)"""
    config = software.config
    code = RateCode(window=config.code.window, gap=100.0, dt=config.code.dt)
    model = SpikingNetwork(software.architecture, config.weight_limit, dtype=torch.float64)
    model.set_weights(software.weights)
    chip = ChipNetwork(software.architecture, code, config.weight_limit, {"chip": "ideal"})
    chip.write_weights(software.weights)
    x = software.data.x_test[:20]
    recorded = chip.record(x)
    np.testing.assert_array_equal(recorded["input"], code.spike_tensor(x))
    twin = ArchitectureTwin.nominal(software.architecture, code.dt, torch.float64)
    with torch.no_grad():
        spikes = model(recorded["input"], twin)
    for layer in ("hidden", "output"):
        assert recorded[layer].sum() > 50
        matched = (spikes[layer].numpy() == recorded[layer]).all(axis=0).mean()
        assert matched >= 0.99, layer


def test_ideal_chip_accuracy_agrees_with_software(software):
    """On `ideal`, the chip's test accuracy with the software weights agrees with
    the twin's (the whole test split)."""
    result = run_stage(software, Stage("ideal", {}, False), "ideal", 0, progress=False)
    assert result.available
    assert abs(result.transfer_accuracy - software.test_accuracy) <= 0.01
    assert software.test_accuracy > 0.8


def test_substituted_forward_is_the_chips_and_the_gradient_the_twins(software):
    """In the loop: the forward values are the analog chip's recorded spikes, the
    twin of that chip instance supplies the gradient."""
    config = software.config
    model = software.model()
    chip = ChipNetwork(software.architecture, config.code, config.weight_limit,
                       {"chip": "analog", "chip_seed": 1, "calibration": None})
    chip.write_weights(model.numpy_weights())
    recorded = chip.record(software.data.x_train[:10])
    inputs = recorded.pop("input")
    twin = ArchitectureTwin.from_chip(chip)
    assert twin.populations["hidden"].model == "adex"
    assert float(twin.populations["hidden"].parameters.tau_m.std()) > 0.5   # mismatch
    spikes = model(inputs, twin, substitute=recorded)
    for layer in ("hidden", "output"):
        np.testing.assert_array_equal(spikes[layer].detach().numpy(), recorded[layer])
    loss, _ = model.loss(spikes, software.data.y_train[:10])
    loss.backward()
    for key in software.architecture.projections:
        assert float(model.weight(key).grad.abs().sum()) > 0


def test_in_the_loop_training_recovers_the_analog_chip(software):
    """Reduced check of issue 6 (full: `make train-demo`): on the uncalibrated analog
    chip (seed 1) naive transfer of the nominally trained network collapses; 10
    iterations in the loop bring it back to within 4 points of the software model
    (the full demo's 30, from a robustly trained network, get within 1), with the
    weights on the chip's grid."""
    reduced = software.reconfigured(iterations=10, batch_size=30, test_samples=120)
    uncalibrated = Stage("uncalibrated", {"calibration": None}, True)
    result = run_stage(reduced, uncalibrated, "analog", 1, progress=False)
    print(f"software {reduced.test_accuracy:.4f}, naive transfer "
          f"{result.transfer_accuracy:.4f}, in the loop {result.loop_accuracy:.4f}")
    assert result.available and len(result.history) == 10
    # measured: software 84.3 %, naive transfer 31.3 %, after 10 iterations of 30
    # samples 82.0 % (of 50 samples: 80.8 %; at a step of 0.01: 78.9 %)
    assert result.transfer_accuracy < reduced.test_accuracy - 0.3
    assert result.loop_accuracy >= reduced.test_accuracy - 0.04
    assert result.loop_accuracy > result.transfer_accuracy + 0.4
    for off_grid, lowest, highest, top in result.weight_grid.values():
        assert off_grid < 1e-9 and 0 <= lowest and highest <= top == 63


@pytest.fixture(scope="module")
def digital_runs(software):
    """The same short in-the-loop run on `digital`, twice."""
    reduced = software.reconfigured(iterations=3, batch_size=20, test_samples=30)
    return reduced, [run_stage(reduced, Stage("uncalibrated", {}, True), "digital", 5,
                               progress=False) for _ in range(2)]


def test_same_seeds_same_numbers_and_digital_works(digital_runs):
    _, (first, second) = digital_runs
    assert first.chip == "digital" and len(first.history) == 3
    assert first.transfer_accuracy == second.transfer_accuracy
    assert first.loop_accuracy == second.loop_accuracy
    for a, b in zip(first.history, second.history):
        assert (a.chip_loss, a.chip_accuracy, a.software_loss) == \
               (b.chip_loss, b.chip_accuracy, b.software_loss)
    for off_grid, _, highest, top in first.weight_grid.values():
        assert off_grid < 1e-9 and highest <= top == 255


def test_in_the_loop_step_writes_the_current_weights(software):
    """Each iteration writes the model's current (updated) weights to the chip."""
    config = software.config
    model = software.model()
    chip = ChipNetwork(software.architecture, config.code, config.weight_limit,
                       {"chip": "ideal"})
    x, y = software.data.x_train[:40], software.data.y_train[:40]
    trainer = InTheLoopTrainer(model, chip, x, y, batch_size=20, learning_rate=0.01)
    trainer.step()
    np.testing.assert_allclose(chip.realised_weights()[("hidden", "output")],
                               np.clip(software.weights[("hidden", "output")], -0.5, 0.5))
    record = trainer.step()
    updated = chip.realised_weights()[("hidden", "output")]
    assert not np.allclose(updated, software.weights[("hidden", "output")])
    assert record.iteration == 2 and np.isfinite(record.chip_loss)
    loss, acc, output = evaluate_on_chip(model, chip, x[:5], y[:5])
    assert output.shape == (5, 10) and 0.0 <= acc <= 1.0
    with pytest.raises(ValueError, match="batch_size must lie in 1 .. 40"):
        InTheLoopTrainer(model, chip, x, y, batch_size=41)


def test_unknown_setup_keyword_makes_a_stage_unavailable(software):
    with pytest.raises(ValueError, match="hidden change"):
        software.reconfigured(hidden=5)
    result = run_stage(software, Stage("future", {"no_such_keyword": 1}), "analog", 0,
                       progress=False)
    assert not result.available
    assert "no_such_keyword" in result.reason


def test_reports_hold_what_was_measured(digital_runs, software, tmp_path):
    reduced, (result, _) = digital_runs
    unavailable = run_stage(reduced, Stage("calibrated", {"no_such_keyword": 1}, False),
                            "digital", 5, progress=False)
    ideal = run_stage(reduced, Stage("ideal", {}, False), "ideal", 0, progress=False)
    table = write_report(str(tmp_path), reduced, ideal, [result, unavailable])
    folder = tmp_path / "digital_seed5_uncalibrated"
    assert read_history(str(folder)) == result.history
    with open(folder / "history.csv") as fh:
        assert next(csv.reader(fh))[:3] == ["iteration", "chip_loss", "chip_accuracy"]
    assert json.loads((folder / "history.json").read_text())[2]["iteration"] == 3
    assert (folder / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["software_accuracy"] == reduced.test_accuracy
    assert summary["stages"][0]["loop_accuracy"] == result.loop_accuracy
    assert summary["stages"][1]["available"] is False
    assert f"| uncalibrated: naive transfer | {100 * result.transfer_accuracy:.2f} %" in table
    assert "| calibrated: naive transfer | not available |" in table
    assert "no_such_keyword" in table
    assert (tmp_path / "summary.md").read_text().strip() == table.strip()


def test_demo_runs_end_to_end_with_the_same_numbers_in_another_process(tmp_path, capsys):
    args = ["--chip", "digital", "--chip-seed", "1", "2", "--iterations", "1",
            "--batch-size", "10", "--test-samples", "10", "--software-epochs", "1",
            "--software-batch", "512", "--hidden", "10", "--quiet"]
    status = demo_main(args + ["--out", str(tmp_path / "here")])
    assert status == 0
    printed = capsys.readouterr().out
    assert "| software model |" in printed and "digital seed 2" in printed
    for seed in (1, 2):
        assert os.path.exists(tmp_path / "here" / f"digital_seed{seed}_uncalibrated" /
                              "history.png")
    # another process, the seeds in parallel worker processes
    subprocess.run([sys.executable, "-m", "pyNN_sparsehw.training.demo", *args, "--jobs", "2",
                    "--out", str(tmp_path / "there")], check=True, capture_output=True)

    def numbers(folder):
        summary = json.loads((tmp_path / folder / "summary.json").read_text())
        for stage in summary["stages"]:
            stage.pop("seconds"), stage.pop("seconds_per_sample")
        return (summary["software_accuracy"], summary["ideal_chip_accuracy"],
                summary["stages"], (tmp_path / folder / "digital_seed2_uncalibrated" /
                                    "history.csv").read_text().splitlines()[1].split(",")[:5])

    assert numbers("here") == numbers("there")
