"""One date written in many locales and styles (babel) -> the ISO date, YYYY-MM-DD.

Each pair is a different calendar day, so a test date is never seen in training.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqlab.checks import require_choice, require_int, require_number
from seqlab.data.package_sources import check_package
from seqlab.data.processed import ProcessedData
from seqlab.data.text_pairs import split_rows, text_pairs
from seqlab.data.vocab import LEVELS
from seqlab.errors import ConfigError

STYLES = ("short", "medium", "long", "full")


@dataclass
class DateFormats:
    """`pairs` distinct days between `start` and `end`, each in a random locale and style.

    The default styles spell the month, so no input is ambiguous (short styles such as
    en_US 1/12/23 against fr_FR 12/01/2023 would be, without the locale).
    """

    name: str
    source: str = "babel"
    locales: list[str] = field(default_factory=lambda: ["en_US", "en_GB", "fr_FR", "de_DE",
                                                        "es_ES", "it_IT"])
    styles: list[str] = field(default_factory=lambda: ["medium", "long", "full"])
    start: str = "1950-01-01"
    end: str = "2049-12-31"
    pairs: int = 10000
    source_level: str = "word"
    target_level: str = "char"
    test_fraction: float = 0.1
    val_fraction: float = 0.05  # of the rest
    seed: int = 0

    def __post_init__(self) -> None:
        from babel import Locale, UnknownLocaleError

        self.locales, self.styles = list(self.locales), list(self.styles)  # from ListConfig

        require_choice("source", self.source, ("babel",))
        for i, locale in enumerate(self.locales):
            try:
                Locale.parse(locale)
            except (UnknownLocaleError, ValueError):
                raise ConfigError(f"locales[{i}]: {locale!r} is not a babel locale") from None
        for i, style in enumerate(self.styles):
            require_choice(f"styles[{i}]", style, STYLES)
        if not self.locales or not self.styles:
            raise ConfigError("locales, styles: need at least one each")
        days = (self._date("end") - self._date("start")).days + 1
        require_int("pairs", self.pairs, minimum=10)
        if self.pairs > days:
            raise ConfigError(f"pairs: {self.pairs} is more than the {days} days from start "
                              "to end")
        require_choice("source_level", self.source_level, LEVELS)
        require_choice("target_level", self.target_level, LEVELS)
        require_number("test_fraction", self.test_fraction, 0, 1, low_open=True, high_open=True)
        require_number("val_fraction", self.val_fraction, 0, 1, high_open=True)
        require_int("seed", self.seed, minimum=0)

    def _date(self, key: str) -> dt.date:
        try:
            return dt.date.fromisoformat(str(getattr(self, key)))
        except ValueError:
            raise ConfigError(f"{key}: {getattr(self, key)!r} is not a YYYY-MM-DD date") from None

    task = "generation"
    archetype = "many_to_many"

    def preprocess(self, raw_dir: Path) -> ProcessedData:
        from babel.dates import format_date

        version = check_package(raw_dir, "babel")
        rng = np.random.default_rng(self.seed)
        first = self._date("start")
        days = (self._date("end") - first).days + 1
        offsets = rng.choice(days, size=self.pairs, replace=False)
        locales = rng.integers(len(self.locales), size=self.pairs)
        styles = rng.integers(len(self.styles), size=self.pairs)
        dates = [first + dt.timedelta(days=int(d)) for d in offsets]
        sources = [format_date(d, format=self.styles[s], locale=self.locales[loc])
                   for d, loc, s in zip(dates, locales, styles, strict=True)]
        targets = [d.isoformat() for d in dates]
        splits = split_rows(self.pairs, self.test_fraction, self.val_fraction, self.seed)
        return text_pairs(self.name, sources, targets, splits, self.source_level,
                          self.target_level, provenance={"babel": version})
