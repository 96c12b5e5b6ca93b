"""The table of bench/run_llama_bench.sh from its rows (JSON lines of
bench_llama and llama_peer.py): per job the median over the rounds of
tokens/s, the median ratio of the back-to-back pairs (lmtune, then its peer
on the same job) by the wall clock and by the process's CPU time, lmtune's
AVX2 level beside the default one (its pairs: the peer run just before),
and the peak RSS. On a shared machine the load changes between pairs more
than within one, so the ratios come from pairs, not from the medians.

usage: llama_bench_table.py ROWS
"""
import json
import statistics
import sys


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]

    def pick(impl, mode, bf16, level=None):
        return [r for r in rows if r["impl"] == impl and r["mode"] == mode and r["bf16"] == bf16
                and not r.get("gc") and (level is None or r.get("level", "default") == level)]

    def job(r):
        return (r["mode"], r["bf16"], bool(r.get("gc")))

    def pairs(level, key):
        """ratios lmtune / peer of each lmtune row (at level) and the peer row next to it in the file"""
        out = []
        for i, r in enumerate(rows):
            if r["impl"] != "lmtune" or r.get("level", "default") != level or not r.get(key):
                continue
            near = [q for q in (rows[i + 1: i + 2] + rows[max(i - 1, 0): i]) if q["impl"] == "transformers" and job(q) == job(r)]
            if near and near[0].get(key):
                out.append((r, r[key] / near[0][key]))
        return out

    def pair_med(mode, bf16, level, key):
        v = [x for r, x in pairs(level, key) if r["mode"] == mode and r["bf16"] == bf16 and not r.get("gc")]
        return statistics.median(v) if v else float("nan")

    def med(rs, key):
        v = [r[key] for r in rs if r.get(key)]
        return statistics.median(v) if v else float("nan")

    print(f"{'job':22}{'lmtune tok/s':>13}{'torch tok/s':>12}{'ratio':>7}{'ratio (CPU s)':>14}{'avx2 tok/s':>11}"
          f"{'avx2 ratio':>11}{'lmtune MiB':>11}{'torch MiB':>10}   runs: lmtune | torch")
    for mode in ("train", "eval", "generate"):
        for bf16 in (False, True):
            a, p, v = pick("lmtune", mode, bf16, "default"), pick("transformers", mode, bf16), pick("lmtune", mode, bf16, "avx2")
            if not a and not p:
                continue
            ta, tp, tv = med(a, "tokens_per_s"), med(p, "tokens_per_s"), med(v, "tokens_per_s")
            name = f"{mode} {'bf16' if bf16 else 'fp32'}" + (" (8 x 256)" if mode != "generate" else " (batch 1)")
            avx2 = f"{tv:11.2f}{pair_med(mode, bf16, 'avx2', 'tokens_per_s'):11.2f}" if v else f"{'':11}{'':11}"
            runs = " ".join(f"{r['tokens_per_s']:.2f}" for r in a) + " | " + " ".join(f"{r['tokens_per_s']:.2f}" for r in p)
            rw, rc = pair_med(mode, bf16, "default", "tokens_per_s"), pair_med(mode, bf16, "default", "tokens_per_cpu_s")
            print(f"{name:22}{ta:13.2f}{tp:12.2f}{rw:7.2f}{rc:14.2f}{avx2}{med(a, 'peak_rss_mib'):11.0f}"
                  f"{med(p, 'peak_rss_mib'):10.0f}   {runs}")
    peer = next((r for r in rows if r["impl"] == "transformers"), None)
    lm = next((r for r in rows if r["impl"] == "lmtune"), None)
    if peer and lm:
        print(f"peer: torch {peer['torch']}, transformers {peer['transformers']}, {peer['threads']} threads, jemalloc; "
              f"lmtune: {lm['matmul']}; rounds: {max(r.get('round', 1) for r in rows)}")


if __name__ == "__main__":
    main()
