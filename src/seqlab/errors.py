"""Errors a user can fix, and the one-line way every command reports them."""

from __future__ import annotations

import sys
from collections.abc import Callable


class SeqlabError(Exception):
    """A problem with the user's input or environment, reported as one line."""


class ConfigError(SeqlabError):
    """A config key or value that cannot be used."""


class DataError(SeqlabError):
    """Data that is missing, malformed or unusable."""


class TrainingDiverged(SeqlabError):
    """The loss stopped being a finite number."""


def report(error: SeqlabError) -> int:
    """Print `error` as the single line a user sees and return the exit status."""
    print(f"seqlab: error: {error}", file=sys.stderr)
    return 2


def run_cli(main: Callable[[], object]) -> None:
    """Run a command's `main`, turning a SeqlabError into one line and exit status 2."""
    try:
        main()
    except SeqlabError as error:
        sys.exit(report(error))
