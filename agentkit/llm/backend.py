"""What the HTTP backends share: model discovery, the context-length check, bounded retries."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio

from agentkit.llm.balancer import EndpointPool
from agentkit.llm.errors import ContextOverflow, LLMError
from agentkit.llm.http import Endpoint, RetryableError, backoff_delay
from agentkit.llm.types import ModelEvent, ModelRequest, Retrying, StreamContinued, StreamRestarted
from agentkit.qwen3.template import detect_variant, step_thinks, tool_format_for
from agentkit.qwen3.tokens import count_tokens

log = logging.getLogger("agentkit.llm")


class HTTPBackend:
    """Base of the native (``/v1/completions``) and server (``/v1/chat/completions``) backends."""

    mode = "base"

    def __init__(
        self,
        endpoint: Endpoint | Sequence[Endpoint],
        model: str | None = None,
        *,
        variant: str | None = None,
        max_retries: int = 4,
        tracer: Any = None,
    ):
        self.endpoints = [endpoint] if isinstance(endpoint, Endpoint) else list(endpoint)
        self.endpoint = self.endpoints[0]
        self._pool = EndpointPool([e.base_url for e in self.endpoints]) if len(self.endpoints) > 1 else None
        self.model = model or ""
        self._variant = variant
        self.max_retries = max_retries
        self.max_model_len: int | None = None
        self.owned_by: str | None = None
        """Who the endpoint says serves the model (``owned_by`` in ``/v1/models``: ``vllm``, ``sglang``...)."""
        self.tracer = tracer
        self._resolved = False
        self._resolve_lock = anyio.Lock()

    @property
    def variant(self) -> str:
        return self._variant or detect_variant(self.model)

    @property
    def tool_format(self) -> str:
        return tool_format_for(self.variant)

    def effective_thinking(self, requested: bool) -> bool:
        return step_thinks(self.variant, requested)

    async def resolve(self) -> None:
        """Learn the served model name (if not given) and its ``max_model_len`` from ``/v1/models``, once."""
        if self._resolved:
            return
        async with self._resolve_lock:
            if self._resolved:
                return
            models = await self._with_retries(self.endpoint.models)
            if not models:
                raise LLMError(
                    f"{self.endpoint.base_url}/models lists no model; is this an OpenAI-compatible server?"
                )
            names = [m.get("id") for m in models]
            if not self.model:
                self.model = str(names[0])
            entry = next((m for m in models if m.get("id") == self.model), None)
            if entry is None:
                raise LLMError(
                    f"the endpoint {self.endpoint.base_url} does not serve a model named {self.model!r}; "
                    f"it serves {names}. Set model.name to one of these."
                )
            self.max_model_len = entry.get("max_model_len")
            self.owned_by = entry.get("owned_by")
            self._resolved = True

    async def context_window(self) -> int | None:
        """The server's context length (``max_model_len`` from ``/v1/models``), None where it says none."""
        await self.resolve()
        return self.max_model_len

    def check_context(self, prompt_tokens: int, max_tokens: int | None) -> None:
        """Fail before sending when the prompt cannot fit the server's context window."""
        if self.max_model_len and prompt_tokens >= self.max_model_len:
            raise ContextOverflow(
                f"the prompt is about {prompt_tokens} tokens but {self.model} at {self.endpoint.base_url} "
                f"takes at most {self.max_model_len} (max_model_len). Let the context policy compact the history "
                "(context: in task.yaml, on by default), shorten tool outputs (max_tool_output), or serve the "
                "model with a larger --max-model-len."
            )

    async def count_prompt(self, prompt: str, endpoint: Endpoint) -> int:
        """Prompt tokens: the approximate count, confirmed by the server's tokenizer when it gets close."""
        approx = count_tokens(prompt)
        if not self.max_model_len or approx < self.max_model_len * 0.5:
            return approx
        exact = await endpoint.count_tokens(self.model, prompt)
        return approx if exact is None else exact

    def _count_failure(self, attempt: int, exc: RetryableError) -> int:
        """One more failed attempt; past ``max_retries`` the final error."""
        attempt += 1
        if attempt > self.max_retries:
            raise LLMError(f"{self.endpoint.base_url}: giving up after {attempt} attempts: {exc}") from exc
        return attempt

    def _continuing(
        self, attempt: int, exc: RetryableError, saved_tokens: int
    ) -> tuple[int, StreamContinued]:
        """A stream cut after output arrived, to be continued: one more failed attempt (past
        ``max_retries`` the final error) and the event saying so."""
        attempt = self._count_failure(attempt, exc)
        log.info(
            "stream cut after %d tokens, continuing (%d/%d): %s", saved_tokens, attempt, self.max_retries, exc
        )
        return attempt, StreamContinued(attempt, str(exc), saved_tokens)

    async def _with_retries(self, func: Any) -> Any:
        attempt = 0
        while True:
            try:
                return await func()
            except RetryableError as exc:
                attempt = self._count_failure(attempt, exc)
                await anyio.sleep(backoff_delay(attempt, retry_after=exc.retry_after))

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        """Stream one step, retrying overloads and broken streams; a restarted step says so first."""
        await self.resolve()
        attempt = 0
        while True:
            emitted = False
            try:
                async with self._replica(request.affinity) as endpoint:
                    async for event in self._attempt(request, endpoint):
                        emitted = True
                        yield event
                return
            except RetryableError as exc:
                attempt = self._count_failure(attempt, exc)
                if emitted:
                    yield StreamRestarted(attempt, str(exc))
                delay = backoff_delay(attempt, retry_after=exc.retry_after)
                log.info("retrying (%d/%d) in %.1fs: %s", attempt, self.max_retries, delay, exc)
                yield Retrying(attempt, str(exc), delay)
                await anyio.sleep(delay)

    @asynccontextmanager
    async def _replica(self, affinity: str | None) -> AsyncIterator[Endpoint]:
        """The endpoint for this request: with replicas, the run's own (prefix cache) or the least busy."""
        if self._pool is None:
            async with self.endpoint.slot():
                yield self.endpoint
            return
        async with self._pool.acquire(affinity) as url:
            endpoint = next(e for e in self.endpoints if e.base_url == url)
            async with endpoint.slot():
                yield endpoint

    def _attempt(self, request: ModelRequest, endpoint: Endpoint) -> AsyncIterator[ModelEvent]:
        raise NotImplementedError

    def trace(self, kind: str, payload: dict[str, Any]) -> None:
        if self.tracer is not None:
            self.tracer.write(kind, payload)

    async def aclose(self) -> None:
        for endpoint in self.endpoints:
            await endpoint.aclose()
