"""The data set: scikit-learn's bundled 8x8 handwritten digits (1797 images, no
download), split once into a fixed training and test set."""

from dataclasses import dataclass

import numpy as np

#: brightest pixel value of the digits images (4-bit grey levels)
DIGITS_MAX_PIXEL = 16.0


@dataclass(frozen=True)
class Dataset:
    """Images as rows of intensities in [0, 1] and their labels (int)."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def n_classes(self):
        return int(max(self.y_train.max(), self.y_test.max())) + 1


def load_digits(test_fraction=0.2, seed=0):
    """The 8x8 digits, pixels scaled to [0, 1], split into train and test sets.

    The split is stratified by class and fixed by `seed` (numpy's generator, so the
    same seed gives the same split in every process).
    """
    from sklearn.datasets import load_digits as sklearn_digits

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    digits = sklearn_digits()
    x = digits.data.astype(float) / DIGITS_MAX_PIXEL
    y = digits.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    order = rng.permutation(y.size)
    # stratified: within each class (in the shuffled order), the first fraction is test
    rank = np.empty(y.size, dtype=np.int64)
    shuffled = y[order]
    for_class = np.argsort(shuffled, kind="stable")
    starts = np.searchsorted(shuffled[for_class], shuffled[for_class], side="left")
    rank[order[for_class]] = np.arange(y.size) - starts
    class_size = np.bincount(y)[y]
    test = rank < np.round(test_fraction * class_size)
    train_idx = order[~test[order]]
    test_idx = order[test[order]]
    return Dataset(x[train_idx], y[train_idx], x[test_idx], y[test_idx])
