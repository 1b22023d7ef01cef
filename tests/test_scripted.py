"""``ScriptedLLM`` (in-process, real parser) and the script format both testing-kit pieces share."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit.llm.native import EARLY_STOP
from agentkit.llm.types import ModelRequest, StepFinished
from agentkit.qwen3.tokens import count_tokens
from agentkit.qwen3.types import (
    ContentDelta,
    ReasoningDelta,
    ToolCallArgsDelta,
    ToolCallComplete,
    ToolCallStarted,
)
from agentkit.testing import ScriptedLLM, ScriptError, load_script
from agentkit.testing.script import Reply

SCRIPTS = Path(__file__).parent / "fixtures" / "scripts"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
USER = {"role": "user", "content": "Weather in Paris?"}


async def collect(llm: ScriptedLLM, request: ModelRequest):
    events = [event async for event in llm.stream(request)]
    assert isinstance(events[-1], StepFinished) and not any(isinstance(e, StepFinished) for e in events[:-1])
    return events[:-1], events[-1].output


def after_call(parsed) -> list[dict]:
    call = parsed.tool_calls[0]
    assistant = {"role": "assistant", "content": parsed.content or "", "tool_calls": [call.to_openai()]}
    return [USER, assistant, {"role": "tool", "tool_call_id": call.id, "content": "sunny"}]


@pytest.mark.anyio
async def test_from_replies_streams_parse_events_then_the_step():
    llm = ScriptedLLM.from_replies([f"<think>\nNeed the weather.\n</think>\n\n{CALL}", "It is sunny."])
    events, out = await collect(llm, ModelRequest(messages=[USER], tools=TOOLS))
    kinds = [type(e) for e in events]
    assert ReasoningDelta in kinds and ToolCallStarted in kinds and ToolCallComplete in kinds
    assert sum(isinstance(e, ReasoningDelta) for e in events) > 1, "fed in small chunks"
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == out.parsed.reasoning_content
    assert "".join(e.text for e in events if isinstance(e, ToolCallArgsDelta)).strip().startswith("{")
    assert out.parsed.tool_calls[0].arguments == {"city": "Paris"}
    assert out.finish_reason == "tool_calls" and out.thinking is True
    assert out.usage.prompt_tokens == count_tokens(
        out.prompt
    ) and out.usage.completion_tokens == count_tokens(out.raw_text)

    events, out = await collect(
        llm, ModelRequest(messages=after_call(out.parsed), tools=TOOLS, thinking=False)
    )
    assert out.parsed.content == "It is sunny." and out.parsed.reasoning_content is None
    assert "".join(e.text for e in events if isinstance(e, ContentDelta)) == "It is sunny."
    assert out.thinking is False and out.prompt.endswith("<think>\n\n</think>\n\n")
    assert len(llm.requests) == 2


@pytest.mark.anyio
async def test_structured_replies_follow_the_thinking_switch():
    llm = ScriptedLLM({"replies": [{"think": "Plan.", "text": "Answer."}]})
    _, on = await collect(llm, ModelRequest(messages=[USER]))
    _, off = await collect(llm, ModelRequest(messages=[USER], thinking=False))
    assert on.raw_text == "<think>\nPlan.\n</think>\n\nAnswer." and on.parsed.reasoning_content == "Plan."
    assert (
        off.raw_text == "Answer." and off.parsed.reasoning_content is None and off.parsed.content == "Answer."
    )
    no_think = ScriptedLLM({"replies": ["Just this."]})
    _, plain = await collect(no_think, ModelRequest(messages=[USER]))
    assert plain.raw_text == "<think>\n\n</think>\n\nJust this.", (
        "a thinking model writes an empty think block"
    )
    assert plain.parsed.content == "Just this."


@pytest.mark.anyio
async def test_variants_and_conversations_from_a_file():
    llm = ScriptedLLM(SCRIPTS / "weather.yaml")
    _, out = await collect(
        llm, ModelRequest(messages=[{"role": "user", "content": "The capital of France?"}])
    )
    assert out.parsed.content == "Paris."
    _, out = await collect(llm, ModelRequest(messages=[USER], tools=TOOLS))
    assert out.parsed.tool_calls[0].arguments == {"city": "Paris", "unit": "celsius"}

    t2507 = ScriptedLLM({"variant": "thinking-2507", "replies": [{"think": "Hm.", "text": "Hi."}]})
    _, out = await collect(t2507, ModelRequest(messages=[USER], thinking=False))
    assert out.raw_text == "Hm.\n</think>\n\nHi." and out.thinking is True, "2507 Thinking always thinks"
    assert out.parsed.reasoning_content == "Hm." and out.parsed.content == "Hi."

    coder = ScriptedLLM(SCRIPTS / "coder.json")
    tools = [
        {
            "type": "function",
            "function": {
                "name": "run",
                "parameters": {
                    "type": "object",
                    "properties": {"cmd": {"type": "string"}, "timeout": {"type": "integer"}},
                },
            },
        }
    ]
    _, out = await collect(coder, ModelRequest(messages=[USER], tools=tools))
    assert out.thinking is False and out.parsed.content.strip() == "Let me list the files."
    assert out.parsed.tool_calls[0].arguments == {"cmd": "mkdir -p a/{b,c} && ls", "timeout": 5}


@pytest.mark.anyio
async def test_max_tokens_budget_and_running_out():
    llm = ScriptedLLM({"replies": [{"think": "word " * 40, "text": "Done."}]})
    _, cut = await collect(llm, ModelRequest(messages=[USER], max_tokens=5))
    assert (
        cut.finish_reason == "length" and count_tokens(cut.raw_text) == 5 and cut.parsed.reasoning_truncated
    )
    _, budget = await collect(llm, ModelRequest(messages=[USER], thinking_budget=10))
    assert EARLY_STOP in budget.raw_text and budget.raw_text.endswith(EARLY_STOP + "Done.")
    assert budget.parsed.content == "Done." and budget.finish_reason == "stop"
    history = [
        USER,
        {"role": "assistant", "content": "Done."},
        {"role": "user", "content": "<tool_response>\nx\n</tool_response>"},
    ]
    _, out = await collect(llm, ModelRequest(messages=history, thinking=False))
    assert out.parsed.content.startswith("[agentkit simulator] The script ran out of replies")


@pytest.mark.anyio
async def test_drives_the_agent_loop_with_a_real_tool():
    from agentkit.agent import Agent
    from agentkit.tooling.decorator import tool

    @tool
    def get_weather(city: str) -> str:
        """Current weather in a city."""
        return f"sunny in {city}"

    llm = ScriptedLLM.from_replies([f"<think>\nCall it.\n</think>\n\n{CALL}", "Sunny in Paris."])
    result = await Agent(llm, [get_weather]).run("Weather in Paris?")
    assert result.output == "Sunny in Paris."
    assert result.messages[-2]["role"] == "tool" and result.messages[-2]["content"] == "sunny in Paris"


def test_script_format_shorthands_and_errors(tmp_path):
    script = load_script(["plain answer", "<think>\nraw\n</think>\n\nx", {"raw": "exact"}])
    assert [r for r in script.conversations[0].replies] == [
        Reply(text="plain answer"),
        Reply(raw="<think>\nraw\n</think>\n\nx"),
        Reply(raw="exact"),
    ]
    bad = [
        ({"replies": ["x"], "chunk_char": 3}, "unknown key 'chunk_char'; did you mean 'chunk_chars'?"),
        ({"replies": ["x"], "variant": "qwen2"}, "variant must be one of hybrid, thinking-2507"),
        ({"replies": [{"raw": "x", "text": "y"}]}, "'raw' is the whole output"),
        ({"replies": [{"tool_calls": [{"arguments": {}}]}]}, "replies[0].tool_calls[0]: 'name' must be"),
        ({"replies": ["x"], "faults": [{"status": 200}]}, "status must be an HTTP error code"),
        ({"replies": ["x"], "faults": [{"times": 2}]}, "the rule does nothing"),
        ({"conversations": [{"match": "(", "replies": []}]}, "not a valid regular expression"),
        ({}, "no replies"),
    ]
    for data, message in bad:
        with pytest.raises(ScriptError, match=None) as info:
            load_script(data)
        assert message in str(info.value), (data, str(info.value))
    broken = tmp_path / "broken.yaml"
    broken.write_text("model: x\nreplies:\n  - [unclosed\n")
    with pytest.raises(ScriptError, match=r"broken\.yaml:\d+: invalid YAML"):
        load_script(broken)
    with pytest.raises(ScriptError, match="does not exist"):
        load_script(tmp_path / "missing.yaml")
