"""Remote data files: downloaded once, checked against a pinned checksum, extracted safely.

A remote file is downloaded from its canonical URL, or from `$SEQLAB_DATA_MIRROR/<file
name>` when that variable is set (an internal mirror on an air-gapped cluster; the tests'
server), into the downloads folder (data/downloads/). A file already there, downloaded
before or placed by hand, is checked and used without any request. The download goes to
a temporary name and is renamed only once its checksum matches, so a partial or corrupt
download never counts as done. pooch does the HTTP (streaming, progress bar, timeouts)
and the hashing.
"""

from __future__ import annotations

import os
import sys
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from seqlab.errors import DataError

MIRROR_VARIABLE = "SEQLAB_DATA_MIRROR"
TIMEOUT_S = 10  # per connection attempt and per read: no network fails in seconds


@dataclass(frozen=True)
class Remote:
    """A file on the web and its pinned checksum (`sha256:<hex>`, `md5:<hex>`, ...).

    A file with no published checksum (`checksum=None`) is pinned at its first fetch:
    its sha256 is written beside it (`<file>.sha256`) and every later use is checked
    against that.
    """

    url: str
    checksum: str | None

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    def source_url(self) -> str:
        """Where to download it from: the mirror when $SEQLAB_DATA_MIRROR is set."""
        mirror = os.environ.get(MIRROR_VARIABLE)
        return f"{mirror.rstrip('/')}/{self.file_name}" if mirror else self.url


def _hash(path: Path, checksum: str) -> str:
    import pooch

    algorithm = checksum.split(":", 1)[0]
    return f"{algorithm}:{pooch.file_hash(str(path), alg=algorithm)}"


def download(name: str, remote: Remote, folder: Path) -> Path:
    """The checked local copy of `remote` in `folder`, downloaded if it is not there.

    `name` (the dataset or source) heads every error, which is one line that says what
    to do: a checksum mismatch names the file and both hashes; no network names the URL
    and where a file placed by hand is picked up.
    """
    folder = Path(folder)
    target = folder / remote.file_name
    pin = folder / f"{remote.file_name}.sha256"
    if remote.checksum is None and pin.is_file():
        remote = Remote(remote.url, pin.read_text().strip())
    if target.is_file():  # downloaded before, or placed by hand
        if remote.checksum is None:
            return _pin(name, target, pin)
        found = _hash(target, remote.checksum)
        if found != remote.checksum:
            raise DataError(f"{name}: {target} does not match its checksum: expected "
                            f"{remote.checksum}, found {found}; delete it to download it "
                            "again, or place the right file there")
        return target
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{remote.file_name}.partial"
    url = remote.source_url()
    try:
        _fetch(name, url, partial, target)
        if remote.checksum is None:
            os.replace(partial, target)
            return _pin(name, target, pin)
        found = _hash(partial, remote.checksum)
        if found != remote.checksum:
            raise DataError(f"{name}: the download of {remote.file_name} from {url} does not "
                            f"match its checksum: expected {remote.checksum}, got {found}; "
                            "the bad download was removed")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _pin(name: str, target: Path, pin: Path) -> Path:
    """Record the sha256 of a file that has no published checksum (trust on first use)."""
    checksum = _hash(target, "sha256")
    pin.write_text(checksum + "\n")
    print(f"{name}: {target.name} has no published checksum; pinned {checksum} in {pin}",
          file=sys.stderr)
    return target


class Offline(DataError):
    """A download the network refused; says where a file placed by hand is picked up."""

    def __init__(self, name: str, url: str, reason: str, target: Path) -> None:
        super().__init__(f"{name}: cannot download {url} ({reason}); without network, place "
                         f"the file at {target}")
        self.name, self.url, self.reason = name, url, reason


# How a failed request reads, and what the one line says of it (requests' own text runs
# to several hundred characters of nested exception reprs).
NETWORK_FAILURES = (("Connection refused", "connection refused"),
                    ("Name or service not known", "unknown host"),
                    ("Temporary failure in name resolution", "no name resolution"),
                    ("timed out", "timed out"), ("Network is unreachable", "no network"))


def _fetch(name: str, url: str, path: Path, target: Path) -> None:
    """Download `url` to `path`; a network failure is one line naming where a file placed
    by hand (`target`) is picked up."""
    import pooch
    import requests

    downloader = pooch.HTTPDownloader(progressbar=sys.stderr.isatty(), timeout=TIMEOUT_S)
    try:
        downloader(url, str(path), None)
    except requests.RequestException as error:
        text = " ".join(str(error).split())
        reason = next((said for found, said in NETWORK_FAILURES if found in text),
                      type(error).__name__)
        raise Offline(name, url, reason, target) from None


def download_all(name: str, remotes: list[Remote], folder: Path) -> list[Path]:
    """download() each of a dataset's files; without network, one line naming every file
    still missing, each with its URL, and the folder where files placed by hand are used."""
    try:
        return [download(name, remote, folder) for remote in remotes]
    except Offline as offline:
        missing = [r for r in remotes if not (Path(folder) / r.file_name).is_file()]
        raise DataError(
            f"{name}: cannot download {offline.url} ({offline.reason}); without network, "
            f"place its {len(missing)} missing file{'s' if len(missing) > 1 else ''} in "
            f"{folder}: " + ", ".join(f"{r.file_name} (from {r.url})" for r in missing)
        ) from None


def extract(archive: Path, folder: Path, keep: Callable[[str], bool] | None = None) -> Path:
    """Unpack a .tar(.gz) or .zip into `folder`; a member that would land outside it, or
    a link that points out of it, is an error naming the member. With `keep`, only the
    members whose names it accepts are written (every member is still checked)."""
    archive, folder = Path(archive), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zipped:
            root = folder.resolve()
            for member in zipped.namelist():
                if not (root / member).resolve().is_relative_to(root):
                    raise DataError(f"{archive.name}: member {member!r} would land outside "
                                    f"{folder}; the archive is unsafe to extract")
            zipped.extractall(folder, [m for m in zipped.namelist() if keep is None or keep(m)])
        return folder
    try:
        with tarfile.open(archive) as tarred:
            members = tarred.getmembers()
            for member in members:  # refuse an unsafe archive, kept members or not
                tarfile.data_filter(member, str(folder))
            # The "data" filter refuses absolute names, "..", and links out of the folder.
            tarred.extractall(folder, [m for m in members if keep is None or keep(m.name)],
                              filter="data")
    except tarfile.FilterError as error:
        raise DataError(f"{archive.name}: {error}; the archive is unsafe to extract") from None
    except tarfile.TarError as error:
        raise DataError(f"{archive.name}: not a readable tar or zip archive ({error})") from None
    return folder
