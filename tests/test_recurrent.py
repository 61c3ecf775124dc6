"""LSNN (pyNN_sparsehw.training.recurrent): BPTT gradients, learning of a tiny
store-recall, chip/twin agreement through PyNN, the chip in the loop, DEEP R."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import pyNN_sparsehw as sim  # noqa: E402
from pyNN_sparsehw.training.deep_r import DeepR  # noqa: E402
from pyNN_sparsehw.training.recurrent import (  # noqa: E402
    ChipLSNN, RecurrentArchitecture, RecurrentSNN, RecurrentTwin, evaluate, train)
from pyNN_sparsehw.training.recurrent.network import bellec_beta  # noqa: E402
from pyNN_sparsehw.training.recurrent.trainer import regularised_loss  # noqa: E402
from pyNN_sparsehw.training.tasks import (  # noqa: E402
    SequenceTask, sequential_digits, sequential_digits_rate, store_recall, stretch, with_delay,
    with_recall_cue)


def tiny_task(n_train=240, n_test=100, hold=6, seed=0):
    return stretch(store_recall(n_train, n_test, periods=4, channels_per_group=2, seed=seed),
                   hold)


def test_store_recall_label_is_the_bit_shown_with_the_store_cue():
    task = store_recall(n_train=40, n_test=10, periods=6, channels_per_group=3, seed=2)
    x = np.concatenate([task.x_train, task.x_test], axis=1)[1:]     # without the blank
    labels = np.concatenate([task.y_train, task.y_test])
    store = np.argmax(x[:, :, 6], axis=0)
    assert np.all(x[:, :, 6].sum(0) == 1) and np.all(store < 4)
    assert np.array_equal(x[store, np.arange(x.shape[1]), 3], labels)   # "1" channel
    assert np.all(x[-1, :, 9] == 1) and not x[-1, :, :6].any()         # recall, no bit
    held = stretch(task, 5)
    assert held.x_train.shape[0] == 1 + 6 * 5
    assert np.array_equal(held.x_train[1:6], np.repeat(task.x_train[1:2], 5, axis=0))
    delayed = with_delay(held, 7)
    assert delayed.x_test.shape[0] == held.x_test.shape[0] + 7 and not delayed.x_test[-7:].any()
    assert np.array_equal(delayed.x_test[:-7], held.x_test)
    cued = with_recall_cue(delayed, 3, channels=2)
    assert cued.x_test.shape == (delayed.x_test.shape[0] + 3, 10, 14)
    assert np.all(cued.x_test[-3:, :, 12:] == 1) and not cued.x_test[-3:, :, :12].any()
    assert not cued.x_test[:-3, :, 12:].any()
    assert np.array_equal(cued.x_test[:-3, :, :12], delayed.x_test)


def test_sequential_digits_levels_are_thermometer_channels():
    two = sequential_digits()
    four = sequential_digits(levels=(2 / 16, 4 / 16, 10 / 16, 14 / 16))
    x = four.x_test.reshape(9, -1, 8, 4)
    assert four.x_test.shape[2] == 32 and np.all(np.diff(x, axis=-1) <= 0)
    np.testing.assert_array_equal(x[..., [1, 2]].reshape(two.x_test.shape), two.x_test)


def test_sequential_digits_rate_spikes_with_the_grey_level():
    from pyNN_sparsehw.training.data import load_digits
    task = sequential_digits_rate(hold=3, channels_per_pixel=2, copies=5)
    data = load_digits()
    n = data.y_train.size
    assert task.x_train.shape == (1 + 8 * 3, 5 * n, 16) and task.x_test.shape[1:] == (
        data.y_test.size, 16)
    assert not task.x_train[0].any() and np.array_equal(task.y_train, np.tile(data.y_train, 5))
    # (step, copy, digit, row, pixel, channel): rows held, channels and copies independent
    x = task.x_train[1:].reshape(8, 3, 5, n, 8, 2)
    rate = x.mean(axis=(1, 2, 5)).transpose(1, 0, 2)            # (digit, row, pixel)
    grey = data.x_train.reshape(n, 8, 8)
    assert not rate[grey == 0].any() and np.all(rate[grey == 1] == 1)
    assert np.abs(rate - grey).mean() < 0.1
    assert not np.array_equal(x[:, :, 0], x[:, :, 1])          # fresh draws per copy


def test_bellec_beta_matches_docs_alif():
    assert bellec_beta(1.7, 200.0, 1.0, 15.0) == pytest.approx(12.7, abs=0.05)


def test_readout_gradient_equals_finite_differences():
    """BPTT through the twin: the loss is smooth in the readout weights (they do not
    change any spike), so autograd must match central differences."""
    task = tiny_task(n_train=8, n_test=2, hold=4)
    arch = RecurrentArchitecture(8, 4, 4, 2, readout_steps=4)
    model = RecurrentSNN(arch, seed=3, input_scale=2.0, readout_scale=1.0,
                         dtype=torch.float64)
    twin = RecurrentTwin.nominal(arch, dtype=torch.float64)
    x, y = task.x_train, task.y_train

    def loss():
        return regularised_loss(model, model(x, twin), y, 0.01, 1.0)[0]
    w = model.weights["readout"]
    w.grad = None
    loss().backward()
    assert float(model(x, twin).spikes.detach().sum()) > 0
    numeric = torch.zeros_like(w)
    with torch.no_grad():
        for index in np.ndindex(*w.shape):
            w[index] += 1e-5
            up = loss()
            w[index] -= 2e-5
            down = loss()
            w[index] += 1e-5
            numeric[index] = (up - down) / 2e-5
    np.testing.assert_allclose(w.grad.numpy(), numeric.numpy(), rtol=1e-5, atol=1e-9)


def test_gradient_flows_through_the_adaptive_threshold():
    """With LIF neurons only the adaptation path is absent: the gradient of the
    input weights differs from the ALIF network's, whose forward pass is the same as
    long as nobody has spiked twice."""
    task = tiny_task(n_train=4, n_test=2, hold=4)
    grads = []
    for n_alif in (0, 8):
        arch = RecurrentArchitecture(8, 8 - n_alif, n_alif, 2, readout_steps=4)
        model = RecurrentSNN(arch, seed=3, input_scale=3.0, dtype=torch.float64)
        run = model(task.x_train, RecurrentTwin.nominal(arch, dtype=torch.float64))
        run.spikes.sum().backward()
        grads.append(model.weights["input"].grad.clone())
        assert float(run.spikes.detach().sum()) > 0
    assert not torch.allclose(grads[0], grads[1])


def test_tiny_lsnn_learns_store_recall_and_permuted_labels_do_not():
    """A 20-neuron LSNN learns a short store-recall; the same network trained on
    labels permuted across samples stays near chance on the test set."""
    task = tiny_task(n_test=300)
    rng = np.random.default_rng(0)
    permuted = SequenceTask(task.name, task.x_train, rng.permutation(task.y_train),
                            task.x_test, task.y_test, 2)
    results = []
    for t in (task, permuted):
        arch = RecurrentArchitecture(8, 10, 10, 2, readout_steps=6)
        model = RecurrentSNN(arch, seed=1)
        history = train(model, RecurrentTwin.nominal(arch), t, epochs=6, batch_size=40,
                        learning_rate=0.15, progress=False)
        results.append(history.test_accuracy[-1])
    assert results[0] >= 0.9
    assert results[1] <= 0.7


def trained_tiny(seed=1):
    task = tiny_task(n_train=80, n_test=12)
    arch = RecurrentArchitecture(8, 6, 6, 2, readout_steps=6)
    model = RecurrentSNN(arch, seed=seed, input_scale=2.0)
    train(model, RecurrentTwin.nominal(arch), task, epochs=1, batch_size=40, progress=False)
    return task, model


@pytest.mark.parametrize("chip", ["ideal", "digital"])
def test_chip_and_its_twin_agree(chip):
    """The trained LSNN through PyNN on the chip and in the twin read from that chip
    instance: the same spikes, readout v and adaptation (ideal: float; digital:
    8-bit weights with exponents, fixed-point state)."""
    task, model = trained_tiny()
    network = ChipLSNN(model.architecture, model.numpy_weights(), task.x_test.shape[1],
                       dict(chip=chip, chip_seed=0, trial_noise=False))
    spikes, v, b = network.run(task.x_test)
    twin = network.twin()
    sim.end()
    with torch.no_grad():
        run = model(task.x_test, twin)
    assert spikes.sum() > 50
    np.testing.assert_array_equal(run.spikes.numpy(), spikes)
    np.testing.assert_allclose(run.readout_v.numpy(), v, atol=1e-3)
    np.testing.assert_allclose(run.adaptation.numpy()[:, 0], b, atol=1e-3)
    if chip == "digital":   # the chip stores quantized weights, the twin uses them
        realised = twin.realise("input", model.weight("input")).detach().numpy()
        assert not np.allclose(realised, model.numpy_weights()["input"], atol=1e-6)


def test_analog_lsnn_adapts_by_current_and_its_twin_follows_the_chip():
    """On analog (AdEx circuits, current inputs, uncalibrated mismatch, synapse gains,
    6-bit weights) the LSNN's ALIF neurons adapt by the AdEx current: the twin read
    from the first copy gives its spikes, readout v and adaptation current w."""
    task, model = trained_tiny()
    x = task.x_test[:, :3]
    network = ChipLSNN(model.architecture, model.numpy_weights(), x.shape[1],
                       dict(chip="analog", chip_seed=0, trial_noise=False, calibration=None))
    spikes, v, w = network.run(x)
    twin = network.twin(dtype=torch.float64)
    sim.end()
    b = twin.populations["recurrent"].parameters.b.numpy()
    arch = model.architecture
    assert np.all(b[:arch.n_lif] == 0) and np.all(b[arch.n_lif:] > 0)
    assert not np.allclose(twin.gains["input"][0].numpy(), 1.0)
    model = model.double()
    model.dtype = torch.float64
    with torch.no_grad():
        run = model(x, twin)
    assert spikes[:, 0].sum() > 10 and w.max() > 0
    np.testing.assert_array_equal(run.spikes.numpy()[:, 0], spikes[:, 0])
    np.testing.assert_allclose(run.readout_v.numpy()[:, 0], v[:, 0], atol=1e-6)
    np.testing.assert_allclose(run.adaptation.numpy()[:, 0], w, atol=1e-6)


def test_in_the_loop_on_analog_trains_on_the_chips_spikes():
    """One batch with the analog chip (uncalibrated) in the loop: the forward pass
    carries the chip's spikes (the batch's rate is the chip's, not the nominal
    twin's) and the optimiser moves the weights."""
    from pyNN_sparsehw.training.recurrent.experiment import Trained, in_the_loop
    task, model = trained_tiny()
    batch = SequenceTask(task.name, task.x_test, task.y_test, task.x_test[:, :6],
                         task.y_test[:6], 2)
    before = model.numpy_weights()
    network = ChipLSNN(model.architecture, before, 12,
                       dict(chip="analog", chip_seed=0, trial_noise=False, calibration=None))
    # the trainer's order (seed 2): each copy is its own chip instance of the network
    order = np.random.default_rng(2).permutation(12)
    chip_rate = network.run(batch.x_train[:, order])[0].mean()
    sim.end()
    with torch.no_grad():
        twin_rate = float(model(batch.x_train, RecurrentTwin.nominal(model.architecture))
                          .spikes.mean())
    history = in_the_loop(Trained("LSNN", model, None), "store_recall", batch, epochs=1,
                          calibration=None, progress=False)
    assert history.rate[0] == pytest.approx(chip_rate, rel=1e-6)
    assert abs(chip_rate - twin_rate) > 1e-4
    assert not np.allclose(model.numpy_weights()["readout"], before["readout"])


def test_chip_refuses_weights_above_its_limit():
    arch = RecurrentArchitecture(2, 1, 1, 1)
    weights = {"input": np.full((2, 2), 150.0), "recurrent": np.zeros((2, 2)),
               "readout": np.ones((2, 1))}
    with pytest.raises(ValueError, match="150 mV.*100 mV"):
        ChipLSNN(arch, weights, 1, dict(chip="digital"))
    sim.end()


def test_chip_in_the_loop_on_ideal_gives_the_twins_gradients():
    """hxtorch's rule: the chip's recorded spikes in the forward pass, the twin's
    gradients; on ideal the chip is the twin, so one step gives the same weights."""
    task, model = trained_tiny()
    batch = SequenceTask(task.name, task.x_test, task.y_test, task.x_test, task.y_test, 2)
    twin = RecurrentTwin.nominal(model.architecture)
    in_loop = RecurrentSNN(model.architecture)
    in_loop.load_state_dict(model.state_dict())
    calls = []

    def chip_forward(weights, x):
        network = ChipLSNN(model.architecture, weights, x.shape[1], dict(chip="ideal"))
        spikes = network.run(x)[0]
        sim.end()
        calls.append(spikes.sum())
        return spikes
    train(model, twin, batch, epochs=1, batch_size=12, progress=False)
    train(in_loop, twin, batch, epochs=1, batch_size=12, progress=False,
          chip_forward=chip_forward)
    assert len(calls) == 1 and calls[0] > 0
    for name, w in model.weights.items():
        np.testing.assert_allclose(in_loop.weights[name].detach().numpy(),
                                   w.detach().numpy(), atol=1e-5)


def test_training_with_deep_r_keeps_the_budget():
    task = tiny_task(n_train=80, n_test=20)
    arch = RecurrentArchitecture(8, 6, 6, 2, readout_steps=6)
    model = RecurrentSNN(arch, seed=1)
    rewiring = DeepR({n: model.weights[n] for n in ("input", "recurrent")}, fraction=0.2,
                     lr=1e-2, seed=0)
    budget = rewiring.n_active
    train(model, RecurrentTwin.nominal(arch), task, epochs=2, batch_size=20,
          rewiring=rewiring, progress=False)
    assert rewiring.n_active == budget
    nonzero = sum(int((model.weights[n] != 0).sum()) for n in ("input", "recurrent"))
    assert nonzero <= budget
    assert 0 <= evaluate(model, RecurrentTwin.nominal(arch), task.x_test, task.y_test)[0] <= 1


def test_on_chip_reports_the_chip_and_its_twin():
    """experiment.on_chip on ideal (exact: chip = twin, no memory model) and digital
    (memory and energy from the hardware report)."""
    from pyNN_sparsehw.training.recurrent.experiment import make_task, on_chip
    task, model = trained_tiny()
    ideal = on_chip(model, task, "ideal", chunk=6)
    assert ideal.spike_agreement == 1.0 and ideal.accuracy == ideal.twin_accuracy
    assert np.isnan(ideal.memory_bits) and np.isnan(ideal.energy_j)
    digital = on_chip(model, task, "digital", n_test=6)
    assert digital.spike_agreement == 1.0 and digital.memory_bits > 0 and digital.energy_j > 0
    assert ideal.raster[0].shape == (task.x_test.shape[0], model.architecture.n_recurrent)
    recall = make_task("store_recall", n_train=4, n_test=2)
    assert recall.x_train.shape[:2] == (1 + 8 * 40, 4)
    evidence = make_task("evidence", n_train=4, n_test=2)
    assert evidence.x_test.shape == (1 + 12 * 10 + 500 + 20, 2, 12)
    assert not evidence.x_test[-520:-20].any() and evidence.x_test[-20:, :, 8:].all()
    from pyNN_sparsehw.training.recurrent.experiment import DIGIT_COPIES, SETTINGS
    digits = make_task("digits")
    assert digits.x_train.shape == (1 + 8 * SETTINGS["digits"].hold, DIGIT_COPIES * 1438, 16)


def test_fine_tune_in_the_digital_twin_trains_through_its_quantizers():
    from pyNN_sparsehw.training.recurrent.experiment import SETTINGS, Trained, chip_twin, \
        fine_tune
    task, model = trained_tiny()
    twin = chip_twin(model, "digital")
    assert all(q.bits == 8 for pair in twin.quantizers.values() for q in pair)
    before = model.numpy_weights()["input"]
    SETTINGS["tiny"] = SETTINGS["store_recall"]
    try:
        history = fine_tune(Trained("LSNN", model, None), "tiny", task, "digital", epochs=1,
                            progress=False)
    finally:
        del SETTINGS["tiny"]
    assert len(history.test_accuracy) == 1
    assert not np.allclose(before, model.numpy_weights()["input"])


@pytest.mark.parametrize("scope", ["global", "tensor"])
def test_copy_trained_is_independent_and_keeps_the_budget(scope):
    from pyNN_sparsehw.training.recurrent.experiment import Trained, copy_trained
    task, model = trained_tiny()
    rewiring = DeepR({n: model.weights[n] for n in ("input", "recurrent")}, fraction=0.3,
                     scope=scope, l1=0.01, lr=1e-2, seed=0)
    original = Trained("LSNN", model, None, rewiring)
    copied = copy_trained(original)
    assert copied.rewiring.n_active == rewiring.n_active
    assert (copied.rewiring.scope, copied.rewiring.budgets, copied.rewiring.l1) == \
        (scope, rewiring.budgets, 0.01)
    assert [int(m.sum()) for m in copied.rewiring.masks] == \
        [int(m.sum()) for m in rewiring.masks]
    before = model.numpy_weights()["input"].copy()
    train(copied.model, RecurrentTwin.nominal(model.architecture), task, epochs=1,
          batch_size=40, rewiring=copied.rewiring, progress=False)
    np.testing.assert_array_equal(model.numpy_weights()["input"], before)
    assert not np.array_equal(copied.model.numpy_weights()["input"], before)
    assert copied.rewiring.n_active == rewiring.n_active


def test_train_network_with_deep_r_keeps_one_budget_per_counted_matrix():
    """experiment.train_network with a DeepRSetting: DEEP R from the start for the
    setting's epochs, each counted matrix at its own budget, the readout left dense."""
    from pyNN_sparsehw.training.recurrent.experiment import (SETTINGS, DeepRSetting,
                                                             TaskSetting, train_network)
    task = tiny_task(n_train=50, n_test=10)
    setting = DeepRSetting(connectivity=0.25, weights=("input", "recurrent"),
                           scope="tensor", epochs=2)
    SETTINGS["tiny"] = TaskSetting(hold=6, readout_steps=6, epochs=1, n_recurrent=12)
    try:
        trained = train_network("tiny", task, 6, deep_r=setting, progress=False)
    finally:
        del SETTINGS["tiny"]
    weights = trained.model.weights
    assert len(trained.history.test_accuracy) == 2
    assert trained.rewiring.budgets == [round(0.25 * 8 * 12), round(0.25 * 12 * 12)]
    for name, budget in zip(("input", "recurrent"), trained.rewiring.budgets):
        assert 0 < int((weights[name] != 0).sum()) <= budget
    assert bool((weights["readout"] != 0).all())
