"""TRL's SFTTrainer (trl 1.16.0, transformers 5.23) on small JSON Lines
datasets with a real tokenizer and chat template (SmolLM2-135M-Instruct's,
from the shared data), for lmtune's SFT tests (tests/test_sft_data.c,
tests/test_sft_trainer.c).

Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_sft_fixtures.py [--shared DIR]
Writes tests/fixtures/sft/:
  data/messages.jsonl            conversations ({"messages": [...]}, some with a system turn, multi-turn)
  data/prompt_completion.jsonl   {"prompt": str, "completion": str}
  data/prompt_completion_chat.jsonl  {"prompt": [messages], "completion": [messages]}
  data/text.jsonl                {"text": str, "body": str}
  data/qa.jsonl                  {"question", "answer", "id"}: rows for formatting_func (qa_format.jinja renders
                                 the text the script's formatting function makes, for --formatting_template)
  chatml_generation.jinja        TRL's qwen2_5_training.jinja (ChatML with {% generation %} markers)
  prepared.json                  per case: SFTConfig settings and the prepared train dataset
                                 (input_ids, labels, seq_lengths when packed) exactly as SFTTrainer
                                 holds it, and the first collated batches (sequential order)
  tiny-smollm2/                  a tiny LlamaForCausalLM with SmolLM2's vocabulary (bf16 weights)
  trainer.json                   per run: the SFTTrainer log history (loss, grad_norm, learning_rate,
                                 entropy, mean_token_accuracy, num_tokens every step; grad_norm_f64: the same gradient norm summed in float64),
                                 fp32, the Trainer's random order; eval_history: eval_loss every 10 steps
                                 (the training file as evaluation set) for the first two runs
Deterministic: a re-run rewrites the same bytes.
"""
import argparse
import json
import os
import shutil
import tempfile

import torch
import transformers as T
import trl
from datasets import Dataset
from trl import SFTConfig, SFTTrainer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "sft")

SUBJECTS = ["the sky", "a cat", "the ocean", "my garden", "the old bridge", "a red kite", "the library", "winter",
            "a violin", "the mountain road", "coffee", "the tide"]
VERBS = ["looks", "feels", "sounds", "seems", "became", "stays"]
ADJS = ["blue", "quiet", "enormous", "bright", "strange", "warm", "calm", "ancient"]
QUESTIONS = ["What colour is {s}?", "Why does {s} look {a}?", "Tell me about {s}.", "Is {s} {a}?",
             "Describe {s} in one sentence.", "How would you paint {s}?"]


def sentence(i, words=1):
    out = []
    for k in range(words):
        j = i * 7 + k * 3
        out.append(f"{SUBJECTS[j % len(SUBJECTS)].capitalize()} {VERBS[j % len(VERBS)]} {ADJS[(j // 2) % len(ADJS)]}")
    return ". ".join(out) + "."


def write_data(d):
    os.makedirs(d, exist_ok=True)
    rows = []
    for i in range(24):
        s, a = SUBJECTS[i % len(SUBJECTS)], ADJS[i % len(ADJS)]
        msgs = []
        if i % 4 == 1:
            msgs.append({"role": "system", "content": "You answer briefly." if i % 8 == 1 else "You are a poet."})
        msgs.append({"role": "user", "content": QUESTIONS[i % len(QUESTIONS)].format(s=s, a=a)})
        msgs.append({"role": "assistant", "content": sentence(i, 1 + i % 3)})
        if i % 3 == 2:
            msgs.append({"role": "user", "content": "And then? ¿Qué más?" if i % 6 == 2 else "Say more."})
            msgs.append({"role": "assistant", "content": sentence(i + 5, 1 + (i // 3) % 4)})
        rows.append({"messages": msgs})
    pc = [{"prompt": QUESTIONS[i % len(QUESTIONS)].format(s=SUBJECTS[i % 12], a=ADJS[i % 8]),
           "completion": " " + sentence(i + 2, 1 + i % 3)} for i in range(20)]
    pc[3]["completion"] += "<|im_end|>"   # already ends with the EOS: not appended again
    pcc = [{"prompt": ([{"role": "system", "content": "Be kind."}] if i % 5 == 0 else [])
            + [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)].format(s=SUBJECTS[(i + 3) % 12], a=ADJS[i % 8])}],
            "completion": [{"role": "assistant", "content": sentence(i + 9, 1 + i % 2)}]} for i in range(16)]
    text = [{"text": sentence(i + 1, 1 + i % 5), "body": "Note " + str(i) + ": " + sentence(i + 4, 1 + i % 2)}
            for i in range(20)]
    qa = [{"question": QUESTIONS[i % len(QUESTIONS)].format(s=SUBJECTS[(i + 5) % 12], a=ADJS[(i + 1) % 8]),
           "answer": sentence(i + 11, 1 + i % 2), "id": i} for i in range(12)]
    for name, rs in (("messages", rows), ("prompt_completion", pc), ("prompt_completion_chat", pcc), ("text", text),
                     ("qa", qa)):
        with open(os.path.join(d, name + ".jsonl"), "w", encoding="utf-8") as f:
            for r in rs:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")


def load_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def tiny_model(path):
    torch.manual_seed(0)
    cfg = T.LlamaConfig(vocab_size=49152, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                        num_attention_heads=2, num_key_value_heads=1, head_dim=8, max_position_embeddings=256,
                        rms_norm_eps=1e-5, rope_theta=100000.0, tie_word_embeddings=True, bos_token_id=1,
                        eos_token_id=2, pad_token_id=2)
    m = T.LlamaForCausalLM(cfg)
    with torch.no_grad():
        for n, p in m.named_parameters():
            if "norm" in n:
                p.add_(0.1 * torch.randn_like(p))
    m.to(torch.bfloat16).save_pretrained(path)


def config(out_dir, **kw):
    base = dict(output_dir=out_dir, report_to="none", bf16=False, save_strategy="no", logging_steps=1, seed=42,
                dataset_num_proc=None, use_cpu=True)
    base.update(kw)
    return SFTConfig(**base)


def qa_format(example):
    return f"### Question: {example['question']}\n### Answer: {example['answer']}"


def prepare(model_dir, tok, rows, tmp, **kw):
    model = T.AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    fmt = qa_format if kw.pop("formatting_template", None) else None
    tr = SFTTrainer(model=model, args=config(tmp, **kw), train_dataset=Dataset.from_list(rows), processing_class=tok,
                    formatting_func=fmt)
    ds = tr.train_dataset
    ex = []
    for r in ds:
        e = {"input_ids": list(r["input_ids"]), "labels": list(r["labels"])}
        if "seq_lengths" in r:
            e["seq_lengths"] = list(r["seq_lengths"])
        ex.append(e)
    # the first batches as the collator builds them (sequential order)
    bs = tr.args.per_device_train_batch_size
    batches = []
    for b0 in range(0, min(len(ds), 2 * bs), bs):
        b = tr.data_collator([ds[i] for i in range(b0, min(b0 + bs, len(ds)))])
        batches.append({k: v.tolist() for k, v in b.items() if k in ("input_ids", "labels", "attention_mask", "position_ids")})
    return {"examples": ex, "batches": batches, "padding_free": bool(tr.padding_free),
            "completion_only_loss": bool(tr.completion_only_loss)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--prepared_only", action="store_true", help="rewrite prepared.json only (not trainer.json)")
    args = ap.parse_args()
    assert trl.__version__ == "1.16.0", trl.__version__
    tok_dir = os.path.join(args.shared, "llama-family", "SmolLM2-135M-Instruct")
    out = args.out
    write_data(os.path.join(out, "data"))
    src = os.path.join(os.path.dirname(trl.__file__), "chat_templates", "qwen2_5_training.jinja")
    shutil.copyfile(src, os.path.join(out, "chatml_generation.jinja"))
    # formatting_func, and the Jinja template that renders the same text for lmtune's --formatting_template
    with open(os.path.join(out, "qa_format.jinja"), "w") as f:
        f.write("### Question: {{ question }}\n### Answer: {{ answer }}")
    model_dir = os.path.join(out, "tiny-smollm2")
    tiny_model(model_dir)
    data = {n: load_jsonl(os.path.join(out, "data", n + ".jsonl"))
            for n in ("messages", "prompt_completion", "prompt_completion_chat", "text", "qa")}
    gen_tmpl = os.path.join(out, "chatml_generation.jinja")
    cases = [
        ("messages", "messages", {}),
        ("messages_assistant_only", "messages", {"assistant_only_loss": True, "chat_template_path": gen_tmpl}),
        ("messages_truncated", "messages", {"max_length": 24}),
        ("messages_packed", "messages", {"packing": True, "max_length": 64}),
        ("messages_packed_split", "messages", {"packing": True, "max_length": 40, "packing_strategy": "bfd_split"}),
        ("messages_wrapped", "messages", {"packing": True, "max_length": 48, "packing_strategy": "wrapped"}),
        ("prompt_completion", "prompt_completion", {}),
        ("prompt_completion_full", "prompt_completion", {"completion_only_loss": False}),
        ("prompt_completion_truncated", "prompt_completion", {"max_length": 12}),
        ("prompt_completion_chat", "prompt_completion_chat", {}),
        ("prompt_completion_chat_assistant", "prompt_completion_chat",
         {"assistant_only_loss": True, "chat_template_path": gen_tmpl}),
        ("prompt_completion_packed", "prompt_completion", {"packing": True, "max_length": 32}),
        ("text", "text", {}),
        ("text_body", "text", {"dataset_text_field": "body"}),
        ("text_packed", "text", {"packing": True, "max_length": 32}),
        ("qa_formatted", "qa", {"formatting_template": "qa_format.jinja"}),
        ("messages_shuffled", "messages", {"shuffle_dataset": True}),
        ("messages_truncated_end", "messages", {"max_length": 24, "truncation_mode": "keep_end"}),
        ("text_eos", "text", {"eos_token": "<|endoftext|>"}),
        ("text_packed_shuffled", "text", {"packing": True, "max_length": 32, "shuffle_dataset": True}),
    ]
    prepared = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, ds, kw in cases:
            tok = T.AutoTokenizer.from_pretrained(tok_dir)
            kw = dict(kw, per_device_train_batch_size=4)
            settings = {k: (os.path.basename(v) if k == "chat_template_path" else v) for k, v in kw.items()}
            r = prepare(model_dir, tok, data[ds], tmp, **kw)
            prepared[name] = {"data": ds + ".jsonl", "settings": settings, **r}
            print(name, len(r["examples"]), "examples")
    with open(os.path.join(out, "prepared.json"), "w") as f:
        json.dump(prepared, f, separators=(",", ":"))
        f.write("\n")
    if args.prepared_only:
        return

    runs = [
        ("messages", "messages", {"per_device_train_batch_size": 4, "gradient_accumulation_steps": 2,
                                  "eval_strategy": "steps", "eval_steps": 10, "per_device_eval_batch_size": 5}, None),
        ("prompt_completion_packed", "prompt_completion",
         {"packing": True, "max_length": 32, "per_device_train_batch_size": 2,
          "eval_strategy": "steps", "eval_steps": 10, "per_device_eval_batch_size": 4}, None),
        ("messages_lora_assistant", "messages",
         {"assistant_only_loss": True, "chat_template_path": gen_tmpl, "per_device_train_batch_size": 4}, "lora"),
    ]
    trainer = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, ds, kw, peft in runs:
            tok = T.AutoTokenizer.from_pretrained(tok_dir)
            model = T.AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
            kw = dict(kw, max_steps=30, learning_rate=1e-3, warmup_steps=3, weight_decay=0.01)
            peft_config = None
            if peft:
                from peft import LoraConfig
                peft_config = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj", "down_proj"],
                                         task_type="CAUSAL_LM")
                kw["learning_rate"] = 1e-2
            # evaluation (where asked) on the training file itself, prepared the same way
            ev = Dataset.from_list(data[ds]) if "eval_strategy" in kw else None
            tr = SFTTrainer(model=model, args=config(tmp, **kw), train_dataset=Dataset.from_list(data[ds]),
                            eval_dataset=ev, processing_class=tok, peft_config=peft_config)
            # the Trainer logs clip_grad_norm_'s float32 norm, whose summation over the 786k embedding
            # gradients is off by ~3e-5 relative; the same norm in float64 is recorded beside it
            exact = []
            clip = tr.accelerator.clip_grad_norm_

            def clip_f64(parameters, *a, **k):
                parameters = list(parameters)
                exact.append(sum(float((p.grad.double() ** 2).sum()) for p in parameters if p.grad is not None) ** 0.5)
                return clip(parameters, *a, **k)
            tr.accelerator.clip_grad_norm_ = clip_f64
            tr.train()
            hist = [{k: h[k] for k in ("loss", "grad_norm", "learning_rate", "entropy", "mean_token_accuracy", "num_tokens",
                                       "step") if k in h} for h in tr.state.log_history if "loss" in h]
            for h in hist:
                h["grad_norm_f64"] = exact[h["step"] - 1]
            settings = {k: (os.path.basename(v) if k == "chat_template_path" else v) for k, v in kw.items()}
            lora = None
            if peft:
                lora = {"r": 4, "lora_alpha": 8, "lora_dropout": 0.0, "target_modules": ["q_proj", "v_proj", "down_proj"]}
            evals = [{k: h[k] for k in ("eval_loss", "eval_entropy", "eval_mean_token_accuracy", "eval_num_tokens", "step")}
                     for h in tr.state.log_history if "eval_loss" in h]
            trainer[name] = {"data": ds + ".jsonl", "settings": settings, "lora": lora, "log_history": hist,
                             "eval_history": evals, "train_samples": len(tr.train_dataset)}
            print(name, hist[0], hist[-1])
    with open(os.path.join(out, "trainer.json"), "w") as f:
        json.dump(trainer, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
