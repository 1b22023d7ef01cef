"""MCP servers that misbehave: missing, crashing, hanging, writing junk, dying mid-call, changing tools.

After every test no process started during it may be left (checked through /proc).
"""

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import anyio
import pytest
from mcp_fixtures.peers import (  # noqa: F401  (fixture)
    HANG_SERVER,
    MARK,
    TOOLS_SERVER,
    marked_processes,
    no_leftover_processes,
)

from agentkit.mcp import MCPServerProvider, MCPStartError, providers_from_config
from agentkit.tooling import ToolContext, ToolSet

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("no_leftover_processes")]

FIXTURE = {"command": TOOLS_SERVER[0], "args": TOOLS_SERVER[1:]}


def fixture(*flags: str, **settings) -> dict:
    return {"command": TOOLS_SERVER[0], "args": [*TOOLS_SERVER[1:], *flags], **settings}


async def _pid(ts: ToolSet, name: str = "pid") -> int:
    return int((await ts.get(name).call({}, ToolContext())).text)


async def test_missing_command_next_to_a_working_server():
    providers = providers_from_config({"ghost": {"command": "agentkit-no-such-server-xyz"}, "tools": FIXTURE})
    async with ToolSet(providers=providers) as ts:
        assert list(ts.provider_errors) == ["ghost"]
        assert "'agentkit-no-such-server-xyz' was not found" in ts.provider_errors["ghost"]
        assert "install it or fix `command`" in ts.provider_errors["ghost"]
        assert (
            await ts.get("distance").call({"a": {"x": 0, "y": 0}, "b": {"x": 2, "y": 3}}, ToolContext())
        ).text == "5"


async def test_server_crashing_at_start_reports_its_stderr():
    crash = {
        "command": sys.executable,
        "args": ["-c", "import sys; print('boom: FOO_API_KEY is not set', file=sys.stderr); sys.exit(3)"],
    }
    with pytest.raises(MCPStartError) as info:
        await MCPServerProvider("crashy", crash).start()
    message = str(info.value)
    assert "MCP server 'crashy'" in message and "exited before finishing the MCP handshake" in message
    assert "boom: FOO_API_KEY is not set" in message


async def test_server_hanging_at_start_times_out_and_takes_its_child_along():
    started = time.monotonic()
    provider = MCPServerProvider(
        "stuck", {"command": HANG_SERVER[0], "args": [*HANG_SERVER[1:], "--child"], "timeout": 1}
    )
    with pytest.raises(MCPStartError, match="did not finish the MCP handshake within 1 s") as info:
        await provider.start()
    assert "hang_server: starting, will never answer" in str(info.value)
    assert time.monotonic() - started < 3.5


async def test_server_writing_junk_and_never_answering():
    provider = MCPServerProvider(
        "noisy", {"command": HANG_SERVER[0], "args": [*HANG_SERVER[1:], "--junk"], "timeout": 1}
    )
    with pytest.raises(MCPStartError) as info:
        await provider.start()
    assert "non-MCP output on stdout: 'Welcome to hang_server v1.0! Listening...'" in str(info.value)


async def test_server_with_a_stdout_banner_still_works_and_the_junk_goes_to_the_log():
    logs = []
    providers = providers_from_config(
        {"banner": fixture("--banner")}, on_log=lambda *entry: logs.append(entry)
    )
    async with ToolSet(providers=providers) as ts:
        assert (await ts.get("big").call({"chars": 3}, ToolContext())).text == "xxx"
    assert any(server == "banner" and "this line is not JSON-RPC" in str(data) for server, _, data in logs)


async def test_server_killed_mid_call_is_restarted_once():
    changes = []
    providers = providers_from_config(
        {"fx": fixture("--child")}, on_tools_changed=lambda old, new: changes.append(old)
    )
    async with ToolSet(providers=providers) as ts:
        first = await _pid(ts)

        async def kill_soon():
            await anyio.sleep(0.3)
            os.kill(first, signal.SIGKILL)

        async with anyio.create_task_group() as tg:
            tg.start_soon(kill_soon)
            in_flight = await ts.get("wait").call({"seconds": 5}, ToolContext())
        assert in_flight.is_error
        assert "MCP server 'fx' stopped during the call to 'wait'" in in_flight.text
        assert "restarting it once; call the tool again" in in_flight.text

        second = await _pid(ts)  # waits for the restart, then works
        assert second != first
        assert changes == []  # same tools after the restart: nothing to tell the tool set

        os.kill(second, signal.SIGKILL)
        with anyio.fail_after(5):
            while (after := await ts.get("pid").call({}, ToolContext())).text.isdigit():
                await anyio.sleep(0.05)
        assert after.is_error and "stays down" in after.text


async def test_tools_list_changed_updates_the_tool_set():
    providers = providers_from_config({"fx": FIXTURE})
    async with ToolSet(providers=providers) as ts:
        await ts.get("add_tool").call({"name": "early"}, ToolContext())  # before anyone follows the list
        with anyio.fail_after(5):
            while "early" not in [t.name for t in providers[0].tools]:
                await anyio.sleep(0.02)
        assert ts.get("early") is None
        providers[0].follow(ts.replace)  # catches up at once
        assert ts.get("early") is not None

        await ts.get("add_tool").call({"name": "late.arrival"}, ToolContext())
        with anyio.fail_after(5):
            while ts.get("late_arrival") is None:
                await anyio.sleep(0.02)
        assert (await ts.get("late_arrival").call({}, ToolContext())).text == "I am late.arrival"
        assert ts.get("late_arrival").real_name == "late.arrival"
        assert ts.get("early") is not None and ts.get("pid") is not None


async def test_a_result_that_changed_the_tool_list_returns_with_the_new_tools_in_place():
    """The model's next step is rendered right after the results: it must already list the new tools."""
    providers = providers_from_config({"fx": FIXTURE})
    async with ToolSet(providers=providers) as ts:
        providers[0].follow(ts.replace)
        for name in ("first", "second", "third"):
            added = await ts.get("add_tool").call({"name": name}, ToolContext())
            assert added.text == f"added {name}"
            assert ts.get(name) is not None, ts.names()


async def test_call_timeout_cancels_the_call_and_the_server_stays_usable():
    async with ToolSet(providers=providers_from_config({"fx": fixture(call_timeout=0.5)})) as ts:
        started = time.monotonic()
        slow = await ts.get("wait").call({"seconds": 10}, ToolContext())
        assert slow.is_error and "did not finish the call to 'wait' within 0.5 s (call_timeout)" in slow.text
        assert time.monotonic() - started < 2
        assert await _pid(ts) > 0


async def test_tool_filters_hide_tools_from_the_model():
    config = fixture(include_tools=["pid", "fail", "big"], exclude_tools=["fail"])
    async with ToolSet(providers=providers_from_config({"fx": config})) as ts:
        assert ts.names() == ["pid", "big"]


async def test_error_results_progress_logs_and_names():
    logs, progress = [], []

    async def on_progress(done, total, message):
        progress.append((done, total, message))

    providers = providers_from_config({"fx": FIXTURE}, on_log=lambda *entry: logs.append(entry))
    async with ToolSet(providers=providers) as ts:
        failed = await ts.get("fail").call({"reason": "disk on fire"}, ToolContext())
        assert failed.is_error and "disk on fire" in failed.text
        await ts.get("wait").call({"seconds": 0.3}, ToolContext(progress=on_progress))
        assert progress == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]
        await ts.get("log").call({"message": "careful now"}, ToolContext())
        assert ("fx", "warning", "careful now") in logs
        assert (await ts.get("dotted_name_with_spaces").call({}, ToolContext())).text == "odd"
        bad = await ts.get("distance").call({"a": "nowhere"}, ToolContext())
        assert bad.is_error


async def test_http_server_not_listening_next_to_a_working_one():
    from mcp_fixtures.peers import free_port

    dead_url = f"http://127.0.0.1:{free_port()}/mcp"
    providers = providers_from_config({"down": {"url": dead_url, "timeout": 3}, "fx": FIXTURE})
    async with ToolSet(providers=providers) as ts:
        assert "MCP server 'down'" in ts.provider_errors["down"]
        assert "ConnectError" in ts.provider_errors["down"] or "connect" in ts.provider_errors["down"].lower()
        assert await _pid(ts) > 0


async def test_cancelled_call_and_crash_inside_the_run_leave_nothing_behind():
    with pytest.raises(RuntimeError, match="agent crashed"):
        async with ToolSet(providers=providers_from_config({"fx": fixture("--child")})) as ts:
            with anyio.move_on_after(0.3):
                await ts.get("wait").call({"seconds": 5}, ToolContext())
            assert await _pid(ts) > 0  # a cancelled call leaves the session usable
            raise RuntimeError("agent crashed")


async def test_start_cancelled_midway_leaves_nothing_behind():
    providers = providers_from_config(
        {"slow": {"command": HANG_SERVER[0], "args": [*HANG_SERVER[1:], "--child"]}, "fx": FIXTURE}
    )
    with anyio.move_on_after(0.8):
        async with ToolSet(providers=providers):
            pytest.fail("the hanging server cannot have started")


async def test_call_after_close_is_an_error_result():
    provider = MCPServerProvider("fx", FIXTURE)
    tools = {t.name: t for t in await provider.start()}
    await provider.aclose()
    result = await tools["pid"].call({}, ToolContext())
    assert result.is_error and "'fx' is stopped" in result.text


def test_ctrl_c_mid_call_stops_every_server_without_cancel_scope_errors():
    """A real agent process gets SIGINT during a tool call: it exits, its servers and their children go."""
    script = textwrap.dedent(
        f"""
        import asyncio, os, signal, sys
        sys.path.insert(0, {str(os.getcwd())!r})
        from agentkit.mcp import providers_from_config
        from agentkit.tooling import ToolContext, ToolSet

        async def main():
            config = {{"a": {fixture("--child")!r}, "b": {FIXTURE!r}}}
            async with ToolSet(providers=providers_from_config(config)) as ts:
                asyncio.get_running_loop().call_later(0.3, os.kill, os.getpid(), signal.SIGINT)
                print("calling", flush=True)
                await ts.get("a__wait").call({{"seconds": 30}}, ToolContext())

        asyncio.run(main())
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert "calling" in proc.stdout
    assert proc.returncode != 0 and "KeyboardInterrupt" in proc.stderr
    assert "cancel scope" not in proc.stderr.lower()
    assert "Task was destroyed" not in proc.stderr
    assert marked_processes(os.environ[MARK]) == []


async def test_http_url_where_nothing_answers_is_named_with_the_fix():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/mcp"
    with pytest.raises(MCPStartError) as info:
        await MCPServerProvider("remote", {"url": url}).start()
    message = str(info.value)
    assert f"MCP server 'remote' ({url} (http)) failed to start: nothing answers at {url}" in message
    assert "start the server or fix `url`" in message


async def _wait_tagged(tag: str) -> list[int]:
    deadline = time.monotonic() + 5
    while not _tagged(tag) and time.monotonic() < deadline:
        await anyio.sleep(0.02)
    return _tagged(tag)


def _tagged(tag: str) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as handle:
                    if tag.encode() in handle.read():
                        found.append(int(entry.name))
            except OSError:
                pass
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the reaper is Linux-only (prctl)")
@pytest.mark.parametrize("how", ["stop", "agent killed"])
async def test_a_double_forked_helper_with_a_clean_environment_does_not_outlive_the_server(tmp_path, how):
    """The helper leaves the server's session and drops every variable agentkit set; it still ends
    with the server (stopped normally, or the agent SIGKILLed)."""
    from mcp_fixtures.peers import HERE

    tag = f"detached-{os.getpid()}-{time.monotonic_ns()}"
    server = {"command": sys.executable, "args": [str(HERE / "detaching_server.py")]}
    if how == "stop":
        provider = MCPServerProvider("detacher", server)
        async with ToolSet(providers=[provider]) as ts:
            pid = int((await ts.get("detach").call({"tag": tag}, ToolContext())).text)
            assert await _wait_tagged(tag) == [pid]
            assert f"{MARK}=".encode() not in open(f"/proc/{pid}/environ", "rb").read()
    else:
        agent = tmp_path / "agent.py"
        agent.write_text(
            "import anyio, json, sys\n"
            "from agentkit.mcp import MCPServerProvider\n"
            "from agentkit.tooling import ToolContext, ToolSet\n"
            "async def main():\n"
            f"    async with ToolSet(providers=[MCPServerProvider('detacher', {server!r})]) as ts:\n"
            f"        print((await ts.get('detach').call({{'tag': {tag!r}}}, ToolContext())).text, flush=True)\n"
            "        await anyio.sleep(60)\n"
            "anyio.run(main)\n"
        )
        root = str(__import__("pathlib").Path(__file__).parents[1])
        proc = subprocess.Popen(
            [sys.executable, str(agent)],
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": root + os.pathsep + str(HERE.parent)},
        )
        try:
            pid = int(proc.stdout.readline())
            assert await _wait_tagged(tag) == [pid]
        finally:
            proc.kill()  # no cleanup runs in the agent
            proc.wait()
    deadline = time.monotonic() + 3
    while _tagged(tag) and time.monotonic() < deadline:
        await anyio.sleep(0.05)
    assert _tagged(tag) == [], "the detached helper outlived the run"
