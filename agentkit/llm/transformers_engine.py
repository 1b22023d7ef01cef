"""In-process Transformers engine (``engine: transformers``): one GPU or the CPU, no server.

The prompt is rendered by our Qwen3 renderer (or by the model's own chat template when the two
disagree: the model's is the ground truth) and tokenized by the model's tokenizer; decoding is
a token-by-token loop (one forward pass per token in a worker thread, so a cancelled step stops
within one token), with special tokens kept in the text except the stop tokens, parsed as it streams
by our parser: the same events as the HTTP backends. The KV cache of the last step is kept and its
longest common prefix with the next prompt is reused, so a tool loop prefills only what is new.
``torch`` and ``transformers`` are imported on first use (``pip install 'agentkit[transformers]'``).
"""

from __future__ import annotations

import inspect
import logging
import math
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from agentkit.llm.errors import ContextOverflow, LLMError
from agentkit.llm.types import ModelEvent, ModelRequest, StepFinished, StepOutput, Usage

log = logging.getLogger("agentkit.llm")
STOP_TOKENS = ("<|im_end|>", "<|endoftext|>")
SAMPLING_KEYS = ("temperature", "top_p", "top_k", "min_p", "presence_penalty", "seed")
_INSTALL = "pip install 'agentkit[transformers]' (torch and transformers)"


@dataclass
class _Loaded:
    model: Any
    tokenizer: Any
    device: Any
    vocab: int
    """Tokens the tokenizer knows; the model's padded rows beyond are never sampled."""
    max_len: int | None
    stop_ids: frozenset[int]
    think_end_id: int | None
    cache_arg: str
    """The forward argument (and output field) holding the KV cache: ``cache`` (transformers 5) or
    ``past_key_values``."""
    template: str | None = None
    """The model's own chat template, used instead of our renderer when the two disagree."""


@dataclass
class _CacheSlot:
    """The KV cache of the last step and the token ids it holds."""

    ids: list[int]
    cache: Any
    prompt: str


class TransformersLLM:
    """The ``LLM`` protocol over a local model loaded with transformers."""

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        device: str | None = None,
        variant: str | None = None,
        dtype: str | None = None,
    ):
        self.model = str(model_path)
        self._device = device
        self._dtype = dtype
        self._variant = variant
        self._loaded: _Loaded | None = None
        self._load_lock = anyio.Lock()
        self._forward_limiter = anyio.CapacityLimiter(1)  # one forward pass at a time on the device
        self._slot: _CacheSlot | None = None

    @property
    def variant(self) -> str:
        from agentkit.qwen3.template import detect_variant

        return self._variant or detect_variant(self.model)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        """Generate one step; events as the text streams, ``StepFinished`` last."""
        from agentkit.llm.native import EARLY_STOP
        from agentkit.qwen3.model_template import render_with_template
        from agentkit.qwen3.parser import OutputParser
        from agentkit.qwen3.template import render_prompt, step_thinks, tool_format_for

        loaded = await self._ensure_loaded()
        thinking = step_thinks(self.variant, request.thinking)
        if loaded.template is not None:
            prompt = render_with_template(
                loaded.template, request.messages, request.tools or None, enable_thinking=thinking
            )
        else:
            prompt = render_prompt(
                request.messages, request.tools or None, enable_thinking=thinking, variant=self.variant
            )
        prompt_ids = loaded.tokenizer.encode(prompt, add_special_tokens=False)
        room = (loaded.max_len - len(prompt_ids)) if loaded.max_len else math.inf
        if room <= 0:
            raise ContextOverflow(
                f"the prompt is {len(prompt_ids)} tokens but {self.model} takes at most {loaded.max_len} "
                "(max_position_embeddings). Shorten the conversation or tool outputs (max_tool_output)."
            )
        limit = min(request.max_tokens or math.inf, room)
        sampler = _Sampler(request.sampling, loaded)
        parser = OutputParser(
            tools=request.tools or None, tool_format=tool_format_for(self.variant), thinking=thinking
        )
        detok = _Detokenizer(loaded.tokenizer)
        budget = request.thinking_budget if thinking and loaded.think_end_id is not None else None
        usage = Usage(prompt_tokens=len(prompt_ids))

        cache, reused = self._take_cache(prompt, prompt_ids, request, loaded, usage)
        fed, feed = prompt_ids[:reused], prompt_ids[reused:]
        text, finish, generated = "", "length", 0
        while generated < limit:
            token, cache = await anyio.to_thread.run_sync(
                sampler.forward, feed, cache, limiter=self._forward_limiter
            )
            fed += feed
            if token in loaded.stop_ids:
                finish = "stop"
                break
            generated += 1
            sampler.seen(token)
            feed = [token]
            if token == loaded.think_end_id:
                budget = None
            elif budget is not None and generated >= budget:
                budget = None  # Qwen's recipe: close the reasoning and continue the same turn
                feed += loaded.tokenizer.encode(EARLY_STOP, add_special_tokens=False)
            piece = detok.push(feed)
            if piece:
                text += piece
                for event in parser.feed(piece):
                    yield event
        piece = detok.flush()
        if piece:
            text += piece
            for event in parser.feed(piece):
                yield event
        for event in parser.close():
            yield event
        usage.completion_tokens = generated
        if cache is not None:
            self._slot = _CacheSlot(fed, cache, prompt)
        output = StepOutput(parser.result(), finish, usage, thinking, prompt=prompt, raw_text=text)
        yield StepFinished(output)

    def _take_cache(
        self, prompt: str, prompt_ids: list[int], request: ModelRequest, loaded: _Loaded, usage: Usage
    ) -> tuple[Any, int]:
        """The last step's KV cache cut to its common prefix with this prompt, and that prefix's length.

        The step owns the cache until it finishes (a concurrent step starts from scratch).
        """
        slot, self._slot = self._slot, None
        if slot is None:
            return None, 0
        reused = min(_common_prefix(slot.ids, prompt_ids), len(prompt_ids) - 1)  # feed >= 1 token for logits
        cache = _crop(slot.cache, reused) if reused > 0 else None
        reused = reused if cache is not None else 0
        if request.previous is not None and request.previous.prompt == slot.prompt:
            _measure_reuse(slot, reused, loaded.tokenizer, usage)
        return cache, reused

    async def _ensure_loaded(self) -> _Loaded:
        if self._loaded is None:
            async with self._load_lock:
                if self._loaded is None:
                    self._loaded = await anyio.to_thread.run_sync(
                        _load, self.model, self._device, self._dtype, self.variant
                    )
        return self._loaded

    async def aclose(self) -> None:
        """Drop the model and its cache (GPU memory is freed when nothing else holds them)."""
        self._slot = None
        self._loaded = None


class _Sampler:
    """One forward pass and the choice of the next token, with the step's sampling settings."""

    def __init__(self, sampling: dict[str, Any], loaded: _Loaded):
        import torch

        unknown = sorted(set(sampling) - set(SAMPLING_KEYS))
        if unknown:
            raise LLMError(
                f"the transformers engine does not support sampling setting(s) {', '.join(unknown)}; "
                f"it supports {', '.join(SAMPLING_KEYS)}"
            )
        self.torch = torch
        self.loaded = loaded
        self.temperature = float(sampling.get("temperature", 1.0))
        self.top_p = float(sampling.get("top_p", 1.0))
        self.top_k = int(sampling.get("top_k") or 0)
        self.min_p = float(sampling.get("min_p") or 0.0)
        self.presence_penalty = float(sampling.get("presence_penalty") or 0.0)
        seed = sampling.get("seed")
        self.generator = None if seed is None else torch.Generator(loaded.device).manual_seed(int(seed))
        self.generated: set[int] = set()

    def seen(self, token: int) -> None:
        self.generated.add(token)

    def forward(self, feed: list[int], cache: Any) -> tuple[int, Any]:
        """Feed tokens (extending ``cache``); return the next token and the cache. Runs in a worker thread."""
        torch = self.torch
        with torch.inference_mode():
            ids = torch.tensor([feed], device=self.loaded.device)
            kwargs = {self.loaded.cache_arg: cache}
            out = self.loaded.model(input_ids=ids, use_cache=True, logits_to_keep=1, **kwargs)
            logits = out.logits[0, -1, : self.loaded.vocab].float()
            return self.pick(logits), out[self.loaded.cache_arg]

    def pick(self, logits: Any) -> int:
        torch = self.torch
        if self.presence_penalty and self.generated:
            logits[list(self.generated)] -= self.presence_penalty
        if self.temperature <= 0:
            return int(torch.argmax(logits))
        logits = logits / self.temperature
        if 0 < self.top_k < logits.numel():
            kth = torch.topk(logits, self.top_k).values[-1]
            logits = logits.masked_fill(logits < kth, -math.inf)
        probs = torch.softmax(logits, dim=-1)
        if self.min_p > 0:
            probs = probs.masked_fill(probs < self.min_p * probs.max(), 0.0)
        if self.top_p < 1.0:
            ordered, order = torch.sort(probs, descending=True)
            cumulative = torch.cumsum(ordered, dim=-1)
            ordered = ordered.masked_fill(cumulative - ordered > self.top_p * cumulative[-1], 0.0)
            probs = torch.zeros_like(probs).scatter(0, order, ordered)
        return int(torch.multinomial(probs, 1, generator=self.generator))


class _Detokenizer:
    """Token ids to text as they come, holding back bytes of a character not yet complete."""

    def __init__(self, tokenizer: Any):
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.prefix = 0
        self.read = 0

    def _decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)

    def push(self, ids: list[int]) -> str:
        self.ids += ids
        before = self._decode(self.ids[self.prefix : self.read])
        after = self._decode(self.ids[self.prefix :])
        if len(after) <= len(before) or after.endswith("\ufffd"):
            return ""
        self.prefix, self.read = self.read, len(self.ids)
        return after[len(before) :]

    def flush(self) -> str:
        before = self._decode(self.ids[self.prefix : self.read])
        after = self._decode(self.ids[self.prefix :])
        self.prefix = self.read = len(self.ids)
        return after[len(before) :]


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _crop(cache: Any, length: int) -> Any:
    """The cache cut to its first ``length`` tokens, or None when this cache type cannot be cut."""
    if not hasattr(cache, "crop") or not hasattr(cache, "get_seq_length"):
        return None
    extra = cache.get_seq_length() - length
    if extra > 0:
        cache.crop(-extra)  # a negative count removes that many tokens, in transformers 4.x and 5.x alike
    return cache


def _measure_reuse(slot: _CacheSlot, reused: int, tokenizer: Any, usage: Usage) -> None:
    """Usage's reuse fields from real token ids (see ``agentkit.llm.prefix`` for their meaning)."""
    from agentkit.llm.prefix import ASSISTANT_TURN

    total = len(slot.ids)
    turn_start = slot.prompt.rfind(ASSISTANT_TURN)
    turn_tokens = (
        len(tokenizer.encode(slot.prompt[:turn_start], add_special_tokens=False))
        if turn_start >= 0
        else total
    )
    usage.cached_prefix_tokens = reused
    usage.reprefill_tokens = total - reused
    usage.reprefill_forced_tokens = total - max(reused, turn_tokens)


def _load(source: str, device: str | None, dtype: str | None, variant: str) -> _Loaded:
    """Load tokenizer and model (in a worker thread). Every failure is an ``LLMError`` saying what to do."""
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise LLMError(f"engine: transformers needs the {exc.name!r} package: {_INSTALL}") from None
    from agentkit.qwen3.model_template import template_if_ours_differs

    folder = _model_folder(source)
    where = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if dtype in (None, "auto"):
        torch_dtype: Any = "auto" if where.type == "cuda" else torch.float32
    elif dtype in ("bfloat16", "float16", "float32"):
        torch_dtype = getattr(torch, dtype)
    else:
        raise LLMError(f"dtype {dtype!r} is not one of auto, bfloat16, float16, float32")
    major_minor = tuple(int(p) for p in transformers.__version__.split(".")[:2])
    dtype_arg = {"dtype" if major_minor >= (4, 56) else "torch_dtype": torch_dtype}
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
        model = transformers.AutoModelForCausalLM.from_pretrained(folder, **dtype_arg)
        model.to(where).eval()
    except torch.cuda.OutOfMemoryError:
        raise LLMError(
            f"{source} does not fit in the memory of {where}: use a smaller model, dtype: bfloat16, or serve it "
            "with vLLM over several GPUs (engine: vllm)"
        ) from None
    except (OSError, ValueError, KeyError, ImportError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LLMError(
            f"transformers {transformers.__version__} cannot load {source} ({folder}): {first}. An unknown "
            "architecture needs a newer transformers (pip install -U transformers); missing files need the "
            "full model download."
        ) from None

    def token_id(token: str) -> int | None:
        found = tokenizer.convert_tokens_to_ids(token)
        return found if isinstance(found, int) and found != tokenizer.unk_token_id else None

    return _Loaded(
        model=model,
        tokenizer=tokenizer,
        device=where,
        vocab=len(tokenizer),
        max_len=getattr(model.config, "max_position_embeddings", None),
        stop_ids=frozenset(i for i in map(token_id, STOP_TOKENS) if i is not None),
        think_end_id=token_id("</think>"),
        cache_arg="cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values",
        template=template_if_ours_differs(folder, variant),
    )


def _model_folder(source: str) -> Path:
    """A local folder, else the model's snapshot in the Hugging Face cache, else in ModelScope's cache."""
    from agentkit.serving.errors import ServingError
    from agentkit.serving.modelinfo import resolve_model_dir

    try:
        return resolve_model_dir(source)
    except ServingError as exc:
        not_found = str(exc)
    root = Path(os.environ.get("MODELSCOPE_CACHE") or "~/.cache/modelscope/hub").expanduser()
    if source.count("/") == 1:
        org, name = source.split("/")
        for base in (root / "models", root):
            for folder in (base / org / name, base / org / name.replace(".", "___")):
                if (folder / "config.json").is_file():
                    return folder
        not_found += f" ModelScope's cache ({root}) has none either: `modelscope download --model {source}`."
    raise LLMError(not_found)
