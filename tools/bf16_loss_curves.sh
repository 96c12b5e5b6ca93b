#!/usr/bin/env bash
# bf16 against fp32 over a 200-step run (issue 5): the small GPT-2 of
# examples/gpt2-demo (random init) on WikiText-2 validation (the train split is not in ../shared/data), batch 8 x 128,
# lr 1e-3, 3 seeds in fp32 and the same 3 seeds with --bf16. Writes
# docs/figures/bf16_loss_curves.{csv,png} and prints whether every logged bf16
# loss lies within the spread (min..max) of the fp32 runs at that step,
# widened by the seed-to-seed spread itself (the fp32 band of 3 runs is a
# small sample).
#   tools/bf16_loss_curves.sh [build] [steps]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"; steps="${2:-200}"
data="${LMT_SHARED_DATA:-../shared/data}"   # as CMake: LMT_SHARED_DATA may point elsewhere
venv="${LMT_REF_VENV:-$HOME/.cache/lmtune/ref-venv}"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
for prec in fp32 bf16; do
  for seed in 1 2 3; do
    flag=""; [ "$prec" = bf16 ] && flag="--bf16"
    "$build/lmtune" train --task clm --config_name examples/gpt2-demo/config.json \
      --tokenizer_name "$data/tokenizers/gpt2" --train_file "$data/wikitext-2-raw-v1/wiki.valid.raw" \
      --block_size 128 --per_device_train_batch_size 8 --max_steps "$steps" --logging_steps 5 \
      --learning_rate 1e-3 --weight_decay 0.01 --warmup_steps 10 --save_strategy no --seed "$seed" $flag \
      --output_dir "$tmp/$prec-$seed" --overwrite_output_dir > /dev/null 2> "$tmp/$prec-$seed.err" \
      || { cat "$tmp/$prec-$seed.err" >&2; exit 1; }
    echo "ran $prec seed $seed" >&2
  done
done
"$venv/bin/python" - "$tmp" <<'PY'
import csv, json, sys
tmp = sys.argv[1]
runs = {}
for prec in ("fp32", "bf16"):
    for seed in (1, 2, 3):
        st = json.load(open(f"{tmp}/{prec}-{seed}/trainer_state.json"))
        runs[(prec, seed)] = {e["step"]: e["loss"] for e in st["log_history"] if "loss" in e}
steps = sorted(runs[("fp32", 1)])
with open("docs/figures/bf16_loss_curves.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["step"] + [f"{p}_seed{s}" for p, s in runs])
    for st in steps:
        w.writerow([st] + [f"{runs[k][st]:.4f}" for k in runs])
outside = 0
for st in steps:
    lo = min(runs[("fp32", s)][st] for s in (1, 2, 3)); hi = max(runs[("fp32", s)][st] for s in (1, 2, 3))
    pad = hi - lo
    for s in (1, 2, 3):
        if not (lo - pad <= runs[("bf16", s)][st] <= hi + pad):
            outside += 1
print(f"{len(steps)} logged steps x 3 bf16 runs: {outside} outside the fp32 band (min..max widened by its width)")
fin = {k: v[steps[-1]] for k, v in runs.items()}
print("final loss: " + ", ".join(f"{p} seed {s}: {l:.4f}" for (p, s), l in fin.items()))
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    for (p, s), v in runs.items():
        ax.plot(steps, [v[t] for t in steps], color="tab:blue" if p == "fp32" else "tab:red", alpha=0.7,
                label=f"{p}" if s == 1 else None)
    ax.set_xlabel("step"); ax.set_ylabel("training loss (mean of 5 steps)")
    ax.set_title("GPT-2 demo config on WikiText-2: fp32 vs --bf16, 3 seeds each")
    ax.legend(); fig.tight_layout(); fig.savefig("docs/figures/bf16_loss_curves.png", dpi=110)
    print("wrote docs/figures/bf16_loss_curves.png")
except ImportError:
    print("matplotlib missing from the reference venv: no plot (tools/reference/setup.sh installs it)")
PY
