"""The sparsest embedding of patterns: a linear program per neuron (Tanaka et al.
2020, IEEE TNNLS 31(1), the optimisation approach).

For every neuron i, among the weights w_ij on its allowed connections j (all j != i,
or those of a mask), find the ones that::

    minimise    sum_j d_ij**gamma |w_ij|
    subject to  xi_i^mu sum_j w_ij xi_j^mu >= kappa    for every pattern mu,

where d_ij is the distance between neurons i and j (grid units). With w = u - v,
u, v >= 0, this is the linear program min c.(u + v) s.t. -A (u - v) <= -kappa, with
A[mu, j] = xi_i^mu xi_j^mu and c_j = d_ij**gamma, solved by HiGHS
(``scipy.optimize.linprog(method="highs")``). gamma = 0 minimises the L1 norm of the
weights (sparsity); gamma > 0 makes long connections dearer, trading performance for
wiring. A basic optimal solution has at most P nonzero weights per neuron. The
program is homogeneous in kappa (the solution scales with it), so kappa only sets the
scale of the weights.

Robust embedding: with ``inputs`` (e.g. corrupted copies of the patterns) the
constraints become xi_i^mu sum_j w_ij x_j^mu >= kappa for input rows x^mu paired with
target rows xi^mu, so that one step of the dynamics maps each noisy input to its
pattern (a basin of attraction enforced one step deep).

The problems of different neurons are independent; neurons are solved in blocks of
`neurons_per_program`, each block one block-diagonal program built with whole arrays.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sparse
from scipy.optimize import linprog

#: a weight below this fraction of the largest weight of its neuron is a zero the
#: solver left at rounding level
ZERO_TOLERANCE = 1e-7


class InfeasibleEmbedding(ValueError):
    """No weights on the allowed connections satisfy the pattern constraints."""


@dataclass(frozen=True)
class SparseEmbedding:
    """weights (N, N); cost (N,): sum_j d_ij**gamma abs(w_ij) of each neuron."""
    weights: np.ndarray
    cost: np.ndarray

    @property
    def connections(self):
        """Boolean (N, N): the connections with a nonzero weight."""
        return self.weights != 0


def sparsest_weights(patterns, distance, gamma=0.0, kappa=1.0, mask=None, inputs=None,
                     neurons_per_program=32):
    """Weights (N, N) of least cost sum_j d_ij**gamma abs(w_ij) that make every pattern a
    fixed point with stability >= kappa (module docstring).

    Parameters
    ----------
    patterns : array (P, N) of ±1
    distance : array (N, N)
        d_ij in grid units (:func:`~pyNN_sparsehw.associative_memory.grid.distances`); must be
        positive off the diagonal when gamma != 0.
    gamma : float
        Exponent of the distance in the cost.
    kappa : float
        Required stability (> 0).
    mask : boolean (N, N), optional
        Allowed connections (``mask[i, j]``: j -> i); default all j != i.
    inputs : array (P, N) of ±1, optional
        The states from which row mu of `patterns` must follow (robust embedding,
        module docstring); default `patterns` themselves.
    neurons_per_program : int
        Neurons solved together in one block-diagonal linear program.

    Returns
    -------
    SparseEmbedding
    """
    patterns = np.asarray(patterns, dtype=float)
    count, n = patterns.shape
    inputs = patterns if inputs is None else np.asarray(inputs, dtype=float)
    if inputs.shape != patterns.shape:
        raise ValueError(f"sparsest_weights: inputs have shape {inputs.shape}, the patterns "
                         f"{patterns.shape}; give one input row per pattern row")
    distance = np.asarray(distance, dtype=float)
    allowed = np.ones((n, n), dtype=bool) if mask is None else np.array(mask, dtype=bool)
    np.fill_diagonal(allowed, False)
    if kappa <= 0:
        raise ValueError(f"kappa must be positive (the program is homogeneous in kappa), "
                         f"got {kappa}")
    if gamma != 0 and np.any(distance[allowed] <= 0):
        raise ValueError("distances between distinct neurons must be positive when gamma != 0")
    price = np.where(allowed, distance ** gamma if gamma else 1.0, 0.0)
    weights = np.zeros((n, n))
    cost = np.zeros(n)
    block = max(1, int(neurons_per_program))
    for start in range(0, n, block):
        neurons = np.arange(start, min(start + block, n))
        weights[neurons], cost[neurons] = _solve_block(patterns, inputs, neurons,
                                                       allowed[neurons], price[neurons], kappa)
    return SparseEmbedding(weights, cost)


def _solve_block(patterns, inputs, neurons, allowed, price, kappa):
    """One block-diagonal program for `neurons`: variables u, v of every allowed
    (neuron, source) pair, P constraints per neuron."""
    count, n = patterns.shape
    local, sources = np.nonzero(allowed)                 # one variable pair per entry
    variables = local.size
    # constraint (local, mu): -xi_i^mu x_j^mu (u - v) <= -kappa
    values = -(patterns[:, neurons[local]] * inputs[:, sources])      # (P, variables)
    rows = local[None, :] * count + np.arange(count)[:, None]
    columns = np.broadcast_to(np.arange(variables), (count, variables))
    a = sparse.csr_matrix((values.ravel(), (rows.ravel(), columns.ravel())),
                          shape=(neurons.size * count, variables))
    c = price[local, sources]
    result = linprog(np.concatenate([c, c]), A_ub=sparse.hstack([a, -a], format="csr"),
                     b_ub=np.full(neurons.size * count, -float(kappa)), bounds=(0, None),
                     method="highs")
    if result.status == 2:
        fan_in = allowed.sum(axis=1)
        raise InfeasibleEmbedding(
            f"sparsest_weights: no weights on the allowed connections of neurons "
            f"{neurons[0]}-{neurons[-1]} (fan-in {fan_in.min()}-{fan_in.max()}) make all "
            f"{count} patterns stable with kappa = {kappa}. Allow more connections (mask) or "
            f"store fewer patterns.")
    if result.status != 0:
        raise RuntimeError(f"sparsest_weights: HiGHS failed on neurons {neurons[0]}-"
                           f"{neurons[-1]}: {result.message}")
    w = np.zeros((neurons.size, n))
    w[local, sources] = result.x[:variables] - result.x[variables:]
    largest = np.abs(w).max(axis=1, keepdims=True)
    w[np.abs(w) <= ZERO_TOLERANCE * largest] = 0.0
    return w, (price * np.abs(w)).sum(axis=1)
