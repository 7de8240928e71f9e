"""What a choice of R stands for, and which model to recommend within a tolerance.

One accuracy per model: `model_summary` gives each model (method, R) seed 0's numbers, the run whose
model the app ships and serves as a download, with the spread over the sweep's other seeds beside
them (shown in tooltips, never as a second accuracy). `precomputed_selection` is the retrained
model the sweep measured at R (or the uncompressed one at R = 0); `svd_only_selection` compresses
the uncompressed model at any other R on the spot and exports it (SVD only, not retrained, and
labelled so); `recommend` picks the model to ship: the smallest whose dev accuracy is within X
points of the uncompressed model's, by `within_tolerance`, autotune's own test, so a job's chosen
model is what the home page recommends; `verdict` says in one sentence what a choice means.
An int8 export can run slower than the fp32 model it is quantized from (its fp32 twin, timed in the
same run: results.csv's twin_latency_ratio_b1); the rule does not change for it, but `twin_note`
says so, and a Recommendation carries that sentence as its `caveat`, so no page recommends such a
model without saying it.

Standard library at import (the home page calls precomputed_selection before torch loads); the
SVD-only path imports torch when called. Deliberately not here: Streamlit code, results.csv's
reading (lmf.results).
"""
from dataclasses import dataclass

from .methods import METHODS, method_label
from .units import in_percent, mb, megabytes, percent, points, tolerance
from . import results
from .results import find, summarize


@dataclass(kw_only=True)
class Selection:
    """What the reduction slider points at; accuracies fractions, None where unknown. Built with
    keywords only: fourteen fields in a row are easy to misplace."""
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
    row: dict = None  # the seed-0 results.csv row these numbers are (None for SVD only)
    mean_accuracy: float = None  # over `seeds` seeds, with its sample standard deviation
    accuracy_std: float = None
    eager_latency_ms: float = None
    export_dir: object = None  # SVD only: the export built on the spot (the download)
    dev_accuracy: float = None
    throughput: float = None  # sentences per second at batch 256, one thread (None: not measured)

    @property
    def label(self):
        return {"uncompressed": "Uncompressed", "lmf": f"Online LMF, R={self.reduction}% (retrained)",
                "svd_only": f"SVD only, R={self.reduction}% (not retrained)"}[self.kind]


def model_summary(rows, dataset=None, model=None):
    """One dict per model (dataset, model, method, R) of results.csv's `rows` (only `dataset` and
    `model`'s when given), in lmf.results.summarize's shape and units (accuracies fractions):
    seed 0's numbers, the model shipped and downloaded, so that every card, chart and table shows
    one accuracy per model; `seeds`, `mean_accuracy` and `accuracy_std` describe the spread over
    every seed the sweep ran (for tooltips); `row` is the seed-0 results row itself. Without a
    seed-0 row (a hand-made results.csv) the numbers are the mean's and `row` is None.

    Worked example: seeds 0, 1, 2 of one model at 0.82, 0.84, 0.86 test accuracy give accuracy 0.82
    (seed 0's), mean_accuracy 0.84, accuracy_std 0.02 (the sample standard deviation) and seeds 3."""
    rows = [r for r in rows if (dataset is None or r["dataset"] == dataset) and (model is None or r["model"] == model)]
    groups = {}
    for r in rows:
        groups.setdefault((r["dataset"], r["model"], r["method"], r["embedding_reduction_pct"]), []).append(r)
    out = []
    for mean in summarize(rows):
        group = groups[(mean["dataset"], mean["model"], mean["method"], mean["embedding_reduction_pct"])]
        first = next((r for r in group if r["seed"] == 0), None)
        shown = mean if first is None else summarize([first])[0]
        out.append({**shown, "seeds": mean["seeds"], "mean_accuracy": mean["accuracy"],
                    "accuracy_std": mean["accuracy_std"], "row": first})
    return out


def precomputed_selection(models, reduction):
    """The Selection for R=0 (uncompressed) or an R of the LMF grid, None for any other R: the
    model_summary row's numbers (seed 0's, so that the cards describe the model that is shipped and
    downloaded; its `row` None when there is no seed 0, and then nothing to download)."""
    kind = "uncompressed" if reduction == 0 else "lmf"
    m = find(models, kind, None if reduction == 0 else reduction)
    if m is None:
        return None
    return Selection(kind=kind, reduction=reduction, rank=m["rank"], params=int(m["params"] or 0),
                     size_bytes=m["size_bytes"], accuracy=m["accuracy"],
                     accuracy_before_retrain=m["accuracy_before_retrain"], latency_ms=m["latency_ms_b1"],
                     latency_ratio=m["latency_ratio_b1"], seeds=m["seeds"], row=m.get("row"),
                     mean_accuracy=m.get("mean_accuracy", m["accuracy"]), accuracy_std=m["accuracy_std"],
                     eager_latency_ms=m["eager_latency_ms_b1"], dev_accuracy=m["dev_accuracy"],
                     throughput=m.get("throughput_b256"))


def svd_only_selection(saved, reduction, out, test_data=None):
    """(compressed model, Selection) for an R the sweep did not retrain: lmf.compress.compress_model
    on the uncompressed SavedModel (copied, never changed), exported (fp32) to `out`, the download.
    Size is the export's bytes; accuracy is on `test_data`'s test split when given, else None."""
    from .compress import compress_model
    from .export import export_trained
    from .metrics import accuracy, count_parameters, size_on_disk
    compressed = compress_model(saved.model, reduction)
    export = export_trained(compressed, saved.vocab, saved.label_names, out)
    acc = accuracy(compressed, test_data, "test") if test_data is not None else None
    return compressed, Selection(kind="svd_only", reduction=reduction, rank=compressed.config["rank"],
                                 params=count_parameters(compressed), size_bytes=float(size_on_disk(export)),
                                 accuracy=acc, accuracy_before_retrain=acc, export_dir=export)


SIZE_TIE = 0.05  # sizes within 5 % of the smallest acceptable one count as equally small


@dataclass
class Recommendation:
    row: dict  # the model_summary row recommended
    candidates: int  # models within the tolerance
    judged_on: str  # "dev" (as autotune judges), or "test" where results.csv records no dev accuracy
    reason: str
    caveat: str = None  # twin_note: an int8 export slower than its fp32 twin, said plainly


def fp32_twin(models, row):
    """The model_summary row (of `models`) of `row`'s fp32 twin: for an int8-deployed method, the
    model its export is quantized from (lmf.methods: the uncompressed model for 8-bit, the retrained
    model for a `+ int8` stack, at the same R); None for any other method or when `models` lacks it."""
    method = METHODS.get(row["method"])
    if method is None or method.deploy != "int8":
        return None
    source = method.deployed_method
    return find(models, source, 0 if source == "uncompressed" else row["embedding_reduction_pct"])


def twin_note(models, row):
    """A sentence when `row` (a model_summary row) is an int8 export that took longer at batch 1 than
    its fp32 twin timed in the same run (twin_latency_ratio_b1 above 1), else None (an fp32 model,
    a faster int8 one, or artifacts that did not measure it). Worked example: LMF + int8 at R = 90
    with ratio 1.12, its twin LMF at R = 90 of 250,000 bytes and 0.031 ms: 'At batch 1 this int8
    export takes 1.12x the time of its fp32 twin (Online LMF (proposed), R = 90, the model it is
    quantized from) on the machine that measured them; the fp32 twin: 0.25 MB, 0.031 ms per sentence.'"""
    ratio = row.get("twin_latency_ratio_b1")
    if ratio is None or ratio <= 1 or METHODS.get(row["method"]) is None or METHODS[row["method"]].deploy != "int8":
        return None
    twin = fp32_twin(models, row)
    source = METHODS[row["method"]].deployed_method
    name = method_label(source) + ("" if source == "uncompressed" else f", R = {row['embedding_reduction_pct']}")
    text = (f"At batch 1 this int8 export takes {ratio:.2f}x the time of its fp32 twin ({name}, the model it is "
            "quantized from) on the machine that measured them")
    if twin is None:
        return text + "."
    ms = "latency not measured" if twin["latency_ms_b1"] is None else f"{twin['latency_ms_b1']:.3f} ms per sentence"
    return text + f"; the fp32 twin: {mb(twin['size_bytes'])}, {ms}."


def within_tolerance(accuracy, base_accuracy, tolerance_points):
    """Whether `accuracy` (a fraction) is at most `tolerance_points` points below `base_accuracy`.
    The very expression of autotune's target (the base's dev accuracy minus max_drop / 100), so the
    two agree even at the boundary: 0.89 against a base of 0.90 at 1 point is within, whatever
    floating point makes of 0.90 - 0.01, because both sides compute it alike."""
    return accuracy >= base_accuracy - tolerance_points / 100




def recommend(models, tolerance_points, size_tie=SIZE_TIE):
    """The model to ship among `models` (model_summary rows of one dataset and model: any method,
    any R) whose dev accuracy is within `tolerance_points` of the uncompressed model's
    (within_tolerance, autotune's test; test accuracy where results.csv has no dev accuracy for the
    uncompressed model): the smallest; among the ones within `size_tie` of that size, the fastest
    measured (latency at batch 1; unmeasured last), then the one measured over more seeds, then the
    more accurate. None without an uncompressed row. An int8 export slower than its fp32 twin is
    recommended all the same when the rule picks it; its `caveat` (twin_note) says so."""
    base = find(models, "uncompressed")
    if base is None:
        return None
    column = "dev_accuracy" if base["dev_accuracy"] is not None else "accuracy"
    floor = base[column]
    ok = [r for r in models if r[column] is not None
          and within_tolerance(r[column], floor, tolerance_points)] or [base]
    smallest = min(r["size_bytes"] for r in ok)
    tied = [r for r in ok if r["size_bytes"] <= smallest * (1 + size_tie)]
    best = min(tied, key=lambda r: (r["latency_ms_b1"] is None, r["latency_ms_b1"] or 0, -r["seeds"],
                                    -r[column], r["size_bytes"]))
    split = "dev" if column == "dev_accuracy" else "test"
    within = f"within {tolerance(tolerance_points)} of the uncompressed model on {split}"
    if len(tied) == 1:
        reason = f"the smallest of the {len(ok)} models {within}"
    else:
        reason = (f"the fastest of the {len(tied)} models within {100 * size_tie:.0f} % of the smallest size, "
                  f"among the {len(ok)} {within}")
    return Recommendation(best, len(ok), split, reason, twin_note(models, best))


def verdict(selection, base):
    """One sentence on what a Selection means against the uncompressed summary row `base`, e.g.
    'R=90: 25% of the bytes, -0.40 points, 1.3x faster than uncompressed.' Accuracy is compared
    with `base`'s, so for an SVD-only selection pass the seed-0 base (the model it was cut from)."""
    if selection.kind == "uncompressed":
        return (f"R=0 is the uncompressed model: {mb(selection.size_bytes)}, "
                f"{percent(selection.accuracy)} test accuracy.")
    text = f"R={selection.reduction}: {100 * selection.size_bytes / base['size_bytes']:.0f}% of the bytes"
    if selection.accuracy is not None and base["accuracy"] is not None:
        text += f", {points(selection.accuracy - base['accuracy'])}"
    ratio = selection.latency_ratio
    if ratio:
        text += (f", {1 / ratio:.1f}x faster than" if ratio < 0.95 else f", {ratio:.1f}x slower than" if ratio > 1.05
                 else ", as fast as") + " uncompressed"
    else:
        text += " vs uncompressed" + ("" if selection.accuracy is not None else " (accuracy not measured)")
    return text + (", SVD only (not retrained)." if selection.kind == "svd_only" else ".")


def seed_row(rows, dataset, model, method="uncompressed", seed=0, reduction=0):
    """One seed's results.csv row (accuracy a fraction), or None: the shipped models are seed 0's,
    and an SVD-only model is cut from the seed-0 uncompressed model, so cards compare like with like."""
    return results.seed_row(rows, seed, dataset=dataset, model=model, method=method, embedding_reduction_pct=reduction)


def table_rows(models, selected=None):
    """The home page's sortable table: one dict per model_summary row, smallest first, numbers kept
    as numbers (so the columns sort); `Selected` marks the row equal to `selected` (method, R);
    accuracies are seed 0's, `± std` the spread over seeds (None for one seed); throughput and the
    int8 export's time over its fp32 twin's None where not measured (or not int8)."""
    out = []
    for r in sorted(models, key=lambda r: r["size_bytes"]):
        key = (r["method"], r["embedding_reduction_pct"])
        out.append({
            "Selected": key == selected, "Method": method_label(r["method"]), "R (%)": r["embedding_reduction_pct"],
            "Rank / width": r["rank"] if r["rank"] is not None else r["width"],
            "Size (MB)": megabytes(r["size_bytes"]),
            "% of bytes": None if r["bytes_fraction"] is None else 100 * r["bytes_fraction"],
            "Dev acc. (%)": in_percent(r["dev_accuracy"]), "Test acc. (%)": in_percent(r["accuracy"]),
            "± std": in_percent(r["accuracy_std"]),
            "Seeds": r["seeds"], "ms / sentence": r["latency_ms_b1"], "Latency ratio": r["latency_ratio_b1"],
            "Sentences/s (batch 256)": r.get("throughput_b256"),
            "int8 / fp32 twin time": r.get("twin_latency_ratio_b1")})
    return out
