"""Check the built documentation site in a real browser, and keep its picture in docs/.

Serves a built site (`make docs` writes site/) on loopback and has headless chromium open
its home page and one guide, as scripts/ui_check.py opens the MLflow UI: each page must
show its heading and the site's navigation (the tabs of every section). Writes
docs/docs-site.png (the home page) and docs/docs-guide.png (the guide).
tests/test_docs.py runs the same check on a site it builds. Needs chromium (`apt-get
install chromium`; .ci/run installs it); `make docs-check` runs it.

    .venv/bin/python scripts/docs_check.py [--site site] [--out-dir docs]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import http.server
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scripts.screenshot_ui import free_port, stop, wait_for  # noqa: E402
from scripts.ui_check import (  # noqa: E402
    BROWSER_FLAGS,
    HEIGHT,
    MISSING,
    WIDTH,
    browser_path,
    conclude,
    first_page,
)

# What a reader must find: each page's heading, and the tabs of the site's sections.
PAGES = {"": "seqlab", "guides/own-model/": "Your own model"}
SECTIONS = ["Getting started", "Concepts", "Guides", "Extending", "Results",
            "Design and performance", "Reference"]
SHOTS = {"": "docs-site.png", "guides/own-model/": "docs-guide.png"}


@dataclass
class Findings:
    """What the browser showed on each page (by its path in the site)."""

    headings: dict[str, str] = field(default_factory=dict)  # the page's h1
    tabs: dict[str, list[str]] = field(default_factory=dict)  # the navigation tabs in view
    sidebar: dict[str, list[str]] = field(default_factory=dict)  # the navigation's links


VISIBLE_TEXT = """(selector) => [...document.querySelectorAll(selector)].filter(e => {
  const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0;
}).map(e => e.innerText.trim()).filter(t => t)"""
# The page's h1 as a reader sees it: without the permalink sign beside it.
HEADING = """(() => { const h = document.querySelector('article h1'); if (!h) return '';
  const c = h.cloneNode(true); c.querySelectorAll('.headerlink').forEach(a => a.remove());
  return c.innerText.trim(); })()"""


@contextmanager
def served(site: Path) -> Iterator[str]:
    """The built site on loopback, as a web server gives it: its base URL."""
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
        pass  # a line per request would bury the check's own output


@contextmanager
def browser() -> Iterator[str]:
    """A headless chromium with an empty profile: its DevTools URL."""
    path = browser_path()
    if path is None:
        raise AssertionError(MISSING)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="docs-profile-") as profile:
        process = subprocess.Popen(
            [path, *BROWSER_FLAGS, f"--window-size={WIDTH},{HEIGHT}",
             f"--remote-debugging-port={port}", f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            devtools = f"http://127.0.0.1:{port}"
            wait_for(f"{devtools}/json/version", process)
            yield devtools
        finally:
            stop(process)


async def look(devtools: str, base: str, shots: Path) -> Findings:
    import aiohttp

    found = Findings()
    async with aiohttp.ClientSession() as session, first_page(session, devtools) as page:
        for path, heading in PAGES.items():
            await page.open(f"{base}/{path}", heading)
            found.headings[path] = await page.js(HEADING)
            found.tabs[path] = await page.js(f"({VISIBLE_TEXT})('.md-tabs__link')")
            found.sidebar[path] = await page.js(
                "[...document.querySelectorAll('.md-nav--primary .md-nav__link')]"
                ".map(e => e.innerText.trim()).filter(t => t)")
            await page.screenshot(shots / SHOTS[path])
    return found


def check_site(site: Path, shots: Path) -> Findings:
    """What a browser shows of the built site `site`; screenshots into `shots`."""
    with served(site) as base, browser() as devtools:
        return asyncio.run(look(devtools, base, shots))


def problems(found: Findings) -> list[str]:
    """What a reader would miss, in words; none when each page shows its heading and
    the navigation."""
    wrong = []
    for path, heading in PAGES.items():
        if found.headings.get(path) != heading:
            wrong.append(f"/{path}: heading {found.headings.get(path)!r}, not {heading!r}")
        missing = [s for s in SECTIONS if s not in found.tabs.get(path, [])]
        if missing:
            wrong.append(f"/{path}: the navigation tabs lack {missing} "
                         f"(found {found.tabs.get(path)})")
        if heading not in found.sidebar.get(path, []) and path:
            wrong.append(f"/{path}: the page is not in the side navigation")
    return wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    if not (args.site / "index.html").exists():
        sys.exit(f"docs-check: no site in {args.site}: run `make docs` first")
    with tempfile.TemporaryDirectory(prefix="seqlab-docs-") as tmp:
        found = check_site(args.site, Path(tmp))
        for name in SHOTS.values():
            shutil.copy(Path(tmp) / name, args.out_dir / name)
    conclude("docs-check", problems(found), args.out_dir)


if __name__ == "__main__":
    main()
