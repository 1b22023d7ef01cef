"""MCP server configuration: task.yaml's ``mcp_servers:`` and the shapes IDEs write, read into one form.

Accepted, unchanged:

- ``{name: {command, args, env, cwd}}`` (stdio) or ``{name: {url, headers}}`` (streamable HTTP; SSE when
  ``transport: sse`` / ``type: sse`` or the URL ends with ``/sse``);
- ``{"mcpServers": {...}}`` (Claude Desktop, Cursor, Claude Code, Qwen-Agent, Gemini CLI);
- VS Code's ``{"servers": {name: {"type": "stdio" | "http" | "sse", ...}}}``.

Strings may use ``${VAR}``, ``${VAR:-default}`` and VS Code's ``${env:VAR}``. Imports nothing heavy.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agentkit.mcp.oauth.settings import NO_OAUTH, OAuthSettings, parse_auth

Transport = Literal["stdio", "sse", "http"]

DEFAULT_START_TIMEOUT = 30.0
DEFAULT_CALL_TIMEOUT = 300.0
DEFAULT_MAX_OUTPUT_CHARS = 50_000

_TRANSPORT_ALIASES: dict[str, Transport] = {
    "stdio": "stdio",
    "sse": "sse",
    "http": "http",
    "streamable-http": "http",
    "streamable_http": "http",
    "streamablehttp": "http",
}
_KNOWN_KEYS = {
    "command", "args", "env", "cwd", "url", "headers", "transport", "type", "timeout", "call_timeout",
    "max_output_chars", "enabled", "disabled", "envFile", "httpUrl", "serverUrl", "transportType",
    "startup_timeout_sec", "tool_timeout_sec", "include_tools", "exclude_tools", "includeTools",
    "excludeTools", "resources", "concurrent", "auth",
}  # fmt: skip
_OTHER_TOOLS_KEYS = {"disabledTools"}  # read by other clients, close to one of ours: not a typo
_VAR = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """One MCP server: how to reach it and how long to wait for it."""

    name: str
    transport: Transport
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment for a stdio server, over the agent's own environment."""
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    auth: OAuthSettings = NO_OAUTH
    """OAuth sign-in for an HTTP server (on by default unless ``headers`` carry an ``Authorization``)."""
    start_timeout: float = DEFAULT_START_TIMEOUT
    """Seconds to start, finish the MCP handshake and list tools."""
    call_timeout: float | None = DEFAULT_CALL_TIMEOUT
    """Seconds one tool call may take; ``None`` for no limit."""
    call_timeout_set: bool = False
    """Whether the config sets ``call_timeout``: in an agent run it then replaces the task's ``tool_timeout``
    for this server's tools (else the shorter of the two applies)."""
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS
    """The longest text a result shows the model; longer text is cut with a note."""
    include_tools: tuple[str, ...] | None = None
    """Only these tools (real names) are offered to the model; ``None`` for all."""
    exclude_tools: tuple[str, ...] = ()
    """These tools (real names) are never offered to the model."""
    resources: bool = False
    """Offer the model a ``read_resource`` tool for the server's resources (when it has any)."""
    concurrent: bool = False
    """The server is safe to call concurrently: its tools' calls never wait for each other. By default only
    tools annotated ``readOnlyHint: true`` run concurrently; the others run one at a time, in call order."""

    def offers(self, tool: str) -> bool:
        """Whether the tool with this real name is offered to the model."""
        return (self.include_tools is None or tool in self.include_tools) and tool not in self.exclude_tools

    def describe(self) -> str:
        """The command line or URL, for messages."""
        if self.transport == "stdio":
            return " ".join([self.command or "", *self.args])
        return f"{self.url} ({self.transport})"


def parse_servers(
    raw: Mapping[str, Any] | None, *, base_dir: str | Path | None = None
) -> dict[str, ServerConfig]:
    """Read a server mapping (or a whole IDE config object) into ``ServerConfig``s, enabled ones only.

    ``base_dir`` resolves relative ``cwd`` and ``envFile`` paths (the task file's folder).
    Raises ``ValueError`` naming the server and the fix.
    """
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError(
            f"mcp_servers must be a mapping of server name to settings, not {type(raw).__name__}"
        )
    servers = _unwrap(raw)
    parsed: dict[str, ServerConfig] = {}
    for name, entry in servers.items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"MCP server names must be non-empty strings, got {name!r}")
        if isinstance(entry, ServerConfig):  # already parsed (the task loader parses once, early)
            parsed[name] = entry
            continue
        if not isinstance(entry, Mapping):
            raise ValueError(
                f"MCP server {name!r}: expected a mapping with `command` (stdio) or `url` (HTTP), "
                f"got {type(entry).__name__}"
            )
        if entry.get("disabled") is True or entry.get("enabled") is False:
            continue
        parsed[name] = _parse_one(name, entry, Path(base_dir) if base_dir is not None else None)
    return parsed


def _unwrap(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """The name → settings mapping inside a whole IDE config, or ``raw`` itself."""
    for key in ("mcpServers", "mcp_servers", "servers"):
        inner = raw.get(key)
        if isinstance(inner, Mapping) and not {"command", "url"} & set(inner):
            return inner
    if "mcp" in raw and isinstance(raw["mcp"], Mapping):  # VS Code settings.json: {"mcp": {"servers": ...}}
        return _unwrap(raw["mcp"])
    return raw


def _parse_one(name: str, entry: Mapping[str, Any], base_dir: Path | None) -> ServerConfig:
    where = f"MCP server {name!r}"
    for key in entry:
        if key in _KNOWN_KEYS or key in _OTHER_TOOLS_KEYS:
            continue
        close = difflib.get_close_matches(str(key), _KNOWN_KEYS, n=1, cutoff=0.75)
        if close:
            raise ValueError(f"{where}: unknown setting {key!r}; did you mean {close[0]!r}?")

    def expand(value: Any, what: str) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(f"{where}: {what} must be a string, got {type(value).__name__}")
        return _expand(str(value), where, what, base_dir)

    def mapping(key: str) -> dict[str, str]:
        value = entry.get(key) or {}
        if not isinstance(value, Mapping):
            raise ValueError(f"{where}: `{key}` must be a mapping of names to strings")
        return {str(k): expand(v, f"{key}.{k}") for k, v in value.items()}

    url = entry.get("url") or entry.get("httpUrl") or entry.get("serverUrl")
    command = entry.get("command")
    kind = entry.get("transport") or entry.get("type") or entry.get("transportType")
    if command and url:
        raise ValueError(f"{where}: give either `command` (stdio) or `url` (HTTP), not both")
    if not command and not url:
        raise ValueError(
            f"{where}: needs `command` (a program to run over stdio) or `url` (an HTTP endpoint)"
        )
    transport: Transport
    if kind is not None:
        if not isinstance(kind, str) or kind.lower() not in _TRANSPORT_ALIASES:
            raise ValueError(f"{where}: unknown transport {kind!r}; use one of stdio, http, sse")
        transport = _TRANSPORT_ALIASES[kind.lower()]
    else:
        transport = "stdio" if command else "sse" if str(url).rstrip("/").endswith("/sse") else "http"
    if "httpUrl" in entry and kind is None:
        transport = "http"
    if transport == "stdio" and not command:
        raise ValueError(f"{where}: transport stdio needs `command`")
    if transport != "stdio" and not url:
        raise ValueError(f"{where}: transport {transport} needs `url`")

    timeouts = {
        key: _seconds(where, key, entry.get(key, entry.get(codex_key)))
        for key, codex_key in (("timeout", "startup_timeout_sec"), ("call_timeout", "tool_timeout_sec"))
    }
    call_timeout_set = bool({"call_timeout", "tool_timeout_sec"} & set(entry))
    max_chars = entry.get("max_output_chars", DEFAULT_MAX_OUTPUT_CHARS)
    if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 100:
        raise ValueError(f"{where}: `max_output_chars` must be an integer of at least 100")
    common: dict[str, Any] = {
        "name": name,
        "transport": transport,
        "start_timeout": timeouts["timeout"] or DEFAULT_START_TIMEOUT,
        "call_timeout": timeouts["call_timeout"] if call_timeout_set else DEFAULT_CALL_TIMEOUT,
        "call_timeout_set": call_timeout_set,
        "max_output_chars": max_chars,
        "include_tools": _names(where, entry, "include_tools", "includeTools"),
        "exclude_tools": _names(where, entry, "exclude_tools", "excludeTools") or (),
        "resources": _flag(where, entry, "resources"),
        "concurrent": _flag(where, entry, "concurrent"),
    }
    if transport != "stdio":
        url_text = expand(url, "url")
        if not url_text.startswith(("http://", "https://")):
            raise ValueError(f"{where}: url must start with http:// or https://, got {url_text!r}")
        headers = mapping("headers")
        has_token = any(k.lower() == "authorization" for k in headers)
        if has_token and isinstance(entry.get("auth"), Mapping):
            raise ValueError(
                f"{where}: give either an Authorization header (a static token) or `auth` (OAuth), not both"
            )
        auth = NO_OAUTH if has_token else parse_auth(where, entry.get("auth"), expand)
        return ServerConfig(url=url_text, headers=headers, auth=auth, **common)
    if entry.get("auth") not in (None, False, "none"):
        raise ValueError(f"{where}: `auth` (OAuth) applies to HTTP servers only, not to stdio")

    args = entry.get("args") or []
    if isinstance(args, str) or not isinstance(args, list):
        raise ValueError(f'{where}: `args` must be a list of strings, e.g. args: ["-y", "some-package"]')
    env = _env_file(where, entry.get("envFile"), base_dir)
    env.update(mapping("env"))
    cwd = entry.get("cwd")
    cwd_text = None
    if cwd is not None:
        cwd_path = Path(expand(cwd, "cwd")).expanduser()
        if not cwd_path.is_absolute() and base_dir is not None:
            cwd_path = base_dir / cwd_path
        if not cwd_path.is_dir():
            raise ValueError(f"{where}: cwd {str(cwd_path)!r} is not a directory")
        cwd_text = str(cwd_path)
    return ServerConfig(
        command=expand(command, "command"),
        args=tuple(expand(a, f"args[{i}]") for i, a in enumerate(args)),
        env=env,
        cwd=cwd_text,
        **common,
    )


def _names(where: str, entry: Mapping[str, Any], key: str, alias: str) -> tuple[str, ...] | None:
    value = entry.get(key, entry.get(alias))
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: `{key}` must be a list of tool names, e.g. {key}: [read_file, list_dir]")
    return tuple(value)


def _flag(where: str, entry: Mapping[str, Any], key: str) -> bool:
    value = entry.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{where}: `{key}` must be true or false, got {value!r}")
    return value


def _seconds(where: str, key: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{where}: `{key}` must be a positive number of seconds, got {value!r}")
    return float(value)


def _expand(text: str, where: str, what: str, base_dir: Path | None) -> str:
    """``${VAR}``, ``${VAR:-default}``, ``${env:VAR}`` from the environment; VS Code's ``${workspaceFolder}``
    (the task's folder) and ``${userHome}``."""

    def substitute(match: re.Match[str]) -> str:
        body = match.group(1)
        if body == "workspaceFolder":
            return str(base_dir or Path.cwd())
        if body == "userHome":
            return str(Path.home())
        if body.startswith("env:"):
            body = body[4:]
        name, sep, default = body.partition(":-")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(
                f"{where}: {what} uses ${{{match.group(1)}}}, which agentkit cannot fill in; "
                "use ${NAME} or ${NAME:-default} with an environment variable"
            )
        value = os.environ.get(name)
        if value is None or (sep and value == ""):
            if sep:
                return default
            raise ValueError(
                f"{where}: {what} uses ${{{name}}}, which is not set; export {name} or write ${{{name}:-default}}"
            )
        return value

    return _VAR.sub(substitute, text)


def _env_file(where: str, value: Any, base_dir: Path | None) -> dict[str, str]:
    """VS Code's ``envFile``: ``KEY=VALUE`` lines."""
    if value is None:
        return {}
    path = Path(_expand(str(value), where, "envFile", base_dir)).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"{where}: cannot read envFile {str(path)!r}: {exc.strerror}") from None
    env: dict[str, str] = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, val = line.removeprefix("export ").partition("=")
        env[key.strip()] = val.strip().strip("'\"")
    return env
