"""Qwen3-Coder XML tool calls: typing by schema, bare functions, odd closing tags, streaming."""

from __future__ import annotations

import json

import pytest
from parse_helpers import parse_both, stream

from agentkit.qwen3.types import ToolCallArgsDelta, ToolCallStarted
from agentkit.qwen3.xml_calls import schema_type, typed_value

WRITE = {
    "type": "function",
    "function": {
        "name": "write_file",
        "parameters": {
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "content": {"type": "string"},
                "mode": {"type": "int"},
                "ratio": {"type": "number"},
                "append": {"type": "boolean"},
                "meta": {"type": "object"},
                "tags": {"type": "array"},
                "owner": {"anyOf": [{"type": "null"}, {"type": "integer"}]},
            },
            "required": ["path", "content"],
        },
    },
}
TOOLS = [WRITE]


def xml_call(name: str, params: dict[str, str], *, wrap: bool = True) -> str:
    body = "".join(f"<parameter={k}>\n{v}\n</parameter>\n" for k, v in params.items())
    fn = f"<function={name}>\n{body}</function>"
    return f"<tool_call>\n{fn}\n</tool_call>" if wrap else fn


def xml_parse(text: str, **kw):
    return parse_both(text, tools=kw.pop("tools", TOOLS), tool_format="xml", thinking=False, **kw)


def test_values_are_typed_by_the_schema():
    params = {
        "path": "/tmp/007.txt",
        "content": "42",
        "mode": "420",
        "ratio": "0.5",
        "append": "True",
        "meta": '{"a": [1, "{x}"]}',
        "tags": "['x', 'y']",
        "owner": "7",
    }
    (c,) = xml_parse("I'll write it.\n" + xml_call("write_file", params)).tool_calls
    assert c.arguments == {
        "path": "/tmp/007.txt",
        "content": "42",
        "mode": 420,
        "ratio": 0.5,
        "append": True,
        "meta": {"a": [1, "{x}"]},
        "tags": ["x", "y"],
        "owner": 7,
    }
    assert json.loads(c.raw_arguments) == c.arguments


def test_multiline_code_value_loses_only_one_newline_each_side():
    code = "\ndef f():\n    return '<parameter=x>'\n\n"
    (c,) = xml_parse(xml_call("write_file", {"path": "a.py", "content": code})).tool_calls
    assert c.arguments["content"] == code


def test_literal_close_parameter_inside_code_is_kept():
    code = 'html = "</parameter>"\nprint(html)'
    (c,) = xml_parse(xml_call("write_file", {"content": code, "path": "x.py"})).tool_calls
    assert c.arguments == {"content": code, "path": "x.py"}


def test_missing_close_parameter_is_closed_by_the_next_parameter():
    text = "<tool_call>\n<function=write_file>\n<parameter=path>\na.txt\n<parameter=content>\nhi\n</parameter>\n</function>\n</tool_call>"
    (c,) = xml_parse(text).tool_calls
    assert c.arguments == {"path": "a.txt", "content": "hi"}


def test_bare_function_without_tool_call_wrapper():
    out = xml_parse(
        "Writing.\n" + xml_call("write_file", {"path": "a", "content": "b"}, wrap=False) + "\nDone."
    )
    assert [c.arguments for c in out.tool_calls] == [{"path": "a", "content": "b"}]
    assert out.content == "Writing.\nDone."


def test_unknown_parameter_and_no_tools_give_strings():
    (c,) = xml_parse(xml_call("write_file", {"path": "a", "content": "1", "extra": "5"})).tool_calls
    assert c.arguments["extra"] == "5"
    (c,) = xml_parse(xml_call("anything", {"n": "5", "flag": "true"}), tools=None).tool_calls
    assert c.arguments == {"n": "5", "flag": "true"}


def test_unconvertible_value_is_a_schema_error():
    out = xml_parse(xml_call("write_file", {"path": "a", "content": "b", "mode": "rw-r--r--"}))
    (bad,) = out.invalid_tool_calls
    assert "argument 'mode' must be of type integer" in bad.error
    assert json.loads(bad.raw)["mode"] == "rw-r--r--"


def test_several_calls_and_unknown_tool():
    text = xml_call("write_file", {"path": "a", "content": "1"}) + "\n" + xml_call("write_fil", {"path": "b"})
    out = xml_parse(text)
    assert [c.index for c in out.tool_calls] == [0]
    assert "Did you mean 'write_file'?" in out.invalid_tool_calls[0].error


def test_missing_close_tool_call_at_end_is_accepted():
    text = xml_call("write_file", {"path": "a", "content": "b"}).removesuffix("\n</tool_call>")
    out = xml_parse(text)
    assert [c.arguments for c in out.tool_calls] == [{"path": "a", "content": "b"}]


def test_cut_inside_xml_call_is_truncated():
    out = xml_parse("<tool_call>\n<function=write_file>\n<parameter=path>\na")
    assert out.tool_call_truncated and out.tool_calls == []
    assert out.invalid_tool_calls[0].name == "write_file"


def test_thinking_mode_recovers_xml_call_before_think_close():
    text = "plan\n" + xml_call("write_file", {"path": "a", "content": "b"}) + "\n</think>\n\n"
    out = parse_both(text, tools=TOOLS, tool_format="xml")
    assert out.reasoning_content == "plan" and len(out.tool_calls) == 1


def test_formats_are_detected_per_call():
    hermes = '<tool_call>\n{"name": "write_file", "arguments": {"path": "a", "content": "b"}}\n</tool_call>'
    assert len(xml_parse(hermes).tool_calls) == 1
    xml = xml_call("write_file", {"path": "a", "content": "b", "append": "false"})
    (c,) = parse_both(xml, tools=TOOLS, thinking=False).tool_calls
    assert c.arguments["append"] is False


def test_started_event_as_soon_as_name_is_known_then_one_args_delta():
    text = xml_call("write_file", {"path": "a", "content": "b"})
    cut = text.index("<parameter=path>")
    _, fed, closing = stream(text, [cut], tools=TOOLS, tool_format="xml", thinking=False)
    assert fed[0] == ToolCallStarted(0, "call_0", "write_file")
    (args,) = [e for e in fed + closing if isinstance(e, ToolCallArgsDelta)]
    assert json.loads(args.text) == {"path": "a", "content": "b"}


@pytest.mark.parametrize(
    ("schema", "kind"),
    [
        ({"type": ["null", "number"]}, "number"),
        ({"oneOf": [{"type": "null"}, {"type": "list"}]}, "array"),
        ({"type": "dict"}, "object"),
        ({"type": "float"}, "number"),
        ({"type": "double"}, "number"),
        ({"type": "bool"}, "boolean"),
        ({"type": "uuid"}, "string"),
        (None, "string"),
    ],
)
def test_schema_type_rules(schema, kind):
    assert schema_type(schema) == kind


def test_typed_value_edge_cases():
    assert typed_value("null", {"type": "integer"}) is None
    assert typed_value("null", {"type": "string"}) == "null"
    assert typed_value(" 3 ", {"type": "number"}) == 3
    assert typed_value("1e3", {"type": "number"}) == 1000.0
    assert typed_value("maybe", {"type": "boolean"}) == "maybe"
    assert typed_value("{broken", {"type": "object"}) == "{broken"


def test_call_tags_inside_a_parameter_value_are_text():
    code = 'FORMAT = "<tool_call>\\n{...}\\n</tool_call>"\n'
    (c,) = xml_parse(xml_call("write_file", {"path": "fmt.py", "content": code}) + "\nDone.").tool_calls
    assert c.arguments == {"path": "fmt.py", "content": code}


def test_a_closed_block_without_function_is_an_invalid_xml_call():
    out = xml_parse("Writing.\n<tool_call>\nwrite_file(path='a')\n</tool_call>")
    (bad,) = out.invalid_tool_calls
    assert "<function=NAME>" in bad.error and out.content == "Writing."
