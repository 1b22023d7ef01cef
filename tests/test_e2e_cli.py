"""``python -m agentkit run`` end to end against the Qwen3 simulator over real HTTP, as a user runs it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from agentkit.testing import serve_in_thread
from tests.e2e_helpers import QUICKSTART, cli, replay_script, run_json, write_task

ANSWER = "There are 385 days from 2024-02-10 to 2025-03-01, and 2025-03-01 is a Saturday."


def _check_quickstart_run(out: dict) -> None:
    assert out["output"] == ANSWER
    assert out["status"] == "completed"
    assert [s["thinking"] for s in out["steps"]] == [True, False]  # plan with thinking, summarise without
    calls = out["steps"][0]["tool_calls"]
    assert [(c["name"], c["result"]) for c in calls] == [("days_between", "385"), ("weekday", "Saturday")]
    tools = [m for m in out["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in tools] == ["385", "Saturday"]
    assistant = [m for m in out["messages"] if m["role"] == "assistant"]
    assert "calendar arithmetic" in assistant[0]["reasoning_content"]
    assert out["usage"]["prompt_tokens"] > 0 and out["usage"]["completion_tokens"] > 0


@pytest.mark.parametrize("mode", ["native", "server"])
def test_run_end_to_end(tmp_path, mode):
    with serve_in_thread(replay_script()) as sim:
        task = write_task(tmp_path, sim.base_url, model={"mode": mode})
        out, proc = run_json(task)
        requests = sim.requests()
    assert proc.returncode == 0, proc.stderr
    _check_quickstart_run(out)
    assert out["simulated"] is True  # the simulator says what it is in every response, and is labelled
    path = "/v1/completions" if mode == "native" else "/v1/chat/completions"
    model_calls = [r for r in requests if r["path"] == path]
    assert len(model_calls) == 2
    if mode == "native":
        first, second = (r["body"]["prompt"] for r in model_calls)
        assert first.endswith("<|im_start|>assistant\n")  # thinking on: the model opens <think> itself
        assert second.endswith(
            "<|im_start|>assistant\n<think>\n\n</think>\n\n"
        )  # thinking off: the hard switch
        assert model_calls[0]["body"]["skip_special_tokens"] is False
        assert out["steps"][1]["usage"]["reprefill_extra_tokens"] == 0
    else:
        kwargs = [r["body"]["chat_template_kwargs"]["enable_thinking"] for r in model_calls]
        assert kwargs == [True, False]
        tool_msgs = [m for m in model_calls[1]["body"]["messages"] if m["role"] == "tool"]
        call_ids = [c["id"] for c in model_calls[1]["body"]["messages"][-3]["tool_calls"]]
        assert [m["tool_call_id"] for m in tool_msgs] == call_ids


def test_main_command_falls_back_to_a_labelled_simulation():
    proc = cli("run", str(QUICKSTART / "task.yaml"), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    _check_quickstart_run(out)
    assert out["simulated"] is True
    lines = proc.stderr.splitlines()
    notices = [line for line in lines if line.startswith("SIMULATION")]
    assert len(notices) == 1 and "replay.yaml" in notices[0] and "no model runs" in notices[0]
    assert len(notices[0]) < 200 and "--verbose" in notices[0]  # one line; the details under --verbose
    assert "hf download" not in proc.stderr
    # Labelled in every step header and in the closing line too.
    headers = [line for line in lines if "step " in line and "thinking" in line]
    assert len(headers) == 2 and all("SIMULATION" in h for h in headers)
    assert "completed" in lines[-1] and "SIMULATION" in lines[-1]


def test_plain_output_and_live_view():
    proc = cli("run", str(QUICKSTART / "task.yaml"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ANSWER
    assert "days_between" in proc.stderr and "step 1" in proc.stderr and "thinking on" in proc.stderr


def test_retries_overload_and_cut_stream_without_running_a_tool_twice(tmp_path):
    marker = tmp_path / "calls.log"
    (tmp_path / "counted.py").write_text(
        "from pathlib import Path\n"
        f"LOG = Path({str(marker)!r})\n"
        "def days_between(start: str, end: str) -> int:\n"
        "    '''Days between two dates.'''\n"
        "    LOG.open('a').write('x')\n"
        "    from datetime import date\n"
        "    return (date.fromisoformat(end) - date.fromisoformat(start)).days\n"
    )
    faults = [{"status": 503, "times": 2}, {"cut_after_chars": 30, "times": 1}]
    with serve_in_thread(replay_script(faults=faults)) as sim:
        task = write_task(tmp_path, sim.base_url, tools=["counted:days_between", "dates:weekday"])
        out, proc = run_json(task)
    assert proc.returncode == 0, proc.stderr
    assert out["output"] == ANSWER
    assert marker.read_text() == "x"  # the tool ran exactly once
    assert out["steps"][0]["retries"] >= 2  # the 503s; the cut stream was continued, not retried
    assert len(out["steps"][0]["usage"]["continued_tokens"]) == 1


@pytest.mark.parametrize("mode", ["native", "server"])
def test_context_overflow_is_caught_before_sending(tmp_path, mode):
    with serve_in_thread(replay_script(max_model_len=40)) as sim:
        task = write_task(tmp_path, sim.base_url, model={"mode": mode})
        out, proc = run_json(task)
        sent = [r for r in sim.requests() if r["path"].endswith("completions")]
    assert proc.returncode == 1
    assert out["status"] == "error" and "max_model_len" in out["error"] and "40" in out["error"]
    assert sent == []


def test_connection_refused_names_the_endpoint_and_the_fix(tmp_path):
    task = write_task(tmp_path, "http://127.0.0.1:9/v1")
    proc = cli("run", str(task))
    assert proc.returncode == 1
    assert "http://127.0.0.1:9/v1" in proc.stderr and "vllm serve" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_length_inside_a_tool_call_is_reported_not_executed(tmp_path):
    from agentkit.qwen3.tokens import count_tokens

    marker = tmp_path / "ran"
    (tmp_path / "t.py").write_text(
        f"def touch(path: str) -> str:\n    'Touch.'\n    open({str(marker)!r}, 'w')\n    return 'ok'\n"
    )
    raw = '<think>\nok\n</think>\n\n<tool_call>\n{"name": "touch", "arguments": {"path": "/tmp/x"}}\n</tool_call>'
    cut = count_tokens(raw[: raw.index('"/tmp')])
    script = {
        "model": "Qwen/Qwen3-8B",
        "replies": [{"raw": raw}],
        "faults": [{"length_after_tokens": cut, "times": "always"}],
    }
    with serve_in_thread(script) as sim:
        task = write_task(tmp_path, sim.base_url, tools=["t:touch"])
        out, proc = run_json(task)
    assert not marker.exists()
    assert proc.returncode == 1
    assert out["status"] == "length" and "inside a tool call" in out["error"] and "max_tokens" in out["error"]
    assert out["steps"][0]["finish_reason"] == "length" and out["steps"][0]["tool_calls"] == []


def test_bad_task_file_exits_2_without_traceback(tmp_path):
    bad = tmp_path / "task.yaml"
    bad.write_text("model:\n  endpoint: http://127.0.0.1:8000/v1\nmax_step: 3\nprompt: hi\n")
    proc = cli("run", str(bad))
    assert proc.returncode == 2
    assert "task.yaml:3" in proc.stderr and "max_steps" in proc.stderr and "Traceback" not in proc.stderr


def test_help_is_fast_and_lists_commands():
    proc = cli("--help")
    assert proc.returncode == 0 and "run" in proc.stdout and "serve" in proc.stdout and "mcp" in proc.stdout


@pytest.mark.parametrize("during", ["tool", "stream"])
def test_ctrl_c_during_a_tool_or_the_stream_exits_at_once_without_a_traceback(tmp_path, during):
    """Ctrl-C while a blocking sync tool runs, or while the model streams: exit 130 promptly, nothing left."""
    running = tmp_path / "running"
    (tmp_path / "slow.py").write_text(
        "import pathlib, time\n\n"
        "def nap(seconds: int) -> str:\n"
        "    'Sleep.'\n"
        f"    pathlib.Path({str(running)!r}).touch()\n"
        "    time.sleep(seconds)\n"
        "    return 'slept'\n"
    )
    reply = {"think": "Nap.", "tool_calls": [{"name": "nap", "arguments": {"seconds": 60}}]}
    faults = [{"chunk_delay_s": 0.5, "times": "always"}] if during == "stream" else []
    script = {"model": "Qwen/Qwen3-8B", "replies": [reply, "Done."], "faults": faults}
    with serve_in_thread(script) as sim:
        task = write_task(tmp_path, sim.base_url, tools=["slow:nap"])
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentkit", "run", str(task)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        try:
            deadline = time.perf_counter() + 30
            while time.perf_counter() < deadline and not (
                running.exists() if during == "tool" else sim.requests()
            ):
                time.sleep(0.05)
            time.sleep(0.3)
            assert proc.poll() is None and running.exists() == (during == "tool")
            proc.send_signal(signal.SIGINT)
            started = time.perf_counter()
            _, err = proc.communicate(timeout=20)
        finally:
            proc.kill()
    assert time.perf_counter() - started < 5
    assert proc.returncode == 130
    assert "interrupted" in err and "Traceback" not in err


def test_json_is_one_object_also_when_no_model_can_be_reached(tmp_path):
    task = tmp_path / "task.yaml"
    task.write_text(f"model:\n  path: {tmp_path / 'no_such_model'}\nprompt: hi\n")
    out, proc = run_json(task)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert out["status"] == "error" and "no_such_model" in out["error"]
    assert out["output"] == "" and out["steps"] == [] and out["simulated"] is False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_json_run_prints_every_finished_step(tmp_path, sig):
    """Ctrl-C or SIGTERM of `run --json` during the second step's tool: still the one JSON object,
    `status: interrupted`, with the first step and its tool result; exit 130."""
    running = tmp_path / "running"
    (tmp_path / "work.py").write_text(
        "import pathlib, time\n\n"
        "def quick(x: int) -> str:\n"
        "    'Answer at once.'\n"
        "    return f'quick {x}'\n\n"
        "def nap(seconds: int) -> str:\n"
        "    'Sleep.'\n"
        f"    pathlib.Path({str(running)!r}).touch()\n"
        "    time.sleep(seconds)\n"
        "    return 'slept'\n"
    )
    first = {"think": "Quick first.", "tool_calls": [{"name": "quick", "arguments": {"x": 7}}]}
    second = {"think": "Now nap.", "tool_calls": [{"name": "nap", "arguments": {"seconds": 60}}]}
    script = {"model": "Qwen/Qwen3-8B", "replies": [first, second, "Done."]}
    with serve_in_thread(script) as sim:
        task = write_task(tmp_path, sim.base_url, tools=["work:quick", "work:nap"])
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentkit", "run", str(task), "--json", "--quiet"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        try:
            deadline = time.perf_counter() + 30
            while time.perf_counter() < deadline and not running.exists():
                time.sleep(0.05)
            assert running.exists() and proc.poll() is None
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=20)
        finally:
            proc.kill()
    assert proc.returncode == 130, err
    payload = json.loads(out)
    assert payload["status"] == "interrupted" and "1 finished step" in payload["error"]
    assert len(payload["steps"]) == 1
    assert payload["steps"][0]["tool_calls"][0]["result"] == "quick 7"
    assert payload["messages"][-1] == {
        "role": "tool",
        "tool_call_id": payload["steps"][0]["tool_calls"][0]["id"],
        "name": "quick",
        "content": "quick 7",
    }
