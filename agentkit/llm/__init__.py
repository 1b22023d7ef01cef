"""Model endpoints as one stream of events: native completions, chat completions, in-process engines."""

from agentkit.llm.errors import ContextOverflow, EndpointUnreachable, LLMError, OutputTruncated
from agentkit.llm.types import (
    LLM,
    ModelEvent,
    ModelRequest,
    Retrying,
    StepFinished,
    StepOutput,
    StreamContinued,
    StreamRestarted,
    Usage,
)

__all__ = [
    "LLM",
    "ModelEvent",
    "ModelRequest",
    "Retrying",
    "StepFinished",
    "StepOutput",
    "StreamContinued",
    "StreamRestarted",
    "Usage",
    "LLMError",
    "EndpointUnreachable",
    "ContextOverflow",
    "OutputTruncated",
]
