"""The energy model: what each event on the chip costs, in joules.

Categories (each a function of counts taken from the simulation, never estimates):

``synaptic_events``
    energy per synaptic event delivered (the accumulate);
``neuron_updates``
    energy per neuron per time step (digital, time-stepped);
``memory_reads``
    energy per synaptic-memory word read: per presynaptic spike the words of its row
    in the projection's encoding, and for plastic projections per postsynaptic spike
    the words of its column;
``memory_writes``
    energy per word written back by weight updates (plasticity);
``routing``
    energy per event per mesh hop, from the source core to each target core of the
    projection: ``spike_hop`` for the event itself (a binary spike is its header) plus
    ``payload_bit_hop`` for each payload bit a graded event carries (an EGRU's
    fixed-point payload), so an event costs by its size;
``static``
    static power per core in use times the time the hardware runs (simulated time
    divided by the chip's speed-up).

The energy of one word access grows with the memory it sits in: an SRAM's word-read
energy scales roughly with the square root of its capacity (Horowitz, ISSCC 2014:
10 pJ for a 64-bit word from 8 KiB, 20 pJ from 32 KiB, 100 pJ from 1 MiB), so a read
costs ``word_read[encoding] * (memory_bits / reference_bits) ** size_exponent``.

Constants live in each chip model's ``[energy]`` table, with their sources. Pure numpy.
"""

from dataclasses import dataclass

import numpy as np

CATEGORIES = ("synaptic_events", "neuron_updates", "memory_reads", "memory_writes",
              "routing", "static")
PROFILE_KEYS = ("synaptic_event", "neuron_update", "word_read", "write_factor",
                "size_exponent", "reference_bits", "spike_hop", "static_power_per_core",
                "speedup")
#: [energy] keys a chip model may leave out, with their defaults
OPTIONAL_PROFILE_KEYS = {"payload_bit_hop": None}


class EnergyModelError(ValueError):
    """An energy profile is missing constants or has impossible ones."""


@dataclass(frozen=True)
class EnergyProfile:
    """Energy constants of a chip.

    Attributes
    ----------
    synaptic_event, neuron_update, spike_hop : float
        J per event (per neuron per step for `neuron_update`, per spike per hop for
        `spike_hop`).
    payload_bit_hop : float or None
        J per payload bit of a graded event per hop; None: the chip prices no payload
        (it then cannot price graded events).
    word_read : dict
        Encoding name -> J per memory word read at `reference_bits`.
    write_factor : float
        A word write costs this many word reads.
    size_exponent, reference_bits : float, int
        Word energy scales as (bits / reference_bits) ** size_exponent.
    static_power_per_core : float
        W per core in use.
    speedup : float
        Hardware time = simulated (biological) time / speedup.
    """
    synaptic_event: float
    neuron_update: float
    word_read: dict
    write_factor: float
    size_exponent: float
    reference_bits: float
    spike_hop: float
    static_power_per_core: float
    speedup: float
    payload_bit_hop: float = None

    @classmethod
    def from_config(cls, table, source="chip model"):
        """An EnergyProfile from a chip model's ``[energy]`` table."""
        missing = [key for key in PROFILE_KEYS if key not in table]
        if missing:
            raise EnergyModelError(f"{source}: [energy] lacks {', '.join(missing)}")
        profile = cls(**{key: table[key] for key in PROFILE_KEYS},
                      **{key: table.get(key, default)
                         for key, default in OPTIONAL_PROFILE_KEYS.items()})
        negative = [key for key in (*PROFILE_KEYS, *OPTIONAL_PROFILE_KEYS)
                    if key != "word_read" and getattr(profile, key) is not None
                    and not float(getattr(profile, key)) >= 0]
        if negative or any(not float(v) >= 0 for v in profile.word_read.values()) or \
                not profile.speedup > 0:
            raise EnergyModelError(f"{source}: [energy] constants must be >= 0 (speedup > 0), "
                                   f"got {', '.join(negative) or 'word_read/speedup'}")
        return profile

    def word_energy(self, encoding, memory_bits):
        """J per word read from a memory of `memory_bits` bits holding `encoding`."""
        if encoding not in self.word_read:
            raise EnergyModelError(f"no word-read energy for encoding '{encoding}'; the "
                                   f"profile has {', '.join(self.word_read)}")
        scale = (max(float(memory_bits), 1.0) / self.reference_bits) ** self.size_exponent
        return float(self.word_read[encoding]) * scale


def memory_energy(profile, encoded, memory_bits, pre_spikes, post_spikes=None,
                  pre_index=None, post_index=None):
    """(read J, write J) of one encoded block of synapses.

    `pre_spikes` (per presynaptic neuron of the block) select the rows read; only rows
    with synapses in the block receive spikes (the router sends none to the others).
    For plastic blocks give `post_spikes` and the synapses' `pre_index`/`post_index`:
    each postsynaptic spike reads its column, and every synapse is updated (read-modify-
    write) at each spike of its presynaptic and of its postsynaptic neuron.
    """
    word = profile.word_energy(encoded.encoding, memory_bits)
    pre_spikes = np.asarray(pre_spikes, dtype=float)
    rows_used = np.bincount(pre_index, minlength=pre_spikes.size) > 0 \
        if pre_index is not None else np.ones(pre_spikes.size, dtype=bool)
    reads = float(np.dot(pre_spikes * rows_used, encoded.forward_words))
    writes = 0.0
    if post_spikes is not None:
        post_spikes = np.asarray(post_spikes, dtype=float)
        reads += float(np.dot(post_spikes, encoded.backward_words))
        updates = pre_spikes[pre_index] + post_spikes[post_index]
        writes = float(np.dot(updates, encoded.update_words))
    return reads * word, writes * word * profile.write_factor


def routing_energy(profile, hops_per_target_core, spikes, payload_bits=0, source="events"):
    """J to route events: `hops_per_target_core[i]` is the sum over the target cores
    of neuron i of the hops to reach them; `spikes[i]` its event count;
    `payload_bits` the payload each event carries (0: binary spikes). Each event
    costs ``spike_hop + payload_bits * payload_bit_hop`` per hop. `source` names the
    sender in the error raised when the profile cannot price a payload."""
    per_hop = profile.spike_hop
    if payload_bits:
        if profile.payload_bit_hop is None:
            raise EnergyModelError(
                f"{source} carry {payload_bits}-bit payloads, but the chip model's [energy] "
                f"has no payload_bit_hop (J per payload bit per hop): add it to price "
                f"graded events")
        per_hop += payload_bits * profile.payload_bit_hop
    return float(np.dot(np.asarray(spikes, dtype=float), hops_per_target_core)) * per_hop


def static_energy(profile, cores_used, simulated_ms):
    """J of static power over the hardware time of `simulated_ms` biological ms."""
    return profile.static_power_per_core * cores_used * simulated_ms / 1000.0 / profile.speedup
