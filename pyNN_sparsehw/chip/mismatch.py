"""Fixed-pattern mismatch: frozen deviations of every analog circuit.

A physical circuit deviates from its design in the same way every time the chip is
used. Here the deviation of parameter `p` of circuit `c` on core `k` of the chip
instance `chip_seed` is a pure function of (chip_seed, k, p, c): it is drawn from a
numpy generator seeded by (chip_seed, k, hash of p) at position c of that core's
stream, so the same physical neuron deviates identically in every script, process
and run, whichever other neurons are in use. Pure numpy.

Trial-to-trial noise (which calibration cannot remove) is kept apart:
:func:`trial_noise` draws fresh values from a run's own generator.
"""

import zlib

import numpy as np


def _stream(chip_seed, core, parameter):
    """The generator of one parameter's deviations on one core of one chip."""
    return np.random.default_rng([int(chip_seed), int(core),
                                  zlib.crc32(parameter.encode())])


def standard_deviates(chip_seed, core, parameter, circuits, circuits_per_core):
    """Frozen N(0, 1) numbers of the given circuits (indices on their core).

    The whole core's stream (`circuits_per_core` values) is drawn, so a circuit's
    number does not depend on which other circuits are asked for.
    """
    circuits = np.asarray(circuits, dtype=np.int64)
    if circuits.size and (circuits.min() < 0 or circuits.max() >= circuits_per_core):
        raise ValueError(f"circuit indices must lie in [0, {circuits_per_core - 1}] on "
                         f"core {core}, got {circuits.min()}..{circuits.max()}")
    return _stream(chip_seed, core, parameter).standard_normal(circuits_per_core)[circuits]


def frozen_deviation(chip_seed, cores, circuits, parameter, sigma, circuits_per_core,
                     relative=True):
    """Multiplicative (relative=True: 1 + sigma*z) or additive (sigma*z) deviations of
    `parameter` for circuits given by parallel arrays `cores` and `circuits`.

    Relative factors are clipped at 0.05 so that a time constant or a gain never
    becomes zero or negative, whatever sigma.
    """
    cores = np.asarray(cores, dtype=np.int64)
    circuits = np.asarray(circuits, dtype=np.int64)
    z = np.empty(circuits.shape)
    for core in np.unique(cores):  # one stream per core, not per circuit
        on_core = cores == core
        z[on_core] = standard_deviates(chip_seed, core, parameter, circuits[on_core],
                                       circuits_per_core)
    if relative:
        return np.maximum(1.0 + sigma * z, 0.05)
    return sigma * z


def trial_noise(rng, shape, sigma, relative=True):
    """Fresh (not frozen) deviations for one run: `rng` is that run's generator."""
    z = rng.standard_normal(shape)
    return np.maximum(1.0 + sigma * z, 0.05) if relative else sigma * z
