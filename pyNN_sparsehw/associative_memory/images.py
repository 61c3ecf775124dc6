"""Small gray-scale test images made in code, and their bit planes as ±1 patterns.

An image is a (side, side) array of integer gray levels 0 .. 2**bits - 1; its
pixels are numbered row-major (pixel (r, c) is unit r * side + c, which is the
neuron at x = r, y = c of PyNN's Grid2D). Bit plane b holds bit b of every pixel
(b = 0: least significant) as +1 (set) or -1 (clear).
"""

import numpy as np

SHAPES = ("disk", "cross", "ramp", "rings")


def gray_image(shape, side=16, bits=3):
    """A `side` x `side` image with 2**bits gray levels: "disk" (a bright disk with a
    radial falloff), "cross" (a plus sign over a dim background), "ramp" (a diagonal
    gradient), "rings" (concentric rings)."""
    levels = 2 ** int(bits)
    r, c = np.indices((side, side)) + 0.5
    u, v = r / side - 0.5, c / side - 0.5
    radius = np.hypot(u, v)
    if shape == "disk":
        value = np.clip(1.0 - radius / 0.4, 0.0, 1.0)
    elif shape == "cross":
        value = np.where((np.abs(u) < 0.12) | (np.abs(v) < 0.12), 1.0, 0.2 + 0.2 * (u + 0.5))
    elif shape == "ramp":
        value = (u + v + 1.0) / 2.0
    elif shape == "rings":
        value = 0.5 + 0.5 * np.cos(2 * np.pi * radius / 0.18)
    else:
        raise ValueError(f"unknown test image {shape!r}; choose one of {', '.join(SHAPES)}")
    return np.minimum((value * levels).astype(np.int64), levels - 1)


def to_bit_planes(image, bits):
    """Bit planes (bits, side**2) of `image` as ±1 patterns, least significant first."""
    pixels = np.asarray(image, dtype=np.int64).ravel()
    if pixels.min() < 0 or pixels.max() >= 2 ** bits:
        raise ValueError(f"gray levels must lie in 0 .. {2 ** bits - 1} for {bits} bit planes, "
                         f"got {pixels.min()} .. {pixels.max()}")
    planes = (pixels[None, :] >> np.arange(bits)[:, None]) & 1
    return np.where(planes == 1, 1.0, -1.0)


def from_bit_planes(planes, side):
    """The image (side, side) whose bit planes are `planes` (bits, side**2; a unit
    counts as set when positive)."""
    planes = np.asarray(planes) > 0
    weights = 2 ** np.arange(planes.shape[0])
    return (weights[:, None] * planes).sum(axis=0).reshape(side, side)


def add_noise(image, fraction, bits, seed):
    """`image` with a fraction of its pixels (each independently) replaced by a random
    gray level (salt-and-pepper-like noise), seeded."""
    image = np.asarray(image, dtype=np.int64)
    rng = np.random.default_rng(seed)
    replace = rng.random(image.shape) < fraction
    return np.where(replace, rng.integers(0, 2 ** bits, image.shape), image)
