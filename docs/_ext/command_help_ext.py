"""Sphinx extension: the output of a command of the installed package, at build time.

``.. command-output:: sparsehw run --help`` runs ``python -m pyNN_sparsehw.cli run
--help`` with the interpreter that runs Sphinx and shows its standard output as a
literal block, so the CLI page always shows the options of the installed ``sparsehw``.
A command that fails is a build warning (an error under ``sphinx-build -W``).
"""

import shlex
import subprocess
import sys

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

#: first word of a directive argument -> the module that implements it
COMMANDS = {"sparsehw": "pyNN_sparsehw.cli"}
TIMEOUT_S = 120


class CommandOutputDirective(SphinxDirective):
    """A literal block with the standard output of one ``sparsehw`` command."""

    required_arguments = 1
    final_argument_whitespace = True

    def run(self):
        words = shlex.split(self.arguments[0])
        if words[0] not in COMMANDS:
            logger.warning("command-output: unknown command %r (known: %s)", words[0],
                           ", ".join(COMMANDS), location=self.get_location())
            return []
        argv = [sys.executable, "-m", COMMANDS[words[0]], *words[1:]]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S)
        if result.returncode != 0:
            logger.warning("command-output: %r exited with %d: %s", self.arguments[0],
                           result.returncode, result.stderr.strip()[-500:],
                           location=self.get_location())
            return []
        text = f"$ {self.arguments[0]}\n{result.stdout.rstrip()}"
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return [block]


def setup(app):
    app.add_directive("command-output", CommandOutputDirective)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
