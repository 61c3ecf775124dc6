"""The ``sparsehw`` command.

::

    sparsehw run SCRIPT [ARGS...] [--chip C] [--chip-seed N] [--out DIR] [--progress]
    sparsehw compare SCRIPT [ARGS...] [--reference nest ...] [--chip C] [--out DIR]
                     [--tolerance KEY=VALUE ...]
    sparsehw chips [show NAME]
    sparsehw report RESULTS_DIR [--output FILE]
    sparsehw run-nir GRAPH --input SPIKES.npz [--chip C] [--chip-seed N]
                     [--calibration ...] [--out DIR]   (pyNN_sparsehw.nir.command)
    sparsehw calibrate ...        (pyNN_sparsehw.calibration.command)
    sparsehw train-demo ...       (pyNN_sparsehw.training.demo)

``run`` and ``compare`` take the script's own arguments anywhere after SCRIPT; the
options listed above are taken by ``sparsehw``, everything else goes to the
script. Arguments after ``--`` all go to the script (for a script with an option of
the same name as one of ours). How the script is pointed at each simulator is
described in :mod:`pyNN_sparsehw.cli.scripts`.
"""

import argparse
import importlib
import sys
from pathlib import Path

from ..report import plots
from ..engine.progress import PROGRESS_ENV
from .scripts import (CALIBRATION_ENV, CHIP_ENV, CHIP_SEED_ENV, ScriptError, environment, recorded_spikes,
                      run_script, script_traceback)

COMMANDS = {
    "run": "run a PyNN script on pyNN.sparsehw; write the hardware report",
    "compare": "run a PyNN script on pyNN.sparsehw and reference simulators; compare spikes",
    "chips": "list the chip models (chips show NAME: one in full)",
    "report": "render a saved hardware report as one self-contained HTML page",
    "run-nir": "simulate a NIR graph on a chip with input spikes; write outputs and report",
    "calibrate": "calibrate a chip instance (arguments go to the calibration command)",
    "train-demo": "hardware-in-the-loop training demo (arguments go to the demo)",
}
#: commands implemented by modules that other parts of the project provide
FORWARDED = {"run-nir": ("pyNN_sparsehw.nir.command", "NIR (package nir)"),
             "calibrate": ("pyNN_sparsehw.calibration.command", "calibration"),
             "train-demo": ("pyNN_sparsehw.training.demo", "training")}


# ------------------------------------------------------------- arguments
def _script_parser(command, description):
    parser = argparse.ArgumentParser(
        prog=f"sparsehw {command}", description=description,
        usage=f"sparsehw {command} SCRIPT [ARGS...] [options] [-- ARGS...]",
        epilog="Every argument that is not an option above goes to the script; "
               "everything after -- goes to the script.")
    parser.add_argument("--chip", help="chip model for pyNN.sparsehw: a name (sparsehw chips) "
                                       "or a TOML file (sets PYNN_SPARSEHW_CHIP)")
    parser.add_argument("--chip-seed", type=int, metavar="N",
                        help="which instance of the chip: its frozen mismatch "
                             "(sets PYNN_SPARSEHW_CHIP_SEED)")
    parser.add_argument("--calibration", metavar="auto|none|PATH",
                        help="calibration of an analog chip: auto (default: cached or "
                             "calibrated now), none (uncalibrated) or a saved result "
                             "(sets PYNN_SPARSEHW_CALIBRATION)")
    parser.add_argument("--out", metavar="DIR", help="results folder")
    return parser


RUN_PARSER = _script_parser("run", "Run an unchanged PyNN script on pyNN.sparsehw and write "
                                   "the hardware report (text, JSON, plots).")
RUN_PARSER.add_argument("--progress", action="store_const", const="on", default=None,
                        help="always show the simulation progress bar (default: for runs "
                             "that take longer than a few seconds)")
RUN_PARSER.add_argument("--no-progress", dest="progress", action="store_const", const="off",
                        help="never show the progress bar")

COMPARE_PARSER = _script_parser(
    "compare", "Run an unchanged PyNN script on pyNN.sparsehw and on reference simulators, "
               "each in its own process, and compare the recorded spikes per population.")
COMPARE_PARSER.add_argument("--reference", action="append", metavar="SIM",
                            help="reference backend pyNN.SIM, repeatable (default: nest)")
COMPARE_PARSER.add_argument("--tolerance", action="append", metavar="KEY=VALUE", default=[],
                            help="pass/fail limit, repeatable: rate, rate_hz, isi_cv, "
                                 "rate_correlation, spike_agreement, van_rossum, "
                                 "min_cv_neurons")
COMPARE_PARSER.add_argument("--deterministic", choices=("auto", "yes", "no"), default="auto",
                            help="check spike times (spike agreement, van Rossum); auto: "
                                 "yes unless the network has Poisson/Gamma sources, noisy "
                                 "currents or stochastic synapses")
COMPARE_PARSER.add_argument("--van-rossum-tau", type=float, default=10.0, metavar="MS",
                            help="time constant of the van Rossum distance (default 10 ms)")
COMPARE_PARSER.add_argument("--match-window", type=float, default=1.0, metavar="MS",
                            help="largest time difference of two matched spikes "
                                 "(default 1 ms)")
COMPARE_PARSER.add_argument("--timeout", type=float, metavar="S",
                            help="seconds allowed to each simulator")


def split_script_arguments(parser, argv):
    """(options, script, script arguments) from the arguments of run / compare.

    Tokens that are options of `parser` (with their values) are parsed by it; the
    first other token is the script and the remaining ones are its arguments; after
    ``--`` every token is the script's."""
    takes_value = {}
    for action in parser._actions:
        for option in action.option_strings:
            takes_value[option] = action.nargs != 0
    ours, theirs = [], []
    tokens = list(argv)
    while tokens:
        token = tokens.pop(0)
        if token == "--":
            theirs += tokens
            break
        name = token.split("=", 1)[0]
        if name in takes_value:
            ours.append(token)
            if takes_value[name] and "=" not in token and tokens:
                ours.append(tokens.pop(0))
        else:
            theirs.append(token)
    options = parser.parse_args(ours)
    if not theirs:
        parser.error("no SCRIPT given")
    return options, theirs[0], theirs[1:]


# ---------------------------------------------------------------- commands
def command_run(argv):
    """``sparsehw run``: see :data:`RUN_PARSER`."""
    options, script, args = split_script_arguments(RUN_PARSER, argv)
    if not Path(script).is_file():
        RUN_PARSER.error(f"no script at {script}")
    out = Path(options.out) if options.out else Path("results") / Path(script).stem
    with environment(**{CHIP_ENV: options.chip, CHIP_SEED_ENV: options.chip_seed,
                        CALIBRATION_ENV: options.calibration, PROGRESS_ENV: options.progress}):
        try:
            module = run_script(script, args, "sparsehw")
        except ScriptError as error:
            print(f"sparsehw run: {error}", file=sys.stderr)
            return error.code if isinstance(error.code, int) else 1
        except Exception as error:          # the script's own error: its traceback
            print(script_traceback(error, script), end="", file=sys.stderr)
            print(f"sparsehw run: {script} failed ({type(error).__name__}); no hardware "
                  f"report written", file=sys.stderr)
            return 1
    if not module.simulator.state.description.populations:
        print(f"sparsehw run: {script} built no network on pyNN.sparsehw: "
              f"no hardware report written")
        return 0
    files = write_run_results(module, out)
    print(f"\nhardware report of {Path(script).name} written to {out}/: "
          + ", ".join(Path(f).name for f in files.values()))
    print(f"render it as a web page with: sparsehw report {out}")
    return 0


def write_run_results(module, out):
    """Write the hardware report of the network in ``module.simulator.state``:
    ``hardware_report.txt``, ``hardware_report.json``, ``mesh.png`` (resources per
    core on the mesh) and ``rasters.png`` (recorded spikes). Returns the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = module.hardware_report()
    files = {"text": out / "hardware_report.txt", "json": out / "hardware_report.json"}
    files["text"].write_text(str(report) + "\n")
    report.to_json(files["json"])
    mesh = plots.mesh_heatmap(report.as_dict())
    if mesh is not None:
        files["mesh"] = plots.save_png(mesh, out / "mesh.png")
    spikes = recorded_spikes(module)
    chip = report.chip["name"]
    raster = plots.rasters({f"sparsehw (chip {chip})": spikes}) if spikes else None
    if raster is not None:
        files["rasters"] = plots.save_png(raster, out / "rasters.png")
    return files


def command_compare(argv):
    """``sparsehw compare``: see :data:`COMPARE_PARSER`. Exit status 0 when every
    check passed, 1 when one failed, 2 when nothing could be compared."""
    from .compare import Tolerances, compare, summary_text
    options, script, args = split_script_arguments(COMPARE_PARSER, argv)
    if not Path(script).is_file():
        COMPARE_PARSER.error(f"no script at {script}")
    try:
        tolerances = Tolerances.parse(options.tolerance)
    except ValueError as error:
        COMPARE_PARSER.error(str(error))
    deterministic = {"auto": None, "yes": True, "no": False}[options.deterministic]
    result = compare(script, args, options.reference or ["nest"], chip=options.chip,
                     chip_seed=options.chip_seed, calibration=options.calibration,
                     out=options.out, tolerances=tolerances,
                     deterministic=deterministic, van_rossum_tau_ms=options.van_rossum_tau,
                     match_window_ms=options.match_window, timeout=options.timeout)
    print()
    print(summary_text(result))
    print("\nresults: " + ", ".join(result["files"].values()))
    if not result["compared"]:
        print("sparsehw compare: nothing could be compared", file=sys.stderr)
        return 2
    return 0 if result["passed"] else 1


def command_chips(argv):
    """``sparsehw chips`` / ``sparsehw chips show NAME``."""
    from ..chip import load_chip
    from ..chip.model import ChipModelError
    from .chipinfo import chip_text, chips_table
    parser = argparse.ArgumentParser(prog="sparsehw chips",
                                     description="List the chip models, or show one.")
    parser.add_argument("action", nargs="?", choices=("show",))
    parser.add_argument("name", nargs="?", help="a shipped chip name or a TOML file")
    options = parser.parse_args(argv)
    if options.action is None:
        print(chips_table())
        print("\nsparsehw chips show NAME: one model in full")
        return 0
    if options.name is None:
        parser.error("chips show needs a chip NAME")
    try:
        print(chip_text(load_chip(options.name)))
    except ChipModelError as error:
        print(f"sparsehw chips: {error}", file=sys.stderr)
        return 2
    return 0


def command_report(argv):
    """``sparsehw report RESULTS_DIR``: write RESULTS_DIR/report.html."""
    from ..report.html import write_html
    parser = argparse.ArgumentParser(
        prog="sparsehw report",
        description="Render the hardware report saved by `sparsehw run` as one "
                    "self-contained HTML page (plots embedded).")
    parser.add_argument("results", help="results folder of sparsehw run (or its "
                                        "hardware_report.json)")
    parser.add_argument("--output", "-o", help="HTML file (default RESULTS_DIR/report.html)")
    options = parser.parse_args(argv)
    try:
        path = write_html(options.results, options.output)
    except FileNotFoundError as error:
        print(f"sparsehw report: {error}", file=sys.stderr)
        return 2
    print(f"report written to {path}")
    return 0


def command_forwarded(command, argv):
    """calibrate / train-demo: hand the arguments to the module that implements it."""
    module_name, feature = FORWARDED[command]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        print(f"{feature} is not available in this installation", file=sys.stderr)
        return 2
    return module.main(list(argv))


def usage():
    width = max(len(name) for name in COMMANDS)
    lines = ["usage: sparsehw COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, text in COMMANDS.items()]
    lines += ["", "sparsehw COMMAND --help: the options of one command"]
    return "\n".join(lines)


def main(argv=None):
    """Entry point of the ``sparsehw`` command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command in FORWARDED:
        return command_forwarded(command, rest)
    handlers = {"run": command_run, "compare": command_compare, "chips": command_chips,
                "report": command_report}
    if command not in handlers:
        print(f"sparsehw: unknown command {command!r}\n\n{usage()}", file=sys.stderr)
        return 2
    return handlers[command](rest)
