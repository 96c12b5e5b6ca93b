#!/usr/bin/env bash
# The cost of data parallelism: lmtune under mpirun against PyTorch DDP under
# torchrun (bench/ddp_peer.py, gloo), distilgpt2 configuration (random
# weights), per-rank batch 4 x BLOCK, one thread per rank, side by side:
#   1 process with batch 8 | 2 ranks on this machine | 2 ranks on two
#   "hosts" (network namespaces + veth pair, TCP; root only: tools/mpi_netns.sh)
# Reported per step: the whole step, the gradient all-reduce (lmtune: its
# all-reduce thread's time in MPI_Allreduce over the buckets it is handed
# while the backward runs, ddp_bucket_cap_mb 25; torch: its DDP buckets'
# all-reduces, timed by a comm hook) and the communication left exposed
# (lmtune: the time the step waits for that thread after its backward;
# torch: step - step under no_sync()); overlap = 1 - exposed / all-reduce.
# A row "no overlap" runs lmtune with LMT_DIST_OVERLAP=0 (one blocking
# MPI_Allreduce after the backward: all of it exposed).
#   bench/run_mpi_bench.sh [build] [steps] [block] [repeats]
# Runs are interleaved (lmtune, torch, lmtune, torch...) and medians taken.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"; steps="${2:-3}"; block="${3:-128}"; reps="${4:-1}"
shared="${LMT_SHARED_DATA:-../shared/data}"
cfg="$shared/configs/distilgpt2.json"
venv="${LMT_REF_VENV:-$HOME/.cache/lmtune/ref-venv}"
export LMT_PROFILE_SKIP=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out="$(mktemp -d)"; tag=$(( $$ % 200 + 20 ))
netns=0
cleanup() { [ "$netns" = 1 ] && tools/mpi_netns.sh down "$tag" || true; rm -rf "$out"; }
trap cleanup EXIT
if [ "$(id -u)" = 0 ] && tools/mpi_netns.sh up "$tag" >/dev/null 2>&1; then netns=1; else
  echo "run_mpi_bench: no network namespaces here (needs root): the two-host rows are skipped" >&2; fi

# lmtune: the CLI with --profile (ms per step over the timed steps: LMT_PROFILE_SKIP=1 drops the first)
lmt_args=(train --task clm --config_name "$cfg" --tokenizer_name "$shared/tokenizers/gpt2"
          --train_file "$shared/wikitext-2-raw-v1/wiki.valid.raw" --block_size "$block"
          --max_train_samples $((8 * (steps + 1))) --max_steps $((steps + 1)) --save_strategy no
          --logging_steps 1000 --validation_split_percentage 0 --overwrite_output_dir --profile)
lmtune_row() {   # name, per-rank batch, then the launcher words
  local name=$1 batch=$2; shift 2
  "$@" "$build/lmtune" "${lmt_args[@]}" --per_device_train_batch_size "$batch" --output_dir "$out/run" > "$out/lmt.log" 2>&1 ||
    { tail -20 "$out/lmt.log" >&2; return 1; }
  python3 - "$out/lmt.log" "$name" >> "$out/rows" <<'PY'
import json, re, sys
text = open(sys.argv[1], errors="replace").read()
prof = text[text.index("lmtune: profile"):]
def ms(name):   # the ranks' tables may interleave: the median of the lines that came through whole
    v = sorted(float(x) for x in re.findall(r"^\s*" + re.escape(name) + r"\s+([\d.]+)\s", prof, re.M))
    return v[len(v) // 2] if v else 0.0
thread = ms("dist/all-reduce thread")      # overlapped: the thread's time; the step's own section is the wait
waited = ms("dist/gradient all-reduce")
print(json.dumps({"impl": "lmtune", "config": sys.argv[2], "step_ms": ms("step (all sections)"),
                  "allreduce_ms": thread if thread else waited, "exposed_ms": waited, "checkin_ms": ms("dist/check-in")}))
PY
}
peer_row() {   # name; reads the peer's output on stdin
  grep '^{' | tail -1 | python3 -c "import json,sys; r=json.loads(sys.stdin.read()); r['config']='$1'; print(json.dumps(r))" >> "$out/rows" \
    || echo "run_mpi_bench: the torch peer failed ($1)" >&2
}
torch_netns() {   # torchrun on each "host": node 0 in namespace a, node 1 in b, rendezvous over the veth pair
  for r in 1 0; do
    local side=$([ $r = 0 ] && echo a || echo b)
    ip netns exec "lmt${tag}$side" env GLOO_SOCKET_IFNAME="lmv${tag}$side" "$venv/bin/torchrun" --nnodes 2 --node_rank $r \
      --nproc_per_node 1 --master_addr "10.77.$tag.1" --master_port 29631 bench/ddp_peer.py "$cfg" "$steps" 4 "$block" \
      > "$out/torch$r.log" 2>&1 &
  done
  wait
  cat "$out/torch0.log"
}
for i in $(seq "$reps"); do
  lmtune_row "1 process, batch 8" 8 env
  "$venv/bin/python" bench/ddp_peer.py "$cfg" "$steps" 8 "$block" 2>/dev/null | peer_row "1 process, batch 8"
  lmtune_row "2 ranks, this machine" 4 mpirun -np 2 --oversubscribe --bind-to none
  lmtune_row "2 ranks, this machine, no overlap" 4 env LMT_DIST_OVERLAP=0 mpirun -np 2 --oversubscribe --bind-to none
  "$venv/bin/torchrun" --nproc_per_node 2 --master_port 29632 bench/ddp_peer.py "$cfg" "$steps" 4 "$block" 2>/dev/null |
    peer_row "2 ranks, this machine"
  if [ "$netns" = 1 ]; then
    lmtune_row "2 ranks, two namespaces (TCP)" 4 tools/mpi_netns.sh run "$tag" --
    LMT_DIST_OVERLAP=0 MPI_NETNS_MPIRUN_ARGS="-x LMT_DIST_OVERLAP" lmtune_row "2 ranks, two namespaces (TCP), no overlap" 4 tools/mpi_netns.sh run "$tag" --
    torch_netns | peer_row "2 ranks, two namespaces (TCP)"
  fi
done
python3 - "$out/rows" "$steps" "$block" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
flags = next((l for l in open("/proc/cpuinfo") if l.startswith("flags")), "")
isa = "AMX" if "amx_tile" in flags else "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
print(f"CPU: {cpu} ({isa}); one thread per rank; distilgpt2 configuration, per-rank batch 4 x {sys.argv[3]}, "
      f"{sys.argv[2]} timed steps; medians of interleaved runs")
print(f"{'configuration':42}{'lmtune step':>12}{'all-reduce':>11}{'exposed':>9}{'overlap':>8}"
      f"{'torch step':>11}{'all-reduce':>11}{'exposed':>9}{'torch/lmtune':>13}")
def pct(a, e): return f"{100 * (1 - e / a):7.0f}%" if a > 0 else "       -"
for cfgname in dict.fromkeys(r["config"] for r in rows):
    med = lambda impl, k: statistics.median([r.get(k, 0.0) for r in rows if r["config"] == cfgname and r["impl"] == impl] or [0.0])
    ls, la, le = med("lmtune", "step_ms"), med("lmtune", "allreduce_ms"), med("lmtune", "exposed_ms")
    ts, ta, tn = med("torch", "step_ms"), med("torch", "allreduce_ms"), med("torch", "nosync_step_ms")
    has_torch = any(r["config"] == cfgname and r["impl"] == "torch" for r in rows)
    texp = max(ts - tn, 0.0) if tn else 0.0
    torch_cols = (f"{ts:9.0f}ms{ta:9.0f}ms{texp:7.0f}ms{(ts / ls if ls else 0):13.2f}" if has_torch else f"{'-':>11}{'-':>11}{'-':>9}{'-':>13}")
    lcols = f"{ls:10.0f}ms{la:9.0f}ms{le:7.0f}ms{pct(la, le)}" if la else f"{ls:10.0f}ms{'-':>11}{'-':>9}{'-':>8}"
    print(f"{cfgname:42}{lcols}{torch_cols}")
print("all-reduce: time in the collectives per step (lmtune: its all-reduce thread; torch: its comm hook); exposed: what the "
      "step waits for it after the backward (torch: step - no_sync step); overlap = 1 - exposed / all-reduce.")
PY
