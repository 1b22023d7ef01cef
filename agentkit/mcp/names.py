"""Tool names the model sees for MCP tools: sanitised, prefixed with the server name only on a clash."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

import anyio

MAX_NAME = 64
SEPARATOR = "__"
_INVALID = re.compile(r"[^a-zA-Z0-9_-]+")


def sanitize(name: str) -> str:
    """A name matching ``^[a-zA-Z0-9_-]{1,64}$`` (what OpenAI's format and Qwen3 templates accept).

    Invalid characters become ``_``; a name that had to be cut keeps a short hash of the original so
    two long names stay distinct.
    """
    cleaned = _INVALID.sub("_", name).strip("_") or "tool"
    if len(cleaned) <= MAX_NAME:
        return cleaned
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{cleaned[: MAX_NAME - 9]}_{digest}"


def prefixed(server: str, tool: str) -> str:
    """``server__tool``, sanitised."""
    return sanitize(f"{sanitize(server)}{SEPARATOR}{tool}")


class ToolNames:
    """Names for the tools of a group of MCP servers that start together.

    Each server offers its real tool names once listed (or withdraws when it fails to start); once all
    have, names are given in one deterministic pass: a sanitised name that two servers share, or that
    an in-process tool already has, is prefixed with the server name on every server that has it.
    Tools that appear later (a re-listing) keep the names they had and take a free bare name when they can.
    """

    def __init__(self, servers: Sequence[str], reserved: Iterable[str] = (), wait_limit: float = 60.0):
        self._servers = list(servers)
        self._wait_limit = wait_limit
        self._reserved = set(reserved)
        self._waiting = set(self._servers)
        self._offered: dict[str, list[str]] = {}
        self._given: dict[str, dict[str, str]] = {}
        """server → {exposed name: real name}"""
        self._all_in = anyio.Event()
        if not self._waiting:
            self._all_in.set()

    def offer(self, server: str, real_names: Sequence[str]) -> None:
        """Record a server's first listing."""
        self._offered[server] = list(real_names)
        self._settle(server)

    def withdraw(self, server: str) -> None:
        """A server that did not start: stop waiting for it and free its names."""
        self._offered.pop(server, None)
        self._given.pop(server, None)
        self._settle(server)

    async def wait(self) -> None:
        """Until every server of the group offered or withdrew (at most ``wait_limit`` seconds: a server of
        the group that is never started must not hold the others up for ever)."""
        with anyio.move_on_after(self._wait_limit):
            await self._all_in.wait()

    def _settle(self, server: str) -> None:
        self._waiting.discard(server)
        if not self._waiting:
            self._all_in.set()

    def assign(self, server: str, real_names: Sequence[str]) -> dict[str, str]:
        """``{exposed name: real name}`` for a server's current tools, stable across calls."""
        if server not in self._given:
            self._given[server] = self._first_assignment(server, real_names)
            return dict(self._given[server])
        before = {real: exposed for exposed, real in self._given[server].items()}
        taken = self._taken(exclude=server)
        given: dict[str, str] = {}
        for real in real_names:
            exposed = before.get(real) or self._free(server, real, taken | set(given))
            given[exposed] = real
        self._given[server] = given
        return dict(given)

    def _first_assignment(self, server: str, real_names: Sequence[str]) -> dict[str, str]:
        claims: dict[str, int] = {}
        for name in self._reserved:
            claims[name] = claims.get(name, 0) + 2
        for other, names in self._offered.items():
            if other != server:
                for bare in {sanitize(n) for n in names}:
                    claims[bare] = claims.get(bare, 0) + 1
        taken = self._taken(exclude=server)
        given: dict[str, str] = {}
        for real in real_names:
            bare = sanitize(real)
            candidate = prefixed(server, real) if claims.get(bare) else bare
            given[_unique(candidate, taken | set(given))] = real
        return given

    def _free(self, server: str, real: str, taken: set[str]) -> str:
        bare = sanitize(real)
        return bare if bare not in taken else _unique(prefixed(server, real), taken)

    def _taken(self, exclude: str) -> set[str]:
        taken = set(self._reserved)
        for other, given in self._given.items():
            if other != exclude:
                taken.update(given)
        return taken


def _unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``… when taken (kept within 64 characters)."""
    if name not in taken:
        return name
    n = 2
    while True:
        suffix = f"_{n}"
        candidate = f"{name[: MAX_NAME - len(suffix)]}{suffix}"
        if candidate not in taken:
            return candidate
        n += 1
