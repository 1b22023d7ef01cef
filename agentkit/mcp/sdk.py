"""Small adapters around the ``mcp`` SDK's client session: end-of-stream watch, pagination, error reading."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import mcp.types as types


class EndWatch:
    """A transport read stream that reports when the server closed it."""

    def __init__(self, stream: Any, on_end: Callable[[], None]):
        self._stream = stream
        self._on_end = on_end

    @property
    def last_context(self) -> Any:
        return getattr(self._stream, "last_context", None)

    async def __aenter__(self) -> EndWatch:
        await self._stream.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._stream.__aexit__(*exc)

    def __aiter__(self) -> EndWatch:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self._stream.__anext__()
        except StopAsyncIteration:
            self._on_end()
            raise

    async def receive(self) -> Any:
        try:
            return await self._stream.receive()
        except anyio.EndOfStream:
            self._on_end()
            raise

    async def aclose(self) -> None:
        await self._stream.aclose()

    def close(self) -> None:
        self._stream.close()


async def all_pages(fetch: Callable[[Any], Awaitable[Any]], field: str, max_pages: int) -> list[Any]:
    """Every item of a paginated MCP list (``tools``, ``resources``), following cursors."""
    items: list[Any] = []
    cursor: str | None = None
    for _ in range(max_pages):
        page = await fetch(types.PaginatedRequestParams(cursor=cursor) if cursor else None)
        items.extend(getattr(page, field))
        cursor = page.next_cursor
        if not cursor:
            break
    return items


def leaf(exc: BaseException) -> BaseException:
    """The first real exception inside (nested) exception groups."""
    while isinstance(getattr(exc, "exceptions", None), tuple) and exc.exceptions:  # type: ignore[attr-defined]
        exc = exc.exceptions[0]  # type: ignore[attr-defined]
    return exc


def junk_line(exc: Exception) -> str | None:
    """The offending stdout text when ``exc`` is the SDK's parse error for a non-JSON-RPC line."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            value = errors()[0].get("input")
        except (IndexError, TypeError, AttributeError):
            return str(exc)[:200]
        return str(value)[:200] if isinstance(value, str | bytes) else str(exc)[:200]
    return None


async def send_as_is(session: Any, request: Any, result_type: Any) -> Any:
    """``session.send_request`` without the SDK's check of the result against the method's usual result.

    Needed for a task-augmented ``tools/call``: the server answers it with a ``CreateTaskResult``, which the
    SDK (2.x, no client-side tasks) would reject as a malformed ``CallToolResult``. Uses the session's
    request stamp and dispatcher, as ``send_request`` itself does."""
    from mcp.shared.inbound import MCP_NAME_HEADER, encode_header_value

    data = request.model_dump(by_alias=True, mode="json", exclude_none=True)
    opts: dict[str, Any] = {}
    session._stamp(data, opts)
    key = type(request).name_param
    if key is not None:
        opts.setdefault("headers", {})[MCP_NAME_HEADER] = encode_header_value(data["params"][key])
    if session._session_read_timeout_seconds is not None:
        opts["timeout"] = session._session_read_timeout_seconds
    raw = await session._dispatcher.send_raw_request(data["method"], data.get("params"), opts)
    return result_type.model_validate(raw, by_name=False)
