"""The loopback redirect target of a sign-in: ``http://127.0.0.1:PORT/callback`` (RFC 8252 §7.3).

Listens only while a sign-in is under way, on 127.0.0.1 only; the first request to ``/callback`` that
carries ``code`` or ``error`` ends the wait, and the browser is told it may close the tab.
"""

from __future__ import annotations

import asyncio
import html
from urllib.parse import parse_qs, urlsplit

CALLBACK_PATH = "/callback"
_PAGE = (
    "<!doctype html><meta charset=utf-8><title>agentkit</title>"
    "<body style='font-family:sans-serif;margin:3em'><h2>{title}</h2><p>{text}</p></body>"
)


def redirect_uri(port: int) -> str:
    return f"http://127.0.0.1:{port}{CALLBACK_PATH}"


class LoopbackReceiver:
    """One sign-in's redirect listener: ``async with LoopbackReceiver(port) as r: query = await r.wait()``."""

    def __init__(self, port: int):
        self.port = port
        self._server: asyncio.Server | None = None
        self._result: asyncio.Future[dict[str, str]] | None = None

    async def __aenter__(self) -> LoopbackReceiver:
        self._result = asyncio.get_running_loop().create_future()
        try:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        except OSError as exc:
            raise OSError(
                f"cannot listen on 127.0.0.1:{self.port} for the sign-in redirect ({exc.strerror}); "
                "free the port or set another `auth.redirect_port`"
            ) from None
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def wait(self) -> dict[str, str]:
        """The redirect's query parameters (``code``, ``state``, ``iss``, or ``error``)."""
        assert self._result is not None, "use LoopbackReceiver as an async context manager"
        return await asyncio.shield(self._result)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            target = request.split(b"\r\n", 1)[0].split(b" ")[1].decode("ascii", "replace")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, IndexError):
            writer.close()
            return
        parts = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path != CALLBACK_PATH or not ({"code", "error"} & set(query)):
            self._respond(writer, "404 Not Found", "Not found", "This is agentkit's sign-in redirect.")
        else:
            if "error" in query:
                why = query.get("error_description") or query["error"]
                self._respond(writer, "200 OK", "Sign-in failed", f"The server said: {why}")
            else:
                self._respond(writer, "200 OK", "Signed in", "agentkit is signed in. You may close this tab.")
            if self._result is not None and not self._result.done():
                self._result.set_result(query)
        try:
            await writer.drain()
        finally:
            writer.close()

    @staticmethod
    def _respond(writer: asyncio.StreamWriter, status: str, title: str, text: str) -> None:
        body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
        head = (
            f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + body)
