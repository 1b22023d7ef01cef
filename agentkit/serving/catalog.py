"""The Qwen3 family's public config.json facts, for planning when no config.json is at hand (a laptop).

Only the fields the planner reads, as the published config.json files state them. A local folder or a
model in the local Hugging Face cache always wins over this catalog; the plan says which source it used.
"""

from __future__ import annotations

from typing import Any

_DENSE_COMMON = {"architectures": ["Qwen3ForCausalLM"], "head_dim": 128, "vocab_size": 151936}
_MOE_COMMON = {
    "architectures": ["Qwen3MoeForCausalLM"],
    "head_dim": 128,
    "vocab_size": 151936,
    "num_experts_per_tok": 8,
    "decoder_sparse_step": 1,
    "mlp_only_layers": [],
    "tie_word_embeddings": False,
}
_FP8 = {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic", "weight_block_size": [128, 128]}


def _dense(hidden: int, layers: int, heads: int, inter: int, tie: bool) -> dict[str, Any]:
    return {
        **_DENSE_COMMON,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": 8,
        "intermediate_size": inter,
        "tie_word_embeddings": tie,
    }


def _moe(
    hidden: int, layers: int, heads: int, kv: int, inter: int, experts: int, moe_inter: int
) -> dict[str, Any]:
    return {
        **_MOE_COMMON,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv,
        "intermediate_size": inter,
        "num_experts": experts,
        "moe_intermediate_size": moe_inter,
    }


_SHAPES: dict[str, dict[str, Any]] = {
    "Qwen3-0.6B": _dense(1024, 28, 16, 3072, True),
    "Qwen3-1.7B": _dense(2048, 28, 16, 6144, True),
    "Qwen3-4B": _dense(2560, 36, 32, 9728, True),
    "Qwen3-8B": _dense(4096, 36, 32, 12288, False),
    "Qwen3-14B": _dense(5120, 40, 40, 17408, False),
    "Qwen3-32B": _dense(5120, 64, 64, 25600, False),
    "Qwen3-30B-A3B": _moe(2048, 48, 32, 4, 6144, 128, 768),
    "Qwen3-235B-A22B": _moe(4096, 94, 64, 4, 12288, 128, 1536),
    "Qwen3-Coder-480B-A35B": _moe(6144, 62, 96, 8, 8192, 160, 2560),
}
NATIVE_CONTEXT = 40960
LONG_CONTEXT = 262144
"""The 2507 releases and Qwen3-Coder read 256k tokens natively; the original Qwen3 40960 (32k + 8k)."""


def _catalog() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}

    def add(name: str, shape: str, context: int, fp8: bool = True) -> None:
        config = {**_SHAPES[shape], "max_position_embeddings": context, "torch_dtype": "bfloat16"}
        out[name] = config
        if fp8:
            out[f"{name}-FP8"] = {**config, "quantization_config": dict(_FP8)}

    for size in ("0.6B", "1.7B", "4B", "8B", "14B", "32B", "30B-A3B", "235B-A22B"):
        add(f"Qwen3-{size}", f"Qwen3-{size}", NATIVE_CONTEXT)
    for size in ("4B", "30B-A3B", "235B-A22B"):
        for kind in ("Instruct", "Thinking"):
            add(f"Qwen3-{size}-{kind}-2507", f"Qwen3-{size}", LONG_CONTEXT)
    add("Qwen3-Coder-30B-A3B-Instruct", "Qwen3-30B-A3B", LONG_CONTEXT)
    add("Qwen3-Coder-480B-A35B-Instruct", "Qwen3-Coder-480B-A35B", LONG_CONTEXT)
    return out


CATALOG = _catalog()
"""Model name (without ``Qwen/``) → the config.json fields the planner reads."""


def catalog_config(model: str) -> dict[str, Any] | None:
    """The built-in config for ``Qwen/<name>`` (or ``<name>``), case-insensitive; None when unknown."""
    name = model.split("/", 1)[1] if model.lower().startswith("qwen/") else model
    for known, config in CATALOG.items():
        if known.lower() == name.lower():
            return dict(config)
    return None


def catalog_names() -> list[str]:
    return [f"Qwen/{name}" for name in CATALOG]
