"""Streaming: same result as a whole parse for any chunking, events as the text arrives."""

from __future__ import annotations

import json
import random

import pytest
from parse_helpers import TOOLS, check_events, ids, parse_both, stream

from agentkit.qwen3.parser import OutputParser, parse_output
from agentkit.qwen3.types import (
    ContentDelta,
    ReasoningDelta,
    ToolCallArgsDelta,
    ToolCallComplete,
    ToolCallInvalid,
    ToolCallStarted,
)


def long_output(seed: int, turns: int = 40) -> str:
    """A long, messy turn: reasoning with prose tags, then content, good/bad calls, CJK, braces."""
    rng = random.Random(seed)
    parts = ["<think>\n"]
    for i in range(turns):
        parts.append(
            rng.choice(["Consider <tool_call> usage. ", "天气怎么样？ ", "a < b, {x}. ", f"Step {i}.\n"])
        )
    parts.append('Maybe <tool_call>\n{"name": "get_weather", "arguments": {"city": "X"}}\n</tool_call> no.\n')
    parts.append("\n</think>\n\nPlan:\n")
    for i in range(turns):
        kind = rng.randrange(5)
        if kind == 0:
            args = {"command": f"mkdir -p a{i}/{{b,c}} && echo '\"}}{{' 北京", "sudo": rng.random() < 0.5}
            parts.append(
                f"<tool_call>\n{json.dumps({'name': 'run_shell', 'arguments': args}, ensure_ascii=False)}\n</tool_call>\n"
            )
        elif kind == 1:
            parts.append(
                '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris",}}\n</tool_call>\n'
            )
        elif kind == 2:
            parts.append(
                '<tool_call>\n{"name": "get_wether", "arguments": "{\\"city\\": \\"Rome\\"}"}\n</tool_call>\n'
            )
        elif kind == 3:
            parts.append('<tool_call>\n{"name": "run_shell", "arguments": {"command": oops}}\n</tool_call>\n')
        else:
            parts.append(rng.choice(["Then I check.\n", "结果如下。 ", "Use </tool_ca carefully.\n"]))
    parts.append('Finally <tool_call>\n{"name": "get_weather", "arguments": {"city": "端')
    return "".join(parts)


def test_long_output_random_chunkings_match_whole_parse():
    for seed in range(3):
        text = long_output(seed)
        whole = parse_output(text, tools=TOOLS, id_factory=ids)
        assert whole.tool_calls and whole.invalid_tool_calls and whole.tool_call_truncated
        rng = random.Random(seed)
        for _ in range(25):
            cuts = sorted(rng.sample(range(1, len(text)), rng.randint(1, len(text) // 3)))
            result, fed, closing = stream(text, cuts, tools=TOOLS)
            assert result == whole
            check_events(result, fed, closing)
        result, fed, closing = stream(text, list(range(1, len(text))), tools=TOOLS)
        assert result == whole


def test_all_split_points_of_a_mixed_turn():
    text = (
        "<think>\nNeed two things.\n</think>\n\nOn it.\n"
        '<tool_call>\n{"arguments": {"city": "北京", "days": 2}, "name": "get_weather"}\n</tool_call>\n'
        '<tool_call>\n{"name": "run_shell", "arguments": {"command": "echo \\"a{b}\\""}}\n</tool_call>\nSent.'
    )
    out = parse_both(text, tools=TOOLS, random_runs=40)
    assert [c.name for c in out.tool_calls] == ["get_weather", "run_shell"]
    assert out.content == "On it.\nSent."


def test_events_arrive_as_the_text_streams():
    parser = OutputParser(tools=TOOLS, id_factory=ids)
    assert parser.feed("<think>\nHmm") == [ReasoningDelta("Hmm")]
    assert parser.feed(".\n</thi") == [ReasoningDelta(".")]
    assert parser.feed("nk>\n\nOk") == [ContentDelta("Ok")]
    assert parser.feed("\n<tool") == []
    assert parser.feed('_call>\n{"name": "get_weather", ') == [ToolCallStarted(0, "call_0", "get_weather")]
    assert parser.feed('"arguments": {"city"') == [ToolCallArgsDelta(0, '{"city"')]
    assert parser.feed(': "Nice"}}\n</tool_') == [ToolCallArgsDelta(0, ': "Nice"}')]
    (done,) = parser.feed("call>")
    assert isinstance(done, ToolCallComplete) and done.call.arguments == {"city": "Nice"}
    assert parser.feed("\n\nBye") == [ContentDelta("\nBye")]
    assert parser.close() == []
    assert parser.result().content == "Ok\nBye"


def test_args_deltas_concatenate_to_raw_arguments():
    args = '{"command": "mkdir -p x/{a,b}", "sudo": true}'
    text = f'</think>\n\n<tool_call>\n{{"name": "run_shell", "arguments": {args}}}\n</tool_call>'
    _, fed, closing = stream(text, list(range(1, len(text))), tools=TOOLS)
    streamed = "".join(e.text for e in fed if isinstance(e, ToolCallArgsDelta))
    assert streamed == args
    assert [type(e) for e in fed if not isinstance(e, (ToolCallArgsDelta, ContentDelta))] == [
        ToolCallStarted,
        ToolCallComplete,
    ]


def test_invalid_call_reported_with_event():
    text = '</think>\n\n<tool_call>\n{"name": "nope", "arguments": {}}\n</tool_call>'
    events = OutputParser(tools=TOOLS, id_factory=ids).feed(text)
    assert isinstance(events[-1], ToolCallInvalid) and events[-1].call.name == "nope"


def test_tentative_call_in_think_emits_events_only_when_recovered():
    parser = OutputParser(tools=TOOLS, id_factory=ids)
    events = parser.feed(
        '<think>\nx\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "A"}}\n</tool_call>\n'
    )
    assert events == [ReasoningDelta("x")]
    events = parser.feed("</think>")
    assert [type(e) for e in events] == [ToolCallStarted, ToolCallArgsDelta, ToolCallComplete]


def test_held_back_tail_stays_bounded():
    parser = OutputParser(thinking=False)
    emitted = 0
    text = "word < other <tool_ca " * 2000
    for k in range(0, len(text), 3):
        emitted += sum(len(e.text) for e in parser.feed(text[k : k + 3]))
        assert len(text[: k + 3]) - emitted <= len("<tool_call>")


def test_reasoning_keeps_streaming_after_a_prose_tool_call_mention():
    parser = OutputParser(tools=TOOLS)
    assert parser.feed("<think>\nI would use <tool_call> ") == [ReasoningDelta("I would use ")]
    assert "".join(e.text for e in parser.feed("tags here")) == "<tool_call> tags here"


FRAGMENTS = [
    "<think>", "</think>", "<tool_call>", "</tool_call>", "\n", "\n\n", " ", "<", "</", "<tool", "</thi", "think>",
    '{"name": "get_weather", "arguments": {"city": "A"}}', '{"name": "run_shell", "parameters": {"command": "x{y}"}}',
    '{"name": "nope"', "}", "{", '"', "text", "北京", "<function=", "<function=get_weather>", "<parameter=city>",
    "</parameter>", "</function>", "'", "True",
]  # fmt: skip


@pytest.mark.parametrize(
    "mode", [{}, {"thinking": False}, {"tool_format": "xml"}, {"tool_format": "xml", "thinking": False}]
)
def test_fuzzed_tag_soup_streams_like_the_whole_parse(mode):
    rng = random.Random(7)
    for _ in range(40):
        text = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 14)))
        parse_both(text, tools=TOOLS, **mode)
