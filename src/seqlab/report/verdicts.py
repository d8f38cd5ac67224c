"""Results that differ only by seed, grouped, and verdicts that the seeds support.

One training is one draw: another seed gives another number. So "the LSTM beats the GRU
here" is said only when a paired t-test over seeds finds it at ALPHA. Two configurations
are paired on the seeds they share: the same seed gives both the same data order and
split, so a pair's difference cancels what the seed does to both. With fewer than
MIN_SEEDS shared seeds there is no test, and the verdict says so rather than guess.

Each configuration is tested against its trivial baseline, and against the best
configuration (by mean) of its dataset and metric. The p-values of one dataset and metric
are Holm-adjusted together: more comparisons must not make a winner easier to find.

`summarise(results)` does all that; `render_markdown(summary)` (report/markdown.py) writes
it as a table and one line per verdict; `results_from_runs(runs)` (report/runs.py) reads
the results of a sweep's MLflow
child runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from seqlab import statistics

ALPHA = 0.05  # the significance level every verdict states
# Below three seeds the spread of the differences rests on one or two numbers: a single
# lucky seed would decide. Three is the least that gives a test any power at all.
MIN_SEEDS = 3


@dataclass(frozen=True)
class Result:
    """One run's headline: the configuration without its seed, the seed, and the numbers."""

    config: str  # the configuration less its seed: what groups runs (and names the group)
    seed: int
    metric: str  # the headline metric, e.g. test/mse
    value: float
    higher_is_better: bool
    baseline: float | None = None  # the trivial baseline's value on the same test data
    baseline_name: str = "baseline"
    dataset: str = ""  # comparisons are made within one dataset only
    settings: Mapping[str, str] = field(default_factory=dict)  # config as key -> value
    source: str = ""  # the pipeline entry or MLflow run it came from


@dataclass(frozen=True)
class Group:
    """The results of one configuration, one per seed."""

    config: str
    dataset: str
    metric: str
    higher_is_better: bool
    baseline_name: str
    values: Mapping[int, float]  # seed -> value
    baselines: Mapping[int, float]  # seed -> the baseline's value, where known
    settings: Mapping[str, str] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    @property
    def seeds(self) -> list[int]:
        return sorted(self.values)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return float(np.mean(list(self.values.values())))

    @property
    def std(self) -> float:
        """The sample standard deviation over seeds (n - 1); NaN for one seed."""
        return float(np.std(list(self.values.values()), ddof=1)) if self.n > 1 else math.nan

    @property
    def spread(self) -> str:
        """'mean ± std', or the one value (a baseline is often the same on every seed)."""
        if self.n == 1 or self.std == 0:
            return number(self.mean)
        return f"{number(self.mean)} ± {number(self.std)}"

    def baseline_group(self) -> Group | None:
        """The baseline as a group of its own, to pair with this one seed by seed."""
        if not self.baselines:
            return None
        return Group(f"the {self.baseline_name} baseline", self.dataset, self.metric,
                     self.higher_is_better, self.baseline_name, self.baselines, {})


@dataclass(frozen=True)
class Verdict:
    """A two-sided paired test of `first` against `second` on the seeds they share."""

    first: str
    second: str
    metric: str
    higher_is_better: bool
    seeds: tuple[int, ...]  # the seeds both have
    first_values: tuple[float, ...]
    second_values: tuple[float, ...]
    p: float | None  # None: too few seeds to test
    alpha: float = ALPHA
    min_seeds: int = MIN_SEEDS
    adjusted_over: int = 1  # how many comparisons `p` was Holm-adjusted over
    p_adjusted: float | None = None  # the p the verdict rests on; p itself if not adjusted

    @property
    def tested(self) -> bool:
        return self.p is not None

    @property
    def p_final(self) -> float | None:
        return self.p_adjusted if self.p_adjusted is not None else self.p

    @property
    def ahead(self) -> str | None:
        """The side with the better mean over the shared seeds (None: equal or none)."""
        if not self.seeds:
            return None
        diff = float(np.mean(self.first_values) - np.mean(self.second_values))
        if diff == 0:
            return None
        return self.first if (diff > 0) == self.higher_is_better else self.second

    @property
    def winner(self) -> str | None:
        """The side that is better with significance at `alpha`, else None."""
        p = self.p_final
        return self.ahead if p is not None and p < self.alpha else None

    @property
    def short(self) -> str:
        """The verdict in a table cell, seen from `first`."""
        if not self.tested:
            n = len(self.seeds)
            on = "on it" if n == 1 else "on them"
            lead = {self.first: f", better {on}", self.second: f", worse {on}"}.get(
                self.ahead, "")
            return f"untested: {n} seed{'s' * (n != 1)}{lead}"
        p = p_is(self.p_final)
        if self.winner is None:
            return f"no difference shown ({p})"
        return f"{'better' if self.winner == self.first else 'worse'} ({p})"

    @property
    def text(self) -> str:
        """The verdict as one sentence with the numbers it rests on."""
        n = len(self.seeds)
        direction = "higher" if self.higher_is_better else "lower"
        numbers = (f"{self.metric} ({direction} is better): "
                   f"{_spread(self.first_values)} against {_spread(self.second_values)}")
        if n == 0:
            return f"{self.first} vs {self.second}: no seed in common, nothing to pair."
        if not self.tested:
            seeds = ", ".join(map(str, self.seeds))
            lead = "neither is ahead" if self.ahead is None else f"{self.ahead} is ahead"
            few = "1 seed is" if n == 1 else f"{n} seeds are"
            return (f"{self.first} vs {self.second}: {few} too few to test (it takes "
                    f"{self.min_seeds}); on seed{'s' * (n > 1)} {seeds}, {numbers}: {lead}.")
        test = f"paired t-test over {n} seeds: {p_is(self.p)}"
        if self.adjusted_over > 1:
            test += f", {p_is(self.p_final)} Holm-adjusted over {self.adjusted_over} comparisons"
        if self.winner is None:
            return (f"No difference shown between {self.first} and {self.second}: {numbers} "
                    f"({test}; not significant at α = {self.alpha}).")
        loser = self.second if self.winner == self.first else self.first
        first, second = ((self.first_values, self.second_values) if self.winner == self.first
                         else (self.second_values, self.first_values))
        return (f"{self.winner} beats {loser}: {self.metric} ({direction} is better) "
                f"{_spread(first)} against {_spread(second)} ({test}; significant at "
                f"α = {self.alpha}).")


@dataclass(frozen=True)
class Summary:
    """Every configuration's group, and the verdicts between them and their baselines."""

    groups: tuple[Group, ...]
    verdicts: tuple[Verdict, ...]
    alpha: float = ALPHA
    min_seeds: int = MIN_SEEDS

    def group(self, config: str) -> Group | None:
        return next((g for g in self.groups if g.config == config), None)

    def verdict(self, first: str, second: str) -> Verdict | None:
        """The verdict between two configurations (or a configuration and 'the <name>
        baseline'), in whichever order it was made."""
        for v in self.verdicts:
            if {v.first, v.second} == {first, second}:
                return v
        return None


def number(value: float | None) -> str:
    """Four significant digits: enough to compare, few enough to read."""
    return "n/a" if value is None or math.isnan(value) else f"{value:.4g}"


def capital(text: str) -> str:
    """A sentence that starts with 'the ...' capitalised; a configuration's name kept."""
    return "The" + text[3:] if text.startswith("the ") else text


def p_is(p: float | None) -> str:
    """'p = 0.012', or 'p < 0.001' below what three decimals show."""
    return "p = n/a" if p is None else ("p < 0.001" if p < 0.001 else f"p = {p:.3f}")


def _spread(values: Sequence[float]) -> str:
    if len(values) == 1 or float(np.ptp(values)) == 0:
        return number(values[0])
    return f"{number(float(np.mean(values)))} ± {number(float(np.std(values, ddof=1)))}"


def group_results(results: Iterable[Result]) -> list[Group]:
    """Results of one configuration, dataset and metric, by seed, in first-seen order.

    A second result for the same seed (a rerun) replaces the first.
    """
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in results:
        key = (r.config, r.dataset, r.metric)
        g = found.setdefault(key, {"first": r, "values": {}, "baselines": {}, "sources": {}})
        g["values"][r.seed] = float(r.value)
        g["sources"][r.seed] = r.source
        if r.baseline is not None and math.isfinite(r.baseline):
            g["baselines"][r.seed] = float(r.baseline)
    groups = []
    for (config, dataset, metric), g in found.items():
        first: Result = g["first"]
        groups.append(Group(
            config, dataset, metric, first.higher_is_better, first.baseline_name,
            dict(sorted(g["values"].items())), dict(sorted(g["baselines"].items())),
            dict(first.settings), tuple(s for _, s in sorted(g["sources"].items()) if s)))
    return groups


def compare(a: Group, b: Group, *, first: str | None = None, second: str | None = None,
            alpha: float = ALPHA, min_seeds: int = MIN_SEEDS) -> Verdict:
    """Test `a` against `b`, paired by seed; `first`/`second` rename them in the text."""
    seeds = tuple(s for s in a.seeds if s in b.values)
    x = np.array([a.values[s] for s in seeds], dtype=float)
    y = np.array([b.values[s] for s in seeds], dtype=float)
    p = statistics.paired_p(x, y) if len(seeds) >= min_seeds else None
    return Verdict(first or a.config, second or b.config, a.metric, a.higher_is_better,
                   seeds, tuple(x.tolist()), tuple(y.tolist()), p, alpha, min_seeds)


def holm(verdicts: Sequence[Verdict]) -> list[Verdict]:
    """The same verdicts, their p-values Holm-adjusted over those that were tested."""
    m = sum(v.p is not None for v in verdicts)
    return [v if p is None else replace(v, adjusted_over=m, p_adjusted=p)
            for v, p in zip(verdicts, statistics.holm([v.p for v in verdicts]), strict=True)]


def summarise(results: Iterable[Result], alpha: float = ALPHA,
              min_seeds: int = MIN_SEEDS) -> Summary:
    """Group results by configuration, and test each group against its baseline and
    against the best group of its dataset and metric."""
    groups = group_results(results)
    verdicts: list[Verdict] = []
    blocks: dict[tuple[str, str], list[Group]] = {}
    for g in groups:
        blocks.setdefault((g.dataset, g.metric), []).append(g)
    for block in blocks.values():
        made = []
        for g in block:
            base = g.baseline_group()
            if base is not None:
                made.append(compare(g, base, alpha=alpha, min_seeds=min_seeds))
        best = max(block, key=lambda g: g.mean if g.higher_is_better else -g.mean)
        made += [compare(best, g, alpha=alpha, min_seeds=min_seeds)
                 for g in block if g is not best]
        verdicts += holm(made)
    return Summary(tuple(groups), tuple(verdicts), alpha, min_seeds)
