"""The README's screenshot of ``aegan explore`` (docs/explorer.png): a run's page in headless
Chromium (driven as tests/test_explore.py drives it), a point hovered, two points selected (the
line between them) and a slider dragged.

    aegan train book/vae --data-dir DATA --epochs 10 --out runs/vae
    python docs/explorer_screenshot.py runs/vae --out docs/explorer.png
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.cdp, beside this folder

from aegan.explorer import ExploreOptions, bind, open_run  # noqa: E402
from tests.cdp import Browser  # noqa: E402


def _click(browser: Browser, x: float, y: float) -> None:
    for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
        browser.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y,
                                                  "button": "left", "clickCount": 1})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run")
    parser.add_argument("--out", default="docs/explorer.png")
    parser.add_argument("--points", nargs=2, type=int, default=[3, 40],
                        help="the two examples selected on the map")
    args = parser.parse_args()
    server = bind(0)
    server.explorer = open_run(args.run, ExploreOptions(points=1000, map="tsne"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with Browser(1280, 900) as browser:
        browser.open(server.url)
        browser.wait_for("document.body.dataset.ready === '1'", timeout=60)
        left, top = browser.evaluate("(() => { const r = document.getElementById('map')"
                                     ".getBoundingClientRect(); return [r.left, r.top]; })()")
        xy = browser.evaluate("state.map.xy")
        for i in args.points:
            _click(browser, left + xy[i][0], top + xy[i][1])
            time.sleep(0.5)
        box = browser.evaluate("(() => { const r = document.querySelector('input[data-dim=\"1\"]')"
                               ".getBoundingClientRect(); return [r.left, r.top, r.width, r.height];"
                               " })()")
        _click(browser, box[0] + 0.8 * box[2], box[1] + box[3] / 2)
        time.sleep(1.5)
        browser.screenshot(Path(args.out))
    server.shutdown()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
