"""Calls to one MCP server run one at a time in call order unless read-only (or the server is marked
``concurrent``); calls to different servers stay concurrent. Real peers: server-memory, server-everything."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from mcp_fixtures.peers import (  # noqa: F401  (fixture)
    TOOLS_SERVER,
    no_leftover_processes,
    require_everything,
    require_memory,
)

from agentkit.mcp import providers_from_config
from agentkit.tooling import ToolContext, ToolSet

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("no_leftover_processes")]


def _entity(name: str) -> dict:
    return {"entities": [{"name": name, "entityType": "person", "observations": [f"{name} was here"]}]}


async def test_two_writes_to_server_memory_in_one_step_are_both_kept_20_runs_in_a_row(tmp_path):
    memory = require_memory()
    config = {"memory": {"command": memory, "env": {"MEMORY_FILE_PATH": str(tmp_path / "memory.jsonl")}}}
    async with ToolSet(providers=providers_from_config(config)) as ts:
        create, read = ts.get("create_entities"), ts.get("read_graph")
        assert create.exclusive and not read.exclusive  # server-memory's own readOnlyHint annotations
        for run in range(20):
            first, second = await asyncio.gather(
                create.call(_entity(f"alice{run}"), ToolContext(call_id="a")),
                create.call(_entity(f"bob{run}"), ToolContext(call_id="b")),
            )
            assert not first.is_error and not second.is_error, (first.text, second.text)
            graph = await read.call({}, ToolContext(call_id="r"))
            names = {e["name"] for e in json.loads(graph.text)["entities"]}
            assert {f"alice{run}", f"bob{run}"} <= names, f"run {run}: a write was lost: {sorted(names)}"
        assert len(names) == 40


async def _timed(*calls) -> tuple[float, list[str]]:
    start = time.monotonic()
    results = await asyncio.gather(*calls)
    assert not any(r.is_error for r in results), [r.text for r in results]
    return time.monotonic() - start, [r.text for r in results]


async def test_one_server_serialises_writes_in_call_order_other_servers_stay_concurrent():
    config = {
        "one": {"command": TOOLS_SERVER[0], "args": TOOLS_SERVER[1:]},
        "two": {"command": TOOLS_SERVER[0], "args": TOOLS_SERVER[1:]},
        "free": {"command": TOOLS_SERVER[0], "args": TOOLS_SERVER[1:], "concurrent": True},
    }
    async with ToolSet(providers=providers_from_config(config)) as ts:
        wait_one, wait_two, wait_free = ts.get("one__wait"), ts.get("two__wait"), ts.get("free__wait")
        order: list[str] = []

        async def call(tool, seconds, label):
            result = await tool.call({"seconds": seconds}, ToolContext(call_id=label))
            order.append(label)
            return result

        # Same server, not read-only: one after the other, in call order (the longer first finishes first).
        took, _ = await _timed(call(wait_one, 0.6, "first"), call(wait_one, 0.1, "second"))
        assert took >= 0.7 and order == ["first", "second"]
        # Different servers: side by side.
        took, _ = await _timed(call(wait_one, 0.6, "one"), call(wait_two, 0.6, "two"))
        assert took < 1.1
        # A server marked `concurrent: true`: side by side, the shorter call first.
        order.clear()
        took, _ = await _timed(call(wait_free, 0.6, "long"), call(wait_free, 0.1, "short"))
        assert took < 1.1 and order == ["short", "long"]


async def test_read_only_tools_of_one_server_stay_concurrent():
    everything = require_everything()
    config = {"everything": {"command": everything, "args": ["stdio"]}}
    async with ToolSet(providers=providers_from_config(config)) as ts:
        slow = ts.get("trigger-long-running-operation")  # annotated readOnlyHint: true
        assert not slow.exclusive
        args = {"duration": 1, "steps": 2}
        took, texts = await _timed(
            slow.call(args, ToolContext(call_id="a")), slow.call(args, ToolContext(call_id="b"))
        )
        assert took < 1.8, f"two read-only 1 s calls took {took:.2f} s: they ran one after the other"
        assert all("completed" in t for t in texts)
