"""Frozen mismatch: a pure function of (chip seed, core, parameter, circuit)."""

import subprocess
import sys

import numpy as np
import pytest

from pyNN_sparsehw.chip import mismatch


def test_same_chip_same_deviations_across_processes():
    code = ("from pyNN_sparsehw.chip import mismatch; import numpy as np; "
            "print(repr(mismatch.frozen_deviation(7, [0, 0, 3], [1, 5, 2], 'tau_m', 0.2, 512)"
            ".tolist()))")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True).stdout for _ in range(2)}
    here = mismatch.frozen_deviation(7, [0, 0, 3], [1, 5, 2], "tau_m", 0.2, 512).tolist()
    assert outputs == {repr(here) + "\n"}


def test_a_circuit_does_not_depend_on_the_others_asked_for():
    alone = mismatch.frozen_deviation(3, [2], [40], "v_thresh", 0.1, 256)
    with_others = mismatch.frozen_deviation(3, [2, 2, 1], [7, 40, 40], "v_thresh", 0.1, 256)
    assert with_others[1] == alone[0]
    assert with_others[2] != alone[0]            # same circuit index, other core


def test_seeds_and_parameters_differ():
    a = mismatch.frozen_deviation(1, np.zeros(100), np.arange(100), "tau_m", 0.1, 128)
    b = mismatch.frozen_deviation(2, np.zeros(100), np.arange(100), "tau_m", 0.1, 128)
    c = mismatch.frozen_deviation(1, np.zeros(100), np.arange(100), "cm", 0.1, 128)
    assert not np.allclose(a, b) and not np.allclose(a, c)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.3


@pytest.mark.parametrize("sigma, relative", [(0.15, True), (2.0, False)])
def test_declared_sigma_over_10k_circuits(sigma, relative):
    cores = np.repeat(np.arange(20), 512)
    circuits = np.tile(np.arange(512), 20)
    values = mismatch.frozen_deviation(11, cores, circuits, "g_leak", sigma, 512,
                                       relative=relative)
    deviation = values - 1.0 if relative else values
    assert abs(deviation.std() / sigma - 1) < 0.03
    assert abs(deviation.mean()) < 4 * sigma / np.sqrt(values.size)


def test_out_of_range_circuit_is_an_error():
    with pytest.raises(ValueError, match=r"\[0, 127\]"):
        mismatch.standard_deviates(1, 0, "tau_m", [128], 128)


def test_trial_noise_is_fresh_each_time():
    rng = np.random.default_rng(5)
    first = mismatch.trial_noise(rng, 100, 0.05)
    second = mismatch.trial_noise(rng, 100, 0.05)
    assert not np.array_equal(first, second)
    assert np.all(first > 0)
