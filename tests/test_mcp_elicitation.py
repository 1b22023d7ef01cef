"""The CLI's elicitation handler: an MCP server's question asked on the terminal, field by field."""

import io
import threading
import time

import anyio
import pytest
from rich.console import Console

from agentkit.mcp.elicitation import NO_TERMINAL, terminal_elicitation

pytestmark = pytest.mark.anyio

SCHEMA = {  # the shapes MCP elicitation allows (server-everything asks for all of them)
    "type": "object",
    "properties": {
        "name": {"type": "string", "title": "Name", "description": "Your full name"},
        "check": {"type": "boolean"},
        "line": {"type": "string", "default": "It was a dark and stormy night."},
        "age": {"type": "integer", "minimum": 1, "maximum": 100, "default": 42},
        "score": {"type": "number"},
        "friend": {"type": "string", "enum": ["Monica", "Rachel", "Joey"]},
        "hero": {"type": "string", "oneOf": [{"const": "hero-1", "title": "Superman"}, {"const": "hero-2"}]},
        "pet": {"type": "string", "enum": ["pet-1", "pet-2"], "enumNames": ["Cats", "Dogs"]},
        "tools": {
            "type": "array",
            "maxItems": 2,
            "items": {"anyOf": [{"const": "g", "title": "Guitar"}, {"const": "p", "title": "Piano"}]},
        },
        "note": {"type": "string"},
    },
    "required": ["name", "score"],
}


def handler(*lines: str, interactive: bool = True):
    screen = io.StringIO()
    feed = iter([line + "\n" for line in lines])
    elicit = terminal_elicitation(
        Console(file=screen, width=200), interactive=interactive, readline=lambda: next(feed, "")
    )
    return elicit, screen


async def test_fields_are_asked_one_by_one_until_valid():
    elicit, screen = handler(
        "y",
        "", "Ada",               # name: required, asked again
        "maybe", "yes",          # check
        "",                      # line: the default
        "500", "7",              # age: out of range, then fine
        "abc", "2.5",            # score
        "rachel",                # friend: by label, any case
        "1",                     # hero: by number
        "Dogs",                  # pet: enumNames label → its value
        "1,2,1", "Piano, 1",     # tools: too many, then by label and number
        "",                      # note: optional, left out
    )  # fmt: skip
    answer = await elicit("Who are you?", SCHEMA)
    assert answer == {
        "name": "Ada",
        "check": True,
        "line": "It was a dark and stormy night.",
        "age": 7,
        "score": 2.5,
        "friend": "Rachel",
        "hero": "hero-1",
        "pet": "pet-2",
        "tools": ["p", "g"],
    }
    shown = screen.getvalue()
    assert "An MCP server asks: Who are you?" in shown
    assert "Name — Your full name (required)" in shown and "an answer is required" in shown
    assert (
        "answer y or n" in shown and "must be between 1 and 100" in shown and "not a number: 'abc'" in shown
    )
    assert "1) Superman, 2) hero-2" in shown and "[It was a dark and stormy night.]" in shown
    assert "choose 0 to 2 items" in shown


async def test_declined_or_input_ended_is_none():
    elicit, _ = handler("n")
    assert await elicit("Share?", SCHEMA) is None
    elicit, _ = handler("y", "Ada")  # stdin ends mid-way
    assert await elicit("Share?", SCHEMA) is None


async def test_without_a_terminal_the_request_is_refused_with_the_reason():
    elicit, screen = handler(interactive=False)
    with pytest.raises(RuntimeError) as info:
        await elicit("Share?", SCHEMA)
    assert str(info.value) == NO_TERMINAL and "no terminal" in NO_TERMINAL
    assert screen.getvalue() == ""


async def test_a_pending_question_does_not_hold_up_cancellation():
    """Ctrl-C while the user has not answered: the run stops at once instead of waiting for Enter."""
    never = threading.Event()
    elicit = terminal_elicitation(
        Console(file=io.StringIO()), interactive=True, readline=lambda: never.wait(5) and ""
    )
    started = time.monotonic()
    with anyio.move_on_after(0.2):
        await elicit("Share?", SCHEMA)
    assert time.monotonic() - started < 1
    never.set()
