"""``agentkit batch`` and ``agentkit.batch`` end to end, against the Qwen3 simulator, run as a user runs them."""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import yaml

from agentkit.testing.simulator import serve_in_thread
from tests.e2e_helpers import QUICKSTART, ROOT, cli, free_port, missing_peer

MODEL = "Qwen/Qwen3-8B"
DAYS_CALL = {"name": "days_between", "arguments": {"start": "2024-02-10", "end": "2025-03-01"}}
SCRIPT: dict[str, Any] = {
    "model": MODEL,
    "chunk_chars": 16,
    "max_model_len": 4096,
    "conversations": [
        {"match": "(?i)loop", "replies": [{"tool_calls": [DAYS_CALL]}] * 5},
        {"replies": [{"think": "I need the tool.", "tool_calls": [DAYS_CALL]}, "There are 385 days."]},
    ],
}
SLOW = [{"chunk_delay_s": 0.03, "times": "always"}]


def require(module: str) -> Any:
    """The module, or a skip where it is not installed (a failure in CI, which installs it)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        missing_peer(f"{module} is not installed: bash .ci/install_batch_peers.sh")


def write_task(folder: Path, endpoint: str | list[str], **extra: Any) -> Path:
    (folder / "dates.py").write_text((QUICKSTART / "dates.py").read_text())
    task = {
        "model": {"endpoint": endpoint, "name": MODEL},
        "max_steps": 3,
        "tools": ["dates:days_between"],
        "prompt": "Count the days for {title}",
        **extra,
    }
    path = folder / "task.yaml"
    path.write_text(yaml.safe_dump(task))
    return path


def write_items(path: Path, items: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return path


def read_results(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def batch_cli(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return cli("batch", *args, "--quiet", timeout=timeout)


@pytest.fixture
def sim():
    with serve_in_thread(SCRIPT) as running:
        yield running


def test_mixed_good_and_failing_items(sim, tmp_path):
    """Good items complete, a prompt too long for the model fails, a looping one stops at max_steps;
    each is one line with the `run --json` object and its id, and the summary counts them."""
    task = write_task(tmp_path, sim.base_url)
    items = [{"id": f"ok-{i}", "title": f"trip {i}"} for i in range(6)]
    items += [{"id": "too-long", "prompt": "word " * 6000}, {"id": "looping", "prompt": "loop forever"}]
    items += [{"title": "no id given"}]
    source = write_items(tmp_path / "items.jsonl", items)
    out = tmp_path / "results.jsonl"
    proc = batch_cli(str(task), str(source), "-o", str(out), "--json")
    assert proc.returncode == 1, proc.stderr  # some items failed; the batch still ran them all
    summary = json.loads(proc.stdout)
    assert summary["by_status"] == {"completed": 7, "error": 1, "max_steps": 1}
    assert summary["done"] == 9 and summary["not_done"] == 0
    assert summary["steps_per_item"] > 1 and summary["tool_calls_per_item"] > 0.9
    assert summary["tokens"]["prompt"] > 0 and 0 < summary["prefix_cache_reuse"] <= 1
    assert len(summary["slowest"]) == 5
    results = {r["id"]: r for r in read_results(out)}
    assert len(results) == 9
    ok = results["ok-3"]
    assert ok["status"] == "completed" and ok["output"] == "There are 385 days."
    assert ok["messages"][0] == {"role": "user", "content": "Count the days for trip 3"}
    assert ok["steps"][0]["tool_calls"][0]["result"] == "385" and ok["attempts"] == 1
    assert ok["simulated"] is True and "usage" in ok  # the endpoint is agentkit's simulator, which says so
    assert results["too-long"]["status"] == "error"
    assert "max_model_len" in results["too-long"]["error"]
    assert results["looping"]["status"] == "max_steps"
    derived = [r for r in results if not r.startswith(("ok-", "too-long", "looping"))]
    assert len(derived) == 1 and len(derived[0]) == 16  # a stable id derived from the line's content
    text = batch_cli(str(task), str(source), "-o", str(out))  # a rerun: everything is done already
    assert text.returncode == 0, text.stderr
    assert "9 of 9 items are already in" in text.stderr and len(read_results(out)) == 9
    redo = batch_cli(str(task), str(source), "-o", str(out), "--redo-errors", "--json")
    assert json.loads(redo.stdout)["by_status"] == {"error": 1}  # only the failed item ran again
    assert sorted(r["id"] for r in read_results(out)) == sorted(results)  # its line replaced, not doubled


def test_kill_9_mid_batch_then_rerun_holds_every_item_once(sim, tmp_path):
    sim.set_faults(SLOW)
    task = write_task(tmp_path, sim.base_url)
    ids = [f"item-{i}" for i in range(60)]
    source = write_items(tmp_path / "items.jsonl", [{"id": i, "title": i} for i in ids])
    out = tmp_path / "results.jsonl"
    env = {**os.environ, "AGENTKIT_ENDPOINT": f"http://127.0.0.1:{free_port()}/v1"}
    command = [sys.executable, "-m", "agentkit", "batch", str(task), str(source), "-o", str(out)]
    proc = subprocess.Popen(
        [*command, "--concurrency", "8", "--quiet"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not out.exists() or out.read_text().count("\n") < 12):
            time.sleep(0.05)
        assert proc.poll() is None, "the batch ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    first = out.read_text().count("\n")
    assert 12 <= first < 60
    sim.set_faults([])
    rerun = batch_cli(str(task), str(source), "-o", str(out), "--json")
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary["skipped"] == first and summary["done"] == 60 - first
    counts = Counter(r["id"] for r in read_results(out))
    assert sorted(counts) == sorted(ids) and set(counts.values()) == {1}


def test_truncated_last_line_is_redone(sim, tmp_path):
    task = write_task(tmp_path, sim.base_url)
    source = write_items(tmp_path / "items.jsonl", [{"id": i, "title": str(i)} for i in range(5)])
    out = tmp_path / "results.jsonl"
    assert batch_cli(str(task), str(source), "-o", str(out), "--limit", "3").returncode == 0
    lines = out.read_text().splitlines(keepends=True)
    assert len(lines) == 3
    cut_id = json.loads(lines[-1])["id"]
    out.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])  # a power cut mid-write
    proc = batch_cli(str(task), str(source), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "last line was cut off" in proc.stderr
    results = read_results(out)  # every line parses: the cut one was dropped, its item run again
    assert sorted(r["id"] for r in results) == ["0", "1", "2", "3", "4"]
    assert next(r for r in results if r["id"] == cut_id)["status"] == "completed"
    lines = out.read_text().splitlines(keepends=True)
    out.write_text(lines[0] + "garbage\n" + "".join(lines[1:]))  # damage in the middle is not guessed at
    proc = batch_cli(str(task), str(source), "-o", str(out))
    assert proc.returncode == 2 and f"{out}:2: not a result line" in proc.stderr


def test_requests_in_flight_never_exceed_the_bound_per_endpoint(tmp_path):
    """Two replicas, 2 requests each at most, 10 items in flight: each server sees at most 2 at once
    (and reaches 2), and both are used."""
    with serve_in_thread(SCRIPT) as a, serve_in_thread(SCRIPT) as b:
        for s in (a, b):
            s.set_faults(SLOW)
        task = write_task(tmp_path, a.base_url)
        source = write_items(tmp_path / "items.jsonl", [{"id": i, "title": str(i)} for i in range(20)])
        out = tmp_path / "results.jsonl"
        flags = ["--endpoint", a.base_url, "--endpoint", b.base_url, "--per-endpoint", "2"]
        proc = batch_cli(str(task), str(source), "-o", str(out), "--concurrency", "10", *flags)
        assert proc.returncode == 0, proc.stderr
        for s in (a, b):
            seen = httpx.get(f"{s.url}/_sim/in_flight").json()
            assert seen == {"in_flight": 0, "max_in_flight": 2}
            assert any(r["path"] == "/v1/completions" for r in s.requests())
    assert len(read_results(out)) == 20


def test_bad_items_are_reported_with_their_line(sim, tmp_path):
    task = write_task(tmp_path, sim.base_url)
    source = tmp_path / "items.jsonl"
    source.write_text('{"id": 1, "title": "a"}\n{"id": 2, "name": "b"}\n{"id": 1, "title": "c"}\n')
    proc = batch_cli(str(task), str(source), "-o", str(tmp_path / "out.jsonl"))
    assert proc.returncode == 2
    assert f"{source}:2: the task's prompt template needs the field 'title'" in proc.stderr
    assert f"{source}:3: the id '1' is already used at {source}:1" in proc.stderr
    assert not (tmp_path / "out.jsonl").exists() or not (tmp_path / "out.jsonl").read_text()
    proc = batch_cli(str(task), str(tmp_path / "items.txt"), "-o", str(tmp_path / "out.jsonl"))
    assert proc.returncode == 2 and "unknown item format '.txt'" in proc.stderr


def test_csv_json_and_parquet_items(sim, tmp_path):
    task = write_task(tmp_path, sim.base_url)
    source = tmp_path / "items.csv"
    source.write_text('id,title\na,"first, with a comma"\nb,second\n')
    out = tmp_path / "csv.jsonl"
    assert batch_cli(str(task), str(source), "-o", str(out)).returncode == 0
    results = {r["id"]: r for r in read_results(out)}
    assert results["a"]["messages"][0]["content"] == "Count the days for first, with a comma"
    (tmp_path / "items.json").write_text(json.dumps([{"id": "j", "title": "from a list"}]))
    out = tmp_path / "json.jsonl"
    assert batch_cli(str(task), str(tmp_path / "items.json"), "-o", str(out)).returncode == 0
    assert read_results(out)[0]["messages"][0]["content"] == "Count the days for from a list"
    pa, pq = require("pyarrow"), require("pyarrow.parquet")
    pq.write_table(pa.table({"id": [7, 8], "title": ["x", "y"]}), tmp_path / "items.parquet")
    out = tmp_path / "parquet.jsonl"
    proc = batch_cli(str(task), str(tmp_path / "items.parquet"), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert sorted(r["id"] for r in read_results(out)) == ["7", "8"]


def test_failed_items_are_retried_with_retries(sim, tmp_path):
    """A 503 is transient: the endpoint's backoff retries the request within the same attempt. A 400 is
    not: the item fails, and --retries runs it again."""
    sim.set_faults([{"status": 503, "times": 1}, {"status": 400, "times": 1}])
    task = write_task(tmp_path, sim.base_url)
    source = write_items(tmp_path / "items.jsonl", [{"id": "x", "title": "x"}])
    out = tmp_path / "results.jsonl"
    proc = batch_cli(str(task), str(source), "-o", str(out), "--retries", "1")
    assert proc.returncode == 0, proc.stderr
    [record] = read_results(out)
    assert record["status"] == "completed" and record["attempts"] == 2
    statuses = [r["status"] for r in sim.requests() if r["path"] == "/v1/completions"]
    assert statuses == [503, 400, 200, 200]  # the 503 retried by the endpoint, the 400 by --retries


def test_python_api_async_iterator_resumes(sim, tmp_path):
    import agentkit

    task = write_task(tmp_path, sim.base_url)
    out = tmp_path / "results.jsonl"
    items = [{"id": i, "title": str(i)} for i in range(6)] + ["What is 2 + 3?"]

    async def collect(**options: Any) -> list[dict[str, Any]]:
        return [r async for r in agentkit.batch(task, items, output=out, concurrency=3, **options)]

    async def stop_early() -> list[dict[str, Any]]:
        got = []
        async for record in agentkit.batch(task, items, output=out, concurrency=2):
            got.append(record)
            if len(got) == 2:
                break  # the batch stops; what finished is in the file
        return got

    early = anyio.run(stop_early)
    assert len(early) == 2
    rest = anyio.run(collect)
    written = Counter(r["id"] for r in read_results(out))  # items that finished after the break are there too
    assert len(written) == 7 and set(written.values()) == {1}
    assert {r["id"] for r in early} | {r["id"] for r in rest} <= set(written)
    assert not {r["id"] for r in early} & {r["id"] for r in rest}
    assert anyio.run(collect) == []


def test_mcp_servers_are_shared_unless_per_item(sim, tmp_path):
    pid_script = {
        "model": MODEL,
        "chunk_chars": 64,
        "replies": [{"tool_calls": [{"name": "pid", "arguments": {}}]}, "done"],
    }
    server = {"command": sys.executable, "args": [str(ROOT / "tests" / "mcp_fixtures" / "tools_server.py")]}
    with serve_in_thread(pid_script) as pid_sim:
        task = write_task(tmp_path, pid_sim.base_url, tools=[], mcp_servers={"fixture": server})
        source = write_items(tmp_path / "items.jsonl", [{"id": i, "title": str(i)} for i in range(3)])
        pids = {}
        for mode in ("shared", "per_item"):
            out = tmp_path / f"{mode}.jsonl"
            proc = batch_cli(str(task), str(source), "-o", str(out), "--mcp-servers", mode)
            assert proc.returncode == 0, proc.stderr
            pids[mode] = {r["steps"][0]["tool_calls"][0]["result"] for r in read_results(out)}
    assert len(pids["shared"]) == 1 and len(pids["per_item"]) == 3


def test_an_endpoint_restarted_mid_batch_costs_no_item(tmp_path):
    """A server that goes away mid-batch (a restart): items wait for it with backoff, not recorded as
    failed; a dead endpoint at the start fails the batch at once, before any item."""
    port = free_port()
    task = write_task(tmp_path, f"http://127.0.0.1:{port}/v1")
    source = write_items(tmp_path / "items.jsonl", [{"id": i, "title": str(i)} for i in range(30)])
    out = tmp_path / "results.jsonl"
    dead = batch_cli(str(task), str(source), "-o", str(out))
    assert dead.returncode == 1 and "cannot reach the model endpoint" in dead.stderr
    assert not out.read_text()
    env = {**os.environ, "AGENTKIT_ENDPOINT": f"http://127.0.0.1:{free_port()}/v1"}
    command = [sys.executable, "-m", "agentkit", "batch", str(task), str(source), "-o", str(out), "--json"]
    with serve_in_thread(SCRIPT, port=port) as first:
        first.set_faults(SLOW)
        proc = subprocess.Popen(
            [*command, "--concurrency", "4", "--quiet"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and out.read_text().count("\n") < 5:
            time.sleep(0.05)
    try:
        time.sleep(1.5)  # nothing listens: items wait
        assert proc.poll() is None
        with serve_in_thread(SCRIPT, port=port):
            stdout, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert json.loads(stdout)["by_status"] == {"completed": 30}
    assert len(read_results(out)) == 30


def test_the_batch_section_of_a_task_is_checked(tmp_path):
    from agentkit.config import TaskError, load_task

    path = tmp_path / "task.yaml"
    path.write_text("prompt: x\nbatch:\n  concurency: 3\n  mcp_servers: each\n")
    with pytest.raises(TaskError) as info:
        load_task(path)
    assert f"{path}:3:3: unknown key 'concurency' in batch — did you mean 'concurrency'?" in str(info.value)
    assert "`batch.mcp_servers`: expected one of shared, per_item, got 'each'" in str(info.value)
    path.write_text(
        "model: {endpoint: [http://a:1/v1, http://b:1/v1]}\nbatch: {per_endpoint: 8, retries: 2}\n"
    )
    task = load_task(path)
    assert task.model.endpoint == ["http://a:1/v1", "http://b:1/v1"] and task.batch.per_endpoint == 8
