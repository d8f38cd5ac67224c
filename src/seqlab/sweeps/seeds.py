"""`seeds=N`: the same run over N seeds, so that verdicts have seeds to rest on.

On the command line, `python -m seqlab.train experiment=course_ex1 seeds=3` stands for the
multirun `python -m seqlab.train -m experiment=course_ex1 seed=range(0,3)`: Hydra's own
sweep syntax, so the jobs are ordinary sweep children and the sweep's parent run can
summarise them. In conf/pipeline.yaml an entry with `seeds=3` becomes three entries: its
own name for the first seed (so metrics/<entry>.json keeps its name) and `<name>-seed<k>`
for the others. Either way the first seed is the one given with `seed=`, else 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from seqlab.errors import ConfigError

MULTIRUN_FLAGS = ("-m", "--multirun")


def _split(overrides: Sequence[str]) -> tuple[list[str], int | None, int]:
    """The overrides less `seeds=` and `seed=`, the number of seeds (None: no `seeds=`),
    and the first seed."""
    rest, count, first = [], None, 0
    for item in overrides:
        key, _, value = item.partition("=")
        if key.lstrip("+") == "seeds":
            if not value.isdigit() or int(value) < 1:
                raise ConfigError(f"seeds: {value!r} is not a number of seeds (1 or more)")
            count = int(value)
        elif key.lstrip("+") == "seed":
            if not value.lstrip("-").isdigit():
                raise ConfigError(f"seed: {value!r} with seeds=N: give one first seed (e.g. "
                                  "seed=10 seeds=3 runs seeds 10, 11, 12), or the seeds "
                                  "without seeds=N (seed=1,5,9)")
            first = int(value)
            rest.append(item)
        else:
            rest.append(item)
    return rest, count, first


def expand_seeds(argv: Sequence[str]) -> list[str]:
    """A command line's arguments with `seeds=N` as Hydra's `seed=range(S,S+N)` sweep and
    the multirun flag; unchanged without `seeds=`."""
    rest, count, first = _split(argv)
    if count is None:
        return list(argv)
    rest = [a for a in rest if a.partition("=")[0].lstrip("+") != "seed"]
    flag = [] if any(a in MULTIRUN_FLAGS for a in rest) else ["--multirun"]
    return [*flag, *rest, f"seed=range({first},{first + count})"]


def pipeline_entries(entries: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """conf/pipeline.yaml's entries with each `seeds=N` entry made N entries, one a seed."""
    out: dict[str, list[str]] = {}
    for name, overrides in entries.items():
        rest, count, first = _split(list(overrides))
        if count is None:
            out[name] = list(overrides)
            continue
        rest = [a for a in rest if a.partition("=")[0].lstrip("+") != "seed"]
        for k in range(count):
            key = name if k == 0 else f"{name}-seed{first + k}"
            if k > 0 and key in entries:
                raise ConfigError(f"entries.{name}: seeds={count} would add the entry {key!r}, "
                                  "which already exists; rename one of them")
            out[key] = [*rest, f"seed={first + k}"]
    return out
