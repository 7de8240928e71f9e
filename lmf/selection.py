"""What a choice of R stands for, and which model to recommend within a tolerance.

`precomputed_selection` is the retrained model the sweep measured at R (or the uncompressed one at
R = 0): its numbers are seed 0's, the run whose model the app ships and serves as a download
(the mean over seeds rides along for the caption); `svd_only_selection` compresses the
uncompressed model at any other R on the spot and exports it (SVD only, not retrained, and
labelled so); `recommend` picks the model to ship within X points (smallest, then fastest,
one-seed results flagged); `verdict` says in one sentence what a choice means.

Standard library at import (the home page calls precomputed_selection before torch loads); the
SVD-only path imports torch when called. Deliberately not here: Streamlit code, results.csv's
reading (lmf.results).
"""
from dataclasses import dataclass

from .results import find


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
    row: dict = None  # the seed-0 results.csv row these numbers are (None for SVD only)
    mean_accuracy: float = None  # over `seeds` seeds, with its sample standard deviation
    accuracy_std: float = None
    eager_latency_ms: float = None
    export_dir: object = None  # SVD only: the export built on the spot (the download)

    @property
    def label(self):
        return {"uncompressed": "Uncompressed", "lmf": f"Online LMF, R={self.reduction}% (retrained)",
                "svd_only": f"SVD only, R={self.reduction}% (not retrained)"}[self.kind]


def precomputed_selection(summary, reduction, rows):
    """The Selection for R=0 (uncompressed) or an R of the LMF grid, None for any other R: the
    seed-0 row of `rows` (results.csv) for its numbers, so that the cards describe the model that
    is shipped and downloaded, with the summary row's mean and spread over seeds beside them
    (without a seed-0 row, the mean's numbers and `row` None: nothing to download)."""
    kind = "uncompressed" if reduction == 0 else "lmf"
    mean = find(summary, kind, None if reduction == 0 else reduction)
    if mean is None:
        return None
    row = seed_row(rows, mean["dataset"], mean["model"], kind, 0, reduction)
    # Without a seed-0 row (a hand-made results.csv): the mean's numbers, and nothing to download.
    shown = mean if row is None else {**row, **{c: None if row[c] is None else 100 * row[c]
                                                 for c in ("accuracy", "accuracy_before_retrain")}}
    return Selection(kind, reduction, shown["rank"], int(shown["params"] or 0), shown["size_bytes"], shown["accuracy"],
                     shown["accuracy_before_retrain"], shown["latency_ms_b1"], shown["latency_ratio_b1"],
                     mean["seeds"], row, mean["accuracy"], mean["accuracy_std"], shown["eager_latency_ms_b1"])


def svd_only_selection(saved, reduction, out, test_data=None):
    """(compressed model, Selection) for an R the sweep did not retrain: lmf.compress.compress_model
    on the uncompressed SavedModel (copied, never changed), exported (fp32) to `out`, the download.
    Size is the export's bytes; accuracy is on `test_data`'s test split when given, else None."""
    from .compress import compress_model
    from .export import export_trained
    from .metrics import accuracy, count_parameters, size_on_disk
    compressed = compress_model(saved.model, reduction)
    export = export_trained(compressed, saved.vocab, saved.label_names, out)
    acc = accuracy(compressed, test_data, "test") * 100 if test_data is not None else None
    return compressed, Selection("svd_only", reduction, compressed.config["rank"], count_parameters(compressed),
                                 float(size_on_disk(export)), acc, acc, export_dir=export)


SIZE_TIE = 0.05  # sizes within 5 % of the smallest acceptable one count as equally small


@dataclass
class Recommendation:
    row: dict  # the summary row recommended
    candidates: int  # summary rows within the tolerance
    one_seed: bool  # its accuracy is one run's: no spread known, it may not hold for another seed
    reason: str


def recommend(summary, tolerance_points, size_tie=SIZE_TIE):
    """The model to ship among those (any method, any R) whose mean test accuracy is within
    `tolerance_points` of the uncompressed model's: the smallest; among the ones within
    `size_tie` of that size, the fastest measured (latency at batch 1; unmeasured last), then
    the one measured over more seeds, then the more accurate. None without an uncompressed row."""
    base = find(summary, "uncompressed")
    if base is None:
        return None
    ok = [r for r in summary if r["accuracy"] is not None and r["accuracy"] >= base["accuracy"] - tolerance_points]
    smallest = min(r["size_bytes"] for r in ok)
    tied = [r for r in ok if r["size_bytes"] <= smallest * (1 + size_tie)]
    best = min(tied, key=lambda r: (r["latency_ms_b1"] is None, r["latency_ms_b1"] or 0, -r["seeds"], -r["accuracy"],
                                    r["size_bytes"]))
    if len(tied) == 1:
        reason = f"the smallest of the {len(ok)} models within {tolerance_points:.1f} points"
    else:
        reason = (f"the fastest of the {len(tied)} models within {100 * size_tie:.0f} % of the smallest size, "
                  f"among the {len(ok)} within {tolerance_points:.1f} points")
    return Recommendation(best, len(ok), best["seeds"] < 2, reason)


def verdict(selection, base):
    """One sentence on what a Selection means against the uncompressed summary row `base`, e.g.
    'R=90: 25% of the bytes, -0.40 points, 1.3x faster than uncompressed.' Accuracy is compared
    with `base`'s, so for an SVD-only selection pass the seed-0 base (the model it was cut from)."""
    if selection.kind == "uncompressed":
        return (f"R=0 is the uncompressed model: {selection.size_bytes / 1e6:.2f} MB, "
                f"{selection.accuracy:.2f} % test accuracy.")
    text = f"R={selection.reduction}: {100 * selection.size_bytes / base['size_bytes']:.0f}% of the bytes"
    if selection.accuracy is not None and base["accuracy"] is not None:
        text += f", {selection.accuracy - base['accuracy']:+.2f} points"
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
    return next((r for r in rows if r["dataset"] == dataset and r["model"] == model and r["method"] == method
                 and r["seed"] == seed and r["embedding_reduction_pct"] == reduction), None)


def table_rows(summary, selected=None):
    """The home page's sortable table: one dict per summary row, smallest first, numbers kept as
    numbers (so the columns sort); `Selected` marks the row equal to `selected` (method, R) and
    `Note` says when an accuracy is one seed's."""
    from .methods import method_label
    out = []
    for r in sorted(summary, key=lambda r: r["size_bytes"]):
        key = (r["method"], r["embedding_reduction_pct"])
        out.append({
            "Selected": key == selected, "Method": method_label(r["method"]), "R (%)": r["embedding_reduction_pct"],
            "Rank / width": r["rank"] if r["rank"] is not None else r["width"],
            "Size (MB)": r["size_bytes"] / 1e6,
            "% of bytes": None if r["bytes_fraction"] is None else 100 * r["bytes_fraction"],
            "Test acc. (%)": r["accuracy"], "± std": r["accuracy_std"], "Seeds": r["seeds"],
            "Note": "one seed" if r["seeds"] < 2 else "",
            "ms / sentence": r["latency_ms_b1"], "Latency ratio": r["latency_ratio_b1"]})
    return out
