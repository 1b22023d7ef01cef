"""The task schema: what a task.yaml (or the Assistant's config dict) may say, validated with pydantic."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from agentkit.config.yaml_source import Locations

Thinking = Literal["auto", "on", "off"]
_APPROVALS = ("allow", "ask", "deny")
MCP_KEYS = ("mcp_servers", "mcpServers", "servers")
SAMPLING_KEYS = (
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "presence_penalty",
    "frequency_penalty",
    "repetition_penalty",
    "seed",
)


def _on_off(value: Any) -> Any:
    """YAML reads unquoted ``on``/``off``/``true``/``false`` as booleans: take them as on/off."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return value


class ModelConfig(BaseModel):
    """Which model to talk to and how: an endpoint, or a model agentkit serves (or runs in-process)."""

    model_config = ConfigDict(extra="forbid")

    endpoint: str | list[str] | None = None
    """An OpenAI-compatible base URL, e.g. ``http://localhost:8000/v1``, or a list of replicas of one model."""
    name: str | None = None
    """The served model name (or a Hugging Face name when agentkit launches the server)."""
    mode: Literal["native", "server"] = "native"
    path: str | None = None
    """A local model folder (relative paths are taken from the task file's folder)."""
    api_key: str | None = None
    engine: Literal["vllm", "sglang", "transformers"] | None = None
    variant: Literal["hybrid", "thinking-2507", "instruct-2507", "coder"] | None = None
    """``None``: detected from the model name."""
    max_tokens: int | None = Field(None, ge=1)
    timeout: float = Field(600.0, gt=0)
    """Seconds one request may take in total (headers and the whole stream, however slowly it trickles);
    no single read waits longer either. Connecting has its own 10 s."""
    temperature: float | None = Field(None, ge=0)
    top_p: float | None = Field(None, gt=0, le=1)
    top_k: int | None = None
    min_p: float | None = Field(None, ge=0, le=1)
    presence_penalty: float | None = Field(None, ge=-2, le=2)
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    repetition_penalty: float | None = Field(None, gt=0)
    seed: int | None = None
    gpus: list[int] | None = None
    """GPU indices for a server agentkit launches: ``[0, 1]`` or ``"0,1"``."""
    port: int | None = Field(None, ge=1, le=65535)
    max_model_len: int | None = Field(None, ge=1)
    tp: int | None = Field(None, ge=1)
    """Tensor-parallel size for a server agentkit launches (default: the planner's choice)."""
    gpu_memory_utilization: float | None = Field(None, gt=0, le=1)
    device: str | None = None
    """``engine: transformers`` only: ``cpu``, ``cuda``, ``cuda:1``... (default: the first GPU, else CPU)."""
    dtype: Literal["auto", "bfloat16", "float16", "float32"] | None = None
    """``engine: transformers`` only (default: the checkpoint's on a GPU, float32 on CPU)."""

    @field_validator("endpoint")
    @classmethod
    def _endpoint_is_url(cls, value: str | list[str] | None) -> str | list[str] | None:
        for url in [value] if isinstance(value, str) else value or []:
            if not url.startswith(("http://", "https://")):
                raise ValueError(
                    f"expected an http:// or https:// URL such as http://{url or 'localhost:8000'}/v1"
                )
        if isinstance(value, list) and not value:
            raise ValueError("the list of endpoints is empty; give at least one URL or remove the key")
        return value

    @field_validator("gpus", mode="before")
    @classmethod
    def _gpu_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return [int(part) for part in value.replace(" ", "").split(",") if part]
            except ValueError:
                raise ValueError('expected GPU indices, e.g. [0, 1] or "0,1"') from None
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError(f"expected a list of GPU indices: write [{value}] for GPU {value} alone")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ModelConfig:
        if self.endpoint and self.engine:
            raise ValueError(
                f"`engine: {self.engine}` starts a model here, but `endpoint` points at a running server; "
                "remove one of them"
            )
        if self.engine == "transformers" and not (self.path or self.name):
            raise ValueError("`engine: transformers` needs `path` (a local model folder) or `name`")
        if self.engine != "transformers" and (self.device or self.dtype):
            raise ValueError(
                "`device` and `dtype` apply to `engine: transformers` only; add it or remove them"
            )
        return self

    def sampling(self) -> dict[str, Any]:
        """The sampling settings the task overrides (the rest come from the model card's defaults)."""
        keys = SAMPLING_KEYS
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}

    def serving_args(self) -> dict[str, Any]:
        """What ``agentkit.serving.ensure_server`` takes to find or launch a server of this model."""
        keys = (
            "path",
            "name",
            "engine",
            "gpus",
            "port",
            "max_model_len",
            "api_key",
            "variant",
            "tp",
            "gpu_memory_utilization",
        )
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}


class ToolEntry(BaseModel):
    """One ``tools:`` entry: a built-in name or ``module:function``, with its policy and options.

    Written as a plain string, or as a mapping with ``name`` (or ``use``) plus ``approval``,
    ``thinking``, ``timeout``, ``description`` and tool-specific options.
    """

    model_config = ConfigDict(extra="allow")

    ref: str
    """A built-in tool name (``web_search``) or ``module:function`` / ``module:attribute``."""
    approval: Literal["allow", "ask", "deny"] | None = None
    thinking: Literal["on", "off"] | None = None
    timeout: float | None = Field(None, gt=0)
    description: str | None = None
    """Replaces the description the model sees."""

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"ref": value}
        if isinstance(value, dict):
            value = dict(value)
            names = [k for k in ("name", "use", "ref") if k in value]
            if len(names) > 1:
                raise ValueError(f"give the tool once: both {names[0]!r} and {names[1]!r} are set")
            if names:
                value["ref"] = value.pop(names[0])
            else:
                raise ValueError(
                    "a tool mapping needs `name:` (a built-in tool or module:function), e.g. {name: web_search}"
                )
            if "thinking" in value:
                value["thinking"] = _on_off(value["thinking"])
            return value
        raise ValueError(
            "a tool entry is a built-in name like `web_search`, `module:function`, or a mapping such as "
            "{name: web_search, approval: ask}"
        )

    @field_validator("ref")
    @classmethod
    def _ref_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the tool name is empty")
        return value.strip()

    @property
    def options(self) -> dict[str, Any]:
        """Tool-specific settings (everything but the keys above)."""
        return dict(self.model_extra or {})


class ContextConfig(BaseModel):
    """``context:`` — how a long run stays inside the context window (``agentkit.context.ContextPolicy``)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    max_input_tokens: int | None = Field(None, ge=256)
    """Prompt budget in tokens (Qwen-Agent's ``max_input_tokens``); default: the server's window less the output room."""
    output_tokens: int | None = Field(None, ge=1)
    headroom: float = Field(0.5, ge=0, lt=0.9)
    keep_turns: int = Field(2, ge=1)
    summarize: bool = True
    summary_tokens: int = Field(600, ge=32)
    tokenizer: str | None = None
    """A ``tokenizer.json`` or a model folder for exact counts (default: the model folder, else the server's
    ``/tokenize``, else an approximation)."""

    def policy(self) -> Any:
        """The ``ContextPolicy`` these settings describe, or None when the policy is off."""
        if not self.enabled:
            return None
        from agentkit.context import ContextPolicy

        fields = (
            "max_input_tokens",
            "output_tokens",
            "headroom",
            "keep_turns",
            "summarize",
            "summary_tokens",
        )
        return ContextPolicy(**{k: getattr(self, k) for k in fields})


class BatchConfig(BaseModel):
    """``batch:``: how ``agentkit batch`` runs many items of this task (the CLI flags override it)."""

    model_config = ConfigDict(extra="forbid")

    concurrency: int | None = Field(None, ge=1)
    """Items in flight at once (default: ``per_endpoint`` times the number of endpoints)."""
    per_endpoint: int | None = Field(None, ge=1)
    """Model requests in flight per endpoint (default 256, vLLM's default ``--max-num-seqs``)."""
    retries: int = Field(0, ge=0)
    """How many more times an item that failed (``status: error``) is run."""
    mcp_servers: Literal["shared", "per_item"] = "shared"
    """``shared``: each MCP server is started once per process; ``per_item``: a fresh set for every item."""


class TaskConfig(BaseModel):
    """A whole task: the model, how to think, the tools and MCP servers, and the prompt."""

    model_config = ConfigDict(extra="forbid")

    model: ModelConfig = Field(default_factory=ModelConfig)
    thinking: Thinking = "auto"
    thinking_budget: int | None = Field(None, ge=1)
    max_steps: int = Field(10, ge=1)
    system: str | None = None
    prompt: str | None = None
    simulation: str | None = None
    """A script of raw Qwen3 outputs (relative to the task file) that the CLI replays on the built-in
    simulator when no model endpoint is reachable, announced as a simulation."""
    tools: list[ToolEntry] = Field(default_factory=list)
    mcp_servers: dict[str, Any] = Field(default_factory=dict)
    """Server name -> ``agentkit.mcp.config.ServerConfig`` (enabled servers only)."""
    tool_timeout: float = Field(60.0, gt=0)
    max_tool_output: int = Field(20000, ge=100)
    """Characters of one tool result the model sees; longer output is cut with a note."""
    parallel_tools: int = Field(8, ge=1)
    context: ContextConfig = Field(default_factory=ContextConfig)
    """``context: off`` turns the policy off; a mapping sets it (see ``ContextConfig``)."""
    batch: BatchConfig = Field(default_factory=BatchConfig)
    base_dir: Path = Field(default_factory=Path.cwd)
    """The task file's folder: relative paths and ``module:function`` tools are found from here."""

    _locations: Locations = PrivateAttr(default_factory=lambda: Locations("<config>"))

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        given = [k for k in MCP_KEYS if k in value]
        if len(given) > 1:
            raise ValueError(f"MCP servers are given twice, as {given[0]!r} and {given[1]!r}; keep one")
        value = dict(value)
        if given and given[0] != "mcp_servers":
            value["mcp_servers"] = value.pop(given[0])
        if "thinking" in value:
            value["thinking"] = _on_off(value["thinking"])
        return value

    @field_validator("context", mode="before")
    @classmethod
    def _context_shape(cls, value: Any) -> Any:
        if value is None or value is True or value in ("on", "auto"):
            return {}
        if value is False or value == "off":
            return {"enabled": False}
        if isinstance(value, int) and not isinstance(value, bool):
            return {"max_input_tokens": value}
        return value

    @field_validator("model", mode="before")
    @classmethod
    def _model_shape(cls, value: Any) -> Any:
        if value is None:
            return {}
        if isinstance(value, str):
            kind = "endpoint" if value.startswith(("http://", "https://")) else "name"
            return {kind: value}
        return value

    @field_validator("tools", mode="before")
    @classmethod
    def _tools_list(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str | dict):
            raise ValueError("expected a list of tools, one per line starting with '- '")
        return value

    @field_validator("mcp_servers", mode="before")
    @classmethod
    def _servers_mapping(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError(
                "expected a mapping of server name to settings ({name: {command: ..., args: [...]}})"
            )
        return value

    @property
    def locations(self) -> Locations:
        return self._locations

    def where(self, *path: str | int) -> str:
        """``file:line:col`` of a part of this task, for messages (``<config>`` when not from a file)."""
        return self._locations.where(path)
