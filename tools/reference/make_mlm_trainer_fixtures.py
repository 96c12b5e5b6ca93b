"""transformers' Trainer on the tiny BERT MLM fixture, fed the batches that
DataCollatorForLanguageModeling produced.

The collator masks at random, so each batch is collated exactly once here
(mlm_probability 0.25, seed 7, a BertTokenizerFast over the 96-token vocab of
make_fill_mask_pipeline_fixtures.py: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3
[MASK]=4), in the order a SequentialSampler gives: 5 passes over 24 rows,
6 batches of 4 each. The recorded batches become the dataset of a 30-step
run (batch 4, lr 1e-3, linear with 3 warmup steps, wd 0.01, dropout off,
logging every step) whose collator only stacks them.

Run: /root/.cache/lmtune/ref-venv/bin/python tools/reference/make_mlm_trainer_fixtures.py
Writes tests/fixtures/train/mlm/{mlm_trainer.json, final.safetensors}.
"""
import json
import os
import shutil
import sys
import tempfile

import torch
import transformers
from safetensors.torch import save_file
from transformers import BertForMaskedLM, BertTokenizerFast, DataCollatorForLanguageModeling

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fill_mask_pipeline_fixtures import write_vocab  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "train", "mlm")
ROWS, T, B, EPOCHS = 24, 12, 4, 5


def rows():
    """[CLS] w... [SEP] over ids 5..95; every fourth row shorter and padded."""
    g = torch.Generator().manual_seed(11)
    out = []
    for r in range(ROWS):
        n = T - 2 if r % 4 else T - 2 - (r % 3) - 2
        ids = [2] + torch.randint(5, 96, (n,), generator=g).tolist() + [3]
        out.append({"input_ids": ids, "attention_mask": [1] * len(ids)})
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    tmp = tempfile.mkdtemp()
    write_vocab(tmp)
    tok = BertTokenizerFast(vocab_file=os.path.join(tmp, "vocab.txt"), do_lower_case=True)
    assert [tok.pad_token_id, tok.unk_token_id, tok.cls_token_id, tok.sep_token_id, tok.mask_token_id] == [0, 1, 2, 3, 4]
    collator = DataCollatorForLanguageModeling(tok, mlm_probability=0.25, seed=7, pad_to_multiple_of=None)
    data = rows()
    batches = []
    for _ in range(EPOCHS):
        for b in range(ROWS // B):
            # pad every batch to T so the recorded rows stack into one table
            feats = [dict(d) for d in data[b * B:(b + 1) * B]]
            for f in feats:
                pad = T - len(f["input_ids"])
                f["input_ids"] = f["input_ids"] + [0] * pad
                f["attention_mask"] = f["attention_mask"] + [0] * pad
            c = collator(feats)
            assert int((c["labels"] != -100).sum()) > 0
            batches.append({k: c[k].tolist() for k in ("input_ids", "attention_mask", "labels")})

    flat = [{k: torch.tensor(bt[k][i]) for k in bt} for bt in batches for i in range(B)]

    def stack(items):
        return {k: torch.stack([it[k] for it in items]) for k in items[0]}

    class Seq(transformers.Trainer):
        def _get_train_sampler(self, *a, **k):
            return torch.utils.data.SequentialSampler(self.train_dataset)

    model = BertForMaskedLM.from_pretrained(os.path.join(ROOT, "tests", "fixtures", "models", "bert"),
                                            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    args = transformers.TrainingArguments(output_dir=os.path.join(tmp, "out"), per_device_train_batch_size=B,
                                          gradient_accumulation_steps=1, num_train_epochs=1, learning_rate=1e-3,
                                          lr_scheduler_type="linear", warmup_steps=3, weight_decay=0.01,
                                          max_grad_norm=1.0, logging_steps=1, eval_strategy="no", save_strategy="no",
                                          report_to=[], seed=42, use_cpu=True)
    tr = Seq(model=model, args=args, train_dataset=flat, data_collator=stack)
    res = tr.train()
    assert res.global_step == len(batches) == 30
    sd = {k: v.contiguous() for k, v in model.state_dict().items() if k not in ("cls.predictions.decoder.weight", "cls.predictions.decoder.bias")}
    save_file(sd, os.path.join(OUT, "final.safetensors"))
    with open(os.path.join(OUT, "mlm_trainer.json"), "w") as f:
        json.dump({"transformers": transformers.__version__, "torch": torch.__version__,
                   "mlm_probability": 0.25, "batch_size": B, "learning_rate": 1e-3, "warmup_steps": 3,
                   "weight_decay": 0.01, "max_grad_norm": 1.0, "batches": batches,
                   "log_history": [e for e in tr.state.log_history if "train_runtime" not in e],
                   "global_step": res.global_step, "training_loss": res.training_loss,
                   "total_flos": tr.state.total_flos}, f)
    shutil.rmtree(tmp)
    print("wrote", OUT, "final loss", tr.state.log_history[-2].get("loss"))


if __name__ == "__main__":
    main()
