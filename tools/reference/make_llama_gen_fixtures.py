"""Reference files for lmtune's Llama checkpoint-file and generation tests
(tests/test_llama_files.c, tests/test_llama_generate.c).

Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_llama_gen_fixtures.py
Writes tests/fixtures/llama-gen/:
  fp32-sharded/    a tiny LlamaForCausalLM (GQA, untied lm_head) saved by
                   save_pretrained(max_shard_size="50KB"): model.safetensors.index.json
                   + model-0000N-of-0000M.safetensors; generation_config.json
                   with a list of eos_token_id
  bf16/            the same model cast to bfloat16, one model.safetensors
  fp16-sharded/    cast to float16, save_pretrained(max_shard_size="30KB")
  bf16-resharded/  bf16/ loaded by from_pretrained (dtype "auto": bfloat16)
                   and saved with max_shard_size="30KB": the files lmtune must
                   write for the same request
  reference.json   logits (float32 from_pretrained of each folder) for fixed
                   ids; generate() outputs: greedy on a left-padded batch, the
                   generation config's several EOS ids, repetition_penalty,
                   no_repeat_ngram_size; the logits processors (repetition
                   penalty, no-repeat-ngram, temperature, top-k, top-p, min-p)
                   applied in generate()'s order to fixed logits, the scores
                   after each one
Deterministic: a re-run rewrites the same bytes.
"""
import json
import os
import shutil

import torch
import transformers as T
from transformers.generation.logits_process import (MinPLogitsWarper, NoRepeatNGramLogitsProcessor,
                                                    RepetitionPenaltyLogitsProcessor, TemperatureLogitsWarper,
                                                    TopKLogitsWarper, TopPLogitsWarper)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "llama-gen")
V = 128
PAD = 1


def make_model():
    torch.manual_seed(2024)
    cfg = T.LlamaConfig(vocab_size=V, hidden_size=48, intermediate_size=80, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=64,
                        rms_norm_eps=1e-6, tie_word_embeddings=False, pad_token_id=PAD, bos_token_id=2,
                        eos_token_id=3)
    m = T.LlamaForCausalLM(cfg)
    g = torch.Generator().manual_seed(77)
    with torch.no_grad():
        for n, p in m.named_parameters():
            if "norm" in n:
                p.copy_(1.0 + torch.randn(p.shape, generator=g) * 0.1)
            else:   # larger weights: confident, varied greedy choices
                p.mul_(4.0)
    return m.eval()


def padded(prompts):
    L = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), L), PAD, dtype=torch.long)
    mask = torch.zeros((len(prompts), L), dtype=torch.long)
    for i, p in enumerate(prompts):
        ids[i, L - len(p):] = torch.tensor(p)
        mask[i, L - len(p):] = 1
    return ids, mask


def gen(m, prompts, **kw):
    ids, mask = padded(prompts)
    with torch.no_grad():
        out = m.generate(input_ids=ids, attention_mask=mask, do_sample=False, pad_token_id=PAD, **kw)
    return out.tolist()


def processors(logits, ids, mask, c):
    """generate()'s order: repetition penalty, no-repeat-ngram, then the warpers."""
    steps = []
    x = logits.clone()
    pads = (mask != 0).int().argmax(dim=1)
    if c.get("repetition_penalty", 1.0) != 1.0:
        x = RepetitionPenaltyLogitsProcessor(c["repetition_penalty"], prompt_ignore_length=pads)(ids, x); steps.append(x)
    if c.get("no_repeat_ngram_size", 0) > 0:
        x = NoRepeatNGramLogitsProcessor(c["no_repeat_ngram_size"])(ids, x); steps.append(x)
    if c.get("temperature", 1.0) != 1.0:
        x = TemperatureLogitsWarper(c["temperature"])(ids, x); steps.append(x)
    if c.get("top_k", 0) != 0:
        x = TopKLogitsWarper(c["top_k"])(ids, x); steps.append(x)
    if c.get("top_p", 1.0) < 1.0:
        x = TopPLogitsWarper(c["top_p"])(ids, x); steps.append(x)
    if c.get("min_p") is not None:
        x = MinPLogitsWarper(c["min_p"])(ids, x); steps.append(x)
    enc = lambda t: [[None if v == float("-inf") else v for v in row] for row in t.tolist()]
    return {"params": c, "steps": [enc(s) for s in steps]}


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    torch.use_deterministic_algorithms(True)
    m = make_model()
    g = torch.Generator().manual_seed(5)
    prompts = [torch.randint(4, V, (n,), generator=g).tolist() for n in (7, 4, 2)]
    ref = {"transformers": T.__version__, "torch": torch.__version__, "pad_token_id": PAD, "prompts": prompts}
    free = gen(m, prompts, max_new_tokens=12, eos_token_id=None)
    ref["greedy"] = {"max_new_tokens": 12, "output": free}
    # the generation config's EOS list: tokens rows 0 and 1 produce at their 4th and 6th steps
    L = len(prompts[0])
    eos = [3, free[0][L + 3], free[1][L + 5]]
    m.generation_config.eos_token_id = eos
    m.generation_config.pad_token_id = PAD
    ref["greedy_eos"] = {"max_new_tokens": 12, "eos_token_id": eos, "output": gen(m, prompts, max_new_tokens=12)}
    ref["repetition_penalty"] = {"max_new_tokens": 12, "repetition_penalty": 1.5,
                                 "output": gen(m, prompts, max_new_tokens=12, eos_token_id=None, repetition_penalty=1.5)}
    ref["no_repeat_ngram"] = {"max_new_tokens": 16, "no_repeat_ngram_size": 2,
                              "output": gen(m, prompts, max_new_tokens=16, eos_token_id=None, no_repeat_ngram_size=2)}
    ref["both"] = {"max_new_tokens": 16, "repetition_penalty": 1.2, "no_repeat_ngram_size": 3,
                   "output": gen(m, prompts[:1], max_new_tokens=16, eos_token_id=None, repetition_penalty=1.2,
                                 no_repeat_ngram_size=3)}

    m.save_pretrained(os.path.join(OUT, "fp32-sharded"), max_shard_size="50KB")
    m.to(torch.bfloat16).save_pretrained(os.path.join(OUT, "bf16"))
    m.to(torch.float16).save_pretrained(os.path.join(OUT, "fp16-sharded"), max_shard_size="30KB")
    r = T.LlamaForCausalLM.from_pretrained(os.path.join(OUT, "bf16"), dtype="auto")
    assert r.dtype == torch.bfloat16
    r.save_pretrained(os.path.join(OUT, "bf16-resharded"), max_shard_size="30KB")

    ids = torch.randint(4, V, (1, 10), generator=g)
    ref["logits_ids"] = ids[0].tolist()
    ref["logits"] = {}
    for d in ("fp32-sharded", "bf16", "fp16-sharded"):
        mm = T.LlamaForCausalLM.from_pretrained(os.path.join(OUT, d), dtype=torch.float32).eval()
        with torch.no_grad():
            ref["logits"][d] = mm(ids).logits[0].tolist()

    # processors on fixed scores; row 1 left-padded by 3 (the pads are not penalised)
    pids = torch.tensor([[5, 6, 7, 5, 6, 9, 5, 6, 11, 5], [PAD, PAD, PAD, 8, 8, 9, 8, 8, 20, 8]])
    pmask = (pids != PAD).long()
    plogits = torch.randn(2, V, generator=g) * 3
    ref["proc_ids"] = pids.tolist()
    ref["proc_mask"] = pmask.tolist()
    ref["proc_logits"] = plogits.tolist()
    cases = [{"repetition_penalty": 1.3}, {"repetition_penalty": 0.7}, {"no_repeat_ngram_size": 2},
             {"no_repeat_ngram_size": 3}, {"temperature": 0.7}, {"top_k": 10}, {"top_p": 0.8}, {"min_p": 0.1},
             {"temperature": 0.8, "top_k": 20, "top_p": 0.9, "min_p": 0.05},
             {"repetition_penalty": 1.2, "no_repeat_ngram_size": 2, "temperature": 1.5, "top_k": 30, "top_p": 0.95,
              "min_p": 0.02}]
    ref["processors"] = [processors(plogits, pids, pmask, c) for c in cases]
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(ref, f)


if __name__ == "__main__":
    main()
