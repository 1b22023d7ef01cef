"""The ``python`` tool: normal runs, and runaway or hostile code that must not hurt the agent."""

from __future__ import annotations

import errno
import os
import socket
import sys
import time
import uuid
from pathlib import Path

import anyio
import pytest

from agentkit.tooling.base import ToolContext
from agentkit_tools import builtin_tool, sandbox
from agentkit_tools.sandbox import Isolation, isolation

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
        f"import anyio; from agentkit_tools.sandbox import *; "
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


AGENT = (
    "import anyio, sys\n"
    "from agentkit.tooling.base import ToolContext\n"
    "from agentkit_tools import builtin_tool\n"
    "tool = builtin_tool('python', {'time_limit': float(sys.argv[2])})\n"
    "anyio.run(tool.call, {'code': open(sys.argv[1]).read()}, ToolContext())\n"
)


def heartbeat(marker: str) -> str:
    """Code that starts a detached sleeper tagged ``marker`` and then writes the time to ``beat`` forever."""
    return spawn_sleeper(marker) + (
        "import os, time\n"
        "while True:\n"
        "    with open('beat.tmp', 'w') as f: f.write(str(time.time()))\n"
        "    os.replace('beat.tmp', 'beat')\n"
        "    time.sleep(0.05)\n"
    )


async def test_code_stops_as_soon_as_the_agent_is_killed(tmp_path: Path):
    """SIGKILL of the agent (no cleanup runs in it) ends the code at once, not at its time limit, and
    removes its work folder."""
    marker = f"orphan-{uuid.uuid4().hex}"
    (tmp_path / "agent.py").write_text(AGENT)
    (tmp_path / "code.py").write_text(heartbeat(marker))
    work = tmp_path / "tmp"
    work.mkdir()
    process = await anyio.open_process(
        [sys.executable, str(tmp_path / "agent.py"), str(tmp_path / "code.py"), "60"],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "TMPDIR": str(work)},
    )
    try:
        deadline = time.monotonic() + 10
        while not (processes_with(marker) and list(work.glob("*/beat"))) and time.monotonic() < deadline:
            await anyio.sleep(0.05)
        assert processes_with(marker), "the sandboxed code never started"
    finally:
        process.kill()  # the agent dies without cleaning up
        await process.wait()
    killed = time.monotonic()
    while (processes_with(marker) or list(work.iterdir())) and time.monotonic() < killed + 3:
        await anyio.sleep(0.05)
    assert processes_with(marker) == [], "the code outlived the agent"
    assert list(work.iterdir()) == [], "the work folder outlived the agent"


PTRACE_RUNNER = """
import ctypes, errno, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
def err(value):
    return 'allowed' if value == 0 else errno.errorcode[ctypes.get_errno()]
class IoVec(ctypes.Structure):
    _fields_ = [('base', ctypes.c_void_p), ('len', ctypes.c_size_t)]
buf = ctypes.create_string_buffer(8)
local, remote = IoVec(ctypes.cast(buf, ctypes.c_void_p), 8), IoVec(0x10000, 8)
libc.process_vm_writev.restype = libc.process_vm_readv.restype = ctypes.c_ssize_t
seen = {
    'attach': err(libc.ptrace(16, 1, 0, 0)),
    'seize': err(libc.ptrace(0x4206, 1, 0, 0)),
    'vm_writev': err(0 if libc.process_vm_writev(1, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0) >= 0 else -1),
}
try:
    open('/proc/1/mem', 'rb').close()
    seen['mem'] = 'allowed'
except OSError as exc:
    seen['mem'] = errno.errorcode[exc.errno]
print(sorted(seen.items()))
"""


async def test_the_code_cannot_trace_or_write_into_the_sandbox_runner():
    """The runner (pid 1 of the namespace) is non-dumpable: ptrace, process_vm_writev and /proc/1/mem
    are refused to the code and to programs it starts, so it cannot cancel the runner's duties."""
    code = (
        f"src = {PTRACE_RUNNER!r}\nexec(src)\n"
        "import subprocess, sys\n_ = subprocess.run([sys.executable, '-c', src])\n"
    )
    result = await run(code)
    assert not result.is_error, result.text
    lines = [line for line in result.text.splitlines() if line.startswith("[")]
    expected = "[('attach', 'EPERM'), ('mem', 'EACCES'), ('seize', 'EPERM'), ('vm_writev', 'EPERM')]"
    assert lines == [expected, expected], result.text


async def test_the_time_limit_does_not_depend_on_the_runner():
    """Even code that ignores every signal it can and detaches a sleeper is ended at the time limit,
    by the supervisor outside the namespaces."""
    marker = f"detached-{uuid.uuid4().hex}"
    code = (
        "import signal\n"
        "for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):\n"
        "    signal.signal(s, signal.SIG_IGN)\n"
        + spawn_sleeper(marker)
        + "import os\nos.setsid()\nwhile True:\n    pass\n"
    )
    started = time.monotonic()
    result = await run(code, time_limit=1)
    assert result.text.startswith("timed out after 1 s"), result.text
    assert time.monotonic() - started < 4
    assert processes_with(marker) == []


def shm_keys() -> set[int]:
    lines = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    return {int(line.split()[0]) for line in lines}


async def test_sysv_shared_memory_stays_inside_the_call():
    """Own IPC namespace: a host segment is invisible, the code's segments are gone after the call, and a
    later call cannot see an earlier one's."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    host_key = 0x5A000000 + os.getpid() % 0xFFFF
    host_id = libc.shmget(host_key, 4096, 0o1600)  # IPC_CREAT | 0600
    assert host_id >= 0
    try:
        key = host_key + 1
        queue = f"/agentkit-test-{os.getpid()}".encode()
        probe = (
            "import ctypes, mmap\nlibc = ctypes.CDLL(None, use_errno=True)\n"
            f"print('host segment visible:', libc.shmget({host_key}, 0, 0) >= 0)\n"
            f"print('earlier segment visible:', libc.shmget({key}, 0, 0) >= 0)\n"
            f"print('created:', libc.shmget({key}, 1 << 20, 0o1600) >= 0)\n"
            "libc.mq_open.restype = ctypes.c_int\n"
            f"print('earlier queue visible:', libc.mq_open({queue!r}, 0) >= 0)\n"
            f"print('queue created:', libc.mq_open({queue!r}, 0o100 | 2, 0o600, None) >= 0)\n"
        )
        first = await run(probe)
        second = await run(probe)
        for result in (first, second):
            assert "host segment visible: False" in result.text, result.text
            assert "earlier segment visible: False" in result.text, result.text
            assert "created: True" in result.text and "queue created: True" in result.text, result.text
            assert "earlier queue visible: False" in result.text, result.text
        assert key not in shm_keys()
        assert libc.mq_open(queue, 0) < 0 and ctypes.get_errno() == errno.ENOENT  # not on the host
    finally:
        libc.shmctl(host_id, 0, None)  # IPC_RMID
        libc.mq_unlink(f"/agentkit-test-{os.getpid()}".encode())  # left only where the attack worked


async def test_clean_up_removes_a_deep_tree(tmp_path: Path, monkeypatch):
    """1,500 nested folders (more than Python's recursion limit) with files: the call returns its output
    and the whole work folder is removed."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(sandbox.tempfile, "tempdir", None)
    code = (
        "import os\nfd = os.open('.', os.O_RDONLY)\n"
        "for i in range(1500):\n"
        "    os.mkdir('d', dir_fd=fd)\n"
        "    inner = os.open('d', os.O_RDONLY, dir_fd=fd)\n"
        "    os.close(fd)\n    fd = inner\n"
        "    with open(f'/proc/self/fd/{fd}/f', 'wb') as h: h.write(b'x' * 1000)\n"
        "os.chmod(f'/proc/self/fd/{fd}', 0)\n"
        "print('deep')\n"
    )
    result = await run(code, time_limit=20)
    assert result.text.startswith("exit status 0\nstdout:\ndeep"), result.text
    assert list(tmp_path.iterdir()) == []


def test_remove_tree_never_raises_and_needs_no_recursion(tmp_path: Path):
    from agentkit_tools.sandbox_supervisor import remove_tree

    root = tmp_path / "w"
    fd = os.open(tmp_path, os.O_RDONLY)
    name = "w"
    for _ in range(3000):  # paths far past PATH_MAX
        os.mkdir(name, dir_fd=fd)
        inner = os.open(name, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd, name = inner, "d" * 50
        os.symlink("/", "link", dir_fd=fd)
    os.close(fd)
    assert remove_tree(str(root)) is None
    assert not root.exists()
    assert remove_tree(str(root)) is None  # already gone: fine


async def test_a_lone_surrogate_is_an_error_and_leaves_nothing(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(sandbox.tempfile, "tempdir", None)
    result = await run("print('\ud800')")
    assert result.is_error and "not valid Unicode" in result.text and "'\\ud800'" in result.text
    assert list(tmp_path.iterdir()) == []
