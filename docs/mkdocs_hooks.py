"""mkdocs hooks (mkdocs.yml loads them) for the pages' links that leave docs/, or leave the site.

The pages link to source files (``[ops.py](../tinygrad_seq/ops.py)``), which work when the
Markdown is read on GitHub or in a checkout but are no part of the built site. With ``repo_url``
set in mkdocs.yml they point into the repository; without it they become plain text, so that
``mkdocs build --strict`` still fails on a broken link between pages.

A link to a file in docs/ that the site excludes (``exclude_docs``: the ``*.py`` scripts) is a
404 on the built site, and mkdocs only notes it (at INFO, whatever ``validation`` says): here it
is a warning, so that ``--strict`` fails on it too. Link such a file as ``../docs/name.py``.
"""

import logging
import posixpath
import re

_OUTSIDE = re.compile(r"\[([^\]]+)\]\(\.\./([^)\s]+)\)")
_LINK = re.compile(r"\]\(([^)\s]+)\)")  # the target of [text](target) and ![alt](target)
_NOT_A_FILE = re.compile(r"^(\.\./|/|#|[a-z][a-z0-9+.-]*:)")  # out of docs, absolute, a URL

log = logging.getLogger("mkdocs.hooks.links")


def on_page_markdown(markdown, page, config, files):
    if page is not None and files is not None:
        for target in excluded_targets(markdown, page.file.src_uri, files):
            log.warning(
                f"Doc file '{page.file.src_uri}' links to '{target}', which the site excludes "
                "(exclude_docs in mkdocs.yml): a 404 once built. Link it as ../docs/..., "
                "which points into the repository"
            )
    repo = (config.get("repo_url") or "").rstrip("/")
    if repo:
        return _OUTSIDE.sub(lambda m: f"[{m[1]}]({repo}/blob/main/{m[2]})", markdown)
    return _OUTSIDE.sub(lambda m: m[1], markdown)


def excluded_targets(markdown, src_uri, files):
    """The relative link targets of a page (``src_uri`` in docs/) that are excluded files."""
    found = []
    for target in _LINK.findall(markdown):
        if _NOT_A_FILE.match(target):
            continue
        path = posixpath.normpath(posixpath.join(posixpath.dirname(src_uri), target.split("#")[0]))
        file = files.get_file_from_path(path)
        if file is not None and file.inclusion.is_excluded():
            found.append(target)
    return found
