"""DVC stage: materialise one raw source of params.yaml into data/raw/<source>/.

A shipped or remote source is written by its module; a source that is the user's own
file (bring your own data) is copied as it is, so DVC versions it.
"""

from __future__ import annotations

import argparse

from seqlab import timing  # first: with $SEQLAB_PROFILE set it times the imports below
from seqlab.errors import ConfigError
from seqlab.layout import project
from seqlab.params import load
from seqlab.stages import run_stage


def main() -> None:
    from seqlab.data.sources import SOURCES
    from seqlab.preparation import fetch

    parser = argparse.ArgumentParser(prog="python -m seqlab.stages.fetch", description=__doc__)
    parser.add_argument("source", help="a key under `sources` in params.yaml")
    args = parser.parse_args()
    layout = project()
    known = load(layout.root).get("sources", {})
    if args.source not in known:
        raise ConfigError(f"no source {args.source!r} in params.yaml; sources: "
                          + ", ".join(known))
    paths = [] if args.source in SOURCES else [known[args.source]["reads"]]
    with timing.phase("data"):
        folder = fetch(args.source, layout.data, paths)
    print(f"fetched {args.source} into {folder}")


if __name__ == "__main__":
    run_stage(main)
