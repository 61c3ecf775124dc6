"""Progress bars for long simulations (tqdm, through Brian2's ``report`` hook).

Brian2 calls the ``report`` callable of ``Network.run`` at the start, every
``report_period`` of wall time and at the end. :class:`SimulationProgress` turns
those calls into a tqdm bar of biological time simulated (ms), on stderr.

When it is shown is set by the environment variable ``PYNN_SPARSEHW_PROGRESS``:

* ``auto`` (default): only for runs that are still going after
  :data:`AUTO_DELAY_S` seconds of wall time;
* ``on`` (or ``1``, ``yes``, ``true``): always (``sparsehw run --progress``);
* ``off`` (or ``0``, ``no``, ``false``): never.
"""

import os
import sys

PROGRESS_ENV = "PYNN_SPARSEHW_PROGRESS"
#: in "auto" mode, a run shows its bar once it has taken this long (wall time)
AUTO_DELAY_S = 3.0
#: how often Brian2 reports (wall time)
REPORT_PERIOD_S = 0.5

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


class SimulationProgress:
    """A tqdm bar for one ``Network.run`` call; pass it as ``report=``.

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
            from tqdm import tqdm
            self.bar = tqdm(total=round(self.duration_ms, 6), unit="ms", file=self.stream,
                            desc="simulating", dynamic_ncols=True, leave=True,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} "
                                       "ms biological [{elapsed}<{remaining}]")
            self.bar.start_t -= float(elapsed)   # the bar appears late: count from the start
        done = round(min(max(float(completed), 0.0), 1.0) * self.duration_ms, 6)
        self.bar.update(done - self.bar.n)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
