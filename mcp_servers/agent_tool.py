"""A task's agent as one tool: a ``prompt`` in, the agent's answer out, with progress per step and per
tool call the agent makes (served over MCP by ``agentkit.mcp_serve``)."""

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


class AgentTool:
    """The agent behind the ``Tool`` interface. One agent serves every call (calls may overlap)."""

    def __init__(self, agent: Any, *, name: str = "run_agent", description: str | None = None):
        self.agent = agent
        self.name = check_tool_name(name)
        self.description = description or describe_agent(agent, None)
        self.parameters: dict[str, Any] = {
            "type": "object",
            "properties": {
                "prompt": {"type": "string", "description": "The task or question for the agent."}
            },
            "required": ["prompt"],
            "additionalProperties": False,
        }

    async def call(self, arguments: dict[str, Any], ctx: ToolContext) -> ToolResult:
        prompt = arguments.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return ToolResult.error("`prompt` must be a non-empty string: the task or question for the agent")
        extra = sorted(set(arguments) - {"prompt"})
        if extra:
            return ToolResult.error(
                f"unexpected argument(s) {', '.join(extra)}; {self.name} takes only `prompt`"
            )
        reporter = ProgressReporter(ctx, total=float(self.agent.max_steps))
        result = await self.agent.run(prompt, on_event=reporter)
        return run_result(result)


def run_result(result: Any) -> ToolResult:
    """The run's answer; a run that did not complete is an error result saying why (with any partial answer)."""
    calls = [
        {"step": step.step, "name": call.name, "is_error": call.is_error}
        for step in result.steps
        for call in step.tool_calls
    ]
    summary = {
        "status": result.status,
        "steps": len(result.steps),
        "tool_calls": calls,
        "usage": result.usage,
        "duration_s": round(result.duration_s, 3),
    }
    if result.status == "completed":
        return ToolResult(text=result.output or "(the agent gave an empty answer)", structured=summary)
    text = f"The agent stopped before finishing ({result.status}): {result.error or 'no reason given'}"
    if result.output:
        text += f"\n\nPartial answer:\n{result.output}"
    return ToolResult(text=text, is_error=True, structured=summary)


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
