"""``get_chat_model(cfg)`` and its model object, with Qwen-Agent's ``chat()`` on agentkit's backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from agentkit.qwen_agent_compat.background import BackgroundLoop
from agentkit.qwen_agent_compat.messages import Message, Responses, dump, plain, to_openai_messages
from agentkit.qwen_agent_compat.options import LLMSettings, settings_from


class ChatModel:
    """A Qwen3 endpoint as Qwen-Agent's LLM object: ``model``, ``generate_cfg``, ``chat(...)``."""

    def __init__(self, cfg: dict[str, Any] | None = None):
        self.cfg = dict(cfg or {})
        self.settings: LLMSettings = settings_from(self.cfg)
        self.model: str = self.cfg.get("model") or ""
        self.model_type: str = self.cfg.get("model_type") or "oai"
        self.generate_cfg: dict[str, Any] = dict(self.cfg.get("generate_cfg") or {})
        self.max_retries: int = int(self.settings.extra.get("max_retries", 0))
        self._background = BackgroundLoop("agentkit-chat-model-loop")

    def chat(
        self,
        messages: list[Any],
        functions: list[dict[str, Any]] | None = None,
        stream: bool = True,
        delta_stream: bool = False,
        extra_generate_cfg: dict[str, Any] | None = None,
    ) -> Any:
        """One model call. ``stream=True``: yields the growing list of messages; else returns it."""
        if delta_stream:
            raise NotImplementedError("delta_stream=True is not supported; use stream=True (full lists)")
        if not messages:
            raise ValueError("Messages can not be empty.")
        snapshots = self._background.iterate(lambda: self.achat(messages, functions, extra_generate_cfg))
        if stream:
            return snapshots
        last = list(snapshots)[-1]
        if functions or len(last) < 2:
            return last
        # without functions Qwen-Agent's non-streaming call returns one message: content and reasoning
        first, final = plain(last[0]), plain(last[-1])
        merged = {**first, **final, "reasoning_content": first.get("reasoning_content")}
        kind = type(last[-1])
        return Responses([kind(**dump(merged)) if kind is not Message else Message(dump(merged))])

    async def achat(
        self,
        messages: list[Any],
        functions: list[dict[str, Any]] | None = None,
        extra_generate_cfg: dict[str, Any] | None = None,
    ) -> AsyncIterator[Any]:
        from agentkit.agent.events import StepStarted, ToolRunning
        from agentkit.config import load_task_dict
        from agentkit.llm.types import NON_THINKING_SAMPLING, THINKING_SAMPLING, ModelRequest, StepFinished
        from agentkit.qwen_agent_compat.shaping import ResponseShaper
        from agentkit.qwen_agent_compat.truncate import truncate_history
        from agentkit.runtime import open_llm

        extra = dict(extra_generate_cfg or {})
        as_objects = any(hasattr(m, "model_dump") and not isinstance(m, dict) for m in messages)
        openai = to_openai_messages(continued([plain(m) for m in messages]))
        if not openai or openai[0].get("role") != "system":  # as Qwen-Agent's chat() adds it
            from agentkit.qwen_agent_compat.agents import DEFAULT_SYSTEM_MESSAGE

            openai.insert(0, {"role": "system", "content": DEFAULT_SYSTEM_MESSAGE})
        max_input = extra.get("max_input_tokens", self.settings.max_input_tokens)
        if max_input and max_input > 0:
            openai = truncate_history(openai, max_input)
        choice = extra.get("function_choice", self.settings.function_choice)
        tools = [] if choice == "none" else [{"type": "function", "function": f} for f in functions or []]
        task = load_task_dict({"model": self.settings.model}, Path.cwd(), source="get_chat_model(...)")
        thinking = self.settings.thinking != "off"  # as configured, the server's default otherwise
        sampling = {**(THINKING_SAMPLING if thinking else NON_THINKING_SAMPLING), **task.model.sampling()}
        if "seed" in extra:
            sampling["seed"] = extra["seed"]
        shaper = ResponseShaper(with_tools=bool(tools), raw_api=task.model.mode == "server")
        async with open_llm(task) as backend:
            thinking = (
                backend.effective_thinking(thinking) if hasattr(backend, "effective_thinking") else thinking
            )
            shaper.feed(StepStarted(0, thinking))
            request = ModelRequest(
                messages=openai,
                tools=tools,
                thinking=thinking,
                sampling=sampling,
                max_tokens=task.model.max_tokens,
                thinking_budget=self.settings.thinking_budget,
            )
            async for event in backend.stream(request):
                if shaper.feed(event):
                    yield _shaped(shaper.responses, as_objects)
                if isinstance(event, StepFinished):  # one message per call, as they appear
                    for call in event.output.parsed.all_calls():
                        shaper.feed(ToolRunning(0, call.id, call.name or "", call.arguments or {}))
                        yield _shaped(shaper.responses, as_objects)


def continued(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A history ending in a (text) assistant message asks to continue it: as Qwen-Agent does over a chat
    API, that text joins the user turn before it, and the reply is the continuation."""
    if len(messages) < 2 or messages[-1].get("role") != "assistant" or messages[-1].get("function_call"):
        return messages
    user, bot = messages[-2], messages[-1]
    if user.get("role") != "user":
        raise ValueError("continuing an assistant message needs the user message right before it")
    first, second = user.get("content"), bot.get("content")
    if isinstance(first, list) or isinstance(second, list):
        joined: Any = [*_items(first), {"text": "\n\n"}, *_items(second)]
    else:
        joined = f"{first or ''}\n\n{second or ''}"
    return [*messages[:-2], {**user, "content": joined}]


def _items(content: Any) -> list[Any]:
    return content if isinstance(content, list) else [{"text": content or ""}]


def _shaped(responses: list[Message], as_objects: bool) -> Responses:
    from agentkit.qwen_agent_compat.agents import _qwen_message

    out = Responses(Message(dump(m)) for m in responses)
    return Responses(_qwen_message(m) for m in out) if as_objects else out


def get_chat_model(cfg: dict[str, Any] | None = None) -> ChatModel:
    """The model of a Qwen-Agent ``llm`` config (``model``, ``model_server``, ``api_key``, ``generate_cfg``)."""
    if isinstance(cfg, ChatModel):
        return cfg
    return ChatModel(cfg)
