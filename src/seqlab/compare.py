"""`make compare`: seqlab beside its peers on the same folds, in one table.

The airline passengers backtest: twelve months ahead from three origins a year apart
(1958-01, 1959-01, 1960-01), each model fitted on the months before its origin and
scored by MASE (the in-sample seasonal naive error of those months as the scale). seqlab
runs its preset (`python -m seqlab.train experiment=airline_passengers` with the
backtest) and gives its own references' means; the peers (compare/peers.py:
statsforecast's AutoETS, AutoARIMA and naive forecasts) run in their own environment,
.venv-compare, which `make compare` builds from compare/requirements.txt. Both read the
series seqlab fetched, written once as a date,value file. Wall time is each system's
own: seqlab's whole run (fetch, three fits, evaluation), a peer's fits and forecasts.

    python -m seqlab.compare --peers-python .venv-compare/bin/python
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from seqlab.errors import DataError, run_cli

HORIZON, FOLDS, SEASON = 12, 3, 12
AIRLINE = ["experiment=airline_passengers", f"dataset.horizon={HORIZON}",
           f"dataset.backtest_folds={FOLDS}", "dataset.window=12"]
PEERS = Path(__file__).resolve().parents[2] / "compare" / "peers.py"
# Beside the peers' script, not in reports/: the report stage replaces that folder whole.
OUT = Path("compare") / "results.md"


def series_file(folder: Path) -> tuple[Path, list[str]]:
    """The airline series as seqlab reads it, written as date,value, and its dates."""
    from seqlab.config import compose, instantiate
    from seqlab.data.sources import fetch
    from seqlab.layout import DataFolders, Layout, project_root

    spec = instantiate(compose(AIRLINE).dataset, "dataset")
    downloads = Layout(project_root()).cache.downloads
    folders = DataFolders(folder / "raw", folder / "processed", downloads)
    frame = spec.read(fetch(spec.source, folders.raw(spec.source), downloads))
    path = folder / "series.csv"
    frame[["date", "value"]].to_csv(path, index=False)
    return path, [str(d)[:7] for d in frame["date"]]


def seqlab_rows(folder: Path) -> list[dict[str, Any]]:
    """seqlab's net over the folds, and its own references' means (from the same run)."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "seqlab.train", *AIRLINE,
                           "tracking.enabled=false", f"hydra.run.dir={folder}/run"],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise DataError(f"seqlab's airline backtest failed: {done.stderr.strip()[-500:]}")
    metrics = json.loads((folder / "run" / "metrics.json").read_text())
    folds = [metrics["test"][f"test/fold{k}/mase"] for k in range(1, FOLDS + 1)]
    rows = [{"system": "seqlab, airline_passengers preset (LSTM)", "folds": folds,
             "seconds": seconds}]
    for name, scores in sorted(metrics["baselines"].items()):
        if "mase" in scores:
            rows.append({"system": f"seqlab reference: {name}", "folds": None,
                         "mean": scores["mase"], "seconds": None})
    return rows


def peer_rows(python: str, series: Path) -> list[dict[str, Any]]:
    if not Path(python).exists():
        raise DataError(f"{python}: no peers' environment; `make compare` builds it "
                        "(.venv-compare, from compare/requirements.txt)")
    done = subprocess.run([python, str(PEERS), str(series), "--horizon", str(HORIZON),
                           "--folds", str(FOLDS), "--season", str(SEASON)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise DataError(f"compare/peers.py failed: {done.stderr.strip()[-500:]}")
    return [{"system": name, **result} for name, result in json.loads(done.stdout).items()]


def table(rows: list[dict[str, Any]], origins: list[str]) -> str:
    """Rows as a markdown table, best mean first."""
    for row in rows:
        if row.get("folds"):
            row["mean"] = sum(row["folds"]) / len(row["folds"])
    head = ("| system | " + " | ".join(f"from {o}" for o in origins)
            + " | mean MASE | wall s |\n|---|" + "---|" * (len(origins) + 2))
    lines = [head]
    for row in sorted(rows, key=lambda r: r["mean"]):
        folds = row["folds"] or [None] * len(origins)
        cells = [f"{v:.3f}" if v is not None else "" for v in folds]
        seconds = f"{row['seconds']:.1f}" if row.get("seconds") is not None else ""
        lines.append(f"| {row['system']} | " + " | ".join(cells)
                     + f" | {row['mean']:.3f} | {seconds} |")
    return "\n".join(lines)


def fold_origins(dates: list[str]) -> list[str]:
    """The first month each fold forecasts: the backtest's origins, a horizon apart."""
    return [dates[len(dates) - HORIZON * (FOLDS - k)] for k in range(FOLDS)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m seqlab.compare",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--peers-python", default=".venv-compare/bin/python",
                        help="the peers' environment's python (make compare builds it)")
    parser.add_argument("--out", default=str(OUT), help="where the table is kept")
    args = parser.parse_args(argv)

    def run() -> str:
        with tempfile.TemporaryDirectory() as tmp:
            series, dates = series_file(Path(tmp))
            print("seqlab's backtest, then the peers' (a minute or two)...", file=sys.stderr)
            rows = [*seqlab_rows(Path(tmp)), *peer_rows(args.peers_python, series)]
        return table(rows, fold_origins(dates))

    found = run_cli(run)
    text = ("# seqlab and its peers: airline passengers, 12 months ahead, 3 origins\n\n"
            "Made by `make compare` (seqlab/compare.py, compare/peers.py); MASE per fold, "
            "scaled by the in-sample seasonal naive error before each origin.\n\n"
            f"{found}\n")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(found)


if __name__ == "__main__":
    main()
