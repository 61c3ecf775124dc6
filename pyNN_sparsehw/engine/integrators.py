"""Integration code, derived once and kept on disk.

Brian2 derives the code that advances a neuron group by one step symbolically (with
sympy) each time a process first meets a set of equations: ~2 s for IF_curr_exp's
exact solution, ~7 s for IF_curr_alpha's, ~6 s for Hodgkin-Huxley's sub-stepped
Runge-Kutta. The result depends only on the equations, the method and Brian2's
version, so :class:`CachedIntegrator` stores it in a file and later processes read
it back.

The cache folder is ``$PYNN_SPARSEHW_CACHE`` if set, else
``~/.cache/pyNN_sparsehw/integrators``. A file that cannot be read or written is
simply derived again.
"""

import hashlib
import os
from pathlib import Path

import brian2
from brian2.stateupdaters.base import StateUpdateMethod


def cache_folder():
    """Folder holding the derived integration code."""
    root = os.environ.get("PYNN_SPARSEHW_CACHE")
    if root:
        return Path(root) / "integrators"
    return Path.home() / ".cache" / "pyNN_sparsehw" / "integrators"


class CachedIntegrator(StateUpdateMethod):
    """A Brian2 integration method whose derived code is kept on disk.

    Parameters
    ----------
    method : str or StateUpdateMethod
        What Brian2 should use (a registered name such as ``"exact"`` or ``"rk4"``,
        or a state-updater object).
    name : str
        A name identifying `method` in the cache key (the method's own name for a
        registered one; for an object, a name that changes whenever it does).
    """

    def __init__(self, method, name=None):
        self.method = method
        self.name = name or str(method)
        self.__name__ = self.name

    def can_integrate(self, equations, variables, method_options=None):
        return True

    def key(self, equations):
        text = f"{brian2.__version__}\n{self.name}\n{equations}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def __call__(self, equations, variables=None, method_options=None):
        path = cache_folder() / f"{self.key(equations)}.txt"
        try:
            return path.read_text()
        except OSError:
            pass
        code = StateUpdateMethod.apply_stateupdater(equations, variables, self.method,
                                                    method_options)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(code)
            partial.replace(path)
        except OSError:
            pass
        return code

    def __repr__(self):
        return f"CachedIntegrator({self.name!r})"
