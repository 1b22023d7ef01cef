"""The ``python`` tool: normal runs, and runaway or hostile code that must not hurt the agent."""

from __future__ import annotations

import os
import socket
import sys
import time
import uuid
from pathlib import Path

import anyio
import pytest

from agentkit.tooling.base import ToolContext
from tools import builtin_tool, sandbox
from tools.sandbox import Isolation, isolation

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="these checks read /proc (Linux)"),
]

SMALL = {"time_limit": 5, "memory_mb": 256, "max_processes": 8, "max_output_bytes": 2000}


async def run(code: str, **options):
    tool = builtin_tool("python", {**SMALL, **options}, base_dir=Path("."))
    return await tool.call({"code": code}, ToolContext())


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def spawn_sleeper(marker: str, detach: bool = True) -> str:
    """Code that starts a long sleeper (its own session if detach) tagged with ``marker``."""
    return (
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', {marker!r}], "
        f"start_new_session={detach})\n"
    )


async def test_prints_and_last_expression():
    result = await run("print('hi')\nx = 6 * 7\nx")
    assert not result.is_error
    assert result.text == "exit status 0\nstdout:\nhi\n42"
    assert result.structured["exit_code"] == 0


async def test_exception_and_exit_code():
    result = await run("def f():\n    return 1 / 0\nf()")
    assert result.is_error and result.text.startswith("exception: ZeroDivisionError: division by zero")
    assert 'File "main.py", line 2, in f' in result.text
    exited = await run("import sys\nprint('bye')\nsys.exit(3)")
    assert exited.is_error and exited.text.startswith("exit status 3\nstdout:\nbye")


async def test_fresh_folder_and_minimal_environment():
    result = await run("import os, sys\nprint(os.listdir('.'), sorted(os.environ), sys.flags.isolated)")
    assert "['main.py'] ['HOME', 'LANG', 'MPLBACKEND', 'PATH', 'TMPDIR'] 1" in result.text


_SECRET_SCAN = """
import os
secret = os.environ.get("OPENAI_API_KEY", "") + os.environ.get("AGENTKIT_TOKEN", "")
for pid in (p for p in os.listdir("/proc") if p.isdigit()):
    try:
        secret += open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace")
    except OSError:
        pass
print("leaked" if "sk-agentkit-test" in secret else "clean")
"""


async def test_the_agents_secrets_are_not_visible_to_the_code():
    """Not in the code's environment, nor through /proc/PID/environ of the agent that started it."""
    command = [
        sys.executable,
        "-c",
        f"import anyio; from tools.sandbox import *; "
        f"r = anyio.run(run_python, {_SECRET_SCAN!r}, Limits()); print(r.stdout, r.notes)",
    ]
    secrets = {"OPENAI_API_KEY": "sk-agentkit-test", "AGENTKIT_TOKEN": "sk-agentkit-test"}
    env = {**os.environ, **secrets, "PYTHONPATH": str(Path(__file__).parents[1])}
    done = await anyio.run_process(command, env=env)
    if isolation(False).prefix:
        assert done.stdout.decode().startswith("clean"), done.stdout
    else:  # said plainly in the result's notes and in docs/tools.md
        assert "environment variables (API keys)" in done.stdout.decode()


async def test_infinite_loop_times_out():
    started = time.monotonic()
    result = await run("while True:\n    pass", time_limit=0.5)
    assert result.is_error and result.text.startswith("timed out after 0.5 s")
    assert time.monotonic() - started < 3


async def test_cpu_limit_kills_before_wall_clock():
    result = await run("while True:\n    pass", time_limit=5, cpu_seconds=1)
    assert result.is_error and "CPU time limit (1 s) exceeded" in result.text


async def test_ten_gigabyte_allocation_fails_inside():
    result = await run("x = bytearray(10 * 1024**3)")
    assert result.is_error and result.text.startswith("exception: MemoryError (memory limit is 256 MiB)")


async def test_output_is_capped():
    result = await run("print('x' * 100_000)")
    assert "[98001 more bytes of stdout dropped]" in result.text and len(result.text) < 2500


async def test_killing_parent_or_agent_does_not_hurt_us():
    me = os.getpid()
    code = (
        "import os, signal\n"
        f"for pid in (os.getppid(), {me}):\n"
        "    try:\n"
        "        os.kill(pid, signal.SIGKILL)\n"
        "    except OSError as exc:\n"
        "        print(pid, type(exc).__name__)\n"
        "print('still here')\n"
    )
    result = await run(code)
    assert os.getpid() == me  # we are alive to assert this
    if namespaced():  # in a pid namespace our pid does not exist and pid 1 ignores SIGKILL
        assert result.text.startswith("exit status 0") and f"{me} ProcessLookupError" in result.text
        assert "still here" in result.text
    group_kill = await run("import os\nos.kill(0, 9)")
    assert group_kill.is_error


async def test_fork_bomb_is_bounded_and_cleaned_up():
    marker = f"bomb-{uuid.uuid4().hex}"
    code = (
        "import os, sys, subprocess\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', {marker!r}])\n"
        "while True:\n"
        "    try:\n"
        "        os.fork()\n"
        "    except OSError:\n"
        "        pass\n"
    )
    result = await run(code, time_limit=1, max_processes=6)
    assert result.is_error and "timed out" in result.text
    await anyio.sleep(0.2)
    assert processes_with(marker) == []


async def test_background_processes_are_killed_after_a_normal_exit():
    marker = f"bg-{uuid.uuid4().hex}"
    result = await run(spawn_sleeper(marker) + "print('started')")
    assert "started" in result.text
    await anyio.sleep(0.2)
    assert processes_with(marker) == []


async def test_cancelling_the_call_kills_the_code():
    marker = f"cancel-{uuid.uuid4().hex}"
    with anyio.move_on_after(1.0) as scope:
        await run(spawn_sleeper(marker, detach=False) + "import time\ntime.sleep(30)", time_limit=30)
    assert scope.cancelled_caught
    await anyio.sleep(0.2)
    assert processes_with(marker) == []


def namespaced() -> bool:
    return bool(isolation(False).prefix)


async def test_filesystem_read_only_outside_the_working_folder(tmp_path: Path):
    if not namespaced():
        pytest.skip("no namespaces on this platform: the code can write where the agent can")
    target = tmp_path / "victim.txt"
    target.write_text("original")
    code = (
        "open('mine.txt', 'w').write('ok')\n"
        "import tempfile\n"
        "tempfile.NamedTemporaryFile().close()\n"
        f"open({str(target)!r}, 'w').write('pwned')\n"
    )
    result = await run(code)
    assert result.text.startswith("exception: OSError: [Errno 30] Read-only file system")
    assert target.read_text() == "original"


async def test_code_cannot_undo_the_sandbox():
    if not namespaced():
        pytest.skip("no namespaces on this platform")
    code = (
        "import ctypes, os, subprocess\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "print('umount', libc.umount2(b'/proc', 2), ctypes.get_errno())\n"
        "print('pids', sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))\n"
        "print('cgroup', os.listdir('/sys/fs/cgroup'))\n"
        "caps = subprocess.run(['grep', 'CapEff', '/proc/self/status'], capture_output=True, text=True)\n"
        "print(caps.stdout.split())\n"
    )
    result = await run(code)
    assert "umount -1 1\npids [1, 2]\n" in result.text  # EPERM; only the runner and the code are visible
    assert "cgroup []" in result.text and "['CapEff:', '0000000000000000']" in result.text


async def test_service_sockets_under_run_are_hidden():
    if not namespaced():
        pytest.skip("no namespaces on this platform")
    path = Path("/run") / f"agentkit-test-{uuid.uuid4().hex[:8]}.sock"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
    except OSError:
        pytest.skip("/run is not writable here")
    server.listen()
    try:
        result = await run(f"import socket\nsocket.socket(socket.AF_UNIX).connect({str(path)!r})")
    finally:
        server.close()
        path.unlink()
    assert result.text.startswith("exception: FileNotFoundError")


async def test_network_blocked_by_default():
    if not namespaced():
        pytest.skip("no network namespace on this platform")
    code = "import socket\ns = socket.socket()\ns.settimeout(1)\ns.connect(('10.255.255.1', 80))"
    result = await run(code)
    assert result.is_error and "OSError" in result.text and "timed out" not in result.text


async def test_bad_arguments_and_options():
    tool = builtin_tool("python", {}, base_dir=Path("."))
    assert tool.default_approval == "ask"
    assert (await tool.call({}, ToolContext())).is_error
    assert "empty" in (await tool.call({"code": "  "}, ToolContext())).text
    with pytest.raises(ValueError, match=r"unknown option 'memory' — did you mean 'memory_mb'\?"):
        builtin_tool("python", {"memory": 100}, base_dir=Path("."))


async def test_without_namespaces_limits_and_cleanup_still_hold(monkeypatch):
    monkeypatch.setattr(sandbox, "isolation", lambda network: Isolation((), ("no namespaces (test)",)))
    marker = f"plain-{uuid.uuid4().hex}"
    result = await run(spawn_sleeper(marker, detach=False) + "print('ok')")
    assert (
        result.text.startswith("exit status 0\nstdout:\nok") and "note: no namespaces (test)" in result.text
    )
    await anyio.sleep(0.2)
    assert processes_with(marker) == []
    looping = await run("while True:\n    pass", time_limit=0.5)
    assert looping.text.startswith("timed out after 0.5 s")
    parent = await run("import os\nos.kill(os.getppid(), 9)")
    assert parent.is_error and "killed by signal 9" in parent.text


async def test_code_stops_even_if_the_agent_dies(tmp_path: Path):
    marker = f"orphan-{uuid.uuid4().hex}"
    agent = tmp_path / "agent.py"
    agent.write_text(
        "import anyio\n"
        "from agentkit.tooling.base import ToolContext\n"
        "from tools import builtin_tool\n"
        "tool = builtin_tool('python', {'time_limit': 0.5})\n"
        f"code = {spawn_sleeper(marker, detach=False) + 'import time; time.sleep(60)'!r}\n"
        "anyio.run(tool.call, {'code': code}, ToolContext())\n"
    )
    process = await anyio.open_process(
        [sys.executable, str(agent)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "TMPDIR": str(tmp_path)},
    )
    try:
        deadline = time.monotonic() + 10
        while not processes_with(marker) and time.monotonic() < deadline:
            await anyio.sleep(0.05)
        assert processes_with(marker), "the sandboxed code never started"
    finally:
        process.kill()  # the agent dies without cleaning up
        await process.wait()
    deadline = time.monotonic() + 5
    while processes_with(marker) and time.monotonic() < deadline:
        await anyio.sleep(0.1)
    assert processes_with(marker) == []
