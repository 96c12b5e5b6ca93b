"""Reference BLEU values from sacrebleu 2.6.0 for tests/test_bleu.c.

Run with /root/.cache/lmtune/ref-venv/bin/python from the repository root.
Hypotheses are deterministic perturbations (word drop / swap / duplicate) of
the first 2,000 KDE fr strings; references are the originals (and, for the
two-reference case, a second perturbation). Also chrF / chrF++ (CHRF) on the same corpora. Writes tests/fixtures/bleu/bleu.json.
"""
import json
import random
import sys
from pathlib import Path

import sacrebleu
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "kde-en-fr" / "kde.jsonl"
OUT = ROOT / "tests" / "fixtures" / "bleu" / "bleu.json"
assert sacrebleu.__version__ == "2.6.0", sacrebleu.__version__


def perturb(s, rng):
    w = s.split()
    out = []
    for t in w:
        r = rng.random()
        if r < 0.12:
            continue
        if r < 0.18:
            out.append(t)
        out.append(t)
    if len(out) > 2 and rng.random() < 0.4:
        i = rng.randrange(len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
    return " ".join(out)


def main():
    refs = []
    with open(DATA, encoding="utf-8") as f:
        for line in f:
            refs.append(json.loads(line)["translation"]["fr"])
            if len(refs) == 2000:
                break
    rng = random.Random(20)
    hyps = [perturb(s, rng) for s in refs]
    refs2 = [perturb(s, rng) for s in refs]
    hyps[7] = ""  # an empty hypothesis
    cases = []
    corpora = {}

    def corpus(lines):
        # each distinct list is stored once; cases name them
        for k, v in corpora.items():
            if v == lines:
                return k
        k = f"c{len(corpora)}"
        corpora[k] = list(lines)
        return k

    def add(name, h, rs, **kw):
        b = BLEU(**kw)
        sc = b.corpus_score(h, rs)
        cases.append({
            "name": name, "hyps": corpus(h), "refs": [corpus(r) for r in rs],
            "smooth": kw.get("smooth_method", "exp"),
            "smooth_value": kw.get("smooth_value"),
            "tokenize": kw.get("tokenize", "13a"),
            "effective_order": kw.get("effective_order", False),
            "max_order": kw.get("max_ngram_order", 4),
            "score": sc.score, "counts": [int(round(c)) for c in sc.counts],
            "totals": [int(round(t)) for t in sc.totals], "bp": sc.bp,
            "precisions": sc.precisions, "sys_len": sc.sys_len, "ref_len": sc.ref_len,
        })

    spec_ref = "This plugin allows you to automatically translate web pages between several languages."
    add("spec1", ["This plugin lets you translate web pages between several languages automatically."], [[spec_ref]])
    add("spec2", ["This This This This"], [[spec_ref]])
    for sm in ["exp", "floor", "add-k", "none"]:
        add(f"kde1_{sm}", hyps, [refs], smooth_method=sm)
        add(f"kde2_{sm}", hyps, [refs, refs2], smooth_method=sm)
    add("kde_floor_0.3", hyps, [refs], smooth_method="floor", smooth_value=0.3)
    add("kde_addk_2", hyps, [refs], smooth_method="add-k", smooth_value=2)
    add("kde_none_tok", hyps, [refs], tokenize="none")
    # variable reference count: None entries are skipped
    refs2n = [None if i % 5 == 0 else r for i, r in enumerate(refs2)]
    add("kde2_with_none", hyps, [refs, refs2n])
    # short segments: zero higher-order matches exercise the smoothing branches
    short_h = ["le chat", "un", "", "chat noir noir", "x y z"]
    short_r = ["le chat noir", "une", "vide", "le chat noir", "a b"]
    for sm in ["exp", "floor", "add-k", "none"]:
        add(f"short_{sm}", short_h, [short_r], smooth_method=sm)
        add(f"short_eff_{sm}", short_h[:1], [short_r[:1]], smooth_method=sm, effective_order=True)
    add("short_order2", short_h, [short_r], max_ngram_order=2)
    add("all_empty", ["", ""], [["a b", "c"]])

    tricky = [
        "Hello, world! It's 3,000.50 dollars - or 1.5-2 euros.",
        "a.b,c 1.2,3 .5 ,6 7. 8, x.. y,, 9-- 10-11 -12 a-b",
        "&quot;quoted&quot; &amp;amp; &lt;tag&gt; &amp;lt; <skipped>gone",
        "line-\nbreak and\nnewline  \t tabs\r\n",
        "«Guillemets» “curly” ‘single’ — em–dash … ellipsis",
        "Ça coûte 12,5 € ; voilà ! Qu'est-ce ? (oui) [non] {peut-être}",
        "naïve café résumé.Über,ñandú.日本語、テスト。中文，标点.",
        "non\u00a0breaking\u2009thin\u3000ideographic\u2028sep\u0085nel\x1cfs end\u00a0",
        "$100 @user #tag %50 ^caret _under `tick` ~tilde |pipe \\back /slash",
        "...,,,..., 1...2 ,.,., 3.,4 5,.6",
        "", "   ", ".", "-", "9-", "'", "\"\"",
        "emoji 😀 test 👍🏽, ok.",
        "x\u0300.y\u0301,z",
    ]
    tok = Tokenizer13a()
    tok_cases = [{"in": t, "out": tok(t.rstrip())} for t in tricky]
    # tricky strings as a corpus against reordered copies of themselves
    t_h = [t for t in tricky]
    t_r = [tricky[(i + 1) % len(tricky)] if i % 3 == 0 else t for i, t in enumerate(tricky)]
    add("tricky", t_h, [t_r])

    chrf_cases = []

    def add_chrf(name, h, rs, **kw):
        sc = CHRF(**kw).corpus_score(h, rs)
        chrf_cases.append({"name": name, "hyps": corpus(h), "refs": [corpus(r) for r in rs],
                           "char_order": kw.get("char_order", 6), "word_order": kw.get("word_order", 0),
                           "beta": kw.get("beta", 2), "whitespace": kw.get("whitespace", False),
                           "eps_smoothing": kw.get("eps_smoothing", False), "score": sc.score})

    add_chrf("spec1", ["This plugin lets you translate web pages between several languages automatically."], [[spec_ref]])
    add_chrf("spec2", ["This This This This"], [[spec_ref]])
    add_chrf("kde1", hyps, [refs])
    add_chrf("kde2", hyps, [refs, refs2])
    add_chrf("kde2_with_none", hyps, [refs, refs2n])
    add_chrf("kde1_chrf++", hyps, [refs], word_order=2)
    add_chrf("kde2_chrf++_eps", hyps, [refs, refs2], word_order=2, eps_smoothing=True)
    add_chrf("kde1_ws_beta3", hyps, [refs], whitespace=True, beta=3)
    add_chrf("kde1_order3", hyps, [refs], char_order=3, beta=1)
    add_chrf("short", short_h, [short_r])
    add_chrf("short_eps", short_h, [short_r], eps_smoothing=True)
    add_chrf("all_empty", ["", ""], [["a b", "c"]])
    add_chrf("tricky", t_h, [t_r], word_order=2)
    add_chrf("tricky_ws", t_h, [t_r], whitespace=True)

    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"sacrebleu": sacrebleu.__version__, "tokenize_13a": tok_cases,
                   "corpora": corpora, "cases": cases, "chrf_cases": chrf_cases},
                  f, ensure_ascii=False, separators=(",", ":"))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(cases)} cases)", file=sys.stderr)


if __name__ == "__main__":
    main()
