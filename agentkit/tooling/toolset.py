"""The set of tools one agent run can call, in a stable order, with their providers' lifetimes."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from contextlib import AsyncExitStack
from typing import Any

from agentkit.tooling.base import Tool, ToolProvider, openai_schema


class ToolSet:
    """Tools by name. Providers (MCP servers) are started on ``__aenter__`` and closed on exit."""

    def __init__(self, tools: Iterable[Tool] = (), providers: Iterable[ToolProvider] = ()):
        self._tools: dict[str, Tool] = {}
        self.providers = list(providers)
        self.provider_errors: dict[str, str] = {}
        self._stack: AsyncExitStack | None = None
        for t in tools:
            self.add(t)

    def add(self, tool: Tool) -> None:
        if tool.name in self._tools:
            raise ValueError(f"two tools are named {tool.name!r}; rename one of them")
        self._tools[tool.name] = tool

    def replace(self, old_names: Iterable[str], tools: Iterable[Tool]) -> None:
        """Swap a provider's tools after its list changed (MCP ``tools/list_changed``)."""
        for name in old_names:
            self._tools.pop(name, None)
        for t in tools:
            self._tools[t.name] = t

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return list(self._tools)

    def suggest(self, name: str) -> str | None:
        """The closest tool name, for a "did you mean" hint."""
        close = difflib.get_close_matches(name, self._tools, n=1, cutoff=0.5)
        return close[0] if close else None

    def schemas(self) -> list[dict[str, Any]]:
        """OpenAI-format tool list, in a stable order so the prompt prefix never changes needlessly."""
        return [openai_schema(t) for t in self._tools.values()]

    def __len__(self) -> int:
        return len(self._tools)

    def __iter__(self):
        return iter(self._tools.values())

    async def __aenter__(self) -> ToolSet:
        import anyio

        self._stack = AsyncExitStack()
        results: dict[str, list[Tool]] = {}

        async def start(provider: ToolProvider) -> None:
            try:
                results[provider.name] = await provider.start()
            except Exception as exc:  # one failing provider never stops the others
                self.provider_errors[provider.name] = str(exc) or type(exc).__name__

        async with anyio.create_task_group() as tg:
            for provider in self.providers:
                tg.start_soon(start, provider)
        for provider in self.providers:
            if provider.name in results:
                self._stack.push_async_callback(provider.aclose)
                for t in results[provider.name]:
                    self.add(t)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.aclose()
