"""Events an agent run emits as it goes, besides the model's own deltas (``agentkit.llm.ModelEvent``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentkit.agent.records import RunResult, StepRecord
from agentkit.context import Compaction
from agentkit.llm.types import ModelEvent
from agentkit.tooling.base import ToolResult


@dataclass(frozen=True, slots=True)
class StepStarted:
    step: int
    thinking: bool


@dataclass(frozen=True, slots=True)
class ToolRunning:
    step: int
    call_id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolProgress:
    call_id: str
    name: str
    progress: float
    total: float | None
    message: str | None


@dataclass(frozen=True, slots=True)
class ToolFinished:
    step: int
    call_id: str
    name: str
    result: ToolResult
    duration_s: float


@dataclass(frozen=True, slots=True)
class ContextCompacted:
    """Before ``step``, the history was compacted to fit the context window (see ``agentkit.context``)."""

    step: int
    compaction: Compaction


@dataclass(frozen=True, slots=True)
class StepEnded:
    step: int
    record: StepRecord


@dataclass(frozen=True, slots=True)
class RunFinished:
    result: RunResult


AgentEvent = (
    ModelEvent
    | StepStarted
    | ContextCompacted
    | ToolRunning
    | ToolProgress
    | ToolFinished
    | StepEnded
    | RunFinished
)
