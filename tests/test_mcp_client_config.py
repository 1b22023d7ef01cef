"""MCP client pieces that need no server: config shapes, tool names, result conversion, schemas."""

import json

import anyio
import mcp.types as types
import pytest

from agentkit.mcp.config import DEFAULT_CALL_TIMEOUT, parse_servers
from agentkit.mcp.names import ToolNames, prefixed, sanitize
from agentkit.mcp.results import to_tool_result
from agentkit.mcp.tools import tool_parameters

# ── config ──────────────────────────────────────────────────────────────────────────────────


def test_task_yaml_shape_stdio_and_http():
    servers = parse_servers(
        {
            "files": {
                "command": "npx",
                "args": ["-y", "@scope/server", 3],
                "env": {"A": 1},
                "call_timeout": 9,
            },
            "remote": {
                "url": "https://example.test/mcp",
                "headers": {"Authorization": "Bearer x"},
                "timeout": 4,
            },
            "legacy": {"url": "http://127.0.0.1:3001/sse"},
            "forced": {"url": "http://127.0.0.1:3001/events", "transport": "sse"},
        }
    )
    files = servers["files"]
    assert (files.transport, files.command, files.args, files.env) == (
        "stdio",
        "npx",
        ("-y", "@scope/server", "3"),
        {"A": "1"},
    )
    assert files.call_timeout == 9
    remote = servers["remote"]
    assert (remote.transport, remote.headers, remote.start_timeout) == (
        "http",
        {"Authorization": "Bearer x"},
        4,
    )
    assert remote.call_timeout == DEFAULT_CALL_TIMEOUT
    assert servers["legacy"].transport == "sse"
    assert servers["forced"].transport == "sse"


def test_claude_desktop_cursor_and_claude_code_shapes_pasted_unchanged():
    pasted = {
        "mcpServers": {
            "fs": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]},
            "cursor-remote": {"url": "http://127.0.0.1:9/mcp"},
            "cc-sse": {"type": "sse", "url": "http://127.0.0.1:9/events"},
            "cc-http": {"type": "http", "url": "http://127.0.0.1:9/x"},
            "off": {"command": "x", "disabled": True},
        }
    }
    servers = parse_servers(pasted)
    assert set(servers) == {"fs", "cursor-remote", "cc-sse", "cc-http"}
    assert servers["cursor-remote"].transport == "http"
    assert servers["cc-sse"].transport == "sse"
    assert servers["cc-http"].transport == "http"
    # The task loader may hand over the inner mapping instead: same result.
    assert parse_servers(pasted["mcpServers"]) == servers


def test_vscode_shape_with_inputs_and_settings_wrapper():
    vscode = {
        "inputs": [],
        "servers": {
            "git": {"type": "stdio", "command": "uvx", "args": ["mcp-server-git"]},
            "api": {"type": "http", "url": "http://127.0.0.1:9/mcp"},
            "old": {"type": "sse", "url": "http://127.0.0.1:9/sse"},
            "off": {"type": "stdio", "command": "x", "enabled": False},
        },
    }
    servers = parse_servers(vscode)
    assert {n: s.transport for n, s in servers.items()} == {"git": "stdio", "api": "http", "old": "sse"}
    assert parse_servers({"mcp": vscode}) == servers


def test_variable_expansion_in_args_env_headers_and_url(monkeypatch, tmp_path):
    monkeypatch.setenv("TOKEN", "s3cret")
    monkeypatch.setenv("EMPTY", "")
    monkeypatch.delenv("UNSET_VAR", raising=False)
    servers = parse_servers(
        {
            "a": {
                "command": "srv",
                "args": ["--root", "${workspaceFolder}", "${UNSET_VAR:-fallback}", "${EMPTY:-was-empty}"],
                "env": {"API_KEY": "${TOKEN}", "OTHER": "${env:TOKEN}"},
            },
            "b": {
                "url": "http://127.0.0.1:1/${UNSET_VAR:-mcp}",
                "headers": {"Authorization": "Bearer ${TOKEN}"},
            },
        },
        base_dir=tmp_path,
    )
    assert servers["a"].args == ("--root", str(tmp_path), "fallback", "was-empty")
    assert servers["a"].env == {"API_KEY": "s3cret", "OTHER": "s3cret"}
    assert servers["b"].url == "http://127.0.0.1:1/mcp"
    assert servers["b"].headers == {"Authorization": "Bearer s3cret"}


def test_env_file_and_relative_cwd(tmp_path):
    (tmp_path / "work").mkdir()
    (tmp_path / ".env").write_text("# comment\nexport A=1\nB='two words'\n")
    server = parse_servers(
        {"s": {"command": "x", "cwd": "work", "envFile": ".env", "env": {"B": "3"}}}, base_dir=tmp_path
    )["s"]
    assert server.cwd == str(tmp_path / "work")
    assert server.env == {"A": "1", "B": "3"}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"args": ["x"]}, "needs `command`"),
        ({"command": "x", "url": "http://h"}, "not both"),
        ({"command": "x", "args": "a b"}, "`args` must be a list"),
        ({"command": "x", "env": ["A=1"]}, "`env` must be a mapping"),
        ({"url": "ftp://h/x"}, "must start with http"),
        ({"command": "x", "transport": "carrier-pigeon"}, "unknown transport"),
        ({"command": "x", "timeout": -1}, "positive number of seconds"),
        ({"command": "x", "arg": ["y"]}, "did you mean 'args'"),
        ({"command": "${NOT_SET_ANYWHERE_42}"}, "export NOT_SET_ANYWHERE_42"),
        ({"command": "x", "args": ["${input:token}"]}, "cannot fill in"),
        ({"command": "x", "cwd": "/no/such/dir"}, "is not a directory"),
        ({"command": "x", "include_tools": "read_file"}, "must be a list of tool names"),
        ({"command": "x", "resources": "yes"}, "must be true or false"),
        ("npx foo", "expected a mapping"),
    ],
)
def test_bad_entries_name_the_server_and_the_fix(entry, message, monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE_42", raising=False)
    with pytest.raises(ValueError, match="'bad'") as info:
        parse_servers({"bad": entry})
    assert message in str(info.value)


def test_unknown_ide_keys_are_ignored_and_other_clients_spellings_understood():
    servers = parse_servers(
        {
            "s": {
                "command": "x",
                "autoApprove": ["a"],
                "disabledTools": ["b"],
                "description": "d",
                "trust": True,
            },
            "cline": {"url": "http://127.0.0.1:1/mcp", "transportType": "streamableHttp", "timeout": 5},
            "codex": {"command": "x", "startup_timeout_sec": 20, "tool_timeout_sec": 90},
        }
    )
    assert servers["s"].command == "x"
    assert servers["cline"].transport == "http"
    assert (servers["codex"].start_timeout, servers["codex"].call_timeout) == (20, 90)


# ── names ───────────────────────────────────────────────────────────────────────────────────


def test_sanitize_fits_the_openai_pattern():
    assert sanitize("read_file") == "read_file"
    assert sanitize("files.read file/v2") == "files_read_file_v2"
    assert sanitize("...") == "tool"
    long_a, long_b = sanitize("a" * 80 + "x"), sanitize("a" * 80 + "y")
    assert len(long_a) == 64 and long_a != long_b
    assert prefixed("my server", "get.it") == "my_server__get_it"


async def _named(servers: dict[str, list[str]], reserved=()) -> dict[str, dict[str, str]]:
    names = ToolNames(list(servers), reserved=reserved, wait_limit=1)
    for server, tools in servers.items():
        names.offer(server, tools)
    await names.wait()
    return {server: names.assign(server, tools) for server, tools in servers.items()}


@pytest.mark.anyio
async def test_clashing_names_are_prefixed_on_every_server_that_has_them():
    given = await _named({"git": ["status", "log"], "svn": ["status", "checkout"]}, reserved=["log"])
    assert given["git"] == {"git__status": "status", "git__log": "log"}
    assert given["svn"] == {"svn__status": "status", "checkout": "checkout"}


@pytest.mark.anyio
async def test_names_that_sanitise_alike_stay_distinct_and_relisting_keeps_names():
    names = ToolNames(["s"])
    names.offer("s", ["a.b", "a b"])
    await names.wait()
    first = names.assign("s", ["a.b", "a b"])
    assert first == {"a_b": "a.b", "a_b_2": "a b"}
    assert names.assign("s", ["a b", "new.tool", "a.b"]) == {
        "a_b_2": "a b",
        "new_tool": "new.tool",
        "a_b": "a.b",
    }


@pytest.mark.anyio
async def test_a_withdrawn_server_frees_its_names():
    names = ToolNames(["a", "b"])
    names.offer("a", ["search"])
    names.withdraw("b")
    await names.wait()
    assert names.assign("a", ["search"]) == {"search": "search"}


# ── results ─────────────────────────────────────────────────────────────────────────────────

PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def test_result_with_text_image_resources_and_links():
    result = types.CallToolResult(
        content=[
            types.TextContent(type="text", text="here"),
            types.ImageContent(type="image", data=PNG_B64, mime_type="image/png"),
            types.EmbeddedResource(
                type="resource",
                resource=types.TextResourceContents(
                    uri="file:///a.txt", mime_type="text/plain", text="hello"
                ),
            ),
            types.EmbeddedResource(
                type="resource",
                resource=types.BlobResourceContents(
                    uri="file:///b.bin", mime_type="application/zip", blob="AAAA"
                ),
            ),
            types.ResourceLink(
                type="resource_link", uri="file:///c.md", name="c.md", mime_type="text/markdown"
            ),
            types.EmbeddedResource(
                type="resource",
                resource=types.BlobResourceContents(
                    uri="file:///d.txt", mime_type="text/plain; charset=utf-8", blob="aGVsbG8gYmxvYg=="
                ),
            ),
        ]
    )
    out = to_tool_result(result, 10_000)
    assert not out.is_error
    assert out.text.splitlines() == [
        "here",
        "[image image/png, 70 B]",
        "[resource file:///a.txt (text/plain)]",
        "hello",
        "[resource file:///b.bin (application/zip, 3 B)]",
        "[resource link c.md: file:///c.md (text/markdown)]",
        "[resource file:///d.txt (text/plain; charset=utf-8, 10 B)]",
        "hello blob",
    ]
    assert [a["type"] for a in out.attachments] == [
        "image",
        "resource",
        "resource",
        "resource_link",
        "resource",
    ]
    assert out.attachments[0]["data"] == PNG_B64
    json.dumps(out.attachments)  # kept for --json output


def test_structured_content_shown_as_json_only_without_text():
    only = to_tool_result(types.CallToolResult(content=[], structured_content={"t": 21.5}), 1000)
    assert (only.text, only.structured) == ('{"t": 21.5}', {"t": 21.5})
    both = types.CallToolResult(
        content=[types.TextContent(type="text", text="21.5 C")], structured_content={"t": 21.5}
    )
    assert to_tool_result(both, 1000).text == "21.5 C"


def test_is_error_becomes_an_error_result_and_output_is_capped():
    error = to_tool_result(
        types.CallToolResult(content=[types.TextContent(type="text", text="bad")], is_error=True), 100
    )
    assert error.is_error and error.text == "Error: bad"
    empty_error = to_tool_result(types.CallToolResult(content=[], is_error=True), 100)
    assert empty_error.is_error and empty_error.text == "Error: the tool reported a failure without a message"
    long = to_tool_result(types.CallToolResult(content=[types.TextContent(type="text", text="y" * 500)]), 100)
    assert long.text.startswith("y" * 100) and long.text.endswith(
        "[output cut: showing 100 of 500 characters]"
    )


# ── schemas ─────────────────────────────────────────────────────────────────────────────────


def test_schema_refs_inlined_titles_dropped_and_always_an_object():
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "title": "Args",
        "properties": {
            "where": {"$ref": "#/$defs/Place"},
            "tree": {"$ref": "#/definitions/Node"},
            "title": {"type": "string", "title": "Title"},
        },
        "$defs": {"Place": {"type": "object", "title": "Place", "properties": {"city": {"type": "string"}}}},
        "definitions": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/definitions/Node"}}}},
    }
    flat = tool_parameters(schema)
    assert flat == {
        "type": "object",
        "properties": {
            "where": {"type": "object", "properties": {"city": {"type": "string"}}},
            "tree": {"type": "object", "properties": {"child": {"type": "object"}}},
            "title": {"type": "string"},
        },
    }
    assert "$defs" in schema  # the server's schema is left as it was
    assert tool_parameters({}) == {"type": "object", "properties": {}}


def test_schema_clean_up_touches_only_schema_keywords_never_values():
    value = {"title": "untitled", "$id": "kept", "$ref": "#/$defs/Doc"}
    schema = {
        "type": "object",
        "properties": {
            "doc": {
                "type": "object",
                "title": "Doc",
                "default": value,
                "examples": [value],
                "properties": {"title": {"type": "string", "title": "Title", "const": {"title": "x"}}},
            },
            "kind": {"enum": [{"title": "a"}], "title": "Kind"},
            "default": {"$ref": "#/$defs/Doc"},  # a property named like a keyword is still a schema
            "items": {"type": "array", "items": {"title": "Item", "type": "string"}},
        },
        "$defs": {"Doc": {"type": "string", "title": "Doc"}},
    }
    flat = tool_parameters(schema)
    doc = flat["properties"]["doc"]
    assert doc["default"] == value and doc["examples"] == [value]
    assert doc["properties"]["title"] == {"type": "string", "const": {"title": "x"}}
    assert flat["properties"]["kind"] == {"enum": [{"title": "a"}]}
    assert flat["properties"]["default"] == {"type": "string"}
    assert flat["properties"]["items"] == {"type": "array", "items": {"type": "string"}}


@pytest.mark.anyio
async def test_a_server_never_started_holds_the_group_up_only_until_the_wait_limit():
    names = ToolNames(["a", "never"], wait_limit=0.2)
    names.offer("a", ["search"])
    with anyio.fail_after(2):
        await names.wait()
    assert names.assign("a", ["search"]) == {"search": "search"}


def test_parsed_configs_pass_through_unchanged():
    once = parse_servers({"mcpServers": {"a": {"command": "x"}, "b": {"url": "http://127.0.0.1:1/sse"}}})
    assert parse_servers(once) == once


def test_tool_filters():
    servers = parse_servers(
        {
            "only": {"command": "x", "include_tools": ["a", "b"], "exclude_tools": ["b"]},
            "gemini": {"command": "x", "excludeTools": ["rm"]},
        }
    )
    assert [t for t in "abc" if servers["only"].offers(t)] == ["a"]
    assert servers["gemini"].offers("ls") and not servers["gemini"].offers("rm")
