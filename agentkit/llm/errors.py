"""Errors from talking to a model endpoint, each naming the problem and the fix."""


class LLMError(Exception):
    """A final failure talking to the model endpoint."""


class EndpointUnreachable(LLMError):
    """Nothing answers at the endpoint."""


class ContextOverflow(LLMError):
    """The prompt is longer than the server's ``max_model_len``."""


class OutputTruncated(LLMError):
    """The output hit ``max_tokens`` where it cannot be used (inside a tool call)."""
