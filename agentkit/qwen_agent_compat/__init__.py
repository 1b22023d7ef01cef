"""Qwen-Agent's API on agentkit: switch ``from qwen_agent.agents import Assistant`` (or ``FnCallAgent``) and
``from qwen_agent.llm import get_chat_model`` to this package; see the README's drop-in table."""

from agentkit.qwen_agent_compat.agents import Agent, Assistant, FnCallAgent
from agentkit.qwen_agent_compat.llm import ChatModel, get_chat_model
from agentkit.qwen_agent_compat.messages import Message, Responses, to_openai_messages

__all__ = [
    "Agent",
    "Assistant",
    "ChatModel",
    "FnCallAgent",
    "Message",
    "Responses",
    "get_chat_model",
    "to_openai_messages",
]
