"""Bearer-token protection for the HTTP server: every MCP request must carry ``Authorization: Bearer <token>``.

The token is static (printed at start or given with ``--token``), not an OAuth access token, so the server
is no OAuth resource server: it publishes no protected-resource metadata (RFC 9728 requires an
authorization server in it) and its 401 names no ``resource_metadata``. The discovery documents and OAuth
endpoints an OAuth-capable client probes after a 401 answer ``404`` without a token, and every refusal
says what to send instead, so such a client ends on that hint rather than on a login page.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

Scope = dict[str, Any]

HINT = (
    "send 'Authorization: Bearer <token>' with the token this server printed at start (or was given "
    "with --token); it takes no OAuth"
)
# What an OAuth client looks for after a 401: well-known metadata (RFC 9728, RFC 8414, OpenID Connect
# discovery, at the root or after a path) and the default endpoints of the 2025-03-26 fallback.
_OAUTH_ENDPOINTS = ("/authorize", "/token", "/register")


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def is_oauth_probe(path: str) -> bool:
    """Whether ``path`` is an OAuth discovery document or endpoint (which this server does not have)."""
    return "/.well-known/" in path or path in _OAUTH_ENDPOINTS


class BearerAuth:
    """ASGI middleware: a request without the right bearer token gets 401 and never reaches the app."""

    def __init__(self, app: Any, token: str):
        if not token:
            raise ValueError("the bearer token is empty; pass a non-empty token or let one be generated")
        self.app = app
        self._expected = token.encode()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if is_oauth_probe(scope.get("path", "")):
            await _refuse(send, 404, "not_found", f"this server does not use OAuth: {HINT}", challenge=None)
            return
        sent = self._sent(scope)
        if sent is not None and secrets.compare_digest(sent, self._expected):
            await self.app(scope, receive, send)
            return
        if sent is None:  # RFC 6750 3.1: no error code when the request carried no credentials
            await _refuse(send, 401, "invalid_request", f"missing bearer token: {HINT}", challenge="")
        else:
            why = f"wrong bearer token: {HINT}"
            await _refuse(
                send,
                401,
                "invalid_token",
                why,
                challenge=f', error="invalid_token", error_description="{why}"',
            )

    def _sent(self, scope: Scope) -> bytes | None:
        for key, value in scope.get("headers", ()):
            if key == b"authorization":
                scheme, _, credentials = value.partition(b" ")
                # RFC 7235: the scheme is case-insensitive ("bearer", "BEARER" are "Bearer")
                return credentials.strip() if scheme.lower() == b"bearer" else value
        return None


async def _refuse(send: Any, status: int, error: str, description: str, *, challenge: str | None) -> None:
    """A JSON error ``{"error", "error_description"}``; ``challenge`` (not None) adds WWW-Authenticate."""
    body = json.dumps({"error": error, "error_description": description}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if challenge is not None:
        headers.append((b"www-authenticate", f'Bearer realm="agentkit"{challenge}'.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
