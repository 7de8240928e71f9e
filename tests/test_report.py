"""sweep.report: REPORT.md and its plot written from an artifacts folder's files."""
import json

from lmf.results import RESULT_COLUMNS, SCHEDULE_SCHEMA, write_rows
from sweep.report import write_report


def result(method, reduction, seed, accuracy, rank=None, size=1_000_000, dataset="sst2", width=None):
    return {"dataset": dataset, "model": "dan", "method": method, "embedding_reduction_pct": reduction, "rank": rank,
            "width": width, "params": 10, "size_bytes": size, "accuracy": accuracy, "seed": seed}


def test_write_report_end_to_end(tmp_path):
    """Hand-made results with a CLINC150-free custom dataset: the report names the sweep's command,
    marks the unmet SST-2 target, calls the custom dataset's table "Results" (not the paper's
    "Table 3"), prints rank 87 as an integer and writes the PNG."""
    write_rows(tmp_path / "results.csv", [
        result("uncompressed", 0, 0, 0.82, size=20_000_000), result("uncompressed", 0, 1, 0.84, size=20_000_000),
        result("lmf", 90, 0, 0.83, rank=87, size=2_000_000), result("offline_svd", 90, 0, 0.80, width=30),
        result("uncompressed", 0, 0, 0.70, dataset="trec")], RESULT_COLUMNS)
    write_rows(tmp_path / "schedules.csv", [{"dataset": "sst2", "model": "dan", "schedule": "calr", "seed": 0,
                                            "dev_accuracy": 0.8, "accuracy": 0.82}], list(SCHEDULE_SCHEMA))
    (tmp_path / "sweep.json").write_text(json.dumps({"command": "python scripts/precompute.py", "cells": 4}))
    text = write_report(tmp_path).read_text()
    assert "by `python scripts/precompute.py`" in text and "| SST-2 DAN-RAND uncompressed >= 83.5 % | 83.00 | **no** |" in text
    assert "### Table 2: DAN-RAND" in text and "### Results: DAN-RAND" in text and "### Table 3" not in text
    assert "SVD (k=87) | 90 |" in text and "87.0" not in text
    assert (tmp_path / "size_vs_accuracy.png").stat().st_size > 1000
