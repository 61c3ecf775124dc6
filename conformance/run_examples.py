"""Run PyNN 0.13.0's own example scripts, unchanged, on pyNN.sparsehw.

The examples come from PyNN's source distribution (fetched from the package registry
by :func:`run_scenarios.fetch_sdist`, cached in ``.cache/pynn-sdist/``); they are
extracted to ``build/conformance/examples/`` and each is run in its own process as
``python EXAMPLE.py sparsehw [ARGS]`` (the way ``pyNN.utility.get_simulator`` expects),
with a time limit. The report lists every example: passed, failed (with the last line
of its error) or not applicable (the example needs something that is not part of
PyNN's standard API or not installed here: MPI, NineML, CSA, NEURON-only
mechanisms, or a model PyNN's Brian2 backend lacks too).

    python conformance/run_examples.py [--timeout 300] [--only NAME ...]

Exit code 0 when every applicable example ran.
"""

import argparse
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path, PurePosixPath

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_scenarios import REPO, fetch_sdist  # noqa: E402

#: examples that cannot run on any Brian2-like backend here, and why
NOT_APPLICABLE = {
    "distrib_example.py": "needs mpi4py (MPI)",
    "gif_neuron.py": "GIF_cond_exp is not a standard model of this backend (nor pyNN.brian2)",
    "multiquantal_synapses.py": "MultiQuantalSynapse is not implemented (nor in pyNN.brian2)",
    "nineml_brunel.py": "needs NineML",
    "nineml_neuron.py": "needs NineML",
    "nrn_artificial_cell.py": "NEURON artificial cells",
    "random_distributions.py": "a demonstration of PyNN's RNGs that takes no simulator "
                               "(and imports pyNN.neuron when NEURON is installed)",
    "simpleRandomNetwork_csa.py": "needs the csa package",
    "stochastic_deterministic_comparison.py": "stochastic synapses are not implemented "
                                              "(nor in pyNN.brian2)",
    "stochastic_synapses.py": "stochastic synapses are not implemented (nor in pyNN.brian2)",
    "stochastic_tsodyksmarkram.py": "stochastic synapses are not implemented "
                                    "(nor in pyNN.brian2)",
}
#: extra command-line arguments some examples require after the simulator name
ARGUMENTS = {"VAbenchmarks.py": ["COBA"]}
#: the examples use every cell type; they check the backend, so run on the ideal chip
CHIP = "ideal"


def extract_examples(sdist, dest):
    """Copy ``<top>/examples/*.py`` of the sdist to ``dest``; return the file names."""
    dest.mkdir(parents=True, exist_ok=True)
    names = []
    with tarfile.open(sdist, "r:gz") as tar:
        for member in tar.getmembers():
            parts = PurePosixPath(member.name).parts
            if len(parts) == 3 and parts[1] == "examples" and parts[2].endswith(".py") \
                    and member.isfile():
                (dest / parts[2]).write_bytes(tar.extractfile(member).read())
                names.append(parts[2])
    return sorted(names)


def run_example(path, timeout):
    """(status, seconds, detail) of running one example on sparsehw."""
    command = [sys.executable, path.name, "sparsehw"] + ARGUMENTS.get(path.name, [])
    start = time.perf_counter()
    try:
        result = subprocess.run(command, cwd=path.parent, stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=timeout,
                                env=dict(os.environ, MPLBACKEND="Agg", PYTHONSAFEPATH="1",
                                         PYNN_SPARSEHW_CHIP=CHIP))
    except subprocess.TimeoutExpired:
        return "failed", timeout, f"timed out after {timeout} s"
    elapsed = time.perf_counter() - start
    if result.returncode == 0:
        return "passed", elapsed, ""
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    return "failed", elapsed, lines[-1] if lines else f"exit code {result.returncode}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per example")
    parser.add_argument("--only", nargs="*", help="run only these examples")
    args = parser.parse_args(argv)

    sdist = fetch_sdist(REPO / ".cache" / "pynn-sdist")
    work = REPO / "build" / "conformance" / "examples"
    names = extract_examples(sdist, work)
    if args.only:
        names = [name for name in names if name in args.only or name[:-3] in args.only]
    counts = {"passed": 0, "failed": 0, "not applicable": 0}
    for name in names:
        if name in NOT_APPLICABLE:
            status, seconds, detail = "not applicable", 0.0, NOT_APPLICABLE[name]
        else:
            status, seconds, detail = run_example(work / name, args.timeout)
        counts[status] += 1
        print(f"{name:42s} {status:15s} {seconds:7.1f} s  {detail}", flush=True)
    print(f"\nPyNN {len(names)} examples on pyNN.sparsehw: " +
          ", ".join(f"{n} {status}" for status, n in counts.items()))
    return 0 if counts["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
