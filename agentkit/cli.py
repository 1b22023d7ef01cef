"""``python -m agentkit``: run a task, serve a model, or serve an agent over MCP. Imports stay lazy."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
from typing import Any


def _run_parser(sub: Any) -> None:
    p = sub.add_parser(
        "run", help="run an agent task described in YAML", description="Run an agent task (task.yaml)."
    )
    p.add_argument("task", help="path to task.yaml")
    p.add_argument("--prompt", help="the user prompt (overrides the task's prompt:)")
    p.add_argument(
        "--json", action="store_true", help="print one JSON object with output, messages, steps, usage"
    )
    p.add_argument("--trace", metavar="FILE", help="write every request, response and tool event as JSONL")
    p.add_argument("--yes", action="store_true", help="approve every tool call that asks for approval")
    p.add_argument("--quiet", action="store_true", help="no live view on stderr")
    p.add_argument("--keep", action="store_true", help="keep a model server this run launched running")


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m agentkit",
        description="agentkit: agents on your own Qwen3 (vLLM/SGLang), native tool-call parsing, MCP.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _run_parser(sub)
    serve = sub.add_parser(
        "serve", help="plan and launch vLLM/SGLang for a model", description="Serve a model."
    )
    mcp = sub.add_parser(
        "mcp", help="serve a task's agent as an MCP server", description="Serve an agent over MCP."
    )
    batch = sub.add_parser(
        "batch",
        help="run a task over many items (JSONL, CSV, Parquet), resumable",
        description="Run a task over many items; each finished item is one JSON line in the output.",
    )
    command = argv[0] if argv else None
    if command == "batch":
        from agentkit.batching.cli import add_batch_arguments

        add_batch_arguments(batch)
    if command == "serve":
        from agentkit.serving.cli import add_serve_arguments

        add_serve_arguments(serve)
    if command == "mcp":
        from agentkit.mcp_serve import add_mcp_arguments

        add_mcp_arguments(mcp)
    return parser


_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def _shown_arguments(arguments: dict[str, Any]) -> str:
    """The arguments in full as JSON, with control and invisible (bidi, zero-width) characters escaped."""
    text = json.dumps(arguments, ensure_ascii=False)
    return _INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _terminal_approver(console: Any, view: Any, readline: Any = None) -> Any:
    """Ask on the terminal before each call marked `approval: ask`: the whole call, shown verbatim."""
    import anyio
    from rich.text import Text

    from agentkit.tooling.threads import run_blocking

    lock = anyio.Lock()  # one question at a time, so each answer goes to the call it was asked about
    readline = readline or sys.stdin.readline

    async def approve(name: str, arguments: dict[str, Any]) -> bool:
        async with lock:
            if view is not None:
                view.notice(f"approval needed: the task says `approval: ask` for {name}")
            console.print(
                Text.assemble(
                    (f"Allow {name}(", "bold yellow"),
                    _shown_arguments(arguments),
                    (")? [y/N] ", "bold yellow"),
                ),
                end="",
            )
            answer = await run_blocking(readline)
            return answer.strip().lower() in ("y", "yes")

    return approve


def run_command(args: argparse.Namespace) -> int:
    import anyio

    from agentkit.config import TaskError, load_task

    try:
        task = load_task(args.task)
    except TaskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    prompt = args.prompt or task.prompt
    if not prompt:
        print(
            f"error: {args.task}: no prompt: add `prompt: ...` to the task or pass --prompt TEXT",
            file=sys.stderr,
        )
        return 2
    from rich.console import Console

    from agentkit.display import LiveView
    from agentkit.llm.errors import LLMError
    from agentkit.runtime import open_agent

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    view = None if args.quiet else LiveView(console)
    notices: list[str] = []

    def notice(line: str) -> None:
        notices.append(line)
        if view:
            view.notice(line)
        else:
            print(line, file=sys.stderr)

    approve: Any = None
    if args.yes:
        approve = lambda name, arguments: True  # noqa: E731
    elif sys.stdin.isatty():
        approve = _terminal_approver(console, view)
    elicit = None
    if task.mcp_servers:  # MCP servers' questions for the user: asked here, or refused without a terminal
        from agentkit.mcp.elicitation import terminal_elicitation

        elicit = terminal_elicitation(console, interactive=sys.stdin.isatty())
    tracer = None
    if args.trace:
        from agentkit.trace import Tracer

        tracer = Tracer(args.trace)

    async def main() -> Any:
        async with open_agent(
            task,
            approve=approve,
            tracer=tracer,
            allow_simulation=True,
            notice=notice,
            elicitation_handler=elicit,
            keep_server=args.keep,
        ) as agent:
            return await agent.run(prompt, on_event=view)

    signal.signal(signal.SIGTERM, _terminate_as_ctrl_c)
    try:
        result = anyio.run(main)
    except KeyboardInterrupt:
        print("\ninterrupted: every tool and server this run started has been stopped", file=sys.stderr)
        return 130
    except LLMError as exc:  # no model to run with (nothing answers, no server could start)
        print(f"error: {exc}", file=sys.stderr)
        if args.json:  # still the one JSON object the caller parses
            from agentkit.agent.records import RunResult

            failed = RunResult("", "error", [{"role": "user", "content": prompt}], [], str(exc))
            print(json.dumps({**failed.to_json(), "simulated": False}, ensure_ascii=False))
        return 1
    except TaskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if tracer:
            tracer.close()
    if args.json:
        payload = result.to_json()
        payload["simulated"] = any(line.startswith("SIMULATION") for line in notices)
        print(json.dumps(payload, ensure_ascii=False))
    elif result.output or result.status == "completed":
        print(result.output)
    if result.status != "completed" and view is None:
        print(f"error: {result.error}", file=sys.stderr)
    return 0 if result.status == "completed" else 1


def _terminate_as_ctrl_c(signum: int, frame: Any) -> None:
    """SIGTERM cleans up as Ctrl-C does: through the event loop's SIGINT handler, or a KeyboardInterrupt
    where SIGINT is ignored (a background job of a script) or left at its default."""
    handler = signal.getsignal(signal.SIGINT)
    if not callable(handler):
        raise KeyboardInterrupt
    handler(signal.SIGINT, frame)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return _dispatch(parser, args)
    except BrokenPipeError:  # the reader went away (`... | head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command == "run":
        return run_command(args)
    if args.command == "serve":
        from agentkit.serving.cli import serve_main

        return serve_main(args)
    if args.command == "batch":
        from agentkit.batching.cli import batch_main

        return batch_main(args)
    if args.command == "mcp":
        from agentkit.mcp_serve import mcp_main

        return mcp_main(args)
    parser.print_help()
    return 0
