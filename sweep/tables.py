"""Every Markdown table the project prints: one renderer, and the tables laid out on the summary.

The tables read lmf.results.summarize's rows (accuracy a fraction, printed in percent) and schedules.csv's rows, so the
report and the app print the same numbers from the same code:
  methods_table   every method and R at its size (the report per dataset, the app per model)
  table1          test accuracy by learning-rate schedule (the paper's Table 1)
  table2          size and accuracy of LMF, offline SVD and quantization beside the paper's
  table4          measured latency beside the paper's Table 4
  checks_table    targets with what was measured and whether each is met

Standard library only. Deliberately not here: deciding what passes (sweep.targets) or reading files.
"""
from lmf.units import in_percent, megabytes
from lmf.names import model_name
from lmf.methods import METHOD_ORDER, method_label
from .paper import PAPER
from lmf.results import find, seed_row


def markdown(headers, rows):
    """A Markdown table; numbers right-aligned (a header ending in ':' marks a numeric column)."""
    names = [h.rstrip(":") for h in headers]
    rule = ["--:" if h.endswith(":") else "---" for h in headers]
    lines = ["| " + " | ".join(names) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join("-" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def number(value, digits=2):
    return None if value is None else f"{value:.{digits}f}"


def accuracy_text(row):
    """'83.23 ± 0.41 (n=3)' for several seeds, '83.23 (1 seed)' for one; '-' without a row."""
    if row is None or row["accuracy"] is None:
        return "-"
    if row["seeds"] > 1 and row["accuracy_std"] is not None:
        return f"{number(in_percent(row['accuracy']))} ± {number(in_percent(row['accuracy_std']))} (n={row['seeds']})"
    return f"{number(in_percent(row['accuracy']))} (1 seed)"


def describe(row):
    """A summary row's human name, e.g. 'Online LMF (proposed), R=90%'."""
    r = row["embedding_reduction_pct"]
    return f"{method_label(row['method'])}, R={r}%" if r else method_label(row["method"])


def _order(row):
    return METHOD_ORDER.index(row["method"]) if row["method"] in METHOD_ORDER else len(METHOD_ORDER)


def methods_table(summary, with_model=False):
    """Every row at its size, smallest first: size in MB and as a share of the uncompressed model's
    bytes, rank or width, accuracy over n seeds, accuracy before retraining, measured latency."""
    headers = (["Model"] if with_model else []) + [
        "Method", "R (%):", "rank / width:", "Size (MB):", "% of uncompressed:", "Test acc. (%):", "± std:", "n:",
        "Before retraining (%):", "ms / sentence:", "Latency ratio:"]
    rows = []
    for r in sorted(summary, key=lambda r: (r["size_bytes"], _order(r))):
        shape = r["rank"] if r["rank"] is not None else (f"w={r['width']}" if r["width"] is not None else None)
        share = number(in_percent(r["bytes_fraction"]), 1)
        rows.append(([model_name(r["model"])] if with_model else []) + [
            method_label(r["method"]), r["embedding_reduction_pct"], shape, number(megabytes(r["size_bytes"]), 3), share,
            number(in_percent(r["accuracy"])), number(in_percent(r["accuracy_std"])), r["seeds"],
            number(in_percent(r["accuracy_before_retrain"])),
            number(r["latency_ms_b1"], 3), number(r["latency_ratio_b1"])])
    return markdown(headers, rows)


def table1(schedule_rows, dataset):
    """Table 1: test accuracy of uncompressed models by learning-rate schedule, with the paper's.

    The schedules are compared on seed 0, the one seed every schedule ran with (CLR and AdaGrad run
    once); the mean ± std over all seeds a schedule ran with is in its own column."""
    import statistics
    rows = []
    for model in ("lstm", "dan"):
        for schedule in ("adagrad", "clr", "calr"):
            runs = [r for r in schedule_rows if r["dataset"] == dataset and r["model"] == model
                    and r["schedule"] == schedule]
            seed0 = seed_row(runs)
            if seed0 is None:
                continue
            acc = [in_percent(r["accuracy"]) for r in runs]
            every = f"{statistics.fmean(acc):.2f} ± {statistics.stdev(acc):.2f} (n={len(acc)})" if len(acc) > 1 else None
            paper = PAPER["table1"][model][schedule] if dataset == "sst2" else None
            rows.append([model_name(model), "AdaGrad" if schedule == "adagrad" else schedule.upper(),
                         number(in_percent(seed0["accuracy"])), number(in_percent(seed0["dev_accuracy"])), every, paper])
    return markdown(["Model", "Schedule", "Ours, seed 0: test acc. (%):", "Ours, seed 0: dev acc. (%):",
                     "Ours, all seeds: test acc. (%):", "Paper (SST-2):"], rows)


def table2(summary, dataset):
    """Table 2's layout for one (dataset, model) summary: size and accuracy of every R, ours beside
    the paper's (for SST-2 and, as a reference for the shape, CLINC150 against its Books Intent)."""
    model = summary[0]["model"] if summary else None
    paper = PAPER.get(dataset, {}).get(model, {})
    rows = []
    for method in ("uncompressed", "quant16", "quant8"):
        row = find(summary, method)
        if row is not None:
            p = paper.get(method, (None, None))
            rows.append([method_label(method), row["embedding_reduction_pct"], number(megabytes(row["size_bytes"])),
                         accuracy_text(row), None, None, number(in_percent(row["fixed_point_accuracy"])), p[0], p[1], None])
    for r in sorted({row["embedding_reduction_pct"] for row in summary if row["method"] == "lmf"}):
        lmf, off = find(summary, "lmf", r), find(summary, "offline_svd", r)
        p = paper.get("lmf", {}).get(r, (None, None))
        rows.append([f"SVD (k={lmf['rank']})", r, number(megabytes(lmf["size_bytes"])), accuracy_text(lmf),
                     accuracy_text(off) if off else None, number(in_percent(lmf["accuracy_before_retrain"])), None, p[0], p[1],
                     paper.get("offline_svd", {}).get(r)])
    return markdown(["Method", "R (%):", "Size (MB):", "Acc. LMF / quantized (%):", "Acc. offline SVD (%):",
                     "Before retraining (%):", "Fixed-point sim. (%):", "Paper size (MB):", "Paper acc.:",
                     "Paper offline:"], rows)


def table4(summary, dataset):
    """Table 4's content for one (dataset, model) summary: ms per sentence at batch 1 on ONNX Runtime,
    its ratio to the uncompressed model, an int8 export's ratio to its fp32 twin (timed in the same
    run), sentences per second in lists of 256, seconds for the whole test set, eager PyTorch's ms
    beside; the paper's seconds last."""
    model = summary[0]["model"] if summary else None
    paper = PAPER["table4"].get(model, {}) if dataset == "sst2" else {}
    rows = []
    for row in sorted((r for r in summary if r["latency_ms_b1"] is not None),
                      key=lambda r: (_order(r), r["embedding_reduction_pct"])):
        p = paper.get(row["method"])
        p = p.get(row["embedding_reduction_pct"]) if isinstance(p, dict) else p
        throughput = row.get("throughput_b256")
        rows.append([method_label(row["method"]), row["embedding_reduction_pct"], number(row["latency_ms_b1"], 3),
                     number(row["latency_ratio_b1"]), number(row.get("twin_latency_ratio_b1")),
                     None if throughput is None else f"{throughput:,.0f}", number(row["test_set_seconds"], 3),
                     number(row["eager_latency_ms_b1"], 3), p])
    return markdown(["Method", "R (%):", "ms / sentence (batch 1):", "ratio to uncompressed:",
                     "int8 / fp32 twin (batch 1):", "sentences / s (batch 256):", "test set (s):",
                     "eager PyTorch ms / sentence:", "Paper test set (s):"], rows)


def checks_table(checks):
    """[(description, measured, met)] as a table; an empty list says so instead of a bare header."""
    if not checks:
        return "No target applies to these results."
    return markdown(["Target", "Measured", "Met"], [[d, m, "yes" if ok else "**no**"] for d, m, ok in checks])
