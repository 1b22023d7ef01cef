"""A server's ``auth:`` setting read into ``OAuthSettings``. Imports nothing heavy (the config reader uses it).

``auth:`` absent: an HTTP server that answers 401 is signed in to with OAuth 2.1 (authorization code + PKCE
in the browser, dynamic client registration), unless its ``headers`` already carry an ``Authorization``.
``auth: none`` (or ``false``): never. A mapping picks the grant and gives pre-registered credentials.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Grant = Literal["authorization_code", "client_credentials", "jwt_bearer"]
GRANTS: tuple[Grant, ...] = ("authorization_code", "client_credentials", "jwt_bearer")
DEFAULT_SIGN_IN_TIMEOUT = 300.0

_STRING_KEYS = (
    "client_id", "client_secret", "scope", "client_metadata_url", "token_endpoint_auth_method",
    "private_key", "private_key_file", "signing_algorithm", "issuer", "id_token", "idp_token_endpoint",
    "idp_client_id", "client_name",
)  # fmt: skip
_AUTH_METHODS = ("none", "client_secret_basic", "client_secret_post", "private_key_jwt")


@dataclass(frozen=True, slots=True)
class OAuthSettings:
    """How agentkit signs in to one MCP server over OAuth."""

    enabled: bool = True
    grant: Grant = "authorization_code"
    """``authorization_code`` (a person signs in in the browser), ``client_credentials`` (a service's own
    credentials: ``client_secret``, or ``private_key`` for private_key_jwt), or ``jwt_bearer`` (enterprise
    cross-app access: an IdP ``id_token`` exchanged for an ID-JAG at ``idp_token_endpoint``)."""
    client_id: str | None = None
    """A pre-registered client; without it agentkit registers itself (dynamic client registration)."""
    client_secret: str | None = None
    scope: str | None = None
    """Scopes to ask for; by default those the server's challenge or metadata name."""
    client_metadata_url: str | None = None
    """An HTTPS URL of agentkit's client metadata document (CIMD), used as the client id where supported."""
    token_endpoint_auth_method: str | None = None
    redirect_port: int | None = None
    """The loopback port of the redirect URI (``http://127.0.0.1:PORT/callback``); free one by default."""
    timeout: float = DEFAULT_SIGN_IN_TIMEOUT
    """Seconds to wait for the person to finish signing in."""
    private_key: str | None = None
    private_key_file: str | None = None
    signing_algorithm: str = "RS256"
    issuer: str | None = None
    """The authorization server the credentials belong to (discovered when not given)."""
    id_token: str | None = None
    idp_token_endpoint: str | None = None
    idp_client_id: str | None = None
    client_name: str = "agentkit"


NO_OAUTH = OAuthSettings(enabled=False)


def parse_auth(where: str, value: Any, expand: Callable[[Any, str], str]) -> OAuthSettings:
    """``auth:`` of one server. ``expand`` fills in ``${VAR}``s. Raises ``ValueError`` naming the fix."""
    if value is None or value is True or value == "oauth":
        return OAuthSettings()
    if value is False or value == "none":
        return NO_OAUTH
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: `auth` must be none, oauth or a mapping (client_id, scope, grant, ...)")
    known = {*_STRING_KEYS, "grant", "redirect_port", "timeout"}
    unknown = sorted(str(k) for k in value if k not in known)
    if unknown:
        raise ValueError(f"{where}: unknown `auth` setting {unknown[0]!r}; known: {', '.join(sorted(known))}")
    fields: dict[str, Any] = {
        k: expand(value[k], f"auth.{k}") for k in _STRING_KEYS if value.get(k) is not None
    }
    grant = value.get("grant", "authorization_code")
    if grant not in GRANTS:
        raise ValueError(f"{where}: `auth.grant` must be one of {', '.join(GRANTS)}, got {grant!r}")
    method = fields.get("token_endpoint_auth_method")
    if method is not None and method not in _AUTH_METHODS:
        raise ValueError(
            f"{where}: `auth.token_endpoint_auth_method` must be one of {', '.join(_AUTH_METHODS)}"
        )
    port = value.get("redirect_port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536):
        raise ValueError(f"{where}: `auth.redirect_port` must be a port number (1-65535), got {port!r}")
    timeout = value.get("timeout", DEFAULT_SIGN_IN_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ValueError(f"{where}: `auth.timeout` must be a positive number of seconds, got {timeout!r}")
    settings = OAuthSettings(grant=grant, redirect_port=port, timeout=float(timeout), **fields)
    _check_grant(where, settings)
    return settings


def _check_grant(where: str, s: OAuthSettings) -> None:
    if s.grant == "client_credentials":
        if not s.client_id or not (s.client_secret or s.private_key or s.private_key_file):
            raise ValueError(
                f"{where}: `auth.grant: client_credentials` needs `client_id` and `client_secret` "
                "(or `private_key` / `private_key_file` for private_key_jwt)"
            )
    elif s.grant == "jwt_bearer":
        missing = [
            k for k in ("client_id", "client_secret", "id_token", "idp_token_endpoint") if not getattr(s, k)
        ]
        if missing:
            raise ValueError(
                f"{where}: `auth.grant: jwt_bearer` needs {', '.join(f'`{m}`' for m in missing)}"
            )
    if s.client_metadata_url is not None and not s.client_metadata_url.startswith("https://"):
        raise ValueError(
            f"{where}: `auth.client_metadata_url` must be an https:// URL of the metadata document"
        )
