"""A Python child process whose output a test reads line by line while it runs (to
signal it at the right moment), for the tests of Ctrl-C and of processes sharing a
cache."""

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time


def _sigint_as_usual():
    """In the child: SIGINT at its default, so that Python turns it into
    KeyboardInterrupt even when the test runner was started with SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Child:
    """``python -c code *args`` with `env` added to the environment; its stdout and
    stderr lines are collected as they come (:meth:`wait_for`)."""

    def __init__(self, code, *args, env=None, cwd=None):
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, *map(str, args)], cwd=cwd,
            env=dict(os.environ, **(env or {})), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=_sigint_as_usual)
        self.out, self.err = [], []
        self._lines = queue.Queue()
        self._readers = [threading.Thread(target=self._read, args=(stream, lines), daemon=True)
                         for stream, lines in ((self.process.stdout, self.out),
                                               (self.process.stderr, self.err))]
        for reader in self._readers:
            reader.start()

    def _read(self, stream, lines):
        for line in stream:
            lines.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, pattern, timeout=120.0):
        """The first line (stdout or stderr) matching regular expression `pattern`;
        AssertionError if the child ends or `timeout` s pass first."""
        deadline, ended = time.monotonic() + timeout, 0
        while True:
            try:
                line = self._lines.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r} within {timeout} s:\n"
                                     f"{self.text}") from None
            if line is None:
                ended += 1
                if ended == 2:
                    raise AssertionError(f"the child ended without a line matching "
                                         f"{pattern!r}:\n{self.text}")
            elif re.search(pattern, line):
                return line

    def interrupt(self):
        """Send SIGINT, as Ctrl-C in a terminal does."""
        os.kill(self.process.pid, signal.SIGINT)

    def kill(self):
        """End the child if it is still running (a test that failed half-way)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def finish(self, timeout=180.0):
        """Wait for the end; returns the exit status (negative: killed by that signal)."""
        try:
            status = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        for reader in self._readers:
            reader.join(10.0)
        return status

    @property
    def stdout(self):
        return "".join(self.out)

    @property
    def stderr(self):
        return "".join(self.err)

    @property
    def text(self):
        return f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}"
