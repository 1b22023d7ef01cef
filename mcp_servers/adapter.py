"""Any agentkit ``Tool`` as an MCP tool, on the SDK's low-level server so JSON schemas pass through as is.

A tool's optional ``output_schema`` and ``annotations`` are listed with it. A call gets progress (``ctx.report_progress`` becomes ``notifications/progress`` when the client sent a
progress token), the connection's log level (``logging/setLevel``; see ``client_log``), and an error
result rather than a protocol error when the tool fails or required arguments are missing.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from contextvars import ContextVar
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import mcp.types as types
from mcp.server import Server, ServerRequestContext
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError

from agentkit.tooling.base import Tool, ToolContext, ToolResult
from agentkit_mcp_servers.client_log import ClientLevels, forward_logs, install_forwarding
from agentkit_mcp_servers.results import to_call_result

# `logging/setLevel` is deprecated from protocol 2026-07-28 on, but the IDE clients of today speak the
# handshake versions where it is the way to ask for logs; serving it is deliberate.
warnings.filterwarnings("ignore", category=MCPDeprecationWarning, module=r"mcp_servers\.")

log = logging.getLogger("mcp_servers")

_request: ContextVar[ServerRequestContext[Any, Any] | None] = ContextVar("mcp_servers_request", default=None)


_active: list[ServerRequestContext[Any, Any]] = []


def current_request() -> ServerRequestContext[Any, Any] | None:
    """The MCP request whose tool call this task is serving (to ask the client something).

    Outside such a task (a callback of another connection, say), the one call in progress if there is
    exactly one, else None."""
    ctx = _request.get()
    if ctx is None and len(_active) == 1:
        return _active[0]
    return ctx


def agentkit_version() -> str:
    try:
        return version("agentkit")
    except PackageNotFoundError:
        return "0"


def _listed(tool: Tool) -> types.Tool:
    """The tool as ``tools/list`` shows it; a tool may also carry ``output_schema`` (its results'
    ``structured`` then matches it) and ``annotations`` (MCP's behaviour hints, camelCase keys)."""
    hints = getattr(tool, "annotations", None)
    return types.Tool(
        name=tool.name,
        description=tool.description or None,
        input_schema=tool.parameters,
        output_schema=getattr(tool, "output_schema", None),
        annotations=types.ToolAnnotations.model_validate(hints) if hints else None,
    )


def tool_server(
    tools: Sequence[Tool], *, name: str = "agentkit", instructions: str | None = None
) -> Server[Any]:
    """A low-level MCP ``Server`` offering ``tools`` (names must be unique)."""
    by_name: dict[str, Tool] = {}
    for tool in tools:
        if tool.name in by_name:
            raise ValueError(
                f"two tools are named {tool.name!r}; MCP tool names must be unique on one server"
            )
        by_name[tool.name] = tool
    listing = [_listed(t) for t in tools]
    levels = ClientLevels()
    install_forwarding()

    async def list_tools(ctx: ServerRequestContext[Any, Any], params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listing)

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        tool = by_name.get(params.name)
        if tool is None:
            raise MCPError(
                types.INVALID_PARAMS,
                f"unknown tool {params.name!r}; this server offers: {', '.join(by_name)}",
            )
        arguments = dict(params.arguments or {})
        missing = [key for key in tool.parameters.get("required", ()) if key not in arguments]
        if missing:
            return to_call_result(
                ToolResult.error(
                    f"{tool.name}: missing required argument(s): {', '.join(map(repr, missing))}"
                )
            )
        tool_ctx = ToolContext(call_id=str(ctx.request_id or ""), progress=ctx.session.report_progress)
        token = _request.set(ctx)
        _active.append(ctx)
        try:
            async with forward_logs(ctx, levels.get(ctx)):
                try:
                    result = await tool.call(arguments, tool_ctx)
                except Exception as exc:
                    log.exception("tool %s failed", tool.name)
                    result = ToolResult.error(f"{tool.name} failed: {type(exc).__name__}: {exc}")
        finally:
            _request.reset(token)
            _active.remove(ctx)
        return to_call_result(result)

    async def set_level(
        ctx: ServerRequestContext[Any, Any], params: types.SetLevelRequestParams
    ) -> types.EmptyResult:
        levels.set(ctx, params.level)
        log.debug("client log level set to %s", params.level)
        return types.EmptyResult()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        return Server(
            name,
            version=agentkit_version(),
            instructions=instructions,
            on_list_tools=list_tools,
            on_call_tool=call_tool,
            on_set_logging_level=set_level,
        )
