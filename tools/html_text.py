"""HTML to readable Markdown for the model: page chrome dropped, headings, lists, links and tables kept.

Built on BeautifulSoup (Python's own ``html.parser``, no C parser needed) and ``markdownify``.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

_CHROME = (
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "canvas",
    "iframe",
    "object",
    "embed",
    "form",
    "button",
    "nav",
    "aside",
)
_PAGE_FRAME = ("header", "footer")
"""Dropped unless inside the article itself (an article's own header holds its title)."""
_MAIN = ("main", "article", "[role=main]")
_MIN_MAIN_CHARS = 200


def html_to_markdown(html: str | bytes, base_url: str = "") -> tuple[str, str]:
    """``(title, markdown)`` for an HTML document; relative links become absolute against ``base_url``."""
    from bs4 import BeautifulSoup
    from markdownify import MarkdownConverter

    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup.find_all(_CHROME):
        tag.decompose()
    for tag in soup.find_all(_PAGE_FRAME):
        if not tag.decomposed and tag.find_parent(["article", "main"]) is None:
            tag.decompose()
    for tag in soup.find_all(attrs={"hidden": True}):
        tag.decompose()
    body = soup.body or soup
    for selector in _MAIN:
        found = body.select_one(selector)
        if found is not None and len(found.get_text(strip=True)) >= _MIN_MAIN_CHARS:
            body = found
            break
    if base_url:
        for link in body.find_all("a", href=True):
            link["href"] = urljoin(base_url, link["href"])
    converter = MarkdownConverter(heading_style="ATX", bullets="-", strip=["img"], escape_misc=False)
    try:
        text = converter.convert_soup(body)
    except RecursionError:  # markdownify recurses per nesting level; a hostile page nests thousands deep
        text = body.get_text("\n", strip=True)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return title, text
