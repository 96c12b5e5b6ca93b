"""Reference generations of the tiny Marian fixture (tests/fixtures/models/marian):
greedy and beam search through model.generate() on right-padded source batches,
with the logits processors lmtune implements (min_length / min_new_tokens,
no_repeat_ngram_size, forced_bos_token_id, multi-token bad_words_ids,
num_return_sequences, max_new_tokens) and the generation_config defaults.

Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_seq2seq_generate_fixtures.py
Writes tests/fixtures/seq2seq_generate/reference.json: "inputs" holds the source
batches (input_ids, attention_mask), each case names its batch ("input") and
the generate() keyword arguments it was run with; a case with
"defaults": true passes none (generation_config.json and generate()'s defaults).
"""
import json
import os
import re

import torch
import transformers as T

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
MODEL = os.path.join(ROOT, "tests", "fixtures", "models", "marian")
OUT = os.path.join(ROOT, "tests", "fixtures", "seq2seq_generate")

BEAM = {"num_beams": 4, "bad_words_ids": [[95]], "forced_eos_token_id": 0}
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
    # generation_config.json + generate()'s own defaults (max_length 20 + 1)
    {"name": "defaults", "defaults": True},
    # the 16-sentence batch: the translation settings of the notebooks, and greedy
    {"name": "b16_beam4_len32", "input": "b16", "max_length": 32, **BEAM},
    {"name": "b16_beam4_len32_ret2", "input": "b16", "max_length": 32, "num_return_sequences": 2, **BEAM},
    {"name": "b16_greedy_len32", "input": "b16", "num_beams": 1, "max_length": 32},
    # min_length / min_new_tokens with an eos the model emits early
    {"name": "b16_greedy_min12_eos48", "input": "b16", "num_beams": 1, "max_length": 20, "eos_token_id": 48,
     "forced_eos_token_id": 48, "min_length": 12},
    {"name": "b16_beam4_min10_eos48", "input": "b16", "max_length": 20, "num_beams": 4, "bad_words_ids": [[95]],
     "eos_token_id": 48, "forced_eos_token_id": 48, "min_length": 10},
    {"name": "b16_beam4_minnew6_eos30", "input": "b16", "max_length": 20, "num_beams": 4, "bad_words_ids": [[95]],
     "eos_token_id": 30, "forced_eos_token_id": 30, "min_new_tokens": 6, "num_return_sequences": 2},
    # no_repeat_ngram_size
    {"name": "b16_greedy_nrng2", "input": "b16", "num_beams": 1, "max_length": 24, "no_repeat_ngram_size": 2},
    {"name": "b16_greedy_nrng3", "input": "b16", "num_beams": 1, "max_length": 24, "no_repeat_ngram_size": 3},
    {"name": "b16_beam4_nrng2", "input": "b16", "max_length": 24, "no_repeat_ngram_size": 2, **BEAM},
    {"name": "b16_beam4_nrng3", "input": "b16", "max_length": 24, "no_repeat_ngram_size": 3, **BEAM},
    # forced_bos_token_id
    {"name": "b16_greedy_bos7", "input": "b16", "num_beams": 1, "max_length": 16, "forced_bos_token_id": 7},
    {"name": "b16_beam4_bos7", "input": "b16", "max_length": 16, "forced_bos_token_id": 7, **BEAM},
    # multi-token bad words (and a single-token eos ban, which generate() drops)
    {"name": "b16_greedy_badmulti", "input": "b16", "num_beams": 1, "max_length": 20,
     "bad_words_ids": [[66, 66], [30, 30, 48], [0]]},
    {"name": "b16_beam4_badmulti", "input": "b16", "max_length": 20, "num_beams": 4, "forced_eos_token_id": 0,
     "bad_words_ids": [[95], [66, 66], [48, 48, 48], [23, 23]], "num_return_sequences": 2},
    # max_new_tokens with beams
    {"name": "b16_beam4_new10", "input": "b16", "max_new_tokens": 10, **BEAM},
]


def batch(g, lens, pad, eos):
    Ts = max(lens)
    ids = torch.full((len(lens), Ts), pad, dtype=torch.long)
    mask = torch.zeros((len(lens), Ts), dtype=torch.long)
    for i, n in enumerate(lens):
        ids[i, : n - 1] = torch.randint(1, 95, (n - 1,), generator=g)
        ids[i, n - 1] = eos
        mask[i, :n] = 1
    return ids, mask


def main():
    os.makedirs(OUT, exist_ok=True)
    model = T.MarianMTModel.from_pretrained(MODEL)
    model.eval()
    g = torch.Generator().manual_seed(7)
    pad, eos = model.config.pad_token_id, model.config.eos_token_id
    inputs = {"small": batch(g, [7, 4, 10], pad, eos),
              "b16": batch(g, [12, 3, 20, 7, 1, 15, 9, 24, 5, 11, 2, 18, 6, 14, 8, 10], pad, eos)}
    cases = []
    with torch.no_grad():
        for c in CASES:
            kw = {k: v for k, v in c.items() if k not in ("name", "input", "defaults")}
            ids, mask = inputs[c.get("input", "small")]
            out = model.generate(input_ids=ids, attention_mask=mask, do_sample=False, return_dict_in_generate=True,
                                 output_scores=True, **kw)
            rec = dict(c)
            rec["sequences"] = out.sequences.tolist()
            if getattr(out, "sequences_scores", None) is not None:
                rec["sequences_scores"] = out.sequences_scores.tolist()
            cases.append(rec)
    ref = {"transformers": T.__version__, "torch": torch.__version__,
           "early_stopping_default": model.generation_config.early_stopping,
           "inputs": {k: {"input_ids": v[0].tolist(), "attention_mask": v[1].tolist()} for k, v in inputs.items()},
           "cases": cases}
    text = json.dumps(ref, indent=1)
    # one line per token row: the file stays small and readable
    text = re.sub(r"\[\s+(-?\d+(?:\.\d+)?(?:e-?\d+)?(?:,\s+-?\d+(?:\.\d+)?(?:e-?\d+)?)*)\s+\]",
                  lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text)
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
