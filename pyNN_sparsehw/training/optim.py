"""Adam (Kingma & Ba 2015) over a dict of numpy weight arrays, updated in place."""

import numpy as np


class Adam:
    """Adam with the paper's defaults; `learning_rate` in the weights' unit (nA)."""

    def __init__(self, learning_rate=0.01, beta1=0.9, beta2=0.999, epsilon=1e-8):
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
        self.learning_rate = float(learning_rate)
        self.beta1, self.beta2, self.epsilon = float(beta1), float(beta2), float(epsilon)
        self.steps = 0
        self._m = {}
        self._v = {}

    def update(self, weights, gradients):
        """One step: ``weights[k] -= lr * m_hat / (sqrt(v_hat) + eps)`` for every k."""
        self.steps += 1
        correction1 = 1.0 - self.beta1 ** self.steps
        correction2 = 1.0 - self.beta2 ** self.steps
        for key, gradient in gradients.items():
            m = self._m.setdefault(key, np.zeros_like(gradient))
            v = self._v.setdefault(key, np.zeros_like(gradient))
            m *= self.beta1
            m += (1.0 - self.beta1) * gradient
            v *= self.beta2
            v += (1.0 - self.beta2) * gradient ** 2
            weights[key] -= self.learning_rate * (m / correction1) / (
                np.sqrt(v / correction2) + self.epsilon)
