"""The ``httpx2.Auth`` that signs agentkit in to one MCP server, built on the ``mcp`` SDK's OAuth client.

The SDK does the protocol: protected-resource and authorization-server metadata discovery (with the
2025-03-26 fallbacks), scope selection and step-up, dynamic client registration or a client metadata
document, PKCE, the token request and refresh. This module supplies what the SDK leaves to the client:
where tokens live (``FileTokenStorage``), the loopback redirect target and the person in the loop (an
``AuthorizationHandler``), and the enterprise IdP token exchange of the ``jwt_bearer`` grant.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import webbrowser
from collections.abc import AsyncGenerator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx2
from mcp.client.auth import OAuthClientProvider, OAuthFlowError
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthMetadata,
    ProtectedResourceMetadata,
)
from pydantic import AnyUrl

from agentkit.mcp.oauth.loopback import LoopbackReceiver, redirect_uri
from agentkit.mcp.oauth.settings import OAuthSettings
from agentkit.mcp.oauth.storage import FileTokenStorage

AuthorizationHandler = Callable[[str, str], Awaitable["str | None"]]
"""``(server name, authorization URL) -> None | callback URL``: show the person the URL (open a browser).
Return None to let agentkit's loopback listener receive the redirect, or the URL the browser was sent
back to (it carries ``code`` and ``state``) when the redirect cannot reach this machine."""
Pause = Callable[[bool], None]
"""Called with True while a person is signing in (start timeouts stop counting), False after."""

_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
_ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
_ID_JAG = "urn:ietf:params:oauth:token-type:id-jag"


async def browser_sign_in(server: str, url: str) -> None:
    """The default ``AuthorizationHandler``: say what is happening, open the browser, wait for the redirect."""
    print(
        f"MCP server {server!r} asks you to sign in. Opening your browser; if it does not open, "
        f"visit this address:\n  {url}\nWaiting for the sign-in to finish (agentkit listens on 127.0.0.1 "
        "for the redirect)...",
        file=sys.stderr,
        flush=True,
    )
    # A thread: webbrowser may run a console browser that blocks until it exits.
    threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()


async def build_auth(
    name: str,
    url: str,
    settings: OAuthSettings,
    *,
    handler: AuthorizationHandler | None = None,
    pause: Pause | None = None,
) -> httpx2.Auth:
    """The auth for server ``name`` at ``url``: tokens from its file, a sign-in when the server asks."""
    storage = FileTokenStorage(name, url)
    if settings.grant == "client_credentials":
        return _client_credentials(url, settings, storage)
    if settings.grant == "jwt_bearer":
        return await _jwt_bearer(url, settings, storage)
    port = settings.redirect_port or _stored_port(storage) or _free_port()
    sign_in = _SignIn(name, port, settings, handler or browser_sign_in, pause or (lambda waiting: None))
    metadata = OAuthClientMetadata(
        client_name=settings.client_name,
        redirect_uris=[AnyUrl(redirect_uri(port))],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        scope=settings.scope,
        token_endpoint_auth_method=settings.token_endpoint_auth_method,  # type: ignore[arg-type]
    )
    return _StoredOAuth(
        url,
        metadata,
        storage,
        settings,
        redirect_handler=sign_in.redirect,
        callback_handler=sign_in.callback,
        client_metadata_url=settings.client_metadata_url,
    )


class _SignIn:
    """The person's part of one authorization-code sign-in: the URL shown, the redirect received."""

    def __init__(
        self, name: str, port: int, settings: OAuthSettings, handler: AuthorizationHandler, pause: Pause
    ):
        self.name, self.port, self.settings, self.handler, self.pause = name, port, settings, handler, pause
        self._result: AuthorizationCodeResult | None = None

    async def redirect(self, authorization_url: str) -> None:
        self._result = None
        async with LoopbackReceiver(self.port) as receiver:
            self.pause(True)
            try:
                with anyio.fail_after(self.settings.timeout):
                    answer = await self.handler(self.name, authorization_url)
                    query = _query(answer) if answer else await receiver.wait()
            except TimeoutError:
                raise OAuthFlowError(
                    f"the sign-in was not finished within {self.settings.timeout:g} s (auth.timeout)"
                ) from None
            finally:
                self.pause(False)
        if "error" in query:
            why = query.get("error_description") or query["error"]
            raise OAuthFlowError(f"the authorization server refused the sign-in: {why}")
        if not query.get("code"):
            raise OAuthFlowError("the redirect after the sign-in carried no authorization code")
        self._result = AuthorizationCodeResult(
            code=query["code"], state=query.get("state"), iss=query.get("iss")
        )

    async def callback(self) -> AuthorizationCodeResult:
        if self._result is None:
            raise OAuthFlowError("no authorization code was received")
        return self._result


class _StoredOAuth(OAuthClientProvider):
    """The SDK's provider, plus: a pre-registered client from the settings, the stored token's real expiry
    (so an old token is refreshed before it is sent) and the metadata a later run's refresh needs."""

    def __init__(
        self,
        url: str,
        metadata: OAuthClientMetadata,
        storage: FileTokenStorage,
        settings: OAuthSettings,
        **kw: Any,
    ):
        super().__init__(url, metadata, storage, **kw)
        self._file = storage
        self._settings = settings

    async def _initialize(self) -> None:
        await super()._initialize()
        context, settings = self.context, self._settings
        if settings.client_id and (
            context.client_info is None or context.client_info.client_id != settings.client_id
        ):
            method = settings.token_endpoint_auth_method or (
                "client_secret_basic" if settings.client_secret else "none"
            )
            context.client_info = OAuthClientInformationFull(
                client_id=settings.client_id,
                client_secret=settings.client_secret,
                redirect_uris=context.client_metadata.redirect_uris,
                token_endpoint_auth_method=method,  # type: ignore[arg-type]
                grant_types=context.client_metadata.grant_types,
            )
            context.current_tokens = None  # tokens of another client are of no use
        if context.current_tokens is not None:
            context.token_expiry_time = self._file.expires_at()
        stored = self._file.metadata()
        if stored.get("oauth") and context.oauth_metadata is None:
            context.oauth_metadata = OAuthMetadata.model_validate(stored["oauth"])
        if stored.get("resource") and context.protected_resource_metadata is None:
            context.protected_resource_metadata = ProtectedResourceMetadata.model_validate(stored["resource"])
            context.auth_server_url = stored.get("auth_server_url")

    async def _auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        """The SDK's flow, with one leniency for 2025-03-26 servers (no protected-resource metadata): their
        root authorization-server metadata may name an issuer under a path of the same origin
        (``https://host/oauth``); RFC 8414 wants the issuer to equal the origin, so such a server could not
        be signed in to at all. Only then, and only within the MCP server's own origin, is it accepted."""
        flow = super()._auth_flow(request)
        try:
            outgoing = await flow.__anext__()
            while True:
                response = yield outgoing
                if outgoing is not request and self.context.auth_server_url is None:
                    response = await _same_origin_legacy_issuer(self.context.server_url, outgoing, response)
                outgoing = await flow.asend(response)
        except StopAsyncIteration:
            return
        finally:
            await flow.aclose()

    async def _handle_token_response(self, response: httpx2.Response) -> None:
        await super()._handle_token_response(response)
        self._remember_metadata()

    async def _handle_refresh_response(self, response: httpx2.Response) -> bool:
        ok = await super()._handle_refresh_response(response)
        if ok:
            self._remember_metadata()
        return ok

    def _remember_metadata(self) -> None:
        context = self.context
        self._file.set_metadata(
            {
                "oauth": context.oauth_metadata.model_dump(mode="json", exclude_none=True)
                if context.oauth_metadata
                else None,
                "resource": context.protected_resource_metadata.model_dump(mode="json", exclude_none=True)
                if context.protected_resource_metadata
                else None,
                "auth_server_url": context.auth_server_url,
            }
        )


async def _same_origin_legacy_issuer(
    server_url: str, request: httpx2.Request, response: httpx2.Response
) -> httpx2.Response:
    """``response`` to a root ``/.well-known/oauth-authorization-server`` request of the MCP server's origin,
    with an issuer on that origin but under a path rewritten to the origin (see ``_StoredOAuth._auth_flow``)."""
    origin = f"{request.url.scheme}://{request.url.netloc.decode()}"
    if (
        request.url.path != "/.well-known/oauth-authorization-server"
        or response.status_code != 200
        or not server_url.startswith(origin + "/")
    ):
        return response
    try:
        body = json.loads(await response.aread())
    except ValueError:
        return response
    issuer = body.get("issuer") if isinstance(body, dict) else None
    if not isinstance(issuer, str) or not issuer.startswith(origin + "/") or issuer.rstrip("/") == origin:
        return response
    headers = {
        k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-encoding")
    }
    return httpx2.Response(200, headers=headers, json={**body, "issuer": origin}, request=request)


def _client_credentials(url: str, settings: OAuthSettings, storage: FileTokenStorage) -> httpx2.Auth:
    from mcp.client.auth.extensions.client_credentials import (
        ClientCredentialsOAuthProvider,
        PrivateKeyJWTOAuthProvider,
        SignedJWTParameters,
    )

    assert settings.client_id is not None
    key = settings.private_key
    if key is None and settings.private_key_file is not None:
        key = Path(settings.private_key_file).expanduser().read_text(encoding="utf-8")
    if key is not None:
        signer = SignedJWTParameters(
            issuer=settings.client_id,
            subject=settings.client_id,
            signing_key=key,
            signing_algorithm=settings.signing_algorithm,
        )
        return PrivateKeyJWTOAuthProvider(
            url,
            storage,
            settings.client_id,
            signer.create_assertion_provider(),
            scope=settings.scope,
            issuer=settings.issuer,
        )
    assert settings.client_secret is not None
    method = settings.token_endpoint_auth_method or "client_secret_basic"
    return ClientCredentialsOAuthProvider(
        url,
        storage,
        settings.client_id,
        settings.client_secret,
        token_endpoint_auth_method=method,  # type: ignore[arg-type]
        scope=settings.scope,
        issuer=settings.issuer,
    )


async def _jwt_bearer(url: str, settings: OAuthSettings, storage: FileTokenStorage) -> httpx2.Auth:
    """Enterprise cross-app access (SEP-990): the IdP's ID token → an ID-JAG (RFC 8693 token exchange at the
    IdP) → an access token from the MCP server's authorization server (RFC 7523 jwt-bearer grant)."""
    from mcp.client.auth.extensions.identity_assertion import IdentityAssertionOAuthProvider

    issuer = settings.issuer or await _discover_issuer(url)

    async def id_jag(audience: str, resource: str) -> str:
        form = {
            "grant_type": _TOKEN_EXCHANGE,
            "subject_token": settings.id_token or "",
            "subject_token_type": _ID_TOKEN,
            "requested_token_type": _ID_JAG,
            "audience": audience,
            "resource": resource,
        }
        if settings.scope:
            form["scope"] = settings.scope
        if settings.idp_client_id:
            form["client_id"] = settings.idp_client_id
        async with httpx2.AsyncClient(timeout=30) as client:
            response = await client.post(settings.idp_token_endpoint or "", data=form)
        if response.status_code != 200:
            raise OAuthFlowError(
                f"the IdP refused the token exchange (HTTP {response.status_code}): {response.text[:300]}"
            )
        token = response.json().get("access_token")
        if not isinstance(token, str):
            raise OAuthFlowError("the IdP's token exchange answer has no access_token (the ID-JAG)")
        return token

    method = settings.token_endpoint_auth_method or "client_secret_basic"
    return IdentityAssertionOAuthProvider(
        url,
        storage,
        settings.client_id or "",
        settings.client_secret or "",
        issuer,
        id_jag,
        scope=settings.scope,
        token_endpoint_auth_method=method,  # type: ignore[arg-type]
    )


async def _discover_issuer(url: str) -> str:
    """The first authorization server the MCP server's protected-resource metadata names (RFC 9728)."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    candidates = [f"{origin}/.well-known/oauth-protected-resource{path}"] if path else []
    candidates.append(f"{origin}/.well-known/oauth-protected-resource")
    async with httpx2.AsyncClient(timeout=30) as client:
        for candidate in candidates:
            response = await client.get(candidate)
            if response.status_code == 200:
                servers = response.json().get("authorization_servers") or []
                if servers:
                    return str(servers[0])
    raise OAuthFlowError(
        f"found no authorization server for {url} in its protected-resource metadata; set `auth.issuer`"
    )


def _stored_port(storage: FileTokenStorage) -> int | None:
    """The loopback port of the redirect URI the stored registration was made with."""
    info = storage._read().get("client_info") or {}
    for uri in info.get("redirect_uris") or []:
        parts = urlsplit(str(uri))
        if parts.hostname == "127.0.0.1" and parts.port:
            return parts.port
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _query(url: str) -> dict[str, str]:
    """The query parameters of the URL the browser came back to (or of a bare ``code=...&state=...``)."""
    text = urlsplit(url).query if "?" in url else url
    return {k: v[0] for k, v in parse_qs(text).items()}
