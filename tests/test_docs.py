"""The documentation site: messages that point to it name pages it has, its Results pages
follow the metrics files, its Reference follows conf/ and the tracking names, and the
strict build and a real browser find every page and the navigation."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.docs import reference, results

ROOT = Path(__file__).resolve().parents[1]
# How a message names a page of the site: "see docs: guides/own-model.md".
DOCS_PATH = re.compile(r"docs: ([\w./-]+\.md)")


def docs_paths() -> dict[str, list[str]]:
    """Every page path that src/ and conf/ name, and where each is named."""
    named: dict[str, list[str]] = {}
    for folder, pattern in (("src", "*.py"), ("conf", "*.yaml")):
        for path in sorted((ROOT / folder).rglob(pattern)):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                for page in DOCS_PATH.findall(line):
                    named.setdefault(page, []).append(f"{path.relative_to(ROOT)}:{number}")
    return named


def test_messages_name_pages_of_the_site_not_readme_sections():
    named = docs_paths()
    # The messages that send a user to the docs (a net of the wrong shape, a GPU missing,
    # a model folder without raw formats, params.yaml's header) are among them.
    assert {"guides/own-model.md", "guides/gpu.md", "extending/dataset-kind.md",
            "concepts/configuration.md"} <= set(named), named
    missing = {page: where for page, where in named.items() if not (ROOT / "docs" / page).is_file()}
    assert missing == {}, f"pages named in messages but not in docs/: {missing}"
    readme = [f"{p.relative_to(ROOT)}" for p in (ROOT / "src").rglob("*.py")
              if "README" in p.read_text()]
    assert readme == [], f"these still send users to the README: {readme}"


def test_the_results_page_follows_a_metrics_file(tmp_path):
    metrics = tmp_path / "metrics"
    shutil.copytree(ROOT / "metrics", metrics)
    before = results.results_page(metrics)
    summary = json.loads((metrics / "course_ex2.json").read_text())
    assert f"{summary['metric']} {summary['value']:.4g}" in before

    summary["value"] = 0.123456
    (metrics / "course_ex2.json").write_text(json.dumps(summary))
    after = results.results_page(metrics)

    assert after != before
    row = next(line for line in after.splitlines() if line.startswith("| [course_ex2]"))
    assert f"{summary['metric']} 0.1235" in row, row
    # Every entry of metrics/ has its row, and its own section of every figure.
    for path in sorted((ROOT / "metrics").glob("*.json")):
        assert f"| [{path.stem}](#{path.stem})" in after
        assert f"\n## {path.stem}\n" in after


def test_the_config_reference_lists_every_group_and_option():
    page = reference.config_page(ROOT / "conf")
    for folder in sorted(p for p in (ROOT / "conf").rglob("*") if p.is_dir()):
        options = sorted(folder.glob("*.yaml"))
        if not options:
            continue
        group = folder.relative_to(ROOT / "conf").as_posix()
        assert f"\n## {group}\n" in page, group
        for option in options:
            assert f'??? note "conf/{group}/{option.name}"' in page, option


def test_the_tracking_reference_names_every_tag_of_tagnames():
    from seqlab.tracking import tagnames

    page = reference.tracking_page(ROOT / "src")
    names = {v for k, v in vars(tagnames).items() if k.isupper() and isinstance(v, str)}
    assert len(names) > 30
    for name in names:
        assert f"| `{name}` |" in page, name
    assert "### What a run is" in page  # the module's own sections


def test_the_tasks_reference_is_the_registry():
    from seqlab.tasks import TASKS

    page = reference.tasks_page(ROOT / "src")
    for name, task in TASKS.items():
        assert f"| `{name}` |" in page
        row = next(line for line in page.splitlines() if line.startswith(f"| `{name}` |"))
        assert f"`{task.headline}`" in row, row


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site built strict from this checkout, into a temporary folder."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}
    built = subprocess.run(
        [str(Path(sys.executable).parent / "mkdocs"), "build", "--strict", "--site-dir",
         str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    return out


def page_file(site: Path, page: str) -> Path:
    """Where the built site keeps the page of a docs path (directory URLs)."""
    stem = page.removesuffix(".md")
    return site / (stem.removesuffix("index") if stem.endswith("index") else stem + "/") \
        / "index.html"


@pytest.mark.slow
def test_the_site_builds_strict_with_every_section_and_every_named_page(site):
    for page in docs_paths():
        assert page_file(site, page).is_file(), page
    for section in ("getting-started.md", "concepts/archetypes.md", "guides/experiments.md",
                    "extending/dataset-kind.md", "results/index.md", "results/report.md",
                    "results/bench.md", "results/compare.md", "design/bench.md",
                    "reference/config.md", "reference/commands.md", "reference/tracking.md",
                    "reference/api/seqlab/index.md"):
        assert page_file(site, section).is_file(), section
    # The Results page is the committed metrics/, the Commands page each --help.
    value = json.loads((ROOT / "metrics" / "course_ex1.json").read_text())["value"]
    assert f"{value:.4g}" in page_file(site, "results/index.md").read_text()
    commands = page_file(site, "reference/commands.md").read_text()
    assert "usage: python -m seqlab.predict" in commands
    assert "== Configuration groups ==" in commands  # seqlab.train's Hydra help


def docs_check():
    spec = importlib.util.spec_from_file_location("docs_check",
                                                  ROOT / "scripts" / "docs_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_a_browser_finds_the_headings_and_the_navigation(site, tmp_path):
    check = docs_check()
    assert check.browser_path(), check.MISSING  # .ci/run installs it: never a skip

    found = check.check_site(site, tmp_path)

    assert check.problems(found) == []
    for name in check.SHOTS.values():
        assert (tmp_path / name).stat().st_size > 10_000


def test_the_browser_check_fails_on_what_a_reader_would_miss():
    check = docs_check()
    found = check.Findings(headings={"": "seqlab", "guides/own-model/": "404"},
                           tabs={"": ["Home"], "guides/own-model/": check.SECTIONS},
                           sidebar={"": [], "guides/own-model/": []})
    wrong = check.problems(found)
    assert len(wrong) == 3, wrong


def test_the_project_map_names_only_what_is_there():
    """Every module and folder docs/concepts/layout.md places under src/seqlab/ is there
    (the README once placed five of them under src/hydra_plugins/)."""
    page = (ROOT / "docs" / "concepts" / "layout.md").read_text()
    block = page.split("src/seqlab/\n", 1)[1].split("src/hydra_plugins/", 1)[0]
    named = [name for line in block.splitlines()
             for name in re.findall(r"^  ([\w]+(?:\.py|/))", line)]
    named += re.findall(r"^  [\w]+\.py, ([\w]+\.py)", block, flags=re.M)
    assert len(named) > 25, named
    missing = [name for name in named if not (ROOT / "src" / "seqlab" / name).exists()]
    assert missing == [], missing
