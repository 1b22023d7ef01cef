"""HTML to readable Markdown for the model: page chrome dropped, headings, lists, links and tables kept.

Built on BeautifulSoup (Python's own ``html.parser``, no C parser needed) and ``markdownify``, with its
``<ol>`` numbering made linear (it counts each item's earlier siblings: 8,000 items took seconds).
``convert_bounded`` runs the conversion in a separate process that is killed at a time limit or when
the caller is cancelled (a thread could not be stopped).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
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


class _NumberedItem:
    """Stands in for an ``<li>`` of an ``<ol>`` whose number is already known, for markdownify's
    ``convert_li``: its parent's ``start`` is the number and it has no earlier siblings to count."""

    def __init__(self, number: int):
        self.parent = _Start(number)
        self.name = "li"

    def find_previous_siblings(self, name: str) -> list[Any]:
        return []


class _Start:
    name = "ol"

    def __init__(self, number: int):
        self._start = str(number)

    def get(self, key: str, default: Any = None) -> Any:
        return self._start if key == "start" else default


def _converter_class(base: type) -> type:
    class Converter(base):  # type: ignore[misc, valid-type]
        """markdownify with each ordered item's number computed once per list (linear, not quadratic)."""

        def convert_soup(self, soup: Any) -> str:
            self._numbers: dict[int, int] = {}
            for ordered in soup.find_all("ol"):
                start = str(ordered.get("start") or "")
                first = int(start) if start.isdecimal() else 1
                for index, item in enumerate(ordered.find_all("li", recursive=False)):
                    self._numbers[id(item)] = first + index
            return super().convert_soup(soup)

        def convert_li(self, el: Any, text: str, parent_tags: set[str]) -> str:
            number = self._numbers.get(id(el))
            return super().convert_li(el if number is None else _NumberedItem(number), text, parent_tags)

    return Converter


class ConversionTimeout(Exception):
    """The page took longer than its time limit to convert."""


_PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])
_WORKER = "import sys; sys.path.insert(0, sys.argv[1]); from agentkit_tools.html_text import _worker_main; _worker_main()"


async def convert_bounded(html: bytes, charset: str | None, base_url: str, seconds: float) -> tuple[str, str]:
    """``html_to_markdown`` in a separate process: ``ConversionTimeout`` past ``seconds``; cancelling
    the caller (a tool timeout) kills the process at once."""
    import anyio

    command = [sys.executable, "-I", "-c", _WORKER, _PACKAGE_ROOT, charset or "", base_url]
    with anyio.move_on_after(seconds) as scope:
        done = await anyio.run_process(command, input=html, check=False, stderr=subprocess.PIPE)
    if scope.cancelled_caught:
        raise ConversionTimeout(f"converting the page took longer than {seconds:g} s")
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:])
    reply = json.loads(done.stdout)
    return reply["title"], reply["text"]


def _worker_main() -> None:
    """In the worker process: HTML bytes on stdin, ``charset`` and ``base_url`` as arguments, JSON out."""
    charset, base_url = sys.argv[2], sys.argv[3]
    body = sys.stdin.buffer.read()
    title, text = html_to_markdown(body.decode(charset, errors="replace") if charset else body, base_url)
    sys.stdout.write(json.dumps({"title": title, "text": text}))


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
    converter = _converter_class(MarkdownConverter)(
        heading_style="ATX", bullets="-", strip=["img"], escape_misc=False
    )
    try:
        text = converter.convert_soup(body)
    except RecursionError:  # markdownify recurses per nesting level; a hostile page nests thousands deep
        text = body.get_text("\n", strip=True)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return title, text
