"""``web_search``: DuckDuckGo and friends through ``ddgs`` (formerly ``duckduckgo-search``).

Rate limits and timeouts are retried a bounded number of times with growing pauses, then reported to
the model as a tool error. Results are cached per tool instance (a run, or a long-lived server) for
ten minutes, at most 128 searches, so a server does not grow without bound or serve stale results.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

import anyio
import pydantic

from agentkit.tooling.base import ToolContext, ToolResult
from agentkit.tooling.threads import run_blocking
from agentkit_tools.validation import Strict, parameters_schema, parse_arguments, parse_options

Backend = Callable[..., list[dict[str, Any]]]
"""``backend(query, *, region, safesearch, timelimit, max_results) -> [{"title", "href", "body"}, ...]``."""

TimeLimit = Literal["d", "w", "m", "y"]
_SNIPPET_CHARS = 300
_CACHE_ENTRIES = 128
_CACHE_SECONDS = 600.0


class WebSearchOptions(Strict):
    max_results: int = pydantic.Field(5, ge=1, le=25)
    """Default and ceiling for the number of hits per search."""
    region: str = "wt-wt"
    """ddgs region code (``us-en``, ``de-de``, ``wt-wt`` for no region)."""
    safesearch: Literal["on", "moderate", "off"] = "moderate"
    backend: str = "auto"
    """ddgs engines, comma-separated (``auto``, ``duckduckgo``, ``bing``, ``brave``, ...)."""
    retries: int = pydantic.Field(3, ge=0, le=10)
    """Extra attempts after a rate limit or timeout."""
    backoff: float = pydantic.Field(2.0, ge=0)
    """Seconds before the first retry; doubled each time, at most 30 s."""
    request_timeout: int = pydantic.Field(10, ge=1)


class WebSearchArgs(Strict):
    query: str = pydantic.Field(description="What to search the web for")
    max_results: int | None = pydantic.Field(None, ge=1, description="How many hits to return")
    region: str | None = pydantic.Field(None, description="Region code such as us-en or de-de")
    timelimit: TimeLimit | None = pydantic.Field(
        None, description="Only results from the last day, week, month or year"
    )


class WebSearchTool:
    """A web search whose result text is compact: title, URL and snippet per hit."""

    name = "web_search"
    default_approval = "allow"
    # MCP's behaviour hints (served by mcp_servers): it only reads, from the open web
    annotations = {"title": "Web search", "readOnlyHint": True, "openWorldHint": True}

    def __init__(
        self,
        options: WebSearchOptions,
        *,
        backend: Backend | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ):
        self.options = options
        self._backend = backend
        self._sleep = sleep
        self._cache: OrderedDict[tuple[Any, ...], tuple[float, ToolResult]] = OrderedDict()
        self._clock = time.monotonic
        self.description = (
            "Search the web. Returns up to "
            f"{options.max_results} hits, each with title, URL and a short snippet; use fetch to read a page."
        )
        self.parameters = parameters_schema(WebSearchArgs)

    def __repr__(self) -> str:
        return f"WebSearchTool(backend={self.options.backend!r}, region={self.options.region!r})"

    async def call(self, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
        args = parse_arguments(WebSearchArgs, arguments, self.name)
        if isinstance(args, ToolResult):
            return args
        query = args.query.strip()
        if not query:
            return ToolResult.error("web_search: `query` is empty; give the words to search for")
        count = min(args.max_results or self.options.max_results, self.options.max_results)
        region = args.region or self.options.region
        key = (query, count, region, args.timelimit)
        cached = self._cache.get(key)
        if cached is not None and self._clock() - cached[0] < _CACHE_SECONDS:
            self._cache.move_to_end(key)
            return cached[1]
        result = await self._search(query, count, region, args.timelimit, ctx)
        if not result.is_error:
            self._cache[key] = (self._clock(), result)
            self._cache.move_to_end(key)
            while len(self._cache) > _CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return result

    async def _search(
        self, query: str, count: int, region: str, timelimit: str | None, ctx: ToolContext
    ) -> ToolResult:
        backend = self._backend or self._ddgs_backend()
        delay = self.options.backoff
        attempt = 0
        while True:
            try:
                hits = await run_blocking(  # a timeout or Ctrl-C walks away from a slow search
                    lambda: backend(
                        query,
                        region=region,
                        safesearch=self.options.safesearch,
                        timelimit=timelimit,
                        max_results=count,
                    )
                )
            except Exception as exc:
                kind = _failure_kind(exc)
                if kind == "no results":
                    return ToolResult(text=_no_results(query))
                if kind is None:
                    return ToolResult.error(f"web_search failed: {type(exc).__name__}: {exc}")
                attempt += 1
                if attempt > self.options.retries:
                    return ToolResult.error(
                        f"web_search is unavailable right now ({kind}; gave up after {attempt} attempts). "
                        "Try again later, or answer without searching."
                    )
                await ctx.report_progress(attempt, None, f"{kind}; retrying in {delay:g} s")
                await self._sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            return _format(query, hits[:count])

    def _ddgs_backend(self) -> Backend:
        from ddgs import DDGS

        engine = DDGS(timeout=self.options.request_timeout)
        return lambda query, **kw: engine.text(query, backend=self.options.backend, **kw)


def _failure_kind(exc: Exception) -> str | None:
    """``"rate limited"``/``"timed out"`` (retry), ``"no results"``, or None for other failures."""
    from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException

    if isinstance(exc, RatelimitException) or (
        isinstance(exc, DDGSException) and "ratelimit" in str(exc).lower()
    ):
        return "rate limited"
    if isinstance(exc, (TimeoutException, TimeoutError)):
        return "timed out"
    if isinstance(exc, DDGSException) and "no results" in str(exc).lower():
        return "no results"
    return None


def _no_results(query: str) -> str:
    return f"No results for {query!r}. Try fewer or different words."


def _format(query: str, hits: list[dict[str, Any]]) -> ToolResult:
    if not hits:
        return ToolResult(text=_no_results(query))
    blocks = []
    for number, hit in enumerate(hits, start=1):
        title = " ".join(str(hit.get("title") or "(no title)").split())
        url = hit.get("href") or hit.get("url") or ""
        snippet = " ".join(str(hit.get("body") or "").split())
        if len(snippet) > _SNIPPET_CHARS:
            snippet = snippet[: _SNIPPET_CHARS - 1].rstrip() + "…"
        blocks.append(
            "\n".join(line for line in (f"{number}. {title}", f"   {url}", f"   {snippet}") if line.strip())
        )
    structured = [{"title": h.get("title"), "url": h.get("href") or h.get("url")} for h in hits]
    return ToolResult(text="\n".join(blocks), structured=structured)


def make_web_search(options: dict[str, Any], *, base_dir: Path) -> WebSearchTool:
    """The ``web_search`` tool; ``base_dir`` is unused."""
    return WebSearchTool(parse_options(WebSearchOptions, options, "web_search"))
