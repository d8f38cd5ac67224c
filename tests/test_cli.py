"""Commands as a user runs them: one-line errors, fast help, no Lightning where no training."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess

import pytest

from seqlab.errors import run_cli
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
    assert lines == ["seqlab: error: model.cell: 'lstmm' is not one of: rnn, lstm, gru, "
                     "transformer, tcn, fcn, resnet"]
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


def _one_error_line(done) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seqlab: error: "), done.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model=lstmm", "In 'train': Could not find 'model/lstmm' Available options in 'model': "
                        "captioner cnn fc frame_by_frame nbeats own rnn seq2seq tagger"),
        ("model.hiden_size=3", "Could not override 'model.hiden_size'. To append to your "
                               "config use +model.hiden_size=3 (Key 'hiden_size' is not in "
                               "struct)"),
        ("modl=rnn", "Could not override 'modl'."),
        ("model.cell=rnn,lstm", "Ambiguous value for argument 'model.cell=rnn,lstm'"),
    ],
)
def test_hydra_composition_errors_are_one_line_and_exit_2(override, message, tmp_path):
    # hydra.run.dir beside them (Hydra's own setting) keeps seqlab's one-line pre-check.
    line = _one_error_line(run_module("seqlab.train", "experiment=course_ex1", override,
                                      f"hydra.run.dir={tmp_path / 'run'}"))
    assert line.startswith(f"seqlab: error: {message}")


@pytest.mark.slow  # a train process per case
@pytest.mark.parametrize(
    ("override", "message"),
    [("optim.lr=nan", "optim.lr: must be a finite number, got nan"),
     ("dataset.test_fraction=inf", "dataset.test_fraction: must be a finite number, got inf"),
     ("seed=4294967296", "seed: must be at most 4294967295, got 4294967296")],
)
def test_impossible_numbers_are_one_line_and_exit_2(override, message):
    line = _one_error_line(run_module("seqlab.train", "experiment=course_ex1", override))
    assert line == f"seqlab: error: {message}"


@pytest.mark.slow  # a train process per case
@pytest.mark.parametrize(
    ("override", "message"),
    [("model.bidirectional=maybe", "model.bidirectional: expected true or false (bool), got "
                                   "'maybe'"),
     ("optim.batch_size=lots", "optim.batch_size: expected a whole number (int), got 'lots'"),
     ("optim.lr=fast", "optim.lr: expected a number (float), got 'fast'"),
     ("model.readout=first", "model.readout: 'first' is not one of: last, mean")],
)
def test_a_value_of_the_wrong_type_is_one_line_naming_the_key_and_its_type(override, message,
                                                                           tmp_path):
    """Typed keys no class check reads (a bool passed on to torch) included: never Hydra's
    HYDRA_FULL_ERROR traceback from the middle of a training."""
    done = run_module("seqlab.train", "experiment=course_ex1", override,
                      f"hydra.run.dir={tmp_path / 'run'}")
    assert _one_error_line(done) == f"seqlab: error: {message}"
    assert not (tmp_path / "run").exists()


def test_only_plain_single_runs_are_composed_before_hydra():
    from seqlab.train import single_run_overrides

    assert single_run_overrides(["model=rnn", "+x=1", "optim.lr=0.1"]) == [
        "model=rnn", "+x=1", "optim.lr=0.1"]
    assert single_run_overrides([]) == []
    # Hydra's own settings are Hydra's to check; the run's overrides beside them are ours.
    assert single_run_overrides(["hydra.run.dir=out", "hydra/launcher=basic",
                                 "model.hiden_size=3"]) == ["model.hiden_size=3"]
    for args in (["-m", "model.cell=rnn,lstm"], ["--multirun"], ["model=rnn", "--cfg", "job"],
                 ["--help"], ["~scheduler"], ["hydra.mode=MULTIRUN", "model.cell=rnn,lstm"],
                 ["hydra/sweeper=optuna"], ["--config-name", "pipeline"]):
        assert single_run_overrides(args) is None, args


def test_a_sweep_with_a_typo_is_still_hydra_s_to_report():
    done = run_module("seqlab.train", "-m", "model=lstmm")
    assert done.returncode == 1 and "Could not find 'model/lstmm'" in done.stderr


@pytest.mark.slow  # training processes
def test_an_unwritable_output_folder_is_one_line_and_exit_2(tmp_path):
    """The run's data cache under $SEQLAB_ROOT/data cannot be created."""
    root = tmp_path / "project"
    root.mkdir()
    if os.geteuid() != 0:
        (root / "data").mkdir(mode=0o500)  # read-only
    else:  # root ignores permissions; a file where a folder must go fails for root too
        (root / "data").write_text("not a folder\n")
    done = run_module("seqlab.train", "experiment=course_ex1", "tracking.enabled=false",
                      f"hydra.run.dir={tmp_path / 'run'}",
                      env={**os.environ, "SEQLAB_ROOT": str(root)})
    line = _one_error_line(done)
    reason = "Permission denied" if os.geteuid() != 0 else "Not a directory"
    assert line.startswith(f"seqlab: error: cannot write {root / 'data'}/"), line
    assert line.endswith(f": {reason}"), line


@pytest.mark.parametrize(
    ("code", "filename", "message"),
    [(errno.ENOSPC, "m/model.pt", "cannot write m/model.pt: No space left on device"),
     (errno.EROFS, "m/model.pt", "cannot write m/model.pt: Read-only file system"),
     (errno.ENOENT, "raw/x.csv", "cannot read raw/x.csv: No such file or directory"),
     (errno.EACCES, "new/file", "cannot write new/file: Permission denied")],
)
def test_file_errors_are_one_line_naming_the_file(capsys, code, filename, message):
    def fails() -> None:
        raise OSError(code, os.strerror(code), filename)

    with pytest.raises(SystemExit) as exited:
        run_cli(fails)
    assert exited.value.code == 2
    assert capsys.readouterr().err == f"seqlab: error: {message}\n"


def test_an_os_error_without_a_file_keeps_its_traceback():
    def fails() -> None:
        raise ConnectionResetError(errno.ECONNRESET, "reset by peer")

    with pytest.raises(ConnectionResetError):
        run_cli(fails)
    assert run_cli(lambda: 3) == 3


@pytest.mark.parametrize(("error", "line"), [
    (OSError(errno.ENOSPC, "No space left on device", "/data/metrics.json"),
     "cannot write /data/metrics.json: No space left on device"),
    (OSError(errno.ENOSPC, "No space left on device"),
     "cannot write in {out}: No space left on device; free some space or fix the folder's "
     "access"),
    (OSError(errno.EROFS, "Read-only file system"),
     "cannot write in {out}: Read-only file system; free some space or fix the folder's access"),
])
def test_an_oserror_is_one_line_with_or_without_a_file_name(tmp_path, monkeypatch, capsys,
                                                            error, line):
    from seqlab import errors

    monkeypatch.setattr(errors, "output_folder", [str(tmp_path / "out")])

    def fails() -> None:
        raise error

    with pytest.raises(SystemExit) as exited:
        run_cli(fails)
    assert exited.value.code == 2
    assert capsys.readouterr().err == f"seqlab: error: {line.format(out=tmp_path / 'out')}\n"


def test_a_command_that_fails_before_any_work_leaves_no_output_folder(tmp_path):
    out = tmp_path / "outputs" / "2026-01-02" / "10-00-00"
    done = run_module("seqlab.train", "dataset=csv_series", f"dataset.path={tmp_path}/no.csv",
                      "tracking.enabled=false", f"hydra.run.dir={out}")
    assert _one_error_line(done).startswith("seqlab: error: dataset.path: no file")
    assert not (tmp_path / "outputs" / "2026-01-02").exists()  # nor its empty date folder


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB filesystem of its own (tmpfs: mounting needs root, which CI machines have)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        message = f"cannot mount a small filesystem: {done.stderr.strip()}"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=True)


def _leave_free(disk, free: int) -> None:
    (disk / "fill").unlink(missing_ok=True)
    (disk / "fill").write_bytes(bytes(max(shutil.disk_usage(disk).free - free, 0)))


@pytest.mark.slow  # a full disk at each of a run's writes, a process each
def test_a_full_disk_is_one_line_at_every_write_of_a_run(small_disk):
    """Fill the run's disk so that it runs out at the config record, then a third and two
    thirds into what a whole run writes: each time one line naming the disk's trouble."""
    def train(out):
        # callbacks=last: no line saying what chooses the epoch (course_ex1 has no val
        # split); nonnegative=false: none saying its forecasts are clipped at 0
        return run_module("seqlab.train", "experiment=course_ex1", "optim.max_epochs=1",
                          "callbacks=last", "dataset.nonnegative=false",
                          "tracking.enabled=false", "trainer.progress_bar=false",
                          f"hydra.run.dir={out}", env={**os.environ, "OMP_NUM_THREADS": "1"})

    whole = train(small_disk / "whole")
    assert whole.returncode == 0, whole.stderr
    size = sum(p.stat().st_size for p in (small_disk / "whole").rglob("*") if p.is_file())
    shutil.rmtree(small_disk / "whole")
    for free in (0, size // 3, 2 * size // 3):
        _leave_free(small_disk, free)
        out = small_disk / f"free-{free}"
        line = _one_error_line(train(out))
        assert line.startswith(f"seqlab: error: cannot write {out}"), line
        assert "No space left on device" in line, line
        if free == 0:  # nothing written: no folder left behind
            assert not out.exists()
