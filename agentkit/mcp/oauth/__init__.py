"""OAuth 2.1 sign-in to MCP servers (the ``mcp`` SDK's client, with agentkit's storage and loopback redirect).

``agentkit.mcp.oauth.settings`` imports nothing heavy; ``flow`` loads the SDK's auth client.
"""

from agentkit.mcp.oauth.settings import NO_OAUTH, OAuthSettings, parse_auth

__all__ = ["NO_OAUTH", "OAuthSettings", "parse_auth"]
