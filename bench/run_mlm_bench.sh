#!/usr/bin/env bash
# Masked LM: lmtune's Trainer and transformers' Trainer side by side on the
# distilroberta-base configuration (random weights), batch 8 x 128, 2 threads:
# training tokens/s, evaluation tokens/s, peak memory, and the ratios.
#   bench/run_mlm_bench.sh [build] [steps] [eval_blocks]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"; steps="${2:-3}"; neval="${3:-32}"
data="${LMT_SHARED_DATA:-../shared/data}"   # as CMake: LMT_SHARED_DATA may point elsewhere
venv="${LMT_REF_VENV:-$HOME/.cache/lmtune/ref-venv}"
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
run_lmtune() {
  /usr/bin/time -v "$build/lmtune" train --task mlm --config_name "$data/configs/distilroberta-base.json" \
    --tokenizer_name "$data/tokenizers/roberta-base" --train_file "$data/wikitext-2-raw-v1/wiki.valid.raw" \
    --validation_split_percentage 10 --max_seq_length 128 --eval_mask_seed 1 \
    --max_steps "$1" --logging_steps 1000 --save_strategy no --learning_rate 2e-5 --weight_decay 0.01 \
    --output_dir "$tmp/o$1" --overwrite_output_dir > "$tmp/l$1.out" 2> "$tmp/l$1.err"
}
run_lmtune 1
run_lmtune $((steps + 1))
"$venv/bin/python" bench/train_peer.py "$data/configs/distilroberta-base.json" "$steps" "$neval" mlm "$data/tokenizers/roberta-base" 2>/dev/null | tail -1 > "$tmp/peer.json"
python3 - "$tmp" "$steps" <<'PY'
import json, re, sys
tmp, steps = sys.argv[1], int(sys.argv[2])
def metrics(n):
    out = open(f"{tmp}/l{n}.out").read().splitlines()
    train = [json.loads(l) for l in out if '"train_runtime"' in l][0]
    ev = [json.loads(l) for l in out if '"perplexity"' in l and "before" not in l][0]
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(f"{tmp}/l{n}.err").read()).group(1)) / 1024
    return train, ev, rss
t1, _, _ = metrics(1)
tn, ev, rss = metrics(steps + 1)
step = (tn["train_runtime"] - t1["train_runtime"]) / steps
lm = {"train_tokens_per_s": 8 * 128 / step, "eval_tokens_per_s": ev["eval_samples_per_second"] * 128, "peak_rss_mib": rss}
peer = json.load(open(f"{tmp}/peer.json"))
print(f"{'':24}{'lmtune':>12}{'transformers':>14}{'ratio':>8}")
for k, label in [("train_tokens_per_s", "train tokens/s"), ("eval_tokens_per_s", "eval tokens/s"), ("peak_rss_mib", "peak RSS MiB")]:
    print(f"{label:24}{lm[k]:12.1f}{peer[k]:14.1f}{lm[k] / peer[k]:8.2f}")
print(f"peer: torch {peer['torch']}, transformers {peer['transformers']}")
PY
