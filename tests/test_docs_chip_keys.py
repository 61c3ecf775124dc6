"""The documentation's chip-model key tables (docs/_ext/chip_keys.py): every key of a
shipped model gets a unit, a meaning and the comment that gives its source."""

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location("chip_keys", REPO / "docs" / "_ext" / "chip_keys.py")
chip_keys = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(chip_keys)

SHIPPED = sorted((REPO / "models").glob("*.toml"))

TOML = '''\
# A test chip.
#
# [X1]  First reference,
#       continued.
# Not a reference.

name = "t#1"                   # the name [X1]
description = "d"
kind = "analog"

# about the topology
[topology]
# above a key
fan_in = 4                     # on the line
                               # (and continued)
input_axons = 0

[neurons.parameters.tau_m]     # the membrane time constant
dac = { bits = 10, range = [1.0, 50.0] }   # ms; [X1]
mismatch = { sigma = 0.1, relative = true }
[neurons.parameters.v_rest]
mismatch = { sigma = 2.0, relative = false }   # mV
'''


def test_shipped_models_are_all_found():
    assert {p.stem for p in SHIPPED} >= {"ideal", "analog", "digital"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_key_of_a_shipped_model_has_unit_meaning_and_source(path):
    chip = chip_keys.read_chip_file(path)
    config = chip_keys.tomllib.loads(path.read_text())
    assert [row.path for row in chip.rows] == [p for p, _ in chip_keys.leaves(config)]
    assert all(row.meaning for row in chip.rows)
    if chip.name != "ideal":    # the ideal chip's numbers are its definition
        beyond_identity = [r for r in chip.rows if r.path not in ("name", "description", "kind")]
        assert [r.path for r in beyond_identity if not r.source] == []
    for row in chip.rows:       # a cited tag is defined in the file's references
        for tag in chip_keys.re.findall(r"\[([A-Z][A-Z0-9]*)\]", row.source):
            assert tag in chip.references, (row.path, tag)


def test_comments_attach_to_their_keys(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(TOML)
    chip = chip_keys.read_chip_file(path)
    rows = {row.path: row for row in chip.rows}
    assert chip.references == {"X1": "First reference, continued."}
    assert chip.header == "A test chip. Not a reference."
    assert rows["name"].value == "t#1" and rows["name"].source == "the name [X1]"
    assert rows["topology.fan_in"].source == "above a key on the line (and continued)"
    assert rows["topology.input_axons"].source == "about the topology"     # the table's
    assert rows["neurons.parameters.tau_m.dac.range"].source == "ms; [X1]"
    assert rows["neurons.parameters.tau_m.mismatch.sigma"].source == "the membrane time constant"
    assert rows["neurons.parameters.tau_m.dac.bits"].table == "neurons.parameters.tau_m"
    assert rows["topology.fan_in"].table == "topology" and rows["kind"].table == ""


def test_units_follow_the_parameter_and_relative_flag(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(TOML)
    rows = {row.path: row for row in chip_keys.read_chip_file(path).rows}
    assert rows["neurons.parameters.tau_m.dac.range"].unit == "ms"
    assert rows["neurons.parameters.tau_m.mismatch.sigma"].unit == "fraction"
    assert rows["neurons.parameters.v_rest.mismatch.sigma"].unit == "mV"
    assert rows["topology.fan_in"].unit == "synapses"


def test_an_undocumented_key_is_an_error(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(TOML + "\n[synapses]\nnew_knob = 3\n")
    with pytest.raises(chip_keys.UnknownKeyError, match="synapses.new_knob"):
        chip_keys.read_chip_file(path)
    path.write_text(TOML + "\n[neurons.parameters.g_new]\ndac = { bits = 4, range = [0, 1] }\n")
    with pytest.raises(chip_keys.UnknownKeyError, match="g_new"):
        chip_keys.read_chip_file(path)


def test_hash_inside_a_string_is_not_a_comment():
    assert chip_keys.split_comment('name = "a # b"  # c') == ('name = "a # b"', "c")
    assert chip_keys.split_comment("x = 1") == ("x = 1", "")
