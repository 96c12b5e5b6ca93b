"""Reference values for the training loop pieces: learning-rate schedules as
the Trainer logs them (torch LambdaLR over transformers' lr lambdas).

Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_train_fixtures.py
Writes tests/fixtures/train/schedules.json.
"""
import json
import os

import torch
import transformers
from transformers import get_scheduler

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "train")


def schedules():
    cases = []
    for kind in ["linear", "cosine", "cosine_with_restarts", "polynomial", "constant",
                 "constant_with_warmup", "inverse_sqrt"]:
        for warmup, total, lr in [(0, 40, 2e-5), (7, 40, 5e-5), (3, 10, 1e-3), (0, 1, 2e-5)]:
            p = torch.nn.Parameter(torch.zeros(1))
            opt = torch.optim.AdamW([p], lr=lr)
            sched = get_scheduler(kind, opt, num_warmup_steps=warmup, num_training_steps=total)
            lrs = [sched.get_last_lr()[0]]
            for _ in range(total + 2):
                opt.step()
                sched.step()
                lrs.append(sched.get_last_lr()[0])
            cases.append({"kind": kind, "warmup_steps": warmup, "total_steps": total, "learning_rate": lr,
                          "lr_after_step": lrs})
    # TrainingArguments.get_warmup_steps with warmup_ratio
    ratios = []
    for ratio, total in [(0.1, 7218), (0.06, 17736), (0.0, 100), (0.33, 10)]:
        # transformers 5 folds warmup_ratio into warmup_steps (a value < 1 is a ratio)
        args = transformers.TrainingArguments(output_dir="/tmp/lmt-ref-args", warmup_steps=ratio, report_to=[])
        ratios.append({"warmup_ratio": ratio, "total_steps": total, "warmup_steps": args.get_warmup_steps(total)})
    return {"transformers": transformers.__version__, "torch": torch.__version__, "schedules": cases,
            "warmup_ratio": ratios}


def trainer_state_file():
    """A tiny real Trainer run; its checkpoint's trainer_state.json is the
    reference for lmtune's serialisation (load + save must give the same bytes)."""
    import shutil
    import tempfile
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(vocab_size=64, n_positions=16, n_embd=16, n_layer=1, n_head=2)
    model = transformers.GPT2LMHeadModel(cfg)
    data = [{"input_ids": torch.randint(0, 64, (8,)).tolist()} for _ in range(12)]
    for d in data:
        d["labels"] = list(d["input_ids"])
    out = tempfile.mkdtemp()
    args = transformers.TrainingArguments(output_dir=out, num_train_epochs=2, per_device_train_batch_size=4,
                                          logging_steps=2, eval_strategy="epoch", save_strategy="epoch",
                                          learning_rate=1e-3, report_to=[], seed=42, use_cpu=True,
                                          load_best_model_at_end=True)
    trainer = transformers.Trainer(model=model, args=args, train_dataset=data, eval_dataset=data[:4])
    trainer.train()
    with open(os.path.join(out, "checkpoint-6", "trainer_state.json")) as f:
        text = f.read()
    shutil.rmtree(out)
    return text.replace(out, "OUTPUT_DIR")


def trainer_runs_gpt2():
    """The HF Trainer on the tiny GPT-2 fixture (dropout off, sequential order)
    logging every step: lmt's Trainer must reproduce losses, grad norms,
    learning rates and eval losses."""
    import tempfile
    fixture = os.path.join(OUT, "..", "models", "gpt2")
    g = torch.Generator().manual_seed(5)
    blocks = torch.randint(0, 96, (40, 12), generator=g)
    eval_blocks = torch.randint(0, 96, (6, 12), generator=g)

    T_Trainer = transformers.Trainer

    class Seq(transformers.Trainer):
        def _get_train_sampler(self, *a, **k):
            return torch.utils.data.SequentialSampler(self.train_dataset)

    runs = []
    for name, extra in [("full30", dict(per_device_train_batch_size=2, gradient_accumulation_steps=2, num_train_epochs=3,
                                        lr_scheduler_type="linear", warmup_steps=3, weight_decay=0.01, max_grad_norm=1.0)),
                        ("plain", dict(per_device_train_batch_size=4, gradient_accumulation_steps=1, num_train_epochs=2,
                                       lr_scheduler_type="linear", warmup_steps=2, weight_decay=0.01)),
                        ("accum", dict(per_device_train_batch_size=3, gradient_accumulation_steps=2, num_train_epochs=2,
                                       lr_scheduler_type="cosine", warmup_steps=0, weight_decay=0.0, max_grad_norm=0.5)),
                        ("shuffled", dict(per_device_train_batch_size=4, gradient_accumulation_steps=1, num_train_epochs=2,
                                          lr_scheduler_type="linear", warmup_steps=0, weight_decay=0.01))]:
        model = transformers.GPT2LMHeadModel.from_pretrained(fixture, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
        data = [{"input_ids": b.tolist(), "attention_mask": [1] * 12, "labels": b.tolist()} for b in blocks]
        edata = [{"input_ids": b.tolist(), "attention_mask": [1] * 12, "labels": b.tolist()} for b in eval_blocks]
        out = tempfile.mkdtemp()
        args = transformers.TrainingArguments(output_dir=out, learning_rate=1e-3, logging_steps=1, eval_strategy="epoch",
                                              per_device_eval_batch_size=4, save_strategy="no", report_to=[], seed=42,
                                              use_cpu=True, **extra)
        # "shuffled" keeps the Trainer's own RandomSampler (seed 42): lmtune must draw the same order
        cls = T_Trainer if name == "shuffled" else Seq
        tr = cls(model=model, args=args, train_dataset=data, eval_dataset=edata)
        res = tr.train()
        from safetensors.torch import save_file
        save_file({k: v.contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"},
                  os.path.join(OUT, f"gpt2_trainer_{name}_final.safetensors"))
        runs.append({"name": name, "args": {k: v for k, v in extra.items()}, "learning_rate": 1e-3,
                     "log_history": [e for e in tr.state.log_history if "train_runtime" not in e],
                     "global_step": res.global_step, "training_loss": res.training_loss, "total_flos": tr.state.total_flos})
    return {"train_blocks": blocks.tolist(), "eval_blocks": eval_blocks.tolist(), "runs": runs,
            "transformers": transformers.__version__}


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "schedules.json"), "w") as f:
        json.dump(schedules(), f, indent=1)
    print("wrote", os.path.join(OUT, "schedules.json"))
    with open(os.path.join(OUT, "trainer_state.json"), "w") as f:
        f.write(trainer_state_file())
    with open(os.path.join(OUT, "gpt2_trainer.json"), "w") as f:
        json.dump(trainer_runs_gpt2(), f, indent=1)
