"""Atomic outputs: the modes a plain mkdir/open would give, synced before they appear."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from seqlab.io import atomic_dir, atomic_write_text


@pytest.fixture(params=[0o022, 0o027, 0o002])
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_outputs_get_the_modes_of_mkdir_and_open(tmp_path, umask):
    plain_dir = tmp_path / "plain"
    plain_dir.mkdir()
    (plain_dir / "file.txt").write_text("x")

    with atomic_dir(tmp_path / "atomic") as tmp:
        (tmp / "file.txt").write_text("x")
    atomic_write_text(tmp_path / "atomic.txt", "x")

    assert mode(tmp_path / "atomic") == mode(plain_dir)
    assert mode(tmp_path / "atomic.txt") == mode(plain_dir / "file.txt")
    assert os.umask(umask) == umask  # reading the umask left it as it was


def test_a_failed_block_leaves_the_old_output_and_no_temporary_folder(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")

    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "new.txt").write_text("new")
        raise RuntimeError("the stage failed")

    assert [p.name for p in tmp_path.iterdir() if p.suffix != ".lock"] == ["out"]
    assert [p.name for p in target.iterdir()] == ["old.txt"]


def test_a_failed_write_leaves_no_temporary_file(tmp_path):
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(tmp_path / "out.txt", "\ud800")  # a lone surrogate: not encodable
    assert list(tmp_path.iterdir()) == []


def test_everything_is_synced_before_the_rename(tmp_path, monkeypatch):
    """Each file and folder of the output, then the parent once the rename is made."""
    events: list[tuple[str, str]] = []
    fsync, replace = os.fsync, os.replace

    def record_fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def record_replace(source, target) -> None:
        events.append(("replace", str(target)))
        replace(source, target)

    monkeypatch.setattr(os, "fsync", record_fsync)
    monkeypatch.setattr(os, "replace", record_replace)
    root = tmp_path.resolve()
    with atomic_dir(root / "out") as tmp:
        (tmp / "sub").mkdir()
        (tmp / "sub" / "a.txt").write_text("a")
        (tmp / "b.txt").write_text("b")
    written = [path for kind, path in events[:-2] if kind == "fsync"]
    synced = {Path(p).relative_to(Path(written[-1])).as_posix() for p in written}
    assert synced == {".", "sub", "sub/a.txt", "b.txt"}
    assert events[-2:] == [("replace", str(root / "out")), ("fsync", str(root))]

    events.clear()
    atomic_write_text(root / "out.txt", "x")
    assert [kind for kind, _ in events] == ["fsync", "replace", "fsync"]
    assert events[-1] == ("fsync", str(root))


def test_a_folder_another_run_is_writing_is_not_replaced(tmp_path):
    import multiprocessing

    from seqlab.errors import OutputBusy

    target = tmp_path / "model"
    ready, release = multiprocessing.Event(), multiprocessing.Event()

    def writer() -> None:  # another process, holding the folder open for writing
        with atomic_dir(target) as tmp:
            (tmp / "mine").write_text("other run")
            ready.set()
            release.wait(60)

    other = multiprocessing.get_context("fork").Process(target=writer)
    other.start()
    try:
        assert ready.wait(60)
        with pytest.raises(OutputBusy, match="another run is writing it"), atomic_dir(target):
            pass
    finally:
        release.set()
        other.join(60)
    assert (target / "mine").read_text() == "other run"  # the live run's output stands
    with atomic_dir(target) as tmp:  # once it has ended, the folder can be written again
        (tmp / "next").write_text("")
    assert (target / "next").exists()

