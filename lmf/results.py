"""The sweep's numbers: results.csv's schema, its one reader and writer, and the summary over seeds.

One row of results.csv is one trained (or quantized) model, one seed:

    dataset, model, method      e.g. sst2, dan, lmf (method: a name of lmf.methods.METHODS)
    embedding_reduction_pct     R: the percentage of the embedding's parameters removed (0 for
                                the uncompressed model, quantization and fastText)
    bytes_fraction              size_bytes / the uncompressed model's size_bytes (same dataset,
                                model and seed; fastText rows: the DAN's)
    rank                        the factorization's rank k (LMF, HMF, whole-model LMF); blank otherwise
    width                       offline SVD's embedding width floor(p d); blank otherwise
    params, size_bytes          parameters, and the deployable export directory's bytes (fastText:
                                its .bin / .ftz; lmf.methods says how each method's are counted)
    accuracy, dev_accuracy      the export's test and dev accuracy on ONNX Runtime, fractions in [0, 1]
    accuracy_before_retrain     test accuracy right after compression, before retraining (SVD only)
    fixed_point_accuracy        8/16-bit rows and int8 stacks: the paper's fixed-point simulation
                                (weights rounded per row, fp32 arithmetic, in torch); blank otherwise
    latency_ms_b1, latency_ratio_b1, test_set_seconds   the export on ONNX Runtime, end to end, one
                                thread (lmf.latency): median batch-1 ms, its ratio to the uncompressed
                                export timed in the same run, and the whole test set's seconds
    eager_latency_ms_b1         the same model in eager PyTorch (8/16-bit: PyTorch's dynamic kernels)
    export_sha256               sha256 of the export's manifest.json (studio.deploy rebuilds and checks it)
    seed
    throughput_b256             sentences per second at batch 256, one thread (lmf.latency), the export
                                on ONNX Runtime timed in the same run as latency_ms_b1
    twin_latency_ratio_b1       int8-deployed rows: the export's batch-1 latency over its fp32 twin's
                                (the export of the model it is made from, lmf.methods.Cell.deployed_from)
                                timed in the same run; above 1, the int8 export is the slower one.
                                Blank for every other row

The last two came after the first artifacts: a results.csv without them reads them as None
(unknown), whatever `older` says (LATER_COLUMNS).

Every value is checked on reading: a number out of range (an accuracy of inf, a negative size) is
an ArtifactError naming the line, never a recommendation of "-0.00 MB, inf %". The same typed reader
reads schedules.csv and the curves.

Standard library only: the app's home page reads this before torch and pandas load.
Deliberately not here: where the files are (lmf.layout), tables (sweep.tables), charts (studio.charts).
"""
import csv
import io
import math
import statistics
from pathlib import Path

from .atomic import write_text_atomic
from .layout import RESULTS, SCHEDULES, ArtifactError, curve_path, missing
from .methods import REFERENCE_METHODS
from .names import MODEL_KINDS

# column -> (type, required, lowest, highest); None bounds are open. "text" columns are strings.
_FRACTION = (0.0, 1.0)
RESULT_SCHEMA = {
    "dataset": ("text", True, None, None), "model": ("text", True, None, None), "method": ("text", True, None, None),
    "embedding_reduction_pct": ("int", True, 0, 99), "bytes_fraction": ("float", False, 0.0, None),
    "rank": ("int", False, 1, None), "width": ("int", False, 1, None), "params": ("int", False, 0, None),
    "size_bytes": ("int", True, 1, None), "accuracy": ("float", True, *_FRACTION),
    "dev_accuracy": ("float", False, *_FRACTION), "accuracy_before_retrain": ("float", False, *_FRACTION),
    "fixed_point_accuracy": ("float", False, *_FRACTION),
    "latency_ms_b1": ("float", False, 0.0, None), "latency_ratio_b1": ("float", False, 0.0, None),
    "test_set_seconds": ("float", False, 0.0, None), "eager_latency_ms_b1": ("float", False, 0.0, None),
    "export_sha256": ("text", False, None, None), "seed": ("int", True, 0, None),
    "throughput_b256": ("float", False, 0.0, None), "twin_latency_ratio_b1": ("float", False, 0.0, None),
}
RESULT_COLUMNS = list(RESULT_SCHEMA)
# Optional columns added after artifacts were shipped without them: absent, they read as None.
LATER_COLUMNS = ("throughput_b256", "twin_latency_ratio_b1")
SCHEDULE_SCHEMA = {"dataset": ("text", True, None, None), "model": ("text", True, None, None),
                   "schedule": ("text", True, None, None), "seed": ("int", True, 0, None),
                   "dev_accuracy": ("float", True, *_FRACTION), "accuracy": ("float", True, *_FRACTION)}
CURVE_SCHEMA = {"step": ("int", True, 0, None), "dev_accuracy": ("float", True, *_FRACTION),
                "lr": ("float", True, 0.0, None)}


def _value(column, text, schema):
    kind, required, low, high = schema[column]
    if text == "" or text.lower() == "nan":
        if required:
            raise ValueError(f"`{column}` is blank")
        return None
    if kind == "text":
        return text
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"`{column}` is {text}")
    if kind == "int":
        if number != int(number):
            raise ValueError(f"`{column}` is {text}, not a whole number")
        number = int(number)
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(f"`{column}` is {text}, outside [{low}, {'inf' if high is None else high}]")
    return number


def read_rows(path, schema, directory, older=False):
    """A CSV file as a list of dicts typed by `schema`; ArtifactError (naming the file and line,
    with the command that regenerates it) when it is missing, lacks a column or holds a bad value.
    `older=True` accepts a file written before optional columns were added (they read as None):
    sweep.assemble carries other datasets' rows over from such a file. LATER_COLUMNS read as None
    when absent in any case: artifacts made before them stay readable."""
    path = Path(path)
    if not path.is_file():
        raise missing(f"`{path.name}` is missing", directory)
    rows = []
    try:
        columns, lines = read_table(path)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise missing(f"`{path.name}` is unreadable ({e})", directory) from e
    absent = [c for c in schema if c not in columns and (schema[c][1] or not (older or c in LATER_COLUMNS))]
    if absent:
        raise missing(f"`{path.name}` lacks column(s) {absent}", directory)
    for number, line in lines:
        try:
            rows.append({c: _value(c, (line.get(c) or "").strip(), schema) for c in schema})
        except (TypeError, ValueError) as e:
            raise missing(f"`{path.name}` line {number} has a bad value ({e})", directory) from e
    if not rows:
        raise missing(f"`{path.name}` has no rows", directory)
    return rows


def read_table(path):
    """(column names, [(line number, {column: text})]) of the CSV file at `path`, UTF-8 with or
    without a byte-order mark (a spreadsheet's); the one CSV reader of results.csv, schedules.csv and
    autotune's trials.csv. Raises OSError, UnicodeDecodeError or csv.Error for the caller to word."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        lines = [(reader.line_num, line) for line in reader]
        return list(reader.fieldnames or []), lines


def seed_row(rows, seed=0, **fields):
    """The row of `seed` whose `fields` match, or None: the seed-0 row is the model shipped and
    downloaded (results.csv) or the schedule run every schedule has (schedules.csv), e.g.
    seed_row(schedule_rows, dataset="sst2", model="dan", schedule="clr")."""
    return next((r for r in rows if r["seed"] == seed and all(r[k] == v for k, v in fields.items())), None)


def write_rows(path, rows, columns):
    """Rows (dicts) as a CSV file, written atomically; None is written as a blank cell."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: "" if row.get(c) is None else row[c] for c in columns})
    return write_text_atomic(path, buffer.getvalue())


def read_results(directory, older=False):
    return read_rows(Path(directory) / RESULTS, RESULT_SCHEMA, directory, older)


def read_schedules(directory):
    return read_rows(Path(directory) / SCHEDULES, SCHEDULE_SCHEMA, directory)


def read_curve(directory, dataset, model, reduction, seed=0, method="lmf"):
    """The precomputed retraining curve [{step, dev_accuracy, lr}], or None when it was not written."""
    path = curve_path(directory, dataset, model, reduction, seed, method)
    try:
        return read_rows(path, CURVE_SCHEMA, directory)
    except ArtifactError:
        return None


# ---------------------------------------------------------------- the summary over seeds

def _mean(values):
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


SUMMARY_COLUMNS = ["dataset", "model", "method", "embedding_reduction_pct", "accuracy", "accuracy_std", "seeds",
                   "dev_accuracy", "accuracy_before_retrain", "fixed_point_accuracy", "size_bytes", "bytes_fraction",
                   "params", "rank", "width", "latency_ms_b1", "latency_ratio_b1", "test_set_seconds",
                   "eager_latency_ms_b1", "throughput_b256", "twin_latency_ratio_b1"]


def summarize(rows):
    """One dict per (dataset, model, method, embedding_reduction_pct), in the order they first
    appear: the mean over seeds of every measured number (a value missing for some seeds averages
    the others), accuracy a fraction as in the rows, with its sample standard deviation (None for a
    single seed: one run has no spread to show)."""
    groups = {}
    for row in rows:
        key = (row["dataset"], row["model"], row["method"], row["embedding_reduction_pct"])
        groups.setdefault(key, []).append(row)
    out = []
    for (dataset, model, method, reduction), group in groups.items():
        def measured(column):
            return [r[column] for r in group if r[column] is not None]
        accuracies = measured("accuracy")
        out.append({
            "dataset": dataset, "model": model, "method": method, "embedding_reduction_pct": reduction,
            "accuracy": _mean(accuracies),
            "accuracy_std": statistics.stdev(accuracies) if len(accuracies) > 1 else None,
            "seeds": len({r["seed"] for r in group}),
            "dev_accuracy": _mean(measured("dev_accuracy")),
            "accuracy_before_retrain": _mean(measured("accuracy_before_retrain")),
            "fixed_point_accuracy": _mean(measured("fixed_point_accuracy")),
            **{c: _mean(r[c] for r in group) for c in ("size_bytes", "bytes_fraction", "params")},
            **{c: next((r[c] for r in group if r[c] is not None), None) for c in ("rank", "width")},
            **{c: _mean(r.get(c) for r in group)
               for c in ("latency_ms_b1", "latency_ratio_b1", "test_set_seconds", "eager_latency_ms_b1",
                         "throughput_b256", "twin_latency_ratio_b1")}})
    return out


def pairs(rows, models=MODEL_KINDS):
    """(dataset, model) pairs in file order, for `models` (every kind lmf trains, the n-gram DAN
    included where results.csv has its rows; fastText rows have no uncompressed row of their own,
    so no page for them)."""
    return [(d, m) for d, m in dict.fromkeys((r["dataset"], r["model"]) for r in rows) if m in models]


def summary_for(rows, dataset, model):
    """summarize() of one (dataset, model)'s rows; [] when there are none."""
    return summarize([r for r in rows if r["dataset"] == dataset and r["model"] == model])


def reference_summary(rows, dataset):
    """The dataset's fastText / fastText.zip rows, summarized like summary_for ([] if none)."""
    return summarize([r for r in rows if r["dataset"] == dataset and r["method"] in REFERENCE_METHODS])


def find(summary, method, reduction=None):
    """The summary row of `method` (at `reduction`, when given), or None."""
    return next((r for r in summary if r["method"] == method
                 and (reduction is None or r["embedding_reduction_pct"] == reduction)), None)


def grid_reductions(summary, method="lmf"):
    return sorted({r["embedding_reduction_pct"] for r in summary if r["method"] == method})


def of_method(summary, method):
    """The rows of one method, smallest first (a line on the size-vs-accuracy chart)."""
    return sorted((r for r in summary if r["method"] == method), key=lambda r: r["size_bytes"])


def nearest_bytes(summary, method, size_bytes):
    """The row of `method` whose size is nearest `size_bytes` (comparisons at matched bytes), or None."""
    rows = of_method(summary, method)
    return min(rows, key=lambda r: abs(r["size_bytes"] - size_bytes)) if rows else None
