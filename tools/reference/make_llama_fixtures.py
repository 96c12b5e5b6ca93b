"""Tiny randomly initialised Llama-family decoders saved by transformers, with
reference outputs (logits, loss, every parameter's gradient) for lmtune's
parity test tests/test_llama_parity.c.

Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_llama_fixtures.py [--out DIR]
Writes DIR/<name>/ (config.json, generation_config.json, model.safetensors,
reference.safetensors, reference.json) for:
  llama-gqa     LlamaForCausalLM, grouped-query attention (4 heads, 2 kv heads),
                an explicit head_dim (4 x 16 = 64 != hidden 48), untied lm_head,
                pad_token_id (nn.Embedding padding_idx)
  llama3        LlamaForCausalLM, rope_scaling llama3 (the three wavelength
                bands all present), attention_bias and mlp_bias
  smollm2       LlamaForCausalLM shaped as SmolLM2 (tied embeddings, 3 heads
                over 1 kv head, rope_theta 100000, pad_token_id)
  qwen2         Qwen2ForCausalLM (q/k/v biases, no o_proj bias), linear rope
                scaling
  qwen2-swa     Qwen2ForCausalLM with use_sliding_window: a window of 5 on the
                layers from max_window_layers = 1 on (layer_types derived:
                full, sliding, sliding), tied embeddings
  mistral       MistralForCausalLM (1 kv head, sliding_window 6 within the
                16-token batch), dynamic rope scaling over a sequence longer
                than max_position_embeddings (the dynamic base is in use)
(default DIR: tests/fixtures/models). Every bias and RMSNorm weight is
perturbed from its initial value (zeros, ones) so their gradients are tested.
The batch: 2 x 16 tokens, the second right-padded after 12 (labels -100
there), eval mode. llama-gqa and smollm2 also get trainer.json: transformers'
Trainer for 30 steps (40 blocks of 16 tokens, batch 2, gradient accumulation
2, 3 epochs, linear decay after 3 warmup steps, weight decay 0.01, clipping
at 1.0, sequential order), its log history (loss, grad_norm, learning_rate
each step, eval_loss each epoch); llama-gqa also reference_leftpad.safetensors (the second
row left-padded by 5). llama-gqa and smollm2 also get
reference_gc.safetensors: the reference batch's logits, loss and gradients in
train mode with model.gradient_checkpointing_enable() (no dropout in these
configs: the numbers of eval mode, through the recomputing backward), and
smollm2 trainer_gc.json: the Trainer run of trainer.json with
gradient_checkpointing=True. Every fixture gets generate.json: transformers' greedy
generate() from a 5-token prompt (12 new tokens, or up to
max_position_embeddings). Deterministic: a re-run rewrites the same bytes.
"""
import argparse
import json
import os

import torch
import transformers as T
from safetensors.torch import save_file

from make_model_fixtures import forward_backward

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "models")
V = 128
B, TLEN = 2, 16


def configs():
    return {
        "llama-gqa": (T.LlamaForCausalLM, T.LlamaConfig(
            vocab_size=V, hidden_size=48, intermediate_size=80, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, head_dim=16, max_position_embeddings=64, rms_norm_eps=1e-6,
            tie_word_embeddings=False, pad_token_id=1, bos_token_id=2, eos_token_id=3)),
        "llama3": (T.LlamaForCausalLM, T.LlamaConfig(
            vocab_size=V, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=4, max_position_embeddings=1024, rms_norm_eps=1e-5, tie_word_embeddings=False,
            attention_bias=True, mlp_bias=True, bos_token_id=2, eos_token_id=3,
            rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                             "high_freq_factor": 4.0, "original_max_position_embeddings": 256})),
        "smollm2": (T.LlamaForCausalLM, T.LlamaConfig(
            vocab_size=V, hidden_size=48, intermediate_size=128, num_hidden_layers=2, num_attention_heads=3,
            num_key_value_heads=1, max_position_embeddings=64, rms_norm_eps=1e-5, tie_word_embeddings=True,
            pad_token_id=2, bos_token_id=0, eos_token_id=0,
            rope_parameters={"rope_type": "default", "rope_theta": 100000.0})),
        "qwen2": (T.Qwen2ForCausalLM, T.Qwen2Config(
            vocab_size=V, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6, tie_word_embeddings=False,
            use_sliding_window=False, bos_token_id=2, eos_token_id=3,
            rope_parameters={"rope_type": "linear", "rope_theta": 1000000.0, "factor": 2.0})),
        "mistral": (T.MistralForCausalLM, T.MistralConfig(
            vocab_size=V, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=1, head_dim=8, max_position_embeddings=8, sliding_window=6, rms_norm_eps=1e-5,
            tie_word_embeddings=False, bos_token_id=2, eos_token_id=3,
            rope_parameters={"rope_type": "dynamic", "rope_theta": 10000.0, "factor": 2.0})),
        "qwen2-swa": (T.Qwen2ForCausalLM, T.Qwen2Config(
            vocab_size=V, hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6, tie_word_embeddings=True,
            use_sliding_window=True, sliding_window=5, max_window_layers=1, bos_token_id=2, eos_token_id=3)),
    }


def batch(cfg, g):
    ids = torch.randint(4, V, (B, TLEN), generator=g)
    mask = torch.ones(B, TLEN, dtype=torch.long)
    mask[1, 12:] = 0
    pad = cfg.pad_token_id if cfg.pad_token_id is not None else 0
    ids[1, 12:] = pad
    ids[0, 5] = pad  # a pad id inside the text: its embedding row takes no gradient (padding_idx)
    labels = ids.clone()
    labels[mask == 0] = -100
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def perturb(model, seed):
    g = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith(".bias"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
            elif "norm" in n:
                p.copy_(1.0 + torch.randn(p.shape, generator=g) * 0.1)


def leftpad(name, cls, seed):
    """reference_leftpad.safetensors: the second row left-padded by 5 (its
    first query rows see no key at all), labels -100 there."""
    d = os.path.join(OUT, name)
    model = cls.from_pretrained(d)
    model.eval()
    g = torch.Generator().manual_seed(seed + 2)
    ids = torch.randint(4, V, (B, TLEN), generator=g)
    mask = torch.ones(B, TLEN, dtype=torch.long)
    mask[1, :5] = 0
    ids[1, :5] = model.config.pad_token_id if model.config.pad_token_id is not None else 0
    labels = ids.clone()
    labels[mask == 0] = -100
    ref = forward_backward(model, {"input_ids": ids, "attention_mask": mask, "labels": labels})
    save_file(ref, os.path.join(d, "reference_leftpad.safetensors"))


def make(name, cls, cfg, seed):
    torch.manual_seed(seed)
    model = cls(cfg)
    perturb(model, seed)
    model.eval()
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    for f in ("config.json", "generation_config.json", "model.safetensors", "reference.safetensors", "reference.json",
              "reference_leftpad.safetensors", "trainer.json", "generate.json"):
        if os.path.exists(os.path.join(d, f)):
            os.remove(os.path.join(d, f))
    model.save_pretrained(d)
    g = torch.Generator().manual_seed(seed + 1)
    inp = batch(cfg, g)
    ref = forward_backward(model, inp)
    save_file(ref, os.path.join(d, "reference.safetensors"))
    info = {"class": cls.__name__, "transformers": T.__version__, "torch": torch.__version__, "seed": seed,
            "named_parameters": [n for n, _ in model.named_parameters()],
            "num_parameters": model.num_parameters(), "attn_implementation": model.config._attn_implementation,
            "loss": float(ref["loss"]), "dropout": "off (eval mode)"}
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump(info, f, indent=1)


def trainer_run(name, cls):
    """30 steps of transformers' Trainer from the fixture's weights."""
    d = os.path.join(OUT, name)
    g = torch.Generator().manual_seed(5)
    blocks = torch.randint(0, V, (40, TLEN), generator=g)
    eval_blocks = torch.randint(0, V, (6, TLEN), generator=g)
    run = trainer_history(cls.from_pretrained(d), name, blocks, eval_blocks)
    with open(os.path.join(d, "trainer.json"), "w") as f:
        json.dump({"train_blocks": blocks.tolist(), "eval_blocks": eval_blocks.tolist(), "runs": [run],
                   "transformers": T.__version__}, f, indent=1)


def trainer_history(model, name, blocks, eval_blocks, **more):
    """The Trainer run of trainer.json on model (sequential order, batch 2,
    accumulation 2, 3 epochs, linear decay after 3 warmup steps, weight decay
    0.01, clipping at 1.0, learning rate 1e-3): its log history and results."""
    import tempfile

    class Seq(T.Trainer):
        def _get_train_sampler(self, *a, **k):
            return torch.utils.data.SequentialSampler(self.train_dataset)

    extra = dict(per_device_train_batch_size=2, gradient_accumulation_steps=2, num_train_epochs=3,
                 lr_scheduler_type="linear", warmup_steps=3, weight_decay=0.01, max_grad_norm=1.0, **more)
    data = [{"input_ids": b.tolist(), "attention_mask": [1] * TLEN, "labels": b.tolist()} for b in blocks]
    edata = [{"input_ids": b.tolist(), "attention_mask": [1] * TLEN, "labels": b.tolist()} for b in eval_blocks]
    out = tempfile.mkdtemp()
    args = T.TrainingArguments(output_dir=out, learning_rate=1e-3, logging_steps=1, eval_strategy="epoch",
                               per_device_eval_batch_size=4, save_strategy="no", report_to=[], seed=42, use_cpu=True,
                               **extra)
    tr = Seq(model=model, args=args, train_dataset=data, eval_dataset=edata)
    res = tr.train()
    return {"name": name, "args": extra, "learning_rate": 1e-3,
            "log_history": [{k: v for k, v in e.items() if "runtime" not in k and "per_second" not in k}
                            for e in tr.state.log_history if "train_runtime" not in e],
            "global_step": res.global_step, "training_loss": res.training_loss}


def checkpointed(name, cls, seed):
    """reference_gc.safetensors: forward + backward of the reference batch with
    transformers' gradient checkpointing (train mode: it is off in eval)."""
    d = os.path.join(OUT, name)
    model = cls.from_pretrained(d)
    model.gradient_checkpointing_enable()
    model.train()
    g = torch.Generator().manual_seed(seed + 1)
    ref = forward_backward(model, batch(model.config, g))
    save_file(ref, os.path.join(d, "reference_gc.safetensors"))


def trainer_run_gc(name, cls):
    """trainer_gc.json: trainer.json's run with gradient_checkpointing=True."""
    d = os.path.join(OUT, name)
    with open(os.path.join(d, "trainer.json")) as f:
        ref = json.load(f)
    blocks, eval_blocks = torch.tensor(ref["train_blocks"]), torch.tensor(ref["eval_blocks"])
    run = trainer_history(cls.from_pretrained(d), name, blocks, eval_blocks, gradient_checkpointing=True)
    with open(os.path.join(d, "trainer_gc.json"), "w") as f:
        json.dump({"train_blocks": ref["train_blocks"], "eval_blocks": ref["eval_blocks"], "runs": [run],
                   "transformers": T.__version__}, f, indent=1)


def greedy(name, cls):
    """transformers' greedy generate() from a prompt: generate.json."""
    d = os.path.join(OUT, name)
    model = cls.from_pretrained(d)
    model.eval()
    g = torch.Generator().manual_seed(11)
    prompt = torch.randint(4, V, (1, 5), generator=g)
    n_new = min(12, model.config.max_position_embeddings - 5)
    with torch.no_grad():
        out = model.generate(prompt, max_new_tokens=n_new, min_new_tokens=n_new, do_sample=False,
                             eos_token_id=None, pad_token_id=0)
    with open(os.path.join(d, "generate.json"), "w") as f:
        json.dump({"prompt": prompt[0].tolist(), "greedy": out[0, 5:].tolist(), "max_new_tokens": n_new,
                   "transformers": T.__version__}, f, indent=1)


def main():
    global OUT
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=OUT)
    a = ap.parse_args()
    OUT = a.out
    torch.use_deterministic_algorithms(True)
    for i, (name, (cls, cfg)) in enumerate(configs().items()):
        make(name, cls, cfg, 1000 + i)
        print("wrote", os.path.join(OUT, name))
    for name in ("llama-gqa", "smollm2"):
        trainer_run(name, T.LlamaForCausalLM)
    leftpad("llama-gqa", T.LlamaForCausalLM, 1000)
    checkpointed("llama-gqa", T.LlamaForCausalLM, 1000)
    checkpointed("smollm2", T.LlamaForCausalLM, 1002)
    trainer_run_gc("smollm2", T.LlamaForCausalLM)
    for name, (cls, _) in configs().items():
        greedy(name, cls)


if __name__ == "__main__":
    main()
