"""sweep.tables: the one Markdown renderer and the tables laid out on hand-made summaries."""
from sweep.tables import accuracy_text, checks_table, markdown, methods_table, table1, table2, table4


def row(method, reduction, accuracy, size, std=None, seeds=1, rank=None, width=None, before=None, latency=None,
        fraction=None, model="dan", fixed_point=None, eager=None):
    """A summary row; accuracies given in percent for reading, stored as fractions like lmf's."""
    pct = lambda x: None if x is None else x / 100  # noqa: E731
    return {"dataset": "sst2", "model": model, "method": method, "embedding_reduction_pct": reduction,
            "accuracy": pct(accuracy), "accuracy_std": pct(std), "seeds": seeds, "dev_accuracy": pct(accuracy),
            "accuracy_before_retrain": pct(before), "size_bytes": size, "bytes_fraction": fraction, "params": 10,
            "rank": rank, "width": width, "latency_ms_b1": latency,
            "latency_ratio_b1": None if latency is None else latency / 2.0, "test_set_seconds": None,
            "fixed_point_accuracy": pct(fixed_point), "eager_latency_ms_b1": eager}


SUMMARY = [row("uncompressed", 0, 83.0, 20e6, std=1.0, seeds=3, latency=2.0, fraction=1.0, eager=6.0),
           row("lmf", 90, 82.5, 5e6, rank=29, before=70.0, latency=1.0, fraction=0.25),
           row("offline_svd", 90, 81.0, 5.5e6, width=30, fraction=0.275),
           row("quant8", 0, 82.9, 5.4e6, fixed_point=83.1)]


def test_markdown_aligns_numeric_columns_and_dashes_missing():
    assert markdown(["Name", "Value:"], [["a", None]]) == "| Name | Value |\n|---|--:|\n| a | - |"


def test_one_seed_rows_say_so():
    """Three seeds show their spread; a single seed says "(1 seed)", never "± 0.00"."""
    assert accuracy_text(SUMMARY[0]) == "83.00 ± 1.00 (n=3)"
    assert accuracy_text(SUMMARY[1]) == "82.50 (1 seed)"


def test_methods_table_smallest_first_with_rank_or_width():
    """Rows by size: LMF (5 MB, rank 29, 25.0 % of the uncompressed bytes), 8-bit (5.4 MB), offline
    SVD (width 30), uncompressed (20 MB)."""
    lines = methods_table(SUMMARY).splitlines()[2:]
    assert lines[0].startswith("| Online LMF (proposed) | 90 | 29 | 5.000 | 25.0 | 82.50 | - | 1 | 70.00 | 1.000 | 0.50 |")
    assert lines[1].startswith("| 8-bit (baseline 1) | 0 | - | 5.400 |")
    assert lines[2].startswith("| Offline SVD (baseline 2) | 90 | w=30 | 5.500 | 27.5 |")
    assert lines[3].startswith("| Uncompressed | 0 | - | 20.000 | 100.0 | 83.00 | 1.00 | 3 |")


def test_table1_compares_schedules_on_seed_0():
    """CALR ran with seeds 0, 1, 2 (83, 84, 85 %), CLR with seed 0 only (82 %). The comparison column is
    seed 0: CALR 83.00 beside CLR 82.00; CALR's mean over its seeds, 84.00 ± 1.00 (n=3), is apart;
    the paper's SST-2 figures (84.61, 83.84) beside them."""
    schedules = [{"dataset": "sst2", "model": "dan", "schedule": "calr", "seed": s, "dev_accuracy": a, "accuracy": a}
                 for s, a in ((0, 0.83), (1, 0.84), (2, 0.85))]
    schedules.append({"dataset": "sst2", "model": "dan", "schedule": "clr", "seed": 0, "dev_accuracy": 0.81,
                      "accuracy": 0.82})
    lines = table1(schedules, "sst2").splitlines()
    assert "| DAN-RAND | CALR | 83.00 | 83.00 | 84.00 ± 1.00 (n=3) | 84.61 |" in lines
    assert "| DAN-RAND | CLR | 82.00 | 81.00 | - | 83.84 |" in lines


def test_table2_ours_beside_the_papers():
    """LMF R=90: k=29, 5.00 MB, its accuracy (1 seed), offline SVD's beside it, 70.00 before
    retraining, no fixed-point simulation, then the paper's SST-2 DAN figures for R=90 (6.21 MB,
    83.11, offline 82.59); 8-bit: the export's 82.90 beside the fixed-point simulation's 83.10."""
    text = table2(SUMMARY, "sst2")
    assert "| SVD (k=29) | 90 | 5.00 | 82.50 (1 seed) | 81.00 (1 seed) | 70.00 | - | 6.21 | 83.11 | 82.59 |" in text
    assert "| Uncompressed | 0 | 20.00 | 83.00 ± 1.00 (n=3) | - | - | - | 52.84 | 84.61 | - |" in text
    assert "| 8-bit (baseline 1) | 0 | 5.40 | 82.90 (1 seed) | - | - | 83.10 |" in text


def test_table4_lists_only_timed_rows():
    """Offline SVD and 8-bit have no latency: two rows, the uncompressed one first (registry order),
    eager PyTorch's 6.000 ms beside ONNX Runtime's 2.000 where measured; LMF's 54,321.4 sentences/s
    at batch 256 shown as 54,321; no twin ratio on an fp32 row (only an int8 export has one)."""
    summary = [SUMMARY[0], {**SUMMARY[1], "throughput_b256": 54321.4}] + SUMMARY[2:]
    lines = table4(summary, "sst2").splitlines()[2:]
    assert lines == ["| Uncompressed | 0 | 2.000 | 1.00 | - | - | - | 6.000 | - |",
                     "| Online LMF (proposed) | 90 | 1.000 | 0.50 | - | 54,321 | - | - | 0.45 |"]


def test_table4_shows_an_int8_export_s_twin_ratio():
    """An 8-bit row timed at 1.1 ms beside its fp32 twin's 1.0 ms: twin ratio 1.10 (the paper's
    8-bit test set took 0.62 s)."""
    int8 = {**SUMMARY[3], "latency_ms_b1": 1.1, "latency_ratio_b1": 0.55, "twin_latency_ratio_b1": 1.1}
    assert table4([int8], "sst2").splitlines()[2] == "| 8-bit (baseline 1) | 0 | 1.100 | 0.55 | 1.10 | - | - | - | 0.62 |"


def test_checks_table_never_a_bare_header():
    assert checks_table([]) == "No target applies to these results."
    assert checks_table([("a", "1", True), ("b", "2", False)]).splitlines()[2:] == ["| a | 1 | yes |", "| b | 2 | **no** |"]
