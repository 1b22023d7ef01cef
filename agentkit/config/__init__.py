"""Tasks: task.yaml (or the Assistant's dict) loaded, validated with file:line errors, and its tools resolved."""

from agentkit.config.errors import TaskError
from agentkit.config.loader import load_task, load_task_dict
from agentkit.config.task import ModelConfig, TaskConfig, ToolEntry
from agentkit.config.tool_specs import resolve_tools

__all__ = [
    "TaskError",
    "load_task",
    "load_task_dict",
    "TaskConfig",
    "ModelConfig",
    "ToolEntry",
    "resolve_tools",
]
