"""Tools start the moment their call has streamed: against the simulator over HTTP, both modes, paced."""

from __future__ import annotations

import json
import time

import anyio
import pytest

from agentkit.agent import Agent
from agentkit.agent.events import StepStarted, ToolRunning
from agentkit.llm.http import Endpoint
from agentkit.llm.native import NativeBackend
from agentkit.llm.server import ServerBackend
from agentkit.llm.types import StepFinished
from agentkit.testing import run_simulator
from agentkit.tooling import ToolPolicy, tool

RAN: list[tuple[str, float]] = []


@tool
async def fetch(key: str) -> str:
    """Fetch a key.

    Args:
        key: which
    """
    RAN.append((key, time.perf_counter()))
    await anyio.sleep(0.2)
    return f"value of {key}"


def hermes(name: str, args: dict | str) -> str:
    body = args if isinstance(args, str) else json.dumps(args)
    return f'<tool_call>\n{{"name": "{name}", "arguments": {body}}}\n</tool_call>'


def script(raw: str) -> dict:
    filler = "I will now explain at some length what these lookups are for. " * 3
    return {
        "model": "qwen3-sim",
        "chunk_chars": 4,
        "replies": [{"raw": f"<think>\nplan\n</think>\n\n{raw}\n{filler}"}, "done"],
        "faults": [{"chunk_delay_s": 0.004, "times": "always"}],
    }


class Clock:
    """Event times of a run: when each tool started, when each step's stream finished."""

    def __init__(self) -> None:
        self.running: list[tuple[str, float]] = []
        self.finished: list[float] = []

    def __call__(self, event) -> None:
        if isinstance(event, ToolRunning):
            self.running.append((event.arguments["key"], time.perf_counter()))
        elif isinstance(event, StepFinished):
            self.finished.append(time.perf_counter())
        elif isinstance(event, StepStarted):
            pass


@pytest.fixture(params=[NativeBackend, ServerBackend], ids=["native", "server"])
def backend(request):
    return request.param


async def run(backend, raw: str, **agent_options) -> tuple:
    RAN.clear()
    clock = Clock()
    async with run_simulator(script(raw)) as sim:
        llm = backend(Endpoint(sim.base_url), "qwen3-sim")
        try:
            result = await Agent(llm, [fetch], **agent_options).run("go", on_event=clock)
        finally:
            await llm.aclose()
    return result, clock


@pytest.mark.anyio
async def test_each_call_starts_before_the_stream_ends_and_results_keep_call_order(backend):
    raw = "\n".join(hermes("fetch", {"key": k}) for k in ("a", "b", "c"))
    result, clock = await run(backend, raw)
    assert result.status == "completed", result.error
    assert [k for k, _ in clock.running] == ["a", "b", "c"]
    stream_end = clock.finished[0]
    assert all(t < stream_end for _, t in clock.running), "a tool waited for the end of the stream"
    assert [k for k, _ in RAN] == ["a", "b", "c"]
    tools = [m for m in result.messages if m["role"] == "tool"]
    assert [m["content"] for m in tools] == ["value of a", "value of b", "value of c"]
    assert [m["tool_call_id"] for m in tools] == [c["id"] for c in result.messages[1]["tool_calls"]]


@pytest.mark.anyio
async def test_without_early_start_tools_wait_for_the_end_of_the_stream(backend):
    result, clock = await run(backend, hermes("fetch", {"key": "a"}), early_tools=False)
    assert result.status == "completed"
    assert clock.running[0][1] > clock.finished[0]


@pytest.mark.anyio
async def test_an_invalid_call_is_never_started(backend):
    raw = (
        hermes("fetch", {"key": "a"}) + "\n" + hermes("fetch", {"nokey": 1}) + "\n" + hermes("fetch", "{bad")
    )
    result, clock = await run(backend, raw)
    assert [k for k, _ in RAN] == ["a"]
    tools = [m["content"] for m in result.messages if m["role"] == "tool"]
    assert tools[0] == "value of a"
    assert all("not executed" in t or "Invalid arguments" in t for t in tools[1:]), tools
    assert len(tools) == 3


@pytest.mark.anyio
async def test_approval_comes_first_and_a_declined_call_never_runs(backend):
    asked: list[tuple[str, float]] = []

    def approve(name: str, arguments: dict) -> bool:
        asked.append((arguments["key"], time.perf_counter()))
        return arguments["key"] == "yes"

    raw = hermes("fetch", {"key": "yes"}) + "\n" + hermes("fetch", {"key": "no"})
    result, clock = await run(backend, raw, policies={"fetch": ToolPolicy(approval="ask")}, approve=approve)
    assert [k for k, _ in asked] == ["yes", "no"]
    assert asked[0][1] < clock.finished[0]  # asked while the model was still writing
    assert [k for k, _ in RAN] == ["yes"]
    tools = [m["content"] for m in result.messages if m["role"] == "tool"]
    assert tools == ["value of yes", "The user declined the call to 'fetch'."]


@pytest.mark.anyio
async def test_the_live_view_shows_a_call_line_while_the_model_is_still_writing():
    from io import StringIO

    from rich.console import Console

    from agentkit.display import LiveView

    out = StringIO()
    view = LiveView(Console(file=out, width=200, color_system=None))
    RAN.clear()
    async with run_simulator(script(hermes("fetch", {"key": "a"}))) as sim:
        llm = NativeBackend(Endpoint(sim.base_url), "qwen3-sim")
        try:
            result = await Agent(llm, [fetch]).run("go", on_event=view)
        finally:
            await llm.aclose()
    assert result.status == "completed"
    text = out.getvalue()
    assert '→ fetch({"key": "a"})' in text or "→ fetch({'key': 'a'})" in text
    call_line = text.index("→ fetch")
    assert call_line < text.index("what these lookups are for"), (
        "the call line waited for the end of the turn"
    )


@pytest.mark.anyio
async def test_a_closed_block_that_is_not_json_is_fed_back_to_the_model():
    """Native mode (agentkit parses); in server mode the server's parser decides what it returns."""
    raw = 'Let me fetch it.\n<tool_call>\nfetch(key="a")\n</tool_call>'
    result, _clock = await run(NativeBackend, raw)
    assert RAN == []
    (tool_message,) = [m for m in result.messages if m["role"] == "tool"]
    assert "not executed" in tool_message["content"] and "not valid JSON" in tool_message["content"]
    assert result.messages[1]["content"].startswith("Let me fetch it.\nI will now explain")
