"""The in-process Transformers engine on CPU, with tiny Qwen3 / Qwen3-MoE models built here (no download).

The tokenizer is byte-level with Qwen3's special and added tokens. Besides plain random weights, a
"bigram" model is made by zeroing every layer's output projections, so the residual stream is the
current token's embedding and the head picks a scripted next token: generation then follows a chain
we choose (``"\\n" -> "H" -> "i" -> <|im_end|>``), which makes stops and streaming checkable.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

torch = pytest.importorskip(
    "torch", reason="the transformers engine needs torch: pip install 'agentkit[transformers]'"
)
transformers = pytest.importorskip(
    "transformers", reason="the transformers engine needs transformers: pip install 'agentkit[transformers]'"
)

from agentkit.llm import LLMError, ModelRequest, StepFinished  # noqa: E402
from agentkit.llm.native import EARLY_STOP  # noqa: E402
from agentkit.llm.transformers_engine import TransformersLLM  # noqa: E402
from agentkit.qwen3 import ContentDelta, ReasoningDelta, ToolCallComplete, ToolCallStarted  # noqa: E402
from agentkit.qwen3.template import render_prompt  # noqa: E402

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
ADDED = ["<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<think>", "</think>"]
USER = [{"role": "user", "content": "Say hi."}]


def build_tokenizer(extra: Sequence[str] = (), template: str | None = None):
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    tok = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)}, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL])
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in [*ADDED, *extra]])
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    if template is not None:
        fast.chat_template = template
    return fast


def build_model(
    folder: Path, *, moe: bool = False, chain: dict[str, str] | None = None, template: str | None = None
) -> Path:
    """A tiny random Qwen3 (or Qwen3-MoE) with its tokenizer in ``folder``; ``chain`` scripts its greedy output."""
    extra = [t for t in (chain or {}) if t not in SPECIAL + ADDED and len(t) > 1]
    tokenizer = build_tokenizer(extra=extra, template=template)
    shape = dict(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=8, max_position_embeddings=1024, tie_word_embeddings=False,
    )  # fmt: skip
    torch.manual_seed(0)
    if moe:
        config = transformers.Qwen3MoeConfig(
            **shape, moe_intermediate_size=16, num_experts=4, num_experts_per_tok=2
        )
        model = transformers.Qwen3MoeForCausalLM(config)
    else:
        model = transformers.Qwen3ForCausalLM(transformers.Qwen3Config(**shape))
    if chain:
        with torch.no_grad():
            for name, param in model.named_parameters():
                if "o_proj" in name or "down_proj" in name:
                    param.zero_()
            embed, head = model.get_input_embeddings().weight, model.get_output_embeddings().weight
            embed.zero_()
            head.zero_()
            for slot, (now, nxt) in enumerate(chain.items()):
                (now_id,), (next_id,) = tokenizer.encode(now), tokenizer.encode(nxt)
                embed[now_id, slot] = 1.0
                head[next_id, slot] = 10.0
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


async def run(llm: TransformersLLM, request: ModelRequest) -> tuple[list, StepFinished]:
    events = [event async for event in llm.stream(request)]
    assert isinstance(events[-1], StepFinished)
    assert not any(isinstance(e, StepFinished) for e in events[:-1])
    return events[:-1], events[-1]


def text_of(events: list, kind: type) -> str:
    return "".join(e.text for e in events if isinstance(e, kind))


@pytest.fixture(scope="module")
def hi_model(tmp_path_factory) -> Path:
    return build_model(tmp_path_factory.mktemp("hi"), chain={"\n": "H", "H": "i", "i": "<|im_end|>"})


@pytest.mark.anyio
async def test_prompt_tokens_stop_at_im_end_and_streaming(hi_model):
    llm = TransformersLLM(hi_model, device="cpu")
    events, finished = await run(
        llm, ModelRequest(messages=USER, thinking=False, sampling={"temperature": 0.7})
    )
    out = finished.output
    tokenizer = transformers.AutoTokenizer.from_pretrained(hi_model)
    prompt = render_prompt(USER, None, enable_thinking=False)
    assert out.prompt == prompt
    assert out.usage.prompt_tokens == len(tokenizer.encode(prompt, add_special_tokens=False))
    assert (out.raw_text, out.finish_reason, out.usage.completion_tokens, out.thinking) == (
        "Hi",
        "stop",
        2,
        False,
    )
    assert out.parsed.content == "Hi" and text_of(events, ContentDelta) == "Hi"
    await llm.aclose()


@pytest.mark.anyio
async def test_max_tokens_ends_with_length(tmp_path):
    llm = TransformersLLM(build_model(tmp_path, chain={"\n": "a", "a": "a"}), device="cpu")
    _, finished = await run(llm, ModelRequest(messages=USER, thinking=False, max_tokens=5))
    out = finished.output
    assert (out.raw_text, out.finish_reason, out.usage.completion_tokens) == ("aaaaa", "length", 5)


@pytest.mark.anyio
async def test_moe_model_streams_reasoning_then_content(tmp_path):
    chain = {"\n": "<think>", "<think>": "r", "r": "</think>", "</think>": "o", "o": "k", "k": "<|im_end|>"}
    llm = TransformersLLM(build_model(tmp_path, moe=True, chain=chain), device="cpu")
    events, finished = await run(llm, ModelRequest(messages=USER, thinking=True))
    out = finished.output
    assert out.raw_text == "<think>r</think>ok" and out.thinking is True
    assert (out.parsed.reasoning_content, out.parsed.content) == ("r", "ok")
    kinds = [type(e) for e in events if isinstance(e, ReasoningDelta | ContentDelta)]
    assert kinds[0] is ReasoningDelta and kinds[-1] is ContentDelta
    assert text_of(events, ReasoningDelta) == "r" and text_of(events, ContentDelta) == "ok"


@pytest.mark.anyio
async def test_tool_call_streams_through_the_parser(tmp_path):
    call = '\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n'  # one added token, so the chain can emit it
    chain = {"\n": "<tool_call>", "<tool_call>": call, call: "</tool_call>", "</tool_call>": "<|im_end|>"}
    tools = [
        {
            "type": "function",
            "function": {
                "name": "add",
                "description": "Add.",
                "parameters": {
                    "type": "object",
                    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                    "required": ["a", "b"],
                },
            },
        }
    ]
    llm = TransformersLLM(build_model(tmp_path, chain=chain), device="cpu")
    events, finished = await run(llm, ModelRequest(messages=USER, tools=tools, thinking=False))
    out = finished.output
    assert out.prompt == render_prompt(USER, tools, enable_thinking=False)
    assert out.raw_text == f"<tool_call>{call}</tool_call>" and out.finish_reason == "stop"
    [parsed] = out.parsed.tool_calls
    assert (parsed.name, parsed.arguments) == ("add", {"a": 1, "b": 2})
    started = next(e for e in events if isinstance(e, ToolCallStarted))
    complete = next(e for e in events if isinstance(e, ToolCallComplete))
    assert started.name == "add" and complete.call.arguments == {"a": 1, "b": 2}
    assert events.index(started) < events.index(complete)


@pytest.mark.anyio
async def test_thinking_budget_closes_the_reasoning_and_continues(tmp_path):
    chain = {"\n": "<think>", "<think>": "r", "r": "r"}
    llm = TransformersLLM(build_model(tmp_path, chain=chain), device="cpu")
    _, finished = await run(llm, ModelRequest(messages=USER, thinking=True, thinking_budget=3, max_tokens=6))
    out = finished.output
    # 3 reasoning tokens, the early-stop sentence (not sampled, not counted), then 3 more tokens.
    assert out.raw_text == "<think>rr" + EARLY_STOP + "<think>rr"
    assert (out.finish_reason, out.usage.completion_tokens) == ("length", 6)
    assert "Considering the limited time" in out.parsed.reasoning_content


@pytest.mark.anyio
async def test_random_weights_sampling_is_seeded_and_decodes_consistently(tmp_path):
    folder = build_model(tmp_path)
    llm = TransformersLLM(folder, device="cpu")
    sampling = {
        "temperature": 0.7,
        "top_p": 0.8,
        "top_k": 20,
        "min_p": 0.05,
        "presence_penalty": 1.5,
        "seed": 7,
    }
    request = ModelRequest(messages=USER, thinking=False, sampling=sampling, max_tokens=12)
    _, first = await run(llm, request)
    _, second = await run(TransformersLLM(folder, device="cpu"), request)
    assert first.output.raw_text == second.output.raw_text
    assert first.output.finish_reason in ("stop", "length")
    assert 1 <= first.output.usage.completion_tokens <= 12


@pytest.mark.anyio
async def test_next_step_reuses_the_kv_cache_and_matches_a_fresh_run(tmp_path):
    folder = build_model(tmp_path)
    llm = TransformersLLM(folder, device="cpu")
    greedy = {"temperature": 0}
    _, step1 = await run(llm, ModelRequest(messages=USER, thinking=False, sampling=greedy, max_tokens=4))
    history = [*USER, {"role": "assistant", "content": "Hello there."}, {"role": "user", "content": "Again."}]
    request = ModelRequest(
        messages=history, thinking=False, sampling=greedy, max_tokens=4, previous=step1.output
    )
    _, step2 = await run(llm, request)
    usage = step2.output.usage
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    before_turn = step1.output.prompt.rfind("<|im_start|>assistant\n")
    assert usage.cached_prefix_tokens >= len(tokenizer.encode(step1.output.prompt[:before_turn]))
    assert usage.reprefill_extra_tokens == 0
    _, fresh = await run(TransformersLLM(folder, device="cpu"), ModelRequest(messages=history, thinking=False,
                                                                           sampling=greedy, max_tokens=4))  # fmt: skip
    assert step2.output.raw_text == fresh.output.raw_text


@pytest.mark.anyio
async def test_a_step_stopped_early_leaves_the_engine_usable(tmp_path):
    llm = TransformersLLM(build_model(tmp_path, chain={"\n": "a", "a": "a"}), device="cpu")
    stream = llm.stream(ModelRequest(messages=USER, thinking=False, max_tokens=50))
    first = await stream.__anext__()
    assert isinstance(first, ContentDelta)
    await stream.aclose()
    _, finished = await run(llm, ModelRequest(messages=USER, thinking=False, max_tokens=3))
    assert finished.output.raw_text == "aaa"


@pytest.mark.anyio
async def test_the_models_own_template_wins_when_ours_disagrees(tmp_path):
    template = (
        "<|im_start|>system\nHOUSE RULES<|im_end|>\n{% for m in messages %}<|im_start|>{{ m.role }}\n"
        "{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
        "{% if enable_thinking is defined and not enable_thinking %}<think>\n\n</think>\n\n{% endif %}{% endif %}"
    )
    folder = build_model(tmp_path, chain={"\n": "H", "H": "i", "i": "<|im_end|>"}, template=template)
    _, finished = await run(
        TransformersLLM(folder, device="cpu"), ModelRequest(messages=USER, thinking=False)
    )
    out = finished.output
    assert out.prompt.startswith("<|im_start|>system\nHOUSE RULES<|im_end|>\n<|im_start|>user\nSay hi.")
    assert out.prompt.endswith("<think>\n\n</think>\n\n") and out.raw_text == "Hi"


@pytest.mark.anyio
async def test_clear_errors(tmp_path, hi_model):
    with pytest.raises(LLMError, match="no config.json"):
        await run(TransformersLLM(tmp_path, device="cpu"), ModelRequest(messages=USER))
    with pytest.raises(LLMError, match="ModelScope.s cache .* has none either"):
        await run(TransformersLLM("nobody/no-such-model-here", device="cpu"), ModelRequest(messages=USER))
    with pytest.raises(LLMError, match="does not support sampling setting"):
        await run(
            TransformersLLM(hi_model, device="cpu"), ModelRequest(messages=USER, sampling={"best_of": 2})
        )


@pytest.mark.anyio
@pytest.mark.parametrize(
    "variant, asked, thinks", [("instruct-2507", True, False), ("thinking-2507", False, True)]
)
async def test_the_variant_decides_thinking_as_in_the_http_backends(hi_model, variant, asked, thinks):
    llm = TransformersLLM(hi_model, device="cpu", variant=variant)
    _, finished = await run(llm, ModelRequest(messages=USER, thinking=asked))
    assert finished.output.thinking is thinks
    assert finished.output.prompt == render_prompt(USER, None, enable_thinking=thinks, variant=variant)
