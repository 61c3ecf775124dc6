"""EGRU tasks and the dense-GRU cost proxy."""

import numpy as np
import torch
from torch import nn

from pyNN_sparsehw.training.egru import egru_initial_state, egru_step
from pyNN_sparsehw.training.egru.experiment import gru_as_egru_parameters
from pyNN_sparsehw.training.tasks import evidence_accumulation, sequential_digits


def test_sequential_digits_thermometer_code():
    task = sequential_digits()
    assert task.x_train.shape[0] == 9 and task.x_train.shape[2] == 16
    assert not task.x_train[0].any()
    # the higher level is never on without the lower one
    x = task.x_test.reshape(9, -1, 8, 2)
    assert np.all(x[..., 1] <= x[..., 0])
    assert task.x_train.shape[1] + task.x_test.shape[1] == 1797


def test_evidence_accumulation_label_is_the_side_with_more_cues():
    task = evidence_accumulation(n_train=50, n_test=10, steps=24, cues=7, seed=3)
    x = np.concatenate([task.x_train, task.x_test], axis=1)
    labels = np.concatenate([task.y_train, task.y_test])
    left, right = x[..., 0].sum(0), x[..., 4].sum(0)
    assert np.all(left + right == 7)
    assert np.array_equal(labels, (right > left).astype(int))
    assert not x[0].any()


def test_gru_proxy_sends_every_unit_every_step():
    gru = nn.GRU(3, 5)
    parameters = gru_as_egru_parameters(gru)
    state = egru_initial_state(2, 5, torch.float64)
    for _ in range(4):
        step, state = egru_step(torch.rand(2, 3, dtype=torch.float64), state, parameters)
        assert bool(step.events.all())
    # u = 1 - z of torch: the update weights are the negated z rows
    assert torch.equal(parameters.w_update, -gru.weight_ih_l0.detach().double()[5:10])


def test_chip_measurements_of_an_egru_and_a_dense_gru():
    import pyNN.sparsehw as sim
    from pyNN_sparsehw.training.egru import experiment as ex
    from dataclasses import replace

    full = sequential_digits()
    task = replace(full, x_test=full.x_test[:, :2], y_test=full.y_test[:2])
    egru = ex.EGRUClassifier(16, 8, 10, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        egru.egru.w_candidate.mul_(4)
    measured, run = ex.measure_egru(sim, "egru", egru, task)
    assert measured.chip_accuracy == measured.accuracy
    assert 0 < measured.events_per_step < 8
    assert measured.synaptic_ops > 0 and measured.energy_j > 0
    torch.manual_seed(0)
    dense, _ = ex.measure_dense_gru(sim, "gru", ex.GRUClassifier(16, 8, 10), task)
    # every unit every step: 8 events in each of 9 steps, each reaching 3 x 8
    # synapses (one per gate matrix and target), and so does every input spike
    assert dense.events_per_step == 8
    input_events = task.x_test[:, :2].sum() / 2
    assert dense.synaptic_ops == (9 * 8 + input_events) * 3 * 8
