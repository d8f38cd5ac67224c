"""DVC stage: materialise one raw source into data/raw/<source>/."""

from __future__ import annotations

import argparse

from seqlab.errors import run_cli
from seqlab.layout import project


def main() -> None:
    from seqlab.data.sources import SOURCES
    from seqlab.pipeline import fetch

    parser = argparse.ArgumentParser(prog="python -m seqlab.stages.fetch", description=__doc__)
    parser.add_argument("source", choices=SOURCES)
    args = parser.parse_args()
    print(f"fetched {args.source} into {fetch(args.source, project().data)}")


if __name__ == "__main__":
    run_cli(main)
