"""peft + transformers' Trainer on the job bench/bench_lora runs: a causal LM
from a config (random weights), batch B x T of random ids (labels = ids),
full fine-tuning or LoRA (get_peft_model with LoraConfig), the Trainer's
whole step (forward, backward, clipping, AdamW) timed in steady state: wall
and process CPU time per step, peak RSS. The peer of bench/run_lora_bench.sh.

usage: lora_peer.py CONFIG.json full|lora STEPS [R TARGETS DROPOUT] [BATCH BLOCK]
(TARGETS: comma-separated module names, or all-linear)
"""
import json
import os
import resource
import sys
import tempfile
import time

import torch
import transformers as T


def main():
    cfg_path, mode, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    r, targets, dropout = (int(sys.argv[4]), sys.argv[5], float(sys.argv[6])) if mode == "lora" else (0, "", 0.0)
    B, L = (int(sys.argv[7]), int(sys.argv[8])) if len(sys.argv) > 8 else (8, 128)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    cfg = json.load(open(cfg_path))
    cfg.setdefault("model_type", "gpt2")
    for k in ("architectures", "transformers_version", "torch_dtype"):
        cfg.pop(k, None)
    config = T.AutoConfig.for_model(cfg.pop("model_type"), **cfg)
    torch.manual_seed(0)
    model = T.AutoModelForCausalLM.from_config(config)
    if mode == "lora":
        import peft
        tm = "all-linear" if targets == "all-linear" else targets.split(",")
        lc = peft.LoraConfig(r=r, lora_alpha=2 * r, lora_dropout=dropout, target_modules=tm, task_type="CAUSAL_LM")
        model = peft.get_peft_model(model, lc)
    g = torch.Generator().manual_seed(1)
    blocks = torch.randint(0, config.vocab_size, (B * (steps + 1), L), generator=g)
    data = [{"input_ids": b, "attention_mask": torch.ones(L, dtype=torch.long), "labels": b} for b in blocks]
    args = T.TrainingArguments(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=B, max_steps=steps + 1,
                               learning_rate=1e-4, weight_decay=0.0, logging_steps=1000, save_strategy="no", report_to=[],
                               use_cpu=True, disable_tqdm=True, dataloader_num_workers=0)
    times = []

    class Timer(T.TrainerCallback):
        def on_step_begin(self, a, s, c, **k):
            self.t, self.c = time.perf_counter(), time.process_time()

        def on_step_end(self, a, s, c, **k):
            times.append((time.perf_counter() - self.t, time.process_time() - self.c))

    T.Trainer(model=model, args=args, train_dataset=data, callbacks=[Timer()]).train()
    steady = times[1:] or times   # the first step warms up
    wall = sum(t for t, _ in steady) / len(steady)
    cpu = sum(c for _, c in steady) / len(steady)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(json.dumps({"impl": "peft" if mode == "lora" else "transformers", "mode": mode, "arch": config.model_type,
                      "batch": B, "block": L, "r": r, "targets": targets, "dropout": dropout, "trainable": trainable,
                      "step_ms": 1e3 * wall, "cpu_ms": 1e3 * cpu, "tokens_per_s": B * L / wall,
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "threads": torch.get_num_threads(), "torch": torch.__version__, "transformers": T.__version__,
                      "peft": __import__("peft").__version__}))


if __name__ == "__main__":
    main()
