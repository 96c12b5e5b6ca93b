"""Reference encodings from transformers' BertTokenizerFast (bert-base-uncased,
built from vocab.txt) for lmtune's WordPiece parity test
(tests/test_tok_wordpiece.c).

Outputs (tests/fixtures/tokenizers/wordpiece/):
  <corpus>.hashes   FNV-1a 64-bit hash per block of 8 examples of
                    `example_bytes` (shared with the C test): every WikiText-2
                    valid/test line, the first 2,000 IMDb train reviews, every
                    KDE en/fr string, and 400 WikiText sentence pairs
  adversarial.bin   the WordPiece adversarial inputs (same format as the BPE
                    one: u32 repeat, u32 length, bytes)
  full.json         full expected values for the adversarial set, padding /
                    truncation cases, per-stage references (each Unicode code
                    point through BertNormalizer, hashed per 4,096; WordPiece
                    model; WordPiece decoder)
  tiny/tokenizer.json  a small WordPiece tokenizer.json (cased: lowercase and
                    strip_accents off, a BertProcessing post-processor)

Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_wordpiece_fixtures.py
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_tokenizer_fixtures as M  # noqa: E402
import tokenizers  # noqa: E402
import transformers as T  # noqa: E402
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors  # noqa: E402

OUT = os.path.join(M.OUT, "wordpiece")
BERT = os.path.join(M.SHARED, "tokenizers", "bert-base-uncased")


def example_bytes(ids, types, offsets, word_ids, special, decoded):
    """i32 n, per token i32 id, type, start, end, word (-1 = None), special;
    then each decoded string as UTF-8 followed by 0xFF."""
    out = bytearray(M.i32(len(ids)))
    for k, tid in enumerate(ids):
        s, e = offsets[k]
        w = word_ids[k]
        out += M.i32(tid, types[k], s, e, -1 if w is None else w, special[k])
    for d in decoded:
        out += d.encode("utf-8") + b"\xff"
    return bytes(out)


def encode_all(tok, texts, pairs=None):
    enc = tok(texts, pairs, return_offsets_mapping=True, return_special_tokens_mask=True) if pairs else \
        tok(texts, return_offsets_mapping=True, return_special_tokens_mask=True)
    res = []
    for i in range(len(texts)):
        ids = enc["input_ids"][i]
        dec = [tok.decode(ids, skip_special_tokens=False), tok.decode(ids, skip_special_tokens=True),
               tok.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=True)]
        res.append((ids, enc["token_type_ids"][i], enc["offset_mapping"][i], enc.word_ids(i),
                    enc["special_tokens_mask"][i], dec))
    return res


def adversarial():
    s = [
        "This is a great [MASK].", "great[MASK].", "[MASK][MASK] x[MASK]y [CLS]a[SEP] [mask] [ MASK ]",
        "Héllo Wörld! Ça va? naïve café résumé ÀÉÎÕÜ ﬁ Ǆ İstanbul ß ẞ Σίσυφος ΣΑΣ",
        "日本語のテキスト、中文文本。한국어 ﾊﾝｶｸ 𠀀𪜀 㐀 豈",
        "مرحبا بالعالم العربي ١٢٣ שלום עולם",
        "e\u0301 a\u0308\u0323 combining: cafe\u0301, n\u0303 \u0301start Z\u0351\u0352\u0353 \u1100\u1161\u11a8",
        "control\x01\x02\x1b[0m chars\x7f and \x0b\x0c\r\n\x1c\x1d\x1e\x1f \u200b\u200d\ufeff\u00ad end",
        "nul\x00inside\x00 \x00 \ufffd replacement \ue000 private",
        "👨‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 👍🏽 thumbs, 🇫🇷 ☺ ♥ ★",
        "a" * 100 + " " + "b" * 101 + " " + "é" * 100 + " " + "é" * 101,
        "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopic",
        "!!!...???,,,;;;::: --- ((([[[{{{ }}}]]])))  \"''\" `~@#$%^&*_+=|\\/<>",
        "don't it's I'm we're they've can't won't o'clock rock'n'roll",
        "numbers 1234567 3.14 1,000 ²³ ½ Ⅻ ١٢ ๓ 𝟘𝟙 ①",
        "   leading and trailing   ", "", " ", "\n", "\t\r\n",
        "\u00a0nbsp\u2003em\u3000ideographic\u2028line\u2029para\u0085nel\u180emvs\u200a",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 🀄 \U0010fffd \uffff ǅ ᾈ Ω Å K",
        " = Valkyria Chronicles III = \n",
        "Hello world, it's a test. HELLO   WORLD!!! <br /><br />Great.",
        "x ##ing ## #hash [UNK] unaffable embeddings",
        "¿Qué? ¡Sí! «guillemets» „quotes“ — dash – § ¶ † ‡ • … ‰ ′ ″ ‹ › ※ ‼ ⁇ ⸮",
        "\u061d\u0c77\u166d\u2e52\u1b7d", "\u0378\u0530\U000e0001\U000e007f tags",
    ]
    out = [(x.encode("utf-8"), 1) for x in s]
    out += [
        (b"invalid \xff\xfe bytes \xc3 surrogate \xed\xa0\x80", 1),
        (b"x", 20000),
        (b"the_quick,brown.fox-jumps/over:the;lazy~dog|", 500),
        ("データ".encode("utf-8"), 3000),
        (b"word ", 3000),
        ("Ünïcödé ".encode("utf-8"), 400),
    ]
    return out


def stage_references(tok):
    norm = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
    blocks = []
    for b in range(0, 0x110000, 4096):
        h = M.FNV_OFFSET
        for c in range(b, b + 4096):
            if 0xD800 <= c < 0xE000:
                continue
            h = M.fnv(h, norm.normalize_str(chr(c)).encode("utf-8") + b"\xff")
        blocks.append("%016x" % h)
    pre = pre_tokenizers.BertPreTokenizer()
    texts = ["Hello, world!", "a.b,c", "  x  y  ", "don't", "日本", "a\u00a0b\u3000c", "$5.00", "e-mail@x.com", ""]
    pretok = [{"text": t, "splits": [[s, o[0], o[1]] for s, o in pre.pre_tokenize_str(t)]} for t in texts]
    model = tok.backend_tokenizer.model
    words = ["hello", "unaffable", "embeddings", "xyzzyq", "a" * 100, "a" * 101, "日", "##", "running", "ǆ", "é"]
    wp = [{"word": w, "ids": [t.id for t in model.tokenize(w)], "offsets": [list(t.offsets) for t in model.tokenize(w)]}
          for w in words]
    dec = decoders.WordPiece(prefix="##", cleanup=True)
    token_lists = [["[CLS]", "hello", ",", "world", "!", "[SEP]"], ["##ing", "un", "##aff", "##able"],
                   ["do", "n't", "it", "'s", "a", "'", "b", "?", "do not"], ["a", "##"], ["##"], []]
    decoded = [{"tokens": tl, "text": dec.decode(tl)} for tl in token_lists]
    return {"normalizer_blocks": blocks, "pretok": pretok, "wordpiece": wp, "decoder": decoded}


def cases(tok):
    out = {}

    def grab(name, enc, n):
        d = {k: enc[k] for k in enc.keys()}
        d["word_ids"] = [enc.word_ids(i) for i in range(n)]
        out[name] = d

    a = ["Hello world", "A much longer first sequence of several words here", "x", "one two three"]
    b = ["second  one is here and long", "short", "a b c d e f g h i j k l", "four"]
    p = tok(a, b, truncation="longest_first", max_length=9, padding="max_length", return_offsets_mapping=True,
            return_special_tokens_mask=True)
    grab("pairs_longest_first", p, 4)
    p = tok(a, padding=True, pad_to_multiple_of=8, return_offsets_mapping=True, return_special_tokens_mask=True)
    grab("pad_multiple", p, 4)
    p = tok(["Hello world, it's me"], add_special_tokens=False, return_offsets_mapping=True,
            return_special_tokens_mask=True)
    grab("no_special", p, 1)
    return out


def tiny_tokenizer():
    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}
    for w in ["Hello", "hello", "world", "Wör", "##ld", "##s", ",", "!", ".", "a", "b", "é", "e", "##é", "un", "##aff",
              "##able", "日", "本", "it", "'", "s"]:
        vocab[w] = len(vocab)
    t = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=12))
    t.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False,
                                              lowercase=False)
    t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    t.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    t.post_processor = processors.BertProcessing(("[SEP]", 3), ("[CLS]", 2))
    t.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    return t


def main():
    os.makedirs(os.path.join(OUT, "tiny"), exist_ok=True)
    tok = T.BertTokenizerFast.from_pretrained(BERT)
    summary = {"transformers": T.__version__, "tokenizers": tokenizers.__version__, "block": M.BLOCK, "corpora": {},
               "backend": json.loads(tok.backend_tokenizer.to_str())["normalizer"]}
    corp = M.corpora()
    wiki = [l for l in corp["wiki.valid"] if l.strip()]
    jobs = [(k, v, None) for k, v in corp.items()] + [("pairs", wiki[0:800:2], wiki[1:801:2])]
    for cname, texts, pairs in jobs:
        res = encode_all(tok, texts, pairs)
        hashes = []
        for b in range(0, len(res), M.BLOCK):
            h = M.FNV_OFFSET
            for r in res[b:b + M.BLOCK]:
                h = M.fnv(h, example_bytes(*r))
            hashes.append(h)
        with open(os.path.join(OUT, cname + ".hashes"), "wb") as f:
            f.write(struct.pack("<%dQ" % len(hashes), *hashes))
        summary["corpora"][cname] = {"examples": len(texts), "tokens": sum(len(r[0]) for r in res)}
        print(cname, summary["corpora"][cname], flush=True)
    adv = adversarial()
    with open(os.path.join(OUT, "adversarial.bin"), "wb") as f:
        for b, r in adv:
            f.write(struct.pack("<II", r, len(b)) + b)
    texts = [(b * r).decode("utf-8", errors="replace") for b, r in adv]
    rows = []
    for ids, types, offs, w, sp, d in encode_all(tok, texts):
        if len(ids) > M.FULL_MAX_TOKENS:
            rows.append({"n": len(ids), "hash": "%016x" % M.fnv(M.FNV_OFFSET, example_bytes(ids, types, offs, w, sp, d))})
            continue
        rows.append({"ids": ids, "types": types, "offsets": offs, "word_ids": w, "special": sp, "decoded": d[0],
                     "decoded_skip": d[1], "decoded_clean": d[2]})
    tiny_path = os.path.join(OUT, "tiny", "tokenizer.json")
    tiny_tokenizer().save(tiny_path)
    tiny = T.PreTrainedTokenizerFast(tokenizer_file=tiny_path, unk_token="[UNK]", cls_token="[CLS]",
                                     sep_token="[SEP]", pad_token="[PAD]", mask_token="[MASK]")
    tiny_texts = ["Hello world, it's Wörlds!", "unaffable é e\u0301 日本 HELLO", "[MASK]hello[SEP]", "abcdefghijklmn a",
                  "Hello", ""]
    tiny_rows = []
    for i, t in enumerate(tiny_texts):
        e = tiny(t, tiny_texts[-2 - i] if i < 2 else None, return_offsets_mapping=True, return_special_tokens_mask=True,
                 return_token_type_ids=True)
        tiny_rows.append({"text": t, "pair": tiny_texts[-2 - i] if i < 2 else None, "ids": e["input_ids"],
                          "types": e["token_type_ids"], "offsets": e["offset_mapping"], "word_ids": e.word_ids(),
                          "special": e["special_tokens_mask"],
                          "decoded": tiny.decode(e["input_ids"]),
                          "decoded_skip": tiny.decode(e["input_ids"], skip_special_tokens=True)})
    full = {"adversarial": rows, "stages": stage_references(tok), "cases": cases(tok), "tiny": tiny_rows}
    with open(os.path.join(OUT, "full.json"), "w") as f:
        json.dump(full, f, ensure_ascii=True, separators=(",", ":"))
    with open(os.path.join(OUT, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
