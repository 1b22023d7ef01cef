"""Parse Qwen3 output, whole or streaming: reasoning, content and tool calls (hermes JSON or Coder XML).

One code path: ``parse_output`` feeds the whole text to an ``OutputParser`` and closes it, so a
streamed parse ends with exactly the same result for any chunking. The parser holds back only a
bounded tail that may be the start of a tag, plus whitespace whose fate depends on what follows; a
tool call's body is scanned once as it arrives and parsed once when it closes, so the cost is linear
in the output length.

Events, in order: ``ReasoningDelta`` / ``ContentDelta`` text (never a partial tag);
``ToolCallStarted`` as soon as a call's name is known; ``ToolCallArgsDelta`` with the raw text of a
hermes call's ``arguments`` value as the model writes it (for a double-encoded or repaired call this
is the model's text, not the final JSON; an XML call gets one delta with its JSON at the end); then
``ToolCallComplete`` or ``ToolCallInvalid``. For a valid call the args deltas concatenate to
``raw_arguments`` whenever the model wrote valid JSON. A tentative call inside the think block (see
``parse_output``) emits its events only once it is known to be a call.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from agentkit.qwen3.hermes_calls import HermesScanner, parse_hermes_body
from agentkit.qwen3.text_sinks import ContentSink, ReasoningSink
from agentkit.qwen3.tool_check import ParsedCall, ToolChecker
from agentkit.qwen3.types import (
    InvalidToolCall,
    ParsedOutput,
    ParseEvent,
    ToolCall,
    ToolCallArgsDelta,
    ToolCallComplete,
    ToolCallInvalid,
    ToolCallStarted,
)
from agentkit.qwen3.xml_calls import FUNCTION_OPEN, function_name, parse_xml_body

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
FUNCTION_CLOSE = "</function>"
TOOL_FORMATS = ("hermes", "xml")
_NAME_HEAD_LIMIT = 512

_NON_SPACE = re.compile(r"\S")
_START, _REASONING, _R_CALL, _R_AFTER, _CONTENT, _CALL = range(6)


def _default_id(_index: int) -> str:
    return "call_" + secrets.token_hex(8)


class _OpenCall:
    """A tool call being read: its body so far and what streaming has reported of it."""

    __slots__ = (
        "chunks",
        "xml",
        "bare",
        "closed",
        "scanner",
        "head",
        "started",
        "pending_args",
        "args_sent",
        "index",
        "id",
        "ws_before",
        "prose",
        "block",
        "skipped_close",
    )

    def __init__(self, *, bare_xml: bool = False, index: int = -1, call_id: str = "") -> None:
        self.chunks: list[str] = []
        self.xml: bool | None = True if bare_xml else None  # None until the body's first character tells
        self.bare = bare_xml
        self.closed = False
        self.scanner = HermesScanner()
        self.head: str | None = ""  # XML: the text before <function=NAME> is complete
        self.started = False
        self.pending_args: list[str] = []
        self.args_sent = False
        self.index = index
        self.id = call_id
        self.ws_before = ""
        self.prose = False  # the body does not start like a call: the <tool_call> was a mention
        self.block = False  # the <tool_call> starts a line of the answer: closed, it is a call attempt
        self.skipped_close: int | None = None  # body offset of the first </tool_call> read as value text

    def add(self, text: str) -> tuple[str | None, str]:
        """Append body text; return (name if it just became known, new arguments text)."""
        if not text:
            return None, ""
        self.chunks.append(text)
        if self.xml is None:
            if text.isspace():
                return None, ""
            first = text.lstrip()[0]
            self.xml = first == "<"
            self.prose = first not in "{<"
            text = self.body()  # the scanner also counts the whitespace before
        if self.prose:
            return None, ""
        if not self.xml:
            return self.scanner.feed(text)
        if self.head is not None and len(self.head) < _NAME_HEAD_LIMIT:
            self.head += text
            name = function_name(self.head)
            if name is not None:
                self.head = None
                return name, ""
        return None, ""

    def body(self) -> str:
        return "".join(self.chunks)

    def in_value(self) -> bool:
        """Whether the body so far ends inside an argument value, where tags are text: a JSON string
        of a hermes call, or an open ``<parameter=...>`` value of an XML call."""
        if self.prose or self.xml is None:
            return False
        if not self.xml:
            return self.scanner.quote is not None and not self.scanner.done
        body = self.body()
        opened = body.rfind("<parameter=")
        return opened > body.rfind("</parameter>") and body.find("</function>", opened) < 0

    def raw(self) -> str:
        """The call as written, for when it turns out to be prose."""
        return self.ws_before + CALL_OPEN + self.body() + (CALL_CLOSE if self.closed else "")


class OutputParser:
    """Incremental parser of one assistant turn. ``feed`` deltas, then ``close``, then ``result``.

    ``id_factory(index)`` makes call ids (default ``call_`` + random hex).
    """

    def __init__(
        self,
        tools: Iterable[Any] | None = None,
        tool_format: str = "hermes",
        thinking: bool = True,
        id_factory: Callable[[int], str] | None = None,
    ) -> None:
        if tool_format not in TOOL_FORMATS:
            raise ValueError(f"tool_format must be 'hermes' or 'xml' (Qwen3-Coder), got {tool_format!r}")
        self._checker = ToolChecker(tools)
        self._xml = tool_format == "xml"
        self._new_id = id_factory or _default_id
        self._events: list[ParseEvent] = []
        self._reasoning = ReasoningSink(self._events)
        self._content = ContentSink(self._events, skip_leading_newlines=thinking)
        self._buf = ""  # text not yet consumed starts at self._pos
        self._pos = 0
        self._state = _START if thinking else _CONTENT
        self._call: _OpenCall | None = None
        self._chain: list[_OpenCall] = []  # complete tentative calls inside the think block
        self._ws = ""  # whitespace after the last tentative call
        self._next_index = 0
        self._valid: list[ToolCall] = []
        self._invalid: list[InvalidToolCall] = []
        self._reasoning_truncated = False
        self._call_truncated = False
        self._closed = False
        self._content_tags = (CALL_OPEN, FUNCTION_OPEN) if self._xml else (CALL_OPEN,)
        self._line_start = True  # the answer text so far is empty or ends a line (spaces aside)
        self._steps = self._step_table()

    def feed(self, delta: str) -> list[ParseEvent]:
        """Consume more output text; return the events it completes."""
        if self._closed:
            raise RuntimeError("OutputParser.feed() after close(): start a new parser for a new turn")
        if "<" not in delta and self._pos == len(self._buf):  # plain text, nothing held: the usual chunk
            state = self._state
            if state == _REASONING:
                self._reasoning.write(delta)
                return self._take_events()
            if state == _CONTENT:
                self._write_content(delta)
                return self._take_events()
        self._buf = self._buf[self._pos :] + delta if self._pos else self._buf + delta
        self._pos = 0
        self._run(eof=False)
        return self._take_events()

    def close(self) -> list[ParseEvent]:
        """End of output: flush held text, finish or report any open call; return the last events."""
        if self._closed:
            return []
        self._run(eof=True)
        self._finish_at_eof()
        self._closed = True
        return self._take_events()

    def result(self) -> ParsedOutput:
        """The parsed turn; available after ``close()``."""
        if not self._closed:
            raise RuntimeError("OutputParser.result() before close(): call close() when the output has ended")
        return ParsedOutput(
            content=self._content.text,
            reasoning_content=self._reasoning.text,
            tool_calls=list(self._valid),
            invalid_tool_calls=list(self._invalid),
            reasoning_truncated=self._reasoning_truncated,
            tool_call_truncated=self._call_truncated,
        )

    def _take_events(self) -> list[ParseEvent]:
        if not self._events:
            return []
        events = self._events[:]
        self._events.clear()
        return events

    # -- the state machine: each step consumes what it can decide on, returns True to go on -----

    def _run(self, *, eof: bool) -> None:
        """Advance the state machine as far as the buffered text allows."""
        while self._steps[self._state](eof):
            pass

    def _step_table(self) -> dict[int, Callable[[bool], bool]]:
        return {
            _START: self._step_start,
            _REASONING: self._step_reasoning,
            _R_CALL: self._step_tentative_call,
            _R_AFTER: self._step_after_tentative,
            _CONTENT: self._step_content,
            _CALL: self._step_call,
        }

    def _step_start(self, eof: bool) -> bool:
        buf, i = self._buf, self._pos
        while i < len(buf) and buf[i] == "\n":
            i += 1
        if buf.startswith(THINK_OPEN, i):
            self._pos = i + len(THINK_OPEN)
        elif not eof and self._could_be(THINK_OPEN, i):
            return False
        self._state = _REASONING
        return True

    def _step_reasoning(self, eof: bool) -> bool:
        tag, text = self._scan((THINK_CLOSE, CALL_OPEN), eof)
        self._reasoning.write(text)
        if tag == THINK_CLOSE:
            self._end_reasoning()
        elif tag == CALL_OPEN:
            self._call = _OpenCall()
            self._state = _R_CALL
        return tag is not None

    def _step_tentative_call(self, eof: bool) -> bool:
        call = self._call
        assert call is not None
        start = self._pos
        tag, text = self._scan((CALL_CLOSE, THINK_CLOSE, CALL_OPEN), eof)
        call.add(text)
        if call.prose:  # "<tool_call>" mentioned in the reasoning: read on as reasoning
            self._tentative_to_prose(call.ws_before + CALL_OPEN + self._unread(call, start))
            return True
        if tag == CALL_CLOSE:
            call.closed = True
            self._chain.append(call)
            self._call, self._ws = None, ""
            self._state = _R_AFTER
        elif tag is not None:  # an unclosed <tool_call> in the reasoning is prose
            self._tentative_to_prose(call.raw())
            if tag == THINK_CLOSE:
                self._end_reasoning()
            else:
                self._call = _OpenCall()
                self._state = _R_CALL
        return tag is not None

    def _step_after_tentative(self, eof: bool) -> bool:
        buf = self._buf
        found = _NON_SPACE.search(buf, self._pos)
        start = found.start() if found else len(buf)
        self._ws += buf[self._pos : start]
        self._pos = start
        if buf.startswith(CALL_OPEN, start):
            self._pos = start + len(CALL_OPEN)
            self._call = _OpenCall()
            self._call.ws_before, self._ws = self._ws, ""
            self._state = _R_CALL
        elif buf.startswith(THINK_CLOSE, start):  # calls that are the last thing before </think>: meant
            self._pos = start + len(THINK_CLOSE)
            self._recover_chain(lambda parsed: parsed.error is None)
            self._end_reasoning()
        elif not eof and (self._could_be(CALL_OPEN, start) or self._could_be(THINK_CLOSE, start)):
            return False
        elif start < len(buf):  # reasoning goes on after the calls: they were prose
            self._tentative_to_prose(self._ws)
        else:
            return False
        return True

    def _could_be(self, tag: str, start: int) -> bool:
        """Whether the buffered text from ``start`` is empty or the start of ``tag``."""
        rest = len(self._buf) - start
        return rest < len(tag) and tag.startswith(self._buf[start:])

    def _step_content(self, eof: bool) -> bool:
        tag, text = self._scan(self._content_tags, eof)
        self._write_content(text)
        if tag is None:
            return False
        self._open_call(bare_xml=tag == FUNCTION_OPEN)
        return True

    def _write_content(self, text: str) -> None:
        """Answer text: to the content sink, noting whether it ends a line (for call blocks)."""
        if text:
            self._content.write(text)
            stripped = text.rstrip(" \t")
            if stripped:
                self._line_start = stripped.endswith("\n")

    def _step_call(self, eof: bool) -> bool:
        call = self._call
        assert call is not None
        bare = call.bare
        start = self._pos
        tags = (FUNCTION_CLOSE,) if bare else (CALL_CLOSE, CALL_OPEN)
        while True:
            tag, text = self._scan(tags, eof)
            name, args = call.add(text + (FUNCTION_CLOSE if bare and tag else ""))
            if call.prose and not call.block:  # "<tool_call>" mentioned in the text: read on as content
                self._content.write(CALL_OPEN + self._unread(call, start))
                self._state = _CONTENT
                return True
            if call.xml is not None and not call.prose:
                self._confirm(call)
            self._stream(call, name, args)
            if tag is None or bare or not call.in_value():
                break
            if tag == CALL_CLOSE and call.skipped_close is None:  # a tag inside a value is its text
                call.skipped_close = len(call.body())
            self._stream(call, *call.add(tag))
        if tag is None:
            if eof and call.skipped_close is not None:
                self._close_at_skipped(call)
                return True
            return False
        if call.prose and tag == CALL_OPEN:  # a new call opens: the unclosed block was a mention
            self._content.write(CALL_OPEN + call.body())
            self._call = None
        else:
            self._finish_call(call, closed=True)
        self._line_start = True
        if tag == CALL_OPEN:  # a new call opens before this one closed
            self._open_call(bare_xml=False)
        else:
            self._state = _CONTENT
        return True

    def _close_at_skipped(self, call: _OpenCall) -> None:
        """The output ended inside a value: the first ``</tool_call>`` read as value text was the close
        after all (a value with an unbalanced quote); the text after it is read again as content."""
        body = call.body()
        cut = call.skipped_close
        assert cut is not None
        call.chunks, call.scanner = [body[:cut]], HermesScanner()
        if not call.xml:
            call.scanner.feed(body[:cut])
        self._finish_call(call, closed=True)
        self._buf, self._pos = body[cut + len(CALL_CLOSE) :], 0
        self._state, self._line_start = _CONTENT, True

    def _unread(self, call: _OpenCall, start: int) -> str:
        """Drop a call that turned out to be a mention: rewind to where this step's text began (it is
        read again as plain text) and return the whitespace read before it in earlier steps. The
        step that decides is the one holding the body's first non-space character."""
        self._pos = start
        self._call = None
        return "".join(call.chunks[:-1])

    def _scan(self, tags: tuple[str, ...], eof: bool) -> tuple[str | None, str]:
        """Consume the buffer up to the first of ``tags`` (return it and the text before it), or up to
        a tail that might be the start of one (at end of output, up to the end)."""
        buf, pos = self._buf, self._pos
        i = buf.find("<", pos)  # every tag starts with "<": each "<" is looked at once
        while i >= 0:
            for tag in tags:
                if buf.startswith(tag, i):
                    self._pos = i + len(tag)
                    return tag, buf[pos:i]
            i = buf.find("<", i + 1)
        end = len(buf) if eof else len(buf) - _partial_tag_tail(buf, pos, tags)
        self._pos = end
        return None, buf[pos:end]

    # -- calls ------------------------------------------------------------------------------------

    def _open_call(self, *, bare_xml: bool) -> None:
        call = _OpenCall(bare_xml=bare_xml)
        call.block = self._line_start
        if bare_xml:
            call.add(FUNCTION_OPEN)
        self._call = call
        self._state = _CALL

    def _confirm(self, call: _OpenCall) -> None:
        """The call is a call: give it the next index and id, and end the content segment before it."""
        if call.index < 0:
            call.index = self._next_index
            self._next_index += 1
            call.id = self._new_id(call.index)
            self._content.call_boundary()

    def _stream(self, call: _OpenCall, name: str | None, args: str) -> None:
        if name is not None and not call.started:
            call.started = True
            self._events.append(ToolCallStarted(call.index, call.id, name))
        if args:
            call.pending_args.append(args)
        if call.started and call.pending_args:
            for text in call.pending_args:
                self._events.append(ToolCallArgsDelta(call.index, text))
            call.args_sent = True
            call.pending_args.clear()

    def _parse(self, call: _OpenCall, *, closed: bool) -> ParsedCall:
        body = call.body()
        if call.xml or (call.prose and self._xml):
            name = function_name(body)
            return parse_xml_body(body, self._checker.schema(name) if name else None, closed=closed)
        return parse_hermes_body(body, call.scanner, closed=closed)

    def _finish_call(self, call: _OpenCall, *, closed: bool, parsed: ParsedCall | None = None) -> None:
        if parsed is None:
            self._confirm(call)
            parsed = self._parse(call, closed=closed)
        judged = self._checker.judge(parsed, index=call.index, call_id=call.id)
        if isinstance(judged, ToolCall):
            self._stream(call, judged.name, "")
            if not call.args_sent:
                self._stream(call, None, judged.raw_arguments)
            self._valid.append(judged)
            self._events.append(ToolCallComplete(judged))
        else:
            self._call_truncated = self._call_truncated or parsed.truncated
            self._invalid.append(judged)
            self._events.append(ToolCallInvalid(judged))
        self._call = None

    def _recover_chain(self, accept: Callable[[ParsedCall], bool]) -> bool:
        """Turn the longest accepted tail of the tentative chain into calls; the rest is prose.
        Returns whether any call was recovered."""
        parsed = [self._parse(c, closed=True) for c in self._chain]
        keep = len(parsed)
        while keep and accept(parsed[keep - 1]):
            keep -= 1
        for call in self._chain[:keep]:
            self._reasoning.write(call.raw())
        recovered = list(zip(self._chain[keep:], parsed[keep:]))
        self._chain = []
        self._ws = ""
        for call, one in recovered:
            self._confirm(call)
            self._finish_call(call, closed=True, parsed=one)
        return bool(recovered)

    def _tentative_to_prose(self, tail: str) -> None:
        for call in self._chain:
            self._reasoning.write(call.raw())
        self._chain = []
        self._ws = ""
        self._reasoning.write(tail)
        self._state = _REASONING

    def _end_reasoning(self) -> None:
        self._reasoning.end()
        self._state = _CONTENT
        self._line_start = True

    def _finish_at_eof(self) -> None:
        state = self._state
        if state == _CALL:
            assert self._call is not None
            if self._call.prose:  # an unclosed block that does not start like a call is a mention
                self._content.write(CALL_OPEN + self._call.body())
                self._call = None
            else:
                self._finish_call(self._call, closed=False)
        elif state in (_R_CALL, _R_AFTER):
            open_call = self._call if state == _R_CALL else None
            if open_call is not None and not self._parse(open_call, closed=False).truncated:
                self._chain.append(open_call)
                open_call = None
            tail = open_call.raw() if open_call is not None else self._ws
            if open_call is not None or not self._recover_chain(self._is_valid):
                self._tentative_to_prose(tail)
                self._reasoning_truncated = True
            self._reasoning.end()
        elif state in (_START, _REASONING):
            self._reasoning.end()
            self._reasoning_truncated = True
        if state in (_CALL, _CONTENT):
            self._content.end()

    def _is_valid(self, parsed: ParsedCall) -> bool:
        return isinstance(self._checker.judge(parsed, index=0, call_id=""), ToolCall)


def _partial_tag_tail(buf: str, pos: int, tags: tuple[str, ...]) -> int:
    """Length of the longest tail of ``buf[pos:]`` that is a proper prefix of one of ``tags``."""
    lt = buf.rfind("<", max(pos, len(buf) - 12))
    if lt < 0:
        return 0
    tail = buf[lt:]
    return len(tail) if any(tag.startswith(tail) and tag != tail for tag in tags) else 0


def parse_output(
    text: str,
    *,
    tools: Iterable[Any] | None = None,
    tool_format: str = "hermes",
    thinking: bool = True,
    id_factory: Callable[[int], str] | None = None,
) -> ParsedOutput:
    """Parse one complete assistant turn.

    ``thinking=True``: the text is reasoning up to ``</think>`` (a leading ``<think>`` is optional, as
    in Thinking-2507 output); without ``</think>`` the reasoning was cut off (``reasoning_truncated``),
    unless it ends with complete valid calls, which are recovered. A ``<tool_call>`` inside the think
    block is prose, except complete calls that are the last thing before ``</think>``.
    ``thinking=False``: everything is content. Tags inside an argument value (a JSON string, an open
    XML ``<parameter=>`` value) are text. A ``<tool_call>`` whose body does not start like a call
    (``{``, or ``<function=`` for XML) is a mention in prose and stays text, unless it starts a line
    and its ``</tool_call>`` comes: that block is a call attempt, reported as invalid. Broken calls go
    to ``invalid_tool_calls`` with an error written for the model; they never drop the other calls.
    """
    parser = OutputParser(tools, tool_format, thinking, id_factory)
    parser.feed(text)
    parser.close()
    return parser.result()
