"""Refresh docs/images/dashboard.png from a running demo instance.

Usage: python scripts/screenshot.py URL EMAIL PASSWORD
(run `make demo` first; it prints the sign-in).
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
OUT = Path(__file__).resolve().parents[1] / "docs" / "images" / "dashboard.png"


def main(url: str, email: str, password: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000}, device_scale_factor=1)
        page.goto(url + "/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.locator(".chart[data-drawn] svg").first.wait_for()
        page.wait_for_timeout(800)  # let the charts' entry animation finish
        OUT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUT), full_page=False)
        browser.close()
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
