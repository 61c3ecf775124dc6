"""The package installs as a PyNN backend under both names."""

import subprocess
import sys


def run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)


def test_pyNN_sparsehw_alias_in_fresh_interpreter():
    result = run_python("import pyNN.sparsehw as sim, pyNN_sparsehw; "
                        "assert sim is pyNN_sparsehw; print(sim.__name__)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pyNN_sparsehw"


def test_get_simulator_finds_sparsehw():
    code = ("import sys; sys.argv = ['script', 'sparsehw']\n"
            "from pyNN.utility import get_simulator\n"
            "sim, options = get_simulator()\n"
            "print(sim.__name__, options.simulator)")
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["pyNN_sparsehw", "sparsehw"]


def test_alias_does_not_touch_pyNN_files():
    import pyNN
    import os
    assert not os.path.exists(os.path.join(os.path.dirname(pyNN.__file__), "sparsehw"))


def test_standard_models_listed():
    import pyNN.sparsehw as sim
    expected = {"IF_curr_exp", "IF_curr_alpha", "IF_curr_delta", "IF_cond_exp",
                "IF_cond_alpha", "IF_cond_exp_gsfa_grr", "EIF_cond_exp_isfa_ista",
                "EIF_cond_alpha_isfa_ista", "Izhikevich", "HH_cond_exp",
                "SpikeSourcePoisson", "SpikeSourceArray", "PointNeuron", "ALIF_curr_delta",
                "GIF_cond_exp", "EGRU"}
    assert set(sim.list_standard_models()) == expected


def test_alias_submodules_are_the_same_objects():
    result = run_python(
        "import sys, pyNN.sparsehw.chip, pyNN_sparsehw.chip\n"
        "assert sys.modules['pyNN.sparsehw.chip'] is sys.modules['pyNN_sparsehw.chip']\n"
        "assert pyNN_sparsehw.chip.__spec__.name == 'pyNN_sparsehw.chip'\n"
        "print('ok')")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_tests_never_use_the_users_cache():
    import os
    from pathlib import Path
    from pyNN_sparsehw.calibration import cache_folder
    from pyNN_sparsehw.engine.integrators import cache_folder as integrator_cache
    home = Path.home() / ".cache" / "pyNN_sparsehw"
    assert os.environ.get("PYNN_SPARSEHW_CACHE")
    assert home not in cache_folder().parents and home not in integrator_cache().parents
