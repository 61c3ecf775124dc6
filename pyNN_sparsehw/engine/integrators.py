"""Integration code, derived once and kept on disk.

Brian2 derives the code that advances a neuron group by one step symbolically (with
sympy) each time a process first meets a set of equations: ~2 s for IF_curr_exp's
exact solution, ~7 s for IF_curr_alpha's, ~6 s for Hodgkin-Huxley's sub-stepped
Runge-Kutta. The result depends only on the equations, the method and Brian2's
version, so :class:`CachedIntegrator` stores it in a file and later processes read
it back.

The cache folder is ``$PYNN_SPARSEHW_CACHE/integrators`` if the variable is set, else
``~/.cache/pyNN_sparsehw/integrators``. Each file starts with a header holding the
checksum of the code below it and is written atomically. A file that is not what
was written (truncated, edited, garbage) is ignored with a warning naming it, and
derived and written again; a folder that cannot be written only costs the time.
"""

import hashlib
import os
import warnings
from pathlib import Path

import brian2
from brian2.stateupdaters.base import StateUpdateMethod

from .files import atomic_write_text

#: first line of a cache file: this prefix, then the SHA-256 of the code that follows
HEADER = "# pyNN_sparsehw integration code, sha256 "
#: part of the cache key: changes whenever the file layout does
FILE_FORMAT = 2


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
        text = f"{FILE_FORMAT}\n{brian2.__version__}\n{self.name}\n{equations}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def __call__(self, equations, variables=None, method_options=None):
        path = cache_folder() / f"{self.key(equations)}.txt"
        code = read_cached_code(path)
        if code is not None:
            return code
        code = StateUpdateMethod.apply_stateupdater(equations, variables, self.method,
                                                    method_options)
        try:
            atomic_write_text(path, f"{HEADER}{_digest(code)}\n{code}")
        except OSError:
            pass
        return code

    def __repr__(self):
        return f"CachedIntegrator({self.name!r})"


def _digest(code):
    return hashlib.sha256(code.encode()).hexdigest()


def read_cached_code(path):
    """The integration code cached in `path`, or None if there is none; a file that
    does not hold what :class:`CachedIntegrator` wrote is ignored with a warning."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:          # unreadable, or not UTF-8 text
        problem = str(err)
    else:
        header, _, code = text.partition("\n")
        if header.startswith(HEADER) and header[len(HEADER):] == _digest(code):
            return code
        problem = "its checksum does not match its content (truncated or overwritten)"
    warnings.warn(f"ignoring the corrupt integration-code cache file {path}: {problem}; "
                  f"the code is derived again and the file replaced", UserWarning,
                  stacklevel=3)
    return None
