"""Ctrl-C (SIGINT) during run(): Brian2 takes it as "stop this run after the current
time step"; the user's script gets a KeyboardInterrupt, with the simulation standing
at the time it reached (issue 12)."""

import re
import signal

from child_process import Child

SCRIPT = """
import pyNN.sparsehw as sim
sim.setup(timestep=0.1, chip="ideal")
sources = sim.Population(100, sim.SpikeSourcePoisson(rate=50.0))
cells = sim.Population(100, sim.IF_curr_exp())
sim.Projection(sources, cells, sim.FixedProbabilityConnector(0.2), sim.StaticSynapse(weight=0.5))
cells.record("spikes")

def announce(t):
    if t >= 50.0:
        print("running at", t, flush=True)
        return 1e12
    return t + 1.0

try:
    sim.run(30000.0, callbacks=[announce])
    print("returned at", sim.get_current_time(), flush=True)
except KeyboardInterrupt:
    t = sim.get_current_time()
    last = max((float(train.max()) for train in cells.get_data().segments[0].spiketrains
                if len(train)), default=0.0)
    sim.run(10.0)                       # the network carries on from where it stopped
    print("interrupted at", t, "last spike", last, "then", sim.get_current_time(), flush=True)
    raise
"""


def test_ctrl_c_during_run_raises_keyboard_interrupt_where_the_run_stopped():
    child = Child(SCRIPT)
    try:
        child.wait_for(r"^running at")      # inside Brian2's run loop
        child.interrupt()
        status = child.finish()
    finally:
        child.kill()
    assert "returned at" not in child.stdout, child.text
    assert status == -signal.SIGINT, child.text     # KeyboardInterrupt reached the top
    assert "KeyboardInterrupt: simulation interrupted at t = " in child.stderr
    assert "Simulation stop requested" not in child.stderr    # Brian2's "press again"
    found = re.search(r"interrupted at ([\d.]+) last spike ([\d.]+) then ([\d.]+)", child.stdout)
    stopped, last_spike, after = map(float, found.groups())
    assert 50.0 <= stopped < 30000.0
    assert last_spike <= stopped             # nothing recorded beyond the time reported
    assert abs(after - (stopped + 10.0)) < 1e-6
