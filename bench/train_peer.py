"""The transformers Trainer on the distilgpt2 configuration (random weights),
batch 8 x 128, 2 threads: training and evaluation tokens/s and peak RSS.
The peer of `lmtune train --task mlm` in bench/run_mlm_bench.sh (GPT-2 has
bench/gpt2_peer.py).

usage: train_peer.py CONFIG.json STEPS EVAL_BLOCKS [mlm TOKENIZER_DIR]
(mlm: RobertaForMaskedLM / BertForMaskedLM with DataCollatorForLanguageModeling)
"""
import json
import resource
import sys
import tempfile
import time

import torch
import transformers as T


def main():
    cfg_path, steps, n_eval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(2)
    cfg = json.load(open(cfg_path))
    mlm = len(sys.argv) > 4 and sys.argv[4] == "mlm"
    cfg.setdefault("model_type", "gpt2")
    config = T.AutoConfig.for_model(cfg.pop("model_type"), **cfg)
    torch.manual_seed(0)
    collator = None
    if mlm:
        model = T.AutoModelForMaskedLM.from_config(config)
        tok = T.RobertaTokenizerFast.from_pretrained(sys.argv[5]) if config.model_type == "roberta" else T.BertTokenizerFast.from_pretrained(sys.argv[5])
        collator = T.DataCollatorForLanguageModeling(tok, mlm_probability=0.15)
    else:
        model = T.GPT2LMHeadModel(config)
    g = torch.Generator().manual_seed(1)
    blocks = torch.randint(0, config.vocab_size, (8 * (steps + 1), 128), generator=g)
    if mlm:
        blocks = torch.randint(5, config.vocab_size - 1, (8 * (steps + 1), 128), generator=g)
        data = [{"input_ids": b.tolist()} for b in blocks]
    else:
        data = [{"input_ids": b, "attention_mask": torch.ones(128, dtype=torch.long), "labels": b} for b in blocks]
    eval_data = data[:n_eval]
    args = T.TrainingArguments(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=8, per_device_eval_batch_size=8,
                               max_steps=steps + 1, learning_rate=2e-5, weight_decay=0.01, logging_steps=1000,
                               save_strategy="no", report_to=[], use_cpu=True, disable_tqdm=True, dataloader_num_workers=0)
    times = []

    class Timer(T.TrainerCallback):
        def on_step_begin(self, a, s, c, **k):
            self.t = time.perf_counter()

        def on_step_end(self, a, s, c, **k):
            times.append(time.perf_counter() - self.t)

    tr = T.Trainer(model=model, args=args, train_dataset=data, eval_dataset=eval_data, callbacks=[Timer()],
                   data_collator=collator)
    tr.train()
    step = sum(times[1:]) / max(len(times) - 1, 1)     # the first step warms up
    t0 = time.perf_counter()
    tr.evaluate()
    ev = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"train_tokens_per_s": 8 * 128 / step, "eval_tokens_per_s": n_eval * 128 / ev, "peak_rss_mib": rss,
                      "torch": torch.__version__, "transformers": T.__version__}))


if __name__ == "__main__":
    main()
