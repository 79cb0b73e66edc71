"""Render a real run report in headless Chromium and save a screenshot (a documented check).

    python benchmarks/check_report_chromium.py [RUN_DIR] [--out report.png]

Without RUN_DIR it trains the default digits MLP into a temporary folder first. Needs
Chromium (Debian: ``apt-get install chromium``); the test suite does not. The screenshot shows
whether the self-contained HTML (inline CSS, base64 PNG plots) renders in a real browser.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", help="run folder (default: train one)")
    parser.add_argument("--out", default="report.png", help="screenshot path")
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("chromium not found; install it (apt-get install chromium)", file=sys.stderr)
        return 2
    run = args.run
    if run is None:
        run = str(Path(tempfile.mkdtemp()) / "run")
        subprocess.run(
            [sys.executable, "-m", "glassnet", "train", "--quiet", "--out", run], check=True
        )
    page = Path(run) / "report.html"
    if not page.is_file():
        subprocess.run([sys.executable, "-m", "glassnet", "report", run], check=True)
    profile = tempfile.mkdtemp()
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--hide-scrollbars",
        "--window-size=1200,2400",
        f"--screenshot={Path(args.out).resolve()}",
        page.resolve().as_uri(),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    shutil.rmtree(profile, ignore_errors=True)
    if result.returncode != 0 or not Path(args.out).is_file():
        print(result.stderr[-2000:], file=sys.stderr)
        return 1
    print(f"screenshot of {page} saved to {args.out} ({Path(args.out).stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
