"""MiniRocket features and a ridge model: the reference for numeric sequences.

MiniRocket (Dempster, Schmidt and Webb, 2021) convolves each sequence with ~10,000 fixed
kernels of length 9 at several dilations and keeps, for each, the share of positive
values; a linear model on those features is as accurate as the best time-series
classifiers of the UCR/UEA archives at a fraction of their cost, so it is the first
reference a net for sequences must beat. Here: sktime's multivariate MiniRocket in its
Cython build (`sktime-cython`: no numba, no warm-up compile), standardised features,
then scikit-learn's ridge with its penalty chosen by leave-one-out CV on the training
split (RidgeClassifierCV for classes, RidgeCV for a number per sequence).

Sequences of several lengths are read padded with zeros to the longest, as the nets and
1-NN read them. Too big a problem (more than MAX_CELLS values in the training rows) is
skipped with None: the reference would cost more than the net.
"""

from __future__ import annotations

import numpy as np

from seqlab.data.processed import ProcessedData

TRAIN_ROWS = 10_000  # fitted on at most this many training rows (a seeded pick)
MAX_CELLS = 50_000_000  # rows x steps x features of the training rows it reads, at most
MIN_STEPS = 9  # MiniRocket's kernel length: shorter sequences are padded to it
ALPHAS = np.logspace(-3, 3, 10)  # the paper's ridge penalties


def features(data: ProcessedData) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(training features, their rows, test features), or None for inputs MiniRocket
    cannot afford or read (token ids, a problem too big)."""
    if not np.issubdtype(data.inputs.dtype, np.floating):  # token ids: bag-of-words' job
        return None
    rows = data.splits["train"]
    if len(rows) > TRAIN_ROWS:
        rows = np.sort(np.random.default_rng(0).choice(rows, TRAIN_ROWS, replace=False))
    values = data.inputs.reshape(len(data.inputs), data.inputs.shape[1], -1)  # N x T x F
    if len(rows) * values.shape[1] * values.shape[2] > MAX_CELLS or len(rows) < 2:
        return None
    # sktime's numpy panel: instances x variables x time, float32.
    panel = np.ascontiguousarray(values.transpose(0, 2, 1), dtype=np.float32)
    if panel.shape[2] < MIN_STEPS:
        panel = np.pad(panel, ((0, 0), (0, 0), (0, MIN_STEPS - panel.shape[2])))
    from sklearn.preprocessing import StandardScaler
    from sktime.transformations.rocket import MiniRocketMultivariateCython

    kernels = MiniRocketMultivariateCython(random_state=0).fit(panel[rows])
    scaler = StandardScaler().fit(np.asarray(kernels.transform(panel[rows])))

    def transformed(part: np.ndarray) -> np.ndarray:
        return scaler.transform(np.asarray(kernels.transform(part)))

    return transformed(panel[rows]), rows, transformed(panel[data.splits["test"]])


def classes(data: ProcessedData) -> np.ndarray | None:
    """The class of each test sequence by MiniRocket features and a ridge classifier."""
    found = features(data)
    if found is None:
        return None
    from sklearn.linear_model import RidgeClassifierCV

    train, rows, test = found
    model = RidgeClassifierCV(alphas=ALPHAS).fit(train, data.targets[rows])
    return model.predict(test).astype(data.targets.dtype)


def values(data: ProcessedData) -> np.ndarray | None:
    """The target of each test sequence by MiniRocket features and ridge regression."""
    found = features(data)
    if found is None:
        return None
    from sklearn.linear_model import RidgeCV

    train, rows, test = found
    targets = data.targets[rows].reshape(len(rows), -1)
    answers = RidgeCV(alphas=ALPHAS).fit(train, targets).predict(test)
    return answers.reshape(len(test), *data.targets.shape[1:]).astype(np.float32)
