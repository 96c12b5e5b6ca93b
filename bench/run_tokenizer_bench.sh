#!/bin/sh
# Tokenizer throughput, lmtune vs HF tokenizers, same corpus, 1 and 2 threads.
# Usage: bench/run_tokenizer_bench.sh [BUILD_DIR] [N_IMDB] [REPS] [TOKENIZER_DIR]
# (TOKENIZER_DIR defaults to the GPT-2 folder; e.g. ../shared/data/llama-family/Llama-3.2-1B-Instruct,
# or ../shared/data/tokenizers/opus-mt-tc-big-en-pt for Marian, whose HF peer is the slow
# MarianTokenizer: one thread whatever the count)
set -e
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
N_IMDB=${2:-5000}
REPS=${3:-3}
DATA="${LMT_SHARED_DATA:-$ROOT/../shared/data}"   # as CMake: LMT_SHARED_DATA may point elsewhere
TOKDIR=${4:-$DATA/tokenizers/gpt2}
PY=${LMT_REF_PYTHON:-$HOME/.cache/lmtune/ref-venv/bin/python}
cmake --build "$BUILD" --target bench_tokenizer >/dev/null
OUT=$(mktemp)
"$BUILD/bench_tokenizer" "$DATA" "$TOKDIR" "$N_IMDB" "$REPS" | tee "$OUT"
for t in 1 2; do "$PY" "$ROOT/bench/tokenizer_peer.py" "$DATA" $t "$N_IMDB" "$REPS" "$TOKDIR" | tee -a "$OUT"; done
for t in 1 2; do
  l=$(sed -n "s/^lmtune threads=$t .*MB\/s=\([0-9.]*\)/\1/p" "$OUT")
  h=$(sed -n "s/^hf_tokenizers threads=$t .*MB\/s=\([0-9.]*\)/\1/p" "$OUT")
  awk -v t=$t -v l="$l" -v h="$h" 'BEGIN { printf "threads=%s lmtune %.2f MB/s, HF tokenizers %.2f MB/s, ratio %.2fx\n", t, l, h, l / h }'
done
rm -f "$OUT"
