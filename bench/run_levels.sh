#!/usr/bin/env bash
# lmtune against PyTorch / transformers at each instruction-set level this
# CPU runs, both sides held to the same level, side by side in one run:
#   GPT-2 (distilgpt2 config): training, evaluation, greedy generation, fp32;
#   masked LM (distilroberta config): Trainer training steps;
#   translation (opus-mt-en-fr config): training steps (forward with dropout,
#   backward, clip, AdamW) on one batch of KDE pairs;
# with the level's measured fp32 FMA peak and GPT-2 training's share of it.
#   bench/run_levels.sh [build] [levels...]     (default: every level the CPU runs)
# lmtune is held to a level by LMT_ISA; PyTorch by ATEN_CPU_CAPABILITY (its
# own kernels), MKL_ENABLE_INSTRUCTIONS (MKL's GEMM) and ONEDNN_MAX_CPU_ISA
# (oneDNN); the peer's capability as torch reports it is printed. amx: both
# sides unrestricted. Random weights, 2 threads, jemalloc for the peer as in
# run_gpt2_bench.sh.
# The avx2 level runs from a second build, -march=x86-64-v3 (LMT_MARCH): what
# a native build on an AVX2-only CPU is, so that no code outside the
# dispatched kernels (tokenizers, caches, data) runs AVX-512 instructions
# there; it is configured and built here when missing ($LMT_AVX2_BUILD).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"; shift || true
avx2_build="${LMT_AVX2_BUILD:-build-x86-64-v3}"
data="${LMT_SHARED_DATA:-../shared/data}"   # as CMake: LMT_SHARED_DATA may point elsewhere
venv="${LMT_REF_VENV:-$HOME/.cache/lmtune/ref-venv}"
steps="${LMT_BENCH_STEPS:-3}"; gen="${LMT_BENCH_GEN:-64}"
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
[ -f "$jemalloc" ] || { echo "run_levels: $jemalloc missing (apt-get install libjemalloc2)" >&2; exit 1; }
[ -x "$venv/bin/python" ] || { echo "run_levels: no reference venv at $venv (tools/reference/setup.sh)" >&2; exit 1; }
levels="$*"
if [ -z "$levels" ]; then   # the CPU's best and every x86 level below it
  best=$(LMT_ISA= "$build/lmtune" info | sed -n 's/^level: \([a-z0-9]*\).*/\1/p')
  case "$best" in amx) levels="amx avx512 avx2" ;; avx512) levels="avx512 avx2" ;; *) levels="$best" ;; esac
fi
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); load average $(cut -d' ' -f1-3 /proc/loadavg)"

torch_env() {   # the peer's environment for a level
  case "$1" in
    avx2) echo "ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2" ;;
    avx512) echo "ATEN_CPU_CAPABILITY=avx512 MKL_ENABLE_INSTRUCTIONS=AVX512 ONEDNN_MAX_CPU_ISA=AVX512_CORE" ;;
    *) echo "" ;;
  esac
}
peer() {   # level, script, args...
  local level="$1"; shift
  env $(torch_env "$level") LD_PRELOAD="$jemalloc" MALLOC_CONF="dirty_decay_ms:-1,muzzy_decay_ms:-1,retain:true" \
    "$venv/bin/python" "$@" 2>/dev/null | tail -1
}
mlm_lmtune() {   # level, steps: the MLM Trainer through the CLI (train_runtime of n steps)
  LMT_ISA="$1" "$b/lmtune" train --task mlm --config_name "$data/configs/distilroberta-base.json" \
    --tokenizer_name "$data/tokenizers/roberta-base" --train_file "$data/wikitext-2-raw-v1/wiki.valid.raw" \
    --validation_split_percentage 1 --max_seq_length 128 --eval_mask_seed 1 \
    --max_steps "$2" --logging_steps 1000 --save_strategy no --learning_rate 2e-5 --weight_decay 0.01 \
    --output_dir "$tmp/mlm" --overwrite_output_dir 2>"$tmp/mlm.err" | grep '"train_runtime"' | tail -1 \
    || { echo "run_levels: lmtune train --task mlm failed:" >&2; cat "$tmp/mlm.err" >&2; exit 1; }
}
kde="$data/kde-en-fr/kde.jsonl"; mt_cfg="$data/configs/opus-mt-en-fr.json"; mt_tok="$data/tokenizers/opus-mt-tc-big-en-pt"
for level in $levels; do
  out="$tmp/$level.jsonl"; : > "$out"
  b="$build"
  if [ "$level" = avx2 ] && [ "$(uname -m)" = x86_64 ]; then
    if [ ! -x "$avx2_build/bench_gpt2" ]; then
      cmake -S . -B "$avx2_build" -DCMAKE_BUILD_TYPE=Release -DLMT_MARCH=x86-64-v3 -DLMT_BUILD_TESTS=OFF > /dev/null
      cmake --build "$avx2_build" -j"$(nproc)" > /dev/null
    fi
    b="$avx2_build"
  fi
  cap=$(env $(torch_env "$level") "$venv/bin/python" -c 'import torch; print(torch.backends.cpu.get_cpu_capability())' 2>/dev/null)
  echo "{\"level\": \"$level\", \"build\": \"$b\", \"torch_capability\": \"$cap\", \"torch_env\": \"$(torch_env "$level")\", \"lmtune\": \"$(LMT_ISA=$level "$b/lmtune" info | sed -n 's/^matrix products: //p; s/^element kernels: \(.*\)/element kernels \1/p' | paste -sd';')\"}" >> "$out"
  LMT_ISA=$level "$b/bench_matmul" 1 no-shape | grep '^peak' | tail -1 | sed 's/.*/{"peak_line": "&"}/' >> "$out"
  for job in "train --steps $steps" "eval --steps $steps" "generate --new $gen"; do
    LMT_ISA=$level "$b/bench_gpt2" $job >> "$out"
    peer "$level" bench/gpt2_peer.py $job "$data/configs/distilgpt2.json" >> "$out"
  done
  t1=$(mlm_lmtune "$level" 1); tn=$(mlm_lmtune "$level" $((steps + 1)))
  echo "{\"impl\": \"lmtune\", \"mode\": \"mlm\", \"t1\": $t1, \"tn\": $tn}" >> "$out"
  peer "$level" bench/train_peer.py "$data/configs/distilroberta-base.json" "$steps" 8 mlm "$data/tokenizers/roberta-base" \
    | sed 's/^{/{"impl": "transformers", "mode": "mlm", /' >> "$out"
  LMT_ISA=$level "$b/bench_marian_step" train "$kde" "$mt_tok" 2 32 "$mt_cfg" "$tmp/mt.json" | tail -1 \
    | sed 's/^{/{"impl": "lmtune", "mode": "mt", /' >> "$out"
  peer "$level" bench/translation_peer.py train "$mt_cfg" "$tmp/mt.json" 2 | sed 's/^{/{"impl": "transformers", "mode": "mt", /' >> "$out"
  python3 - "$out" "$steps" <<'PY'
import json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
steps = int(sys.argv[2])
head = rows[0]
peak = None   # the level's fp32 FMA peak (ymm at avx2, zmm above; AMX's fp32 is judged against the FMA unit it replaces)
unit = "avx2" if head["level"] == "avx2" else "avx512"
for r in rows:
    if "peak_line" in r:
        m = re.search(r"([\d.]+) GFLOP/s \(" + unit, r["peak_line"])
        peak = float(m.group(1)) if m else None
print(f"\n== level {head['level']} (lmtune build {head['build']}): lmtune {head['lmtune']}; PyTorch capability {head['torch_capability']} ({head['torch_env'] or 'unrestricted'})")
print(f"measured fp32 FMA peak at this level: {peak:.0f} GFLOP/s, 2 threads" if peak else "measured peak: not found")
print(f"{'job':28}{'lmtune':>12}{'PyTorch':>12}{'ratio':>8}{'GFLOP/s':>9}{'% peak':>8}")
def pair(mode):
    l = next((r for r in rows if r.get("impl") == "lmtune" and r.get("mode") == mode), None)
    p = next((r for r in rows if r.get("impl") == "transformers" and r.get("mode") == mode), None)
    return l, p
for mode, label, key, gf in [("train", "GPT-2 train tokens/s", "tokens_per_s", 0.493), ("eval", "GPT-2 eval tokens/s", "tokens_per_s", 0.493 / 3),
                             ("generate", "GPT-2 greedy gen tokens/s", "tokens_per_s", 0), ("mlm", "MLM train tokens/s", None, 0),
                             ("mt", "translation train tokens/s", "train_tokens_per_s", 0)]:
    l, p = pair(mode)
    if not l or not p:
        print(f"{label:28}  (missing)"); continue
    if mode == "mlm":
        a = 8 * 128 * steps / (l["tn"]["train_runtime"] - l["t1"]["train_runtime"]); b = p["train_tokens_per_s"]
    else:
        a, b = l[key], p[key]
    g = a * gf
    share = f"{100 * g / peak:7.1f}%" if g and peak else ""
    print(f"{label:28}{a:12.1f}{b:12.1f}{a / b:8.2f}{(f'{g:9.1f}' if g else ''):>9}{share:>8}")
PY
done
