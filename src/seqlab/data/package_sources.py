"""Sources that are installed packages whose functions generate data (num2words, babel).

Fetching such a source records the package's version in data/raw/<package>/package.json,
so DVC reruns the datasets generated from it when the package changes; preprocessing
checks that the installed version is still the recorded one.
"""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from seqlab.errors import DataError
from seqlab.layout import PACKAGE_FILE

PACKAGES = ("num2words", "babel")


def installed_version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        raise DataError(f"the package {package!r} is not installed; pip install {package}"
                        ) from None


def package_record(package: str) -> str:
    """The JSON text fetch writes for a package source."""
    return json.dumps({"package": package, "version": installed_version(package)}) + "\n"


def check_package(raw_dir: Path, package: str) -> str:
    """Check the raw folder records the installed version of `package`; return it."""
    path = Path(raw_dir) / PACKAGE_FILE
    if not path.is_file():
        raise DataError(f"{path} is missing; run the fetch stage (dvc repro) first")
    recorded = json.loads(path.read_text()).get("version")
    installed = installed_version(package)
    if recorded != installed:
        raise DataError(f"{path} records {package} {recorded} but {installed} is installed; "
                        "rerun the fetch stage (dvc repro) so the data match the package")
    return installed
