"""``python -m bench.canvas``: the canvas with 500 and 1,000 nodes in headless Chromium.

Starts a throw-away server (its own var dir and SQLite database), creates the
big workflows through the API, then, with the production build of the canvas:

- load: from navigation start to the canvas being drawn and usable (the
  ``baton:canvas-ready`` performance mark), median of a few loads;
- frame times while panning, dragging a node and box-selecting, measured
  with requestAnimationFrame (p50, p95, worst, share of late frames), and
  two seconds of no gesture as a control: missed frames there are the
  machine's (other processes, the VM), not the canvas's. A frame on time
  measures 16.6-16.8 ms (performance.now() is coarsened to 100 µs with
  jitter in a page that is not cross-origin isolated), so p95 counts as
  met up to 0.2 ms over the target.

Each gesture is measured twice: at the view the editor opens on (the
trigger and the nodes after it, at a readable zoom: a few dozen nodes
mounted) and with the whole graph in view (the "Fit view" control: a few
hundred nodes mounted, drawn without their port rows below 30 % zoom).

Targets (issue 5): 500 nodes open in at most 1 s and keep p95 <= 16.7 ms;
1,000 nodes stay at 30 fps (p95 <= 33.3 ms), in both views. Results go to
bench/results/canvas.json with the load average before and after.
``--base-url`` uses a running server instead.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("BATON_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = os.environ.get("BATON_DEMO_PASSWORD", "baton-demo")
TARGETS = {500: {"load_s": 1.0, "p95_ms": 16.7}, 1000: {"p95_ms": 33.3}}
#: performance.now() is coarsened to 100 µs in a page that is not
#: cross-origin isolated, with jitter on top: a frame on time measures
#: 16.6-16.8 ms, one that missed its vsync 33 ms. A p95 of 16.8 is 60 fps.
TIMER_SLACK_MS = 0.2


def big_graph(n: int) -> dict[str, Any]:
    """A trigger and n-1 steps in columns of ten, each fed by the previous column."""
    nodes: list[dict[str, Any]] = [
        {"id": "start", "type": "trigger.manual", "name": "Start", "position": {"x": 0, "y": 0}}
    ]
    edges: list[dict[str, Any]] = []
    for i in range(1, n):
        col, row = divmod(i - 1, 10)
        node_id = f"step_{i}"
        if i % 3 == 0:
            node = {"type": "logic.if", "config": {"condition": f"trigger.n > {i}"}}
        else:
            node = {"type": "data.transform", "config": {"output": {"i": i, "v": "{{ input }}"}}}
        nodes.append(
            {
                "id": node_id,
                "name": f"Step {i}",
                "position": {"x": 300 * (col + 1), "y": 150 * row},
                **node,
            }
        )
        source = "start" if col == 0 else f"step_{i - 10}"
        port = {"source_port": "true"} if source != "start" and (i - 10) % 3 == 0 else {}
        edges.append({"id": f"e{i}", "source": source, "target": node_id, **port})
    return {"version": 1, "nodes": nodes, "edges": edges}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    var = tempfile.mkdtemp(prefix="baton-bench-canvas-")
    env = {**os.environ, "BATON_VAR_DIR": var, "BATON_DEBUG": "1"}
    python = sys.executable
    for args in (["migrate", "--no-input"], ["seed_demo"]):
        subprocess.run(
            [python, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True
        )
    port = free_port()
    server = subprocess.Popen(
        [python, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/accounts/login/", timeout=1)
            return server, url
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start")


def api(url: str, path: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(f"{url}/api/v1/{path}", json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


FRAME_PROBE = """
() => {
  window.__frames = [];
  let last = performance.now();
  const tick = (now) => {
    window.__frames.push(now - last);
    last = now;
    if (window.__recording) requestAnimationFrame(tick);
  };
  window.__recording = true;
  requestAnimationFrame(tick);
}
"""


def frames(page: Any, action: Any) -> list[float]:
    page.evaluate(FRAME_PROBE)
    action()
    page.evaluate("() => { window.__recording = false; }")
    page.wait_for_timeout(50)
    return page.evaluate("() => window.__frames.slice(1)")


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {
        "frames": len(ordered),
        "p50_ms": round(pick(0.5), 2),
        "p95_ms": round(pick(0.95), 2),
        "max_ms": round(ordered[-1], 2),
        "late_frames_share": round(
            sum(1 for v in ordered if v > 16.7 + TIMER_SLACK_MS) / len(ordered), 3
        ),
    }


def drag(
    page: Any,
    start: tuple[float, float],
    end: tuple[float, float],
    steps: int = 60,
    shift: bool = False,
) -> None:
    if shift:
        page.keyboard.down("Shift")
    page.mouse.move(*start)
    page.mouse.down()
    for k in range(1, steps + 1):
        page.mouse.move(
            start[0] + (end[0] - start[0]) * k / steps, start[1] + (end[1] - start[1]) * k / steps
        )
        page.wait_for_timeout(16)
    page.mouse.up()
    if shift:
        page.keyboard.up("Shift")


#: a point of the pane with nothing on it (a drag there pans), near the middle
EMPTY_POINT = """
() => {
  const pane = document.querySelector('.react-flow__pane').getBoundingClientRect();
  const cx = pane.left + pane.width / 2, cy = pane.top + pane.height / 2;
  for (let r = 0; r < Math.min(pane.width, pane.height) / 2; r += 8)
    for (let a = 0; a < 360; a += 15) {
      const x = cx + r * Math.cos(a * Math.PI / 180), y = cy + r * Math.sin(a * Math.PI / 180);
      if (document.elementFromPoint(x, y)?.classList.contains('react-flow__pane')) return [x, y];
    }
  return [cx, cy];
}
"""


def interactions(page: Any, view: str) -> dict[str, Any]:
    """Pan, drag a node (at the opening view) and box-select, as frame times."""
    pane = page.locator(".react-flow__pane").bounding_box()
    cx, cy = pane["x"] + pane["width"] / 2, pane["y"] + pane["height"] / 2
    out: dict[str, Any] = {"nodes_mounted": page.locator(".react-flow__node").count()}
    # Control: two seconds of nothing, to tell the machine's own missed frames
    # (other processes, the VM) from the gestures'. Not part of the targets.
    out["idle_control"] = summary(frames(page, lambda: page.wait_for_timeout(2000)))
    x, y = page.evaluate(EMPTY_POINT)
    out["pan"] = summary(frames(page, lambda: drag(page, (x, y), (x - 400, y - 100))))
    if view == "opening":
        # A node well inside the pane, dragged by (200, 100).
        nodes = page.locator(".react-flow__node-baton").all()
        boxes = [b for b in (n.bounding_box() for n in nodes) if b]
        inside = [
            b
            for b in boxes
            if b["x"] > pane["x"] + 40
            and b["y"] > pane["y"] + 40
            and b["x"] + 260 < pane["x"] + pane["width"]
            and b["y"] + 150 < pane["y"] + pane["height"]
        ]
        node = (inside or boxes)[0]
        start = (node["x"] + node["width"] / 2, node["y"] + 10)
        end = (start[0] + 200, start[1] + 100)
        out["drag_node"] = summary(frames(page, lambda: drag(page, start, end)))
    corner = (pane["x"] + 20, pane["y"] + 20)
    out["box_select"] = summary(
        frames(page, lambda: drag(page, corner, (cx, cy), steps=30, shift=True))
    )
    out["nodes_selected"] = page.locator(".react-flow__node.selected").count()
    page.keyboard.press("Escape")  # clears the selection
    page.wait_for_timeout(300)
    return out


def measure(page: Any, url: str, workflow_id: str, loads: int) -> dict[str, Any]:
    times = []
    for _ in range(loads):
        page.goto(f"{url}/workflows/{workflow_id}/")
        page.wait_for_function(
            "() => performance.getEntriesByName('baton:canvas-ready').length > 0", timeout=30_000
        )
        times.append(
            page.evaluate("() => performance.getEntriesByName('baton:canvas-ready')[0].startTime")
            / 1000
        )
    page.wait_for_timeout(500)
    result: dict[str, Any] = {
        "load_s": round(statistics.median(times), 3),
        "load_runs_s": [round(t, 3) for t in times],
    }
    # As the editor opens (the trigger and what follows, at a readable zoom),
    # then with the whole graph in view (the "Fit view" control).
    result["opening"] = interactions(page, "opening")
    page.locator(".react-flow__controls-fitview").click()
    page.wait_for_timeout(1000)
    result["whole_graph"] = interactions(page, "whole graph")
    return result


def gestures(result: dict[str, Any]) -> list[tuple[str, dict[str, float]]]:
    return [
        (f"{view} {name}", values)
        for view in ("opening", "whole_graph")
        for name, values in result[view].items()
        if isinstance(values, dict) and name != "idle_control"
    ]


def meets(result: dict[str, Any], target: dict[str, float]) -> bool:
    if "load_s" in target and result["load_s"] > target["load_s"]:
        return False
    return all(
        values["p95_ms"] <= target["p95_ms"] + TIMER_SLACK_MS
        for _, values in gestures(result)
        if "p95_ms" in target
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", help="use a running server (its demo users must exist)")
    parser.add_argument("--sizes", default="500,1000")
    parser.add_argument("--loads", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    load_before = [round(x, 2) for x in os.getloadavg()]
    print(f"cpus={os.cpu_count()} load={load_before}", flush=True)
    server = None
    url = args.base_url
    if not url:
        server, url = start_server()
    try:
        token = api(url, "auth/token/", {"username": "editor", "password": PASSWORD})["token"]
        results: dict[str, Any] = {}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{url}/accounts/login/")
            page.get_by_label("Username").fill("editor")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state("networkidle")
            for n in (int(s) for s in args.sizes.split(",")):
                created = api(
                    url,
                    "workflows/",
                    {"workspace": "demo", "name": f"Bench {n} nodes", "graph": big_graph(n)},
                    token,
                )
                results[str(n)] = measure(page, url, created["id"], args.loads)
                target = TARGETS.get(n, {})
                results[str(n)]["targets"] = target
                results[str(n)]["meets_targets"] = meets(results[str(n)], target)
            browser.close()
    finally:
        if server:
            server.terminate()
            server.wait(10)
    load_after = [round(x, 2) for x in os.getloadavg()]
    out = ROOT / "bench" / "results" / "canvas.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps({"load_before": load_before, "load_after": load_after, **results}, indent=2)
        + "\n"
    )
    print(
        f"{'nodes':>5} {'gesture':<22} {'mounted':>7} {'p50':>6} {'p95':>6} {'worst':>6} {'target':>6}"
    )
    for n, result in results.items():
        target = result["targets"]
        print(
            f"{n:>5} {'load (s)':<22} {'':>7} {result['load_s']:>6} {'':>6} {'':>6} {'':>5} "
            f"{target.get('load_s', ''):>6}"
        )
        for view in ("opening", "whole_graph"):
            mounted = result[view]["nodes_mounted"]
            for name, values in result[view].items():
                if not isinstance(values, dict):
                    continue
                label = f"{view} {'idle (*)' if name == 'idle_control' else name}"
                print(
                    f"{n:>5} {label:<22} {mounted:>7} {values['p50_ms']:>6} "
                    f"{values['p95_ms']:>6} {values['max_ms']:>6} "
                    f"{values['late_frames_share']:>5.0%} {target.get('p95_ms', ''):>6}"
                )
    met = all(r["meets_targets"] for r in results.values())
    print("(*) no gesture: the machine's own missed frames, not part of the targets")
    print(f"load average {load_before} -> {load_after}; targets {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
