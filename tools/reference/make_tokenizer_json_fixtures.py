"""Reference values for the general tokenizer.json pipeline (tests/test_tok_json.c,
tests/test_tok_json_stages.c).

    ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_tokenizer_json_fixtures.py

Writes tests/fixtures/tokenizers_json/:
  <model>.json   for each folder of ../shared/data/llama-family/: full values
                 (ids, offsets, word ids, special mask, decode with and without
                 skip_special_tokens) for the adversarial set (as
                 make_tokenizer_fixtures.py's) and a deterministic sample of
                 WikiText lines (every 50th line of each split, without the decodes, which the block hashes cover); an FNV-1a hash
                 per block of 32 lines of both full WikiText-2 splits (the
                 canonical bytes of make_tokenizer_fixtures.example_bytes).
  synth/<name>/tokenizer.json, synth/<name>.json
                 small tokenizers trained here with `tokenizers` on WikiText-2
                 validation, one per pipeline shape the real files do not
                 cover (Unigram + Metaspace, WordPiece with NFD/Lowercase/
                 StripAccents and Punctuation/Digits, BPE with
                 end_of_word_suffix/continuing_subword_prefix + BPEDecoder,
                 Gemma-style BPE without pre-tokenizer whose tokens hold
                 U+2581 inside, Llama-3-style ignore_merges, T5-style Precompiled
                 + Unigram whose charsmap is stored as "@spm:PATH"; and, made from
                 those files, Unigram with byte_fallback and BPE with an unk token,
                 fused or not: `--derived` writes only these), saved as
                 tokenizer.json, with full rows for the adversarial set and
                 every 50th WikiText-2 test line (`--synth` writes only these)
  specials.json  per folder (also SmolLM2-135M-Instruct): len(tokenizer) and
                 the bos/eos/unk/pad ids as transformers' AutoTokenizer has them
                 (-1 for None); `--specials` writes only this file.
  (`--stages` writes only stages.json)
  stages.json    per-stage references: normalize_str / pre_tokenize_str /
                 decoder.decode outputs of each stage type, built with
                 `tokenizers` from the JSON spec the test also parses.
The tokenizer.json folders load with tokenizers.Tokenizer.from_file (what
lmt_tokenizer_load_file follows) and, under "auto", with transformers'
AutoTokenizer's backend (adversarial set, block hashes, pairs: what
lmt_tokenizer_load follows; transformers 5 rebuilds the pipeline of a
LlamaTokenizer / GPT2Tokenizer class);
Qwen2.5 (vocab.json + merges.txt) with transformers' AutoTokenizer (its
backend Tokenizer then encodes). tokenizers 0.23.3, transformers 5.23.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_tokenizer_fixtures as base  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

ROOT = base.ROOT
FAM = os.path.join(base.SHARED, "llama-family")
OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizers_json")
MODELS = ["SmolLM2-135M", "TinyLlama-1.1B-Chat-v1.0", "Llama-3.2-1B-Instruct", "Mistral-7B-v0.1", "Qwen2.5-0.5B-Instruct"]
BLOCK = 32
SAMPLE_EVERY = 50
FULL_MAX_TOKENS = 400

EXTRA = [
    "<|begin_of_text|>Hello<|eot_id|> <|start_header_id|>user<|end_header_id|>\n\nHi",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\n2+2=?<|im_end|>",
    "<s>[INST] Hi [/INST] Hello</s> <unk>",
    "Numbers 0123456789 12345678901234567890 ٣٤٥ 1.5e-10",
    "HELLO'S it'S WE'LL They'RE",
    "café naïve Ångström ﬃ ｆｕｌｌｗｉｄｔｈ",
    "🤗🤗🤗 \U0001F600\U0001F601 ✓✗ ©®™",
    "  two spaces, then\ttab\n\n\nthree newlines\r\n",
    "I live in New York, new york and NEW YORK; hello world, Hello World! fix ﬁx ﬁxed <tool_call>  x <tool_call>y",
]


def load(name):
    d = os.path.join(FAM, name)
    tj = os.path.join(d, "tokenizer.json")
    if os.path.exists(tj):
        return Tokenizer.from_file(tj)
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(d)._tokenizer


def row(tok, text):
    e = tok.encode(text)
    dec = [tok.decode(e.ids, skip_special_tokens=False), tok.decode(e.ids, skip_special_tokens=True)]
    return e.ids, e.offsets, e.word_ids, e.special_tokens_mask, dec


PAIRS = [
    ("Hello world", "How are you?"),
    (" = Valkyria Chronicles III = \n", "The game's battle system, the BliTZ system, is carried over"),
    ("<|im_start|>user\nHi<|im_end|>", "<s>[INST] Hi [/INST]"),
    ("日本語のテキスト", "café e\u0301 ﬁ 12345"),
    ("", "only the second"),
    ("x " * 40, "y " * 30),
]


def blocks(tok, wiki):
    out = {}
    for split, lines in wiki.items():
        encs = tok.encode_batch(lines)
        hashes = []
        h = base.FNV_OFFSET
        for i, e in enumerate(encs):
            dec = [tok.decode(e.ids, skip_special_tokens=False), tok.decode(e.ids, skip_special_tokens=True)]
            h = base.fnv(h, base.example_bytes(e.ids, e.offsets, e.word_ids, e.special_tokens_mask, dec))
            if (i + 1) % BLOCK == 0 or i + 1 == len(encs):
                hashes.append("%016x" % h)
                h = base.FNV_OFFSET
        out[split] = hashes
    return out


def pair_rows(tok, pad_id):
    """Pairs plain, then truncated (longest_first, 12) and padded to 12 with pad_id on the right."""
    rows = []
    for trunc in (False, True):
        if trunc:
            tok.enable_truncation(12, strategy="longest_first")
            tok.enable_padding(pad_id=pad_id, pad_token="?", length=12)
        for a, b in PAIRS:
            e = tok.encode(a, b)
            rows.append({"ids": e.ids, "type_ids": e.type_ids, "offsets": [list(o) for o in e.offsets],
                         "words": [-1 if x is None else x for x in e.word_ids], "special": e.special_tokens_mask,
                         "seq": [-1 if x is None else x for x in e.sequence_ids], "mask": e.attention_mask})
        if trunc:
            tok.no_truncation()
            tok.no_padding()
    return rows


def full(tok, texts, decodes=True):
    rows = []
    for t in texts:
        ids, offs, w, sp, dec = row(tok, t)
        if len(ids) > FULL_MAX_TOKENS:
            h = base.fnv(base.FNV_OFFSET, base.example_bytes(ids, offs, w, sp, dec))
            rows.append({"n": len(ids), "hash": "%016x" % h})
        else:
            r = {"ids": ids, "offsets": [list(o) for o in offs], "words": [-1 if x is None else x for x in w], "special": sp}
            if decodes:
                r["decode"] = dec
            rows.append(r)
    return rows


def stage_specs():
    cases = {"normalizer": [], "pre_tokenizer": [], "decoder": []}
    texts = ["Hello  World! café e\u0301 ﬁ Ⅻ", "  Héllo\tthere\n\nÅngström 12345 x ", "中文字符 CJK, don't STOP.",
             "", "ǅ ᾈ İ ß ÀÉÎ", "a-b_c...d 3.14 😀x",
             "¿Qué? «quoted» — dash… 1,000.5% (x) [y]!!", "It's THE'S 'S ok  \n  \nWE'LL 'Ll"]
    norms = [
        {"type": "NFC"}, {"type": "NFD"}, {"type": "NFKC"}, {"type": "NFKD"}, {"type": "Lowercase"},
        {"type": "Strip", "strip_left": True, "strip_right": True},
        {"type": "Strip", "strip_left": False, "strip_right": True},
        {"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "StripAccents"}]},
        {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
        {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": "_"},
        {"type": "Prepend", "prepend": "\u2581"},
        {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
        {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
                                             {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        # checklist gaps (issue 15 item 1): BertNormalizer options, Strip left only, Replace by a class
        {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": True, "lowercase": False},
        {"type": "BertNormalizer", "clean_text": False, "handle_chinese_chars": False, "strip_accents": False, "lowercase": True},
        {"type": "Strip", "strip_left": True, "strip_right": False},
        {"type": "Replace", "pattern": {"Regex": "[0-9]+"}, "content": "#"},
        {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}, {"type": "Strip", "strip_left": True, "strip_right": True}]},
    ]
    pres = [
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": False},
        {"type": "Whitespace"}, {"type": "WhitespaceSplit"},
        {"type": "Punctuation", "behavior": "Isolated"},
        {"type": "Punctuation", "behavior": "Contiguous"},
        {"type": "Digits", "individual_digits": True}, {"type": "Digits", "individual_digits": False},
        {"type": "BertPreTokenizer"},
        {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False},
        {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "never", "split": True},
        # checklist gaps: the other Punctuation behaviors, ByteLevel's other flags,
        # Split with a case-insensitive group and a lookahead, String + invert,
        # a Sequence of character splitters, Metaspace's own replacement
        {"type": "Punctuation", "behavior": "Removed"},
        {"type": "Punctuation", "behavior": "MergedWithPrevious"},
        {"type": "Punctuation", "behavior": "MergedWithNext"},
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        {"type": "Split", "pattern": {"Regex": "(?i:'s|'ll)|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": False},
        {"type": "Split", "pattern": {"Regex": "(?i:'s|'ll)|\\s+(?!\\S)|\\s+"}, "behavior": "Removed", "invert": False},
        {"type": "Split", "pattern": {"String": "l"}, "behavior": "Isolated", "invert": True},
        {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, {"type": "Digits", "individual_digits": True},
                                               {"type": "Punctuation", "behavior": "Isolated"}]},
        {"type": "Metaspace", "replacement": "_", "prepend_scheme": "always", "split": True},
    ]
    for b in ["Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"]:
        for inv in [False, True]:
            pres.append({"type": "Split", "pattern": {"Regex": "\\s+|\\p{N}"}, "behavior": b, "invert": inv})
        pres.append({"type": "Split", "pattern": {"String": "l"}, "behavior": b, "invert": False})
    pres.append({"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": base_llama3()},
                                                        "behavior": "Isolated", "invert": False},
                                                       {"type": "ByteLevel", "add_prefix_space": False,
                                                        "trim_offsets": True, "use_regex": False}]})
    wl = {"type": "WordLevel", "vocab": {"[UNK]": 0}, "unk_token": "[UNK]"}
    for n in norms:
        t = Tokenizer.from_str(json.dumps({"version": "1.0", "model": wl, "normalizer": n}))
        cases["normalizer"].append({"spec": n, "cases": [[x, t.normalizer.normalize_str(x)] for x in texts]})
    # Precompiled with a real SentencePiece charsmap (Marian's source.spm; the
    # test reads it from there: "@spm:" + path under ../shared/data/tokenizers)
    import base64
    spm = "opus-mt-tc-big-en-pt/source.spm"
    cm = base64.b64encode(spm_charsmap(os.path.join(base.SHARED, "tokenizers", spm))).decode()
    t = Tokenizer.from_str(json.dumps({"version": "1.0", "model": wl, "normalizer": {"type": "Precompiled", "precompiled_charsmap": cm}}))
    ptexts = texts + ["ﬁ café e\u0301 ﬀ", "Ⅻ ½ ｆｕｌｌ", "a\u0301b\u0308", "\u3000x\u00a0y", "한국어 ᄒ\u1161\u11ab",
                      "👨\u200d👩\u200d👧 🇫🇷🇯🇵", "\x00\x01 tab\tnl\n", "ｱｲｳ ｶﾞ ㌀ ℡"]
    cases["normalizer"].append({"spec": {"type": "Precompiled", "precompiled_charsmap": "@spm:" + spm},
                                "cases": [[x, t.normalizer.normalize_str(x)] for x in ptexts]})
    for p in pres:
        t = Tokenizer.from_str(json.dumps({"version": "1.0", "model": wl, "pre_tokenizer": p}))
        cases["pre_tokenizer"].append({"spec": p, "cases": [[x, [[s, list(o)] for s, o in t.pre_tokenizer.pre_tokenize_str(x)]] for x in texts]})
    decs = [
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 1},
        {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
        {"type": "WordPiece", "prefix": "##", "cleanup": True},
        {"type": "BPEDecoder", "suffix": "</w>"},
        {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                                          {"type": "ByteFallback"}, {"type": "Fuse"},
                                          {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        # checklist gaps: Metaspace without a prepended space, WordPiece without
        # cleanup, Strip from the end only, BPEDecoder's default suffix
        {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "never", "split": True},
        {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False},
        {"type": "WordPiece", "prefix": "##", "cleanup": False},
        {"type": "Strip", "content": "d", "start": 0, "stop": 2},
        {"type": "BPEDecoder", "suffix": "</w>"},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
    ]
    toks = [["\u2581Hello", "\u2581wor", "ld", "<0xE2>", "<0x96>", "<0x81>", "<0xFF>", "!"],
            ["ĠHello", "Ġw", "orld", "Ċ", "Ã©"], ["hel", "##lo", "wor", "##ld", " .", "do", "n't"],
            ["hello</w>", "wor", "ld</w>", " x "], [], ["\u2581\u2581a", "##b", "l", "ll", " , ", "!"]]
    for d in decs:
        t = Tokenizer.from_str(json.dumps({"version": "1.0", "model": wl, "decoder": d}))
        cases["decoder"].append({"spec": d, "cases": [[x, t.decoder.decode(x)] for x in toks]})
    return cases


def _varint(b, i):
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7f) << s
        s += 7
        if c < 0x80:
            return r, i


def _fields(b):
    i = 0
    while i < len(b):
        k, i = _varint(b, i)
        f, wt = k >> 3, k & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            v = b[i:i + n]
            i += n
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        else:
            raise ValueError(wt)
        yield f, wt, v


def spm_charsmap(path):
    """ModelProto.normalizer_spec (3).precompiled_charsmap (2), without protobuf."""
    for f, wt, v in _fields(open(path, "rb").read()):
        if f == 3 and wt == 2:
            for f2, wt2, v2 in _fields(v):
                if f2 == 2 and wt2 == 2:
                    return bytes(v2)
    return b""


def base_llama3():
    j = json.load(open(os.path.join(FAM, "Llama-3.2-1B-Instruct", "tokenizer.json"), encoding="utf-8"))
    return j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"]


def specials():
    from transformers import AutoTokenizer
    res = {}
    for name in sorted(os.listdir(FAM)):
        d = os.path.join(FAM, name)
        if not os.path.isdir(d):
            continue
        t = AutoTokenizer.from_pretrained(d)
        ids = [t.bos_token_id, t.eos_token_id, t.unk_token_id, t.pad_token_id]
        res[name] = {"len": len(t), "bos_eos_unk_pad": [-1 if x is None else x for x in ids]}
    with open(os.path.join(OUT, "specials.json"), "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1)


def synth_tokenizers():
    from tokenizers import AddedToken, Regex, decoders, models, normalizers, pre_tokenizers, processors, trainers
    train = base.wikitext_lines("wiki.valid.raw")
    out = {}
    # Unigram + Metaspace (T5/ALBERT-like), NFKC
    t = Tokenizer(models.Unigram())
    t.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    t.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    t.train_from_iterator(train, trainers.UnigramTrainer(vocab_size=1500, special_tokens=["<unk>", "<s>", "</s>"], unk_token="<unk>"))
    t.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B:1 </s>:1",
                                                     special_tokens=[("</s>", t.token_to_id("</s>"))])
    t.add_tokens([AddedToken("ﬁx", normalized=True, single_word=True)])
    out["unigram_metaspace"] = t
    # WordPiece with its own normalizer / pre-tokenizer sequence
    t = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=30))
    t.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.Lowercase(), normalizers.StripAccents(), normalizers.Strip()])
    t.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(),
                                               pre_tokenizers.Digits(individual_digits=False)])
    t.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    t.train_from_iterator(train, trainers.WordPieceTrainer(vocab_size=1500, special_tokens=["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]))
    t.post_processor = processors.BertProcessing(("[SEP]", t.token_to_id("[SEP]")), ("[CLS]", t.token_to_id("[CLS]")))
    t.add_tokens([AddedToken("New York", normalized=True, lstrip=True)])
    out["wordpiece_custom"] = t
    # BPE with subword prefix / end-of-word suffix
    t = Tokenizer(models.BPE(unk_token="<unk>", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    t.normalizer = normalizers.Sequence([normalizers.Lowercase(), normalizers.Strip()])
    t.pre_tokenizer = pre_tokenizers.Whitespace()
    t.decoder = decoders.BPEDecoder(suffix="</w>")
    t.train_from_iterator(train, trainers.BpeTrainer(vocab_size=1500, special_tokens=["<unk>"], continuing_subword_prefix="##",
                                                     end_of_word_suffix="</w>"))
    out["bpe_suffix"] = t
    # Gemma-style: no pre-tokenizer, spaces as U+2581, byte fallback, tokens across U+2581
    t = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    t.normalizer = normalizers.Replace(" ", "\u2581")
    t.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()])
    t.train_from_iterator(train[:1500], trainers.BpeTrainer(vocab_size=1200, special_tokens=["<unk>", "<bos>", "<eos>"] +
                                                            ["<0x%02X>" % b for b in range(256)], max_token_length=8))
    t.add_special_tokens([AddedToken("<start_of_turn>", special=True), AddedToken("<end_of_turn>", special=True)])
    t.post_processor = processors.TemplateProcessing(single="<bos> $A", pair="<bos> $A $B",
                                                     special_tokens=[("<bos>", t.token_to_id("<bos>"))])
    t.add_tokens([AddedToken("hello world", normalized=True)])
    out["gemma_style"] = t
    # Llama-3-style: Split regex + ByteLevel, ignore_merges
    t = Tokenizer(models.BPE(ignore_merges=True))
    j = json.load(open(os.path.join(FAM, "Llama-3.2-1B-Instruct", "tokenizer.json"), encoding="utf-8"))
    t.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(base_llama3()), behavior="isolated"),
                                               pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    t.decoder = decoders.ByteLevel()
    t.train_from_iterator(train, trainers.BpeTrainer(vocab_size=1500, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                     special_tokens=["<|begin_of_text|>", "<|eot_id|>"]))
    t.post_processor = processors.Sequence([processors.ByteLevel(trim_offsets=False),
                                            processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|>:1 $B:1",
                                                                          special_tokens=[("<|begin_of_text|>", t.token_to_id("<|begin_of_text|>"))])])
    del j
    t.add_tokens([AddedToken("<tool_call>", normalized=True, rstrip=True)])
    out["llama3_style"] = t
    # T5/ALBERT-style: SentencePiece's Precompiled charsmap (Marian's) + Metaspace + Unigram;
    # saved with "@spm:PATH" for the charsmap (the test puts it back: 300 kB of base64)
    import base64
    spm = "opus-mt-tc-big-en-pt/source.spm"
    cm = spm_charsmap(os.path.join(base.SHARED, "tokenizers", spm))
    t = Tokenizer(models.Unigram())
    t.normalizer = normalizers.Sequence([normalizers.Precompiled(cm), normalizers.Replace(Regex(" {2,}"), " ")])
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    t.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    t.train_from_iterator(train, trainers.UnigramTrainer(vocab_size=1200, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>"))
    t.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", t.token_to_id("</s>"))])
    out["t5_precompiled"] = t
    write_synth(out, cm, spm)


def derived_tokenizers():
    """Model options the trained ones leave out, made from their saved files
    without training: Unigram with byte_fallback (unigram_metaspace without
    its non-ASCII pieces, plus the 256 <0xXX> pieces), BPE with an unk token
    and neither byte_fallback nor fuse_unk, and with fuse_unk alone
    (gemma_style's vocabulary and merges)."""
    def saved(name):
        with open(os.path.join(OUT, "synth", name, "tokenizer.json"), encoding="utf-8") as f:
            return json.load(f)
    out = {}
    j = saved("unigram_metaspace")
    m = j["model"]
    keep = [p for p in m["vocab"] if all(ord(c) < 128 or c == "\u2581" for c in p[0])]
    unk = m["vocab"][m["unk_id"]][0]
    m["vocab"] = keep + [["<0x%02X>" % b, 0.0] for b in range(256)]
    m["unk_id"] = [p[0] for p in m["vocab"]].index(unk)
    m["byte_fallback"] = True
    out["unigram_bytefallback"] = Tokenizer.from_str(json.dumps(j))
    for name, fuse in (("bpe_unk", False), ("bpe_unk_fused", True)):
        j = saved("gemma_style")
        j["model"]["byte_fallback"] = False
        j["model"]["fuse_unk"] = fuse
        out[name] = Tokenizer.from_str(json.dumps(j))
    write_synth(out)


def write_synth(out, cm=None, spm=None):
    import base64
    adv = [t for t in base.adversarial_texts()] + EXTRA
    test = base.wikitext_lines("wiki.test.raw")[::SAMPLE_EVERY]
    for name, tok in out.items():
        d = os.path.join(OUT, "synth", name)
        os.makedirs(d, exist_ok=True)
        tok.save(os.path.join(d, "tokenizer.json"))
        tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        if name == "t5_precompiled":
            text = open(os.path.join(d, "tokenizer.json"), encoding="utf-8").read()
            b64 = base64.b64encode(cm).decode()
            assert text.count(b64) == 1
            with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
                f.write(text.replace(b64, "@spm:" + spm))
        res = {"adversarial": full(tok, adv), "wiki.test": full(tok, test, decodes=False)}
        with open(os.path.join(OUT, "synth", name + ".json"), "w", encoding="utf-8") as f:
            json.dump(res, f, ensure_ascii=False, separators=(",", ":"))
        print(name, "done", flush=True)


def main():
    os.makedirs(OUT, exist_ok=True)
    if "--synth" in sys.argv:
        synth_tokenizers()
        derived_tokenizers()
        return
    if "--derived" in sys.argv:   # only the ones made from the synth files
        derived_tokenizers()
        return
    if "--stages" in sys.argv:   # stages.json only
        with open(os.path.join(OUT, "stages.json"), "w", encoding="utf-8") as f:
            json.dump(stage_specs(), f, ensure_ascii=False, indent=1)
        return
    specials()
    if "--specials" in sys.argv:
        return
    synth_tokenizers()
    derived_tokenizers()
    adv = [t for t in base.adversarial_texts()] + EXTRA
    wiki = {k: base.wikitext_lines(k + ".raw") for k in ["wiki.valid", "wiki.test"]}
    for name in MODELS:
        tok = load(name)
        from transformers import AutoTokenizer
        at = AutoTokenizer.from_pretrained(os.path.join(FAM, name))
        pad_id = at.pad_token_id if at.pad_token_id is not None else at.eos_token_id
        res = {"model": name, "block": BLOCK, "adversarial": full(tok, adv), "blocks": blocks(tok, wiki), "sample": {},
               "pad_id": pad_id, "pairs": pair_rows(tok, pad_id)}
        for split, lines in wiki.items():
            res["sample"][split] = full(tok, lines[::SAMPLE_EVERY], decodes=False)
        if os.path.exists(os.path.join(FAM, name, "tokenizer.json")):
            # what lmt_tokenizer_load follows: AutoTokenizer's backend (transformers 5
            # rebuilds the pipeline of LlamaTokenizer / GPT2Tokenizer classes)
            bt = at._tokenizer
            res["auto"] = {"adversarial": full(bt, adv), "blocks": blocks(bt, wiki), "pairs": pair_rows(bt, pad_id)}
        with open(os.path.join(OUT, name + ".json"), "w", encoding="utf-8") as f:
            json.dump(res, f, ensure_ascii=False, separators=(",", ":"))
        print(name, "done", flush=True)
    with open(os.path.join(OUT, "adversarial_extra.json"), "w", encoding="utf-8") as f:
        json.dump(EXTRA, f, ensure_ascii=False, indent=1)
    with open(os.path.join(OUT, "stages.json"), "w", encoding="utf-8") as f:
        json.dump(stage_specs(), f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
