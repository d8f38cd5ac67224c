"""`python -m seqlab.predict MODEL --input FILE [--output FILE]`: answers in the user's terms.

MODEL is a run's output folder (outputs/<date>/<time>/), a pipeline model (models/<entry>/),
an MLflow run id, or a model URI (runs:/<id>/model, models:/<name>@<alias>). The input
holds raw inputs as the dataset's own files do; the answers are a CSV.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

EPILOG = """\
inputs (by what the model was trained on):
  forecasting     a CSV of the series in its own columns (date, value, any inputs),
                  oldest first, at least the window's rows -> date,forecast
  classification  a CSV with the text column, or a .txt of one text per line; numeric
                  inputs (images, sequences) in the data's raw layout -> label,probability
  tagging         a .txt of one sentence per line (words separated by spaces), or a
                  CoNLL-U file -> sentence,token,tag
  generation      a .txt of one source text per line, or images -> output
An `id` column in a CSV is kept in the answers (and groups the steps of a sequence).
Where an answer is a guess (inputs unlike the training data: other lengths, values far
outside its range, unknown words, ignored columns), a `seqlab: warning:` line says so.

examples:
  python -m seqlab.predict outputs/2026-12-04/10-00-00 --input sales.csv
  python -m seqlab.predict models:/seqlab-many_to_many@best-number_words \\
      --input numbers.txt --set model.decoding.strategy=beam
"""


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m seqlab.predict",
        description="Answer raw inputs with a trained model, in the user's terms, as a CSV.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="MODEL",
                        help="a run's output folder, models/<entry>/, an MLflow run id, "
                             "runs:/<id>/model or models:/<name>@<alias>")
    parser.add_argument("--input", required=True, type=Path, metavar="FILE",
                        help="the raw inputs (.csv, .txt, .conllu)")
    parser.add_argument("--output", type=Path, metavar="FILE",
                        help="write the answers' CSV here (default: standard output)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        dest="overrides",
                        help="change how the model decodes, e.g. model.decoding.strategy=beam")
    parser.add_argument("--fill-gaps", choices=("refuse", "interpolate"),
                        help="dates a series skips: refuse them, or interpolate their values "
                             "(default: as the model's training data did)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    # MLflow's download bars are noise around one CSV.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from seqlab.io import atomic_write_text
    from seqlab.predict.files import read
    from seqlab.predict.trained import load

    model = load(args.model, args.overrides, args.fill_gaps)
    frame, place = read(args.input, model.meta)
    table, doubts = model.answer(frame, place)
    doubts.report()  # what the answers cannot be sure of: a `seqlab: warning:` line a kind
    answers = table.to_csv(index=False)
    if args.output is None:
        sys.stdout.write(answers)
    else:
        atomic_write_text(args.output, answers)


if __name__ == "__main__":
    from seqlab.errors import run_cli

    run_cli(main)
