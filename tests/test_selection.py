"""lmf.selection: what R stands for on the home page, and the smallest model within X points."""
import pytest

from lmf.selection import precomputed_selection, recommend, svd_only_selection
from lmf.tables import describe


def summary_row(method, reduction, accuracy, size, rank=None, latency=None, seeds=1, before=None):
    return {"dataset": "sst2", "model": "dan", "method": method, "embedding_reduction_pct": reduction,
            "accuracy": accuracy, "accuracy_std": None, "seeds": seeds, "dev_accuracy": accuracy,
            "accuracy_before_retrain": before, "size_bytes": size, "bytes_fraction": None, "params": 10,
            "rank": rank, "width": None, "latency_ms_b1": latency, "latency_ratio_b1": None if latency is None else latency / 2,
            "test_set_seconds": None}


SUMMARY = [summary_row("uncompressed", 0, 83.0, 20e6, latency=2.0, seeds=2),
           summary_row("lmf", 90, 83.0, 2e6, rank=87, latency=1.0, before=70.0),
           summary_row("lmf", 50, 83.5, 8e6, rank=120), summary_row("quant8", 0, 81.0, 5e6)]


def test_selection_follows_the_grid():
    """R=0 is the uncompressed model; R=90 is the retrained LMF row (latency ratio 1.0 / 2 = 0.5);
    R=37 is not on the grid, so there is no precomputed selection (the page makes an SVD-only one)."""
    assert precomputed_selection(SUMMARY, 0).kind == "uncompressed"
    s = precomputed_selection(SUMMARY, 90)
    assert (s.kind, s.rank, s.size_bytes, s.latency_ratio, s.accuracy_before_retrain) == ("lmf", 87, 2e6, 0.5, 70.0)
    assert s.label == "Online LMF, R=90% (retrained)"
    assert precomputed_selection(SUMMARY, 37) is None


def test_recommend_smallest_within_tolerance():
    """Uncompressed 83.00. Within 0.5 points (>= 82.50): LMF R=90 (2 MB) is the smallest; 8-bit
    (81.0) never qualifies, and within 0 points R=90 (83.0, equal) still does."""
    assert describe(recommend(SUMMARY, 0.5)) == "Online LMF (proposed), R=90%"
    assert recommend(SUMMARY, 0.0)["size_bytes"] == 2e6
    assert describe(recommend(SUMMARY, 3.0)) == "Online LMF (proposed), R=90%"
    assert recommend([], 1.0) is None


def test_svd_only_is_measured_on_a_copy(toy):
    """An R off the grid: the toy's 8 x 8 embedding at R = 50 gets rank floor(0.5 * 64 / 16) = 2;
    the uncompressed model is compressed as a copy (its own weights unchanged), the size is what
    saving it takes, and the accuracy is on the 2-sentence test split (0, 50 or 100 %)."""
    import torch

    from lmf.artifacts import SavedModel
    from lmf.models import new_model
    model = new_model("dan", len(toy.vocab), 2, embed_dim=8, seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    saved = SavedModel(model, toy.vocab, toy.label_names, model.config, {}, None)
    compressed, s = svd_only_selection(saved, 50, toy)
    assert s.kind == "svd_only" and s.rank == compressed.config["rank"] == 2
    assert 0 < s.size_bytes and s.accuracy in (0.0, 50.0, 100.0)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
