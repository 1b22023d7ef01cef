"""Tokens and client registrations kept per MCP server, in files only the user can read.

One JSON file per server (its name and a hash of its URL) under ``$AGENTKIT_MCP_AUTH_DIR`` or
``${XDG_CONFIG_HOME:-~/.config}/agentkit/mcp-auth``: the folder is 0700 and every file 0600, written
atomically. The absolute expiry of the access token is kept too, so a token that expired between two
runs is refreshed before use instead of being sent.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from mcp.shared.auth import OAuthClientInformationFull, OAuthToken


def auth_dir() -> Path:
    """The folder holding every server's tokens."""
    given = os.environ.get("AGENTKIT_MCP_AUTH_DIR")
    if given:
        return Path(given).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config").expanduser()
    return base / "agentkit" / "mcp-auth"


def token_file(name: str, url: str) -> Path:
    """The file of one server: readable name, and the URL's hash so two servers never share one."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:40] or "server"
    return auth_dir() / f"{safe}-{hashlib.sha256(url.encode()).hexdigest()[:12]}.json"


class FileTokenStorage:
    """The SDK's ``TokenStorage`` for one server, backed by its file (see the module docstring)."""

    def __init__(self, name: str, url: str):
        self.url = url
        self.path = token_file(name, url)

    # ── the SDK's TokenStorage ──────────────────────────────────────────────────────────────

    async def get_tokens(self) -> OAuthToken | None:
        data = self._read().get("tokens")
        return OAuthToken.model_validate(data) if data else None

    async def set_tokens(self, tokens: OAuthToken) -> None:
        expires_at = time.time() + float(tokens.expires_in) if tokens.expires_in is not None else None
        self._update(tokens=tokens.model_dump(mode="json", exclude_none=True), expires_at=expires_at)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        data = self._read().get("client_info")
        return OAuthClientInformationFull.model_validate(data) if data else None

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self._update(client_info=client_info.model_dump(mode="json", exclude_none=True))

    # ── agentkit's extras ───────────────────────────────────────────────────────────────────

    def expires_at(self) -> float | None:
        """When the stored access token expires (seconds since the epoch), if the server said."""
        value = self._read().get("expires_at")
        return float(value) if isinstance(value, int | float) else None

    def metadata(self) -> dict[str, Any]:
        """The authorization server metadata found at the last sign-in (for a refresh in a later run)."""
        value = self._read().get("metadata")
        return value if isinstance(value, dict) else {}

    def set_metadata(self, metadata: dict[str, Any]) -> None:
        self._update(metadata=metadata)

    def forget(self) -> None:
        """Drop the server's tokens and registration (sign out)."""
        self.path.unlink(missing_ok=True)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}  # unreadable or damaged: sign in again, and the next write replaces it
        return data if isinstance(data, dict) and data.get("server_url") == self.url else {}

    def _update(self, **changes: Any) -> None:
        data = {**self._read(), "server_url": self.url, **changes}
        folder = self.path.parent
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if folder.stat().st_mode & 0o077:
            folder.chmod(0o700)
        partial = folder / f".{self.path.name}.{os.getpid()}.tmp"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=1)
            os.replace(partial, self.path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
