#!/usr/bin/env bash
# Builds the seed corpora of the harnesses from tests/fixtures (and the
# shared data's small files) into OUT/<name>/ (not committed: they are
# rebuilt each time). Inputs standing for several files join them with the
# separator of fuzz/fuzz_common.h (LMT_FUZZ_SEP).
# Usage: fuzz/make_seeds.sh OUT [BUILD]   (BUILD: where fuzz_replay_resume is)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: fuzz/make_seeds.sh OUT [BUILD]}
build=${2:-build-fuzz}
F=tests/fixtures
SEP=$'\n--lmt-fuzz-file--\n'
mkdir -p "$out"
seed() {   # seed NAME FILE... : one input, the files joined by SEP
  local name=$1 file=$2; shift 2
  mkdir -p "$out/$name"
  { cat "$1"; shift; for f in "$@"; do printf '%s' "$SEP"; cat "$f"; done; } > "$out/$name/$file"
}
copy() {   # copy NAME FILE...: each file its own input
  local name=$1; shift
  mkdir -p "$out/$name"
  for f in "$@"; do cp "$f" "$out/$name/$(echo "$f" | tr / _)"; done
}
copy safetensors $F/io/*.safetensors $F/models/gpt2/model.safetensors
copy torch_bin $F/io/*.bin
copy zip $F/io/*.bin
mkdir -p "$out/pickle"
for f in $F/io/*.bin; do   # data.pkl of each archive
  if command -v unzip >/dev/null; then
    unzip -Z1 "$f" 2>/dev/null | grep 'data\.pkl$' | while read -r m; do
      unzip -p "$f" "$m" > "$out/pickle/$(basename "$f" .bin).pkl" 2>/dev/null || true
    done
  fi
done
copy json $F/train/trainer_state.json $F/tokenizers_json/specials.json $F/tokenizers_json/adversarial_extra.json \
  $F/models/*/config.json $F/data/loaders.json $F/train/schedules.json
copy config $F/models/*/config.json $F/llama-gen/*/config.json
copy trainer_state $F/train/trainer_state.json
copy tokenizer_json $F/tokenizers/tiny/tokenizer.json $F/tokenizers/wordpiece/tiny/tokenizer.json \
  $F/tokenizers_json/synth/*/tokenizer.json
H=$F/hub/root/models--lmtune-test--tiny-lm/commits/c075a5add297104b61297ca0263824dc655fdb3f
seed vocab_merges gpt2 $H/vocab.json $H/merges.txt $H/tokenizer_config.json
seed vocab_merges gpt2_plain $H/vocab.json $H/merges.txt
printf '{"tokenizer_class": "RobertaTokenizer", "add_prefix_space": true}' > "$out/roberta_cfg.json"
seed vocab_merges roberta $H/vocab.json $H/merges.txt "$out/roberta_cfg.json"
printf '{"tokenizer_class": "Qwen2Tokenizer"}' > "$out/qwen_cfg.json"
seed vocab_merges qwen2 $H/vocab.json $H/merges.txt "$out/qwen_cfg.json"
B=$F/models/bert-fillmask
seed vocab_txt bert $B/vocab.txt $B/tokenizer_config.json
seed vocab_txt bert_plain $B/vocab.txt
# a small SentencePiece ModelProto (hand-made): pieces (<unk>, <s>, </s>, <pad>, ▁, a few
# words, a byte piece), TrainerSpec (unigram, unk/bos/eos/pad ids, byte
# fallback), NormalizerSpec (name, add_dummy_prefix, remove_extra_ws, escape_ws)
mkdir -p "$out/spm"
python3 - "$out/spm/tiny.spm" <<'PY' || echo "make_seeds: no python3: the spm harness starts without a seed"
import struct, sys
def varint(v):
    b = b""
    while True:
        x = v & 0x7F; v >>= 7
        if v: b += bytes([x | 0x80])
        else: return b + bytes([x])
def field(n, wt, payload):
    key = varint(n << 3 | wt)
    if wt == 2: return key + varint(len(payload)) + payload
    return key + payload
pieces = [("<unk>", 0, 2), ("<s>", 0, 3), ("</s>", 0, 3), ("<pad>", 0, 3), ("\u2581", -1, 1), ("\u2581Hello", -2, 1),
          ("world", -3, 1), ("\u2581the", -2, 1), ("o", -5, 1), ("l", -5, 1), ("<0x41>", 0, 6), (".", -5, 4)]
out = b""
for text, score, typ in pieces:
    sp = field(1, 2, text.encode()) + field(2, 5, struct.pack("<f", score)) + field(3, 0, varint(typ))
    out += field(1, 2, sp)
trainer = field(3, 0, varint(1)) + field(40, 0, varint(0)) + field(41, 0, varint(1)) + field(42, 0, varint(2)) + \
          field(43, 0, varint(3)) + field(35, 0, varint(0))
out += field(2, 2, trainer)
norm = field(1, 2, b"identity") + field(3, 0, varint(1)) + field(4, 0, varint(1)) + field(5, 0, varint(1))
out += field(3, 2, norm)
open(sys.argv[1], "wb").write(out)
PY
copy ds_text $F/data/loaders/lines.txt
printf 'a\r\nb\rc\n\n  \n= Title =\n\xc3\xa9t\xc3\xa9\n' > "$out/ds_text/mixed.txt"
copy ds_jsonl $F/data/loaders/nested.jsonl $F/sft/data/*.jsonl 2>/dev/null || copy ds_jsonl $F/data/loaders/nested.jsonl
copy ds_csv $F/data/loaders/table.csv $F/data/loaders/table.tsv
seed ds_parallel para $F/data/loaders/para.en $F/data/loaders/para.fr
copy jinja $F/chat_templates/*.jinja 2>/dev/null || true
mkdir -p "$out/jinja"
# the chat templates of the fixtures' tokenizer_config.json files
for f in $F/chat_templates/*/tokenizer_config.json; do
  python3 - "$f" "$out/jinja/$(basename "$(dirname "$f")").jinja" <<'PY' 2>/dev/null || true
import json, sys
t = json.load(open(sys.argv[1])).get("chat_template")
if isinstance(t, list): t = t[0]["template"]
if t: open(sys.argv[2], "w").write(t)
PY
done
printf '{%% for m in messages %%}{{ m.role | upper }}: {{ m.content | trim }}{%% if not loop.last %%}\n{%% endif %%}{%% endfor %%}{%% if add_generation_prompt %%}<|assistant|>{%% endif %%}' > "$out/jinja/simple.jinja"
printf '{%% set x = namespace(n=0) %%}{%% for i in range(n) %%}{%% set x.n = x.n + i %%}{%% endfor %%}{{ x.n }} {{ tools | tojson }} {{ "%%s-%%d" | format("a", 3) }} {{ messages[1]["content"][:5] }}{%% macro f(a, b=2) %%}{{ a ~ b }}{%% endmacro %%}{{ f(1) }}' > "$out/jinja/features.jinja"
# peft adapters: the fixtures' (config SEP weights), and the real adapter_config.json files of the shared data
for d in $F/lora/*/; do seed adapter "$(basename "$d")" "$d/adapter_config.json" "$d/adapter_model.safetensors"; done
shared=${LMT_SHARED_DATA:-../shared/data}
for f in "$shared"/lora-adapters/*/adapter_config.json; do
  [ -f "$f" ] && cp "$f" "$out/adapter/real_$(basename "$(dirname "$f")").json"
done
# resume (the checkpoint files of a real run) and model_folder (a tiny model
# saved sharded and not): the harnesses write these themselves
for n in resume model_folder; do
  mkdir -p "$out/$n"
  if [ -x "$build/fuzz_replay_$n" ]; then "$build/fuzz_replay_$n" --make-seeds "$out/$n"; fi
done
rm -f "$out/roberta_cfg.json" "$out/qwen_cfg.json"
