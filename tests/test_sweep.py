"""lmf.sweep and scripts/precompute.py: the grid, and a real quick sweep (one dataset, one model)
that writes artifacts/ and resumes from its finished cells."""
import json
import math
import os
import subprocess
import sys

import pandas as pd
import pytest

from conftest import ROOT
from lmf.metrics import size_on_disk
from lmf.train import retrain_recipe
from lmf.sweep import QUICK, RESULT_COLUMNS, SCHEDULE_COLUMNS, Cell, Sweep, plan

TIMINGS = ["latency_ms_b1", "latency_ratio_b1", "test_set_seconds"]
CORE = ["uncompressed", "lmf", "offline_svd", "quant16", "quant8"]


def check_extension(results, work):
    """The extension rows of the quick sweep: all at R = 90 (fastText at 0), all timed; each int8
    stack is about a quarter of its fp32 parent's weights; fastText.zip smaller than fastText."""
    ext = results[~results.method.isin(CORE)].set_index("method")
    assert sorted(ext.index) == sorted(["hmf", "groupreduce", "lmf_whole", "lmf_int8", "groupreduce_int8",
                                        "lmf_whole_int8", "fasttext", "fasttext_ftz"])
    assert (ext.drop(["fasttext", "fasttext_ftz"]).reduction_pct == 90).all()
    assert (ext.loc[["fasttext", "fasttext_ftz"], "model"] == "fasttext").all()
    assert ext[TIMINGS].notna().all().all()
    lmf = results[(results.method == "lmf") & (results.reduction_pct == 90)].iloc[0]
    assert ext.loc["lmf_int8", "params"] == lmf.params and ext.loc["lmf_int8", "size_bytes"] < lmf.size_bytes / 2
    assert ext.loc["lmf_whole", "params"] < lmf.params / 4
    assert ext.loc["fasttext_ftz", "size_bytes"] < ext.loc["fasttext", "size_bytes"]
    assert (work / "models" / "sst2-fasttext-fasttext-s0" / "model.bin").is_file()


def test_cell_ids():
    assert Cell("sst2", "dan", "lmf", 50, 1).id == "sst2-dan-lmf-R50-s1"
    assert Cell("sst2", "lstm", "uncompressed", 0, 0, "clr").id == "sst2-lstm-uncompressed-clr-s0"
    assert Cell("clinc150", "dan", "latency").id == "clinc150-dan-latency"


def test_quick_plan():
    """Per (dataset, model), quick core grid (reductions 50 and 90, seed 0): stage 1 = uncompressed
    with CALR, CLR and AdaGrad + offline SVD at 2 reductions = 5 cells; stage 2 = LMF at 2
    reductions + 16- and 8-bit = 4; stage 3 = 1 latency cell. Two datasets x two models: 20, 16, 4.

    The extension (R = 90 only in quick mode): DAN stage 2 gains HMF, GroupReduce, whole-model LMF
    and fastText (per dataset) = 4, stage 4 holds LMF / GroupReduce / whole-model LMF + int8 and
    fastText.zip = 4, stage 5 one latency_ext cell; the LSTM gains 2 (HMF, GroupReduce), 2 (int8
    stacks) and 1. Two datasets: 16 + 2 * (4 + 2) = 28, 2 * (4 + 2) = 12, 4."""
    assert [len(s) for s in plan(quick=True, core_only=True)] == [20, 16, 4]
    assert [len(s) for s in plan(quick=True)] == [20, 28, 4, 12, 4]
    core = plan(["sst2"], ["dan"], quick=True, core_only=True)
    assert [len(s) for s in core] == [5, 4, 1]
    one = plan(["sst2"], ["dan"], quick=True)
    assert [len(s) for s in one] == [5, 8, 1, 4, 1]
    assert one[:3][0] == core[0] and one[1][:4] == core[1] and one[2] == core[2]  # core cells first, unchanged
    ids = {c.id for stage in one for c in stage}
    assert len(ids) == 19  # every cell has its own file


def test_full_plan_seeds():
    """Full grid per (dataset, model): uncompressed 3 seeds + CLR + AdaGrad = 5; offline SVD at 7
    reductions, 50 and 90 with 3 seeds: 5 + 2 * 3 = 11; LMF likewise 11; quantization 2 x 3 = 6;
    latency 1. Stage sizes per (dataset, model): 16, 17, 1.

    The extension for the DAN: HMF, GroupReduce and whole-model LMF at R = 90 (3 seeds), 95, 98
    (seed 0): 3 x 5 = 15, plus 3 fastText seeds in stage 2; their int8 stacks (LMF, GroupReduce,
    whole-model LMF) 15 + 3 fastText.zip in stage 4; 1 latency_ext. The LSTM: 10, 10, 1.

    The default grid trims the LSTM's offline SVD to the seeded R (2 x 3 = 6, so stage 1 is
    5 + 6 = 11) and drops CLR/AdaGrad for the CLINC150 LSTM (3 + 6 = 9); --full restores 16."""
    assert [len(s) for s in plan(["sst2"], ["dan"], core_only=True)] == [16, 17, 1]
    assert [len(s) for s in plan(["sst2"], ["dan"])] == [16, 35, 1, 18, 1]
    assert [len(s) for s in plan(["sst2"], ["lstm"])] == [11, 27, 1, 10, 1]
    assert [len(s) for s in plan(["clinc150"], ["lstm"], core_only=True)] == [9, 17, 1]
    assert [len(s) for s in plan(["sst2"], ["lstm"], full=True)] == [16, 27, 1, 10, 1]


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

    Core rows: uncompressed, LMF at R = 50 and 90, offline SVD at 50 and 90, 16- and 8-bit = 7, in
    the exact RESULT_COLUMNS; the extension adds 8 rows at R = 90 (HMF, GroupReduce, whole-model
    LMF, their three int8 stacks, fastText, fastText.zip). Offline SVD's `rank` is its width floor(p * 300): 150 and 30. The
    quantized rows carry the nominal reductions 50 and 75 (16 and 8 of 32 bits).

    Then resume: delete three cell files (the uncompressed parent, LMF R = 90, the latency cell)
    and results.csv; the rerun redoes exactly those cells (training is seeded, so identically) and
    results.csv matches the first on every column but the re-measured timings.
    """
    out, work = tmp_path / "artifacts", tmp_path / "work"
    precompute(out, work)
    everything = pd.read_csv(out / "results.csv")
    assert list(everything.columns) == RESULT_COLUMNS
    assert len(everything) == 15
    check_extension(everything, work)
    results = everything[everything.method.isin(CORE)].reset_index(drop=True)
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
    assert curves == ["sst2-dan-groupreduce-R90-s0.csv", "sst2-dan-hmf-R90-s0.csv", "sst2-dan-lmf-R50-s0.csv",
                      "sst2-dan-lmf-R90-s0.csv", "sst2-dan-lmf_whole-R90-s0.csv"]
    curve = pd.read_csv(out / "curves" / curves[0])
    assert set(curve.columns) == {"step", "dev_accuracy", "lr"}
    # Retraining: the recipe's epochs over ceil(400 / batch) steps each, at most QUICK's 12 steps
    # (1 epoch of batches of 128: 4 steps).
    cfg = retrain_recipe("dan")
    assert curve.step.iloc[-1] == min(int(cfg.epochs * math.ceil(QUICK["n_train"] / cfg.batch_size)),
                                      QUICK["max_steps"])
    assert (out / "REPORT.md").read_text().strip()
    # the app's models: uncompressed, LMF at the quick grid's R, and the SST-2 extension models (APP_EXT)
    assert {p.name for p in (out / "models").iterdir()} == {
        "sst2-dan-uncompressed-s0", "sst2-dan-lmf-R50-s0", "sst2-dan-lmf-R90-s0",
        "sst2-dan-hmf-R90-s0", "sst2-dan-groupreduce-R90-s0", "sst2-dan-lmf_whole-R90-s0"}
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
    assert len(list(cells.glob("*.json"))) == 19
    again = again[again.method.isin(CORE)].reset_index(drop=True)
    assert kept.stat().st_mtime_ns == kept_mtime  # finished cells are not rerun
    stable = [c for c in RESULT_COLUMNS if c not in TIMINGS]
    pd.testing.assert_frame_equal(again[stable], results[stable])
    assert again[TIMINGS].notna().all().all()


def test_quick_cell_never_counts_as_full(tmp_path):
    """A cell file written by a --quick run is 'done' for quick sweeps only, and a corrupt one for none."""
    cell = Cell("sst2", "dan", "uncompressed")
    quick, full = Sweep(work=tmp_path, quick=True), Sweep(work=tmp_path, quick=False)
    quick.cell_file(cell).parent.mkdir(parents=True)
    quick.cell_file(cell).write_text(json.dumps({"quick": True}))
    assert quick.done(cell) and not full.done(cell)
    quick.cell_file(cell).write_text("{not json")
    assert not quick.done(cell) and not full.done(cell)
