"""Reference encodings for lmtune's SentencePiece unigram tokenizer and
MarianTokenizer (tests/test_tok_spm.c), from `sentencepiece` and
transformers' MarianTokenizer on ../shared/data/tokenizers/opus-mt-tc-big-en-pt.

Outputs (tests/fixtures/tokenizers/marian/):
  <corpus>.hashes  one FNV-1a 64-bit hash per block of 8 strings, one line
                   per block: "<spm> <marian>" where
                   spm    = hash of (u32 n, i32 ids...) of sentencepiece ids
                   marian = hash of (u32 n, i32 ids..., u32 len, decoded
                            bytes) of MarianTokenizer ids and
                            decode(ids, skip_special_tokens=True)
                   en strings use source.spm / inputs, fr strings
                   target.spm / text_target
  adversarial.json full values for an adversarial set
Corpora: kde (every pair of kde-en-fr/kde.jsonl: en then fr), multi30k (all
three splits of multi30k-en-fr, en then fr per pair, in file order
test_2016_flickr, train, validation).

Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_spm_fixtures.py
"""
import json
import os
import struct
import warnings

import sentencepiece as spm
import transformers as T

warnings.filterwarnings("ignore")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DATA = os.path.join(ROOT, "..", "shared", "data")
TOK = os.path.join(DATA, "tokenizers", "opus-mt-tc-big-en-pt")
OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizers", "marian")
FNV_OFFSET, FNV_PRIME, MASK = 0xcbf29ce484222325, 0x100000001b3, (1 << 64) - 1


def fnv(h, data):
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & MASK
    return h


def ids_bytes(ids):
    return struct.pack("<I", len(ids)) + struct.pack("<%di" % len(ids), *ids)


def pairs(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                t = json.loads(line)["translation"]
                yield t["en"], t["fr"]


src = spm.SentencePieceProcessor(model_file=os.path.join(TOK, "source.spm"))
tgt = spm.SentencePieceProcessor(model_file=os.path.join(TOK, "target.spm"))
tok = T.MarianTokenizer.from_pretrained(TOK)


def marian(text, target):
    ids = tok(text_target=text)["input_ids"] if target else tok(text)["input_ids"]
    return ids, tok.decode(ids, skip_special_tokens=True)


def write_hashes(name, items):  # items: list of (text, is_target)
    lines, ntok = [], 0
    for b in range(0, len(items), 8):
        h1 = h2 = FNV_OFFSET
        for text, target in items[b:b + 8]:
            ids = (tgt if target else src).encode(text)
            h1 = fnv(h1, ids_bytes(ids))
            mids, dec = marian(text, target)
            d = dec.encode("utf-8")
            h2 = fnv(h2, ids_bytes(mids) + struct.pack("<I", len(d)) + d)
            ntok += len(mids)
        lines.append("%016x %016x" % (h1, h2))
    with open(os.path.join(OUT, name + ".hashes"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return {"strings": len(items), "blocks": len(lines), "marian_tokens": ntok}


def corpus(paths):
    items = []
    for p in paths:
        for en, fr in pairs(p):
            items.append((en, False))
            items.append((fr, True))
    return items


ADV = [
    "", " ", "   ", "\t\n", "Hello world", "  Hello   world  ", "Hello\u3000world", "a\tb\nc\rd",
    "ﬁ ﬂ ﬀ ﬃ æ Œ", "ＡＢＣ ｄｅｆ １２３ ！？", "ｶﾀｶﾅ ﾊﾟ", "① ⑵ ⅷ ㎏ ㍻ ™ ℡ ½ ¼", "x² H₂O",
    "Café café Cafe\u0301 ñ n\u0303", "Å Å Å", "ﬀoo ǆ Ǆ", "\u00a0nbsp\u00a0\u00a0x", "zero\u200bwidth\u200dj\ufeffbom",
    "😀 👍🏽 👨‍👩‍👧 🇫🇷", "emoji😀inside", "\x00\x01\x02 ctrl \x7f\x1b[0m", "\u2028\u2029\x85",
    "日本語のテキスト", "中文字符测试", "한국어 텍스트", "Ελληνικά Русский עברית العربية", "हिन्दी தமிழ்",
    "«guillemets» „quotes“ ‚x‘ – — … ‹›", "l'homme d’affaires aujourd'hui", "don't won't it's",
    "<unk> </s> <pad> x</s>y <s>", ">>fra<< Hello", ">>pt<<", "a" * 3000, "ab " * 1500,
    "word " * 800, "\U0001d400\U0001d401 \U0001f600" * 50, "Hello . , ! ? ' n't 's",
    "&Folder: %1 <b>bold</b> C:\\path\\x $HOME", "12345678901234567890 3.14159 1,000,000",
    "e\u0301\u0302\u0323 \u0300start", "\ufffd replacement", "tab\tinside\t\ttabs", "x" + " " * 50 + "y",
    "İstanbul ß ẞ ǅ", "Ⅻ ⅻ ℌ ℍ ℹ", "ｈｅｌｌｏ　ｗｏｒｌｄ", "\u3000\u3000lead", "trail\u3000\u3000",
    "A" * 600 + "😀" * 100 + "b c d" * 100,
]


def adversarial():
    out = []
    for text in ADV:
        e = {"text": text, "src_ids": src.encode(text), "tgt_ids": tgt.encode(text),
             "src_decode": src.decode(src.encode(text)), "tgt_decode": tgt.decode(tgt.encode(text))}
        for key, target in (("input", False), ("target", True)):
            ids, dec = marian(text, target)
            e[key + "_ids"] = ids
            e[key + "_decode"] = dec
            e[key + "_decode_special"] = tok.decode(ids, skip_special_tokens=False)
        kw = dict(max_length=8, truncation=True)
        e["input_trunc8"] = tok(text, **kw)["input_ids"]
        e["target_trunc8"] = tok(text_target=text, **kw)["input_ids"]
        p = tok(text, max_length=16, truncation=True, padding="max_length")
        e["input_pad16"] = p["input_ids"]
        e["input_pad16_mask"] = p["attention_mask"]
        out.append(e)
    return out


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    summary = {"sentencepiece": spm.__version__, "transformers": T.__version__,
               "eos_id": tok.eos_token_id, "pad_id": tok.pad_token_id, "unk_id": tok.unk_token_id,
               "vocab_size": tok.vocab_size, "len": len(tok)}
    adv = adversarial()
    with open(os.path.join(OUT, "adversarial.json"), "w", encoding="utf-8") as f:
        json.dump({"summary": summary, "cases": adv}, f, ensure_ascii=True)
    print("adversarial", len(adv), flush=True)
    m = os.path.join(DATA, "multi30k-en-fr")
    summary["multi30k"] = write_hashes("multi30k", corpus([os.path.join(m, s + ".jsonl") for s in ("test_2016_flickr", "train", "validation")]))
    print("multi30k", summary["multi30k"], flush=True)
    summary["kde"] = write_hashes("kde", corpus([os.path.join(DATA, "kde-en-fr", "kde.jsonl")]))
    print("kde", summary["kde"], flush=True)
    with open(os.path.join(OUT, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
