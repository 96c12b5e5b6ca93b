"""Reference encodings from transformers' tokenizers for lmtune's BPE parity
tests: ids, offsets, word ids, special-tokens masks and decoded strings.

Big corpora are stored compactly as one FNV-1a 64-bit hash per block of 8
examples (tokens.<corpus>.<tokenizer>.hashes); the adversarial strings and a
sample are stored in full (JSON) so a failure can be read.

Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_tokenizer_fixtures.py
"""
import json
import os
import struct

import transformers as T

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SHARED = os.path.join(ROOT, "..", "shared", "data")
OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizers")
BLOCK = 8
FNV_OFFSET, FNV_PRIME, MASK = 0xcbf29ce484222325, 0x100000001b3, (1 << 64) - 1


def fnv(h, data):
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & MASK
    return h


def i32(*vals):
    return struct.pack("<%di" % len(vals), *vals)


def example_bytes(enc, word_ids, decoded):
    """Canonical serialisation shared with tests/test_tok_parity.c."""
    out = bytearray(i32(len(enc["input_ids"])))
    for k, tid in enumerate(enc["input_ids"]):
        s, e = enc["offset_mapping"][k]
        w = word_ids[k]
        out += i32(tid, s, e, -1 if w is None else w, enc["special_tokens_mask"][k])
    for d in decoded:
        out += d.encode("utf-8", "surrogatepass") + b"\xff"
    return bytes(out)


def wikitext_lines(name):
    with open(os.path.join(SHARED, "wikitext-2-raw-v1", name), encoding="utf-8") as f:
        return f.read().splitlines(keepends=True)


def corpora():
    c = {"wiki.valid": wikitext_lines("wiki.valid.raw"), "wiki.test": wikitext_lines("wiki.test.raw")}
    imdb = []
    with open(os.path.join(SHARED, "imdb", "train.jsonl"), encoding="utf-8") as f:
        for line in f:
            imdb.append(json.loads(line)["text"])
            if len(imdb) == 2000:
                break
    c["imdb"] = imdb
    kde = []
    with open(os.path.join(SHARED, "kde-en-fr", "kde.jsonl"), encoding="utf-8") as f:
        for line in f:
            t = json.loads(line)["translation"]
            kde.append(t["en"])
            kde.append(t["fr"])
    c["kde"] = kde
    return c


def adversarial_bytes():
    """Raw byte strings: lmtune reads bytes; Python sees them decoded with
    errors='replace' (the policy lmtune follows for invalid UTF-8)."""
    s = [
        "👨‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 👍🏽 thumbs",
        "日本語のテキスト、中文文本。한국어",
        "مرحبا بالعالم العربي ١٢٣",
        "e\u0301 a\u0308 combining: cafe\u0301, n\u0303",
        "control\x01\x02\x1b[0m chars\x7f and \x0b\x0c\r\n",
        "nul\x00inside\x00",
        "tabs\t\t\tand\n\n\nnewlines   \t \n  ",
        " " * 40 + "x" + "\n" * 30 + "y" + "\t" * 10,
        "hello<|endoftext|>world<|endoftext|><|endoftext|>",
        "<s>x</s><mask> a <mask>b <pad><unk>",
        "It's I'm we'll they've she'd don't 'S 'sa ''",
        "numbers 1234567 3.14 1,000 ²³ ½ Ⅻ ١٢",
        "   leading and trailing   ",
        "",
        " ",
        "\n",
        "a" * 5000,
        "Ġ ĊĠ Ċ ė",
        "\u00a0nbsp\u2003em\u3000ideographic\u2028line\u2029para\u0085nel",
        "Zero\u200bwidth\u200cjoin\u200dx\ufeffbom",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 🀄 \U0010fffd",
    ]
    out = [x.encode("utf-8") for x in s]
    out += [
        b"lone surrogate \xed\xa0\x80 here",
        b"invalid \xff\xfe bytes \xc3",
        b"overlong \xc0\xaf and \xe0\x80\xaf, truncated \xe2\x82",
        b"\xf4\x90\x80\x80 beyond U+10FFFF",
        b"x" * 100000,
    ]
    return out


def encode_all(tok, texts, add_special):
    enc = tok(texts, return_offsets_mapping=True, return_special_tokens_mask=True, add_special_tokens=add_special)
    res = []
    for i in range(len(texts)):
        e = {k: enc[k][i] for k in ("input_ids", "offset_mapping", "special_tokens_mask")}
        ids = e["input_ids"]
        dec = [tok.decode(ids, skip_special_tokens=False), tok.decode(ids, skip_special_tokens=True)]
        res.append((e, enc.word_ids(i), dec))
    return res


def main():
    os.makedirs(OUT, exist_ok=True)
    toks = {
        "gpt2": T.GPT2TokenizerFast.from_pretrained(os.path.join(SHARED, "tokenizers", "gpt2")),
        "roberta": T.RobertaTokenizerFast.from_pretrained(os.path.join(SHARED, "tokenizers", "roberta-base")),
    }
    summary = {"transformers": T.__version__, "block": BLOCK, "corpora": {}}
    for cname, texts in corpora().items():
        for tname, tok in toks.items():
            res = encode_all(tok, texts, add_special=True)
            hashes = []
            for b in range(0, len(res), BLOCK):
                h = FNV_OFFSET
                for e, w, d in res[b:b + BLOCK]:
                    h = fnv(h, example_bytes(e, w, d))
                hashes.append(h)
            with open(os.path.join(OUT, f"{cname}.{tname}.hashes"), "wb") as f:
                f.write(struct.pack("<%dQ" % len(hashes), *hashes))
            ntok = sum(len(e["input_ids"]) for e, _, _ in res)
            summary["corpora"][f"{cname}.{tname}"] = {"examples": len(texts), "tokens": ntok}
            print(cname, tname, len(texts), ntok)
    # adversarial set and a readable sample: full expected values
    adv = adversarial_bytes()
    with open(os.path.join(OUT, "adversarial.bin"), "wb") as f:
        for b in adv:
            f.write(struct.pack("<I", len(b)) + b)
    full = {}
    for tname, tok in toks.items():
        texts = [b.decode("utf-8", errors="replace") for b in adv]
        sample = wikitext_lines("wiki.valid.raw")[:40]
        full[tname] = {}
        for sname, tt in [("adversarial", texts), ("wiki_sample", sample)]:
            rows = []
            for e, w, d in encode_all(tok, tt, add_special=True):
                rows.append({"ids": e["input_ids"], "offsets": e["offset_mapping"], "word_ids": w,
                             "special": e["special_tokens_mask"], "decoded": d[0], "decoded_skip": d[1]})
            full[tname][sname] = rows
        # pairs, truncation and padding (GPT-2 pads with eos, as the notebooks set it)
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        p = tok(["Hello world", "A much longer first sequence of several words here"],
                ["second  one is here and long", "short"], truncation="longest_first", max_length=9,
                padding="max_length", return_offsets_mapping=True, return_special_tokens_mask=True)
        full[tname]["pairs_truncated_padded"] = {k: p[k] for k in p.keys()}
        full[tname]["pairs_truncated_padded"]["word_ids"] = [p.word_ids(i) for i in range(2)]
        tok.padding_side = "left"
        p = tok(["one two three four five six", "x"], truncation=True, max_length=5, padding="longest",
                return_special_tokens_mask=True)
        tok.padding_side = "right"
        full[tname]["left_pad_truncated"] = {k: p[k] for k in p.keys()}
        p = tok(["one two", "a b c d e f g"], padding=True, pad_to_multiple_of=4)
        full[tname]["pad_multiple"] = {k: p[k] for k in p.keys()}
        full[tname]["tokens"] = tok.convert_ids_to_tokens(tok("Hello world, it's <mask> café")["input_ids"])
    with open(os.path.join(OUT, "full.json"), "w") as f:
        json.dump(full, f, ensure_ascii=True)
    with open(os.path.join(OUT, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
