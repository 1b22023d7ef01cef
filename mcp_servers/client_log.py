"""Log records sent to the MCP client during a tool call, at the level the client asked for.

``logging/setLevel`` sets a threshold per connection (default ``info``). While a call runs, records of
agentkit's own loggers emitted in that call's tasks are forwarded as ``notifications/message`` on the
call's stream; stderr logging is unaffected.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import anyio

MCP_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "notice": 25,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "alert": 60,
    "emergency": 70,
}
DEFAULT_LEVEL = "info"
FORWARDED_LOGGERS = ("agentkit", "mcp_servers", "tools")
_BUFFER = 256


def mcp_level(levelno: int) -> str:
    """The MCP level name for a Python log level."""
    name = "debug"
    for candidate, threshold in MCP_LEVELS.items():
        if levelno >= threshold:
            name = candidate
    return name


class ClientLevels:
    """The log threshold each connection asked for, keyed by its HTTP session id (``None`` on stdio)."""

    def __init__(self) -> None:
        self._levels: dict[str | None, str] = {}

    @staticmethod
    def _key(ctx: Any) -> str | None:
        request = getattr(ctx, "request", None)
        headers = getattr(request, "headers", None)
        return headers.get("mcp-session-id") if headers is not None else None

    def set(self, ctx: Any, level: str) -> None:
        self._levels[self._key(ctx)] = level

    def get(self, ctx: Any) -> str:
        return self._levels.get(self._key(ctx), DEFAULT_LEVEL)


@dataclass(slots=True)
class _Sink:
    threshold: int
    send: Any
    thread: int


_sink: ContextVar[_Sink | None] = ContextVar("mcp_servers_log_sink", default=None)


class _ForwardHandler(logging.Handler):
    """Hands records to the sink of the call whose task logged them (same thread only; drops when full)."""

    def emit(self, record: logging.LogRecord) -> None:
        sink = _sink.get()
        if sink is None or record.levelno < sink.threshold or threading.get_ident() != sink.thread:
            return
        try:
            sink.send.send_nowait((mcp_level(record.levelno), record.name, record.getMessage()))
        except (anyio.WouldBlock, anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass


_HANDLER = _ForwardHandler()


def install_forwarding() -> None:
    """Attach the forwarder to agentkit's loggers (what reaches it still depends on their levels)."""
    for name in FORWARDED_LOGGERS:
        logger = logging.getLogger(name)
        if _HANDLER not in logger.handlers:
            logger.addHandler(_HANDLER)


@asynccontextmanager
async def forward_logs(ctx: Any, level: str) -> AsyncIterator[None]:
    """While the block runs, send this task's log records at ``level`` and above to the client."""
    send, receive = anyio.create_memory_object_stream[tuple[str, str, str]](_BUFFER)

    async def drain() -> None:
        async with receive:
            async for mcp_lvl, logger, message in receive:
                try:
                    await ctx.session.send_log_message(
                        mcp_lvl, message, logger, related_request_id=ctx.request_id
                    )
                except Exception:  # the client went away: the call itself reports that
                    return

    async with anyio.create_task_group() as tg:
        tg.start_soon(drain)
        token = _sink.set(_Sink(MCP_LEVELS.get(level, logging.INFO), send, threading.get_ident()))
        try:
            yield
        finally:
            _sink.reset(token)
            send.close()
