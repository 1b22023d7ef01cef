"""``python -m agentkit_mcp_servers.web_search``: agentkit's built-in ``web_search`` tool as an MCP server over stdio,
or with ``--http`` over HTTP on 127.0.0.1 (streamable HTTP at ``/mcp``, SSE at ``/sse``, behind a bearer
token as ``agentkit mcp --http``).

Tool options are those of a task's ``tools: [{name: web_search, ...}]`` entry, given as
``--option KEY=VALUE`` (JSON values such as ``5`` or ``true`` as such, the rest as text). Logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

SERVER_NAME = "agentkit-web-search"
DEFAULT_PORT = 8766


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """``["max_results=5", "region=de-de"]`` -> ``{"max_results": 5, "region": "de-de"}``.

    A value that reads as JSON (``5``, ``true``, ``[...]``) is taken as such, anything else as text (so
    ``safesearch=off`` stays the word ``off``)."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--option {pair!r}: write KEY=VALUE, e.g. --option max_results=5")
        try:
            options[key.strip()] = json.loads(value)
        except ValueError:
            options[key.strip()] = value
    return options


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m agentkit_mcp_servers.web_search",
        description="Serve agentkit's web_search tool over MCP (stdio, or HTTP with --http).",
    )
    from agentkit_mcp_servers.http_cli import add_http_arguments

    add_http_arguments(parser, default_port=DEFAULT_PORT)
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a web_search option, as in a task's tools: entry (repeatable)",
    )
    parser.add_argument("--log-level", default="warning", choices=("debug", "info", "warning", "error"))
    return parser


def main(argv: list[str] | None = None) -> int:
    from agentkit_mcp_servers.http_cli import check_http_flags

    args = build_parser().parse_args(argv)
    problem = check_http_flags(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        options = parse_options(args.option)
        from agentkit_tools import builtin_tool

        tool = builtin_tool("web_search", options, base_dir=Path.cwd())
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return serve(tool, log_level=args.log_level, http=args if args.http else None)


def serve(tool: Any, *, log_level: str = "warning", http: argparse.Namespace | None = None) -> int:
    """Serve one web_search tool over stdio until the client closes the connection, or with ``http`` (the
    parsed HTTP flags) over HTTP until Ctrl-C."""
    import anyio

    from agentkit_mcp_servers.transports import configure_stderr_logging, serve_tools

    configure_stderr_logging(log_level)
    try:
        if http is None:
            anyio.run(lambda: serve_tools([tool], name=SERVER_NAME))
        else:
            anyio.run(_serve_http, tool, http, log_level)
    except KeyboardInterrupt:
        pass
    except OSError as exc:  # the port is taken
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


async def _serve_http(tool: Any, args: argparse.Namespace, log_level: str) -> None:
    from agentkit_mcp_servers.adapter import tool_server
    from agentkit_mcp_servers.http_cli import resolve_token, serving_line
    from agentkit_mcp_servers.transports import serve_http

    token, generated = resolve_token(args)
    port = DEFAULT_PORT if args.port is None else args.port

    def ready(url: str) -> None:
        print(f"{SERVER_NAME}: {serving_line(url, token, generated)}", file=sys.stderr, flush=True)

    await serve_http(
        tool_server([tool], name=SERVER_NAME), port=port, token=token, on_ready=ready, log_level=log_level
    )


if __name__ == "__main__":
    sys.exit(main())
