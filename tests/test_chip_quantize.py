"""Quantization of weights, delays and parameters against hand-computed codes."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from pyNN_sparsehw.chip import quantize as q


def test_weights_nearest_with_automatic_scale():
    result = q.quantize_weights([0.0, 0.1, 0.25, -1.0], bits=2)
    assert result.scale == pytest.approx(1 / 3)
    assert_array_equal(result.codes, [0, 0, 1, 3])      # 0.3 -> 0, 0.75 -> 1, 3 -> 3
    assert_allclose(result.values, [0.0, 0.0, 1 / 3, -1.0])
    assert result.loss.zeroed == 1 and result.loss.clipped == 0
    error = np.sqrt(np.mean((result.values - [0.0, 0.1, 0.25, -1.0]) ** 2))
    power = np.sqrt(np.mean(np.square([0.0, 0.1, 0.25, -1.0])))
    assert result.loss.rms_relative_error == pytest.approx(error / power)


def test_weights_explicit_scale_clips():
    result = q.quantize_weights([0.05, 0.31, 1.0], bits=3, scale=0.1)
    assert_array_equal(result.codes, [1, 3, 7])          # 0.5 rounds up; 10 clipped to 7
    assert result.loss.clipped == 1
    assert_allclose(result.values, [0.1, 0.3, 0.7])


def test_nearest_error_is_at_most_half_a_step():
    weights = np.random.default_rng(0).uniform(0, 1, 10000)
    result = q.quantize_weights(weights, bits=6)
    assert np.abs(result.values - weights).max() <= result.scale / 2 + 1e-12


def test_stochastic_rounding_is_unbiased():
    weights = np.full(20000, 0.3)
    result = q.quantize_weights(weights, bits=4, scale=1.0, rounding="stochastic",
                                rng=np.random.default_rng(1))
    assert set(np.unique(result.codes)) == {0, 1}
    # P(up) = 0.3: the mean is 0.3 within 4 standard errors
    assert abs(result.values.mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 20000)
    with pytest.raises(ValueError, match="Generator"):
        q.quantize_weights(weights, bits=4, rounding="stochastic")


def test_invalid_bits_and_rounding():
    with pytest.raises(ValueError, match="bits"):
        q.quantize_weights([1.0], bits=0)
    with pytest.raises(ValueError, match="rounding"):
        q.quantize_weights([1.0], bits=4, rounding="up")


def test_shared_exponent_per_row_keeps_small_rows():
    rows = np.repeat([0, 1], 50)
    rng = np.random.default_rng(2)
    weights = np.concatenate([rng.uniform(1e-3, 2e-3, 50), rng.uniform(0.5, 1.0, 50)])
    per_row, exponents = q.quantize_weights_with_exponent(weights, 8, 4, groups=rows)
    one_group, _ = q.quantize_weights_with_exponent(weights, 8, 0)
    assert per_row.codes.max() <= 255
    # each row's exponent is the smallest that fits its largest weight
    for row in (0, 1):
        step = per_row.scale * 2.0 ** exponents[rows == row][0]
        largest = np.abs(weights[rows == row]).max()
        assert largest <= 255.5 * step
        assert exponents[rows == row][0] == 0 or largest > 255.5 * step / 2
    small = rows == 0
    rel = np.abs(per_row.values[small] - weights[small]) / weights[small]
    assert rel.max() < 0.01                       # the small row keeps 8 significant bits
    assert one_group.loss.zeroed > 0              # a single scale rounds it (partly) to zero
    assert per_row.loss.rms_relative_error < one_group.loss.rms_relative_error


def test_delays_to_steps():
    result = q.quantize_delays([0.04, 0.1, 0.26, 5.0], dt=0.1, max_steps=20)
    assert_array_equal(result.codes, [1, 1, 3, 20])
    assert result.loss.clipped == 1
    assert_allclose(result.values, [0.1, 0.1, 0.3, 2.0])


def test_parameter_dac():
    result = q.quantize_parameter([-0.5, 0.0, 0.3333, 1.0, 2.0], 0.0, 1.0, bits=10)
    step = 1.0 / 1023
    assert result.scale == pytest.approx(step)
    assert_array_equal(result.codes[[0, 1, 3, 4]], [0, 0, 1023, 1023])
    assert abs(result.values[2] - 0.3333) <= step / 2
    assert result.loss.clipped == 2
    with pytest.raises(ValueError, match="high > low"):
        q.quantize_parameter([0.0], 1.0, 1.0, bits=4)


def test_time_constant_becomes_a_12_bit_decay_factor():
    # tau = 20 ms at dt = 0.1: exact decay 4096 * (1 - exp(-1/200)) = 20.43 -> code 20
    res = q.quantize_time_constant([20.0, 5.0], 0.1, 12)
    assert_array_equal(res.codes, [20, 81])
    expected = -0.1 / np.log(1 - np.array([20, 81]) / 4096)
    assert_allclose(res.values, expected)
    assert res.values[0] == pytest.approx(20.429959, abs=1e-6)
    # far too long: no decay is code 0, clipped to 1 and counted
    long = q.quantize_time_constant([1e6], 0.1, 12)
    assert long.codes[0] == 1 and long.loss.clipped == 1


def test_durations_become_whole_steps():
    res = q.quantize_to_steps([2.0, 0.04, 0.26], 0.1)
    assert_array_equal(res.codes, [20, 0, 3])
    assert_allclose(res.values, [2.0, 0.0, 0.3])


def test_realise_applies_representation_mismatch_and_trim_in_order():
    from pyNN_sparsehw.chip.realise import realise, middle_trim
    entry = {"dac": {"bits": 10, "range": [0.0, 102.3]},          # 0.1 per code
             "mismatch": {"sigma": 0.1, "relative": True},
             "trim": {"bits": 6, "span": 0.64}}                     # 1 % per trim code
    target = np.array([20.04, 20.04])
    values, stored = realise(entry, target, 0.1, deviation=np.array([1.1, 0.9]))
    np.testing.assert_allclose(stored.values, [20.0, 20.0])
    np.testing.assert_allclose(values, [22.0, 18.0])
    mid = middle_trim(entry)
    assert mid == 32
    trimmed, _ = realise(entry, target, 0.1, deviation=np.array([1.1, 0.9]),
                         trim_codes=[mid - 9, mid + 11])
    np.testing.assert_allclose(trimmed, [22.0 * 0.91, 18.0 * 1.11])
    absolute = {"mismatch": {"sigma": 2.0, "relative": False}, "trim": {"bits": 4, "span": 8.0}}
    shifted, stored = realise(absolute, [-60.0], 0.1, deviation=np.array([1.5]),
                              trim_codes=[8 - 3])
    assert stored is None and shifted[0] == pytest.approx(-60.0 + 1.5 - 1.5)
    with pytest.raises(ValueError, match="trim codes must lie in 0..15"):
        realise(absolute, [-60.0], 0.1, trim_codes=[16])
    exact, stored = realise(None, [3.0], 0.1)
    assert exact[0] == 3.0 and stored is None
