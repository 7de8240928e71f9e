"""catalog.py: results.csv read and summarized without torch or pandas, and the home page's lookups."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lmf import catalog
from lmf.catalog import ArtifactError, RESULT_COLUMNS
from lmf.sweep import Cell

ROOT = Path(__file__).resolve().parent.parent
HEADER = ",".join(RESULT_COLUMNS)


def line(method, reduction, seed, accuracy, rank="", size=1e6, latency="", model="dan", dataset="sst2", before=""):
    # dataset,model,method,reduction_pct,rank,params,size_bytes,accuracy,dev_accuracy,
    # accuracy_before_retrain,latency_ms_b1,latency_ratio_b1,test_set_seconds,seed
    ratio = "" if latency == "" else latency / 2.0
    return (f"{dataset},{model},{method},{reduction},{rank},10.0,{size},{accuracy},{accuracy},{before},"
            f"{latency},{ratio},,{seed}")


def write_results(folder, lines):
    (folder / "results.csv").write_text("\n".join([HEADER] + lines) + "\n")
    return folder


@pytest.fixture
def results(tmp_path):
    """Uncompressed DAN with seeds at 0.82 and 0.84 (latency measured on seed 0 only), LMF at
    R=90 (rank 87, 2 MB, 0.83) and R=50 (8 MB, 0.835), 8-bit (5 MB, 0.81), and a fastText row."""
    return catalog.read_results(write_results(tmp_path, [
        line("uncompressed", 0, 0, 0.82, size=20e6, latency=2.0), line("uncompressed", 0, 1, 0.84, size=20e6),
        line("lmf", 90, 0, 0.83, rank=87, size=2e6, latency=1.0, before=0.70),
        line("lmf", 50, 0, 0.835, rank=120, size=8e6), line("quant8", 0, 0, 0.81, size=5e6),
        line("fasttext", 0, 0, 0.80, size=3e6, model="fasttext")]))


def test_a_spreadsheet_saved_file_reads_the_same(tmp_path, results):
    """Saved by a spreadsheet: a UTF-8 byte-order mark before the header, numbers padded."""
    text = "\ufeff" + HEADER + "\n" + line("lmf", " 90", 0, " 0.83", rank=87) + "\n"
    (tmp_path / "results.csv").write_text(text, encoding="utf-8")
    row = catalog.read_results(tmp_path)[0]
    assert (row["dataset"], row["reduction_pct"], row["accuracy"]) == ("sst2", 90, 0.83)


def test_rank_is_the_first_known_one():
    """Seed 0's row lost its rank, seed 1's has 87: the summary's rank is 87, not None."""
    rows = [{**dict.fromkeys(RESULT_COLUMNS), "dataset": "sst2", "model": "dan", "method": "lmf", "reduction_pct": 90,
             "size_bytes": 1.0, "params": 1.0, "accuracy": 0.8, "seed": seed, "rank": rank} for seed, rank in ((0, None), (1, 87))]
    assert catalog.summarize(rows)[0]["rank"] == 87


def test_rows_are_typed(results):
    """Integers stay integers (R, rank, seed), an empty cell is None, the rest are floats."""
    lmf = results[2]
    assert (lmf["reduction_pct"], lmf["rank"], lmf["seed"]) == (90, 87, 0) and isinstance(lmf["rank"], int)
    assert results[0]["rank"] is None and results[1]["latency_ms_b1"] is None
    assert lmf["accuracy_before_retrain"] == 0.70 and lmf["size_bytes"] == 2e6


def test_summarize_mean_and_sample_std(results):
    """Seeds 0.82 and 0.84: mean 83.00 %, sample std sqrt((1^2 + 1^2) / (2 - 1)) = 1.414 points.
    Latency was measured on seed 0 only (2.0 ms): the mean skips the missing one, giving 2.0, not
    NaN. A single seed has std 0.0."""
    summary = catalog.summarize(results)
    base = catalog.find(summary, "uncompressed")
    assert base["accuracy"] == pytest.approx(83.0) and base["accuracy_std"] == pytest.approx(2 ** 0.5)
    assert base["seeds"] == 2 and base["latency_ms_b1"] == 2.0 and base["rank"] is None
    assert catalog.find(summary, "lmf", 90)["accuracy_std"] == 0.0
    assert [r["method"] for r in summary] == ["uncompressed", "lmf", "lmf", "quant8", "fasttext"]


def test_pairs_and_summaries_per_model(results):
    """fastText rows have no page of their own; they are the dataset's reference summary."""
    assert catalog.pairs(results) == [("sst2", "dan")]
    assert [r["method"] for r in catalog.reference_summary(results, "sst2")] == ["fasttext"]
    assert catalog.summary_for(results, "clinc150", "dan") == []
    assert catalog.grid_reductions(catalog.summary_for(results, "sst2", "dan")) == [50, 90]


def test_selection_follows_the_grid(results):
    """R=0 is the uncompressed model; R=90 is the retrained LMF row (its latency ratio 1.0 / 2 = 0.5
    from the CSV); R=37 is not on the grid, so there is no precomputed selection (SVD-only)."""
    summary = catalog.summary_for(results, "sst2", "dan")
    assert catalog.precomputed_selection(summary, 0).kind == "uncompressed"
    s = catalog.precomputed_selection(summary, 90)
    assert (s.kind, s.rank, s.size_bytes, s.latency_ratio, s.seeds) == ("lmf", 87, 2e6, 0.5, 1)
    assert s.accuracy == pytest.approx(83.0) and s.accuracy_before_retrain == pytest.approx(70.0)
    assert s.label == "Online LMF, R=90% (retrained)"
    assert catalog.precomputed_selection(summary, 37) is None


def test_recommend_smallest_within_tolerance(results):
    """Uncompressed mean 83.00. Within 0.5 points (>= 82.50): LMF R=90 (2 MB, 83.0) is the smallest.
    Within 0.0 points (>= 83.00): LMF R=90 (83.0) still qualifies; 8-bit (81.0) never does."""
    summary = catalog.summary_for(results, "sst2", "dan")
    assert catalog.describe(catalog.recommend(summary, 0.5)) == "Online LMF (proposed), R=90%"
    assert catalog.recommend(summary, 0.0)["size_bytes"] == 2e6
    assert catalog.describe(catalog.find(summary, "quant8")) == "8-bit (baseline 1)"
    assert catalog.recommend([], 1.0) is None


@pytest.mark.parametrize("content, message", [
    (None, "`results.csv` is missing"), ("dataset,model\nsst2,dan\n", "lacks column"),
    (HEADER + "\n", "has no rows"), (HEADER + "\n" + line("lmf", "ninety", 0, 0.8), "malformed value"),
    (HEADER + "\n" + line("lmf", 90, 0, 0.8, size=""), "`size_bytes` is blank"),
    (b"\xff\xfe\x00garbage", "unreadable")])
def test_bad_results_name_the_problem_and_the_fix(tmp_path, content, message):
    if content is not None:
        path = tmp_path / "results.csv"
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    with pytest.raises(ArtifactError, match=message) as error:
        catalog.read_results(tmp_path)
    assert catalog.REGENERATE in str(error.value)


def test_names_match_the_sweep(tmp_path):
    """A cell's name is the sweep's; a saved model's config is read from its meta.json alone."""
    for cell in (Cell("sst2", "dan", "lmf", 90, 1), Cell("clinc150", "lstm", "latency"), Cell("sst2", "dan", "uncompressed", 0, 0, "clr")):
        assert catalog.cell_id(cell.dataset, cell.model, cell.method, cell.reduction, cell.seed, cell.schedule) == cell.id
    path = catalog.model_path(tmp_path, "sst2", "dan", "lmf", 90)
    assert path.name == "sst2-dan-lmf-R90-s0" and catalog.saved_config(tmp_path, "sst2", "dan", "lmf", 90) is None
    path.mkdir(parents=True)
    (path / "meta.json").write_text(json.dumps({"config": {"embed_dim": 300, "rank": 29}}))
    assert catalog.saved_config(tmp_path, "sst2", "dan", "lmf", 90) == {"embed_dim": 300, "rank": 29}
    assert catalog.shipped_reductions(tmp_path, "sst2", "dan") == [90]
    (path / "meta.json").write_text("{not json")
    assert catalog.saved_config(tmp_path, "sst2", "dan", "lmf", 90) is None


def test_home_page_imports_leave_torch_and_pandas_unloaded():
    """The start-up design: app.py's imports (streamlit, ui, lmf.catalog) load neither torch nor
    pandas, so the home page's cards can draw before they do (measured by scripts/bench_app.py)."""
    code = "import sys; import ui, lmf.catalog; print(sorted(m for m in ('torch', 'pandas') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_spectrum_is_read_only_for_the_shipped_weights(tmp_path):
    """spectra.json holds σ = (3, 4) for the weights file's sha256: the energy the top k = 1 keeps is
    3² / (3² + 4²) = 9 / 25 = 0.36. Once the file changes (a regenerated or corrupt model), the
    stored values no longer describe it and read_spectrum returns None (the app then loads the
    model, which computes them or says what is wrong); so does an all-zero list."""
    path = catalog.model_path(tmp_path, "sst2", "dan")
    path.mkdir(parents=True)
    weights = path / "model.safetensors"
    weights.write_bytes(b"weights")

    def store(values):
        entry = {"weights_sha256": catalog.file_sha256(weights), "singular_values": values}
        (tmp_path / "spectra.json").write_text(json.dumps({path.name: entry}))

    store([3, 4])
    values = catalog.read_spectrum(tmp_path, "sst2", "dan")
    assert values == [3.0, 4.0] and catalog.energy_kept(values, 1) == pytest.approx(0.36)
    assert catalog.energy_kept(values, 0) == 1.0
    weights.write_bytes(b"weights, changed")
    assert catalog.read_spectrum(tmp_path, "sst2", "dan") is None
    store([0, 0])
    assert catalog.read_spectrum(tmp_path, "sst2", "dan") is None
    assert catalog.read_spectrum(tmp_path, "clinc150", "dan") is None
