"""The Python API pages: one page per module of src/seqlab, its docstrings rendered by
mkdocstrings, and the navigation over them (a SUMMARY.md for mkdocs-literate-nav)."""

from __future__ import annotations

from pathlib import Path

PACKAGES = ("seqlab",)


def modules(src: Path) -> list[tuple[str, ...]]:
    """The dotted parts of every module under `src` in PACKAGES, packages as their
    `__init__`, `__main__` left out (a command: the Commands page shows its --help)."""
    found = []
    for package in PACKAGES:
        for path in sorted((src / package).rglob("*.py")):
            parts = path.relative_to(src).with_suffix("").parts
            if parts[-1] == "__main__":
                continue
            found.append(parts[:-1] if parts[-1] == "__init__" else parts)
    return sorted(found)


def api_pages(src: Path) -> dict[str, str]:
    """Page path (under reference/api/) -> its Markdown, SUMMARY.md included."""
    pages, summary = {}, []
    for parts in modules(src):
        name = ".".join(parts)
        page = "/".join(parts) + ("/index.md" if (src.joinpath(*parts)).is_dir() else ".md")
        pages[page] = f"::: {name}\n"
        summary.append(f"{'    ' * (len(parts) - 1)}* [{parts[-1]}]({page})")
    pages["SUMMARY.md"] = "\n".join(summary) + "\n"
    return pages
