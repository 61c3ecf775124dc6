"""The chip runner: an :class:`~.architecture.Architecture` built with the PyNN API
on pyNN.sparsehw, weights written through ``Projection.set`` (so that the mapping
quantizes them), batches presented in time, spike counts read from the recordings.

The network is built once per chip: the same neurons on the same circuits (with the
same frozen mismatch) see every sample, one after another. Each batch starts with
``reset()``: time returns to 0 and the chip's trial-to-trial noise is drawn afresh,
as for a new run on hardware.

pyNN.sparsehw keeps one simulation per process, so one :class:`ChipNetwork` at a
time: building a new one ends the previous one.
"""

import numpy as np
from pyNN.parameters import Sequence

import pyNN_sparsehw as sim
from pyNN_sparsehw import simulator

RECEPTORS = ("excitatory", "inhibitory")


class ChipNetwork:
    """An architecture on a chip.

    Parameters
    ----------
    architecture : Architecture
    code : RateCode
        The presentation (its `dt` is the simulation's time step).
    weight_limit : float
        Largest weight magnitude (nA) that will be written. On a chip with a fixed
        weight scale (no exponent), it is the weight of the largest code, so the
        grid of weights stays the same while training.
    setup_kwargs : dict
        Keywords of ``sim.setup`` (chip, chip_seed, rng_seed, trial_noise, ...).
    """

    def __init__(self, architecture, code, weight_limit, setup_kwargs=None):
        self.architecture = architecture
        self.code = code
        self.weight_limit = float(weight_limit)
        sim.setup(timestep=code.dt, min_delay=code.dt, **(setup_kwargs or {}))
        self.chip = simulator.state.chip
        self.chip_seed = simulator.state.chip_seed
        limit = self.chip.max_weight("current")
        if self.weight_limit > limit:
            raise ValueError(
                f"weight limit {self.weight_limit:g} nA exceeds the {self.chip.name} chip's "
                f"largest current weight {limit:g} nA; use weight_limit <= {limit:g}")
        # every neuron layer is a view of one population: one group of circuits in the
        # engine, integrated together (as fast as one layer)
        names = architecture.names
        n_input = architecture.size(names[0])
        self.input = sim.Population(
            n_input, sim.SpikeSourceArray(spike_times=[[] for _ in range(n_input)]),
            label=names[0])
        sizes = [architecture.size(name) for name in names[1:]]
        self.neurons = sim.Population(sum(sizes), sim.IF_curr_exp(**architecture.neuron.pynn()),
                                      label="neurons")
        self.neurons.record("spikes")
        bounds = np.cumsum([0] + sizes)
        self.layers = {names[0]: self.input}
        self.layers.update({name: self.neurons[int(bounds[k]):int(bounds[k + 1])]
                            for k, name in enumerate(names[1:])})
        self._first = dict(zip(names[1:], bounds[:-1].tolist()))
        self.projections = {}
        for pre, post in architecture.projections:
            self.projections[(pre, post)] = tuple(
                sim.Projection(self.layers[pre], self.layers[post],
                               sim.AllToAllConnector(),
                               sim.StaticSynapse(weight=0.0, delay=code.dt),
                               receptor_type=receptor, label=f"{pre}->{post} {receptor[:3]}",
                               hardware=self._hardware_options())
                for receptor in RECEPTORS)

    def _hardware_options(self):
        """A fixed weight scale on chips whose projections have one scale (no
        exponent): the largest code stands for `weight_limit`."""
        bits = self.chip.weight_bits
        if bits and not int(self.chip.synapses.get("exponent_bits", 0)):
            return {"weight_scale": self.weight_limit / (2 ** bits - 1)}
        return None

    # ---------------------------------------------------------------- weights
    def write_weights(self, weights):
        """Write signed weight matrices (nA, (pre, post) per projection): positive
        parts to the excitatory projection, negative parts (PyNN's sign for
        current-based inhibition) to the inhibitory one."""
        for key, (excitatory, inhibitory) in self.projections.items():
            w = np.clip(np.asarray(weights[key], dtype=float),
                        -self.weight_limit, self.weight_limit)
            excitatory.set(weight=np.maximum(w, 0.0))
            inhibitory.set(weight=np.minimum(w, 0.0))

    def realised_weights(self):
        """Signed weights (nA) as the chip applies them: codes times their step, times
        the gain of each synapse circuit and neuron input (read back with
        ``get(..., hardware=True)``)."""
        return {key: sum(np.nan_to_num(prj.get("weight", format="array", hardware=True))
                         for prj in pair)
                for key, pair in self.projections.items()}

    def weight_grid(self):
        """How the realised weights sit on the chip's grid, per PyNN projection.

        Each realised weight divided by its synapse's gain and by the projection's
        code step must be a whole number of steps within the code range. Returns
        {label: (largest distance from a whole number of steps, smallest code,
        largest code, largest code the chip has)}; empty on a floating-point chip.
        """
        bits = self.chip.weight_bits
        if not bits:
            return {}
        mapped = {m.label: m for m in simulator.state.mapping().projections.values()}
        grid = {}
        for (pre, post), pair in self.projections.items():
            for prj in pair:
                m = mapped[prj.label]
                realised = np.abs(prj.get("weight", format="array", hardware=True))
                gain = np.ones(realised.shape)
                if m.spec.gain is not None:
                    # the mapping indexes neurons within the population, not the layer
                    gain[m.spec.pre_index - self._first.get(pre, 0),
                         m.spec.post_index - self._first[post]] = m.spec.gain
                steps = realised / gain / m.weight_step
                grid[prj.label] = (float(np.max(np.abs(steps - np.round(steps)))),
                                   int(np.round(steps.min())), int(np.round(steps.max())),
                                   2 ** bits - 1)
        return grid

    # -------------------------------------------------------------------- run
    def record(self, x):
        """Show samples `x` (rows of intensities in [0, 1]) one after another and
        return the spikes of every layer per time step of each sample's period,
        name -> array (steps, samples, neurons) (see
        :meth:`.encoding.RateCode.window_spikes`); the input's are those shown."""
        x = np.asarray(x, dtype=float)
        code = self.code
        sim.reset()
        names = self.architecture.names
        self.input.set(spike_times=[Sequence(t) for t in code.spike_trains(x)])
        sim.run(code.duration(len(x)))
        spiketrains = self.neurons.get_data("spikes", clear=True).segments[-1].spiketrains
        senders = np.repeat([st.annotations["source_index"] for st in spiketrains],
                            [len(st) for st in spiketrains]).astype(np.int64)
        times = np.concatenate([np.asarray(st.magnitude, dtype=float) for st in spiketrains]
                               + [np.zeros(0)])
        every = code.window_spikes(senders, times, self.neurons.size, len(x))
        spikes = {names[0]: code.spike_tensor(x)}
        for name in names[1:]:
            first = self._first[name]
            spikes[name] = every[:, :, first:first + self.architecture.size(name)]
        return spikes

    def run(self, x):
        """Show samples `x` and return the spike counts per window of every layer,
        name -> (samples, neurons); the input's counts are those of the trains shown."""
        return {name: spikes.sum(axis=0) for name, spikes in self.record(x).items()}
