"""What an agent run records: one entry per step, and the run's result."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["completed", "max_steps", "length", "error", "cancelled", "interrupted"]


@dataclass(slots=True)
class ToolCallRecord:
    id: str
    name: str
    arguments: dict[str, Any] | str
    valid: bool = True
    result: str = ""
    is_error: bool = False
    duration_s: float = 0.0
    attachments: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "name": self.name,
            "arguments": self.arguments,
            "valid": self.valid,
            "is_error": self.is_error,
            "result": self.result,
            "duration_s": round(self.duration_s, 4),
        }
        if self.attachments:
            out["attachments"] = self.attachments
        return out


@dataclass(slots=True)
class StepRecord:
    step: int
    """The step's index in the run, from 0 (``to_dict`` shows it from 1, as users count)."""
    thinking: bool
    finish_reason: str = ""
    usage: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    reasoning_truncated: bool = False
    retries: int = 0
    context: dict[str, int] | None = None
    """The compaction made before this step (``agentkit.context.Compaction.to_dict``), if any."""

    def to_dict(self) -> dict[str, Any]:
        out = {
            "step": self.step + 1,  # counted from 1, as the live view and MCP progress show steps
            "thinking": self.thinking,
            "tool_calls": [c.to_dict() for c in self.tool_calls],
            "usage": self.usage,
            "finish_reason": self.finish_reason,
            "duration_s": round(self.duration_s, 4),
        }
        if self.reasoning_truncated:
            out["reasoning_truncated"] = True
        if self.retries:
            out["retries"] = self.retries
        if self.context:
            out["context"] = self.context
        return out


@dataclass(slots=True)
class RunResult:
    output: str
    status: Status
    messages: list[dict[str, Any]]
    steps: list[StepRecord]
    error: str | None = None
    duration_s: float = 0.0

    @property
    def usage(self) -> dict[str, int]:
        total: dict[str, int] = {"prompt_tokens": 0, "completion_tokens": 0}
        for step in self.steps:
            for key in ("prompt_tokens", "completion_tokens", "reprefill_tokens", "reprefill_extra_tokens"):
                if isinstance(step.usage.get(key), int):
                    total[key] = total.get(key, 0) + step.usage[key]
        total["total_tokens"] = total["prompt_tokens"] + total["completion_tokens"]
        return total

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "output": self.output,
            "status": self.status,
            "messages": self.messages,
            "steps": [s.to_dict() for s in self.steps],
            "usage": self.usage,
            "duration_s": round(self.duration_s, 4),
        }
        if self.error:
            out["error"] = self.error
        return out


@dataclass(slots=True)
class Progress:
    """What a run has finished so far, kept up to date by ``Agent.run(..., progress=...)``: a caller that
    is interrupted (Ctrl-C, SIGTERM, cancellation) still reports every finished step."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def interrupted(self) -> RunResult:
        """The run's record as of its last finished step, with ``status: interrupted``."""
        return RunResult(
            "",
            "interrupted",
            list(self.messages),
            list(self.steps),
            f"interrupted (Ctrl-C, SIGTERM or cancellation) after {len(self.steps)} finished step(s)",
            time.perf_counter() - self.started,
        )
