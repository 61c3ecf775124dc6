"""Simulator state: the network description, the chip, and the compiled engine.

PyNN calls fill :attr:`State.description`. The first ``run()`` compiles it: the
description goes through :mod:`.mapping` with the chip model into an
:class:`~pyNN_sparsehw.engine.Engine`. Later runs extend the engine with anything
created since; ``reset()`` discards the engine, so that the next run rebuilds it from
the description, which holds the initial values, current parameters and weights.
"""

import bisect
import logging
import zlib

import numpy as np

from pyNN import common

from .mapping import vocabulary as mapping
from .mapping.mapper import Mapper
from .chip import load_chip
from .description import NetworkDescription
from .engine import Engine, CurrentInjectionSpec
from .validation import StaleObjectError, check_run_time, check_run_until

name = "sparsehw"
logger = logging.getLogger("pyNN_sparsehw")

DEFAULT_SEED = 4242
DEFAULT_CHIP = "analog"
DEFAULT_CHIP_SEED = 0


class ID(int, common.IDMixin):
    """A neuron's global identifier; its population is found from the id range."""

    def __init__(self, n):
        int.__init__(n)
        common.IDMixin.__init__(self)
        object.__setattr__(self, "_generation", state.generation)  # (IDMixin sets parameters)

    @property
    def parent(self):
        if self._generation != state.generation:
            raise StaleObjectError(
                f"neuron id {int(self)} belongs to a population of a previous setup() "
                f"(each setup() starts a new network). Use the neurons of a population "
                f"created after the last setup().")
        return state.population_of(self)


class State(common.control.BaseState):
    """The simulator's global state (one per process, as in every PyNN backend)."""

    def __init__(self):
        common.control.BaseState.__init__(self)
        self.mpi_rank = 0
        self.num_processes = 1
        self.dt = 0.1
        self._min_delay = "auto"
        self._max_delay = "auto"
        self.chip = load_chip(DEFAULT_CHIP)
        self.chip_seed = DEFAULT_CHIP_SEED
        self.calibration = None   # CalibrationResult (trim codes, usable circuits) or None
        self.trial_noise = True
        self.rng_seed = DEFAULT_SEED
        self.codegen_target = "numpy"
        self.clear()

    # ---------------------------------------------------------------- network
    def clear(self):
        """Forget the whole network (called by setup()): objects created before now
        belong to an older `generation` and are refused."""
        self.generation = getattr(self, "generation", -1) + 1
        self.description = NetworkDescription()
        self.engine = None
        self.mapper = None
        self.recorders = set()
        self.populations = []
        self._first_ids = []
        self.id_counter = 0
        self.segment_counter = -1
        self.write_on_end = []
        self.reset()

    def register_population(self, population):
        self.populations.append(population)
        self._first_ids.append(int(population.first_id_value))

    def population_of(self, id):
        """The Population that owns global id `id`."""
        k = bisect.bisect_right(self._first_ids, int(id)) - 1
        if k < 0 or int(id) >= self._first_ids[k] + self.populations[k].size:
            raise KeyError(f"id {int(id)} belongs to no population of this simulation")
        return self.populations[k]

    # ------------------------------------------------------------------ time
    @property
    def t(self):
        return self.engine.t if self.engine is not None else 0.0

    def _network_delays(self):
        """All delays of the network (ms), as one array."""
        delays = [prj.delays for prj in self.description.projections if prj.size]
        return np.concatenate(delays) if delays else np.zeros(0)

    @property
    def min_delay(self):
        """Smallest delay (ms): as set, or with "auto" the smallest in the network."""
        if self._min_delay != "auto":
            return self._min_delay
        delays = self._network_delays()
        return float(delays.min()) if delays.size else self.dt

    @min_delay.setter
    def min_delay(self, value):
        self._min_delay = value

    @property
    def max_delay(self):
        """Largest delay (ms): as set, or with "auto" the largest in the network."""
        if self._max_delay != "auto":
            return self._max_delay
        delays = self._network_delays()
        return float(delays.max()) if delays.size else self.min_delay

    @max_delay.setter
    def max_delay(self, value):
        self._max_delay = value

    # -------------------------------------------------------------- compile
    @property
    def compiled(self):
        return self.engine is not None

    def _segment_seed(self):
        """Seed of the engine's random numbers: depends on the user's seed and segment."""
        return zlib.crc32(f"{self.rng_seed}:{self.segment_counter}".encode())

    def mapping(self):
        """The network mapped onto the chip (placement, effective parameters, codes),
        up to date with the description; mapping does not need the engine."""
        if self.mapper is None:
            self.mapper = Mapper(
                self.chip, self.chip_seed, self.dt, self.rng_seed,
                noise_seed=self._segment_seed() if self.trial_noise else None,
                calibration=self.calibration)
        self.mapper.update(self.description)
        return self.mapper

    def compile(self):
        """Build the engine, or extend it with what was created since the last run."""
        mapper = self.mapping()
        if self.engine is None:
            self.engine = Engine(self.dt, self._segment_seed(), self.codegen_target)
        engine = self.engine
        for index, mapped in mapper.populations.items():
            if index not in engine.groups:
                engine.add_neuron_group(mapped.spec)
        for index, mapped in mapper.projections.items():
            if index not in engine.synapses:
                engine.add_synapse_group(mapped.spec)
        engine.build()
        self.update_current_sources()
        for recorder in self.recorders:
            recorder._finalize()

    def update_current_sources(self):
        """(Re)install the current sources in the engine."""
        if self.engine is None:
            return
        self.engine.set_current_injections(
            CurrentInjectionSpec(key=src.index, amplitude_at=src.source.amplitude_at,
                                 targets=src.targets)
            for src in self.description.current_sources if src.targets)

    def push_population(self, population, names=None):
        """Send changed parameters of a population description to a live engine."""
        if self.mapper is None or population.index not in self.mapper.populations:
            return
        spec = self.mapper.remap_population(population)
        if self.engine is None or population.index not in self.engine.groups:
            return
        if spec.kind == "spike_array":
            self.engine.set_neuron_values(population.index, {"spike_times": spec.spike_times})
            return
        values = spec.parameters
        if names is not None and spec.kind == "poisson":
            # (neurons get every effective parameter: one target may set several)
            wanted = {mapping.circuit_name(n, mapping.PARAMETER_NAMES) for n in names}
            wanted |= {"rate", "start", "stop"} if wanted & {"start", "duration"} else set()
            values = {k: v for k, v in values.items() if k in wanted}
        self.engine.set_neuron_values(population.index, values)

    def push_state(self, population, variable, values, indices=None):
        """Set the current value of a state variable in a live engine."""
        if self.engine is None or population.index not in self.engine.groups:
            return
        self.engine.set_neuron_values(
            population.index, {mapping.circuit_state_name(variable): values}, indices)

    def push_projection(self, projection, weights=False, delays=False, parameters=False):
        """Send changed weights/delays/parameters of a projection to a live engine."""
        if self.mapper is None or projection.index not in self.mapper.projections:
            return
        spec = self.mapper.remap_projection(projection, self.description)
        if self.engine is None or projection.index not in self.engine.synapses:
            return
        self.engine.set_synapse_values(
            projection.index,
            weights=spec.weights if weights else None,
            delays=spec.delays if delays else None,
            parameters=spec.parameters if parameters else None,
            gain=spec.gain if weights else None)

    # ------------------------------------------------------------------ run
    def run(self, simtime, callbacks=None):
        """Advance by `simtime` ms; see :func:`run_until` for `callbacks`."""
        self.run_until(self.t + check_run_time(simtime, self.t), callbacks)

    def run_until(self, tstop, callbacks=None):
        """Advance to `tstop` ms. Each callback is called with the current time first,
        then whenever the time it returned is reached (PyNN's semantics)."""
        tstop = check_run_until(tstop, self.t, self.dt)
        self.compile()
        self.running = True
        schedule = [[callback(self.t), callback] for callback in (callbacks or [])]
        if tstop > self.t:
            self.engine.run(tstop - self.t, schedule)

    def reset(self):
        """Back to t = 0: the next run maps the description again and rebuilds the
        engine from it."""
        self.engine = None
        self.mapper = None
        self.running = False
        self.t_start = 0
        self.segment_counter += 1


state = State()
