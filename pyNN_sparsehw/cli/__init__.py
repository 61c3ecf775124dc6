"""The ``sparsehw`` command: run unchanged PyNN scripts on a chip, compare them with
reference simulators, list chip models, calibrate. See
:func:`pyNN_sparsehw.cli.commands.main`."""

from .commands import main
