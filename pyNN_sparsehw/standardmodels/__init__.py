"""PyNN standard models (cells, synapses, current sources) for this backend.

The PyNN face is thin: parameters keep their PyNN names and units in the network
description ("native" = standard); the chip mapping renames and converts them.
"""
