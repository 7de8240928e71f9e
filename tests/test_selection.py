"""lmf.selection: what R stands for on the home page, the recommendation, verdict and table, and
studio.analysis.schedule_gaps, on worked examples."""
from studio.analysis import schedule_gaps
from lmf.selection import Selection, precomputed_selection, recommend, seed_row, svd_only_selection, table_rows, verdict


def summary_row(method, reduction, accuracy, size, rank=None, latency=None, seeds=1, before=None):
    return {"dataset": "sst2", "model": "dan", "method": method, "embedding_reduction_pct": reduction,
            "accuracy": accuracy, "accuracy_std": None, "seeds": seeds, "dev_accuracy": accuracy,
            "accuracy_before_retrain": before, "size_bytes": size, "bytes_fraction": None, "params": 10,
            "rank": rank, "width": None, "latency_ms_b1": latency, "latency_ratio_b1": None if latency is None else latency / 2,
            "test_set_seconds": None, "eager_latency_ms_b1": None}


SUMMARY = [summary_row("uncompressed", 0, 83.0, 20e6, latency=2.0, seeds=2),
           summary_row("lmf", 90, 83.0, 2e6, rank=87, latency=1.0, before=70.0),
           summary_row("lmf", 50, 83.5, 8e6, rank=120), summary_row("quant8", 0, 81.0, 5e6)]


def result_row(method, reduction, seed, accuracy, size, rank=None, latency=None, eager=None, before=None):
    """A results.csv row as lmf.results reads it (accuracies are fractions)."""
    return {"dataset": "sst2", "model": "dan", "method": method, "embedding_reduction_pct": reduction, "seed": seed,
            "accuracy": accuracy, "accuracy_before_retrain": before, "size_bytes": size, "params": 10, "rank": rank,
            "latency_ms_b1": latency, "latency_ratio_b1": None if latency is None else latency / 2,
            "eager_latency_ms_b1": eager}


ROWS = [result_row("uncompressed", 0, 1, 0.84, 20e6), result_row("uncompressed", 0, 0, 0.82, 20e6, latency=2.0),
        result_row("lmf", 90, 0, 0.83, 2e6, rank=87, latency=1.0, eager=3.0, before=0.70),
        result_row("lmf", 50, 0, 0.835, 8e6, rank=120), result_row("quant8", 0, 0, 0.81, 5e6)]


def test_selection_is_seed_zeros_model():
    """The cards show the seed-0 row, the model shipped and downloaded: R=0 is seed 0's uncompressed
    model (82 %, not the 2-seed mean 83 % of SUMMARY); R=90 is the retrained LMF row (latency ratio
    1.0 / 2 = 0.5, eager 3.0 ms, 70 % before retraining); R=37 is not on the grid, so there is no
    precomputed selection (the page makes an SVD-only one)."""
    base = precomputed_selection(SUMMARY, 0, ROWS)
    assert (base.kind, base.accuracy, base.mean_accuracy, base.seeds) == ("uncompressed", 82.0, 83.0, 2)
    assert base.row is ROWS[1]
    s = precomputed_selection(SUMMARY, 90, ROWS)
    assert (s.kind, s.rank, s.size_bytes, s.latency_ratio, s.accuracy_before_retrain, s.eager_latency_ms) == \
        ("lmf", 87, 2e6, 0.5, 70.0, 3.0)
    assert s.label == "Online LMF, R=90% (retrained)"
    assert precomputed_selection(SUMMARY, 37, ROWS) is None
    no_seed0 = precomputed_selection(SUMMARY, 90, ROWS[:2])  # the summary's mean, and nothing to download
    assert (no_seed0.row, no_seed0.accuracy, no_seed0.size_bytes) == (None, 83.0, 2e6)


def test_svd_only_is_measured_on_a_copy(toy, tmp_path):
    """An R off the grid: the toy's 8 x 8 embedding at R = 50 gets rank floor(0.5 * 64 / 16) = 2;
    the uncompressed model is compressed as a copy (its own weights unchanged), the size is its
    export's bytes (the download), and the accuracy is on the 2-sentence test split (0, 50 or 100 %)."""
    import torch

    from lmf.artifacts import SavedModel
    from lmf.export import is_export
    from lmf.metrics import size_on_disk
    from lmf.models import new_model
    model = new_model("dan", len(toy.vocab), 2, embed_dim=8, seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    saved = SavedModel(model, toy.vocab, toy.label_names, model.config, {}, None)
    compressed, s = svd_only_selection(saved, 50, tmp_path / "svd", toy)
    assert s.kind == "svd_only" and s.rank == compressed.config["rank"] == 2
    assert s.size_bytes == size_on_disk(s.export_dir) and is_export(s.export_dir)
    assert s.accuracy in (0.0, 50.0, 100.0)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def row(method, reduction, size_mb, accuracy, latency=None, seeds=1):
    return {"method": method, "embedding_reduction_pct": reduction, "size_bytes": size_mb * 1e6, "accuracy": accuracy,
            "accuracy_std": None if seeds < 2 else 0.2, "seeds": seeds, "latency_ms_b1": latency,
            "latency_ratio_b1": None, "rank": None, "width": None, "bytes_fraction": None}


BASE = row("uncompressed", 0, 20.0, 83.0, 0.30, 3)


def test_recommend_smallest_within_tolerance():
    summary = [BASE, row("lmf", 90, 5.0, 82.5, 0.30, 3), row("lmf", 98, 1.0, 80.0, 0.20, 3),
               row("quant8", 0, 5.5, 82.9, 0.40, 3)]
    best = recommend(summary, 1.0)  # 98 is 3 points down: out; 5.0 MB is the smallest left
    assert (best.row["method"], best.row["embedding_reduction_pct"]) == ("lmf", 90)
    assert best.candidates == 3 and not best.one_seed and "smallest of the 3" in best.reason
    assert recommend(summary, 0.0).row["method"] == "uncompressed"  # nothing else reaches 83.0
    assert recommend(summary, 5.0).row["embedding_reduction_pct"] == 98
    assert recommend([row("lmf", 90, 5.0, 82.5)], 1.0) is None  # no uncompressed row


def test_recommend_prefers_faster_among_equally_small_and_flags_one_seed():
    # 5.0 and 5.2 MB are within 5 % of each other: the faster (0.25 ms) wins, though 0.2 MB larger
    summary = [BASE, row("lmf", 90, 5.0, 82.8, 0.35, 3), row("hmf", 90, 5.2, 82.6, 0.25, 1),
               row("groupreduce", 90, 5.6, 82.9, 0.10, 3)]  # 12 % larger: not a tie, however fast
    best = recommend(summary, 1.0)
    assert best.row["method"] == "hmf" and best.one_seed
    assert "fastest of the 2 models within 5 % of the smallest size" in best.reason
    # with equal latency, more seeds win
    summary[2] = row("hmf", 90, 5.2, 82.6, 0.35, 1)
    assert recommend(summary, 1.0).row["method"] == "lmf"


def test_verdict_sentences():
    base = {"size_bytes": 20e6, "accuracy": 83.0}
    assert verdict(Selection("lmf", 90, 29, 0, 5e6, 82.6, latency_ratio=0.8), base) == \
        "R=90: 25% of the bytes, -0.40 points, 1.2x faster than uncompressed."
    assert verdict(Selection("lmf", 50, 80, 0, 10e6, 83.1, latency_ratio=1.3), base) == \
        "R=50: 50% of the bytes, +0.10 points, 1.3x slower than uncompressed."
    assert verdict(Selection("svd_only", 73, 40, 0, 7e6, None), base) == \
        "R=73: 35% of the bytes vs uncompressed (accuracy not measured), SVD only (not retrained)."
    assert verdict(Selection("uncompressed", 0, None, 0, 20e6, 83.0), base) == \
        "R=0 is the uncompressed model: 20.00 MB, 83.00 % test accuracy."


def test_seed_row_and_table_rows():
    rows = [{"dataset": "d", "model": "dan", "method": "uncompressed", "seed": s, "accuracy": a,
             "embedding_reduction_pct": 0} for s, a in ((1, 0.81), (0, 0.80))]
    assert seed_row(rows, "d", "dan")["accuracy"] == 0.80 and seed_row(rows, "d", "lstm") is None
    assert seed_row(ROWS, "sst2", "dan", "lmf", 0, 50)["accuracy"] == 0.835
    assert seed_row(ROWS, "sst2", "dan", "lmf", 0, 70) is None
    table = table_rows([BASE, row("lmf", 90, 5.0, 82.5, 0.3, 1)], ("lmf", 90))
    assert [t["R (%)"] for t in table] == [90, 0], "smallest first"
    assert [t["Selected"] for t in table] == [True, False]
    assert [t["Note"] for t in table] == ["one seed", ""]


def test_schedule_gaps_seed0_only():
    rows = [{"dataset": "sst2", "model": m, "schedule": s, "seed": seed, "accuracy": a}
            for m, s, seed, a in [("lstm", "clr", 0, 0.849), ("lstm", "calr", 0, 0.842), ("lstm", "calr", 1, 0.86),
                                  ("dan", "clr", 0, 0.826), ("dan", "calr", 0, 0.828)]]
    (model, clr, calr, gap), = schedule_gaps(rows, "sst2")
    assert model == "lstm" and round(clr, 2) == 84.9 and round(calr, 2) == 84.2 and round(gap, 2) == 0.7
    assert schedule_gaps(rows, "clinc150") == []
