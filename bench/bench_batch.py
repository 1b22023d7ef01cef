"""Batch runs side by side in one run: ``agentkit.batch`` against the floor, ``asyncio.gather`` of
``Agent.run``, and the same batch on a local Ray cluster of 2 workers.

Every item is the same agent task (2 model steps, 1 tool call) against the Qwen3 simulator, which runs in
a process of its own so that its CPU is not the client's. Each mode runs in a fresh process that
measures its own CPU (user + system) and peak memory; Ray's workers and its own processes are measured
from /proc while they run.

    python bench/bench_batch.py [--items 10000] [--concurrency 1000] [--no-ray]

Prints items/s, client CPU ms per item, peak memory per run in flight, the ratio of the batch's CPU per
item to the floor's (goal <= 1.1), and the CPU per item Ray adds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = {
    "model": "Qwen/Qwen3-8B",
    "chunk_chars": 256,
    "replies": [
        {"tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 3}}]},
        "The sum is 5.",
    ],
}
TOOL = '''
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: first
        b: second
    """
    return a + b
'''


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class RayCPU:
    """Samples the CPU time of Ray's processes (workers, raylet, GCS...) from /proc while they live."""

    def __init__(self) -> None:
        self.seen: dict[int, tuple[str, float]] = {}
        self.stop = threading.Event()
        self.tick = os.sysconf("SC_CLK_TCK")
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(0.2):
            self.sample()

    def sample(self) -> None:
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if cmd.startswith("ray::") or "/site-packages/ray/" in cmd:
                kind = "workers" if cmd.startswith("ray::BatchWorker") else "ray"
                self.seen[int(pid)] = (kind, (int(stat[11]) + int(stat[12])) / self.tick)

    def totals(self) -> dict[str, float]:
        self.stop.set()
        out = {"workers": 0.0, "ray": 0.0}
        for kind, cpu in self.seen.values():
            out[kind] += cpu
        return out


def _task(folder: Path, endpoint: str) -> Path:
    (folder / "bench_tools.py").write_text(TOOL)
    path = folder / "task.yaml"
    path.write_text(
        json.dumps({"model": {"endpoint": endpoint, "name": SCRIPT["model"]}, "tools": ["bench_tools:add"]})
    )
    return path


async def _floor(task_path: Path, prompts: list[str], concurrency: int) -> dict[str, Any]:
    from agentkit.config import load_task
    from agentkit.runtime import open_agent

    async with open_agent(load_task(task_path)) as agent:
        gate = asyncio.Semaphore(concurrency)

        async def one(prompt: str) -> Any:
            async with gate:
                return await agent.run(prompt)

        base, cpu, start = _rss_kib(), _cpu_s(), time.perf_counter()
        results = await asyncio.gather(*(one(p) for p in prompts))
        wall, cpu = time.perf_counter() - start, _cpu_s() - cpu
    assert all(r.status == "completed" for r in results), {r.error for r in results}
    return {"wall_s": wall, "cpu_s": cpu, "base_kib": base}


async def _batch(
    task_path: Path, prompts: list[str], concurrency: int, ray: bool, out: Path
) -> dict[str, Any]:
    import agentkit

    items = [{"id": i, "prompt": p} for i, p in enumerate(prompts)]
    options: dict[str, Any] = {"output": out, "concurrency": concurrency}
    if ray:
        options.update(ray=True, workers=2)
    run = agentkit.batch(task_path, items, **options)
    base, cpu, start = _rss_kib(), _cpu_s(), time.perf_counter()
    statuses = [r["status"] async for r in run]
    wall, cpu = time.perf_counter() - start, _cpu_s() - cpu
    assert statuses.count("completed") == len(prompts), set(statuses)
    assert sum(1 for _ in out.open()) == len(prompts)
    return {"wall_s": wall, "cpu_s": cpu, "base_kib": base}


def child(mode: str, endpoint: str, items: int, concurrency: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="agentkit-bench-batch-"))
    task = _task(folder, endpoint)
    sys.path.insert(0, str(folder))
    prompts = [f"What is 2 + 3? (item {i})" for i in range(items)]
    ray_cpu = RayCPU() if mode == "ray" else None
    if mode == "floor":
        stats = asyncio.run(_floor(task, prompts, concurrency))
    else:
        stats = asyncio.run(_batch(task, prompts, concurrency, mode == "ray", folder / "results.jsonl"))
    stats["peak_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if ray_cpu is not None:
        stats.update(ray_cpu.totals())
    print(json.dumps(stats))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_mode(mode: str, sim_url: str, args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    httpx.post(f"{sim_url}/_sim/reset")  # the simulator forgets the last mode's requests and cache
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}
    command = [sys.executable, __file__, "--child", mode, "--endpoint", f"{sim_url}/v1"]
    command += ["--items", str(args.items), "--concurrency", str(args.concurrency)]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    if proc.returncode:
        raise SystemExit(f"{mode} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=1000)
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray cluster run")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.endpoint, args.items, args.concurrency)
        return
    folder = Path(tempfile.mkdtemp(prefix="agentkit-bench-sim-"))
    (folder / "script.json").write_text(json.dumps(SCRIPT))
    port = _free_port()
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentkit.testing.simulator",
            "--script",
            str(folder / "script.json"),
            "--port",
            str(port),
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        for _ in range(200):
            try:
                httpx.get(f"{url}/health")
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        modes = ["floor", "batch"] + ([] if args.no_ray else ["ray"])
        results = {mode: _run_mode(mode, url, args) for mode in modes}
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    n, c = args.items, args.concurrency
    print(f"{n} items (2 model steps, 1 tool call each), concurrency {c}, simulator in its own process\n")
    print(f"{'mode':<34} {'items/s':>8} {'client CPU ms/item':>19} {'peak KiB/run in flight':>23}")
    labels = {
        "floor": "asyncio.gather of Agent.run (floor)",
        "batch": "agentkit.batch, one process",
        "ray": "agentkit.batch, Ray, 2 workers",
    }
    for mode, r in results.items():
        cpu = r["cpu_s"] + r.get("workers", 0.0)
        mem = (r["peak_kib"] - r["base_kib"]) / min(c, n)
        print(f"{labels[mode]:<34} {n / r['wall_s']:>8.1f} {cpu * 1000 / n:>19.3f} {mem:>23.1f}")
    floor_cpu, batch_cpu = results["floor"]["cpu_s"] / n, results["batch"]["cpu_s"] / n
    print(f"\nbatch / floor CPU per item: {batch_cpu / floor_cpu:.3f} (goal <= 1.1)")
    if "ray" in results:
        r = results["ray"]
        total = (r["cpu_s"] + r["workers"] + r["ray"]) / n
        print(
            f"Ray: driver {r['cpu_s'] * 1000 / n:.3f} + workers {r['workers'] * 1000 / n:.3f} + Ray's own processes "
            f"{r['ray'] * 1000 / n:.3f} ms/item = {total * 1000:.3f}; overhead over one process "
            f"{(total - batch_cpu) * 1000:+.3f} ms/item"
        )
        print("(Ray workers' peak memory is not in the column above: it is the driver's)")


if __name__ == "__main__":
    main()
