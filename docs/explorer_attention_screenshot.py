"""Take docs/images/explorer_attention.png: the explorer on multi-head self-attention, in a browser.

    python docs/explorer_attention_screenshot.py    # writes docs/images/explorer_attention.png

The graph: ``nn.MultiheadAttention(8, 2)`` over one sequence of 8 random positions, loss =
sum(out ** 2). The page is stepped backward until the sweep reaches a head's attention weights,
so their gradient is filled in, and one cell is clicked. Needs Playwright and a Chromium
(Debian: apt install chromium; pip install playwright).
"""

import pathlib
import shutil
import sys
import tempfile

import numpy as np
from playwright.sync_api import sync_playwright

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tinygrad_seq as tg  # noqa: E402
from tinygrad_seq import nn, viz  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def attention_page(path):
    mha = nn.MultiheadAttention(8, 2, batch_first=True, seed=0)
    x = np.random.default_rng(0).standard_normal((1, 8, 8)).astype(np.float32)
    x = tg.tensor(x, requires_grad=True).named("x")
    with tg.keep_values():
        out, _ = mha(x, x, x)
        loss = (out * out).sum().named("loss")
    loss.backward(keep_grads=True)
    return viz.explore(loss, path, title="multi-head self-attention, 2 heads").path


def main(image_path=ROOT / "docs" / "images" / "explorer_attention.png"):
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        page_path = attention_page(pathlib.Path(folder) / "attention.html")
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720}, device_scale_factor=1)
        page.goto(pathlib.Path(page_path).resolve().as_uri())
        for _ in range(100):  # back through the sweep, to the first head's attention weights
            page.click("#next")
            if "attention weights" in page.text_content("#status"):
                break
        page.click("#heatmaps svg.value rect[data-i='5'][data-j='2']")
        page.screenshot(path=str(image_path))
        browser.close()
    print(f"wrote {image_path}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
