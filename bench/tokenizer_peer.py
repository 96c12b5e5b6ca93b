"""HF tokenizers peer of bench_tokenizer.c: the same corpus (WikiText-2
validation + test lines, first N IMDb train reviews), GPT2TokenizerFast's
backend encode_batch (ids, offsets, word ids), best of R runs; for a slow
tokenizer (a Marian folder: MarianTokenizer) its batch __call__.

Usage: tokenizer_peer.py DATA_DIR THREADS [N_IMDB] [REPS] [TOKENIZER_DIR]
(TOKENIZER_DIR: AutoTokenizer's backend, as lmt_tokenizer_load builds it;
default the GPT-2 folder.)
Thread count goes through RAYON_NUM_THREADS, set before tokenizers loads."""
import json
import os
import sys
import time

data, threads = sys.argv[1], int(sys.argv[2])
n_imdb = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
reps = int(sys.argv[4]) if len(sys.argv) > 4 else 3
tokdir = sys.argv[5] if len(sys.argv) > 5 else os.path.join(data, "tokenizers", "gpt2")
os.environ["RAYON_NUM_THREADS"] = str(threads)
os.environ["TOKENIZERS_PARALLELISM"] = "true"

import transformers  # noqa: E402

texts = []
for split in ("valid", "test"):
    with open(os.path.join(data, "wikitext-2-raw-v1", f"wiki.{split}.raw"), encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    texts += [l + "\n" for l in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
with open(os.path.join(data, "imdb", "train.jsonl"), encoding="utf-8") as f:
    for i, line in enumerate(f):
        if i == n_imdb:
            break
        texts.append(json.loads(line)["text"])
nbytes = sum(len(t.encode("utf-8")) for t in texts)
if tokdir == os.path.join(data, "tokenizers", "gpt2"):
    tok = transformers.GPT2TokenizerFast.from_pretrained(tokdir).backend_tokenizer
else:   # what lmt_tokenizer_load follows
    tok = transformers.AutoTokenizer.from_pretrained(tokdir)
    # a slow tokenizer (MarianTokenizer) has no backend: its batch call, one
    # thread whatever THREADS says (sentencepiece under Python's loop)
    tok = getattr(tok, "backend_tokenizer", None) or tok
best = 1e30
for _ in range(reps):
    t0 = time.perf_counter()
    if hasattr(tok, "encode_batch"):
        enc = [e.ids for e in tok.encode_batch(texts)]
    else:
        enc = tok(texts)["input_ids"]
    best = min(best, time.perf_counter() - t0)
ntok = sum(len(e) for e in enc)
print(f"hf_tokenizers threads={threads} tokens={ntok} seconds={best:.3f} MB/s={nbytes / 1e6 / best:.2f}")
