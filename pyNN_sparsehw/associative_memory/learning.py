"""Learning rules that embed ±1 patterns in a recurrent network with a given
connectivity.

Conventions: ``patterns`` has shape (P, N), entries ±1; weights ``w[i, j]`` (shape
(N, N)) carry the input of neuron ``i`` from neuron ``j``; the local field of neuron i
in state s is ``h_i = sum_j w[i, j] s_j`` and pattern mu is a fixed point of the sign
dynamics when ``xi_i^mu h_i^mu > 0`` for every i. ``mask[i, j]`` (boolean (N, N), from
:mod:`~pyNN_sparsehw.associative_memory.topology`) says which connections exist; weights outside
the mask and on the diagonal are zero. Weights are dimensionless.
"""

from dataclasses import dataclass

import numpy as np


def hebbian(patterns, mask=None):
    """Hebb's rule, w_ij = (1/N) sum_mu xi_i^mu xi_j^mu on the existing connections
    (Hopfield 1982)."""
    patterns = _as_patterns(patterns)
    n = patterns.shape[1]
    weights = patterns.T @ patterns / n
    return weights * _connections(mask, n)


@dataclass(frozen=True)
class PerceptronResult:
    """weights (N, N); epochs: sweeps over all patterns made; converged: every
    stability xi_i^mu h_i^mu exceeds kappa."""
    weights: np.ndarray
    epochs: int
    converged: bool


def perceptron(patterns, mask=None, kappa=1.0, learning_rate=1.0, max_epochs=5000,
               initial=None):
    """The iterative perceptron-type rule on the existing connections (Gardner 1988;
    Diederich & Opper 1987).

    In every epoch, for all neurons and all patterns at once (batch update):
    w_ij += (learning_rate / N) xi_i^mu xi_j^mu for every (i, mu) with
    xi_i^mu h_i^mu <= kappa, where h_i^mu = sum_j w_ij xi_j^mu; j runs over the
    existing connections of i. Stops when no pair is below kappa, or after
    `max_epochs`. Starting from zero weights (default `initial`), the rule is the
    perceptron algorithm with margin `kappa`, which converges whenever the margin is
    reachable (at kappa = 0: up to P = 2K random patterns for K inputs, Cover 1965);
    the weights are not normalised, so kappa is measured against the step
    learning_rate * K / N that one update adds to a neuron's own stability.
    """
    patterns = _as_patterns(patterns)
    n = patterns.shape[1]
    connections = _connections(mask, n)
    weights = np.zeros((n, n)) if initial is None else \
        np.array(initial, dtype=float) * connections
    step = float(learning_rate) / n
    for epoch in range(int(max_epochs) + 1):
        stability = patterns * (patterns @ weights.T)          # (P, N): xi_i h_i
        below = stability <= kappa
        if not below.any():
            return PerceptronResult(weights, epoch, True)
        if epoch == max_epochs:
            break
        weights += step * ((below * patterns).T @ patterns) * connections
    return PerceptronResult(weights, int(max_epochs), False)


def _as_patterns(patterns):
    patterns = np.asarray(patterns, dtype=float)
    if patterns.ndim != 2 or not np.all(np.abs(patterns) == 1):
        raise ValueError(f"patterns must be a (P, N) array of +1/-1 entries, got shape "
                         f"{patterns.shape}")
    return patterns


def _connections(mask, n):
    """Float (N, N) of the existing connections, diagonal excluded."""
    connections = np.ones((n, n)) if mask is None else np.asarray(mask, dtype=float)
    if connections.shape != (n, n):
        raise ValueError(f"mask has shape {connections.shape}; the patterns have {n} "
                         f"neurons, so it must be ({n}, {n})")
    connections = connections.copy()
    np.fill_diagonal(connections, 0.0)
    return connections
