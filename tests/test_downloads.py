"""Remote files through a real HTTP server on 127.0.0.1: cached no-op, checksum mismatch,
truncated download, server down, a file placed by hand, unsafe archives."""

from __future__ import annotations

import io
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from seqlab.data.downloads import MIRROR_VARIABLE, Remote, download, extract
from seqlab.errors import DataError
from tests.conftest import sha256

CONTENT = b"date,value\n" + b"".join(f"2000-{m:02d}-01,{m}\n".encode() for m in range(1, 13))


@pytest.fixture
def server(server):
    """The shared test server (conftest), serving series.csv."""
    (server[1] / "series.csv").write_bytes(CONTENT)
    return server


def test_a_good_download_is_kept_and_not_fetched_again(server, tmp_path):
    url, _ = server
    remote = Remote(f"{url}/series.csv", sha256(CONTENT))
    path = download("toy", remote, tmp_path / "downloads")
    assert path.read_bytes() == CONTENT and len(server.requests) == 1
    assert download("toy", remote, tmp_path / "downloads") == path
    assert len(server.requests) == 1  # the cached copy was checked, not fetched again


def test_the_mirror_variable_replaces_the_host(server, tmp_path, monkeypatch):
    url, _ = server
    monkeypatch.setenv(MIRROR_VARIABLE, url)
    remote = Remote("https://unreachable.invalid/data/series.csv", sha256(CONTENT))
    assert download("toy", remote, tmp_path).read_bytes() == CONTENT
    assert server.requests == ["/series.csv"]


def test_a_checksum_mismatch_names_both_hashes_and_keeps_nothing(server, tmp_path):
    url, _ = server
    wrong = "sha256:" + "0" * 64
    with pytest.raises(DataError, match=f"toy: the download of series.csv from {url}/series.csv "
                       f"does not match its checksum: expected {wrong}, got "
                       f"{sha256(CONTENT)}; the bad download was removed"):
        download("toy", Remote(f"{url}/series.csv", wrong), tmp_path / "dl")
    assert list((tmp_path / "dl").iterdir()) == []


def test_a_truncated_download_never_counts_as_done(server, tmp_path):
    url, _ = server
    with pytest.raises(DataError, match="toy: "):
        download("toy", Remote(f"{url}/truncated/series.csv", sha256(CONTENT)),
                 tmp_path / "dl")
    assert list((tmp_path / "dl").iterdir()) == []


def test_no_server_fails_in_seconds_naming_the_url_and_the_hand_placed_path(tmp_path):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/series.csv"
    started = time.monotonic()
    with pytest.raises(DataError, match=f"toy: cannot download {url} .*; without network, "
                       f"place the file at {tmp_path / 'series.csv'}") as caught:
        download("toy", Remote(url, sha256(CONTENT)), tmp_path)
    assert time.monotonic() - started < 15 and "\n" not in str(caught.value)


def test_a_file_placed_by_hand_is_checked_and_used(tmp_path):
    remote = Remote("http://127.0.0.1:9/series.csv", sha256(CONTENT))
    (tmp_path / "series.csv").write_bytes(CONTENT)
    assert download("toy", remote, tmp_path).read_bytes() == CONTENT  # no request made
    (tmp_path / "series.csv").write_bytes(CONTENT + b"2001-01-01,13\n")
    with pytest.raises(DataError, match="does not match its checksum: expected"):
        download("toy", remote, tmp_path)
    assert (tmp_path / "series.csv").exists()  # a file placed by hand is not deleted


def tar_with(tmp_path: Path, name: str, member: tarfile.TarInfo, data: bytes = b"") -> Path:
    path = tmp_path / name
    with tarfile.open(path, "w:gz") as archive:
        archive.addfile(member, io.BytesIO(data) if data else None)
    return path


def test_a_tar_member_outside_the_folder_is_refused(tmp_path):
    member = tarfile.TarInfo("../escaped.txt")
    member.size = 3
    archive = tar_with(tmp_path, "bad.tar.gz", member, b"bad")
    with pytest.raises(DataError, match="bad.tar.gz: .*unsafe to extract"):
        extract(archive, tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists()


def test_a_tar_link_out_of_the_folder_is_refused(tmp_path):
    member = tarfile.TarInfo("aclImdb/link")
    member.type, member.linkname = tarfile.SYMTYPE, "/etc/passwd"
    archive = tar_with(tmp_path, "link.tar.gz", member)
    with pytest.raises(DataError, match="link.tar.gz: .*unsafe to extract"):
        extract(archive, tmp_path / "out")


def test_a_zip_member_outside_the_folder_is_refused_and_a_good_one_extracts(tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("../escaped.txt", "bad")
    with pytest.raises(DataError, match="member '../escaped.txt' would land outside"):
        extract(bad, tmp_path / "out")
    good = tmp_path / "fra-eng.zip"
    with zipfile.ZipFile(good, "w") as archive:
        archive.writestr("fra.txt", "Go.\tVa !\n")
    assert (extract(good, tmp_path / "pairs") / "fra.txt").read_text() == "Go.\tVa !\n"


def cansim_csv(months: int = 313) -> bytes:
    """A file in the layout of Statistics Canada's table 080-0020 CSV: 6 lines of title and
    notes, the header, a row a month from Jan-1991, 9 lines of footnotes (329 lines)."""
    import numpy as np
    import pandas as pd

    dates = pd.date_range("1991-01-01", periods=months, freq="MS")
    t = np.arange(months)
    values = 15e6 + 4e4 * t + 2e6 * np.sin(2 * np.pi * t / 12)  # trend and a yearly season
    head = ['"Table 080-0020 Retail trade, sales by the North American Industry '
            'Classification System (NAICS), monthly (dollars)(1,2)"',
            '"Survey or program details:"', '"Retail Trade Survey (Monthly) - 2406"',
            '"Geography=Canada"', '"North American Industry Classification System (NAICS)='
            'Retail trade [44-453]"', ""]
    rows = ["Adjustments,Unadjusted,Seasonally adjusted"] + [
        f"{d:%b-%Y},{v:.0f},{v * 0.99:.0f}" for d, v in zip(dates, values, strict=True)]
    foot = ['"Symbol legend:"', '"..", "not available for a specific reference period"',
            '"x", "suppressed to meet the confidentiality requirements"', "",
            '"Footnotes:"', '"1","Sales are expressed in dollars."',
            '"2","Data are from the Monthly Retail Trade Survey."', "",
            '"How to cite: Statistics Canada. Table 080-0020"']
    return ("\n".join(head + rows + foot) + "\n").encode()


def test_course_ex1_retail_trains_from_the_fetched_csv(server, tmp_path, monkeypatch, run):
    """The retail preset fetches its CSV (here from the test server, as a mirror), reads
    the CANSIM layout and trains and scores the course's Exercise 1."""
    from dataclasses import replace

    from seqlab.data import sources
    from tests.conftest import tiny

    url, served = server
    content = cansim_csv()
    assert len(content.decode().splitlines()) == 329
    name = sources.REMOTE_SERIES["retail_sales"].remote.file_name
    (served / name).write_bytes(content)
    monkeypatch.setenv(MIRROR_VARIABLE, url)
    source = sources.REMOTE_SERIES["retail_sales"]
    # The pinned checksum is the real file's; this one is built by the test.
    monkeypatch.setitem(sources.REMOTE_SERIES, "retail_sales", replace(
        source, remote=replace(source.remote, checksum=sha256(content))))
    result = run(tiny("experiment=course_ex1_retail", "optim.max_epochs=3"), tmp_path / "run")
    assert server.requests == [f"/{name}"]
    assert result["dataset"] == "retail_sales" and result["headline"]["metric"] == "test/mase"
    assert set(result["baselines"]) == {"naive", "seasonal_naive", "holt_winters",
                                        "ridge_window", "auto_ets"}
    assert result["selection"]["metric"] == "val/mse"  # the preset keeps a validation split


def test_a_file_that_is_not_a_cansim_table_is_one_line(tmp_path):
    from seqlab.data.sources import read_cansim

    (tmp_path / "a.csv").write_bytes(cansim_csv().replace(b"Adjustments,", b"Month,"))
    with pytest.raises(DataError, match="expected the columns Adjustments and Unadjusted; "
                       "found Month, Unadjusted"):
        read_cansim(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_bytes(cansim_csv().replace(b"Mar-1991", b"March 1991"))
    with pytest.raises(DataError, match="line 10 has no Mon-YYYY date: 'March 1991'"):
        read_cansim(tmp_path / "b.csv")


def test_a_file_without_a_published_checksum_is_pinned_at_its_first_fetch(server, tmp_path):
    url, served = server
    remote = Remote(f"{url}/series.csv", None)
    path = download("toy", remote, tmp_path / "dl")
    assert (tmp_path / "dl" / "series.csv.sha256").read_text().strip() == sha256(CONTENT)
    assert download("toy", remote, tmp_path / "dl") == path and len(server.requests) == 1
    path.write_bytes(CONTENT + b"2001-01-01,13\n")  # changed after it was pinned
    with pytest.raises(DataError, match=f"does not match its checksum: expected {sha256(CONTENT)}"):
        download("toy", remote, tmp_path / "dl")


def test_extract_writes_only_the_kept_members_but_checks_them_all(tmp_path):
    good = tmp_path / "reviews.tar.gz"
    with tarfile.open(good, "w:gz") as archive:
        for name in ("aclImdb/train/pos/1_9.txt", "aclImdb/train/unsup/2_0.txt"):
            member = tarfile.TarInfo(name)
            member.size = 2
            archive.addfile(member, io.BytesIO(b"ok"))
    out = extract(good, tmp_path / "out", keep=lambda name: "/unsup/" not in name)
    assert [p.name for p in out.rglob("*.txt")] == ["1_9.txt"]
    link = tarfile.TarInfo("aclImdb/train/unsup/link")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    bad = tar_with(tmp_path, "bad.tar.gz", link)
    with pytest.raises(DataError, match="unsafe to extract"):  # skipped, yet refused
        extract(bad, tmp_path / "out2", keep=lambda name: "/unsup/" not in name)


def test_without_network_a_dataset_names_every_missing_file_and_its_url(tmp_path):
    """One line, whole: every file still missing (a file placed by hand is not), each with
    its URL, and the folder where files placed by hand are used."""
    import socket

    from seqlab.data.downloads import download_all

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    remotes = [Remote(f"http://127.0.0.1:{port}/{name}", sha256(CONTENT))
               for name in ("train.conllu", "dev.conllu", "test.conllu")]
    (tmp_path / "dev.conllu").write_bytes(CONTENT)  # placed by hand: checked and used
    with pytest.raises(DataError) as caught:
        download_all("ud_toy", remotes, tmp_path)
    assert str(caught.value) == (
        f"ud_toy: cannot download http://127.0.0.1:{port}/train.conllu (connection refused); "
        f"without network, place its 2 missing files in {tmp_path}: train.conllu (from "
        f"http://127.0.0.1:{port}/train.conllu), test.conllu (from "
        f"http://127.0.0.1:{port}/test.conllu)")
