"""``render_prompt`` is byte-identical to the official Qwen3 chat templates (test fixtures, rendered
with Jinja here the way transformers does), on hand-written edge cases and a few hundred seeded
random conversations per variant."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import jinja2
import jinja2.ext
import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from agentkit.qwen3.template import VARIANTS, detect_variant, render_prompt, tool_format_for

FIXTURES = Path(__file__).parent / "fixtures" / "chat_templates"
TEMPLATE_FILES = {
    "hybrid": "qwen3-hybrid.jinja",
    "thinking-2507": "qwen3-thinking-2507.jinja",
    "instruct-2507": "qwen3-instruct-2507.jinja",
    "coder": "qwen3-coder.jinja",
}


def _environment() -> jinja2.Environment:
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = lambda value, **kw: json.dumps(value, ensure_ascii=False, **kw)
    return env


ENV = _environment()
COMPILED = {
    variant: ENV.from_string((FIXTURES / name).read_text()) for variant, name in TEMPLATE_FILES.items()
}


def server_view(messages: list[dict[str, Any]], variant: str) -> list[dict[str, Any]]:
    """The messages as vLLM hands them to the template: content as one string, ``reasoning`` copied
    to ``reasoning_content``, and for Qwen3-Coder JSON-string arguments decoded."""
    out = copy.deepcopy(messages)
    for message in out:
        content = message.get("content")
        if isinstance(content, list):
            message["content"] = "\n".join(
                part if isinstance(part, str) else part["text"] for part in content
            )
        elif content is None:
            message["content"] = ""
        if not isinstance(message.get("reasoning_content"), str) and isinstance(
            message.get("reasoning"), str
        ):
            message["reasoning_content"] = message["reasoning"]
        for call in message.get("tool_calls") or []:
            function = call.get("function") or call
            if variant == "coder" and isinstance(function.get("arguments"), str):
                function["arguments"] = json.loads(function["arguments"])
    return out


def wrapped(tools: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if not tools:
        return None
    return [tool if "function" in tool else {"type": "function", "function": tool} for tool in tools]


def official(
    messages, tools=None, *, variant="hybrid", enable_thinking=True, add_generation_prompt=True
) -> str:
    return COMPILED[variant].render(
        messages=server_view(messages, variant),
        tools=wrapped(tools),
        enable_thinking=enable_thinking,
        add_generation_prompt=add_generation_prompt,
    )


def assert_same(messages, tools=None, **kwargs) -> str:
    ours = render_prompt(messages, tools, **kwargs)
    theirs = official(messages, tools, **kwargs)
    assert ours == theirs, _diff(ours, theirs)
    return ours


def _diff(ours: str, theirs: str) -> str:
    at = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
    return f"differ at {at}: ours {ours[at - 40 : at + 80]!r}\n      template {theirs[at - 40 : at + 80]!r}"


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "  Weather for a city.\n",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name"},
                "days": {"type": "integer", "minimum": 1, "default": 1},
                "unit": {"type": ["string", "null"], "enum": ["c", "f"]},
                "where": {"type": "object", "properties": {"lat": {"type": "number"}}},
            },
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
SEARCH = {  # a bare function dict: wrapped as {"type": "function", "function": ...}
    "name": "web_search",
    "description": "实时网络搜索",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
}


def call(name: str, arguments: Any, *, wrapper: bool = True, cid: str = "c1") -> dict[str, Any]:
    function = {"name": name, "arguments": arguments}
    return {"id": cid, "type": "function", "function": function} if wrapper else function


USER = {"role": "user", "content": "What's the weather in Paris?"}
CASES: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]] | None]] = {
    "user only": ([USER], None),
    "system and user": ([{"role": "system", "content": "Be brief."}, USER], None),
    "empty system": ([{"role": "system", "content": ""}, USER], [WEATHER]),
    "tools without system": ([USER], [WEATHER, SEARCH]),
    "tools with system": ([{"role": "system", "content": "You help."}, USER], [SEARCH]),
    "reasoning_content last": (
        [USER, {"role": "assistant", "content": "Sunny.", "reasoning_content": "\nCheck.\n"}],
        None,
    ),
    "inline think last": (
        [USER, {"role": "assistant", "content": "<think>\nHmm.\n</think>\n\nSunny."}],
        None,
    ),
    "inline think, no opener": ([USER, {"role": "assistant", "content": "Hmm.\n</think>\n\n\nSunny."}], None),
    "reasoning field of vLLM": (
        [USER, {"role": "assistant", "content": "Sunny.", "reasoning": "Look it up."}],
        None,
    ),
    "reasoning_content wins over inline": (
        [USER, {"role": "assistant", "content": "<think>a</think>b", "reasoning_content": "r"}],
        None,
    ),
    "empty reasoning before last": (
        [
            USER,
            {"role": "assistant", "content": "", "tool_calls": [call("get_weather", {"city": "Paris"})]},
            {"role": "tool", "content": "sunny"},
            {"role": "assistant", "content": "It is sunny."},
        ],
        [WEATHER],
    ),
    "dict and string arguments, several calls": (
        [
            USER,
            {
                "role": "assistant",
                "content": "Let me check.",
                "reasoning_content": "Two calls.",
                "tool_calls": [
                    call(
                        "get_weather", {"city": "Paris", "where": {"lat": 48.8, "tags": [1, "a", None, True]}}
                    ),
                    call("get_weather", '{"city":"Lyon","days":2}', wrapper=False, cid="c2"),
                    call("web_search", json.dumps({"query": "天气 巴黎"}, ensure_ascii=False), cid="c3"),
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "18 C"},
            {"role": "tool", "tool_call_id": "c2", "content": "20 C"},
            {"role": "tool", "tool_call_id": "c3", "content": "晴天"},
        ],
        [WEATHER, SEARCH],
    ),
    "content None with calls, then list content": (
        [
            {
                "role": "user",
                "content": [{"type": "text", "text": "Weather?"}, {"type": "text", "text": "Paris."}],
            },
            {"role": "assistant", "content": None, "tool_calls": [call("get_weather", {"city": "Paris"})]},
            {"role": "tool", "content": [{"type": "text", "text": "sunny"}]},
            {"role": "tool", "content": None},
        ],
        [WEATHER],
    ),
    "late system messages": (
        [
            {"role": "system", "content": "First."},
            USER,
            {"role": "assistant", "content": "Sunny."},
            {"role": "system", "content": "Now answer in French."},
            {"role": "user", "content": "Et demain ?"},
        ],
        [WEATHER],
    ),
    "several queries drop old reasoning": (
        [
            USER,
            {"role": "assistant", "content": "Sunny.", "reasoning_content": "old thoughts"},
            {"role": "user", "content": "And Lyon?"},
            {
                "role": "assistant",
                "content": "",
                "reasoning_content": "plan",
                "tool_calls": [call("get_weather", {})],
            },
            {"role": "tool", "content": "rain"},
            {"role": "assistant", "content": "<think>\nnew thoughts\n</think>\n\nRain in Lyon."},
        ],
        [WEATHER],
    ),
    "user content that looks like a tool response": (
        [
            USER,
            {
                "role": "assistant",
                "content": "",
                "reasoning_content": "call",
                "tool_calls": [call("get_weather", {})],
            },
            {"role": "user", "content": "<tool_response>\nsunny\n</tool_response>"},
            {"role": "assistant", "content": "Sunny.", "reasoning_content": "kept: still the same query"},
        ],
        [WEATHER],
    ),
    "conversation starting with tool results": (
        [{"role": "tool", "content": "orphan"}, {"role": "tool", "content": "second"}, USER],
        None,
    ),
    "system then tool first": (
        [{"role": "system", "content": "S"}, {"role": "tool", "content": "t"}, USER],
        [SEARCH],
    ),
    "cjk and newlines everywhere": (
        [
            {"role": "system", "content": "\n你是助手。\n"},
            {"role": "user", "content": "2025年全球AI趋势分析\n\n"},
            {"role": "assistant", "content": "\n\n<think>\n\n思考\n\n</think>\n\n\n答案。\n"},
        ],
        [SEARCH],
    ),
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", list(CASES))
def test_hand_written_cases_match_the_official_template(name: str, variant: str) -> None:
    messages, tools = CASES[name]
    for thinking in (True, False):
        for generation in (True, False):
            assert_same(
                messages, tools, variant=variant, enable_thinking=thinking, add_generation_prompt=generation
            )


def test_known_prompts_byte_for_byte() -> None:
    assert render_prompt([USER]) == (
        "<|im_start|>user\nWhat's the weather in Paris?<|im_end|>\n<|im_start|>assistant\n"
    )
    assert render_prompt([USER], enable_thinking=False).endswith(
        "<|im_start|>assistant\n<think>\n\n</think>\n\n"
    )
    assert render_prompt([USER], variant="thinking-2507").endswith("<|im_start|>assistant\n<think>\n")
    assert render_prompt([USER], variant="instruct-2507", enable_thinking=False).endswith(
        "<|im_start|>assistant\n"
    )
    turn = [USER, {"role": "assistant", "content": "", "tool_calls": [call("get_weather", {"city": "巴黎"})]}]
    assert render_prompt(turn, add_generation_prompt=False).endswith(
        '<|im_start|>assistant\n<think>\n\n</think>\n\n<tool_call>\n{"name": "get_weather", "arguments": '
        '{"city": "巴黎"}}\n</tool_call><|im_end|>\n'
    )
    assert render_prompt(turn, variant="coder", add_generation_prompt=False).endswith(
        "<|im_start|>assistant\n<tool_call>\n<function=get_weather>\n<parameter=city>\n巴黎\n</parameter>\n"
        "</function>\n</tool_call><|im_end|>\n"
    )


def test_bare_function_tools_render_as_their_wrapped_form() -> None:
    wrapped_search = {"type": "function", "function": SEARCH}
    for variant in VARIANTS:
        assert render_prompt([USER], [SEARCH], variant=variant) == render_prompt(
            [USER], [wrapped_search], variant=variant
        )
    assert (
        '\n{"type": "function", "function": {"name": "web_search", "description": "实时网络搜索"'
        in render_prompt([USER], [SEARCH])
    )


def test_string_arguments_are_kept_verbatim_by_the_json_templates() -> None:
    raw = '{"city":"Paris" , "days": 2}'
    turn = [USER, {"role": "assistant", "content": "", "tool_calls": [call("get_weather", raw)]}]
    for variant in ("hybrid", "thinking-2507", "instruct-2507"):
        assert f'"arguments": {raw}}}' in render_prompt(turn, variant=variant)
    assert "<parameter=days>\n2\n</parameter>" in render_prompt(turn, variant="coder")


# ---- seeded random conversations -------------------------------------------------------------

WORDS = [
    "Paris",
    "天气",
    "hello",
    "x = {a: 1}",
    "<b>bold</b>",
    "line\nbreak",
    "  spaced  ",
    "",
    "ñandú",
    "42",
]


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 4)))


def _value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 2 else 6)
    if kind == 0:
        return _text(rng)
    if kind == 1:
        return rng.randint(-5, 10**6)
    if kind == 2:
        return rng.choice([0.5, -1.25, 3.0])
    if kind == 3:
        return rng.choice([True, False])
    if kind == 4:
        return None
    if kind == 5:
        return rng.choice(["", "多行\n文本", 'quote " and \\ slash'])
    if kind == 6:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {f"k{i}": _value(rng, depth + 1) for i in range(rng.randint(0, 3))}


def _tool(rng: random.Random, index: int) -> dict[str, Any]:
    properties = {}
    for p in range(rng.randint(0, 3)):
        field: dict[str, Any] = {
            "type": rng.choice(["string", "integer", "number", "boolean", "array", "object"])
        }
        if rng.random() < 0.6:
            field["description"] = rng.choice([" padded ", "一个参数", "plain"])
        if rng.random() < 0.3:
            field["enum"] = ["a", "b"]
        if rng.random() < 0.2:
            field["default"] = _value(rng, 1)
        properties[f"p{p}"] = field
    function: dict[str, Any] = {"name": f"tool_{index}"}
    if rng.random() < 0.8:
        function["description"] = rng.choice(["Does things.", "  做事情  ", "multi\nline"])
    function["parameters"] = {"type": "object", "properties": properties}
    if properties and rng.random() < 0.5:
        function["parameters"]["required"] = list(properties)[:1]
    if rng.random() < 0.2:
        function["strict"] = True
    return function if rng.random() < 0.3 else {"type": "function", "function": function}


def _arguments(rng: random.Random) -> Any:
    arguments = {f"arg{i}": _value(rng) for i in range(rng.randint(0, 3))}
    if rng.random() < 0.4:
        separators = rng.choice([None, (",", ":"), (", ", ": ")])
        return json.dumps(arguments, ensure_ascii=rng.random() < 0.3, separators=separators)
    return arguments


def _content(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.08:
        return None
    if roll < 0.14:
        return [{"type": "text", "text": _text(rng)} for _ in range(rng.randint(1, 2))]
    return _text(rng)


def _assistant(rng: random.Random, tool_names: list[str]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant"}
    roll = rng.random()
    if roll < 0.3:
        message["content"] = f"<think>\n{_text(rng)}\n</think>\n\n{_text(rng)}"
    elif roll < 0.4:
        message["content"] = f"{_text(rng)}</think>{_text(rng)}"
    else:
        message["content"] = _content(rng)
    if rng.random() < 0.4:
        message[rng.choice(["reasoning_content", "reasoning_content", "reasoning"])] = _text(rng)
    return message


def random_conversation(
    rng: random.Random, variant: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    tools = [_tool(rng, i) for i in range(rng.randint(0, 3))] if rng.random() < 0.6 else None
    names = [t.get("function", t)["name"] for t in tools or []] or ["lookup"]
    messages: list[dict[str, Any]] = []
    if rng.random() < 0.5:
        messages.append({"role": "system", "content": _text(rng)})
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.15:
            messages.append({"role": "system", "content": _text(rng)})
        user = _content(rng)
        if rng.random() < 0.1:
            user = f"<tool_response>\n{_text(rng)}\n</tool_response>"
        messages.append({"role": "user", "content": user if variant != "coder" else _text(rng)})
        for _ in range(rng.randint(0, 3)):
            assistant = _assistant(rng, names)
            calls = [
                call(rng.choice(names), _arguments(rng), wrapper=rng.random() < 0.8, cid=f"c{i}")
                for i in range(rng.randint(1, 3))
            ]
            assistant["tool_calls"] = calls
            messages.append(assistant)
            messages.extend({"role": "tool", "content": _content(rng)} for _ in calls)
        if rng.random() < 0.8:
            final = _assistant(rng, names)
            if variant == "coder":
                final["content"] = _text(rng)
            messages.append(final)
    cut = rng.randint(1, len(messages))
    return messages[:cut], tools


@pytest.mark.parametrize("variant", VARIANTS)
def test_random_conversations_match_the_official_template(variant: str) -> None:
    rng = random.Random(f"qwen3-{variant}")
    for _ in range(300):
        messages, tools = random_conversation(rng, variant)
        thinking, generation = rng.random() < 0.5, rng.random() < 0.7
        assert_same(
            messages, tools, variant=variant, enable_thinking=thinking, add_generation_prompt=generation
        )


def test_the_original_2504_template_agrees_on_string_content() -> None:
    """The first 2504 template (before the ``is string`` checks) differs only for non-string content."""
    original = ENV.from_string((FIXTURES / "qwen3-hybrid-original.jinja").read_text())
    rng = random.Random(2504)
    for _ in range(150):
        messages, tools = random_conversation(rng, "coder")  # "coder" keeps user/final content as strings
        messages = server_view(messages, "hybrid")
        expected = original.render(messages=messages, tools=wrapped(tools), add_generation_prompt=True)
        assert render_prompt(messages, tools) == expected


# ---- names, variants, errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "variant"),
    [
        ("Qwen/Qwen3-30B-A3B-Thinking-2507", "thinking-2507"),
        ("qwen3-235b-a22b-thinking-2507-fp8", "thinking-2507"),
        ("Qwen3-235B-A22B-Instruct-2507", "instruct-2507"),
        ("/models/Qwen3-4B-Instruct-2507-AWQ", "instruct-2507"),
        ("Qwen3-Coder-30B-A3B-Instruct", "coder"),
        ("Qwen/Qwen3-Coder-480B-A35B-Instruct-FP8", "coder"),
        ("Qwen3-30B-A3B", "hybrid"),
        ("Qwen/Qwen3-8B", "hybrid"),
        ("my-finetune", "hybrid"),
    ],
)
def test_detect_variant(name: str, variant: str) -> None:
    assert detect_variant(name) == variant


def test_tool_format_for_each_variant() -> None:
    assert [tool_format_for(v) for v in VARIANTS] == ["hermes", "hermes", "hermes", "xml"]
    with pytest.raises(ValueError, match="unknown Qwen3 template variant 'qwen2'; use one of hybrid"):
        tool_format_for("qwen2")


@pytest.mark.parametrize(
    ("messages", "tools", "kwargs", "message"),
    [
        ([], None, {}, "messages is empty"),
        ("hello", None, {}, "messages must be a list"),
        ([{"role": "developer", "content": "x"}], None, {}, r"role 'developer'.*\(use 'system'\)"),
        ([{"content": "x"}], None, {}, "messages\\[0\\] has role None"),
        ([USER], None, {"variant": "qwen2"}, "unknown Qwen3 template variant"),
        ([USER], [{"description": "no name"}], {}, "tools\\[0\\] is neither"),
        ([USER], {"name": "x"}, {}, "tools must be a list"),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}],
            None,
            {},
            "'image_url' content",
        ),
        ([{"role": "user", "content": 5}], None, {}, "content of type int"),
        (
            [{"role": "user", "content": [{"type": "text"}]}],
            None,
            {},
            'text content part without a string "text"',
        ),
        (
            [USER, {"role": "assistant", "tool_calls": [{"function": {"name": "f"}}]}],
            None,
            {},
            "has no arguments",
        ),
        (
            [USER, {"role": "assistant", "tool_calls": [call("f", "{not json")]}],
            None,
            {"variant": "coder"},
            "not valid JSON",
        ),
        (
            [USER, {"role": "assistant", "tool_calls": [call("f", "[1]")]}],
            None,
            {"variant": "coder"},
            "JSON object",
        ),
        ([USER, {"role": "assistant", "tool_calls": "f()"}], None, {}, "tool_calls must be a list"),
        (
            [USER],
            [{"name": "f", "parameters": {"default": {1, 2}}}],
            {},
            r"tools\[0\] cannot be written as JSON",
        ),
        (
            [USER, {"role": "assistant", "tool_calls": [call("f", {"x": object()})]}],
            None,
            {},
            "cannot be written",
        ),
    ],
)
def test_bad_input_gets_a_clear_error(messages, tools, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        render_prompt(messages, tools, **kwargs)


def test_pydantic_style_message_objects_are_read_as_dicts() -> None:
    class Msg:
        def __init__(self, **fields: Any) -> None:
            self.fields = fields

        def model_dump(self, exclude_none: bool = False) -> dict[str, Any]:
            return {k: v for k, v in self.fields.items() if v is not None or not exclude_none}

    assert render_prompt([Msg(role="user", content="hi", name=None)]) == render_prompt(
        [{"role": "user", "content": "hi"}]
    )
