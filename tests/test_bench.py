"""`make bench` on a tiny setting: both workloads, both paths, the same test metrics."""

from __future__ import annotations

import os

import pytest

from seqlab import bench
from seqlab.errors import SeqlabError
from tests.conftest import run_module

# The slow tier: timed trainings, repeated.
pytestmark = pytest.mark.slow


def test_bench_times_both_workloads_and_ends_with_their_ratios(tmp_path):
    saved = tmp_path / "bench.txt"
    done = run_module("seqlab.bench", "course_ex1", "course_ex2", "--set", "optim.max_epochs=1",
                      "--repeat", "2",
                      "--save", str(saved), env={**os.environ, "SEQLAB_ROOT": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines[-2:]] == ["ratio course_ex1", "ratio course_ex2"]
    assert all(float(line.split(": ")[1]) > 0 for line in lines[-2:])
    assert saved.read_text().strip().splitlines()[-2:] == lines[-2:]
    assert "best of 2 runs" in saved.read_text().splitlines()[0]


def test_paths_that_train_differently_fail_loudly(tmp_path, monkeypatch, one_thread):
    monkeypatch.setenv("SEQLAB_ROOT", str(tmp_path))
    plain = bench.plain_loop

    def off_by_a_step(cfg, data_dir):  # one more epoch than seqlab trains
        cfg.optim.max_epochs += 1
        return plain(cfg, data_dir)

    row = bench.compare("course_ex1", ["optim.max_epochs=2"])
    assert row["metrics"] and row["plain"] > 0
    monkeypatch.setattr(bench, "plain_loop", off_by_a_step)
    with pytest.raises(SeqlabError, match="seqlab and the plain loop reach different"):
        bench.compare("course_ex1", ["optim.max_epochs=2"])


def test_the_step_profile_breaks_one_training_down_per_optimiser_step(tmp_path):
    done = run_module("seqlab.profile", "steps", "course_ex2", "--set", "optim.max_epochs=2",
                      env={**os.environ, "SEQLAB_ROOT": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    steps = int(lines[0].split(" = ")[1].split()[0])
    assert lines[0].startswith("course_ex2: 2 epochs x ") and steps > 2
    calls = {line[:58].strip(): line[58:].split() for line in lines if line[:58].strip()}
    assert float(calls["plain PyTorch loop"][0]) > 0
    assert any(line.startswith("ratio course_ex2: ") for line in lines)
    # Every step's actions once per step, the epoch's once per epoch (validation each).
    for action in ("forward and loss (training_step)", "zero_grad and backward (Fabric)",
                   "clipping, optimiser step, schedule (Fabric)", "progress bar"):
        assert int(calls[action][2]) == steps, action
    assert int(calls["validation"][2]) == 2
    assert int(calls["callbacks: best weights, early stop, resume point, report"][2]) == 2
