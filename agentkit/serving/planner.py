"""Choose tensor/data/pipeline/expert parallelism for a model on the GPUs at hand, with reasons.

Memory model (per GPU): ``memory × gpu_memory_utilization`` is the engine's budget; from it go the
weights (split over TP × PP), a fixed runtime reserve (activations incl. the sampler's, CUDA graphs,
communication buffers), and what is left holds the KV cache, which must fit at least one sequence of
``max_model_len`` tokens. Every plan states its margin: how much engine overhead it tolerates before
not even one full sequence fits, so a plan that rests on the reserve's estimate says it is tight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from agentkit.serving.errors import ServingError
from agentkit.serving.gpus import GPU
from agentkit.serving.modelinfo import GIB, ModelInfo
from agentkit.serving.raycluster import RayCluster

DEFAULT_GPU_MEMORY_UTILIZATION = 0.9
RUNTIME_RESERVE_BYTES = int(2.5 * GIB)
TIGHT_BYTES = 2 * GIB
"""KV room beyond one full sequence under which a plan is called tight."""
MIN_CONTEXT = 4096


@dataclass(frozen=True, slots=True)
class Replica:
    """One server: the GPUs it owns (nvidia-smi indices) and its port."""

    gpus: tuple[int, ...]
    port: int


@dataclass(slots=True)
class Plan:
    """How to serve one model: parallelism, memory arithmetic and the reasons behind each choice."""

    model: ModelInfo
    gpus: list[GPU]
    tp: int
    pp: int
    data_parallel: int
    expert_parallel: bool
    max_model_len: int
    gpu_memory_utilization: float
    weights_per_gpu: int
    kv_room_per_gpu: int
    kv_tokens: int
    """KV cache capacity of one replica, in tokens."""
    kv_bytes_per_token: int
    """KV cache bytes one token takes on each GPU (its share of the KV heads and layers)."""
    nodes: int = 1
    ray: bool = False
    reasons: list[str] = field(default_factory=list)

    @property
    def overhead_limit(self) -> int:
        """Engine overhead per GPU this plan tolerates before one full ``max_model_len`` sequence no longer fits."""
        return RUNTIME_RESERVE_BYTES + self.kv_room_per_gpu - self.max_model_len * self.kv_bytes_per_token

    @property
    def tight(self) -> bool:
        return self.overhead_limit - RUNTIME_RESERVE_BYTES < TIGHT_BYTES

    def margin(self) -> str:
        """The per-GPU budget, term by term, and how much more overhead than assumed the plan survives."""
        gpu = min(g.memory_bytes for g in self.gpus)
        sequence = self.max_model_len * self.kv_bytes_per_token
        text = (
            f"margin: each GPU's budget {_gib(gpu * self.gpu_memory_utilization)} "
            f"({self.gpu_memory_utilization:.0%} of {_gib(gpu)}) = weights {_gib(self.weights_per_gpu)} + "
            f"engine overhead {_gib(RUNTIME_RESERVE_BYTES)} (assumed: activations, sampler, CUDA graphs, "
            f"NCCL buffers) + KV cache {_gib(self.kv_room_per_gpu)}; one full {self.max_model_len}-token "
            f"sequence needs {_gib(sequence)} of it, so the plan holds while the engine overhead stays under "
            f"{_gib(self.overhead_limit)} per GPU"
        )
        if self.tight:
            text += (
                "; tight: if the engine runs out of memory or says max_model_len does not fit its KV cache, "
                "pass a smaller --max-model-len or a larger --tp"
            )
        return text

    @property
    def gpus_per_replica(self) -> int:
        return self.tp if self.nodes == 1 else self.tp * self.pp

    def replicas(self, base_port: int) -> list[Replica]:
        """The servers to start: disjoint GPU groups on consecutive ports (one for a multi-node plan)."""
        if self.ray:
            return [Replica(gpus=tuple(g.index for g in self.gpus), port=base_port)]
        return [
            Replica(
                gpus=tuple(g.index for g in self.gpus[i * self.tp : (i + 1) * self.tp]), port=base_port + i
            )
            for i in range(self.data_parallel)
        ]

    def to_dict(self) -> dict[str, Any]:
        m = self.model
        return {
            "model": m.name,
            "model_path": str(m.path) if m.path else None,
            "architecture": m.architecture,
            "family": m.family,
            "params": m.params,
            "active_params": m.active_params,
            "weight_bytes": m.weight_bytes,
            "quantization": m.quantization,
            "gpus": [{"index": g.index, "name": g.name, "memory_mib": g.memory_mib} for g in self.gpus],
            "tensor_parallel": self.tp,
            "pipeline_parallel": self.pp,
            "data_parallel": self.data_parallel,
            "expert_parallel": self.expert_parallel,
            "nodes": self.nodes,
            "ray": self.ray,
            "max_model_len": self.max_model_len,
            "gpu_memory_utilization": self.gpu_memory_utilization,
            "weights_per_gpu_bytes": self.weights_per_gpu,
            "kv_cache_per_gpu_bytes": self.kv_room_per_gpu,
            "kv_cache_tokens_per_replica": self.kv_tokens,
            "kv_cache_bytes_per_token_per_gpu": self.kv_bytes_per_token,
            "runtime_reserve_per_gpu_bytes": RUNTIME_RESERVE_BYTES,
            "overhead_limit_per_gpu_bytes": self.overhead_limit,
            "tight": self.tight,
            "reasons": list(self.reasons),
        }


def _gib(n: float) -> str:
    return f"{n / GIB:.1f} GiB"


def tp_problem(model: ModelInfo, tp: int, expert_parallel: bool) -> str | None:
    """Why ``tp`` cannot shard this model, or None when it can."""
    if model.attention_heads % tp:
        return f"{model.attention_heads} attention heads do not split over TP {tp}"
    if model.kv_heads % tp and tp % model.kv_heads:
        return f"{model.kv_heads} KV heads neither split over nor replicate evenly across TP {tp}"
    if model.block_size and tp > 1:
        block = model.block_size[0]
        if model.is_moe and not expert_parallel and (model.moe_intermediate_size // tp) % block:
            return (
                f"FP8 block quantization needs moe_intermediate_size / TP divisible by {block} "
                f"({model.moe_intermediate_size} / {tp} = {model.moe_intermediate_size / tp:g})"
            )
        if not model.is_moe and (model.intermediate_size // tp) % block:
            return (
                f"FP8 block quantization needs intermediate_size / TP divisible by {block} "
                f"({model.intermediate_size} / {tp} = {model.intermediate_size / tp:g})"
            )
    return None


@dataclass(frozen=True, slots=True)
class _Memory:
    weights: int
    kv_room: int
    kv_per_token: int

    @property
    def kv_tokens(self) -> int:
        return max(0, self.kv_room) // self.kv_per_token


def _memory(model: ModelInfo, gpu_bytes: int, tp: int, pp: int, utilization: float) -> _Memory:
    weights = math.ceil(model.weight_bytes / (tp * pp))
    kv_heads_per_gpu = max(1, model.kv_heads // tp)
    kv_per_token = 2 * math.ceil(model.layers / pp) * kv_heads_per_gpu * model.head_dim * 2
    room = int(gpu_bytes * utilization) - weights - RUNTIME_RESERVE_BYTES
    return _Memory(weights=weights, kv_room=room, kv_per_token=kv_per_token)


def _lowered_context(mem: _Memory) -> int:
    """A context (multiple of 1024) whose one full sequence fits the KV cache, with TIGHT_BYTES spare if possible."""
    roomy = max(0, mem.kv_room - TIGHT_BYTES) // mem.kv_per_token // 1024 * 1024
    return roomy if roomy >= MIN_CONTEXT else mem.kv_tokens // 1024 * 1024


def _lowered_reason(asked: int, lowered: int, mem: _Memory) -> str:
    spare = mem.kv_room - lowered * mem.kv_per_token
    return (
        f"max_model_len lowered from {asked} to {lowered}: a full {asked}-token sequence does not fit the KV "
        f"cache; {lowered} leaves {_gib(spare)} of it per GPU beyond one full sequence "
        "(--max-model-len chooses another)"
    )


def _candidates(n: int) -> list[int]:
    return sorted({2**k for k in range(n.bit_length()) if 2**k <= n} | {n})


def make_plan(
    model: ModelInfo,
    gpus: list[GPU],
    *,
    max_model_len: int | None = None,
    tp: int | None = None,
    gpu_memory_utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION,
    cluster: RayCluster | None = None,
) -> Plan:
    """The smallest TP that fits weights + one full-context sequence of KV; the other GPUs become replicas.

    Raises :class:`ServingError` naming what does not fit and what would.
    """
    if not gpus:
        raise ServingError("no GPU to plan for.")
    if not 0.1 <= gpu_memory_utilization <= 0.99:
        raise ServingError(f"gpu_memory_utilization {gpu_memory_utilization} must be between 0.1 and 0.99.")
    if max_model_len is not None and max_model_len > model.max_context:
        raise ServingError(
            f"max_model_len {max_model_len} exceeds {model.name}'s context of {model.max_context} tokens "
            "(max_position_embeddings); ask for at most that, or enable YaRN rope_scaling in config.json."
        )
    if max_model_len is not None and max_model_len < 256:
        raise ServingError(f"max_model_len {max_model_len} is too small to be useful; use at least 4096.")
    gpu_bytes = min(g.memory_bytes for g in gpus)
    context = max_model_len or model.max_context
    reasons = [model.summary(), f"{len(gpus)} × {gpus[0].name} ({_gib(gpu_bytes)} each)"]
    if not model.known_architecture:
        reasons.append(
            f"warning: {model.architecture} is not a Qwen architecture agentkit knows; sizes are estimates"
        )

    fits_locally = model.weight_bytes <= len(gpus) * (
        gpu_bytes * gpu_memory_utilization - RUNTIME_RESERVE_BYTES
    )
    if cluster and cluster.nodes > 1 and tp is None and not fits_locally:
        return _multi_node_plan(model, gpus, cluster, context, max_model_len, gpu_memory_utilization, reasons)
    if cluster and cluster.nodes > 1:
        reasons.append(
            f"Ray cluster of {cluster.nodes} nodes found; the model fits on this node, so it is served here "
            "(run `agentkit serve` on the other nodes for more replicas)"
        )

    tried: list[str] = []
    options = [tp] if tp else _candidates(len(gpus))
    best_partial: tuple[int, _Memory, bool] | None = None
    for size in options:
        if size > len(gpus):
            raise ServingError(f"TP {size} needs {size} GPUs; only {len(gpus)} are available.")
        ep = model.is_moe and size > 1
        problem = tp_problem(model, size, ep)
        if problem:
            tried.append(f"TP {size}: {problem}")
            continue
        mem = _memory(model, gpu_bytes, size, 1, gpu_memory_utilization)
        if mem.kv_room <= 0:
            tried.append(
                f"TP {size}: weights {_gib(mem.weights)} per GPU + {_gib(RUNTIME_RESERVE_BYTES)} reserve exceed "
                f"{_gib(gpu_bytes * gpu_memory_utilization)} ({gpu_memory_utilization:.0%} of each GPU)"
            )
            continue
        if mem.kv_tokens < context:
            tried.append(
                f"TP {size}: KV cache room {_gib(mem.kv_room)} per GPU holds {mem.kv_tokens} tokens, "
                f"less than one {context}-token sequence"
            )
            best_partial = (size, mem, ep)
            continue
        return _single_node_plan(model, gpus, size, ep, mem, context, gpu_memory_utilization, reasons, tried)

    if best_partial and max_model_len is None:
        size, mem, ep = best_partial
        reduced = _lowered_context(mem)
        if reduced >= MIN_CONTEXT:
            lowered = [_lowered_reason(context, reduced, mem)]
            return _single_node_plan(
                model, gpus, size, ep, mem, reduced, gpu_memory_utilization, reasons, tried, lowered
            )
    raise ServingError(_no_fit_message(model, gpus, gpu_bytes, context, tried, gpu_memory_utilization))


def _single_node_plan(
    model: ModelInfo,
    gpus: list[GPU],
    tp: int,
    ep: bool,
    mem: _Memory,
    context: int,
    utilization: float,
    reasons: list[str],
    tried: list[str],
    lowered: list[str] | None = None,
) -> Plan:
    reasons = reasons + [f"not chosen: {t}" for t in tried] + (lowered or [])
    reasons.append(
        f"TP {tp}: weights {_gib(mem.weights)} per GPU, KV cache {_gib(mem.kv_room)} per GPU "
        f"≈ {mem.kv_tokens} tokens per replica ({mem.kv_tokens // context} full {context}-token sequences)"
    )
    replicas = len(gpus) // tp
    if replicas > 1:
        reasons.append(
            f"{replicas} data-parallel replicas of TP {tp} on disjoint GPUs, one server each; the client "
            "balances requests (least outstanding, one agent run stays on one replica for its prefix cache)"
        )
    if len(gpus) % tp:
        reasons.append(f"{len(gpus) % tp} GPU(s) left idle: they do not make a whole TP {tp} group")
    if ep:
        reasons.append(
            f"expert parallelism: the {model.experts} experts are spread whole over the {tp} GPUs instead "
            "of slicing each expert's matrices"
            + (
                " (also what lets FP8 block-quantized experts use this TP)"
                if tp_problem(model, tp, False)
                else ""
            )
        )
    plan = Plan(
        model=model,
        gpus=gpus[: replicas * tp],
        tp=tp,
        pp=1,
        data_parallel=replicas,
        expert_parallel=ep,
        max_model_len=context,
        gpu_memory_utilization=utilization,
        weights_per_gpu=mem.weights,
        kv_room_per_gpu=mem.kv_room,
        kv_tokens=mem.kv_tokens,
        kv_bytes_per_token=mem.kv_per_token,
        reasons=reasons,
    )
    plan.reasons.append(plan.margin())
    return plan


def _multi_node_plan(
    model: ModelInfo,
    gpus: list[GPU],
    cluster: RayCluster,
    context: int,
    max_model_len: int | None,
    utilization: float,
    reasons: list[str],
) -> Plan:
    gpu_bytes = min(g.memory_bytes for g in gpus)
    tp, pp = cluster.gpus_per_node, cluster.nodes
    reasons = reasons + [
        f"the weights do not fit this node's {len(gpus)} GPUs; a Ray cluster of {cluster.nodes} nodes × "
        f"{tp} GPUs is running: TP {tp} within each node, PP {pp} across nodes "
        "(--distributed-executor-backend ray; GPUs on other nodes are assumed to match this node's)"
    ]
    ep = model.is_moe
    problem = tp_problem(model, tp, ep) or (f"{model.layers} layers < PP {pp}" if model.layers < pp else None)
    if problem:
        raise ServingError(f"cannot split {model.name} over the Ray cluster: {problem}.")
    mem = _memory(model, gpu_bytes, tp, pp, utilization)
    if mem.kv_tokens < (max_model_len or MIN_CONTEXT):
        raise ServingError(
            f"{model.name} does not fit the Ray cluster's {cluster.gpus} GPUs either: weights "
            f"{_gib(mem.weights)} per GPU leave {_gib(max(0, mem.kv_room))} for the KV cache. "
            "Use a quantized (FP8/INT4) checkpoint or more nodes."
        )
    if mem.kv_tokens < context:
        reduced = _lowered_context(mem)
        reasons.append(_lowered_reason(context, reduced, mem))
        context = reduced
    reasons.append(
        f"TP {tp} × PP {pp}: weights {_gib(mem.weights)} per GPU, KV cache {_gib(mem.kv_room)} per GPU "
        f"≈ {mem.kv_tokens} tokens"
    )
    if ep:
        reasons.append(
            f"expert parallelism: the {model.experts} experts are spread whole over each node's GPUs"
        )
    plan = Plan(
        model=model,
        gpus=gpus,
        tp=tp,
        pp=pp,
        data_parallel=1,
        expert_parallel=ep,
        max_model_len=context,
        gpu_memory_utilization=utilization,
        weights_per_gpu=mem.weights,
        kv_room_per_gpu=mem.kv_room,
        kv_tokens=mem.kv_tokens,
        kv_bytes_per_token=mem.kv_per_token,
        nodes=pp,
        ray=True,
        reasons=reasons,
    )
    plan.reasons.append(plan.margin())
    return plan


def _no_fit_message(
    model: ModelInfo, gpus: list[GPU], gpu_bytes: int, context: int, tried: list[str], utilization: float
) -> str:
    budget = len(gpus) * (gpu_bytes * utilization - RUNTIME_RESERVE_BYTES)
    lines = [
        f"{model.name} does not fit on {len(gpus)} × {gpus[0].name} ({_gib(gpu_bytes)} each): "
        f"{(model.quantization or model.dtype).upper()} weights are {_gib(model.weight_bytes)}, "
        f"the GPUs hold {_gib(budget)} at {utilization:.0%} utilization with a {context}-token context."
    ]
    lines += [f"  - {t}" for t in tried]
    fixes = []
    if not model.quantization:
        fixes.append(f"an FP8 checkpoint (~{_gib(model.weight_bytes / 2)}) such as {model.name}-FP8")
    fixes.append("more GPUs (or a Ray cluster across nodes)")
    if any("KV cache" in t for t in tried):
        fixes.append("a smaller --max-model-len")
    lines.append("Try: " + "; ".join(fixes) + ".")
    return "\n".join(lines)


def next_plans(plan: Plan) -> list[tuple[str, list[str]]]:
    """What to try after this plan ran out of GPU memory: (what, extra serve arguments), best first."""
    out: list[tuple[str, list[str]]] = []
    n = len(plan.gpus)
    for size in _candidates(n):
        if size > plan.tp and not tp_problem(plan.model, size, plan.model.is_moe):
            out.append((f"a larger tensor parallel size (TP {size})", ["--tp", str(size)]))
            break
    if plan.max_model_len > MIN_CONTEXT:
        smaller = max(MIN_CONTEXT, plan.max_model_len // 2 // 1024 * 1024)
        out.append((f"a smaller context (max_model_len {smaller})", ["--max-model-len", str(smaller)]))
    lower = round(plan.gpu_memory_utilization - 0.1, 2)
    if lower >= 0.5:
        out.append(
            (
                f"lower GPU memory utilization ({lower}) if other processes use these GPUs",
                ["--gpu-memory-utilization", str(lower)],
            )
        )
    return out
