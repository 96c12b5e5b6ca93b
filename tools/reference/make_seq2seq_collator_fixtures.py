"""Reference batches for lmtune's DataCollatorForSeq2Seq
(src/data/seq2seq_collator.c) and the translation data preparation
(src/data/translation_data.c), tested by tests/test_seq2seq_collator.c.

MarianTokenizer on ../shared/data/tokenizers/opus-mt-tc-big-en-pt tokenizes
KDE pairs of ../shared/data/kde-en-fr/kde.jsonl as run_translation.py does
(inputs from `en`, labels from `fr` with text_target, truncation at 128);
the real DataCollatorForSeq2Seq with a tiny MarianMTModel of this vocabulary
(pad = decoder_start = 54775) collates them in batches of 4, with and without
pad_to_multiple_of=8. Also records datasets' train_test_split(train_size=0.9,
seed=20) sizes on the local KDE file and the tokenized first rows of each split.

Output: tests/fixtures/seq2seq/collator.json
Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_seq2seq_collator_fixtures.py
"""
import json
import os
import warnings

import datasets
import transformers as T

warnings.filterwarnings("ignore")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SHARED = os.path.join(ROOT, "..", "shared", "data")
TOK = os.path.join(SHARED, "tokenizers", "opus-mt-tc-big-en-pt")
KDE = os.path.join(SHARED, "kde-en-fr", "kde.jsonl")
OUT = os.path.join(ROOT, "tests", "fixtures", "seq2seq", "collator.json")
MAXLEN = 128

tok = T.MarianTokenizer.from_pretrained(TOK)
rows = [json.loads(l) for l in open(KDE, encoding="utf-8") if l.strip()]

# 16 short rows from the head of the file and the 4 longest pairs (truncated at 128)
by_len = sorted(range(len(rows)), key=lambda i: -(len(rows[i]["translation"]["en"]) + len(rows[i]["translation"]["fr"])))
picks = list(range(16)) + by_len[:4]


def encode(i):
    tr = rows[i]["translation"]
    return tok(tr["en"], text_target=tr["fr"], max_length=MAXLEN, truncation=True)


cfg = T.MarianConfig(vocab_size=len(tok), d_model=8, encoder_layers=1, decoder_layers=1, encoder_attention_heads=1,
                     decoder_attention_heads=1, encoder_ffn_dim=8, decoder_ffn_dim=8, max_position_embeddings=256,
                     pad_token_id=tok.pad_token_id, decoder_start_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
model = T.MarianMTModel(cfg)
assert tok.pad_token_id == 54775, tok.pad_token_id

out = {"transformers": T.__version__, "datasets": datasets.__version__, "max_length": MAXLEN,
       "pad": tok.pad_token_id, "decoder_start": cfg.decoder_start_token_id, "vocab_size": len(tok),
       "rows": picks, "collations": []}
for mult in (None, 8):
    coll = T.DataCollatorForSeq2Seq(tok, model=model, pad_to_multiple_of=mult)
    batches = []
    for b in range(0, len(picks), 4):
        feats = [dict(encode(i)) for i in picks[b:b + 4]]
        batch = coll(feats)
        batches.append({k: batch[k].tolist() for k in ("input_ids", "attention_mask", "labels", "decoder_input_ids")})
    out["collations"].append({"pad_to_multiple_of": mult or 0, "batches": batches})

ds = datasets.Dataset.from_list([{"id": r["id"], "translation": r["translation"]} for r in rows])
sp = ds.train_test_split(train_size=0.9, seed=20)
split = {"train": sp["train"].num_rows, "validation": sp["test"].num_rows, "rows": {}}
for name, part in (("train", sp["train"]), ("validation", sp["test"])):
    firsts = []
    for k in (0, 1, 2, part.num_rows - 1):
        tr = part[k]["translation"]
        # max_source_length 16 / max_target_length 12 to see truncation on the long rows
        enc = tok(tr["en"], text_target=tr["fr"], max_length=16, truncation=True)
        enc_t = tok(text_target=tr["fr"], max_length=12, truncation=True)
        firsts.append({"k": k, "id": part[k]["id"], "input_ids": enc["input_ids"], "labels": enc_t["input_ids"]})
    split["rows"][name] = firsts
out["split"] = split
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump(out, f, separators=(",", ":"))
print("wrote", OUT, os.path.getsize(OUT), "bytes; rows", picks)
