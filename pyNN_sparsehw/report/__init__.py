"""What a run leaves behind: the hardware report (text, dict/JSON), its HTML page,
plots, plain-text tables and spike-train metrics."""

from .hardware import HardwareReport
