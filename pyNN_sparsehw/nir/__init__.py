"""NIR graphs <-> PyNN networks on the chip.

The Neuromorphic Intermediate Representation (NIR, https://neuroir.org) carries
spiking networks between snnTorch, Norse, Rockpool, Sinabs, Spyx, Lava-dl and
neuromorphic hardware. :func:`read` builds a NIR graph as populations and projections
on the current chip; :func:`write` exports a PyNN network (as specified, or as
realised on the chip) to a NIR file. Units, time steps and the cell type that
realises each node are described in docs/nir.rst.

This subpackage imports the ``nir`` package with absolute imports only.
"""

from .neurons import NIRMappingError
from .reader import NIRNetwork, read
from .writer import model_node, to_graph, write

__all__ = ["read", "write", "to_graph", "model_node", "NIRNetwork", "NIRMappingError"]
