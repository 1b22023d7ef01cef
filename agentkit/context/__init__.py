"""Keeping a long run inside the model's context window: old tool results elided, old turns summarised.

``ContextPolicy`` holds the settings (``context:`` in task.yaml, ``Assistant(context=...)``; Qwen-Agent's
``max_input_tokens`` is ``ContextPolicy(max_input_tokens=...)``); ``ContextKeeper`` applies them to a
run's history before each model step. The loop owns the keeper; this room knows the messages and the
Qwen3 format, never HTTP (a server's exact token count comes in as a plain function).
"""

from agentkit.context.counting import TokenCounter, approximate_counter, tokenizer_counter
from agentkit.context.keeper import Compaction, ContextKeeper, ContextTooSmall
from agentkit.context.policy import ContextPolicy

__all__ = [
    "Compaction",
    "ContextKeeper",
    "ContextPolicy",
    "ContextTooSmall",
    "TokenCounter",
    "approximate_counter",
    "tokenizer_counter",
]
