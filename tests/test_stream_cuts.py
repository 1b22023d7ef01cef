"""A cut stream continues the same turn (native: prompt + text received; server: continue_final_message),
against the simulator over HTTP: no text shown twice, no tool run twice, tokens saved in the usage."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest

from agentkit.agent import Agent
from agentkit.llm.http import Endpoint
from agentkit.llm.native import NativeBackend
from agentkit.llm.server import ServerBackend
from agentkit.llm.types import StreamContinued, StreamRestarted
from agentkit.qwen3.types import ContentDelta, ReasoningDelta, ToolCallArgsDelta, ToolCallStarted
from agentkit.testing import run_simulator
from agentkit.tooling import tool

RAN: list[str] = []


@tool
async def fetch(key: str) -> str:
    """Fetch a key.

    Args:
        key: which
    """
    RAN.append(key)
    await anyio.sleep(0.05)
    return f"value of {key}"


def hermes(key: str) -> str:
    return f'<tool_call>\n{{"name": "fetch", "arguments": {json.dumps({"key": key})}}}\n</tool_call>'


ANSWER = "Looking both up now, one after the other."
RAW = f"<think>\nTwo lookups are needed here.\n</think>\n\n{ANSWER}\n{hermes('alpha')}\n{hermes('beta')}"
AFTER_THINK = RAW.index(ANSWER)


def script(cut: int) -> dict:
    return {
        "model": "qwen3-sim",
        "chunk_chars": 3,
        "replies": [{"raw": RAW}, "Both fetched."],
        "faults": [{"cut_after_chars": cut}, {"chunk_delay_s": 0.002, "times": "always"}],
    }


class Seen:
    def __init__(self) -> None:
        self.content, self.reasoning, self.notices = [], [], []
        self.args: dict[int, str] = {}
        self.started: list[int] = []

    def __call__(self, event) -> None:
        if isinstance(event, ToolCallArgsDelta):
            self.args[event.index] = self.args.get(event.index, "") + event.text
        elif isinstance(event, ToolCallStarted):
            self.started.append(event.index)
        elif isinstance(event, ContentDelta):
            self.content.append(event.text)
        elif isinstance(event, ReasoningDelta):
            self.reasoning.append(event.text)
        elif isinstance(event, (StreamContinued, StreamRestarted)):
            self.notices.append(event)


async def run(backend, cut: int, **backend_options):
    RAN.clear()
    seen = Seen()
    async with run_simulator(script(cut)) as sim:
        llm = backend(Endpoint(sim.base_url), "qwen3-sim")
        for key, value in backend_options.items():
            setattr(llm, key, value)
        try:
            result = await Agent(llm, [fetch]).run("go", on_event=seen)
        finally:
            await llm.aclose()
        requests = [r["body"] for r in sim.state.requests]
    return result, seen, requests


CUTS = {
    "in the answer": AFTER_THINK + 12,
    "after the first call": RAW.index(hermes("beta")) - 1,
    "inside the second call": RAW.index('"beta"') + 3,
}


@pytest.mark.anyio
@pytest.mark.parametrize("backend", [NativeBackend, ServerBackend], ids=["native", "server"])
@pytest.mark.parametrize("where", list(CUTS))
async def test_a_cut_turn_continues_without_repeating_text_or_tools(backend, where):
    result, seen, requests = await run(backend, CUTS[where])
    assert result.status == "completed", result.error
    assert [type(n).__name__ for n in seen.notices] == ["StreamContinued"]
    assert RAN == ["alpha", "beta"]
    assert "".join(seen.content).startswith(ANSWER) and "".join(seen.content).count(ANSWER) == 1
    assert "".join(seen.reasoning) == "Two lookups are needed here."
    first = result.steps[0]
    assert [c.result for c in first.tool_calls] == ["value of alpha", "value of beta"]
    assert first.usage["continued_tokens"] == [seen.notices[0].saved_tokens]
    assert seen.notices[0].saved_tokens > 5
    assert result.messages[1]["content"] == ANSWER
    assert [c["function"]["arguments"] for c in result.messages[1]["tool_calls"]] == [
        '{"key": "alpha"}',
        '{"key": "beta"}',
    ]
    assert seen.started == [0, 1], "a call was announced twice"
    assert seen.args == {0: '{"key": "alpha"}', 1: '{"key": "beta"}'}, "argument text was shown twice"
    again = requests[1]
    if backend is NativeBackend:
        assert again["prompt"].startswith(requests[0]["prompt"]) and len(again["prompt"]) > len(
            requests[0]["prompt"]
        )
    else:
        assert again["continue_final_message"] is True and again["add_generation_prompt"] is False
        assert again["messages"][-1]["role"] == "assistant"
        assert again["messages"][-1]["content"].startswith(ANSWER[:10])


@pytest.mark.anyio
async def test_server_mode_restarts_a_cut_inside_reasoning_and_where_the_server_cannot_continue():
    result, seen, requests = await run(ServerBackend, 12)
    assert [type(n).__name__ for n in seen.notices] == ["StreamRestarted"]
    assert "continue_final_message" not in requests[1] and RAN == ["alpha", "beta"]
    result, seen, requests = await run(
        ServerBackend, CUTS["after the first call"], continue_final_message=False
    )
    assert result.status == "completed"
    assert [type(n).__name__ for n in seen.notices] == ["StreamRestarted"]
    assert RAN == ["alpha", "beta"], "a call that started before the cut ran again after the restart"
    assert [m["content"] for m in result.messages if m["role"] == "tool"] == [
        "value of alpha",
        "value of beta",
    ]


@pytest.mark.anyio
async def test_simulator_continues_a_final_message_like_vllm_and_refuses_both_flags():
    async with run_simulator({"model": "m", "replies": [{"raw": RAW}]}) as sim:
        async with httpx.AsyncClient(base_url=sim.base_url) as client:
            partial = {
                "role": "assistant",
                "content": ANSWER[:7],
                "reasoning_content": "Two lookups are needed here.",
            }
            fetch = {"type": "object", "properties": {"key": {"type": "string"}}}
            tools = [{"type": "function", "function": {"name": "fetch", "parameters": fetch}}]
            # with tools, as vLLM parses calls only then
            base = {"model": "m", "messages": [{"role": "user", "content": "go"}, partial], "tools": tools}
            bad = await client.post("/chat/completions", json={**base, "continue_final_message": True})
            assert bad.status_code == 400 and "add_generation_prompt" in bad.json()["error"]["message"]
            good = await client.post(
                "/chat/completions",
                json={**base, "continue_final_message": True, "add_generation_prompt": False},
            )
            message = good.json()["choices"][0]["message"]
            assert message["content"] == ANSWER[7:] and len(message["tool_calls"]) == 2
            assert not message.get("reasoning")
