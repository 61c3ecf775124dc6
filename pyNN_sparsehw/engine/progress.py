"""Progress bars of the whole package (simulation, calibration, training).

:func:`progress_bar` builds every bar: a tqdm bar on a terminal, a few plain lines
in a log, nothing when switched off. :class:`SimulationProgress` turns Brian2's
``report`` calls of ``Network.run`` (at the start, every ``report_period`` of wall
time and at the end) into such a bar of biological time simulated (ms).

When bars are shown is set by the environment variable ``PYNN_SPARSEHW_PROGRESS``:

* ``auto`` (default): on a terminal; a simulation shows its bar only once it has
  taken :data:`AUTO_DELAY_S` seconds of wall time;
* ``on`` (or ``1``, ``yes``, ``true``): always, from the start
  (``sparsehw run --progress``);
* ``off`` (or ``0``, ``no``, ``false``): never, calibration and training included.

Where the stream is not a terminal (a log file, a pipe, a CI job), a bar becomes
plain lines: one each time another tenth of the work is done and one at the end,
at most :data:`PLAIN_LINES` + 1 per bar, never tqdm's ``\\r`` frames.
"""

import os
import sys
import time

PROGRESS_ENV = "PYNN_SPARSEHW_PROGRESS"
#: in "auto" mode, a run shows its bar once it has taken this long (wall time)
AUTO_DELAY_S = 3.0
#: how often Brian2 reports (wall time)
REPORT_PERIOD_S = 0.5
#: a bar written to a non-terminal prints a line each time another 1/PLAIN_LINES is done
PLAIN_LINES = 10

_ON = {"on", "1", "yes", "true", "always"}
_OFF = {"off", "0", "no", "false", "never"}


def progress_mode(value=None):
    """'on', 'off' or 'auto' from `value` or else the environment variable."""
    value = (os.environ.get(PROGRESS_ENV, "auto") if value is None else str(value)).lower()
    if value in _ON:
        return "on"
    if value in _OFF:
        return "off"
    if value != "auto":
        raise ValueError(f"{PROGRESS_ENV}={value!r}: use 'auto', 'on' or 'off'")
    return "auto"


def is_terminal(stream):
    """Whether `stream` is an interactive terminal (where tqdm's frames belong)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):      # no isatty, or a closed file
        return False


def progress_bar(total, desc, unit="it", mode=None, stream=None, elapsed=0.0,
                 bar_format=None, leave=False):
    """The progress bar of `total` units of work, as the package shows every bar.

    Parameters
    ----------
    total : float
        Work to do, in `unit`.
    desc : str
        What is being done ("simulating", "calibrating leak"...).
    unit : str
    mode : str, optional
        'on', 'auto' or 'off' (default: ``PYNN_SPARSEHW_PROGRESS``); 'off' gives a
        bar that shows nothing.
    stream : file, optional
        Where the bar goes (default: stderr). A terminal gets a tqdm bar, anything
        else :class:`PlainProgress` lines.
    elapsed : float
        Wall time (s) already spent on this work when the bar appears.
    bar_format : str, optional
        tqdm's ``bar_format`` on a terminal.
    leave : bool
        Keep the finished bar on a terminal.

    Returns
    -------
    A tqdm bar or a :class:`PlainProgress`: ``update(n)``, ``set_description(desc)``,
    ``set_postfix(**values)``, ``close()``, the attribute ``n``; a context manager.
    """
    from tqdm import tqdm

    stream = sys.stderr if stream is None else stream
    if progress_mode(mode) == "off":
        return tqdm(total=total, disable=True)
    if not is_terminal(stream):
        return PlainProgress(total, desc, unit, stream, elapsed)
    bar = tqdm(total=total, desc=desc, unit=unit, file=stream, dynamic_ncols=True,
               leave=leave, bar_format=bar_format)
    bar.start_t -= float(elapsed)
    return bar


class PlainProgress:
    """A progress bar for logs: a plain line each time another 1/:data:`PLAIN_LINES`
    of `total` is done and one at the end (``close``), e.g.
    ``simulating: 3000/30000 ms (10 %), 4.1 s``.

    Parameters
    ----------
    total : float
    desc, unit : str
    stream : file
    elapsed : float
        Wall time (s) already spent when the bar appears.
    """

    def __init__(self, total, desc, unit, stream, elapsed=0.0):
        self.total = float(total)
        self.desc = desc
        self.unit = unit
        self.stream = stream
        self.n = 0.0
        self.start_t = time.perf_counter() - float(elapsed)
        self._printed_tenths = 0
        self._closed = False

    def update(self, n=1):
        self.n += n
        tenths = int(PLAIN_LINES * self.n / self.total) if self.total > 0 else 0
        if tenths > self._printed_tenths:
            self._printed_tenths = tenths
            self._line()

    def set_description(self, desc, refresh=True):
        self.desc = desc

    def set_postfix(self, **values):
        """Ignored: plain lines carry only the amount done."""

    def _line(self):
        percent = 100.0 * self.n / self.total if self.total > 0 else 100.0
        print(f"{self.desc}: {self.n:.0f}/{self.total:.0f} {self.unit} ({percent:.0f} %), "
              f"{time.perf_counter() - self.start_t:.1f} s", file=self.stream, flush=True)

    def close(self):
        """Print the final line (unless the last line already said 100 %)."""
        if not self._closed and self._printed_tenths < PLAIN_LINES:
            self._line()
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class SimulationProgress:
    """A progress bar for one ``Network.run`` call; pass it as ``report=``.

    Parameters
    ----------
    duration_ms : float
        Biological time this run simulates.
    mode : str, optional
        'on', 'off' or 'auto' (default: from ``PYNN_SPARSEHW_PROGRESS``).
    stream : file, optional
        Where the bar is drawn (default: stderr).
    """

    period_s = REPORT_PERIOD_S

    def __init__(self, duration_ms, mode=None, stream=None):
        self.duration_ms = float(duration_ms)
        self.mode = progress_mode(mode)
        self.stream = stream if stream is not None else sys.stderr
        self.bar = None

    @property
    def wanted(self):
        """Whether Brian2 needs to call this at all."""
        return self.mode != "off"

    def __call__(self, elapsed, completed, start, duration):
        """Brian2's report signature: wall time elapsed (s), fraction completed,
        start time and duration of the run (Brian2 quantities)."""
        if self.bar is None:
            if self.mode == "off" or (self.mode == "auto" and float(elapsed) < AUTO_DELAY_S):
                return
            self.bar = progress_bar(
                round(self.duration_ms, 6), "simulating", "ms biological", self.mode,
                self.stream, elapsed=float(elapsed), leave=True,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} "
                           "ms biological [{elapsed}<{remaining}]")
        done = round(min(max(float(completed), 0.0), 1.0) * self.duration_ms, 6)
        self.bar.update(done - self.bar.n)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
