"""The `sparsehw` command: run, chips, report, forwarding; running unchanged scripts
(backend from argv, get_simulator, direct imports); progress bars."""

import importlib.metadata
import io
import json
import os
import subprocess
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

from pyNN_sparsehw.cli import commands as cli, scripts
from pyNN_sparsehw.engine.progress import (AUTO_DELAY_S, PLAIN_LINES, SimulationProgress,
                                          progress_bar, progress_mode)

GET_SIMULATOR_SCRIPT = """\
from pyNN.utility import get_simulator
sim, options = get_simulator(("--rate", "input rate (Hz)", {"type": float, "default": 50.0}))
sim.setup(timestep=0.1)
cells = sim.Population(30, sim.IF_curr_exp(i_offset=%(i_offset)s), label="cells")
source = sim.Population(5, sim.SpikeSourceArray(spike_times=[10.0, 20.0, 30.0]),
                        label="source")
sim.Projection(source, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.5))
cells.record("spikes")
source.record("spikes")
sim.run(%(tstop)s)
print("ran on", sim.__name__, "rate option", options.rate)
sim.end()
"""


def write_script(folder, text, name="net.py"):
    path = Path(folder) / name
    path.write_text(text)
    return path


# ------------------------------------------------------------- arguments
def test_split_script_arguments():
    options, script, args = cli.split_script_arguments(
        cli.RUN_PARSER, ["--chip", "digital", "s.py", "--n", "10", "--chip-seed=3", "x",
                         "--out", "o", "--", "--out", "theirs"])
    assert (options.chip, options.chip_seed, options.out) == ("digital", 3, "o")
    assert script == "s.py"
    assert args == ["--n", "10", "x", "--out", "theirs"]
    with pytest.raises(SystemExit):
        cli.split_script_arguments(cli.RUN_PARSER, ["--chip", "ideal"])


def test_script_arguments_and_direct_imports():
    assert scripts.script_arguments(["nest", "--n", "5"], "sparsehw") == \
        ["sparsehw", "--n", "5"]
    assert scripts.script_arguments(["--n", "5"], "nest") == ["--n", "5"]
    source = ("import numpy\nimport pyNN.nest as sim\nfrom pyNN.neuron import Population\n"
              "from pyNN import brian2, random\nfrom pyNN.random import NumpyRNG\n")
    assert scripts.direct_backend_imports(source) == ["nest", "neuron", "brian2"]


def test_backend_aliases_are_restored():
    import pyNN
    import pyNN_sparsehw
    before = sys.modules.get("pyNN.neuron"), getattr(pyNN, "neuron", None)
    with scripts.backend_aliases(pyNN_sparsehw, ["neuron"]):
        import pyNN.neuron as aliased
        assert aliased is pyNN_sparsehw
    assert (sys.modules.get("pyNN.neuron"), getattr(pyNN, "neuron", None)) == before


def test_run_script_get_simulator_and_direct_import(tmp_path, capsys):
    """The same network through get_simulator() (no backend argument, and 'nest' as
    first argument) and through `import pyNN.nest`: all run on pyNN.sparsehw."""
    text = GET_SIMULATOR_SCRIPT % dict(i_offset=0.0, tstop=50.0)
    path = write_script(tmp_path, text)
    argv = sys.argv[:]
    scripts.run_script(path, ["--rate", "7"], "sparsehw")
    scripts.run_script(path, ["nest", "--rate", "8"], "sparsehw")
    assert sys.argv == argv
    direct = write_script(tmp_path, text.replace(
        "from pyNN.utility import get_simulator\nsim, options = get_simulator(("
        "\"--rate\", \"input rate (Hz)\", {\"type\": float, \"default\": 50.0}))",
        "import pyNN.nest as sim\nclass options: rate = 9"), "direct.py")
    module = scripts.run_script(direct, [], "sparsehw", announce=print)
    out = capsys.readouterr().out
    assert "ran on pyNN_sparsehw rate option 7.0" in out
    assert "ran on pyNN_sparsehw rate option 8.0" in out
    assert "direct.py imports pyNN.nest: running it on pyNN.sparsehw instead" in out
    assert "ran on pyNN_sparsehw rate option 9" in out
    spikes = scripts.recorded_spikes(module)
    assert [p.label for p in spikes] == ["cells", "source"]
    np.testing.assert_allclose(np.unique(spikes[1].times), [10.0, 20.0, 30.0])
    assert spikes[1].times.size == 15
    import pyNN
    assert getattr(pyNN, "nest", None) is not module


def test_run_script_exit_status(tmp_path):
    ok = write_script(tmp_path, "import sys\nsys.exit(0)\n", "ok.py")
    scripts.run_script(ok, [], "sparsehw")
    bad = write_script(tmp_path, "import sys\nsys.exit(4)\n", "bad.py")
    with pytest.raises(scripts.ScriptError) as error:
        scripts.run_script(bad, [], "sparsehw")
    assert error.value.code == 4


# -------------------------------------------------------------------- run
def test_sparsehw_run_writes_report(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("PYNN_SPARSEHW_CHIP", raising=False)
    script = write_script(tmp_path, GET_SIMULATOR_SCRIPT % dict(i_offset=1.0, tstop=200.0))
    out = tmp_path / "results"
    status = cli.main(["run", str(script), "--chip", "digital", "--chip-seed", "3",
                       "--rate", "12", "--out", str(out)])
    printed = capsys.readouterr().out
    assert status == 0
    assert "ran on pyNN_sparsehw rate option 12.0" in printed
    assert f"written to {out}/" in printed
    assert "PYNN_SPARSEHW_CHIP" not in os.environ           # restored
    report = json.loads((out / "hardware_report.json").read_text())
    assert (report["chip"]["name"], report["chip"]["seed"]) == ("digital", 3)
    assert [p["label"] for p in report["populations"]] == ["cells", "source"]
    assert report["populations"][1]["spikes"] == 15
    text = (out / "hardware_report.txt").read_text()
    assert text.startswith("Hardware report: chip 'digital'")
    for name in ("mesh.png", "rasters.png"):
        from matplotlib.image import imread
        image = imread(out / name)
        assert image.shape[0] > 100 and np.mean(image[..., :3] < 0.5) > 0.005


def test_sparsehw_run_script_exit_code(tmp_path, capsys):
    script = write_script(tmp_path, "import sys\nsys.exit(3)\n")
    assert cli.main(["run", str(script), "--out", str(tmp_path / "o")]) == 3
    assert "exited with status 3" in capsys.readouterr().err


def test_sparsehw_run_without_network(tmp_path, capsys):
    script = write_script(tmp_path, "import pyNN.sparsehw as sim\nsim.setup()\n")
    assert cli.main(["run", str(script), "--out", str(tmp_path / "o")]) == 0
    assert "built no network" in capsys.readouterr().out
    assert not (tmp_path / "o").exists()


FAILING_SCRIPT = """\
import pyNN.sparsehw as sim
sim.setup(timestep=0.1, chip="ideal")


def build():
    return sim.Population(3, sim.IF_curr_exp(tau_m=-1.0 * undefined_name))


build()
"""


def test_failing_script_shows_its_own_traceback_and_leaves_no_brian2_files(tmp_path):
    script = write_script(tmp_path, FAILING_SCRIPT, "failing.py")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    run = subprocess.run([sys.executable, "-m", "pyNN_sparsehw.cli", "run", str(script),
                          "--out", str(tmp_path / "o")], capture_output=True, text=True,
                         env=dict(os.environ, TMPDIR=str(temporary)), timeout=300)
    assert run.returncode == 1, run.stderr
    lines = run.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1] == f'  File "{script}", line 9, in <module>'     # the script's frames only
    assert f'  File "{script}", line 6, in build' in lines
    assert "NameError: name 'undefined_name' is not defined" in lines
    assert "failing.py failed (NameError); no hardware report written" in lines[-1]
    assert "Brian 2" not in run.stderr and "runpy" not in run.stderr
    assert list(temporary.iterdir()) == []                    # no brian_debug_*, brian_script_*


def test_syntax_error_names_the_script(tmp_path, capsys):
    script = write_script(tmp_path, "import pyNN.sparsehw as sim\nx = (1,\n", "broken.py")
    assert cli.main(["run", str(script), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert f'File "{script}", line 2' in err and "SyntaxError" in err
    assert "<unknown>" not in err


def test_chip_option_overridden_by_the_script_warns(tmp_path, capsys):
    from pyNN_sparsehw import simulator
    script = write_script(tmp_path, "import pyNN.sparsehw as sim\n"
                                    "sim.setup(timestep=0.1, chip='digital')\n")
    out = str(tmp_path / "o")
    with pytest.warns(UserWarning, match="net.py calls setup\\(chip='digital'\\), which "
                                         "overrides --chip 'ideal': the script runs on chip "
                                         "'digital'"):
        assert cli.main(["run", str(script), "--chip", "ideal", "--out", out]) == 0
    assert simulator.state.chip.name == "digital"           # the script's choice
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert cli.main(["run", str(script), "--chip", "digital", "--out", out]) == 0
    assert not [w for w in caught if "overrides --chip" in str(w.message)]  # the same chip


# --------------------------------------------------------------- progress
def test_progress_modes(monkeypatch):
    monkeypatch.setenv("PYNN_SPARSEHW_PROGRESS", "1")
    assert progress_mode() == "on"
    assert progress_mode("off") == "off" and progress_mode("auto") == "auto"
    with pytest.raises(ValueError, match="PYNN_SPARSEHW_PROGRESS='sometimes'"):
        progress_mode("sometimes")


def test_progress_bar_appears_after_delay():
    stream = io.StringIO()
    progress = SimulationProgress(1000.0, mode="auto", stream=stream)
    progress(0.0, 0.0, None, None)
    progress(AUTO_DELAY_S / 2, 0.3, None, None)
    assert progress.bar is None and stream.getvalue() == ""
    progress(AUTO_DELAY_S + 1, 0.6, None, None)
    assert progress.bar.n == pytest.approx(600.0)
    progress(AUTO_DELAY_S + 2, 1.0, None, None)
    progress.close()
    assert "1000/1000 ms biological" in stream.getvalue()
    silent = SimulationProgress(1000.0, mode="off", stream=stream)
    assert not silent.wanted


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_in_a_log_is_a_few_plain_lines():
    stream = io.StringIO()
    progress = SimulationProgress(30000.0, mode="on", stream=stream)
    for k in range(2001):
        progress(k * 0.01, k / 2000, None, None)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue() and 1 <= len(lines) <= PLAIN_LINES + 1
    assert lines[-1].startswith("simulating: 30000/30000 ms biological (100 %)")
    quiet = io.StringIO()
    bar = progress_bar(10, "counting", mode="off", stream=quiet)
    bar.update(10)
    bar.close()
    assert quiet.getvalue() == ""


def test_progress_on_a_terminal_is_a_tqdm_bar(monkeypatch):
    monkeypatch.setenv("PYNN_SPARSEHW_PROGRESS", "auto")
    stream = Terminal()
    with progress_bar(100, "counting", "items", stream=stream, leave=True) as bar:
        bar.update(100)
    assert "\r" in stream.getvalue() and "100/100" in stream.getvalue()


def test_run_progress_flag_shows_bar(tmp_path, capsys):
    script = write_script(tmp_path, GET_SIMULATOR_SCRIPT % dict(i_offset=0.0, tstop=100.0))
    cli.main(["run", str(script), "--progress", "--chip", "ideal", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert "simulating" in err and "100/100 ms biological" in err
    cli.main(["run", str(script), "--chip", "ideal", "--out", str(tmp_path / "o")])
    assert "simulating" not in capsys.readouterr().err      # short run, auto mode


# ------------------------------------------------------------------ chips
def test_chips_lists_key_figures(capsys):
    assert cli.main(["chips"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line}
    assert rows["digital"].split()[:5] == ["digital", "digital", "1024", "128", "32"]
    assert "8 + 4-bit exp." in rows["digital"] and "128 KiB" in rows["digital"]
    assert "tau_m 15 %, v_thresh 2 mV, synapse gain 10 %" in rows["analog"]
    assert rows["ideal"].split()[2] == "unlimited" and rows["ideal"].endswith("none")


def test_chips_show(capsys, tmp_path):
    assert cli.main(["chips", "show", "analog"]) == 0
    out = capsys.readouterr().out
    tau_m = next(line for line in out.splitlines() if line.startswith("tau_m "))
    assert tau_m.split()[1:] == ["DAC", "10-bit", "over", "[0.5,", "100]", "sigma", "15", "%",
                                 "7-bit,", "span", "1.4", "-"]
    assert "fan-in per neuron         256" in out
    # a user's model with a table this listing does not know: shown as it is
    text = _shipped_text("ideal") + "\n[thermal]\nmax_temperature_c = 85.5\n"
    path = tmp_path / "mine.toml"
    path.write_text(text.replace('name = "ideal"', 'name = "mine"'))
    assert cli.main(["chips", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("mine: ") and "Thermal\nmax_temperature_c  85.5" in out
    assert cli.main(["chips", "show", "nosuchchip"]) == 2
    assert "unknown chip 'nosuchchip'" in capsys.readouterr().err


def _shipped_text(name):
    from importlib import resources
    return (resources.files("pyNN_sparsehw.models") / f"{name}.toml").read_text()


# ------------------------------------------------------- report, forwarding
def test_report_of_missing_folder(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path / "nothing")]) == 2
    assert "no hardware report at" in capsys.readouterr().err


@pytest.mark.parametrize("command, module, feature", [
    ("calibrate", "pyNN_sparsehw.calibration.command", "calibration"),
    ("train-demo", "pyNN_sparsehw.training.demo", "training"),
    ("run-nir", "pyNN_sparsehw.nir.command", "NIR (package nir)")])
def test_forwarded_commands(command, module, feature, monkeypatch, capsys):
    received = []
    fake = types.ModuleType(module)
    fake.main = lambda argv: received.append(argv) or 7
    monkeypatch.setitem(sys.modules, module, fake)
    assert cli.main([command, "--chip", "analog", "-n", "3"]) == 7
    assert received == [["--chip", "analog", "-n", "3"]]
    monkeypatch.setitem(sys.modules, module, None)          # the import fails
    assert cli.main([command, "--help"]) == 2
    assert capsys.readouterr().err.strip() == f"{feature} is not available in this installation"


def test_usage_and_unknown_command(capsys):
    assert cli.main([]) == 2
    assert "usage: sparsehw COMMAND" in capsys.readouterr().out
    assert cli.main(["fly"]) == 2
    assert "unknown command 'fly'" in capsys.readouterr().err


def test_console_script_entry_point():
    import pyNN_sparsehw
    try:
        distribution = importlib.metadata.distribution("pyNN_sparsehw")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("pyNN_sparsehw is not installed (tests run from the source tree)")
    installed = Path(distribution.locate_file("pyNN_sparsehw")).resolve()
    if installed != Path(pyNN_sparsehw.__file__).resolve().parent:
        pytest.skip(f"pyNN_sparsehw is imported from {pyNN_sparsehw.__file__}, not from the "
                    f"installed distribution at {installed}")
    scripts_ = {ep.name: ep.value for ep in distribution.entry_points
                if ep.group == "console_scripts"}
    assert scripts_ == {"sparsehw": "pyNN_sparsehw.cli:main"}
