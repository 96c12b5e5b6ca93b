"""The TrainingArguments names lmtune's registry (src/train/args_table.c) must
know, and a training_args JSON as transformers writes it:

- tests/fixtures/train/args/names_5.txt: every init field of transformers'
  Seq2SeqTrainingArguments (this venv's transformers, 5.23)
- tests/fixtures/train/args/names_4.txt: the fields of transformers 4.44.2's
  TrainingArguments + Seq2SeqTrainingArguments that 5 removed (read from the
  4.44.2 wheel's training_args.py with ast: pass its path as argv[1], e.g.
  `pip download transformers==4.44.2 --no-deps` and unzip)
- tests/fixtures/train/args/training_args_5.json:
  Seq2SeqTrainingArguments(output_dir="out").to_json_string() with defaults,
  which lmt_training_args_load_json must accept whole.
"""
import ast
import dataclasses
import os
import sys

import transformers
from transformers import Seq2SeqTrainingArguments

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "train", "args")


def fields_of(path, classes):
    tree = ast.parse(open(path).read())
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name in classes:
            for b in node.body:
                if isinstance(b, ast.AnnAssign) and not b.target.id.startswith("_"):
                    names.append(b.target.id)
    return names


def main():
    os.makedirs(OUT, exist_ok=True)
    new = [f.name for f in dataclasses.fields(Seq2SeqTrainingArguments) if f.init]
    with open(os.path.join(OUT, "names_5.txt"), "w") as f:
        f.write(f"# transformers {transformers.__version__} Seq2SeqTrainingArguments\n" + "\n".join(new) + "\n")
    if len(sys.argv) > 1:
        root = sys.argv[1]
        old = fields_of(os.path.join(root, "training_args.py"), {"TrainingArguments"})
        old += fields_of(os.path.join(root, "training_args_seq2seq.py"), {"Seq2SeqTrainingArguments"})
        gone = [n for n in dict.fromkeys(old) if n not in new]
        with open(os.path.join(OUT, "names_4.txt"), "w") as f:
            f.write("# transformers 4.44.2 names removed in 5\n" + "\n".join(gone) + "\n")
    args = Seq2SeqTrainingArguments(output_dir="out", report_to="none")
    with open(os.path.join(OUT, "training_args_5.json"), "w") as f:
        f.write(args.to_json_string())


if __name__ == "__main__":
    main()
