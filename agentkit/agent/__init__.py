"""The agent loop and what it records. ``open_agent`` builds one from a task (see ``agentkit.runtime``)."""

from typing import Any

from agentkit.agent.loop import Agent, assistant_message
from agentkit.agent.records import RunResult, StepRecord, ToolCallRecord

__all__ = ["Agent", "RunResult", "StepRecord", "ToolCallRecord", "assistant_message", "open_agent"]


def __getattr__(name: str) -> Any:
    if name == "open_agent":  # the composition root lives outside the loop's room
        from agentkit.runtime import open_agent

        return open_agent
    raise AttributeError(name)
