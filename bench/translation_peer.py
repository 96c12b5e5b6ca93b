"""PyTorch / transformers side of bench/run_translation_bench.sh: MarianMTModel
on a Marian configuration (random weights), 2 threads, on the batch that
bench_marian_step dumped (the same token ids, padding and decoder inputs).

usage: translation_peer.py train CONFIG.json BATCH.json STEPS
       translate CONFIG.json BATCH.json NUM_BEAMS MAX_LENGTH

train: a plain torch training loop doing what Seq2SeqTrainer's step does
(model.train() so dropout is on, forward with labels, backward, clip grad
norm 1.0, torch.optim.AdamW lr 5e-5 weight decay 0.01 without decay for
biases and LayerNorm weights, zero_grad), one warm-up step, then the mean
step time: tokens/s over B x (Ts + Tt) padded positions.
translate: model.generate(num_beams, max_length, min_length = max_length
so that no row stops early) over the whole batch of sources: sentences/s.
Prints one JSON line; peak RSS includes the Python and torch runtime.
"""
import json
import resource
import sys
import time

import torch
import transformers as T


def main():
    mode, cfg_path, batch_path = sys.argv[1], sys.argv[2], sys.argv[3]
    torch.set_num_threads(2)
    cfg = json.load(open(cfg_path))
    cfg.pop("model_type", None)
    config = T.MarianConfig(**cfg)
    torch.manual_seed(0)
    model = T.MarianMTModel(config)
    b = json.load(open(batch_path))
    ids = torch.tensor(b["input_ids"])
    mask = torch.tensor(b["attention_mask"])
    out = {"torch": torch.__version__, "transformers": T.__version__, "threads": torch.get_num_threads()}
    if mode == "train":
        steps = int(sys.argv[4])
        labels, dec = torch.tensor(b["labels"]), torch.tensor(b["decoder_input_ids"])
        decay, no_decay = [], []
        for n, p in model.named_parameters():
            if not p.requires_grad:
                continue
            (no_decay if n.endswith("bias") or "layer_norm" in n else decay).append(p)
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                                lr=5e-5)
        model.train()
        times = []
        for s in range(steps + 1):
            t0 = time.perf_counter()
            loss = model(input_ids=ids, attention_mask=mask, decoder_input_ids=dec, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad()
            times.append(time.perf_counter() - t0)
        step = sum(times[1:]) / steps
        B, Ts, Tt = ids.shape[0], ids.shape[1], labels.shape[1]
        out.update(train_tokens_per_s=B * (Ts + Tt) / step, step_s=step, loss=loss.item())
    else:
        nb, L = int(sys.argv[4]), int(sys.argv[5])
        model.eval()
        t0 = time.perf_counter()
        with torch.inference_mode():
            gen = model.generate(input_ids=ids, attention_mask=mask, num_beams=nb, max_length=L, min_length=L,
                                 num_return_sequences=1)
        dt = time.perf_counter() - t0
        out.update(sentences_per_s=ids.shape[0] / dt, generate_s=dt, out_len=gen.shape[1])
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


if __name__ == "__main__":
    main()
