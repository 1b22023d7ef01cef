"""Two small date tools, loaded by task.yaml as ``dates:days_between`` and ``dates:weekday``."""

from datetime import date


def days_between(start: str, end: str) -> int:
    """Number of days from one date to another.

    Args:
        start: the first date, YYYY-MM-DD
        end: the second date, YYYY-MM-DD
    """
    return (date.fromisoformat(end) - date.fromisoformat(start)).days


def weekday(day: str) -> str:
    """The weekday of a date.

    Args:
        day: the date, YYYY-MM-DD
    """
    return date.fromisoformat(day).strftime("%A")
