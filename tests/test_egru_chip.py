"""The EGRU cell type on the chips: the twin's events on `ideal`, the twin with the
chip's realised fixed point on `digital`, graded payloads, refusal on `analog`."""

import math

import numpy as np
import pytest
import torch

import pyNN.sparsehw as sim
from pyNN_sparsehw.mapping.vocabulary import MappingError
from pyNN_sparsehw.training.egru import EGRU, deploy, egru_initial_state, egru_step


def small_layer(seed=0, inputs=5, hidden=8, steps=12, batch=3):
    generator = torch.Generator().manual_seed(seed)
    model = EGRU(inputs, hidden, generator=generator).double()
    with torch.no_grad():  # strong enough drive for events in a few steps
        for weights in (model.w_update, model.w_candidate, model.r_candidate):
            weights.mul_(3)
    x = (torch.rand(steps, batch, inputs, generator=generator) < 0.4).double()
    x[0] = 0
    return model, x


def twin_run(parameters, x, state_lsb=None, payload_lsb=None):
    state = egru_initial_state(x.shape[1], parameters.threshold.numel(), torch.float64)
    events, graded = [], []
    for x_t in x:
        step, state = egru_step(x_t, state, parameters, state_lsb, payload_lsb)
        events.append(step.events)
        graded.append(step.y)
    return torch.stack(events), torch.stack(graded)


def test_ideal_chip_gives_the_twins_events_and_payloads():
    model, x = small_layer()
    sim.setup(timestep=1.0, chip="ideal")
    network = deploy.build(sim, model.parameters_now(), x.shape[1])
    chip = deploy.run(sim, network, x.numpy())
    sim.end()
    with torch.no_grad():
        twin = model(x)
    assert twin.events.sum() > 20
    assert torch.equal(chip.events, twin.events)
    assert torch.allclose(chip.y, twin.y, atol=1e-12)


def test_digital_chip_gives_the_events_of_the_twin_at_its_fixed_point():
    model, x = small_layer(seed=1)
    sim.setup(timestep=1.0, chip="digital")
    network = deploy.build(sim, model.parameters_now(), x.shape[1])
    chip = deploy.run(sim, network, x.numpy())
    realised = deploy.realised_parameters(network)
    state_lsb, payload_lsb = deploy.fixed_point(network)
    report = sim.hardware_report(inferences=x.shape[1])
    sim.end()
    # the report counts the graded events and their 16-bit payloads
    units = next(p for p in report.populations if p["cell_type"] == "EGRU")
    assert units["spikes"] == int(chip.events.sum())
    assert units["payload_bits_per_event"] == 16
    assert units["payload_bits"] == 16 * int(chip.events.sum())
    assert "payload bits/event" in str(report)
    # memory reads: one row per event of the sources (inputs, units), none otherwise
    assert report.energy["by_category"]["memory_reads"] > 0
    # models/digital.toml: c 24 bits, y 16 bits over [-8, 8]
    assert state_lsb == pytest.approx(16 / (2 ** 24 - 1))
    assert payload_lsb == pytest.approx(16 / (2 ** 16 - 1))
    nominal = model.parameters_now()
    step = 16 / (2 ** 16 - 1)
    assert float((realised.threshold - nominal.threshold.detach()).abs().max()) <= step / 2 + 1e-12
    # 8-bit mantissas: within half a step of the largest weight's code
    for name in ("w_update", "r_candidate"):
        largest = float(getattr(nominal, name).detach().abs().max())
        error = float((getattr(realised, name) - getattr(nominal, name).detach()).abs().max())
        assert 0 < error <= largest / 255 / 2 + 1e-12
    events, graded = twin_run(realised, x, state_lsb, payload_lsb)
    assert events.sum() > 20
    assert torch.equal(chip.events, events)
    assert torch.equal(chip.y, graded)   # payloads on the 16-bit grid, exactly


def test_graded_event_delivers_weight_times_payload():
    # a unit under constant drive (test_egru_cell's closed form) fires at steps 2 and
    # 5 (from 0) with payloads 0.7 and 0.70625; a target unit with zero gate biases
    # receives w * payload on its candidate input one step later:
    # c = 1/2 tanh(w * payload)
    sim.setup(timestep=1.0, chip="ideal")
    source = sim.Population(1, sim.EGRU(b_candidate=math.atanh(0.8), theta=0.65))
    target = sim.Population(1, sim.EGRU(theta=5.0))
    sim.Projection(source, target, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=2.0, delay=1.0), receptor_type="candidate_input")
    target.record("y")
    sim.run(8)
    y = np.asarray(target.get_data().segments[-1].analogsignals[0]).ravel()
    sim.end()
    c_after_first = 0.5 * math.tanh(2.0 * 0.7)
    assert y[4] == pytest.approx(c_after_first, abs=1e-12)
    assert y[5] == pytest.approx(0.5 * c_after_first, abs=1e-12)


def test_analog_chip_refuses_egru_naming_it():
    sim.setup(timestep=1.0, chip="analog", calibration=None)
    sim.Population(4, sim.EGRU(), label="gru")
    with pytest.raises(MappingError, match="gru.*cannot realise cell type EGRU.*digital"):
        sim.run(1.0)
    sim.end()


def test_graded_events_need_a_delay_of_one_step():
    sim.setup(timestep=1.0, chip="ideal")
    units = sim.Population(2, sim.EGRU(), label="gru")
    sim.Projection(units, units, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.5, delay=3.0), receptor_type="update",
                   label="late")
    with pytest.raises(MappingError, match="'late'.*delays of \\[3\\] steps"):
        sim.run(1.0)
    sim.end()


def test_copies_of_a_layer_share_cores_within_their_synaptic_memory():
    model, x = small_layer(seed=2, batch=5)
    parameters = model.parameters_now()
    plan = deploy.plan_copies(sim, parameters, "digital")
    # one copy alone: its synaptic memory in the chip's encodings
    sim.setup(timestep=1.0, chip="digital")
    alone = deploy.run(sim, deploy.build(sim, parameters, 1), x[:, :1].numpy())
    report = sim.hardware_report()
    sim.end()
    one_copy = report.cores["per_core"][0]["memory_bits"]
    usable = 0.9 * report.cores["limits"]["synaptic_memory_bits"]  # placement_fill
    assert plan.per_core * one_copy <= usable < (plan.per_core + 1) * one_copy
    assert set(plan.encodings.values()) == {
        p["memory"]["encoding"] for p in report.projections}
    # five copies, two per core: three cores, each copy's memory that of one copy;
    # the events of the block-diagonal network of five (one population) and the twin's
    # on the chip's fixed point
    sim.setup(timestep=1.0, chip="digital")
    copies = deploy.build_copies(sim, parameters, 5, deploy.CopyPlan(2, plan.encodings))
    chip = deploy.run(sim, copies, x.numpy())
    realised = deploy.realised_parameters(copies[0])
    state_lsb, payload_lsb = deploy.fixed_point(copies[0])
    report = sim.hardware_report(inferences=5)
    sim.end()
    assert [c["neurons"] for c in report.cores["per_core"]] == [16, 16, 8]
    assert [c["memory_bits"] for c in report.cores["per_core"]] == \
        [2 * one_copy, 2 * one_copy, one_copy]
    assert torch.equal(chip.events[:, :1], alone.events)
    events, graded = twin_run(realised, x, state_lsb, payload_lsb)
    assert events.sum() > 20
    assert torch.equal(chip.events, events)
    assert torch.equal(chip.y, graded)
    with pytest.raises(ValueError, match="hold 5 copies, x has a batch of 3"):
        sim.setup(timestep=1.0, chip="digital")
        deploy.run(sim, deploy.build_copies(sim, parameters, 5), x[:, :3].numpy())
    sim.end()
