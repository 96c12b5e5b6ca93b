"""Reference outputs of transformers' fill-mask pipeline on a tiny BERT.

Builds tests/fixtures/models/bert-fillmask/: the tiny BERT fixture's weights
(saved by transformers: config.json + model.safetensors) with a 96-token
WordPiece vocabulary (vocab.txt + tokenizer_config.json, do_lower_case), then
runs pipeline("fill-mask", top_k=3) on sentences with one or two [MASK]s and
writes what it returns (score, token, token_str, sequence) to
tests/fixtures/models/bert-fillmask/pipeline.json.

VOCAB is shared with make_mlm_trainer_fixtures.py (its collator's tokenizer).

Run: /root/.cache/lmtune/ref-venv/bin/python tools/reference/make_fill_mask_pipeline_fixtures.py
"""
import json
import os

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ("the a an of and to in on at is was it he she they we you i this that "
         "cat dog bird fish man woman child king queen city park house car road tree "
         "sat ran saw ate went came made said took gave "
         "big small red blue green old new good bad happy "
         "day night time year world home water food book music "
         "with for from by as but or not all very "
         ". , ! ? ' - ( ) "
         "##s ##ed ##ing ##er ##ly play walk talk").split()
VOCAB = SPECIALS + WORDS
assert len(VOCAB) == 96 and len(set(VOCAB)) == 96, len(VOCAB)

SENTENCES = [
    "The cat sat on the [MASK].",
    "A happy dog [MASK] in the park, and the bird play##ed.",
    "She said the [MASK] king saw a [MASK] tree!",
]

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")


def write_vocab(d):
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        f.write("\n".join(VOCAB) + "\n")


def main():
    import torch
    import transformers
    from transformers import BertForMaskedLM, pipeline

    out = os.path.join(ROOT, "tests", "fixtures", "models", "bert-fillmask")
    os.makedirs(out, exist_ok=True)
    model = BertForMaskedLM.from_pretrained(os.path.join(ROOT, "tests", "fixtures", "models", "bert"))
    model.save_pretrained(out)
    write_vocab(out)
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "BertTokenizer", "do_lower_case": True, "tokenize_chinese_chars": True,
                   "strip_accents": None, "clean_up_tokenization_spaces": False, "model_max_length": 32,
                   "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
                   "mask_token": "[MASK]"}, f, indent=1)
    fill = pipeline("fill-mask", model=out, top_k=3, device="cpu")
    cases = []
    for s in SENTENCES:
        res = fill(s)
        ids = fill.tokenizer(s)["input_ids"]
        if res and isinstance(res[0], dict):
            res = [res]
        # ties or near-ties would make the expected order fragile
        with torch.no_grad():
            logits = fill.model(torch.tensor([ids])).logits[0]
        for p in [i for i, t in enumerate(ids) if t == fill.tokenizer.mask_token_id]:
            probs = logits[p].softmax(-1).sort(descending=True).values
            gap = min(float(probs[i] - probs[i + 1]) for i in range(3))
            assert gap > 1e-5, (s, gap)
        cases.append({"text": s, "input_ids": ids,
                      "results": [[{"score": r["score"], "token": r["token"], "token_str": r["token_str"],
                                    "sequence": r["sequence"]} for r in row] for row in res]})
    with open(os.path.join(out, "pipeline.json"), "w") as f:
        json.dump({"transformers": transformers.__version__, "top_k": 3, "cases": cases}, f, indent=1,
                  ensure_ascii=False)
    print(json.dumps(cases, indent=1))


if __name__ == "__main__":
    main()
