"""transformers' Trainer with the TrainingArguments of issue 18 that matter on a
CPU: each optimizer (`optim`, `optim_args`), `label_smoothing_factor`,
`data_seed`, `train_sampling_strategy="group_by_length"` (transformers 4's
`group_by_length=True`), `eval_on_start`, `include_num_input_tokens_seen`
(4's `include_tokens_per_second`) and gradient accumulation over more than
64 micro-batches, on the tiny GPT-2 fixture (dropout off) and the token
blocks of tests/fixtures/train/gpt2_trainer.json, logging every step.

Also LengthGroupedSampler orders for given lengths (the megabatch sort),
drawn as the Trainer draws them: the global torch generator after
set_seed(seed), one randperm per epoch.

Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_trainer_features_fixtures.py
Writes tests/fixtures/train/features/{trainer_features.json, final.safetensors}.
"""
import json
import os
import shutil
import tempfile

import torch
import transformers
from safetensors.torch import save_file
from transformers.trainer_pt_utils import LengthGroupedSampler

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "train", "features")
GPT2 = os.path.join(ROOT, "tests", "fixtures", "models", "gpt2")

LLAMA = os.path.join(ROOT, "tests", "fixtures", "models", "llama-gqa")
# the final weights kept per run (2-D: Adafactor's factored moments; 1-D: its full ones)
KEPT = {"gpt2": ["transformer.wte.weight", "transformer.h.1.attn.c_attn.weight", "transformer.h.1.attn.c_attn.bias",
                 "transformer.h.1.ln_2.weight", "transformer.ln_f.bias"],
        "llama-gqa": ["model.embed_tokens.weight", "model.layers.1.self_attn.q_proj.weight",
                      "model.layers.1.input_layernorm.weight", "model.norm.weight", "lm_head.weight"]}

# name, TrainingArguments beyond the common ones, the Trainer's own sampler (True) or a SequentialSampler.
# Adafactor and Adagrad run on llama-gqa: their update g / sqrt(v) is as large for a gradient of 1e-9 as
# for one of 1, so GPT-2's key bias (gradient zero but for rounding noise, softmax being shift-invariant)
# would take random steps of size lr, and through Adafactor's RMS clip move the other biases too.
RUNS = [
    ("adamw_fused", dict(optim="adamw_torch_fused", weight_decay=0.01, warmup_steps=2), False),
    ("adafactor", dict(optim="adafactor", weight_decay=0.01, learning_rate=1e-2), False, "llama-gqa"),
    ("sgd", dict(optim="sgd", weight_decay=0.01, learning_rate=0.5), False),
    ("sgd_nesterov", dict(optim="sgd", optim_args="momentum=0.9,nesterov=True,weight_decay=0.001",
                          learning_rate=0.1), False),
    ("adagrad", dict(optim="adagrad", optim_args="lr_decay=0.01,eps=1e-8", weight_decay=0.01,
                     learning_rate=0.05), False, "llama-gqa"),
    ("rmsprop", dict(optim="rmsprop", weight_decay=0.01, learning_rate=1e-3), False),
    ("rmsprop_centered", dict(optim="rmsprop", optim_args="momentum=0.5,centered=True,alpha=0.9",
                              learning_rate=1e-3), False),
    ("label_smoothing", dict(label_smoothing_factor=0.1, weight_decay=0.01, num_train_epochs=2), False),
    ("data_seed", dict(data_seed=7, num_train_epochs=2), True),
    ("group_by_length", dict(train_sampling_strategy="group_by_length", num_train_epochs=2,
                             gradient_accumulation_steps=2, per_device_train_batch_size=2), True),
    ("eval_on_start", dict(eval_on_start=True), False),
    ("tokens_seen", dict(include_num_input_tokens_seen="all"), False),
]


class Seq(transformers.Trainer):
    """The Trainer with a SequentialSampler (the reference runs' order unless they test the sampler)."""
    def _get_train_sampler(self, *a, **k):
        return torch.utils.data.SequentialSampler(self.train_dataset)


def stack(items):
    """A collator for rows that are already tensors of one length."""
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


def blocks():
    with open(os.path.join(ROOT, "tests", "fixtures", "train", "gpt2_trainer.json")) as f:
        ref = json.load(f)
    return ref["train_blocks"], ref["eval_blocks"]


def rows(bl):
    return [{"input_ids": b, "attention_mask": [1] * len(b), "labels": list(b)} for b in bl]


def run(name, extra, own_sampler, train, evald, weights, arch="gpt2"):
    if arch == "gpt2":
        model = transformers.GPT2LMHeadModel.from_pretrained(GPT2, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    else:
        model = transformers.LlamaForCausalLM.from_pretrained(LLAMA)
    out = tempfile.mkdtemp()
    kw = dict(output_dir=out, learning_rate=1e-3, logging_steps=1, eval_strategy="epoch",
              per_device_eval_batch_size=4, save_strategy="no", report_to=[], seed=42, use_cpu=True,
              per_device_train_batch_size=4, num_train_epochs=1, lr_scheduler_type="linear")
    kw.update(extra)
    args = transformers.TrainingArguments(**kw)
    cls = transformers.Trainer if own_sampler else Seq
    tr = cls(model=model, args=args, train_dataset=rows(train), eval_dataset=rows(evald))
    res = tr.train()
    shutil.rmtree(out)
    sd = model.state_dict()
    for k in KEPT[arch]:
        weights[f"{name}/{k}"] = sd[k].contiguous().clone()
    hist = tr.state.log_history
    # the model card's hyperparameters (Trainer.create_model_card), as text
    from transformers.modelcard import extract_hyperparameters_from_trainer
    hyper = {k: str(v) for k, v in extract_hyperparameters_from_trainer(tr).items()}
    return {"name": name, "model": arch, "hyperparameters": hyper, "args": {k: v for k, v in kw.items() if k not in ("output_dir", "report_to", "use_cpu")},
            "log_history": hist, "global_step": res.global_step, "training_loss": res.training_loss,
            "num_input_tokens_seen": tr.state.num_input_tokens_seen}


def accum_over_64(weights):
    """70 micro-batches of one block per optimizer step (the old 64 cap)."""
    g = torch.Generator().manual_seed(9)
    train = torch.randint(0, 96, (70, 8), generator=g).tolist()
    evald = torch.randint(0, 96, (4, 8), generator=g).tolist()
    r = run("accum70", dict(per_device_train_batch_size=1, gradient_accumulation_steps=70, num_train_epochs=2,
                            max_grad_norm=1.0, weight_decay=0.01), False, train, evald, weights)
    r["train_blocks"], r["eval_blocks"] = train, evald
    return r


def mlm_label_smoothing(weights):
    """label_smoothing_factor 0.1 on the MLM run of make_mlm_trainer_fixtures.py (its recorded
    DataCollatorForLanguageModeling batches, BERT's decoder bias: the smoothed gradient scaled
    where the bias needs it); tests/test_mlm_trainer.c."""
    with open(os.path.join(ROOT, "tests", "fixtures", "train", "mlm", "mlm_trainer.json")) as f:
        mlm = json.load(f)
    flat = [{k: torch.tensor(bt[k][i]) for k in bt} for bt in mlm["batches"] for i in range(len(bt["input_ids"]))]

    model = transformers.BertForMaskedLM.from_pretrained(os.path.join(ROOT, "tests", "fixtures", "models", "bert"),
                                                         hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    out = tempfile.mkdtemp()
    kw = dict(per_device_train_batch_size=4, num_train_epochs=1, learning_rate=1e-3, lr_scheduler_type="linear",
              warmup_steps=3, weight_decay=0.01, max_grad_norm=1.0, label_smoothing_factor=0.1)
    args = transformers.TrainingArguments(output_dir=out, logging_steps=1, eval_strategy="no", save_strategy="no",
                                          report_to=[], seed=42, use_cpu=True, **kw)
    tr = Seq(model=model, args=args, train_dataset=flat, data_collator=stack)
    res = tr.train()
    shutil.rmtree(out)
    sd = model.state_dict()
    for k in ["bert.embeddings.word_embeddings.weight", "bert.encoder.layer.0.attention.self.query.weight",
              "bert.encoder.layer.0.output.LayerNorm.weight", "cls.predictions.transform.dense.weight",
              "cls.predictions.bias"]:
        weights[f"mlm_label_smoothing/{k}"] = sd[k].contiguous().clone()
    return {"name": "mlm_label_smoothing", "model": "bert", "args": kw, "log_history": tr.state.log_history,
            "global_step": res.global_step, "training_loss": res.training_loss, "num_input_tokens_seen": 0}


def seq2seq_label_smoothing(weights):
    """label_smoothing_factor 0.1 on the tiny Marian fixture (dropout off): the LabelSmoother without
    the causal shift (MarianMTModel is no causal LM), padded sources and labels (-100), the decoder
    input shifted from the labels as DataCollatorForSeq2Seq does; evaluation each epoch."""
    g = torch.Generator().manual_seed(13)
    pad, start = 95, 95
    rows_ = []
    for r in range(24):
        ns, nt = 8 - (r % 3), 7 - (r % 4)
        src = torch.randint(1, 95, (ns,), generator=g).tolist() + [0]
        tgt = torch.randint(1, 95, (nt,), generator=g).tolist() + [0]
        src += [pad] * (9 - len(src))
        lab = tgt + [-100] * (8 - len(tgt))
        dec = [start] + [pad if x == -100 else x for x in lab[:-1]]
        rows_.append({"input_ids": src, "attention_mask": [int(x != pad) for x in src], "labels": lab,
                      "decoder_input_ids": dec})
    tensors = [{k: torch.tensor(v) for k, v in r.items()} for r in rows_]

    model = transformers.MarianMTModel.from_pretrained(os.path.join(ROOT, "tests", "fixtures", "models", "marian"),
                                                       dropout=0.0)
    out = tempfile.mkdtemp()
    kw = dict(per_device_train_batch_size=4, num_train_epochs=2, learning_rate=1e-3, lr_scheduler_type="linear",
              warmup_steps=2, weight_decay=0.01, label_smoothing_factor=0.1, per_device_eval_batch_size=4)
    args = transformers.TrainingArguments(output_dir=out, logging_steps=1, eval_strategy="epoch", save_strategy="no",
                                          report_to=[], seed=42, use_cpu=True, **kw)
    tr = Seq(model=model, args=args, train_dataset=tensors, eval_dataset=tensors[:8], data_collator=stack)
    res = tr.train()
    shutil.rmtree(out)
    sd = model.state_dict()
    for k in ["model.shared.weight", "model.encoder.layers.0.self_attn.q_proj.weight",
              "model.decoder.layers.1.encoder_attn.v_proj.bias", "model.decoder.layers.1.final_layer_norm.weight",
              "model.decoder.layers.0.fc2.weight"]:
        weights[f"seq2seq_label_smoothing/{k}"] = sd[k].contiguous().clone()
    return {"name": "seq2seq_label_smoothing", "model": "marian", "args": kw, "rows": rows_,
            "log_history": tr.state.log_history, "global_step": res.global_step, "training_loss": res.training_loss,
            "num_input_tokens_seen": 0}


def length_grouped():
    g = torch.Generator().manual_seed(3)
    cases = []
    for n, bs, seed in [(40, 4, 42), (203, 8, 7), (9, 4, 1), (1000, 2, 123)]:
        lengths = torch.randint(1, 60, (n,), generator=g).tolist()
        torch.manual_seed(seed)   # transformers.set_seed: the global generator the sampler draws from
        sampler = LengthGroupedSampler(bs, lengths=lengths)
        orders = [list(iter(sampler)) for _ in range(3)]
        cases.append({"batch_size": bs, "seed": seed, "lengths": lengths, "orders": orders})
    return cases


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    train, evald = blocks()
    weights = {}
    runs = [run(r[0], r[1], r[2], train, evald, weights, *r[3:]) for r in RUNS]
    runs.append(accum_over_64(weights))
    runs.append(mlm_label_smoothing(weights))
    runs.append(seq2seq_label_smoothing(weights))
    ref = {"transformers": transformers.__version__, "torch": torch.__version__, "runs": runs,
           "length_grouped": length_grouped()}
    with open(os.path.join(OUT, "trainer_features.json"), "w") as f:
        json.dump(ref, f, indent=None)
    save_file(weights, os.path.join(OUT, "final.safetensors"))
    print("wrote", OUT)
