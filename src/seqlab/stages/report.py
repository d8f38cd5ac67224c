"""DVC stage: reports/summary.md and reports/figures/, from every entry's metrics and plots.

Reads metrics/*.json, plots/*/history.csv and params.yaml (which entries differ only by
seed), and, with --experiment NAME, that MLflow experiment's runs too (a sweep over
seeds, say). With tracking on, the report is logged as a run named `report` in the
MLflow experiment `reports`, with the lineage tags a training run has (the commit, its
uncommitted changes, library versions: tracking/lineage.py). Paths default to the
project's; tests and one-off reports give their own.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from seqlab import timing  # first: with $SEQLAB_PROFILE set it times the imports below
from seqlab.errors import ConfigError, DataError
from seqlab.layout import project
from seqlab.stages import run_stage


def read_params(path: Path, required: bool) -> dict[str, Any] | None:
    """params.yaml, or None where there is none and none was asked for."""
    if not path.is_file():
        if required:
            raise ConfigError(f"--params: {path} does not exist")
        return None
    try:
        params = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise DataError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
    return params if isinstance(params, dict) else None


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m seqlab.stages.report", description=__doc__)
    parser.add_argument("--metrics", type=Path, help="folder of <entry>.json (metrics/)")
    parser.add_argument("--plots", type=Path, help="folder of <entry>/history.csv (plots/)")
    parser.add_argument("--params", type=Path, help="params.yaml (the project's)")
    parser.add_argument("--out", type=Path, help="the report folder, replaced (reports/)")
    parser.add_argument("--experiment", metavar="NAME",
                        help="also report the runs of this MLflow experiment")
    parser.add_argument("--no-log", action="store_true", help="do not log it to MLflow")
    args = parser.parse_args()
    root = project().root

    from seqlab.config import instantiate
    from seqlab.report.summary import (
        REPORTS_DIR,
        experiment_runs,
        log_report,
        write_report,
    )
    from seqlab.tracking.store import Tracking

    params = read_params(args.params or root / "params.yaml", required=bool(args.params))
    # Without params.yaml's tracking section nothing is logged; --experiment alone reads
    # the default store (the project's mlflow.db).
    tracking = (instantiate(params["tracking"], "tracking")
                if params and isinstance(params.get("tracking"), dict) else None)
    with timing.phase("tracking"):
        runs = (experiment_runs(tracking or Tracking(), args.experiment) if args.experiment
                else None)
    metrics = args.metrics or root / "metrics"
    log = None
    if tracking is not None and tracking.enabled and not args.no_log:
        def log(folder: Path) -> None:
            with timing.phase("tracking"):
                log_report(tracking, folder, len(list(metrics.glob("*.json"))))
    out = args.out or root / REPORTS_DIR
    with timing.phase("evaluate"):  # the report's own work: reading, judging, drawing
        written = write_report(out, metrics, args.plots or root / "plots", params, runs,
                               args.experiment, log)
    print(f"wrote {out / written[0]} and {len(written) - 1} figures")


if __name__ == "__main__":
    run_stage(main)
