"""`make compare`: seqlab beside its peers on the same folds and splits, in two tables.

The airline passengers backtest: twelve months ahead from three origins a year apart
(1958-01, 1959-01, 1960-01), each model fitted on the months before its origin and
scored by MASE (the in-sample seasonal naive error of those months as the scale). seqlab
runs its preset (`python -m seqlab.train experiment=airline_passengers` with the
backtest) and gives its own references' means; the peers (compare/peers.py:
statsforecast's AutoETS, AutoARIMA and naive forecasts) run in their own environment,
.venv-compare, which `make compare` builds from compare/requirements.txt. Both read the
series seqlab fetched, written once as a date,value file. Wall time is each system's
own: seqlab's whole run (fetch, three fits, evaluation), a peer's fits and forecasts.

The six UEA/UCR problems sktime ships (BasicMotions, GunPoint, ItalyPowerDemand,
JapaneseVowels, ArrowHead, OSULeaf), on their official splits: seqlab's net with the
japanese_vowels preset's settings and its own references (MiniRocket, 1-NN DTW) from the
same run, beside aeon's ROCKET and 1-NN DTW (compare/peers.py classify), which read the
same two .ts files.

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


def peers(python: str, *args: str) -> str:
    """compare/peers.py's JSON answer, run in the peers' environment."""
    if not Path(python).exists():
        raise DataError(f"{python}: no peers' environment; `make compare` builds it "
                        "(.venv-compare, from compare/requirements.txt)")
    done = subprocess.run([python, str(PEERS), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise DataError(f"compare/peers.py failed: {done.stderr.strip()[-500:]}")
    return done.stdout


def peer_rows(python: str, series: Path) -> list[dict[str, Any]]:
    found = json.loads(peers(python, str(series), "--horizon", str(HORIZON),
                             "--folds", str(FOLDS), "--season", str(SEASON)))
    return [{"system": name, **result} for name, result in found.items()]


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


# -- the UEA/UCR problems shipped with sktime: official splits -----------------------------

PROBLEMS = ("BasicMotions", "GunPoint", "ItalyPowerDemand", "JapaneseVowels", "ArrowHead",
            "OSULeaf")
UEA = ["experiment=japanese_vowels", "dataset=uea"]  # its settings, any problem
# seqlab's own references, read from the run's record beside the net.
REFERENCES = {"minirocket_ridge": "seqlab MiniRocket", "nearest_neighbour_dtw": "seqlab 1-NN DTW"}


def uea_seqlab(problem: str, folder: Path) -> dict[str, tuple[float | None, float | None]]:
    """seqlab's net on `problem` (the japanese_vowels preset's settings), and its own
    references from the same run: name -> (test accuracy, seconds)."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "seqlab.train", *UEA,
                           f"dataset.problem={problem}", "tracking.enabled=false",
                           f"hydra.run.dir={folder}/{problem}"], capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise DataError(f"seqlab on {problem} failed: {done.stderr.strip()[-500:]}")
    metrics = json.loads((folder / problem / "metrics.json").read_text())
    found = {"seqlab preset (bidirectional GRU)": (metrics["test"]["test/acc"], seconds)}
    for name, label in REFERENCES.items():
        found[label] = (metrics["baselines"][name]["acc"],
                        metrics["baseline_info"][name].get("seconds"))
    return found


def uea_peers(python: str, problem: str) -> dict[str, tuple[float | None, float | None]]:
    """aeon's classifiers on `problem`'s official files: name -> (accuracy, seconds)."""
    from seqlab.data.ts_file import shipped_file

    files = [str(shipped_file(problem, f"{problem}_{part}.ts")) for part in ("TRAIN", "TEST")]
    found = json.loads(peers(python, "classify", *files))
    return {name: (r["accuracy"], r["seconds"]) for name, r in found.items()}


def uea_table(results: dict[str, dict[str, tuple[float | None, float | None]]]) -> str:
    """One row per problem, one column per system: test accuracy (seconds)."""
    systems = list(dict.fromkeys(name for row in results.values() for name in row))
    lines = ["| problem | " + " | ".join(systems) + " |", "|---|" + "---|" * len(systems)]
    for problem, row in results.items():
        cells = []
        for system in systems:
            accuracy, seconds = row.get(system, (None, None))
            if accuracy is None:
                cells.append("–")
                continue
            took = "" if seconds is None else f" ({seconds:.{1 if seconds < 10 else 0}f} s)"
            cells.append(f"{accuracy:.3f}{took}")
        lines.append(f"| {problem} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m seqlab.compare",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--peers-python", default=".venv-compare/bin/python",
                        help="the peers' environment's python (make compare builds it)")
    parser.add_argument("--out", default=str(OUT), help="where the tables are kept")
    parser.add_argument("--problems", nargs="*", default=list(PROBLEMS), choices=PROBLEMS,
                        metavar="PROBLEM", help="the UEA/UCR problems to run (default: all six)")
    args = parser.parse_args(argv)

    def run() -> tuple[str, str]:
        with tempfile.TemporaryDirectory() as tmp:
            series, dates = series_file(Path(tmp))
            print("seqlab's backtest, then the peers' (a minute or two)...", file=sys.stderr)
            rows = [*seqlab_rows(Path(tmp)), *peer_rows(args.peers_python, series)]
            results = {}
            for problem in tqdm(args.problems, desc="UEA/UCR problems", unit="problem"):
                results[problem] = {**uea_seqlab(problem, Path(tmp)),
                                    **uea_peers(args.peers_python, problem)}
        return table(rows, fold_origins(dates)), uea_table(results)

    from tqdm import tqdm

    airline, uea = run_cli(run)
    text = ("# seqlab and its peers\n\n"
            "Made by `make compare` (seqlab/compare.py, compare/peers.py).\n\n"
            "## Airline passengers, 12 months ahead, 3 origins\n\n"
            "MASE per fold, scaled by the in-sample seasonal naive error before each "
            f"origin.\n\n{airline}\n\n"
            "## UEA/UCR problems, official splits\n\n"
            "Test accuracy (seconds to fit and answer; seqlab's net: its whole run). "
            "seqlab's net and its references learn from 80 % of the training split (the "
            "rest is the net's validation split); aeon's from all of it. aeon's ROCKET "
            f"takes series of one length only (–).\n\n{uea}\n")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(airline, uea, sep="\n\n")


if __name__ == "__main__":
    main()
