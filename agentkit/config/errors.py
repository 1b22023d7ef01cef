"""The one error a bad task gives: every problem with its ``file:line``, what is wrong and how to fix it."""

from __future__ import annotations


class TaskError(Exception):
    """A task file (or task dict) that cannot be used. ``str()`` is the complete message for the user.

    ``problems`` holds one line per problem, each starting with ``file:line[:col]:``.
    """

    def __init__(self, problems: str | list[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))
