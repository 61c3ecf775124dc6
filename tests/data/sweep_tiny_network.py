"""Four IF_curr_exp cells driven by a constant current (nA, first argument), for the
sweep tests: an unchanged PyNN script (it imports pyNN.nest) that records a metric and
sleeps for the swept parameter `sleep` (s), if any."""

import sys
import time

import pyNN.nest as sim

from pyNN_sparsehw.sweep import parameter, record_metric

amplitude = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
sim.setup(timestep=0.1)
cells = sim.Population(4, sim.IF_curr_exp(i_offset=amplitude), label="cells")
cells.record("spikes")
sim.run(100.0)
record_metric("amplitude", amplitude)
record_metric("spikes_per_cell", {"first": len(cells.get_data().segments[0].spiketrains[0])})
time.sleep(parameter("sleep", 0.0, float))
sim.end()
