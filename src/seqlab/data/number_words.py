"""Number words in one language -> the same number in another (num2words), split by number."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seqlab.checks import require_choice, require_int, require_number
from seqlab.data.package_sources import check_package
from seqlab.data.processed import ProcessedData
from seqlab.data.text_pairs import split_rows, text_pairs
from seqlab.data.vocab import LEVELS
from seqlab.errors import ConfigError


def _languages() -> tuple[str, ...]:
    from num2words import CONVERTER_CLASSES

    return tuple(sorted(CONVERTER_CLASSES))


@dataclass
class NumberWords:
    """Every number in [0, max_number] spelled in `source_lang` and `target_lang`.

    Each number is one pair and lands in exactly one split, so no test number is seen in
    training: the model has to learn how number words compose.
    """

    name: str
    source: str = "num2words"
    source_lang: str = "en"
    target_lang: str = "fr"
    max_number: int = 9999
    source_level: str = "word"  # word | char
    target_level: str = "word"
    test_fraction: float = 0.1
    val_fraction: float = 0.05  # of the rest
    seed: int = 0  # of the split

    def __post_init__(self) -> None:
        require_choice("source", self.source, ("num2words",))
        require_choice("source_lang", self.source_lang, _languages())
        require_choice("target_lang", self.target_lang, _languages())
        require_int("max_number", self.max_number, minimum=10)
        require_choice("source_level", self.source_level, LEVELS)
        require_choice("target_level", self.target_level, LEVELS)
        require_number("test_fraction", self.test_fraction, 0, 1, low_open=True, high_open=True)
        require_number("val_fraction", self.val_fraction, 0, 1, high_open=True)
        require_int("seed", self.seed, minimum=0)
        if self.source_lang == self.target_lang:
            raise ConfigError("target_lang: must differ from source_lang")

    task = "generation"
    archetype = "many_to_many"

    def preprocess(self, raw_dir: Path) -> ProcessedData:
        from num2words import num2words

        version = check_package(raw_dir, "num2words")
        numbers = range(self.max_number + 1)
        sources = [num2words(n, lang=self.source_lang) for n in numbers]
        targets = [num2words(n, lang=self.target_lang) for n in numbers]
        splits = split_rows(len(sources), self.test_fraction, self.val_fraction, self.seed)
        return text_pairs(self.name, sources, targets, splits, self.source_level,
                          self.target_level, provenance={"num2words": version})
