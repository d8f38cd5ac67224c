"""Which of an evaluation's figures are a run's MLflow metrics, and which go to its table.

The MLflow UI offers every metric of a run as a column of the runs table and a chart of
the chart view. A person compares a few: the headline, the strongest baseline on it, the
other overall test scores, the learning curves and what selected the weights. A global
model of many series, a multi-step forecast or a backtest has hundreds more (each series',
each step ahead's, each fold's, each baseline's), which buried those few ("Show more
columns (564 total)"). Those go to one table artifact instead (`DETAIL_TABLE`, the UI's
artifact view shows it as a table); metrics.json keeps them all, as before.
"""

from __future__ import annotations

import re
from typing import Any

DETAIL_TABLE = "metrics/detail.json"  # the run's artifact: every test figure, as a table
MODEL = "model"  # the table's column of the run's own net
TEST, BASELINE = "test/", "baseline/"
FOLD = re.compile(r"^fold(\d+)/(.+)$")  # a backtest fold: test/fold<k>/<metric>
SERIES = re.compile(r"^series/([^/]+)/(.+)$")  # one series of several: series/<name>/<metric>
AHEAD = re.compile(r"^(.+)_h(\d+)$")  # a step ahead of a multi-step forecast: <metric>_h<k>


def owner_and_rest(key: str) -> tuple[str, str] | None:
    """(`model` or the baseline's name, the key's part after it) of a test or baseline
    figure; None for any other metric (curves, selection)."""
    if key.startswith(TEST):
        return MODEL, key.removeprefix(TEST)
    if key.startswith(BASELINE) and key.count("/") >= 2:
        name, rest = key.removeprefix(BASELINE).split("/", 1)
        return name, rest
    return None


def part_and_metric(rest: str) -> tuple[str, str]:
    """Which part of the test split a figure scores, and the metric: `series/A/mse` ->
    (`series A`, `mse`); `mse_h3` -> (`h3`, `mse`); `fold2/mae` -> (`fold 2`, `mae`);
    `mse` -> (`all`, `mse`)."""
    for pattern, part in ((FOLD, "fold {}"), (SERIES, "series {}")):
        found = pattern.match(rest)
        if found:
            return part.format(found.group(1)), found.group(2)
    found = AHEAD.match(rest)
    if found:
        return f"h{found.group(2)}", found.group(1)
    return "all", rest


def natural(text: str) -> list[Any]:
    """A sort key that puts `h2` before `h10` and `series 9` before `series 10`."""
    return [int(bit) if bit.isdigit() else bit for bit in re.split(r"(\d+)", text)]


def split_metrics(metrics: dict[str, float], headline: dict[str, Any]
                  ) -> tuple[dict[str, float], dict[str, float]]:
    """(top-level, detail) of a run's flat metrics, by one rule.

    Top-level: every metric outside `test/` and `baseline/` (learning curves, selection);
    the verdict's two figures, the model's headline (`test/<headline>`, a backtest's
    `test/<headline>_sd` too) and the strongest baseline's (`baseline/<strongest>/
    <headline>`): the report, sweeps and Optuna read these. Detail: the other test scores,
    per fold, per series and per step ahead, and every other baseline figure. MLflow's
    table orders metric columns by name and draws only those near the view, so each more
    metric pushes the headline further out. `headline` is the metrics file's (`metric`,
    `baseline_name`).
    """
    name = headline["metric"].split("/")[-1]
    strongest = f"{BASELINE}{headline['baseline_name']}/{name}"
    top, detail = {}, {}
    for key, value in metrics.items():
        owned = owner_and_rest(key)
        if owned is None:
            kept = True
        elif owned[0] == MODEL:
            kept = owned[1] in (name, f"{name}_sd")
        else:
            kept = key == strongest
        (top if kept else detail)[key] = value
    return top, detail


def detail_table(metrics: dict[str, float]) -> dict[str, list[Any]]:
    """The model's and each baseline's test figures side by side, one row per part of
    the split and metric (`part`, `metric`, `model`, <baseline>...); a figure one of them
    lacks is None. Metrics outside test/ and baseline/ are left out."""
    cells: dict[tuple[str, str], dict[str, float]] = {}
    owners = [MODEL]
    for key, value in metrics.items():
        owned = owner_and_rest(key)
        if owned is None:
            continue
        owner, rest = owned
        if owner not in owners:
            owners.append(owner)
        cells.setdefault(part_and_metric(rest), {})[owner] = float(value)
    rows = sorted(cells, key=lambda row: (row[0] != "all", natural(row[0]), row[1]))
    return {"part": [part for part, _ in rows], "metric": [metric for _, metric in rows],
            **{owner: [cells[row].get(owner) for row in rows] for owner in owners}}


def log_table(client: Any, run_id: str, table: dict[str, list[Any]], artifact_file: str
              ) -> None:
    """Log `table` (column -> values) as MLflow's table artifact `artifact_file` (.json),
    as `MlflowClient.log_table` does, except that a table already there is replaced:
    log_table appends to it, and `seqlab.upload` sends a record again."""
    import json
    import tempfile
    from pathlib import Path

    from mlflow.utils.mlflow_tags import MLFLOW_LOGGED_ARTIFACTS

    folder, _, name = artifact_file.rpartition("/")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        # pandas' "split" layout, which MLflow reads; json keeps every digit (pandas, 15).
        rows = [list(row) for row in zip(*table.values(), strict=True)]
        path.write_text(json.dumps({"columns": list(table), "data": rows}))
        client.log_artifact(run_id, str(path), folder or None)
    # The tag that makes the UI show the file as a table (its evaluation view).
    logged = json.loads(client.get_run(run_id).data.tags.get(MLFLOW_LOGGED_ARTIFACTS, "[]"))
    entry = {"path": artifact_file, "type": "table"}
    if entry not in logged:
        client.set_tag(run_id, MLFLOW_LOGGED_ARTIFACTS, json.dumps([*logged, entry]))
