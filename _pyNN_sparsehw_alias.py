"""Make ``import pyNN.sparsehw`` an alias of ``import pyNN_sparsehw``.

PyNN has no plugin mechanism: ``pyNN.utility.get_simulator()`` and PyNN's own
tests import backends as ``pyNN.<name>``. Installing files into PyNN's package
directory would tamper with another distribution, so instead this tiny module
(imported at interpreter start-up by ``pyNN_sparsehw.pth``) registers a
meta-path finder that answers only for ``pyNN.sparsehw`` and its submodules and
hands back the corresponding ``pyNN_sparsehw`` modules. It imports nothing
heavy: PyNN and Brian2 are loaded only when the alias is actually imported.
"""

import importlib
import importlib.abc
import importlib.util
import sys

ALIAS = "pyNN.sparsehw"
TARGET = "pyNN_sparsehw"


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target_name):
        self.target_name = target_name

    def create_module(self, spec):
        return importlib.import_module(self.target_name)

    def exec_module(self, module):
        # the target module is fully initialised by its own import
        return None


class SparseHWAliasFinder(importlib.abc.MetaPathFinder):
    """Resolve ``pyNN.sparsehw[.sub]`` to ``pyNN_sparsehw[.sub]``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != ALIAS and not fullname.startswith(ALIAS + "."):
            return None
        target_name = TARGET + fullname[len(ALIAS):]
        if importlib.util.find_spec(target_name) is None:
            return None
        return importlib.util.spec_from_loader(
            fullname, _AliasLoader(target_name), is_package=(fullname == ALIAS))


def install():
    """Put the finder on ``sys.meta_path`` once."""
    if not any(isinstance(f, SparseHWAliasFinder) for f in sys.meta_path):
        sys.meta_path.append(SparseHWAliasFinder())


install()
