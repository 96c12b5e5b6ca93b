"""The PyTorch peer of bench/run_mpi_bench.sh: GPT2LMHeadModel on the
distilgpt2 configuration (random weights) under DistributedDataParallel
(gloo, CPU), per-rank batch B x T, AdamW, clipping at 1.0: what the Trainer
runs under torchrun, without its data loading.

Per step (the first, warming up, dropped): the whole step; the time of the
gradient all-reduces (a DDP comm hook timing each bucket's all_reduce from
launch to completion, summed); and the step under no_sync() (no all-reduce),
whose difference to the whole step is the communication the overlap with
backward did not hide.

usage: torchrun --nproc_per_node 2 ddp_peer.py CONFIG.json STEPS B T
(a world of one runs the same without DDP.) Prints one JSON line (rank 0).
"""
import json
import os
import sys
import time

import torch
import torch.distributed as dist
import transformers as T


def main():
    cfg_path, steps, B, Tn = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        dist.init_process_group("gloo")
    rank = dist.get_rank() if world > 1 else 0
    cfg = json.load(open(cfg_path))
    cfg.pop("model_type", None)
    torch.manual_seed(0)
    model = T.GPT2LMHeadModel(T.GPT2Config(**cfg))
    comm = []
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model)

        def timed_allreduce(state, bucket):
            t0 = time.perf_counter()
            buf = bucket.buffer()
            buf.div_(world)
            fut = dist.all_reduce(buf, async_op=True).get_future()

            def done(f):
                comm.append(time.perf_counter() - t0)
                return f.value()[0]
            return fut.then(done)
        model.register_comm_hook(None, timed_allreduce)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-5, weight_decay=0.01)
    g = torch.Generator().manual_seed(1 + rank)
    ids = torch.randint(0, cfg["vocab_size"], (B, Tn), generator=g)

    def step(sync):
        t0 = time.perf_counter()
        if sync or world == 1:
            out = model(input_ids=ids, labels=ids)
            out.loss.backward()
        else:
            with model.no_sync():
                out = model(input_ids=ids, labels=ids)
                out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        return time.perf_counter() - t0

    whole, nosync, comm_per_step = [], [], []
    for i in range(steps + 1):
        comm.clear()
        t = step(True)
        if i:
            whole.append(t)
            comm_per_step.append(sum(comm))
        if world > 1:
            t = step(False)
            if i:
                nosync.append(t)
    med = lambda v: sorted(v)[len(v) // 2] if v else 0.0
    if rank == 0:
        print(json.dumps({"impl": "torch", "world": world, "batch": B, "block": Tn, "step_ms": 1e3 * med(whole),
                          "allreduce_ms": 1e3 * med(comm_per_step), "nosync_step_ms": 1e3 * med(nosync),
                          "torch": torch.__version__}))
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
