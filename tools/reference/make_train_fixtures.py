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


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "schedules.json"), "w") as f:
        json.dump(schedules(), f, indent=1)
    print("wrote", os.path.join(OUT, "schedules.json"))
    with open(os.path.join(OUT, "trainer_state.json"), "w") as f:
        f.write(trainer_state_file())
