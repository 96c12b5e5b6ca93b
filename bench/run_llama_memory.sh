#!/usr/bin/env bash
# Peak training memory of lmtune and transformers' Trainer on the SmolLM2-135M
# configuration (random initialisation, batch 1) at block sizes 256..2048,
# with and without gradient checkpointing, side by side in one run; the
# peak RSS (getrusage ru_maxrss: weights, gradients, AdamW's moments and
# activations) of each job in its own process, and the MiB each extra token
# costs between block sizes (the activations' share).
#   bench/run_llama_memory.sh [build] [blocks...]
# Each job runs a warm-up step and one more (torch reaches its steady peak in
# the second step, when AdamW's moments, allocated at the end of the first,
# live beside the activations); LMT_BENCH_ROWS=FILE keeps the raw rows in FILE, appending, and
# the table covers every row there (a run split over several calls).
# The peer: 2 threads, jemalloc that keeps its memory (as the speed bench);
# --gc is TrainingArguments(gradient_checkpointing=True).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"; shift || true
blocks="${*:-256 512 1024 2048}"
cfg="${LMT_SHARED_DATA:-../shared/data}/llama-family/SmolLM2-135M"
venv="${LMT_REF_VENV:-$HOME/.cache/lmtune/ref-venv}"
export OMP_NUM_THREADS=2
jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
[ -f "$jemalloc" ] || { echo "run_llama_memory: $jemalloc missing (apt-get install libjemalloc2)" >&2; exit 1; }
peer() { LD_PRELOAD="$jemalloc" MALLOC_CONF="dirty_decay_ms:-1,muzzy_decay_ms:-1,retain:true" \
         "$venv/bin/python" bench/llama_peer.py "$@" "$cfg" 2>/dev/null | tail -1; }
if [ -n "${LMT_BENCH_ROWS:-}" ]; then out="$LMT_BENCH_ROWS"; else out="$(mktemp)"; trap 'rm -f "$out"' EXIT; fi
for T in $blocks; do
  for gc in "" "--gc"; do   # interleaved: lmtune, transformers, same job
    "$build/bench_llama" train --steps 1 --batch 1 --block "$T" $gc --config "$cfg/config.json" >> "$out"
    peer train --steps 1 --batch 1 --block "$T" $gc >> "$out"
  done
done
python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
rows = [r for r in rows if r["tokens_per_s"] > 0]   # rows of warm-up-only runs (an older --steps 0) left out
def peak(impl, gc, T):
    return next((r["peak_rss_mib"] for r in rows if r["impl"] == impl and r["gc"] == gc and r["block"] == T), float("nan"))
Ts = sorted({r["block"] for r in rows})
cols = [("lmtune", False), ("lmtune", True), ("transformers", False), ("transformers", True)]
name = {("lmtune", False): "lmtune", ("lmtune", True): "lmtune gc", ("transformers", False): "torch", ("transformers", True): "torch gc"}
print("peak RSS (MiB), SmolLM2-135M configuration, training batch 1 x T, AdamW, fp32")
print(f"{'T':>6}" + "".join(f"{name[c]:>12}" for c in cols) + f"{'torch/lmtune':>14}{'gc: torch/lmtune':>18}")
for T in Ts:
    p = [peak(*c, T) for c in cols]
    print(f"{T:>6}" + "".join(f"{v:12.0f}" for v in p) + f"{p[2] / p[0]:14.2f}{p[3] / p[1]:18.2f}")
print("MiB per extra token between block sizes (the activations' growth):")
for c in cols:
    s = [(peak(*c, b) - peak(*c, a)) / (b - a) for a, b in zip(Ts, Ts[1:])]
    print(f"  {name[c]:10}" + ", ".join(f"{a}->{b}: {v:.3f}" for (a, b), v in zip(zip(Ts, Ts[1:]), s)))
peer = next((r for r in rows if r["impl"] == "transformers"), None)
if peer:
    print(f"peer: torch {peer['torch']}, transformers {peer['transformers']}, {peer['threads']} threads, jemalloc; lmtune: {rows[0]['matmul']}")
PY
