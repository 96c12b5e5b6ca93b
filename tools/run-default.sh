#!/usr/bin/env bash
# lmtune's default job (`make run`): the causal-LM workflow of SPEC §1 at demo
# scale. No pretrained weights exist on these machines, so a small GPT-2
# (examples/gpt2-demo/config.json, GPT-2's real tokenizer) starts from random
# weights, trains on WikiText-2 validation for a few dozen steps, is evaluated
# on a slice of WikiText-2 test (perplexity), saved as an HF folder, and then
# continues a prompt. With distilgpt2's folder, pass --model_name_or_path DIR
# instead of --config_name and drop --max_steps to run the notebook as is.
set -euo pipefail
build="${1:-build}"
cd "$(dirname "$0")/.."
data="${LMT_SHARED_DATA:-../shared/data}"   # as CMake: LMT_SHARED_DATA may point elsewhere
out="${LMT_OUT:-out/gpt2-demo-wikitext2}"
"$build/lmtune" train --task clm \
  --config_name examples/gpt2-demo/config.json --tokenizer_name "$data/tokenizers/gpt2" \
  --train_file "$data/wikitext-2-raw-v1/wiki.valid.raw" --validation_file "$data/wikitext-2-raw-v1/wiki.test.raw" \
  --block_size 64 --max_eval_samples 48 --max_steps 30 --logging_steps 10 \
  --learning_rate 1e-3 --weight_decay 0.01 --eval_strategy epoch --save_strategy no \
  --output_dir "$out" --overwrite_output_dir
"$build/lmtune" generate --model "$out" --prompt " = Valkyria Chronicles III = " --max_new_tokens 20
