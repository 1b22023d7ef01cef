"""agentkit: an agent framework for teams that serve Qwen3 themselves."""

from typing import Any

__version__ = "0.1.0"
__all__ = ["Assistant", "Agent", "tool", "open_agent", "batch"]


def __getattr__(name: str) -> Any:  # lazy, so `python -m agentkit --help` starts fast
    if name == "Assistant":
        from agentkit.assistant import Assistant

        return Assistant
    if name == "Agent":
        from agentkit.agent.loop import Agent

        return Agent
    if name == "tool":
        from agentkit.tooling.decorator import tool

        return tool
    if name == "open_agent":
        from agentkit.runtime import open_agent

        return open_agent
    if name == "batch":
        from agentkit.batching import batch

        return batch
    raise AttributeError(f"module 'agentkit' has no attribute {name!r}")
