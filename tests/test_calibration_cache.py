"""The calibration cache under stress (issue 12): Ctrl-C during a calibration, two
processes calibrating the same chip instance, malformed entries and files, atomic
writes; and the calibration's progress bar.

The calibrations run on a 4-circuit variant of the analog chip (a user TOML file),
in child processes started together.
"""

import json
import os
import re
import shutil
import signal
import warnings
from importlib import resources
from types import SimpleNamespace

import numpy as np
import pytest

import pyNN.sparsehw as sim
from pyNN_sparsehw.calibration import CalibrationError, CalibrationResult, cache_path, calibrate
from pyNN_sparsehw.calibration.cache import _calibration_lock, _read_cache_entry
from pyNN_sparsehw.calibration.result import FORMAT
from pyNN_sparsehw.calibration.routines import Leak
from pyNN_sparsehw.chip import load_chip
from pyNN_sparsehw.engine import files

from child_process import Child

SHARED, INTERRUPTED = 21, 22           # chip seeds of the two child processes below
LONG_SEED = 23
#: environment variable that enables the tests that calibrate in full
LONG_TESTS = "PYNN_SPARSEHW_LONG_TESTS"
PROGRESS_LINE = r"calibrating \w+: \d+/\d+ measurements"

SETUP = """
import sys
import pyNN.sparsehw as sim
from pyNN_sparsehw import simulator
sim.setup(chip=sys.argv[1], chip_seed=int(sys.argv[2]))
codes = simulator.state.calibration.codes
print("codes", {name: codes[name].tolist() for name in sorted(codes)}, flush=True)
"""


def _tiny_chip(folder):
    """The analog chip model with 4 circuits on one chip, as a TOML file."""
    text = (resources.files("pyNN_sparsehw.models") / "analog.toml").read_text()
    for old, new in (("max_chips = 16", "max_chips = 1"),
                     ("chip_grid = [4, 4]", "chip_grid = [1, 1]"),
                     ("neurons_per_core = 512", "neurons_per_core = 4"),
                     ('name = "analog"', 'name = "tiny"')):
        assert old in text
        text = text.replace(old, new)
    path = folder / "tiny.toml"
    path.write_text(text)
    return str(path)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The 4-circuit chip and a cache folder of its own (the integration code cached
    by earlier runs is copied in: deriving it is not what these tests are about)."""
    folder = tmp_path_factory.mktemp("calibration_cache")
    cache = folder / "cache"
    outer = os.environ.get("PYNN_SPARSEHW_CACHE")
    if outer and (os.path.isdir(os.path.join(outer, "integrators"))):
        shutil.copytree(os.path.join(outer, "integrators"), cache / "integrators")
    path = _tiny_chip(folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYNN_SPARSEHW_CACHE", str(cache))
        yield SimpleNamespace(path=path, chip=load_chip(path), cache=cache)


@pytest.fixture(scope="module")
def children(tiny):
    """Two processes calling setup() on the tiny chip (calibration "auto"), started
    together:

    - `interrupted` (seed INTERRUPTED) gets Ctrl-C in the middle of its calibration;
    - `waiting` (seed SHARED) finds a malformed cache entry, and then the entry's lock
      held by this test process, which plays a process calibrating that chip
      instance: it writes a result under the lock and lets go; `waiting` must then
      read that result rather than calibrate.
    """
    env = {"PYNN_SPARSEHW_CACHE": str(tiny.cache), "PYNN_SPARSEHW_PROGRESS": "auto"}
    entry = cache_path(tiny.chip, SHARED)
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text(json.dumps({"format": FORMAT, "version": 1, "codes": {}}))
    written = CalibrationResult.from_dict(_valid_dict(tiny.chip, SHARED))
    started = []
    try:
        with _calibration_lock(entry, tiny.chip, SHARED):
            interrupted = Child(SETUP, tiny.path, INTERRUPTED, env=env)
            waiting = Child(SETUP, tiny.path, SHARED, env=env)
            started += [interrupted, waiting]
            interrupted.wait_for(PROGRESS_LINE)
            interrupted.interrupt()
            waiting.wait_for("another process is calibrating chip 'tiny' "
                             rf"\(chip_seed {SHARED}\); waiting")
            written.save(entry)
        status = {"interrupted": interrupted.finish(), "waiting": waiting.finish()}
        yield SimpleNamespace(waiting=waiting, interrupted=interrupted, status=status,
                              entry=entry, written=written)
    finally:
        for child in started:
            child.kill()


def test_ctrl_c_during_calibration_raises_and_caches_nothing(tiny, children):
    child = children.interrupted
    assert children.status["interrupted"] == -signal.SIGINT, child.text
    assert "KeyboardInterrupt" in child.stderr and "codes" not in child.stdout
    assert not cache_path(tiny.chip, INTERRUPTED).exists()
    assert not list(cache_path(tiny.chip, INTERRUPTED).parent.glob("*.tmp"))
    # its progress in a log (stderr is a pipe): plain lines, no '\r' frames
    assert re.search(PROGRESS_LINE, child.stderr) and "\r" not in child.stderr


def test_a_process_waits_for_the_one_calibrating_and_reads_its_result(children):
    waiting = children.waiting
    assert children.status["waiting"] == 0, waiting.text
    assert f"ignoring the cached calibration {children.entry}" in waiting.stderr
    assert "'chip' is None" in waiting.stderr
    assert not re.search(PROGRESS_LINE, waiting.stderr), waiting.text   # did not calibrate
    codes = children.written.codes
    assert waiting.stdout.strip() == \
        "codes " + str({name: codes[name].tolist() for name in sorted(codes)})


@pytest.mark.skipif(not os.environ.get(LONG_TESTS),
                    reason=f"calibrates the tiny chip in full (~20 s): set {LONG_TESTS}=1 "
                           f"(make test-long)")
def test_two_calibrating_processes_do_the_work_once_and_both_get_it(tiny):
    env = {"PYNN_SPARSEHW_CACHE": str(tiny.cache), "PYNN_SPARSEHW_PROGRESS": "auto"}
    first = Child(SETUP, tiny.path, LONG_SEED, env=env)
    started = [first]
    try:
        first.wait_for(PROGRESS_LINE)                   # calibrating, holding the lock
        second = Child(SETUP, tiny.path, LONG_SEED, env=env)
        started.append(second)
        statuses = first.finish(), second.finish()
    finally:
        for child in started:
            child.kill()
    assert statuses == (0, 0), first.text + second.text
    assert f"another process is calibrating chip 'tiny' (chip_seed {LONG_SEED}); " \
           f"waiting" in second.stderr
    assert not re.search(PROGRESS_LINE, second.stderr), second.text   # it did not calibrate
    assert first.stdout == second.stdout and "tau_m" in first.stdout
    lines = [line for line in first.err if re.search(PROGRESS_LINE, line)]
    assert 3 <= len(lines) <= 11 and "\r" not in first.stderr       # plain lines in a log


def test_malformed_cache_entry_is_recalibrated_and_replaced(tiny, monkeypatch):
    """cached_or_calibrated() on an entry of valid JSON but the wrong structure (a
    KeyError at every setup() before issue 12): a warning names the file, the chip
    is calibrated (here: a stand-in that counts the calls) and the entry replaced."""
    from pyNN_sparsehw.calibration import cache
    fresh = CalibrationResult.from_dict(_valid_dict(tiny.chip, 8))
    calls = []
    monkeypatch.setattr(cache, "calibrate", lambda *args, **kw: calls.append(args) or fresh)
    entry = cache_path(tiny.chip, 8)
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text(json.dumps({"format": FORMAT, "version": 1, "chip": "tiny"}))
    with pytest.warns(UserWarning, match=f"ignoring the cached calibration {re.escape(str(entry))}"
                                         r": .*'chip' is 'tiny', not an object"):
        assert cache.cached_or_calibrated(tiny.chip, 8, progress=False, report=False) is fresh
    assert len(calls) == 1
    np.testing.assert_array_equal(CalibrationResult.load(entry).codes["tau_m"],
                                  fresh.codes["tau_m"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = cache.cached_or_calibrated(tiny.chip, 8, progress=False, report=False)
    assert len(calls) == 1 and again.codes.keys() == fresh.codes.keys()


def test_progress_off_silences_the_calibration_bar(tiny, monkeypatch, capsys):
    monkeypatch.setenv("PYNN_SPARSEHW_PROGRESS", "off")
    result = calibrate(tiny.chip, 5, routines=[Leak()], progress=True)
    assert result.codes["v_rest"].shape == (1, 4)
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------- malformed files
def _valid_dict(chip, chip_seed=3):
    result = CalibrationResult.empty(chip, chip_seed)
    result.codes["tau_m"] = np.array([[60, 61, 62, 63]])
    result.success["tau_m"] = np.array([[True, True, False, True]])
    return result.to_dict()


def _damaged(data, damage):
    if damage == "codes wrong length":
        data["codes"]["tau_m"] = [[60, 61, 62]]
    elif damage == "codes not integers":
        data["codes"]["tau_m"] = [["a", "b", "c", "d"]]
    elif damage == "codes ragged":
        data["codes"]["tau_m"] = [[60, 61], [1]]
    elif damage == "success not 0/1":
        data["success"]["tau_m"] = [[0, 1, 2, 1]]
    elif damage == "chip missing":
        del data["chip"]
    elif damage == "seed a string":
        data["chip"]["seed"] = "3"
    elif damage == "codes a list":
        data["codes"] = [1, 2]
    elif damage == "a JSON list":
        data = [data]
    elif damage == "code beyond its trim DAC":
        data["codes"]["tau_m"] = [[60, 61, 62, 200]]
    return json.dumps(data)


DAMAGES = {"codes wrong length": r"codes\['tau_m'\] has shape \(1, 3\)",
           "codes not integers": r"codes\['tau_m'\] holds <U1 values, not integers",
           "codes ragged": r"codes\['tau_m'\] is not a 1 x 4 array",
           "success not 0/1": r"success\['tau_m'\] holds values other than 0 and 1",
           "chip missing": r"'chip' is None",
           "seed a string": r"chip.seed is '3', not an integer",
           "codes a list": r"'codes' is a list, not an object",
           "a JSON list": r"holds a JSON list",
           "code beyond its trim DAC": r"trim codes of 'tau_m' from 60 to 200, outside the "
                                       r"7-bit trim DAC",
           "not JSON": r"cannot read calibration result"}


@pytest.mark.parametrize("damage", DAMAGES)
def test_malformed_calibration_file_passed_to_setup_names_file_and_fault(tiny, tmp_path,
                                                                          damage):
    path = tmp_path / "mine.json"
    data = _valid_dict(tiny.chip)
    path.write_text("{not json" if damage == "not JSON" else _damaged(data, damage))
    names_both = f"(?s)(?=.*{re.escape(str(path))})(?=.*{DAMAGES[damage]})"
    with pytest.raises(CalibrationError, match=names_both):
        sim.setup(chip=tiny.path, chip_seed=3, calibration=str(path))
    # the same file as a cache entry: ignored, with a warning naming it
    ignored = f"ignoring the cached calibration {re.escape(str(path))}"
    with pytest.warns(UserWarning, match=ignored):
        assert _read_cache_entry(path, tiny.chip, 3) is None


def test_valid_file_loads(tiny, tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(_damaged(_valid_dict(tiny.chip), None))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = _read_cache_entry(path, tiny.chip, 3)
    np.testing.assert_array_equal(result.codes["tau_m"], [[60, 61, 62, 63]])
    assert result.usable.tolist() == [[True, True, False, True]]


# --------------------------------------------------------------- atomic writes
def test_writes_are_atomic(tmp_path, monkeypatch):
    path = tmp_path / "entry.json"
    path.write_text("old")
    calls = []
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append("fsync"))
    replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append("replace"), replace(a, b)))
    files.atomic_write_text(path, "new")
    assert path.read_text() == "new" and calls[:2] == ["fsync", "replace"]
    # a write that fails half-way (text that cannot be encoded) leaves the old file
    with pytest.raises(UnicodeEncodeError):
        files.atomic_write_text(path, "half" + "\udcff")
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["entry.json"]
