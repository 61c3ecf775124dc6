"""The differentiable software model: expected spike counts, layer by layer.

Each neuron's mean input current (nA) is the sum over its projections of weight
times presynaptic spikes per window, times the charge factor ``tau_syn / window``
(a spike of weight w delivers w * tau_syn nA ms, spread over the window). Its
expected count per window is the fitted transfer function of that current
(:mod:`.transfer`). The output layer's counts, scaled by `readout_scale`, are the
logits of a softmax cross-entropy loss.

:meth:`RateNetwork.gradients` back-propagates through the model *evaluated at given
activities*: with the model's own activities it is exact back-propagation; with the
counts the chip recorded it is the in-the-loop rule of Schmitt et al. (2017) and
hxtorch, where the forward pass is the hardware's and only the backward pass is the
model's, so that training corrects what the model does not know (mismatch,
quantization). Errors then flow through the recorded counts, and each neuron's slope
is taken where it really operates: at the current for which the model fires the
count the chip recorded.
"""

import numpy as np

#: spikes per window that stand for a silent neuron's operating point (see
#: RateNetwork.operating_current)
SILENT_COUNT = 0.1


def softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy(logits, labels):
    """Mean softmax cross-entropy (nats) of integer `labels`."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    return float(np.mean(log_norm - shifted[np.arange(labels.size), labels]))


def accuracy(scores, labels):
    """Fraction of samples whose label has the highest score; a tie between k
    outputs counts 1/k (the expected accuracy of breaking ties at random), so equal
    spike counts are neither rewarded nor penalised by a choice of order."""
    scores = np.asarray(scores, dtype=float)
    top = scores == scores.max(axis=1, keepdims=True)
    return float(np.mean(top[np.arange(labels.size), labels] / top.sum(axis=1)))


class RateNetwork:
    """Software model of an :class:`~.architecture.Architecture` under a rate code.

    Parameters
    ----------
    architecture : Architecture
    transfer : callable with ``derivative``
        Expected spikes per window of a neuron given its mean current (nA), e.g. a
        fitted :class:`~.transfer.SoftplusTransfer`.
    window : float
        Presentation window (ms); with ``architecture.neuron.tau_syn`` it gives the
        charge factor.
    weight_limit : float
        Largest weight magnitude (nA); weights are kept within +-weight_limit.
    readout_scale : float
        Logit per output spike.
    seed : int
        Seed of the initial weights.
    init_current : float
        Standard deviation (nA) of the mean currents that the initial weights give
        for presynaptic layers firing `init_count` spikes per window.
    """

    def __init__(self, architecture, transfer, window, weight_limit=0.5, readout_scale=1.0,
                 seed=0, init_current=0.3, init_count=2.0):
        self.architecture = architecture
        self.transfer = transfer
        self.charge_factor = architecture.neuron.tau_syn / float(window)
        self.weight_limit = float(weight_limit)
        self.readout_scale = float(readout_scale)
        rng = np.random.default_rng(seed)
        self.weights = {}
        for pre, post in architecture.projections:
            n_pre = architecture.size(pre)
            sigma = init_current / (self.charge_factor * init_count * np.sqrt(n_pre))
            w = rng.normal(0.0, sigma, (n_pre, architecture.size(post)))
            self.weights[(pre, post)] = np.clip(w, -self.weight_limit, self.weight_limit)

    # ---------------------------------------------------------------- forward
    def currents(self, post, activity):
        """Mean input current (nA) of layer `post` given the counts of its
        presynaptic layers in `activity` (name -> (samples, neurons))."""
        return sum(self.charge_factor * activity[pre] @ self.weights[(pre, post)]
                   for pre, _ in self.architecture.incoming(post))

    def forward(self, input_counts):
        """Expected counts per window of every layer (name -> (samples, neurons)),
        from the input spike counts."""
        names = self.architecture.names
        activity = {names[0]: np.asarray(input_counts, dtype=float)}
        for name in names[1:]:
            activity[name] = self.transfer(self.currents(name, activity))
        return activity

    def logits(self, output_counts):
        return self.readout_scale * np.asarray(output_counts, dtype=float)

    def loss(self, activity, labels):
        """(cross-entropy, accuracy) of the output layer's counts in `activity`."""
        output = activity[self.architecture.output]
        return cross_entropy(self.logits(output), labels), accuracy(output, labels)

    # --------------------------------------------------------------- backward
    def operating_current(self, name, activity, recorded):
        """The current (nA) at which layer `name`'s slope is taken.

        Model activity: the model's current. Recorded activity: the current at which
        the transfer function gives the count each neuron really fired, so that a
        chip neuron firing more (or less) than the model predicts, because of its
        mismatch, is differentiated where it really operates. A silent neuron keeps
        the model's current if that lies further below the onset than the current
        of `SILENT_COUNT` spikes.
        """
        current = self.currents(name, activity)
        if not recorded:
            return current
        counts = activity[name]
        return np.where(counts > 0, self.transfer.inverse(counts, SILENT_COUNT),
                        np.minimum(current, self.transfer.inverse(SILENT_COUNT)))

    def gradients(self, activity, labels, recorded=False):
        """Gradient of the mean loss with respect to every weight, back-propagated
        through the model evaluated at `activity` (counts of every layer).

        `recorded` False: `activity` is the model's own (:meth:`forward`), and this
        is exact back-propagation. True: `activity` was recorded on a chip; the
        errors flow through the recorded counts and the slopes are taken at the
        chip's operating point (:meth:`operating_current`).

        Returns ({projection: dL/dW (1/nA)}, loss, accuracy).
        """
        arch = self.architecture
        labels = np.asarray(labels, dtype=np.int64)
        output = activity[arch.output]
        n = labels.size
        target = np.zeros_like(output)
        target[np.arange(n), labels] = 1.0
        error = {arch.output: self.readout_scale * (softmax(self.logits(output)) - target) / n}
        gradients = {}
        for name in reversed(arch.names[1:]):
            current = self.operating_current(name, activity, recorded)
            # a layer with no path to the output has no error
            delta = error.pop(name, 0.0) * self.transfer.derivative(current)
            for pre, post in arch.incoming(name):
                gradients[(pre, post)] = self.charge_factor * activity[pre].T @ delta
                if pre != arch.input:
                    back = self.charge_factor * delta @ self.weights[(pre, post)].T
                    error[pre] = error.get(pre, 0.0) + back
        loss, acc = self.loss(activity, labels)
        return gradients, loss, acc

    def clip(self):
        """Keep every weight within +-weight_limit."""
        for key, w in self.weights.items():
            np.clip(w, -self.weight_limit, self.weight_limit, out=w)

    def copy_weights(self):
        return {key: w.copy() for key, w in self.weights.items()}

    def set_weights(self, weights):
        for key in self.weights:
            self.weights[key] = np.array(weights[key], dtype=float)
