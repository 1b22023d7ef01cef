"""The agent loop: model step, tool calls (concurrent, bounded, in call order), repeat. No HTTP, no MCP."""

from __future__ import annotations

import inspect
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import aclosing
from typing import Any

import anyio

from agentkit.agent.events import (
    AgentEvent,
    ContextCompacted,
    RunFinished,
    StepEnded,
    StepStarted,
    ToolFinished,
    ToolProgress,
    ToolRunning,
)
from agentkit.agent.history import HistoryFitter
from agentkit.agent.records import Progress, RunResult, Status, StepRecord, ToolCallRecord
from agentkit.agent.thinking import ThinkingMode, step_thinks
from agentkit.agent.tool_runs import StepTools, tool_tasks
from agentkit.context import ContextPolicy, TokenCounter
from agentkit.llm.errors import LLMError
from agentkit.llm.types import (
    LLM,
    NON_THINKING_SAMPLING,
    THINKING_SAMPLING,
    ModelRequest,
    Retrying,
    StepFinished,
    StepOutput,
)
from agentkit.qwen3.types import InvalidToolCall, ParsedOutput, ToolCall, ToolCallComplete
from agentkit.tooling.base import Tool, ToolContext, ToolResult
from agentkit.tooling.policy import ToolPolicy
from agentkit.tooling.toolset import ToolSet

EventHandler = Callable[[AgentEvent], Any]
Approver = Callable[[str, dict[str, Any]], "bool | Awaitable[bool]"]
_DEFAULT_POLICY = ToolPolicy()


def _own_policy(tool: Any) -> ToolPolicy:
    """For a tool the task gave no policy (a tool object passed in): its own ``default_approval``."""
    approval = getattr(tool, "default_approval", "allow")
    return ToolPolicy(approval=approval) if approval in ("ask", "deny") else _DEFAULT_POLICY


def _emitter(on_event: EventHandler | None) -> Callable[[AgentEvent], Awaitable[None]] | None:
    if on_event is None:
        return None
    if inspect.iscoroutinefunction(on_event) or inspect.iscoroutinefunction(type(on_event).__call__):
        return on_event  # type: ignore[return-value]

    async def emit(event: AgentEvent) -> None:
        on_event(event)

    emit.sync = on_event  # type: ignore[attr-defined]  # the hot path calls it directly, no coroutine per event
    return emit


def assistant_message(parsed: ParsedOutput) -> dict[str, Any]:
    """The OpenAI-format assistant message for a parsed turn; invalid calls kept as the model wrote them."""
    message: dict[str, Any] = {"role": "assistant", "content": parsed.content}
    if parsed.reasoning_content is not None:
        message["reasoning_content"] = parsed.reasoning_content
    calls = parsed.all_calls()
    if calls:
        message["tool_calls"] = [c.to_openai() for c in calls]
    return message


def _cut_inside_call(out: StepOutput) -> bool:
    """Did generation stop at max_tokens inside a tool call (which must then not run half-parsed)?"""
    if out.finish_reason != "length":
        return False
    if out.parsed.tool_call_truncated or out.raw_text is None:
        return True
    text = out.raw_text
    return text.rfind("<tool_call>") > text.rfind("</tool_call>") or text.rfind("<function=") > text.rfind(
        "</function>"
    )


def _cut_error(ran: int) -> str:
    done = (
        f"; the {ran} call(s) that closed before it ran" if ran else ", so no call of this step was executed"
    )
    return f"the model's output hit max_tokens inside a tool call{done}; raise model.max_tokens"


def _tool_messages(
    calls: list[ToolCall | InvalidToolCall], results: list[ToolResult]
) -> list[dict[str, Any]]:
    return [
        {"role": "tool", "tool_call_id": call.id, "name": call.name or "", "content": result.text}
        for call, result in zip(calls, results)
    ]


def cap_output(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[output truncated: {len(text)} characters, the first {limit} shown]"


class Agent:
    """Drives one model through tool-using steps. Reusable and safe for many concurrent ``run`` calls."""

    def __init__(
        self,
        llm: LLM,
        tools: ToolSet | Iterable[Tool] = (),
        *,
        system: str | None = None,
        thinking: ThinkingMode = "auto",
        thinking_budget: int | None = None,
        max_steps: int = 10,
        policies: Mapping[str, ToolPolicy] | None = None,
        tool_timeout: float = 60.0,
        max_tool_output: int = 20_000,
        parallel_tools: int = 8,
        sampling: Mapping[str, Any] | None = None,
        max_tokens: int | None = None,
        approve: Approver | None = None,
        early_tools: bool = True,
        context: ContextPolicy | None = None,
        count_tokens: TokenCounter | None = None,
    ):
        self.llm = llm
        self.tools = tools if isinstance(tools, ToolSet) else ToolSet(tools)
        self.system = system
        self.thinking = thinking
        self.thinking_budget = thinking_budget
        self.max_steps = max_steps
        self.policies = dict(policies or {})
        self.tool_timeout = tool_timeout
        self.max_tool_output = max_tool_output
        self.sampling = dict(sampling or {})
        self.max_tokens = max_tokens
        self.approve = approve
        self.simulation: str | None = None
        """Set by ``open_agent`` when the model is agentkit's simulator: the notice saying so."""
        self.early_tools = early_tools
        """Start each tool call the moment it has streamed (False: after the model's turn ends)."""
        self.context = context
        """How a long run stays inside the context window (None: no policy, an overlong prompt fails)."""
        self.count_tokens = count_tokens
        """Exact prompt tokens (the model's tokenizer or the server's ``/tokenize``); None: approximate."""
        self._limiter = anyio.CapacityLimiter(parallel_tools)

    def initial_messages(self, prompt: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
        messages = (
            [{"role": "user", "content": prompt}] if isinstance(prompt, str) else [dict(m) for m in prompt]
        )
        if self.system and not (messages and messages[0].get("role") == "system"):
            messages.insert(0, {"role": "system", "content": self.system})
        return messages

    async def run(
        self,
        prompt: str | list[dict[str, Any]],
        *,
        on_event: EventHandler | None = None,
        progress: Progress | None = None,
    ) -> RunResult:
        """Run until the model answers without calling a tool, or ``max_steps``. Errors end in ``status``.

        ``progress`` is updated after every finished step (see ``Progress.interrupted``).
        """
        emit = _emitter(on_event)
        started = time.perf_counter()
        messages = self.initial_messages(prompt)
        if progress is not None:
            progress.messages, progress.steps = list(messages), []
        steps: list[StepRecord] = []
        status: Status = "max_steps"
        output, error = "", None
        previous_results: list[tuple[str, bool]] | None = None
        previous: StepOutput | None = None
        run_id = uuid.uuid4().hex[:12]
        history = HistoryFitter.for_agent(
            self.llm, self.context, self.count_tokens, self.sampling, self.max_tokens
        )
        try:
            async with tool_tasks() as group:  # the run's tool calls, started as they stream
                for step in range(self.max_steps):
                    thinking = step_thinks(self.thinking, previous_results, self.policies)
                    compaction = (
                        await history.fit(messages, self.tools.schemas(), thinking) if history else None
                    )
                    if compaction is not None and emit:
                        await emit(ContextCompacted(step, compaction))
                    tools = StepTools(group, self._limiter, self._tool_runner(step, emit))
                    record, previous = await self._model_step(
                        step,
                        messages,
                        thinking,
                        previous,
                        run_id,
                        emit,
                        tools.start if self.early_tools else None,
                    )
                    record.context = compaction.to_dict() if compaction else None
                    parsed = previous.parsed
                    calls = tools.reconcile(parsed)
                    messages.append(assistant_message(parsed))
                    steps.append(record)
                    if calls and _cut_inside_call(previous):
                        ran, results, record.tool_calls = await tools.wait_started()
                        messages.extend(_tool_messages(ran, results))
                        status, error = "length", _cut_error(len(ran))
                        if progress is not None:
                            progress.messages, progress.steps = list(messages), list(steps)
                        if emit:
                            await emit(StepEnded(step, record))
                        break
                    if not calls:
                        output = parsed.content or ""
                        status, error = self._final_status(previous)
                    if calls:
                        results, record.tool_calls = await tools.results(calls)
                        messages.extend(_tool_messages(calls, results))
                        previous_results = [
                            (call.name or "", result.is_error) for call, result in zip(calls, results)
                        ]
                    if progress is not None:
                        progress.messages, progress.steps = list(messages), list(steps)
                    if emit:
                        await emit(StepEnded(step, record))
                    if not calls:
                        break
                else:
                    error = (
                        f"stopped after max_steps={self.max_steps} steps without a final answer; "
                        "raise max_steps or make the task smaller"
                    )
        except LLMError as exc:
            status, error = "error", str(exc)
        result = RunResult(output, status, messages, steps, error, time.perf_counter() - started)
        if emit:
            await emit(RunFinished(result))
        return result

    @staticmethod
    def _final_status(out: StepOutput) -> tuple[Status, str | None]:
        if out.parsed.reasoning_truncated:
            return (
                "length",
                "the model's reasoning was cut off before </think> (raise max_tokens or set thinking_budget)",
            )
        if out.finish_reason == "length":
            return "length", "the answer was cut at max_tokens; raise model.max_tokens"
        return "completed", None

    async def _model_step(
        self,
        step: int,
        messages: list[dict[str, Any]],
        thinking: bool,
        previous: StepOutput | None,
        run_id: str,
        emit: Callable[[AgentEvent], Awaitable[None]] | None,
        on_call: Callable[[ToolCall], None] | None = None,
    ) -> tuple[StepRecord, StepOutput]:
        """One model step; ``on_call`` gets each call the moment the stream reports it complete and valid."""
        if emit:
            await emit(StepStarted(step, thinking))
        started = time.perf_counter()
        request = ModelRequest(
            messages=messages,
            tools=self.tools.schemas(),
            thinking=thinking,
            sampling={**(THINKING_SAMPLING if thinking else NON_THINKING_SAMPLING), **self.sampling},
            max_tokens=self.max_tokens,
            thinking_budget=self.thinking_budget,
            previous=previous,
            affinity=run_id,
        )
        output: StepOutput | None = None
        retries = 0
        direct = getattr(emit, "sync", None)
        async with aclosing(self.llm.stream(request)) as events:
            async for event in events:  # once per streamed chunk: kept lean
                kind = type(event)
                if kind is StepFinished:
                    output = event.output
                elif kind is Retrying:
                    retries += 1
                if direct is not None:
                    direct(event)
                elif emit is not None:
                    await emit(event)
                if kind is ToolCallComplete and on_call is not None:
                    on_call(event.call)
        if output is None:
            raise LLMError("the model stream ended without finishing the step")
        record = StepRecord(
            step=step,
            thinking=output.thinking,
            finish_reason=output.finish_reason,
            usage=output.usage.to_dict(),
            duration_s=time.perf_counter() - started,
            reasoning_truncated=output.parsed.reasoning_truncated,
            retries=retries,
        )
        return record, output

    def _tool_runner(
        self, step: int, emit: Callable[[AgentEvent], Awaitable[None]] | None
    ) -> Callable[[ToolCall | InvalidToolCall, ToolCallRecord], Awaitable[ToolResult]]:
        async def run(call: ToolCall | InvalidToolCall, record: ToolCallRecord) -> ToolResult:
            return await self._call_tool(step, call, record, emit)

        return run

    async def _call_tool(
        self,
        step: int,
        call: ToolCall | InvalidToolCall,
        record: ToolCallRecord,
        emit: Callable[[AgentEvent], Awaitable[None]] | None,
    ) -> ToolResult:
        result = await self._checked_call(step, call, record, emit)
        result = ToolResult(
            cap_output(result.text, self.max_tool_output),
            result.is_error,
            result.structured,
            result.attachments,
        )
        record.valid = isinstance(call, ToolCall)
        record.result, record.is_error = result.text, result.is_error
        record.attachments = result.attachments
        if emit:
            await emit(ToolFinished(step, call.id, call.name or "", result, record.duration_s))
        return result

    async def _checked_call(
        self,
        step: int,
        call: ToolCall | InvalidToolCall,
        record: ToolCallRecord,
        emit: Callable[[AgentEvent], Awaitable[None]] | None,
    ) -> ToolResult:
        """Run the call if it is valid, known and allowed; its record times the tool alone (not approval)."""
        if isinstance(call, InvalidToolCall):
            return ToolResult.error(f"Tool call not executed: {call.error}")
        tool = self.tools.get(call.name)
        if tool is None:
            hint = self.tools.suggest(call.name)
            return ToolResult.error(
                f"Unknown tool {call.name!r}."
                + (f" Did you mean {hint!r}?" if hint else "")
                + f" Available: {', '.join(self.tools.names()) or 'none'}."
            )
        policy = self.policies.get(call.name) or _own_policy(tool)
        if policy.approval == "deny":
            return ToolResult.error(
                f"The tool {call.name!r} is denied by this task's settings (approval: deny)."
            )
        if policy.approval == "ask":
            denial = await self._ask(call)
            if denial:
                return ToolResult.error(denial)
        if emit:
            await emit(ToolRunning(step, call.id, call.name, call.arguments))

        async def progress(value: float, total: float | None, message: str | None) -> None:
            if emit:
                await emit(ToolProgress(call.id, call.name, value, total, message))

        timeout = policy.timeout or getattr(tool, "timeout", None) or self.tool_timeout  # a tool's own limit
        started = time.perf_counter()
        try:
            with anyio.fail_after(timeout):
                return await tool.call(call.arguments, ToolContext(call.id, progress))
        except TimeoutError:
            return ToolResult.error(
                f"The tool {call.name!r} timed out after {timeout:g} s and was cancelled."
            )
        except Exception as exc:
            return ToolResult.error(f"The tool {call.name!r} failed: {type(exc).__name__}: {exc}")
        finally:
            record.duration_s = time.perf_counter() - started

    async def _ask(self, call: ToolCall) -> str | None:
        """Ask the approver; returns why the call is refused, or None when approved."""
        if self.approve is None:
            return (
                f"The tool {call.name!r} needs approval (approval: ask) but nobody can approve it in this run; "
                "run interactively (the CLI asks on a terminal; --yes approves all) or set approval: allow for it."
            )
        try:
            answer = self.approve(call.name, call.arguments)
            if inspect.isawaitable(answer):
                answer = await answer
        except Exception as exc:  # a broken approver refuses; it never ends the run
            return f"The call to {call.name!r} was not approved: the approval hook failed ({type(exc).__name__}: {exc})."
        return None if answer else f"The user declined the call to {call.name!r}."
