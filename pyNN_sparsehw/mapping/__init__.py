"""Mapping: a network description and a chip model become a mapped network.

:mod:`.vocabulary` says which circuit realises each PyNN cell type, parameter,
receptor and projection option; :mod:`.mapper` places, quantizes, draws the
mismatch and chooses the memory encodings of a whole network.
"""

from .vocabulary import MappingError
from .mapper import Mapper, MappedPopulation, MappedProjection
