"""Shared fixtures: each test gets a fresh simulation on the ideal chip."""

import logging
import os
import tempfile

import pytest

logging.getLogger("brian2").setLevel(logging.ERROR)

# Never the user's ~/.cache/pyNN_sparsehw: calibrations and integrator caches of a test
# run go to a folder of their own (inherited by every subprocess a test starts), unless
# the caller chose one with PYNN_SPARSEHW_CACHE.
if not os.environ.get("PYNN_SPARSEHW_CACHE"):
    _TEST_CACHE = tempfile.TemporaryDirectory(prefix="pyNN_sparsehw-test-cache-")
    os.environ["PYNN_SPARSEHW_CACHE"] = _TEST_CACHE.name


@pytest.fixture
def sim():
    import pyNN.sparsehw as sim
    sim.setup(timestep=0.1, min_delay=0.1, chip="ideal")
    yield sim
    sim.end()
