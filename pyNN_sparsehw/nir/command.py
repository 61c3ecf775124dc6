"""``sparsehw run-nir``: simulate a NIR graph on a chip with given input spikes.

Input spikes (``--input``) are an ``.npz`` file (``numpy.savez``) with one array per
Input node of the graph, named like the node, of shape ``(T, *shape)``: 0 or 1 for
each NIR step and input neuron (a graph with one Input node may name its array
anything, e.g. ``spikes``). An optional scalar ``dt`` gives the seconds of one NIR
step (``--dt`` overrides it).

Written to ``--out`` (default ``results/<graph>/``): ``output_spikes.npz`` (one array
per Output node, ``(T, *shape)``: spikes 0/1, or the membrane potential in mV of
leaky integrators; with ``dt`` in s and ``timestep`` in ms), and the hardware report
as ``sparsehw run`` writes it (text, JSON, plots) plus ``report.html``.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

import pyNN_sparsehw as sim

from .neurons import NIRMappingError
from .reader import read

OUTPUT_FILE = "output_spikes.npz"


def load_inputs(path):
    """(arrays by name, ``dt`` or None) from an input npz file (see the module
    docstring)."""
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files if key != "dt"}
        dt = float(data["dt"]) if "dt" in data.files else None
    return arrays, dt


def match_inputs(path, arrays, inputs):
    """The arrays of `path` per Input node name."""
    if len(inputs) == 1 and len(arrays) == 1:
        return {inputs[0]: next(iter(arrays.values()))}
    missing = sorted(set(inputs) - set(arrays))
    if missing:
        raise KeyError(f"{path} has no array for Input node(s) {', '.join(missing)}; it "
                       f"has {', '.join(sorted(arrays)) or 'none'}")
    return {name: arrays[name] for name in inputs}


def _calibration(value):
    if value is None:
        return "environment"
    return None if value.lower() == "none" else value


def parser():
    p = argparse.ArgumentParser(
        prog="sparsehw run-nir",
        description="Simulate a NIR graph on a chip with given input spikes; write the "
                    "output spikes and the hardware report.")
    p.add_argument("graph", help="NIR file (HDF5, nir.write)")
    p.add_argument("--input", required=True, metavar="SPIKES.npz",
                   help="input spikes: one (T, *shape) 0/1 array per Input node")
    p.add_argument("--chip", help="chip model name or TOML file (default: analog)")
    p.add_argument("--chip-seed", type=int, metavar="N", help="chip instance")
    p.add_argument("--calibration", metavar="auto|none|PATH",
                   help="calibration of an analog chip (default auto)")
    p.add_argument("--out", metavar="DIR", help="results folder (default results/<graph>)")
    p.add_argument("--timestep", type=float, default=1.0, metavar="MS",
                   help="chip time step in ms, one per NIR step (default 1)")
    p.add_argument("--dt", type=float, metavar="S",
                   help="seconds per NIR step of the graph (default: the npz's dt, the "
                        "graph's metadata, else 1e-4 as snnTorch exports)")
    p.add_argument("--discretisation", choices=("euler", "exact"),
                   help="time constants to decays per step (default: euler)")
    p.add_argument("--voltage-scale", type=float, default=1.0, metavar="MV",
                   help="mV on the chip per NIR voltage unit (default 1)")
    p.add_argument("--v-offset", type=float, default=0.0, metavar="MV",
                   help="chip voltage (mV) of NIR voltage 0 (default 0)")
    return p


def main(argv):
    """Entry point of ``sparsehw run-nir``; returns the exit status."""
    from ..cli.commands import write_run_results
    from ..report.html import write_html
    options = parser().parse_args(argv)
    graph = Path(options.graph)
    out = Path(options.out) if options.out else Path("results") / graph.stem
    sim.setup(timestep=options.timestep, chip=options.chip, chip_seed=options.chip_seed,
              calibration=_calibration(options.calibration))
    try:
        arrays, dt = load_inputs(options.input)
        network = read(graph, dt=options.dt or dt, discretisation=options.discretisation,
                       voltage_scale=options.voltage_scale, v_offset=options.v_offset)
        outputs = network.run(match_inputs(options.input, arrays, network.inputs))
    except (NIRMappingError, FileNotFoundError, KeyError, ValueError) as error:
        print(f"sparsehw run-nir: {error}", file=sys.stderr)
        return 2
    files = write_run_results(sim, out)
    np.savez(out / OUTPUT_FILE, dt=network.dt, timestep=network.timestep, **outputs)
    files["html"] = write_html(out)
    spiking = {name: int(a.sum()) for name, a in outputs.items()
               if network.records[network.outputs[name]] == "spikes"}
    print(f"{graph.name} on chip {sim.simulator.state.chip.name}: output spikes "
          + (", ".join(f"{name} {count}" for name, count in spiking.items()) or "none"))
    print(f"written to {out}/: {OUTPUT_FILE}, "
          + ", ".join(Path(f).name for f in files.values()))
    return 0
