"""Bearer-token protection for the HTTP server: every HTTP request must carry ``Authorization: Bearer <token>``."""

from __future__ import annotations

import json
import secrets
from typing import Any

Scope = dict[str, Any]


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


class BearerAuth:
    """ASGI middleware: a request without the right bearer token gets 401 and never reaches the app."""

    def __init__(self, app: Any, token: str):
        if not token:
            raise ValueError("the bearer token is empty; pass a non-empty token or let one be generated")
        self.app = app
        self._expected = token.encode()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self._authorized(scope):
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {
                "error": "invalid_token",
                "error_description": "missing or wrong bearer token: send 'Authorization: Bearer <token>' "
                "with the token this server printed at start (or was given with --token)",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="agentkit", error="invalid_token"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _authorized(self, scope: Scope) -> bool:
        for key, value in scope.get("headers", ()):
            if key == b"authorization":
                scheme, _, credentials = value.partition(b" ")
                # RFC 7235: the scheme is case-insensitive ("bearer", "BEARER" are "Bearer")
                return scheme.lower() == b"bearer" and secrets.compare_digest(
                    credentials.strip(), self._expected
                )
        return False
