#!/usr/bin/env bash
# lmtune against transformers (PyPI torch, tuned) on the SmolLM2-135M
# configuration from random initialisation, side by side in one run:
# training steps and evaluation at batch 8 x 256 (fp32 and bf16), greedy
# decoding (8-token prompt, batch 1), peak RSS of each job's process; the
# AVX2 level of lmtune's kernels (LMT_ISA=avx2) beside the default one.
#   bench/run_llama_bench.sh [build] [rounds] [steps] [gen_tokens]
# Each round runs every job once, lmtune and its peer back to back
# (A, B, A, B ... on a machine others share); the table gives each figure's
# median over the rounds and the ratio of the medians. The peer: 2 threads,
# jemalloc that never returns memory (as bench/run_gpt2_bench.sh).
# LMT_BENCH_ROWS=FILE keeps the raw rows in FILE (appending; the table covers
# every row there).
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
for r in $(seq "$rounds"); do
  for job in "train --steps $steps" "train --steps $steps --bf16" "eval --steps $steps" "eval --steps $steps --bf16" \
             "generate --new $gen" "generate --new $gen --bf16"; do
    lmt $job | sed "s/^{/{\"round\": $r, \"level\": \"default\", /" >> "$out"
    peer $job | sed "s/^{/{\"round\": $r, /" >> "$out"
    case "$job" in *bf16*) ;; *) LMT_ISA=avx2 lmt $job | sed "s/^{/{\"round\": $r, \"level\": \"avx2\", /" >> "$out" ;; esac
  done
done
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
def pick(impl, mode, bf16, level=None):
    return [r for r in rows if r["impl"] == impl and r["mode"] == mode and r["bf16"] == bf16
            and (level is None or r.get("level") == level)]
med = lambda rs, k: statistics.median(r[k] for r in rs) if rs else float("nan")
print(f"{'job':22}{'lmtune tok/s':>14}{'torch tok/s':>13}{'ratio':>7}{'avx2 tok/s':>12}{'avx2 ratio':>11}"
      f"{'lmtune MiB':>12}{'torch MiB':>11}   lmtune runs | torch runs")
for mode in ("train", "eval", "generate"):
    for bf16 in (False, True):
        a, p, v = pick("lmtune", mode, bf16, "default"), pick("transformers", mode, bf16), pick("lmtune", mode, bf16, "avx2")
        ta, tp, tv = med(a, "tokens_per_s"), med(p, "tokens_per_s"), med(v, "tokens_per_s")
        name = f"{mode} {'bf16' if bf16 else 'fp32'}" + (" (8 x 256)" if mode != "generate" else " (batch 1)")
        avx2 = f"{tv:12.1f}{tv / tp:11.2f}" if v else f"{'':12}{'':11}"
        runs = " ".join(f"{r['tokens_per_s']:.1f}" for r in a) + " | " + " ".join(f"{r['tokens_per_s']:.1f}" for r in p)
        print(f"{name:22}{ta:14.1f}{tp:13.1f}{ta / tp:7.2f}{avx2}{med(a, 'peak_rss_mib'):12.0f}{med(p, 'peak_rss_mib'):11.0f}   {runs}")
peer = next((r for r in rows if r["impl"] == "transformers"), None)
lm = next((r for r in rows if r["impl"] == "lmtune"), None)
if peer and lm:
    print(f"peer: torch {peer['torch']}, transformers {peer['transformers']}, {peer['threads']} threads, jemalloc; "
          f"lmtune: {lm['matmul']}; rounds: {max(r['round'] for r in rows)}")
PY
