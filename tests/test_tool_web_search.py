"""The ``web_search`` tool with a fake backend (no internet), plus one live search when online."""

from __future__ import annotations

import socket
import threading
import time

import anyio
import pytest
from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException

from agentkit.tooling.base import ToolContext
from agentkit_tools import builtin_tool
from agentkit_tools.web_search import WebSearchOptions, WebSearchTool

pytestmark = pytest.mark.anyio

HITS = [
    {
        "title": "Qwen3  technical report",
        "href": "https://example.org/qwen3",
        "body": "Qwen3 is a family\nof models.",
    },
    {"title": "Second", "href": "https://example.org/2", "body": "x" * 500},
    {"title": "Third", "href": "https://example.org/3", "body": ""},
]


class FakeBackend:
    """Answers from ``HITS`` after failing with the given exceptions, recording every call."""

    def __init__(self, *failures: Exception):
        self.failures = list(failures)
        self.calls: list[dict] = []

    def __call__(self, query: str, **options):
        self.calls.append({"query": query, **options})
        if self.failures:
            raise self.failures.pop(0)
        return HITS[: options["max_results"]]


def make(backend, **options) -> tuple[WebSearchTool, list[float]]:
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    return WebSearchTool(WebSearchOptions(**options), backend=backend, sleep=sleep), pauses


async def search(tool, **arguments):
    return await tool.call(arguments, ToolContext())


async def test_compact_results_and_arguments_passed_on():
    backend = FakeBackend()
    tool, _ = make(backend, max_results=3, region="de-de")
    result = await search(tool, query=" qwen3 ", timelimit="w")
    lines = result.text.splitlines()
    assert lines[:3] == [
        "1. Qwen3 technical report",
        "   https://example.org/qwen3",
        "   Qwen3 is a family of models.",
    ]
    assert lines[5].endswith("…") and len(lines[5]) == 3 + 300
    assert lines[6:] == ["3. Third", "   https://example.org/3"]
    assert backend.calls == [
        {"query": "qwen3", "region": "de-de", "safesearch": "moderate", "timelimit": "w", "max_results": 3}
    ]
    assert result.structured[0] == {"title": "Qwen3  technical report", "url": "https://example.org/qwen3"}


async def test_max_results_capped_by_option():
    backend = FakeBackend()
    tool, _ = make(backend, max_results=2)
    result = await search(tool, query="q", max_results=10, region="us-en")
    assert backend.calls[0]["max_results"] == 2 and backend.calls[0]["region"] == "us-en"
    assert "3. Third" not in result.text


async def test_cached_per_instance():
    backend = FakeBackend()
    tool, _ = make(backend)
    first = await search(tool, query="same")
    second = await search(tool, query="same")
    assert first is second and len(backend.calls) == 1
    await search(tool, query="same", timelimit="d")
    assert len(backend.calls) == 2


async def test_cache_is_bounded_and_expires():
    """A long-lived instance (the MCP web_search server) neither grows without bound nor serves stale hits."""
    backend = FakeBackend()
    tool, _ = make(backend)
    now = [0.0]
    tool._clock = lambda: now[0]
    for number in range(200):
        await search(tool, query=f"q{number}")
    assert len(tool._cache) == 128
    await search(tool, query="q199")
    assert len(backend.calls) == 200
    now[0] = 601.0
    await search(tool, query="q199")
    assert len(backend.calls) == 201


async def test_rate_limit_retried_with_backoff_then_succeeds():
    backend = FakeBackend(RatelimitException("202 Ratelimit"), TimeoutException("timed out"))
    tool, pauses = make(backend, retries=3, backoff=1.5)
    result = await search(tool, query="q")
    assert not result.is_error and result.text.startswith("1. Qwen3")
    assert pauses == [1.5, 3.0] and len(backend.calls) == 3


async def test_rate_limit_gives_up_with_a_clear_error():
    backend = FakeBackend(*[RatelimitException("202 Ratelimit")] * 5)
    tool, pauses = make(backend, retries=2, backoff=20)
    result = await search(tool, query="q")
    assert result.is_error
    assert result.text.startswith(
        "web_search is unavailable right now (rate limited; gave up after 3 attempts)"
    )
    assert pauses == [20, 30.0] and len(backend.calls) == 3
    recovered = await search(tool, query="q")  # failures are not cached
    assert recovered.text.startswith("1. Qwen3")


async def test_no_results_and_other_failures():
    tool, pauses = make(FakeBackend(DDGSException("No results found.")))
    assert (await search(tool, query="zzz")).text == "No results for 'zzz'. Try fewer or different words."
    broken, pauses = make(FakeBackend(ValueError("bad region")))
    failed = await search(broken, query="q")
    assert failed.is_error and failed.text == "web_search failed: ValueError: bad region" and pauses == []


async def test_bad_arguments_and_options():
    tool, _ = make(FakeBackend())
    assert "query" in (await search(tool)).text
    assert "empty" in (await search(tool, query="  ")).text
    assert (await search(tool, query="q", timelimit="decade")).is_error
    with pytest.raises(ValueError, match=r"unknown option 'max_result' — did you mean 'max_results'\?"):
        builtin_tool("web_search", {"max_result": 3}, base_dir=".")


def online() -> bool:
    try:
        socket.create_connection(("duckduckgo.com", 443), timeout=3).close()
    except OSError:
        return False
    return True


@pytest.mark.live
async def test_live_search():
    if not online():
        pytest.skip("offline: duckduckgo.com is not reachable")
    tool = builtin_tool("web_search", {"max_results": 3}, base_dir=".")
    result = await search(tool, query="Python programming language")
    assert not result.is_error, result.text
    assert result.text.startswith("1. ") and "http" in result.text


async def test_a_timeout_walks_away_from_a_hung_search():
    """ddgs blocks a thread; the loop's tool timeout (or Ctrl-C) must not wait for it to return."""
    release = threading.Event()

    def hung(query: str, **options):
        release.wait(10)
        return HITS

    tool, _ = make(hung)
    started = time.monotonic()
    with anyio.move_on_after(0.3):
        await search(tool, query="qwen3")
    release.set()
    assert time.monotonic() - started < 2
