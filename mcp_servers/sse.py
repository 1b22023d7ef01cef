"""The legacy HTTP+SSE transport (protocol 2024-11-05) next to streamable HTTP, for clients that still speak
it (Qwen Code and Gemini CLI read a ``url`` entry as SSE): ``GET /sse`` opens the event stream, whose first
event names the message endpoint (``/messages/?session_id=…``) the client POSTs to.

Both endpoints pass the same Host/Origin checks as ``/mcp``; the bearer token is checked around the whole
app (``agentkit_mcp_servers.auth``)."""

from __future__ import annotations

from typing import Any

from mcp.server.sse import SseServerTransport
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

SSE_PATH = "/sse"
MESSAGES_PATH = "/messages/"


def sse_routes(server: Any, security: TransportSecuritySettings) -> list[Any]:
    """Starlette routes serving ``server`` over SSE: ``GET /sse`` and ``POST /messages/``."""
    transport = SseServerTransport(MESSAGES_PATH, security_settings=security)
    return [
        Route(SSE_PATH, endpoint=_EventStream(server, transport, security)),
        Mount(MESSAGES_PATH, app=transport.handle_post_message),
    ]


class _EventStream:
    """ASGI endpoint of ``GET /sse``: one MCP session per open stream."""

    def __init__(self, server: Any, transport: SseServerTransport, security: TransportSecuritySettings):
        self.server = server
        self.transport = transport
        self.checks = TransportSecurityMiddleware(security)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["method"] != "GET":
            refused: Response | None = Response(
                f"{SSE_PATH} takes GET (the event stream); POST messages to the endpoint it announces",
                status_code=405,
                headers={"Allow": "GET"},
            )
        else:  # a foreign Host or Origin (DNS rebinding) is refused here
            refused = await self.checks.validate_request(Request(scope, receive), is_post=False)
        if refused is not None:
            await refused(scope, receive, send)
            return
        async with self.transport.connect_sse(scope, receive, send) as (read, write):
            await self.server.run(read, write, self.server.create_initialization_options())
