"""studio.live: the background retraining job on a 200-example slice of SST-2 with a small DAN.

Every job here compresses a DAN with a 32-dimensional embedding at R = 50 % and retrains it for a
handful of mini-batches of 128 (the DAN retrain recipe) in its worker process, so each job takes
about as long as the process takes to start (a second or two).
"""
import io
import time
import zipfile

import pytest
import torch

from studio import live
from lmf.artifacts import SavedModel
from lmf.metrics import accuracy
from lmf.models import new_model
from lmf.export import export_size


@pytest.fixture
def saved(tiny):
    model = new_model("dan", len(tiny.vocab), len(tiny.label_names), embed_dim=32, seed=0)
    return SavedModel(model.eval(), tiny.vocab, list(tiny.label_names), dict(model.config), {}, None)


def run(saved, data, steps=6, **kw):
    job = live.start_job(saved, data, 50, steps, eval_every=2, **kw)
    assert job.wait(60), "the job did not finish in a minute"
    return job


def test_live_config_honours_the_budget_and_fits_three_cycles():
    """The DAN retrain recipe trains one epoch; the budget sets min_steps and max_steps both, so
    300 steps are 300 even where an epoch is shorter. Half-cycle 300 // (2 * 3) = 50: three full
    cycles; evaluation every 300 // 25 = 12 steps."""
    config = live.live_config("dan", 300)
    assert (config.min_steps, config.max_steps, config.step_size, config.eval_every) == (300, 300, 50, 12)
    assert live.live_config("dan", 20, step_size=7).step_size == 7
    assert live.cycle_step_size(5) == 1  # never 0


def test_job_runs_to_done_and_keeps_the_model(saved, tiny):
    """200 training examples in batches of 128 make 2 steps an epoch; the budget of 6 steps still
    trains 6 (live_config). Dev is evaluated at step 0 (right after the SVD) and every 2 steps:
    0, 2, 4, 6. The kept model is the best-on-dev one, and gives the test accuracy reported; its
    size is its export's bytes, and its zip is that export. The saved (cached) model is never changed."""
    start = {k: v.clone() for k, v in saved.model.state_dict().items()}
    job = run(saved, tiny)
    snap = job.snapshot()
    assert snap["status"] == live.DONE and snap["error"] is None
    assert [s for s, _ in snap["history"]] == [0, 2, 4, 6]
    assert [s for s, _ in snap["lrs"]] == [1, 2, 3, 4, 5, 6] and len(snap["losses"]) == 6
    assert (snap["step"], snap["total"]) == (6, 6)
    assert snap["best_dev"] == max(a for _, a in snap["history"])
    assert snap["rank"] == job.model.config["rank"] < 32
    assert snap["test"] == pytest.approx(accuracy(job.model, tiny, "test"))
    assert snap["size"] == export_size(job.model, tiny.vocab, tiny.label_names)
    assert all(torch.equal(start[k], v) for k, v in saved.model.state_dict().items())
    assert live.running_jobs() == 0

    archive = zipfile.ZipFile(io.BytesIO(job.zip("kept")))
    assert sorted(archive.namelist()) == ["kept/manifest.json", "kept/model.onnx", "kept/tokenizer.json"]


def test_zip_runs_to_the_reported_accuracy(saved, tiny, tmp_path):
    """The downloaded export, run by lmf.runtime on the raw test texts, scores the accuracy the
    page reported for the torch model (the export computes the same logits)."""
    from lmf.trial import deployable_accuracy
    job = run(saved, tiny)
    zipfile.ZipFile(io.BytesIO(job.zip("kept"))).extractall(tmp_path)
    assert deployable_accuracy(tmp_path / "kept", tiny, "test") == pytest.approx(job.snapshot()["test"])


def test_right_after_svd_is_measured_before_training(saved, tiny):
    """`before` is the compressed, untrained model's test accuracy: lmf.compress on the same model."""
    from lmf.compress import compress_model
    job = run(saved, tiny, steps=2)
    assert job.snapshot()["before"] == pytest.approx(accuracy(compress_model(saved.model, 50), tiny, "test"))


def wait_for_step(job, step, timeout=60):
    deadline = time.time() + timeout
    while job.snapshot()["step"] < step:
        assert time.time() < deadline and not job.finished, job.snapshot()["error"]
        time.sleep(0.01)


def test_stop_stops_after_the_current_step(saved, tiny):
    """stop() once step 3 of a 1000-step budget is done: the worker sees the flag after the step it
    is on, evaluates that step and ends there. The step reported, the last evaluation and the last
    learning rate all name that step; the status is 'stopped' and the best model is kept."""
    job = live.start_job(saved, tiny, 50, 1000, eval_every=2)
    wait_for_step(job, 3)
    job.stop()
    assert job.wait(60)
    snap = job.snapshot()
    assert snap["status"] == live.STOPPED and snap["total"] == 1000
    assert 3 <= snap["step"] < 1000
    assert snap["history"][-1][0] == snap["lrs"][-1][0] == snap["step"]
    assert snap["test"] == pytest.approx(accuracy(job.model, tiny, "test"))


def test_stop_before_the_first_step(saved, tiny):
    """Stopped before it starts: the step-0 evaluation (right after the SVD) sees the flag and
    nothing trains; the kept model is the SVD-only one, whose test accuracy is `before`."""
    job = live.LiveJob(saved, tiny, 50, 50)
    job.stop()
    job.start().wait(60)
    snap = job.snapshot()
    assert (snap["status"], snap["step"], [s for s, _ in snap["history"]]) == (live.STOPPED, 0, [0])
    assert snap["test"] == snap["before"]


def test_cap_raises_busy_and_frees_its_place(saved, tiny):
    """MAX_LIVE_JOBS jobs with long budgets fill the cap: one more raises Busy. Once they are
    stopped and finished, a new job starts."""
    jobs = [live.start_job(saved, tiny, 50, 100_000) for _ in range(live.MAX_LIVE_JOBS)]
    try:
        assert live.running_jobs() == live.MAX_LIVE_JOBS
        with pytest.raises(live.Busy, match="at most"):
            live.start_job(saved, tiny, 50, 6)
    finally:
        for job in jobs:
            job.stop()
        for job in jobs:
            assert job.wait(60)
    assert [j.status for j in jobs] == [live.STOPPED] * live.MAX_LIVE_JOBS
    assert live.running_jobs() == 0
    assert run(saved, tiny, steps=2).status == live.DONE


def test_a_failure_is_reported_and_frees_its_place(saved, tiny):
    """R = 100 % leaves no embedding: compress_model raises, the job says why."""
    job = live.start_job(saved, tiny, 100, 2)
    assert job.wait(60)
    snap = job.snapshot()
    assert snap["status"] == live.FAILED and "reduction" in snap["error"]
    assert job.model is None and job.zip() is None and live.running_jobs() == 0


def test_same_seed_same_history(saved, tiny):
    def history(seed):
        s = run(saved, tiny, seed=seed).snapshot()
        return s["history"], s["lrs"], s["losses"]
    first = history(0)
    assert history(0) == first
    assert history(1) != first


def test_retrain_figure_spec():
    """Two evaluations (step 0: 80 %, step 10: 85 %) of a 20-step budget, the sweep's curve to step
    30 (its step-30 row is past the budget: cut), one earlier run, two reference models. Every
    series is named in one legend (colour domain), live last of the lines, references after it; both
    panels span steps 0-20."""
    from studio.charts import LIVE_COLOR, retrain_figure
    spec = retrain_figure([(0, 0.80), (10, 0.85)], [(1, 1e-4), (2, 2e-4)], 20, {"uncompressed": 86.0, "8-bit": 85.42},
                          [{"step": 0, "dev_accuracy": 0.8}, {"step": 30, "dev_accuracy": 0.9}],
                          [("run 1", [(0, 0.7)])])
    top, bottom = spec["vconcat"]
    line = top["layer"][1]["encoding"]
    assert line["x"]["scale"]["domain"] == bottom["encoding"]["x"]["scale"]["domain"] == [0, 20]
    assert line["color"]["scale"]["domain"] == ["precomputed (sweep)", "run 1", "live: dev accuracy",
                                                "uncompressed (86.0 %)", "8-bit (85.4 %)"]
    assert line["color"]["scale"]["range"][2] == LIVE_COLOR
    rows = spec["datasets"]["accuracy"]
    assert [(r["series"], r["step"], r["accuracy"]) for r in rows] == [
        ("precomputed (sweep)", 0, 80.0), ("run 1", 0, 70.0), ("live: dev accuracy", 0, 80.0),
        ("live: dev accuracy", 10, 85.0)]
    assert spec["datasets"]["refs"] == [{"accuracy": 86.0, "series": "uncompressed (86.0 %)"},
                                        {"accuracy": 85.42, "series": "8-bit (85.4 %)"}]
    assert spec["datasets"]["lr"] == [{"step": 1, "lr": 1e-4}, {"step": 2, "lr": 2e-4}]
