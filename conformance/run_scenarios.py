"""Run PyNN 0.13.0's own system scenarios against pyNN.sparsehw.

PyNN ships backend-independent system tests in ``test/system/scenarios`` of its
source distribution. Each test takes a ``sim`` argument and is parametrized with
``@run_with_simulators("nest", "neuron", "brian2")`` (from the package's
``fixtures.py``). This script runs, on our backend, exactly the scenarios that
PyNN runs on Brian2:

1. Fetch the PyNN sdist from the package registry (once; cached in
   ``.cache/pynn-sdist/``)::

       python -m pip download --no-binary :all: --no-deps PyNN==0.13.0 -d .cache/pynn-sdist

2. Extract ``test/system/scenarios/`` into ``build/conformance/pynn_scenarios/``
   (wiped and re-extracted every run). The folder keeps its ``__init__.py``, so
   it is imported as the package ``pynn_scenarios`` and the scenarios' relative
   import ``from .fixtures import run_with_simulators`` works. Nothing of PyNN
   is copied into this repository.

3. Rewrite the decorators with an AST transform (source text is changed only at
   the decorator's exact position):

   * a ``@run_with_simulators(...)`` whose list contains ``"brian2"`` becomes
     ``@run_with_simulators("sparsehw")`` (the ``--backend``);
   * any other ``@run_with_simulators(...)`` (e.g. ``("nest", "neuron")``, for
     features PyNN's Brian2 backend lacks) is left as it is, and a generated
     ``conftest.py`` *deselects* every test item whose ``sim`` is not the
     backend. These tests thus keep their original simulators but never run
     here; pytest reports them as "deselected", not as skipped or passed.

4. Run ``python -m pytest -q -p no:cacheprovider`` on the package, from the work
   folder and with its own ``pytest.ini`` (so no configuration or conftest of
   this repository applies). No per-test timeout is set. A scenario that calls
   ``pytest.skip`` (e.g. a backend that cannot be imported) counts as skipped.

5. Print a short report (scenario functions selected, test items passed,
   failed, skipped, wall time) and exit with pytest's exit code.

If ``pyNN.<backend>`` cannot be imported the script stops before step 1 with
exit code 3 (the scenarios' fixture would otherwise skip every test quietly).

Usage::

    python conformance/run_scenarios.py                       # all, on sparsehw
    python conformance/run_scenarios.py -k "test_setup or test_run_until"
    python conformance/run_scenarios.py --backend brian2 -k test_setup   # check the runner
    make conformance ARGS='-k test_reset'

Options of this script are listed below; every other argument (``-k``, ``-x``,
``-v``, ``--lf``...) is passed to pytest unchanged (also everything after
``--``).
"""

import argparse
import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path, PurePosixPath

REPO = Path(__file__).resolve().parent.parent
PYNN_VERSION = "0.13.0"
# sha256 of pynn-0.13.0.tar.gz as served by the registry when this runner was
# written: a different file would silently change the set of scenarios.
PYNN_SDIST_SHA256 = {
    "0.13.0": "da2821e45055a88de6cf34896067eaaebcabbfdfb7883dd147353e7b78617815",
}
SCENARIOS_IN_SDIST = ("test", "system", "scenarios")
PACKAGE_NAME = "pynn_scenarios"
DECORATOR = "run_with_simulators"
REFERENCE_SIMULATOR = "brian2"
REPORT_ENV = "PYNN_SPARSEHW_CONFORMANCE_REPORT"


# --- 1. fetch ----------------------------------------------------------------

def _find_sdist(cache_dir, version):
    pattern = re.compile(rf"pynn-{re.escape(version)}\.tar\.gz$", re.IGNORECASE)
    found = sorted(p for p in cache_dir.glob("*.tar.gz") if pattern.match(p.name))
    return found[0] if found else None


def fetch_sdist(cache_dir, version=PYNN_VERSION):
    """Path of the PyNN sdist in ``cache_dir``, downloaded with pip if missing."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    sdist = _find_sdist(cache_dir, version)
    if sdist is not None:
        print(f"using cached {sdist.relative_to(REPO) if sdist.is_relative_to(REPO) else sdist}")
        return sdist
    cmd = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
           f"PyNN=={version}", "-d", str(cache_dir)]
    print("fetching:", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL)
    sdist = _find_sdist(cache_dir, version)
    if sdist is None:
        raise SystemExit(f"pip download did not leave a PyNN-{version}.tar.gz in {cache_dir}")
    return sdist


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --- 2. extract --------------------------------------------------------------

def extract_scenarios(sdist, dest):
    """Copy ``<top>/test/system/scenarios/*`` of the sdist to ``dest`` (fresh)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    n = 0
    with tarfile.open(sdist, "r:gz") as tar:
        for member in tar.getmembers():
            parts = PurePosixPath(member.name).parts
            # <top>/test/system/scenarios/<file>, regular files only, no sub-folders
            if (len(parts) == 5 and parts[1:4] == SCENARIOS_IN_SDIST and member.isfile()
                    and parts[4] not in ("..", ".") and "/" not in parts[4]):
                data = tar.extractfile(member).read()
                (dest / parts[4]).write_bytes(data)
                n += 1
    if not (dest / "__init__.py").exists() or not (dest / "fixtures.py").exists():
        raise SystemExit(f"{sdist.name} has no {'/'.join(SCENARIOS_IN_SDIST)} package")
    return n


# --- 3. rewrite --------------------------------------------------------------

def _decorator_simulators(node):
    """Simulator names of a ``@run_with_simulators(...)`` decorator, else None."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    if name != DECORATOR or node.keywords:
        return None
    try:
        return [ast.literal_eval(arg) for arg in node.args]
    except ValueError:
        return None


def rewrite_source(source, backend):
    """Return (new_source, selected, left) for one scenario module.

    ``selected``/``left``: lists of (function name, original simulators) whose
    decorator was rewritten to ``backend`` / left unchanged.
    """
    tree = ast.parse(source)
    lines = source.encode("utf-8").splitlines(keepends=True)
    edits, selected, left = [], [], []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for deco in node.decorator_list:
            sims = _decorator_simulators(deco)
            if sims is None:
                continue
            if REFERENCE_SIMULATOR in sims:
                # ast offsets are UTF-8 byte offsets, lines 1-based
                edits.append((deco.lineno, deco.col_offset, deco.end_lineno,
                              deco.end_col_offset, f'{DECORATOR}("{backend}")'))
                selected.append((node.name, sims))
            else:
                left.append((node.name, sims))
    for start_line, start_col, end_line, end_col, text in sorted(edits, reverse=True):
        head = lines[start_line - 1][:start_col]
        tail = lines[end_line - 1][end_col:]
        lines[start_line - 1:end_line] = [head + text.encode("utf-8") + tail]
    new_source = b"".join(lines).decode("utf-8")
    ast.parse(new_source)  # the rewrite must stay valid Python
    return new_source, selected, left


CONFTEST = '''\
"""Generated by conformance/run_scenarios.py: keep only the {backend!r} items."""
import json
import os

BACKEND = {backend!r}
_counts = {{}}


def _sim_name(item):
    callspec = getattr(item, "callspec", None)
    if callspec is None or "sim" not in callspec.params:
        return None
    sim = callspec.params["sim"]
    return getattr(sim, "_sim_name", str(sim))


def pytest_collection_modifyitems(config, items):
    keep = [it for it in items if _sim_name(it) in (None, BACKEND)]
    drop = [it for it in items if _sim_name(it) not in (None, BACKEND)]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_collection_finish(session):
    _counts["selected"] = len(session.items)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    path = os.environ.get({report_env!r})
    if not path:
        return
    stats = terminalreporter.stats
    outcome = {{key: len(stats.get(key, []))
               for key in ("passed", "failed", "skipped", "error", "xfailed", "xpassed")}}
    outcome["deselected"] = len(stats.get("deselected", []))
    outcome["selected"] = _counts.get("selected")
    outcome["failed_ids"] = sorted({{r.nodeid for r in stats.get("failed", [])}}
                                   | {{r.nodeid for r in stats.get("error", [])}})
    outcome["exitstatus"] = int(exitstatus)
    with open(path, "w") as f:
        json.dump(outcome, f, indent=2)
'''

PYTEST_INI = """\
# Generated by conformance/run_scenarios.py: isolates this run from any
# configuration of the repository.
[pytest]
python_files = test_*.py
"""


def prepare_workdir(sdist, work_dir, backend):
    """Extract and rewrite the scenarios; return (package dir, summary dict)."""
    pkg = work_dir / PACKAGE_NAME
    extract_scenarios(sdist, pkg)
    selected, left = [], []
    for path in sorted(pkg.glob("test_*.py")):
        new, sel, lft = rewrite_source(path.read_text(encoding="utf-8"), backend)
        path.write_text(new, encoding="utf-8")
        selected += [(path.stem, name, sims) for name, sims in sel]
        left += [(path.stem, name, sims) for name, sims in lft]
    (pkg / "conftest.py").write_text(CONFTEST.format(backend=backend, report_env=REPORT_ENV))
    (work_dir / "pytest.ini").write_text(PYTEST_INI)
    return pkg, {"selected": selected, "left": left}


# --- 4./5. run and report --------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Run PyNN's system scenarios that list brian2 on a PyNN backend.",
        epilog="Unrecognised arguments are passed to pytest (e.g. -k EXPR, -x, -v).")
    parser.add_argument("--backend", default="sparsehw",
                        help="PyNN backend to run the scenarios on: pyNN.<BACKEND> "
                             "(default: sparsehw)")
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".cache" / "pynn-sdist",
                        help="where the PyNN sdist is kept (default: .cache/pynn-sdist)")
    parser.add_argument("--work-dir", type=Path, default=REPO / "build" / "conformance",
                        help="where the scenarios are extracted (default: build/conformance)")
    parser.add_argument("--pynn-version", default=PYNN_VERSION, help=argparse.SUPPRESS)
    args, pytest_args = parser.parse_known_args(argv)
    if "--" in pytest_args:
        pytest_args.remove("--")

    # The scenarios' fixture turns an ImportError of the backend into a skip: all
    # green but nothing tested. Here a backend that cannot be imported is an error.
    # PYTHONSAFEPATH: "-c" would otherwise put the working directory (the repository,
    # whose source tree lacks the installed package data) first on sys.path
    check = subprocess.run([sys.executable, "-c", f"import pyNN.{args.backend}"],
                           env=dict(os.environ, PYTHONSAFEPATH="1"),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    if check.returncode != 0:
        print(check.stdout.rstrip())
        print(f"error: pyNN.{args.backend} cannot be imported with {sys.executable}")
        return 3

    sdist = fetch_sdist(args.cache_dir.resolve(), args.pynn_version)
    digest = _sha256(sdist)
    expected = PYNN_SDIST_SHA256.get(args.pynn_version)
    if expected is not None and digest != expected:
        raise SystemExit(f"{sdist}: sha256 {digest}, expected {expected}. "
                         f"Delete the file to fetch it again.")
    print(f"{sdist.name}  sha256 {digest}" + ("  (as pinned)" if expected else ""))
    work_dir = args.work_dir.resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    pkg, summary = prepare_workdir(sdist, work_dir, args.backend)
    n_sel, n_left = len(summary["selected"]), len(summary["left"])
    print(f"scenarios: {n_sel} list {REFERENCE_SIMULATOR} -> run on pyNN.{args.backend}; "
          f"{n_left} do not (deselected)")

    report_path = work_dir / "report.json"
    if report_path.exists():
        report_path.unlink()
    # the scenarios check exact dynamics: they run on the ideal chip (PyNN's own
    # setup() calls in them do not name a chip)
    env = dict(os.environ, **{REPORT_ENV: str(report_path)}, PYNN_SPARSEHW_CHIP="ideal")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           "-c", str(work_dir / "pytest.ini"), "--rootdir", str(work_dir),
           PACKAGE_NAME, *pytest_args]
    print("running:", " ".join(cmd), f"(in {work_dir})", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=work_dir, env=env, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - t0

    print()
    print(f"=== PyNN {args.pynn_version} system scenarios on pyNN.{args.backend} ===")
    print(f"scenario functions listing {REFERENCE_SIMULATOR}: {n_sel} "
          f"(others, deselected: {n_left})")
    if report_path.exists():
        rep = json.loads(report_path.read_text())
        print(f"test items selected : {rep['selected']}"
              + (f" (after pytest arguments {' '.join(pytest_args)})" if pytest_args else ""))
        print(f"passed              : {rep['passed']}")
        print(f"failed              : {rep['failed']}")
        print(f"errors              : {rep['error']}")
        print(f"skipped             : {rep['skipped']}")
        if rep["xfailed"] or rep["xpassed"]:
            print(f"xfailed / xpassed   : {rep['xfailed']} / {rep['xpassed']}")
        for nodeid in rep["failed_ids"]:
            print(f"  FAILED {nodeid}")
    else:
        print("pytest wrote no report (it stopped before the end of the session)")
    print(f"wall time           : {wall:.1f} s")
    print(f"pytest exit code    : {proc.returncode}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
