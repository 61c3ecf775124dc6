"""Sequence tasks as binary spike inputs, time first: x (T, N, I) in {0, 1}, labels (N,).

Every sequence starts with one blank step (a spike source cannot emit at t = 0, see
:mod:`.egru.deploy`).

* :func:`sequential_digits`: the 8x8 digits (scikit-learn, no download) read row by
  row, each pixel's grey level as two thresholded channels (a thermometer code).
* :func:`evidence_accumulation`: cues on a left or a right channel at random steps;
  the label is the side that got more cues. It needs memory over the whole sequence
  and integration of sparse, discrete evidence, the task spiking recurrent networks
  with adaptation (LSNN) are known for, so it compares the event-based units with
  spiking ones on their own ground.
* :func:`store_recall`: the store-and-recall task of the LSNN tutorial (Bellec et al.
  2018): a bit shown in every period, a store cue in one of them, a recall cue in the
  last; the label is the bit shown with the store cue.
* :func:`stretch` holds every element of a task for several time steps, so that a
  task spans many membrane time constants (what separates LSNN from LIF networks);
  :func:`with_delay` appends silent steps before the answer is read, and
  :func:`with_recall_cue` a cue that asks for it.
"""

from dataclasses import dataclass

import numpy as np

from .data import load_digits

#: grey levels (of 16) at which the two channels of a pixel switch on
DIGIT_LEVELS = (4.0 / 16.0, 10.0 / 16.0)


@dataclass(frozen=True)
class SequenceTask:
    """Spike sequences (T, N, I) and labels for training and test."""
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int


def _blank_first(x):
    return np.concatenate([np.zeros_like(x[:1]), x])


def sequential_digits(seed=0, levels=DIGIT_LEVELS):
    """8 steps of 8 x len(`levels`) binary inputs plus the blank step: each pixel's
    channel k is on when its grey level (a fraction of 16) reaches ``levels[k]``."""
    data = load_digits(seed=seed)
    width = 8 * len(levels)

    def encode(images):
        rows = images.reshape(-1, 8, 8)
        channels = np.stack([rows >= level for level in levels], axis=-1)
        return _blank_first(channels.reshape(-1, 8, width).transpose(1, 0, 2).astype(float))
    return SequenceTask("sequential digits", encode(data.x_train), data.y_train,
                        encode(data.x_test), data.y_test, data.n_classes)


def sequential_digits_rate(seed=0, hold=4, channels_per_pixel=2, copies=4):
    """The 8x8 digits row by row, each row held for `hold` steps (plus the blank step):
    each of a pixel's `channels_per_pixel` inputs spikes in each step with probability
    its grey level (a fraction of 16), drawn independently. The training set holds
    `copies` independent draws of every training digit (the spike noise augments
    it); the test set one draw of each test digit."""
    data = load_digits(seed=seed)
    rng = np.random.default_rng(seed)

    def encode(images, repeats):
        rows = np.tile(images.reshape(-1, 8, 8), (repeats, 1, 1))
        p = np.repeat(np.repeat(rows, channels_per_pixel, axis=2), hold, axis=1)
        return _blank_first((rng.random(p.shape) < p).transpose(1, 0, 2).astype(float))
    return SequenceTask("sequential digits", encode(data.x_train, copies),
                        np.tile(data.y_train, copies), encode(data.x_test, 1), data.y_test,
                        data.n_classes)


def evidence_accumulation(n_train=1000, n_test=300, steps=24, cues=7, majority=0.8,
                          channels_per_side=4, seed=0):
    """Binary choice from `cues` cues at random steps, each on the majority side with
    probability `majority`; a cue is a spike on all `channels_per_side` inputs of its
    side. The label is the side with more cues (odd `cues`: no ties)."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    side = rng.integers(0, 2, n)
    on_majority = rng.random((n, cues)) < majority
    cue_side = np.where(on_majority, side[:, None], 1 - side[:, None])
    label = (cue_side.sum(1) * 2 > cues).astype(np.int64)
    times = np.sort(np.stack([rng.choice(steps, cues, replace=False) for _ in range(n)]), 1)
    x = np.zeros((steps, n, 2 * channels_per_side))
    for k in range(cues):
        first = cue_side[:, k] * channels_per_side
        for c in range(channels_per_side):
            x[times[:, k], np.arange(n), first + c] = 1.0
    x = _blank_first(x)
    return SequenceTask("evidence accumulation", x[:, :n_train], label[:n_train],
                        x[:, n_train:], label[n_train:], 2)


def store_recall(n_train=1000, n_test=300, periods=8, channels_per_group=4, seed=0):
    """The store-recall task (Bellec et al. 2018, LSNN tutorial) in `periods` periods
    of one step each (use :func:`stretch` to hold them longer).

    Four groups of `channels_per_group` inputs: "0" and "1" (a random bit is shown
    in every period but the last), "store" (in one period drawn from the first
    ``periods - 2``) and "recall" (the last period). The label is the bit shown
    together with the store cue; the bits of the other periods are distractors."""
    if periods < 3:
        raise ValueError(f"store_recall needs at least 3 periods (store, a delay, recall); "
                         f"got periods={periods}")
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    bits = rng.integers(0, 2, (n, periods - 1))
    store = rng.integers(0, periods - 2, n)
    label = bits[np.arange(n), store].astype(np.int64)
    groups = np.zeros((periods, n, 4))
    steps, samples = np.meshgrid(np.arange(periods - 1), np.arange(n), indexing="ij")
    groups[steps, samples, bits.T] = 1.0
    groups[store, np.arange(n), 2] = 1.0
    groups[periods - 1, :, 3] = 1.0
    x = _blank_first(np.repeat(groups, channels_per_group, axis=2))
    return SequenceTask("store-recall", x[:, :n_train], label[:n_train], x[:, n_train:],
                        label[n_train:], 2)


def stretch(task, steps):
    """`task` with every element (but the leading blank step) held for `steps` time
    steps: an input that is on in an element spikes in each of its steps."""
    def held(x):
        return _blank_first(np.repeat(x[1:], int(steps), axis=0))
    return SequenceTask(task.name, held(task.x_train), task.y_train, held(task.x_test),
                        task.y_test, task.n_classes)


def with_delay(task, steps):
    """`task` with `steps` silent time steps appended: the answer is read after a
    delay (as in Bellec et al. 2020's evidence accumulation)."""
    def delayed(x):
        return np.concatenate([x, np.zeros((int(steps),) + x.shape[1:])])
    return SequenceTask(task.name, delayed(task.x_train), task.y_train, delayed(task.x_test),
                        task.y_test, task.n_classes)


def with_recall_cue(task, steps, channels=4):
    """`task` with `steps` steps appended in which `channels` new inputs (the last
    ones) spike in every step: the recall cue of Bellec et al. 2020, which makes a
    network that has fallen silent during a delay read out what it holds."""
    def cued(x):
        steps_, n, inputs = x.shape
        out = np.zeros((steps_ + int(steps), n, inputs + int(channels)))
        out[:steps_, :, :inputs] = x
        out[steps_:, :, inputs:] = 1.0
        return out
    return SequenceTask(task.name, cued(task.x_train), task.y_train, cued(task.x_test),
                        task.y_test, task.n_classes)


__all__ = ["SequenceTask", "sequential_digits", "sequential_digits_rate",
           "evidence_accumulation", "store_recall",
           "stretch", "with_delay", "with_recall_cue"]
