"""The HTML report opened in headless Chromium (Debian's `chromium`, installed by scripts/setup.sh --test)
with every network path closed: the screenshot shows the equity curve, the drawdown and the daily
bars where the page puts them, and the same page without its charts does not (so the check can fail).
"""

from __future__ import annotations

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
    pytest.skip("chromium is not installed (scripts/setup.sh --test installs it)")


def screenshot(html_file: Path, png: Path, profile: Path) -> np.ndarray:
    """Render `html_file` headless with no network and a fresh profile; the screenshot as an RGB array."""
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
           "--disable-default-apps", "--no-default-browser-check", "--hide-scrollbars",
           # nothing may reach out: every host resolves nowhere and every request goes to a closed proxy
           "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
           f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={png}",
           html_file.resolve().as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert png.is_file(), f"chromium wrote no screenshot (exit {done.returncode}): {done.stderr[-2000:]}"
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
    html = load_run(engine_run).report_html(folder / "report.html")
    with_charts = screenshot(folder / "report.html", folder / "with.png", folder / "profile-a")
    (folder / "bare.html").write_text(re.sub(r"<svg .*?</svg>", "", html, flags=re.S), encoding="utf-8")
    without = screenshot(folder / "bare.html", folder / "without.png", folder / "profile-b")
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
    done = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
                           f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                           (tmp_path / "click.html").as_uri()], capture_output=True, text=True, timeout=180)
    dom = done.stdout
    ascending = [float(v) for v in re.search(r'data-asc="([^"]*)"', dom).group(1).split()]
    assert len(ascending) > 10 and ascending == sorted(ascending)
    body = re.search(r'<table class="trades sortable">.*?</table>', dom, re.S).group(0)
    column = [float(v) for v in re.findall(r"<tr>(?:<td[^>]*>[^<]*</td>){9}<td[^>]*data-v=\"([^\"]+)\"", body)]
    assert column == sorted(column, reverse=True) and len(column) == len(ascending)
