"""DVC stage: materialise one raw source into data/raw/<source>/."""

from __future__ import annotations

import argparse

from seqlab.errors import run_cli
from seqlab.paths import project_root

RAW_DIR = "data/raw"


def main() -> None:
    from seqlab.data.sources import SOURCES, fetch

    parser = argparse.ArgumentParser(prog="python -m seqlab.stages.fetch", description=__doc__)
    parser.add_argument("source", choices=SOURCES)
    args = parser.parse_args()
    print(f"fetched {args.source} into {fetch(args.source, project_root() / RAW_DIR)}")


if __name__ == "__main__":
    run_cli(main)
