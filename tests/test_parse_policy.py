"""The parser's policy for broken or odd Qwen3 output, one test per reported failure.

Every case goes through ``parse_both``: the whole-text parse must equal the streamed parse for every
split point and 1-character chunks.
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest
from parse_helpers import SHELL, TOOLS, WEATHER, parse_both

from agentkit.qwen3.parser import OutputParser, parse_output
from agentkit.qwen3.types import ContentDelta, ReasoningDelta


def call(name: str, args: str) -> str:
    return f'<tool_call>\n{{"name": "{name}", "arguments": {args}}}\n</tool_call>'


WEATHER_CALL = call("get_weather", '{"city": "Paris"}')


# -- thinking ----------------------------------------------------------------------------------


def test_think_block_split_from_content_with_newlines_stripped():
    out = parse_both("<think>\nThe user greets me.\n\n</think>\n\nHello there!")
    assert out.reasoning_content == "The user greets me."
    assert out.content == "Hello there!"
    assert not out.reasoning_truncated


def test_no_think_close_means_truncated_reasoning():
    out = parse_both("<think>\nLet me count: 1, 2, 3")
    assert out.reasoning_content == "Let me count: 1, 2, 3"
    assert out.content is None
    assert out.reasoning_truncated


def test_think_close_without_opener_2507_thinking():
    out = parse_both("The answer is 4.\n</think>\n\n4")
    assert (out.reasoning_content, out.content, out.reasoning_truncated) == ("The answer is 4.", "4", False)


def test_empty_think_block_gives_no_reasoning():
    out = parse_both("<think>\n\n</think>\n\nDirect answer.")
    assert out.reasoning_content is None
    assert out.content == "Direct answer."


def test_tool_call_inside_closed_think_block_is_prose():
    text = f"<think>\nI could write {WEATHER_CALL} but I know it.\n</think>\n\nIt is sunny."
    out = parse_both(text, tools=TOOLS)
    assert out.tool_calls == [] and out.invalid_tool_calls == []
    assert WEATHER_CALL in out.reasoning_content
    assert out.content == "It is sunny."


def test_unclosed_tool_call_mention_inside_think_is_prose():
    out = parse_both("<think>\nuse the <tool_call> tag\n</think>\n\nok", tools=TOOLS)
    assert out.reasoning_content == "use the <tool_call> tag"
    assert out.content == "ok" and out.tool_calls == []


def test_complete_call_last_before_think_close_is_recovered():
    out = parse_both(f"<think>\nI need the weather.\n{WEATHER_CALL}\n</think>\n\n", tools=TOOLS)
    assert out.reasoning_content == "I need the weather."
    assert [(c.name, c.arguments, c.index) for c in out.tool_calls] == [("get_weather", {"city": "Paris"}, 0)]
    assert out.content is None


def test_recovered_calls_before_think_close_keep_schema_errors():
    bad = call("get_weather", '{"town": "Paris"}')
    out = parse_both(f"<think>\nplan\n{WEATHER_CALL}\n{bad}</think>", tools=TOOLS)
    assert [c.index for c in out.tool_calls] == [0]
    assert [c.index for c in out.invalid_tool_calls] == [1]
    assert "missing required 'city'" in out.invalid_tool_calls[0].error


def test_valid_call_at_end_of_unclosed_think_is_recovered():
    out = parse_both(f"<think>\nChecking.\n{WEATHER_CALL}", tools=TOOLS)
    assert [c.name for c in out.tool_calls] == ["get_weather"]
    assert out.reasoning_content == "Checking."
    assert not out.reasoning_truncated


def test_valid_call_without_close_tag_at_end_of_unclosed_think_is_recovered():
    out = parse_both(
        'Checking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}', tools=TOOLS
    )
    assert [c.arguments for c in out.tool_calls] == [{"city": "Oslo"}]


def test_invalid_or_cut_call_at_end_of_unclosed_think_stays_reasoning():
    for tail in (call("nope", "{}"), '<tool_call>\n{"name": "get_weather", "argu'):
        out = parse_both(f"<think>\nhmm\n{tail}", tools=TOOLS)
        assert out.tool_calls == [] and out.invalid_tool_calls == []
        assert out.reasoning_truncated
        assert out.reasoning_content == f"hmm\n{tail}"


def test_text_after_call_inside_think_makes_it_prose():
    out = parse_both(f"<think>\n{WEATHER_CALL}\nthen I wonder\n</think>\n\nok", tools=TOOLS)
    assert out.tool_calls == []
    assert out.reasoning_content == f"{WEATHER_CALL}\nthen I wonder"


def test_thinking_off_everything_is_content():
    text = "<think>\nnot parsed</think>\nliteral"
    out = parse_both(text, thinking=False)
    assert out.content == text
    assert out.reasoning_content is None and not out.reasoning_truncated


def test_thinking_off_still_parses_calls():
    out = parse_both(f"Sure.\n{WEATHER_CALL}", thinking=False, tools=TOOLS)
    assert out.content == "Sure."
    assert [c.name for c in out.tool_calls] == ["get_weather"]


# -- several calls, bad calls, text around them -------------------------------------------------


def test_one_bad_call_never_drops_the_others():
    text = "</think>\n\n" + "\n".join(
        [
            WEATHER_CALL,
            '<tool_call>\n{"name": "run_shell", "arguments": {"command": "ls"</tool_call>x',
            WEATHER_CALL,
        ]
    )
    text = text.replace("</tool_call>x", "\n</tool_call>")  # second call: missing brace is repaired
    text += '\n<tool_call>\n{"name": get_weather}\n</tool_call>'
    out = parse_both(text, tools=TOOLS)
    assert [(c.name, c.index) for c in out.tool_calls] == [
        ("get_weather", 0),
        ("run_shell", 1),
        ("get_weather", 2),
    ]
    assert [c.index for c in out.invalid_tool_calls] == [3]
    assert "not valid JSON" in out.invalid_tool_calls[0].error
    assert [c.index for c in out.all_calls()] == [0, 1, 2, 3]


def test_invalid_json_goes_to_invalid_calls_with_error():
    out = parse_both(
        '</think>\n\n<tool_call>\n{"name": "run_shell", "arguments": {"command": ls}}\n</tool_call>',
        tools=TOOLS,
    )
    assert out.tool_calls == []
    (bad,) = out.invalid_tool_calls
    assert bad.name == "run_shell"
    assert "not valid JSON" in bad.error and "<tool_call>" in bad.error
    assert bad.raw == '{"command": ls}'
    assert not out.tool_call_truncated


def test_unknown_tool_gets_did_you_mean_hint():
    out = parse_both("</think>\n\n" + call("get_wether", '{"city": "Rome"}'), tools=TOOLS)
    (bad,) = out.invalid_tool_calls
    assert bad.name == "get_wether"
    assert "Did you mean 'get_weather'?" in bad.error
    assert "get_weather, run_shell" in bad.error


def test_any_name_accepted_without_tools():
    out = parse_both("</think>\n\n" + call("whatever", '{"x": [1]}'))
    assert [(c.name, c.arguments) for c in out.tool_calls] == [("whatever", {"x": [1]})]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ('{"days": 3}', "missing required 'city'"),
        ('{"city": "Rome", "days": "three"}', "argument 'days' must be of type integer, got string 'three'"),
        ('{"city": "Rome", "country": "IT"}', "unknown 'country' (allowed: city, days)"),
    ],
)
def test_schema_violations_are_invalid_with_clear_error(args, expected):
    out = parse_both("</think>\n\n" + call("get_weather", args), tools=TOOLS)
    (bad,) = out.invalid_tool_calls
    assert expected in bad.error
    assert bad.error.startswith("invalid arguments for tool 'get_weather'")
    assert bad.raw == args


def test_text_after_and_between_calls_is_kept_in_order():
    text = f"</think>\n\nFirst I look.\n{WEATHER_CALL}\nThen more.\n{WEATHER_CALL}\n\nAll sent.\n"
    out = parse_both(text, tools=TOOLS)
    assert out.content == "First I look.\nThen more.\nAll sent."
    assert len(out.tool_calls) == 2


def test_content_before_call_drops_only_the_newline_the_template_adds():
    out = parse_both(f"</think>\n\nLet me check.\n\n{WEATHER_CALL}", tools=TOOLS)
    assert out.content == "Let me check.\n"
    out = parse_both(f"</think>\n\n{WEATHER_CALL}", tools=TOOLS)
    assert out.content is None


def test_parameters_key_accepted_for_arguments():
    text = '</think>\n\n<tool_call>\n{"name": "get_weather", "parameters": {"city": "Lima"}}\n</tool_call>'
    (c,) = parse_both(text, tools=TOOLS).tool_calls
    assert c.arguments == {"city": "Lima"}
    assert c.raw_arguments == '{"city": "Lima"}'


def test_double_encoded_arguments_unwrapped():
    inner = json.dumps(json.dumps({"city": "Köln", "days": 2}, ensure_ascii=False))
    (c,) = parse_both("</think>\n\n" + call("get_weather", inner), tools=TOOLS).tool_calls
    assert c.arguments == {"city": "Köln", "days": 2}
    assert c.raw_arguments == '{"city": "Köln", "days": 2}'


@pytest.mark.parametrize(
    "args",
    [
        '{"command": "ls", "sudo": false,}',
        "{'command': 'ls', 'sudo': False}",
        '{"command": "ls", "sudo": False}',
        '{"command": \'ls\', "sudo": false',
    ],
    ids=["trailing-comma", "single-quotes", "python-literals", "missing-brace"],
)
def test_small_json_repairs(args):
    (c,) = parse_both("</think>\n\n" + call("run_shell", args), tools=TOOLS).tool_calls
    assert c.arguments == {"command": "ls", "sudo": False}
    assert c.raw_arguments == '{"command": "ls", "sudo": false}'


def test_raw_newline_inside_a_string_is_repaired_to_valid_json():
    (c,) = parse_both("</think>\n\n" + call("run_shell", '{"command": "echo a\nb"}'), tools=TOOLS).tool_calls
    assert c.arguments == {"command": "echo a\nb"}
    assert json.loads(c.raw_arguments) == c.arguments


def test_missing_close_tag_at_end_of_output_is_accepted():
    out = parse_both(
        '</think>\n\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Nice"}}\n', tools=TOOLS
    )
    assert [c.arguments for c in out.tool_calls] == [{"city": "Nice"}]
    assert not out.tool_call_truncated


def test_new_call_opening_closes_the_previous_one():
    text = '</think>\n\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "A"}}\n' + WEATHER_CALL
    out = parse_both(text, tools=TOOLS)
    assert [c.arguments["city"] for c in out.tool_calls] == ["A", "Paris"]


def test_output_cut_inside_a_call_is_truncated_not_run():
    out = parse_both(
        '</think>\n\nOk.\n<tool_call>\n{"name": "run_shell", "arguments": {"command": "rm -r', tools=TOOLS
    )
    assert out.tool_calls == []
    (bad,) = out.invalid_tool_calls
    assert out.tool_call_truncated
    assert "ended inside this tool call" in bad.error and bad.name == "run_shell"
    assert out.content == "Ok."


def test_output_cut_right_after_call_open_tag():
    out = parse_both("</think>\n\n<tool_call>", tools=TOOLS)
    assert out.tool_call_truncated and len(out.invalid_tool_calls) == 1


def test_raw_arguments_keep_the_models_own_text():
    args = '{"city":"Paris" ,  "days":2}'
    (c,) = parse_both("</think>\n\n" + call("get_weather", args), tools=TOOLS).tool_calls
    assert c.raw_arguments == args
    assert c.to_openai()["function"]["arguments"] == args


def test_tricky_argument_text_survives_streaming():
    args = json.dumps(
        {"command": "mkdir -p a/{b,c} && echo \"}{\" \\ 'x' 北京 <tag>", "sudo": True}, ensure_ascii=False
    )
    out = parse_both("</think>\n\n" + call("run_shell", args), tools=TOOLS)
    (c,) = out.tool_calls
    assert c.arguments["command"] == "mkdir -p a/{b,c} && echo \"}{\" \\ 'x' 北京 <tag>"
    assert c.arguments["sudo"] is True
    assert c.raw_arguments == args


def test_tool_call_tag_mentioned_in_content_prose_stays_content():
    text = f"</think>\n\nWrap calls in <tool_call> tags, like </tool_call>.\n{WEATHER_CALL}\nok"
    out = parse_both(text, tools=TOOLS)
    assert out.content == "Wrap calls in <tool_call> tags, like </tool_call>.\nok"
    assert [(c.name, c.index, c.id) for c in out.tool_calls] == [("get_weather", 0, "call_0")]
    assert out.invalid_tool_calls == []


def test_content_with_brace_and_angle_text_is_not_mistaken_for_tags():
    text = "</think>\n\nUse a < b and <tool or {x} or </tool_ca freely."
    assert parse_both(text).content == "Use a < b and <tool or {x} or </tool_ca freely."


def test_partial_tag_at_the_very_end_is_text():
    assert parse_both("</think>\n\nthe end <tool_").content == "the end <tool_"
    assert parse_both("thinking <").reasoning_content == "thinking <"


# -- API details --------------------------------------------------------------------------------


def test_default_ids_are_call_plus_hex_and_unique():
    out = parse_output(f"</think>\n\n{WEATHER_CALL}\n{WEATHER_CALL}", tools=TOOLS)
    got = [c.id for c in out.tool_calls]
    assert all(re.fullmatch(r"call_[0-9a-f]{16}", i) for i in got) and len(set(got)) == 2


def test_tools_accept_bare_function_dicts_and_tool_objects():
    bare = [
        WEATHER["function"],
        SimpleNamespace(name="run_shell", parameters=SHELL["function"]["parameters"]),
    ]
    out = parse_output(f"</think>\n\n{WEATHER_CALL}\n" + call("run_shell", '{"sudo": true}'), tools=bare)
    assert [c.name for c in out.tool_calls] == ["get_weather"]
    assert "missing required 'command'" in out.invalid_tool_calls[0].error


def test_empty_tool_list_rejects_every_call():
    out = parse_output(f"</think>\n\n{WEATHER_CALL}", tools=[])
    assert "no tools are available" in out.invalid_tool_calls[0].error


@pytest.mark.parametrize("tools", [{"name": "x"}, [{"description": "no name"}], ["get_weather"]])
def test_bad_tools_argument_is_a_clear_error(tools):
    with pytest.raises(TypeError, match="tools"):
        OutputParser(tools=tools)


def test_bad_tool_format_is_a_clear_error():
    with pytest.raises(ValueError, match="'hermes' or 'xml'"):
        parse_output("x", tool_format="json")


def test_parser_lifecycle_errors():
    parser = OutputParser()
    with pytest.raises(RuntimeError, match="close"):
        parser.result()
    assert parser.feed("a</think>b <tool") == [ReasoningDelta("a"), ContentDelta("b ")]
    assert parser.close() == [ContentDelta("<tool")]
    assert parser.close() == []
    assert parser.result().content == "b <tool"
    with pytest.raises(RuntimeError, match="after close"):
        parser.feed("more")


# -- arguments are never silently changed -------------------------------------------------------


def test_call_tags_inside_a_json_string_are_text():
    message = 'a <tool_call> b </tool_call> c \\" </tool_call>'
    args = json.dumps({"command": message.replace('\\"', '"')})
    text = "</think>\n\n" + call("run_shell", args) + "\nDone."
    out = parse_both(text, tools=TOOLS)
    (c,) = out.tool_calls
    assert c.arguments == {"command": 'a <tool_call> b </tool_call> c " </tool_call>'}
    assert c.raw_arguments == args
    assert out.content == "Done." and out.invalid_tool_calls == []


def test_call_tags_in_a_string_of_the_next_call_and_after_a_call_still_work():
    first = call("run_shell", json.dumps({"command": "echo '</tool_call>'"}))
    text = f"</think>\n\n{first}\n{WEATHER_CALL}"
    out = parse_both(text, tools=TOOLS)
    assert [c.name for c in out.tool_calls] == ["run_shell", "get_weather"]
    assert out.tool_calls[0].arguments["command"] == "echo '</tool_call>'"


def test_unbalanced_quote_closes_at_the_first_close_tag_at_the_end():
    """A value whose string never ends: at the end of output the first </tool_call> read as text was
    the close after all; what follows it is read again (here: content and a good call)."""
    text = '</think>\n\n<tool_call>\n{"name": "run_shell", "arguments": {"command": "ls}}\n</tool_call>\nok\n'
    out = parse_both(text + WEATHER_CALL, tools=TOOLS)
    assert [c.name for c in out.tool_calls] == ["run_shell", "get_weather"]  # the first one repaired
    assert out.tool_calls[1].arguments == {"city": "Paris"}
    assert out.content == "ok"
    assert not out.tool_call_truncated


def test_closed_block_that_is_not_json_is_an_invalid_call_fed_back():
    for thinking, head in ((True, "</think>\n\n"), (False, "")):
        text = f'{head}Let me echo.\n<tool_call>\necho(message="hi")\n</tool_call>'
        out = parse_both(text, tools=TOOLS, thinking=thinking)
        assert out.content == "Let me echo."
        (bad,) = out.invalid_tool_calls
        assert bad.raw == 'echo(message="hi")'
        assert "not valid JSON" in bad.error and '{"name": "TOOL"' in bad.error


def test_closed_non_json_block_inside_reasoning_stays_prose():
    text = '<think>\nMaybe <tool_call>\necho(message="hi")\n</tool_call> would do.\n</think>\n\nHi.'
    out = parse_both(text, tools=TOOLS)
    assert out.invalid_tool_calls == [] and out.tool_calls == []
    assert 'echo(message="hi")' in out.reasoning_content and out.content == "Hi."


def test_unclosed_non_json_block_and_inline_mentions_stay_content():
    out = parse_both("</think>\n\nTags:\n<tool_call> starts a call.", tools=TOOLS)
    assert out.content == "Tags:\n<tool_call> starts a call." and out.invalid_tool_calls == []
    inline = "</think>\n\nUse <tool_call>name</tool_call> blocks."
    assert parse_both(inline, tools=TOOLS).content == "Use <tool_call>name</tool_call> blocks."
    two = f"</think>\n\n<tool_call> is the tag.\n{WEATHER_CALL}"
    out = parse_both(two, tools=TOOLS)
    assert out.content == "<tool_call> is the tag." and [c.name for c in out.tool_calls] == ["get_weather"]
