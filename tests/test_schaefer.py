"""Schaefer et al. 2020 end to end (pyNN_sparsehw.training.schaefer), small versions:
bit and read counts per encoding against closed forms, the quantized tables, the
convolutional layer, the van Rossum distance and the held-out fit."""

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pyNN_sparsehw.chip import encodings, energy_fit  # noqa: E402
from pyNN_sparsehw.chip.encodings import HEADER_FIELD_BITS, bits_for  # noqa: E402
from pyNN_sparsehw.chip.model import load_chip  # noqa: E402
from pyNN_sparsehw.chip.quantize import quantize_weights  # noqa: E402
from pyNN_sparsehw.training.schaefer import conv, held_out, passes, retention  # noqa: E402

CSV = Path(__file__).parent / "data" / "schaefer2020_frontier.csv"
SMALL = retention.RetentionTask(sizes=(70, 40, 25), steps=40, input_rate_hz=50.0, seed=3)


def ceil_div(a, b):
    return -(-a // b)


@pytest.fixture(scope="module")
def layer():
    """A 70 -> 40 layer quantized to 3 bits at density 0.85, and its weights."""
    weights = SMALL.initial_weights()[0].numpy()
    table, values = retention.synapse_table(weights, 3, 0.85)
    return weights, table, values


def test_synapse_table_keeps_the_density_and_the_chip_codes(layer):
    weights, table, values = layer
    assert abs(table.size / weights.size - 0.85) <= 1.0 / weights.size
    step = retention.code_step(weights, 3, 0.85)
    chip = quantize_weights(weights, 2, scale=step)
    magnitude = table.weight % 4
    sign = table.weight >= 4
    np.testing.assert_array_equal(magnitude, chip.codes[table.pre, table.post])
    np.testing.assert_array_equal(sign, weights[table.pre, table.post] < 0)
    np.testing.assert_allclose(values, chip.values)
    assert np.all(magnitude >= 1)
    with pytest.raises(ValueError, match="bits >= 2"):
        retention.code_step(weights, 1, 0.5)


def test_memory_bits_per_encoding_closed_forms(layer):
    _, t, _ = layer
    cells, nnz = t.n_pre * t.n_post, t.size
    pointer = bits_for(nnz + 1)
    expected = {
        "dense": 6 * HEADER_FIELD_BITS + cells * 3,
        "bitmap": 7 * HEADER_FIELD_BITS + (t.n_pre + 1) * pointer + cells + nnz * 3,
        "csr": 8 * HEADER_FIELD_BITS + (t.n_pre + 1) * pointer + nnz * (bits_for(t.n_post) + 3)}
    for name, bits in expected.items():
        assert encodings.encode(t, name, 64, layout=False).size_bits == bits, name


def test_forward_backward_and_update_counts(layer):
    _, t, _ = layer
    rng = np.random.default_rng(0)
    spikes = (rng.random((30, t.n_pre)) < 0.05).astype(float)
    dense = encodings.encode(t, "dense", 64, layout=False)
    csr = encodings.encode(t, "csr", 64, layout=False)
    # forward: a crossbar reads one row word per spike and processes its every cell
    f = passes.forward_counts(dense, t, spikes)
    assert (f.reads, f.synaptic_ops, f.neuron_updates) == \
        (spikes.sum(), spikes.sum() * t.n_post, 30 * t.n_post)
    row_nnz = np.bincount(t.pre, minlength=t.n_pre)
    f = passes.forward_counts(csr, t, spikes)
    assert f.synaptic_ops == spikes.sum(axis=0) @ row_nnz
    # a CSR row: its two pointers (one word unless they straddle) and its entries
    pointer, entry = bits_for(t.size + 1), bits_for(t.n_post) + 3
    ptr = np.cumsum(np.concatenate([[0], row_nnz]))
    words = [len({b // 64 for b in range(r * pointer, (r + 2) * pointer)}) +
             len({b // 64 for b in range(ptr[r] * entry, ptr[r + 1] * entry)})
             for r in range(t.n_pre)]
    assert f.reads == spikes.sum(axis=0) @ np.array(words)
    # backward: one erring column in one step reads it; all columns in every step
    # cost one sweep of the rows per step
    one = np.zeros((30, t.n_post))
    one[4, 7] = 1
    assert passes.backward_counts(dense, t, one).reads == t.n_pre
    # a CSR column: a binary search in every row, unless sweeping the rows is cheaper
    assert passes.backward_counts(csr, t, one).reads == min(csr.backward_words[7], sum(words))
    every = np.ones((30, t.n_post))
    b = passes.backward_counts(dense, t, every)
    assert (b.reads, b.synaptic_ops) == (30 * t.n_pre, 30 * t.n_post * t.n_pre)
    assert passes.backward_counts(csr, t, every).reads == 30 * sum(words)
    # update: every row of the crossbar; the CSR pointers read, its entries read + written
    u = passes.update_counts(dense, t)
    assert (u.reads, u.writes) == (t.n_pre, t.n_pre)
    u = passes.update_counts(csr, t)
    entry_words = ceil_div(t.size * entry, 64)
    assert (u.reads, u.writes) == (ceil_div((t.n_pre + 1) * pointer, 64) + entry_words,
                                   entry_words)


def test_energy_categories_use_the_profile(layer):
    _, t, _ = layer
    profile = load_chip("digital").energy_profile
    encoded = encodings.encode(t, "bitmap", 64, layout=False)
    counts = passes.PassCounts(reads=10, writes=4, synaptic_ops=100, neuron_updates=7)
    e = passes.energy(profile, encoded, counts)
    word = profile.word_read["bitmap"] * (encoded.size_bits / profile.reference_bits) ** \
        profile.size_exponent
    assert e["memory_reads"] == pytest.approx(10 * word)
    assert e["memory_writes"] == pytest.approx(4 * word * profile.write_factor)
    assert e["synaptic_events"] == pytest.approx(100 * profile.synaptic_event)
    assert e["neuron_updates"] == pytest.approx(7 * profile.neuron_update)


def test_conv_layer_is_a_correlation_the_functional_encoding_holds():
    rng = np.random.default_rng(1)
    kernels = rng.normal(0.3, 0.3, (4, 3, 3))
    tables, matrix = conv.conv_layer(kernels, 8, 4)
    image = rng.random(64)
    q = quantize_weights(kernels.reshape(4, 9), 3)
    for c, table in enumerate(tables):
        expected = np.zeros(64)
        for offset, w in zip(conv.kernel_offsets(8), q.values[c]):
            p = np.arange(max(0, -offset), min(64, 64 - offset))
            expected[p] += w * image[p + offset]
        np.testing.assert_allclose(image @ matrix[:, c * 64:(c + 1) * 64], expected)
        functional = encodings.encode(table, "functional", 64)
        assert encodings.decode(functional).equals(table)
        kept = int(np.count_nonzero(q.codes[c]))
        span = bits_for(128)
        assert functional.size_bits == 10 * HEADER_FIELD_BITS + kept * (span + 4)
    full = conv.channel_table(np.ones(9, dtype=int), 8, 4)
    # 64 + 2 (63 + 56 + 57 + 55): the offsets 0, +-1, +-8, +-7, +-9 on the flat image
    assert full.size == 64 + 2 * (63 + 56 + 57 + 55)


def test_van_rossum_distances():
    rng = np.random.default_rng(2)
    trains = (rng.random((50, 6)) < 0.1).astype(float)
    # elephant sums kernel products: zero up to rounding
    assert retention.van_rossum(trains, trains, 10.0) == pytest.approx(0.0, abs=1e-6)
    lone = np.zeros((400, 1))
    lone[10, 0] = 1
    assert retention.van_rossum(lone, np.zeros_like(lone), 10.0) == pytest.approx(1.0)
    # the torch loss: a geometric sum of the filtered lone spike, -> 1 as dt / tau -> 0
    loss = retention.van_rossum_loss(torch.tensor(lone), torch.zeros(400, 1), 10.0)
    a = np.exp(-2 * 0.1)
    assert float(loss) == pytest.approx(2 * 0.1 * (1 - a ** 390) / (1 - a))
    assert float(retention.van_rossum_loss(torch.tensor(trains), torch.tensor(trains),
                                           10.0)) == 0.0


def test_error_support_is_where_the_pseudo_derivative_lives():
    weights = [w * 0 for w in SMALL.initial_weights()]
    inputs, _ = SMALL.patterns()
    with torch.no_grad():
        spikes, support = retention.simulate(weights, inputs, error_support=True)
    # at rest v sits one threshold distance below threshold: outside the support
    assert not any(bool(s.any()) for s in support)
    assert all(float(s.sum()) == 0 for s in spikes)


def test_training_reduces_the_van_rossum_loss():
    inputs, target = SMALL.patterns()
    _, losses = retention.train(SMALL.initial_weights(), inputs, target, SMALL, 10, lr=3e-2)
    assert min(losses[-3:]) < 0.9 * losses[0]
    tuned, quantized = retention.train(SMALL.initial_weights(), inputs, target, SMALL, 2,
                                       bits=2, densities=(0.65, 0.64))
    assert len(quantized) == 2 and all(np.isfinite(quantized))


def test_held_out_fit_never_sees_the_predicted_rows():
    rows = [r for r in energy_fit.read_published(CSV, {400: 700, 250: 400})
            if r.weight_bits == 2 and r.encoding != "csr"]
    options = dict(alphas=[0.5])
    result = held_out.fit_one_layer(rows, 250, **options)
    assert {r.n_out for r in result.fitted_rows} == {250}
    assert {r.n_out for r in result.predicted_rows} == {400}
    assert len(result.fitted_rows) + len(result.predicted_rows) == len(rows)
    # changing the published energies of the predicted rows changes no coefficient
    altered = [r if r.n_out == 250 else energy_fit.LayerPass(
        r.encoding, r.weight_bits, r.n_in, r.n_out, r.density, 10 * r.forward,
        10 * r.backward) for r in rows]
    again = held_out.fit_one_layer(altered, 250, **options)
    for direction in energy_fit.PASSES:
        np.testing.assert_array_equal(again.fit.coefficients[direction],
                                      result.fit.coefficients[direction])
        np.testing.assert_allclose(again.out_of_sample[direction] + 1,
                                   (result.out_of_sample[direction] + 1) / 10)
    with pytest.raises(ValueError, match="fitted_out_length 100"):
        held_out.fit_one_layer(rows, 100)
