"""Lenient JSON and the tool checks behind the parser."""

from __future__ import annotations

import pytest

from agentkit.qwen3.json_repair import RepairError, loads_lenient
from agentkit.qwen3.tool_check import (
    ParsedCall,
    ToolChecker,
    canonical_types,
    check_schema,
    unknown_tool_error,
)

SCHEMA = {
    "type": "object",
    "properties": {
        "path": {"type": "string"},
        "n": {"type": "int"},
        "opts": {"type": "object", "properties": {"deep": {"type": "boolean"}}},
        "tags": {"type": "array", "items": {"type": "string"}},
        "mode": {"enum": ["r", "w"]},
    },
    "required": ["path"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("text", "value", "repairs", "completed"),
    [
        ('{"a": 1}', {"a": 1}, [], False),
        ('{"a": [1, 2,],}', {"a": [1, 2]}, ["trailing comma"], False),
        ("{'a': 'it\\'s \"q\"'}", {"a": 'it\'s "q"'}, ["single quotes"], False),
        (
            '{"a": True, "b": None, "c": False}',
            {"a": True, "b": None, "c": False},
            ["Python literals"],
            False,
        ),
        ('{"a": {"b": 1}', {"a": {"b": 1}}, [], True),
        ('{"a": "cut', {"a": "cut"}, [], True),
        ('{"a": 1}}', {"a": 1}, ["extra closing bracket"], False),
        (
            '{"a": "line\nbreak", "b": "x/{y,z}"}',
            {"a": "line\nbreak", "b": "x/{y,z}"},
            ["control characters in strings"],
            False,
        ),
        ('{"a": "it\\\'s"}', {"a": "it's"}, ["escaped single quote"], False),
        ('{"True": "None"}', {"True": "None"}, [], False),
    ],
)
def test_loads_lenient(text, value, repairs, completed):
    assert loads_lenient(text) == (value, repairs, completed)


def test_loads_lenient_gives_a_clear_error():
    with pytest.raises(RepairError, match=r"not valid JSON \(Expecting value at line 1"):
        loads_lenient('{"a": nope}')


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({"n": 1}, "arguments missing required 'path'"),
        ({"path": 3}, "argument 'path' must be of type string, got integer 3"),
        ({"path": "p", "n": True}, "argument 'n' must be of type integer, got boolean True"),
        ({"path": "p", "x": 1}, "arguments has unknown 'x' (allowed: path, n, opts, tags, mode)"),
        (
            {"path": "p", "opts": {"deep": "yes"}},
            "argument 'opts.deep' must be of type boolean, got string 'yes'",
        ),
        ({"path": "p", "tags": ["a", 2]}, "argument 'tags.1' must be of type string, got integer 2"),
    ],
)
def test_schema_problems_same_with_jsonschema_and_fallback(args, problem):
    checker = ToolChecker([{"name": "f", "parameters": SCHEMA}])
    judged = checker.judge(ParsedCall("f", args, "{}"), index=3, call_id="c")
    assert problem in judged.error and judged.index == 3
    assert check_schema(args, canonical_types(SCHEMA)) == [problem]


def test_enum_violation_reported_by_both_checkers():
    checker = ToolChecker([{"name": "f", "parameters": SCHEMA}])
    assert (
        "'x' is not one of ['r', 'w']"
        in checker.judge(ParsedCall("f", {"path": "p", "mode": "x"}, ""), index=0, call_id="").error
    )
    assert check_schema({"path": "p", "mode": "x"}, SCHEMA) == [
        "argument 'mode': 'x' is not one of ['r', 'w']"
    ]


def test_valid_call_passes_and_keeps_raw_arguments():
    checker = ToolChecker([{"name": "f", "parameters": SCHEMA}])
    call = checker.judge(ParsedCall("f", {"path": "p", "n": 2}, '{"path":"p","n":2}'), index=1, call_id="c1")
    assert (call.name, call.raw_arguments, call.id, call.index) == ("f", '{"path":"p","n":2}', "c1", 1)


def test_broken_tool_schema_does_not_reject_calls():
    checker = ToolChecker([{"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": 5}}}}])
    assert checker.judge(ParsedCall("f", {"a": 1}, "{}"), index=0, call_id="").name == "f"


def test_unknown_tool_error_hints():
    assert (
        unknown_tool_error("serch", ["search", "fetch"])
        == "unknown tool 'serch'. Did you mean 'search'? Available tools: search, fetch."
    )
    assert "Did you mean" not in unknown_tool_error("zzz", ["search"])
