"""lmf autotune against fastText.zip tuned the same way, on data sets lmf was not tuned on, side by side.

    python scripts/bench_autotune.py [--budget-minutes 10] [--data cr mpqa sst2 clinc150] [--seeds 0 1 2]
                                     [--max-drop 1.0] [--out runs/bench_autotune] [--quick]

For each data set (a name of lmf.data, or cr and mpqa of the data folder, or any directory):
1. lmf: `python -m lmf autotune --data D --budget-minutes B --max-drop X` with its defaults (the
   command a team would run), into OUT/<data>/lmf. Its choice is then made again with every other
   seed (lmf.autotune.remake: the same base recipe, method and R) for the seed spread of the test
   accuracy; seed 0 is the autotune's own model.
2. fastText.zip, tuned on dev within the same budget (sweep.fasttext_baseline): fastText trained on
   a grid of wordNgrams, lr and epochs (FT_GRID, in that order, until the budget's share FT_TRAIN_SHARE
   is spent; the first always), the best on dev kept; then quantized at each cutoff of FT_CUTOFFS
   (within the rest of the budget) and, as autotune answers, the smallest .ftz within --max-drop
   points of the best fastText on dev chosen (else the most accurate one). The chosen settings are
   then trained and quantized with every seed for the spread.
3. One line per data set: bytes and test accuracy (mean and min-max over the seeds) of both, the
   bytes ratio and the accuracy difference, and the verdict: lmf beats fastText.zip when its bytes
   are fewer AND its mean test accuracy is higher by more than the larger of the two seed spreads
   (max - min); the line says by how much, or by how much not.
4. The size question on --size-data (SST-2) at --size-limit bytes (500,000): `lmf autotune
   --max-bytes` with its defaults and the same budget (its choice remade with the other seeds), and
   beside it the committed sweep's answer (artifacts/results.csv, seed 0: the lmf model of at most
   that many bytes with the best dev accuracy), each against the target of SIZE_TARGET test
   accuracy (83.0 %).
Everything measured goes to OUT/bench_autotune.json. --quick runs autotune --quick and a
one-setting fastText grid: a smoke test of the script in a minute, whose numbers mean nothing.

The budget is wall time on this machine, so a busy machine buys fewer trials for both; the two run
one after the other, not at once. Deliberately not here: the search (lmf.autotune), fastText's
training (sweep.fasttext_baseline).
"""
import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lmf.atomic import write_json_atomic
from lmf.autotune import choose_under, remake
from lmf.data import NAMED, data_folder, load_dataset
from lmf.layout import artifacts_dir
from lmf.methods import METHODS, method_label
from lmf.metrics import size_on_disk
from lmf.names import QUICK
from lmf.results import read_results
from sweep.fasttext_baseline import fasttext_accuracy, quantize_fasttext, train_fasttext

DATA = ("cr", "mpqa", "sst2", "clinc150")
# fastText's grid, most promising first (wordNgrams 2 is fastText's own advice for classification).
FT_GRID = [{"wordNgrams": n, "lr": lr, "epoch": epoch}
           for n in (2, 1, 3) for lr in (0.5, 0.1, 1.0) for epoch in (25, 10, 50)]
FT_CUTOFFS = (1000, 5000, 20000, 100000)
FT_TRAIN_SHARE = 0.7  # of the budget for training the grid; the rest for the cutoffs
QUICK_GRID = [{"wordNgrams": 2, "lr": 0.5, "epoch": 5}]
SIZE_TARGET = 0.83  # the size question's target test accuracy on SST-2 at 500,000 bytes


def data_path(name):
    """A name of lmf.data as it is, a folder of the data folder (cr, mpqa) as its path, else the path given."""
    if name in NAMED or Path(name).is_dir():
        return name
    folder = data_folder()
    if folder is not None and (folder / name).is_dir():
        return str(folder / name)
    raise SystemExit(f"error: no data set {name!r} (a name of lmf.data, a folder of the data folder, or a directory)")


def spread(values):
    return {"mean": statistics.fmean(values), "min": min(values), "max": max(values), "values": values}


def run_lmf(data, out, args, max_bytes=None):
    """autotune through its command line (the size question with `max_bytes`), then its choice
    again with the other seeds."""
    question = ["--max-drop", str(args.max_drop)] if max_bytes is None else ["--max-bytes", str(max_bytes)]
    command = [sys.executable, "-m", "lmf", "autotune", "--data", data, "--out", str(out), "--quiet",
               "--budget-minutes", str(args.budget_minutes), *question]
    if args.quick:
        command.append("--quick")
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"error: lmf autotune on {data} failed:\n{done.stderr[-2000:]}")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    chosen = summary["chosen"] or {**summary["base"], "method": "uncompressed", "R": 0}
    tests, sizes = [chosen["test_accuracy"]], [chosen["bytes"]]
    for seed in [s for s in args.seeds if s != 0]:
        again = remake(out, seed)
        tests.append(again["test_accuracy"])
        sizes.append(again["bytes"])
    return {"seconds": time.perf_counter() - start, "trials": summary["trials"] + summary.get("base_trials", 1),
            "method": chosen["method"], "R": chosen["R"], "base": summary["base"]["recipe"],
            "bytes": max(sizes), "test": spread(tests), "dev": chosen["dev_accuracy"],
            "target_met": summary["target_met"], "warnings": summary.get("warnings", [])}


def run_fasttext(data, out, args):
    """fastText tuned on dev within the budget, quantized at the cutoff chosen on dev, then the seeds."""
    budget, start = 60 * args.budget_minutes, time.perf_counter()
    grid = QUICK_GRID if args.quick else FT_GRID
    best, tried = None, []
    for settings in grid:
        if tried and time.perf_counter() - start > FT_TRAIN_SHARE * budget:
            break
        model = train_fasttext(data, out / "grid", seed=0, **settings)
        dev = fasttext_accuracy(model, data, "dev")
        tried.append({**settings, "dev_accuracy": dev})
        if best is None or dev > best["dev_accuracy"]:
            best = tried[-1]
            (out / "best").mkdir(parents=True, exist_ok=True)  # kept apart: the next setting overwrites the grid's
            shutil.copyfile(out / "grid" / "model.bin", out / "best" / "model.bin")
    settings = {k: best[k] for k in ("wordNgrams", "lr", "epoch")}
    quantized = []
    for cutoff in FT_CUTOFFS:
        if quantized and time.perf_counter() - start > budget:
            break
        folder = out / f"cutoff{cutoff}"
        model = quantize_fasttext(out / "best" / "model.bin", data, folder, cutoff=cutoff, lr=settings["lr"],
                                  epoch=settings["epoch"])
        quantized.append({"cutoff": cutoff, "bytes": size_on_disk(folder / "model.ftz"),
                          "dev_accuracy": fasttext_accuracy(model, data, "dev")})
    within = [q for q in quantized if q["dev_accuracy"] >= best["dev_accuracy"] - args.max_drop / 100]
    pick = (min(within, key=lambda q: q["bytes"]) if within else max(quantized, key=lambda q: q["dev_accuracy"]))
    seconds = time.perf_counter() - start
    tests, sizes = [], []
    for seed in args.seeds:
        folder = out / f"seed{seed}"
        train_fasttext(data, folder, seed=seed, **settings)
        model = quantize_fasttext(folder / "model.bin", data, folder, cutoff=pick["cutoff"], seed=seed,
                                  lr=settings["lr"], epoch=settings["epoch"])
        tests.append(fasttext_accuracy(model, data, "test"))
        sizes.append(size_on_disk(folder / "model.ftz"))
    return {"seconds": seconds, "trials": len(tried) + len(quantized), "settings": settings,
            "cutoff": pick["cutoff"], "bytes": max(sizes), "test": spread(tests), "dev": pick["dev_accuracy"],
            "tried": tried, "quantized": quantized}


def sweep_under(directory, dataset, max_bytes):
    """The committed sweep's answer to the size question, chosen as autotune chooses
    (lmf.autotune.choose_under: the best on dev among those that fit, fewer bytes breaking a tie) from
    `dataset`'s seed-0 lmf rows (every model kind, fastText left out); None when none fits."""
    rows = [r for r in read_results(directory) if r["dataset"] == dataset and r["seed"] == 0
            and r["method"] in METHODS and METHODS[r["method"]].group != "reference"
            and r["size_bytes"] is not None and r["dev_accuracy"] is not None]
    best, fits = choose_under([{**r, "status": "ok", "bytes": r["size_bytes"]} for r in rows], max_bytes)
    if not fits:
        return None
    return {"model": best["model"], "method": best["method"], "R": best["embedding_reduction_pct"],
            "bytes": best["size_bytes"], "dev": best["dev_accuracy"], "test": best["accuracy"]}


def size_line(name, limit, lmf, sweep):
    def mark(test):
        return "ok" if test >= SIZE_TARGET else "MISS"
    text = (f"size question, {name} at most {limit:,} bytes (target test >= {100 * SIZE_TARGET:.1f} %) | lmf autotune "
            f"--max-bytes: {lmf['bytes'] / 1e3:,.0f} kB, test {100 * lmf['test']['mean']:.2f}% "
            f"({100 * lmf['test']['min']:.2f}-{100 * lmf['test']['max']:.2f}) [{mark(lmf['test']['mean'])}]")
    if sweep is None:
        return text + " | the sweep: no model fits"
    return (text + f" | the sweep's best on dev under it: {sweep['model']} {method_label(sweep['method'])} R={sweep['R']}, "
            f"{sweep['bytes'] / 1e3:,.0f} kB, test {100 * sweep['test']:.2f}% [{mark(sweep['test'])}]")


def verdict(lmf, ft):
    """A sentence: does lmf beat fastText.zip on bytes AND test accuracy by more than the seed spread?"""
    ratio = lmf["bytes"] / ft["bytes"]
    gain = 100 * (lmf["test"]["mean"] - ft["test"]["mean"])
    noise = 100 * max(lmf["test"]["max"] - lmf["test"]["min"], ft["test"]["max"] - ft["test"]["min"])
    smaller, better = ratio < 1, gain > noise
    what = (f"{ratio:.2f}x the bytes, {gain:+.2f} points (seed spread {noise:.2f})")
    if smaller and better:
        return f"beats fastText.zip: {what}"
    misses = [m for m, ok in (("bytes", smaller), ("accuracy beyond the spread", better)) if not ok]
    return f"does not beat fastText.zip on {' and '.join(misses)}: {what}"


def row(name, lmf, ft):
    def side(r):
        t = r["test"]
        return (f"{r['bytes'] / 1e3:,.0f} kB, test {100 * t['mean']:.2f}% ({100 * t['min']:.2f}-{100 * t['max']:.2f}), "
                f"{r['trials']} trials")
    return f"{name:10s} | lmf {side(lmf)} | fastText.zip {side(ft)} | {verdict(lmf, ft)}"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="scripts/bench_autotune.py", description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=list(DATA))
    parser.add_argument("--budget-minutes", type=float, default=10.0)
    parser.add_argument("--max-drop", type=float, default=1.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default="runs/bench_autotune")
    parser.add_argument("--quick", action="store_true", help="autotune --quick and a one-setting fastText grid")
    parser.add_argument("--size-data", default="sst2", help="the data set of the size question ('none': skip it)")
    parser.add_argument("--size-limit", type=int, default=500_000, help="the size question's limit in bytes")
    args = parser.parse_args(argv)
    if 0 not in args.seeds:
        parser.error("--seeds must include 0 (autotune's own model)")
    out = Path(args.out)
    results, lines = {}, []
    for name in args.data:
        path = data_path(name)
        key = Path(name).name
        data = load_dataset(path)
        if args.quick:
            data = data.subset(QUICK["n_train"], QUICK["n_eval"])
        print(f"{key}: lmf autotune, {args.budget_minutes:g} min ...", flush=True)
        lmf = run_lmf(path, out / key / "lmf", args)
        print(f"{key}: fastText tuned on dev, {args.budget_minutes:g} min ...", flush=True)
        with tempfile.TemporaryDirectory(prefix="bench-fasttext-") as tmp:
            ft = run_fasttext(data, Path(tmp), args)
        results[key] = {"lmf": lmf, "fasttext_zip": ft}
        lines.append(row(key, lmf, ft))
        print(lines[-1], flush=True)
        write_json_atomic(out / "bench_autotune.json", {"settings": vars(args), "results": results})
    if args.size_data != "none":
        name = Path(args.size_data).name
        print(f"{name}: lmf autotune --max-bytes {args.size_limit}, {args.budget_minutes:g} min ...", flush=True)
        lmf = run_lmf(data_path(args.size_data), out / name / "lmf-size", args, max_bytes=args.size_limit)
        sweep = sweep_under(artifacts_dir(), name, args.size_limit)
        results["size_question"] = {"data": name, "max_bytes": args.size_limit, "target": SIZE_TARGET,
                                    "lmf": lmf, "sweep": sweep}
        lines.append(size_line(name, args.size_limit, lmf, sweep))
        print(lines[-1], flush=True)
        write_json_atomic(out / "bench_autotune.json", {"settings": vars(args), "results": results})
    print(f"\nbudget {args.budget_minutes:g} min each, tolerance {args.max_drop:g} points, seeds {args.seeds}"
          + (" (quick: the numbers mean nothing)" if args.quick else ""))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
