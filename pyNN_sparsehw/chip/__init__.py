"""The model of the hardware: pure numpy, no PyNN or Brian2.

It can be unit-tested and reused on its own (see docs/architecture.rst).
"""

from .model import ChipModel, load_chip, available_chips

__all__ = ["ChipModel", "load_chip", "available_chips"]
