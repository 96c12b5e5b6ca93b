#!/usr/bin/env bash
# Two lmtune builds side by side in one run (a refactor must not move the
# speed): the GPT-2, MLM and translation jobs of run_gpt2_bench.sh,
# run_mlm_bench.sh and run_translation_bench.sh, lmtune's side only, each job
# run by both builds back to back, the order swapped every round so that the
# machine's drift falls on both. Prints the median of each side and
# after / before.
#   bench/run_before_after.sh BEFORE_BUILD AFTER_BUILD [rounds]
# e.g. git worktree add /tmp/before <rev> && cmake -S /tmp/before -B /tmp/before/build
#      -DCMAKE_BUILD_TYPE=Release && cmake --build /tmp/before/build -j2, then
#      bench/run_before_after.sh /tmp/before/build build 3
set -euo pipefail
cd "$(dirname "$0")/.."
before="${1:?usage: run_before_after.sh BEFORE_BUILD AFTER_BUILD [rounds]}"
after="${2:?usage: run_before_after.sh BEFORE_BUILD AFTER_BUILD [rounds]}"
rounds="${3:-3}"
data="${LMT_SHARED_DATA:-../shared/data}"
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), $(nproc) cores;" \
     "flags: $(grep -m1 -o -w 'avx512f\|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')avx2" \
     "; load $(cut -d' ' -f1-3 /proc/loadavg)"

# job NAME: prints one number (higher is faster) for build $1
job() {
  local b="$1" name="$2"
  case "$name" in
  gpt2-train-fp32) "$b/bench_gpt2" train --steps 3 | python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["tokens_per_s"])' ;;
  gpt2-train-bf16) "$b/bench_gpt2" train --steps 3 --bf16 | python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["tokens_per_s"])' ;;
  gpt2-eval-fp32) "$b/bench_gpt2" eval --steps 3 | python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["tokens_per_s"])' ;;
  gpt2-generate-fp32) "$b/bench_gpt2" generate --new 64 | python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["tokens_per_s"])' ;;
  gpt2-generate-bf16) "$b/bench_gpt2" generate --new 64 --bf16 | python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["tokens_per_s"])' ;;
  mlm-train)   # as run_mlm_bench.sh: (4 steps - 1 step) / 3 of the Trainer's train_runtime
    for s in 1 4; do
      "$b/lmtune" train --task mlm --config_name "$data/configs/distilroberta-base.json" \
        --tokenizer_name "$data/tokenizers/roberta-base" --train_file "$data/wikitext-2-raw-v1/wiki.valid.raw" \
        --validation_split_percentage 10 --max_seq_length 128 --eval_mask_seed 1 --max_steps $s \
        --logging_steps 1000 --save_strategy no --learning_rate 2e-5 --weight_decay 0.01 \
        --output_dir "$tmp/mlm$s" --overwrite_output_dir > "$tmp/mlm$s.out" 2>/dev/null
    done
    python3 - "$tmp" <<'PY'
import json, sys
rt = lambda n: [json.loads(l) for l in open(f"{sys.argv[1]}/mlm{n}.out") if '"train_runtime"' in l][0]["train_runtime"]
print(8 * 128 / ((rt(4) - rt(1)) / 3))
PY
    ;;
  marian-train) "$b/bench_marian_step" train "$data/kde-en-fr/kde.jsonl" "$data/tokenizers/opus-mt-tc-big-en-pt" 2 32 \
                  | python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["train_tokens_per_s"])' ;;
  marian-translate) "$b/bench_marian_step" translate "$data/kde-en-fr/kde.jsonl" "$data/tokenizers/opus-mt-tc-big-en-pt" 32 4 32 \
                  | python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["sentences_per_s"])' ;;
  esac
}

jobs="gpt2-train-fp32 gpt2-train-bf16 gpt2-eval-fp32 gpt2-generate-fp32 gpt2-generate-bf16 mlm-train marian-train marian-translate"
for r in $(seq 1 "$rounds"); do
  for j in $jobs; do
    if [ $((r % 2)) = 1 ]; then order="before after"; else order="after before"; fi
    for side in $order; do
      b="$before"; [ "$side" = after ] && b="$after"
      echo "$j $side $(job "$b" "$j")" >> "$tmp/results"
    done
  done
  echo "round $r done" >&2
done
python3 - "$tmp/results" "$rounds" <<'PY'
import statistics, sys, collections
vals = collections.defaultdict(list)
for line in open(sys.argv[1]):
    j, side, v = line.split()
    vals[(j, side)].append(float(v))
jobs = list(dict.fromkeys(j for j, _ in vals))
units = {"marian-translate": "sentences/s"}
print(f"{'job (median of ' + sys.argv[2] + ')':26}{'before':>12}{'after':>12}{'after/before':>14}  unit, all runs before | after")
for j in jobs:
    b, a = statistics.median(vals[(j, 'before')]), statistics.median(vals[(j, 'after')])
    runs = " ".join(f"{x:.1f}" for x in vals[(j, 'before')]) + " | " + " ".join(f"{x:.1f}" for x in vals[(j, 'after')])
    print(f"{j:26}{b:12.2f}{a:12.2f}{a / b:14.3f}  {units.get(j, 'tokens/s')}, {runs}")
PY
