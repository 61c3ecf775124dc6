"""Run an unchanged PyNN script on a chosen backend, and collect what it recorded.

A PyNN script names its backend in one of three ways; :func:`run_script` makes each
of them give the backend of this run (``sparsehw`` for ``sparsehw run``, each
simulator in turn for ``sparsehw compare``):

1. **The first script argument**, as in ``python script.py nest`` (PyNN's examples,
   ``examples/vogels_abbott.py``): when the first argument is the name of a PyNN
   backend (see :data:`BACKENDS`) it is replaced by the backend of this run.
2. **pyNN.utility.get_simulator()** (or the older ``get_script_args()``), which
   reads the backend name from the first command-line argument: while the script
   runs, these functions are wrapped so that they insert the backend's name as the
   first argument when the script was given none (``sparsehw run script.py
   --plot-figure`` works as ``python script.py sparsehw --plot-figure``). Wrapping
   the functions, rather than always inserting the name into ``sys.argv``, leaves
   scripts that parse their own arguments untouched.
3. **A direct import** (``import pyNN.nest as sim``, ``from pyNN import neuron``):
   for the duration of the run, every other backend's module name refers to the
   backend of this run (``sys.modules`` and the ``pyNN`` package's attributes are
   restored afterwards). The imports found in the script's source are announced.

The script runs in this process with :func:`runpy.run_path` as ``__main__``, with
``sys.argv = [SCRIPT, *ARGS]`` and the script's folder first on ``sys.path``, as
``python SCRIPT ARGS`` would. ``sys.exit(0)`` in the script ends the script, not
the caller.
"""

import ast
import contextlib
import functools
import importlib
import os
import runpy
import sys
import traceback
import warnings

import numpy as np

from ..report.spiketrains import PopulationSpikes

#: names of PyNN backends (``pyNN.<name>``) that a script may ask for
BACKENDS = ("nest", "neuron", "brian2", "sparsehw", "brian", "nemo", "moose", "spiNNaker",
            "mock")
CHIP_ENV = "PYNN_SPARSEHW_CHIP"
CHIP_SEED_ENV = "PYNN_SPARSEHW_CHIP_SEED"
CALIBRATION_ENV = "PYNN_SPARSEHW_CALIBRATION"


class ScriptError(RuntimeError):
    """The script exited with a non-zero status (``sys.exit(n)``)."""

    def __init__(self, script, code):
        super().__init__(f"{script} exited with status {code}")
        self.code = code


def script_arguments(args, backend):
    """The script's arguments, with a leading backend name replaced by `backend`
    (rule 1 of the module docstring)."""
    args = list(args)
    if args and args[0] in BACKENDS:
        args[0] = backend
    return args


def direct_backend_imports(source, filename="<unknown>"):
    """Names of the PyNN backends that a script's source imports directly
    (``import pyNN.nest``, ``from pyNN.nest import ...``, ``from pyNN import nest``),
    in order of appearance. A SyntaxError names `filename` (the script's path)."""
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if len(parts) >= 2 and parts[0] == "pyNN" and parts[1] in BACKENDS \
                    and parts[1] not in found:
                found.append(parts[1])
    return found


@contextlib.contextmanager
def backend_aliases(backend_module, names):
    """Make ``pyNN.<name>`` refer to `backend_module` for every name in `names`,
    while the context lasts."""
    import pyNN
    missing = object()
    saved = {}
    for name in names:
        full = f"pyNN.{name}"
        saved[name] = (sys.modules.get(full, missing), getattr(pyNN, name, missing))
        sys.modules[full] = backend_module
        setattr(pyNN, name, backend_module)
    try:
        yield
    finally:
        for name, (module, attribute) in saved.items():
            full = f"pyNN.{name}"
            if module is missing:
                sys.modules.pop(full, None)
            else:
                sys.modules[full] = module
            if attribute is missing:
                if getattr(pyNN, name, None) is backend_module:
                    delattr(pyNN, name)
            else:
                setattr(pyNN, name, attribute)


#: functions of pyNN.utility that read the backend's name from the first argument
ARGUMENT_HELPERS = ("get_simulator", "get_script_args")


def _backend_first(backend):
    """Make `backend` the first command-line argument (replacing a backend name)."""
    if len(sys.argv) < 2 or sys.argv[1] not in BACKENDS:
        sys.argv.insert(1, backend)
    else:
        sys.argv[1] = backend


@contextlib.contextmanager
def argument_helpers_give(backend):
    """Wrap ``pyNN.utility.get_simulator`` and ``get_script_args`` so that they see
    `backend` as the first argument (rule 2)."""
    import pyNN.utility
    originals = {name: getattr(pyNN.utility, name) for name in ARGUMENT_HELPERS}

    def wrap(original):
        def helper(*args, **kwargs):
            _backend_first(backend)
            return original(*args, **kwargs)
        helper.__name__, helper.__doc__ = original.__name__, original.__doc__
        return helper

    for name, original in originals.items():
        setattr(pyNN.utility, name, wrap(original))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(pyNN.utility, name, original)


@contextlib.contextmanager
def environment(**values):
    """Set environment variables (None: leave as is) for the duration of the context."""
    saved = {key: os.environ.get(key) for key in values}
    for key, value in values.items():
        if value is not None:
            os.environ[key] = str(value)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def chip_override_warned(module, chip, script):
    """While the context lasts, ``module.setup(chip=...)`` (pyNN.sparsehw's) warns
    when its explicit chip differs from `chip`, the one asked for on the command
    line (``--chip``, i.e. ``PYNN_SPARSEHW_CHIP``): the script's choice is used.
    Nothing is wrapped when `chip` is None."""
    if not chip:
        yield
        return
    original = module.setup

    @functools.wraps(original)
    def setup(*args, **kwargs):
        wanted = kwargs.get("chip")
        if wanted is not None and not _same_chip(wanted, chip):
            shown = getattr(wanted, "name", wanted)
            warnings.warn(
                f"{os.path.basename(script)} calls setup(chip={shown!r}), which overrides "
                f"--chip {chip!r}: the script runs on chip {shown!r}. Remove chip= from "
                f"the script's setup() to run it on {chip!r}.", UserWarning, stacklevel=2)
        return original(*args, **kwargs)

    module.setup = setup
    try:
        yield
    finally:
        module.setup = original


def _same_chip(first, second):
    """Whether two chip arguments of setup() (names, TOML paths or ChipModels) are
    the same chip model; arguments that do not load are left for setup() to judge."""
    from ..chip import load_chip
    from ..chip.model import ChipModelError
    try:
        return load_chip(first).hash == load_chip(second).hash
    except (ChipModelError, TypeError, OSError, ValueError):
        return True


def script_traceback(error, script):
    """The traceback of `error`, raised by the script `script` (run by
    :func:`run_script`), from the script's own first frame on: the frames of the
    runner before it are left out. A SyntaxError shows the script's line."""
    script = os.path.abspath(script)
    trace = traceback.TracebackException.from_exception(error)
    first = next((k for k, frame in enumerate(trace.stack) if frame.filename == script), None)
    if first is not None:
        trace.stack = traceback.StackSummary.from_list(trace.stack[first:])
    elif isinstance(error, SyntaxError):
        trace.stack = traceback.StackSummary.from_list([])
    return "".join(trace.format())


def run_script(script, args=(), backend="sparsehw", announce=print):
    """Run the PyNN script `script` with arguments `args` on ``pyNN.<backend>``.

    Returns the imported backend module (its ``simulator.state`` holds the network).
    Raises :class:`ScriptError` if the script exits with a non-zero status;
    exceptions of the script propagate.
    """
    script = os.path.abspath(script)
    if not os.path.isfile(script):
        raise FileNotFoundError(f"no PyNN script at {script}")
    with open(script, encoding="utf-8") as fh:
        source = fh.read()
    module = importlib.import_module(f"pyNN.{backend}")
    for name in direct_backend_imports(source, script):
        if name != backend:
            announce(f"{os.path.basename(script)} imports pyNN.{name}: running it on "
                     f"pyNN.{backend} instead")
    arguments = script_arguments(args, backend)
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [script] + arguments
    sys.path.insert(0, os.path.dirname(script))
    others = [name for name in BACKENDS if name != backend]
    chip = os.environ.get(CHIP_ENV) if backend == "sparsehw" else None
    try:
        with backend_aliases(module, others), argument_helpers_give(backend), \
                chip_override_warned(module, chip, script):
            runpy.run_path(script, run_name="__main__")
    except SystemExit as stop:
        if stop.code not in (None, 0):
            raise ScriptError(script, stop.code) from None
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    return module


def recorded_spikes(backend_module):
    """The spikes of every population that records spikes, from the backend's
    recorders, in the order the populations were created.

    Returns a list of :class:`~pyNN_sparsehw.report.spiketrains.PopulationSpikes`, one per
    population and recorded segment (``reset()`` starts a new one): labels that
    repeat get ``#2``, ``#3``...; segments after the first get ``[segment k]``.
    """
    recorders = [r for r in backend_module.simulator.state.recorders
                 if any(v.name == "spikes" and ids for v, ids in r.recorded.items())]
    recorders.sort(key=lambda r: int(r.population.first_id))
    result, seen = [], {}
    for recorder in recorders:
        population = recorder.population
        seen[population.label] = seen.get(population.label, 0) + 1
        label = population.label if seen[population.label] == 1 \
            else f"{population.label}#{seen[population.label]}"
        ids = next(ids for v, ids in recorder.recorded.items() if v.name == "spikes")
        recorded = np.sort(population.id_to_index(np.array(sorted(ids), dtype=int)))
        block = population.get_data("spikes", clear=False)
        for k, segment in enumerate(block.segments):
            trains = segment.spiketrains
            if not trains:
                continue
            index = np.array([train.annotations["source_index"] for train in trains])
            lengths = np.array([len(train) for train in trains])
            times = np.concatenate([train.rescale("ms").magnitude for train in trains]) \
                if lengths.sum() else np.zeros(0)
            name = label if k == 0 else f"{label} [segment {k}]"
            result.append(PopulationSpikes(
                name, population.size, recorded, np.repeat(index, lengths), times,
                float(trains[0].t_start.rescale("ms").magnitude),
                float(trains[0].t_stop.rescale("ms").magnitude)))
    return result


def save_spikes(path, populations):
    """Write a list of PopulationSpikes to an ``.npz`` file (see :func:`load_spikes`)."""
    arrays = {"labels": np.array([p.label for p in populations], dtype=str)}
    for k, p in enumerate(populations):
        arrays.update({f"{k}_recorded": p.recorded, f"{k}_neuron": p.neuron,
                       f"{k}_times": p.times,
                       f"{k}_info": np.array([p.size, p.t_start, p.t_stop], dtype=float)})
    np.savez_compressed(path, **arrays)


def load_spikes(path):
    """The list of PopulationSpikes written by :func:`save_spikes`."""
    with np.load(path) as data:
        labels = [str(label) for label in data["labels"]]
        return [PopulationSpikes(label, int(data[f"{k}_info"][0]), data[f"{k}_recorded"],
                                 data[f"{k}_neuron"], data[f"{k}_times"],
                                 float(data[f"{k}_info"][1]), float(data[f"{k}_info"][2]))
                for k, label in enumerate(labels)]
