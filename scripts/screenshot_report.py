"""The README's pictures of the HTML report and of a comparison, rendered by headless Chromium.

Runs the example config on the demo data (created in data/store when absent) and a variant with
slower SMAs, writes `workstation report --html` and `workstation compare --html`, and screenshots the
top of each page into docs/screenshots/ (the runs and pages stay in runs/readme-report/). Chromium runs
with a fresh profile and every network path closed.

Usage: .venv/bin/python scripts/screenshot_report.py [--out-dir docs/screenshots]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def screenshot(html: Path, png: Path, width: int, height: int) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("chromium is not installed (bash scripts/setup.sh --test installs it)")
    # offline: a network namespace with no interface up where allowed, host names resolving nowhere,
    # a closed local port as proxy (the browser's own update and sign-in requests go nowhere either)
    unshare = shutil.which("unshare")
    offline = [unshare, "-n"] if unshare and subprocess.run([unshare, "-n", "true"]).returncode == 0 else []
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([*offline, browser, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--no-first-run", "--hide-scrollbars", "--allow-browser-signin=false",
                        "--disable-features=NetworkTimeServiceQuerying", "--host-resolver-rules=MAP * ~NOTFOUND",
                        "--proxy-server=127.0.0.1:9", f"--user-data-dir={profile}", f"--window-size={width},{height}",
                        f"--screenshot={png}", html.resolve().as_uri()], check=True, capture_output=True,
                       timeout=180)
    print(f"wrote {png}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    from workstation.cli import main as cli_main
    from workstation.store.demo import ensure_demo_data

    os.chdir(ROOT)  # relative paths, as a user would type them, appear in the pages
    store = Path("data/store")
    ensure_demo_data(store)
    work = Path("runs/readme-report")  # the runs and pages stay for a look; made anew each time
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    example = Path("session_configs/example_session.json")
    slow = json.loads(example.read_text())
    slow["name"] = "SMA 10/30 and RSI reversion"
    slow["strategies"][0]["params"].update(fast=10, slow=30)
    (work / "slow.json").write_text(json.dumps(slow))
    for config, out in ((example, "sma-5-20"), (work / "slow.json", "sma-10-30")):
        code = cli_main(["run", str(config), "--store", str(store), "--out", str(work / out), "--single-thread",
                         "--json"])
        if code:
            return code
    cli_main(["report", str(work / "sma-5-20"), "--out", str(work / "report.html")])
    cli_main(["compare", str(work / "sma-5-20"), str(work / "sma-10-30"), "--out", str(work / "compare.html")])
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    screenshot(work / "report.html", out_dir / "html_report.png", 1280, 1500)
    screenshot(work / "compare.html", out_dir / "compare_report.png", 1280, 1300)
    return 0


if __name__ == "__main__":
    sys.exit(main())
