#!/usr/bin/env bash
# lmtune's default job (`make run`): the causal-LM workflow of SPEC §1.
#
# With the real distilgpt2 - when the HF cache has it (a transformers user's
# ~/.cache/huggingface/hub, or HF_HUB_CACHE / HF_HOME) or the Hub can be
# reached - it fine-tunes distilgpt2 on WikiText-2 as the notebook does
# (lr 2e-5, weight decay 0.01, block 128, evaluation each epoch), for
# LMT_RUN_STEPS optimizer steps (default 100; 0: the whole epochs). The
# WikiText-2 train split is not among the shared data, so it trains on the
# validation split and evaluates on the test split.
#
# Without it (no weights on the machine, no network) it runs the built-in
# default: a small GPT-2 (examples/gpt2-demo/config.json, GPT-2's real
# tokenizer) from random weights, a few dozen steps. It says which it ran.
# Both save the model as an HF folder and continue a prompt with it.
set -euo pipefail
build="${1:-build}"
cd "$(dirname "$0")/.."
data="${LMT_SHARED_DATA:-../shared/data}"   # as CMake: LMT_SHARED_DATA may point elsewhere
wiki="$data/wikitext-2-raw-v1"
steps="${LMT_RUN_STEPS:-100}"
if "$build/lmtune" inspect distilgpt2 >/dev/null 2>&1; then
  out="${LMT_OUT:-out/distilgpt2-finetuned-wikitext2}"
  echo "lmtune: make run: distilgpt2 is in the HF cache or on the Hub: fine-tuning it (SPEC §1) for ${steps} steps (0 = all)" >&2
  max_steps=()
  [ "$steps" != 0 ] && max_steps=(--max_steps "$steps")
  "$build/lmtune" train --task clm --model_name_or_path distilgpt2 \
    --train_file "$wiki/wiki.valid.raw" --validation_file "$wiki/wiki.test.raw" \
    --block_size 128 --learning_rate 2e-5 --weight_decay 0.01 --eval_strategy epoch --save_strategy no \
    "${max_steps[@]}" --output_dir "$out" --overwrite_output_dir
else
  out="${LMT_OUT:-out/gpt2-demo-wikitext2}"
  echo "lmtune: make run: distilgpt2 is neither in the HF cache nor reachable on the Hub: running the built-in default" \
       "(a small GPT-2 from random weights, examples/gpt2-demo)" >&2
  "$build/lmtune" train --task clm \
    --config_name examples/gpt2-demo/config.json --tokenizer_name "$data/tokenizers/gpt2" \
    --train_file "$wiki/wiki.valid.raw" --validation_file "$wiki/wiki.test.raw" \
    --block_size 64 --max_eval_samples 48 --max_steps 30 --logging_steps 10 \
    --learning_rate 1e-3 --weight_decay 0.01 --eval_strategy epoch --save_strategy no \
    --output_dir "$out" --overwrite_output_dir
fi
"$build/lmtune" generate --model "$out" --prompt " = Valkyria Chronicles III = " --max_new_tokens 20
