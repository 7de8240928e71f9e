"""lmf.results: results.csv read into typed, range-checked rows and summarized over seeds."""
import pytest

from lmf import results as R
from lmf.layout import REGENERATE, ArtifactError

HEADER = ",".join(R.RESULT_COLUMNS)


def line(method, reduction, seed, accuracy, rank="", size=1_000_000, latency="", model="dan", dataset="sst2",
         before="", width=""):
    """One CSV line in RESULT_COLUMNS' order; columns not given are blank."""
    ratio = "" if latency == "" else latency / 2.0
    values = {"dataset": dataset, "model": model, "method": method, "embedding_reduction_pct": reduction,
              "rank": rank, "width": width, "params": 10, "size_bytes": size, "accuracy": accuracy,
              "dev_accuracy": accuracy, "accuracy_before_retrain": before, "latency_ms_b1": latency,
              "latency_ratio_b1": ratio, "seed": seed}
    return ",".join(str(values.get(c, "")) for c in R.RESULT_COLUMNS)


def write(folder, lines):
    (folder / "results.csv").write_text("\n".join([HEADER] + lines) + "\n")
    return folder


@pytest.fixture
def rows(tmp_path):
    """Uncompressed DAN with seeds at 0.82 and 0.84 (latency measured on seed 0 only), LMF at
    R=90 (rank 87, 2 MB, 0.83) and R=50 (8 MB, 0.835), 8-bit (5 MB, 0.81), and a fastText row."""
    return R.read_results(write(tmp_path, [
        line("uncompressed", 0, 0, 0.82, size=20_000_000, latency=2.0), line("uncompressed", 0, 1, 0.84, size=20_000_000),
        line("lmf", 90, 0, 0.83, rank=87, size=2_000_000, latency=1.0, before=0.70),
        line("lmf", 50, 0, 0.835, rank=120, size=8_000_000), line("quant8", 0, 0, 0.81, size=5_000_000),
        line("fasttext", 0, 0, 0.80, size=3_000_000, model="fasttext")]))


def test_rows_are_typed(rows):
    """Integers stay integers (R, rank, seed, size), an empty cell is None, the rest are floats."""
    lmf = rows[2]
    assert (lmf["embedding_reduction_pct"], lmf["rank"], lmf["seed"], lmf["size_bytes"]) == (90, 87, 0, 2_000_000)
    assert isinstance(lmf["rank"], int) and lmf["width"] is None
    assert rows[0]["rank"] is None and rows[1]["latency_ms_b1"] is None
    assert lmf["accuracy_before_retrain"] == 0.70


def test_a_spreadsheet_saved_file_reads_the_same(tmp_path):
    """Saved by a spreadsheet: a UTF-8 byte-order mark before the header, numbers padded."""
    (tmp_path / "results.csv").write_text("\ufeff" + HEADER + "\n" + line("lmf", " 90", 0, " 0.83", rank=87) + "\n",
                                          encoding="utf-8")
    row = R.read_results(tmp_path)[0]
    assert (row["dataset"], row["embedding_reduction_pct"], row["accuracy"]) == ("sst2", 90, 0.83)


def test_summarize_mean_and_sample_std(rows):
    """Seeds 0.82 and 0.84: mean 0.83, sample std sqrt((0.01^2 + 0.01^2) / (2 - 1)) = 0.01414 (fractions, as the rows).
    Latency was measured on seed 0 only (2.0 ms): the mean skips the missing one, giving 2.0. A
    single seed has no spread: None, not 0.0."""
    summary = R.summarize(rows)
    base = R.find(summary, "uncompressed")
    assert base["accuracy"] == pytest.approx(0.83) and base["accuracy_std"] == pytest.approx(0.01 * 2 ** 0.5)
    assert base["seeds"] == 2 and base["latency_ms_b1"] == 2.0 and base["rank"] is None
    assert R.find(summary, "lmf", 90)["accuracy_std"] is None
    assert [r["method"] for r in summary] == ["uncompressed", "lmf", "lmf", "quant8", "fasttext"]


def test_rank_is_the_first_known_one():
    """Seed 0's row lost its rank, seed 1's has 87: the summary's rank is 87, not None."""
    rows = [{**dict.fromkeys(R.RESULT_COLUMNS), "dataset": "sst2", "model": "dan", "method": "lmf",
             "embedding_reduction_pct": 90, "size_bytes": 1, "accuracy": 0.8, "seed": seed, "rank": rank}
            for seed, rank in ((0, None), (1, 87))]
    assert R.summarize(rows)[0]["rank"] == 87


def test_pairs_lookups_and_nearest_bytes(rows):
    """fastText rows have no page of their own; they are the dataset's reference summary. The LMF
    row nearest 6 MB is R=50 (8 MB, 2 MB away) rather than R=90 (2 MB, 4 MB away)."""
    assert R.pairs(rows) == [("sst2", "dan")]
    assert [r["method"] for r in R.reference_summary(rows, "sst2")] == ["fasttext"]
    assert R.summary_for(rows, "clinc150", "dan") == []
    summary = R.summary_for(rows, "sst2", "dan")
    assert R.grid_reductions(summary) == [50, 90]
    assert R.nearest_bytes(summary, "lmf", 6_000_000)["embedding_reduction_pct"] == 50
    assert R.nearest_bytes(summary, "hmf", 6_000_000) is None


def test_the_n_gram_dan_has_its_pairs():
    """Rows of the n-gram DAN (lmf.names.MODEL_KINDS) give it its (dataset, model) pair, in file
    order, beside the paper's two kinds; fastText still none."""
    rows = [{"dataset": "sst2", "model": m} for m in ("dan", "dan_ngram", "fasttext", "lstm")]
    assert R.pairs(rows) == [("sst2", "dan"), ("sst2", "dan_ngram"), ("sst2", "lstm")]


def test_throughput_and_the_twin_ratio_are_read_and_averaged(tmp_path):
    """throughput_b256 and twin_latency_ratio_b1 are typed columns: an int8 row of two seeds at
    ratios 1.10 and 1.14 averages to 1.12 and throughputs 5000 and 7000 to 6000; a row where they
    are blank reads None."""
    values = [("lmf_int8", 0, "5000", "1.10"), ("lmf_int8", 1, "7000", "1.14"), ("lmf", 0, "", "")]
    lines = [line(m, 90, seed, 0.8) for m, seed, _, _ in values]
    columns = R.RESULT_COLUMNS
    cells = [dict(zip(columns, text.split(","))) for text in lines]
    for cell, (_, _, throughput, ratio) in zip(cells, values):
        cell.update(throughput_b256=throughput, twin_latency_ratio_b1=ratio)
    write(tmp_path, [",".join(c[k] for k in columns) for c in cells])
    rows = R.read_results(tmp_path)
    assert (rows[0]["throughput_b256"], rows[0]["twin_latency_ratio_b1"]) == (5000.0, 1.10)
    assert (rows[2]["throughput_b256"], rows[2]["twin_latency_ratio_b1"]) == (None, None)
    int8 = R.find(R.summarize(rows), "lmf_int8")
    assert int8["throughput_b256"] == pytest.approx(6000) and int8["twin_latency_ratio_b1"] == pytest.approx(1.12)


def test_a_results_csv_from_before_the_twin_columns_reads_them_as_unknown(tmp_path):
    """Artifacts made before throughput_b256 and twin_latency_ratio_b1 existed lack both columns:
    they read as None (unknown), not as a missing column; any other column missing still is one."""
    older = [c for c in R.RESULT_COLUMNS if c not in R.LATER_COLUMNS]
    text = line("lmf_int8", 90, 0, 0.8)
    cells = dict(zip(R.RESULT_COLUMNS, text.split(",")))
    (tmp_path / "results.csv").write_text(",".join(older) + "\n" + ",".join(cells[c] for c in older) + "\n")
    (row,) = R.read_results(tmp_path)
    assert row["method"] == "lmf_int8" and row["throughput_b256"] is None and row["twin_latency_ratio_b1"] is None
    assert R.find(R.summarize([row]), "lmf_int8")["twin_latency_ratio_b1"] is None
    without_seed = [c for c in older if c != "latency_ms_b1"]
    (tmp_path / "results.csv").write_text(",".join(without_seed) + "\n" + ",".join(cells[c] for c in without_seed) + "\n")
    with pytest.raises(ArtifactError, match=r"lacks column\(s\) \['latency_ms_b1'\]"):
        R.read_results(tmp_path)


def test_write_then_read_round_trip(tmp_path, rows):
    R.write_rows(tmp_path / "again" / "results.csv", rows, R.RESULT_COLUMNS)
    assert R.read_results(tmp_path / "again") == rows


@pytest.mark.parametrize("content, message", [
    (None, "`results.csv` is missing"), ("dataset,model\nsst2,dan\n", "lacks column"),
    (HEADER + "\n", "has no rows"), (HEADER + "\n" + line("lmf", "ninety", 0, 0.8), "line 2 has a bad value"),
    (HEADER + "\n" + line("lmf", 90, 0, 0.8, size=""), "`size_bytes` is blank"),
    (HEADER + "\n" + line("lmf", 90, 0, "inf"), "`accuracy` is inf"),
    (HEADER + "\n" + line("lmf", 90, 0, 1.5), r"`accuracy` is 1.5, outside \[0.0, 1.0\]"),
    (HEADER + "\n" + line("lmf", 90, 0, 0.8, size=-5), "`size_bytes` is -5, outside"),
    (HEADER + "\n" + line("lmf", 90, 0, 0.8, rank=2.5), "not a whole number"),
    (b"\xff\xfe\x00garbage", "unreadable")])
def test_bad_results_name_the_problem_and_the_fix(tmp_path, content, message):
    """An inf accuracy or a negative size once made the home page recommend "-0.00 MB, inf %"."""
    if content is not None:
        path = tmp_path / "results.csv"
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    with pytest.raises(ArtifactError, match=message) as error:
        R.read_results(tmp_path)
    assert REGENERATE in str(error.value)


def test_curves_and_schedules_use_the_same_reader(tmp_path):
    """A curve file with a bad step is an error for read_rows; read_curve then reports no curve."""
    (tmp_path / "curves").mkdir()
    path = tmp_path / "curves" / "sst2-dan-lmf-R90-s0.csv"
    path.write_text("dev_accuracy,lr,step\n0.8,0.001,0\n0.81,0.002,4\n")
    assert R.read_curve(tmp_path, "sst2", "dan", 90) == [{"step": 0, "dev_accuracy": 0.8, "lr": 0.001},
                                                          {"step": 4, "dev_accuracy": 0.81, "lr": 0.002}]
    path.write_text("dev_accuracy,lr,step\n0.8,0.001,-1\n")
    assert R.read_curve(tmp_path, "sst2", "dan", 90) is None
    with pytest.raises(ArtifactError, match="schedules.csv` is missing"):
        R.read_schedules(tmp_path)
