"""A summary of verdicts written as Markdown: a table of the groups and one line per
verdict (the report, a sweep's parent run)."""

from __future__ import annotations

from collections.abc import Sequence

from seqlab.report.verdicts import Summary, capital


def render_markdown(summary: Summary) -> str:
    """A table of the groups (mean ± std over seeds) and one line per verdict."""
    rows = [["configuration", "dataset", "metric", "seeds", "mean ± std", "baseline",
             "vs baseline"]]
    for g in summary.groups:
        against = summary.verdict(g.config, f"the {g.baseline_name} baseline")
        base = g.baseline_group()
        rows.append([
            g.config, g.dataset, f"{g.metric} {'↑' if g.higher_is_better else '↓'}",
            str(g.n), g.spread,
            f"{base.spread} ({g.baseline_name})" if base else "n/a",
            against.short if against else "n/a",
        ])
    lines = [markdown_table(rows), "",
             f"Verdicts: two-sided paired t-tests over the seeds both sides share, at "
             f"α = {summary.alpha}, Holm-adjusted within each dataset and metric; with fewer "
             f"than {summary.min_seeds} shared seeds there is no test.", ""]
    lines += [f"- {capital(v.text)}" for v in summary.verdicts] or ["- Nothing to compare."]
    return "\n".join(lines) + "\n"


def markdown_table(rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table; the first row is the header."""
    def cells(row: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |"

    return "\n".join([cells(rows[0]), cells(["---"] * len(rows[0])), *map(cells, rows[1:])])
