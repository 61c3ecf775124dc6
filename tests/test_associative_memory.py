"""Spatially arranged sparse associative memory (pyNN_sparsehw.associative_memory), after Tanaka et
al. 2020 (IEEE TNNLS 31(1)): builders, learning rules, the sparsity program, measures,
the paper's orderings, the capacity anchors and recall as spiking networks on the
chips."""

import importlib.util
import json
import os

import numpy as np
import pytest

from pyNN_sparsehw import simulator
from pyNN_sparsehw.associative_memory import (InfeasibleEmbedding, all_stable, capacity, corrupt,
                                  cost_performance, distance_dependent, distances,
                                  full_wiring_length, grid_positions, hebbian,
                                  mean_recall_overlap, modular, modular_long_range,
                                  module_index, overlap, perceptron, random_patterns, recall,
                                  recalls, sparsest_weights, stable, wiring_length)
from pyNN_sparsehw.associative_memory.spiking import (LIFUnits, chip_wiring_cost, connection_lists,
                                       normalise_rows, spiking_network, spiking_recall)
from pyNN_sparsehw.associative_memory.images import (SHAPES, add_noise, from_bit_planes, gray_image,
                                         to_bit_planes)

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "examples", "associative_memory.py")


# ------------------------------------------------------------------ grid
def test_grid_positions_are_pynn_grid2d_in_grid_units(sim):
    positions = grid_positions(5)
    assert positions.shape == (3, 25)
    i = np.arange(25)
    np.testing.assert_array_equal(positions[0], i // 5)
    np.testing.assert_array_equal(positions[1], i % 5)
    cells = sim.Population(25, sim.IF_curr_exp(), structure=sim.space.Grid2D())
    np.testing.assert_array_equal(cells.positions, positions)


def test_distances_are_euclidean():
    d = distances(np.array([[0.0, 3.0, 0.0], [0.0, 4.0, 1.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(d, [[0, 5, 1], [5, 0, np.sqrt(18)], [1, np.sqrt(18), 0]])


def test_module_index_tiles_the_grid_and_rejects_misfits():
    module = module_index(grid_positions(4), 2)
    # neuron at x = 2, y = 1 (index 9) lies in the module of row 1, column 0
    assert module[9] == 2
    np.testing.assert_array_equal(np.bincount(module), [4, 4, 4, 4])
    with pytest.raises(ValueError, match="cannot be tiled by square modules of side 3"):
        module_index(grid_positions(4), 3)


# ------------------------------------------------------------------ topology
def test_modular_is_all_to_all_within_modules_only():
    positions = grid_positions(6)
    mask = modular(positions, 3)
    module = module_index(positions, 3)
    np.testing.assert_array_equal(mask.sum(axis=1), 8)
    assert not mask.diagonal().any()
    np.testing.assert_array_equal(mask, mask.T)
    post, pre = np.nonzero(mask)
    np.testing.assert_array_equal(module[post], module[pre])


def test_modular_long_range_adds_fixed_fan_in_from_outside_the_module():
    positions = grid_positions(8)
    module = module_index(positions, 4)
    inside = module[:, None] == module[None, :]
    mask = modular_long_range(positions, 4, 5, seed=3)
    np.testing.assert_array_equal(mask.sum(axis=1), 15 + 5)
    np.testing.assert_array_equal((mask & ~inside).sum(axis=1), 5)
    assert not mask.diagonal().any()
    np.testing.assert_array_equal(mask, modular_long_range(positions, 4, 5, seed=3))
    assert not np.array_equal(mask, modular_long_range(positions, 4, 5, seed=4))
    # rewiring keeps the connection count of the modular network
    rewired = modular_long_range(positions, 4, 5, seed=3, replace=True)
    np.testing.assert_array_equal(rewired.sum(axis=1), 15)
    np.testing.assert_array_equal((rewired & ~inside).sum(axis=1), 5)
    with pytest.raises(ValueError, match="cannot replace 16 of the 15"):
        modular_long_range(positions, 4, 16, seed=3, replace=True)
    with pytest.raises(ValueError, match="48 neurons outside its module"):
        modular_long_range(positions, 4, 49, seed=3)


def test_distance_dependent_probability_decays_exponentially():
    positions = grid_positions(30)
    length, p0 = 2.0, 0.8
    mask = distance_dependent(positions, length, seed=5, probability_at_zero=p0)
    d = distances(positions)
    assert not mask.diagonal().any()
    off = ~np.eye(d.shape[0], dtype=bool)
    for low, high in ((0.9, 1.1), (1.9, 2.1), (2.9, 3.1), (4.9, 5.1)):
        chosen = off & (d > low) & (d < high)
        expected = p0 * np.exp(-d[chosen] / length)
        sigma = np.sqrt(np.sum(expected * (1 - expected)))
        assert abs(mask[chosen].sum() - expected.sum()) < 4 * sigma


# ------------------------------------------------------------------ learning
def test_hebbian_rule_by_hand():
    patterns = np.array([[1, 1, -1], [1, -1, 1]])
    expected = np.array([[0, 0, 0], [0, 0, -2 / 3], [0, -2 / 3, 0]])
    np.testing.assert_allclose(hebbian(patterns), expected)
    mask = np.array([[0, 1, 1], [1, 0, 0], [1, 1, 0]], dtype=bool)
    np.testing.assert_allclose(hebbian(patterns, mask), expected * mask)


def test_perceptron_reaches_margin_on_existing_connections_only():
    positions = grid_positions(8)
    mask = modular_long_range(positions, 4, 4, seed=1)
    patterns = random_patterns(10, 64, seed=2)
    result = perceptron(patterns, mask, kappa=0.5)
    assert result.converged and result.epochs > 0
    assert np.all(patterns * (patterns @ result.weights.T) > 0.5)
    assert np.all(result.weights[~mask] == 0)
    # 3K random patterns cannot be separated by K = 19 inputs (Cover: at most 2K)
    overloaded = perceptron(random_patterns(60, 64, seed=2), mask, kappa=0.0, max_epochs=50)
    assert not overloaded.converged and overloaded.epochs == 50


def test_hebbian_capacity_of_a_dense_network_is_near_0_14_n():
    """Amit, Gutfreund & Sompolinsky 1985: alpha_c = 0.138, where the retrieval overlap
    is ~0.97. Criterion: mean overlap >= 0.97 after recall started at the patterns."""
    n = 256
    found = [capacity(hebbian, random_patterns(64, n, seed), recalls(0.0, 0.97, seed),
                      range(16, 64, 2)).capacity / n for seed in range(3)]
    assert 0.11 <= np.mean(found) <= 0.17, found


def test_perceptron_capacity_of_a_dense_network_is_well_above_hebbian():
    """At kappa = 0 the perceptron stores up to 2N random patterns (Gardner 1988); here
    all of P = N patterns are fixed points, 7 times Hebb's 0.14 N."""
    n = 200
    patterns = random_patterns(n, n, seed=7)
    scan = capacity(lambda p: perceptron(p, kappa=0.0).weights, patterns, all_stable(),
                    [50, 100, 200])
    assert scan.capacity == n
    assert not all_stable()(hebbian(patterns), patterns)[0]


# ------------------------------------------------------------------ sparsity program
def test_sparsest_weights_one_pattern_uses_one_nearest_connection():
    """With one pattern the optimum puts weight kappa on the single cheapest input."""
    positions = grid_positions(5)
    d = distances(positions)
    pattern = random_patterns(1, 25, seed=1)
    embedding = sparsest_weights(pattern, d, gamma=1.0, kappa=2.0)
    rows, columns = np.nonzero(embedding.weights)
    np.testing.assert_array_equal(rows, np.arange(25))
    np.testing.assert_allclose(d[rows, columns], 1.0)
    np.testing.assert_allclose(embedding.weights[rows, columns],
                               2.0 * pattern[0, rows] * pattern[0, columns])
    np.testing.assert_allclose(embedding.cost, 2.0)


def test_sparsest_weights_meets_constraints_optimally():
    d = distances(grid_positions(8))
    patterns = random_patterns(10, 64, seed=3)
    local = sparsest_weights(patterns, d, gamma=1.0)
    plain = sparsest_weights(patterns, d, gamma=0.0, neurons_per_program=5)
    for embedding, gamma in ((local, 1.0), (plain, 0.0)):
        w = embedding.weights
        assert np.all(patterns * (patterns @ w.T) >= 1.0 - 1e-7)
        assert np.all(w.diagonal() == 0)
        assert np.all(np.count_nonzero(w, axis=1) <= 10)     # basic solution
        np.testing.assert_allclose(embedding.cost,
                                   np.sum(np.where(w != 0, d, 1) ** gamma * np.abs(w), axis=1))
    # each solution is optimal for its own cost: compare per neuron across the two
    weighted = lambda w: np.sum(np.where(w != 0, d, 1) * np.abs(w), axis=1)  # noqa: E731
    assert np.all(weighted(local.weights) <= weighted(plain.weights) + 1e-7)
    assert np.all(np.abs(plain.weights).sum(1) <= np.abs(local.weights).sum(1) + 1e-7)
    assert wiring_length(local.weights, d) < wiring_length(plain.weights, d)
    # homogeneous in kappa
    np.testing.assert_allclose(sparsest_weights(patterns, d, gamma=1.0, kappa=3.0).weights,
                               3.0 * local.weights, atol=1e-9)


def test_sparsest_weights_respects_mask_and_reports_infeasibility():
    positions = grid_positions(8)
    d = distances(positions)
    mask = modular(positions, 4)
    patterns = random_patterns(8, 64, seed=4)
    embedding = sparsest_weights(patterns, d, mask=mask)
    assert np.all(embedding.weights[~mask] == 0)
    assert np.all(stable(embedding.weights, patterns))
    with pytest.raises(InfeasibleEmbedding, match=r"fan-in 3-3\) make all 40 patterns"):
        sparsest_weights(random_patterns(40, 64, seed=4), d, mask=modular(positions, 2))


def test_robust_embedding_maps_noisy_inputs_to_their_patterns():
    d = distances(grid_positions(8))
    patterns = random_patterns(4, 64, seed=5)
    targets = np.tile(patterns, (6, 1))
    inputs = np.vstack([patterns] + [corrupt(patterns, 0.1, 10 + k) for k in range(5)])
    w = sparsest_weights(targets, d, gamma=0.5, inputs=inputs).weights
    np.testing.assert_array_equal(np.sign(inputs @ w.T), targets)


# ------------------------------------------------------------------ recall
def test_corrupt_flips_the_requested_fraction_and_overlap_measures_it():
    patterns = random_patterns(50, 400, seed=1)
    cues = corrupt(patterns, 0.2, seed=2)
    flipped = np.mean(cues != patterns)
    assert abs(flipped - 0.2) < 4 * np.sqrt(0.2 * 0.8 / cues.size)
    np.testing.assert_allclose(overlap(cues, patterns), 1 - 2 * np.mean(cues != patterns, 1))
    np.testing.assert_array_equal(random_patterns(10, 400, seed=1), patterns[:10])


def test_synchronous_and_asynchronous_updates():
    """Two mutually exciting units started opposite: the synchronous update swaps them
    forever; the asynchronous one settles in an aligned fixed point."""
    w = np.array([[0.0, 1.0], [1.0, 0.0]])
    start = np.array([[1.0, -1.0]])
    np.testing.assert_array_equal(recall(w, start, max_sweeps=1), [[-1.0, 1.0]])
    np.testing.assert_array_equal(recall(w, start, max_sweeps=2), start)
    settled = recall(w, start, update="asynchronous")
    assert settled[0, 0] == settled[0, 1]
    with pytest.raises(ValueError, match="update must be"):
        recall(w, start, update="parallel")
    patterns = random_patterns(5, 100, seed=3)
    cues = corrupt(patterns, 0.1, seed=4)
    for update in ("synchronous", "asynchronous"):
        np.testing.assert_array_equal(recall(hebbian(patterns), cues, update=update), patterns)


def test_stable_checks_the_margin():
    patterns = random_patterns(3, 50, seed=1)
    w = hebbian(patterns)
    stability = patterns * (patterns @ w.T)
    np.testing.assert_array_equal(stable(w, patterns), np.all(stability > 0, axis=1))
    worst = np.unravel_index(np.argmin(stability), stability.shape)[0]
    assert stable(w, patterns).all()
    assert not stable(w, patterns, kappa=stability.min())[worst]


# ------------------------------------------------------------------ measures
def test_wiring_length_of_small_modules():
    positions = grid_positions(4)
    d = distances(positions)
    # four 2x2 modules, each with 8 directed links of length 1 and 4 of length sqrt(2)
    assert wiring_length(modular(positions, 2), d) == pytest.approx(4 * (8 + 4 * np.sqrt(2)))
    assert full_wiring_length(d) == pytest.approx(np.sum(d))
    weights = np.where(modular(positions, 2), 0.3, 0.0)
    assert wiring_length(weights, d) == wiring_length(modular(positions, 2), d)


def test_cost_performance_ratio():
    assert cost_performance(14, 100, 1000.0, 1000.0) == pytest.approx(0.14)
    assert cost_performance(7, 100, 100.0, 1000.0) == pytest.approx(0.7)
    with pytest.raises(ValueError, match="interconnection cost must be positive"):
        cost_performance(1, 10, 0.0, 10.0)


def test_capacity_scan_stops_at_first_failure():
    patterns = random_patterns(10, 4, seed=0)
    verdicts = {2: True, 4: True, 6: False, 8: True}
    scan = capacity(lambda p: len(p), patterns, lambda w, p: (verdicts[w], float(w)),
                    [2, 4, 6, 8])
    assert scan.capacity == 4
    assert scan.counts == (2, 4, 6) and scan.passed == (True, True, False)
    with pytest.raises(ValueError, match="counts must increase"):
        capacity(len, patterns, all_stable(), [4, 2])


def test_mean_recall_overlap_is_one_for_a_robust_memory():
    patterns = random_patterns(3, 200, seed=1)
    assert mean_recall_overlap(hebbian(patterns), patterns, 0.1, seed=2, trials=3) == 1.0
    assert mean_recall_overlap(np.zeros((200, 200)), patterns, 0.1, seed=2) == \
        pytest.approx(np.mean(overlap(corrupt(patterns, 0.1, 2), patterns)))


# ------------------------------------------------------------------ the paper's orderings
N_SIDE = 16
CRITERION = dict(flip_fraction=0.1, threshold=0.95, trials=2)


@pytest.fixture(scope="module")
def grid_networks():
    """Capacities of a modular (4x4) and a rewired network with the same 15 inputs per
    neuron (perceptron rule, kappa = 0.5), and the optimised network for 16 patterns,
    on a 16 x 16 grid; two pattern sets."""
    positions = grid_positions(N_SIDE)
    d = distances(positions)
    n = positions.shape[1]
    masks = dict(modular=modular(positions, 4),
                 long_range=modular_long_range(positions, 4, 8, seed=1, replace=True))
    results = []
    for seed in (0, 1):
        patterns = random_patterns(24, n, seed)
        criterion = recalls(seed=seed, **CRITERION)
        found = {name: capacity(lambda p: perceptron(p, mask, kappa=0.5).weights, patterns,
                                criterion, range(2, 24)).capacity
                 for name, mask in masks.items()}
        optimised = sparsest_weights(patterns[:16], d, gamma=0.5)
        found["optimised_stores_16"] = criterion(optimised.weights, patterns[:16])[0]
        results.append(found)
    return dict(results=results, masks=masks, distance=d, n=n, optimised=optimised)


def test_long_range_beats_modular_at_equal_connection_count(grid_networks):
    masks = grid_networks["masks"]
    assert masks["modular"].sum() == masks["long_range"].sum()
    for found in grid_networks["results"]:
        assert found["long_range"] > found["modular"], found


def test_optimised_beats_modular_and_long_range(grid_networks):
    """The network optimised for 16 patterns recalls them with fewer connections than
    either trained network has, and wins on both cost-performance ratios."""
    n, d = grid_networks["n"], grid_networks["distance"]
    optimised = grid_networks["optimised"].connections
    assert optimised.sum() < grid_networks["masks"]["modular"].sum()
    for found in grid_networks["results"]:
        assert found["optimised_stores_16"]
        assert 16 > max(found["modular"], found["long_range"])
        ratios = {}
        for name, mask, stored in (("modular", grid_networks["masks"]["modular"],
                                    found["modular"]),
                                   ("long_range", grid_networks["masks"]["long_range"],
                                    found["long_range"]),
                                   ("optimised", optimised, 16)):
            ratios[name] = (cost_performance(stored, n, wiring_length(mask, d),
                                             full_wiring_length(d)),
                            cost_performance(stored, n, mask.sum(), n * (n - 1)))
        for k in range(2):
            assert ratios["optimised"][k] > max(ratios["modular"][k], ratios["long_range"][k])


def test_tradeoff_is_monotone_in_gamma():
    """Raising gamma shortens the wiring and lowers recall: a monotone trade-off."""
    d = distances(grid_positions(N_SIDE))
    patterns = random_patterns(16, N_SIDE ** 2, seed=11)
    cost, performance = [], []
    for gamma in (0.0, 0.5, 1.0, 2.0):
        w = sparsest_weights(patterns, d, gamma).weights
        cost.append(wiring_length(w, d))
        performance.append(mean_recall_overlap(w, patterns, 0.1, seed=3, trials=4))
    assert np.all(np.diff(cost) < 0), cost
    assert np.all(np.diff(performance) <= 0), performance
    assert performance[0] - performance[-1] > 0.5 and cost[0] > 4 * cost[-1]


# ------------------------------------------------------------------ on the chip
def test_connection_lists_split_by_sign_as_pre_post_weight_delay():
    w = np.array([[0.0, 0.5, -0.25], [-1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    excitatory, inhibitory = connection_lists(w, delay=1.5, scale=2.0)
    assert sorted(excitatory) == [(1, 0, 1.0, 1.5), (1, 2, 4.0, 1.5)]
    assert sorted(inhibitory) == [(0, 1, -2.0, 1.5), (2, 0, -0.5, 1.5)]


def test_lif_rate_formula_matches_the_simulated_neuron(sim):
    units = LIFUnits()
    currents = np.array([0.5 * units.rheobase, units.rheobase + 0.05, 0.6, 1.5])
    cells = sim.Population(4, sim.IF_curr_exp(i_offset=currents, **units.cell_parameters()))
    cells.initialize(v=units.v_rest)
    cells.record("spikes")
    sim.run(1000.0)
    counts = np.array([len(t) for t in cells.get_data().segments[0].spiketrains])
    expected = units.rate(currents)
    assert expected[0] == 0 and counts[0] == 0
    # spikes on the 0.1 ms grid: each period rounds up by less than one step
    period = 1000.0 / expected[1:]
    assert np.all(counts[1:] <= expected[1:] + 1)
    assert np.all(counts[1:] >= 1000.0 / (period + 0.1) - 1)


def test_spiking_network_turns_the_field_into_current():
    """bias + mean synaptic current of the active units = rheobase + gain * h."""
    units = LIFUnits()
    patterns = random_patterns(4, 30, seed=1)
    w = hebbian(patterns)
    network = spiking_network(w, patterns, units)
    states = corrupt(patterns, 0.2, seed=2)
    active = (states + 1) / 2
    current = network.bias + active @ network.synaptic_weights.T * units.tau_syn * 1e-3 * \
        network.rate_on
    field = states @ normalise_rows(w).T
    np.testing.assert_allclose(current, units.rheobase + units.gain * field)


@pytest.fixture(scope="module")
def chip_recall_case():
    """An optimised network of 100 neurons storing 16 patterns, cues with 10 % flips."""
    d = distances(grid_positions(10))
    patterns = random_patterns(16, 100, seed=2020)
    weights = sparsest_weights(patterns, d, gamma=0.0).weights
    cues = corrupt(patterns, 0.1, seed=3)
    reference = recall(weights, cues)
    digital = spiking_recall(weights, patterns, cues, chip="digital")
    return dict(patterns=patterns, weights=weights, cues=cues, reference=reference,
                digital=digital)


def test_recall_on_digital_is_within_five_percent_of_the_rate_free_model(chip_recall_case):
    case = chip_recall_case
    patterns = case["patterns"]
    rate_free = np.mean(overlap(case["reference"], patterns))
    digital = np.mean(overlap(case["digital"].states, patterns))
    assert np.mean(overlap(case["cues"], patterns)) < rate_free - 0.1    # recall did work
    assert abs(digital - rate_free) <= 0.05, (digital, rate_free)
    assert np.mean(case["digital"].states == case["reference"]) >= 0.95
    report = case["digital"].report
    assert report["chip"]["name"] == "digital"
    assert {p["label"] for p in report["projections"]} == {"excitatory", "inhibitory"}
    assert report["totals"]["synapses"] == np.count_nonzero(case["weights"])


def test_uncalibrated_analog_mismatch_degrades_recall(chip_recall_case):
    case = chip_recall_case
    analog = spiking_recall(case["weights"], case["patterns"], case["cues"], chip="analog",
                            setup_kwargs=dict(trial_noise=False, calibration=None))
    assert simulator.state.trial_noise is False            # setup_kwargs passed through
    digital = np.mean(overlap(case["digital"].states, case["patterns"]))
    assert np.mean(overlap(analog.states, case["patterns"])) < digital - 0.05


def test_chip_hop_cost_counts_synapses_between_chips():
    """32 x 32 neurons fill two analog chips (512 each): x < 16 on chip 0, x >= 16 on
    chip 1, one hop apart. Modules of 4 x 4 never straddle them; a rewired network pays
    one hop per synapse that crosses. On digital all 1024 fit one core: no hops."""
    positions = grid_positions(32)
    half = positions[0] >= 16
    mask = modular_long_range(positions, 4, 8, seed=2, replace=True)
    crossing = int(np.sum(mask & (half[:, None] != half[None, :])))
    weights = np.where(mask, 1.0, 0.0)
    weights[::2] *= -1.0                          # both projections carry synapses
    uncalibrated = dict(calibration=None)     # every circuit usable: placement as above
    cost = chip_wiring_cost(weights, chip="analog", setup_kwargs=uncalibrated)
    assert cost["total"] == crossing and cost["cores_used"] == 2
    assert sum(cost["projections"].values()) == crossing
    assert chip_wiring_cost(modular(positions, 4).astype(float), chip="analog",
                            setup_kwargs=uncalibrated)["total"] == 0
    assert chip_wiring_cost(weights, chip="digital")["total"] == 0


# ------------------------------------------------------------------ images
def test_bit_planes_round_trip_and_noise():
    for shape in SHAPES:
        image = gray_image(shape, side=16, bits=3)
        assert image.shape == (16, 16) and image.min() >= 0 and image.max() <= 7
        assert len(np.unique(image)) >= 3
        planes = to_bit_planes(image, 3)
        assert planes.shape == (3, 256) and set(np.unique(planes)) <= {-1.0, 1.0}
        np.testing.assert_array_equal(from_bit_planes(planes, 16), image)
    image = gray_image("disk")
    np.testing.assert_array_equal(to_bit_planes(image, 3)[2], np.where(image >= 4, 1, -1).ravel())
    noisy = add_noise(np.zeros((100, 100), dtype=int), 0.3, 3, seed=1)
    assert abs(np.mean(noisy != 0) - 0.3 * 7 / 8) < 0.02
    with pytest.raises(ValueError, match="gray levels must lie in 0 .. 7"):
        to_bit_planes(np.array([[8]]), 3)


# ------------------------------------------------------------------ example
def test_example_runs_quick_and_writes_figures(tmp_path):
    spec = importlib.util.spec_from_file_location("associative_memory", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert example.main(["--quick", "--out", str(tmp_path)]) == 0
    for name in ("capacity.png", "tradeoff.png", "image.png", "chip.png"):
        assert (tmp_path / name).stat().st_size > 10000
    with open(tmp_path / "results.json") as fh:
        results = json.load(fh)
    assert {"capacity", "tradeoff", "image", "chip_recall", "chip_hops"} <= set(results)
    assert results["image"]["pixel_error"]["rate_free"] < results["image"]["pixel_error"]["noisy"]
