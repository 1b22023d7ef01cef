"""Choose tensor/data/pipeline/expert parallelism for a model on the GPUs at hand, with reasons.

Memory model (per GPU), in each engine's own terms:

- vLLM: ``memory × gpu_memory_utilization`` is the engine's budget; from it go the weights (split over
  TP × PP), a fixed runtime reserve (activations incl. the sampler's, CUDA graphs, communication
  buffers), and what is left holds the KV cache.
- SGLang: ``memory × mem_fraction_static`` holds the weights and the KV cache only; activations and CUDA
  graphs live in the rest. Unless the user sets the fraction, SGLang chooses it from the GPU's memory
  and the parallel size; agentkit estimates that choice the way SGLang makes it (:func:`sglang_static_fraction`)
  and does not pass the flag.

The KV cache must fit at least one sequence of ``max_model_len`` tokens. Every plan states its margin:
how much engine overhead it tolerates before not even one full sequence fits, so a plan that rests on
the reserve's estimate says it is tight.

Context rule: the context is the one the user asked for, else the model's native context
(max_position_embeddings: 40960 for Qwen3, 262144 for 2507 and Coder). The smallest TP that holds one
full sequence of it is used and the other GPUs become replicas; only when no TP on the GPUs at hand
holds it is the context lowered. The dry run shows the alternative (a shorter context for more
replicas, or the GPUs that would keep the full one).
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
"""vLLM's own default for --gpu-memory-utilization."""
RUNTIME_RESERVE_BYTES = int(2.5 * GIB)
"""vLLM: what activations, sampler, CUDA graphs and NCCL buffers take of the budget (an estimate)."""
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
    engine: str = "vllm"
    """The engine whose memory terms the plan uses (vllm or sglang)."""
    utilization_given: bool = True
    """Whether the user chose the memory fraction (SGLang: otherwise SGLang chooses and no flag is passed)."""
    engine_dp: bool = False
    """vLLM's own data parallelism: one server over all GPUs (``--data-parallel-size``), not replicas."""
    reserve_per_gpu: int = RUNTIME_RESERVE_BYTES
    """Engine overhead per GPU outside weights and KV cache (vLLM: assumed; SGLang: what its fraction leaves)."""
    alternative: str | None = None
    """The other side of the context rule, in words, with the flags that choose it."""

    @property
    def overhead_limit(self) -> int:
        """Engine overhead per GPU this plan tolerates before one full ``max_model_len`` sequence no longer fits."""
        return self.reserve_per_gpu + self.kv_room_per_gpu - self.max_model_len * self.kv_bytes_per_token

    @property
    def tight(self) -> bool:
        return self.overhead_limit - self.reserve_per_gpu < TIGHT_BYTES

    def margin(self) -> str:
        """The per-GPU budget, term by term, and how much more overhead than assumed the plan survives."""
        gpu = min(g.memory_bytes for g in self.gpus)
        sequence = self.max_model_len * self.kv_bytes_per_token
        if self.engine == "sglang":
            chosen = "set by you" if self.utilization_given else "SGLang's own choice, estimated"
            text = (
                f"margin: each GPU's static memory {_gib(gpu * self.gpu_memory_utilization)} "
                f"(mem_fraction_static {self.gpu_memory_utilization:.3g} of {_gib(gpu)}, {chosen}) = weights "
                f"{_gib(self.weights_per_gpu)} + KV cache {_gib(self.kv_room_per_gpu)}; activations and CUDA "
                f"graphs get the other {_gib(self.reserve_per_gpu)}; one full {self.max_model_len}-token sequence "
                f"needs {_gib(sequence)} of the KV cache, so the plan holds while the engine overhead stays "
                f"under {_gib(self.overhead_limit)} per GPU"
            )
        else:
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
        if self.engine_dp:
            return self.tp * self.data_parallel
        return self.tp if self.nodes == 1 else self.tp * self.pp

    def replicas(self, base_port: int) -> list[Replica]:
        """The servers to start: disjoint GPU groups on consecutive ports (one for a multi-node or DP plan)."""
        if self.ray or self.engine_dp:
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
            "data_parallel_in_engine": self.engine_dp,
            "expert_parallel": self.expert_parallel,
            "nodes": self.nodes,
            "ray": self.ray,
            "max_model_len": self.max_model_len,
            "gpu_memory_utilization": self.gpu_memory_utilization,
            "memory_fraction_passed": self.utilization_given,
            "model_facts_source": m.source,
            "weights_per_gpu_bytes": self.weights_per_gpu,
            "kv_cache_per_gpu_bytes": self.kv_room_per_gpu,
            "kv_cache_tokens_per_replica": self.kv_tokens,
            "kv_cache_bytes_per_token_per_gpu": self.kv_bytes_per_token,
            "runtime_reserve_per_gpu_bytes": self.reserve_per_gpu,
            "overhead_limit_per_gpu_bytes": self.overhead_limit,
            "tight": self.tight,
            "reasons": list(self.reasons),
            "alternative": self.alternative,
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


SGLANG_TIERS = [
    # (GPU memory below, MiB; chunked_prefill_size; decode CUDA graph max batch below TP 4, from TP 4)
    (20 * 1024, 2048, 8, 8),
    (35 * 1024, 4096, 48, 160),
    (60 * 1024, 4096, 32, 160),
    (90 * 1024, 8192, 256, 512),
    (160 * 1024, 8192, 256, 512),
    (math.inf, 16384, 512, 512),
]
"""SGLang's defaults by GPU memory (its ``handle_gpu_memory_settings``), the inputs of its fraction."""


def sglang_static_fraction(gpu_mib: int, tp: int, pp: int = 1) -> float:
    """The ``mem_fraction_static`` SGLang chooses when none is given, estimated as SGLang estimates it.

    SGLang reserves, in MiB: 512 + 1.5 × chunked_prefill_size (activations) + TP·PP/8 × 1024 (parallel
    buffers) + 2 × the decode CUDA-graph batch (graphs), at least 10 GiB on GPUs above 60 GiB, and keeps
    the rest, rounded to 3 digits.
    """
    _, chunk, small_bs, large_bs = next(tier for tier in SGLANG_TIERS if gpu_mib < tier[0])
    graph_bs = small_bs if tp < 4 else large_bs
    reserved = 512 + 1.5 * max(chunk, 2048) + tp * pp / 8 * 1024 + 2 * graph_bs
    if gpu_mib > 60 * 1024:
        reserved = max(reserved, 10 * 1024)
    return round((gpu_mib - reserved) / gpu_mib, 3)


@dataclass(frozen=True, slots=True)
class _Memory:
    weights: int
    kv_room: int
    kv_per_token: int
    utilization: float
    reserve: int
    """Overhead per GPU outside weights and KV (vLLM: the assumed reserve; SGLang: the non-static part)."""

    @property
    def kv_tokens(self) -> int:
        return max(0, self.kv_room) // self.kv_per_token


@dataclass(frozen=True, slots=True)
class _Budget:
    """What the engine may use of each GPU: the engine, the fraction and whether the user chose it."""

    engine: str
    utilization: float | None

    def fraction(self, gpu_mib: int, parallel: int) -> float:
        if self.utilization is not None:
            return self.utilization
        if self.engine == "sglang":
            return sglang_static_fraction(gpu_mib, parallel)
        return DEFAULT_GPU_MEMORY_UTILIZATION

    def memory(self, gpu_bytes: int, weights: int, kv_per_token: int, parallel: int) -> _Memory:
        fraction = self.fraction(gpu_bytes // 2**20, parallel)
        if self.engine == "sglang":
            reserve = gpu_bytes - int(gpu_bytes * fraction)
            room = int(gpu_bytes * fraction) - weights
        else:
            reserve = RUNTIME_RESERVE_BYTES
            room = int(gpu_bytes * fraction) - weights - RUNTIME_RESERVE_BYTES
        return _Memory(weights, room, kv_per_token, fraction, reserve)


def _kv_per_token(model: ModelInfo, tp: int, pp: int) -> int:
    kv_heads_per_gpu = max(1, model.kv_heads // tp)
    return 2 * math.ceil(model.layers / pp) * kv_heads_per_gpu * model.head_dim * 2


def _memory(model: ModelInfo, gpu_bytes: int, tp: int, pp: int, budget: _Budget) -> _Memory:
    weights = math.ceil(model.weight_bytes / (tp * pp))
    return budget.memory(gpu_bytes, weights, _kv_per_token(model, tp, pp), tp * pp)


def _dp_ep_memory(model: ModelInfo, gpu_bytes: int, tp: int, gpus: int, budget: _Budget) -> _Memory:
    """Per GPU with vLLM's DP + EP: attention and embeddings split over TP, the experts over every GPU."""
    dense = model.weight_bytes - model.expert_weight_bytes
    weights = math.ceil(dense / tp) + math.ceil(model.expert_weight_bytes / gpus)
    return budget.memory(gpu_bytes, weights, _kv_per_token(model, tp, 1), tp)


def _lowered_context(mem: _Memory) -> int:
    """A context (multiple of 1024) whose one full sequence fits the KV cache, with TIGHT_BYTES spare if possible."""
    roomy = max(0, mem.kv_room - TIGHT_BYTES) // mem.kv_per_token // 1024 * 1024
    return roomy if roomy >= MIN_CONTEXT else mem.kv_tokens // 1024 * 1024


def _lowered_reason(asked: int, lowered: int, mem: _Memory) -> str:
    spare = mem.kv_room - lowered * mem.kv_per_token
    return (
        f"max_model_len lowered from {asked} to {lowered}: no TP on these GPUs holds a full {asked}-token "
        f"sequence in the KV cache; {lowered} leaves {_gib(spare)} of it per GPU beyond one full sequence "
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
    gpu_memory_utilization: float | None = None,
    cluster: RayCluster | None = None,
    engine: str = "vllm",
    data_parallel: str = "auto",
) -> Plan:
    """The smallest TP that fits weights + one full-context sequence of KV; the other GPUs become replicas
    (or, for a large MoE on vLLM, one server with vLLM's own data + expert parallelism).

    ``gpu_memory_utilization`` None: the engine's own default (vLLM 0.9; SGLang chooses its fraction).
    ``data_parallel``: ``auto``, ``replicas`` (separate servers) or ``engine`` (vLLM's --data-parallel-size).
    Raises :class:`ServingError` naming what does not fit and what would.
    """
    if not gpus:
        raise ServingError("no GPU to plan for.")
    if gpu_memory_utilization is not None and not 0.1 <= gpu_memory_utilization <= 0.99:
        raise ServingError(f"gpu_memory_utilization {gpu_memory_utilization} must be between 0.1 and 0.99.")
    if data_parallel not in ("auto", "replicas", "engine"):
        raise ServingError(f"data_parallel {data_parallel!r}: use auto, replicas or engine.")
    if data_parallel == "engine" and engine != "vllm":
        raise ServingError("data_parallel engine is vLLM's --data-parallel-size; with SGLang use replicas.")
    if max_model_len is not None and max_model_len > model.max_context:
        raise ServingError(
            f"max_model_len {max_model_len} exceeds {model.name}'s context of {model.max_context} tokens "
            "(max_position_embeddings); ask for at most that, or enable YaRN rope_scaling in config.json."
        )
    if max_model_len is not None and max_model_len < 256:
        raise ServingError(f"max_model_len {max_model_len} is too small to be useful; use at least 4096.")
    budget = _Budget(engine, gpu_memory_utilization)
    gpu_bytes = min(g.memory_bytes for g in gpus)
    context = max_model_len or model.max_context
    reasons = [
        f"{model.summary()} (facts from {model.source})",
        f"{len(gpus)} × {gpus[0].name} ({_gib(gpu_bytes)} each)",
    ]
    if not model.known_architecture:
        reasons.append(
            f"warning: {model.architecture} is not a Qwen architecture agentkit knows; sizes are estimates"
        )

    fits_locally = model.weight_bytes <= len(gpus) * (
        gpu_bytes * budget.fraction(gpu_bytes // 2**20, len(gpus)) - RUNTIME_RESERVE_BYTES
    )
    if cluster and cluster.nodes > 1 and tp is None and not fits_locally:
        return _multi_node_plan(model, gpus, cluster, context, max_model_len, budget, reasons)
    if cluster and cluster.nodes > 1:
        reasons.append(
            f"Ray cluster of {cluster.nodes} nodes found; the model fits on this node, so it is served here "
            "(run `agentkit serve` on the other nodes for more replicas)"
        )

    tried: list[str] = []
    options = [tp] if tp else _candidates(len(gpus))
    best_partial: tuple[int, _Memory, bool] | None = None
    plan: Plan | None = None
    for size in options:
        if size > len(gpus):
            raise ServingError(f"TP {size} needs {size} GPUs; only {len(gpus)} are available.")
        ep = model.is_moe and size > 1
        problem = tp_problem(model, size, ep)
        if problem:
            tried.append(f"TP {size}: {problem}")
            continue
        mem = _memory(model, gpu_bytes, size, 1, budget)
        if mem.kv_room <= 0:
            tried.append(
                f"TP {size}: weights {_gib(mem.weights)} per GPU exceed what the engine keeps for weights "
                f"and KV cache ({_gib(gpu_bytes * mem.utilization - (0 if engine == 'sglang' else mem.reserve))})"
            )
            continue
        if mem.kv_tokens < context:
            tried.append(
                f"TP {size}: KV cache room {_gib(mem.kv_room)} per GPU holds {mem.kv_tokens} tokens, "
                f"less than one {context}-token sequence"
            )
            best_partial = (size, mem, ep)
            continue
        plan = _single_node_plan(model, gpus, size, ep, mem, context, budget, reasons, tried)
        break

    if plan is None and best_partial and max_model_len is None:
        size, mem, ep = best_partial
        reduced = _lowered_context(mem)
        if reduced >= MIN_CONTEXT:
            lowered = [_lowered_reason(context, reduced, mem)]
            plan = _single_node_plan(model, gpus, size, ep, mem, reduced, budget, reasons, tried, lowered)
    if plan is None:
        raise ServingError(_no_fit_message(model, gpus, gpu_bytes, context, tried, budget))
    if engine == "vllm" and tp is None and data_parallel != "replicas":
        forced = data_parallel == "engine"
        dp_plan = _dp_ep_plan(model, gpus, plan, budget, reasons, context, forced)
        if dp_plan is not None:
            return dp_plan
    elif data_parallel == "engine":
        raise ServingError("data_parallel engine plans its own TP; drop --tp to use it.")
    if tp is None and max_model_len is None:
        plan.alternative = _context_alternative(model, gpus, plan, budget)
    return plan


def _context_alternative(model: ModelInfo, gpus: list[GPU], plan: Plan, budget: _Budget) -> str | None:
    """The other side of the context rule: a shorter context on fewer GPUs each (more replicas), or what the
    full context would take when it was lowered."""
    gpu_bytes = min(g.memory_bytes for g in gpus)
    if plan.max_model_len < model.max_context:
        for size in _candidates(len(gpus) * 8):
            if size <= plan.tp or tp_problem(model, size, model.is_moe and size > 1):
                continue
            if _memory(model, gpu_bytes, size, 1, budget).kv_tokens >= model.max_context:
                return (
                    f"alternative: the full {model.max_context}-token context needs TP {size} "
                    f"({size} such GPUs per server); with these GPUs, --max-model-len picks another context"
                )
        return None
    if plan.tp == 1:
        return None
    for size in _candidates(plan.tp - 1):
        if tp_problem(model, size, model.is_moe and size > 1):
            continue
        mem = _memory(model, gpu_bytes, size, 1, budget)
        shorter = _lowered_context(mem)
        if shorter >= MIN_CONTEXT and len(gpus) // size > plan.data_parallel:
            return (
                f"alternative: `--max-model-len {shorter} --tp {size}` gives {len(gpus) // size} replicas of "
                f"TP {size} instead of {plan.data_parallel} of TP {plan.tp}, at a {shorter}-token context "
                f"instead of {plan.max_model_len} (agentkit keeps the asked or native context first)"
            )
    return None


def _dp_ep_plan(
    model: ModelInfo,
    gpus: list[GPU],
    replicas: Plan,
    budget: _Budget,
    reasons: list[str],
    target: int,
    forced: bool,
) -> Plan | None:
    """vLLM's data + expert parallelism over all GPUs, when it beats separate replicas (or is asked for).

    Chosen for a MoE model that needs more than one GPU per replica: the experts are spread over every
    GPU instead of copied into each replica, which leaves more room for KV cache on each GPU and more
    data-parallel ranks (each rank's attention runs on its own, without TP's all-reduce). It must give
    more ranks than there would be replicas and hold one full sequence per rank. Replicas are kept where
    one GPU holds the model: agentkit's client keeps each agent run on one replica's prefix cache, which
    vLLM's internal balancing does not promise.
    """
    if not model.is_moe or len(gpus) < 2 or (replicas.tp == 1 and not forced):
        return None
    gpu_bytes = min(g.memory_bytes for g in gpus)
    layouts = [(size, len(gpus) // size) for size in _candidates(len(gpus)) if len(gpus) // size >= 2]
    for context in dict.fromkeys([target, replicas.max_model_len]):
        for spare in (TIGHT_BYTES, 0):  # the most ranks that are not tight, else the most that fit
            for size, ranks in layouts:
                if tp_problem(model, size, True) or (ranks <= replicas.data_parallel and not forced):
                    continue
                mem = _dp_ep_memory(model, gpu_bytes, size, ranks * size, budget)
                if mem.kv_room - context * mem.kv_per_token >= spare and mem.kv_tokens >= context:
                    chosen = (size, ranks)
                    return _dp_ep_chosen(model, gpus, replicas, budget, reasons, chosen, mem, context)
    if forced:
        raise ServingError(
            f"{model.name}: no data + expert parallel layout on these GPUs holds one full sequence."
        )
    return None


def _dp_ep_chosen(
    model: ModelInfo,
    gpus: list[GPU],
    replicas: Plan,
    budget: _Budget,
    reasons: list[str],
    layout: tuple[int, int],
    mem: _Memory,
    context: int,
) -> Plan:
    size, ranks = layout
    used = gpus[: ranks * size]
    why = (
        f"vLLM's own data + expert parallelism: one server over {len(used)} GPUs, {ranks} data-parallel "
        f"ranks of TP {size} (--data-parallel-size {ranks} --enable-expert-parallel); the {model.experts} "
        f"experts are spread over all {len(used)} GPUs instead of copied into each replica: weights "
        f"{_gib(mem.weights)} per GPU (replicas: {_gib(replicas.weights_per_gpu)}), and the KV cache "
        f"holds {mem.kv_tokens} tokens per rank ({mem.kv_tokens * ranks} in all, against "
        f"{replicas.kv_tokens * replicas.data_parallel} for {replicas.data_parallel} replica(s) of TP "
        f"{replicas.tp}); vLLM balances requests over the ranks behind one endpoint"
    )
    plan = Plan(
        model=model,
        gpus=used,
        tp=size,
        pp=1,
        data_parallel=ranks,
        expert_parallel=True,
        max_model_len=context,
        gpu_memory_utilization=mem.utilization,
        weights_per_gpu=mem.weights,
        kv_room_per_gpu=mem.kv_room,
        kv_tokens=mem.kv_tokens,
        kv_bytes_per_token=mem.kv_per_token,
        reasons=reasons + [why],
        engine="vllm",
        utilization_given=budget.utilization is not None,
        engine_dp=True,
        reserve_per_gpu=mem.reserve,
        alternative=(
            f"alternative: --data-parallel replicas: {replicas.data_parallel} separate server(s) of TP "
            f"{replicas.tp}, context {replicas.max_model_len}, {replicas.kv_tokens} KV tokens each; agentkit "
            "then keeps each agent run on one replica, so its prefix cache is reused, which vLLM's internal "
            "balancing does not promise" + _more_ranks(model, gpus, budget, size, context)
        ),
    )
    plan.reasons.append(plan.margin())
    return plan


def _more_ranks(model: ModelInfo, gpus: list[GPU], budget: _Budget, size: int, context: int) -> str:
    """The shorter context at which a smaller TP gives more data-parallel ranks, in words ('' if none)."""
    gpu_bytes = min(g.memory_bytes for g in gpus)
    for smaller in _candidates(size - 1) if size > 1 else []:
        if tp_problem(model, smaller, True):
            continue
        ranks = len(gpus) // smaller
        shorter = _lowered_context(_dp_ep_memory(model, gpu_bytes, smaller, ranks * smaller, budget))
        if MIN_CONTEXT <= shorter < context:
            return (
                f"; or `--max-model-len {shorter}`: {ranks} ranks of TP {smaller} at a {shorter}-token "
                f"context instead of {len(gpus) // size} of TP {size}"
            )
    return ""


def _single_node_plan(
    model: ModelInfo,
    gpus: list[GPU],
    tp: int,
    ep: bool,
    mem: _Memory,
    context: int,
    budget: _Budget,
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
        gpu_memory_utilization=mem.utilization,
        weights_per_gpu=mem.weights,
        kv_room_per_gpu=mem.kv_room,
        kv_tokens=mem.kv_tokens,
        kv_bytes_per_token=mem.kv_per_token,
        reasons=reasons,
        engine=budget.engine,
        utilization_given=budget.utilization is not None,
        reserve_per_gpu=mem.reserve,
    )
    plan.reasons.append(plan.margin())
    return plan


def _multi_node_plan(
    model: ModelInfo,
    gpus: list[GPU],
    cluster: RayCluster,
    context: int,
    max_model_len: int | None,
    budget: _Budget,
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
    mem = _memory(model, gpu_bytes, tp, pp, budget)
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
        gpu_memory_utilization=mem.utilization,
        weights_per_gpu=mem.weights,
        kv_room_per_gpu=mem.kv_room,
        kv_tokens=mem.kv_tokens,
        kv_bytes_per_token=mem.kv_per_token,
        nodes=pp,
        ray=True,
        reasons=reasons,
        engine=budget.engine,
        utilization_given=budget.utilization is not None,
        reserve_per_gpu=mem.reserve,
    )
    plan.reasons.append(plan.margin())
    return plan


def _no_fit_message(
    model: ModelInfo, gpus: list[GPU], gpu_bytes: int, context: int, tried: list[str], budget: _Budget
) -> str:
    utilization = budget.fraction(gpu_bytes // 2**20, len(gpus))
    reserve = 0 if budget.engine == "sglang" else RUNTIME_RESERVE_BYTES
    total = len(gpus) * (gpu_bytes * utilization - reserve)
    lines = [
        f"{model.name} does not fit on {len(gpus)} × {gpus[0].name} ({_gib(gpu_bytes)} each): "
        f"{(model.quantization or model.dtype).upper()} weights are {_gib(model.weight_bytes)}, "
        f"the GPUs hold {_gib(total)} at {utilization:.0%} utilization with a {context}-token context."
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
