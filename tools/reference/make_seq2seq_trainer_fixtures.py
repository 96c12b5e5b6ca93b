"""Reference run of transformers' Seq2SeqTrainer (run_translation.py's
compute_metrics: sacreBLEU on decoded generations, gen_len) for lmtune's
translation training (tests/test_seq2seq_trainer.c).

A tiny random MarianMTModel over the real Marian tokenizer of
../shared/data/tokenizers/opus-mt-tc-big-en-pt (its 54,776-token vocabulary,
d_model 16, 1 encoder + 1 decoder layer, dropout off) is trained 30 steps
on 8 short KDE en->fr pairs (40 rows) with the Trainer's own RandomSampler (seed 42),
logging every step (gradient norms summed in float64, see
exact_clip_grad_norm_), evaluating (eval_loss + generation + BLEU) before
training, every 15 steps and after training.

Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_seq2seq_trainer_fixtures.py
Writes tests/fixtures/seq2seq_trainer/{model/,reference.json}.
"""
import json
import os
import shutil
import tempfile

import numpy as np
import sacrebleu
import torch
import transformers as T

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SHARED = os.environ.get("LMT_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
TOK = os.path.join(SHARED, "tokenizers", "opus-mt-tc-big-en-pt")
KDE = os.path.join(SHARED, "kde-en-fr", "kde.jsonl")
OUT = os.path.join(ROOT, "tests", "fixtures", "seq2seq_trainer")

ARGS = dict(learning_rate=2e-2, per_device_train_batch_size=8, per_device_eval_batch_size=4, max_steps=30,
            warmup_steps=3, weight_decay=0.01, lr_scheduler_type="linear", logging_steps=1, eval_strategy="steps",
            eval_steps=15, save_strategy="no", seed=42, predict_with_generate=True)


def exact_clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """torch.nn.utils.clip_grad_norm_ with the norm summed in float64.
    torch's float32 norm of the 876,416-element shared embedding gradient
    (a few large rows, ~870k tiny lm_head entries) drops the tiny squares:
    1.5e-4 relative too small at step 1 (0.7810639 vs the exact 0.7811793),
    which the clipping then feeds back into training. lmtune sums in
    float64; the reference does too so that a 1e-4 comparison measures
    lmtune, not float32 round-off. Clipping itself is torch's (float32
    clip_coef = max_norm / (norm + 1e-6), clamped to 1)."""
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.sqrt(sum((g.double() ** 2).sum() for g in grads)).float()
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(coef)
    return total


def pairs():
    """40 training rows (the first 8 short KDE pairs in file order whose
    French has " de ", 5 times, so that 30 steps teach a tiny model a word
    the references share and BLEU is not 0) and 8 evaluation pairs (4 seen
    in training, 4 not)."""
    out = []
    with open(KDE, encoding="utf-8") as f:
        for line in f:
            t = json.loads(line)["translation"]
            if 4 <= len(t["en"]) <= 32 and 4 <= len(t["fr"]) <= 40 and " de " in t["fr"]:
                out.append({"en": t["en"], "fr": t["fr"]})
            if len(out) == 12:
                break
    return out[:8] * 5, out[:4] + out[8:12]


def main():
    torch.nn.utils.clip_grad_norm_ = exact_clip_grad_norm_   # accelerate calls it through the module
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    tok = T.MarianTokenizer.from_pretrained(TOK)
    pad, eos = tok.pad_token_id, tok.eos_token_id
    cfg = T.MarianConfig(vocab_size=len(tok), decoder_vocab_size=len(tok), d_model=16, encoder_layers=1, decoder_layers=1,
                         encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
                         max_position_embeddings=64, dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
                         pad_token_id=pad, eos_token_id=eos, decoder_start_token_id=pad, forced_eos_token_id=eos,
                         activation_function="swish", scale_embedding=True, share_encoder_decoder_embeddings=True)
    torch.manual_seed(0)
    model = T.MarianMTModel(cfg)
    gc = model.generation_config
    gc.decoder_start_token_id, gc.pad_token_id, gc.eos_token_id, gc.forced_eos_token_id = pad, pad, eos, eos
    gc.bad_words_ids = [[pad]]
    gc.num_beams = 4
    gc.max_length = 16
    mdir = os.path.join(OUT, "model")
    if os.path.isdir(mdir):
        shutil.rmtree(mdir)
    os.makedirs(mdir)
    model.save_pretrained(mdir)

    train_pairs, eval_pairs = pairs()

    def encode(p):
        e = tok(p["en"], text_target=p["fr"], max_length=128, truncation=True)
        return {"input_ids": e["input_ids"], "attention_mask": e["attention_mask"], "labels": e["labels"]}

    train = [encode(p) for p in train_pairs]
    evald = [encode(p) for p in eval_pairs]
    preds_seen = []

    # run_translation.py's compute_metrics
    def compute_metrics(eval_preds):
        preds, labels = eval_preds
        if isinstance(preds, tuple):
            preds = preds[0]
        preds = np.where(preds != -100, preds, tok.pad_token_id)
        decoded_preds = tok.batch_decode(preds, skip_special_tokens=True)
        labels = np.where(labels != -100, labels, tok.pad_token_id)
        decoded_labels = tok.batch_decode(labels, skip_special_tokens=True)
        decoded_preds = [p.strip() for p in decoded_preds]
        decoded_labels = [l.strip() for l in decoded_labels]
        preds_seen.append({"predictions": decoded_preds, "references": decoded_labels})
        result = {"bleu": sacrebleu.corpus_bleu(decoded_preds, [decoded_labels]).score}
        result["gen_len"] = np.mean([np.count_nonzero(p != tok.pad_token_id) for p in preds])
        return {k: round(float(v), 4) for k, v in result.items()}

    out = tempfile.mkdtemp()
    args = T.Seq2SeqTrainingArguments(output_dir=out, report_to=[], use_cpu=True, **ARGS)
    collator = T.DataCollatorForSeq2Seq(tok, model=model)
    tr = T.Seq2SeqTrainer(model=model, args=args, train_dataset=train, eval_dataset=evald, data_collator=collator,
                          processing_class=tok, compute_metrics=compute_metrics)
    before = tr.evaluate()
    res = tr.train()
    after = tr.evaluate()
    shutil.rmtree(out)
    ref = {"transformers": T.__version__, "torch": torch.__version__, "sacrebleu": sacrebleu.__version__,
           "args": ARGS, "train_pairs": train_pairs, "eval_pairs": eval_pairs,
           "train": train, "eval": evald,
           "log_history": [e for e in tr.state.log_history if "train_runtime" not in e],
           "global_step": res.global_step, "training_loss": res.training_loss, "total_flos": tr.state.total_flos,
           "before": before, "after": after, "generations": preds_seen}
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1, ensure_ascii=False)
    print("before", before)
    print("after", after)


if __name__ == "__main__":
    main()
