#!/usr/bin/env bash
# LoRA against full fine-tuning, side by side on one job: lmtune's full
# fine-tuning, lmtune's LoRA and peft + transformers' Trainer LoRA (and,
# with PEER_FULL=1, the Trainer's full fine-tuning), random weights, batch
# 8 x 128, r = 16 (alpha 32, dropout 0.05: TRL's defaults) on attention and
# MLP: distilgpt2 (c_attn, c_proj, c_fc) and SmolLM2-135M (all-linear).
# The runs are interleaved (A, B, C, A, B, C, ...) over `rounds` rounds and
# the medians reported: wall time and process CPU time per training step
# (the CPU figure is the steadier one on a shared machine), peak RSS, and the
# ratios the issue asks for.
#   bench/run_lora_bench.sh [build] [steps] [rounds] [models]
# THREADS (default 1) sets OMP_NUM_THREADS / torch threads; models: gpt2,
# llama or "gpt2 llama" (default); PEER=0 leaves the Python runs out (e.g.
# lmtune alone at LMT_ISA=avx2).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"; steps="${2:-2}"; rounds="${3:-3}"; models="${4:-gpt2 llama}"
data="${LMT_SHARED_DATA:-../shared/data}"
venv="${LMT_REF_VENV:-$HOME/.cache/lmtune/ref-venv}"
threads="${THREADS:-1}"
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
grep -m1 'model name' /proc/cpuinfo | sed 's/.*: /CPU: /'
echo "ISA flags: $(grep -m1 -o -w 'avx2\|avx512f\|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')(lmtune level: ${LMT_ISA:-best})"
echo "threads: $threads; steps per run: $steps (+1 warm-up); rounds: $rounds; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for model in $models; do
  case "$model" in
    gpt2) cfg="$data/configs/distilgpt2.json"; targets="c_attn,c_proj,c_fc" ;;
    llama) cfg="$data/llama-family/SmolLM2-135M/config.json"; targets="all-linear" ;;
    *) echo "unknown model $model" >&2; exit 2 ;;
  esac
  for ((i = 0; i < rounds; i++)); do
    "$build/bench_lora" --config "$cfg" --steps "$steps" 2>/dev/null >> "$tmp/$model.lmtune_full"
    "$build/bench_lora" --config "$cfg" --steps "$steps" --lora 16 --targets "$targets" 2>/dev/null >> "$tmp/$model.lmtune_lora"
    if [ "${PEER:-1}" = 1 ]; then
      "$venv/bin/python" bench/lora_peer.py "$cfg" lora "$steps" 16 "$targets" 0.05 2>/dev/null | tail -1 >> "$tmp/$model.peft_lora"
    fi
    if [ "${PEER_FULL:-0}" = 1 ]; then
      "$venv/bin/python" bench/lora_peer.py "$cfg" full "$steps" 2>/dev/null | tail -1 >> "$tmp/$model.torch_full"
    fi
  done
done
python3 - "$tmp" "$models" <<'PY'
import json, os, statistics, sys
tmp, models = sys.argv[1], sys.argv[2].split()
def med(model, run, key):
    path = f"{tmp}/{model}.{run}"
    if not os.path.exists(path): return None
    rows = [json.loads(l) for l in open(path) if l.strip()]
    return statistics.median(r[key] for r in rows) if rows else None
for model in models:
    runs = ["lmtune_full", "lmtune_lora", "peft_lora", "torch_full"]
    print(f"\n{model}: median per training step (batch 8 x 128)")
    print(f"{'':16}{'wall ms':>10}{'CPU ms':>10}{'peak RSS MiB':>14}")
    for run in runs:
        if med(model, run, "cpu_ms") is None: continue
        print(f"{run:16}{med(model, run, 'step_ms'):10.0f}{med(model, run, 'cpu_ms'):10.0f}{med(model, run, 'peak_rss_mib'):14.0f}")
    for key, label in [("step_ms", "wall"), ("cpu_ms", "CPU")]:
        lf, ll, pl = med(model, "lmtune_full", key), med(model, "lmtune_lora", key), med(model, "peft_lora", key)
        peer = f", {pl / ll:.2f}x faster than peft + Trainer LoRA (>= 1.5)" if pl else ""
        print(f"{label}: LoRA {lf / ll:.2f}x faster than lmtune full fine-tuning (>= 1.3){peer}")
    m = med(model, "lmtune_lora", "peak_rss_mib") / med(model, "lmtune_full", "peak_rss_mib")
    print(f"memory: LoRA peak RSS {100 * m:.0f}% of full fine-tuning's (<= 60%)")
print(f"\nload average at the end: {open('/proc/loadavg').read().split()[:3]}")
PY
