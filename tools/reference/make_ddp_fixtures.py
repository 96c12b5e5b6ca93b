"""transformers' Trainer under `torchrun --nproc_per_node 2` (DDP, gloo, CPU):
the reference for lmtune's data-parallel training (mpirun -np 2).

Each run trains a tiny fixture model with the Trainer's own samplers
(RandomSampler -> accelerate's SeedableRandomSampler, sharded by
BatchSamplerShard), per_device_train_batch_size 4 on each of the two
processes, logging every step and evaluating each epoch (the evaluation
sharded and gathered by gather_for_metrics):

- clm: the tiny GPT-2, 40 blocks of 12 (a multiple of the global batch 8:
  the same steps as one process with batch 8), 8 evaluation blocks.
- clm_accum: 38 blocks (the last global batch wraps round to the start),
  gradient accumulation 2, cosine, clipping at 0.5, 6 evaluation blocks
  (the last evaluation batch wraps round too).
- mlm: the tiny BERT on 48 rows masked once by DataCollatorForLanguageModeling
  (mlm_probability 0.25, seed 7); the run's collator only stacks them, so the
  masks do not depend on which process collates a row. The loss is the
  token-normalised one (sum over num_items_in_batch, through
  compute_loss_func), as GPT-2's loss_function and lmtune's MLM task compute
  it: BertForMaskedLM's own loss is a per-batch mean that ignores
  num_items_in_batch while the Trainer still multiplies it by num_processes
  under average_tokens_across_devices, so torchrun would log (and step on)
  num_processes times the loss.

Dropout is off. Rank 0 records loss / grad_norm / learning_rate per step,
the evaluations, train_loss, total_flos and the final weights.

Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_ddp_fixtures.py
(it starts torchrun itself, once per run). Writes tests/fixtures/train/ddp/
{ddp.json, <run>_final.safetensors}.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "train", "ddp")
RUNS = {
    "clm": dict(task="clm", n_train=40, n_eval=8, T=12,
                args=dict(per_device_train_batch_size=4, gradient_accumulation_steps=1, num_train_epochs=2,
                          lr_scheduler_type="linear", warmup_steps=2, weight_decay=0.01, max_grad_norm=1.0)),
    "clm_accum": dict(task="clm", n_train=38, n_eval=6, T=12,
                      args=dict(per_device_train_batch_size=4, gradient_accumulation_steps=2, num_train_epochs=2,
                                lr_scheduler_type="cosine", warmup_steps=0, weight_decay=0.0, max_grad_norm=0.5)),
    "mlm": dict(task="mlm", n_train=48, n_eval=8, T=12,
                args=dict(per_device_train_batch_size=4, gradient_accumulation_steps=1, num_train_epochs=2,
                          lr_scheduler_type="linear", warmup_steps=3, weight_decay=0.01, max_grad_norm=1.0)),
}
WORLD = 2


def clm_data(spec):
    import torch
    g = torch.Generator().manual_seed(5)
    tr = torch.randint(0, 96, (spec["n_train"], spec["T"]), generator=g).tolist()
    ev = torch.randint(0, 96, (spec["n_eval"], spec["T"]), generator=g).tolist()
    return ([{"input_ids": b, "attention_mask": [1] * len(b), "labels": b} for b in tr],
            [{"input_ids": b, "attention_mask": [1] * len(b), "labels": b} for b in ev])


def mlm_data(spec):
    """Rows [CLS] w... [SEP] (every fourth shorter and padded), masked once."""
    import torch
    from transformers import BertTokenizerFast, DataCollatorForLanguageModeling
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from make_fill_mask_pipeline_fixtures import write_vocab
    tmp = tempfile.mkdtemp()
    write_vocab(tmp)
    tok = BertTokenizerFast(vocab_file=os.path.join(tmp, "vocab.txt"), do_lower_case=True)
    shutil.rmtree(tmp)
    collator = DataCollatorForLanguageModeling(tok, mlm_probability=0.25, seed=7)
    g = torch.Generator().manual_seed(11)
    T = spec["T"]
    rows = []
    for r in range(spec["n_train"] + spec["n_eval"]):
        n = T - 2 if r % 4 else T - 2 - (r % 3) - 2
        ids = [2] + torch.randint(5, 96, (n,), generator=g).tolist() + [3]
        rows.append({"input_ids": ids + [0] * (T - len(ids)), "attention_mask": [1] * len(ids) + [0] * (T - len(ids))})
    out = []
    for b in range(0, len(rows), 4):
        c = collator([dict(x) for x in rows[b:b + 4]])
        for i in range(c["input_ids"].shape[0]):
            out.append({k: c[k][i].tolist() for k in ("input_ids", "attention_mask", "labels")})
    return out[:spec["n_train"]], out[spec["n_train"]:]


def worker(name, result_path):
    """One process of the torchrun job."""
    import torch
    import transformers
    from safetensors.torch import save_file
    spec = RUNS[name]
    train, evald = clm_data(spec) if spec["task"] == "clm" else mlm_data(spec)
    if spec["task"] == "clm":
        model = transformers.GPT2LMHeadModel.from_pretrained(os.path.join(ROOT, "tests", "fixtures", "models", "gpt2"),
                                                             resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
        skip = ("lm_head.weight",)
    else:
        model = transformers.BertForMaskedLM.from_pretrained(os.path.join(ROOT, "tests", "fixtures", "models", "bert"),
                                                             hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
        skip = ("cls.predictions.decoder.weight", "cls.predictions.decoder.bias")

    def stack(items):
        return {k: torch.tensor([it[k] for it in items]) for k in items[0]}

    out = tempfile.mkdtemp()
    args = transformers.TrainingArguments(output_dir=out, learning_rate=1e-3, logging_steps=1, eval_strategy="epoch",
                                          per_device_eval_batch_size=4, save_strategy="no", report_to=[], seed=42,
                                          use_cpu=True, ddp_backend="gloo", **spec["args"])
    def token_loss(outputs, labels, num_items_in_batch=None):
        logits = outputs["logits"] if isinstance(outputs, dict) else outputs[0]
        loss = torch.nn.functional.cross_entropy(logits.float().view(-1, logits.shape[-1]), labels.view(-1),
                                                 ignore_index=-100, reduction="sum")
        return loss / num_items_in_batch

    tr = transformers.Trainer(model=model, args=args, train_dataset=train, eval_dataset=evald, data_collator=stack,
                              compute_loss_func=token_loss if spec["task"] == "mlm" else None)
    assert tr.args.world_size == WORLD, tr.args.world_size
    res = tr.train()
    if tr.args.process_index == 0:
        save_file({k: v.contiguous() for k, v in model.state_dict().items() if k not in skip},
                  os.path.join(OUT, f"{name}_final.safetensors"))
        with open(result_path, "w") as f:
            json.dump({"name": name, "task": spec["task"], "world_size": WORLD, "learning_rate": 1e-3,
                       "args": spec["args"], "train": [d for d in train], "eval": [d for d in evald],
                       "log_history": [e for e in tr.state.log_history if "train_runtime" not in e],
                       "global_step": res.global_step, "training_loss": res.training_loss,
                       "total_flos": tr.state.total_flos}, f)
    shutil.rmtree(out, ignore_errors=True)


def main():
    import accelerate
    import torch
    import transformers
    os.makedirs(OUT, exist_ok=True)
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    runs = []
    for name in RUNS:
        tmp = tempfile.mkdtemp()
        res = os.path.join(tmp, "result.json")
        env = dict(os.environ, OMP_NUM_THREADS="1")
        subprocess.run([torchrun, "--nproc_per_node", str(WORLD), "--master_port", "29517", os.path.abspath(__file__),
                        "--worker", name, res], check=True, env=env)
        with open(res) as f:
            runs.append(json.load(f))
        shutil.rmtree(tmp)
        print("recorded", name, "steps", runs[-1]["global_step"], "train_loss", runs[-1]["training_loss"])
    with open(os.path.join(OUT, "ddp.json"), "w") as f:
        json.dump({"transformers": transformers.__version__, "torch": torch.__version__,
                   "accelerate": accelerate.__version__, "launcher": f"torchrun --nproc_per_node {WORLD} (gloo, CPU)",
                   "runs": runs}, f)
    print("wrote", OUT)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3])
    else:
        main()
