"""artifacts/REPORT.md and size_vs_accuracy.png: generated from the artifacts, never written by hand.

The report is sweep.tables' tables and sweep.targets' checks laid out per dataset, with the sweep's
command and hardware on top; the PNG is the size-vs-accuracy chart in matplotlib (a static image
for the report), coloured and marked by the same style table as the app's Plotly chart
(lmf.methods).

Deliberately not here: any number not read from the artifacts folder, or any table code.
"""
from pathlib import Path

from lmf.units import in_percent, megabytes
from lmf.atomic import write_atomic, write_text_atomic
from lmf.names import dataset_name, model_name
from lmf.layout import PLOT, REPORT, read_sweep_info
from lmf.methods import METHOD_ORDER, METHODS
from .paper import PAPER_TABLE
from lmf.results import of_method, pairs, read_results, read_schedules, summarize
from .tables import checks_table, methods_table, table1, table2, table4
from .targets import core_targets, deployment_targets, extension_targets

# Plotly marker names (lmf.methods) -> matplotlib's; "-open" variants are drawn hollow.
MPL_MARKERS = {"circle": "o", "square": "s", "triangle-up": "^", "triangle-down": "v", "star": "*", "diamond": "D",
               "cross": "P", "x": "X", "hexagon": "h"}


def plot_size_accuracy(summary, path):
    """One panel per (dataset, model): accuracy against size for every method, with the dataset's
    fastText and fastText.zip points in every panel of that dataset."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = pairs(summary)
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(4.5 * max(1, len(panels)), 4), squeeze=False)
    for ax, (dataset, model) in zip(axes[0], panels):
        rows = [r for r in summary if r["dataset"] == dataset and (r["model"] == model or r["model"] == "fasttext")]
        for name in METHOD_ORDER:
            points = of_method(rows, name)
            if not points:
                continue
            method = METHODS[name]
            hollow = method.symbol.endswith("-open")
            ax.errorbar([megabytes(r["size_bytes"]) for r in points], [in_percent(r["accuracy"]) for r in points],
                        yerr=[in_percent(r["accuracy_std"] or 0) for r in points], fmt=MPL_MARKERS[method.symbol.removesuffix("-open")],
                        linestyle="-" if method.line else "none", color=method.color, label=method.label, markersize=7,
                        capsize=2, markerfacecolor="none" if hollow else method.color)
        ax.set_xscale("log")
        ax.set_xlabel("size (MB, log scale)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{dataset_name(dataset)} {model_name(model)}")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=80, format="png"))
    plt.close(fig)


def write_report(artifacts_dir):
    """Regenerate REPORT.md and size_vs_accuracy.png from results.csv, schedules.csv and sweep.json."""
    artifacts_dir = Path(artifacts_dir)
    summary = summarize(read_results(artifacts_dir))
    schedules = read_schedules(artifacts_dir)
    sweep = read_sweep_info(artifacts_dir)
    plot_size_accuracy(summary, artifacts_dir / PLOT)
    hw = sweep.get("hardware", {})
    out = ["# lmf sweep report", "",
           f"Generated from `results.csv` and `schedules.csv` by `{sweep.get('command')}`"
           + (" (quick mode: tiny data, not comparable to the paper)" if sweep.get("quick") else "") + ".",
           f"Hardware: {hw.get('cpu')}, {hw.get('cores')} cores" + (f", GPU {hw['gpu']}" if hw.get("gpu") else "")
           + f"; Python {hw.get('python')}, PyTorch {hw.get('torch')}.",
           f"{sweep.get('cells')} cells, {(sweep.get('cell_seconds') or 0) / 60:.1f} min of cell time in all (each "
           f"cell's own seconds, summed; a resumed run keeps the cells it finished before); the invocation that "
           f"wrote this report took {(sweep.get('wall_seconds') or 0) / 60:.1f} min of wall time.", "",
           "Every row is one deployable model: its ONNX export (`lmf.export`; `model.onnx`, `tokenizer.json`, "
           "`words.zlib`, `manifest.json`), fp32, or fp16 weights for 16-bit, or int8 (per-channel int8 matrices and tables, "
           "fp32 arithmetic but for a DAN's large layer after a ReLU, run in integers on each text's own "
           "activation scale) for 8-bit and the `+ int8` stacks. Size is that export "
           "directory's bytes (fastText: its .bin / .ftz file). Accuracy is the "
           "export's test accuracy on ONNX Runtime in percent, mean ± standard deviation over seeds where n > 1. "
           "R is the share of the embedding's parameters removed; `% of uncompressed` is the size as a share of "
           "the uncompressed export's bytes. Latency is the export on ONNX Runtime, end to end (raw text in, label "
           "out, tokenizer included, fastText too), one thread, median at batch 1 over 300 test sentences, every "
           "variant of a dataset/model in one process, interleaved (`lmf.latency`); ratios are to the uncompressed "
           "export timed in the same run, and eager PyTorch's time for the same model is beside it (for 8/16-bit, "
           "PyTorch's dynamic int8 / fp16 kernels). `Fixed-point sim.` is the paper's simulation of the 16/8-bit "
           "baselines (weights rounded per row, fp32 arithmetic), kept for comparison with the paper's columns. "
           "The paper's numbers (TensorFlow checkpoints, a K80 GPU, 300-d GloVe for the LSTM) are beside ours for "
           "reference; for CLINC150 the paper column is its Books Intent set (Table 3), a different task.", "",
           f"![size vs accuracy]({PLOT})", ""]
    if sweep.get("not_run"):
        out += ["Cells of the grid that could not be made (no row): "
                + "; ".join(f"`{c['cell']}` ({c['why']})" for c in sweep["not_run"]) + ".", ""]
    out += ["## Targets", "", checks_table(core_targets(summary))]
    deployed = deployment_targets(summary)
    if deployed:
        out += ["", "### Deployable models on ONNX Runtime", "", checks_table(deployed)]
    beyond = extension_targets(summary)
    if beyond:
        out += ["", "### Beyond plain LMF", "",
                "HMF, GroupReduce and whole-model LMF are compressed from the uncompressed model and retrained like "
                "LMF; the `+ int8` rows are those retrained models quantized to 8 bits after training. Each "
                "comparison with LMF takes the LMF model nearest in bytes, and a win over fastText counts only "
                "beyond the seed-to-seed spread.", "", checks_table(beyond)]
    for dataset in dict.fromkeys(r["dataset"] for r in summary):
        out += ["", f"## {dataset_name(dataset)}"]
        if any(r["dataset"] == dataset for r in schedules):
            out += ["", "### Table 1: learning-rate schedules (uncompressed models)", "", table1(schedules, dataset)]
        for ds, model in pairs(summary):
            if ds != dataset:
                continue
            pair = [r for r in summary if r["dataset"] == ds and r["model"] == model]
            title = f"{PAPER_TABLE[dataset]}: " if dataset in PAPER_TABLE else "Results: "
            out += ["", f"### {title}{model_name(model)}", "", table2(pair, dataset), "",
                    f"### Inference time (Table 4), {model_name(model)}", "", table4(pair, dataset)]
        out += ["", f"### Every method by size, {dataset_name(dataset)}", "",
                methods_table([r for r in summary if r["dataset"] == dataset], with_model=True)]
    write_text_atomic(artifacts_dir / REPORT, "\n".join(out) + "\n")
    return artifacts_dir / REPORT
