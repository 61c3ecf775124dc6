"""What is trained: layers of rate-coded spiking neurons and the projections between
them, described once and used by both the trained model and its twin (:mod:`.model`)
and the chip runner (:mod:`.chip`).

The first layer is the input (spike sources); every other layer is a population of
current-based LIF neurons (PyNN's ``IF_curr_exp``). A projection connects every
neuron of its `pre` layer to every neuron of its `post` layer with one signed weight
per pair; on the chip it becomes two PyNN projections, excitatory and inhibitory,
because a synapse's sign is set by the receptor it targets.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class NeuronParameters:
    """Parameters of every trained neuron, in PyNN's names and units (ms, mV, nF, nA)."""
    tau_m: float = 10.0
    tau_syn: float = 5.0
    tau_refrac: float = 2.0
    v_rest: float = -65.0
    v_reset: float = -65.0
    v_thresh: float = -50.0
    cm: float = 0.2
    i_offset: float = 0.0

    def pynn(self):
        """Keyword arguments of ``IF_curr_exp``."""
        return dict(tau_m=self.tau_m, tau_syn_E=self.tau_syn, tau_syn_I=self.tau_syn,
                    tau_refrac=self.tau_refrac, v_rest=self.v_rest, v_reset=self.v_reset,
                    v_thresh=self.v_thresh, cm=self.cm, i_offset=self.i_offset)


@dataclass(frozen=True)
class Architecture:
    """Layers (name, size), input first, and projections (pre, post) between them.

    Projections must run from an earlier layer to a later one (feed-forward); a
    projection onto the input or backwards would make the network recurrent, which
    which the digits trainer does not use.
    """
    layers: tuple
    projections: tuple
    neuron: NeuronParameters = field(default_factory=NeuronParameters)

    def __post_init__(self):
        names = [name for name, _ in self.layers]
        if len(set(names)) != len(names):
            raise ValueError(f"layer names must be unique, got {names}")
        if len(names) < 2:
            raise ValueError(f"an architecture needs an input and at least one neuron "
                             f"layer, got {names}")
        order = {name: k for k, name in enumerate(names)}
        for pre, post in self.projections:
            if pre not in order or post not in order:
                raise ValueError(f"projection {pre!r} -> {post!r} names a layer that does "
                                 f"not exist; layers: {', '.join(names)}")
            if order[post] <= order[pre]:
                raise ValueError(
                    f"projection {pre!r} -> {post!r} is recurrent (it does not run from "
                    f"an earlier layer to a later one); Architecture describes feed-forward "
                    f"networks only. Order the layers input first.")
        unfed = [name for name in names[1:] if not any(p == name for _, p in self.projections)]
        if unfed:
            raise ValueError(f"layer(s) {', '.join(unfed)} receive no projection")

    @classmethod
    def feed_forward(cls, *sizes, neuron=None):
        """Input -> hidden ... -> output, each layer projecting onto the next."""
        if len(sizes) < 2:
            raise ValueError(f"give at least an input and an output size, got {sizes}")
        names = ["input"] + [f"hidden{k}" if len(sizes) > 3 else "hidden"
                             for k in range(1, len(sizes) - 1)] + ["output"]
        return cls(tuple(zip(names, (int(s) for s in sizes))),
                   tuple(zip(names[:-1], names[1:])), neuron or NeuronParameters())

    @property
    def names(self):
        return [name for name, _ in self.layers]

    @property
    def input(self):
        return self.layers[0][0]

    @property
    def output(self):
        return self.layers[-1][0]

    def size(self, name):
        return dict(self.layers)[name]

    def incoming(self, name):
        """The projections onto layer `name`."""
        return [p for p in self.projections if p[1] == name]
