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
        self._target_spec = None

    def create_module(self, spec):
        module = importlib.import_module(self.target_name)
        self._target_spec = module.__spec__
        return module

    def exec_module(self, module):
        # the target module is fully initialised by its own import; importlib has
        # just given it the alias's spec: give it back its own, so that relative
        # imports inside it keep resolving against pyNN_sparsehw
        module.__spec__ = self._target_spec


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
    """Put the finder first on ``sys.meta_path``, once.

    First: otherwise the path finder would load ``pyNN/sparsehw``'s submodules a
    second time (as new module objects) through the parent's ``__path__``.
    """
    if not any(isinstance(f, SparseHWAliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, SparseHWAliasFinder())


install()
