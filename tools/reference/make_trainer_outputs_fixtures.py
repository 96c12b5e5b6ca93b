"""Reference files for what the Trainer leaves in its output folder
(docs/TRAINER_OUTPUTS.md):

- tokenizer_config_<family>.json: tokenizer.save_pretrained's
  tokenizer_config.json for the shared data's bare tokenizer folders
  (GPT-2 vocab.json + merges.txt, RoBERTa, BERT vocab.txt, Marian
  source.spm + target.spm + vocab.json);
- a tiny Trainer run (the GPT-2 test model, report_to tensorboard,
  logging_steps 1, evaluation every 2 steps, then trainer.evaluate() and
  trainer.create_model_card as run_clm.py ends): README.md (the model card),
  card_inputs.json (the log history and arguments it was made from),
  sample.tfevents (the TensorBoardCallback's event file, written by torch's
  SummaryWriter) and sample_events.json (each record decoded with the
  tensorboard package's protos: wall_time, step, and what it holds).

Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_trainer_outputs_fixtures.py
"""
import glob
import json
import os
import shutil
import tempfile

import tensorboard
import torch
import transformers
from tensorboard.compat.proto import event_pb2
from transformers import BertTokenizer, GPT2Tokenizer, MarianTokenizer, RobertaTokenizer

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "trainer_outputs")
SHARED = os.environ.get("LMT_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))


def tokenizer_configs():
    for name, cls, src in [("gpt2", GPT2Tokenizer, "gpt2"), ("roberta", RobertaTokenizer, "roberta-base"),
                           ("bert", BertTokenizer, "bert-base-uncased")]:
        tok = cls.from_pretrained(os.path.join(SHARED, "tokenizers", src))
        d = tempfile.mkdtemp()
        tok.save_pretrained(d)
        shutil.copy(os.path.join(d, "tokenizer_config.json"), os.path.join(OUT, f"tokenizer_config_{name}.json"))
        shutil.rmtree(d)
    # a Marian folder with only its SentencePiece models and vocab.json
    src = tempfile.mkdtemp()
    for f in ["source.spm", "target.spm", "vocab.json"]:
        shutil.copy(os.path.join(SHARED, "tokenizers", "opus-mt-tc-big-en-pt", f), src)
    d = tempfile.mkdtemp()
    MarianTokenizer.from_pretrained(src).save_pretrained(d)
    shutil.copy(os.path.join(d, "tokenizer_config.json"), os.path.join(OUT, "tokenizer_config_marian.json"))
    shutil.rmtree(src)
    shutil.rmtree(d)


def read_records(path):
    """TFRecord framing: u64 length, u32 masked crc(length), data, u32 masked crc(data)."""
    import struct
    recs = []
    with open(path, "rb") as f:
        buf = f.read()
    off = 0
    while off < len(buf):
        (n,) = struct.unpack_from("<Q", buf, off)
        data = buf[off + 12: off + 12 + n]
        recs.append({"offset": off, "length": n})
        ev = event_pb2.Event.FromString(data)
        r = recs[-1]
        r["wall_time"] = ev.wall_time
        r["step"] = ev.step
        if ev.HasField("file_version"):
            r["file_version"] = ev.file_version
        elif ev.HasField("summary"):
            v = ev.summary.value[0]
            r["tag"] = v.tag
            if v.HasField("simple_value"):
                r["simple_value"] = v.simple_value
            else:
                r["plugin_name"] = v.metadata.plugin_data.plugin_name
                r["text"] = v.tensor.string_val[0].decode("utf-8")
        off += 12 + n + 4
    return recs


def trainer_run():
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel.from_pretrained(os.path.join(ROOT, "tests", "fixtures", "models", "gpt2"))
    g = torch.Generator().manual_seed(1)
    data = [{"input_ids": torch.randint(0, 96, (16,), generator=g).tolist()} for _ in range(12)]
    for d in data:
        d["labels"] = list(d["input_ids"])
    tmp = tempfile.mkdtemp()
    out = os.path.join(tmp, "tiny-clm")
    os.environ["TENSORBOARD_LOGGING_DIR"] = os.path.join(tmp, "tb")
    args = transformers.TrainingArguments(output_dir=out, max_steps=4, per_device_train_batch_size=2,
                                          per_device_eval_batch_size=2, gradient_accumulation_steps=2,
                                          logging_steps=1, eval_strategy="steps", eval_steps=2,
                                          save_strategy="no", learning_rate=1e-3, warmup_steps=1,
                                          report_to=["tensorboard"], seed=42, use_cpu=True)
    trainer = transformers.Trainer(model=model, args=args, train_dataset=data[:8], eval_dataset=data[8:])
    trainer.train()
    metrics = trainer.evaluate()
    trainer.create_model_card(finetuned_from="tests/fixtures/models/gpt2", tasks="text-generation")
    with open(os.path.join(out, "README.md")) as f:
        card = f.read()
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(card)
    inputs = {"output_dir_name": "tiny-clm", "finetuned_from": "tests/fixtures/models/gpt2", "tasks": "text-generation",
              "learning_rate": args.learning_rate, "train_batch_size": args.train_batch_size,
              "eval_batch_size": args.eval_batch_size, "seed": args.seed,
              "gradient_accumulation_steps": args.gradient_accumulation_steps, "optim": args.optim,
              "adam_beta1": args.adam_beta1, "adam_beta2": args.adam_beta2, "adam_epsilon": args.adam_epsilon,
              "lr_scheduler_type": args.lr_scheduler_type.value, "warmup_steps": args.warmup_steps,
              "max_steps": args.max_steps, "num_train_epochs": args.num_train_epochs,
              "log_history": trainer.state.log_history}
    with open(os.path.join(OUT, "card_inputs.json"), "w") as f:
        json.dump(inputs, f, indent=1)
        f.write("\n")
    # the callback closes its writer at on_train_end; evaluate() opened a second file
    files = sorted(glob.glob(os.path.join(tmp, "tb", "events.out.tfevents.*")))
    shutil.copy(files[0], os.path.join(OUT, "sample.tfevents"))
    recs = read_records(files[0])
    with open(os.path.join(OUT, "sample_events.json"), "w") as f:
        json.dump({"file_name": os.path.basename(files[0]), "tensorboard": tensorboard.__version__,
                   "torch": torch.__version__, "transformers": transformers.__version__, "records": recs}, f, indent=1)
        f.write("\n")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    tokenizer_configs()
    trainer_run()
