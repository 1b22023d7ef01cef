"""``python -m mcp_servers.web_search``: agentkit's built-in ``web_search`` tool as an MCP server over stdio.

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
        prog="python -m mcp_servers.web_search",
        description="Serve agentkit's web_search tool over MCP (stdio).",
    )
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
    args = build_parser().parse_args(argv)
    try:
        options = parse_options(args.option)
        from tools import builtin_tool

        tool = builtin_tool("web_search", options, base_dir=Path.cwd())
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return serve(tool, log_level=args.log_level)


def serve(tool: Any, *, log_level: str = "warning") -> int:
    """Serve one web_search tool over stdio until the client closes the connection."""
    import anyio

    from mcp_servers.transports import configure_stderr_logging, serve_tools

    configure_stderr_logging(log_level)
    try:
        anyio.run(lambda: serve_tools([tool], name=SERVER_NAME))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
