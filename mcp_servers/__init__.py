"""agentkit's own MCP servers, for IDEs and any other MCP client.

- ``python -m mcp_servers.web_search``: the built-in ``web_search`` tool over stdio.
- ``python -m agentkit mcp task.yaml``: a task's agent as one MCP tool (stdio, or streamable HTTP with a
  bearer token); see ``agentkit.mcp_serve``.
- ``tool_server(tools)`` / ``serve_tools(tools)``: any agentkit ``Tool`` over MCP, its JSON schema as is.

The ``mcp`` SDK is imported on first use.
"""

from typing import Any

_EXPORTS = {
    "tool_server": "mcp_servers.adapter",
    "current_request": "mcp_servers.adapter",
    "serve_tools": "mcp_servers.transports",
    "serve_stdio": "mcp_servers.transports",
    "serve_http": "mcp_servers.transports",
    "http_app": "mcp_servers.transports",
    "new_token": "mcp_servers.auth",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mcp_servers' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
