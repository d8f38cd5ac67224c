"""Numeric sequences with labels, whatever file they came from (a long CSV, the UEA/UCR
`.ts` format, an npz of arrays): the arrays every such dataset kind ends in.

A kind reads its file(s) into `Sequences` (each sequence steps x features, its label or a
label per step, and where it came from, for errors) and `sequence_data` does the rest
alike for all:

- one label per sequence: many-to-one classification or regression (`task: auto`
  tells which from the labels, seqlab.data.label_kinds); a label that changes within a
  sequence: a label at every step (synchronous tagging);
- the test split is the file's own (a split column, a test file, a test mask) or a
  seeded `test_fraction`, stratified by class; validation is carved from the rest,
  stratified, so every class is trained on;
- every channel is standardised with the mean and spread of the training sequences'
  steps only (a channel constant there is only centred);
- sequences are padded with zeros to the longest and carry their lengths.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from seqlab.checks import require_choice, require_int, require_number
from seqlab.data.label_kinds import AUTO, choose, is_number
from seqlab.data.meta import Meta
from seqlab.data.processed import ProcessedData
from seqlab.data.raw_inputs import scaled, step_rows
from seqlab.errors import DataError

IGNORE = -100  # the target of a padded step (torch's cross-entropy ignore_index)
TASKS = (AUTO, "classification", "regression")


@dataclass
class Sequences:
    """What a file holds: `values[i]` is sequence i (steps x features, float), `labels[i]`
    its label or an array of one label per step, `where[i]` names it in errors (an id, a
    line), `test[i]` marks the file's own test split (None: none given), `files[i]` the
    file it is in, as the user named it (None: all in the one `source`)."""

    values: list[np.ndarray]
    labels: list[object]
    where: list[str]
    columns: list[str]
    test: np.ndarray | None = None
    files: list[str] | None = None
    declared: bool | None = None  # the file says: True numeric targets, False classes
    label_name: str = "the labels"  # how the task line names them (`label column 'y'`)

    def file_of(self, i: int, source: str) -> str:
        """The file sequence i is in (`source` when the data came from one)."""
        return self.files[i] if self.files else source

    def named(self, i: int, source: str) -> str:
        """'<file>: <where>' for sequence i, in an error."""
        return f"{self.file_of(i, source)}: {self.where[i]}"


@dataclass
class SplitSettings:
    """The settings every numeric-sequence kind shares (mixed into each kind)."""

    task: str | None = AUTO  # auto (None too) | classification | regression
    test_fraction: float = 0.2  # when the data have no test split of their own
    val_fraction: float = 0.2  # of the training sequences, stratified by class
    seed: int = 0  # of the test and validation splits

    def check_split_settings(self) -> None:
        self.task = AUTO if self.task is None else self.task
        require_choice("task", self.task, TASKS)
        require_number("test_fraction", self.test_fraction, 0, 1, low_open=True,
                       high_open=True)
        require_number("val_fraction", self.val_fraction, 0, 1, high_open=True)
        require_int("seed", self.seed, minimum=0)

    def own_sequences(self) -> Sequences:
        """The sequences of the user's own file(s), read before any fetch."""
        raise NotImplementedError

    @property
    def trained_task(self) -> str:
        """The seqlab.tasks entry a run trains, before any data is prepared (a search
        needs its objective first): `task: auto` reads the file to tell."""
        data = self.own_sequences()
        if per_step(data):
            return "tagging"
        return _REGISTERED[task_of_labels(self.task, data, "", quiet=True)]


def check(data: Sequences, source: str) -> None:
    """One line for the first sequence that cannot be trained on."""
    if not data.values:
        raise DataError(f"{source}: no sequences found")
    features = data.values[0].shape[1]
    for i, (values, labels) in enumerate(zip(data.values, data.labels, strict=True)):
        where = data.named(i, source)
        if len(values) == 0:
            raise DataError(f"{where} has no steps; remove it or give it rows")
        if values.shape[1] != features:
            raise DataError(f"{where} has {values.shape[1]} channels, the first sequence "
                            f"{features}; every sequence needs the same channels")
        bad = ~np.isfinite(values)
        if bad.any():
            step, channel = np.argwhere(bad)[0]
            raise DataError(f"{where}, step {step + 1}, {data.columns[channel]!r}: "
                            f"{values[step, channel]} is not a number; fill it in or drop "
                            "the sequence")
        if isinstance(labels, np.ndarray) and len(labels) != len(values):
            raise DataError(f"{where} has {len(values)} steps but {len(labels)} labels")


_REGISTERED = {"classification": "classification", "regression": "sequence_regression"}


def task_of_labels(setting: str, data: Sequences, source: str, quiet: bool = False) -> str:
    """classification or regression for one label per sequence: the setting, or with
    `auto` the labels' (said in one line on stderr when numbers decided it)."""
    if setting != AUTO:
        return setting
    chosen, line = choose([_one(lab) for lab in data.labels], data.declared,
                          data.label_name, source)
    if line and not quiet:
        print(f"seqlab: {line}", file=sys.stderr)
    return chosen


def per_step(data: Sequences) -> bool:
    """True when some sequence's label changes from step to step."""
    return any(isinstance(labels, np.ndarray) and len(set(labels.tolist())) > 1
               for labels in data.labels)


def sequence_data(name: str, data: Sequences, settings: SplitSettings, source: str
                  ) -> ProcessedData:
    """Split, scale and pad `data` (read from `source`, named in errors)."""
    check(data, source)
    stepwise = per_step(data)
    if stepwise and settings.task == "regression":
        raise DataError(f"{source}: the label changes within a sequence; regression takes "
                        "one value per sequence (set dataset.task=classification to label "
                        "every step)")
    labels = [lab if stepwise else _one(lab) for lab in data.labels]
    if not stepwise and task_of_labels(settings.task, data, source) == "regression":
        return _regression(name, data, labels, settings, source)
    # Per-step labels are stratified by each sequence's first label: close enough to keep
    # every class in training, which is checked below anyway.
    strata = np.array([str(lab[0]) if stepwise else str(lab) for lab in labels])
    splits = _splits(strata, data, settings, source)
    train_labels = sorted({str(v) for i in splits["train"] for v in np.atleast_1d(labels[i])})
    for split in ("val", "test"):
        for i in splits[split]:
            unseen = {str(v) for v in np.atleast_1d(labels[i])} - set(train_labels)
            if unseen:
                raise DataError(f"{data.file_of(i, source)}: label {sorted(unseen)[0]!r} "
                                f"({data.where[i]}) is only in the {split} split; a class "
                                "never trained on cannot be learned: give it training "
                                "sequences or drop it")
    classes = {label: k for k, label in enumerate(train_labels)}
    inputs, lengths, raw = _scaled(data, splits["train"], splits["test"][:2])
    if stepwise:
        targets = np.full(inputs.shape[:2], IGNORE, dtype=np.int64)
        for i, lab in enumerate(labels):
            targets[i, : len(lab)] = [classes[str(v)] for v in lab]
    else:
        targets = np.array([classes[str(lab)] for lab in labels], dtype=np.int64)
    return ProcessedData(
        inputs=inputs, targets=targets, lengths=lengths, splits=splits,
        meta=Meta(name=name, task="tagging" if stepwise else "classification",
                  archetype="synchronous" if stepwise else "many_to_one",
                  input_size=inputs.shape[2], output_size=len(classes),
                  steps=inputs.shape[1], variable_length=bool(len(set(lengths)) > 1),
                  classes=train_labels, raw=raw))


def _one(labels: object) -> object:
    """A sequence's label: the one value of its per-step labels."""
    return labels[0] if isinstance(labels, np.ndarray) else labels


def _regression(name: str, data: Sequences, labels: list[object],
                settings: SplitSettings, source: str) -> ProcessedData:
    values = np.empty(len(labels))
    for i, lab in enumerate(labels):
        try:
            values[i] = float(lab)
        except (TypeError, ValueError):
            raise DataError(f"{data.named(i, source)}: label {str(lab)!r} is not a number; "
                            "regression needs numeric labels (dataset.task=classification "
                            "to treat the labels as classes)") from None
    splits = _splits(None, data, settings, source)
    low, high = float(values[splits["train"]].min()), float(values[splits["train"]].max())
    if high == low:
        raise DataError(f"{source}: every training label is {low}; nothing to learn")
    inputs, lengths, raw = _scaled(data, splits["train"], splits["test"][:2])
    return ProcessedData(
        inputs=inputs, targets=((values - low) / (high - low))[:, None].astype(np.float32),
        lengths=lengths, splits=splits,
        meta=Meta(name=name, task="sequence_regression", archetype="many_to_one",
                  input_size=inputs.shape[2], output_size=1, steps=inputs.shape[1],
                  variable_length=bool(len(set(lengths)) > 1),
                  scaler={"min": low, "max": high}, raw=raw))


def _splits(strata: np.ndarray | None, data: Sequences, settings: SplitSettings,
            source: str) -> dict[str, np.ndarray]:
    """The file's test split or a stratified seeded one; validation carved from training."""
    rows = np.arange(len(data.values))
    if data.test is not None:
        test = rows[data.test]
        train = rows[~data.test]
        if len(test) == 0 or len(train) == 0:
            missing = "test" if len(test) == 0 else "training"
            raise DataError(f"{source}: the data's own split has no {missing} sequences")
    else:
        train, test = _cut(rows, strata, settings.test_fraction, settings.seed,
                           data.named, source, "test")
    val = np.array([], dtype=np.int64)
    if settings.val_fraction > 0:
        train, val = _cut(train, strata, settings.val_fraction, settings.seed,
                          data.named, source, "validation")
    return {"train": np.sort(train).astype(np.int64), "val": np.sort(val).astype(np.int64),
            "test": np.sort(test).astype(np.int64)}


def _cut(rows: np.ndarray, strata: np.ndarray | None, fraction: float, seed: int,
         named: Callable[[int, str], str], source: str, what: str
         ) -> tuple[np.ndarray, np.ndarray]:
    """(rest, cut): a seeded `fraction` of `rows`, stratified when `strata` are given;
    `named(i, source)` names sequence i in an error."""
    from sklearn.model_selection import train_test_split

    by = None if strata is None else strata[rows]
    if by is not None:
        names, counts = np.unique(by, return_counts=True)
        if counts.min() < 2:
            rare = str(names[counts.argmin()])
            first = int(rows[np.flatnonzero(by == rare)[0]])
            hint = "; numbers to predict need dataset.task=regression" if is_number(
                rare) else ""
            raise DataError(f"{named(first, source)}: class {rare!r} has only "
                            f"{counts.min()} sequence(s) left for the {what} split; a "
                            f"stratified split needs 2 of each: add sequences or drop it{hint}")
    n_cut = max(1, int(round(len(rows) * fraction)))
    if by is not None:
        n_cut = max(n_cut, len(np.unique(by)))
    if n_cut >= len(rows) or (by is not None and len(rows) - n_cut < len(np.unique(by))):
        raise DataError(f"{source}: {len(rows)} sequences are too few to cut a {what} "
                        f"split of {fraction:g} and keep every class on both sides")
    rest, cut = train_test_split(rows, test_size=n_cut, stratify=by, random_state=seed)
    return rest, cut


def _scaled(data: Sequences, train: Sequence[int], shown: Sequence[int]
            ) -> tuple[np.ndarray, np.ndarray, dict[str, object]]:
    """Inputs standardised by the training steps, padded: (N x T x F, lengths, meta.raw
    whose raw example is the sequences `shown`)."""
    fitted = np.concatenate([data.values[i] for i in train])
    mean, std = fitted.mean(axis=0), fitted.std(axis=0)
    std = np.where(std > 0, std, 1.0)  # a channel constant in training: centred only
    lengths = np.array([len(v) for v in data.values], dtype=np.int64)
    inputs = np.zeros((len(lengths), int(lengths.max()), data.values[0].shape[1]),
                      dtype=np.float32)
    for i, values in enumerate(data.values):
        inputs[i, : len(values)] = scaled(values, mean, std)
    shown = [int(i) for i in shown]
    examples = np.zeros((len(shown), inputs.shape[1], inputs.shape[2]))
    for k, i in enumerate(shown):
        examples[k, : lengths[i]] = data.values[i]
    return inputs, lengths, step_rows(data.columns, mean, std, examples, lengths[shown])
