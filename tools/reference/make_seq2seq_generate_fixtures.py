"""Reference generations of the tiny Marian fixture (tests/fixtures/models/marian):
greedy and beam search through model.generate() on a right-padded source batch.

Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_seq2seq_generate_fixtures.py
Writes tests/fixtures/seq2seq_generate/reference.json.
"""
import json
import os

import torch
import transformers as T

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
MODEL = os.path.join(ROOT, "tests", "fixtures", "models", "marian")
OUT = os.path.join(ROOT, "tests", "fixtures", "seq2seq_generate")

CASES = [
    {"name": "greedy", "num_beams": 1, "max_length": 16},
    {"name": "greedy_new8", "num_beams": 1, "max_new_tokens": 8},
    {"name": "beam4", "num_beams": 4, "max_length": 16, "bad_words_ids": [[95]], "forced_eos_token_id": 0,
     "length_penalty": 1.0},
    {"name": "beam4_ret2", "num_beams": 4, "max_length": 16, "bad_words_ids": [[95]], "forced_eos_token_id": 0,
     "length_penalty": 1.0, "num_return_sequences": 2},
    {"name": "beam3_lp_es", "num_beams": 3, "max_length": 12, "bad_words_ids": [[95]], "forced_eos_token_id": 0,
     "length_penalty": 0.6, "early_stopping": True, "num_return_sequences": 3},
    {"name": "beam4_len32", "num_beams": 4, "max_length": 32, "bad_words_ids": [[95]], "forced_eos_token_id": 0},
    # eos set to tokens this model produces often, so hypotheses end at different lengths
    {"name": "greedy_eos48", "num_beams": 1, "max_length": 16, "eos_token_id": 48, "forced_eos_token_id": 48},
    {"name": "beam4_eos30", "num_beams": 4, "max_length": 16, "bad_words_ids": [[95]], "eos_token_id": 30,
     "forced_eos_token_id": 30, "num_return_sequences": 4},
    {"name": "beam4_eos48_lp2", "num_beams": 4, "max_length": 16, "bad_words_ids": [[95]], "eos_token_id": 48,
     "forced_eos_token_id": 48, "length_penalty": 2.0, "num_return_sequences": 2},
]


def main():
    os.makedirs(OUT, exist_ok=True)
    model = T.MarianMTModel.from_pretrained(MODEL)
    model.eval()
    g = torch.Generator().manual_seed(7)
    pad, eos = model.config.pad_token_id, model.config.eos_token_id
    lens = [7, 4, 10]
    Ts = max(lens)
    ids = torch.full((len(lens), Ts), pad, dtype=torch.long)
    mask = torch.zeros((len(lens), Ts), dtype=torch.long)
    for i, n in enumerate(lens):
        ids[i, : n - 1] = torch.randint(1, 95, (n - 1,), generator=g)
        ids[i, n - 1] = eos
        mask[i, :n] = 1
    cases = []
    with torch.no_grad():
        for c in CASES:
            kw = {k: v for k, v in c.items() if k != "name"}
            out = model.generate(input_ids=ids, attention_mask=mask, do_sample=False, return_dict_in_generate=True,
                                 output_scores=True, **kw)
            rec = dict(c)
            rec["sequences"] = out.sequences.tolist()
            if getattr(out, "sequences_scores", None) is not None:
                rec["sequences_scores"] = out.sequences_scores.tolist()
            cases.append(rec)
    ref = {"transformers": T.__version__, "torch": torch.__version__,
           "early_stopping_default": model.generation_config.early_stopping,
           "input_ids": ids.tolist(), "attention_mask": mask.tolist(), "cases": cases}
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)


if __name__ == "__main__":
    main()
