"""A newcomer's first ten minutes, run as a user runs them: the CLI in a temp folder, a ``tools.py`` next
to the task, a simulator on the default port (inside a private network namespace, so that no other test's
server on 127.0.0.1:8000 is seen), and what reaches stdout and stderr checked as text."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentkit.testing import serve_in_thread
from tests.e2e_helpers import QUICKSTART, ROOT, cli, in_ci, missing_peer, replay_script, write_task

ANSWER = "There are 385 days from 2024-02-10 to 2025-03-01, and 2025-03-01 is a Saturday."


LOOPBACK_UP = (
    "import fcntl, socket, struct\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "flags = struct.unpack('16sh', fcntl.ioctl(s, 0x8913, struct.pack('16sh', b'lo', 0)))[1]\n"  # SIOCGIFFLAGS
    "fcntl.ioctl(s, 0x8914, struct.pack('16sh', b'lo', flags | 1))\n"  # SIOCSIFFLAGS, IFF_UP
)
"""Bring the new namespace's loopback up (what `ip link set lo up` does, without needing iproute2)."""


def _can_unshare() -> bool:
    if not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode == 0


needs_netns = pytest.mark.skipif(
    not _can_unshare() and not in_ci(),
    reason="needs `unshare --net` (root) for a private 127.0.0.1:8000; CI runs as root and must run it",
)


def private_net(script: str, cwd: Path, timeout: float = 90) -> subprocess.CompletedProcess:
    """``script`` (sh) in a new network namespace with only its own loopback: port 8000 is ours alone."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("AGENTKIT_ENDPOINT", None)
    up = f"{shlex.quote(sys.executable)} -c {shlex.quote(LOOPBACK_UP)}"
    proc = subprocess.Popen(
        ["unshare", "--net", "sh", "-c", f"set -e\n{up}\nset +e\n{script}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # on a timeout the whole group goes, the simulator included
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _quickstart(folder: Path, *, simulation: bool = True, **overrides: object) -> Path:
    task = yaml.safe_load((QUICKSTART / "task.yaml").read_text())
    if not simulation:
        task.pop("simulation")
    task.update(overrides)
    for name in ("dates.py", "replay.yaml"):
        shutil.copy(QUICKSTART / name, folder / name)
    path = folder / "task.yaml"
    path.write_text(yaml.safe_dump(task, allow_unicode=True, sort_keys=False))
    return path


def _line_of(task: Path, text: str) -> int:
    return next(i for i, line in enumerate(task.read_text().splitlines(), 1) if text in line)


# 1. Every mistake in a tool entry: the same file:line message and exit 2, whatever the path.

BAD_TOOLS = {
    "typo in module:function": ("dates:days_betwen", "did you mean dates:days_between?"),
    "unimportable module": ("nosuchmodule:f", "no module named 'nosuchmodule'"),
    "non-callable attribute": ("tools:LIMIT", "tools:LIMIT is 'int', not a tool"),
    "misspelt built-in": ("web_serch", "did you mean 'web_search'?"),
    "bad built-in option": ({"name": "web_search", "max_resuls": 3}, "did you mean 'max_results'?"),
}


@pytest.mark.parametrize("kind", list(BAD_TOOLS))
def test_a_bad_tool_entry_is_a_task_error_on_every_path(tmp_path, kind):
    entry, hint = BAD_TOOLS[kind]
    (tmp_path / "tools.py").write_text("LIMIT = 3\n\ndef ok(x: int) -> int:\n    return x\n")
    task = _quickstart(tmp_path, tools=["dates:weekday", entry])
    line = _line_of(task, entry if isinstance(entry, str) else "max_resuls")
    with serve_in_thread(replay_script()) as sim:
        endpoint_task = tmp_path / "with_endpoint.yaml"  # the same task, lines and all, with an endpoint
        endpoint_task.write_text(
            task.read_text().replace("  name: Qwen/Qwen3-8B", f"  endpoint: {sim.base_url}")
        )
        runs = {
            "simulation": cli("run", str(task)),
            "simulation --json": cli("run", str(task), "--json"),
            "endpoint": cli("run", str(endpoint_task)),
            "mcp": cli("mcp", str(task)),
        }
    messages = set()
    for path, proc in runs.items():
        assert proc.returncode == 2, (path, proc.stderr)
        assert "Traceback" not in proc.stderr and "ExceptionGroup" not in proc.stderr, path
        first = proc.stderr.strip().splitlines()[0]
        assert hint in first, (path, first)
        messages.add(first.replace(str(endpoint_task), str(task)))
    assert len(messages) == 1, messages  # one message, whatever the path
    assert f":{line}:" in runs["simulation"].stderr
    out = json.loads(runs["simulation --json"].stdout)  # --json still prints its one object
    assert out["status"] == "error" and hint in out["error"] and out["simulated"] is False


def test_a_broken_simulation_script_is_a_task_error(tmp_path):
    task = _quickstart(tmp_path)
    (tmp_path / "replay.yaml").write_text("replies:\n  - {thonk: x}\n")
    proc = cli("run", str(task), "--json")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    line = _line_of(task, "simulation:")
    assert f"{task}:{line}:1: simulation script: " in proc.stderr and "did you mean 'think'?" in proc.stderr
    assert json.loads(proc.stdout)["status"] == "error"


# 2. No endpoint and no simulation: what was tried, in order, and commands that exist.


@needs_netns
def test_no_model_says_what_was_tried_in_order_and_the_fixes(tmp_path):
    _quickstart(tmp_path, simulation=False)
    proc = private_net(f"{shlex.quote(sys.executable)} -m agentkit run task.yaml", tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    err = proc.stderr
    tried = [
        "1. model.endpoint: not set",
        "2. $AGENTKIT_ENDPOINT: not set",
        "3. a server at http://127.0.0.1:8000/v1: nothing answers there",
        "4. a local model (Qwen/Qwen3-8B)",
    ]
    positions = [err.index(step) for step in tried]
    assert positions == sorted(positions)
    assert "vllm serve Qwen/Qwen3-8B --port 8000" in err  # start a server: a real command
    assert "set model.endpoint" in err and "hf download Qwen/Qwen3-8B" in err
    assert "simulation: replay.yaml" in err
    assert "huggingface-cli" not in err  # huggingface_hub ships `hf`
    env_run = f"AGENTKIT_ENDPOINT=localhost:8000 {shlex.quote(sys.executable)} -m agentkit run task.yaml"
    proc = private_net(env_run, tmp_path)
    assert (
        "2. $AGENTKIT_ENDPOINT=localhost:8000: not an http:// or https:// URL (write e.g. "
        "http://localhost:8000/v1)" in proc.stderr
    )
    assert (
        shutil.which("hf") is None
        or subprocess.run(["hf", "download", "--help"], capture_output=True).returncode == 0
    )


# 3. An unclosed ${, an empty --prompt.


def test_an_unclosed_variable_is_an_error(tmp_path):
    task = tmp_path / "task.yaml"
    task.write_text("model:\n  endpoint: http://127.0.0.1:9/v1\n  api_key: ${AK EVAL\nprompt: hi\n")
    proc = cli("run", str(task), "--json")
    assert proc.returncode == 2
    assert f"{task}:3: '${{AK EVAL' opens a variable but never closes it" in proc.stderr
    assert json.loads(proc.stdout)["status"] == "error"
    assert cli("mcp", str(task)).returncode == 2


def test_an_unwritable_trace_file_is_an_error(tmp_path):
    task = _quickstart(tmp_path)
    proc = cli("run", str(task), "--trace", str(tmp_path / "no" / "such" / "trace.jsonl"), "--json")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "cannot write there" in json.loads(proc.stdout)["error"]


def test_an_empty_prompt_is_an_error(tmp_path):
    task = _quickstart(tmp_path)
    proc = cli("run", str(task), "--prompt", "")
    assert proc.returncode == 2 and "--prompt is empty" in proc.stderr and proc.stdout == ""
    proc = cli("run", str(task), "--prompt", " ", "--json")
    assert proc.returncode == 2 and "--prompt is empty" in json.loads(proc.stdout)["error"]
    proc = cli("run", str(task), "--json", "--max-step", "3")  # a bad flag: still the one JSON object
    assert proc.returncode == 2 and "unrecognized arguments: --max-step" in proc.stderr
    assert json.loads(proc.stdout)["status"] == "error"


# 5. A simulator left running on the default port is noticed and labelled.


@needs_netns
def test_a_simulator_on_port_8000_is_labelled_a_simulation(tmp_path):
    _quickstart(tmp_path, simulation=False)
    py = shlex.quote(sys.executable)
    fetch = (
        "import sys, time, httpx\n"
        "for _ in range(200):\n"
        "    try: r = httpx.get('http://127.0.0.1:8000/v1/models'); break\n"
        "    except httpx.HTTPError: time.sleep(0.1)\n"
        "open('models.json', 'w').write(r.text)\n"
        "open('headers.txt', 'w').write(''.join(f'{k}: {v}\\n' for k, v in r.headers.items()))\n"
    )
    (tmp_path / "fetch.py").write_text(fetch)
    proc = private_net(
        f"{py} -m agentkit.testing.simulator --script replay.yaml --port 8000 2>sim.log >&2 &\n"
        "SIM=$!\n"
        f"{py} fetch.py\n"
        f"{py} -m agentkit run task.yaml --json > run.json 2> run.err\n"
        f"{py} -m agentkit run task.yaml > plain.out 2> plain.err\n"
        "kill $SIM; wait $SIM\n",
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    models = json.loads((tmp_path / "models.json").read_text())
    assert {m["owned_by"] for m in models["data"]} == {"agentkit-simulator"}
    assert "x-agentkit-simulator:" in (tmp_path / "headers.txt").read_text().lower()
    out = json.loads((tmp_path / "run.json").read_text())
    assert out["output"] == ANSWER and out["simulated"] is True
    err = (tmp_path / "plain.err").read_text()
    assert "reusing Qwen/Qwen3-8B at http://127.0.0.1:8000/v1" in err
    assert "SIMULATION: http://127.0.0.1:8000/v1 is agentkit's simulator" in err
    assert [line for line in err.splitlines() if "step " in line and "SIMULATION" in line]
    assert (tmp_path / "plain.out").read_text().strip() == ANSWER


def test_a_simulator_given_as_the_endpoint_is_labelled_too(tmp_path):
    with serve_in_thread(replay_script()) as sim:
        proc = cli("run", str(write_task(tmp_path, sim.base_url)), "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["simulated"] is True
    assert "is agentkit's simulator, not a model" in proc.stderr


# 6. The SIMULATION notice: one line, details under --verbose; --prompt with a replay says so.


def test_simulation_notice_is_one_line_with_details_under_verbose(tmp_path):
    task = _quickstart(tmp_path)
    plain = cli("run", str(task))
    verbose = cli("run", str(task), "--verbose", "--prompt", "What is 2+2?")
    assert plain.returncode == verbose.returncode == 0
    notices = [line for line in plain.stderr.splitlines() if line.startswith("SIMULATION")]
    assert len(notices) == 1 and len(notices[0]) < 200 and "--verbose" in notices[0]
    assert "Tried, in order" not in plain.stderr and "Tried, in order" in verbose.stderr
    assert "hf download Qwen/Qwen3-8B" in verbose.stderr
    assert "scripted for another question, not for your --prompt" in verbose.stderr
    assert "not for your --prompt" not in plain.stderr  # the task's own prompt: nothing to warn about


# 7. The live view: once on a terminal, Markdown, moving while it waits, calls shown as they stream.


def _run_on_a_terminal(args: list[str], cwd: Path) -> Any:
    """The CLI with stdout and stderr on one pseudo-terminal (as in a shell): the screen it leaves."""
    try:
        import pyte
    except ImportError:
        missing_peer("pyte is not installed: bash .ci/install_terminal_peers.sh")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 120, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm"}
    env.pop("COLUMNS", None), env.pop("LINES", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentkit", *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        cwd=cwd,
        env=env,
    )
    os.close(slave)
    screen = pyte.Screen(120, 60)
    stream = pyte.ByteStream(screen)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            stream.feed(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(master)
    assert proc.returncode == 0
    return screen


def test_on_one_terminal_the_answer_is_shown_once_as_markdown(tmp_path):
    task = _quickstart(tmp_path)
    script = yaml.safe_load((tmp_path / "replay.yaml").read_text())
    script["replies"][1]["text"] = "**385 days**, and 2025-03-01 is a *Saturday*."
    (tmp_path / "replay.yaml").write_text(yaml.safe_dump(script))
    screen = _run_on_a_terminal(["run", str(task)], tmp_path)
    text = "\n".join(screen.display)
    assert text.count("385 days") == 1, text  # not live on stderr and again on stdout
    assert "**" not in text and "*Saturday*" not in text  # rendered as Markdown, not shown as typed
    row = next(y for y, line in enumerate(screen.display) if "385 days" in line)
    column = screen.display[row].index("385 days")
    assert screen.buffer[row][column].bold  # **385 days** in bold
    assert "step 1 · thinking on · SIMULATION" in text
    assert "completed · 2 steps" in text


def test_live_view_moves_while_waiting_and_shows_a_call_as_it_streams():
    import io

    import anyio
    from rich.console import Console

    from agentkit.agent.events import StepStarted
    from agentkit.display import LiveView
    from agentkit.qwen3.types import ToolCallArgsDelta, ToolCallStarted

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, height=30, highlight=False)
    view = LiveView(console, simulated=True)
    seen: list[str] = []

    async def run() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(view.keep_moving, 0.05)  # as the CLI runs it beside the agent
            view.waiting("looking for a model")
            await anyio.sleep(0.4)
            seen.append(out.getvalue())
            view(StepStarted(0, True))
            view(ToolCallStarted(0, "c1", "python"))
            view(ToolCallArgsDelta(0, '{"code": "print(1'))  # no newline, nothing printed: only the ticks
            await anyio.sleep(0.3)
            group.cancel_scope.cancel()

    anyio.run(run)
    frames = out.getvalue()
    view.close()
    assert "looking for a model · 0.3s" in seen[0] or "looking for a model · 0.4s" in seen[0]
    assert "looking for a model · 0.0s" in frames  # a status line with elapsed time, from the start
    assert "step 1 · thinking on · SIMULATION" in frames
    assert '→ python({"code": "print(1' in frames  # the call as it streams, before it is complete
    assert "writing a call to python" in frames


# 8. --trace tool events with timings, --version, steps counted from 1 everywhere.


def test_trace_has_tool_events_and_steps_count_from_one(tmp_path):
    task = _quickstart(tmp_path)
    trace = tmp_path / "trace.jsonl"
    proc = cli("run", str(task), "--json", "--trace", str(trace))
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    tools = [r for r in records if r["kind"].startswith("tool.")]
    assert [(r["kind"], r["data"]["name"]) for r in tools if r["kind"] == "tool.start"] == [
        ("tool.start", "days_between"),
        ("tool.start", "weekday"),
    ]
    finished = [r["data"] for r in tools if r["kind"] == "tool.finish"]
    assert sorted(d["name"] for d in finished) == ["days_between", "weekday"]
    assert all(d["duration_s"] >= 0 and d["step"] == 1 for d in finished)
    out = json.loads(proc.stdout)
    assert [s["step"] for s in out["steps"]] == [1, 2]
    live = cli("run", str(task))
    assert "step 1 · thinking on" in live.stderr and "step 2 · thinking off" in live.stderr


def test_tool_errors_are_traced(tmp_path):
    (tmp_path / "boom.py").write_text(
        "def days_between(start: str, end: str) -> int:\n    raise ValueError('no')\n"
    )
    task = _quickstart(tmp_path, tools=["boom:days_between", "dates:weekday"])
    trace = tmp_path / "trace.jsonl"
    cli("run", str(task), "--trace", str(trace))
    errors = [json.loads(line) for line in trace.read_text().splitlines() if '"tool.error"' in line]
    assert len(errors) == 1 and errors[0]["data"]["name"] == "days_between"
    assert "ValueError: no" in errors[0]["data"]["error"]


def test_version():
    from agentkit import __version__

    proc = cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"agentkit {__version__}"
