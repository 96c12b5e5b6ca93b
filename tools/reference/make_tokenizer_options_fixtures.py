"""Reference values for `truncation` / `padding` read from tokenizer.json
(tests/test_tok_options.c) and for the BERT tokenizer.json check.

    ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_tokenizer_options_fixtures.py

Writes
  tests/fixtures/tokenizers_json/options.json
      For each truncation / padding setting, spliced into the synthetic
      WordPiece tokenizer (synth/wordpiece_custom, BertProcessing) and read by
      tokenizers' Tokenizer.from_str: encode (single, pair,
      add_special_tokens=False) and encode_batch (singles, pairs) results
      (ids, type ids, attention and special masks, offsets, word ids, and the
      overflowing encodings' ids). Then, for a folder holding that
      tokenizer.json, what transformers' AutoTokenizer makes of it
      (__call__ resets the backend's truncation and padding per call): its
      padding_side, truncation_side, pad token id, and the ids / masks of
      tok(texts), tok(texts, padding=True), tok(texts, truncation=True,
      max_length=6), tok(texts, padding="max_length", max_length=12).
  tests/fixtures/tokenizers/wordpiece/bert_json.json
      The tokenizer.json that BertTokenizerFast.from_pretrained(bert dir)
      saves, less its model.vocab (the test puts vocab.txt back), and the
      number of tokens its backend's encode_batch gives on the bench corpus
      (WikiText-2 validation + test lines, first 2,000 IMDb reviews); also
      len() of BertTokenizerFast(vocab_file=...) (transformers 5 ignores
      vocab_file: 5 tokens).
"""
import copy
import json
import os
import tempfile

import tokenizers
import transformers as T
from tokenizers import Tokenizer

import make_tokenizer_fixtures as M

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = M.SHARED
FIX = os.path.join(ROOT, "tests", "fixtures")
BASE = os.path.join(FIX, "tokenizers_json", "synth", "wordpiece_custom", "tokenizer.json")

TEXTS = [
    "Hello world, it is a test.",
    "The game's battle system, the BliTZ system, is carried over from the previous entries.",
    "short",
    "",
    "one two three four five six seven eight nine ten eleven twelve thirteen",
]
PAIRS = [
    ("Hello world", "How are you today, my friend?"),
    ("one two three four five six seven eight nine ten", "a b"),
    ("a b", "one two three four five six seven eight nine ten"),
    ("x y z", "p q r"),
    ("one two three four five six seven eight", "nine ten eleven twelve thirteen fourteen"),
]


def trunc(max_length, strategy="LongestFirst", direction="Right", stride=0):
    return {"direction": direction, "max_length": max_length, "strategy": strategy, "stride": stride}


def pad(strategy="BatchLongest", direction="Right", multiple=None, pad_id=3, type_id=0, token="[PAD]"):
    return {"strategy": strategy, "direction": direction, "pad_to_multiple_of": multiple, "pad_id": pad_id,
            "pad_type_id": type_id, "pad_token": token}


CONFIGS = [
    ("trunc_longest_first", trunc(9), None),
    ("trunc_left", trunc(9, direction="Left"), None),
    ("trunc_only_first", trunc(10, "OnlyFirst"), None),
    ("trunc_only_second", trunc(10, "OnlySecond"), None),
    ("trunc_stride", trunc(8, stride=2), None),
    ("trunc_stride_left", trunc(8, direction="Left", stride=3), None),
    ("pad_longest", None, pad()),
    ("pad_longest_left_multiple", None, pad(direction="Left", multiple=4, type_id=1)),
    ("pad_fixed", None, pad({"Fixed": 16}, pad_id=4, token="[MASK]")),
    ("pad_fixed_multiple", None, pad({"Fixed": 10}, multiple=8)),
    ("trunc_and_pad", trunc(7), pad(direction="Left")),
    ("trunc_stride_and_pad", trunc(8, stride=2), pad({"Fixed": 9})),
]


def enc_row(e):
    return {"ids": e.ids, "type_ids": e.type_ids, "attention_mask": e.attention_mask,
            "special": e.special_tokens_mask, "offsets": [list(o) for o in e.offsets],
            "word_ids": [-1 if w is None else w for w in e.word_ids],
            "overflowing": [o.ids for o in e.overflowing]}


def try_rows(fn):
    try:
        return fn()
    except (Exception, BaseException) as ex:  # tokenizers refuses or panics (stride >= the length left)
        if isinstance(ex, KeyboardInterrupt):
            raise
        return {"error": type(ex).__name__ + ": " + str(ex).split("\n")[0]}


def auto_rows(path):
    d = tempfile.mkdtemp()
    with open(path, encoding="utf-8") as f, open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as g:
        g.write(f.read())
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 512}, f)
    tok = T.AutoTokenizer.from_pretrained(d)
    out = {"padding_side": tok.padding_side, "truncation_side": tok.truncation_side,
           "pad_token_id": -1 if tok.pad_token_id is None else tok.pad_token_id}
    calls = {"plain": {}, "padding": {"padding": True}, "truncation": {"truncation": True, "max_length": 6},
             "max_length": {"padding": "max_length", "max_length": 12}}
    for name, kw in calls.items():
        r = try_rows(lambda: tok(TEXTS, **kw))
        out[name] = r if "error" in r else [{"ids": a, "attention_mask": m} for a, m in zip(r["input_ids"], r["attention_mask"])]
    return out


def options():
    with open(BASE, encoding="utf-8") as f:
        base = json.load(f)
    res = {"tokenizers": tokenizers.__version__, "transformers": T.__version__, "base": os.path.relpath(BASE, FIX),
           "texts": TEXTS, "pairs": [list(p) for p in PAIRS], "configs": []}
    for name, tr, pd in CONFIGS:
        j = copy.deepcopy(base)
        j["truncation"], j["padding"] = tr, pd
        s = json.dumps(j, ensure_ascii=False)
        tok = Tokenizer.from_str(s)
        c = {"name": name, "truncation": tr, "padding": pd,
             "single": [try_rows(lambda t=t: enc_row(tok.encode(t))) for t in TEXTS],
             "single_nospecial": [try_rows(lambda t=t: enc_row(tok.encode(t, add_special_tokens=False))) for t in TEXTS],
             "pair": [try_rows(lambda p=p: enc_row(tok.encode(*p))) for p in PAIRS],
             "batch": try_rows(lambda: [enc_row(e) for e in tok.encode_batch(TEXTS)]),
             "batch_pairs": try_rows(lambda: [enc_row(e) for e in tok.encode_batch(PAIRS)])}
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
            f.write(s)
        c["auto"] = auto_rows(f.name)
        os.unlink(f.name)
        res["configs"].append(c)
        print(name, flush=True)
    with open(os.path.join(FIX, "tokenizers_json", "options.json"), "w", encoding="utf-8") as f:
        json.dump(res, f, ensure_ascii=False, indent=0)


def bench_corpus():
    c = M.corpora()   # WikiText-2 lines as HF's text loader gives them, first 2,000 IMDb reviews
    return c["wiki.valid"] + c["wiki.test"] + c["imdb"]


def bert_json():
    bert = os.path.join(DATA, "tokenizers", "bert-base-uncased")
    tok = T.BertTokenizerFast.from_pretrained(bert)
    d = tempfile.mkdtemp()
    tok.save_pretrained(d)
    with open(os.path.join(d, "tokenizer.json"), encoding="utf-8") as f:
        j = json.load(f)
    assert len(j["model"]["vocab"]) == 30522
    j["model"]["vocab"] = None   # the test puts vocab.txt back
    tokens = sum(len(e.ids) for e in tok.backend_tokenizer.encode_batch(bench_corpus()))
    pitfall = T.BertTokenizerFast(vocab_file=os.path.join(bert, "vocab.txt"))
    res = {"transformers": T.__version__, "tokenizer_json": j, "bench_corpus_tokens": tokens,
           "vocab_file_kwarg_len": len(pitfall)}
    with open(os.path.join(FIX, "tokenizers", "wordpiece", "bert_json.json"), "w", encoding="utf-8") as f:
        json.dump(res, f, ensure_ascii=False, indent=0)
    print("bert", tokens, len(pitfall))


if __name__ == "__main__":
    options()
    bert_json()
