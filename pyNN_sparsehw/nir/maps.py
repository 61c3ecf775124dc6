"""Stateless NIR nodes as sparse connection maps.

Between two spiking nodes of a NIR graph sit stateless nodes (Affine, Linear, Scale,
Conv1d, Conv2d, SumPool2d, AvgPool2d, Flatten, Delay). Each is a linear map from the
flat (C-order) indices of its input to those of its output, plus a constant (bias);
a chain of them composes into one map, which becomes the connection list of a PyNN
projection (as a FromListConnector would take it). Everything is whole numpy arrays.
"""

from dataclasses import dataclass

import numpy as np


@dataclass
class ConnectionMap:
    """``y[post] += weight * x[pre]`` delayed by `delay` steps, plus ``bias``.

    Attributes
    ----------
    pre, post : int64 arrays
        Flat input and output indices of each entry.
    weight : float array
        Factor of each entry (NIR units).
    delay : int64 array
        NIR steps each entry adds (from Delay nodes).
    n_pre, n_post : int
        Sizes of the input and the output.
    bias : float array (n_post,)
        Constant added to each output.
    """
    pre: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    delay: np.ndarray
    n_pre: int
    n_post: int
    bias: np.ndarray

    @classmethod
    def identity(cls, n, delay=0):
        index = np.arange(n, dtype=np.int64)
        return cls(index, index.copy(), np.ones(n), np.broadcast_to(
            np.asarray(delay, dtype=np.int64), (n,)).copy(), n, n, np.zeros(n))

    @classmethod
    def dense(cls, weight, bias=None):
        """Affine / Linear: `weight` (n_out, n_in); zero entries are no connection."""
        weight = np.asarray(weight, dtype=float)
        if weight.ndim != 2:
            raise ValueError(f"a dense weight must be 2-d (n_out, n_in), got shape "
                             f"{weight.shape}")
        post, pre = np.nonzero(weight)
        n_post, n_pre = weight.shape
        bias = np.zeros(n_post) if bias is None else \
            np.broadcast_to(np.asarray(bias, dtype=float), (n_post,)).copy()
        return cls(pre.astype(np.int64), post.astype(np.int64), weight[post, pre],
                   np.zeros(post.size, dtype=np.int64), n_pre, n_post, bias)

    @classmethod
    def scale(cls, factors):
        factors = np.asarray(factors, dtype=float).ravel()
        out = cls.identity(factors.size)
        out.weight = factors.copy()
        return out

    def compose(self, after):
        """The map `after` applied to the output of this one."""
        if after.n_pre != self.n_post:
            raise ValueError(f"cannot compose a map with {self.n_post} outputs with one "
                             f"of {after.n_pre} inputs")
        order = np.argsort(after.pre, kind="stable")
        sorted_pre = after.pre[order]
        start = np.searchsorted(sorted_pre, self.post, side="left")
        stop = np.searchsorted(sorted_pre, self.post, side="right")
        counts = stop - start
        first = np.repeat(np.arange(self.pre.size), counts)
        # position of each pairing within the run of `after` entries of its middle index
        offsets = np.arange(first.size) - np.repeat(np.cumsum(counts) - counts, counts)
        second = order[np.repeat(start, counts) + offsets]
        bias = after.bias.copy()
        np.add.at(bias, after.post, after.weight * self.bias[after.pre])
        return ConnectionMap(self.pre[first], after.post[second],
                             self.weight[first] * after.weight[second],
                             self.delay[first] + after.delay[second],
                             self.n_pre, after.n_post, bias)

    def merged(self):
        """Entries with the same (pre, post, delay) summed; exact zeros dropped."""
        if self.pre.size == 0:
            return self
        key = np.stack([self.pre, self.post, self.delay])
        unique, inverse = np.unique(key, axis=1, return_inverse=True)
        weight = np.zeros(unique.shape[1])
        np.add.at(weight, inverse.ravel(), self.weight)
        keep = weight != 0.0
        return ConnectionMap(unique[0, keep], unique[1, keep], weight[keep],
                             unique[2, keep], self.n_pre, self.n_post, self.bias)

    @staticmethod
    def concatenate(maps):
        """The sum of maps with the same input and output sizes."""
        first = maps[0]
        return ConnectionMap(np.concatenate([m.pre for m in maps]),
                             np.concatenate([m.post for m in maps]),
                             np.concatenate([m.weight for m in maps]),
                             np.concatenate([m.delay for m in maps]),
                             first.n_pre, first.n_post,
                             np.sum([m.bias for m in maps], axis=0))


def _per_dimension(value, n, name):
    value = np.atleast_1d(np.asarray(value)).astype(np.int64).ravel()
    if value.size == 1:
        value = np.repeat(value, n)
    if value.size != n:
        raise ValueError(f"{name} needs {n} values, got {value.tolist()}")
    return value


def conv_padding(padding, kernel, dilation, n):
    """Padding before each spatial dimension ('valid', 'same' or integers)."""
    if isinstance(padding, (str, bytes)):
        padding = padding.decode() if isinstance(padding, bytes) else padding
        if padding == "valid":
            return np.zeros(n, dtype=np.int64)
        if padding == "same":
            return (dilation * (kernel - 1)) // 2
        raise ValueError(f"padding must be 'same', 'valid' or integers, got {padding!r}")
    return _per_dimension(padding, n, "padding")


def conv_output_shape(input_shape, kernel, stride, padding, dilation, same=False):
    """Spatial output shape of a convolution or pooling (PyNN-free, torch's rule)."""
    input_shape = np.asarray(input_shape, dtype=np.int64)
    if same:
        return input_shape.copy()
    span = dilation * (kernel - 1) + 1
    return (input_shape + 2 * padding - span) // stride + 1


def convolution(weight, input_shape, stride=1, padding=0, dilation=1, groups=1, bias=None):
    """Conv1d / Conv2d (any number of spatial dimensions) as a connection map.

    Parameters
    ----------
    weight : array (C_out, C_in / groups, *kernel)
    input_shape : sequence of int
        Spatial shape of the input; the input is (C_in, *input_shape), C-order.
    stride, padding, dilation : int, sequence, or for padding 'same' / 'valid'
    groups : int
    bias : array (C_out,) or None

    Returns
    -------
    (ConnectionMap, output shape (C_out, *spatial))

    Output position o, kernel offset k and input position i are related by
    ``i = o * stride - padding + k * dilation`` in every spatial dimension; entries
    with i outside the input (zero padding) are left out. Output channel c belongs
    to group ``c // (C_out/groups)`` and reads input channels
    ``group * (C_in/groups) + [0, C_in/groups)``.
    """
    weight = np.asarray(weight, dtype=float)
    spatial = np.asarray(input_shape, dtype=np.int64).ravel()
    n = spatial.size
    c_out, c_group = weight.shape[:2]
    kernel = np.asarray(weight.shape[2:], dtype=np.int64)
    if kernel.size != n:
        raise ValueError(f"a {kernel.size}-d kernel cannot slide over a {n}-d input "
                         f"of shape {spatial.tolist()}")
    groups = int(groups)
    if c_out % groups:
        raise ValueError(f"{c_out} output channels cannot form {groups} groups")
    stride = _per_dimension(stride, n, "stride")
    dilation = _per_dimension(dilation, n, "dilation")
    same = isinstance(padding, (str, bytes)) and \
        (padding.decode() if isinstance(padding, bytes) else padding) == "same"
    pad = conv_padding(padding, kernel, dilation, n)
    out_spatial = conv_output_shape(spatial, kernel, stride, pad, dilation, same)
    if np.any(out_spatial < 1):
        raise ValueError(f"the kernel {kernel.tolist()} (dilation {dilation.tolist()}, "
                         f"padding {pad.tolist()}) does not fit the input "
                         f"{spatial.tolist()}")
    c_in = c_group * groups
    # one axis per index: output channel, input channel in group, kernel..., output...
    grids = np.meshgrid(np.arange(c_out), np.arange(c_group),
                        *[np.arange(k) for k in kernel], *[np.arange(o) for o in out_spatial],
                        indexing="ij", sparse=False)
    co, cg = grids[0].ravel(), grids[1].ravel()
    ks = [g.ravel() for g in grids[2:2 + n]]
    os_ = [g.ravel() for g in grids[2 + n:]]
    inputs = [o * s - p + k * d for o, s, p, k, d in zip(os_, stride, pad, ks, dilation)]
    valid = np.ones(co.size, dtype=bool)
    for i, size in zip(inputs, spatial):
        valid &= (i >= 0) & (i < size)
    ci = (co // (c_out // groups)) * c_group + cg
    pre = np.ravel_multi_index([ci[valid]] + [i[valid] for i in inputs], (c_in, *spatial))
    post = np.ravel_multi_index([co[valid]] + [o[valid] for o in os_],
                                (c_out, *out_spatial))
    w = weight[(co[valid], cg[valid], *[k[valid] for k in ks])]
    n_post = int(c_out * np.prod(out_spatial))
    bias_per_channel = np.zeros(c_out) if bias is None else \
        np.broadcast_to(np.asarray(bias, dtype=float).ravel(), (c_out,))
    bias_out = np.repeat(bias_per_channel, int(np.prod(out_spatial)))
    nonzero = w != 0.0
    out = ConnectionMap(pre[nonzero].astype(np.int64), post[nonzero].astype(np.int64),
                        w[nonzero], np.zeros(int(nonzero.sum()), dtype=np.int64),
                        int(c_in * np.prod(spatial)), n_post, bias_out)
    return out, (c_out, *out_spatial.tolist())


def pooling(input_shape, kernel_size, stride, padding, average):
    """SumPool2d / AvgPool2d over (C, H, W) as a connection map: a depth-wise
    convolution with a kernel of ones (divided by the kernel's size for the average,
    which counts padded positions as torch's default ``count_include_pad`` does).
    Returns (ConnectionMap, output shape)."""
    channels, *spatial = [int(v) for v in np.asarray(input_shape).ravel()]
    kernel = _per_dimension(kernel_size, len(spatial), "kernel_size")
    value = 1.0 / float(np.prod(kernel)) if average else 1.0
    weight = np.full((channels, 1, *kernel), value)
    return convolution(weight, spatial, stride=stride, padding=padding, groups=channels)
