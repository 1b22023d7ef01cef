"""``python -m agentkit mcp task.yaml``: a task's agent served as one MCP tool, over stdio or HTTP (streamable
HTTP at ``/mcp`` and the legacy SSE transport at ``/sse``, on one port).

stdio: stdout carries the protocol, every log line goes to stderr. HTTP: bound to 127.0.0.1 and, unless
``--no-auth``, every request must carry ``Authorization: Bearer <token>`` (``--token``, else
``$AGENTKIT_MCP_TOKEN``, else a generated one printed on stderr).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

DEFAULT_PORT = 8765
LOG_LEVELS = ("debug", "info", "warning", "error")


def add_mcp_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``mcp`` subcommand's arguments."""
    from agentkit_mcp_servers.http_cli import add_http_arguments

    parser.add_argument("task", help="path to task.yaml")
    add_http_arguments(parser, default_port=DEFAULT_PORT)
    parser.add_argument("--tool-name", default="run_agent", help="the tool's name (default run_agent)")
    parser.add_argument("--description", help="the tool's description (default: built from the task)")
    parser.add_argument(
        "--yes",
        action="store_true",
        help="approve every tool call marked `approval: ask` (default: ask the MCP client's user via elicitation)",
    )
    parser.add_argument(
        "--log-level", default="warning", choices=LOG_LEVELS, help="stderr log level (default warning)"
    )


def _check(args: argparse.Namespace) -> str | None:
    """What is wrong with the flags, or None."""
    from agentkit_mcp_servers.http_cli import check_http_flags

    problem = check_http_flags(args)
    if problem:
        return problem
    from agentkit_mcp_servers.agent_tool import check_tool_name

    try:
        check_tool_name(args.tool_name)
    except ValueError as exc:
        return f"--tool-name: {exc}"
    return None


def mcp_main(args: argparse.Namespace) -> int:
    """Serve the task's agent until the client disconnects (stdio) or Ctrl-C (HTTP). Returns an exit code."""
    problem = _check(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    from agentkit.config import TaskError, load_task, resolve_tools

    try:
        task = load_task(args.task)
        tools = resolve_tools(task)  # every tool entry checked before a model or simulation is chosen
    except TaskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    import anyio

    from agentkit.llm.errors import LLMError
    from agentkit_mcp_servers.transports import configure_stderr_logging

    configure_stderr_logging(args.log_level)
    try:
        anyio.run(_serve, args, task, tools)
    except KeyboardInterrupt:
        return 0
    except Exception as exc:
        leaf = _leaf(exc)  # the stdio transport's task group wraps what fails inside it
        if not isinstance(leaf, (LLMError, TaskError, OSError)):
            raise
        print(f"error: {leaf}", file=sys.stderr)
        return 2 if isinstance(leaf, TaskError) else 1
    return 0


def _leaf(exc: BaseException) -> BaseException:
    """The single exception inside (nested) exception groups, else ``exc`` itself."""
    while len(getattr(exc, "exceptions", ())) == 1:
        exc = exc.exceptions[0]  # type: ignore[attr-defined]
    return exc


def _say(line: str) -> None:
    print(f"agentkit mcp: {line}", file=sys.stderr, flush=True)


async def _serve(args: argparse.Namespace, task: Any, tools: Any) -> None:
    from contextlib import AsyncExitStack

    from agentkit.runtime import open_agent
    from agentkit_mcp_servers.adapter import tool_server
    from agentkit_mcp_servers.agent_tool import AgentTool, describe_agent
    from agentkit_mcp_servers.client_questions import ask_approval, forward_elicitation
    from agentkit_mcp_servers.http_cli import resolve_token, serving_line
    from agentkit_mcp_servers.transports import serve_http

    simulation: list[str] = []

    def notice(line: str) -> None:
        if line.startswith("SIMULATION"):  # the model is a scripted replay: every answer will say so
            simulation.append(line)
        _say(line)

    async with AsyncExitStack() as stack:
        streams = None
        if not args.http:  # claim stdout first: nothing the agent's start prints may reach the protocol
            from mcp.server.stdio import stdio_server

            streams = await stack.enter_async_context(stdio_server())
        agent = await stack.enter_async_context(
            open_agent(
                task,
                approve=(lambda name, arguments: True) if args.yes else ask_approval,
                allow_simulation=True,
                notice=notice,
                elicitation_handler=forward_elicitation,
                tools=tools,
            )
        )
        tool = AgentTool(
            agent,
            name=args.tool_name,
            description=args.description or describe_agent(agent, task.model.name),
            simulated=bool(simulation),
        )
        server = tool_server([tool], name="agentkit-agent", instructions=tool.description)
        if streams is not None:
            read, write = streams
            await server.run(read, write, server.create_initialization_options())
            return
        token, generated = resolve_token(args)

        def ready(url: str) -> None:
            _say(serving_line(url, token, generated))

        port = DEFAULT_PORT if args.port is None else args.port
        await serve_http(server, port=port, token=token, on_ready=ready, log_level=args.log_level)
