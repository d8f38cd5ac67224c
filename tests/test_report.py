"""Seeds, verdicts and the report stage, from fixture metrics written here (no training)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from seqlab.errors import ConfigError, DataError
from seqlab.report import entries as entries_mod
from seqlab.report.markdown import render_markdown
from seqlab.report.runs import results_from_runs
from seqlab.report.summary import write_report
from seqlab.report.verdicts import Result, compare, group_results, summarise
from seqlab.sweeps.seeds import expand_seeds, pipeline_entries

REPO = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"


def results(config: str, values: list[float], *, metric: str = "test/acc", higher=True,
            baseline: float | None = 0.1, dataset: str = "digits") -> list[Result]:
    return [Result(config, seed, metric, v, higher, baseline, "majority", dataset)
            for seed, v in enumerate(values)]


# -- seeds and verdicts -------------------------------------------------------------------

def test_results_that_differ_only_by_seed_are_one_group_with_mean_and_std():
    groups = group_results([*results("lstm", [0.8, 0.9, 1.0]), *results("gru", [0.7, 0.7]),
                            Result("gru", 1, "test/acc", 0.75, True, dataset="digits")])  # rerun
    lstm, gru = groups
    assert (lstm.config, lstm.seeds, gru.seeds) == ("lstm", [0, 1, 2], [0, 1])
    assert lstm.mean == pytest.approx(0.9) and lstm.std == pytest.approx(0.1)  # n - 1
    assert lstm.spread == "0.9 ± 0.1"
    assert gru.values == {0: 0.7, 1: 0.75}  # the rerun replaced the first run
    one = group_results(results("fc", [0.5]))[0]
    assert one.spread == "0.5" and one.n == 1


def test_overlapping_seeds_give_no_difference_and_a_clear_gap_a_winner():
    a, b, c = group_results([*results("lstm", [0.50, 0.53, 0.47, 0.52, 0.49]),
                             *results("gru", [0.51, 0.50, 0.49, 0.53, 0.47]),
                             *results("rnn", [0.40, 0.44, 0.38, 0.43, 0.41])])
    same = compare(a, b)
    assert same.tested and same.winner is None and same.p > 0.05
    assert same.text.startswith("No difference shown between lstm and gru")
    assert f"p = {same.p:.3f}; not significant at α = 0.05" in same.text
    gap = compare(c, a)
    assert gap.winner == "lstm" and gap.p < 0.05
    assert gap.text.startswith("lstm beats rnn: test/acc (higher is better)")
    assert "paired t-test over 5 seeds" in gap.text
    # Lower is better: the smaller error wins.
    x, y = group_results([*results("lstm", [0.40, 0.44, 0.38], metric="test/mse", higher=False),
                          *results("fc", [0.50, 0.55, 0.47], metric="test/mse", higher=False)])
    assert compare(y, x).winner == "lstm"


def test_pairing_is_by_seed_and_too_few_seeds_are_not_tested():
    a, b = group_results([*results("lstm", [0.9, 0.8]), *results("gru", [0.5, 0.6, 0.7])])
    verdict = compare(a, b)
    assert verdict.seeds == (0, 1) and verdict.p is None and verdict.winner is None
    assert "2 seeds are too few to test (it takes 3)" in verdict.text
    assert verdict.short == "untested: 2 seeds, better on them"
    # The same gap on every seed is no spread to divide by: as consistent as data get.
    c, d = group_results([*results("c", [1.0, 2.0, 3.0]), *results("d", [0.5, 1.5, 2.5])])
    assert compare(c, d).p == 0.0 and compare(c, c).p == 1.0


def test_summary_tests_each_configuration_against_its_baseline_and_the_best():
    summary = summarise([*results("lstm", [0.90, 0.92, 0.91, 0.93]),
                         *results("gru", [0.91, 0.90, 0.93, 0.92]),
                         *results("chance", [0.11, 0.09, 0.10, 0.12])])
    beats = summary.verdict("lstm", "the majority baseline")
    assert beats.winner == "lstm" and beats.text.startswith("lstm beats the majority baseline")
    assert beats.adjusted_over == 5  # 3 against the baseline, 2 against the best
    assert beats.p_adjusted >= beats.p
    assert summary.verdict("chance", "the majority baseline").winner is None
    assert summary.verdict("lstm", "gru").winner is None
    markdown = render_markdown(summary)
    assert ("| lstm | digits | test/acc ↑ | 4 | 0.915 ± 0.01291 | 0.1 (majority) | "
            "better (p < 0.001) |") in markdown
    assert "No difference shown between" in markdown and "α = 0.05" in markdown
    assert len([line for line in markdown.splitlines() if line.startswith("- ")]) == 5


def test_results_from_mlflow_runs_leave_the_seed_out_of_the_configuration():
    from mlflow.entities import Metric, Run, RunData, RunInfo, RunTag

    def run(run_id, overrides, seed, value, status="FINISHED", start=0, headline=True):
        tags = {"sweep.overrides": overrides, "seed": str(seed), "dataset": "elec_equip",
                "mlflow.parentRunId": "parent"}
        if headline:
            tags |= {"headline.metric": "test/mse", "headline.higher_is_better": "false",
                     "headline.baseline": "seasonal_naive"}
        metrics = [Metric("test/mse", value, 0, 0),
                   Metric("baseline/seasonal_naive/mse", 0.004, 0, 0)]
        info = RunInfo(run_id, "1", "", status, start, None, "active", run_name=run_id)
        return Run(info, RunData(metrics=metrics, tags=[RunTag(k, v) for k, v in tags.items()]))

    runs = [run(f"r{i}", f"experiment=course_ex1 seed={i} model.cell=gru", i, 0.003 + i / 1e4,
                start=10 + i) for i in range(3)]
    runs += [run("old", "experiment=course_ex1 seed=0 model.cell=gru", 0, 9.0, start=1),
             run("failed", "experiment=course_ex1 seed=5 model.cell=gru", 5, 1.0,
                 status="FAILED"),
             run("parent", "experiment=course_ex1 seed=range(0,3)", 0, 1.0, headline=False)]
    found = results_from_runs(runs)
    assert {r.config for r in found} == {"experiment=course_ex1 model.cell=gru"}
    assert found[0].settings == {"experiment": "course_ex1", "model.cell": "gru"}
    assert [r.source for r in found] == ["old", "r0", "r1", "r2"]  # oldest first
    assert found[1].baseline == 0.004 and not found[1].higher_is_better
    (group,) = summarise(found).groups
    assert group.values == {0: 0.003, 1: 0.0031, 2: 0.0032}  # r0 replaced the older run


def test_seeds_shortcut_expands_to_a_hydra_sweep_and_to_pipeline_entries():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    assert expand_seeds(["experiment=x", "seeds=3"]) == [
        "--multirun", "experiment=x", "seed=range(0,3)"]
    assert expand_seeds(["-m", "seed=10", "seeds=2"]) == ["-m", "seed=range(10,12)"]
    assert expand_seeds(["experiment=x"]) == ["experiment=x"]
    sweep = OverridesParser.create().parse_overrides(["seed=range(10,12)"])[0]
    assert list(sweep.sweep_string_iterator()) == ["10", "11"]
    assert pipeline_entries({"a": ["experiment=a", "seeds=3"], "b": ["experiment=b"]}) == {
        "a": ["experiment=a", "seed=0"], "a-seed1": ["experiment=a", "seed=1"],
        "a-seed2": ["experiment=a", "seed=2"], "b": ["experiment=b"]}
    for bad in (["seeds=0"], ["seeds=x"], ["seed=1,2", "seeds=2"]):
        with pytest.raises(ConfigError):
            expand_seeds(bad)
    with pytest.raises(ConfigError, match="already exists"):
        pipeline_entries({"a": ["seeds=2"], "a-seed1": []})


# -- the report stage ---------------------------------------------------------------------

ENTRIES = {  # entry: (dataset, model, cell, metric, values by seed, baseline)
    "course_ex1": ("elec_equip", "ManyToOneNet", "lstm", "test/mse",
                   [0.0049, 0.0052, 0.0047, 0.0050], 0.0039),
    "course_ex1_fc": ("elec_equip", "FeedForwardNet", None, "test/mse",
                      [0.0035, 0.0036, 0.0033, 0.0034], 0.0039),
    "course_ex1_features": ("elec_equip_features", "ManyToOneNet", "lstm", "test/mse",
                            [0.0050, 0.0049, 0.0048, 0.0051], 0.0039),
    "course_ex1_gru": ("elec_equip", "ManyToOneNet", "gru", "test/mse", [0.0045], 0.0039),
    "course_ex2": ("digits_pixels", "ManyToOneNet", "lstm", "test/acc", [0.93], 0.1),
    "course_ex2_fc": ("digits_pixels", "FeedForwardNet", None, "test/acc", [0.96], 0.1),
}


def write_project(root: Path) -> Path:
    """metrics/, plots/ and params.yaml of a pipeline whose entries were run over seeds."""
    datasets = {"elec_equip": {"name": "elec_equip", "window": 12, "framing": "steps"},
                "elec_equip_features": {"name": "elec_equip_features", "window": 12,
                                        "framing": "features"},
                "digits_pixels": {"name": "digits_pixels", "read": "pixels"}}
    params = {"datasets": datasets, "entries": {}, "tracking": {
        "_target_": "seqlab.tracking.store.Tracking", "enabled": False}}
    for entry, (dataset, model, cell, metric, values, baseline) in ENTRIES.items():
        for seed, value in enumerate(values):
            name = entry if seed == 0 else f"{entry}-seed{seed}"
            params["entries"][name] = {
                "seed": seed, "entry": name, "dataset": dataset,
                "model": {"_target_": model, "cell": cell}}
            record = {"archetype": "many_to_one", "task": "regression", "dataset": dataset,
                      "model": model, "cell": cell, "entry": name,
                      "headline": {"metric": metric, "value": value,
                                   "higher_is_better": metric == "test/acc",
                                   "baseline": baseline, "baseline_name": "naive"},
                      "test": {metric: value}, "baselines": {}, "mlflow_run_id": None}
            (root / "metrics").mkdir(parents=True, exist_ok=True)
            (root / "metrics" / f"{name}.json").write_text(json.dumps(record))
            (root / "plots" / name).mkdir(parents=True)
            (root / "plots" / name / "history.csv").write_text(
                "epoch,train/loss,val/loss\n1,0.5,0.6\n2,0.3,0.4\n3,0.2,0.35\n")
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    return root


def test_report_answers_the_course_questions_from_fixture_metrics(tmp_path):
    root = write_project(tmp_path)
    params = yaml.safe_load((root / "params.yaml").read_text())
    written = write_report(root / "reports", root / "metrics", root / "plots", params)
    assert set(written) == {"summary.md", "figures/baselines_many_to_one.png",
                            "figures/cells_many_to_one.png",
                            "figures/learning_curves_many_to_one.png"}
    for name in written[1:]:
        assert (root / "reports" / name).read_bytes().startswith(PNG)
    text = (root / "reports" / "summary.md").read_text()
    # The seeds of an entry are one configuration, named after the first.
    assert "| course_ex1 | elec_equip | test/mse ↓ | 4 | 0.00495 ± 0.0002082 |" in text
    assert "course_ex1-seed1 |" not in text
    framing, lstm_fc = text.split("### Does the LSTM beat the fully connected net?")
    assert "**Not shown.** No difference shown between 12 steps of 1 (course_ex1) and " \
           "1 step of 12 (course_ex1_features)" in framing
    ex1, ex2 = lstm_fc.split("- Exercise 2")[:2]
    assert "**No.** The fully connected net (course_ex1_fc) beats the LSTM (course_ex1)" in ex1
    assert "**Not settled.**" in ex2 and "1 seed is too few to test" in ex2
    assert "seed=range(0,5)" in ex2
    for figure in written[1:]:
        assert f"({figure})" in text


def test_report_says_which_command_answers_an_unasked_question(tmp_path):
    root = write_project(tmp_path)
    for path in (root / "metrics").glob("course_ex1_features*.json"):
        path.unlink()
    write_report(root / "reports", root / "metrics", root / "plots",
                 yaml.safe_load((root / "params.yaml").read_text()))
    text = (root / "reports" / "summary.md").read_text()
    assert "Not answered yet" in text
    assert "`python -m seqlab.train -m experiment=course_ex1 dataset.framing=steps,features " \
           "seed=range(0,5)`" in text


def test_metrics_split_as_proposed_read_like_the_current_file(tmp_path):
    root = write_project(tmp_path)
    metrics, plots = root / "metrics", root / "plots"
    current = entries_mod.read_entry(metrics / "course_ex1.json", plots)
    record = json.loads((metrics / "course_ex1.json").read_text())
    (metrics / "details").mkdir()
    (metrics / "details" / "course_ex1.json").write_text(json.dumps(record))
    h = record["headline"]
    (metrics / "course_ex1.json").write_text(json.dumps(
        {"metric": h["metric"], "value": h["value"], "baseline": h["baseline"],
         "verdict": "worse"}))
    assert entries_mod.read_entry(metrics / "course_ex1.json", plots) == current
    (metrics / "details" / "course_ex1.json").rename(plots / "course_ex1" / "details.json")
    assert entries_mod.read_entry(metrics / "course_ex1.json", plots) == current
    assert len(entries_mod.load_entries(metrics, plots)) == 15  # details/ is not an entry
    (plots / "course_ex1" / "details.json").unlink()
    with pytest.raises(DataError, match="holds the headline only and its details are missing"):
        entries_mod.read_entry(metrics / "course_ex1.json", plots)


def test_a_failed_report_leaves_the_last_one_as_it_was(tmp_path, monkeypatch):
    from seqlab.report import figures

    root = write_project(tmp_path)
    (root / "reports").mkdir()
    (root / "reports" / "summary.md").write_text("the last report\n")

    def broken(fig, path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(figures, "save", broken)
    with pytest.raises(OSError):
        write_report(root / "reports", root / "metrics", root / "plots", None)
    assert [p.name for p in root.iterdir() if p.name.startswith(".reports")] == [
        ".reports.lock"]  # no half-written folder left beside it
    assert (root / "reports" / "summary.md").read_text() == "the last report\n"


def run_stage(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SEQLAB_ROOT": str(cwd)}
    return subprocess.run([sys.executable, "-m", "seqlab.stages.report", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.slow  # report stage processes
def test_stage_writes_the_report_and_a_malformed_file_is_one_error_line(tmp_path):
    root = write_project(tmp_path)
    done = run_stage("--metrics", "metrics", "--plots", "plots", "--params", "params.yaml",
                     "--out", "reports", cwd=root)
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and (root / "reports" / "summary.md").is_file()
    assert len(list((root / "reports" / "figures").glob("*.png"))) == 3
    (root / "metrics" / "course_ex2.json").write_text('{"headline": {"metric": ')
    failed = run_stage(cwd=root)  # the project's own paths
    assert failed.returncode == 2
    assert failed.stderr.strip().splitlines() == [
        f"seqlab: error: {root / 'metrics' / 'course_ex2.json'}: not valid JSON "
        "(Expecting value, line 1); rerun its evaluate stage (dvc repro evaluate)"]
    assert len(list((root / "reports" / "figures").glob("*.png"))) == 3  # the last stays


@pytest.mark.slow  # trainings into a store
def test_experiment_runs_are_reported_and_the_report_logged(tmp_path):
    """A sweep over seeds in MLflow answers the LSTM question; the report is logged."""
    from seqlab.report.summary import experiment_runs, log_report
    from seqlab.tracking.store import Tracking, init_store

    tracking = Tracking(uri=f"sqlite:///{tmp_path}/mlflow.db",
                        artifact_root=str(tmp_path / "mlartifacts"))
    experiment = init_store(tracking, ["many_to_one"])["many_to_one"]
    client = tracking.client()
    for preset, base in (("course_ex2", 0.93), ("course_ex2_fc", 0.80)):
        for seed in range(3):
            run = client.create_run(experiment, tags={
                "sweep.overrides": f"experiment={preset} seed={seed}", "seed": str(seed),
                "dataset": "digits_pixels", "headline.metric": "test/acc",
                "headline.higher_is_better": "true", "headline.baseline": "majority"})
            client.log_metric(run.info.run_id, "test/acc", base + seed / (100 if base > 0.9
                                                                             else 50))
            client.log_metric(run.info.run_id, "baseline/majority/acc", 0.1)
            client.set_terminated(run.info.run_id, "FINISHED")
    runs = experiment_runs(tracking, "many_to_one")
    assert len(runs) == 6
    with pytest.raises(ConfigError, match="no MLflow experiment 'nope'.*many_to_one"):
        experiment_runs(tracking, "nope")
    root = write_project(tmp_path / "project")
    logged = []
    write_report(root / "reports", root / "metrics", root / "plots", None, runs,
                 "many_to_one", log=lambda folder: logged.append(
                     log_report(tracking, folder, 15)))
    text = (root / "reports" / "summary.md").read_text()
    assert "## MLflow experiment `many_to_one`" in text
    assert "- Exercise 2, from the MLflow runs: **Yes.** The LSTM (experiment=course_ex2) " \
           "beats the fully connected net (experiment=course_ex2_fc)" in text
    assert (root / "reports" / "figures" / "mlflow_many_to_one.png").is_file()
    report_run = client.get_run(logged[0])
    assert report_run.info.run_name == "report" and report_run.info.status == "FINISHED"
    assert "summary.md" in {a.path for a in client.list_artifacts(logged[0])}
