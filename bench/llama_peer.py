"""The PyTorch / transformers peer of bench/bench_llama.c: the same job on a
Llama-family configuration (random initialisation) with transformers'
Trainer and model.generate(), as one JSON line. Run by
bench/run_llama_bench.sh and bench/run_llama_memory.sh, which tune the
process (2 threads, jemalloc that keeps its memory).

usage: llama_peer.py train|eval|generate CONFIG_DIR [--bf16] [--gc] [--steps N] [--batch B] [--block T] [--new N] [--prompt P]
--gc: TrainingArguments(gradient_checkpointing=True). A warm-up step runs
before the timed ones (--steps 0: the warm-up alone, for the peak memory;
tokens_per_s then 0). tokens_per_cpu_s divides by the process's CPU time
(user + system, all threads). peak_rss_mib is getrusage's ru_maxrss of the
whole process.
"""
import argparse
import json
import resource
import tempfile
import time

import torch
import transformers as T


def cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["train", "eval", "generate"])
    ap.add_argument("config")
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--gc", action="store_true")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--block", type=int, default=256)
    ap.add_argument("--new", type=int, default=64)
    ap.add_argument("--prompt", type=int, default=8)
    a = ap.parse_args()
    torch.set_num_threads(2)
    config = T.AutoConfig.from_pretrained(a.config)
    torch.manual_seed(0)
    model = T.AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    g = torch.Generator().manual_seed(1)
    B, L = a.batch, a.block
    V = config.vocab_size
    result = {"impl": "transformers", "mode": a.mode, "bf16": a.bf16, "gc": a.gc, "batch": B, "block": L}
    if a.mode == "generate":
        model.eval()
        prompt = torch.randint(0, V, (1, a.prompt), generator=g)
        kw = dict(max_new_tokens=a.new, min_new_tokens=a.new, do_sample=False, pad_token_id=0)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
            model.generate(prompt, max_new_tokens=4, min_new_tokens=4, do_sample=False, pad_token_id=0)   # warm-up
            t0, c0 = time.perf_counter(), cpu_s()
            out = model.generate(prompt, **kw)
            dt, dc = time.perf_counter() - t0, cpu_s() - c0
        n_new = out.shape[1] - a.prompt
        result.update(batch=1, block=a.prompt, tokens_per_s=n_new / dt, tokens_per_cpu_s=n_new / dc)
    else:
        n = B * (a.steps + 1)
        blocks = torch.randint(0, V, (n, L), generator=g)
        data = [{"input_ids": b, "attention_mask": torch.ones(L, dtype=torch.long), "labels": b} for b in blocks]
        args = T.TrainingArguments(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=B,
                                   per_device_eval_batch_size=B, max_steps=a.steps + 1, learning_rate=1e-4,
                                   weight_decay=0.01, logging_steps=1000, save_strategy="no", report_to=[],
                                   use_cpu=True, disable_tqdm=True, dataloader_num_workers=0, bf16=a.bf16,
                                   gradient_checkpointing=a.gc)
        times, cpus = [], []

        class Timer(T.TrainerCallback):
            def on_step_begin(self, args, state, control, **kw):
                self.t, self.c = time.perf_counter(), cpu_s()

            def on_step_end(self, args, state, control, **kw):
                times.append(time.perf_counter() - self.t)
                cpus.append(cpu_s() - self.c)

        tr = T.Trainer(model=model, args=args, train_dataset=data, eval_dataset=data[B:], callbacks=[Timer()])
        if a.mode == "train":
            res = tr.train()
            step = sum(times[1:]) / max(len(times) - 1, 1)     # the first step warms up
            result["tokens_per_s"] = B * L / step if step > 0 else 0.0
            cpu = sum(cpus[1:]) / max(len(cpus) - 1, 1)
            result["tokens_per_cpu_s"] = B * L / cpu if cpu > 0 else 0.0
            result["loss"] = res.training_loss
        else:
            m = tr.evaluate(eval_dataset=data[:B])             # warm-up
            if a.steps:
                t0, c0 = time.perf_counter(), cpu_s()
                m = tr.evaluate()
                result["tokens_per_s"] = B * a.steps * L / (time.perf_counter() - t0)
                result["tokens_per_cpu_s"] = B * a.steps * L / (cpu_s() - c0)
            else:
                result["tokens_per_s"] = 0.0
            result["loss"] = m["eval_loss"]
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["threads"] = torch.get_num_threads()
    result["torch"] = torch.__version__
    result["transformers"] = T.__version__
    print(json.dumps(result))


if __name__ == "__main__":
    main()
