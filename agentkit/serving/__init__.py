"""Plan and launch vLLM/SGLang for a model on the GPUs at hand. Never imported by the agent loop.

``ensure_server`` (an async context manager) and ``ServingError`` are the entry points; submodules load
lazily so ``import agentkit.serving`` stays cheap.
"""

from __future__ import annotations

from typing import Any

from agentkit.serving.errors import ServingError

__all__ = ["ServingError", "ensure_server", "ServingHandle"]


def __getattr__(name: str) -> Any:
    if name in ("ensure_server", "ServingHandle"):
        from agentkit.serving import ensure

        return getattr(ensure, name)
    raise AttributeError(name)
