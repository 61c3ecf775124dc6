"""Recording: PyNN's Recorder over the engine's spike and state monitors.

PyNN's base class turns what these methods return into neo Blocks with units.
"""

import numpy as np

from pyNN import recording

from . import simulator, validation
from .mapping.vocabulary import circuit_state_name


class Recorder(recording.Recorder):
    """Records spikes and state variables of one population."""
    _simulator = simulator

    def __init__(self, population, file=None):
        super().__init__(population, file)
        self._monitored = {}  # variable name -> ids monitored by the current engine

    def record(self, variables, ids, sampling_interval=None, locations=None):
        validation.check_current(self.population, simulator.state.generation, "record from")
        super().record(variables, ids, sampling_interval, locations)

    def get(self, variables, gather=False, filter_ids=None, clear=False, annotations=None,
            locations=None):
        """The recorded data as a neo Block. Before the first run the Block holds one
        empty segment (no spikes, no samples), as after a run of 0 ms."""
        state = simulator.state
        validation.check_current(self.population, state.generation, "get data of")
        if state.running or next(iter(self.cache), None) is not None:
            return super().get(variables, gather, filter_ids, clear, annotations, locations)
        state.running = True  # (PyNN's base class builds the current segment only then)
        try:
            return super().get(variables, gather, filter_ids, clear, annotations, locations)
        finally:
            state.running = False

    @property
    def _key(self):
        return self.population._description.index

    def _record(self, variable, new_ids, sampling_interval=None):
        if sampling_interval is not None:
            self.sampling_interval = sampling_interval
        if simulator.state.compiled and new_ids:
            self._finalize()

    def _finalize(self):
        """Make sure the engine monitors everything that is asked for (called at run)."""
        engine = simulator.state.engine
        if engine is None or self._key not in engine.groups:
            return  # (a population created after the last run: monitored when compiled)
        if self._monitored and getattr(self, "_engine", None) is not engine:
            self._monitored = {}
        self._engine = engine
        for variable, ids in self.recorded.items():
            wanted = frozenset(int(i) for i in ids)
            if not wanted:
                continue
            if variable.name in self._monitored:
                if self._monitored[variable.name] != wanted:
                    raise NotImplementedError(
                        f"population '{self.population.label}': the cells recording "
                        f"'{variable.name}' changed after the simulation started; call "
                        f"record() before run() or after reset()")
                continue
            if variable.name == "spikes":
                engine.record_spikes(self._key)
            else:
                indices = np.sort(np.fromiter(wanted, dtype=np.int64)) \
                    - self.population.first_id_value
                engine.record_state(self._key, circuit_state_name(variable.name), indices,
                                    self.sampling_interval)
            self._monitored[variable.name] = wanted

    def _spikes(self):
        """(neuron indices, times in ms) of the spikes since recording (re)started."""
        engine = simulator.state.engine
        if engine is None or "spikes" not in self._monitored:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        indices, times = engine.spikes(self._key)
        since = times > float(self._recording_start_time) + 1e-9
        return indices[since], times[since]

    def _get_spiketimes(self, requested_ids, clear=False):
        indices, times = self._spikes()
        ids = indices + self.population.first_id_value
        keep = np.isin(ids, _ids(requested_ids))
        engine = simulator.state.engine
        if clear and engine is not None:
            engine.clear_recordings(self._key)
        return ids[keep], times[keep]

    def _get_all_signals(self, variable, ids, clear=False):
        engine = simulator.state.engine
        name = circuit_state_name(variable.name)
        if engine is None or variable.name not in self._monitored:
            return np.zeros((0, len(ids))), None
        samples = engine.state_samples(self._key, name)
        monitored = np.sort(np.fromiter(self._monitored[variable.name], dtype=np.int64))
        columns = np.searchsorted(monitored, _ids(ids))
        if clear:
            engine.clear_recordings(self._key)
        return samples[:, columns], None

    def _local_count(self, variable, filter_ids=None):
        ids = sorted(self.filter_recorded(variable, filter_ids))
        counts = np.bincount(self._spikes()[0], minlength=self.population.size)
        first = self.population.first_id_value
        return {int(i): int(counts[int(i) - first]) for i in ids}

    def _clear_simulator(self):
        if simulator.state.engine is not None:
            simulator.state.engine.clear_recordings(self._key)

    def _reset(self):
        self._monitored = {}


def _ids(ids):
    """PyNN IDs as an int64 array."""
    return np.fromiter((int(i) for i in ids), dtype=np.int64)
