"""pyNN.sparsehw: run PyNN scripts on a modelled neuromorphic chip.

Use it as any PyNN backend::

    import pyNN.sparsehw as sim          # or: import pyNN_sparsehw as sim
    sim.setup(timestep=0.1, chip="digital")   # default: "analog"
    ...
    sim.run(1000.0)
    print(sim.hardware_report())

The PyNN calls fill a network description; the first ``run()`` maps it onto the chip
model and simulates it with Brian2 (see docs/architecture.rst).
"""

import builtins
import logging
import os
import warnings

from pyNN import common, errors, random, space                     # noqa: F401
from pyNN.common.control import DEFAULT_MAX_DELAY, DEFAULT_TIMESTEP, DEFAULT_MIN_DELAY
from pyNN.connectors import *                                      # noqa: F401, F403
from pyNN.network import Network                                   # noqa: F401
from pyNN.random import NumpyRNG, GSLRNG, RandomDistribution       # noqa: F401
from pyNN.recording import get_io
from pyNN.space import Space                                       # noqa: F401
from pyNN.standardmodels import StandardCellType

from . import calibration as _calibration
from . import simulator, validation
from .calibration import CalibrationResult                         # noqa: F401
from .chip import load_chip, available_chips                       # noqa: F401
from .populations import Population, PopulationView, Assembly      # noqa: F401
from .projections import Projection                                # noqa: F401
from .report.hardware import HardwareReport
from .standardmodels.cells import *                                # noqa: F401, F403
from .standardmodels.electrodes import *                           # noqa: F401, F403
from .standardmodels.synapses import *                             # noqa: F401, F403
from .standardmodels.synapses import StaticSynapse
from pyNN.connectors import FixedProbabilityConnector

__version__ = "0.1.0"
logger = logging.getLogger("pyNN_sparsehw")

#: setup() keywords understood by other backends that have no meaning here
_IGNORED_SETUP_KEYWORDS = {"threads", "spike_precision", "verbosity", "use_cvode",
                           "default_maxstep", "rng_seeds", "rng_seeds_seed", "grng_seed",
                           "recording_precision", "t_flush", "num_processes", "rank"}


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, *, chip=None,
          chip_seed=None, calibration="environment", trial_noise=True,
          rng_seed=simulator.DEFAULT_SEED, codegen="numpy", **extra_params):
    """Start a new simulation; any existing network is destroyed.

    Parameters
    ----------
    timestep : float
        Integration time step in ms.
    min_delay, max_delay : float or "auto"
        Smallest and largest synaptic delays in ms ("auto": one time step, and the
        largest delay in the network).
    chip : str, path or ChipModel
        The chip model: a shipped name (see ``available_chips()``), the path of a TOML
        file, or a ChipModel object. Default: the environment variable
        ``PYNN_SPARSEHW_CHIP`` if set (to run unchanged scripts on another chip), else
        "analog". Use "ideal" to reproduce NEST / Brian2.
    chip_seed : int
        Which instance of the chip: fixes the frozen mismatch of every circuit, so the
        same seed gives the same chip in every script, process and run. Default: the
        environment variable ``PYNN_SPARSEHW_CHIP_SEED`` if set, else 0.
    calibration : "auto", None, path or CalibrationResult
        Trim codes of the chip's circuits (:mod:`pyNN_sparsehw.calibration`):
        "auto" reads this chip instance's cached calibration or calibrates it now
        (once; progress bar) and caches it; None runs uncalibrated (with a warning);
        a path names a saved result. Circuits that failed calibration are not used.
        Chips without trims (ideal, digital) ignore it. Default: the environment
        variable ``PYNN_SPARSEHW_CALIBRATION`` ("auto", "none" or a path) if set,
        else "auto".
    trial_noise : bool
        Whether parameters with a ``noise`` entry in the chip model get fresh
        trial-to-trial deviations at every run after setup()/reset() (drawn from
        `rng_seed` and the segment); False keeps only the frozen mismatch.
    rng_seed : int
        Seed for the random numbers drawn during the simulation (Poisson sources,
        noisy currents). The same seed gives the same spikes.
    codegen : str
        Brian2 code-generation target: "numpy" (default; nothing to compile) or
        "cython" (compiled once per circuit kind and machine, then cached: worth it
        for long runs of networks of 1,000-4,000 neurons; see docs/engine.rst).
    """
    max_delay = extra_params.pop("max_delay", DEFAULT_MAX_DELAY)
    timestep = validation.check_timestep(timestep)
    validation.check_delay_bounds(timestep, min_delay, max_delay)
    rng_seed = validation.check_seed("rng_seed", rng_seed)
    unknown = builtins.set(extra_params) - _IGNORED_SETUP_KEYWORDS
    if unknown:
        warnings.warn(f"pyNN.sparsehw.setup() ignores unknown keyword(s) "
                      f"{', '.join(sorted(unknown))}")
    if codegen not in ("numpy", "cython"):
        raise ValueError(f"codegen must be 'numpy' or 'cython', got {codegen!r}")
    state = simulator.state
    if chip is None:
        chip = os.environ.get("PYNN_SPARSEHW_CHIP") or simulator.DEFAULT_CHIP
    chip = load_chip(chip)
    if chip_seed is None:
        chip_seed = os.environ.get("PYNN_SPARSEHW_CHIP_SEED") or simulator.DEFAULT_CHIP_SEED
    chip_seed = validation.check_seed("chip_seed", chip_seed)
    # may calibrate now, through its own simulations: before this one is set up
    if calibration == "environment":
        calibration = calibration_from_environment()
    trims = _calibration.resolve(calibration, chip, int(chip_seed))
    common.setup(timestep, min_delay, max_delay=max_delay)
    state.chip = chip
    state.chip_seed = int(chip_seed)
    state.calibration = trims
    state.trial_noise = bool(trial_noise)
    state.rng_seed = int(rng_seed)
    state.codegen_target = codegen
    state.dt = float(timestep)
    state.clear()
    state.min_delay = min_delay
    state.max_delay = max_delay
    return rank()


def calibration_from_environment():
    """setup()'s default calibration: the environment variable
    ``PYNN_SPARSEHW_CALIBRATION`` ("auto", "none" or the path of a saved result, to run
    unchanged scripts calibrated or not), else "auto"."""
    value = os.environ.get("PYNN_SPARSEHW_CALIBRATION", "").strip()
    if value.lower() == "none":
        return None
    return value or "auto"


def end(compatible_output=True):
    """Write any data requested with ``record(..., to_file=...)`` and clean up."""
    for population, variables, filename in simulator.state.write_on_end:
        population.write_data(get_io(filename), variables)
    simulator.state.write_on_end = []


def run_until(time_point, callbacks=None):
    """Advance the simulation until `time_point` (ms).

    `callbacks` is an optional list of callables, each accepting the current time and
    returning the next time it wishes to be called; they are called during the run,
    without stopping the simulation.
    """
    simulator.state.run_until(time_point, callbacks)
    return simulator.state.t


def run(simtime, callbacks=None):
    """Advance the simulation by `simtime` ms (see :func:`run_until` for `callbacks`)."""
    now = simulator.state.t
    return run_until(now + validation.check_run_time(simtime, now), callbacks)


run_for = run
reset = common.build_reset(simulator)
initialize = common.initialize
get_current_time, get_time_step, get_min_delay, get_max_delay, num_processes, rank = \
    common.build_state_queries(simulator)

create = common.build_create(Population)
connect = common.build_connect(Projection, FixedProbabilityConnector, StaticSynapse)
set = common.set
record = common.build_record(simulator)


def record_v(source, filename):
    return record(["v"], source, filename)


def record_gsyn(source, filename):
    return record(["gsyn_exc", "gsyn_inh"], source, filename)


class NativeRNG(NumpyRNG):
    """The simulator's own random generator: for this backend, numpy's Mersenne
    Twister, so a NativeRNG behaves exactly as a NumpyRNG with the same seed."""


def hardware_report(inferences=None):
    """What the network costs on the chip: see :class:`HardwareReport`.

    `inferences`: how many inferences (trials) the simulated time held, to also give
    the energy per inference."""
    return HardwareReport.from_state(simulator.state, inferences)


def list_standard_models():
    """Names of the standard cell types available in this backend."""
    return [obj.__name__ for obj in globals().values()
            if isinstance(obj, type) and issubclass(obj, StandardCellType)
            and obj is not StandardCellType]
