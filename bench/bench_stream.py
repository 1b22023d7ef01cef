"""Client CPU per streamed chunk, side by side in one run: a raw httpx reader, agentkit (native and server
mode, everything a real run does: parsing, events, usage; trace off) and openai-agents.

The simulator runs in its own process on loopback and streams one step of ~1,000 four-character chunks
(vLLM streams about one token per event); this process measures only its own CPU time.

    python bench/bench_stream.py [--chunks 1000] [--runs 15] [--profile]

Prints µs per chunk (median of the runs) and each reader's ratio to the raw reader of the same endpoint.
openai-agents is skipped when not installed (pip install openai-agents). ``--profile`` prints where
agentkit's native-mode time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

MODEL = "qwen3-sim"
USER = [{"role": "user", "content": "Tell me about streaming."}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reply_text(chunks: int) -> str:
    """About ``chunks * 4`` characters of Qwen3 output: reasoning, then an answer."""
    words = "the quick brown fox jumps over a lazy dog while streams flow ".split()
    body = " ".join(words[i % len(words)] for i in range(chunks * 4 // 5))
    half = len(body) // 2
    return f"<think>\n{body[:half]}\n</think>\n\n{body[half:]}"


def start_simulator(chunks: int) -> tuple[subprocess.Popen, str]:
    script = {"model": MODEL, "chunk_chars": 4, "replies": [{"raw": reply_text(chunks)}] * 1000}
    path = Path(tempfile.mkdtemp()) / "script.json"
    path.write_text(json.dumps(script))
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentkit.testing.simulator", "--script", str(path), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, base
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the simulator did not start")


def raw_reader(base: str, path: str, body: dict) -> Callable[[], Awaitable[int]]:
    import httpx

    client = httpx.AsyncClient(base_url=base, timeout=60)

    async def run() -> int:
        n = 0
        async with client.stream("POST", path, json=body) as response:
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    json.loads(data)
                    n += 1
        return n

    return run


def agentkit_reader(base: str, mode: str) -> Callable[[], Awaitable[int]]:
    from agentkit.llm.http import Endpoint
    from agentkit.llm.native import NativeBackend
    from agentkit.llm.server import ServerBackend
    from agentkit.llm.types import ModelRequest, StepFinished

    backend = (NativeBackend if mode == "native" else ServerBackend)(Endpoint(base), MODEL)

    async def run() -> int:
        n = 0
        async for event in backend.stream(ModelRequest(list(USER))):
            n += 1
            if isinstance(event, StepFinished):
                assert event.output.parsed.content, "no answer parsed"
        return n

    return run


def agentkit_agent_reader(base: str, mode: str) -> Callable[[], Awaitable[int]]:
    """A whole agent run (one step, no tool), every event handed to an ``on_event`` handler."""
    from agentkit.agent import Agent
    from agentkit.llm.http import Endpoint
    from agentkit.llm.native import NativeBackend
    from agentkit.llm.server import ServerBackend

    backend = (NativeBackend if mode == "native" else ServerBackend)(Endpoint(base), MODEL)
    agent = Agent(backend)
    seen = [0]

    def on_event(event: object) -> None:
        seen[0] += 1

    async def run() -> int:
        result = await agent.run(USER[0]["content"], on_event=on_event)
        assert result.status == "completed", result.error
        return seen[0]

    return run


def openai_agents_reader(base: str) -> Callable[[], Awaitable[int]] | None:
    try:
        from agents import Agent, OpenAIChatCompletionsModel, Runner, set_tracing_disabled
        from openai import AsyncOpenAI
    except ImportError:
        return None
    set_tracing_disabled(True)
    client = AsyncOpenAI(base_url=base, api_key="EMPTY")
    agent = Agent(name="bench", instructions=None, model=OpenAIChatCompletionsModel(MODEL, client))

    async def run() -> int:
        result = Runner.run_streamed(agent, USER[0]["content"])
        n = 0
        async for _event in result.stream_events():
            n += 1
        return n

    return run


async def cpu_per_run(run: Callable[[], Awaitable[int]]) -> float:
    await run()  # warm: connection, imports, caches
    start = time.process_time()
    await run()
    return time.process_time() - start


async def measure(readers: dict[str, Callable[[], Awaitable[int]]], runs: int) -> dict[str, float]:
    """Median CPU seconds per run of each reader, the readers interleaved run by run."""
    times: dict[str, list[float]] = {name: [] for name in readers}
    for _ in range(runs):
        for name, run in readers.items():
            times[name].append(await cpu_per_run(run))
    return {name: statistics.median(values) for name, values in times.items()}


def profile(base: str) -> None:
    import cProfile
    import pstats

    run = agentkit_agent_reader(base, "native")
    asyncio.run(run())
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(run())
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    proc, base = start_simulator(args.chunks)
    try:
        if args.profile:
            profile(base)
            return
        prompt = "<|im_start|>user\nTell me about streaming.<|im_end|>\n<|im_start|>assistant\n"
        completions = {
            "model": MODEL,
            "prompt": prompt,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        chat = {"model": MODEL, "messages": USER, "stream": True, "stream_options": {"include_usage": True}}
        readers: dict[str, Callable[[], Awaitable[int]]] = {
            "raw httpx /completions": raw_reader(base, "/completions", completions),
            "agentkit native": agentkit_reader(base, "native"),
            "agentkit native, Agent.run": agentkit_agent_reader(base, "native"),
            "raw httpx /chat/completions": raw_reader(base, "/chat/completions", chat),
            "agentkit server": agentkit_reader(base, "server"),
            "agentkit server, Agent.run": agentkit_agent_reader(base, "server"),
        }
        other = openai_agents_reader(base)
        if other is not None:
            readers["openai-agents"] = other
        chunks = asyncio.run(raw_reader(base, "/completions", completions)())
        results = asyncio.run(measure(readers, args.runs))
        raw = {
            "agentkit native": "raw httpx /completions",
            "agentkit native, Agent.run": "raw httpx /completions",
            "agentkit server": "raw httpx /chat/completions",
            "agentkit server, Agent.run": "raw httpx /chat/completions",
            "openai-agents": "raw httpx /chat/completions",
        }
        print(
            f"one step of {chunks} streamed chunks ({args.chunks} asked), client CPU, median of {args.runs} runs"
        )
        for name, seconds in results.items():
            per_chunk = seconds / chunks * 1e6
            base_name = raw.get(name)
            ratio = f"  {seconds / results[base_name]:.2f}x {base_name}" if base_name else ""
            print(f"  {name:28s} {per_chunk:7.1f} µs/chunk{ratio}")
        if other is None:
            print("  openai-agents                skipped (pip install openai-agents)")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
