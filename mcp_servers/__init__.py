"""agentkit's own MCP servers, for IDEs and any other MCP client.

- ``python -m agentkit_mcp_servers.web_search``: the built-in ``web_search`` tool over stdio.
- ``python -m agentkit mcp task.yaml``: a task's agent as one MCP tool (stdio, or streamable HTTP with a
  bearer token); see ``agentkit.mcp_serve``.
- ``tool_server(tools)`` / ``serve_tools(tools)``: any agentkit ``Tool`` over MCP, its JSON schema as is.

The ``mcp`` SDK is imported on first use.
"""

from typing import Any

_EXPORTS = {
    "tool_server": "agentkit_mcp_servers.adapter",
    "current_request": "agentkit_mcp_servers.adapter",
    "serve_tools": "agentkit_mcp_servers.transports",
    "serve_stdio": "agentkit_mcp_servers.transports",
    "serve_http": "agentkit_mcp_servers.transports",
    "http_app": "agentkit_mcp_servers.transports",
    "new_token": "agentkit_mcp_servers.auth",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'agentkit_mcp_servers' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
