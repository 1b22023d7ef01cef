"""Documents for ``Assistant``: read, chunk, retrieve with BM25, and give to the model as knowledge.

As Qwen-Agent does: files of ``files=`` and of the user's ``{'file': path}`` items are split into chunks
of about ``rag_cfg['parser_page_size']`` tokens (500); when all of them fit in ``max_ref_token`` (20000)
they all go to the model, else the chunks that score best (Okapi BM25) for the last user question,
within that budget, in document order. They are added to the system message, one section per file.

Parsers: pypdf (PDF; pure Python, actively maintained, no native deps), python-docx (DOCX; the
standard reader), BeautifulSoup (HTML; already an agentkit dependency); text and Markdown as UTF-8.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from agentkit.qwen3.tokens import count_tokens

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")
MAX_REF_TOKENS = 20000
PAGE_TOKENS = 500
_WORD = re.compile(r"[a-zA-Z0-9]+|[\u4e00-\u9fff]")


class DocumentError(ValueError):
    """A file that cannot be used: missing, of an unsupported type, or unreadable."""


def _local_path(source: str) -> Path:
    parsed = urlparse(source)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme in ("http", "https"):
        raise DocumentError(
            f"{source}: agentkit reads local documents only; download it first and pass the path"
        )
    return Path(source).expanduser()


def read_document(source: str) -> str:
    """The text of one document."""
    path = _local_path(source)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise DocumentError(
            f"{source}: unsupported document type {suffix or '(none)'!r}; supported: {', '.join(SUPPORTED)}"
        )
    if not path.is_file():
        raise DocumentError(f"{source}: no such file (files= and {{'file': ...}} items name local files)")
    try:
        if suffix == ".pdf":
            pypdf = _need("pypdf", "pypdf")
            return "\n\n".join(page.extract_text() or "" for page in pypdf.PdfReader(str(path)).pages)
        if suffix == ".docx":
            docx = _need("docx", "python-docx")
            return "\n\n".join(p.text for p in docx.Document(str(path)).paragraphs)
        text = path.read_text(encoding="utf-8", errors="replace")
        if suffix in (".html", ".htm"):
            from bs4 import BeautifulSoup

            return BeautifulSoup(text, "html.parser").get_text("\n")
        return text
    except DocumentError:
        raise
    except Exception as exc:  # a damaged file: say which, and why
        raise DocumentError(f"{source}: cannot read this {suffix} file: {exc}") from exc


def _need(module: str, package: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise DocumentError(
            f"reading this document type needs {package}: pip install {package} "
            "(or pip install 'agentkit[documents]')"
        ) from None


def chunk(text: str, page_tokens: int = PAGE_TOKENS) -> list[str]:
    """Paragraph-aligned chunks of about ``page_tokens`` tokens (a longer paragraph is split by lines)."""
    pieces: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        para = para.strip()
        if not para:
            continue
        if count_tokens(para) <= page_tokens:
            pieces.append(para)
        else:
            pieces.extend(line.strip() for line in para.splitlines() if line.strip())
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for piece in pieces:
        n = count_tokens(piece)
        if current and size + n > page_tokens:
            chunks.append("\n\n".join(current))
            current, size = [], 0
        current.append(piece)
        size += n
    if current:
        chunks.append("\n\n".join(current))
    return chunks


def terms(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def bm25_scores(query: str, docs: list[str], k1: float = 1.5, b: float = 0.75) -> list[float]:
    """Okapi BM25 score of each doc for the query."""
    tokenized = [terms(d) for d in docs]
    n = len(docs)
    avg = sum(map(len, tokenized)) / n if n else 0.0
    df = Counter(t for doc in tokenized for t in set(doc))
    scores = []
    for doc in tokenized:
        tf = Counter(doc)
        score = 0.0
        for t in set(terms(query)):
            if t not in tf:
                continue
            idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            score += idf * tf[t] * (k1 + 1) / (tf[t] + k1 * (1 - b + b * len(doc) / (avg or 1)))
        scores.append(score)
    return scores


def retrieve(query: str, files: dict[str, list[str]], max_tokens: int) -> dict[str, list[str]]:
    """The chunks to give the model, per file: all when they fit, else the best BM25 matches."""
    every = [(name, i, c) for name, chunks in files.items() for i, c in enumerate(chunks)]
    if sum(count_tokens(c) for _, _, c in every) <= max_tokens:
        return {name: chunks for name, chunks in files.items() if chunks}
    scores = bm25_scores(query, [c for _, _, c in every])
    chosen: set[int] = set()
    used = 0
    for idx in sorted(range(len(every)), key=lambda j: -scores[j]):
        n = count_tokens(every[idx][2])
        if used + n > max_tokens:
            continue
        chosen.add(idx)
        used += n
    picked: dict[str, list[str]] = {}
    for idx in sorted(chosen):
        name, _, text = every[idx]
        picked.setdefault(name, []).append(text)
    return picked


def format_knowledge(picked: dict[str, list[str]], lang: str | None = None) -> str:
    if not picked:
        return ""
    zh = lang == "zh"
    sections = [
        (f"## 来自 {Path(name).name} 的内容：" if zh else f"## The content from {Path(name).name}:")
        + "\n\n```\n"
        + "\n\n...\n\n".join(snippets)
        + "\n```"
        for name, snippets in picked.items()
    ]
    return ("# 知识库" if zh else "# Knowledge Base") + "\n\n" + "\n\n".join(sections)


async def knowledge_prompt(
    files: list[str], query: str, rag_cfg: dict[str, Any], lang: str | None = None
) -> str:
    """The knowledge section for the system message (files are read off the event loop)."""
    import anyio

    page = int(rag_cfg.get("parser_page_size", PAGE_TOKENS))
    budget = int(rag_cfg.get("max_ref_token", MAX_REF_TOKENS))

    def build() -> str:
        chunks = {f: chunk(read_document(f), page) for f in files}
        if lang is None:
            detected = "zh" if re.search(r"[\u4e00-\u9fff]", query) else "en"
        else:
            detected = lang
        return format_knowledge(retrieve(query, chunks, budget), detected)

    return await anyio.to_thread.run_sync(build)
