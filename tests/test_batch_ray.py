"""``agentkit batch --ray``: a local Ray cluster started by the batch itself, one worker killed mid-way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from agentkit.testing.simulator import serve_in_thread
from tests.e2e_helpers import ROOT, free_port
from tests.test_batch import SCRIPT, SLOW, read_results, require, write_items, write_task


def _command_lines() -> list[str]:
    lines = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            lines.append(
                Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            )
        except OSError:
            continue
    return lines


def test_ray_batch_survives_a_killed_worker(tmp_path):
    """Two workers share the task's endpoint and each also uses a --local-endpoint (here the same second
    server, as a vLLM on each node would be); one worker is killed with SIGKILL mid-batch."""
    require("ray")
    with serve_in_thread(SCRIPT) as sim, serve_in_thread(SCRIPT) as local:
        sim.set_faults(SLOW)
        local.set_faults(SLOW)
        task = write_task(tmp_path, sim.base_url)
        ids = [f"item-{i}" for i in range(80)]
        source = write_items(tmp_path / "items.jsonl", [{"id": i, "title": i} for i in ids])
        out = tmp_path / "results.jsonl"
        env = {
            **os.environ,
            "AGENTKIT_ENDPOINT": f"http://127.0.0.1:{free_port()}/v1",
            "RAY_USAGE_STATS_ENABLED": "0",
            "PYTHONPATH": str(ROOT),
        }
        env.pop("RAY_ADDRESS", None)
        command = [sys.executable, "-m", "agentkit", "batch", str(task), str(source), "-o", str(out)]
        flags = ["--ray", "--workers", "2", "--concurrency", "8", "--quiet", "--json"]
        flags += ["--local-endpoint", local.base_url]
        proc = subprocess.Popen(
            [*command, *flags], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (not out.exists() or out.read_text().count("\n") < 6):
                time.sleep(0.05)
            assert proc.poll() is None, proc.communicate()
            raylets = [cmd for cmd in _command_lines() if "/raylet/raylet " in cmd]
            assert raylets and all("--node_ip_address=127.0.0.1 " in cmd for cmd in raylets)  # loopback only
            victim = read_results(out)[0]["worker"]
            os.kill(int(victim.rsplit(":", 1)[1]), signal.SIGKILL)  # kill -9 of one Ray worker process
            stdout, stderr = proc.communicate(timeout=90)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                proc.communicate(timeout=20)
        served = [sum(r["path"] == "/v1/completions" for r in s.requests()) for s in (sim, local)]
    assert proc.returncode == 0, stderr
    assert "Ray worker" in stderr and "was lost" in stderr
    summary = json.loads(stdout)
    assert summary["done"] == 80 and summary["by_status"] == {"completed": 80}
    results = read_results(out)
    counts = Counter(r["id"] for r in results)
    assert sorted(counts) == sorted(ids) and set(counts.values()) == {1}  # nothing lost, nothing twice
    workers = Counter(r["worker"] for r in results)
    assert len(workers) == 2 and workers[victim] < 80
    assert all(n > 0 for n in served), served  # the shared endpoint and the workers' local one
