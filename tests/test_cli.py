"""Commands as a user runs them: one-line errors, fast help, no Lightning where no training."""

from __future__ import annotations

import os

from tests.conftest import REPO, run_module


def _env_without_lightning(tmp_path) -> dict[str, str]:
    """An environment in which importing Lightning fails loudly."""
    for name in ("pytorch_lightning", "lightning"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(
            "raise ImportError('Lightning was imported by a command that does not train')\n")
    return {**os.environ, "PYTHONPATH": str(tmp_path)}


def test_help_and_config_printing_do_not_import_lightning(tmp_path):
    env = _env_without_lightning(tmp_path)
    shown = run_module("seqlab.train", "experiment=course_ex1", "--cfg", "job", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "hidden_size: 6" in shown.stdout
    helped = run_module("seqlab.train", "--help", env=env)
    assert helped.returncode == 0, helped.stderr
    assert "train and evaluate one model" in helped.stdout
    presets = next(line for line in helped.stdout.splitlines() if line.startswith("experiment:"))
    assert "course_ex1" in presets and "captions" in presets
    for module in ("seqlab.params", "seqlab.bench", "seqlab.stages.train"):
        assert run_module(module, "--help", env=env).returncode == 0


def test_config_error_is_one_line_and_exit_2():
    done = run_module("seqlab.train", "experiment=course_ex2", "model.cell=lstmm")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == ["seqlab: error: model.cell: 'lstmm' is not one of: rnn, lstm, gru"]
    assert "Traceback" not in done.stdout + done.stderr


def test_stage_with_unknown_entry_is_one_line():
    done = run_module("seqlab.stages.train", "nope", cwd=REPO)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("seqlab: error: no pipeline entry 'nope'")
    assert len(done.stderr.strip().splitlines()) == 1


def test_an_archetype_that_contradicts_the_data_is_one_line():
    done = run_module("seqlab.train", "experiment=course_ex1", "archetype=synchronous")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "seqlab: error: archetype: 'synchronous' contradicts the data: dataset 'elec_equip' "
        "is many_to_one; leave archetype unset (it follows from the dataset)"]
