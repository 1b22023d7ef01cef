"""HTTP serving on 127.0.0.1 (``agentkit_mcp_servers.transports``): streamable HTTP at /mcp and SSE at /sse, the
bearer token required on both, the same Host/Origin checks, and the SDK's real clients working with it;
no OAuth metadata (404 with the bearer hint); without a token configured, no header is needed."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from mcp.client.session import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from agentkit.tooling.base import ToolContext, ToolResult
from agentkit_mcp_servers.adapter import tool_server
from agentkit_mcp_servers.auth import new_token
from agentkit_mcp_servers.transports import bind_local, serve_http, sse_url

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
        # RFC 6750 3.1: no error code without credentials; no resource_metadata (this is no OAuth server)
        assert missing.headers["www-authenticate"] == 'Bearer realm="agentkit"'
        assert wrong.headers["www-authenticate"].startswith('Bearer realm="agentkit", error="invalid_token"')
        assert "Authorization: Bearer <token>" in missing.json()["error_description"]
        assert "Authorization: Bearer <token>" in wrong.json()["error_description"]
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
async def test_oauth_discovery_finds_no_metadata_and_the_bearer_hint():
    """A client that tries OAuth after the 401 gets 404 (without a token) on every document and endpoint
    it probes, each saying what to send instead; the metadata is not hidden behind the token either."""
    async with http_server(new_token()) as url:
        base = url.removesuffix("/mcp")
        async with httpx.AsyncClient() as client:
            for path in (
                "/.well-known/oauth-protected-resource",
                "/.well-known/oauth-protected-resource/mcp",
                "/.well-known/oauth-authorization-server",
                "/.well-known/openid-configuration",
                "/mcp/.well-known/openid-configuration",
                "/register",
                "/authorize",
                "/token",
            ):
                answer = await client.get(base + path)
                assert answer.status_code == 404, path
                assert "www-authenticate" not in answer.headers
                assert "does not use OAuth" in answer.json()["error_description"]
                assert "Authorization: Bearer <token>" in answer.json()["error_description"]


async def _echo_over_sse(url: str, headers: dict[str, str]) -> str:
    async with sse_client(url, headers=headers) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            result = await session.call_tool("echo", {"text": "over sse"})
            return result.content[0].text


@pytest.mark.anyio
async def test_sse_is_served_next_to_streamable_http_behind_the_same_checks():
    token = new_token()
    async with http_server(token) as url:
        sse = sse_url(url)
        assert sse == url.removesuffix("/mcp") + "/sse"
        good = {"Authorization": f"Bearer {token}"}
        assert await _echo_over_sse(sse, good) == "over sse"
        assert await _echo_over_mcp(url, good) == "over http"  # both transports on one port
        async with httpx.AsyncClient() as client:
            assert (await client.get(sse)).status_code == 401
            posted = await client.post(url.removesuffix("/mcp") + "/messages/?session_id=0", json=INIT)
            assert posted.status_code == 401  # the message endpoint needs the token too
            foreign = await client.get(sse, headers={**good, "origin": "http://evil.example"})
            assert foreign.status_code == 403  # DNS-rebinding protection, as on /mcp
            rebound = await client.get(sse, headers={**good, "host": "evil.example"})
            assert rebound.status_code == 421
            assert (await client.post(sse, json=INIT, headers=good)).status_code == 405


@pytest.mark.anyio
async def test_without_a_token_configured_no_header_is_needed():
    async with http_server(None) as url:
        assert await _echo_over_mcp(url, {}) == "over http"
        assert await _echo_over_sse(sse_url(url), {}) == "over sse"


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
