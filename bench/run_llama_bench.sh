#!/usr/bin/env bash
# lmtune against transformers (PyPI torch, tuned) on the SmolLM2-135M
# configuration from random initialisation, side by side in one run:
# training steps and evaluation at batch 8 x 256 (fp32 and bf16), greedy
# decoding (8-token prompt, batch 1), peak RSS of each job's process; the
# AVX2 level of lmtune's kernels (LMT_ISA=avx2) beside the default one.
#   bench/run_llama_bench.sh [build] [rounds] [steps] [gen_tokens]
# Each round runs every job once, lmtune and its peer back to back
# (A, B, A, B ... on a machine others share); the table gives each figure's
# median over the rounds and the median of the back-to-back pairs' ratios
# (by wall clock and by CPU time: bench/llama_bench_table.py). The peer: 2 threads,
# jemalloc that never returns memory (as bench/run_gpt2_bench.sh).
# LMT_BENCH_ROWS=FILE keeps the raw rows in FILE (appending; the table covers
# every row there); LMT_BENCH_JOBS="job;job..." runs those jobs only.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"; rounds="${2:-3}"; steps="${3:-2}"; gen="${4:-64}"
cfg="${LMT_SHARED_DATA:-../shared/data}/llama-family/SmolLM2-135M"
venv="${LMT_REF_VENV:-$HOME/.cache/lmtune/ref-venv}"
export OMP_NUM_THREADS=2
jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
[ -f "$jemalloc" ] || { echo "run_llama_bench: $jemalloc missing (apt-get install libjemalloc2)" >&2; exit 1; }
peer() { LD_PRELOAD="$jemalloc" MALLOC_CONF="dirty_decay_ms:-1,muzzy_decay_ms:-1,retain:true" \
         "$venv/bin/python" bench/llama_peer.py "$@" "$cfg" 2>/dev/null | tail -1; }
lmt() { "$build/bench_llama" "$@" --config "$cfg/config.json"; }
if [ -n "${LMT_BENCH_ROWS:-}" ]; then out="$LMT_BENCH_ROWS"; else out="$(mktemp)"; trap 'rm -f "$out"' EXIT; fi
jobs=("train --steps $steps" "train --steps $steps --bf16" "eval --steps $steps" "eval --steps $steps --bf16"
      "generate --new $gen" "generate --new $gen --bf16")
[ -n "${LMT_BENCH_JOBS:-}" ] && IFS=';' read -ra jobs <<< "$LMT_BENCH_JOBS"   # e.g. "train --steps 2;eval --steps 2"
for r in $(seq "$rounds"); do
  for job in "${jobs[@]}"; do
    lmt $job | sed "s/^{/{\"round\": $r, \"level\": \"default\", /" >> "$out"
    peer $job | sed "s/^{/{\"round\": $r, /" >> "$out"
    case "$job" in *bf16*) ;; *) LMT_ISA=avx2 lmt $job | sed "s/^{/{\"round\": $r, \"level\": \"avx2\", /" >> "$out" ;; esac
  done
done
python3 bench/llama_bench_table.py "$out"
