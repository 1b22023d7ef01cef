"""``python -m agentkit``: run a task, serve a model, or serve an agent over MCP. Imports stay lazy."""

from __future__ import annotations

import argparse
import json
import os
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
    p.add_argument(
        "--trace", metavar="FILE", help="write every request, response and tool event (with timings) as JSONL"
    )
    p.add_argument("--yes", action="store_true", help="approve every tool call that asks for approval")
    p.add_argument("--quiet", action="store_true", help="no live view on stderr")
    p.add_argument(
        "--verbose", action="store_true", help="the details behind each notice (why, and the fixes)"
    )
    p.add_argument("--keep", action="store_true", help="keep a model server this run launched running")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("agentkit")
    except PackageNotFoundError:
        from agentkit import __version__

        return __version__


class _VersionAction(argparse.Action):
    """``--version``, looked up only when asked (package metadata is slow to read at every start)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any):
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        print(f"agentkit {_version()}")
        parser.exit()


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m agentkit",
        description="agentkit: agents on your own Qwen3 (vLLM/SGLang), native tool-call parsing, MCP.",
    )
    parser.add_argument("--version", action=_VersionAction, help="print agentkit's version and exit")
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


def _same_terminal() -> bool:
    """Are stdout and stderr the same terminal (so the answer would be shown twice)?"""
    try:
        if not (os.isatty(1) and os.isatty(2)):
            return False
        out, err = os.fstat(1), os.fstat(2)
    except OSError:
        return False
    return (out.st_rdev, out.st_ino) == (err.st_rdev, err.st_ino)


def _failed_json(prompt: str | None, error: str) -> str:
    """The one JSON object ``--json`` prints when the run could not start (a bad task, no model)."""
    from agentkit.agent.records import RunResult

    messages = [{"role": "user", "content": prompt}] if prompt else []
    failed = RunResult("", "error", messages, [], error)
    return json.dumps({**failed.to_json(), "simulated": False}, ensure_ascii=False)


def _task_problem(args: argparse.Namespace, message: str, prompt: str | None = None) -> int:
    """A bad task file or flag: the message on stderr (and the JSON object with --json), exit code 2."""
    print(f"error: {message}", file=sys.stderr)
    if args.json:
        print(_failed_json(prompt, message))
    return 2


def _load(args: argparse.Namespace) -> tuple[Any, Any, str]:
    """The task, its tools resolved (every entry checked) and the prompt; raises ``TaskError``."""
    from agentkit.config import TaskError, load_task, resolve_tools

    if args.prompt is not None and not args.prompt.strip():
        raise TaskError(
            "--prompt is empty: give the question, or leave --prompt out to use the task's prompt:"
        )
    task = load_task(args.task)
    tools = resolve_tools(task)  # before any model, server or simulation is chosen
    prompt = args.prompt or task.prompt
    if not prompt:
        raise TaskError(f"{args.task}: no prompt: add `prompt: ...` to the task or pass --prompt TEXT")
    return task, tools, prompt


def run_command(args: argparse.Namespace) -> int:
    import anyio
    from rich.console import Console

    from agentkit.config import TaskError
    from agentkit.display import LiveView

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    answer_here = not args.json and _same_terminal() and console.is_terminal
    view = None if args.quiet else LiveView(console, hold_answer=answer_here)
    if view is not None:
        view.waiting("reading the task")  # the status line from the first moment
    try:
        task, tools, prompt = _load(args)
    except TaskError as exc:
        if view is not None:
            view.close()
        return _task_problem(args, str(exc), args.prompt)
    from agentkit.llm.errors import LLMError
    from agentkit.runtime import SimulationNotice, open_agent

    notices: list[str] = []
    other_prompt = args.prompt is not None and args.prompt != task.prompt

    def notice(line: str) -> None:
        notices.append(line)
        lines = [line]
        if isinstance(line, SimulationNotice):
            if view:
                view.simulated = True
            if other_prompt:
                lines.append(
                    "SIMULATION: the answers are scripted for another question, not for your --prompt: "
                    "what follows is a canned answer"
                )
        for text in lines:
            if view:
                view.notice(text)
            else:
                print(text, file=sys.stderr)
        details = getattr(line, "details", "")
        if args.verbose and details:
            if view:
                view.details(details)
            else:
                print(details.rstrip(), file=sys.stderr)

    approve: Any = None
    if args.yes:
        approve = lambda name, arguments: True  # noqa: E731
    elif sys.stdin.isatty():
        from agentkit.terminal_approval import terminal_approver

        approve = terminal_approver(console, view)
    elicit = None
    if task.mcp_servers:  # MCP servers' questions for the user: asked here, or refused without a terminal
        from agentkit.mcp.elicitation import terminal_elicitation

        elicit = terminal_elicitation(console, interactive=sys.stdin.isatty())
        if view is not None:
            elicit = view.pausing(elicit)
    tracer = None
    if args.trace:
        from agentkit.trace import Tracer

        try:
            tracer = Tracer(args.trace)
        except OSError as exc:
            if view is not None:
                view.close()
            return _task_problem(
                args,
                f"--trace {args.trace}: cannot write there ({exc.strerror}); give a file in a writable folder",
                prompt,
            )
    if tracer:
        from agentkit.trace import traced

        on_event = traced(tracer, view)
    else:
        on_event = view

    from agentkit.agent.records import Progress

    progress = Progress(messages=[{"role": "user", "content": prompt}])

    async def run() -> Any:
        async with open_agent(
            task,
            approve=approve,
            tracer=tracer,
            allow_simulation=True,
            notice=notice,
            elicitation_handler=elicit,
            keep_server=args.keep,
            tools=tools,
        ) as agent:
            return await agent.run(prompt, on_event=on_event, progress=progress)

    async def main() -> Any:
        if view is None:
            return await run()
        failure: BaseException | None = None
        async with anyio.create_task_group() as group:  # the status line moves beside the run
            group.start_soon(view.keep_moving)
            try:
                result = await run()
            except (Exception, KeyboardInterrupt) as exc:  # raised as itself, not in an exception group
                failure = exc
            group.cancel_scope.cancel()
        if failure is not None:
            raise failure
        return result

    signal.signal(signal.SIGTERM, _terminate_as_ctrl_c)
    if view is not None:
        view.waiting("looking for a model")
    try:
        result = anyio.run(main)
    except KeyboardInterrupt:
        if view is not None:
            view.close()
        print("\ninterrupted: every tool and server this run started has been stopped", file=sys.stderr)
        if args.json:  # still the one JSON object, with every step finished before the interruption
            payload = progress.interrupted().to_json()
            payload["simulated"] = any(isinstance(line, SimulationNotice) for line in notices)
            print(json.dumps(payload, ensure_ascii=False))
        return 130
    except LLMError as exc:  # no model to run with (nothing answers, no server could start)
        if view is not None:
            view.close()
        print(f"error: {exc}", file=sys.stderr)
        if args.json:  # still the one JSON object the caller parses
            print(_failed_json(prompt, str(exc)))
        return 1
    except TaskError as exc:
        if view is not None:
            view.close()
        return _task_problem(args, str(exc), prompt)
    finally:
        if view is not None:
            view.close()
        if tracer:
            tracer.close()
    simulated = any(isinstance(line, SimulationNotice) for line in notices)
    if args.json:
        payload = result.to_json()
        payload["simulated"] = simulated
        print(json.dumps(payload, ensure_ascii=False))
    elif result.output or result.status == "completed":
        _print_answer(result.output)
    if result.status != "completed" and view is None:
        print(f"error: {result.error}", file=sys.stderr)
    return 0 if result.status == "completed" else 1


def _print_answer(text: str) -> None:
    """The answer on stdout: rendered as Markdown on a terminal, as written elsewhere (pipes, files)."""
    if not sys.stdout.isatty():
        print(text)
        return
    from rich.console import Console
    from rich.markdown import Markdown

    Console(highlight=False).print(Markdown(text))


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
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a bad flag: argparse said why on stderr; --json still gets its object
        if exc.code == 2 and argv[:1] == ["run"] and "--json" in argv:
            print(_failed_json(None, "bad command-line flags (see stderr): python -m agentkit run --help"))
        raise
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
