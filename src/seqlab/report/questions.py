"""The course's two questions, answered in words from the numbers the report has.

1. Is 12 steps of 1 better than 1 step of 12? course_ex1 reads each 12-month window as 12
   time steps of one value (dataset.framing=steps); the same net reading it as one step
   of 12 values (dataset.framing=features) is the other side.
2. Does the LSTM beat the fully connected net? course_ex1 against course_ex1_fc, and
   course_ex2 against course_ex2_fc.

The answers come from the pipeline's entries (configurations named after entries) and
from an MLflow experiment's runs (configurations are sweep overrides, such as
`experiment=course_ex1 dataset.framing=features`). A yes or a no is given only where a
paired test over seeds supports it; otherwise the answer gives the numbers, says they
settle nothing, and names the command that would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from seqlab.report.verdicts import Group, Summary, Verdict, capital, compare

FRAMING = "dataset.framing"
EXERCISES = (("Exercise 1", "course_ex1", "course_ex1_fc"),
             ("Exercise 2", "course_ex2", "course_ex2_fc"))
SEEDS = "seed=range(0,5)"  # Hydra's sweep over seeds 0 to 4
REPORT = "python -m seqlab.stages.report --experiment many_to_one"


def pairs(groups: Sequence[Group], key: str, a: str, b: str, default: str | None = None,
          where: Callable[[Group], bool] = lambda g: True) -> list[tuple[Group, Group]]:
    """Pairs of groups that differ only in `key`: `a` in the first, `b` in the second (a
    missing key reads as `default`). A dataset's name does not count (its settings do):
    the pipeline needs a dataset framed another way to have a name of its own."""
    def rest(g: Group) -> dict[str, str]:
        return {k: v for k, v in g.settings.items() if k not in (key, "dataset.name")}

    def value(g: Group) -> str | None:
        return g.settings.get(key, default)

    return [(x, y) for x in groups if value(x) == a and where(x)
            for y in groups if value(y) == b and y.metric == x.metric and rest(y) == rest(x)]


def answer(verdict: Verdict, yes: str = "Yes", no: str = "No") -> str:
    """The verdict as an answer to 'is `first` better than `second`?'."""
    if verdict.winner == verdict.first:
        word = yes
    elif verdict.winner == verdict.second:
        word = no
    else:
        word = "Not shown" if verdict.tested else "Not settled"
    return f"**{word}.** {capital(verdict.text)}"


def framing(pipeline: Summary, runs: Summary | None) -> list[str]:
    """Is 12 steps of 1 better than 1 step of 12?"""
    lines = []
    for summary, source in ((pipeline, "pipeline"), (runs, "MLflow runs")):
        if summary is None:
            continue
        if source == "pipeline":
            found = pairs(summary.groups, FRAMING, "steps", "features",
                          where=lambda g: g.config == "course_ex1")
        else:
            found = pairs(summary.groups, FRAMING, "steps", "features", default="steps",
                          where=lambda g: g.settings.get("experiment") == "course_ex1")
        for steps, features in found:
            verdict = compare(steps, features, first=f"12 steps of 1 ({steps.config})",
                              second=f"1 step of 12 ({features.config})",
                              alpha=summary.alpha, min_seeds=summary.min_seeds)
            lines.append(f"- From the {source}: {answer(verdict)}")
            if not verdict.tested:
                lines.append(f"  To settle it: `python -m seqlab.train -m experiment=course_ex1 "
                             f"{FRAMING}=steps,features {SEEDS}`, then `{REPORT}`.")
    if lines:
        return lines
    return ["- Not answered yet: no evaluated entry or run reads course_ex1's windows as one "
            f"step of 12 values ({FRAMING}=features) with everything else as course_ex1. "
            f"Over 5 seeds: `python -m seqlab.train -m experiment=course_ex1 "
            f"{FRAMING}=steps,features {SEEDS}`, then `{REPORT}`. In the pipeline: add "
            f"`course_ex1_features: [experiment=course_ex1, {FRAMING}=features, "
            "dataset.name=elec_equip_features]` to conf/pipeline.yaml, then `make run`."]


def lstm_or_fc(pipeline: Summary, runs: Summary | None) -> list[str]:
    """Does the LSTM beat the fully connected net?"""
    lines = []
    for exercise, lstm, fc in EXERCISES:
        found: list[tuple[str, Group, Group, Summary]] = []
        a, b = pipeline.group(lstm), pipeline.group(fc)
        if a is not None and b is not None:
            found.append(("pipeline", a, b, pipeline))
        if runs is not None:
            found += [("MLflow runs", x, y, runs) for x, y in pairs(
                runs.groups, "experiment", lstm, fc)]
        for source, x, y, summary in found:
            verdict = compare(x, y, first=f"the LSTM ({x.config})",
                              second=f"the fully connected net ({y.config})",
                              alpha=summary.alpha, min_seeds=summary.min_seeds)
            lines.append(f"- {exercise}, from the {source}: {answer(verdict)}")
            if not verdict.tested:
                lines.append(f"  To settle it: `python -m seqlab.train -m "
                             f"experiment={lstm},{fc} {SEEDS}`, then `{REPORT}`.")
        if not found:
            lines.append(f"- {exercise}: not answered yet: {lstm} and {fc} have not both been "
                         f"evaluated; run `dvc repro evaluate@{lstm} evaluate@{fc}`, or over 5 "
                         f"seeds `python -m seqlab.train -m experiment={lstm},{fc} {SEEDS}`, "
                         f"then `{REPORT}`.")
    return lines


def course_questions(pipeline: Summary, runs: Summary | None = None) -> str:
    """The course's questions and their answers, as Markdown."""
    return "\n".join([
        "### Is 12 steps of 1 better than 1 step of 12?", "", *framing(pipeline, runs), "",
        "### Does the LSTM beat the fully connected net?", "", *lstm_or_fc(pipeline, runs),
    ]) + "\n"
