"""The chip's weight quantization in torch, straight-through.

The rules are those of :mod:`pyNN_sparsehw.chip.quantize` (magnitudes to codes, the
sign set by the receptor; nearest rounding), written again in torch so that weights
can be trained through them: the forward value is the weight the chip stores, the
gradient passes as if quantization were the identity (straight-through estimator).
The codes are identical to the numpy functions' (tested).
"""

from dataclasses import dataclass

import torch


def weight_codes(weights, bits, scale):
    """Nearest `bits`-bit codes of |weights| at `scale` per step (clipped to the code
    range): :func:`pyNN_sparsehw.chip.quantize.quantize_weights` with rounding
    "nearest". Returns (codes as float tensor, scale)."""
    top = 2 ** int(bits) - 1
    if scale is None:
        largest = float(weights.detach().abs().max()) if weights.numel() else 0.0
        scale = largest / top if largest > 0 else 1.0
    codes = torch.clamp(torch.floor(weights.detach().abs() / scale + 0.5), 0, top)
    return codes, float(scale)


def exponent_steps(weights, mantissa_bits, exponent_bits, groups=None):
    """Step (weight per code) of every weight under a shared exponent per group:
    :func:`pyNN_sparsehw.chip.quantize.quantize_weights_with_exponent`. `groups`:
    each weight's group index (None: one group)."""
    magnitudes = weights.detach().abs()
    top = 2 ** int(mantissa_bits) - 1
    max_exponent = 2 ** int(exponent_bits) - 1
    if groups is None:
        groups = torch.zeros(magnitudes.shape, dtype=torch.int64)
    groups = torch.as_tensor(groups, dtype=torch.int64).expand(magnitudes.shape)
    n_groups = int(groups.max()) + 1 if groups.numel() else 0
    group_max = torch.zeros(n_groups, dtype=magnitudes.dtype).scatter_reduce(
        0, groups.reshape(-1), magnitudes.reshape(-1), reduce="amax", include_self=True)
    overall = float(magnitudes.max()) if magnitudes.numel() else 0.0
    finest = overall / (top * 2.0 ** max_exponent) if overall > 0 else 1.0
    ratio = torch.where(group_max > 0, group_max / (top * finest), torch.ones_like(group_max))
    exponent = torch.clamp(torch.ceil(torch.log2(ratio)), 0, max_exponent)
    return finest * 2.0 ** exponent[groups]


def straight_through(weights, realised):
    """`realised` in the forward pass, the gradient of `weights` in the backward."""
    return weights + (realised - weights).detach()


@dataclass(frozen=True)
class WeightQuantizer:
    """How one chip stores the weights of one projection.

    bits : weight code width (0: floating point, no quantization)
    exponent_bits : shared exponent bits (0: one fixed scale)
    scale : weight per code step when fixed (None: the largest weight gets the
        largest code)
    row_exponents : one exponent per presynaptic row (else per projection)
    """
    bits: int = 0
    exponent_bits: int = 0
    scale: object = None
    row_exponents: bool = False

    @classmethod
    def for_chip(cls, chip, hardware=None):
        """The quantizer of `chip` (a :class:`pyNN_sparsehw.chip.model.ChipModel`) for a
        projection with ``hardware`` options (as given to ``Projection``)."""
        options = dict(hardware or {})
        rounding = options.get("rounding", chip.synapses.get("rounding", "nearest"))
        if rounding != "nearest":
            raise ValueError(f"the twin quantizes with nearest rounding only; the projection "
                             f"asks for {rounding!r}: use hardware={{'rounding': 'nearest'}}")
        exponent_bits = int(chip.synapses.get("exponent_bits", 0))
        group = options.get("exponent_group", chip.synapses.get("exponent_group", "projection"))
        return cls(int(chip.weight_bits or 0), exponent_bits, options.get("weight_scale"),
                   group == "row")

    def values(self, weights):
        """The weights as the chip stores them (same sign, same unit), no gradient."""
        if not self.bits:
            return weights.detach()
        if self.exponent_bits:
            groups = None
            if self.row_exponents:
                groups = torch.arange(weights.shape[0]).unsqueeze(1)
            step = exponent_steps(weights, self.bits, self.exponent_bits, groups)
            codes = torch.clamp(torch.floor(weights.detach().abs() / step + 0.5),
                                0, 2 ** self.bits - 1)
            return torch.sign(weights.detach()) * codes * step
        codes, scale = weight_codes(weights, self.bits, self.scale)
        return torch.sign(weights.detach()) * codes * scale

    def __call__(self, weights):
        """Quantized weights, straight-through."""
        if not self.bits:
            return weights
        return straight_through(weights, self.values(weights))
