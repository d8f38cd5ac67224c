"""The site's Results pages, written from what the committed pipeline produced.

Every figure comes from a file `make run`, `make bench` or `make compare` wrote
(metrics/, reports/, docs/bench.txt); nothing here is typed by hand, so a page cannot
go stale while the files it reads stay current.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

HEADER = ("!!! info \"Generated\"\n"
          "    This page is written by `make docs` from {source} in the repository; "
          "{maker} rewrites {it}.\n\n")


def number(value: Any) -> str:
    """A figure to four significant digits, as the report prints them."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def cell(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def entries(metrics_dir: Path) -> dict[str, tuple[dict, dict]]:
    """Each evaluated entry's (metrics/<entry>.json, metrics/details/<entry>.json)."""
    found = {}
    for path in sorted(metrics_dir.glob("*.json")):
        detail = metrics_dir / "details" / path.name
        found[path.stem] = (json.loads(path.read_text()),
                            json.loads(detail.read_text()) if detail.exists() else {})
    return found


def model_name(detail: dict) -> str:
    cell_name = detail.get("cell")
    return f"{detail.get('model', '?')} ({cell_name})" if cell_name else detail.get("model", "?")


def overview(found: dict[str, tuple[dict, dict]]) -> list[str]:
    lines = ["| entry | archetype | dataset | model | test headline | strongest baseline "
             "| verdict |", "|---|---|---|---|---|---|---|"]
    for entry, (summary, detail) in found.items():
        strongest = detail.get("headline", {}).get("baseline_name", "")
        lines.append(
            f"| [{entry}](#{entry}) | {detail.get('archetype', '?')} "
            f"| {detail.get('dataset', '?')} | {cell(model_name(detail))} "
            f"| {summary['metric']} {number(summary['value'])} "
            f"| {cell(strongest)} {number(summary.get('baseline'))} "
            f"| {cell(summary.get('verdict', ''))} |")
    return lines


def entry_section(entry: str, detail: dict) -> list[str]:
    """One entry's every test figure beside each baseline's, and what chose its weights."""
    lines = [f"## {entry}", ""]
    selection = detail.get("selection")
    if selection:
        lines += [f"Weights chosen by `{selection['metric']}` = {number(selection['value'])} "
                  f"at epoch {selection['epoch']}.", ""]
    baselines = detail.get("baselines", {})
    names = list(baselines)
    lines += ["| metric | model | " + " | ".join(names) + " |",
              "|---" * (2 + len(names)) + "|"]
    for key, value in detail.get("test", {}).items():
        short = key.removeprefix("test/")
        row = [number(baselines[name].get(short)) for name in names]
        lines.append(f"| {key} | {number(value)} | " + " | ".join(row) + " |")
    info = detail.get("baseline_info", {})
    if info:
        lines += ["", "| baseline | what it is | seconds |", "|---|---|---|"]
        lines += [f"| {name} | {cell(about.get('description', ''))} "
                  f"| {number(about.get('seconds'))} |" for name, about in info.items()]
    return lines + [""]


def results_page(metrics_dir: Path) -> str:
    """The Results page: every evaluated entry of the pipeline, from `metrics_dir`."""
    found = entries(metrics_dir)
    lines = ["# What the default pipeline reaches", "",
             HEADER.format(source="`metrics/`", maker="`make run`", it="those files"),
             f"{len(found)} entries of `conf/pipeline.yaml`, evaluated on their test split. "
             "The headline baseline is the strongest of the task's baselines "
             "(see [Selection and baselines](../concepts/selection.md)). "
             "`dvc metrics show` prints the same figures in a terminal.", ""]
    lines += overview(found) + [""]
    for entry, (_, detail) in found.items():
        if detail:
            lines += entry_section(entry, detail)
    return "\n".join(lines)


def report_page(reports_dir: Path) -> str:
    """reports/summary.md as a page: its own title and figures, under the site's."""
    text = (reports_dir / "summary.md").read_text()
    text = re.sub(r"\A# .*\n", "", text)
    return ("# The report\n\n"
            + HEADER.format(source="`reports/summary.md`",
                            maker="the `report` stage of `dvc repro`", it="it")
            + text)


def compare_page(results_file: Path) -> str:
    """compare/results.md, the last `make compare`, as a page."""
    text = Path(results_file).read_text()
    title, _, body = text.partition("\n")
    return (title + "\n\n"
            + HEADER.format(source="`compare/results.md`", maker="`make compare`", it="it")
            + body.lstrip("\n"))


RATIO = re.compile(r"^ratio (\S+): ([\d.]+)$", re.M)


def bench_page(bench_file: Path) -> str:
    """docs/bench.txt, the last `make bench`, as a page: its table and its ratios."""
    text = bench_file.read_text().rstrip("\n")
    lines = ["# The bench: seqlab against a plain PyTorch loop", "",
             HEADER.format(source="`docs/bench.txt`", maker="`make bench`", it="it"),
             "Ratio is seqlab's seconds over the plain loop's (best of each), on the same "
             "data, net, seed, threads and epochs. What the bench measures and why: "
             "[The bench](../design/bench.md).", "",
             "| workload | ratio |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in RATIO.findall(text)]
    lines += ["", "The whole output:", "", "```text", text, "```", ""]
    return "\n".join(lines)
