"""Extra GPT-2 references for lmtune's parity test: a left-padded batch
(query rows that see no key at all, which transformers' default sdpa
attention turns into zeros) at the full context length, with logits, loss
and every parameter's gradient, for the tiny model of tests/fixtures/models/gpt2.

Runs after make_model_fixtures.py (setup.sh --fixtures, alphabetical order).
Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_model_gpt2_extra_fixtures.py
Writes tests/fixtures/models/gpt2/reference_leftpad.safetensors.
"""
import os

import torch
import transformers as T
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
D = os.path.join(ROOT, "tests", "fixtures", "models", "gpt2")


def main():
    torch.set_num_threads(1)   # fixed reduction order: byte-identical reruns
    torch.use_deterministic_algorithms(True)
    model = T.GPT2LMHeadModel.from_pretrained(D)
    model.eval()
    g = torch.Generator().manual_seed(7)
    B, L = 3, model.config.n_positions
    ids = torch.randint(0, model.config.vocab_size, (B, L), generator=g)
    mask = torch.ones(B, L, dtype=torch.long)
    mask[1, :5] = 0       # left padding: rows 0..4 of batch 1 see no key
    mask[2, 20:] = 0      # right padding
    ids[mask == 0] = model.config.eos_token_id
    labels = ids.clone()
    labels[mask == 0] = -100
    out = model(input_ids=ids, attention_mask=mask, labels=labels)
    out.loss.backward()
    ref = {"input_ids": ids, "attention_mask": mask, "labels": labels,
           "logits": out.logits.detach().contiguous(), "loss": out.loss.detach().reshape(1)}
    for n, p in model.named_parameters():
        ref["grad." + n] = p.grad.detach().contiguous()
    save_file(ref, os.path.join(D, "reference_leftpad.safetensors"),
              # one metadata key: safetensors writes several in random order
              metadata={"info": f"transformers {T.__version__}; torch {torch.__version__}; "
                                f"attn_implementation {model.config._attn_implementation}"})


if __name__ == "__main__":
    main()
