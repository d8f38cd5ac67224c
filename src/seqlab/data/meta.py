"""The meta.json contract between data, training and evaluation.

Every preprocessed dataset folder holds arrays.npz and meta.json; `Meta` is what the
JSON may say, written once here and checked whenever a folder is loaded. A dataset kind
fills it in `preprocess`; training reads the sizes, task and archetype; evaluation reads
the scaler, classes, vocabularies and dates to interpret predictions; `seqlab.predict`
reads `raw` to turn a user's raw inputs into arrays as preprocessing did.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seqlab.errors import DataError

ARCHETYPES = ("one_to_one", "one_to_many", "many_to_one", "many_to_many", "synchronous")


@dataclass
class Meta:
    """What a preprocessed dataset declares about its arrays."""

    name: str
    task: str  # a key of seqlab.tasks.TASKS: how it is trained and scored
    archetype: str  # one of ARCHETYPES: the MLflow experiment its runs land in
    input_size: int  # features per step; the source vocabulary's size for token inputs
    output_size: int  # classes, values per output, or the target vocabulary's size
    steps: int  # the (padded) number of input steps, T
    variable_length: bool = False  # padded inputs: the net is given each row's length
    classes: list[str] | None = None  # class names (classification, tagging)
    scaler: dict[str, float] | None = None  # {"min", "max"} fitted on the training period
    # A series' forecasts are held >= 0 in original units (dataset.nonnegative; `floor`).
    nonnegative: bool | None = None
    seasonal_period: int | None = None  # of a series: its seasonal-naive baseline's lag
    # MASE's scale: the mean absolute error of the seasonal naive forecast (lag
    # seasonal_period, or 1) over the training period, in the series' original units.
    naive_mae: float | None = None
    # A window forecast: the [step, feature] places of the series' own lags in an input,
    # oldest first (where seqlab.models.relative and .recursive find them) ...
    series_lags: list[list[int]] | None = None
    # ... and a net reading the window relative to it: the differencing lags, or [] for
    # relative to the last value; None: it reads levels.
    relative: list[int] | None = None
    relative_scale: bool = False  # ... and divided by the window's mean absolute step
    dates: list[str] | None = None  # the date of every value of a series
    # Several series laid end to end (csv_series' series_column): by name, the index
    # where each one's values start in `dates` (and the data's extras["series"]), and its
    # own MASE scale: {"start": 0, "naive_mae": 12.5}.
    series: dict[str, dict[str, Any]] | None = None

    def series_spans(self) -> list[tuple[str, int, int]]:
        """Each series' (name, start, end) in `dates`; none for a single series."""
        if not self.series:
            return []
        starts = [part["start"] for part in self.series.values()]
        ends = [*starts[1:], len(self.dates or [])]
        return list(zip(self.series, starts, ends, strict=True))
    target_vocab: list[str] | None = None  # token targets: their vocabulary ...
    target_level: str | None = None  # ... and its level (word | char)
    source_vocab: list[str] | None = None  # token inputs: their vocabulary ...
    source_level: str | None = None  # ... and its level
    model_args: dict[str, int] = field(default_factory=dict)  # more sizes a net takes
    # How raw inputs, in the dataset's own terms, become `inputs` (seqlab.predict.inputs):
    # their `format`, the settings and fitted values preprocessing used, and an `example`.
    raw: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, str] = field(default_factory=dict)  # versions of data generators

    def __post_init__(self) -> None:
        if self.archetype not in ARCHETYPES:
            raise DataError(f"meta.json of {self.name!r}: archetype {self.archetype!r} is not "
                            f"one of: {', '.join(ARCHETYPES)}")
        for key in ("input_size", "output_size", "steps"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise DataError(f"meta.json of {self.name!r}: {key} must be a whole number "
                                f"of at least 1, got {value!r}")

    def to_json(self) -> dict[str, Any]:
        """The JSON object, without the keys a dataset leaves unset."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, {})}

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str) -> Meta:
        """Check a meta.json object against the contract; DataError names what is wrong."""
        known = {f.name for f in dataclasses.fields(cls)}
        missing_default = dataclasses.MISSING
        required = {f.name for f in dataclasses.fields(cls)
                    if f.default is missing_default and f.default_factory is missing_default}
        unknown = sorted(set(data) - known)
        missing = sorted(required - set(data))
        if unknown or missing:
            what = f"unknown key {unknown[0]!r}" if unknown else f"missing key {missing[0]!r}"
            raise DataError(f"{where}: {what}; it was written by another version of seqlab: "
                            "preprocess it again (dvc repro, or delete the folder)")
        return cls(**data)

    def unscale(self, values: np.ndarray) -> np.ndarray:
        """Scaled values back in the series' original units (flattened)."""
        if self.scaler is None:
            raise DataError(f"{self.name}: has no scaler to undo")
        low, high = self.scaler["min"], self.scaler["max"]
        return np.ravel(values) * (high - low) + low

    def floor(self, values: np.ndarray) -> np.ndarray:
        """Scaled forecasts (or quantiles) of a nonnegative series held at the scaled 0,
        so that none is below 0 in original units: the one place forecasts are clipped,
        before evaluation, its figures, predict and serving read them (any shape)."""
        if not self.nonnegative or self.scaler is None:
            return values
        low, high = self.scaler["min"], self.scaler["max"]
        return np.maximum(values, np.asarray(-low / (high - low), dtype=np.asarray(values).dtype))

    def forecast_units(self, values: np.ndarray) -> np.ndarray:
        """Scaled forecasts in original units, floored (`floor`); rounding cannot take
        one of a nonnegative series below 0 (flattened)."""
        found = self.unscale(self.floor(values))
        return np.maximum(found, 0.0) if self.nonnegative else found


# How much of the training rows' tokens a vocabulary left unknown: the share above which
# (in the 99th percentile training row) a raw input's unknown tokens are worth a warning.
UNKNOWN_QUANTILE = 99


def training_bounds(meta: Meta, inputs: np.ndarray, lengths: np.ndarray, train: np.ndarray
                    ) -> dict[str, Any]:
    """What `seqlab.predict` compares raw inputs with, measured on the training rows, for
    meta.raw: `lengths`, [shortest, longest] of variable-length inputs; `ranges`, each raw
    numeric column's [min, max] in its own units (one range for all columns that share
    one scale, like an image's grey levels, so a pixel always blank in training is not an
    outlier when inked); `unknown_share`, the share of unknown tokens a training input
    reaches (its 99th percentile). A dataset kind that writes no `raw` gets none."""
    raw, rows = meta.raw, np.asarray(train)
    if not raw or not len(rows) or inputs.ndim < 2:
        return {}
    found: dict[str, Any] = {}
    real = np.arange(inputs.shape[1])[None, :] < lengths[rows][:, None]  # N x T real steps
    if meta.variable_length:
        found["lengths"] = [int(lengths[rows].min()), int(lengths[rows].max())]
    columns = raw.get("columns") or []
    if raw.get("format") in ("values", "sequences") and {"shift", "scale"} <= set(raw):
        values = (inputs[rows].reshape(len(rows), -1) if raw["format"] == "values"
                  else inputs[rows][real]).astype(np.float64)  # rows x columns
        shift, scale = np.atleast_1d(raw["shift"]), np.atleast_1d(raw["scale"])
        if (not values.size or values.shape[1] != len(columns)
                or len(shift) not in (1, len(columns))):
            return found  # a kind of the user's own, laid out otherwise: no ranges
        values = values * scale + shift
        pooled = len(shift) == 1
        low = np.full(len(columns), values.min()) if pooled else values.min(axis=0)
        high = np.full(len(columns), values.max()) if pooled else values.max(axis=0)
        found["ranges"] = {c: [float(lo), float(hi)] for c, lo, hi in zip(columns, low, high,
                                                                          strict=True)}
    if meta.source_vocab is not None and np.issubdtype(inputs.dtype, np.integer):
        from seqlab.data.vocab import Vocab

        ids = inputs[rows] if inputs.ndim == 2 else inputs[rows][..., 0]  # words, not chars
        unknown = ((ids == Vocab.unk_id) & real).sum(axis=1) / np.maximum(lengths[rows], 1)
        found["unknown_share"] = float(np.percentile(unknown, UNKNOWN_QUANTILE))
    return found
