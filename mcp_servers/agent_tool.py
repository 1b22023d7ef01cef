"""A task's agent as one tool: a ``prompt`` in, the agent's answer out, with progress per step and per
tool call the agent makes (served over MCP by ``agentkit.mcp_serve``).

The tool declares what it returns (``output_schema``: every result, error or not, carries a
``structuredContent`` matching it) and what it may do (``annotations``, from the agent's own tools). An
answer replayed by the built-in simulator says so in the text and in ``simulated``."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from agentkit.agent.events import RunFinished, StepStarted, ToolFinished, ToolProgress, ToolRunning
from agentkit.tooling.base import ToolContext, ToolResult

log = logging.getLogger("mcp_servers.agent")

TOOL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_STEP = 1.0
_NUDGE = 1e-3
SIMULATED_LABEL = (
    "[SIMULATED: no model ran; this answer is a scripted replay from agentkit's built-in simulator]"
)

OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "answer": {
            "type": "string",
            "description": "the agent's final answer (the partial answer when status is not completed)",
        },
        "status": {
            "type": "string",
            "enum": ["completed", "max_steps", "length", "error", "cancelled", "invalid_arguments"],
            "description": "completed, or why the run stopped early (invalid_arguments: it never started)",
        },
        "simulated": {
            "type": "boolean",
            "description": "true when no model ran: the answer is a scripted replay from agentkit's simulator",
        },
        "error": {"type": ["string", "null"], "description": "why the run did not complete, else null"},
        "steps": {"type": "integer", "minimum": 0, "description": "model steps taken"},
        "tool_calls": {
            "type": "array",
            "description": "the tool calls the agent made, in order",
            "items": {
                "type": "object",
                "properties": {
                    "step": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "the step it was made in, from 1",
                    },
                    "name": {"type": "string"},
                    "is_error": {"type": "boolean"},
                },
                "required": ["step", "name", "is_error"],
            },
        },
        "usage": {
            "type": "object",
            "description": "tokens used (prompt_tokens, completion_tokens, total_tokens, ...)",
            "additionalProperties": {"type": "integer"},
        },
        "duration_s": {"type": "number", "minimum": 0},
    },
    "required": ["answer", "status", "simulated", "error", "steps", "tool_calls", "usage", "duration_s"],
}


def check_tool_name(name: str) -> str:
    """``name`` if MCP clients accept it as a tool name, else a ValueError saying what is allowed."""
    if not TOOL_NAME.match(name):
        raise ValueError(
            f"tool name {name!r} is not allowed: use 1-64 letters, digits, '_', '-' or '.', e.g. run_agent"
        )
    return name


def describe_agent(agent: Any, model: str | None) -> str:
    """The tool description an MCP client's model reads: what the agent is and which tools it has."""
    tools = ", ".join(agent.tools.names()) or "none"
    what = f"model {model}" if model else "a Qwen3 model"
    text = (
        f"Runs an agentkit agent ({what}; tools: {tools}; at most {agent.max_steps} steps) on the prompt "
        "and returns its final answer."
    )
    if agent.system:
        text += f" Its instructions: {agent.system.strip()[:300]}"
    return text


def agent_annotations(agent: Any) -> dict[str, Any]:
    """MCP tool annotations true of a run of ``agent``: read-only (and closed-world) only when every tool
    it may call says so of itself (an MCP tool's own annotations); otherwise it may change things."""
    tools = [agent.tools.get(name) for name in agent.tools.names()]
    own = [getattr(tool, "annotations", None) or {} for tool in tools]
    read_only = all(hints.get("readOnlyHint") is True for hints in own)
    closed = all(hints.get("openWorldHint") is False for hints in own)
    hints: dict[str, Any] = {
        "title": "agentkit agent",
        "readOnlyHint": read_only,
        "openWorldHint": not closed,
    }
    if not read_only:
        # its tools (files, python, MCP servers) may write, and a model run does not repeat itself
        hints.update(destructiveHint=True, idempotentHint=False)
    return hints


class AgentTool:
    """The agent behind the ``Tool`` interface. One agent serves every call (calls may overlap).

    ``simulated``: the agent's model is agentkit's simulator replaying a script (every answer says so)."""

    def __init__(
        self,
        agent: Any,
        *,
        name: str = "run_agent",
        description: str | None = None,
        simulated: bool = False,
    ):
        self.agent = agent
        self.name = check_tool_name(name)
        self.description = description or describe_agent(agent, None)
        if simulated:
            self.description += " SIMULATED: no model runs here; answers are scripted replays."
        self.simulated = simulated
        self.output_schema = OUTPUT_SCHEMA
        self.annotations = agent_annotations(agent)
        self.parameters: dict[str, Any] = {
            "type": "object",
            "properties": {
                "prompt": {"type": "string", "description": "The task or question for the agent."}
            },
            "required": ["prompt"],
            "additionalProperties": False,
        }

    async def call(self, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
        problem = self._check(arguments)
        if problem:
            return rejected(problem, simulated=self.simulated)
        reporter = ProgressReporter(ctx, total=float(self.agent.max_steps))
        result = await self.agent.run(arguments["prompt"], on_event=reporter)
        return run_result(result, simulated=self.simulated)

    def _check(self, arguments: dict[str, Any]) -> str | None:
        prompt = arguments.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return "`prompt` must be a non-empty string: the task or question for the agent"
        extra = sorted(set(arguments) - {"prompt"})
        if extra:
            return f"unexpected argument(s) {', '.join(extra)}; {self.name} takes only `prompt`"
        return None


def rejected(problem: str, *, simulated: bool = False) -> ToolResult:
    """An error result for arguments the run never started with, shaped like ``OUTPUT_SCHEMA``."""
    summary = {
        "answer": "",
        "status": "invalid_arguments",
        "simulated": simulated,
        "error": problem,
        "steps": 0,
        "tool_calls": [],
        "usage": {},
        "duration_s": 0.0,
    }
    return ToolResult(text=problem, is_error=True, structured=summary)


def run_result(result: Any, *, simulated: bool = False) -> ToolResult:
    """The run's answer; a run that did not complete is an error result saying why (with any partial answer).

    ``simulated``: the answer is labelled as a scripted replay, first in the text and in ``simulated``."""
    calls = [
        {"step": step.step + 1, "name": call.name, "is_error": call.is_error}
        for step in result.steps
        for call in step.tool_calls
    ]
    completed = result.status == "completed"
    summary = {
        "answer": result.output or "",
        "status": result.status,
        "simulated": simulated,
        "error": None if completed else (result.error or "no reason given"),
        "steps": len(result.steps),
        "tool_calls": calls,
        "usage": result.usage,
        "duration_s": round(result.duration_s, 3),
    }
    if completed:
        text = result.output or "(the agent gave an empty answer)"
    else:
        text = f"The agent stopped before finishing ({result.status}): {summary['error']}"
        if result.output:
            text += f"\n\nPartial answer:\n{result.output}"
    if simulated:
        text = f"{SIMULATED_LABEL}\n\n{text}"
    return ToolResult(text=text, is_error=not completed, structured=summary)


class ProgressReporter:
    """Turns agent events into progress notifications: one per step, one per tool call start and end.

    ``progress`` counts steps (``total`` is max_steps) and strictly increases, as the protocol requires."""

    def __init__(self, ctx: ToolContext, total: float):
        self.ctx = ctx
        self.total = total
        self.last = -1.0

    async def _report(self, target: float, message: str) -> None:
        self.last = max(target, self.last + _NUDGE)
        log.info("%s", message)
        await self.ctx.report_progress(self.last, self.total, message)

    async def __call__(self, event: Any) -> None:
        if isinstance(event, StepStarted):
            mode = "thinking" if event.thinking else "not thinking"
            await self._report(event.step * _STEP, f"step {event.step + 1}: model {mode}")
        elif isinstance(event, ToolRunning):
            args = json.dumps(event.arguments, ensure_ascii=False)
            args = args if len(args) <= 200 else args[:200] + "…"
            await self._report(
                event.step * _STEP + 0.5, f"step {event.step + 1}: calling {event.name}({args})"
            )
        elif isinstance(event, ToolProgress) and event.message:
            await self._report(self.last, f"{event.name}: {event.message}")
        elif isinstance(event, ToolFinished):
            outcome = "failed" if event.result.is_error else "done"
            await self._report(
                self.last, f"step {event.step + 1}: {event.name} {outcome} in {event.duration_s:.1f} s"
            )
        elif isinstance(event, RunFinished):
            await self._report(max(self.total, self.last + _NUDGE), f"finished: {event.result.status}")
