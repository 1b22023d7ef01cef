"""What a model's config.json says about its size: parameter bytes, layers, heads, context, quantization.

MODEL is a local folder holding config.json, or a Hugging Face name looked up in the local HF cache
(``HF_HUB_CACHE``, ``HF_HOME``/hub, ``~/.cache/huggingface/hub``). Nothing is downloaded.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agentkit.serving.errors import ServingError

DTYPE_BYTES = {"bfloat16": 2, "float16": 2, "float32": 4, "float8_e4m3fn": 1}
KNOWN_ARCHITECTURES = {
    "Qwen3ForCausalLM",
    "Qwen3MoeForCausalLM",
    "Qwen2ForCausalLM",
    "Qwen2MoeForCausalLM",
}
GIB = 1024**3
FAMILIES = ("hybrid", "thinking-2507", "instruct-2507", "coder")


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """The facts the planner needs, read from one config.json."""

    name: str
    """What the user called it (HF name or folder)."""
    path: Path | None
    """The folder holding config.json (a local folder or an HF cache snapshot)."""
    architecture: str
    layers: int
    hidden_size: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    vocab_size: int
    max_context: int
    dtype: str
    params: int
    """All parameters (MoE: every expert)."""
    active_params: int
    """Parameters used per token (MoE: only the routed experts)."""
    weight_bytes: int
    intermediate_size: int
    experts: int = 0
    moe_intermediate_size: int = 0
    quantization: str | None = None
    """``fp8``, ``awq``, ``gptq``… from quantization_config, else None."""
    block_size: tuple[int, int] | None = None
    """FP8 block quantization's weight block (e.g. 128×128)."""
    weights_problem: str | None = None
    """Why the folder's weights cannot load (none there, shards missing), or None."""
    family: str = "hybrid"
    """hybrid, thinking-2507, instruct-2507 or coder: decides the parser flags."""
    expert_weight_bytes: int = 0
    """Bytes of the routed experts' weights (MoE), the part expert parallelism spreads over every GPU."""
    source: str = "config.json"
    """Where the facts came from: the config.json read, or agentkit's built-in Qwen3 catalog."""

    @property
    def is_moe(self) -> bool:
        return self.experts > 0

    @property
    def known_architecture(self) -> bool:
        return self.architecture in KNOWN_ARCHITECTURES

    def kv_bytes_per_token(self, kv_dtype_bytes: int = 2) -> int:
        """KV cache bytes one token takes across the whole model (keys and values, every layer)."""
        return 2 * self.layers * self.kv_heads * self.head_dim * kv_dtype_bytes

    def summary(self) -> str:
        size = f"{self.params / 1e9:.1f}B parameters"
        if self.is_moe:
            size += f" ({self.active_params / 1e9:.1f}B active, {self.experts} experts)"
        quant = self.quantization.upper() if self.quantization else self.dtype
        return (
            f"{self.name}: {self.architecture}, {size}, {quant} weights {self.weight_bytes / GIB:.1f} GiB, "
            f"{self.layers} layers, {self.attention_heads} attention / {self.kv_heads} KV heads × "
            f"head_dim {self.head_dim}, context {self.max_context}"
        )


def hf_hub_cache() -> Path:
    """The local Hugging Face hub cache folder, as huggingface_hub would choose it."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HUGGINGFACE_HUB_CACHE"):
        return Path(os.environ["HUGGINGFACE_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface"
    )
    return Path(home).expanduser() / "hub"


def resolve_model_dir(model: str) -> Path:
    """The folder holding MODEL's config.json: MODEL itself, or its snapshot in the local HF cache."""
    local = Path(model).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise ServingError(
                f"{local} has no config.json: point MODEL at the folder that holds the model's files."
            )
        return local
    if model.count("/") != 1 or model.startswith((".", "/", "~")):
        raise ServingError(
            f"model {model!r} is neither a local folder nor a Hugging Face name like Qwen/Qwen3-8B."
        )
    cache = hf_hub_cache()
    repo = cache / ("models--" + model.replace("/", "--"))
    snapshots = repo / "snapshots"
    candidates = []
    ref = repo / "refs" / "main"
    if ref.is_file():
        candidates.append(snapshots / ref.read_text().strip())
    if snapshots.is_dir():
        candidates += sorted(snapshots.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
    for snapshot in candidates:
        if (snapshot / "config.json").is_file():
            return snapshot
    raise ServingError(
        f"{model} is not in the local Hugging Face cache ({cache}). Download it first: "
        f"`hf download {model}` (gated models: `hf auth login` and accept the licence "
        "on the model page first), or pass the path of a local model folder."
    )


def weights_problem(folder: Path) -> str | None:
    """What is missing from ``folder``'s weights (all files, or shards the index names), or None."""
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        try:
            shards = set(json.loads(index.read_text()).get("weight_map", {}).values())
        except (OSError, ValueError) as exc:
            return f"unreadable {index.name}: {exc}"
        missing = sorted(s for s in shards if not (folder / s).is_file())
        if missing:
            return f"{len(missing)} of {len(shards)} weight shards missing in {folder} (e.g. {missing[0]})"
        return None
    if any(folder.glob("*.safetensors")) or any(folder.glob("*.bin")) or any(folder.glob("*.gguf")):
        return None
    return f"no weight files (*.safetensors) in {folder}"


def family_of(name: str) -> str:
    """Qwen3 family from the model's name: decides reasoning and tool-call parser flags."""
    low = name.lower()
    if "coder" in low:
        return "coder"
    if "instruct-2507" in low:
        return "instruct-2507"
    if "thinking-2507" in low:
        return "thinking-2507"
    return "hybrid"


def _int(config: dict[str, Any], key: str, default: int | None = None) -> int:
    value = config.get(key, default)
    if value is None:
        raise ServingError(f"config.json has no {key!r}: cannot size this model; pass --tp explicitly.")
    return int(value)


def _quantization(config: dict[str, Any]) -> tuple[str | None, float | None, tuple[int, int] | None]:
    """(method, bytes per quantized linear weight, block size) from quantization_config."""
    qc = config.get("quantization_config")
    if not qc:
        return None, None, None
    method = str(qc.get("quant_method", "unknown")).lower()
    block = qc.get("weight_block_size")
    block_size = (int(block[0]), int(block[1])) if block else None
    if method == "fp8" or "fp8" in str(qc.get("fmt", "")).lower():
        return "fp8", 1.0, block_size
    bits = qc.get("bits") or qc.get("w_bit") or qc.get("weight_bits") or 4
    return method, int(bits) / 8, block_size


def count_params(config: dict[str, Any]) -> tuple[int, int, int, int, int]:
    """(all, active, linear-layer, embedding, routed-expert) parameters of a Qwen-style model."""
    hidden = _int(config, "hidden_size")
    layers = _int(config, "num_hidden_layers")
    heads = _int(config, "num_attention_heads")
    kv_heads = _int(config, "num_key_value_heads", heads)
    head_dim = _int(config, "head_dim", hidden // heads)
    vocab = _int(config, "vocab_size")
    attention = hidden * heads * head_dim * 2 + hidden * kv_heads * head_dim * 2
    dense_mlp = 3 * hidden * _int(config, "intermediate_size", 0)
    experts = int(config.get("num_experts") or config.get("n_routed_experts") or 0)
    linear = active_linear = routed = 0
    if experts:
        moe_inter = _int(config, "moe_intermediate_size")
        top_k = _int(config, "num_experts_per_tok", 8)
        expert = 3 * hidden * moe_inter
        step = int(config.get("decoder_sparse_step") or 1)
        dense_layers = set(config.get("mlp_only_layers") or [])
        shared = 3 * hidden * int(config.get("shared_expert_intermediate_size") or 0)
        for layer in range(layers):
            if layer in dense_layers or (layer + 1) % step:
                linear += attention + dense_mlp
                active_linear += attention + dense_mlp
            else:
                linear += attention + experts * expert + hidden * experts + shared
                routed += experts * expert
                active_linear += attention + top_k * expert + hidden * experts + shared
    else:
        linear = active_linear = layers * (attention + dense_mlp)
    embeddings = vocab * hidden * (1 if config.get("tie_word_embeddings") else 2)
    return linear + embeddings, active_linear + embeddings, linear, embeddings, routed


def model_info_from_config(config: dict[str, Any], *, name: str, path: Path | None = None) -> ModelInfo:
    """Size and shape of the model that ``config`` (a parsed config.json) describes."""
    architectures = config.get("architectures") or ["unknown"]
    hidden = _int(config, "hidden_size")
    heads = _int(config, "num_attention_heads")
    params, active, linear, embeddings, routed = count_params(config)
    dtype = str(config.get("torch_dtype") or config.get("dtype") or "bfloat16")
    dtype_bytes = DTYPE_BYTES.get(dtype, 2)
    method, quant_bytes, block = _quantization(config)
    linear_bytes = linear * (quant_bytes if quant_bytes else dtype_bytes)
    max_context = int(config.get("max_position_embeddings") or 32768)
    rope = config.get("rope_scaling") or {}
    if rope.get("factor") and rope.get("original_max_position_embeddings"):
        max_context = int(rope["factor"] * rope["original_max_position_embeddings"])
    return ModelInfo(
        name=name,
        path=path,
        architecture=str(architectures[0]),
        layers=_int(config, "num_hidden_layers"),
        hidden_size=hidden,
        attention_heads=heads,
        kv_heads=_int(config, "num_key_value_heads", heads),
        head_dim=_int(config, "head_dim", hidden // heads),
        vocab_size=_int(config, "vocab_size"),
        max_context=max_context,
        dtype=dtype,
        params=params,
        active_params=active,
        weight_bytes=int(linear_bytes + embeddings * dtype_bytes),
        intermediate_size=int(config.get("intermediate_size") or 0),
        experts=int(config.get("num_experts") or config.get("n_routed_experts") or 0),
        moe_intermediate_size=int(config.get("moe_intermediate_size") or 0),
        quantization=method,
        block_size=block,
        family=family_of(name),
        expert_weight_bytes=int(routed * (quant_bytes if quant_bytes else dtype_bytes)),
        source=f"{path / 'config.json'}" if path else "config.json",
    )


def load_model_info(model: str) -> ModelInfo:
    """Read MODEL's config.json (local folder or local HF cache) into a :class:`ModelInfo`.

    A Qwen3 model that is neither falls back to the built-in catalog of public config facts, its
    ``weights_problem`` saying that the weights are not here (a dry run plans; a launch refuses).
    """
    try:
        folder = resolve_model_dir(model)
    except ServingError as exc:
        from agentkit.serving.catalog import catalog_config

        config = catalog_config(model) if not Path(model).expanduser().exists() else None
        if config is None:
            raise
        info = model_info_from_config(config, name=model, path=None)
        return replace(
            info,
            source="agentkit's built-in Qwen3 catalog (public config.json facts; no config.json here)",
            weights_problem=str(exc).split(". Download", 1)[0],
        )
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise ServingError(f"cannot read {folder / 'config.json'}: {exc}") from exc
    local = Path(model).expanduser()
    name = local.resolve().name if local.is_dir() else model
    info = model_info_from_config(config, name=name, path=folder)
    return replace(info, weights_problem=weights_problem(folder))
