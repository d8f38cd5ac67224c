"""Raw inputs, in the dataset's own terms, as the arrays the net was trained on.

Each raw format's reader lives with the dataset kind that writes it and uses that kind's
preprocessing functions (seqlab.data.raw_inputs says which): this module only picks the
reader a model's meta.raw names, and says what a table of raw inputs holds.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from seqlab.data import raw_series, text_classes, text_pairs, treebank
from seqlab.data.meta import Meta
from seqlab.data.raw_inputs import Encoded, Place, encode_sequences, encode_values
from seqlab.errors import DataError

FORMATS: dict[str, Callable[[pd.DataFrame, Meta, Place], Encoded]] = {
    "series": raw_series.encode_raw, "texts": text_classes.encode_raw,
    "sentences": treebank.encode_raw, "sources": text_pairs.encode_raw,
    "values": encode_values, "sequences": encode_sequences,
}


def encode(frame: pd.DataFrame, meta: Meta, place: Place) -> Encoded:
    """Raw inputs as the net's arrays, by the format the dataset declared."""
    if not meta.raw:
        raise DataError(f"{meta.name}: its meta.json has no `raw` (what raw inputs look "
                        "like): preprocess and train again with this seqlab, or, for a "
                        "dataset kind of your own, set Meta.raw "
                        "(see docs: extending/dataset-kind.md)")
    if meta.raw.get("format") not in FORMATS:
        raise DataError(f"{meta.name}: meta.json's raw format {meta.raw.get('format')!r} is "
                        f"not one of: {', '.join(FORMATS)}")
    return FORMATS[meta.raw["format"]](frame.reset_index(drop=True), meta, place)


def example(meta: Meta) -> pd.DataFrame:
    """The raw example the dataset keeps (a few test inputs), as a table."""
    return pd.DataFrame(meta.raw["example"])


def columns(meta: Meta) -> list[str]:
    """The columns a table of raw inputs needs (besides an optional `id`)."""
    raw = meta.raw
    return {
        "series": lambda: [*([raw["series_column"]] if raw.get("series_column") else []),
                           raw["date_column"], raw["value_column"], *raw["input_columns"],
                           *raw.get("future_columns", [])],
        "texts": lambda: [raw["column"]], "sentences": lambda: ["sentence"],
        "sources": lambda: [raw["column"]], "values": lambda: raw["columns"],
        "sequences": lambda: raw["columns"],
    }[raw["format"]]()
