"""Reference generations: greedy generate() of the tiny GPT-2 fixture and the
logits warpers (temperature, top-k, top-p) on fixed logits.

Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_generate_fixtures.py
Writes tests/fixtures/generate/reference.json.
"""
import json
import os

import torch
import transformers as T
from transformers.generation.logits_process import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "generate")


def main():
    os.makedirs(OUT, exist_ok=True)
    # a tiny GPT-2 with room for 32 new tokens (the model fixture has 32 positions)
    torch.manual_seed(21)
    model = T.GPT2LMHeadModel(T.GPT2Config(vocab_size=96, n_positions=64, n_embd=32, n_layer=2, n_head=4,
                                           bos_token_id=95, eos_token_id=95))
    model.eval()
    model.save_pretrained(os.path.join(OUT, "model"))
    g = torch.Generator().manual_seed(11)
    greedy = []
    for n in [1, 3, 7]:
        prompt = torch.randint(0, 95, (1, n), generator=g)
        out = model.generate(prompt, do_sample=False, max_new_tokens=32, eos_token_id=None, pad_token_id=0)
        greedy.append({"prompt": prompt[0].tolist(), "output": out[0].tolist()})
    logits = torch.randn(1, 96, generator=g) * 3
    warps = []
    for temp, k, p in [(1.0, 10, 1.0), (0.7, 0, 0.9), (1.3, 20, 0.8), (1.0, 0, 0.5)]:
        x = logits.clone()
        if temp != 1.0:
            x = TemperatureLogitsWarper(temp)(None, x)
        if k > 0:
            x = TopKLogitsWarper(k)(None, x)
        if p < 1.0:
            x = TopPLogitsWarper(p)(None, x)
        warps.append({"temperature": temp, "top_k": k, "top_p": p,
                      "output": [None if v == float("-inf") else v for v in x[0].tolist()]})
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump({"transformers": T.__version__, "greedy": greedy, "logits": logits[0].tolist(), "warpers": warps}, f)


if __name__ == "__main__":
    main()
