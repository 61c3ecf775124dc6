"""Recording: PyNN's Recorder over the engine's spike and state monitors.

PyNN's base class turns what these methods return into neo Blocks with units.
"""

import numpy as np

from pyNN import recording

from . import simulator
from .mapping import circuit_state_name


class Recorder(recording.Recorder):
    """Records spikes and state variables of one population."""
    _simulator = simulator

    def __init__(self, population, file=None):
        super().__init__(population, file)
        self._monitored = {}  # variable name -> ids monitored by the current engine

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
        if engine is None:
            return
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

    def _get_spiketimes(self, requested_ids, clear=False):
        engine = simulator.state.engine
        if engine is None or "spikes" not in self._monitored:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        indices, times = engine.spikes(self._key)
        ids = indices + self.population.first_id_value
        keep = np.isin(ids, np.asarray([int(i) for i in requested_ids], dtype=np.int64))
        if self._recording_start_time is not None:
            keep &= times > float(self._recording_start_time) + 1e-9
        if clear:
            engine.clear_recordings(self._key)
        return ids[keep], times[keep]

    def _get_all_signals(self, variable, ids, clear=False):
        engine = simulator.state.engine
        name = circuit_state_name(variable.name)
        if engine is None or variable.name not in self._monitored:
            return np.zeros((0, len(ids))), None
        samples = engine.state_samples(self._key, name)
        monitored = np.sort(np.fromiter(self._monitored[variable.name], dtype=np.int64))
        columns = np.searchsorted(monitored, np.asarray([int(i) for i in ids], dtype=np.int64))
        if clear:
            engine.clear_recordings(self._key)
        return samples[:, columns], None

    def _local_count(self, variable, filter_ids=None):
        ids = sorted(self.filter_recorded(variable, filter_ids))
        engine = simulator.state.engine
        if engine is None or "spikes" not in self._monitored:
            return {int(i): 0 for i in ids}
        indices, times = engine.spikes(self._key)
        counts = np.bincount(indices[times > float(self._recording_start_time) + 1e-9],
                             minlength=self.population.size)
        first = self.population.first_id_value
        return {int(i): int(counts[int(i) - first]) for i in ids}

    def _clear_simulator(self):
        if simulator.state.engine is not None:
            simulator.state.engine.clear_recordings(self._key)

    def _reset(self):
        self._monitored = {}
