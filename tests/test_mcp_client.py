"""agentkit as an MCP client against real peers: server-everything (stdio, SSE, streamable HTTP), mcp-server-time."""

import base64
import json
from contextlib import ExitStack

import mcp.types as types
import pytest
from mcp_fixtures.peers import (  # noqa: F401  (fixture)
    TOOLS_SERVER,
    everything_http,
    free_port,
    no_leftover_processes,
    require_everything,
    require_time_server,
)

from agentkit.mcp import MCPServerProvider, providers_from_config
from agentkit.tooling import ToolContext, ToolSet

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("no_leftover_processes")]


class Progress:
    def __init__(self):
        self.seen: list[tuple[float, float | None, str | None]] = []

    async def __call__(self, progress, total, message):
        self.seen.append((progress, total, message))


async def _exercise_everything(ts: ToolSet) -> None:
    """The same checks over every transport: list, echo, progress, embedded resource, image, structured."""
    assert {"echo", "trigger-long-running-operation", "get-tiny-image", "get-resource-reference"} <= set(
        ts.names()
    )
    assert not ts.provider_errors
    assert ts.get("read_resource") is None  # only with `resources: true`

    echo = await ts.get("echo").call({"message": "hello ✓"}, ToolContext())
    assert (echo.text, echo.is_error) == ("Echo: hello ✓", False)

    progress = Progress()
    long = await ts.get("trigger-long-running-operation").call(
        {"duration": 0.3, "steps": 3}, ToolContext(progress=progress)
    )
    assert "Long running operation completed" in long.text
    assert progress.seen == [(1, 3, None), (2, 3, None), (3, 3, None)]

    ref = await ts.get("get-resource-reference").call(
        {"resourceType": "Text", "resourceId": 2}, ToolContext()
    )
    assert "[resource demo://resource/dynamic/text/2 (text/plain)]\nResource 2:" in ref.text
    assert ref.attachments[0]["uri"] == "demo://resource/dynamic/text/2"

    image = await ts.get("get-tiny-image").call({}, ToolContext())
    assert "[image image/png, " in image.text
    png = base64.b64decode(image.attachments[0]["data"])
    assert png.startswith(b"\x89PNG")

    weather = await ts.get("get-structured-content").call({"location": "Chicago"}, ToolContext())
    assert json.loads(weather.text) == weather.structured and "temperature" in weather.structured


async def test_everything_over_stdio():
    binary = require_everything()
    async with ToolSet(
        providers=providers_from_config({"everything": {"command": binary, "args": ["stdio"]}})
    ) as ts:
        await _exercise_everything(ts)
        schema = ts.get("trigger-long-running-operation").parameters
        assert schema["type"] == "object" and set(schema["properties"]) == {"duration", "steps"}


async def test_resources_offered_through_read_resource():
    binary = require_everything()
    config = {"command": binary, "args": ["stdio"], "resources": True}
    async with ToolSet(providers=providers_from_config({"everything": config})) as ts:
        reader = ts.get("read_resource")
        assert "demo://resource/static/document/architecture.md" in reader.description
        assert "demo://resource/dynamic/text/{resourceId}" in reader.description

        doc = await reader.call({"uri": "demo://resource/static/document/architecture.md"}, ToolContext())
        assert not doc.is_error
        assert doc.text.startswith(
            "[resource demo://resource/static/document/architecture.md (text/markdown)]\n#"
        )
        blob = await reader.call({"uri": "demo://resource/dynamic/blob/3"}, ToolContext())
        assert blob.text.startswith("[resource demo://resource/dynamic/blob/3 (text/plain, ")
        assert blob.text.splitlines()[1].startswith(
            "Resource 3: This is a base64 blob"
        )  # decoded for the model
        assert base64.b64decode(blob.attachments[0]["blob"]).startswith(b"Resource 3:")
        missing = await reader.call({"uri": "demo://no/such/thing"}, ToolContext())
        assert missing.is_error and "refused reading 'demo://no/such/thing'" in missing.text
        assert (await reader.call({}, ToolContext())).is_error


async def test_everything_over_streamable_http():
    with everything_http("streamableHttp") as base:
        async with ToolSet(providers=providers_from_config({"everything": {"url": f"{base}/mcp"}})) as ts:
            assert ts.providers[0].config.transport == "http"
            await _exercise_everything(ts)


@pytest.mark.parametrize(("transport", "path"), [("streamableHttp", "/mcp"), ("sse", "/sse")])
async def test_http_server_that_went_away_is_reconnected_once(transport, path):
    port = free_port()
    with ExitStack() as first:
        base = first.enter_context(everything_http(transport, port))
        async with ToolSet(providers=providers_from_config({"everything": {"url": f"{base}{path}"}})) as ts:
            assert (await ts.get("echo").call({"message": "1"}, ToolContext())).text == "Echo: 1"
            first.close()  # the server goes away
            gone = await ts.get("echo").call({"message": "2"}, ToolContext())
            assert gone.is_error and "stopped during the call to 'echo'" in gone.text
            with everything_http(transport, port):
                assert (await ts.get("echo").call({"message": "3"}, ToolContext())).text == "Echo: 3"


async def test_everything_over_sse():
    with everything_http("sse") as base:
        async with ToolSet(providers=providers_from_config({"everything": {"url": f"{base}/sse"}})) as ts:
            assert ts.providers[0].config.transport == "sse"
            await _exercise_everything(ts)


async def test_everything_through_npx_leaves_no_process_behind():
    """npx → sh → node: the whole tree goes when the run ends (the leak check runs after the test)."""
    import os
    import shutil
    from pathlib import Path

    binary = require_everything()
    if shutil.which("npx") is None:
        pytest.skip("npx is not installed")
    prefix = str(Path(binary).parents[2])
    config = {
        "command": "npx",
        "args": ["--prefix", prefix, "--no-install", "mcp-server-everything", "stdio"],
    }
    async with ToolSet(providers=[MCPServerProvider("everything", config)]) as ts:
        assert (await ts.get("echo").call({"message": "via npx"}, ToolContext())).text == "Echo: via npx"
    assert os.path.exists(binary)


async def test_sampling_and_elicitation_answered_by_our_handlers():
    """Conditional tools appear once we advertise sampling/elicitation; the server's requests reach our handlers."""
    binary = require_everything()
    asked: list[tuple] = []

    async def sample(messages, system_prompt, max_tokens):
        asked.append(("sample", messages, system_prompt, max_tokens))
        return "a sampled answer"

    async def elicit(message, schema):
        asked.append(("elicit", message, sorted(schema["properties"])))
        return {"name": "Ada", "check": True}

    providers = providers_from_config(
        {"everything": {"command": binary, "args": ["stdio"]}},
        sampling_handler=sample,
        elicitation_handler=elicit,
    )
    async with ToolSet(providers=providers) as ts:
        sampled = await ts.get("trigger-sampling-request").call(
            {"prompt": "say hi", "maxTokens": 7}, ToolContext()
        )
        assert "a sampled answer" in sampled.text and not sampled.is_error
        assert asked[0][0] == "sample"
        assert asked[0][1] == [
            {"role": "user", "content": "Resource trigger-sampling-request context: say hi"}
        ]
        assert asked[0][2:] == ("You are a helpful test server.", 7)

        elicited = await ts.get("trigger-elicitation-request").call({}, ToolContext())
        assert not elicited.is_error and "Ada" in elicited.text
        assert asked[1][0] == "elicit" and "name" in asked[1][2]


async def test_without_handlers_sampling_tools_are_not_offered():
    binary = require_everything()
    async with ToolSet(
        providers=providers_from_config({"everything": {"command": binary, "args": ["stdio"]}})
    ) as ts:
        assert ts.get("trigger-sampling-request") is None
        assert ts.get("trigger-elicitation-request") is None


async def test_time_server_over_stdio():
    binary = require_time_server()
    async with ToolSet(providers=providers_from_config({"mcpServers": {"time": {"command": binary}}})) as ts:
        assert {"get_current_time", "convert_time"} <= set(ts.names())
        now = await ts.get("get_current_time").call({"timezone": "Europe/Paris"}, ToolContext())
        assert not now.is_error and now.structured["timezone"] == "Europe/Paris"
        bad = await ts.get("get_current_time").call({"timezone": "Mars/Olympus_Mons"}, ToolContext())
        assert bad.is_error and bad.text.startswith("Error: ") and "Mars/Olympus_Mons" in bad.text


async def test_two_servers_with_clashing_tool_names_get_prefixes():
    binary = require_everything()
    providers = providers_from_config(
        {
            "one": {"command": binary, "args": ["stdio"]},
            "two": {"command": binary, "args": ["stdio"]},
            "fixture": {"command": TOOLS_SERVER[0], "args": TOOLS_SERVER[1:]},
        },
        reserved_names=["pid"],
    )
    async with ToolSet(tools=[], providers=providers) as ts:
        assert {"one__echo", "two__echo", "fixture__pid", "wait"} <= set(ts.names())
        assert "echo" not in ts.names()
        assert (await ts.get("two__echo").call({"message": "x"}, ToolContext())).text == "Echo: x"
        assert ts.get("one__echo").real_name == "echo"


async def test_http_headers_with_variables_reach_the_server_and_a_bad_token_is_named(monkeypatch):
    from mcp_fixtures.auth_http import serving

    monkeypatch.setenv("MCP_TEST_TOKEN", "t0k3n")
    async with serving("t0k3n") as url:
        config = {
            "good": {"url": url, "headers": {"Authorization": "Bearer ${MCP_TEST_TOKEN}"}},
            "bad": {"type": "http", "url": url, "headers": {"Authorization": "Bearer wrong"}},
        }
        async with ToolSet(providers=providers_from_config({"mcpServers": config})) as ts:
            assert (await ts.get("whoami").call({}, ToolContext())).text == "Bearer t0k3n"
            assert "HTTP 401 Unauthorized (check the token in its `headers`)" in ts.provider_errors["bad"]


async def test_a_tool_that_needs_a_task_runs_as_one_with_progress_and_a_timeout_cancels_it():
    binary = require_everything()
    progress = Progress()
    config = {"command": binary, "args": ["stdio"]}
    asked: list[str] = []

    async def elicit(message, schema):
        asked.append(message)
        return {"interpretation": "oceanography"}

    providers = providers_from_config({"everything": config}, elicitation_handler=elicit)
    async with ToolSet(providers=providers) as ts:
        research = ts.get("simulate-research-query")  # execution.taskSupport: required
        assert research.as_task
        result = await research.call({"topic": "tides"}, ToolContext(progress=progress))
        assert not result.is_error, result.text
        assert "tides" in result.text
        # the task's status messages reach the caller as progress (which stages a poll sees depends on
        # timing: each of the server's four stages lasts a second)
        stages = ("Gathering sources", "Analyzing content", "Synthesizing findings", "Generating report")
        assert any(stage in (message or "") for _, _, message in progress.seen for stage in stages)
        # A task that needs input (status input_required): the question arrives through tasks/result.
        unclear = await research.call({"topic": "tides", "ambiguous": True}, ToolContext())
        assert not unclear.is_error and "oceanography" in unclear.text
        assert asked and "multiple interpretations" in asked[0]

    config = {"command": binary, "args": ["stdio"], "call_timeout": 1.5}
    async with ToolSet(providers=providers_from_config({"everything": config})) as ts:
        [provider] = ts.providers
        slow = await ts.get("simulate-research-query").call({"topic": "tides"}, ToolContext())
        assert slow.is_error and "within 1.5 s (call_timeout); it was cancelled" in slow.text
        listed = await provider._session.send_request(types.ListTasksRequest(), types.ListTasksResult)
        assert [t.status for t in listed.tasks] == ["cancelled"]  # the server was told, not left running
