"""Reference encodings from transformers' fast tokenizers for lmtune's BPE
parity tests (tests/test_tok_parity.c): ids, offsets, word ids, special-tokens
masks and decoded strings.

Outputs (tests/fixtures/tokenizers/):
  <corpus>.<tok>.hashes  one FNV-1a 64-bit hash per block of 8 examples of
                         the canonical serialisation `example_bytes` (shared
                         with the C test), for the big corpora
  adversarial.bin        the adversarial inputs as raw bytes: per entry
                         u32 repeat, u32 length, bytes (input = bytes * repeat)
  full.json              full expected values for the adversarial set and a
                         WikiText sample (examples over 2,000 tokens keep only
                         their hash), pairs, truncation, padding, tokens
  tiny/tokenizer.json    a small byte-level BPE trained here (tokenizer.json
                         format, add_prefix_space, lstrip/rstrip added tokens)
  stages.json            per-stage references: GPT-2 pre-tokenizer splits,
                         BPE model tokens, ByteLevel decoder outputs, UTF-8
                         repair (Python's errors='replace')
  summary.json           versions, example and token counts

Text is read as transformers users read it: WikiText one example per '\\n'
line (the '\\n' kept, blank lines kept), IMDb train "text" (first 2,000),
KDE en then fr of every pair. Invalid UTF-8 in the adversarial set is
decoded with errors='replace' (lmtune's policy, docs/TOKENIZERS.md).

If LMT_TOKENIZER_JSON_DIR is set, the real gpt2 / roberta-base tokenizers are
also saved there as tokenizer.json (not committed; test_tok_parity compares
both formats when the same variable is set).

Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_tokenizer_fixtures.py
"""
import json
import os
import struct

import tokenizers
import transformers as T
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers, AddedToken

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SHARED = os.path.join(ROOT, "..", "shared", "data")
OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizers")
BLOCK = 8
FULL_MAX_TOKENS = 2000
FNV_OFFSET, FNV_PRIME, MASK = 0xcbf29ce484222325, 0x100000001b3, (1 << 64) - 1


def fnv(h, data):
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & MASK
    return h


def i32(*vals):
    return struct.pack("<%di" % len(vals), *vals)


def example_bytes(ids, offsets, word_ids, special, decoded):
    """Canonical serialisation shared with tests/test_tok_parity.c:
    i32 n, then per token i32 id, start, end, word (-1 = None), special;
    then each decoded string as UTF-8 followed by a 0xFF byte."""
    out = bytearray(i32(len(ids)))
    for k, tid in enumerate(ids):
        s, e = offsets[k]
        w = word_ids[k]
        out += i32(tid, s, e, -1 if w is None else w, special[k])
    for d in decoded:
        out += d.encode("utf-8") + b"\xff"
    return bytes(out)


def wikitext_lines(name):
    with open(os.path.join(SHARED, "wikitext-2-raw-v1", name), encoding="utf-8", newline="") as f:
        text = f.read()
    lines = text.split("\n")
    out = [l + "\n" for l in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


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


def adversarial():
    """(bytes, repeat) entries. lmtune reads bytes; Python sees bytes*repeat
    decoded with errors='replace'."""
    s = [
        "👨‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 👍🏽 thumbs, 🇫🇷🇯🇵 flags",
        "日本語のテキスト、中文文本。한국어 ﾊﾝｶｸ",
        "مرحبا بالعالم العربي ١٢٣ שלום",
        "e\u0301 a\u0308 combining: cafe\u0301, n\u0303 \u0301start Z\u0351\u0352\u0353",
        "control\x01\x02\x1b[0m chars\x7f and \x0b\x0c\r\n\x1c\x1d\x1e\x1f",
        "nul\x00inside\x00 \x00",
        "tabs\t\t\tand\n\n\nnewlines   \t \n  ",
        " " * 40 + "x" + "\n" * 30 + "y" + "\t" * 10 + " \n \n\t z",
        "hello<|endoftext|>world<|endoftext|><|endoftext|>",
        "<s>x</s><mask> a <mask>b <pad><unk>",
        "  <mask>  <s>  </s> x<mask>y <|endoftext|> end<|endoftext",
        "It's I'm we'll they've she'd don't 'S 'sa '' ' s 're'VE",
        "numbers 1234567 3.14 1,000 ²³ ½ Ⅻ ١٢ ๓ 𝟘𝟙",
        "   leading and trailing   ",
        "",
        " ",
        "\n",
        "Ġ ĊĠ Ċ ė Ā",
        "\u00a0nbsp\u2003em\u3000ideographic\u2028line\u2029para\u0085nel\u180emvs\u200a",
        "Zero\u200bwidth\u200cjoin\u200dx\ufeffbom",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 🀄 \U0010fffd \ue000 \uffff",
        " = Valkyria Chronicles III = \n",
        "Hello world, it's a test. HELLO   WORLD!!! <br /><br />Great.",
        "mixed\r\nline\rendings\n\r",
        "ﬁ ligature Å Ω ǅ ᾈ",
    ]
    out = [(x.encode("utf-8"), 1) for x in s]
    out += [
        (b"lone surrogate \xed\xa0\x80 here \xed\xbf\xbf", 1),
        (b"invalid \xff\xfe bytes \xc3", 1),
        (b"overlong \xc0\xaf and \xe0\x80\xaf, truncated \xe2\x82 x \xf0\x9f\x98", 1),
        (b"\xf4\x90\x80\x80 beyond U+10FFFF \x80\x80 \xc2", 1),
        (b"x", 100000),
        (b"the_quick,brown.fox-jumps/over:the;lazy~dog|", 2300),
        ("データ".encode("utf-8"), 12000),
        (b" ", 3000),
        (b"\n", 2000),
        (b"\t \n", 700),
        (b"a" * 5000, 1),
    ]
    return out


def adversarial_texts():
    return [(b * r).decode("utf-8", errors="replace") for b, r in adversarial()]


def encode_all(tok, texts, add_special=True):
    enc = tok(texts, return_offsets_mapping=True, return_special_tokens_mask=True, add_special_tokens=add_special)
    res = []
    for i in range(len(texts)):
        ids = enc["input_ids"][i]
        dec = [tok.decode(ids, skip_special_tokens=False), tok.decode(ids, skip_special_tokens=True)]
        res.append((ids, enc["offset_mapping"][i], enc.word_ids(i), enc["special_tokens_mask"][i], dec))
    return res


def full_rows(tok, texts):
    rows = []
    for ids, offs, w, sp, d in encode_all(tok, texts):
        if len(ids) > FULL_MAX_TOKENS:
            rows.append({"n": len(ids), "hash": "%016x" % fnv(FNV_OFFSET, example_bytes(ids, offs, w, sp, d))})
            continue
        rows.append({"ids": ids, "offsets": offs, "word_ids": w, "special": sp, "decoded": d[0],
                     "decoded_skip": d[1],
                     "decoded_clean": tok.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=True)})
    return rows


def batch_cases(tok):
    """Pairs, truncation and padding, as the notebooks call the tokenizer."""
    out = {}
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token  # what the CLM notebook does for GPT-2
    out["pad_id"] = tok.pad_token_id

    def grab(name, enc, n, offsets=True):
        d = {k: enc[k] for k in enc.keys()}
        d["word_ids"] = [enc.word_ids(i) for i in range(n)]
        out[name] = d

    a = ["Hello world", "A much longer first sequence of several words here", "x", "one two three"]
    b = ["second  one is here and long", "short", "a b c d e f g h i j k l", "four"]
    for strat in ["longest_first", "only_first", "only_second"]:
        try:
            p = tok(a[:2] + a[3:], b[:2] + b[3:], truncation=strat, max_length=9, padding="max_length",
                    return_offsets_mapping=True, return_special_tokens_mask=True)
            grab("pairs_" + strat, p, 3)
        except Exception as e:  # only_* can fail when the sequence is too short
            out["pairs_" + strat] = {"error": str(e)}
    p = tok(a, b, truncation="longest_first", max_length=7, return_offsets_mapping=True,
            return_special_tokens_mask=True)
    grab("pairs_longest_first_7", p, 4)
    tok.truncation_side = "left"
    tok.padding_side = "left"
    p = tok(["one two three four five six", "x"], truncation=True, max_length=5, padding="longest",
            return_offsets_mapping=True, return_special_tokens_mask=True)
    grab("left_pad_left_trunc", p, 2)
    tok.truncation_side = "right"
    tok.padding_side = "right"
    p = tok(["one two", "a b c d e f g", "hello there"], padding=True, pad_to_multiple_of=4,
            return_offsets_mapping=True, return_special_tokens_mask=True)
    grab("pad_multiple", p, 3)
    p = tok(["one two", "a b c d e f g h i j k l m n"], padding="max_length", max_length=8, truncation=True,
            pad_to_multiple_of=4, return_offsets_mapping=True, return_special_tokens_mask=True)
    grab("pad_max_length_multiple", p, 2)
    p = tok(["Hello world, it's me"], add_special_tokens=False, return_offsets_mapping=True,
            return_special_tokens_mask=True)
    grab("no_special", p, 1)
    ids = tok("Hello world, it's <mask> café <|endoftext|>")["input_ids"]
    out["tokens"] = {"ids": ids, "tokens": tok.convert_ids_to_tokens(ids)}
    return out


def tiny_tokenizer(lines):
    """A small byte-level BPE in tokenizer.json form with the options the real
    files do not exercise: add_prefix_space, lstrip/rstrip, a non-special
    added token, a multi-word added token."""
    t = Tokenizer(models.BPE())
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    t.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<s>", "<pad>", "</s>", "<unk>"])
    t.train_from_iterator(lines, trainer)
    t.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True),
                          AddedToken("[SEP]", rstrip=True, normalized=False, special=True)])
    t.add_tokens([AddedToken("hello world", normalized=True), AddedToken("<br />", normalized=False),
                  AddedToken("zz", single_word=True, normalized=False)])
    t.post_processor = processors.RobertaProcessing(("</s>", t.token_to_id("</s>")), ("<s>", t.token_to_id("<s>")),
                                                    trim_offsets=True, add_prefix_space=True)
    return t


def stage_references(gpt2):
    """Each stage alone, from the tokenizers library's own components."""
    bl = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    texts = [t for t in adversarial_texts() if len(t) < 3000] + [
        "Hello world", "  two  spaces  ", "a\n\nb", "x \t\ny", "it's  'll'd", "1234 5 ab12cd", "$$$ !!x",
        "\u00a0\u00a0a", "\u3000x", " \u2028", "end ", "end  ", "\t", "'", "' '", "''s", " 's", "a'LL"]
    pretok = []
    for t in texts:
        pretok.append({"text": t, "splits": [[s, o[0], o[1]] for s, o in bl.pre_tokenize_str(t)]})
    model = gpt2.backend_tokenizer.model
    pieces = ["Hello", "\u0120world", "\u0120Valkyria", "aaaaaaaaaaaaaaaaaaaaaaaaa", "\u0120\u0120\u0120\u0120",
              "\u010a\u010a\u010a", "\u00e6\u0139\u00a5\u00e6\u013e\u00ac", "lowerlowestnewerwidest",
              "antidisestablishmentarianism", "\u0120" + "ab" * 40]
    bpe = [{"piece": p, "ids": [t.id for t in model.tokenize(p)], "offsets": [list(t.offsets) for t in model.tokenize(p)]}
           for p in pieces]
    dec = decoders.ByteLevel()
    token_lists = [["Hello", "\u0120world"], ["\u00e6\u0139", "\u00a5"], ["\u00e6\u0139"], ["<s>", "x", "\u0120\u00c3"],
                   ["\u00f0\u0141\u013a"], ["caf\u00c3\u00a9"], ["\u0100\u0101\u0102"], ["\u4e2d", "\u0120a"], []]
    decoded = [{"tokens": tl, "text": dec.decode(tl)} for tl in token_lists]
    raw = [b"ok", b"\xff", b"\xe2\x82", b"\xe2\x82x", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80",
           b"\xf0\x9f\x98", b"\xf0\x9f\x98\x80", b"a\x80\x80b", b"\xe0\x80\xaf", b"\xef\xbf\xbd", b"\xc3\xa9\xc3"]
    repair = [{"hex": r.hex(), "text": r.decode("utf-8", errors="replace")} for r in raw]
    return {"pretok": pretok, "bpe": bpe, "decoder": decoded, "repair": repair}


def main():
    os.makedirs(OUT, exist_ok=True)
    toks = {
        "gpt2": T.GPT2TokenizerFast.from_pretrained(os.path.join(SHARED, "tokenizers", "gpt2")),
        "roberta": T.RobertaTokenizerFast.from_pretrained(os.path.join(SHARED, "tokenizers", "roberta-base")),
    }
    summary = {"transformers": T.__version__, "tokenizers": tokenizers.__version__, "block": BLOCK, "corpora": {}}
    for cname, texts in corpora().items():
        for tname, tok in toks.items():
            res = encode_all(tok, texts)
            hashes = []
            for b in range(0, len(res), BLOCK):
                h = FNV_OFFSET
                for r in res[b:b + BLOCK]:
                    h = fnv(h, example_bytes(*r))
                hashes.append(h)
            with open(os.path.join(OUT, f"{cname}.{tname}.hashes"), "wb") as f:
                f.write(struct.pack("<%dQ" % len(hashes), *hashes))
            ntok = sum(len(r[0]) for r in res)
            summary["corpora"][f"{cname}.{tname}"] = {"examples": len(texts), "tokens": ntok}
            print(cname, tname, len(texts), ntok, flush=True)

    with open(os.path.join(OUT, "stages.json"), "w") as f:
        json.dump(stage_references(toks["gpt2"]), f, ensure_ascii=True, separators=(",", ":"))
    adv = adversarial()
    with open(os.path.join(OUT, "adversarial.bin"), "wb") as f:
        for b, r in adv:
            f.write(struct.pack("<II", r, len(b)) + b)
    texts = adversarial_texts()
    sample = wikitext_lines("wiki.valid.raw")[:40]

    os.makedirs(os.path.join(OUT, "tiny"), exist_ok=True)
    tiny_path = os.path.join(OUT, "tiny", "tokenizer.json")
    tiny = tiny_tokenizer(wikitext_lines("wiki.valid.raw"))
    tiny.save(tiny_path)
    toks["tiny"] = T.PreTrainedTokenizerFast(tokenizer_file=tiny_path, bos_token="<s>", eos_token="</s>",
                                             pad_token="<pad>", unk_token="<unk>", mask_token="<mask>")
    assert json.loads(toks["tiny"].backend_tokenizer.to_str())["post_processor"]["type"] == "RobertaProcessing"

    full = {}
    for tname, tok in toks.items():
        full[tname] = {"adversarial": full_rows(tok, texts), "wiki_sample": full_rows(tok, sample)}
        full[tname].update(batch_cases(tok))
    with open(os.path.join(OUT, "full.json"), "w") as f:
        json.dump(full, f, ensure_ascii=True, separators=(",", ":"))
    with open(os.path.join(OUT, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)

    jdir = os.environ.get("LMT_TOKENIZER_JSON_DIR")
    if jdir:
        for tname in ("gpt2", "roberta"):
            os.makedirs(os.path.join(jdir, tname), exist_ok=True)
            toks[tname].backend_tokenizer.save(os.path.join(jdir, tname, "tokenizer.json"))


if __name__ == "__main__":
    main()
