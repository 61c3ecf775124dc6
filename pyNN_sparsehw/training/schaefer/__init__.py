"""Schaefer et al. 2020 (ISCAS, arXiv 2003.11639) end to end: a two-layer spiking
network trained to retain a spatio-temporal pattern, quantized and pruned to the
paper's weight widths and densities, encoded in the chip's synaptic memory
organisations, and the energy of its forward and backward passes counted.

* :mod:`.retention`: the 700 -> 400 -> 250 LIF network, its target pattern,
  training, quantization and the van Rossum distance;
* :mod:`.passes`: memory words, synaptic operations and neuron updates of a forward
  pass, a backward pass (transposed weights) and a weight update per encoding, and
  their energy on a chip's energy profile;
* :mod:`.conv`: a weight-shared convolutional layer held by the functional and the
  CSR encodings;
* :mod:`.held_out`: the published energy model fitted on one layer, predicting the
  other.
"""
