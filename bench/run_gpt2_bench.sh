#!/usr/bin/env bash
# lmtune against transformers (PyPI torch, tuned) on the distilgpt2
# configuration with random weights, side by side in one run: training
# (batch 8 x 128, fp32 and bf16), evaluation, greedy generation, peak memory,
# GFLOP/s as a share of the machine's measured peak, and lmtune's peak memory
# at block sizes 128..1024 (it must grow linearly).
#   bench/run_gpt2_bench.sh [build] [steps] [gen_tokens]
# The peer is tuned as far as it goes: 2 threads, jemalloc that never returns
# memory to the system (page faults cost glibc-malloc PyTorch ~40%), MKL's
# AVX-512 kernels (PyPI torch does not use OpenBLAS, so OPENBLAS_CORETYPE
# cannot slow it down).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"; steps="${2:-3}"; gen="${3:-64}"
cfg="${LMT_SHARED_DATA:-../shared/data}/configs/distilgpt2.json"   # as CMake: LMT_SHARED_DATA may point elsewhere
venv="${LMT_REF_VENV:-$HOME/.cache/lmtune/ref-venv}"
export OMP_NUM_THREADS=2
jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
[ -f "$jemalloc" ] || { echo "run_gpt2_bench: $jemalloc missing (apt-get install libjemalloc2)" >&2; exit 1; }
peer() { LD_PRELOAD="$jemalloc" MALLOC_CONF="dirty_decay_ms:-1,muzzy_decay_ms:-1,retain:true" \
         "$venv/bin/python" bench/gpt2_peer.py "$@" "$cfg" 2>/dev/null | tail -1; }
out="$(mktemp)"; trap 'rm -f "$out"' EXIT
"$build/bench_matmul" 1 no-shape | grep "^peak" | tee "$out.peak" >&2   # the peaks only
for job in "train --steps $steps" "train --steps $steps --bf16" "eval --steps $steps" "eval --steps $steps --bf16" \
           "generate --new $gen" "generate --new $gen --bf16"; do
  set -- $job
  mode=$1; shift
  "$build/bench_gpt2" "$mode" "$@" >> "$out"          # lmtune and its peer back to back, same job
  peer "$mode" "$@" >> "$out"
  case "$job" in   # fp32 products on the FMA kernel too (the default uses AMX where the CPU has it)
    train*bf16|eval*bf16|generate*) ;;
    *) LMT_FP32_GEMM=fma "$build/bench_gpt2" "$mode" "$@" >> "$out" ;;
  esac
done
for T in 128 256 512 1024; do "$build/bench_gpt2" train --steps 1 --batch 1 --block $T >> "$out"; done
python3 - "$out" "$out.peak" <<'PY'
import json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
peak_txt = open(sys.argv[2]).read() if len(sys.argv) > 2 else ""
lines = [l for l in peak_txt.splitlines() if l.startswith("peak")]
m = re.search(r"peak fp32 ([\d.]+) GFLOP/s, bf16 ([\d.]+) GFLOP/s \(vdpbf16ps\), ([\d.]+) GFLOP/s \(AMX\)", lines[-1]) if lines else None
m32 = m
p32 = float(m.group(1)) if m else 516.0
p16 = (float(m.group(3)) or float(m.group(2))) if m else 960.0   # AMX where lmt_gemm_bf16 uses it
print(f"measured peak: fp32 {p32:.0f} GFLOP/s, bf16 {p16:.0f} GFLOP/s (the unit lmt_gemm_bf16 uses), all threads" + ("" if m32 else " (not measured: the issue's figures)"))
gf = {"train": 0.493, "eval": 0.493 / 3, "generate": 0.0}
print(f"{'job':22}{'lmtune tok/s':>14}{'torch tok/s':>13}{'ratio':>7}{'GFLOP/s':>9}{'% peak':>8}{'lmtune MiB':>12}{'torch MiB':>11}")
amx_f32 = "fp32 amx-bf16x6" in rows[0]["matmul"]
for i, r in enumerate(rows):
    if r["impl"] != "lmtune" or r.get("batch") == 1:
        continue
    p = rows[i + 1] if i + 1 < len(rows) and rows[i + 1]["impl"] == "transformers" else None
    if p is None and i >= 1 and rows[i - 1]["impl"] == "transformers":   # the FMA-kernel run after a pair
        p = rows[i - 1]
    name = r["mode"] + (" bf16" if r["bf16"] else " fp32")
    if not r["bf16"] and r["mode"] != "generate":
        name += " (AMX x6)" if "fp32 amx-bf16x6" in r["matmul"] else " (FMA)" if amx_f32 else ""
    g = r["tokens_per_s"] * gf[r["mode"]]
    share = f"{100 * g / (p16 if r['bf16'] else p32):7.1f}%" if g else f"{'':8}"
    pt = p["tokens_per_s"] if p else float("nan")
    print(f"{name:22}{r['tokens_per_s']:14.1f}{pt:13.1f}{r['tokens_per_s'] / pt:7.2f}{g:9.1f}{share}{r['peak_rss_mib']:12.0f}{(p or {}).get('peak_rss_mib', float('nan')):11.0f}")
mem = [(r["block"], r["peak_rss_mib"]) for r in rows if r["impl"] == "lmtune" and r.get("batch") == 1]
if mem:
    print("lmtune training peak memory, batch 1: " + ", ".join(f"T={t}: {m:.0f} MiB" for t, m in mem))
    steps = [(b[1] - a[1]) / (b[0] - a[0]) for a, b in zip(mem, mem[1:])]
    print("MiB per extra token between block sizes: " + ", ".join(f"{s:.3f}" for s in steps) + " (constant = linear growth)")
if amx_f32:
    print("fp32 (AMX x6): fp32-accurate products on AMX tiles (three bf16 parts per value, six products); "
          "its % peak is of the FMA peak, the fp32 unit it replaces")
peer = next((r for r in rows if r["impl"] == "transformers"), None)
if peer:
    print(f"peer: torch {peer['torch']}, transformers {peer['transformers']}, {peer['threads']} threads, jemalloc; lmtune: {rows[0]['matmul']}")
PY
rm -f "$out.peak"
