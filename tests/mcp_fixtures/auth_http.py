"""An SDK ``MCPServer`` over streamable HTTP behind a bearer-token check, served in-process on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp_fixtures.peers import free_port


def guarded_app(token: str):
    server = MCPServer("auth-check")

    @server.tool()
    def whoami(ctx: Context) -> str:
        """The Authorization header this request carried."""
        return (ctx.headers or {}).get("authorization", "none")

    inner = server.streamable_http_app()

    async def app(scope, receive, send):
        if (
            scope["type"] == "http"
            and dict(scope["headers"]).get(b"authorization") != f"Bearer {token}".encode()
        ):
            await send(
                {"type": "http.response.start", "status": 401, "headers": [(b"content-type", b"text/plain")]}
            )
            await send({"type": "http.response.body", "body": b"missing or wrong bearer token"})
            return
        await inner(scope, receive, send)

    return app


@asynccontextmanager
async def serving(token: str) -> AsyncIterator[str]:
    """Yields the server's /mcp URL while it runs."""
    port = free_port()
    config = uvicorn.Config(
        guarded_app(token), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        with anyio.fail_after(10):
            while not server.started:
                await anyio.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            server.should_exit = True
