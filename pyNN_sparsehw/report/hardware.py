"""HardwareReport: what the network uses on the chip and what the chip did to it.

Built from the mapped network (:class:`~pyNN_sparsehw.mapping.mapper.Mapper`) and the
engine's counters (spikes per population, synaptic events per projection, counted in
the simulation, not estimated):

- cores: which cores are used, neurons, synapses, synaptic memory and input axons of
  each, against the chip's limits;
- populations: circuit, cores, activity, parameters clipped by their DAC range, the
  representation error and the frozen mismatch of each parameter; for circuits with
  graded events (egru) the payload bits each event carries and their total;
- projections: synapses and events, weight quantization (code bits, step, clipped,
  rounded to zero, RMS relative error), delay rounding, gain mismatch, routing hops
  and wiring cost, and the synaptic memory: the chosen encoding, its bits per core and
  words per spike, and what every other encoding would cost;
- energy (:mod:`.chip.energy`), from the counts of the simulation: by category, per
  population and per projection, in joules, per second of simulated time, and per
  inference when the caller says how many inferences the run held.

Printed as tables (``str(report)``), or as a dict / JSON (``as_dict``, ``to_json``).
"""

import json

import numpy as np

from ..chip import energy as energy_model
from ..chip.memory import memory_size
from ..engine.circuits import MEMBRANES
from .texttable import table

UNITS = {"current": "nA", "conductance": "uS", "voltage": "mV", "dimensionless": "1"}
#: bits of a graded event's payload on a chip that declares no fixed point (a double)
FLOAT_PAYLOAD_BITS = 64
MAX_CORE_ROWS = 16
#: the text report lists parameters with at least this RMS representation error (the
#: dict lists all)
SHOWN_ERROR = 1e-4


class HardwareReport:
    """A plain record of the mapped network and its activity (see module docstring).

    Attributes
    ----------
    chip : dict
        name, source, hash, seed, kind.
    simulated_time_ms : float
    cores : dict
        used, available, limits, and ``per_core`` (list of dicts: core, chip, x, y,
        neurons, synapses, memory_bits, input_axons).
    populations, projections : list of dict
    """

    def __init__(self, chip, simulated_time_ms, cores, populations, projections, energy=None):
        self.chip = chip
        self.simulated_time_ms = simulated_time_ms
        self.cores = cores
        self.populations = populations
        self.projections = projections
        self.energy = energy

    # ----------------------------------------------------------------- build
    @classmethod
    def from_state(cls, state, inferences=None):
        """Build the report from the simulator state (mapping the network if needed).

        `inferences`: how many inferences (trials) the simulated time held; the energy
        is then also given per inference."""
        mapper = state.mapping()
        engine = state.engine
        t = state.t
        chip = dict(name=state.chip.name, kind=state.chip.kind, source=state.chip.source,
                    hash=state.chip.hash, seed=state.chip_seed,
                    calibration=_calibration_entry(state.calibration, state.chip))
        description = state.description
        spikes = {}
        if engine is not None:
            spikes = {key: engine.total_spikes(key) for key in engine.groups}
        events = engine.synaptic_event_counts() if engine is not None else {}
        populations = [_population_entry(description.populations[i], mapped, spikes.get(i), t)
                       for i, mapped in mapper.populations.items()]
        for entry, mapped in zip(populations, mapper.populations.values()):
            entry.update(_payload_entry(mapped, entry["spikes"], state.chip))
        labels = {p.index: p.label for p in description.populations}
        projections = [_projection_entry(mapped, labels, events.get(i), state.chip.weight_bits)
                       for i, mapped in mapper.projections.items()]
        cores = _cores_entry(mapper)
        energy = None
        if engine is not None and mapper.energy_profile is not None:
            energy = _energy_entry(mapper, engine, labels, t, state.dt, cores["used"],
                                   inferences)
        return cls(chip, t, cores, populations, projections, energy)

    # --------------------------------------------------------------- output
    def as_dict(self):
        totals = dict(neurons=sum(p["size"] for p in self.populations),
                      synapses=sum(p["synapses"] for p in self.projections),
                      cores_used=self.cores["used"],
                      wiring_cost=sum(p["wiring_cost"] for p in self.projections))
        totals["memory_bits"] = sum(p["memory"]["bits"] for p in self.projections
                                    if p["memory"] is not None)
        return dict(chip=self.chip, simulated_time_ms=self.simulated_time_ms,
                    totals=totals, cores=self.cores, populations=self.populations,
                    projections=self.projections, energy=self.energy)

    def to_json(self, path=None):
        text = json.dumps(self.as_dict(), indent=2, default=_json_default)
        if path is not None:
            with open(path, "w") as fh:
                fh.write(text)
        return text

    def __str__(self):
        chip = self.chip
        lines = [f"Hardware report: chip '{chip['name']}' ({chip['source']}, seed "
                 f"{chip['seed']}), {self.simulated_time_ms:g} ms simulated"]
        calibration = chip.get("calibration")
        if calibration is not None:
            lines[0] += "\n" + (
                f"calibrated: {calibration['usable_circuits']} of "
                f"{calibration['circuits']} circuits usable, "
                f"{calibration['failed_circuits']} failed (avoided by placement)"
                if calibration["calibrated"] else
                "uncalibrated: every trim at its middle code (setup(calibration='auto'))")
        lines.append(self._cores_text())
        lines.append(_header_table(
            ["population", "cell type", "circuit", "neurons", "cores", "spikes", "rate (Hz)"],
            [[p["label"], p["cell_type"], p["circuit"], p["size"], _core_span(p["cores"]),
              _fmt(p["spikes"]), _fmt(p["mean_rate_hz"])] for p in self.populations]))
        graded = [p for p in self.populations if "payload_bits_per_event" in p]
        if graded:
            lines.append(_header_table(
                ["population", "graded events", "payload bits/event", "payload bits"],
                [[p["label"], _fmt(p["spikes"]), p["payload_bits_per_event"],
                  _fmt(p["payload_bits"])] for p in graded]))
        parameter_rows = [
            [p["label"], name, _fmt(q.get("clipped")), percent(q.get("rms_relative_error")),
             _sigma(q.get("mismatch_sigma"), q.get("mismatch_relative"))]
            for p in self.populations for name, q in p["parameters"].items()
            if q.get("clipped") or q.get("rms_relative_error", 0) >= SHOWN_ERROR
            or q.get("mismatch_sigma")]
        if parameter_rows:
            lines.append("Neuron parameters (representation and frozen mismatch)\n" + _header_table(
                ["population", "parameter", "clipped", "RMS error", "mismatch sigma"],
                parameter_rows))
        lines.append(_header_table(
            ["projection", "pre -> post", "synapses", "events", "weight bits", "step",
             "clipped", "zeroed", "RMS error", "gain sigma", "delay steps", "wiring cost"],
            [[p["label"], f"{p['pre']} -> {p['post']}", p["synapses"],
              _fmt(p["synaptic_events"]), _fmt(p["weights"]["bits"]),
              _step(p["weights"]), _fmt(p["weights"]["clipped"]), _fmt(p["weights"]["zeroed"]),
              percent(p["weights"]["rms_relative_error"]), percent(p["gain_sigma"]),
              _span(p["delays"]["min_steps"], p["delays"]["max_steps"]), p["wiring_cost"]]
             for p in self.projections]))
        memory_rows = [[p["label"], p["memory"]["encoding"], _kib(p["memory"]["bits"]),
                        f"{p['memory']['words_per_spike']:.1f}"] +
                       [_kib(p["memory"]["alternatives"].get(name)) for name in ENCODING_COLUMNS]
                       for p in self.projections if p["memory"] is not None]
        if memory_rows:
            lines.append("Synaptic memory (chosen encoding; what each encoding would take)\n" +
                         _header_table(["projection", "encoding", "size", "words/spike"] +
                                list(ENCODING_COLUMNS), memory_rows))
        if self.energy is not None:
            lines.append(self._energy_text())
        totals = self.as_dict()["totals"]
        lines.append(f"total: {totals['neurons']} neurons, {totals['synapses']} synapses on "
                     f"{totals['cores_used']} core(s); wiring cost {totals['wiring_cost']} "
                     f"synapse-hops")
        return "\n\n".join(lines)

    __repr__ = __str__

    def _energy_text(self):
        energy = self.energy
        head = (f"Energy: {_joules(energy['total_j'])} in {self.simulated_time_ms:g} ms "
                f"({_watts(energy['per_second_w'])} per simulated second")
        if energy.get("per_inference_j") is not None:
            head += f"; {_joules(energy['per_inference_j'])} per inference"
        rows = [[name, _joules(value), f"{100 * value / energy['total_j']:.1f} %"
                 if energy["total_j"] > 0 else "-"]
                for name, value in energy["by_category"].items()]
        parts = [head + ")", _header_table(["category", "energy", "share"], rows)]
        parts.append(_header_table(["population", "energy"], [[k, _joules(v)] for k, v in
                                                       energy["populations"].items()]))
        parts.append(_header_table(["projection", "energy"], [[k, _joules(v)] for k, v in
                                                       energy["projections"].items()]))
        return "\n".join(parts[:2]) + "\n\n" + parts[2] + "\n\n" + parts[3]

    def _cores_text(self):
        cores = self.cores
        limits = cores["limits"]
        header = (f"Cores: {cores['used']} used of {cores['available']} "
                  f"(limits per core: {_limit(limits['neurons_per_core'])} neurons, "
                  f"{_limit(limits['synaptic_memory_bits'], 'bits')} synaptic memory, "
                  f"{_limit(limits['input_axons'])} input axons; fan-in "
                  f"{_limit(limits['fan_in'])} per neuron)")
        rows = [[c["core"], c["chip"], f"({c['x']}, {c['y']})", c["neurons"], c["synapses"],
                 _memory(c["memory_bits"], limits["synaptic_memory_bits"]), c["input_axons"]]
                for c in cores["per_core"][:MAX_CORE_ROWS]]
        text = header + "\n" + _header_table(
            ["core", "chip", "(x, y)", "neurons", "synapses", "memory", "input axons"], rows)
        if len(cores["per_core"]) > MAX_CORE_ROWS:
            text += f"\n... and {len(cores['per_core']) - MAX_CORE_ROWS} more cores"
        return text


def _calibration_entry(result, chip):
    """Calibration status of the chip (None for chips without trim DACs)."""
    has_trims = any("trim" in entry for entry in chip.neurons.get("parameters", {}).values())
    if not has_trims:
        return None
    if result is None:
        return dict(calibrated=False)
    usable = result.usable
    return dict(calibrated=True, circuits=int(usable.size),
                usable_circuits=int(np.count_nonzero(usable)),
                failed_circuits=int(usable.size - np.count_nonzero(usable)),
                failures=result.failures())


def _cores_entry(mapper):
    placer = mapper.placer
    topology = mapper.topology
    neurons = placer.neurons_used
    used = np.nonzero(neurons)[0]
    axons = np.bincount(mapper._axons >> 40, minlength=placer.n_cores) \
        if mapper._axons.size else np.zeros(placer.n_cores, dtype=np.int64)
    x, y = mapper.mesh.coordinates(used)
    memory = mapper.memory_used
    per_core = [dict(core=int(c), chip=int(c // topology.cores_per_chip), x=int(cx), y=int(cy),
                     neurons=int(neurons[c]), synapses=int(mapper.synapses_per_core[c]),
                     memory_bits=int(memory[c]), input_axons=int(axons[c]))
                for c, cx, cy in zip(used, x, y)]
    limits = dict(neurons_per_core=topology.neurons_per_core,
                  synaptic_memory_bits=topology.synaptic_memory_bits,
                  input_axons=topology.input_axons, fan_in=topology.fan_in)
    return dict(used=int(used.size), available=placer.n_cores if topology.neurons_per_core else 1,
                limits=limits, per_core=per_core)


def _population_entry(population, mapped, spikes, t):
    rate = spikes / population.size / (t / 1000.0) if spikes is not None and t > 0 else None
    parameters = {}
    for name in mapped.target:
        stored = mapped.stored.get(name)
        deviation = mapped.deviation.get(name)
        if stored is None and deviation is None and name not in mapped.noise:
            continue
        entry = {}
        if stored is not None:
            entry.update(clipped=stored.loss.clipped,
                         rms_relative_error=stored.loss.rms_relative_error)
        if deviation is not None:
            relative = mapped.relative[name]
            spread = deviation - 1.0 if relative else deviation
            entry.update(mismatch_sigma=float(np.std(spread)), mismatch_relative=relative)
        if name in mapped.noise:
            entry["noise_sigma"] = float(np.std(mapped.noise[name]))
        parameters[name] = entry
    cores = sorted({int(c) for c in np.unique(mapped.cores)}) if mapped.cores.size else []
    circuit = mapped.spec.membrane or ("host" if mapped.spec.kind != "neuron" else "")
    return dict(label=population.label, cell_type=population.cell_type, size=population.size,
                circuit=circuit, cores=cores, spikes=spikes, mean_rate_hz=rate,
                parameters=parameters)


def _payload_entry(mapped, spikes, chip):
    """Graded events: bits of payload per event (the chip's fixed point of the payload
    variable; 64 for a floating-point chip) and in total; {} for binary spikes."""
    membrane = MEMBRANES.get(mapped.spec.membrane)
    if membrane is None or not membrane.payload:
        return {}
    fixed = chip.state_resolution.get(membrane.payload.removesuffix("_sent"))
    bits = int(fixed["bits"]) if fixed else FLOAT_PAYLOAD_BITS
    return dict(payload_bits_per_event=bits,
                payload_bits=None if spikes is None else int(spikes) * bits)


def _projection_entry(mapped, labels, events, weight_bits):
    spec = mapped.spec
    quantized = mapped.weights
    weights = dict(bits=None, unit=UNITS[mapped.weight_kind], scale=None, clipped=0,
                   zeroed=0, rms_relative_error=0.0)
    if quantized is not None:
        weights.update(scale=mapped.weight_step, clipped=quantized.loss.clipped,
                       zeroed=quantized.loss.zeroed,
                       rms_relative_error=quantized.loss.rms_relative_error)
        weights["bits"] = weight_bits
    delays = mapped.delays
    steps = delays.codes
    gain_sigma = float(np.std(mapped.synapse_gain - 1.0)) \
        if mapped.synapse_gain is not None and mapped.synapse_gain.size else None
    memory = None
    if mapped.memory is not None:
        stored = mapped.memory
        memory = dict(encoding=stored.encoding, bits=stored.size_bits,
                      bits_per_core={str(k): v for k, v in stored.bits_per_core().items()},
                      words_per_spike=stored.words_per_spike(),
                      alternatives={name: (cost or {}).get("bits")
                                    for name, cost in stored.alternatives.items()},
                      alternatives_energy_per_s={
                          name: (cost or {}).get("energy_per_s")
                          for name, cost in stored.alternatives.items()},
                      unavailable=dict(stored.unavailable))
    return dict(label=mapped.label, pre=labels[spec.pre], post=labels[spec.post],
                receptor=spec.receptor, synapses=int(spec.pre_index.size),
                synaptic_events=events, weights=weights, memory=memory,
                delays=dict(min_steps=int(steps.min()) if steps.size else None,
                            max_steps=int(steps.max()) if steps.size else None,
                            rms_relative_error=delays.loss.rms_relative_error),
                gain_sigma=gain_sigma, wiring_cost=mapped.wiring_cost,
                mean_hops=float(mapped.hops.mean()) if mapped.hops.size else 0.0)


def _energy_entry(mapper, engine, labels, t_ms, dt, cores_used, inferences):
    """Energy by category, population and projection from the engine's counts."""
    profile = mapper.energy_profile
    spikes = {key: np.asarray(engine.spike_counts(key), dtype=float)
              for key in engine.groups}
    events = engine.synaptic_event_counts()
    steps = int(round(t_ms / dt))
    by_category = dict.fromkeys(energy_model.CATEGORIES, 0.0)
    populations, projections = {}, {}
    for index, mapped in mapper.populations.items():
        updates = profile.neuron_update * mapped.spec.size * steps \
            if mapped.spec.kind == "neuron" else 0.0
        by_category["neuron_updates"] += updates
        populations[labels[index]] = updates
    for index, mapped in mapper.projections.items():
        spec = mapped.spec
        plastic = spec.model == "stdp"
        synaptic = profile.synaptic_event * events.get(index, 0)
        reads = writes = 0.0
        if mapped.memory is not None:
            for block, encoded in mapped.memory.blocks:
                pre_spikes = spikes[spec.pre]
                post_spikes = spikes[spec.post][block.targets] if plastic else None
                r, w = energy_model.memory_energy(
                    profile, encoded, memory_size(encoded, mapper.memory_capacity),
                    pre_spikes, post_spikes, block.table.pre,
                    block.table.post if plastic else None)
                reads += r
                writes += w
        sender = mapper.populations[spec.pre]
        routing = energy_model.routing_energy(
            profile, mapped.route_hops, spikes[spec.pre],
            _payload_entry(sender, None, mapper.chip).get("payload_bits_per_event", 0),
            f"graded events of population '{sender.label}' (projection '{mapped.label}')")
        by_category["synaptic_events"] += synaptic
        by_category["memory_reads"] += reads
        by_category["memory_writes"] += writes
        by_category["routing"] += routing
        projections[mapped.label] = synaptic + reads + writes + routing
    by_category["static"] = energy_model.static_energy(profile, cores_used, t_ms)
    total = sum(by_category.values())
    return dict(total_j=total, per_second_w=total / (t_ms / 1000.0) if t_ms > 0 else None,
                per_inference_j=total / inferences if inferences else None,
                inferences=inferences, by_category=by_category, populations=populations,
                projections=projections)


# ------------------------------------------------------------------ formatting
ENCODING_COLUMNS = ("dense", "csr", "csc", "bitmap", "delta", "functional")


def _kib(bits):
    return "-" if bits is None else f"{bits / 8192:.1f} KiB"


def _joules(value):
    for unit, scale in (("J", 1.0), ("mJ", 1e-3), ("uJ", 1e-6), ("nJ", 1e-9), ("pJ", 1e-12)):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.3g} J"


def _watts(value):
    return "-" if value is None else _joules(value).replace("J", "W")


def _fmt(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def percent(value):
    """A fraction as a percentage with two decimals, "-" for None."""
    return "-" if value is None else f"{100 * value:.2f} %"


def _sigma(value, relative):
    if value is None:
        return "-"
    return f"{100 * value:.1f} %" if relative else f"{value:.3g}"


def _step(weights):
    if weights["scale"] is None:
        return "float"
    return f"{weights['scale']:.3g} {weights['unit']}"


def _span(low, high):
    if low is None:
        return "-"
    return str(low) if low == high else f"{low}-{high}"


def _core_span(cores):
    if not cores:
        return "host"
    return str(cores[0]) if len(cores) == 1 else f"{cores[0]}-{cores[-1]}"


def _limit(value, unit=""):
    if not value:
        return "unlimited"
    return f"{value / 8192:.0f} KiB" if unit == "bits" else str(value)


def _memory(bits, limit):
    if not limit:
        return "-"
    return f"{bits / 8192:.1f} KiB ({100 * bits / limit:.0f} %)"


def _header_table(header, rows):
    return table([header, *rows])


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot serialise {type(value).__name__}")
