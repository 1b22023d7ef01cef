#!/usr/bin/env bash
# Device check for a GPU machine (never needed by CI): real nvidia-smi parsing, and, if vLLM is
# installed, a real `vllm serve` of a tiny random-weight Qwen3 (--load-format dummy, no download)
# started, planned and stopped by agentkit. Usage: bash bench/device_check.sh [OUT_DIR]
set -euo pipefail
out=${1:-${OUT:-/tmp/agentkit-device-check}}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 AGENTKIT_SERVE_DIR="$out/serve"

python3 - <<'PY'
from agentkit.serving.gpus import list_gpus
gpus = list_gpus()
assert gpus, "no GPU parsed"
for g in gpus:
    print(f"GPU {g.index}: {g.name}, {g.memory_mib} MiB")
PY

if ! command -v vllm >/dev/null; then
  echo "vllm not installed here: skipping the real serve check"
  exit 0
fi

model="$out/tiny-qwen3"
mkdir -p "$model"
cat > "$model/config.json" <<'JSON'
{"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 256, "intermediate_size": 512,
 "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64,
 "vocab_size": 151936, "max_position_embeddings": 4096, "rms_norm_eps": 1e-6, "rope_theta": 1000000,
 "tie_word_embeddings": true, "torch_dtype": "bfloat16", "bos_token_id": 151643, "eos_token_id": 151645,
 "hidden_act": "silu", "attention_bias": false}
JSON

timeout 540 python3 - "$model" <<'PY'
import sys, time, anyio, httpx
from agentkit.serving.ensure import start_servers
from agentkit.serving.spec import ServeOptions, prepare

opts = ServeOptions(path=sys.argv[1], name="tiny-qwen3", gpus="0", max_model_len=2048, gpu_memory_utilization=0.3, timeout=420)
spec = prepare(opts, dry_run=True)          # dry run: the folder has no weights; dummy weights are loaded
spec.commands = [c + ["--load-format", "dummy", "--skip-tokenizer-init"] for c in spec.commands]
print(spec.describe())

async def main():
    t0 = time.monotonic()
    servers, run_dir = await start_servers(spec, on_status=print, status_every=10)
    print(f"ready after {time.monotonic() - t0:.1f} s; logs in {run_dir}")
    async with httpx.AsyncClient() as c:
        print((await c.get(spec.base_urls()[0] + "/models")).json())
    pgid = servers[0].pid
    servers[0].stop()
    from agentkit.serving.launcher import group_members
    assert not group_members(pgid), f"left running: {group_members(pgid)}"
    print("stopped; no process left in the group")

anyio.run(main)
PY
