"""The integration code Brian2 derives is kept on disk and reused by later processes."""

import hashlib
import os
import re
import subprocess
import sys

import brian2
import pytest

from pyNN_sparsehw.engine.integrators import HEADER, CachedIntegrator

SCRIPT = """
import pyNN.sparsehw as sim
sim.setup(timestep=0.1, chip="ideal")
cell = sim.Population(1, sim.IF_cond_exp(i_offset=1.0))
cell.record("spikes")
sim.run(100.0)
print(len(cell.get_data().segments[0].spiketrains[0]))
"""


def spike_count(cache):
    env = dict(os.environ, PYNN_SPARSEHW_CACHE=str(cache))
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split()[-1])


def test_derived_code_is_stored_and_read_back(tmp_path):
    first = spike_count(tmp_path)
    files = sorted((tmp_path / "integrators").glob("*.txt"))
    assert first > 0 and files
    assert "v" in files[0].read_text()
    # replace the stored code by code that freezes the neuron: a later process that
    # really reads the cache then sees no spike at all
    frozen = "v = v\n"
    for path in files:
        path.write_text(f"{HEADER}{hashlib.sha256(frozen.encode()).hexdigest()}\n{frozen}")
    assert spike_count(tmp_path) == 0


@pytest.mark.parametrize("damage", [b"\x00\xff garbage", b"v = v\n", "truncate"])
def test_corrupt_file_is_ignored_with_a_warning_and_replaced(tmp_path, monkeypatch, damage):
    monkeypatch.setenv("PYNN_SPARSEHW_CACHE", str(tmp_path))
    integrator = CachedIntegrator("exact")
    equations = brian2.Equations("dv/dt = (2 - v) / (10*ms) : 1")
    code = integrator(equations)
    path = tmp_path / "integrators" / f"{integrator.key(equations)}.txt"
    written = path.read_bytes()
    path.write_bytes(written[:len(written) // 2] if damage == "truncate" else damage)
    with pytest.warns(UserWarning, match=re.escape(f"corrupt integration-code cache file {path}")):
        assert integrator(equations) == code
    assert path.read_bytes() == written                   # derived and written again
    assert not list(path.parent.glob("*.tmp"))
