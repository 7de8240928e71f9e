"""Run the precompute sweep and write artifacts/ (results.csv, schedules.csv, curves/, models/, REPORT.md).

    python scripts/precompute.py                 # the full grid (CUDA if present)
    python scripts/precompute.py --quick --out /tmp/a --work /tmp/w   # tiny grid, under a minute
    python scripts/precompute.py --core-only     # without the "Beyond plain LMF" cells
    python scripts/precompute.py --data DIR --name NAME   # one more dataset, beside those in --out
    python scripts/precompute.py --scheduler local        # the cells on a dask.distributed cluster
    python scripts/precompute.py --remeasure     # re-export the finished cells with this checkout's
                                                 # export code, no retraining; rerun the latency cells

Finished cells are kept under --work, so a killed run picks up where it stopped; the artifacts
folder is replaced as a whole at the end (sweep.assemble), keeping what lmf did not write where it
is. --remeasure brings finished cells up to this checkout's export code (sweep.runner.Runner.stale:
their exports re-made from the saved models, size and accuracy measured again, training's numbers
kept; every latency cell rerun; fastText kept), runs the unfinished ones as usual, then assembles;
killed, it resumes too. An --out it could not replace without losing someone's files is refused before any cell runs
(`error:` naming them, status 2).
"""
import argparse
import shlex
import sys
import time
from contextlib import nullcontext

from tqdm.auto import tqdm

from sweep.assemble import assemble, check_out
from lmf.data import DataError
from lmf.names import DATASETS, MODEL_KINDS, check_dataset_name
from sweep.grid import plan
from lmf.layout import ROOT, ArtifactError
from lmf.train import pick_device
from lmf.trial import dask_client, run_cells, run_cells_dask
from sweep.runner import Runner

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
    p.add_argument("--data", help="one more dataset: a directory with train/dev/test .tsv or .csv files "
                   "(replaces --datasets; its rows join those already in --out)")
    p.add_argument("--name", help="with --data: the dataset's name in results.csv and cell ids "
                   "(lowercase letters, digits, underscores)")
    p.add_argument("--vectors", help="GloVe-format word vectors for the LSTM (default: the data folder's GloVe subset)")
    p.add_argument("--scheduler", help="run the cells on dask.distributed: 'local' (a LocalCluster of --jobs "
                   "workers) or a scheduler address such as tcp://host:8786")
    p.add_argument("--models", nargs="+", default=list(MODEL_KINDS), choices=MODEL_KINDS)
    p.add_argument("--core-only", action="store_true",
                   help="only the core grid (no HMF, GroupReduce, int8 stacks, whole-model LMF, fastText)")
    p.add_argument("--remeasure", action="store_true",
                   help="re-export every finished cell's saved model with this checkout's export code (no "
                   "retraining), measure its size and accuracy again, rerun the latency cells; unfinished "
                   "cells run as usual")
    args = p.parse_args(argv)
    if bool(args.data) != bool(args.name):
        p.error("--data and --name go together")
    datasets, dirs = args.datasets, {}
    if args.data:
        try:
            datasets, dirs = [check_dataset_name(args.name)], {args.name: args.data}
        except ValueError as e:
            p.error(str(e))

    try:  # what would stop the assembly at the end stops the run now, before hours of cells
        check_out(args.out, set(datasets), args.quick)
        pick_device(args.device)  # a device this machine lacks, said now, not from inside a worker
    except (FileExistsError, ValueError, ArtifactError) as e:
        p.error(str(e))

    work = args.work or str(ROOT / "runs" / ("sweep-quick" if args.quick else "sweep"))
    runner = Runner(work, args.quick, args.device, data=dirs, vectors=args.vectors, remeasure=args.remeasure)
    to_run = runner.stale if args.remeasure else (lambda cell: not runner.done(cell))
    stages = plan(datasets, args.models, args.quick, core_only=args.core_only, full=args.full)
    try:  # a --data folder that cannot be read fails here, before any cell runs
        for ds in datasets:
            for arch in args.models:
                for line in runner.notes(ds, arch):
                    print(line)
    except DataError as e:
        p.error(str(e))
    try:
        return _sweep(args, argv, runner, to_run, stages, work)
    except KeyboardInterrupt:  # Ctrl-C: the finished cells are on disk, and a rerun goes on from them
        print(f"\ninterrupted: the finished cells are kept in {work}; run the same command again to go on",
              file=sys.stderr)
        return 130


def _sweep(args, argv, runner, to_run, stages, work):
    start = time.perf_counter()
    bar = tqdm(total=sum(map(to_run, (c for stage in stages for c in stage))), unit="cell",
               desc="remeasure" if args.remeasure else "sweep")
    with (dask_client(args.scheduler, args.jobs) if args.scheduler else nullcontext()) as client:
        for stage in stages:
            todo = [c for c in stage if to_run(c)]
            # Latency cells run one at a time so that no other cell competes for the CPU; on a
            # cluster they run in this process for the same reason.
            latency_only = todo and all(c.is_latency for c in todo)
            if client is not None and not latency_only:
                finished = run_cells_dask(runner, todo, client)
            else:
                finished = run_cells(runner, todo, 1 if latency_only else args.jobs)
            for cell, seconds in finished:
                bar.update(1)
                bar.set_postfix_str(f"{cell.id} {seconds:.0f}s")
    bar.close()
    command = "python scripts/precompute.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    try:
        assemble(runner, stages, args.out, time.perf_counter() - start, command.strip(), args.device)
    except (FileExistsError, ValueError, ArtifactError) as e:  # the folder changed during the run
        print(f"error: {e} (the finished cells are kept in {work}: run again to assemble them)", file=sys.stderr)
        return 2
    print(f"wrote {args.out} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
