"""mkdocs hooks (mkdocs.yml loads them) for the pages' links that leave docs/.

The pages link to source files (``[ops.py](../tinygrad_seq/ops.py)``), which work when the
Markdown is read on GitHub or in a checkout but are no part of the built site. With ``repo_url``
set in mkdocs.yml they point into the repository; without it they become plain text, so that
``mkdocs build --strict`` still fails on a broken link between pages.
"""

import re

_OUTSIDE = re.compile(r"\[([^\]]+)\]\(\.\./([^)\s]+)\)")


def on_page_markdown(markdown, page, config, files):
    repo = (config.get("repo_url") or "").rstrip("/")
    if repo:
        return _OUTSIDE.sub(lambda m: f"[{m[1]}]({repo}/blob/main/{m[2]})", markdown)
    return _OUTSIDE.sub(lambda m: m[1], markdown)
