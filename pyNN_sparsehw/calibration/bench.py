"""The measurement bench: networks on the chip under calibration, through the PyNN API.

A :class:`Bench` sets up a simulation of one chip instance whose trim codes are the
ones being searched (a shared dict of code arrays that the search rewrites between
measurements) and offers what the routines need to read: sampled membrane
potentials and spike times. The routines' populations fill every circuit of the
chip in placement order, so that one simulation measures all circuits at once.

The targets of the measurements come from the same protocols run on the
:func:`reference_chip`: the chip model with its frozen mismatch, trial noise and
synapse-gain mismatch removed, i.e. what the design would do, DAC resolution
included.
"""

import copy

import numpy as np

from ..chip.model import ChipModel
from .result import CalibrationResult

#: time step of every calibration measurement (ms); trim codes do not depend on it
DT = 0.1


def needs_calibration(chip):
    """True when some circuit parameter of `chip` (a ChipModel) has both a trim DAC
    and a frozen mismatch: only then is there anything to calibrate."""
    return any(entry.get("trim") and entry.get("mismatch", {}).get("sigma", 0)
               for entry in chip.neurons.get("parameters", {}).values())


def reference_chip(chip):
    """`chip` without frozen mismatch, trial-to-trial noise or synapse-gain mismatch:
    the design values the calibration aims at."""
    config = copy.deepcopy(chip.config)
    for entry in config["neurons"].get("parameters", {}).values():
        entry.pop("mismatch", None)
        entry.pop("noise", None)
    config["synapses"]["gain_mismatch"] = 0.0
    config["name"] = f"{chip.name}-reference"
    return ChipModel(config, source=f"<reference of {chip.source}>")


class Bench:
    """A fresh simulation of chip instance (`chip`, `chip_seed`) with trim `codes`.

    Parameters
    ----------
    chip : ChipModel
    chip_seed : int
    codes : dict
        stream -> int array (n_cores, neurons_per_core); shared, not copied: the
        search writes trial codes into it and the mapping reads them.
    size : int, optional
        Neurons of the routine's population; default every circuit of the chip.
    seed : int
        rng_seed of the simulation (trial noise, spike sources).
    """

    def __init__(self, chip, chip_seed, codes, size=None, seed=0):
        import pyNN_sparsehw as sim

        self.sim = sim
        self.chip = chip
        topology = chip.topology
        self.size = int(size or topology.n_cores * topology.neurons_per_core)
        trims = CalibrationResult.empty(chip, chip_seed)
        trims.codes = codes
        sim.setup(timestep=DT, min_delay=DT, chip=chip, chip_seed=chip_seed,
                  calibration=trims, trial_noise=True, rng_seed=seed)

    def placement(self, population):
        """(cores, circuits) of the neurons of `population` on the chip."""
        index = population.grandparent_description.index
        mapped = self.sim.simulator.state.mapping().populations[index]
        return mapped.cores, mapped.circuits


def membrane_samples(population):
    """Membrane potential (mV) recorded since the last read, (samples, neurons); the
    recording is cleared so that the next read starts afresh."""
    block = population.get_data("v", clear=True)
    return np.asarray(block.segments[-1].analogsignals[0].magnitude)


def spike_times(population):
    """(neuron indices, spike times in ms) of every spike since the last read, in
    time order (the recording is cleared after)."""
    block = population.get_data("spikes", clear=True)
    ids, times = block.segments[-1].spiketrains.multiplexed  # no object per neuron
    return (np.asarray(ids, dtype=np.int64) - population.first_id_value,
            np.asarray(getattr(times, "magnitude", times), dtype=float))
