"""Run the precompute sweep and write artifacts/ (results.csv, schedules.csv, curves/, models/, REPORT.md).

    python scripts/precompute.py                 # the full grid (CUDA if present)
    python scripts/precompute.py --quick --out /tmp/a --work /tmp/w   # tiny grid, under a minute
    python scripts/precompute.py --core-only     # without the "Beyond plain LMF" cells

Finished cells are kept under --work, so a killed run picks up where it stopped; the artifacts
folder is replaced as a whole at the end (lmf.assemble).
"""
import argparse
import shlex
import sys
import time
from pathlib import Path

from tqdm.auto import tqdm

from lmf.assemble import assemble
from lmf.grid import DATASETS, MODELS, plan
from lmf.layout import ROOT
from lmf.runner import Runner, run_cells


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "artifacts"))
    p.add_argument("--work", default=None,
                   help="finished cells and all models (default runs/sweep, or runs/sweep-quick with --quick)")
    p.add_argument("--quick", action="store_true", help="tiny data and grid, for tests")
    p.add_argument("--full", action="store_true",
                   help="every method at every R (the default trims the LSTM offline baseline to fit a 2-core CPU)")
    p.add_argument("--jobs", type=int, default=2, help="cells run in parallel")
    p.add_argument("--device", default="auto")
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    p.add_argument("--core-only", action="store_true",
                   help="only the core grid (no HMF, GroupReduce, int8 stacks, whole-model LMF, fastText)")
    args = p.parse_args(argv)

    work = args.work or str(ROOT / "runs" / ("sweep-quick" if args.quick else "sweep"))
    runner = Runner(work, args.quick, args.device)
    stages = plan(args.datasets, args.models, args.quick, core_only=args.core_only, full=args.full)
    start = time.perf_counter()
    bar = tqdm(total=sum(not runner.done(c) for stage in stages for c in stage), desc="sweep", unit="cell")
    for stage in stages:
        todo = [c for c in stage if not runner.done(c)]
        # Latency cells run one at a time so that no other cell competes for the CPU.
        jobs = 1 if todo and all(c.is_latency for c in todo) else args.jobs
        for cell, seconds in run_cells(runner, todo, jobs):
            bar.update(1)
            bar.set_postfix_str(f"{cell.id} {seconds:.0f}s")
    bar.close()
    command = "python scripts/precompute.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    assemble(runner, stages, args.out, time.perf_counter() - start, command.strip(), args.device)
    print(f"wrote {args.out} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
