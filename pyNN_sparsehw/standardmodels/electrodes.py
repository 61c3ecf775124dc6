"""Current sources: DC, AC, step-wise and noisy.

Each source knows its waveform (:meth:`amplitude_at`, nA as a function of time in
ms); the engine asks for it at the start of every time step and applies it over the
step [t, t + dt). Parameters may change between runs.
"""

import numpy as np

from pyNN import common
from pyNN.parameters import ParameterSpace, Sequence
from pyNN.standardmodels import electrodes, build_translations, StandardCurrentSource

from .. import validation
from ..populations import resolve_cells
from ..simulator import state


class CurrentSourceMixin(StandardCurrentSource):
    """What every current source of this backend shares."""

    def __init__(self, **parameters):
        object.__setattr__(self, "_native", {})
        super().__init__(**parameters)
        parameter_space = ParameterSpace(self.default_parameters, self.get_schema(), shape=(1,))
        parameter_space.update(**parameters)
        self.set_native_parameters(self.translate(parameter_space))
        self._description = state.description.add_current_source(
            kind=type(self).__name__, source=self)
        self._generation = state.generation
        self._recording = False

    # PyNN asks backends for these two
    def set_native_parameters(self, parameters):
        parameters.evaluate(simplify=True)
        updated = dict(self._native)
        for name, value in parameters.items():
            if isinstance(value, Sequence):
                value = np.asarray(value.value, dtype=float)
            updated[name] = value
        validation.check_current_source(f"{type(self).__name__} {self._description_label()}",
                                        updated, self.default_parameters)
        self._native.update(updated)
        self._check_parameters()

    def _description_label(self):
        description = self.__dict__.get("_description")  # (PyNN's __getattr__ reads parameters)
        return f"#{description.index}" if description is not None else "(new)"

    def get_native_parameters(self):
        return ParameterSpace(dict(self._native))

    def _check_parameters(self):
        """Subclasses check their parameters here."""

    def inject_into(self, cells):
        """Inject this current into a Population, PopulationView, Assembly or ID list."""
        validation.check_current(self, state.generation, "inject")
        validation.check_current(cells, state.generation, "inject current into")
        targets = self._description.targets
        for population, indices in _cells_by_population(cells):
            if not population.celltype.injectable:
                raise TypeError(f"Can't inject current into a spike source "
                                f"(population '{population.label}')")
            key = population._description.index
            previous = targets.get(key, np.zeros(0, dtype=np.int64))
            targets[key] = np.concatenate([previous, np.asarray(indices, dtype=np.int64)])
        state.update_current_sources()

    def record(self):
        """Record the injected current (available from :meth:`get_data`)."""
        self._recording = True

    def _get_data(self):
        """Times (ms) and amplitudes (nA) of the waveform from 0 to the current time."""
        times = np.arange(int(round(state.t / state.dt)) + 1) * state.dt
        return times, np.array([self.amplitude_at(t) for t in times])

    def _active(self, t):
        return self._native["start"] <= t + 1e-9 < self._native["stop"] + 1e-9


class DCSource(CurrentSourceMixin, electrodes.DCSource):
    __doc__ = electrodes.DCSource.__doc__
    translations = build_translations(("amplitude", "amplitude"), ("start", "start"),
                                      ("stop", "stop"))

    def amplitude_at(self, t):
        return self._native["amplitude"] if self._active(t) else 0.0


class ACSource(CurrentSourceMixin, electrodes.ACSource):
    __doc__ = electrodes.ACSource.__doc__
    translations = build_translations(("amplitude", "amplitude"), ("start", "start"),
                                      ("stop", "stop"), ("frequency", "frequency"),
                                      ("offset", "offset"), ("phase", "phase"))

    def amplitude_at(self, t):
        if not self._active(t):
            return 0.0
        p = self._native
        # frequency in Hz, time in ms, phase in degrees, which holds at t = start
        return p["offset"] + p["amplitude"] * np.sin(
            2 * np.pi * p["frequency"] * (t - p["start"]) / 1000.0 + np.deg2rad(p["phase"]))


class StepCurrentSource(CurrentSourceMixin, electrodes.StepCurrentSource):
    __doc__ = electrodes.StepCurrentSource.__doc__
    translations = build_translations(("amplitudes", "amplitudes"), ("times", "times"))

    def _check_parameters(self):
        """Validate, round times to the time step and merge steps that then coincide
        (the last amplitude given for a step wins)."""
        times = np.asarray(self._native.get("times", []), dtype=float)
        amplitudes = np.asarray(self._native.get("amplitudes", []), dtype=float)
        if times.size != amplitudes.size:
            raise ValueError(f"StepCurrentSource: {times.size} times but {amplitudes.size} "
                             f"amplitudes; give one amplitude per time")
        if np.any(times < 0):
            raise ValueError(f"StepCurrentSource: times must not be negative, got {times}")
        if np.any(np.diff(times) <= 0):
            raise ValueError(f"StepCurrentSource: times must be strictly increasing, "
                             f"got {times}")
        steps = np.rint(times / state.dt).astype(np.int64)
        last = np.append(steps[1:] != steps[:-1], True) if steps.size else np.zeros(0, bool)
        self._native["times"] = steps[last] * state.dt
        self._native["amplitudes"] = amplitudes[last]

    def amplitude_at(self, t):
        times = self._native["times"]
        k = np.searchsorted(times, t + 1e-9, side="right") - 1
        return float(np.asarray(self._native["amplitudes"])[k]) if k >= 0 else 0.0


class NoisyCurrentSource(CurrentSourceMixin, electrodes.NoisyCurrentSource):
    """Gaussian white-noise current: a new value every `dt` ms while active.

    The values come from a NumPy generator seeded from the simulation seed, so a run
    is repeatable.
    """
    translations = build_translations(("mean", "mean"), ("stdev", "stdev"),
                                      ("start", "start"), ("stop", "stop"), ("dt", "dt"))

    def __init__(self, **parameters):
        parameters.pop("rng", None)
        super().__init__(**parameters)
        self._values = {}

    def amplitude_at(self, t):
        if not self._active(t):
            return 0.0
        p = self._native
        interval = p["dt"] if p["dt"] and p["dt"] >= state.dt else state.dt
        k = int(np.floor((t - p["start"]) / interval + 1e-9))
        if k not in self._values:
            seed = (state._segment_seed() * 1000003 + self._description.index) % 2 ** 32
            rng = np.random.default_rng([seed, k])
            self._values[k] = p["mean"] + p["stdev"] * rng.standard_normal()
        return self._values[k]


def _cells_by_population(cells):
    """Split a Population/View/Assembly/list of IDs into (population, indices) pairs."""
    if isinstance(cells, (common.BasePopulation, common.Assembly)):
        owners, local = resolve_cells(cells, np.arange(cells.size))
    else:
        populations = [state.population_of(cell) for cell in cells]
        owners = np.array([p._description.index for p in populations], dtype=np.int64)
        local = np.array([int(cell) - p.first_id_value for cell, p in zip(cells, populations)],
                         dtype=np.int64)
    return [(state.populations[k], local[owners == k]) for k in np.unique(owners)]


__all__ = ["DCSource", "ACSource", "StepCurrentSource", "NoisyCurrentSource"]
