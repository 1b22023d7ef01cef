"""agentkit as a client of any MCP server: config parsing and one ``ToolProvider`` per server.

``agentkit.mcp.config`` imports nothing heavy; the provider (and the ``mcp`` SDK) load on first use.
"""

from typing import Any

from agentkit.mcp.config import ServerConfig, parse_servers

__all__ = [
    "MCPServerProvider",
    "MCPStartError",
    "MCPTool",
    "ServerConfig",
    "parse_servers",
    "providers_from_config",
]

_LAZY = {"MCPServerProvider", "MCPStartError", "MCPTool", "providers_from_config"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from agentkit.mcp import provider

        return getattr(provider, name)
    raise AttributeError(f"module 'agentkit.mcp' has no attribute {name!r}")
