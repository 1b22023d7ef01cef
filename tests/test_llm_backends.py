"""The native and server backends against the simulator over HTTP: budget, faults, recovery, errors."""

from __future__ import annotations

import pytest

from agentkit.llm.errors import LLMError
from agentkit.llm.http import Endpoint
from agentkit.llm.native import EARLY_STOP, NativeBackend, _coder_safe
from agentkit.llm.server import ServerBackend
from agentkit.llm.types import ModelRequest, Retrying, StepFinished, StreamContinued, StreamRestarted
from agentkit.qwen3.template import render_prompt
from agentkit.qwen3.tokens import count_tokens
from agentkit.qwen3.types import (
    ContentDelta,
    ReasoningDelta,
    ToolCallArgsDelta,
    ToolCallComplete,
    ToolCallStarted,
)
from agentkit.testing import run_simulator

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look up.",
            "parameters": {"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]},
        },
    }
]
USER = [{"role": "user", "content": "go"}]


async def collect(llm, request):
    events = [event async for event in llm.stream(request)]
    assert isinstance(events[-1], StepFinished)
    return events, events[-1].output


@pytest.mark.anyio
async def test_thinking_budget_closes_reasoning_and_continues_the_turn():
    long_think = " ".join(f"thought{i}" for i in range(200))
    script = {"model": "m", "replies": [{"think": long_think, "text": "The answer."}]}
    async with run_simulator(script) as sim:
        llm = NativeBackend(Endpoint(sim.base_url), "m")
        events, out = await collect(
            llm, ModelRequest(USER, thinking=True, thinking_budget=20, max_tokens=500)
        )
        prompts = [r["body"]["prompt"] for r in sim.requests() if r["path"] == "/v1/completions"]
        await llm.aclose()
    assert len(prompts) == 2
    assert prompts[1].endswith(EARLY_STOP) and prompts[1].startswith(prompts[0])
    assert out.parsed.reasoning_content.endswith("based on the thinking directly now.")
    assert out.parsed.content == "The answer."
    assert not out.parsed.reasoning_truncated
    assert "".join(e.text for e in events if isinstance(e, ContentDelta)) == "The answer."
    assert any(isinstance(e, ReasoningDelta) for e in events)


@pytest.mark.anyio
async def test_server_mode_refuses_a_thinking_budget_instead_of_ignoring_it():
    script = {"model": "m", "replies": [{"think": "short", "text": "ok"}]}
    async with run_simulator(script) as sim:
        llm = ServerBackend(Endpoint(sim.base_url), "m")
        with pytest.raises(LLMError, match="thinking_budget needs native mode"):
            await collect(llm, ModelRequest(USER, thinking=True, thinking_budget=20))
        _, out = await collect(llm, ModelRequest(USER, thinking=False, thinking_budget=20))
        assert [r["path"] for r in sim.requests() if "completions" in r["path"]] == ["/v1/chat/completions"]
        await llm.aclose()
    assert out.parsed.content == "ok"


@pytest.mark.anyio
async def test_native_mode_leaves_max_tokens_to_the_server_unless_capped_and_never_asks_past_the_window():
    script = {"model": "m", "max_model_len": 1000, "replies": ["ok"]}
    async with run_simulator(script) as sim:
        llm = NativeBackend(Endpoint(sim.base_url), "m")
        for max_tokens in (None, 50, 5000):
            await collect(llm, ModelRequest(USER, thinking=False, max_tokens=max_tokens))
        bodies = [r["body"] for r in sim.requests() if r["path"] == "/v1/completions"]
        await llm.aclose()
    prompt_tokens = count_tokens(bodies[0]["prompt"])
    assert [b.get("max_tokens") for b in bodies] == [None, 50, 1000 - prompt_tokens]


@pytest.mark.anyio
async def test_budget_not_spent_means_one_request():
    script = {"model": "m", "replies": [{"think": "short", "text": "ok"}]}
    async with run_simulator(script) as sim:
        llm = NativeBackend(Endpoint(sim.base_url), "m")
        _, out = await collect(llm, ModelRequest(USER, thinking=True, thinking_budget=200))
        assert len([r for r in sim.requests() if r["path"] == "/v1/completions"]) == 1
        await llm.aclose()
    assert out.parsed.content == "ok" and out.parsed.reasoning_content == "short"


@pytest.mark.anyio
@pytest.mark.parametrize("backend", [NativeBackend, ServerBackend])
async def test_cut_stream_continues_the_turn_and_overload_is_retried(backend):
    script = {
        "model": "m",
        "replies": [{"text": "hello there, a long enough answer"}],
        "faults": [{"status": 429, "retry_after": 0.05}, {"cut_after_chars": 8}],
    }
    async with run_simulator(script) as sim:
        llm = backend(Endpoint(sim.base_url), "m")
        events, out = await collect(llm, ModelRequest(USER, thinking=False))
        await llm.aclose()
    assert [
        type(e).__name__ for e in events if isinstance(e, (Retrying, StreamRestarted, StreamContinued))
    ] == [
        "Retrying",
        "StreamContinued",
    ]
    assert out.parsed.content == "hello there, a long enough answer"
    assert "".join(e.text for e in events if isinstance(e, ContentDelta)) == out.parsed.content
    assert len(out.usage.continued_tokens) == 1


def _event_summary(events) -> dict:
    """What a step's events say, independent of how the text was chunked."""
    out = events[-1].output
    return {
        "reasoning": "".join(e.text for e in events if isinstance(e, ReasoningDelta)),
        "content": "".join(e.text for e in events if isinstance(e, ContentDelta)),
        "started": [(e.index, e.name) for e in events if isinstance(e, ToolCallStarted)],
        "args": "".join(e.text for e in events if isinstance(e, ToolCallArgsDelta)),
        "complete": [(e.call.name, e.call.arguments) for e in events if isinstance(e, ToolCallComplete)],
        "finish": out.finish_reason,
        "thinking": out.thinking,
        "parsed": (out.parsed.content, out.parsed.reasoning_content),
    }


@pytest.mark.anyio
@pytest.mark.parametrize("thinking", [True, False])
async def test_native_and_server_mode_give_the_same_events(thinking):
    script = {
        "model": "Qwen/Qwen3-8B",
        "chunk_chars": 3,
        "replies": [
            {
                "think": "Look it up.",
                "text": "Sure.",
                "tool_calls": [{"name": "lookup", "arguments": {"key": "k"}}],
            }
        ],
    }
    summaries = []
    async with run_simulator(script) as sim:
        for backend in (NativeBackend, ServerBackend):
            llm = backend(Endpoint(sim.base_url))
            events, _ = await collect(llm, ModelRequest(USER, tools=TOOLS, thinking=thinking))
            summaries.append(_event_summary(events))
            await llm.aclose()
    native, server = summaries
    assert native == server
    assert native["finish"] == "tool_calls" and native["complete"] == [("lookup", {"key": "k"})]
    assert native["reasoning"] == ("Look it up." if thinking else "")


@pytest.mark.anyio
async def test_retries_are_bounded():
    script = {
        "model": "m",
        "replies": ["x"],
        "faults": [{"status": 503, "times": "always", "retry_after": 0}],
    }
    async with run_simulator(script) as sim:
        llm = NativeBackend(Endpoint(sim.base_url), "m", max_retries=2)
        with pytest.raises(LLMError, match="giving up after 3 attempts"):
            await collect(llm, ModelRequest(USER))
        await llm.aclose()


@pytest.mark.anyio
async def test_a_base_url_without_the_api_says_so_on_one_line():
    async with run_simulator({"model": "m", "replies": ["x"]}) as sim:
        llm = NativeBackend(Endpoint(sim.base_url.removesuffix("/v1") + "/api"), "m")
        with pytest.raises(LLMError, match="HTTP 404.*not an OpenAI-compatible API.*/v1") as info:
            await collect(llm, ModelRequest(USER))
        await llm.aclose()
    assert "\n" not in str(info.value)


@pytest.mark.anyio
async def test_unknown_model_name_lists_the_served_ones():
    async with run_simulator({"model": "served-name", "replies": ["x"]}) as sim:
        llm = NativeBackend(Endpoint(sim.base_url), "other-name")
        with pytest.raises(LLMError, match=r"serves \['served-name'\]"):
            await collect(llm, ModelRequest(USER))
        await llm.aclose()


@pytest.mark.anyio
async def test_server_mode_validates_calls_and_recovers_calls_left_in_content():
    bad_and_good = (
        '<tool_call>\n{"name": "lookup", "arguments": {"key": "a"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "lokup", "arguments": {"key": "b"}}\n</tool_call>'
    )
    async with run_simulator({"model": "m", "replies": [{"raw": bad_and_good}]}) as sim:
        llm = ServerBackend(Endpoint(sim.base_url), "m")
        _, out = await collect(llm, ModelRequest(USER, tools=TOOLS, thinking=False))
        await llm.aclose()
    assert [c.name for c in out.parsed.tool_calls] == ["lookup"]
    assert out.parsed.tool_calls[0].arguments == {"key": "a"}
    assert [c.name for c in out.parsed.invalid_tool_calls] == ["lokup"]
    assert "Did you mean 'lookup'" in out.parsed.invalid_tool_calls[0].error


def test_coder_history_with_a_malformed_call_still_renders():
    history = [
        *USER,
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "lookup", "arguments": '{"key": '}}
            ],
        },
        {"role": "tool", "tool_call_id": "c", "content": "Tool call not executed: invalid JSON"},
    ]
    with pytest.raises(ValueError):
        render_prompt(history, TOOLS, variant="coder")
    prompt = render_prompt(_coder_safe(history), TOOLS, variant="coder")
    assert "<function=lookup>" in prompt and "invalid JSON" in prompt
    assert (
        history[1]["tool_calls"][0]["function"]["arguments"] == '{"key": '
    )  # the caller's history is untouched


@pytest.mark.anyio
async def test_replicas_keep_each_run_on_one_server_and_spread_runs():
    import anyio

    from agentkit.agent import Agent
    from agentkit.tooling import tool

    @tool
    def lookup(key: str) -> str:
        """Look up."""
        return key.upper()

    script = {
        "model": "m",
        "replies": [
            {"tool_calls": [{"name": "lookup", "arguments": {"key": "a"}}]},
            {"tool_calls": [{"name": "lookup", "arguments": {"key": "b"}}]},
            "done",
        ],
    }
    async with run_simulator(script) as one, run_simulator(script) as two:
        llm = NativeBackend([Endpoint(one.base_url), Endpoint(two.base_url)], "m")
        agent = Agent(llm, [lookup])
        results = []
        async with anyio.create_task_group() as group:
            for i in range(4):
                group.start_soon(lambda i=i: _append(results, agent.run(f"run {i}")))
        counts = [len([r for r in sim.requests() if r["path"] == "/v1/completions"]) for sim in (one, two)]
        queries = [
            {
                r["body"]["prompt"].split("run ")[1][0]
                for r in sim.requests()
                if r["path"] == "/v1/completions"
            }
            for sim in (one, two)
        ]
        await llm.aclose()
    assert all(r.output == "done" for r in results)
    assert counts == [6, 6]  # 4 runs x 3 steps, two runs on each replica
    assert not queries[0] & queries[1]  # no run moved between replicas


async def _append(results, coro):
    results.append(await coro)


@pytest.mark.anyio
async def test_a_local_models_own_template_wins_when_ours_disagrees(tmp_path, monkeypatch):
    import json
    from pathlib import Path

    from agentkit.config import load_task_dict
    from agentkit.runtime import open_llm

    official = (Path(__file__).parent / "fixtures" / "chat_templates" / "qwen3-hybrid.jinja").read_text()
    odd = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{{ '<|im_start|>assistant\\n' }}"
    for name, template in (("official", official), ("odd", odd)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "tokenizer_config.json").write_text(json.dumps({"chat_template": template}))
    async with run_simulator({"model": "m", "replies": ["hi"] * 4}) as sim:
        monkeypatch.setenv("AGENTKIT_ENDPOINT", sim.base_url)
        for name, expect_ours in (("official", True), ("odd", False)):
            task = load_task_dict({"model": {"path": str(tmp_path / name), "name": "m"}}, tmp_path)
            async with open_llm(task) as llm:
                assert (llm.chat_template is None) is expect_ours
                await collect(llm, ModelRequest(USER, tools=TOOLS, thinking=True))
        prompts = [r["body"]["prompt"] for r in sim.requests() if r["path"] == "/v1/completions"]
    assert "# Tools" in prompts[0]  # ours, equal to the official template
    assert prompts[1] == "<|im_start|>user\ngo<|im_end|>\n<|im_start|>assistant\n"  # the model's own


@pytest.mark.anyio
@pytest.mark.parametrize("what", ["stream", "headers"])
async def test_model_timeout_is_a_deadline_for_the_whole_request(what: str):
    """An endpoint that trickles one SSE event (or one header byte) every 0.3 s: `timeout` ends it."""
    import asyncio
    import time

    from agentkit.llm.http import Endpoint, RetryableError
    from tests.e2e_helpers import free_port

    event = b'data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n\n'

    async def handle(reader, writer):
        await reader.read(65536)
        try:
            if what == "headers":
                for byte in b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Slow: " + b"y" * 50:
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(0.3)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            for _ in range(50):
                writer.write(b"%x\r\n%s\r\n" % (len(event), event))
                await writer.drain()
                await asyncio.sleep(0.3)
        except (ConnectionError, asyncio.CancelledError):
            pass
        writer.close()

    port = free_port()
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    endpoint = Endpoint(f"http://127.0.0.1:{port}/v1", timeout=1.5)
    started = time.monotonic()
    try:
        with pytest.raises(RetryableError, match=r"did not finish within model.timeout \(1.5 s"):
            async for _ in endpoint.stream_events("/chat/completions", {"stream": True}):
                pass
    finally:
        await endpoint.aclose()
        server.close()
    assert time.monotonic() - started < 2.5
