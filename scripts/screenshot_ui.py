"""Screenshot the MLflow UI comparing RNN, LSTM and GRU on one dataset, for the docs.

Trains course_ex2 (digits read as 64 pixel steps) briefly with each cell, as a sweep,
into a temporary MLflow store; serves the UI on loopback; and has a headless chromium
open the archetype's runs, filtered to those three and grouped by cell, through its
DevTools protocol (aiohttp, which MLflow installs, speaks it). Writes two pictures into
docs/: mlflow_compare.png (the chart view) and mlflow_runs.png (the table, with each
run's dataset). Needs chromium: `apt-get install chromium`.

    .venv/bin/python scripts/screenshot_ui.py [--epochs 5] [--out-dir docs]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 1600, 800
FILTER = "tags.dataset = 'digits_pixels' and tags.model = 'ManyToOneNet'"
# The pictures: file name -> the runs page's view.
VIEWS = {"mlflow_compare.png": "CHART", "mlflow_runs.png": "TABLE"}
# Set before the UI's code runs: open "Model training" (not GenAI), with the assistant
# panel and first-visit hints closed. The UI keeps each as JSON under `<key>_v1`.
SETTINGS = {"mlflow.workflowType": "machine_learning", "mlflow.assistant.panelOpen": False,
            "mlflow.assistant.fab.autoOpenedOnFirstLoad": True,
            "mlflow.detectIssues.guidanceShown": True}
# The runs page's own state, as its "Group by", "Columns" and chart search leave it.
PAGE_STATE = {"searchFilter": FILTER, "chartsSearchFilter": "test/", "hideEmptyCharts": True,
              "selectedColumns": ["attributes.`Dataset`", "params.`model.cell`",
                                  "metrics.`test/acc`"],
              "groupBy": {"aggregateFunction": "average",
                          "groupByKeys": [{"mode": "param", "groupByData": "model.cell"}]}}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"screenshot_ui: {process.args[0]} did not answer {url}")
            time.sleep(0.5)


def train(store: Path, epochs: int) -> None:
    """One run per cell, as a sweep: `python -m seqlab.train -m ... model.cell=rnn,lstm,gru`."""
    subprocess.run(
        [sys.executable, "-m", "seqlab.train", "-m", "experiment=course_ex2",
         "model.cell=rnn,lstm,gru", f"optim.max_epochs={epochs}", "trainer=cpu",
         "trainer.progress_bar=false", f"tracking.uri=sqlite:///{store}/mlflow.db",
         f"tracking.artifact_root={store}/mlartifacts", f"hydra.sweep.dir={store}/multirun"],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def runs_url(base: str, experiment_id: str, view: str, nonce: int = 0) -> str:
    """The experiment's runs, filtered to the three cells, in `view` (CHART or TABLE).

    `nonce` makes each URL a new page load (the UI's routes follow the #), so that the
    startup script runs before it."""
    query = urllib.parse.urlencode({"searchFilter": FILTER, "compareRunsMode": view,
                                    "workflowType": "machine_learning"})
    return f"{base}/?load={nonce}#/experiments/{experiment_id}/runs?{query}"


def startup_script(experiment_id: str, hidden: list[str]) -> str:
    """JavaScript that stores the settings and the page's state in the browser, with the
    runs `hidden` (the sweep's parent, whose `best/test/acc` would be one more bar)."""
    items = {f"{key}_v1": json.dumps(value) for key, value in SETTINGS.items()}
    page = f'MLflowLocalStorage-1.1-ExperimentPage-["{experiment_id}"]-ReactComponentState'
    items[page] = json.dumps({**PAGE_STATE, "runsHidden": hidden, "runsHiddenMode": "CUSTOM"})
    return "".join(f"localStorage.setItem({json.dumps(k)}, {json.dumps(v)});"
                   for k, v in items.items())


async def capture(devtools: str, urls: list[str], startup: str, wait_text: str
                  ) -> list[bytes]:
    """Open each URL in the browser's page after running `startup` in it, wait until
    `wait_text` shows, and return a PNG of each page."""
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.get(f"{devtools}/json/list") as response:
            page = next(t for t in await response.json() if t["type"] == "page")
        async with session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            ids = iter(range(1, 10**6))

            async def call(method: str, **params: object) -> dict:
                number = next(ids)
                await ws.send_json({"id": number, "method": method, "params": params})
                while True:  # skip the events the browser sends in between
                    message = await ws.receive_json()
                    if message.get("id") == number:
                        if "error" in message:
                            raise RuntimeError(f"{method}: {message['error']}")
                        return message["result"]

            await call("Page.enable")  # else the startup script is not run
            await call("Page.addScriptToEvaluateOnNewDocument", source=startup)
            await call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT,
                       deviceScaleFactor=1, mobile=False)
            probe = f"document.body && document.body.innerText.includes({wait_text!r})"
            shots = []
            for url in urls:
                await call("Page.navigate", url=url)
                for _ in range(120):
                    found = await call("Runtime.evaluate", expression=probe,
                                       returnByValue=True)
                    if found["result"].get("value"):
                        break
                    await asyncio.sleep(0.5)
                else:
                    sys.exit(f"screenshot_ui: the page never showed {wait_text!r}: {url}")
                await asyncio.sleep(4)  # charts draw after the runs arrive
                shot = await call("Page.captureScreenshot", format="png")
                shots.append(base64.b64decode(shot["data"]))
    return shots


def shrink(png: bytes) -> bytes:
    """The screenshot in 256 colours: a fraction of the bytes, the same to the eye."""
    from PIL import Image

    out = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").quantize(256).save(out, "PNG", optimize=True)
    return out.getvalue()


def stop(process: subprocess.Popen) -> None:
    """End a process started here, with its children (the server's workers)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser_path is None:
        sys.exit("screenshot_ui: chromium not found; install it (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="seqlab-ui-") as tmp:
        store = Path(tmp)
        train(store, args.epochs)
        from mlflow.tracking import MlflowClient

        uri = f"sqlite:///{store}/mlflow.db"
        client = MlflowClient(uri)
        experiment = client.get_experiment_by_name("many_to_one").experiment_id
        parents = [r.info.run_id for r in client.search_runs([experiment], "tags.sweep = 'parent'")]
        port, debug_port = free_port(), free_port()
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "mlflow"), "server", "--backend-store-uri",
             uri, "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        browser = subprocess.Popen(
            [browser_path, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--window-size={WIDTH},{HEIGHT}", f"--remote-debugging-port={debug_port}",
             f"--user-data-dir={store / 'profile'}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        urls = [runs_url(base, experiment, view, n) for n, view in enumerate(VIEWS.values())]
        try:
            wait_for(f"{base}/health", server)
            wait_for(f"http://127.0.0.1:{debug_port}/json/version", browser)
            shots = asyncio.run(capture(f"http://127.0.0.1:{debug_port}", urls,
                                        startup_script(experiment, parents), "test/acc"))
        finally:
            stop(browser)
            stop(server)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, png in zip(VIEWS, shots, strict=True):
        path = args.out_dir / name
        path.write_bytes(shrink(png))
        print(f"{path} ({path.stat().st_size // 1024} kB)")


if __name__ == "__main__":
    main()
