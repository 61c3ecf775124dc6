"""Brian2 as a part of this backend: no debug files, no "report this bug to Brian2".

On import Brian2 writes a debug log (``brian_debug_*.log``) and a copy of the main
script (``brian_script_*.py``) to the temporary folder, and installs a
``sys.excepthook`` that answers any uncaught exception with a request to report it
to Brian2's developers and keeps those files. Errors in a PyNN script run on this
backend are the script's (or ours), not Brian2's: :func:`quiet_brian2_logging`
turns both off, so that an uncaught exception prints Python's usual traceback and
nothing is left in the temporary folder.

It also drops Brian2's "Simulation stop requested. Press Ctrl+C again to
interrupt." on Ctrl-C: the engine turns that stop into a KeyboardInterrupt at once
(:meth:`pyNN_sparsehw.engine.core.Engine.run`), whose message says where the
simulation stopped.
"""

import contextlib
import logging
import os
import sys


def quiet_brian2_logging():
    """Stop Brian2's file log and script copy (deleting the files it created at
    import) and restore Python's own ``sys.excepthook`` if Brian2's is installed.
    Brian2's console messages (warnings) are unchanged. Safe to call repeatedly."""
    import brian2
    from brian2.utils import logger as brian2_logger

    brian2.prefs.logging.file_log = False
    brian2.prefs.logging.save_script = False
    brian2.prefs.logging.display_brian_error_message = False
    log = brian2_logger.BrianLogger
    if log.file_handler is not None:
        logging.getLogger("brian2").removeHandler(log.file_handler)
        log.file_handler.close()
        log.file_handler = None
    for name in ("tmp_log", "tmp_script"):
        path = getattr(log, name)
        if path is not None:
            for stale in (path, f"{path}.1"):      # the log's rotated copy, if any
                with contextlib.suppress(OSError):
                    os.remove(stale)
            setattr(log, name, None)
    if sys.excepthook is brian2_logger.brian_excepthook:
        sys.excepthook = sys.__excepthook__
    brian2_root = logging.getLogger("brian2")
    if not any(isinstance(f, _StopRequestFilter) for f in brian2_root.filters):
        brian2_root.addFilter(_StopRequestFilter())


class _StopRequestFilter(logging.Filter):
    """Drops Brian2's "Simulation stop requested" message (see the module docstring)."""

    def filter(self, record):
        return not str(record.msg).startswith("Simulation stop requested")
