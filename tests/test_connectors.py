"""Vectorized connectors against PyNN's own column-by-column implementation."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from pyNN.space import Grid2D
from pyNN_sparsehw import connectivity


def pynn_reference(projection, connector):
    """Connections PyNN's own connector.connect() makes (collected per column)."""
    result = connectivity._fallback(connector, projection)
    return result.pre, result.post, result.parameters


@pytest.mark.parametrize("make_connector", [
    lambda sim, rng: sim.AllToAllConnector(),
    lambda sim, rng: sim.AllToAllConnector(allow_self_connections=False),
    lambda sim, rng: sim.FixedProbabilityConnector(0.1, rng=rng),
    lambda sim, rng: sim.FixedProbabilityConnector(0.3, allow_self_connections=False, rng=rng),
    lambda sim, rng: sim.DistanceDependentProbabilityConnector("exp(-d/3)", rng=rng),
    lambda sim, rng: sim.FixedNumberPreConnector(7, with_replacement=True, rng=rng),
    lambda sim, rng: sim.OneToOneConnector(),
], ids=["all", "all-noself", "prob", "prob-noself", "distance", "fixed-pre-repl", "one-to-one"])
def test_same_connections_as_pynn(sim, make_connector):
    pop = sim.Population(64, sim.IF_cond_exp(), structure=Grid2D())
    weights = sim.RandomDistribution("uniform", (0.01, 0.02), rng=sim.NumpyRNG(7))
    prj = sim.Projection(pop, pop, make_connector(sim, sim.NumpyRNG(3)),
                         sim.StaticSynapse(weight=weights, delay=0.5))
    # the same connector with the same seeds, through PyNN's per-column loop
    weights_again = sim.RandomDistribution("uniform", (0.01, 0.02), rng=sim.NumpyRNG(7))
    prj.synapse_type = sim.StaticSynapse(weight=weights_again, delay=0.5)
    pre, post, parameters = pynn_reference(prj, make_connector(sim, sim.NumpyRNG(3)))
    assert len(prj) > 0
    assert_array_equal(prj._pre_index, pre)
    assert_array_equal(prj._post_index, post)
    assert_array_equal(prj.get("weight", format="list", with_address=False),
                       parameters["weight"])


def test_fixed_number_pre_without_replacement(sim):
    pre = sim.Population(30, sim.IF_cond_exp())
    post = sim.Population(50, sim.IF_cond_exp())
    prj = sim.Projection(pre, post, sim.FixedNumberPreConnector(12, rng=sim.NumpyRNG(1)),
                         sim.StaticSynapse(weight=0.01))
    counts = np.bincount(prj._post_index, minlength=50)
    assert np.all(counts == 12)
    pairs = set(zip(prj._pre_index.tolist(), prj._post_index.tolist()))
    assert len(pairs) == len(prj)  # no duplicates


def test_fixed_number_post_no_self(sim):
    pop = sim.Population(40, sim.IF_cond_exp())
    prj = sim.Projection(pop, pop, sim.FixedNumberPostConnector(
        39, allow_self_connections=False, rng=sim.NumpyRNG(2)), sim.StaticSynapse(weight=0.01))
    assert np.all(np.bincount(prj._pre_index, minlength=40) == 39)
    assert not np.any(prj._pre_index == prj._post_index)
    assert np.all(np.diff(prj._post_index) >= 0)  # PyNN's order: by postsynaptic cell


def test_fixed_total_number(sim):
    pre = sim.Population(20, sim.IF_cond_exp())
    post = sim.Population(25, sim.IF_cond_exp())
    prj = sim.Projection(pre, post, sim.FixedTotalNumberConnector(
        300, with_replacement=False, rng=sim.NumpyRNG(4)), sim.StaticSynapse(weight=0.01))
    assert len(prj) == 300
    assert len(set(zip(prj._pre_index.tolist(), prj._post_index.tolist()))) == 300


def test_from_list_with_parameters_and_errors(sim):
    from pyNN import errors
    pre = sim.Population(3, sim.IF_cond_exp())
    post = sim.Population(2, sim.IF_cond_exp())
    conn = [(2, 1, 0.1, 1.0), (0, 0, 0.2, 2.0), (1, 1, 0.3, 3.0)]
    prj = sim.Projection(pre, post, sim.FromListConnector(conn), sim.StaticSynapse())
    assert prj.get(["weight", "delay"], format="list") == [
        (0.0, 0.0, 0.2, 2.0), (2.0, 1.0, 0.1, 1.0), (1.0, 1.0, 0.3, 3.0)]
    with pytest.raises(errors.ConnectionError, match="source index out of range"):
        sim.Projection(pre, post, sim.FromListConnector([(5, 0, 0.1, 1.0)]), sim.StaticSynapse())


def test_array_and_clone(sim):
    pre = sim.Population(4, sim.IF_cond_exp())
    post = sim.Population(3, sim.IF_cond_exp())
    mask = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 0], [0, 1, 0]], dtype=bool)
    prj = sim.Projection(pre, post, sim.ArrayConnector(mask), sim.StaticSynapse(weight=0.5))
    assert_array_equal(~np.isnan(prj.get("weight", format="array")), mask)
    clone = sim.Projection(pre, post, sim.CloneConnector(prj), sim.StaticSynapse(weight=0.1))
    assert_array_equal(~np.isnan(clone.get("weight", format="array")), mask)


def test_distance_dependent_weights_and_views(sim):
    pop = sim.Population(16, sim.IF_cond_exp(), structure=Grid2D(dx=1.0, dy=1.0))
    view = pop[4:12]
    prj = sim.Projection(view, pop, sim.AllToAllConnector(),
                         sim.StaticSynapse(weight=lambda d: 0.1 * d + 0.01, delay=1.0))
    weights = prj.get("weight", format="array")
    distances = np.sqrt(((view.positions[:, :, None] - pop.positions[:, None, :]) ** 2).sum(0))
    assert_array_equal(weights.shape, (8, 16))
    np.testing.assert_allclose(weights, 0.1 * distances + 0.01)


def test_build_is_vectorized_for_a_large_network(sim):
    """300k synapses must build in well under a few seconds (no per-neuron loop)."""
    import time
    pop = sim.Population(4000, sim.IF_cond_exp())
    start = time.perf_counter()
    prj = sim.Projection(pop, pop, sim.FixedProbabilityConnector(0.02, rng=sim.NumpyRNG(1)),
                         sim.StaticSynapse(weight=0.004, delay=0.2))
    elapsed = time.perf_counter() - start
    assert abs(len(prj) - 0.02 * 4000 * 4000) < 5 * np.sqrt(0.02 * 16e6)
    assert elapsed < 3.0, elapsed


def test_reused_connector_gives_pynn_connections(sim):
    """PyNN draws a probabilistic connector's numbers from a copy of its generator, so a
    connector reused for several projections starts each from the same state."""
    exc = sim.Population(40, sim.IF_cond_exp())
    inh = sim.Population(10, sim.IF_cond_exp())
    connector = sim.FixedProbabilityConnector(0.2, allow_self_connections=False,
                                              rng=sim.NumpyRNG(5))
    sim.Projection(exc, exc, connector, sim.StaticSynapse(weight=0.01))
    second = sim.Projection(exc, inh, connector, sim.StaticSynapse(weight=0.01))
    fresh = sim.FixedProbabilityConnector(0.2, allow_self_connections=False,
                                          rng=sim.NumpyRNG(5))
    pre, post, _ = pynn_reference(second, fresh)
    assert_array_equal(second._pre_index, pre)
    assert_array_equal(second._post_index, post)


def test_user_connector_runs_through_pynn_code(sim):
    """A connector this backend does not know (a user subclass) runs PyNN's own
    connect(), whose per-column calls are collected into arrays."""

    class EveryOtherConnector(sim.AllToAllConnector):
        def connect(self, projection):
            for post in range(projection.post.size):
                projection._convergent_connect(np.arange(post % 2, projection.pre.size, 2),
                                               post, weight=0.5, delay=1.0)

    pre = sim.Population(6, sim.IF_cond_exp())
    post = sim.Population(3, sim.IF_cond_exp())
    prj = sim.Projection(pre, post, EveryOtherConnector(), sim.StaticSynapse())
    weights = prj.get("weight", format="array")
    expected = np.full((6, 3), np.nan)
    for j in range(3):
        expected[j % 2::2, j] = 0.5
    assert_array_equal(weights, expected)
    assert_array_equal(prj.get("delay", format="list", with_address=False), [1.0] * 9)
