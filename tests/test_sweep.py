"""lmf.sweep and scripts/precompute.py: the grid, and a real quick sweep (one dataset, one model)
that writes artifacts/ and resumes from its finished cells."""
import math
import os
import subprocess
import sys

import pandas as pd
import pytest

from conftest import ROOT
from lmf.metrics import size_on_disk
from lmf.train import retrain_recipe
from lmf.sweep import QUICK, RESULT_COLUMNS, SCHEDULE_COLUMNS, Cell, plan

TIMINGS = ["latency_ms_b1", "latency_ratio_b1", "test_set_seconds"]


def test_cell_ids():
    assert Cell("sst2", "dan", "lmf", 50, 1).id == "sst2-dan-lmf-R50-s1"
    assert Cell("sst2", "lstm", "uncompressed", 0, 0, "clr").id == "sst2-lstm-uncompressed-clr-s0"
    assert Cell("clinc150", "dan", "latency").id == "clinc150-dan-latency"


def test_quick_plan():
    """Per (dataset, model), quick grid (reductions 50 and 90, seed 0): stage 1 = uncompressed with
    CALR, CLR and AdaGrad + offline SVD at 2 reductions = 5 cells; stage 2 = LMF at 2 reductions +
    16- and 8-bit = 4; stage 3 = 1 latency cell. Two datasets x two models: 20, 16, 4."""
    stages = plan(quick=True)
    assert [len(s) for s in stages] == [20, 16, 4]
    one = plan(["sst2"], ["dan"], quick=True)
    assert [len(s) for s in one] == [5, 4, 1]
    ids = {c.id for stage in one for c in stage}
    assert len(ids) == 10  # every cell has its own file


def test_full_plan_seeds():
    """Full grid per (dataset, model): uncompressed 3 seeds + CLR + AdaGrad = 5; offline SVD at 7
    reductions, 50 and 90 with 3 seeds: 5 + 2 * 3 = 11; LMF likewise 11; quantization 2 x 3 = 6;
    latency 1. Stage sizes per (dataset, model): 16, 17, 1."""
    stages = plan(["sst2"], ["dan"])
    assert [len(s) for s in stages] == [16, 17, 1]


def precompute(out, work):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "precompute.py"), "--quick", "--out", str(out), "--work",
         str(work), "--jobs", "1", "--datasets", "sst2", "--models", "dan"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_quick_sweep_writes_artifacts_and_resumes(tmp_path, data_dir):
    """The quick sweep on SST-2 / DAN only (the whole quick grid takes minutes on 2 busy cores).

    Rows: uncompressed, LMF at R = 50 and 90, offline SVD at 50 and 90, 16- and 8-bit = 7, in the
    exact RESULT_COLUMNS. Offline SVD's `rank` is its width floor(p * 300): 150 and 30. The
    quantized rows carry the nominal reductions 50 and 75 (16 and 8 of 32 bits).

    Then resume: delete three cell files (the uncompressed parent, LMF R = 90, the latency cell)
    and results.csv; the rerun redoes exactly those cells (training is seeded, so identically) and
    results.csv matches the first on every column but the re-measured timings.
    """
    out, work = tmp_path / "artifacts", tmp_path / "work"
    precompute(out, work)
    results = pd.read_csv(out / "results.csv")
    assert list(results.columns) == RESULT_COLUMNS
    assert len(results) == 7
    by = results.set_index(["method", "reduction_pct"])
    assert by.loc[("offline_svd", 50), "rank"] == 150 and by.loc[("offline_svd", 90), "rank"] == 30
    assert by.loc[("lmf", 90), "rank"] < by.loc[("lmf", 50), "rank"]
    assert set(results.loc[results.method.str.startswith("quant"), "reduction_pct"]) == {50, 75}
    assert results[TIMINGS].notna().all().all() and (results.latency_ms_b1 > 0).all()
    assert by.loc[("uncompressed", 0), "latency_ratio_b1"] == 1.0
    assert ((results.accuracy >= 0) & (results.accuracy <= 1)).all()
    size = size_on_disk(work / "models" / "sst2-dan-lmf-R50-s0")
    assert by.loc[("lmf", 50), "size_bytes"] == size
    assert by.loc[("quant8", 75), "size_bytes"] < by.loc[("uncompressed", 0), "size_bytes"] / 3

    schedules = pd.read_csv(out / "schedules.csv")
    assert list(schedules.columns) == SCHEDULE_COLUMNS
    assert sorted(schedules.schedule) == ["adagrad", "calr", "clr"]
    curves = sorted(p.name for p in (out / "curves").iterdir())
    assert curves == ["sst2-dan-lmf-R50-s0.csv", "sst2-dan-lmf-R90-s0.csv"]
    curve = pd.read_csv(out / "curves" / curves[0])
    assert set(curve.columns) == {"step", "dev_accuracy", "lr"}
    # Retraining: the recipe's epochs over ceil(400 / batch) steps each, at most QUICK's 12 steps
    # (1 epoch of batches of 128: 4 steps).
    cfg = retrain_recipe("dan")
    assert curve.step.iloc[-1] == min(int(cfg.epochs * math.ceil(QUICK["n_train"] / cfg.batch_size)),
                                      QUICK["max_steps"])
    assert (out / "REPORT.md").read_text().strip()
    assert {p.name for p in (out / "models").iterdir()} == {
        "sst2-dan-uncompressed-s0", "sst2-dan-lmf-R50-s0", "sst2-dan-lmf-R90-s0"}
    assert not list(tmp_path.rglob("*.tmp-*"))

    # ---- resume
    cells = work / "cells"
    kept = cells / "sst2-dan-offline_svd-R50-s0.json"
    kept_mtime = kept.stat().st_mtime_ns
    for name in ("sst2-dan-uncompressed-s0", "sst2-dan-lmf-R90-s0", "sst2-dan-latency"):
        (cells / f"{name}.json").unlink()
    (out / "results.csv").unlink()
    precompute(out, work)
    again = pd.read_csv(out / "results.csv")
    assert len(list(cells.glob("*.json"))) == 10
    assert kept.stat().st_mtime_ns == kept_mtime  # finished cells are not rerun
    stable = [c for c in RESULT_COLUMNS if c not in TIMINGS]
    pd.testing.assert_frame_equal(again[stable], results[stable])
    assert again[TIMINGS].notna().all().all()
