"""Rate coding: samples shown one after another, each for a window followed by a gap.

Input neuron j shows intensity x (in [0, 1]) as a regular spike train at
``x * max_rate`` with a fixed phase (the fractional part of j times the golden ratio),
so that inputs of equal intensity do not fire in lockstep. The trains are
deterministic: the same samples give the same spikes. Spike times lie on the time
grid; the gap lets the neurons' state decay before the next sample.
"""

from dataclasses import dataclass

import numpy as np

GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


@dataclass(frozen=True)
class RateCode:
    """Timing of the presentation.

    max_rate : float
        Rate of an input at intensity 1 (Hz).
    window : float
        Time each sample is shown (ms).
    gap : float
        Silence after each window (ms).
    dt : float
        Time step of the simulation (ms); spike times are multiples of it.
    """
    max_rate: float = 100.0
    window: float = 50.0
    gap: float = 25.0
    dt: float = 0.5

    def __post_init__(self):
        if not (self.max_rate > 0 and self.window > 0 and self.gap >= 0 and self.dt > 0):
            raise ValueError(f"RateCode needs max_rate > 0, window > 0, gap >= 0 and "
                             f"dt > 0; got {self}")
        if 1000.0 / self.max_rate < self.dt:
            raise ValueError(f"max_rate {self.max_rate:g} Hz gives intervals shorter than "
                             f"the time step {self.dt:g} ms; lower max_rate or dt")

    @property
    def period(self):
        """Time from one sample's window to the next (ms)."""
        return self.window + self.gap

    def duration(self, n_samples):
        """Time (ms) to show `n_samples` samples."""
        return n_samples * self.period

    def _times(self, x):
        """Spike times within the window (ms, from the window's start) of each sample
        and input, shape (samples, inputs, k), and which of them exist."""
        x = np.clip(np.asarray(x, dtype=float), 0.0, 1.0)
        n_inputs = x.shape[1]
        rate = x * self.max_rate / 1000.0                        # spikes per ms
        most = int(np.ceil(self.window * self.max_rate / 1000.0)) + 1
        silent = rate <= 0
        interval = 1.0 / np.where(silent, 1.0, rate)
        phase = (np.arange(n_inputs) * GOLDEN) % 1.0
        # the first spike after one step: a source cannot fire at the window's start
        times = (self.dt + phase * interval)[..., None] + np.arange(most) * interval[..., None]
        times = np.round(times / self.dt) * self.dt
        times[silent] = np.inf
        return times, times < self.window

    def counts(self, x):
        """Spikes each input emits per sample, shape (samples, inputs)."""
        return self._times(x)[1].sum(axis=-1).astype(float)

    @property
    def steps(self):
        """Time steps in one period (window and gap)."""
        return int(round(self.period / self.dt))

    def spike_tensor(self, x):
        """The inputs' spikes per time step of each sample's period, as the engine
        emits them (a spike labelled T, from the period's start, in step T/dt - 1):
        array (steps, samples, inputs) of 0/1."""
        times, exists = self._times(x)
        n_samples, n_inputs, _ = times.shape
        spikes = np.zeros((self.steps, n_samples, n_inputs))
        sample, source, k = np.nonzero(exists)
        step = np.rint(times[sample, source, k] / self.dt).astype(np.int64) - 1
        spikes[step, sample, source] = 1.0
        return spikes

    def window_spikes(self, senders, times, n_neurons, n_samples, t_start=0.0):
        """Recorded spikes per (step of the period, sample, neuron), as
        :meth:`window_counts` assigns them to samples: array (steps, samples,
        neurons); a spike labelled T falls in step (T - onset)/dt - 1 of its sample."""
        senders = np.asarray(senders, dtype=np.int64)
        times = np.asarray(times, dtype=float) - t_start
        sample = np.floor((times - self.dt / 2) / self.period).astype(np.int64)
        step = np.rint((times - sample * self.period) / self.dt).astype(np.int64) - 1
        inside = (sample >= 0) & (sample < n_samples)
        spikes = np.zeros((self.steps, n_samples, n_neurons))
        spikes[step[inside], sample[inside], senders[inside]] = 1.0
        return spikes

    def spike_trains(self, x, t_start=0.0):
        """Spike times (ms) of each input for samples `x` shown from `t_start` on.

        Returns a list with one increasing array per input neuron.
        """
        times, exists = self._times(x)
        n_samples, n_inputs, _ = times.shape
        onsets = t_start + np.arange(n_samples) * self.period
        absolute = (times + onsets[:, None, None]).transpose(1, 0, 2)   # input, sample, k
        valid = exists.transpose(1, 0, 2)
        per_input = valid.reshape(n_inputs, -1).sum(axis=1)
        return np.split(absolute[valid], np.cumsum(per_input)[:-1])

    def window_counts(self, senders, times, n_neurons, n_samples, t_start=0.0):
        """Spikes per (sample, neuron) from recorded spikes.

        A spike labelled T (the end of the step in which it occurred, see the engine)
        belongs to the sample whose period contains T - dt/2; spikes outside the
        `n_samples` periods are ignored.
        """
        senders = np.asarray(senders, dtype=np.int64)
        sample = np.floor((np.asarray(times, dtype=float) - self.dt / 2 - t_start)
                          / self.period).astype(np.int64)
        inside = (sample >= 0) & (sample < n_samples)
        flat = sample[inside] * n_neurons + senders[inside]
        return np.bincount(flat, minlength=n_samples * n_neurons) \
            .reshape(n_samples, n_neurons).astype(float)
