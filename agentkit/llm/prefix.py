"""How much of the previous step's prompt + output a new prompt reuses from the server's prefix cache."""

from __future__ import annotations

from agentkit.llm.types import Usage
from agentkit.qwen3.tokens import common_prefix_tokens, count_tokens

ASSISTANT_TURN = "<|im_start|>assistant\n"


def measure_reuse(prev_prompt: str, prev_output: str, new_prompt: str, usage: Usage) -> None:
    """Fill ``usage``'s reuse fields.

    What the previous step left in the cache is its prompt plus its output. Everything before the
    start of that last assistant turn must be reused; a miss there is ours (``reprefill_extra_tokens``).
    From the turn's start on, the chat template may re-render the turn differently (an empty think
    block dropped, reasoning dropped): that part of the miss is forced by the template.
    """
    cached = prev_prompt + prev_output
    total = count_tokens(cached)
    reused = common_prefix_tokens(cached, new_prompt)
    turn_start = prev_prompt.rfind(ASSISTANT_TURN)
    turn_tokens = count_tokens(prev_prompt[:turn_start]) if turn_start >= 0 else total
    usage.cached_prefix_tokens = reused
    usage.reprefill_tokens = total - reused
    usage.reprefill_forced_tokens = total - max(reused, turn_tokens)
