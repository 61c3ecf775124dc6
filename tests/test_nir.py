"""NIR graphs <-> PyNN networks on the chip (pyNN_sparsehw.nir).

Connection maps are checked against torch's own convolutions and pools; reading
and writing against each other (the round trip is the identity); the reader against
snnTorch's own spikes on graphs that snnTorch exported."""

import numpy as np
import pytest

nir = pytest.importorskip("nir")
torch = pytest.importorskip("torch")
snn = pytest.importorskip("snntorch")
pytest.importorskip("nirtorch")

import pyNN_sparsehw as sim                                               # noqa: E402
from pyNN_sparsehw import nir as pnir                                     # noqa: E402
from pyNN_sparsehw.cli.commands import main                               # noqa: E402
from pyNN_sparsehw.nir import units                                       # noqa: E402
from pyNN_sparsehw.nir.maps import ConnectionMap, convolution, pooling    # noqa: E402
from snntorch import utils as snn_utils                                   # noqa: E402
from snntorch.export_nir import export_to_nir                             # noqa: E402


def apply(mapped, x):
    """y = map(x) for a flat input (no delays)."""
    y = mapped.bias.copy()
    np.add.at(y, mapped.post, mapped.weight * x.ravel()[mapped.pre])
    return y


# ------------------------------------------------------------ connection maps
@pytest.mark.parametrize("stride, padding, dilation, groups", [
    ((1, 1), (0, 0), (1, 1), 1), ((2, 1), (1, 2), (1, 2), 2), ((1, 2), "same", (2, 1), 4)])
def test_conv2d_map_equals_torch(stride, padding, dilation, groups):
    rng = np.random.default_rng(3)
    weight = rng.normal(size=(4, 4 // groups, 3, 2))
    bias = rng.normal(size=4)
    x = rng.normal(size=(4, 7, 6))
    if padding == "same":
        stride = (1, 1)
    mapped, shape = convolution(weight, (7, 6), stride, padding, dilation, groups, bias)
    expected = torch.nn.functional.conv2d(
        torch.tensor(x)[None], torch.tensor(weight), torch.tensor(bias), stride=stride,
        padding=padding, dilation=dilation, groups=groups)[0].numpy()
    assert shape == expected.shape
    np.testing.assert_allclose(apply(mapped, x), expected.ravel(), atol=1e-12)


def test_conv1d_map_equals_torch():
    rng = np.random.default_rng(4)
    weight, bias, x = rng.normal(size=(3, 2, 4)), rng.normal(size=3), rng.normal(size=(2, 11))
    mapped, shape = convolution(weight, (11,), 2, 3, 2, 1, bias)
    expected = torch.nn.functional.conv1d(torch.tensor(x)[None], torch.tensor(weight),
                                          torch.tensor(bias), stride=2, padding=3,
                                          dilation=2)[0].numpy()
    assert shape == expected.shape
    np.testing.assert_allclose(apply(mapped, x), expected.ravel(), atol=1e-12)


@pytest.mark.parametrize("average", [False, True])
def test_pooling_and_composition_equal_torch(average):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 6, 7))
    pool, shape = pooling((2, 6, 7), (2, 3), (2, 2), (1, 1), average)
    expected = torch.nn.functional.avg_pool2d(torch.tensor(x)[None], (2, 3), (2, 2), (1, 1))
    expected = expected[0].numpy() * (1.0 if average else 6.0)
    assert shape == expected.shape
    np.testing.assert_allclose(apply(pool, x), expected.ravel(), atol=1e-12)
    # a dense layer after the pool: one composed map
    dense = ConnectionMap.dense(rng.normal(size=(3, pool.n_post)), rng.normal(size=3))
    composed = pool.compose(dense).merged()
    np.testing.assert_allclose(apply(composed, x), apply(dense, apply(pool, x)), atol=1e-12)


def test_discretisations_invert():
    tau = np.array([2e-4, 1e-3, 5e-2])
    for discretisation in units.DISCRETISATIONS:
        decay, gain = units.decay_and_gain(tau, 1e-4, discretisation)
        np.testing.assert_allclose(units.tau_from_decay(decay, 1e-4, discretisation), tau)
    decay, gain = units.decay_and_gain(tau, 1e-4, "euler")
    np.testing.assert_allclose(decay, 1 - 1e-4 / tau)
    # the chip's exact integration decays by the same factor per step
    np.testing.assert_allclose(units.chip_decay(units.chip_tau(decay, 0.5), 0.5), decay)


# ------------------------------------------------------------- round trip
def _network(rng, first="IF_curr_delta"):
    """Input -> IF_curr_delta -> IF_curr_exp (recurrent), per-neuron parameters,
    delays of 1-3 steps (`first`: the cell type of the first layer; the analog chip
    has no voltage-jump synapses); the IF_curr_exp layer has today's trainer's neuron
    (pyNN_sparsehw.training.architecture.NeuronParameters) and signed all-to-all
    weights split over an excitatory and an inhibitory projection, as the trainer's
    networks are built."""
    source = sim.Population(6, sim.SpikeSourceArray(), label="in")
    extra = {"tau_syn_E": 2.0, "tau_syn_I": 2.0} if first == "IF_curr_exp" else {}
    a = sim.Population(5, getattr(sim, first)(
        tau_m=rng.uniform(5, 20, 5), v_rest=-60.0, v_reset=rng.uniform(-70, -65, 5),
        v_thresh=rng.uniform(-50, -45, 5), tau_refrac=1.0, cm=0.5, i_offset=0.1, **extra),
        label="a")
    b = sim.Population(4, sim.IF_curr_exp(
        tau_m=10.0, tau_syn_E=5.0, tau_syn_I=5.0, tau_refrac=2.0, v_rest=-65.0,
        v_reset=-65.0, v_thresh=-50.0, cm=0.2, i_offset=0.0), label="b")

    def connections(n_pre, n_post, density):
        """Excitatory and inhibitory connectors on disjoint pairs (NIR sums the
        synapses of a pair that have the same delay)."""
        i, j = np.nonzero(rng.random((n_pre, n_post)) < density)
        w = rng.uniform(0.1, 1, i.size) * rng.choice([-1.0, 1.0], i.size)
        rows = np.column_stack([i, j, w, rng.integers(1, 4, i.size) * 1.0])
        return [sim.FromListConnector(rows[selected], column_names=["weight", "delay"])
                for selected in (w > 0, w < 0)]

    signed = rng.normal(0, 0.5, (5, 4))
    excitatory, inhibitory = connections(6, 5, 0.8)
    projections = [
        sim.Projection(source, a, excitatory, receptor_type="excitatory"),
        sim.Projection(source, a, inhibitory, receptor_type="inhibitory"),
        sim.Projection(a, b, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=np.maximum(signed, 0), delay=1.0),
                       receptor_type="excitatory"),
        sim.Projection(a, b, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=np.minimum(signed, 0), delay=1.0),
                       receptor_type="inhibitory"),
        sim.Projection(b, b, connections(4, 4, 0.5)[1], receptor_type="inhibitory")]
    return [source, a, b], projections


PARAMETERS = {
    "IF_curr_delta": ["tau_m", "v_rest", "v_reset", "v_thresh", "tau_refrac", "cm", "i_offset"],
    "IF_curr_exp": ["tau_m", "tau_syn_E", "tau_syn_I", "v_rest", "v_reset", "v_thresh",
                    "tau_refrac", "cm", "i_offset"]}


def _synapses(projections, hardware=False):
    """(pre label, post label) -> sorted rows (pre, post, weight, delay), summed
    over receptors."""
    table = {}
    for projection in projections:
        rows = np.asarray(projection.get(["weight", "delay"], format="list",
                                         hardware=hardware)).reshape(-1, 4)
        key = (projection.pre.label, projection.post.label)
        table[key] = np.concatenate([table.get(key, np.empty((0, 4))), rows])
    return {key: rows[np.lexsort(rows[:, ::-1].T)] for key, rows in table.items()}


def _parameters(populations, hardware=False):
    names = {p.label: PARAMETERS.get(type(p.celltype).__name__, []) for p in populations}
    return {p.label: {name: np.asarray(p.get(name, hardware=hardware, simplify=False))
                      for name in names[p.label]}
            for p in populations if names[p.label]}


def test_round_trip_is_the_identity(tmp_path):
    sim.setup(timestep=0.5, chip="ideal")
    populations, projections = _network(np.random.default_rng(7))
    expected_synapses, expected_parameters = _synapses(projections), _parameters(populations)
    # 10 mV per NIR voltage unit around -60 mV, there and back
    pnir.write(tmp_path / "net.nir", projections, populations, voltage_scale=10.0,
               v_offset=-60.0)

    sim.setup(timestep=0.5, chip="ideal")
    network = pnir.read(tmp_path / "net.nir", voltage_scale=10.0, v_offset=-60.0)
    assert network.bias is None and network.outputs == {"b output": "b"}
    assert [type(p.celltype).__name__ for p in network.populations.values()] == \
        ["SpikeSourceArray", "IF_curr_delta", "IF_curr_exp"]
    synapses = _synapses([p for group in network.projections.values() for p in group])
    assert synapses.keys() == expected_synapses.keys()
    for key, rows in expected_synapses.items():
        rows = rows[rows[:, 2] != 0]       # a synapse of weight 0 is no synapse in NIR
        np.testing.assert_array_equal(synapses[key][:, :2], rows[:, :2])
        np.testing.assert_allclose(synapses[key][:, 2:], rows[:, 2:], rtol=1e-10)
    parameters = _parameters(network.populations.values())
    for label, values in expected_parameters.items():
        for name, value in values.items():
            np.testing.assert_allclose(parameters[label][name], value, rtol=1e-10,
                                       err_msg=f"{label}.{name}")


def test_export_as_realised_on_the_chip(tmp_path):
    """hardware=True exports the analog chip's quantized weights and mismatched
    parameters: read back on `ideal`, they are what the chip realised."""
    sim.setup(timestep=0.5, chip="analog", calibration=None)
    populations, projections = _network(np.random.default_rng(8), first="IF_curr_exp")
    sim.run(1.0)
    realised_synapses = _synapses(projections, hardware=True)
    realised = _parameters(populations, hardware=True)
    asked = _parameters(populations)
    assert not np.allclose(realised["b"]["tau_m"], asked["b"]["tau_m"])  # mismatch
    pnir.write(tmp_path / "chip.nir", projections, populations, hardware=True)

    sim.setup(timestep=0.5, chip="ideal")
    network = pnir.read(tmp_path / "chip.nir")
    synapses = _synapses([p for group in network.projections.values() for p in group])
    for key, rows in realised_synapses.items():
        rows = rows[rows[:, 2] != 0]      # weights quantized to 0 are no synapse
        np.testing.assert_array_equal(synapses[key][:, [0, 1, 3]], rows[:, [0, 1, 3]])
        np.testing.assert_allclose(synapses[key][:, 2], rows[:, 2], rtol=1e-9)
    parameters = _parameters(network.populations.values())
    for label in ("a", "b"):
        for name, value in realised[label].items():
            np.testing.assert_allclose(parameters[label][name], value, rtol=1e-9,
                                       err_msg=f"{label}.{name}")


# ------------------------------------------------------------ snnTorch
def _matched(reference, chip):
    """Fraction of the spikes of each that the other has in the same neuron within
    one step (the smaller of the two)."""
    def within(a, b):
        near = b.copy()
        near[1:] |= b[:-1]
        near[:-1] |= b[1:]
        return (a & near).sum() / max(a.sum(), 1)
    reference, chip = reference.astype(bool), chip.astype(bool)
    return min(within(reference, chip), within(chip, reference))


def _spikes_of(network, node, steps):
    """Recorded spikes of a neuron node, in NIR steps (steps, size)."""
    population = network.populations[node]
    array = np.zeros((steps, population.size), dtype=bool)
    for index, train in enumerate(population.get_data().segments[-1].spiketrains):
        t = np.rint(np.asarray(train) / network.timestep - 1 - network.offsets[node])
        t = t[(t >= 0) & (t < steps)].astype(int)
        array[t, index] = True
    return array


def test_snntorch_convolutional_network_reproduced_on_ideal():
    """Conv2d -> AvgPool2d -> Leaky -> Flatten -> Linear -> Leaky, exported by
    snnTorch: the ideal chip fires snnTorch's spikes (hidden and output)."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.AvgPool2d((2, 2), stride=(2, 2)),
        snn.Leaky(beta=torch.full((4, 4, 4), 0.8), threshold=torch.ones(4, 4, 4),
                  reset_mechanism="zero", init_hidden=True),
        torch.nn.Flatten(), torch.nn.Linear(64, 10),
        snn.Leaky(beta=torch.linspace(0.7, 0.95, 10), threshold=torch.ones(10),
                  reset_mechanism="zero", init_hidden=True, output=True))
    with torch.no_grad():
        net[0].weight *= 3.0
        net[4].weight *= 3.0
    graph = export_to_nir(net, torch.zeros(1, 1, 8, 8), ignore_dims=[0])
    steps = 40
    x = (torch.rand(steps, 1, 1, 8, 8) < 0.3).float()
    hidden = []
    net[2].register_forward_hook(lambda module, i, o: hidden.append(o.detach().clone()))
    snn_utils.reset(net)                       # the export ran the network once
    with torch.no_grad():
        output = torch.stack([net(x[t])[0] for t in range(steps)]).squeeze(1).numpy()
    hidden = torch.stack(hidden).reshape(steps, -1).numpy()
    assert hidden.sum() > 100 and output.sum() > 20

    sim.setup(timestep=1.0, chip="ideal")
    network = pnir.read(graph)
    assert network.offsets == {"input": 0, "2": 1, "5": 2}
    assert network.bias is not None            # the conv and linear biases
    network.populations["2"].record("spikes")
    result = network.run(x.squeeze(1).numpy())
    assert _matched(output, result["output"]) >= 0.99
    assert _matched(hidden, _spikes_of(network, "2", steps)) >= 0.99
    np.testing.assert_array_equal(result["output"], output)   # in fact: every spike


@pytest.mark.parametrize("kind", ["RLeaky", "Synaptic"])
def test_snntorch_recurrent_and_synaptic_networks_reproduced_on_ideal(kind):
    """Linear -> RLeaky (recurrent, LIF) or Synaptic (CubaLIF) -> Linear -> Leaky,
    exported by snnTorch (reset to zero, reset_delay=False: NIR's reset semantics)."""
    torch.manual_seed(1)
    n_in, n, n_out, steps = 12, 16, 5, 60
    fc, readout = torch.nn.Linear(n_in, n), torch.nn.Linear(n, n_out)
    if kind == "RLeaky":
        layer = snn.RLeaky(beta=torch.full((n,), 0.85), threshold=torch.ones(n),
                           linear_features=n, reset_mechanism="zero", reset_delay=False)
    else:
        layer = snn.Synaptic(alpha=torch.full((n,), 0.6), beta=torch.full((n,), 0.85),
                             threshold=torch.ones(n), reset_mechanism="zero",
                             reset_delay=False)
    out = snn.Leaky(beta=torch.full((n_out,), 0.9), threshold=torch.ones(n_out),
                    reset_mechanism="zero")

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.lif, self.out, self.lif2 = fc, layer, readout, out

        def forward(self, x):
            return self.lif2(self.out(self.lif(self.fc(x))[0]))

    net = Net()
    with torch.no_grad():
        fc.weight *= 3.0
        readout.weight *= 3.0
        if kind == "RLeaky":
            layer.recurrent.weight *= 2.0
    graph = export_to_nir(net, torch.zeros(1, n_in), ignore_dims=[0])
    x = (torch.rand(steps, 1, n_in) < 0.3).float()
    state, mem2, hidden, output = (torch.zeros(1, n), torch.zeros(1, n)), \
        torch.zeros(1, n_out), [], []
    with torch.no_grad():
        for t in range(steps):
            if kind == "RLeaky":                      # state: (spikes, membrane)
                spikes, mem = layer(fc(x[t]), *state)
                state = (spikes, mem)
            else:                                     # state: (current, membrane)
                spikes, syn, mem = layer(fc(x[t]), *state)
                state = (syn, mem)
            s2, mem2 = out(readout(spikes), mem2)
            hidden.append(spikes[0].numpy())
            output.append(s2[0].numpy())
    hidden, output = np.array(hidden), np.array(output)
    assert hidden.sum() > 100 and output.sum() > 10

    sim.setup(timestep=1.0, chip="ideal")
    network = pnir.read(graph)
    node = next(name for name in network.populations if name.startswith("lif")
                and name != "lif2")
    network.populations[node].record("spikes")
    result = network.run(x.squeeze(1).numpy())
    assert _matched(output, result["output"]) >= 0.99
    assert _matched(hidden, _spikes_of(network, node, steps)) >= 0.99


def test_snntorch_rsynaptic_reproduced_on_ideal_in_the_same_step():
    """Linear -> RSynaptic (recurrent CubaLIF), exported by snnTorch: the ideal chip
    fires every spike in the step NIR's semantics give it. snnTorch 1.0.0 exports
    RSynaptic only with reset_delay=True (with False its forward fails on None); the
    reference is NIR's semantics in snnTorch: Synaptic(reset_delay=False) fed with the
    input and the recurrent Linear of the previous step's spikes."""
    torch.manual_seed(1)
    n_in, n, steps = 12, 16, 60
    fc = torch.nn.Linear(n_in, n)
    layer = snn.RSynaptic(alpha=torch.full((n,), 0.6), beta=torch.full((n,), 0.85),
                          threshold=torch.ones(n), linear_features=n, reset_mechanism="zero")
    with torch.no_grad():
        fc.weight *= 3.0
        layer.recurrent.weight *= 2.0

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.lif = fc, layer

        def forward(self, x):
            return self.lif(self.fc(x))[0]

    graph = export_to_nir(Net(), torch.zeros(1, n_in), ignore_dims=[0])
    reference = snn.Synaptic(alpha=torch.full((n,), 0.6), beta=torch.full((n,), 0.85),
                             threshold=torch.ones(n), reset_mechanism="zero",
                             reset_delay=False)
    x = (torch.rand(steps, 1, n_in) < 0.3).float()
    syn, mem, spikes, expected = torch.zeros(1, n), torch.zeros(1, n), torch.zeros(1, n), []
    with torch.no_grad():
        for t in range(steps):
            spikes, syn, mem = reference(fc(x[t]) + layer.recurrent(spikes), syn, mem)
            expected.append(spikes[0].numpy())
    expected = np.array(expected)
    assert expected.sum() > 200

    sim.setup(timestep=1.0, chip="ideal")
    network = pnir.read(graph)
    assert network.notes == []
    assert type(network.populations["lif.lif"].celltype).__name__ == "PointNeuron"
    result = network.run(x.squeeze(1).numpy())["output"]
    np.testing.assert_array_equal(result, expected)


def test_recurrent_cubalif_without_voltage_jumps_is_one_step_late_by_name():
    """The analog chip has no voltage jumps: a CubaLIF's recurrent edge is realised one
    step late, a note naming the edge says so; on ideal the edge is split into a jump
    and a current of one step each and the note is gone."""
    graph = _cuba_graph(np.random.default_rng(3), recurrent=True)
    sim.setup(timestep=1.0, chip="analog", calibration=None)
    network = pnir.read(graph, voltage_scale=10.0, v_offset=-60.0)
    assert network.notes[-1] == ("edge hidden -> hidden: the chip needs at least one step "
                                 "per synapse, NIR asks for 0; realised with 1 step(s) more "
                                 "latency")
    assert type(network.populations["hidden"].celltype).__name__ == "IF_curr_exp"
    sim.setup(timestep=1.0, chip="ideal")
    network = pnir.read(graph)
    assert network.notes == []
    labels = sorted(p.label for p in network.projections[("hidden", "hidden")])
    assert labels == ["hidden->hidden exc", "hidden->hidden inh", "hidden->hidden jump exc",
                      "hidden->hidden jump inh"]
    assert all(p.get("delay", format="list", with_address=False) == [1.0] * len(p)
               for p in network.projections[("hidden", "hidden")])


# ---------------------------------------------------------------- errors
def _graph(*nodes):
    return nir.NIRGraph.from_list(nir.Input(input_type=np.array([3])), *nodes,
                                  nir.Output(output_type=np.array([2])))


def _lif(tau=1e-3, size=2, r=1.0):
    return nir.LIF(tau=np.full(size, tau), r=np.full(size, r), v_leak=np.zeros(size),
                   v_threshold=np.ones(size))


def test_unsupported_node_is_an_error_naming_it():
    sim.setup(timestep=1.0, chip="ideal")
    graph = _graph(nir.Linear(weight=np.ones((2, 3))), nir.I(r=np.ones(2)))
    with pytest.raises(pnir.NIRMappingError, match="node 'i' is a I"):
        pnir.read(graph)


def test_time_constant_shorter_than_a_step_is_an_error_naming_the_node():
    sim.setup(timestep=1.0, chip="ideal")
    with pytest.raises(pnir.NIRMappingError, match="node 'lif' .*tau = 5e-05 s"):
        pnir.read(_graph(nir.Linear(weight=np.ones((2, 3))), _lif(tau=5e-5)))


def test_parameters_the_chip_cannot_hold_are_an_error_naming_the_node():
    sim.setup(timestep=1.0, chip="analog", calibration=None)
    # beta = 0.999 per 1 ms step: tau_m = 1 s, beyond the analog chip's 100 ms
    with pytest.raises(pnir.NIRMappingError, match="node 'lif' .*tau_m = 999.* outside"):
        pnir.read(_graph(nir.Linear(weight=np.ones((2, 3))), _lif(tau=0.1)))
    li = nir.LI(tau=np.full(2, 1e-3), r=np.ones(2), v_leak=np.zeros(2))
    with pytest.raises(pnir.NIRMappingError, match=r"node 'li' .*v_thresh = 1e\+12"):
        pnir.read(_graph(nir.Linear(weight=np.ones((2, 3))), li))


def test_model_without_nir_node_travels_in_metadata(tmp_path):
    """An ALIF layer goes out as a LIF node with its adaptation in the metadata;
    reading it back names the node and the model."""
    node = pnir.model_node("ALIF", _lif(), tau_a=np.full(2, 0.2), beta_a=1.7)
    nir.write(tmp_path / "alif.nir", _graph(nir.Linear(weight=np.ones((2, 3))), node))
    graph = nir.read(tmp_path / "alif.nir")
    metadata = graph.nodes["lif"].metadata
    np.testing.assert_allclose(metadata["ALIF_tau_a"], [0.2, 0.2])
    sim.setup(timestep=1.0, chip="ideal")
    with pytest.raises(pnir.NIRMappingError, match="node 'lif' carries a ALIF neuron"):
        pnir.read(graph)


def test_threshold_and_leaky_integrator_outputs():
    """Threshold after an Affine fires where W x + b > threshold in the same step;
    an LI output is its membrane potential, the Euler recurrence of NIR's ODE."""
    rng = np.random.default_rng(2)
    weight, bias = rng.normal(size=(2, 3)), np.array([0.2, -0.1])
    threshold = nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([3])), nir.Affine(weight=weight, bias=bias),
        nir.Threshold(threshold=np.full(2, 0.3)), nir.Output(output_type=np.array([2])))
    x = (rng.random((30, 3)) < 0.5).astype(float)
    sim.setup(timestep=1.0, chip="ideal")
    result = pnir.read(threshold).run(x)["output"]
    np.testing.assert_array_equal(result, (x @ weight.T + bias) > 0.3)

    tau, r, dt = 5e-4, 2.0, 1e-4
    li = nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([3])), nir.Linear(weight=weight),
        nir.LI(tau=np.full(2, tau), r=np.full(2, r), v_leak=np.full(2, -0.5)),
        nir.Output(output_type=np.array([2])))
    sim.setup(timestep=1.0, chip="ideal")
    v = pnir.read(li, dt=dt).run(x)["output"]
    expected, state = [], np.full(2, -0.5)
    for t in range(30):
        state = state + dt / tau * (-0.5 - state + r * (weight @ x[t]))
        expected.append(state)
    np.testing.assert_allclose(v, expected, atol=1e-9)


def test_delay_and_scale_nodes():
    """Input -> Delay (2 steps) -> Scale -> Affine -> Threshold: output[t] is the
    threshold of W (s x[t-2]) + b (the bias alone before the delayed input arrives)."""
    rng = np.random.default_rng(6)
    weight, bias, scale = rng.normal(size=(2, 3)), np.array([0.5, -0.2]), rng.normal(size=3)
    graph = nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([3])), nir.Delay(delay=np.full(3, 2e-4)),
        nir.Scale(scale=scale), nir.Affine(weight=weight, bias=bias),
        nir.Threshold(threshold=np.full(2, 0.3)), nir.Output(output_type=np.array([2])))
    x = (rng.random((25, 3)) < 0.5).astype(float)
    delayed = np.vstack([np.zeros((2, 3)), x[:-2]])
    sim.setup(timestep=1.0, chip="ideal")
    result = pnir.read(graph).run(x)["output"]
    np.testing.assert_array_equal(result, (delayed * scale @ weight.T + bias) > 0.3)


def test_nested_graph_equals_its_flat_version():
    """A recurrent LIF inside a subgraph (as older snnTorch exports write RLeaky)
    gives the spikes of the same network written flat."""
    rng = np.random.default_rng(9)
    w_in, w_rec = rng.normal(0, 1.0, (4, 3)), rng.normal(0, 0.5, (4, 4))

    def lif():
        return nir.LIF(tau=np.full(4, 5e-4), r=np.full(4, 5.0), v_leak=np.zeros(4),
                       v_threshold=np.ones(4))

    sub = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([4])), "lif": lif(),
                              "w_rec": nir.Linear(weight=w_rec),
                              "output": nir.Output(output_type=np.array([4]))},
                       edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"),
                              ("lif", "output")])
    nodes = {"input": nir.Input(input_type=np.array([3])), "w_in": nir.Linear(weight=w_in),
             "output": nir.Output(output_type=np.array([4]))}
    nested = nir.NIRGraph(nodes=dict(nodes, rnn=sub), edges=[
        ("input", "w_in"), ("w_in", "rnn"), ("rnn", "output")])
    flat = nir.NIRGraph(nodes=dict(nodes, lif=lif(), w_rec=nir.Linear(weight=w_rec)), edges=[
        ("input", "w_in"), ("w_in", "lif"), ("lif", "w_rec"), ("w_rec", "lif"),
        ("lif", "output")])
    x = (rng.random((40, 3)) < 0.4).astype(float)
    results = []
    for graph in (nested, flat):
        sim.setup(timestep=1.0, chip="ideal")
        network = pnir.read(graph)
        results.append(network.run(x)["output"])
    assert network.outputs == {"output": "lif"} and results[1].sum() > 10
    np.testing.assert_array_equal(results[0], results[1])


# ------------------------------------------------------- fine-tuning in the loop
def _cuba_graph(rng, recurrent=False, bias=False):
    """Input(6) -> Linear -> CubaLIF(5) -> Linear -> CubaLIF(3) -> Output, with a
    recurrent Linear on the hidden layer or biases on request."""
    def cuba(n):
        return nir.CubaLIF(tau_syn=np.full(n, 2e-4), tau_mem=np.full(n, 5e-4),
                           r=np.full(n, 5.0), w_in=np.full(n, 2.0), v_leak=np.zeros(n),
                           v_threshold=np.ones(n), v_reset=np.zeros(n))
    first = rng.normal(0.0, 1.2, (5, 6))
    nodes = {"input": nir.Input(input_type=np.array([6])),
             "w1": nir.Affine(weight=first, bias=np.full(5, 0.1)) if bias
             else nir.Linear(weight=first),
             "hidden": cuba(5), "w2": nir.Linear(weight=rng.normal(0.0, 1.2, (3, 5))),
             "out": cuba(3), "output": nir.Output(output_type=np.array([3]))}
    edges = [("input", "w1"), ("w1", "hidden"), ("hidden", "w2"), ("w2", "out"),
             ("out", "output")]
    if recurrent:
        nodes["w_rec"] = nir.Linear(weight=rng.normal(0.0, 0.5, (5, 5)))
        edges += [("hidden", "w_rec"), ("w_rec", "hidden")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def test_a_read_network_in_the_loop_is_the_twins_network():
    """On ideal, the twin of the read network (ArchitectureTwin.from_chip of the
    NIRChip view) fires the chip's recorded spikes in every layer and step; the
    weights keep their synapses' signs; an in-the-loop step writes its new weights to
    the chip."""
    from pyNN_sparsehw.nir.loop import NIRChip, Presentation, SignedWeights
    from pyNN_sparsehw.training import ArchitectureTwin, InTheLoopTrainer

    rng = np.random.default_rng(4)
    sim.setup(timestep=1.0, chip="ideal")
    network = pnir.read(_cuba_graph(rng))
    chip = NIRChip(network, Presentation(steps=20, gap=40, dt=1.0))
    assert chip.architecture.names == ["input", "hidden", "out"]
    x = (rng.random((3, 20, 6)) < 0.4).astype(float)
    recorded = chip.record(x)
    assert recorded["input"].shape == (60, 3, 6) and recorded["out"].shape == (60, 3, 3)
    assert recorded["hidden"].sum() > 20 and recorded["out"].sum() > 10
    model = SignedWeights(chip)
    twin = ArchitectureTwin.from_chip(chip, model.dtype)
    with torch.no_grad():
        spikes = model(recorded["input"], twin)
    for layer in ("hidden", "out"):
        np.testing.assert_array_equal(spikes[layer].numpy(), recorded[layer], err_msg=layer)

    key = ("input", "hidden")
    signs = chip.signs[key]
    with torch.no_grad():
        model.weight(key).copy_(-model.weight(key))           # every weight flipped
    model.clip_()
    np.testing.assert_array_equal(model.weight(key).detach().numpy(), 0.0)
    assert set(np.unique(signs)) == {-1.0, 1.0}

    model = SignedWeights(chip)
    trainer = InTheLoopTrainer(model, chip, x, np.array([0, 1, 2]), batch_size=3,
                               learning_rate=0.05)
    before = chip.weights()
    trainer.step()
    after = model.numpy_weights()
    chip.write_weights(after)
    for key, w in chip.weights().items():
        assert not np.allclose(w, before[key])
        np.testing.assert_allclose(w, after[key], rtol=1e-6, atol=1e-9)
        assert np.all(np.sign(w) * chip.signs[key] >= 0)


def test_what_the_loop_cannot_train_is_an_error_naming_it():
    from pyNN_sparsehw.nir.loop import NIRChip, Presentation

    presentation = Presentation(steps=5, gap=5, dt=1.0)
    sim.setup(timestep=1.0, chip="ideal")
    network = pnir.read(_cuba_graph(np.random.default_rng(0), bias=True))
    with pytest.raises(pnir.NIRMappingError, match="node.* hidden have biases"):
        NIRChip(network, presentation)
    sim.setup(timestep=1.0, chip="ideal")
    network = pnir.read(_cuba_graph(np.random.default_rng(0), recurrent=True))
    with pytest.raises(pnir.NIRMappingError, match="edge hidden -> hidden lies on a cycle"):
        NIRChip(network, presentation)


# --------------------------------------------------------------- command
def test_run_nir_command(tmp_path):
    graph = _graph(nir.Affine(weight=np.full((2, 3), 0.6), bias=np.zeros(2)), _lif(r=10.0))
    nir.write(tmp_path / "g.nir", graph)
    spikes = np.zeros((20, 3))
    spikes[::2] = 1
    np.savez(tmp_path / "in.npz", spikes=spikes, dt=1e-4)
    status = main(["run-nir", str(tmp_path / "g.nir"), "--input", str(tmp_path / "in.npz"),
                   "--chip", "ideal", "--out", str(tmp_path / "out")])
    assert status == 0
    out = np.load(tmp_path / "out" / "output_spikes.npz")
    # 1.8 per input step, decay 0.9 (tau = 1 ms, dt = 0.1 ms): fires at every input
    np.testing.assert_array_equal(out["output"][:, 0], spikes[:, 0])
    for name in ("hardware_report.txt", "hardware_report.json", "report.html"):
        assert (tmp_path / "out" / name).is_file()
