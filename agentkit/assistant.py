"""``Assistant``: the agent embedded in an app; async-first, and a drop-in for Qwen-Agent's ``Assistant``.

The implementation lives in :mod:`agentkit.qwen_agent_compat` (with ``FnCallAgent``, ``get_chat_model``
and the message shapes); ``agentkit.Assistant`` is the public import.
"""

from agentkit.qwen_agent_compat import Assistant, FnCallAgent, Message, Responses, to_openai_messages

__all__ = ["Assistant", "FnCallAgent", "Message", "Responses", "to_openai_messages"]
