"""Framework overhead per agent run, side by side in one process: agentkit vs Qwen-Agent, openai-agents, pydantic-ai.

Every framework runs the same agent: 2 model steps (a tool call, then the answer) and 1 tool call, with an
in-process scripted model that costs nothing, so what is measured is the framework. agentkit's scripted
model streams raw Qwen3 text through agentkit's own parser (it does the parsing a real run does); the
others get their native structured replies (Qwen-Agent parses its own <tool_call> text too).

    python bench/bench_overhead.py [--runs 300]

Prints CPU ms per run for each framework and ratios, then agentkit's 100 and 1000 concurrent runs.
Frameworks that are not installed are skipped (pip install qwen-agent openai-agents pydantic-ai-slim).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Callable

RAW_CALL = '<think>\nI need the sum.\n</think>\n\n<tool_call>\n{"name": "add", "arguments": {"a": 2, "b": 3}}\n</tool_call>'
ANSWER = "The sum is 5."
PROMPT = "What is 2 + 3?"


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: first
        b: second
    """
    return a + b


def agentkit_runner() -> Callable[[], object]:
    from agentkit.agent import Agent
    from agentkit.testing import ScriptedLLM
    from agentkit.tooling import FunctionTool

    llm = ScriptedLLM.from_replies([{"raw": RAW_CALL}, ANSWER], chunk_chars=64)
    agent = Agent(llm, [FunctionTool(add)])

    async def run() -> str:
        result = await agent.run(PROMPT)
        assert result.output == ANSWER, result.output
        return result.output

    return run


def qwen_agent_runner() -> Callable[[], object]:
    import logging

    from qwen_agent.agents import Assistant
    from qwen_agent.llm.base import register_llm
    from qwen_agent.llm.function_calling import BaseFnCallModel
    from qwen_agent.llm.schema import ASSISTANT, Message
    from qwen_agent.tools.base import BaseTool, register_tool

    logging.getLogger("qwen_agent_logger").setLevel(logging.WARNING)  # after the import, which sets INFO

    @register_llm("bench_scripted")
    class Scripted(BaseFnCallModel):
        def _reply(self, messages):
            done = any(m.role == "function" or "<tool_response>" in str(m.content) for m in messages)
            return [Message(ASSISTANT, ANSWER if done else RAW_CALL.split("</think>\n\n", 1)[1])]

        def _chat_stream(self, messages, delta_stream, generate_cfg):
            yield self._reply(messages)

        def _chat_no_stream(self, messages, generate_cfg):
            return self._reply(messages)

    @register_tool("add", allow_overwrite=True)
    class Add(BaseTool):
        description = "Add two integers."
        parameters = {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        }

        def call(self, params, **kwargs):
            args = json.loads(params)
            return str(add(args["a"], args["b"]))

    bot = Assistant(llm={"model_type": "bench_scripted", "model": "scripted"}, function_list=["add"])

    def run() -> str:
        out = bot.run_nonstream([{"role": "user", "content": PROMPT}])
        assert out[-1]["content"] == ANSWER, out
        return out[-1]["content"]

    return run


def openai_agents_runner() -> Callable[[], object]:
    from agents import Agent, ModelResponse, Runner, Usage, function_tool, set_tracing_disabled
    from agents.models.interface import Model
    from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

    class Scripted(Model):
        async def get_response(self, system_instructions, input, *args, **kwargs):
            done = any(isinstance(i, dict) and i.get("type") == "function_call_output" for i in input)
            if done:
                item = ResponseOutputMessage(
                    id="m",
                    type="message",
                    role="assistant",
                    status="completed",
                    content=[ResponseOutputText(type="output_text", text=ANSWER, annotations=[])],
                )
            else:
                item = ResponseFunctionToolCall(
                    type="function_call", call_id="c1", name="add", arguments='{"a": 2, "b": 3}'
                )
            return ModelResponse(output=[item], usage=Usage(), response_id=None)

        def stream_response(self, *args, **kwargs):
            raise NotImplementedError

    set_tracing_disabled(True)  # no exporter: measure the loop, not tracing
    agent = Agent(name="bench", model=Scripted(), tools=[function_tool(add)])

    async def run() -> str:
        result = await Runner.run(agent, PROMPT)
        assert result.final_output == ANSWER, result.final_output
        return result.final_output

    return run


def pydantic_ai_runner() -> Callable[[], object]:
    from pydantic_ai import Agent
    from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart, ToolReturnPart
    from pydantic_ai.models.function import FunctionModel

    def model(messages, info):
        done = any(isinstance(p, ToolReturnPart) for m in messages for p in getattr(m, "parts", []))
        if done:
            return ModelResponse(parts=[TextPart(ANSWER)])
        return ModelResponse(parts=[ToolCallPart("add", {"a": 2, "b": 3})])

    agent = Agent(FunctionModel(model), tools=[add])

    async def run() -> str:
        result = await agent.run(PROMPT)
        assert result.output == ANSWER, result.output
        return result.output

    return run


def cpu_ms_per_run(run: Callable[[], object], runs: int) -> float:
    is_async = asyncio.iscoroutinefunction(run)

    async def many() -> None:
        for _ in range(runs):
            await run()

    def many_sync() -> None:
        for _ in range(runs):
            run()

    (lambda: asyncio.run(many()) if is_async else many_sync())()  # warm-up
    started = time.process_time()
    if is_async:
        asyncio.run(many())
    else:
        many_sync()
    return (time.process_time() - started) * 1000 / runs


def concurrent(run: Callable[[], object], n: int) -> tuple[float, int]:
    async def main() -> int:
        results = await asyncio.gather(*(run() for _ in range(n)), return_exceptions=True)
        return sum(isinstance(r, BaseException) for r in results)

    started = time.perf_counter()
    errors = asyncio.run(main())
    return time.perf_counter() - started, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    builders = {
        "agentkit": agentkit_runner,
        "qwen-agent": qwen_agent_runner,
        "openai-agents": openai_agents_runner,
        "pydantic-ai": pydantic_ai_runner,
    }
    figures: dict[str, float] = {}
    for name, build in builders.items():
        try:
            run = build()
        except ImportError as exc:
            print(f"{name:14s} skipped (not installed: {exc.name})")
            continue
        figures[name] = cpu_ms_per_run(run, args.runs)
    base = figures.get("agentkit")
    print(f"\nCPU time per agent run (2 model steps, 1 tool call), {args.runs} runs each:")
    for name, ms in figures.items():
        ratio = f"{ms / base:5.1f}x agentkit" if base and name != "agentkit" else ""
        print(f"  {name:14s} {ms:8.3f} ms   {ratio}")
    if base is not None:
        print(f"  goal: agentkit <= 2 ms per run: {'met' if base <= 2 else 'NOT met'}")
        run = agentkit_runner()
        for n, goal in ((100, 0.2), (1000, None)):
            wall, errors = concurrent(run, n)
            verdict = f" (goal <= {goal} s: {'met' if wall <= goal else 'NOT met'})" if goal else ""
            print(f"  agentkit {n:5d} concurrent runs: {wall:6.3f} s wall, {errors} errors{verdict}")


if __name__ == "__main__":
    main()
