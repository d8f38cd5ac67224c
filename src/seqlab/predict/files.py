"""The `--input` file of `python -m seqlab.predict` as the table the model takes.

- `.txt`: one text, sentence or source per line, for text models; a blank line is an
  input of its own, answered with an empty row, so the answers line up with the lines;
- `.conllu`: the words of each sentence, for taggers (tags, if any, are ignored);
- anything else: a CSV with a header line. For fixed-size numeric inputs (an image's
  grey levels) the header may be left out when every row holds exactly the values.

Each row remembers its line, so an error names the file, the line and the column.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from seqlab.data.label_kinds import is_number
from seqlab.data.meta import Meta
from seqlab.data.raw_inputs import Place, listed
from seqlab.data.user_files import read_text
from seqlab.errors import DataError
from seqlab.predict.inputs import columns

TEXT_FORMATS = ("texts", "sentences", "sources")  # the formats a .txt file can feed


def _lines(path: Path, meta: Meta) -> tuple[pd.DataFrame, Place]:
    if meta.raw["format"] not in TEXT_FORMATS:
        raise DataError(f"{path}: a .txt file holds text, but this model reads the "
                        f"columns {listed(columns(meta))}; give a CSV with those columns")
    lines = [line.strip() for line in read_text(path).split("\n")]
    while lines and not lines[-1]:  # the blank lines after the last text are no inputs
        lines.pop()
    frame = pd.DataFrame({columns(meta)[0]: lines})
    return frame, Place(str(path), first=1, blanks=True)


def _conllu(path: Path, meta: Meta) -> tuple[pd.DataFrame, Place]:
    from seqlab.data.treebank import read_conllu

    if meta.raw["format"] != "sentences":
        raise DataError(f"{path}: a CoNLL-U file holds sentences to tag, but this model reads "
                        f"the columns {listed(columns(meta))}; give a CSV with those columns")
    sentences = read_conllu(path, tagged=False)
    frame = pd.DataFrame({"sentence": [" ".join(words) for words, _, _ in sentences]})
    return frame, Place(str(path), [line for _, _, line in sentences])


def _csv(path: Path, meta: Meta) -> tuple[pd.DataFrame, Place]:
    text = read_text(path)
    first = next(csv.reader([text.split("\n", 1)[0]]))
    headerless = meta.raw["format"] == "values" and all(map(is_number, first))
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                            header=None if headerless else "infer")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DataError(f"{path}: not a readable CSV ({' '.join(str(error).split())})"
                        ) from None
    if headerless:
        needed = columns(meta)
        if frame.shape[1] != len(needed):
            raise DataError(f"{path}: line 1 has {frame.shape[1]} values, but this model reads "
                            f"{len(needed)} per row ({needed[0]} ... {needed[-1]}); give "
                            "exactly those, or a header line naming the columns")
        frame.columns = needed
        return frame, Place(str(path), range(1, len(frame) + 1))
    return frame, Place(str(path))


def read(path: Path, meta: Meta) -> tuple[pd.DataFrame, Place]:
    """The raw inputs in `path` as a table for a model whose data is described by `meta`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"--input: no file {str(path)!r}")
    reader = {".txt": _lines, ".conllu": _conllu}.get(path.suffix.lower(), _csv)
    return reader(path, meta)
