"""Step wall time with tools started as their call streams vs after the model's turn, side by side.

A scripted turn of 2-4 tool calls streams from the simulator at a vLLM-like pace (4-character chunks,
one every ``--chunk-ms``, about 65 tokens/s by default) and the tools take 0.2-1 s each. The step's
wall time runs from the step's start to the moment the next model step can start (every result in).

    python bench/bench_early_tools.py [--chunk-ms 15] [--mode native|server]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from agentkit.agent import Agent
from agentkit.agent.events import StepStarted
from agentkit.llm.http import Endpoint
from agentkit.llm.native import NativeBackend
from agentkit.llm.server import ServerBackend
from agentkit.testing import run_simulator
from agentkit.tooling import tool

TURNS = {  # tool durations in seconds, one per call, in call order
    "2 calls": [0.6, 0.3],
    "3 calls": [1.0, 0.2, 0.5],
    "4 calls": [0.4, 0.8, 0.2, 0.6],
}


@tool
async def work(seconds: float, label: str) -> str:
    """Do some work that takes a while.

    Args:
        seconds: how long it takes
        label: what it is
    """
    await asyncio.sleep(seconds)
    return f"{label} done"


def raw_turn(durations: list[float]) -> str:
    calls = "\n".join(
        '<tool_call>\n{"name": "work", "arguments": '
        + json.dumps({"seconds": d, "label": f"job {i + 1}"})
        + "}\n</tool_call>"
        for i, d in enumerate(durations)
    )
    return f"<think>\nI will run the {len(durations)} jobs.\n</think>\n\nRunning them now.\n{calls}"


async def step_time(durations: list[float], *, early: bool, chunk_s: float, backend: type) -> float:
    script = {
        "model": "qwen3-sim",
        "chunk_chars": 4,
        "replies": [{"raw": raw_turn(durations)}, "All done."],
        "faults": [{"chunk_delay_s": chunk_s, "times": "always"}],
    }
    marks: list[float] = []

    def on_event(event: object) -> None:
        if isinstance(event, StepStarted):
            marks.append(time.perf_counter())

    async with run_simulator(script) as sim:
        llm = backend(Endpoint(sim.base_url), "qwen3-sim")
        try:
            result = await Agent(llm, [work], early_tools=early).run("go", on_event=on_event)
        finally:
            await llm.aclose()
    assert result.status == "completed", result.error
    return marks[1] - marks[0]


async def main(chunk_ms: float, mode: str) -> None:
    backend = NativeBackend if mode == "native" else ServerBackend
    print(f"{mode} mode, a chunk of 4 characters every {chunk_ms:g} ms; step wall time (s)")
    print(f"  {'turn':10s} {'tools':>16s} {'after the turn':>15s} {'as they stream':>15s} {'saved':>7s}")
    for name, durations in TURNS.items():
        late = await step_time(durations, early=False, chunk_s=chunk_ms / 1000, backend=backend)
        early = await step_time(durations, early=True, chunk_s=chunk_ms / 1000, backend=backend)
        tools = "+".join(f"{d:g}" for d in durations)
        print(f"  {name:10s} {tools:>16s} {late:15.2f} {early:15.2f} {1 - early / late:6.0%}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk-ms", type=float, default=15.0)
    parser.add_argument("--mode", choices=["native", "server"], default="native")
    args = parser.parse_args()
    asyncio.run(main(args.chunk_ms, args.mode))
