"""Vectorized implementations of PyNN's connectors.

PyNN's connectors call ``projection._convergent_connect()`` once per postsynaptic
neuron, evaluating parameters column by column. Here every standard connector
produces the whole connection list as arrays, in blocks of columns to bound memory.

Connections come out in PyNN's order (by postsynaptic index, then presynaptic
index within a column), and random numbers are drawn in the same order as PyNN's
column-by-column loop wherever that is possible with whole arrays
(FixedProbability, DistanceDependentProbability, IndexBasedProbability,
FixedNumberPre with replacement, parameters drawn from RandomDistributions), so
that the same seed gives the same network as pyNN.nest. The connectors whose
per-column draws interleave permutations (FixedNumberPre/Post without
replacement, FixedTotalNumber) draw the same distribution with whole-array
operations instead.

Unknown connectors (user subclasses, CSA) fall back to PyNN's own
``connector.connect()``, whose ``_convergent_connect`` calls are collected.
"""

from copy import copy, deepcopy

import numpy as np

from pyNN import connectors as C
from pyNN import errors
from pyNN.core import IndexBasedExpression
from pyNN.parameters import LazyArray
from pyNN.random import RandomDistribution, NumpyRNG

#: largest number of (pre, post) candidate pairs evaluated at once
BLOCK_ELEMENTS = 1 << 22


class Connections:
    """A connection list: index arrays and per-connection parameter values.

    `pre` and `post` index the projection's pre/post (Population, View or Assembly);
    `parameters` maps native parameter names to arrays (one value per connection)
    or scalars.
    """

    def __init__(self, pre, post, parameters=None):
        self.pre = np.asarray(pre, dtype=np.int64)
        self.post = np.asarray(post, dtype=np.int64)
        self.parameters = parameters or {}

    def __len__(self):
        return self.pre.size


def build(connector, projection):
    """Connections for `projection` as `connector` defines them."""
    handler = _handler(connector)
    if handler is None:
        return _fallback(connector, projection)
    result = handler(connector, projection)
    if isinstance(result, Connections):
        pre, post, explicit = result.pre, result.post, result.parameters
    else:
        pre, post = result
        explicit = {}
    parameters = connection_parameters(connector, projection, pre, post, explicit)
    if connector.safe:
        _check(projection, parameters)
    return Connections(pre, post, parameters)


def _handler(connector):
    for cls, handler in _HANDLERS:
        if type(connector) is cls:
            return handler
    return None


# ---------------------------------------------------------------- helpers
def _numpy_rng(rng):
    """The numpy RandomState behind a PyNN RNG (NumpyRNG); a seeded one otherwise."""
    if isinstance(rng, NumpyRNG):
        return rng.rng
    from .simulator import state
    return np.random.RandomState(state._segment_seed())


def _column_blocks(n_pre, n_post):
    """Ranges of postsynaptic columns holding at most BLOCK_ELEMENTS candidate pairs."""
    width = max(1, BLOCK_ELEMENTS // max(n_pre, 1))
    for start in range(0, n_post, width):
        yield start, min(n_post, start + width)


def _block_pairs(n_pre, start, stop):
    """Flattened (pre, post) of the block of columns [start, stop), column-major."""
    pre = np.tile(np.arange(n_pre), stop - start)
    post = np.repeat(np.arange(start, stop), n_pre)
    return pre, post


def _cell_ids(cells):
    return np.asarray(cells.all_cells, dtype=np.int64)


def _self_connection_mask(connector, projection, pre, post):
    """False where a connection is forbidden by `allow_self_connections`."""
    allow = connector.allow_self_connections
    if allow is True:
        return None
    if allow == "NoMutual":
        if projection.pre != projection.post:
            raise NotImplementedError(
                "allow_self_connections='NoMutual' needs the same population as pre and post")
        return pre > post
    return _cell_ids(projection.pre)[pre] != _cell_ids(projection.post)[post]


def _and(mask, other):
    return other if mask is None else (mask & other)


def _uniform_by_column(rng, n_pre, start, stop):
    """Uniform [0, 1) numbers for columns [start, stop), drawn column after column."""
    return np.asarray(rng.next(n_pre * (stop - start), "uniform", {"low": 0.0, "high": 1.0},
                               mask=None), dtype=float)


def _probabilistic(connector, projection, probability):
    """Pairs kept where uniform < probability(pre, post), block by block.

    PyNN draws these numbers from a copy of the connector's generator (its lazy
    arrays deep-copy the RandomDistribution), so a connector reused for several
    projections starts each one from the same state: done the same here.
    """
    n_pre, n_post = projection.shape
    rng = deepcopy(connector.rng)
    pres, posts = [], []
    for start, stop in _column_blocks(n_pre, n_post):
        pre, post = _block_pairs(n_pre, start, stop)
        keep = _uniform_by_column(rng, n_pre, start, stop) < probability(pre, post)
        keep = _and(_self_connection_mask(connector, projection, pre, post), keep)
        pres.append(pre[keep])
        posts.append(post[keep])
    return np.concatenate(pres), np.concatenate(posts)


def pairwise_distances(space, pre_positions, post_positions):
    """Distances between corresponding columns of two (3, n) position arrays.

    Follows :class:`pyNN.space.Space` (axes, offset and scale factor applied to the
    postsynaptic positions, periodic boundaries).
    """
    post_positions = space.scale_factor * (post_positions + space.offset)
    total = np.zeros(pre_positions.shape[1])
    for axis in space.axes:
        diff = np.abs(pre_positions[axis] - post_positions[axis])
        if space.periodic_boundaries is not None and \
                space.periodic_boundaries[axis] is not None:
            low, high = space.periodic_boundaries[axis]
            diff = np.minimum(diff, (high - low) - diff)
        total += diff ** 2
    return np.sqrt(total)


def _distances(projection, pre, post):
    return pairwise_distances(projection.space, projection.pre.positions[:, pre],
                              projection.post.positions[:, post])


# ------------------------------------------------------------- connectors
def _all_to_all(connector, projection):
    n_pre, n_post = projection.shape
    pre, post = _block_pairs(n_pre, 0, n_post)
    mask = _self_connection_mask(connector, projection, pre, post)
    return (pre, post) if mask is None else (pre[mask], post[mask])


def _one_to_one(connector, projection):
    n = min(projection.shape)
    if projection.pre.size != projection.post.size:
        raise errors.ConnectionError(
            f"OneToOneConnector needs pre and post of equal size; projection "
            f"'{projection.label}' has {projection.pre.size} and {projection.post.size}")
    return np.arange(n), np.arange(n)


def _fixed_probability(connector, projection):
    """The same draws as :func:`_probabilistic`; with one probability for every pair,
    only the kept pairs' indices are formed (from the positions of the draws)."""
    n_pre, n_post = projection.shape
    rng = deepcopy(connector.rng)
    pres, posts = [], []
    for start, stop in _column_blocks(n_pre, n_post):
        kept = np.flatnonzero(_uniform_by_column(rng, n_pre, start, stop) <
                              connector.p_connect)
        pre, post = kept % n_pre, start + kept // n_pre
        allowed = _self_connection_mask(connector, projection, pre, post)
        pres.append(pre if allowed is None else pre[allowed])
        posts.append(post if allowed is None else post[allowed])
    return np.concatenate(pres), np.concatenate(posts)


def _distance_dependent(connector, projection):
    def probability(pre, post):
        return np.asarray(connector.distance_function(_distances(projection, pre, post)),
                          dtype=float)
    return _probabilistic(connector, projection, probability)


def _index_based(connector, projection):
    expression = copy(connector.index_expression)
    expression.projection = projection
    return _probabilistic(connector, projection,
                          lambda pre, post: np.asarray(expression(pre, post), dtype=float))


def _array(connector, projection):
    array = np.asarray(connector.array, dtype=bool)
    if array.shape != projection.shape:
        raise errors.ConnectionError(
            f"ArrayConnector: array of shape {array.shape} does not match projection "
            f"'{projection.label}' of shape {projection.shape}")
    post, pre = np.nonzero(array.T)
    return pre, post


def _clone(connector, projection):
    reference = connector.reference_projection
    if projection.pre != reference.pre or projection.post != reference.post:
        raise errors.ConnectionError(
            f"CloneConnector: pre and post of projection '{projection.label}' must be those "
            f"of the reference projection '{reference.label}'")
    pairs = np.unique(np.stack([reference._post_index, reference._pre_index]), axis=1)
    return pairs[1], pairs[0]


def _from_list(connector, projection):
    synapse_parameter_names = projection.synapse_type.get_parameter_names()
    for name in connector.column_names:
        if name not in synapse_parameter_names:
            raise ValueError(f"{name} is not a valid parameter for "
                             f"{type(projection.synapse_type).__name__}")
    conn_list = np.asarray(connector.conn_list, dtype=float)
    if conn_list.size == 0:
        return Connections(np.zeros(0, np.int64), np.zeros(0, np.int64))
    pre = conn_list[:, 0].astype(np.int64)
    post = conn_list[:, 1].astype(np.int64)
    for name, indices, size in (("source", pre, projection.pre.size),
                                ("target", post, projection.post.size)):
        if indices.min() < 0 or indices.max() >= size:
            raise errors.ConnectionError(
                f"{name} index out of range in the connection list of projection "
                f"'{projection.label}': indices must lie in [0, {size - 1}], "
                f"got {indices.min()}..{indices.max()}")
    order = np.argsort(post, kind="stable")
    explicit = {name: conn_list[order, column]
                for column, name in enumerate(connector.column_names, 2)}
    if explicit and hasattr(projection.synapse_type, "translate"):
        explicit = _translate_columns(projection.synapse_type, explicit)
    return Connections(pre[order], post[order], explicit)


def _translate_columns(synapse_type, columns):
    """Translate standard-name columns of a connection list to native names."""
    translated = {}
    for name, values in columns.items():
        native = synapse_type.translations[name]["translated_name"]
        translated[native] = values
    return translated


def _from_file(connector, projection):
    if connector.distributed:
        raise NotImplementedError("FromFileConnector(distributed=True) needs MPI, which "
                                  "pyNN.sparsehw does not use; merge the files first")
    connector.column_names = list(connector.file.get_metadata().get("columns",
                                                                    ("weight", "delay")))
    for ignore in "ij":
        if ignore in connector.column_names:
            connector.column_names.remove(ignore)
    connector.conn_list = connector.file.read()
    return _from_list(connector, projection)


def _numbers(n, size):
    """Per-neuron connection counts from an int or a RandomDistribution."""
    if isinstance(n, RandomDistribution):
        counts = np.asarray(n.next(size), dtype=np.int64).reshape(size)
    else:
        counts = np.full(size, int(n), dtype=np.int64)
    if np.any(counts < 0):
        raise errors.ConnectionError("the number of connections must not be negative")
    return counts


def _sample_without_replacement(rng, counts, n_candidates, exclude_self):
    """For each row r, `counts[r]` distinct candidates (whole sets first when more).

    Returns (row, candidate) arrays sorted by row. Uses random sort keys, so it is
    vectorized over rows; `exclude_self` forbids candidate == row.
    """
    rows, chosen = [], []
    available = n_candidates - (1 if exclude_self else 0)
    if available <= 0:
        if np.any(counts > 0):
            raise errors.ConnectionError("no candidates to connect to")
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    full_sets, remainder = np.divmod(counts, available)
    width = max(1, BLOCK_ELEMENTS // n_candidates)
    for start in range(0, counts.size, width):
        stop = min(counts.size, start + width)
        keys = rng.random_sample((stop - start, n_candidates))
        if exclude_self:
            r = np.arange(start, stop)
            valid = r < n_candidates
            keys[np.nonzero(valid)[0], r[valid]] = np.inf
        order = np.argsort(keys, axis=1)
        take = np.arange(n_candidates)[np.newaxis, :] < remainder[start:stop, np.newaxis]
        block_rows = np.broadcast_to(np.arange(start, stop)[:, np.newaxis], order.shape)[take]
        rows.append(block_rows)
        chosen.append(order[take])
    rows = np.concatenate(rows)
    chosen = np.concatenate(chosen)
    if np.any(full_sets > 0):
        candidates = np.arange(n_candidates)
        extra_rows, extra = [], []
        for k in range(1, int(full_sets.max()) + 1):
            r = np.nonzero(full_sets >= k)[0]
            grid_rows = np.repeat(r, n_candidates)
            grid = np.tile(candidates, r.size)
            keep = grid != grid_rows if exclude_self else slice(None)
            extra_rows.append(grid_rows[keep])
            extra.append(grid[keep])
        rows = np.concatenate([rows] + extra_rows)
        chosen = np.concatenate([chosen] + extra)
    order = np.argsort(rows, kind="stable")
    return rows[order], chosen[order]


def _same_population(projection):
    return projection.pre == projection.post


def _fixed_number_pre(connector, projection):
    n_pre, n_post = projection.shape
    counts = _numbers(connector.n, n_post)
    exclude_self = not connector.allow_self_connections and _same_population(projection)
    if connector.with_replacement:
        if exclude_self:
            # draw from n_pre - 1 candidates and skip the postsynaptic neuron itself
            post = np.repeat(np.arange(n_post), counts)
            pre = np.asarray(connector.rng.next(int(counts.sum()), "uniform_int",
                                                {"low": 0, "high": n_pre - 1}, mask=None),
                             dtype=np.int64)
            pre = pre + (pre >= post)
        else:
            post = np.repeat(np.arange(n_post), counts)
            pre = np.asarray(connector.rng.next(int(counts.sum()), "uniform_int",
                                                {"low": 0, "high": n_pre}, mask=None),
                             dtype=np.int64)
        return pre, post
    post, pre = _sample_without_replacement(_numpy_rng(connector.rng), counts, n_pre,
                                            exclude_self)
    return pre, post


def _fixed_number_post(connector, projection):
    n_pre, n_post = projection.shape
    counts = _numbers(connector.n, n_pre)
    exclude_self = not connector.allow_self_connections and _same_population(projection)
    if connector.with_replacement:
        pre = np.repeat(np.arange(n_pre), counts)
        high = n_post - 1 if exclude_self else n_post
        post = np.asarray(connector.rng.next(int(counts.sum()), "uniform_int",
                                             {"low": 0, "high": high}, mask=None),
                          dtype=np.int64)
        if exclude_self:
            post = post + (post >= pre)
    else:
        pre, post = _sample_without_replacement(_numpy_rng(connector.rng), counts, n_post,
                                                exclude_self)
    order = np.lexsort((pre, post))
    return pre[order], post[order]


def _fixed_total_number(connector, projection):
    n_pre, n_post = projection.shape
    total = int(_numbers(connector.n, 1)[0])
    rng = _numpy_rng(connector.rng)
    exclude_self = not connector.allow_self_connections and _same_population(projection)
    n_candidates = n_pre * n_post - (min(n_pre, n_post) if exclude_self else 0)
    if connector.with_replacement:
        flat = rng.randint(0, n_candidates, size=total)
    else:
        if total > n_candidates:
            raise errors.ConnectionError(
                f"FixedTotalNumberConnector without replacement: {total} connections asked "
                f"but projection '{projection.label}' has only {n_candidates} possible")
        flat = rng.choice(n_candidates, size=total, replace=False)
    if exclude_self:
        # candidates enumerate the pairs row by row, skipping the diagonal
        row = flat // (n_post - 1)
        col = flat % (n_post - 1)
        col = col + (col >= row)
        pre, post = row, col
    else:
        pre, post = np.divmod(flat, n_post)
    order = np.lexsort((pre, post))
    return pre[order], post[order]


def _small_world(connector, projection):
    raise NotImplementedError("SmallWorldConnector is not implemented in PyNN 0.13 itself "
                              "(its connect() raises NotImplementedError)")


_HANDLERS = [
    (C.AllToAllConnector, _all_to_all),
    (C.OneToOneConnector, _one_to_one),
    (C.FixedProbabilityConnector, _fixed_probability),
    (C.DistanceDependentProbabilityConnector, _distance_dependent),
    (C.IndexBasedProbabilityConnector, _index_based),
    (C.DisplacementDependentProbabilityConnector, _index_based),
    (C.ArrayConnector, _array),
    (C.CloneConnector, _clone),
    (C.FromListConnector, _from_list),
    (C.FromFileConnector, _from_file),
    (C.FixedNumberPreConnector, _fixed_number_pre),
    (C.FixedNumberPostConnector, _fixed_number_post),
    (C.FixedTotalNumberConnector, _fixed_total_number),
    (C.SmallWorldConnector, _small_world),
]


# -------------------------------------------------------------- parameters
def connection_parameters(connector, projection, pre, post, explicit=None):
    """Native parameter values of every connection, evaluated in whole arrays.

    `explicit` holds values given per connection (FromListConnector columns).
    """
    explicit = explicit or {}
    parameter_space = projection.synapse_type.native_parameters
    parameter_space.shape = projection.shape
    values = {}
    for name, lazy in parameter_space.items():
        if name in explicit:
            values[name] = np.asarray(explicit[name], dtype=float)
        else:
            values[name] = evaluate_at(lazy, projection, pre, post)
    return values


def evaluate_at(lazy, projection, pre, post):
    """Value of a (n_pre, n_post) LazyArray at the pairs (pre, post).

    Returns a scalar when the value is homogeneous, else one value per pair.
    """
    if not isinstance(lazy, LazyArray):
        lazy = LazyArray(lazy, shape=projection.shape)
    if lazy.is_homogeneous:
        value = lazy.evaluate(simplify=True)
        return value if np.ndim(value) == 0 else np.asarray(value)
    base = lazy.base_value
    if isinstance(base, RandomDistribution):
        drawn = LazyArray(np.asarray(base.next(pre.size), dtype=float).reshape(pre.size),
                          shape=(pre.size,))
        drawn.operations = list(lazy.operations)
        return np.asarray(drawn.evaluate(simplify=False), dtype=float)
    if callable(base) and not isinstance(base, IndexBasedExpression):
        # a function of distance: map(distance) as PyNN's _handle_distance_expressions does
        distances = _distances(projection, pre, post)
        function = LazyArray(base, shape=projection.shape)
        function.operations = list(lazy.operations)
        return np.asarray(_apply(function, distances), dtype=float)
    if isinstance(base, IndexBasedExpression):
        expression = copy(base)
        expression.projection = projection
        evaluated = LazyArray(np.asarray(expression(pre, post), dtype=float), shape=(pre.size,))
        evaluated.operations = list(lazy.operations)
        return np.asarray(evaluated.evaluate(simplify=False), dtype=float)
    # arrays and anything else: evaluate column blocks containing connections
    values = np.empty(pre.size)
    for start, stop in _column_blocks(*projection.shape):
        selected = (post >= start) & (post < stop)
        if np.any(selected):
            block = np.asarray(lazy[:, start:stop], dtype=float)
            values[selected] = block[pre[selected], post[selected] - start]
    return values


def _apply(function, distances):
    """Evaluate a lazy function of distance at given distances."""
    value = function.base_value(distances)
    tail = LazyArray(np.asarray(value, dtype=float), shape=np.shape(value))
    tail.operations = function.operations
    return tail.evaluate(simplify=False)


def _check(projection, parameters):
    synapse_type = projection.synapse_type
    for name, check in getattr(synapse_type, "parameter_checks", {}).items():
        native = synapse_type.translations[name]["translated_name"]
        if native in parameters:
            value = parameters[native]
            if np.ndim(value) == 0 or np.size(value) > 0:
                # finiteness first: PyNN's sign check reads a NaN weight as a wrong sign
                projection._check_values(native, value)
                check(value, projection)


# ---------------------------------------------------------------- fallback
def _fallback(connector, projection):
    """Run PyNN's own connect() and collect its per-column calls."""
    projection._collected = []
    connector.connect(projection)
    chunks = projection.__dict__.pop("_collected")
    if not chunks:
        return Connections(np.zeros(0, np.int64), np.zeros(0, np.int64),
                           _empty_parameters(projection))
    pre = np.concatenate([c[0] for c in chunks])
    post = np.concatenate([c[1] for c in chunks])
    names = chunks[0][2].keys()
    parameters = {name: np.concatenate([np.broadcast_to(np.asarray(c[2][name], dtype=float),
                                                        c[0].shape) for c in chunks])
                  for name in names}
    return Connections(pre, post, parameters)


def _empty_parameters(projection):
    return {name: np.zeros(0) for name in projection.synapse_type.native_parameters.keys()}
