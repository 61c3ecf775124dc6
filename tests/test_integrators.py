"""The integration code Brian2 derives is kept on disk and reused by later processes."""

import os
import subprocess
import sys

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
    for path in files:
        path.write_text("v = v\n")
    assert spike_count(tmp_path) == 0
