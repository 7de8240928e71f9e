"""What a sweep left in artifacts/, read with the standard library only.

Here: where things live (the artifacts directory, a cell's name, a saved model's and a curve's
path), results.csv read into typed rows and summarized over seeds (mean and sample standard
deviation per dataset, model, method and reduction; accuracy in percent), the lookups the app
makes in that summary (the selection a reduction R stands for, the smallest model within X points),
sweep.json, a saved model's config, the human names of datasets, models and methods, and the
ArtifactError every reader raises with the command that regenerates what is missing.

Why the standard library: the app's home page draws its metric cards from this module before
torch and pandas have loaded (about 4 s of a 2-core machine's start-up), and the report builds its
tables on the same `summarize`, so the app and REPORT.md cannot disagree.

Deliberately not here: loading weights (lmf.artifacts), running the sweep (lmf.sweep), tables and
plots (lmf.report), or anything that imports torch, numpy or pandas.
"""
import csv
import hashlib
import io
import json
import math
import os
import statistics
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = "python scripts/precompute.py"
DATASETS = ("sst2", "clinc150")
MODELS = ("dan", "lstm")
RESULT_COLUMNS = ["dataset", "model", "method", "reduction_pct", "rank", "params", "size_bytes",
                  "accuracy", "dev_accuracy", "accuracy_before_retrain", "latency_ms_b1",
                  "latency_ratio_b1", "test_set_seconds", "seed"]
RESULT_DTYPES = {"rank": "Int64"}  # pandas' dtype for the writers and tables: an integer or missing, never 87.0
TEXT_COLUMNS, INT_COLUMNS = ("dataset", "model", "method"), ("reduction_pct", "rank", "seed")
REQUIRED_COLUMNS = ("dataset", "model", "method", "reduction_pct", "seed", "size_bytes", "accuracy")  # never blank
# Core methods first, then the extensions (issue "Beyond plain LMF"), in the order charts draw them.
METHOD_ORDER = ("uncompressed", "lmf", "offline_svd", "quant16", "quant8",
                "hmf", "groupreduce", "lmf_whole", "lmf_int8", "groupreduce_int8", "lmf_whole_int8")
REFERENCE_METHODS = ("fasttext", "fasttext_ftz")  # the peer tool, drawn beside our methods
QUANT_BITS = {"quant16": 16, "quant8": 8}
METHOD_NAMES = {"uncompressed": "Uncompressed", "lmf": "Online LMF (proposed)", "offline_svd": "Offline SVD (baseline 2)",
                "quant16": "16-bit (baseline 1)", "quant8": "8-bit (baseline 1)",
                "hmf": "HMF", "groupreduce": "GroupReduce", "lmf_int8": "LMF + int8",
                "groupreduce_int8": "GroupReduce + int8", "lmf_whole": "Whole-model LMF",
                "lmf_whole_int8": "Whole-model LMF + int8", "fasttext": "fastText", "fasttext_ftz": "fastText.zip"}
MODEL_NAMES = {"dan": "DAN-RAND", "lstm": "LSTM", "fasttext": "fastText"}
DATASET_NAMES = {"sst2": "SST-2", "clinc150": "CLINC150"}
DEFAULT_DATASET, DEFAULT_MODEL, DEFAULT_REDUCTION = "sst2", "dan", 90
WEIGHTS, META, MANIFEST = "model.safetensors", "meta.json", "manifest.json"  # a saved model's files (lmf.artifacts)
MAX_REDUCTION = 98  # the home page slider's end: beyond it eq. 5 leaves a rank of 1-2


class ArtifactError(RuntimeError):
    """A file of artifacts/ (a saved model, results.csv, ...) that is missing, incomplete or corrupt."""


def artifacts_dir():
    """`$LMF_ARTIFACTS_DIR`, else `<repo>/artifacts`."""
    return Path(os.environ.get("LMF_ARTIFACTS_DIR", ROOT / "artifacts"))


def missing(what, directory):
    """An ArtifactError saying what is missing or unreadable and how to regenerate it."""
    return ArtifactError(f"{what} in {directory}. Regenerate the artifacts with `{REGENERATE}` "
                         f"(or `{REGENERATE} --quick` for a tiny version in under a minute).")


# ---------------------------------------------------------------- names and paths

def cell_id(dataset, model, method, reduction=0, seed=0, schedule="calr"):
    """The name of a sweep cell's files, e.g. 'sst2-dan-lmf-R90-s0' (latency cells have no seed)."""
    parts = [dataset, model, method]
    if reduction:
        parts.append(f"R{reduction}")
    if schedule != "calr":
        parts.append(schedule)
    if method not in ("latency", "latency_ext"):
        parts.append(f"s{seed}")
    return "-".join(parts)


def model_path(directory, dataset, model, method="uncompressed", reduction=0):
    """Where the sweep puts a seed-0 model: models/<dataset>-<model>-<method>[-R<r>]-s0."""
    return Path(directory) / "models" / cell_id(dataset, model, method, reduction if method != "uncompressed" else 0)


def curve_path(directory, dataset, model, reduction, seed=0):
    return Path(directory) / "curves" / f"{cell_id(dataset, model, 'lmf', reduction, seed)}.csv"


def shipped_reductions(directory, dataset, model, method="lmf"):
    """Reductions R with a saved seed-0 `method` model under models/, ascending."""
    prefix = f"{dataset}-{model}-{method}-R"
    folder = Path(directory) / "models"
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        if path.is_dir() and path.name.startswith(prefix) and path.name.endswith("-s0"):
            number = path.name[len(prefix):-len("-s0")]
            if number.isdigit():
                found.append(int(number))
    return sorted(found)


def saved_config(directory, dataset, model, method="uncompressed", reduction=0):
    """A saved model's config (arch, embed_dim, rank, ...) from its meta.json, without loading its
    weights; None when it is missing or unreadable (lmf.artifacts.load_model says why)."""
    try:
        meta = json.loads((model_path(directory, dataset, model, method, reduction) / META).read_text("utf-8"))
        return dict(meta["config"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_spectrum(directory, dataset, model):
    """The singular values of the uncompressed model's embedding from spectra.json (written by the
    sweep), or None when absent, unusable, or computed from other weights than the model's file
    holds (a regenerated or corrupt model: the caller then loads it, which says which)."""
    path = model_path(directory, dataset, model)
    try:
        entry = json.loads((Path(directory) / "spectra.json").read_text("utf-8"))[path.name]
        values = [float(v) for v in entry["singular_values"]]
        sound = values and sum(values) > 0 and entry["weights_sha256"] == file_sha256(path / WEIGHTS)
        return values if sound else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def energy_kept(values, k):
    """Fraction of the squared singular values (the Frobenius energy) the top k keep."""
    squares = [float(v) ** 2 for v in values]
    total = sum(squares)
    return sum(squares[:k]) / total if k and total else 1.0


def zip_dir(path):
    """A saved model directory as zip bytes (the home page's download)."""
    buffer = io.BytesIO()
    path = Path(path)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(path.rglob("*")):
            if file.is_file():
                archive.write(file, f"{path.name}/{file.relative_to(path)}")
    return buffer.getvalue()


def read_sweep_info(directory):
    """sweep.json (command, quick, hardware), or {} when absent or unreadable."""
    try:
        info = json.loads((Path(directory) / "sweep.json").read_text(encoding="utf-8"))
        return info if isinstance(info, dict) else {}
    except (OSError, ValueError):
        return {}


# ---------------------------------------------------------------- results.csv

def _value(column, text):
    if text == "" or text.lower() == "nan":
        if column in REQUIRED_COLUMNS:
            raise ValueError(f"`{column}` is blank")
        return None
    if column in TEXT_COLUMNS:
        return text
    return int(float(text)) if column in INT_COLUMNS else float(text)


def read_results(directory):
    """results.csv as a list of dicts (one per dataset, model, method, reduction, seed): numbers
    as int (reduction_pct, rank, seed) or float, None where a value was not measured."""
    path = Path(directory) / "results.csv"
    if not path.is_file():
        raise missing("`results.csv` is missing", directory)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # -sig: a spreadsheet's byte-order mark
            reader = csv.DictReader(f)
            absent = [c for c in RESULT_COLUMNS if c not in (reader.fieldnames or [])]
            if absent:
                raise missing(f"`results.csv` lacks column(s) {absent}", directory)
            rows = [{c: _value(c, (line[c] or "").strip()) for c in RESULT_COLUMNS} for line in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise missing(f"`results.csv` is unreadable ({e})", directory) from e
    except (TypeError, ValueError) as e:
        raise missing(f"`results.csv` has a malformed value ({e})", directory) from e
    if not rows:
        raise missing("`results.csv` has no rows", directory)
    return rows


def _mean(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.fmean(values) if values else None


def summarize(rows):
    """One dict per (dataset, model, method, reduction_pct), in the order they first appear: the
    mean over seeds of every measured number (a value missing for some seeds averages the others),
    accuracy in percent with its sample standard deviation (0.0 for a single seed)."""
    groups = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["model"], row["method"], row["reduction_pct"]), []).append(row)
    out = []
    for (dataset, model, method, reduction), group in groups.items():
        def percent(column):
            return [100 * r[column] for r in group if r[column] is not None]
        accuracies = percent("accuracy")
        out.append({
            "dataset": dataset, "model": model, "method": method, "reduction_pct": reduction,
            "accuracy": _mean(accuracies),
            "accuracy_std": statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0,
            "dev_accuracy": _mean(percent("dev_accuracy")),
            "accuracy_before_retrain": _mean(percent("accuracy_before_retrain")),
            "seeds": len({r["seed"] for r in group}),  # (seed is never blank)
            **{c: _mean(r[c] for r in group) for c in ("size_bytes", "params")},
            "rank": next((r["rank"] for r in group if r["rank"] is not None), None),
            **{c: _mean(r[c] for r in group) for c in ("latency_ms_b1", "latency_ratio_b1", "test_set_seconds")}})
    return out


SUMMARY_COLUMNS = ["dataset", "model", "method", "reduction_pct", "accuracy", "accuracy_std", "dev_accuracy",
                   "accuracy_before_retrain", "seeds", "size_bytes", "params", "rank", "latency_ms_b1",
                   "latency_ratio_b1", "test_set_seconds"]


def pairs(rows):
    """(dataset, model) pairs in file order: DAN and LSTM only (fastText rows have model "fasttext"
    and no uncompressed row of their own, so no page for them)."""
    return [(d, m) for d, m in dict.fromkeys((r["dataset"], r["model"]) for r in rows) if m in MODELS]


def summary_for(rows, dataset, model):
    """summarize() of one (dataset, model)'s rows; [] when there are none."""
    return summarize([r for r in rows if r["dataset"] == dataset and r["model"] == model])


def reference_summary(rows, dataset):
    """The dataset's fastText / fastText.zip rows, summarized like summary_for ([] if none)."""
    return summarize([r for r in rows if r["dataset"] == dataset and r["method"] in REFERENCE_METHODS])


def find(summary, method, reduction=None):
    """The summary row of `method` (at `reduction`, when given), or None."""
    return next((r for r in summary if r["method"] == method
                 and (reduction is None or r["reduction_pct"] == reduction)), None)


def grid_reductions(summary, method="lmf"):
    return sorted({r["reduction_pct"] for r in summary if r["method"] == method})


def of_method(summary, method):
    """The rows of one method, smallest first (a line on the size-vs-accuracy chart)."""
    return sorted((r for r in summary if r["method"] == method), key=lambda r: r["size_bytes"])


# ---------------------------------------------------------------- the home page's selection

@dataclass
class Selection:
    """What the reduction slider points at; accuracy in percent, None where unknown."""
    kind: str  # "uncompressed" | "lmf" (precomputed, retrained) | "svd_only" (compressed, not retrained)
    reduction: int
    rank: int
    params: int
    size_bytes: float
    accuracy: float = None
    accuracy_before_retrain: float = None
    latency_ms: float = None
    latency_ratio: float = None
    seeds: int = 1

    @property
    def label(self):
        return {"uncompressed": "Uncompressed", "lmf": f"Online LMF, R={self.reduction}% (retrained)",
                "svd_only": f"SVD only, R={self.reduction}% (not retrained)"}[self.kind]


def precomputed_selection(summary, reduction):
    """The Selection for R=0 (uncompressed) or an R of the LMF grid; None for any other R."""
    kind = "uncompressed" if reduction == 0 else "lmf"
    row = find(summary, kind, None if reduction == 0 else reduction)
    if row is None:
        return None
    return Selection(kind, reduction, row["rank"], int(row["params"]), row["size_bytes"], row["accuracy"],
                     row["accuracy_before_retrain"], row["latency_ms_b1"], row["latency_ratio_b1"], row["seeds"])


def recommend(summary, tolerance_points):
    """The smallest model (any method, any R) whose mean test accuracy is within `tolerance_points`
    of the uncompressed model's (the more accurate of equal sizes); None without an uncompressed row."""
    base = find(summary, "uncompressed")
    if base is None:
        return None
    ok = [r for r in summary if r["accuracy"] is not None and r["accuracy"] >= base["accuracy"] - tolerance_points]
    return min(ok, key=lambda r: (r["size_bytes"], -r["accuracy"]))


def results_markdown(summary):
    """The summary as the home page's Markdown table: one line per method and R, smallest first."""
    def number(value, digits):
        return "-" if value is None else f"{value:.{digits}f}"
    lines = ["| method | R (%) | rank k | size (MB) | test acc. (%) | ± std | seeds | before retraining (%) "
             "| ms / sentence | latency ratio |", "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for r in sorted(summary, key=lambda r: (r["size_bytes"], r["method"])):
        lines.append(f"| {METHOD_NAMES.get(r['method'], r['method'])} | {r['reduction_pct']} | "
                     f"{'-' if r['rank'] is None else r['rank']} | {number(r['size_bytes'] / 1e6, 2)} | "
                     f"{number(r['accuracy'], 2)} | {number(r['accuracy_std'], 2)} | {r['seeds']} | "
                     f"{number(r['accuracy_before_retrain'], 2)} | {number(r['latency_ms_b1'], 3)} | "
                     f"{number(r['latency_ratio_b1'], 2)} |")
    return "\n".join(lines)


def describe(row):
    """A method row's human name, e.g. 'Online LMF (proposed), R=90%'."""
    name = METHOD_NAMES.get(row["method"], row["method"])
    with_r = row["method"] in ("lmf", "offline_svd") or (row["method"] not in QUANT_BITS and row["reduction_pct"] > 0)
    return f"{name}, R={row['reduction_pct']}%" if with_r else name
