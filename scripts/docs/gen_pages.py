"""mkdocs-gen-files' script (mkdocs.yml): the generated pages of the site, written into
the build only (never into docs/), from the files the project keeps."""

from __future__ import annotations

import sys
from pathlib import Path

import mkdocs_gen_files

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # mkdocs runs this file as a script, not as scripts.docs
from scripts.docs import api, reference, results  # noqa: E402


def write(path: str, text: str) -> None:
    with mkdocs_gen_files.open(path, "w") as page:
        page.write(text)


write("results/index.md", results.results_page(ROOT / "metrics"))
write("results/report.md", results.report_page(ROOT / "reports"))
write("results/compare.md", results.compare_page(ROOT / "compare" / "results.md"))
write("results/bench.md", results.bench_page(ROOT / "docs" / "bench.txt"))
# The report's figures, beside its page, as its links expect them.
for figure in sorted((ROOT / "reports" / "figures").glob("*.png")):
    with mkdocs_gen_files.open(f"results/figures/{figure.name}", "wb") as out:
        out.write(figure.read_bytes())

write("reference/config.md", reference.config_page(ROOT / "conf"))
write("reference/commands.md", reference.commands_page(ROOT))
write("reference/tracking.md", reference.tracking_page(ROOT / "src"))
write("reference/tasks.md", reference.tasks_page(ROOT / "src"))
for path, text in api.api_pages(ROOT / "src").items():
    write(f"reference/api/{path}", text)
