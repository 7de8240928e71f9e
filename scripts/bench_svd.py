"""Benchmark of lmf.compress.factorize on a large vocabulary: a synthetic 1,000,000 x 300 float32
table factorized at rank 30 through the same function compress_model uses.

    python scripts/bench_svd.py [--rows 1000000] [--dim 300] [--rank 30] [--json PATH]
    (PYTHONPATH=. python scripts/bench_svd.py when the lmf package is not installed)

The table is G diag(s) O (G Gaussian, O a random orthogonal d x d matrix, both seeded) with
s_i = i^-0.35: the slow power-law decay measured on the GloVe vectors in the shared data folder
(slope -0.34 over singular values 6..100 of glove.6B.100d.subset.txt), a hard case for a
randomized SVD (a fast decay would flatter it). Printed, each with its target:

- wall time of factorize (target <= 10 s), with its CPU time and the load average before it: on
  a shared machine a wall time far above CPU time / threads means other processes had the cores;
- squared Frobenius error ||W - W_a W_b||^2 against the exact optimum, the sum of the discarded
  eigenvalues of W^T W (from the d x d Gram matrix in float64; target within 1 %);
- peak memory as a multiple of the table's bytes (target <= 3x), counting the table itself:
  the process's peak resident set (getrusage ru_maxrss, the kernel's high-water mark, so no
  short-lived spike is missed as sampling could) minus its resident set just before the table
  was built. The table is built in blocks of rows so that building it adds no more than a block
  to the high-water mark; everything factorize allocates, even freed, is in the figure. Run as a
  script this is a fresh process; measured after factorize and before the error is computed.

Deliberately not here: a comparison with the exact SVD (18 s of CPU and 3.3x the table at this
size; see RANDOMIZED_MIN_ENTRIES in lmf/compress.py for the measured crossover).
"""
import argparse
import json
import os
import resource
import time

import torch

from lmf.compress import factorize
from lmf.atomic import write_text_atomic
from lmf.layout import check_script_paths

BLOCK = 20_000  # rows per block when building the table and summing errors: 24 MB at d = 300


def rss_bytes():
    """The resident set now, from /proc (Linux), in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def synthetic_table(rows, dim, seed=0, decay=0.35):
    """rows x dim float32 G diag(s) O with s_i = i^-decay, built block by block."""
    g = torch.Generator().manual_seed(seed)
    O = torch.linalg.qr(torch.randn(dim, dim, generator=g, dtype=torch.float64)).Q
    scaled = (torch.arange(1, dim + 1, dtype=torch.float64) ** -decay)[:, None] * O
    W = torch.empty(rows, dim)
    for i in range(0, rows, BLOCK):
        n = min(BLOCK, rows - i)
        W[i:i + n] = (torch.randn(n, dim, generator=g, dtype=torch.float64) @ scaled).float()
    return W


def errors(W, W_a, W_b, k):
    """(||W - W_a W_b||_F^2, the optimum: the sum of the d - k smallest eigenvalues of W^T W),
    both in float64, a block of rows at a time (no float64 copy of W)."""
    gram = torch.zeros(W.shape[1], W.shape[1], dtype=torch.float64)
    error = 0.0
    for i in range(0, W.shape[0], BLOCK):
        block = W[i:i + BLOCK].double()
        gram += block.T @ block
        error += float(((block - W_a[i:i + BLOCK].double() @ W_b.double()) ** 2).sum())
    eigenvalues = torch.linalg.eigvalsh(gram)  # ascending
    return error, float(eigenvalues[:W.shape[1] - k].sum())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--rank", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    args = parser.parse_args()
    if not 1 <= args.rank < min(args.rows, args.dim):
        parser.error(f"--rank {args.rank}: give a rank from 1 to below min(--rows, --dim) = {min(args.rows, args.dim)}")
    check_script_paths(parser, json_out=args.json)

    before_table = rss_bytes()
    W = synthetic_table(args.rows, args.dim, args.seed)
    table_bytes = W.numel() * W.element_size()
    peak_after_table = peak_rss_bytes()
    load = os.getloadavg()[0]
    start, cpu_start = time.perf_counter(), time.process_time()
    W_a, W_b = factorize(W, args.rank)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    peak = peak_rss_bytes()
    error, optimum = errors(W, W_a, W_b, args.rank)

    figures = {
        "rows": args.rows, "dim": args.dim, "rank": args.rank, "threads": torch.get_num_threads(),
        "W_a": list(W_a.shape), "W_b": list(W_b.shape), "table_bytes": table_bytes,
        "seconds": round(seconds, 3), "cpu_seconds": round(cpu_seconds, 3),
        "load_average_before": load,
        "error": error, "optimum": optimum, "error_excess": error / optimum - 1,
        "peak_x_table": (peak - before_table) / table_bytes,
        "peak_x_table_before_factorize": (peak_after_table - before_table) / table_bytes,
    }
    figures["targets_met"] = {"seconds <= 10": figures["seconds"] <= 10,
                              "error within 1 %": figures["error_excess"] <= 0.01,
                              "peak <= 3x table": figures["peak_x_table"] <= 3}
    print(f"table {args.rows:,} x {args.dim} float32 ({table_bytes / 2**20:,.0f} MiB), rank {args.rank}, "
          f"{figures['threads']} threads: W_a {tuple(W_a.shape)}, W_b {tuple(W_b.shape)}")
    print(f"wall time    {seconds:8.2f} s (CPU {cpu_seconds:.2f} s, load average {load:.1f} before)"
          f"  target <= 10 s: {'met' if figures['targets_met']['seconds <= 10'] else 'NOT met'}")
    print(f"error        {error:12.2f} vs optimum {optimum:.2f} (+{100 * figures['error_excess']:.3f} %)"
          f"  target within 1 %: {'met' if figures['targets_met']['error within 1 %'] else 'NOT met'}")
    print(f"peak memory  {figures['peak_x_table']:8.2f} x table (table included; "
          f"{figures['peak_x_table_before_factorize']:.2f} x before factorize)  target <= 3x: "
          f"{'met' if figures['targets_met']['peak <= 3x table'] else 'NOT met'}")
    if args.json:
        write_text_atomic(args.json, json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
