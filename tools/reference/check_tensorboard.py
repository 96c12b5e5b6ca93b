"""Checks lmtune's TensorBoard event files with the tensorboard package:
EventAccumulator must load every file under LOGDIR (default
OUTPUT_DIR/runs) and find, for each log_history entry of
OUTPUT_DIR/trainer_state.json, each number as a scalar named as
TensorBoardCallback names it (rewrite_logs) at the entry's step with the
same value (as float32), and the args / model_config text summaries.

Run: ~/.cache/lmtune/ref-venv/bin/python tools/reference/check_tensorboard.py OUTPUT_DIR [LOGDIR]
Exit 0 and "ok: N scalars" when everything matches.
"""
import glob
import json
import os
import sys

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def rewrite(k):
    if k.startswith("eval_"):
        return "eval/" + k[5:]
    if k.startswith("test_"):
        return "test/" + k[5:]
    return "train/" + k


def main():
    out = sys.argv[1]
    logdir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(out, "runs")
    with open(os.path.join(out, "trainer_state.json")) as f:
        history = json.load(f)["log_history"]
    runs = sorted({os.path.dirname(p) for p in glob.glob(os.path.join(logdir, "**", "events.out.tfevents.*"), recursive=True)})
    if not runs:
        sys.exit(f"no event files under {logdir}")
    scalars, texts = {}, set()
    for run in runs:
        acc = EventAccumulator(run, size_guidance={"scalars": 0, "tensors": 0})
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            for e in acc.Scalars(tag):
                scalars.setdefault((tag, e.step), []).append(e.value)
        texts |= set(acc.Tags()["tensors"])
    n = 0
    for entry in history:
        step = entry["step"]
        for k, v in entry.items():
            if k == "step" or not isinstance(v, (int, float)):
                continue
            got = scalars.get((rewrite(k), step))
            want = float(np.float32(v))
            if not got or want not in got:
                sys.exit(f"{rewrite(k)} at step {step}: want {want}, event files have {got}")
            n += 1
    for t in ("args/text_summary", "model_config/text_summary"):
        if t not in texts:
            sys.exit(f"no {t} text summary (tensors: {sorted(texts)})")
    print(f"ok: {n} scalars of {len(history)} log entries, args and model_config texts, {len(runs)} run folder(s)")


if __name__ == "__main__":
    main()
