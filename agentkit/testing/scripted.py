"""``ScriptedLLM``: an in-process model for tests and benchmarks, implementing the ``LLM`` protocol.

It answers from the same scripts as the HTTP simulator (``agentkit.testing.script``), picks replies the
same stateless way, writes each reply as the raw text Qwen3 would generate for the request's thinking
switch and feeds it through the real streaming ``OutputParser`` in small chunks::

    llm = ScriptedLLM.from_replies([
        '<think>\\nNeed the weather.\\n</think>\\n\\n<tool_call>\\n{"name": "get_weather", "arguments": {"city": "Paris"}}\\n</tool_call>',
        "It is sunny in Paris.",
    ])
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from agentkit.llm.native import EARLY_STOP
from agentkit.llm.types import ModelEvent, ModelRequest, StepFinished, StepOutput, Usage, turn_finish_reason
from agentkit.qwen3.parser import OutputParser
from agentkit.qwen3.template import render_prompt, step_thinks
from agentkit.qwen3.tokens import count_tokens, tokenize
from agentkit.testing import replay
from agentkit.testing.script import Script, load_script
from agentkit.testing.simulator.generation import split_chunks


class ScriptedLLM:
    """A scripted Qwen3 behind the ``LLM`` protocol: no HTTP, real parser, approximate token counts."""

    def __init__(self, script: Script | dict[str, Any] | list[Any] | str | Path) -> None:
        self.script = load_script(script)
        self.model = self.script.model
        self.requests: list[ModelRequest] = []
        """Every request streamed, in order (for test assertions)."""

    @classmethod
    def from_replies(cls, replies: list[Any], **options: Any) -> ScriptedLLM:
        """A model answering ``replies`` in order after each user query; ``options`` are other script keys."""
        return cls({**options, "replies": list(replies)})

    def thinks(self, requested: bool) -> bool:
        """Whether a step really thinks: Thinking-2507 always, Instruct-2507 and Coder never."""
        return step_thinks(self.script.variant, requested)

    def raw_output(self, request: ModelRequest) -> tuple[str, str]:
        """The raw text this request gets and its finish reason (``stop`` or ``length``)."""
        variant = self.script.variant
        query, step = replay.locate_in_messages(request.messages)
        reply = replay.pick_reply(self.script, query, step)
        suffix = replay.generation_suffix(variant, request.thinking)
        output = replay.output_for(reply, variant, suffix)
        budget = request.thinking_budget
        if budget is not None and self.thinks(request.thinking):
            tokens = tokenize(output)
            if len(tokens) > budget and "</think>" not in "".join(tokens[:budget]):
                head = "".join(tokens[:budget]) + EARLY_STOP
                output = head + replay.output_for(reply, variant, suffix + head)
        if request.max_tokens is not None:
            tokens = tokenize(output)
            if len(tokens) > request.max_tokens:
                return "".join(tokens[: request.max_tokens]), "length"
        return output, "stop"

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        self.requests.append(request)
        thinking = self.thinks(request.thinking)
        output, finish = self.raw_output(request)
        tools = request.tools or None
        parser = OutputParser(tools=tools, tool_format=self.script.tool_format, thinking=thinking)
        for piece in split_chunks(output, self.script.chunk_chars, self.script.chunk_seed):
            for event in parser.feed(piece):
                yield event
        for event in parser.close():
            yield event
        prompt = render_prompt(request.messages, tools, enable_thinking=thinking, variant=self.script.variant)
        usage = Usage(prompt_tokens=count_tokens(prompt), completion_tokens=count_tokens(output))
        parsed = parser.result()
        yield StepFinished(
            StepOutput(
                parsed=parsed,
                finish_reason=turn_finish_reason(finish, parsed),
                usage=usage,
                thinking=thinking,
                prompt=prompt,
                raw_text=output,
            )
        )

    async def aclose(self) -> None:
        return None
