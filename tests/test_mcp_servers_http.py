"""Streamable HTTP serving on 127.0.0.1 (``mcp_servers.transports``): the bearer token is required, and the
SDK's real HTTP client works with it; without a token configured, no header is needed."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from agentkit.tooling.base import ToolContext, ToolResult
from mcp_servers.adapter import tool_server
from mcp_servers.auth import new_token
from mcp_servers.transports import bind_local, serve_http

log = logging.getLogger("agentkit.test_http")
pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")


class Echo:
    name = "echo"
    description = "echo the text"
    parameters = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}

    async def call(self, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
        await ctx.report_progress(1, 1, "echoing")
        log.info("echo info")
        log.warning("echo warning")
        return ToolResult(text=arguments["text"])


@asynccontextmanager
async def http_server(token: str | None):
    ready = anyio.Event()
    urls: list[str] = []

    def on_ready(url: str) -> None:
        urls.append(url)
        ready.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: serve_http(tool_server([Echo()]), port=0, token=token, on_ready=on_ready))
        with anyio.fail_after(10):
            await ready.wait()
        yield urls[0]
        tg.cancel_scope.cancel()


async def _echo_over_mcp(url: str, headers: dict[str, str]) -> str:
    async with create_mcp_http_client(headers=headers) as client:
        async with streamable_http_client(url, http_client=client) as (read, write, *_):
            async with ClientSession(read, write) as session:
                await session.initialize()
                seen: list[str | None] = []

                async def progress(value: float, total: float | None, message: str | None) -> None:
                    seen.append(message)

                result = await session.call_tool("echo", {"text": "over http"}, progress_callback=progress)
                assert seen == ["echoing"]
                return result.content[0].text


INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "0"},
    },
}


@pytest.mark.anyio
async def test_requests_without_the_right_token_get_401():
    token = new_token()
    async with http_server(token) as url:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/mcp")
        headers = {"accept": "application/json, text/event-stream"}
        async with httpx.AsyncClient() as client:
            missing = await client.post(url, json=INIT, headers=headers)
            wrong = await client.post(url, json=INIT, headers={**headers, "authorization": "Bearer nope"})
        assert missing.status_code == wrong.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert "Authorization: Bearer <token>" in missing.json()["error_description"]
        assert await _echo_over_mcp(url, {"Authorization": f"Bearer {token}"}) == "over http"


@pytest.mark.anyio
async def test_the_bearer_scheme_is_case_insensitive():
    """RFC 7235: the auth scheme is case-insensitive; the token itself is not."""
    token = new_token()
    async with http_server(token) as url:
        for scheme in ("bearer", "BEARER", "bEaReR"):
            assert await _echo_over_mcp(url, {"Authorization": f"{scheme} {token}"}) == "over http"
        async with httpx.AsyncClient() as client:
            headers = {"accept": "application/json, text/event-stream"}
            upper = await client.post(
                url, json=INIT, headers={**headers, "authorization": f"Bearer {token.upper()}"}
            )
            basic = await client.post(url, json=INIT, headers={**headers, "authorization": f"Basic {token}"})
        assert upper.status_code == basic.status_code == 401


@pytest.mark.anyio
async def test_without_a_token_configured_no_header_is_needed():
    async with http_server(None) as url:
        assert await _echo_over_mcp(url, {}) == "over http"


@pytest.mark.anyio
async def test_each_http_session_keeps_its_own_log_level(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG, logger="agentkit")

    async def session_logs(url: str, level: str | None) -> list[str]:
        received: list[str] = []

        async def on_log(params: Any) -> None:
            received.append(f"{params.level}: {params.data}")

        async with streamable_http_client(url) as (read, write, *_):
            async with ClientSession(read, write, logging_callback=on_log) as session:
                await session.initialize()
                if level:
                    await session.set_logging_level(level)
                await session.call_tool("echo", {"text": "x"})
        return received

    async with http_server(None) as url:
        quiet = await session_logs(url, "warning")
        default = await session_logs(url, None)
    assert quiet == ["warning: echo warning"]
    assert default == ["info: echo info", "warning: echo warning"]


def test_a_taken_port_is_a_clear_error():
    first = bind_local(0)
    first.listen()
    try:
        with pytest.raises(OSError, match="pick another --port"):
            bind_local(first.getsockname()[1])
    finally:
        first.close()
