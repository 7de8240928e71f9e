"""What a choice of R stands for, and which model to recommend within a tolerance.

`precomputed_selection` is the retrained model the sweep measured at R (or the uncompressed one at
R = 0); `svd_only_selection` compresses the uncompressed model at any other R on the spot (SVD
only, not retrained, and labelled so); `recommend` picks the smallest model within X points.

Standard library at import (the home page calls precomputed_selection before torch loads); the
SVD-only path imports torch when called. Deliberately not here: Streamlit code, results.csv's
reading (lmf.results).
"""
import tempfile
from dataclasses import dataclass
from pathlib import Path

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


def saved_size(model, vocab, label_names):
    """Bytes on disk the model takes when saved with lmf.artifacts.save_model (to a temporary dir)."""
    from .artifacts import save_model
    from .metrics import size_on_disk
    with tempfile.TemporaryDirectory() as tmp:
        return size_on_disk(save_model(Path(tmp) / "m", model, vocab, label_names))


def svd_only_selection(saved, reduction, test_data=None):
    """(compressed model, Selection) for an R the sweep did not retrain: lmf.compress.compress_model
    on the uncompressed SavedModel (copied, never changed). Size is measured by saving it; accuracy
    is on `test_data`'s test split when given, else None."""
    from .compress import compress_model
    from .metrics import accuracy, count_parameters
    compressed = compress_model(saved.model, reduction)
    size = saved_size(compressed, saved.vocab, saved.label_names)
    acc = accuracy(compressed, test_data, "test") * 100 if test_data is not None else None
    return compressed, Selection("svd_only", reduction, compressed.config["rank"], count_parameters(compressed),
                                 float(size), acc, acc)


def recommend(summary, tolerance_points):
    """The smallest model (any method, any R) whose mean test accuracy is within `tolerance_points`
    of the uncompressed model's (the more accurate of equal sizes); None without an uncompressed row."""
    base = find(summary, "uncompressed")
    if base is None:
        return None
    ok = [r for r in summary if r["accuracy"] is not None and r["accuracy"] >= base["accuracy"] - tolerance_points]
    return min(ok, key=lambda r: (r["size_bytes"], -r["accuracy"]))
