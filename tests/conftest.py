"""Shared fixtures: each test gets a fresh simulation on the ideal chip."""

import logging

import pytest

logging.getLogger("brian2").setLevel(logging.ERROR)


@pytest.fixture
def sim():
    import pyNN.sparsehw as sim
    sim.setup(timestep=0.1, min_delay=0.1, chip="ideal")
    yield sim
    sim.end()
