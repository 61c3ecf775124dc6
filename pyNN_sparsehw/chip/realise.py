"""What a chip circuit really realises for a target parameter value.

A parameter of a neuron circuit goes through up to four stages, each described by
the parameter's entry in the chip model (``[neurons.parameters.<key>]``):

1. representation: a DAC code (``dac = {bits, range}``), a decay factor per time step
   (``decay_bits``, digital time constants) or whole time steps (``whole_steps``);
2. fixed-pattern mismatch (``mismatch = {sigma, relative}``): the frozen deviation
   of this physical circuit (see :mod:`.mismatch`), a factor or an offset;
3. trim (``trim = {bits, span}``): a per-circuit correction DAC that calibration sets;
   uncalibrated circuits sit at the middle code, which corrects nothing;
4. trial-to-trial noise (``noise = {sigma, relative}``): drawn afresh for every run
   (see :func:`.mismatch.trial_noise`), so calibration cannot remove it.

The result is the effective value the engine simulates. Pure numpy.
"""

import numpy as np

from . import quantize


def middle_trim(entry):
    """The trim code that corrects nothing (uncalibrated), or None without a trim DAC."""
    trim = entry.get("trim") if entry else None
    return None if trim is None else 2 ** (int(trim["bits"]) - 1)


def trim_step(entry):
    """Correction of one trim code step: relative (fraction) or absolute (unit of the
    parameter), following the parameter's mismatch kind."""
    trim = entry["trim"]
    return float(trim["span"]) / 2 ** int(trim["bits"])


def is_relative(entry):
    """True when the parameter's mismatch and trim act as factors."""
    return bool(entry.get("mismatch", {}).get("relative", True))


def represent(entry, target, dt):
    """Stage 1: the value the chip can store for `target` -> :class:`Quantized` or None
    when the parameter is stored exactly."""
    if entry.get("whole_steps"):
        return quantize.quantize_to_steps(target, dt)
    if "decay_bits" in entry:
        return quantize.quantize_time_constant(target, dt, entry["decay_bits"])
    dac = entry.get("dac")
    if dac is not None:
        low, high = dac["range"]
        return quantize.quantize_parameter(target, low, high, dac["bits"])
    return None


def realise(entry, target, dt, deviation=None, trim_codes=None, noise=None):
    """Effective parameter values and the :class:`~.quantize.Quantized` record of
    stage 1 (None when stored exactly).

    Parameters
    ----------
    entry : dict or None
        The chip model's entry for the parameter; None: realised exactly.
    target : array
        Target values, in the parameter's PyNN unit.
    dt : float
        Time step (ms), for time constants and durations.
    deviation : array, optional
        Frozen mismatch: factors (relative) or offsets (absolute).
    trim_codes : array of int, optional
        Trim DAC codes; None = the middle code (no correction).
    noise : array, optional
        This run's trial-to-trial deviations: factors or offsets, as the entry's
        ``noise.relative`` says.
    """
    target = np.asarray(target, dtype=float)
    if not entry:
        return target.copy(), None
    stored = represent(entry, target, dt)
    values = target.copy() if stored is None else stored.values.copy()
    relative = is_relative(entry)
    if deviation is not None:
        values = values * deviation if relative else values + deviation
    if trim_codes is not None and "trim" in entry:
        codes = np.asarray(trim_codes, dtype=np.int64)
        top = 2 ** int(entry["trim"]["bits"]) - 1
        if codes.size and (codes.min() < 0 or codes.max() > top):
            raise ValueError(f"trim codes must lie in 0..{top}, got "
                             f"{codes.min()}..{codes.max()}")
        correction = (codes - middle_trim(entry)) * trim_step(entry)
        values = values * (1.0 + correction) if relative else values + correction
    if noise is not None:
        values = values * noise if entry["noise"].get("relative", True) else values + noise
    return values, stored
