"""``fetch``: GET a web page and return it as readable text, without becoming a way into the user's network.

Each hop (the first request and every redirect) resolves the host once, checks every resolved address
(``agentkit_tools.netguard``), then connects to that checked address, so a DNS answer that changes between the
check and the connection (rebinding) cannot redirect the request. Proxy variables are ignored.

Bounded against a hostile server: ``request_timeout`` is one deadline for the whole fetch (every hop,
headers and body, however slowly they trickle), the body is decoded by ``tools.decoding`` with the cap
on the *decoded* size (off the event loop), and HTML conversion runs in a separate process, killed at
``convert_timeout`` or when the call is cancelled, for pages larger than ``_IN_THREAD_BYTES``.
"""

from __future__ import annotations

import codecs
import ipaddress
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic

from agentkit.tooling.base import ToolContext, ToolResult
from agentkit_tools.decoding import ACCEPTED, CappedDecoder, UnsupportedEncoding, encodings
from agentkit_tools.netguard import (
    BlockedAddress,
    Guard,
    Resolver,
    checked_address,
    forbidden_reason,
    system_resolve,
)
from agentkit_tools.validation import Strict, parameters_schema, parse_arguments, parse_options

_REDIRECTS = (301, 302, 303, 307, 308)
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript", "application/x-yaml")
_CACHE_PAGES = 16
_IN_THREAD_BYTES = 64_000
"""Smaller HTML converts in a thread (measured: at most ~1 s for the worst pages found); larger in a
process that can be killed."""


class FetchOptions(Strict):
    allow_private: bool = False
    """Allow loopback, private, link-local and metadata addresses (a fetch tool for an intranet)."""
    max_bytes: int = pydantic.Field(2_000_000, gt=0)
    """Download cap per page; the rest is not read."""
    max_chars: int = pydantic.Field(20_000, gt=0)
    """Text returned per call; the model pages through longer text with ``start``."""
    max_redirects: int = pydantic.Field(5, ge=0, le=20)
    request_timeout: float = pydantic.Field(20.0, gt=0)
    """Seconds for the whole fetch: connecting, headers, body and every redirect, together."""
    convert_timeout: float = pydantic.Field(20.0, gt=0)
    """Seconds to turn a large HTML page into text (in a separate process, killed after)."""
    user_agent: str = "Mozilla/5.0 (compatible; agentkit-fetch/0.1)"


class FetchArgs(Strict):
    url: str = pydantic.Field(description="The http:// or https:// URL to get")
    start: int = pydantic.Field(0, ge=0, description="Character offset to continue a long page from")


@dataclass(frozen=True, slots=True)
class Page:
    url: str
    content_type: str
    title: str
    text: str
    size: int
    cut: bool


class FetchError(Exception):
    """A fetch that failed in a way the model should be told about."""


class FetchTool:
    """GET with per-hop address checks, HTML turned into Markdown, bounded in size and redirects."""

    name = "fetch"
    default_approval = "allow"

    def __init__(
        self,
        options: FetchOptions,
        *,
        resolve: Resolver = system_resolve,
        guard: Guard | None = forbidden_reason,
        transport: Any = None,
    ):
        self.options = options
        self._resolve = resolve
        self._guard = None if options.allow_private else guard
        self._transport = transport
        self._pages: OrderedDict[str, Page] = OrderedDict()
        self.description = (
            "Get a web page (http/https) and return its readable text as Markdown, with the page title. "
            f"Long pages come in parts of {options.max_chars} characters: call again with `start` for more."
        )
        self.parameters = parameters_schema(FetchArgs)

    def __repr__(self) -> str:
        return f"FetchTool(allow_private={self.options.allow_private})"

    async def call(self, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
        args = parse_arguments(FetchArgs, arguments, self.name)
        if isinstance(args, ToolResult):
            return args
        try:
            page = self._pages.get(args.url) or await self._fetch(args.url)
        except (FetchError, BlockedAddress) as exc:
            return ToolResult.error(str(exc))
        self._remember(args.url, page)
        return self._render(args.url, page, args.start)

    def _remember(self, url: str, page: Page) -> None:
        self._pages[url] = page
        self._pages.move_to_end(url)
        while len(self._pages) > _CACHE_PAGES:
            self._pages.popitem(last=False)

    def _render(self, asked: str, page: Page, start: int) -> ToolResult:
        if start and start >= len(page.text):
            return ToolResult.error(
                f"start={start} is past the end: the page has {len(page.text)} characters"
            )
        end = min(len(page.text), start + self.options.max_chars)
        lines = [f"URL: {page.url}" + (f" (redirected from {asked})" if page.url != asked else "")]
        if page.title:
            lines.append(f"Title: {page.title}")
        lines.append("")
        lines.append(page.text[start:end] if page.text else "(the page has no readable text)")
        if start or end < len(page.text):
            more = f"; call again with start={end} for more" if end < len(page.text) else ""
            lines.append(f"\n[characters {start}-{end} of {len(page.text)}{more}]")
        if page.cut:
            lines.append(
                f"[download stopped at {self.options.max_bytes} bytes; the rest of the page is missing]"
            )
        structured = {"url": page.url, "content_type": page.content_type, "bytes": page.size}
        return ToolResult(text="\n".join(lines), structured=structured)

    async def _fetch(self, url: str) -> Page:
        import anyio
        import httpx

        try:
            current = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:  # bad IDNA (xn--…) raises ValueError
            raise FetchError(f"not a valid URL: {url!r} ({exc})") from None
        timeout = httpx.Timeout(self.options.request_timeout)
        deadline = anyio.current_time() + self.options.request_timeout
        async with httpx.AsyncClient(
            trust_env=False, follow_redirects=False, timeout=timeout, transport=self._transport
        ) as client:
            for _hop in range(self.options.max_redirects + 1):
                try:
                    host = current.host
                except ValueError as exc:  # an xn-- label that is not valid IDNA
                    raise FetchError(f"not a valid URL: {str(current)!r} (its host name: {exc})") from None
                if current.scheme not in ("http", "https") or not host:
                    raise FetchError(
                        f"only http:// and https:// URLs with a host can be fetched, not {str(current)!r}"
                    )
                try:
                    with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
                        location, raw = await self._get(client, current)
                except (httpx.TimeoutException, TimeoutError):
                    raise FetchError(
                        f"timed out after {self.options.request_timeout:g} s fetching {current} "
                        "(request_timeout covers the whole fetch: connecting, headers, body, redirects)"
                    ) from None
                except httpx.HTTPError as exc:
                    raise FetchError(f"could not fetch {current}: {exc or type(exc).__name__}") from None
                except (httpx.InvalidURL, ValueError) as exc:  # httpx parses a redirect's Location itself
                    raise FetchError(f"{current} answered with an invalid URL to go to ({exc})") from None
                except OSError as exc:
                    raise FetchError(str(exc)) from None
                if raw is not None:
                    return await self._page(raw)
                try:
                    current = current.join(location)
                except (httpx.InvalidURL, TypeError, ValueError) as exc:
                    raise FetchError(f"{current} redirects to an invalid URL {location!r} ({exc})") from None
        raise FetchError(f"too many redirects (more than {self.options.max_redirects}) starting from {url}")

    async def _get(self, client: Any, url: Any) -> tuple[str, _Raw | None]:
        """One request to the checked address: ``(location, None)`` for a redirect, else the body."""
        port = url.port or (443 if url.scheme == "https" else 80)
        address = await checked_address(url.host, port, resolve=self._resolve, guard=self._guard)
        headers = {
            "Host": url.netloc.decode("ascii"),
            "User-Agent": self.options.user_agent,
            "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5",
            "Accept-Encoding": ACCEPTED,
        }
        extensions = {"sni_hostname": url.host} if url.scheme == "https" and not _is_ip(url.host) else {}
        async with client.stream(
            "GET", url.copy_with(host=address), headers=headers, extensions=extensions
        ) as response:
            if response.status_code in _REDIRECTS and "location" in response.headers:
                return response.headers["location"], None
            body, cut = await _read_capped(response, self.options.max_bytes, str(url))
            return "", _Raw(
                str(url),
                response.headers.get("content-type", ""),
                response.charset_encoding,
                response.status_code,
                response.reason_phrase,
                body,
                cut,
            )

    async def _page(self, raw: _Raw) -> Page:
        if raw.status >= 400:
            try:
                _, text = await self._text(raw)
            except FetchError:
                text = ""
            detail = f": {text[:500]}" if text else ""
            raise FetchError(f"HTTP {raw.status} {raw.reason} from {raw.url}{detail}")
        title, text = await self._text(raw)
        return Page(raw.url, raw.content_type, title, text, len(raw.body), raw.cut)

    async def _text(self, raw: _Raw) -> tuple[str, str]:
        import anyio

        from agentkit_tools.html_text import ConversionTimeout, convert_bounded

        charset = _charset(raw.charset)
        if not _is_html(raw.body, raw.content_type) or len(raw.body) <= _IN_THREAD_BYTES:
            return await anyio.to_thread.run_sync(_to_text, raw.body, raw.content_type, charset, raw.url)
        try:
            return await convert_bounded(raw.body, charset, raw.url, self.options.convert_timeout)
        except ConversionTimeout as exc:
            raise FetchError(
                f"{raw.url}: {exc} (convert_timeout); the page is too complex to turn into text"
            ) from None


@dataclass(frozen=True, slots=True)
class _Raw:
    url: str
    content_type: str
    charset: str | None
    status: int
    reason: str
    body: bytes
    cut: bool


async def _read_capped(response: Any, limit: int, url: str) -> tuple[bytes, bool]:
    """The body, decoded, at most ``limit`` bytes (the cap holds while decoding; see tools.decoding)."""
    import zlib

    import anyio

    try:
        decoder = CappedDecoder(encodings(response.headers.get("content-encoding", "")), limit)
    except UnsupportedEncoding as exc:
        raise FetchError(
            f"{url} sent Content-Encoding {exc}, which fetch cannot decode (it asks for {ACCEPTED})"
        ) from None
    received = 0
    try:
        async for chunk in response.aiter_raw():
            received += len(chunk)
            if decoder.encoded:
                full = await anyio.to_thread.run_sync(decoder.feed, chunk)
            else:
                full = decoder.feed(chunk)
            if full or received > limit:
                return decoder.body(), True
    except zlib.error as exc:
        raise FetchError(f"{url} sent a body that is not validly compressed ({exc})") from None
    return decoder.body(), decoder.cut


def _charset(charset: str | None) -> str | None:
    try:
        return codecs.lookup(charset).name if charset else None
    except LookupError:
        return None


def _is_html(body: bytes, content_type: str) -> bool:
    mime = content_type.split(";", 1)[0].strip().lower()
    looks_html = body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html"))
    return mime in _HTML_TYPES or (not mime and looks_html)


def _to_text(body: bytes, content_type: str, charset: str | None, url: str) -> tuple[str, str]:
    """``(title, text)`` for a response body; ``FetchError`` for formats that are not text."""
    from agentkit_tools.html_text import html_to_markdown

    mime = content_type.split(";", 1)[0].strip().lower()
    if _is_html(body, content_type):
        return html_to_markdown(body.decode(charset, errors="replace") if charset else body, url)
    if not mime or mime.startswith("text/") or mime in _TEXT_TYPES or mime.endswith(("+json", "+xml")):
        return "", body.decode(charset or "utf-8", errors="replace").strip()
    raise FetchError(
        f"{url} is {mime} ({len(body)} bytes), which fetch does not turn into text; "
        "only HTML and text formats (plain text, JSON, XML) are supported"
    )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def make_fetch(options: dict[str, Any], *, base_dir: Path) -> FetchTool:
    """The ``fetch`` tool; ``base_dir`` is unused."""
    return FetchTool(parse_options(FetchOptions, options, "fetch"))
