"""agentkit tools served over MCP (``agentkit_mcp_servers.adapter``), checked with the SDK's real client session
over in-memory streams: listing, schemas as is, results, attachments, errors, progress and log levels."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Any

import anyio
import mcp.types as types
import pytest
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError
from mcp.shared.memory import create_client_server_memory_streams

from agentkit.tooling.base import ToolContext, ToolResult
from agentkit_mcp_servers.adapter import current_request, tool_server

pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
log = logging.getLogger("agentkit.test_tool")


class FakeTool:
    def __init__(self, name: str, parameters: dict[str, Any], behaviour: Any):
        self.name, self.parameters, self.behaviour = name, parameters, behaviour
        self.description = f"the {name} tool"

    async def call(self, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
        return await self.behaviour(arguments, ctx)


async def _echo(arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
    return ToolResult(text=f"echo: {arguments['text']}")


async def _picture(arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
    return ToolResult(
        text="a dot",
        structured={"width": 1},
        attachments=[
            {"type": "image", "mime_type": "image/png", "data": PNG},
            {"type": "resource", "uri": "file:///notes.txt", "mime_type": "text/plain", "text": "hello"},
        ],
    )


async def _hits(arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
    return ToolResult(text="2 hits", structured=["a", "b"])


async def _slow(arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
    for i in range(3):
        log.debug("debug line %d", i)
        log.info("info line %d", i)
        await ctx.report_progress(i + 1, 3, f"part {i + 1}")
    log.warning("almost done")
    return ToolResult(text="slow done")


async def _broken(arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
    raise RuntimeError("disk on fire")


async def _who(arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
    request = current_request()
    return ToolResult(text=f"request {request.request_id}" if request else "none")


NESTED_SCHEMA = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "description": "what to echo"},
        "opts": {
            "type": "object",
            "properties": {"loud": {"type": "boolean"}},
            "additionalProperties": False,
        },
    },
    "required": ["text"],
}
TOOLS = [
    FakeTool("echo", NESTED_SCHEMA, _echo),
    FakeTool("picture", {"type": "object", "properties": {}}, _picture),
    FakeTool("slow", {"type": "object", "properties": {}}, _slow),
    FakeTool("broken", {"type": "object", "properties": {}}, _broken),
    FakeTool("who", {"type": "object", "properties": {}}, _who),
    FakeTool("hits", {"type": "object", "properties": {}}, _hits),
]


@asynccontextmanager
async def connected(logs: list[Any] | None = None):
    server = tool_server(TOOLS, name="test-tools")

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        if logs is not None:
            logs.append((params.level, params.logger, params.data))

    async with create_client_server_memory_streams() as (client_streams, server_streams):
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                lambda: server.run(
                    server_streams[0], server_streams[1], server.create_initialization_options()
                )
            )
            async with ClientSession(*client_streams, logging_callback=on_log) as session:
                init = await session.initialize()
                yield session, init
            tg.cancel_scope.cancel()


@pytest.mark.anyio
async def test_lists_tools_with_schemas_unchanged_and_capabilities():
    async with connected() as (session, init):
        assert init.server_info.name == "test-tools"
        assert init.capabilities.tools is not None and init.capabilities.logging is not None
        listing = (await session.list_tools()).tools
        assert [t.name for t in listing] == ["echo", "picture", "slow", "broken", "who", "hits"]
        assert listing[0].input_schema == NESTED_SCHEMA
        assert listing[0].description == "the echo tool"


@pytest.mark.anyio
async def test_call_returns_text_and_structured_content_and_attachments():
    async with connected() as (session, _):
        echo = await session.call_tool("echo", {"text": "hi"})
        assert not echo.is_error and echo.content[0].text == "echo: hi"
        pic = await session.call_tool("picture", {})
        kinds = [block.type for block in pic.content]
        assert kinds == ["text", "image", "resource"]
        assert pic.content[1].data == PNG and pic.content[1].mime_type == "image/png"
        assert pic.content[2].resource.text == "hello"
        assert pic.structured_content == {"width": 1}
        hits = await session.call_tool("hits", {})
        assert hits.structured_content == {"result": ["a", "b"]}  # structuredContent must be an object


@pytest.mark.anyio
async def test_failures_are_error_results_and_unknown_tools_a_protocol_error():
    async with connected() as (session, _):
        broken = await session.call_tool("broken", {})
        assert broken.is_error and "RuntimeError: disk on fire" in broken.content[0].text
        missing = await session.call_tool("echo", {})
        assert missing.is_error and "missing required argument(s): 'text'" in missing.content[0].text
        with pytest.raises(MCPError) as caught:
            await session.call_tool("nope", {})
        assert caught.value.error.code == types.INVALID_PARAMS
        assert "unknown tool 'nope'" in caught.value.error.message and "echo" in caught.value.error.message


@pytest.mark.anyio
async def test_progress_reaches_the_caller():
    seen: list[tuple[float, float | None, str | None]] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        seen.append((value, total, message))

    async with connected() as (session, _):
        result = await session.call_tool("slow", {}, progress_callback=progress)
    assert result.content[0].text == "slow done"
    assert seen == [(1, 3, "part 1"), (2, 3, "part 2"), (3, 3, "part 3")]


@pytest.mark.anyio
async def test_log_messages_follow_the_level_the_client_sets(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG, logger="agentkit")  # as configure_stderr_logging does in the servers
    logs: list[Any] = []
    async with connected(logs) as (session, _):
        await session.call_tool("slow", {})
        default = list(logs)
        logs.clear()
        await session.set_logging_level("warning")
        await session.call_tool("slow", {})
        warning_only = list(logs)
        logs.clear()
        await session.set_logging_level("debug")
        await session.call_tool("slow", {})
        everything = list(logs)
    assert [level for level, _, _ in default] == ["info"] * 3 + ["warning"]
    assert default[0] == ("info", "agentkit.test_tool", "info line 0")
    assert warning_only == [("warning", "agentkit.test_tool", "almost done")]
    assert [level for level, _, _ in everything].count("debug") == 3


@pytest.mark.anyio
async def test_a_tool_sees_the_request_it_serves():
    async with connected() as (session, _):
        result = await session.call_tool("who", {})
    assert result.content[0].text.startswith("request ")
    assert current_request() is None


def test_duplicate_tool_names_are_refused():
    with pytest.raises(ValueError, match="two tools are named 'echo'"):
        tool_server([TOOLS[0], TOOLS[0]])


def test_the_package_exports_the_functions():
    import agentkit_mcp_servers
    import agentkit_mcp_servers.adapter
    import agentkit_mcp_servers.transports  # noqa: F401  (loaded submodules must not shadow the exports)

    assert agentkit_mcp_servers.tool_server is tool_server
    assert callable(agentkit_mcp_servers.serve_tools) and callable(agentkit_mcp_servers.http_app)
