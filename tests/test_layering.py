"""The package's layers import one way: chip < engine < mapping < PyNN face < report
< clients (calibration, training, ...) < commands. Every import in every module is
read, those inside functions included."""

import ast
from pathlib import Path

import pyNN_sparsehw

PACKAGE = Path(pyNN_sparsehw.__file__).parent

#: rank of each top-level unit of the package; a unit imports only units of equal or
#: lower rank. ``__init__`` (the public namespace ``pyNN.sparsehw``) re-exports from
#: every layer and is not ranked.
RANK = {
    "models": 0, "chip": 0,
    "engine": 1,
    "mapping": 2,
    "description": 3, "simulator": 3, "populations": 3, "projections": 3, "recording": 3,
    "connectivity": 3, "standardmodels": 3, "validation": 3,
    "report": 4,
    "calibration": 5, "training": 5, "associative_memory": 5,
    "cli": 6, "sweep": 6, "nir": 6,
}
FORBIDDEN = {"chip": {"pyNN", "brian2"}, "engine": {"pyNN"}}  # models: the TOML files


def _unit(module):
    """'pyNN_sparsehw.chip.model' -> 'chip'; the package itself -> '__init__'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path, module=None):
    """(unit, imported module) for every import in a file; `module` is the file's
    dotted name (default: from its place in the package)."""
    module = module or ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module[:-len(".__init__")] if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                targets = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
            else:
                targets = [node.module or ""]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        for target in targets:
            yield _unit(module), target


def _edges():
    for path in sorted(PACKAGE.rglob("*.py")):
        for unit, target in _imports(path):
            yield path.relative_to(PACKAGE), unit, target


def test_every_unit_is_ranked():
    units = {_unit(".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts))
             for p in PACKAGE.rglob("*.py")} - {"__init__"}
    assert units <= set(RANK), f"add {sorted(units - set(RANK))} to RANK in {__file__}"


def test_lower_layers_never_import_higher_ones():
    wrong = []
    for path, unit, target in _edges():
        if unit == "__init__" or not target.startswith("pyNN_sparsehw."):
            continue
        other = _unit(target)
        if other != "__init__" and RANK[other] > RANK[unit]:
            wrong.append(f"{path} imports {target} ({other} is above {unit})")
        if other == "__init__" and RANK[unit] < RANK["report"]:
            wrong.append(f"{path} imports the public namespace pyNN_sparsehw")
    assert not wrong, "\n".join(wrong)


def test_chip_is_pure_numpy_and_engine_knows_no_pynn():
    wrong = [f"{path} imports {target}" for path, unit, target in _edges()
             if target.split(".")[0] in FORBIDDEN.get(unit, ())]
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text("def f():\n    from ..cli import main\n")
    seen = {target for _, target in _imports(source, "pyNN_sparsehw.chip.mod")}
    assert seen == {"pyNN_sparsehw.cli"}
