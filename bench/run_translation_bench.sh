#!/usr/bin/env bash
# Translation: lmtune and PyTorch / transformers side by side on the
# opus-mt-en-fr configuration (random weights), 2 threads, in one go:
#  - training tokens/s (forward with dropout, backward, clip, AdamW) on one
#    batch of B KDE en-fr pairs, the same token ids for both
#    (bench_marian_step train vs a plain torch loop, bench/translation_peer.py);
#  - beam-search translation sentences/s over N KDE sources as one batch
#    (lmt_seq2seq_generate, what `lmtune translate` runs, vs model.generate),
#    num_beams and max_length given, min_length = max_length so no row stops
#    early on random weights;
#  - peak RSS of each process; the ratios lmtune / PyTorch.
#   bench/run_translation_bench.sh [build] [steps] [B] [n_sentences] [num_beams] [max_length]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"; steps="${2:-2}"; B="${3:-32}"; nsent="${4:-32}"; beams="${5:-4}"; maxlen="${6:-32}"
data="${LMT_SHARED_DATA:-../shared/data}"   # as CMake: LMT_SHARED_DATA may point elsewhere
cfg="$data/configs/opus-mt-en-fr.json"
kde="$data/kde-en-fr/kde.jsonl"
tok="$data/tokenizers/opus-mt-tc-big-en-pt"
venv="${LMT_REF_VENV:-$HOME/.cache/lmtune/ref-venv}"
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}, load average $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews both sides)"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
"$build/bench_marian_step" train "$kde" "$tok" "$steps" "$B" "$cfg" "$tmp/train.json" > "$tmp/lt.out"; head -n -1 "$tmp/lt.out"
"$venv/bin/python" bench/translation_peer.py train "$cfg" "$tmp/train.json" "$steps" 2>/dev/null | tail -1 > "$tmp/pt.json"
"$build/bench_marian_step" translate "$kde" "$tok" "$nsent" "$beams" "$maxlen" "$cfg" "$tmp/gen.json" > "$tmp/lg.out"; head -n -1 "$tmp/lg.out"
"$venv/bin/python" bench/translation_peer.py translate "$cfg" "$tmp/gen.json" "$beams" "$maxlen" 2>/dev/null | tail -1 > "$tmp/pg.json"
python3 - "$tmp" "$B" "$nsent" "$beams" "$maxlen" <<'PY'
import json, sys
tmp, B, n, nb, L = sys.argv[1], *map(int, sys.argv[2:])
last = lambda p: json.loads(open(p).read().strip().splitlines()[-1])
lt, lg, pt, pg = last(f"{tmp}/lt.out"), last(f"{tmp}/lg.out"), last(f"{tmp}/pt.json"), last(f"{tmp}/pg.json")
print(f"batch {B} x {lt['Ts']} source / {lt['Tt']} target tokens (padded); {n} sentences, num_beams {nb}, max_length {L}")
print(f"{'':30}{'lmtune':>12}{'PyTorch':>12}{'ratio':>8}")
rows = [("train tokens/s", lt["train_tokens_per_s"], pt["train_tokens_per_s"]),
        ("train peak RSS MiB", lt["peak_rss_mib"], pt["peak_rss_mib"]),
        ("translate sentences/s", lg["sentences_per_s"], pg["sentences_per_s"]),
        ("translate peak RSS MiB", lg["peak_rss_mib"], pg["peak_rss_mib"])]
for label, a, b in rows:
    print(f"{label:30}{a:12.2f}{b:12.2f}{a / b:8.2f}")
print(f"peer: torch {pt['torch']}, transformers {pt['transformers']}, {pt['threads']} threads")
PY
