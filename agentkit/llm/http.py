"""One shared async HTTP client per endpoint: JSON and server-sent-event requests, with fault mapping."""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx

from agentkit.llm.errors import EndpointUnreachable, LLMError

RETRYABLE_STATUS = {408, 429, 500, 502, 503, 504}


class RetryableError(LLMError):
    """A failure worth retrying (overload, timeout, a stream cut mid-way)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def backoff_delay(
    attempt: int, base: float = 0.5, cap: float = 8.0, retry_after: float | None = None
) -> float:
    """Exponential backoff with full jitter; a server's Retry-After wins when it is given."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), 60.0)
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1))) + base / 2


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return " ".join(response.text.split())[:300]  # an HTML error page, on one line
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            return str(err.get("message") or err)
        return str(err)
    return str(body)[:500]


class Endpoint:
    """An OpenAI-compatible server at ``base_url`` (…/v1), reached through one pooled ``httpx.AsyncClient``.

    ``timeout`` is a total deadline per request (headers and the whole stream, however slowly it
    trickles), and also the longest wait for any single read; connecting has its own 10 s.
    """

    def __init__(self, base_url: str, *, api_key: str | None = None, timeout: float = 600.0):
        self.base_url = base_url.rstrip("/")
        self._deadline_s = timeout
        headers = {"Authorization": f"Bearer {api_key}"} if api_key and api_key != "EMPTY" else {}
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
        )
        self._models: list[dict[str, Any]] | None = None
        self._tokenize_supported = True
        self._slots: anyio.Semaphore | None = None

    def limit(self, max_in_flight: int | None) -> None:
        """Bound the model requests in flight to this server (``None``: unbounded); others wait their turn."""
        self._slots = anyio.Semaphore(max_in_flight) if max_in_flight else None

    def slot(self) -> Any:
        """Hold one of the server's request slots while the block runs (when ``limit`` set a bound)."""
        return self._slots if self._slots is not None else contextlib.nullcontext()

    def _unreachable(self, exc: Exception) -> EndpointUnreachable:
        port = httpx.URL(self.base_url).port or 8000
        return EndpointUnreachable(
            f"cannot reach the model endpoint {self.base_url} ({type(exc).__name__}: {exc}). "
            f"Start a server there, e.g. `vllm serve Qwen/Qwen3-8B --port {port} --enable-auto-tool-choice "
            f"--tool-call-parser hermes --reasoning-parser qwen3` or `python -m agentkit serve Qwen/Qwen3-8B "
            f"--port {port}`, or set model.endpoint to a running one."
        )

    async def get_json(self, path: str) -> Any:
        try:
            with anyio.fail_after(self._deadline_s):
                response = await self._client.get(path)
        except TimeoutError as exc:
            raise RetryableError(f"timed out asking {self.base_url}{path}") from exc
        except httpx.ConnectError as exc:
            raise self._unreachable(exc) from exc
        except httpx.TimeoutException as exc:
            raise RetryableError(f"timed out asking {self.base_url}{path}") from exc
        if response.status_code in RETRYABLE_STATUS:
            raise RetryableError(f"HTTP {response.status_code} from {path}", _retry_after(response))
        if response.status_code == 404:
            raise LLMError(
                f"{self.base_url}{path} does not exist (HTTP 404): {self.base_url} is not an OpenAI-compatible "
                "API; point model.endpoint at the server's /v1 base URL, e.g. http://localhost:8000/v1"
            )
        if response.status_code >= 400:
            raise LLMError(
                f"{self.base_url}{path} answered HTTP {response.status_code}: {_error_text(response)}"
            )
        return response.json()

    async def models(self) -> list[dict[str, Any]]:
        """The served models (``/v1/models``), asked once."""
        if self._models is None:
            data = await self.get_json("/models")
            self._models = list(data.get("data", [])) if isinstance(data, dict) else []
        return self._models

    async def count_tokens(self, model: str, prompt: str) -> int | None:
        """Exact prompt tokens from vLLM's ``/tokenize`` (at the server root), or None where there is none."""
        if not self._tokenize_supported:
            return None
        root = self.base_url[: -len("/v1")] if self.base_url.endswith("/v1") else self.base_url
        try:
            response = await self._client.post(f"{root}/tokenize", json={"model": model, "prompt": prompt})
            if response.status_code == 200:
                return int(response.json()["count"])
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        self._tokenize_supported = False
        return None

    async def stream_events(self, path: str, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """POST ``body`` with ``stream: true`` and yield each SSE ``data:`` JSON object until ``[DONE]``.

        Raises ``RetryableError`` for overload, timeouts and a stream cut before ``[DONE]``.
        """
        deadline = anyio.current_time() + self._deadline_s
        try:
            async with _Deadline(deadline, self._client.stream("POST", path, json=body)) as response:
                if response.status_code >= 400:
                    await response.aread()
                    message = (
                        f"HTTP {response.status_code} from {self.base_url}{path}: {_error_text(response)}"
                    )
                    if response.status_code in RETRYABLE_STATUS:
                        raise RetryableError(message, _retry_after(response))
                    raise LLMError(message)
                done = False
                async for line in _until(deadline, response.aiter_lines()):
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        done = True
                        break
                    try:
                        event = json.loads(data)
                    except ValueError as exc:
                        raise RetryableError(f"malformed stream chunk from {path}: {data[:80]!r}") from exc
                    if isinstance(event, dict) and "error" in event and "choices" not in event:
                        raise LLMError(
                            f"{self.base_url}{path} reported an error mid-stream: {event['error']}"
                        )
                    yield event
                if not done:
                    raise RetryableError(f"the stream from {path} ended before [DONE]")
        except httpx.ConnectError as exc:
            raise self._unreachable(exc) from exc
        except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise RetryableError(f"the stream from {path} broke: {type(exc).__name__}: {exc}") from exc
        except TimeoutError as exc:
            raise RetryableError(
                f"{self.base_url}{path} did not finish within model.timeout ({self._deadline_s:g} s, "
                "the deadline for one whole request); raise model.timeout for long generations"
            ) from exc

    async def aclose(self) -> None:
        await self._client.aclose()


class _Deadline:
    """Enter an async context manager (a streamed request) under a deadline: ``TimeoutError`` past it."""

    def __init__(self, deadline: float, manager: Any):
        self._deadline = deadline
        self._manager = manager

    async def __aenter__(self) -> Any:
        with anyio.fail_after(max(0.0, self._deadline - anyio.current_time())):
            return await self._manager.__aenter__()

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._manager.__aexit__(*exc)


async def _until(deadline: float, items: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """``items`` until ``deadline``, each wait bounded by it (no cancel scope is held across a yield)."""
    iterator = aiter(items)
    while True:
        with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
            try:
                item = await anext(iterator)
            except StopAsyncIteration:
                return
        yield item
