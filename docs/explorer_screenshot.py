"""Take docs/images/explorer.png: the explorer page of docs/rnn.md's LSTM, in a real browser.

    python -m tinygrad_seq explore --model lstm -o /tmp/lstm.html    # README's command: 6 steps
    python docs/explorer_screenshot.py /tmp/lstm.html docs/images/explorer.png

Needs Playwright and a Chromium (Debian: apt install chromium; pip install playwright).
"""

import pathlib
import shutil
import sys

from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def main(page_path, image_path, visits=200, step=1):
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 780}, device_scale_factor=1)
        page.goto(pathlib.Path(page_path).resolve().as_uri())
        page.click("#view-button-cell")
        for _ in range(visits):  # back through the sweep, to the cell state of step `step`
            page.click("#next")
            status = page.text_content("#status")
            if "cell state" in status and f"(t = {step})" in status:
                break
        page.evaluate(
            f"s => {{ s.value = '{step}'; s.dispatchEvent(new Event('input')); }}",
            page.query_selector("#time-slider"),
        )
        page.screenshot(path=image_path)
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:3])
