"""The pipeline's report: reports/summary.md and reports/figures/, from metrics/ and plots/.

What it says: the course's questions answered from the numbers there are; every
configuration (entries that differ only by seed are one) against its trivial baseline,
with verdicts where seeds allow them; cells side by side where a dataset was trained with
several; every learning curve; and, when asked, the same for an MLflow experiment's runs
(a sweep run over seeds, say). It is written into a temporary folder that replaces
reports/ only once complete, so a failure leaves nothing for DVC to record. The figures
have a folder of their own so that DVC can declare it as plots: DVC renders PNGs, and
fails on a Markdown file among them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from seqlab.errors import ConfigError, DataError
from seqlab.io import atomic_dir
from seqlab.layout import FIGURES_DIR
from seqlab.report import figures
from seqlab.report.entries import Entry, load_entries, pipeline_results
from seqlab.report.markdown import markdown_table, render_markdown
from seqlab.report.questions import course_questions
from seqlab.report.runs import results_from_runs
from seqlab.report.verdicts import Group, Summary, summarise
from seqlab.tracking import tagnames

REPORTS_DIR = "reports"
SUMMARY_FILE = "summary.md"
REPORTS_EXPERIMENT = "reports"  # the MLflow experiment each report is logged to
CELLS = "model.cell=rnn,lstm,gru seed=range(0,5)"


def _file_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def _by_archetype(summary: Summary, first: dict[str, Entry]) -> dict[str, list[Group]]:
    """Each archetype's groups; a group is named after its first entry."""
    found: dict[str, list[Group]] = {}
    for g in summary.groups:
        found.setdefault(first[g.config].archetype, []).append(g)
    return dict(sorted(found.items()))


def _cells(groups: Sequence[Group], first: dict[str, Entry]) -> dict[str, list]:
    """The datasets trained with more than one recurrent cell, and each cell's groups."""
    blocks: dict[str, list] = {}
    for g in groups:
        cell = first[g.config].cell
        if cell:
            blocks.setdefault(g.dataset, []).append((cell, g))
    return {d: cells for d, cells in blocks.items() if len({c for c, _ in cells}) > 1}


def references_table(groups: Sequence[Group], first: dict[str, Entry]) -> str | None:
    """Each configuration's baselines (its first entry's): what each is, its score on the
    headline metric and the seconds it took; None where no metrics file records them."""
    rows = [["configuration", "baseline", "what it is", "test score", "seconds"]]
    for g in groups:
        entry = first.get(g.config)
        for r in entry.references if entry else ():
            rows.append([g.config, r.name, r.description,
                         "n/a" if r.value is None else f"{g.metric} {r.value:.4g}",
                         "–" if r.seconds is None else f"{r.seconds:.2f}"])
    return markdown_table(rows) if len(rows) > 1 else None


def build(out: Path, entries: list[Entry], params: dict[str, Any] | None,
          runs: list[Any] | None = None, experiment: str | None = None) -> list[str]:
    """Write summary.md and its figures into the folder `out`; the files' names."""
    if not entries and runs is None:
        raise DataError("no metrics/<entry>.json to report on; run the pipeline first "
                        "(dvc repro), or give an MLflow experiment (--experiment NAME)")
    summary = summarise(pipeline_results(entries, params))
    swept = summarise(results_from_runs(runs)) if runs is not None else None
    first = {e.name: e for e in entries}
    written: list[str] = []

    (out / FIGURES_DIR).mkdir()

    def figure(name: str, fig: Any) -> str:
        figures.save(fig, out / FIGURES_DIR / name)
        written.append(f"{FIGURES_DIR}/{name}")
        return f"![{name[:-4]}]({FIGURES_DIR}/{name})"

    source = f"{len(entries)} evaluated entr{'y' if len(entries) == 1 else 'ies'}"
    if runs is not None:
        source += f" and {len(runs)} runs of the MLflow experiment `{experiment}`"
    text = ["# Results", "",
            f"From {source}. Written by `python -m seqlab.stages.report` (DVC stage `report`), "
            "which rewrites it on every run.", "",
            "## The course's questions", "", course_questions(summary, swept)]
    if entries:
        archetypes = _by_archetype(summary, first)
        text += ["## Every configuration against its baseline", "", render_markdown(summary)]
        text += [figure(f"baselines_{a}.png", figures.baselines_figure(
            groups, f"{a}: models against their baselines")) + "\n"
                 for a, groups in archetypes.items()]
        table = references_table(summary.groups, first)
        if table:  # the verdict is against the strongest; here is each, and its cost
            text += ["## The baselines and references", "", table, ""]
        text += ["## Cells compared", ""]
        compared = {a: _cells(groups, first) for a, groups in archetypes.items()}
        text += [figure(f"cells_{a}.png", figures.cells_figure(blocks, f"{a}: cells")) + "\n"
                 for a, blocks in compared.items() if blocks]
        if not any(compared.values()):
            text += ["No dataset was trained with more than one recurrent cell. To compare "
                     f"them: `python -m seqlab.train -m experiment=course_ex2 {CELLS}`, then "
                     "`python -m seqlab.stages.report --experiment many_to_one`.", ""]
        text += ["## Learning curves", ""]
        for a, groups in archetypes.items():
            curves = {g.config: [first[s] for s in g.sources if first[s].history is not None]
                      for g in groups}
            curves = {config: found for config, found in curves.items() if found}
            if curves:
                text.append(figure(f"learning_curves_{a}.png", figures.learning_curves_figure(
                    curves, f"{a}: loss by epoch (solid: train, dashed: validation)")) + "\n")
    if swept is not None:
        text += [f"## MLflow experiment `{experiment}`", ""]
        if swept.groups:
            text += [render_markdown(swept), figure(
                f"mlflow_{_file_name(experiment or 'runs')}.png",
                figures.baselines_figure(swept.groups, f"MLflow experiment {experiment}")) + "\n"]
        else:
            text += ["No finished run with a headline metric in it.", ""]
    (out / SUMMARY_FILE).write_text("\n".join(text).rstrip("\n") + "\n")
    return [SUMMARY_FILE, *written]


def write_report(target: Path, metrics_dir: Path, plots_dir: Path,
                 params: dict[str, Any] | None = None, runs: list[Any] | None = None,
                 experiment: str | None = None,
                 log: Callable[[Path], None] | None = None) -> list[str]:
    """Replace the folder `target` with a fresh report, all or nothing; `log` is given
    the complete folder before it replaces `target` (to log it to MLflow)."""
    entries = load_entries(Path(metrics_dir), Path(plots_dir))
    with atomic_dir(Path(target)) as tmp:
        written = build(tmp, entries, params, runs, experiment)
        if log is not None:
            log(tmp)
    return written


# -- MLflow -------------------------------------------------------------------------------

def experiment_runs(tracking: Any, name: str) -> list[Any]:
    """Every run of the MLflow experiment `name` (`mlflow.entities.Run`s)."""
    from seqlab.tracking.store import redact_uri

    if not tracking.enabled:
        raise ConfigError(f"--experiment {name}: tracking is off (tracking.enabled=false); "
                          "turn it on to read runs")
    client = tracking.client()
    found = client.get_experiment_by_name(name)
    if found is None:
        known = ", ".join(sorted(e.name for e in client.search_experiments())) or "none"
        raise ConfigError(f"--experiment: no MLflow experiment {name!r} in "
                          f"{redact_uri(tracking.resolved_uri())}; experiments: {known}")
    runs, token = [], None
    while True:
        page = client.search_runs([found.experiment_id], max_results=1000, page_token=token)
        runs += list(page)
        token = page.token
        if not token:
            return runs


def log_report(tracking: Any, folder: Path, entries: int) -> str:
    """Log a report folder as a run named `report` in the experiment `reports`."""
    from seqlab.layout import DIFF_FILE, project_root
    from seqlab.tracking.lineage import git_diff, lineage_tags
    from seqlab.tracking.run import process_tags
    from seqlab.tracking.store import init_store

    experiment_id = init_store(tracking, [REPORTS_EXPERIMENT])[REPORTS_EXPERIMENT]
    client = tracking.client()
    root = project_root()
    lineage = lineage_tags(root)  # as a training run's: the code that made the report
    run = client.create_run(experiment_id, run_name="report", tags={
        **lineage, "report.entries": str(entries), **process_tags()})
    try:
        if lineage["git.dirty"] == "true":  # what the commit alone would not rebuild
            client.log_text(run.info.run_id, git_diff(root), DIFF_FILE)
        client.log_artifacts(run.info.run_id, str(folder))
    except BaseException as error:
        client.set_tag(run.info.run_id, tagnames.ERROR,
                       f"{type(error).__name__}: {error}".splitlines()[0][:500])
        client.set_terminated(run.info.run_id, "FAILED")
        raise
    client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id
