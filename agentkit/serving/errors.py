"""The one error serving raises: what is missing or failed, and what to run about it."""


class ServingError(Exception):
    """Planning or launching a model server failed; the message names the problem and the fix."""
