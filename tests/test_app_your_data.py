"""The Your data page's choices through AppTest: every model kind of lmf.names.MODEL_KINDS, and both
questions autotune answers (the smallest model within a tolerance, or the most accurate one under a
size), the size passed to the job as max_bytes, a bad size refused with a clear message, and a
finished job saying which question it answered.

No job runs here: studio.jobs.start is replaced by a recorder (the job stays queued), and the
finished job is one create_job made whose job.json is then given a hand-written summary of the size
question (LMF at R = 90, 400,000 bytes, within a 500,000-byte limit). The artifacts folder holds a
one-row results.csv (what the sidebar lists)."""
import csv
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_fixtures import APP, PAGES
from lmf.names import MODEL_KINDS, MODEL_NAMES
from studio import jobs

TIMEOUT = 120
PAGE = PAGES[5]
SIZE = "Most accurate model under a size"


@pytest.fixture
def env(tmp_path, monkeypatch):
    from lmf.results import RESULT_COLUMNS
    art = tmp_path / "artifacts"
    art.mkdir()
    with open(art / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, RESULT_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerow({"dataset": "sst2", "model": "dan", "method": "uncompressed", "embedding_reduction_pct": 0,
                         "size_bytes": 1000, "accuracy": 0.8, "dev_accuracy": 0.8, "seed": 0})
    monkeypatch.setenv("LMF_ARTIFACTS_DIR", str(art))
    monkeypatch.setenv("LMF_JOBS_DIR", str(tmp_path / "jobs"))
    started = []
    monkeypatch.setattr(jobs, "start", lambda job_id, root=None: started.append(job_id) or {})
    return tmp_path / "jobs", started


def page():
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT).run().switch_page(PAGE).run()


def no_exception(at):
    assert not at.exception, [e.value for e in at.exception]


def fill(at, tiny_dir, model="dan_ngram"):
    for split in ("train", "dev", "test"):
        at.file_uploader(key=f"upload_{split}").set_value(
            (f"{split}.tsv", (Path(tiny_dir) / f"{split}.tsv").read_bytes(), "text/plain"))
    at.text_input(key="your_data_name").set_value("mine")
    at.radio(key="your_data_model").set_value(model)


def test_every_model_kind_is_offered_by_its_name(env):
    at = page()
    no_exception(at)
    assert at.radio(key="your_data_model").options == [MODEL_NAMES[k] for k in MODEL_KINDS]
    assert "DAN-RAND + bigrams" in at.radio(key="your_data_model").options


def test_the_size_question_passes_max_bytes_to_the_job(env, tiny_dir):
    """The question's radio swaps the tolerance for a size field (default 1MB); "500kB" is 500,000
    bytes in job.json, with the n-gram DAN as the model, and the job's card says which question it asks."""
    root, started = env
    at = page()
    assert at.number_input(key="your_data_drop").value == 1.0
    at.radio(key="your_data_question").set_value(SIZE).run()
    no_exception(at)
    assert at.text_input(key="your_data_size").value == "1MB"
    assert not [n for n in at.number_input if n.key == "your_data_drop"], "no tolerance for the size question"
    fill(at, tiny_dir)
    at.text_input(key="your_data_size").set_value("500kB")
    at.button[0].click().run()
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    (job,) = jobs.list_jobs(root, refresh=False)
    assert (job["max_bytes"], job["model"], started) == (500_000, "dan_ngram", [job["id"]])
    assert any("the most accurate model of at most 500,000 bytes" in m.value for m in at.markdown)


def test_the_tolerance_question_passes_no_size(env, tiny_dir):
    root, _ = env
    at = page()
    fill(at, tiny_dir, model="lstm")
    at.number_input(key="your_data_drop").set_value(2.0)
    at.button[0].click().run()
    no_exception(at)
    (job,) = jobs.list_jobs(root, refresh=False)
    assert (job["max_bytes"], job["max_drop"], job["model"]) == (None, 2.0, "lstm")
    assert any("the smallest model at most 2 points below the base on dev" in m.value for m in at.markdown)


@pytest.mark.parametrize("size", ["12 apples", "0", "-5MB", "1e400"])
def test_a_bad_size_is_refused_with_what_to_give(env, tiny_dir, size):
    root, started = env
    at = page()
    at.radio(key="your_data_question").set_value(SIZE).run()
    fill(at, tiny_dir)
    at.text_input(key="your_data_size").set_value(size)
    at.button[0].click().run()
    no_exception(at)
    (error,) = [e.value for e in at.error]
    assert error.startswith(f"Size limit {size!r}") and "500kB" in error
    assert started == [] and not root.exists()


def finished_job(env, tiny_dir, summary, chosen_dev_accuracy, **job):
    """The Your data page over one done job (tiny_dir's files) whose autotune summary is `summary`:
    a base of 2,000,000 bytes (dev 0.80, test 0.79) and a chosen LMF R = 90 of 400,000, with the
    question's fields from `summary`."""
    root, _ = env
    files = {s: (f"{s}.tsv", (Path(tiny_dir) / f"{s}.tsv").read_bytes()) for s in ("train", "dev", "test")}
    job_id = jobs.create_job(files, "mine", "dan", budget_minutes=1.0, root=root,
                             artifacts=str(Path(env[0]).parent / "artifacts"), **job)
    summary = {"max_drop": 1.0, "target_met": True, "state": "finished", "seconds": 60.0, "trials": 6,
               "base": {"bytes": 2_000_000, "dev_accuracy": 0.80, "test_accuracy": 0.79},
               "chosen": {"method": "lmf", "label": "Online LMF (proposed)", "R": 90, "bytes": 400_000,
                          "dev_accuracy": chosen_dev_accuracy, "test_accuracy": 0.78, "bytes_fraction": 0.2,
                          "drop_points": 100 * (0.80 - chosen_dev_accuracy)}, **summary}
    jobs._update(jobs.job_dir(job_id, root), status="done", progress=1.0, summary=summary)
    at = page()
    no_exception(at)
    return at


def test_a_choice_close_to_the_target_says_so_beside_the_success(env, tiny_dir):
    """A done job of the tolerance question whose summary has a margin_note (lmf.autotune: the
    choice clears the target by less than a dev standard error): the success, then the note."""
    note = "It clears the target by 0.08 points (1 of 872 dev examples), less than the standard error."
    at = finished_job(env, tiny_dir, {"question": "max_drop", "max_bytes": None, "target_dev_accuracy": 0.79,
                                      "margin_note": note}, chosen_dev_accuracy=0.7908)
    assert [s.value for s in at.success] == [
        "**Target met: Online LMF (proposed) at R = 90**, the smallest model tried whose dev accuracy is within 1 "
        "point of the base's."]
    assert [i.value for i in at.info] == [note]


def test_a_finished_size_job_says_which_question_it_answered(env, tiny_dir):
    """A done job of the size question: the question in words (500,000 bytes = 0.50 MB), the target
    met by the chosen model, and its size card."""
    at = finished_job(env, tiny_dir, {"question": "max_bytes", "max_bytes": 500_000, "target_dev_accuracy": None},
                      chosen_dev_accuracy=0.787, max_bytes=500_000)
    assert any(m.value == "Question answered: **the most accurate model of at most 0.50 MB** (500,000 bytes)."
               for m in at.markdown)
    assert [s.value for s in at.success] == [
        "**Target met: Online LMF (proposed) at R = 90**, the most accurate model tried on dev whose export fits "
        "in 0.50 MB."]
    assert {m.label: m.value for m in at.metric}["Size"] == "0.40 MB"


def test_a_running_job_has_a_stop_button(env, tiny_dir, monkeypatch):
    """A running job (its process alive: a sleeping Python naming the job's folder, as _alive checks)
    shows Stop, which calls studio.jobs.stop with its id; a done job shows none."""
    import subprocess
    import sys
    root, _ = env
    files = {s: (f"{s}.tsv", (Path(tiny_dir) / f"{s}.tsv").read_bytes()) for s in ("train", "dev", "test")}
    job_id = jobs.create_job(files, "mine", "dan", budget_minutes=1.0, root=root,
                             artifacts=str(Path(root).parent / "artifacts"))
    folder = jobs.job_dir(job_id, root)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", str(folder)])
    try:
        jobs._update(folder, status="running", pid=sleeper.pid, started=1.0)
        asked = []
        monkeypatch.setattr(jobs, "stop", lambda job_id, root=None: asked.append(job_id) or True)
        at = page()
        no_exception(at)
        (stop,) = [b for b in at.button if b.key == f"stop_{job_id}"]
        stop.click().run()
        no_exception(at)
        assert asked == [job_id]
    finally:
        sleeper.kill()
        sleeper.wait()
    jobs._update(folder, status="done", progress=1.0, pid=None)
    at = page()
    assert not [b for b in at.button if b.key == f"stop_{job_id}"]
