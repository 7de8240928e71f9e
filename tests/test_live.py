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
    assert sorted(archive.namelist()) == ["kept/manifest.json", "kept/model.onnx", "kept/tokenizer.json", "kept/words.zlib"]


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
    series is named in one legend (colour domain), live last of the lines, references after it; the
    accuracy and the learning rate span steps 0-20."""
    from studio.charts import AFTER_SVD, LIVE_COLOR, retrain_figure
    spec = retrain_figure([(0, 0.80), (10, 0.85)], [(1, 1e-4), (2, 2e-4)], 20, {"uncompressed": 86.0, "8-bit": 85.42},
                          [{"step": 0, "dev_accuracy": 0.8}, {"step": 30, "dev_accuracy": 0.9}],
                          [("run 1", [(0, 0.7)])])
    top, rate = spec["layer"]
    line = top["layer"][-1]["encoding"]
    assert line["x"]["scale"]["domain"] == rate["encoding"]["x"]["scale"]["domain"] == [0, 20]
    assert line["color"]["scale"]["domain"] == ["precomputed (sweep)", "run 1", "live: dev accuracy",
                                                "uncompressed (86.0 %)", "8-bit (85.4 %)", AFTER_SVD]
    assert line["color"]["scale"]["range"][2] == LIVE_COLOR
    rows = spec["datasets"]["accuracy"]
    assert [(r["series"], r["step"], r["accuracy"]) for r in rows] == [
        ("precomputed (sweep)", 0, 80.0), ("run 1", 0, 70.0), ("live: dev accuracy", 0, 80.0),
        ("live: dev accuracy", 10, 85.0)]
    assert spec["datasets"]["refs"] == [{"accuracy": 86.0, "series": "uncompressed (86.0 %)", "dash": False},
                                        {"accuracy": 85.42, "series": "8-bit (85.4 %)", "dash": False}]
    assert spec["datasets"]["lr"] == [{"step": 1, "lr": 1e-4}, {"step": 2, "lr": 2e-4}]


# ---------------------------------------------------------------- the page's slot and story

def test_an_abandoned_job_stops_and_frees_its_slot(saved, tiny):
    """A job whose page stops polling (no seen() for abandon_after = 1 s: the page was closed or
    reloaded away) stops after the step it is on, says it was abandoned, keeps its best model and
    frees its place among MAX_LIVE_JOBS; the next visitor is not told the app is busy."""
    job = live.start_job(saved, tiny, 50, 100_000, eval_every=2, abandon_after=1.0)
    assert live.running_jobs() == 1
    assert job.wait(60), "an unwatched job must stop by itself"
    snap = job.snapshot()
    assert snap["status"] == live.STOPPED and snap["abandoned"] and job.model is not None
    assert live.running_jobs() == 0


def test_a_watched_job_is_not_abandoned(saved, tiny):
    """seen() every 0.2 s keeps a job with abandon_after = 1 s running to its end."""
    job = live.start_job(saved, tiny, 50, 30, eval_every=10, abandon_after=1.0)
    while not job.wait(0.2):
        job.seen()
    assert job.snapshot()["status"] == live.DONE and not job.snapshot()["abandoned"]


def test_find_job_finds_a_run_by_its_id(saved, tiny):
    """A reloaded page finds its run by the id in its URL; an unknown id finds nothing."""
    job = run(saved, tiny, steps=2)
    assert live.find_job(job.id) is job and live.find_job("no-such-run") is None
    assert len(job.id) >= 12, "unguessable: another visitor cannot name it"


def result(dataset, model, method, reduction, accuracy, before=None):
    return {"dataset": dataset, "model": model, "method": method, "embedding_reduction_pct": reduction, "seed": 0,
            "accuracy": accuracy, "accuracy_before_retrain": before}


def test_story_case_is_the_largest_cost_that_retraining_wins_back():
    """Scores are min(cost, won back) in test points against each pair's uncompressed model:
    a at R=90: min(90-60, 85-60) = 25; a at R=98: min(90-10, 30-10) = 20 (a large drop never won
    back); b at R=95: min(80-78, 80-78) = 2 (no drop to speak of). R = 99 is past the page's slider;
    pair c is not shipped. So (a, dan, 90, 25)."""
    rows = [result("a", "dan", "uncompressed", 0, 0.90), result("a", "dan", "lmf", 90, 0.85, 0.60),
            result("a", "dan", "lmf", 98, 0.30, 0.10), result("a", "dan", "lmf", 99, 0.85, 0.01),
            result("b", "dan", "uncompressed", 0, 0.80), result("b", "dan", "lmf", 95, 0.80, 0.78),
            result("c", "dan", "uncompressed", 0, 0.95), result("c", "dan", "lmf", 90, 0.94, 0.10)]
    case = live.story_case(rows, [("a", "dan"), ("b", "dan")])
    assert case[:3] == ("a", "dan", 90) and case[3] == pytest.approx(25.0)
    assert live.story_case(rows, [("b", "dan")])[:3] == ("b", "dan", 95)
    assert live.story_case(rows, []) is None


def test_dev_noise_points_is_the_binomial_standard_error():
    """sqrt(p (1 - p) / n) in points: 0.82 on 872 sentences, sqrt(0.1476 / 872) = 0.01301 -> 1.30."""
    assert live.dev_noise_points(0.82, 872) == pytest.approx(1.301, abs=1e-3)
    assert live.dev_noise_points(0.9, 3000) == pytest.approx(0.5477, abs=1e-4)


def test_story_sentence_says_what_happened_or_that_it_is_noise():
    """CLINC150: uncompressed 90.3 % dev, 55.2 % right after the SVD, best 84.3 % after 300 steps:
    the SVD cost 35.1 points and the run won back 29.1. SST-2: 81.9 % to 81.0 % is 0.9 points, under
    two standard errors (2 x 1.30 on 872 sentences): said to be within the dev set's noise."""
    said = live.story_sentence(0.903, [(0, 0.552), (100, 0.80), (300, 0.843)], 300, "calr", 3000, finished=True)
    assert said == "The SVD cost 35.1 points of dev accuracy; 300 steps of CALR won back 29.1."
    noise = live.story_sentence(0.819, [(0, 0.810), (12, 0.815)], 12, "clr", 872)
    assert "less than the dev set's noise" in noise and "1.3 points over 872 sentences" in noise
    assert live.story_sentence(0.9, [], 0, "calr", 100) is None
