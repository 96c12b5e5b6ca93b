"""The table of bench/run_llama_bench.sh from its rows (JSON lines of
bench_llama and llama_peer.py): per job the median over the rounds of
tokens/s by the wall clock and by the process's CPU time, the ratios of the
medians, lmtune's AVX2 level beside the default one, and the peak RSS.

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
            ca, cp = med(a, "tokens_per_cpu_s"), med(p, "tokens_per_cpu_s")
            name = f"{mode} {'bf16' if bf16 else 'fp32'}" + (" (8 x 256)" if mode != "generate" else " (batch 1)")
            avx2 = f"{tv:11.2f}{tv / tp:11.2f}" if v else f"{'':11}{'':11}"
            runs = " ".join(f"{r['tokens_per_s']:.2f}" for r in a) + " | " + " ".join(f"{r['tokens_per_s']:.2f}" for r in p)
            print(f"{name:22}{ta:13.2f}{tp:12.2f}{ta / tp:7.2f}{ca / cp:14.2f}{avx2}{med(a, 'peak_rss_mib'):11.0f}"
                  f"{med(p, 'peak_rss_mib'):10.0f}   {runs}")
    peer = next((r for r in rows if r["impl"] == "transformers"), None)
    lm = next((r for r in rows if r["impl"] == "lmtune"), None)
    if peer and lm:
        print(f"peer: torch {peer['torch']}, transformers {peer['transformers']}, {peer['threads']} threads, jemalloc; "
              f"lmtune: {lm['matmul']}; rounds: {max(r.get('round', 1) for r in rows)}")


if __name__ == "__main__":
    main()
