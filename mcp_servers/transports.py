"""Serving an MCP server: over stdio (stdout is the protocol, logs go to stderr), or over HTTP on 127.0.0.1
behind a bearer token: streamable HTTP at ``/mcp`` and the legacy SSE transport at ``/sse`` on one port."""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Callable, Sequence
from typing import Any

import anyio

from agentkit.tooling.base import Tool
from agentkit_mcp_servers.auth import BearerAuth

HOST = "127.0.0.1"
PATH = "/mcp"
log = logging.getLogger("mcp_servers")


def configure_stderr_logging(level: str = "warning") -> None:
    """Log to stderr only (on stdio, stdout carries the protocol), at ``level``.

    agentkit's own loggers are opened to every level so that a client asking for ``debug`` through
    ``logging/setLevel`` gets it; the stderr handler keeps ``level``."""
    from agentkit_mcp_servers.client_log import FORWARDED_LOGGERS

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    handler.setLevel(level.upper())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in FORWARDED_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)


async def serve_stdio(server: Any) -> None:
    """Serve ``server`` on this process's stdin/stdout until the client closes stdin."""
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def local_only() -> Any:
    """DNS-rebinding protection: the Host and any Origin must name this machine (as the SDK does on
    loopback), for every transport alike."""
    from mcp.server.transport_security import TransportSecuritySettings

    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
    )


def http_app(server: Any, *, token: str | None) -> Any:
    """The ASGI app: streamable HTTP at ``/mcp`` and SSE at ``/sse`` (messages to ``/messages/``), behind
    ``BearerAuth`` unless ``token`` is None."""
    from agentkit_mcp_servers.sse import sse_routes

    security = local_only()
    app = server.streamable_http_app(
        streamable_http_path=PATH,
        host=HOST,
        transport_security=security,
        custom_starlette_routes=sse_routes(server, security),
    )
    return app if token is None else BearerAuth(app, token)


async def serve_http(
    server: Any,
    *,
    port: int,
    token: str | None,
    on_ready: Callable[[str], None] | None = None,
    log_level: str = "warning",
) -> None:
    """Serve over HTTP until interrupted: streamable HTTP at ``http://127.0.0.1:<port>/mcp``, SSE at
    ``…/sse``.

    ``port`` 0 picks a free port; ``on_ready`` gets the ``/mcp`` URL once the socket listens."""
    import uvicorn

    sock = bind_local(port)
    url = f"http://{HOST}:{sock.getsockname()[1]}{PATH}"
    config = uvicorn.Config(
        http_app(server, token=token), log_level=log_level, lifespan="on", log_config=None
    )
    web = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:

        async def run() -> None:
            try:
                await web.serve(sockets=[sock])
            finally:
                sock.close()
                tg.cancel_scope.cancel()

        tg.start_soon(run)
        while not web.started:
            await anyio.sleep(0.02)
        if on_ready is not None:
            on_ready(url)


def sse_url(url: str) -> str:
    """The SSE endpoint next to the streamable-HTTP ``url`` (``…/mcp`` becomes ``…/sse``)."""
    from agentkit_mcp_servers.sse import SSE_PATH

    return url.removesuffix(PATH) + SSE_PATH


def bind_local(port: int) -> socket.socket:
    """A TCP socket bound to 127.0.0.1:``port`` (0: any free port), with a clear error when taken."""
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} is out of range; pick 1-65535 (or 0 for any free port)")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {HOST}:{port} ({exc.strerror}); pick another --port") from None
    return sock


async def serve_tools(
    tools: Sequence[Tool],
    *,
    name: str = "agentkit",
    instructions: str | None = None,
    http: bool = False,
    port: int = 0,
    token: str | None = None,
) -> None:
    """Serve agentkit tools over MCP: stdio by default, or HTTP (streamable at ``/mcp``, SSE at ``/sse``;
    ``token`` None: no auth)."""
    from agentkit_mcp_servers.adapter import tool_server

    server = tool_server(tools, name=name, instructions=instructions)
    if http:
        await serve_http(
            server,
            port=port,
            token=token,
            on_ready=lambda url: log.warning("serving %s (SSE: %s)", url, sse_url(url)),
        )
    else:
        await serve_stdio(server)
