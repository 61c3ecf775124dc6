"""A recurrent spiking network (LSNN, Bellec et al. 2018) in torch, run through the
chip's twin.

Inputs (spikes) -> one recurrent population of ``n_lif`` LIF and ``n_alif`` ALIF
neurons -> ``n_output`` non-spiking leaky integrators (the readout). Every neuron is
an ``ALIF_curr_delta`` (docs/alif.rst): the LIF neurons are ALIF neurons with
``beta = 0`` and the readout neurons have a threshold they never reach, so the whole
network is one cell type the chip realises and the readout's membrane v is a
recorded state. Weights are voltage jumps (mV), signed, delivered one time step
after the presynaptic spike.

:class:`RecurrentTwin` says how a chip realises the network (neuron parameters and
the weight quantization of each projection, positive and negative parts apart as
PyNN projections carry one sign); :class:`RecurrentSNN` holds the trainable weights.
The logits are the readout's mean depolarisation (mV above rest) over the last
``readout_steps`` steps.

On a chip whose neurons are AdEx circuits with current inputs (``analog``) the same
network is realised by AdEx-adapting neurons (:meth:`RecurrentArchitecture.adex_parameters`):
the adaptive neurons adapt by the AdEx adaptation current (a jump of b per spike,
decaying with tau_w = tau_a) instead of by their threshold, every neuron resets to
v_rest, and each weight (mV) becomes an exponential current of the same charge,
``weight * cm / tau_syn`` nA (:meth:`RecurrentArchitecture.current_per_mv`).
"""

from dataclasses import dataclass

import numpy as np
import torch

from ..twin import (TwinPopulation, TwinProjection, WeightQuantizer, signed_projections,
                    simulate)
from ..twin.network import MODELS
from ..twin.neurons import ALIFParameters

#: the three weight matrices: name -> (source, target)
PROJECTIONS = {"input": ("input", "recurrent"), "recurrent": ("recurrent", "recurrent"),
               "readout": ("recurrent", "readout")}


def bellec_beta(beta_b, tau_a, dt, base, b0=0.01):
    """``beta`` (mV) of ALIF_curr_delta equal to Bellec et al.'s dimensionless
    beta_B at adaptation time constant `tau_a` (ms), step `dt` (ms) and base
    threshold distance `base` = v_thresh - v_rest (mV): docs/alif.rst."""
    return beta_b * (1.0 - np.exp(-dt / tau_a)) * base / b0


@dataclass(frozen=True)
class RecurrentArchitecture:
    """Sizes and neuron parameters (PyNN units: ms, mV, nF) of an LSNN.

    The recurrent neurons share tau_m, v_rest, v_thresh, tau_refrac, cm; the ALIF
    ones adapt with tau_a and beta (mV per unit of adaptation), the LIF ones have
    beta = 0. The readout neurons integrate with tau_out and never spike.
    """
    n_input: int
    n_lif: int
    n_alif: int
    n_output: int
    dt: float = 1.0
    tau_m: float = 20.0
    v_rest: float = -65.0
    v_thresh: float = -50.0
    tau_refrac: float = 2.0
    cm: float = 1.0
    tau_a: float = 400.0
    beta: float = None
    tau_out: float = 20.0
    readout_steps: int = 10
    #: readout threshold (mV), above any value its membrane reaches
    readout_thresh: float = 250.0
    #: time constant (ms) of the exponential current inputs of AdEx-circuit chips
    tau_syn: float = 3.0
    #: readout threshold (mV) on AdEx-circuit chips, within their threshold DAC
    adex_readout_thresh: float = 20.0

    def __post_init__(self):
        if self.beta is None:
            object.__setattr__(self, "beta", float(bellec_beta(
                1.7, self.tau_a, self.dt, self.v_thresh - self.v_rest)))
        if min(self.n_input, self.n_lif + self.n_alif, self.n_output) < 1:
            raise ValueError(f"an LSNN needs inputs, recurrent neurons and outputs; got "
                             f"n_input={self.n_input}, n_lif={self.n_lif}, "
                             f"n_alif={self.n_alif}, n_output={self.n_output}")

    @property
    def n_recurrent(self):
        return self.n_lif + self.n_alif

    def size(self, name):
        """Neurons of population `name` ("input", "recurrent" or "readout")."""
        return {"input": self.n_input, "recurrent": self.n_recurrent,
                "readout": self.n_output}[name]

    def betas(self):
        """beta (mV) of each recurrent neuron: 0 for the LIF ones, then the ALIF ones."""
        return np.concatenate([np.zeros(self.n_lif), np.full(self.n_alif, self.beta)])

    def cell_parameters(self, name):
        """ALIF_curr_delta parameters of population "recurrent" or "readout"."""
        shared = dict(tau_m=self.tau_m, v_rest=self.v_rest, cm=self.cm, i_offset=0.0)
        if name == "recurrent":
            return dict(shared, v_thresh=self.v_thresh, tau_refrac=self.tau_refrac,
                        tau_a=self.tau_a, beta=self.betas())
        return dict(shared, tau_m=self.tau_out, v_thresh=self.readout_thresh,
                    tau_refrac=self.tau_refrac, tau_a=self.tau_a, beta=0.0)

    def current_per_mv(self):
        """nA of an exponential current (tau_syn) per mV of voltage jump: the current
        whose charge, ``weight * tau_syn``, moves the membrane (cm) by the same mV."""
        return self.cm / self.tau_syn

    def adex_parameters(self, name):
        """AdExp parameters (PyNN units) of population "recurrent" or "readout" on an
        AdEx-circuit chip: exponential term and subthreshold adaptation off
        (delta_T = a = 0), reset to v_rest; the ALIF neurons' threshold step beta (mV)
        becomes a spike-triggered adaptation current b = beta * cm / tau_m (nA, whose
        steady depolarisation deficit b * tau_m / cm equals beta) decaying with
        tau_w = tau_a."""
        recurrent = name == "recurrent"
        tau_m = self.tau_m if recurrent else self.tau_out
        v_thresh = self.v_thresh if recurrent else self.adex_readout_thresh
        b = self.betas() * self.cm / self.tau_m if recurrent else 0.0
        return dict(tau_m=tau_m, cm=self.cm, v_rest=self.v_rest, v_reset=self.v_rest,
                    v_thresh=v_thresh, v_spike=v_thresh, delta_T=0.0, a=0.0, b=b,
                    tau_w=self.tau_a, tau_refrac=self.tau_refrac, i_offset=0.0)


@dataclass
class RecurrentTwin:
    """How a chip realises an LSNN: the two twin populations ("recurrent",
    "readout") and, per weight matrix, the (positive, negative) WeightQuantizer.

    `gains`: {name: (positive, negative) gain tensors (pre, post)}, the synapses'
    mismatch (None: none). On AdEx-circuit chips also `current_per_mv` (nA per mV of
    weight: the inputs are currents, positive parts onto the excitatory input,
    negative onto the inhibitory one) and `initial_v` (mV, the membranes' start; None:
    at their realised rest)."""
    populations: dict
    quantizers: dict
    dt: float
    current_per_mv: float = None
    gains: dict = None
    initial_v: float = None

    @classmethod
    def nominal(cls, architecture, dtype=torch.float32):
        """The parameters as written: what the `ideal` chip realises."""
        populations = {}
        for name in ("recurrent", "readout"):
            p = architecture.cell_parameters(name)
            size = architecture.size(name)

            def full(value, size=size):
                return torch.as_tensor(np.broadcast_to(np.asarray(value, dtype=float),
                                                       (size,)).copy(), dtype=dtype)
            parameters = ALIFParameters(full(p["tau_m"]), full(p["cm"]), full(p["v_rest"]),
                                        full(p["v_thresh"]), full(p["tau_refrac"]),
                                        full(p["i_offset"]), full(p["tau_a"]),
                                        full(p["beta"]), full(0.0), full(0.0))
            populations[name] = TwinPopulation(name, "alif", parameters, size)
        quantizers = {name: (WeightQuantizer(), WeightQuantizer()) for name in PROJECTIONS}
        return cls(populations, quantizers, float(architecture.dt))

    def realise(self, name, weight):
        """Signed `weight` (mV) of matrix `name` as the chip stores it, straight-through:
        positive and negative parts quantized apart, then summed (the ALIF adds the
        jumps of both receptors), each times its synapses' gains."""
        positive, negative = self.quantizers[name]
        parts = positive(torch.clamp(weight, min=0.0)), negative(torch.clamp(weight, max=0.0))
        if self.gains is not None:
            parts = [part * gain for part, gain in zip(parts, self.gains[name])]
        return parts[0] + parts[1]

    def projections(self, name, weight):
        """Twin projections of signed `weight` (mV) of matrix `name`: one voltage-jump
        projection (:meth:`realise`) on ALIF chips; on AdEx-circuit chips the
        positive and negative parts as currents (nA) onto the excitatory and the
        inhibitory input, each quantized and times its synapses' gains."""
        pre, post = PROJECTIONS[name]
        if self.current_per_mv is None:
            return [TwinProjection(pre, post, "exc", self.realise(name, weight))]
        gains = None if self.gains is None else self.gains[name]
        return signed_projections(pre, post, weight * self.current_per_mv,
                                  self.quantizers[name], gains)

    def initial_state(self, batch):
        """{population: initial twin state} with membranes at `initial_v` (None: the
        models' own start, at rest)."""
        if self.initial_v is None:
            return None
        return {name: MODELS[pop.model][0](pop.parameters, batch, v=self.initial_v)
                for name, pop in self.populations.items()}


@dataclass
class Run:
    """One forward pass: recurrent spikes, adaptation of the recurrent neurons (the
    threshold's b of ALIF neurons, the current w in nA of AdEx ones) and the readout
    membrane v (mV), tensors (steps, batch, n)."""
    spikes: torch.Tensor
    adaptation: torch.Tensor
    readout_v: torch.Tensor


class RecurrentSNN(torch.nn.Module):
    """Trainable signed weights (mV) of an LSNN.

    Parameters
    ----------
    architecture : RecurrentArchitecture
    weight_limit : float
        Largest weight magnitude (mV); :meth:`clip_` keeps the weights within it.
    input_scale, recurrent_scale, readout_scale : float
        Standard deviations of the initial weights times sqrt(fan-in), in units of
        the base threshold distance v_thresh - v_rest.
    seed : int
        Seed of the initial weights.
    """

    def __init__(self, architecture, weight_limit=30.0, input_scale=1.0,
                 recurrent_scale=0.5, readout_scale=0.1, seed=0, dtype=torch.float32):
        super().__init__()
        self.architecture = architecture
        self.weight_limit = float(weight_limit)
        self.dtype = dtype
        rng = np.random.default_rng(seed)
        base = architecture.v_thresh - architecture.v_rest
        n_rec = architecture.n_recurrent
        self.weights = torch.nn.ParameterDict()
        for name, scale in (("input", input_scale), ("recurrent", recurrent_scale),
                            ("readout", readout_scale)):
            pre, post = (architecture.size(p) for p in PROJECTIONS[name])
            w = rng.normal(0.0, scale * base / np.sqrt(pre), (pre, post))
            self.weights[name] = torch.nn.Parameter(torch.tensor(
                np.clip(w, -self.weight_limit, self.weight_limit), dtype=dtype))
        #: no neuron connects to itself
        self.register_buffer("no_autapse", 1.0 - torch.eye(n_rec, dtype=dtype))

    def weight(self, name):
        """Weight matrix `name` (pre, post) in mV, autapses removed."""
        w = self.weights[name]
        return w * self.no_autapse if name == "recurrent" else w

    def forward(self, x, twin, substitute=None):
        """:class:`Run` of input spikes `x` (steps, batch, n_input) through `twin`;
        `substitute`: recorded recurrent spikes (steps, batch, n) of a chip (the
        forward values are the chip's, the gradients the twin's)."""
        x = torch.as_tensor(x, dtype=self.dtype)
        projections = [prj for name in PROJECTIONS
                       for prj in twin.projections(name, self.weight(name))]
        if substitute is not None:
            substitute = {"recurrent": torch.as_tensor(substitute, dtype=self.dtype)}
        populations = [twin.populations["recurrent"], twin.populations["readout"]]
        spikes, states = simulate(populations, projections, {"input": x}, x.shape[0],
                                  twin.dt, substitute, record=("v", "b", "w"),
                                  initial=twin.initial_state(x.shape[1]))
        recurrent = states["recurrent"]
        adaptation = recurrent["b"] if "b" in recurrent else recurrent["w"]
        return Run(spikes["recurrent"], adaptation, states["readout"]["v"])

    def logits(self, readout_v):
        """Mean depolarisation (mV) of each readout over the last readout_steps."""
        window = readout_v[-self.architecture.readout_steps:]
        return (window - self.architecture.v_rest).mean(dim=0)

    @torch.no_grad()
    def clip_(self):
        """Keep every weight within +-weight_limit."""
        for w in self.weights.values():
            w.clamp_(-self.weight_limit, self.weight_limit)

    def numpy_weights(self):
        """{name: weight matrix (pre, post) in mV} as numpy, autapses removed."""
        return {name: self.weight(name).detach().double().numpy().copy()
                for name in PROJECTIONS}
