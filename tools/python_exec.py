"""``python``: run model-written code in the sandbox (``agentkit_tools.sandbox``) and report what happened."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pydantic

from agentkit.tooling.base import ToolContext, ToolResult
from agentkit_tools.sandbox import Limits, SandboxResult, run_python
from agentkit_tools.validation import Strict, parameters_schema, parse_arguments, parse_options


class PythonOptions(Strict):
    time_limit: float = pydantic.Field(30.0, gt=0, le=3600)
    """Wall-clock seconds before the code and everything it started is killed."""
    cpu_seconds: int | None = pydantic.Field(None, gt=0)
    """CPU seconds per process (default: the time limit, rounded up)."""
    memory_mb: int = pydantic.Field(512, ge=64)
    """Address-space limit per process, in MiB."""
    max_processes: int = pydantic.Field(32, ge=1)
    max_output_bytes: int = pydantic.Field(20_000, gt=0)
    """Per stream (stdout, stderr); the rest is dropped and counted."""
    network: bool = False


class PythonArgs(Strict):
    code: str = pydantic.Field(
        description="Python 3 source. Print what you want to see; the value of a final expression is shown."
    )


class PythonTool:
    """Runs code in a fresh temporary folder per call, in a separate, limited process."""

    name = "python"
    default_approval = "ask"

    def __init__(self, options: PythonOptions):
        self.options = options
        self.limits = Limits(
            wall_seconds=options.time_limit,
            cpu_seconds=options.cpu_seconds or max(1, int(options.time_limit + 0.999)),
            memory_mb=options.memory_mb,
            max_processes=options.max_processes,
            max_output_bytes=options.max_output_bytes,
            network=options.network,
        )
        network = "with network access" if options.network else "without network access"
        self.description = (
            f"Run Python 3 code in a fresh, empty temporary folder ({network}; at most "
            f"{options.time_limit:g} s and {options.memory_mb} MiB). Nothing persists between calls: "
            "each call starts a new interpreter. Returns stdout, stderr and any exception."
        )
        self.parameters = parameters_schema(PythonArgs)

    def __repr__(self) -> str:
        return f"PythonTool({self.limits})"

    async def call(self, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
        args = parse_arguments(PythonArgs, arguments, self.name)
        if isinstance(args, ToolResult):
            return args
        if not args.code.strip():
            return ToolResult.error("python: `code` is empty; send the Python source to run")
        result = await run_python(args.code, self.limits)
        return ToolResult(
            text=format_result(result, self.limits), is_error=not result.ok, structured=_summary(result)
        )


def _status(result: SandboxResult, limits: Limits) -> str:
    if result.timed_out:
        return f"timed out after {limits.wall_seconds:g} s: the process and everything it started were killed"
    if result.signal is not None:
        name = (
            signal.Signals(result.signal).name
            if result.signal in signal.valid_signals()
            else str(result.signal)
        )
        if result.signal == signal.SIGXCPU:
            return f"killed: CPU time limit ({limits.cpu_seconds} s) exceeded"
        return f"killed by signal {result.signal} ({name})"
    if result.exception:
        hint = (
            f" (memory limit is {limits.memory_mb} MiB)" if result.exception.startswith("MemoryError") else ""
        )
        return f"exception: {result.exception}{hint}"
    return f"exit status {result.exit_code}"


def format_result(result: SandboxResult, limits: Limits) -> str:
    """The compact text the model reads: status, then stdout and stderr (only when not empty)."""
    parts = [_status(result, limits)]
    for label, text, dropped in (
        ("stdout", result.stdout, result.stdout_dropped),
        ("stderr", result.stderr, result.stderr_dropped),
    ):
        if text or dropped:
            more = f"\n[{dropped} more bytes of {label} dropped]" if dropped else ""
            parts.append(f"{label}:\n{text.rstrip()}{more}")
    if not result.stdout and not result.stderr and result.ok:
        parts.append("(no output: print() what you want to see)")
    parts.extend(f"note: {note}" for note in result.notes)
    return "\n".join(parts)


def _summary(result: SandboxResult) -> dict[str, Any]:
    return {
        "exit_code": result.exit_code,
        "signal": result.signal,
        "exception": result.exception,
        "timed_out": result.timed_out,
        "seconds": round(result.seconds, 3),
        "notes": result.notes,
    }


def make_python(options: dict[str, Any], *, base_dir: Path) -> PythonTool:
    """The ``python`` tool; ``base_dir`` is unused (each call gets its own temporary folder)."""
    if os.name != "posix":
        raise ValueError(
            "python: the sandboxed python tool needs Linux or macOS (POSIX); it is not available here"
        )
    return PythonTool(parse_options(PythonOptions, options, "python"))
