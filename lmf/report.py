"""The sweep's results as tables and a plot: artifacts/REPORT.md, generated, never written by hand.

`summary_frame` holds lmf.catalog.summarize (one row per dataset, model, method and reduction, with
mean and standard deviation over seeds) as a DataFrame; the table functions lay that out as the
paper's Tables 1, 2 and 4 with the paper's own figures beside ours (`PAPER`, transcribed from the
paper's text). The app's pages draw from the same summary, so the report and the app cannot disagree.

Deliberately not here: running anything, or reading the data sets.
"""
import json
from pathlib import Path

import pandas as pd

from .artifacts import write_atomic, write_text_atomic
from .catalog import (DATASET_NAMES, METHOD_NAMES, MODEL_NAMES, RESULT_DTYPES, SUMMARY_COLUMNS, read_results,
                      summarize)

# The paper's numbers (Tables 1-4). Size in MB, accuracy in percent, Table 4 in seconds.
# Its Books Intent set is proprietary; CLINC150 is our public stand-in, so those rows are a
# reference for the shape of the results, not the same task.
PAPER = {
    "table1": {"lstm": {"adagrad": 84.90, "clr": 84.71, "calr": 86.03},
               "dan": {"adagrad": 83.20, "clr": 83.84, "calr": 84.61}},
    "sst2": {
        "lstm": {"uncompressed": (53.25, 86.03), "quant16": (30.16, 85.08), "quant8": (18.21, 85.01),
                 "lmf": {10: (48.66, 85.72), 30: (38.52, 85.68), 50: (28.45, 85.67), 70: (18.38, 85.45), 90: (6.94, 85.11)},
                 "offline_svd": {10: 85.45, 30: 84.95, 50: 84.24, 70: 83.09, 90: 82.54}},
        "dan": {"uncompressed": (52.84, 84.61), "quant16": (28.36, 83.18), "quant8": (18.13, 82.94),
                "lmf": {10: (47.29, 84.24), 30: (37.23, 83.83), 50: (27.16, 83.72), 70: (17.18, 83.67), 90: (6.21, 83.11)},
                "offline_svd": {10: 83.47, 30: 83.31, 50: 82.87, 70: 82.86, 90: 82.59}},
    },
    "clinc150": {  # the paper's Table 3, Books Intent
        "lstm": {"uncompressed": (29.34, 91.78), "quant16": (17.92, 90.16), "quant8": (10.05, 89.96),
                 "lmf": {10: (26.76, 91.71), 30: (21.69, 91.63), 50: (16.62, 91.54), 70: (10.31, 91.47), 90: (4.89, 90.94)},
                 "offline_svd": {10: 91.07, 30: 90.97, 50: 90.87, 70: 90.58, 90: 89.83}},
        "dan": {"uncompressed": (37.03, 90.18), "quant16": (25.68, 89.38), "quant8": (16.41, 88.86),
                "lmf": {10: (33.96, 90.15), 30: (29.43, 90.12), 50: (23.16, 89.47), 70: (18.21, 89.55), 90: (13.08, 89.23)},
                "offline_svd": {10: 87.35, 30: 87.34, 50: 87.14, 70: 86.15, 90: 83.72}},
    },
    "table4": {"lstm": {"lmf": {10: 10.71, 50: 9.28, 70: 9.21, 75: 9.11, 90: 8.46}, "quant16": 9.23, "quant8": 9.08},
               "dan": {"lmf": {10: 1.38, 50: 0.89, 70: 0.62, 75: 0.59, 90: 0.45}, "quant16": 0.93, "quant8": 0.62}},
}
EXT_METHODS = ("hmf", "groupreduce", "lmf_int8", "groupreduce_int8", "lmf_whole", "lmf_whole_int8",
               "fasttext", "fasttext_ftz")


def summary_frame(summary):
    """lmf.catalog.summarize's rows as a DataFrame for the tables: missing numbers NaN, rank an
    integer or <NA> (never 87.0)."""
    frame = pd.DataFrame(summary, columns=SUMMARY_COLUMNS)
    floats = [c for c in SUMMARY_COLUMNS if c not in ("dataset", "model", "method", "reduction_pct", "seeds", "rank")]
    return frame.astype({**{c: "float64" for c in floats}, **RESULT_DTYPES})


def _acc(row):
    if row is None:
        return "-"
    return f"{row.accuracy:.2f} ± {row.accuracy_std:.2f} (n={row.seeds})" if row.seeds > 1 else f"{row.accuracy:.2f}"


def _lookup(summary, dataset, model, method, reduction=None):
    rows = summary[(summary.dataset == dataset) & (summary.model == model) & (summary.method == method)]
    if reduction is not None:
        rows = rows[rows.reduction_pct == reduction]
    return next(rows.itertuples(), None)


def table1(schedules, dataset):
    """Table 1: test accuracy of uncompressed models by learning-rate schedule, with the paper's.

    The schedules are compared on seed 0, the one seed every schedule ran with (CLR and AdaGrad run
    once); the mean ± std over all seeds a schedule ran with is in its own column."""
    lines = ["| Model | Schedule | Ours, seed 0: test acc. (%) | Ours, seed 0: dev acc. (%) "
             "| Ours, all seeds: test acc. (%) | Paper (SST-2) |", "|---|---|---|---|---|---|"]
    sub = schedules[schedules.dataset == dataset]
    for model in ("lstm", "dan"):
        for schedule in ("adagrad", "clr", "calr"):
            rows = sub[(sub.model == model) & (sub.schedule == schedule)]
            seed0 = rows[rows.seed == 0]
            if seed0.empty:
                continue
            acc = rows.accuracy * 100
            every = f"{acc.mean():.2f} ± {acc.std():.2f} (n={len(rows)})" if len(rows) > 1 else "-"
            paper = PAPER["table1"][model][schedule] if dataset == "sst2" else "-"
            lines.append(f"| {MODEL_NAMES[model]} | {schedule.upper() if schedule != 'adagrad' else 'AdaGrad'} | "
                         f"{seed0.accuracy.iloc[0] * 100:.2f} | {seed0.dev_accuracy.iloc[0] * 100:.2f} | {every} | {paper} |")
    return "\n".join(lines)


def table2(summary, dataset, model):
    """Table 2's layout: size and accuracy of every method and R, ours beside the paper's."""
    paper = PAPER.get(dataset, {}).get(model, {})
    lines = ["| Method | R (%) | Size (MB) | Acc. LMF / quantized (%) | Acc. offline SVD (%) | Before retraining (%) "
             "| Paper size (MB) | Paper acc. | Paper offline |", "|---|---|---|---|---|---|---|---|---|"]
    for method in ("uncompressed", "quant16", "quant8"):
        row = _lookup(summary, dataset, model, method)
        if row is None:
            continue
        p = paper.get(method, ("-", "-"))
        lines.append(f"| {METHOD_NAMES[method]} | {row.reduction_pct} | {row.size_bytes / 1e6:.2f} | {_acc(row)} | - | - "
                     f"| {p[0]} | {p[1]} | - |")
    reductions = sorted(summary[(summary.dataset == dataset) & (summary.model == model)
                                & (summary.method == "lmf")].reduction_pct.unique())
    for r in reductions:
        lmf, off = _lookup(summary, dataset, model, "lmf", r), _lookup(summary, dataset, model, "offline_svd", r)
        p = paper.get("lmf", {}).get(r, ("-", "-"))
        before = f"{lmf.accuracy_before_retrain:.2f}" if pd.notna(lmf.accuracy_before_retrain) else "-"
        lines.append(f"| SVD (k={lmf.rank}) | {r} | {lmf.size_bytes / 1e6:.2f} | {_acc(lmf)} | {_acc(off)} | {before} "
                     f"| {p[0]} | {p[1]} | {paper.get('offline_svd', {}).get(r, '-')} |")
    return "\n".join(lines)


def table4(summary, dataset, model):
    """Table 4's content: inference time, ours (ms per sentence at batch 1, whole test set) and the paper's."""
    lines = ["| Method | R (%) | ms / sentence (batch 1) | ratio to uncompressed | test set (s) | Paper test set (s) |",
             "|---|---|---|---|---|---|"]
    paper = PAPER["table4"].get(model, {}) if dataset == "sst2" else {}
    sub = summary[(summary.dataset == dataset) & (summary.model == model) & summary.latency_ms_b1.notna()]
    for row in sub.sort_values(["method", "reduction_pct"]).itertuples():
        p = paper.get(row.method, "-")
        p = p.get(row.reduction_pct, "-") if isinstance(p, dict) else p
        lines.append(f"| {METHOD_NAMES.get(row.method, row.method)} | {row.reduction_pct} | {row.latency_ms_b1:.3f} | "
                     f"{row.latency_ratio_b1:.2f} | {row.test_set_seconds:.3f} | {p} |")
    return "\n".join(lines)


def targets(summary):
    """Issue targets, checked against the numbers: [(description, measured, met)]."""
    checks = []
    get = lambda ds, m, meth, r=None: _lookup(summary, ds, m, meth, r)
    for model, floor in (("dan", 83.5), ("lstm", 85.0)):
        u = get("sst2", model, "uncompressed")
        if u is not None:
            checks.append((f"SST-2 {MODEL_NAMES[model]} uncompressed >= {floor}", f"{u.accuracy:.2f}", u.accuracy >= floor))
    for ds, slack in (("sst2", 1.0), ("clinc150", 1.5)):
        for model in ("dan", "lstm"):
            u, l90 = get(ds, model, "uncompressed"), get(ds, model, "lmf", 90)
            if u is not None and l90 is not None:
                checks.append((f"{DATASET_NAMES[ds]} {MODEL_NAMES[model]} LMF R=90 within {slack} of uncompressed",
                               f"{l90.accuracy:.2f} vs {u.accuracy:.2f}", u.accuracy - l90.accuracy <= slack))
    for model in ("dan", "lstm"):
        for r in (50, 90):
            l, o = get("sst2", model, "lmf", r), get("sst2", model, "offline_svd", r)
            if l is not None and o is not None:
                checks.append((f"SST-2 {MODEL_NAMES[model]} LMF >= offline SVD at R={r}",
                               f"{l.accuracy:.2f} vs {o.accuracy:.2f}", l.accuracy >= o.accuracy))
    for model in ("dan", "lstm"):
        u = get("clinc150", model, "uncompressed")
        if u is not None:
            checks.append((f"CLINC150 {MODEL_NAMES[model]} uncompressed >= 88", f"{u.accuracy:.2f}", u.accuracy >= 88))
    return checks


def ours(summary):
    """Rows of our models (DAN, LSTM): everything but the fastText baselines."""
    return summary[summary.model != "fasttext"]


def all_methods_table(summary, dataset):
    """Every method and model of one dataset at its size, smallest first: size (MB and % of the
    fp32 uncompressed DAN's bytes), accuracy mean ± std over n seeds, latency where measured."""
    sub = summary[summary.dataset == dataset].sort_values(["size_bytes", "accuracy"], ascending=[True, False])
    dan = _lookup(summary, dataset, "dan", "uncompressed")
    lines = ["| Model | Method | R (%) | Size (MB) | % of fp32 DAN | Acc. (%) | ± std | n | ms / sentence | latency ratio |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in sub.itertuples():
        share = f"{100 * row.size_bytes / dan.size_bytes:.1f}" if dan is not None else "-"
        lat = f"{row.latency_ms_b1:.3f}" if pd.notna(row.latency_ms_b1) else "-"
        ratio = f"{row.latency_ratio_b1:.2f}" if pd.notna(row.latency_ratio_b1) else "-"
        lines.append(f"| {MODEL_NAMES.get(row.model, row.model)} | {METHOD_NAMES.get(row.method, row.method)} | "
                     f"{row.reduction_pct} | {row.size_bytes / 1e6:.3f} | {share} | {row.accuracy:.2f} | "
                     f"{row.accuracy_std:.2f} | {row.seeds} | {lat} | {ratio} |")
    return "\n".join(lines)


def targets_beyond(summary, slack=1.0, share=1 / 20):
    """The "Beyond plain LMF" targets: [(description, measured, met)].
    (a) one of our models at <= 1/20 of the fp32 uncompressed DAN's bytes within `slack` points of it;
    (b) at every R >= 90 with both rows, GroupReduce and HMF at least as accurate as LMF (same
        dataset, model, R; seed means);
    (c) for every fastText / fastText.zip row, one of ours both smaller and more accurate."""
    checks = []
    for ds in summary.dataset.unique():
        name = DATASET_NAMES.get(ds, ds)
        dan = _lookup(summary, ds, "dan", "uncompressed")
        mine = ours(summary[summary.dataset == ds])
        if dan is not None:
            small = mine[mine.size_bytes <= dan.size_bytes * share]
            ok = small[small.accuracy >= dan.accuracy - slack]
            best = (ok if not ok.empty else small).sort_values(["accuracy", "size_bytes"], ascending=[False, True])
            if best.empty:
                measured = f"no model of ours at <= {dan.size_bytes * share / 1e6:.3f} MB"
            else:
                b = best.iloc[0]
                measured = (f"{MODEL_NAMES.get(b.model, b.model)} {METHOD_NAMES.get(b.method, b.method)} R={b.reduction_pct}: "
                            f"{b.size_bytes / 1e6:.3f} MB ({100 * b.size_bytes / dan.size_bytes:.1f} %), "
                            f"{b.accuracy:.2f} vs {dan.accuracy:.2f}")
            checks.append((f"{name}: a model <= 1/20 of the fp32 DAN bytes within {slack} point of the uncompressed DAN",
                           measured, not ok.empty))
        for model in mine.model.unique():
            for method in ("groupreduce", "hmf"):
                for row in mine[(mine.model == model) & (mine.method == method) & (mine.reduction_pct >= 90)].itertuples():
                    lmf = _lookup(summary, ds, model, "lmf", row.reduction_pct)
                    if lmf is not None:
                        checks.append((f"{name} {MODEL_NAMES.get(model, model)} {METHOD_NAMES[method]} >= LMF at R={row.reduction_pct}",
                                       f"{row.accuracy:.2f} vs {lmf.accuracy:.2f}", row.accuracy >= lmf.accuracy))
        for ft in summary[(summary.dataset == ds) & (summary.model == "fasttext")].itertuples():
            better = mine[(mine.size_bytes < ft.size_bytes) & (mine.accuracy > ft.accuracy)].sort_values("size_bytes")
            if better.empty:
                measured = f"none (fastText: {ft.size_bytes / 1e6:.3f} MB, {ft.accuracy:.2f})"
            else:
                b = better.iloc[0]
                measured = (f"{MODEL_NAMES.get(b.model, b.model)} {METHOD_NAMES.get(b.method, b.method)} R={b.reduction_pct}: "
                            f"{b.size_bytes / 1e6:.3f} MB, {b.accuracy:.2f} vs {ft.size_bytes / 1e6:.3f} MB, {ft.accuracy:.2f}")
            checks.append((f"{name}: one of ours smaller and more accurate than {METHOD_NAMES[ft.method]}",
                           measured, not better.empty))
    return checks


PLOT_STYLES = (("lmf", "o-"), ("offline_svd", "s--"), ("quant16", "^"), ("quant8", "v"), ("uncompressed", "*"),
               ("hmf", "D-"), ("groupreduce", "P-"), ("lmf_int8", "o:"), ("groupreduce_int8", "P:"),
               ("lmf_whole", "X-"), ("lmf_whole_int8", "X:"))


def plot_size_accuracy(summary, path):
    """One panel per (dataset, model): accuracy against size on disk for every method, with the
    dataset's fastText and fastText.zip points in every panel of that dataset."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    pairs = list(ours(summary)[["dataset", "model"]].drop_duplicates().itertuples(index=False))
    fig, axes = plt.subplots(1, max(1, len(pairs)), figsize=(4.5 * max(1, len(pairs)), 4), squeeze=False)
    for ax, (dataset, model) in zip(axes[0], pairs):
        sub = summary[(summary.dataset == dataset) & (summary.model == model)]
        fasttext = summary[(summary.dataset == dataset) & (summary.model == "fasttext")]
        styles = PLOT_STYLES + (("fasttext", "h"), ("fasttext_ftz", "H"))
        for method, marker in styles:
            rows = (fasttext if method.startswith("fasttext") else sub)
            rows = rows[rows.method == method].sort_values("size_bytes")
            if not rows.empty:
                ax.errorbar(rows.size_bytes / 1e6, rows.accuracy, yerr=rows.accuracy_std, fmt=marker,
                            label=METHOD_NAMES[method], markersize=7, capsize=2)
        ax.set_xscale("log")
        ax.set_xlabel("size on disk (MB, log scale)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{DATASET_NAMES.get(dataset, dataset)} {MODEL_NAMES.get(model, model)}")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)


def write_report(artifacts_dir):
    """Regenerate REPORT.md and size_vs_accuracy.png from results.csv, schedules.csv and sweep.json."""
    artifacts_dir = Path(artifacts_dir)
    summary = summary_frame(summarize(read_results(artifacts_dir)))
    schedules = pd.read_csv(artifacts_dir / "schedules.csv")
    sweep = json.loads((artifacts_dir / "sweep.json").read_text())
    plot_size_accuracy(summary, artifacts_dir / "size_vs_accuracy.png")
    hw = sweep.get("hardware", {})
    wall = sweep.get("wall_seconds") or 0
    out = ["# lmf sweep report", "",
           f"Generated from `results.csv` and `schedules.csv` by `{sweep.get('command')}`"
           + (" (quick mode: tiny data, not comparable to the paper)" if sweep.get("quick") else "") + ".",
           f"Hardware: {hw.get('cpu')}, {hw.get('cores')} cores" + (f", GPU {hw['gpu']}" if hw.get("gpu") else "")
           + f"; Python {hw.get('python')}, PyTorch {hw.get('torch')}.",
           f"Wall time of the last run: {wall / 60:.1f} min; {sweep.get('cells')} cells, "
           f"{sweep.get('cell_seconds', 0) / 60:.1f} min of cell time in all.", "",
           "Accuracy is test accuracy in percent, mean ± standard deviation over seeds where n > 1. Size is the bytes "
           "on disk of the saved model directory (weights, vocabulary, config). Latency is measured on this CPU with one "
           "thread, every variant of a dataset/model in one process, interleaved; ratios are to the uncompressed model. "
           "The 16/8-bit rows' accuracy and size come from per-row fixed-point weights (the values a fixed-point "
           "model computes with, dequantized to float), while their latency is that of PyTorch's dynamic fp16 / int8 "
           "kernels (`lmf.quantize.latency_model`), the fastest low-precision path PyTorch offers on a CPU. "
           "The paper's numbers (TensorFlow checkpoints, a K80 GPU, 300-d GloVe for the LSTM) are beside ours for "
           "reference; for CLINC150 the paper column is its Books Intent set (Table 3), a different task.", "",
           "![size vs accuracy](size_vs_accuracy.png)", "", "## Targets", "", "| Target | Measured | Met |", "|---|---|---|"]
    out += [f"| {d} | {m} | {'yes' if ok else '**no**'} |" for d, m, ok in targets(summary)]
    beyond = targets_beyond(summary)
    if beyond:
        out += ["", "### Beyond plain LMF", "",
                "HMF, GroupReduce and whole-model LMF are compressed from the uncompressed model and retrained like "
                "LMF; the `+ int8` rows are the retrained LMF / GroupReduce / whole-model LMF models quantized to 8 "
                "bits after training (no further retraining). fastText sizes are its .bin / .ftz files.", "",
                "| Target | Measured | Met |", "|---|---|---|"]
        out += [f"| {d} | {m} | {'yes' if ok else '**no**'} |" for d, m, ok in beyond]
    for dataset in summary.dataset.unique():
        out += ["", f"## {DATASET_NAMES.get(dataset, dataset)}", "",
                "### Table 1: learning-rate schedules (uncompressed models)", "", table1(schedules, dataset)]
        for model in ours(summary[summary.dataset == dataset]).model.unique():
            out += ["", f"### Table {'2' if dataset == 'sst2' else '3'}: {MODEL_NAMES.get(model, model)}", "",
                    table2(summary, dataset, model), "", f"### Table 4: inference time, {MODEL_NAMES.get(model, model)}", "",
                    table4(summary, dataset, model)]
        if summary[(summary.dataset == dataset) & summary.method.isin(EXT_METHODS)].shape[0]:
            out += ["", f"### Every method by size, {DATASET_NAMES.get(dataset, dataset)}", "",
                    all_methods_table(summary, dataset)]
    write_text_atomic(artifacts_dir / "REPORT.md", "\n".join(out) + "\n")
    return artifacts_dir / "REPORT.md"
