"""HardwareReport: what the simulated network used on the chip.

This first version reports the network as mapped (neurons per population, synapses
per projection) and the activity the engine counted (spikes per population and
synaptic events per projection, from the simulation, not estimates). Resource,
memory and energy figures come with the chip models that define them.
"""

import json

import numpy as np


class HardwareReport:
    """A plain record of the mapped network and its activity.

    Attributes
    ----------
    chip : str
        Name of the chip model.
    simulated_time_ms : float
    populations : list of dict
        label, cell_type, size, spikes, mean_rate_hz.
    projections : list of dict
        label, pre, post, synapses, synaptic_events.
    """

    def __init__(self, chip, chip_source, simulated_time_ms, populations, projections):
        self.chip = chip
        self.chip_source = chip_source
        self.simulated_time_ms = simulated_time_ms
        self.populations = populations
        self.projections = projections

    @classmethod
    def from_state(cls, state):
        """Build the report from the simulator state (after a run, counts are filled)."""
        engine = state.engine
        t = state.t
        description = state.description
        populations = []
        for pop in description.populations:
            spikes = None
            if engine is not None and pop.index in engine.spike_counters:
                spikes = int(engine.total_spikes(pop.index))
            rate = spikes / pop.size / (t / 1000.0) if spikes is not None and t > 0 else None
            populations.append(dict(label=pop.label, cell_type=pop.cell_type, size=pop.size,
                                    spikes=spikes, mean_rate_hz=rate))
        events = engine.synaptic_event_counts() if engine is not None else {}
        labels = [p.label for p in description.populations]
        projections = [dict(label=prj.label, pre=labels[prj.pre], post=labels[prj.post],
                            synapses=int(prj.size),
                            synaptic_events=events.get(prj.index))
                       for prj in description.projections]
        return cls(state.chip.name, state.chip.source, t, populations, projections)

    def as_dict(self):
        return dict(chip=self.chip, chip_source=self.chip_source,
                    simulated_time_ms=self.simulated_time_ms,
                    totals=dict(neurons=sum(p["size"] for p in self.populations),
                                synapses=sum(p["synapses"] for p in self.projections)),
                    populations=self.populations, projections=self.projections)

    def to_json(self, path=None):
        text = json.dumps(self.as_dict(), indent=2, default=_json_default)
        if path is not None:
            with open(path, "w") as fh:
                fh.write(text)
        return text

    def __str__(self):
        lines = [f"Hardware report: chip '{self.chip}' ({self.chip_source}), "
                 f"{self.simulated_time_ms:g} ms simulated"]
        lines.append(_table(
            ["population", "cell type", "neurons", "spikes", "rate (Hz)"],
            [[p["label"], p["cell_type"], p["size"], _fmt(p["spikes"]), _fmt(p["mean_rate_hz"])]
             for p in self.populations]))
        lines.append(_table(
            ["projection", "pre", "post", "synapses", "synaptic events"],
            [[p["label"], p["pre"], p["post"], p["synapses"], _fmt(p["synaptic_events"])]
             for p in self.projections]))
        totals = self.as_dict()["totals"]
        lines.append(f"total: {totals['neurons']} neurons, {totals['synapses']} synapses")
        return "\n\n".join(lines)

    __repr__ = __str__


def _fmt(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _table(header, rows):
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[k]) for row in cells) for k in range(len(header))]
    out = ["  ".join(c.ljust(w) for c, w in zip(cells[0], widths)),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells[1:]]
    return "\n".join(out)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot serialise {type(value).__name__}")
