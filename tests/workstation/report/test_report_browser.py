"""The HTML report opened in headless Chromium (Debian's `chromium`, installed by scripts/setup.sh --test)
with every network path closed: the screenshot shows the equity curve, the drawdown and the daily
bars where the page puts them, and the same page without its charts does not (so the check can fail);
Chromium's network log shows the page asked for nothing outside the file.

Chromium runs in a new network namespace with no interface up (`unshare -n`, where the machine
allows it), with every host name resolving nowhere and a proxy that is a closed local port, so
neither the page nor the browser's own background services (updates, sign-in) reach anything.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from workstation.report.svg import ACCENT, DOWN, UP
from workstation.runs import load_run

WIDTH, HEIGHT = 1280, 2200


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    message = "chromium is not installed (scripts/setup.sh --test installs it)"
    if os.environ.get("CI") == "true":  # the test set-up installs it: its absence in CI is a failure
        pytest.fail(message)
    pytest.skip(message)


def offline_prefix() -> list[str]:
    """`unshare -n` when this machine lets the test open a network namespace, else nothing."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


def browse(page: Path, work: Path, *extra: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """Open `page` headless and offline with a fresh profile; (the process, the URL requests it logged)."""
    netlog = work / "netlog.json"
    cmd = [*offline_prefix(), chromium(), "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
           "--disable-extensions", "--disable-default-apps", "--no-default-browser-check", "--hide-scrollbars",
           "--allow-browser-signin=false", "--disable-features=NetworkTimeServiceQuerying",
           "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
           f"--user-data-dir={work / 'profile'}", f"--log-net-log={netlog}", *extra, page.resolve().as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    return done, url_requests(netlog)


def url_requests(netlog: Path) -> list[dict]:
    """Every URL request in a Chromium net log: its url and initiator ('not an origin' = the browser's own)."""
    if not netlog.is_file():
        return []
    import json

    log = json.loads(netlog.read_text(encoding="utf-8", errors="replace") or "{}")
    names = {v: k for k, v in log.get("constants", {}).get("logEventTypes", {}).items()}
    return [{"url": e["params"].get("url", ""), "initiator": e["params"].get("initiator", "")}
            for e in log.get("events", [])
            if names.get(e.get("type")) == "URL_REQUEST_START_JOB" and "url" in e.get("params", {})]


def page_requests(requests: list[dict]) -> list[str]:
    """The requests a page made (the browser's own background requests have no origin)."""
    return [r["url"] for r in requests if r["initiator"] != "not an origin"]


def screenshot(html_file: Path, png: Path, work: Path) -> np.ndarray:
    """Render `html_file` offline; the screenshot as an RGB array (and no request made by the page)."""
    work.mkdir(parents=True, exist_ok=True)
    done, requests = browse(html_file, work, f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={png}")
    assert png.is_file(), f"chromium wrote no screenshot (exit {done.returncode}): {done.stderr[-2000:]}"
    assert page_requests(requests) == [], "the report asked for something outside the file"
    return read_png(png)


def read_png(path: Path) -> np.ndarray:
    QImage = pytest.importorskip("PySide6.QtGui").QImage
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    assert not image.isNull()
    raw = np.frombuffer(bytes(image.constBits()), dtype=np.uint8)
    rows = raw.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 3]
    return rows.reshape(image.height(), image.width(), 3)


def colour_mask(pixels: np.ndarray, hex_colour: str, tolerance: int = 40) -> np.ndarray:
    target = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
    return (np.abs(pixels.astype(np.int16) - target).max(axis=2) <= tolerance)


def box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the True pixels, None when there are none."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return None
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


@pytest.fixture(scope="module")
def rendered(engine_run, tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    written = load_run(engine_run).report_html(folder / "report.html")
    assert written == folder / "report.html"                  # the path, not the page, given a path
    html = written.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    with_charts = screenshot(folder / "report.html", folder / "with.png", folder / "a")
    (folder / "bare.html").write_text(re.sub(r"<svg .*?</svg>", "", html, flags=re.S), encoding="utf-8")
    without = screenshot(folder / "bare.html", folder / "without.png", folder / "b")
    return with_charts, without


def test_the_screenshot_shows_the_charts(rendered):
    pixels, _ = rendered
    assert pixels.shape == (HEIGHT, WIDTH, 3)
    equity = box(colour_mask(pixels, ACCENT))
    assert equity is not None, "no equity line in the screenshot"
    top, bottom, left, right = equity
    assert right - left > 0.6 * 1000 and bottom - top > 120, f"equity line spans only {equity}"
    assert top < 900, "the equity chart is the first thing under the headline figures"
    # the drawdown area (red) lies below the equity chart, as wide as it
    red = colour_mask(pixels, DOWN, 60)
    red[: bottom + 1] = False
    drawdown = box(red[: bottom + 400])
    assert drawdown is not None and drawdown[3] - drawdown[2] > 0.6 * 1000
    # daily return bars: solid blocks of the up or down colour further below
    below = bottom + 300
    bars = colour_mask(pixels[below:], UP, 25) | colour_mask(pixels[below:], DOWN, 25)
    columns = bars.sum(axis=0)
    assert (columns > 20).sum() > 100, "no daily return bars drawn"


def test_without_its_charts_the_same_page_fails_those_checks(rendered):
    """The control: the checks above see charts, not the page's other colours."""
    _, pixels = rendered
    assert box(colour_mask(pixels, ACCENT)) is None or colour_mask(pixels, ACCENT).sum() < 500
    tops = np.flatnonzero((colour_mask(pixels, UP, 25) | colour_mask(pixels, DOWN, 25)).sum(axis=0) > 20)
    assert len(tops) < 100


def test_clicking_a_column_header_sorts_the_trade_table(engine_run, tmp_path):
    """The report's few lines of script, run by Chromium: a click on "Net P&L" sorts the trades by it,
    a second click reverses the order."""
    page = load_run(engine_run).report_html()
    clicks = ("<script>var th = document.querySelector('table.trades th:nth-child(10)');"
              "th.click(); document.body.setAttribute('data-asc', Array.prototype.map.call("
              "document.querySelectorAll('table.trades tbody tr td:nth-child(10)'), function (c) {"
              " return c.getAttribute('data-v'); }).join(' ')); th.click();</script></body>")
    (tmp_path / "click.html").write_text(page.replace("</body>", clicks), encoding="utf-8")
    done, _ = browse(tmp_path / "click.html", tmp_path, "--dump-dom")
    dom = done.stdout
    ascending = [float(v) for v in re.search(r'data-asc="([^"]*)"', dom).group(1).split()]
    assert len(ascending) > 10 and ascending == sorted(ascending)
    body = re.search(r'<table class="trades sortable">.*?</table>', dom, re.S).group(0)
    column = [float(v) for v in re.findall(r"<tr>(?:<td[^>]*>[^<]*</td>){9}<td[^>]*data-v=\"([^\"]+)\"", body)]
    assert column == sorted(column, reverse=True) and len(column) == len(ascending)


def test_the_network_check_sees_a_page_that_asks_for_something(tmp_path):
    """The control of the network check: a page with an image and a style sheet from elsewhere is caught
    (and, offline, gets neither)."""
    page = tmp_path / "leaky.html"
    page.write_text('<html><body><img src="https://example.com/chart.png">'
                    '<link rel="stylesheet" href="http://example.org/style.css"></body></html>')
    _, requests = browse(page, tmp_path, f"--screenshot={tmp_path / 'leaky.png'}")
    assert sorted(page_requests(requests)) == ["http://example.org/style.css", "https://example.com/chart.png"]
