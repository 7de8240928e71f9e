"""Run the precompute sweep and write artifacts/ (results.csv, schedules.csv, curves/, models/, REPORT.md).

    python scripts/precompute.py                 # the full grid (CUDA if present)
    python scripts/precompute.py --quick --out /tmp/a --work /tmp/w   # tiny grid, under a minute
    python scripts/precompute.py --core-only     # without the "Beyond plain LMF" cells

Finished cells are kept under --work, so a killed run picks up where it stopped.
"""
import argparse
import os
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# joblib's worker processes import lmf too
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

import torch  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from lmf.report import write_report  # noqa: E402
from lmf.sweep import DATASETS, MODELS, Sweep, is_latency, plan  # noqa: E402


def run_cell(sweep, cell, threads):
    torch.set_num_threads(threads)
    return sweep.run(cell).get("seconds")


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
    sweep = Sweep(args.out, work, args.quick, args.device)
    stages = plan(args.datasets, args.models, args.quick, core_only=args.core_only, full=args.full)
    threads = max(1, (os.cpu_count() or 1) // max(1, args.jobs))
    start = time.perf_counter()
    todo_total = sum(not sweep.done(c) for stage in stages for c in stage)
    bar = tqdm(total=todo_total, desc="sweep", unit="cell")
    for number, stage in enumerate(stages, start=1):
        todo = [c for c in stage if not sweep.done(c)]
        # Latency cells run one at a time so that no other cell competes for the CPU.
        jobs = 1 if stage and all(is_latency(c) for c in stage) else args.jobs
        for cell, seconds in zip(todo, Parallel(n_jobs=jobs, return_as="generator")(
                delayed(run_cell)(sweep, c, threads if jobs > 1 else os.cpu_count() or 1) for c in todo)):
            bar.update(1)
            bar.set_postfix_str(f"{cell.id} {seconds:.0f}s")
    bar.close()
    command = "python scripts/precompute.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    sweep.assemble(stages, time.perf_counter() - start, command.strip())
    write_report(args.out)
    print(f"wrote {args.out} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
