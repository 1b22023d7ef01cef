"""The HTTP flags every agentkit MCP server takes (``--http``, ``--port``, ``--token``, ``--no-auth``), their
checks, the token to require, and the line that tells the user where the server listens."""

from __future__ import annotations

import argparse
import os

TOKEN_ENV = "AGENTKIT_MCP_TOKEN"


def add_http_arguments(parser: argparse.ArgumentParser, *, default_port: int) -> None:
    parser.add_argument(
        "--http",
        action="store_true",
        help="serve HTTP on 127.0.0.1 instead of stdio: streamable HTTP at /mcp, SSE at /sse",
    )
    parser.add_argument("--port", type=int, help=f"HTTP port (default {default_port}; 0 picks a free one)")
    parser.add_argument(
        "--token",
        help=f"bearer token HTTP clients must send (default ${TOKEN_ENV}, else generated and printed)",
    )
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="HTTP without a token: only for local tests (conformance suite)",
    )


def check_http_flags(args: argparse.Namespace) -> str | None:
    """What is wrong with the HTTP flags, or None."""
    if not args.http:
        for flag, given in (
            ("--port", args.port is not None),
            ("--token", args.token),
            ("--no-auth", args.no_auth),
        ):
            if given:
                return f"{flag} applies to HTTP only; add --http (without it the server speaks stdio)"
    if args.token is not None and args.no_auth:
        return "--token and --no-auth contradict each other; keep one"
    if args.token is not None and not args.token.strip():
        return "--token is empty; give a token or leave it out to have one generated"
    return None


def resolve_token(args: argparse.Namespace) -> tuple[str | None, bool]:
    """The token to require (None: no auth) and whether it was generated here."""
    if args.no_auth:
        return None, False
    given = args.token or os.environ.get(TOKEN_ENV)
    if given:
        return given, False
    from agentkit_mcp_servers.auth import new_token

    return new_token(), True


def serving_line(url: str, token: str | None, generated: bool) -> str:
    """Where the server listens (both transports) and what clients must send; a given token is not shown."""
    from agentkit_mcp_servers.transports import sse_url

    where = f"serving {url} (streamable HTTP) and {sse_url(url)} (SSE)"
    if token is None:
        return f"{where} WITHOUT authentication (--no-auth)"
    if generated:
        return f"{where}; clients must send the header 'Authorization: Bearer {token}'"
    return f"{where}; clients must send 'Authorization: Bearer <your token>'"
