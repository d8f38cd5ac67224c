"""Check the MLflow UI a user opens, in a real browser, and keep its picture in docs/.

Trains a forecasting preset (course_ex1, LSTM and GRU, a few epochs) into a temporary
store, serves the UI on loopback and has headless chromium open the archetype's runs as
a new user would (an empty browser profile): the run names must tell the runs apart; in
the runs table, the one column set "Metrics" must be a few dozen columns, the headline
among them; the chart view must be a few sections, the learning curves one of them, not
one per series, step ahead, fold or baseline. MLflow orders both by metric name (the
columns alphabetically, the sections by the name's prefix), so `baseline/...` and
`selected/...` come before `test/...` and `train/...`. Writes docs/mlflow-ui.png (the
table) and docs/mlflow-ui-charts.png (the chart view). tests/test_mlflow_ui.py runs the
same check. Needs chromium (`apt-get install chromium`; .ci/run installs it); `make
ui-check` runs it.

    .venv/bin/python scripts/ui_check.py [--epochs 3] [--out-dir docs]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scripts.screenshot_ui import SETTINGS, free_port, shrink, stop, wait_for  # noqa: E402

WIDTH, HEIGHT = 1600, 900
# The network is closed here: a browser that phones home waits for it (QUIC, updates,
# sync), and a first run asks questions. A new empty profile each time: a new user.
BROWSER_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--hide-scrollbars")
MISSING = ("chromium is not installed: the MLflow UI check needs a real browser "
           "(apt-get install -y chromium; .ci/run installs it)")
WAIT_S = 120  # the UI's first page load on a busy 2-core machine took 45 s


def browser_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Findings:
    """What the browser showed."""

    run_names: list[str] = field(default_factory=list)  # as the table shows them
    columns_before: list[str] = field(default_factory=list)  # the table's headers, unchosen
    column_sets: list[str] = field(default_factory=list)  # the column sets chosen
    columns: list[str] = field(default_factory=list)  # the headers in view after choosing
    rendered: list[str] = field(default_factory=list)  # the headers the table drew (in DOM)
    sections: dict[str, int] = field(default_factory=dict)  # the chart view's, in order:
    # each section (a metric prefix) and its number of charts


class Page:
    """A browser tab, driven through chromium's DevTools protocol (aiohttp's websocket:
    MLflow installs aiohttp, so no browser driver package is needed)."""

    def __init__(self, ws: Any) -> None:
        self.ws, self.ids = ws, iter(range(1, 10**9))

    async def call(self, method: str, **params: object) -> dict:
        number = next(self.ids)
        await self.ws.send_json({"id": number, "method": method, "params": params})
        while True:  # skip the events the browser sends in between
            message = await self.ws.receive_json()
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    async def js(self, expression: str) -> Any:
        found = await self.call("Runtime.evaluate", expression=expression,
                                returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in found:
            raise RuntimeError(f"{expression[:80]}: {found['exceptionDetails']}")
        return found["result"].get("value")

    async def wait(self, expression: str, what: str, seconds: float = WAIT_S) -> Any:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = await self.js(expression)
            if value:
                return value
            await asyncio.sleep(0.5)
        raise AssertionError(f"the MLflow UI never showed {what}")

    async def open(self, url: str, text: str) -> None:
        await self.call("Page.navigate", url=url)
        await self.wait(f"document.body && document.body.innerText.includes({text!r})",
                        repr(text))

    async def screenshot(self, path: Path) -> None:
        shot = await self.call("Page.captureScreenshot", format="png")
        Path(path).write_bytes(shrink(base64.b64decode(shot["data"])))


# In the page: visible elements' text, and a click on the first one whose text matches.
VISIBLE = """(selector) => [...document.querySelectorAll(selector)].filter(e => {
  const r = e.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && r.left < innerWidth && r.top < innerHeight
    && r.right > 0 && r.bottom > 0;
}).map(e => e.innerText.trim()).filter(t => t)"""
CLICK = """(selector, text) => {
  const found = [...document.querySelectorAll(selector)].find(e => e.innerText.trim() === text);
  if (found) found.click();
  return !!found;
}"""


TICK = """(prefix) => {
  const node = [...document.querySelectorAll('[class*=tree-treenode]')].find(
    e => e.innerText.trim().startsWith(prefix));
  const box = node && node.querySelector('[class*=tree-checkbox]');
  if (box) box.click();
  return box ? node.innerText.trim() : null;
}"""
SCROLL_TO = """(selector, text) => {
  const found = [...document.querySelectorAll(selector)].find(e => e.innerText.trim() === text);
  const bar = document.querySelector('.ag-body-horizontal-scroll-viewport');
  if (!found || !bar) return false;
  bar.scrollLeft += found.getBoundingClientRect().left - innerWidth / 2;
  bar.dispatchEvent(new Event('scroll'));
  return true;
}"""
RENDERED = """(selector) => [...document.querySelectorAll(selector)].map(e => e.innerText.trim())
  .filter(t => t)"""


def chart_sections(text: str) -> dict[str, int]:
    """The chart view's sections and their chart counts, from the page's text: each
    section's header is its name, then `(N)` on a line of its own."""
    lines = [line.strip() for line in text.splitlines()]
    return {lines[k - 1]: int(line[1:-1]) for k, line in enumerate(lines)
            if k and re.fullmatch(r"\(\d+\)", line)}


@asynccontextmanager
async def first_page(session: Any, devtools: str) -> AsyncIterator[Page]:
    """The browser's first tab (over DevTools, through an aiohttp `session`), its
    events on and the window's size set."""
    async with session.get(f"{devtools}/json/list") as response:
        target = next(t for t in await response.json() if t["type"] == "page")
    async with session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
        page = Page(ws)
        await page.call("Page.enable")
        await page.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT,
                        deviceScaleFactor=1, mobile=False)
        yield page


def call(function: str, *args: object) -> str:
    return f"({function})({', '.join(json.dumps(a) for a in args)})"


def runs_url(base: str, experiment_id: str, view: str) -> str:
    return f"{base}/?view={view}#/experiments/{experiment_id}/runs?compareRunsMode={view}"


async def look(devtools: str, base: str, experiment_id: str, run_name: str, headline: str,
               shots: Path               ) -> Findings:
    """Open the experiment's runs table, choose the column set "Metrics", and its chart
    view; screenshots `shots`/table.png and `shots`/charts.png."""
    import aiohttp

    found = Findings()
    settings = "".join(f"localStorage.setItem({json.dumps(k + '_v1')}, "
                       f"{json.dumps(json.dumps(v))});" for k, v in SETTINGS.items())
    async with aiohttp.ClientSession() as session, first_page(session, devtools) as page:
        await page.call("Page.addScriptToEvaluateOnNewDocument", source=settings)

        await page.open(runs_url(base, experiment_id, "TABLE"), run_name)
        headers = "[role=columnheader], .ag-header-cell"
        await page.wait(call(VISIBLE, headers) + ".length > 0", "the runs table")
        found.columns_before = await page.js(call(VISIBLE, headers))
        found.run_names = await page.js(call(VISIBLE, "a, [role=gridcell]"))
        await page.wait(call(CLICK, "button", "Columns"), 'the "Columns" button')
        # One column set: the tree's "Metrics (N)" node, ticked as a whole.
        found.column_sets = [await page.wait(call(TICK, "Metrics ("),
                                             'the column set "Metrics"')]
        await page.call("Input.dispatchKeyEvent", type="keyDown", key="Escape",
                        windowsVirtualKeyCode=27)
        await asyncio.sleep(2)
        found.rendered = await page.js(call(RENDERED, headers))
        # MLflow orders metric columns by name: scroll the table to the headline's.
        await page.js(call(SCROLL_TO, headers, headline))
        await asyncio.sleep(1)
        found.columns = await page.js(call(VISIBLE, headers))
        await page.screenshot(shots / "table.png")

        await page.open(runs_url(base, experiment_id, "CHART"), run_name)
        await asyncio.sleep(4)  # charts draw after the runs arrive
        found.sections = chart_sections(await page.js("document.body.innerText"))
        await page.screenshot(shots / "charts.png")
    return found


@contextmanager
def ui(store: Path) -> Iterator[tuple[str, str]]:
    """The MLflow UI of `store` (its mlflow.db) and a headless chromium beside it:
    (the UI's base URL, the browser's DevTools URL)."""
    path = browser_path()
    if path is None:
        raise AssertionError(MISSING)
    port, debug_port = free_port(), free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "mlflow"), "server", "--backend-store-uri",
         f"sqlite:///{store}/mlflow.db", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"],
        cwd=store, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    profile = tempfile.mkdtemp(prefix="profile-", dir=store)
    browser = subprocess.Popen(
        [path, *BROWSER_FLAGS, f"--window-size={WIDTH},{HEIGHT}",
         f"--remote-debugging-port={debug_port}", f"--user-data-dir={profile}",
         "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        base, devtools = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{debug_port}"
        wait_for(f"{base}/health", server)
        wait_for(f"{devtools}/json/version", browser)
        yield base, devtools
    finally:
        stop(browser)
        stop(server)


def check_ui(store: Path, experiment: str, run_name: str, headline: str, shots: Path
             ) -> Findings:
    """What the UI of `store` shows of `experiment` (by name), whose run `run_name` is."""
    from mlflow.tracking import MlflowClient

    found = MlflowClient(f"sqlite:///{store}/mlflow.db").get_experiment_by_name(experiment)
    with ui(store) as (base, devtools):
        return asyncio.run(look(devtools, base, found.experiment_id, run_name, headline, shots))


# What a person compares fits on a screen: the columns of the one set "Metrics", the chart
# view's sections (a metric prefix each: test, train, val, the strongest baseline, ...).
MAX_METRIC_COLUMNS = 40
MAX_SECTIONS = 10
HEADLINE = "test/mase"  # course_ex1's
CURVES = "train"  # the learning curves' section (val too, where the data has a validation split)


def problems(found: Findings, run_names: list[str], headline: str) -> list[str]:
    """What the UI showed wrong, in words; none when it is what a user should see."""
    wrong = []
    missing = [name for name in run_names if name not in found.run_names]
    if missing:
        wrong.append(f"run names {missing} not in the table (it showed {found.run_names})")
    if len(found.column_sets) != 1:
        wrong.append(f"{len(found.column_sets)} column sets chosen, not one")
    counted = re.search(r"\((\d+)\)", found.column_sets[0]) if found.column_sets else None
    if counted is None or int(counted.group(1)) > MAX_METRIC_COLUMNS:
        wrong.append(f"the column set {found.column_sets} is not a few dozen metrics")
    if headline not in found.columns:
        wrong.append(f"the headline {headline} is no column of the table in view "
                     f"({found.rendered})")
    if not found.sections or len(found.sections) > MAX_SECTIONS:
        wrong.append(f"the chart view has {len(found.sections)} sections: {found.sections}")
    if not found.sections.get(CURVES):
        wrong.append(f"no learning curves ({CURVES}/...) in the chart view: {found.sections}")
    return wrong


def train(store: Path, cells: list[str], epochs: int) -> list[str]:
    """Train course_ex1 briefly with each cell into `store`; the runs' names."""
    import os

    env = {**os.environ, "OMP_NUM_THREADS": "1", "MLFLOW_TRACKING_URI": ""}
    for cell in cells:
        subprocess.run(
            [sys.executable, "-m", "seqlab.train", "experiment=course_ex1",
             f"model.cell={cell}", f"optim.max_epochs={epochs}",
             f"tracking.uri=sqlite:///{store}/mlflow.db", f"hydra.run.dir={store}/run-{cell}"],
            cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return [f"elec_equip {cell} max_epochs={epochs}" for cell in cells]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="seqlab-ui-") as tmp:
        store = Path(tmp)
        names = train(store, ["lstm", "gru"], args.epochs)
        found = check_ui(store, "many_to_one", names[0], HEADLINE, store)
        print(json.dumps(found.__dict__, indent=1))
        for shot, name in (("table.png", "mlflow-ui.png"), ("charts.png", "mlflow-ui-charts.png")):
            shutil.copy(store / shot, args.out_dir / name)
    conclude("ui-check", problems(found, names, HEADLINE), args.out_dir)


def conclude(check: str, wrong: list[str], out_dir: Path) -> None:
    """Say each problem a browser check found, then its verdict, and exit 1 on any."""
    for line in wrong:
        print(f"{check}: {line}", file=sys.stderr)
    print(f"{check}: {'FAILED' if wrong else 'passed'}; pictures in {out_dir}")
    sys.exit(1 if wrong else 0)


if __name__ == "__main__":
    main()
