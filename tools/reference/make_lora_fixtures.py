"""LoRA adapters made by peft on the tiny GPT-2 and Llama fixtures, with
reference outputs for lmtune's tests/test_lora.c.

Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_lora_fixtures.py [--out DIR]
(default DIR: tests/fixtures/lora). Writes DIR/<name>/:
  adapter_config.json, adapter_model.safetensors   PeftModel.save_pretrained's files
  reference.safetensors   logits, loss, merged_logits (merge_and_unload()'s
                          model on the same batch), the gradient of every
                          lora_A / lora_B under the saved (adapter-name-free)
                          key, and init.<key>: each lora_A as get_peft_model
                          draws it after torch.manual_seed(1234)
  reference.json          versions, the LoRA config, trainable/all parameter counts
  trainer.json            a 30-step peft + Trainer run from that adapter (see trainer_run)
for
  gpt2   tests/fixtures/models/gpt2, r=4, alpha=8, dropout 0, targets
         c_attn / c_proj / c_fc (Conv1D: peft sets fan_in_fan_out)
  llama  tests/fixtures/models/llama-gqa, r=4, alpha=8, dropout 0, targets
         q/k/v/o_proj, gate/up/down_proj
  bert   tests/fixtures/models/bert (BertForMaskedLM), a regex target: every
         encoder query / key / value / dense
  marian tests/fixtures/models/marian, q/k/v/out_proj (self and cross
         attention), fc1, fc2
  gpt2-bias   gpt2, c_attn, bias="all" (every bias trains and is saved)
  llama-save  llama-gqa, q_proj / v_proj, modules_to_save=["lm_head"]
A and B are overwritten with seeded normal values (* 0.1) so that B's
gradient path is tested (peft initialises B to zero). The batches (eval
mode): causal LMs 2 x 16 tokens, the second right-padded after 12 (labels
-100 there); BERT the same with about a third of the tokens labelled;
Marian 12 source tokens (second row padded after 9) and 10 labels (-100
after 7 in the second row). The causal LMs also get trainer.json.
Deterministic, but for the order of target_modules in adapter_config.json
(peft writes a Python set, ordered by the string hash of the run).
"""
import argparse
import json
import os

import peft
import torch
import transformers as T
from safetensors.torch import save_file

from make_llama_fixtures import trainer_history

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
B, TLEN = 2, 16

CASES = {
    "gpt2": ("gpt2", T.GPT2LMHeadModel, ["c_attn", "c_proj", "c_fc"], 1),
    "llama": ("llama-gqa", T.LlamaForCausalLM,
              ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], 2),
    # a regex (full match): every encoder projection, not the MLM head's transform.dense
    "bert": ("bert", T.BertForMaskedLM, r".*encoder\.layer\.[0-9]+\..*(query|key|value|dense)", 3),
    # self and cross attention, feed-forward
    "marian": ("marian", T.MarianMTModel, ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"], 4),
    # trained base tensors: every bias (bias="all"); an untied lm_head in modules_to_save
    "gpt2-bias": ("gpt2", T.GPT2LMHeadModel, ["c_attn"], 5),
    "llama-save": ("llama-gqa", T.LlamaForCausalLM, ["q_proj", "v_proj"], 6),
}
EXTRA = {"gpt2-bias": dict(bias="all"), "llama-save": dict(modules_to_save=["lm_head"])}
TASK = {"gpt2": "CAUSAL_LM", "llama": "CAUSAL_LM", "bert": None, "marian": "SEQ_2_SEQ_LM", "gpt2-bias": "CAUSAL_LM",
        "llama-save": "CAUSAL_LM"}


def batch(cfg, g):
    V = cfg.vocab_size
    ids = torch.randint(0, V, (B, TLEN), generator=g)
    mask = torch.ones(B, TLEN, dtype=torch.long)
    mask[1, 12:] = 0
    pad = cfg.pad_token_id if cfg.pad_token_id is not None else 0
    ids[1, 12:] = pad
    labels = ids.clone()
    labels[mask == 0] = -100
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def batch_mlm(cfg, g):
    """MLM: right-padded second row, about a third of the other tokens labelled."""
    V = cfg.vocab_size
    ids = torch.randint(1, V, (B, TLEN), generator=g)
    mask = torch.ones(B, TLEN, dtype=torch.long)
    mask[1, 12:] = 0
    ids[1, 12:] = cfg.pad_token_id
    labels = torch.where(torch.rand(B, TLEN, generator=g) < 0.35, ids, torch.full_like(ids, -100))
    labels[mask == 0] = -100
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def batch_seq2seq(cfg, g):
    """Translation: 12 source tokens (second row padded after 9), 10 labels (-100 after 7)."""
    V = cfg.vocab_size
    ids = torch.randint(0, V - 1, (B, 12), generator=g)
    mask = torch.ones(B, 12, dtype=torch.long)
    mask[1, 9:] = 0
    ids[1, 9:] = cfg.pad_token_id
    labels = torch.randint(0, V - 1, (B, 10), generator=g)
    labels[1, 7:] = -100
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


BATCH = {"gpt2": batch, "llama": batch, "bert": batch_mlm, "marian": batch_seq2seq, "gpt2-bias": batch, "llama-save": batch}


def make(out, name, base, cls, targets, seed):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    model = cls.from_pretrained(os.path.join("tests", "fixtures", "models", base))  # relative: base_model_name_or_path
    lcfg = peft.LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=targets, task_type=TASK[name],
                           **EXTRA.get(name, {}))
    torch.manual_seed(1234)  # peft's own initialisation (init.* below): A kaiming-uniform from this seed
    pm = peft.get_peft_model(model, lcfg)
    init = {"init." + n.replace(".default", ""): p.detach().clone().contiguous()
            for n, p in pm.named_parameters() if "lora_A" in n}
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in pm.named_parameters():
            if "lora_" in n:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    pm.eval()
    inp = BATCH[name](model.config, torch.Generator().manual_seed(seed + 1))
    outp = pm(**inp)
    outp.loss.backward()
    ref = {"input_ids": inp["input_ids"].to(torch.int64), "attention_mask": inp["attention_mask"],
           "labels": inp["labels"], "logits": outp.logits.detach().contiguous(), "loss": outp.loss.detach().reshape(1)}
    for n, p in pm.named_parameters():
        if p.requires_grad:
            ref["grad." + n.replace(".default", "")] = p.grad.detach().clone().contiguous()
    ref.update(init)
    trainable, total = pm.get_nb_trainable_parameters()
    pm.save_pretrained(d)
    merged = pm.merge_and_unload()
    with torch.no_grad():
        ref["merged_logits"] = merged(**inp).logits.contiguous()
    save_file(ref, os.path.join(d, "reference.safetensors"))
    info = {"base": base, "peft": peft.__version__, "transformers": T.__version__, "torch": torch.__version__,
            "seed": seed, "r": 4, "lora_alpha": 8, "target_modules": targets, "loss": float(outp.loss),
            "trainable_params": trainable, "all_params": total}
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump(info, f, indent=1)


def trainer_run(out, name, base, cls):
    """trainer.json: transformers' Trainer for 30 steps (make_llama_fixtures.py's
    trainer_history: 40 blocks of 16 tokens, batch 2, accumulation 2, 3 epochs,
    linear decay after 3 warmup steps, weight decay 0.01, clipping at 1.0,
    sequential order, learning rate 1e-3) on the PeftModel loaded from the
    adapter written above (is_trainable), every dropout 0."""
    d = os.path.join(out, name)
    src = os.path.join("tests", "fixtures", "models", base)
    V = cls.config_class.from_pretrained(src).vocab_size
    g = torch.Generator().manual_seed(5)
    blocks = torch.randint(0, V, (40, TLEN), generator=g)
    eval_blocks = torch.randint(0, V, (6, TLEN), generator=g)
    # the base model's dropout off (GPT-2's fixture has 0.1): torch's dropout stream is not lmtune's
    nodrop = dict(attn_pdrop=0.0, embd_pdrop=0.0, resid_pdrop=0.0) if base == "gpt2" else {}
    pm = peft.PeftModel.from_pretrained(cls.from_pretrained(src, **nodrop), d, is_trainable=True)
    run = trainer_history(pm, name, blocks, eval_blocks)
    with open(os.path.join(d, "trainer.json"), "w") as f:
        json.dump({"train_blocks": blocks.tolist(), "eval_blocks": eval_blocks.tolist(), "runs": [run],
                   "transformers": T.__version__, "peft": peft.__version__}, f, indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "lora"))
    a = ap.parse_args()
    a.out = os.path.abspath(a.out)
    os.chdir(ROOT)
    for name, (base, cls, targets, seed) in CASES.items():
        make(a.out, name, base, cls, targets, seed)
        if name != "bert" and name != "marian":
            trainer_run(a.out, name, base, cls)


if __name__ == "__main__":
    main()
