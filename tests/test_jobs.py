"""studio.jobs: a job from uploaded files (checked first: a bad file names itself and its line and
leaves nothing behind), run in-process with quick autotune on the 200-example SST-2 directory and
published beside the other datasets of a copy of results.csv; the background process; a job whose
process is gone marked failed; lmf.data.split_file's 80/10/10."""
import csv
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROOT, write_split
from studio import jobs
from lmf.artifacts import is_saved_model
from lmf.data import DataError, load_directory, split_file
from studio.deploy import export_row, source_of
from lmf.results import RESULT_COLUMNS, read_results, write_rows

QUICK = {"quick": True, "methods": ["lmf"], "budget_minutes": 1.0}


def uploads(directory):
    return {s: (f"{s}.tsv", (Path(directory) / f"{s}.tsv").read_bytes()) for s in ("train", "dev", "test")}


@pytest.fixture
def artifacts(tmp_path):
    """A copy of the repository's results.csv and sweep.json (no models: publishing adds its own)."""
    out = tmp_path / "artifacts"
    out.mkdir()
    for name in ("results.csv", "sweep.json"):
        shutil.copy(ROOT / "artifacts" / name, out / name)
    return out


@pytest.fixture(scope="module")
def finished(tiny_dir, tmp_path_factory):
    """A job created from the tiny directory and run here, into an artifacts copy: (job, artifacts,
    results.csv's text before)."""
    base = tmp_path_factory.mktemp("jobs")
    art = base / "artifacts"
    art.mkdir()
    shutil.copy(ROOT / "artifacts" / "results.csv", art / "results.csv")
    before = (art / "results.csv").read_text()
    job_id = jobs.create_job(uploads(tiny_dir), "mine", "dan", max_drop=1.0, artifacts=art, root=base / "jobs",
                             **QUICK)
    assert jobs.status(job_id, base / "jobs")["status"] == "queued"
    job = jobs.run_job(jobs.job_dir(job_id, base / "jobs"))
    return job, art, before


def test_run_job_publishes_two_rows_beside_the_others(finished):
    """results.csv keeps every earlier line as it was and gains exactly the base and the chosen
    model of `mine`, with autotune's numbers; both saved models are under models/ by cell id."""
    job, art, before = finished
    assert job["status"] == "done" and job["progress"] == 1.0 and job["error"] is None
    text = (art / "results.csv").read_text()
    assert text.startswith(before) and len(text.splitlines()) == len(before.splitlines()) + 2
    summary = json.loads((Path(job["dir"]) / "autotune" / "summary.json").read_text())
    base, chosen = summary["base"], summary["chosen"]
    rows = [r for r in read_results(art) if r["dataset"] == "mine"]
    assert [(r["model"], r["method"], r["embedding_reduction_pct"]) for r in rows] == [
        ("dan", "uncompressed", 0), ("dan", chosen["method"], chosen["R"])]
    assert rows[0]["size_bytes"] == base["bytes"] and rows[0]["accuracy"] == pytest.approx(base["test_accuracy"])
    assert rows[1]["size_bytes"] == chosen["bytes"] and rows[1]["dev_accuracy"] == pytest.approx(chosen["dev_accuracy"])
    assert rows[1]["bytes_fraction"] == pytest.approx(chosen["bytes"] / base["bytes"]) and rows[1]["seed"] == 0
    assert rows[0]["rank"] is None and rows[1]["rank"] >= 1 and rows[0]["params"] > rows[1]["params"] > 0
    assert rows[1]["latency_ms_b1"] is None and rows[1]["accuracy_before_retrain"] is None
    for row in rows:  # each under the name studio.deploy rebuilds its export from, which matches its sha256
        assert is_saved_model(source_of(art, row)[0]), row
        assert export_row(art, row, art.parent / "rebuilt" / row["method"]).is_dir()


def test_the_log_has_a_line_per_trial(finished):
    """The on_trial hook of lmf.autotune: one log line per trials.csv row (base included), the last
    one saying nothing is left to search when the search finished."""
    job, _, _ = finished
    trials = list(csv.DictReader(open(Path(job["dir"]) / "autotune" / "trials.csv")))
    log = (Path(job["dir"]) / "log.txt").read_text().splitlines()
    reported = [line for line in log if " trial(s) done, at most " in line]
    assert len(reported) == len(trials) >= 2
    assert reported[-1].endswith("at most 0 to go")
    assert jobs.summary_md(job).startswith("# Autotune: dan on ")


def test_republishing_replaces_only_its_own_rows_and_models(finished, tmp_path):
    """Publishing `mine` again with no compressed model leaves one `mine` row (the base) and
    removes the earlier chosen model's folder; the other datasets' lines stay as they were."""
    job, art, before = finished
    art2 = tmp_path / "artifacts"
    shutil.copytree(art, art2)
    summary = json.loads((Path(job["dir"]) / "autotune" / "summary.json").read_text())
    chosen = summary["chosen"]
    jobs.publish({**job, "artifacts": str(art2)}, Path(job["dir"]) / "autotune", {**summary, "chosen": None})
    text = (art2 / "results.csv").read_text()
    assert text.startswith(before) and len(text.splitlines()) == len(before.splitlines()) + 1
    assert [r["method"] for r in read_results(art2) if r["dataset"] == "mine"] == ["uncompressed"]
    assert not (art2 / "models" / f"mine-dan-{chosen['method']}-R{chosen['R']}-s0").exists()
    assert is_saved_model(art2 / "models" / "mine-dan-uncompressed-s0")


def wait(job_id, root, seconds=180):
    deadline = time.time() + seconds
    while jobs.status(job_id, root)["status"] in jobs.ACTIVE and time.time() < deadline:
        time.sleep(1)
    return jobs.status(job_id, root)


def test_start_runs_the_job_in_a_background_process_and_resumes(tiny_dir, artifacts, tmp_path):
    """`start` returns at once; the job process (python -m studio.jobs) runs it to done. Started
    again (as after a restart), autotune resumes from trials.csv: no trial is trained twice."""
    root = tmp_path / "jobs"
    job_id = jobs.create_job(uploads(tiny_dir), "bg", "dan", artifacts=artifacts, root=root, **QUICK)
    job = jobs.start(job_id, root)
    assert job["status"] == "queued" and job["pid"]
    job = wait(job_id, root)
    assert job["status"] == "done", (job, jobs.log_tail(job, 40))
    assert {r["dataset"] for r in read_results(artifacts)} >= {"bg", "sst2", "clinc150"}
    log = Path(job["dir"]) / "log.txt"
    trained = [line for line in log.read_text().splitlines() if "] lmf R" in line]
    assert trained
    jobs._update(job["dir"], status="failed", error="stopped")
    jobs.start(job_id, root)
    assert wait(job_id, root)["status"] == "done"
    assert [line for line in log.read_text().splitlines() if "] lmf R" in line] == trained
    assert [r["dataset"] for r in read_results(artifacts)].count("bg") == 2


def test_stop_ends_a_running_job_which_then_resumes(tiny_dir, artifacts, tmp_path):
    """`stop` on a running job (stopped as it starts to train its base, long before it publishes):
    its process records itself failed with STOPPED (not a failed trial, not a dead process found
    later), publishes nothing, and `start` resumes it to done. On a job that is not running
    (queued, or done) it does nothing and says so (False). A SIGTERM is not a Stop: the process
    just ends, and mark_stale says so."""
    root = tmp_path / "jobs"
    job_id = jobs.create_job(uploads(tiny_dir), "halt", "dan", artifacts=artifacts, root=root,
                             **{**QUICK, "budget_minutes": 5.0})
    assert jobs.stop(job_id, root) is False, "queued, no process yet"
    jobs.start(job_id, root)
    deadline = time.time() + 120
    log = jobs.job_dir(job_id, root) / "log.txt"
    while "started (pid" not in log.read_text() and time.time() < deadline:  # running: its base trains next
        time.sleep(0.05)
    assert jobs.stop(job_id, root) is True
    job = wait(job_id, root)
    assert (job["status"], job["error"]) == ("failed", jobs.STOPPED), jobs.log_tail(job, 40)
    assert "stopped from the Your data page" in log.read_text()
    assert "halt" not in {r["dataset"] for r in read_results(artifacts)}
    jobs.start(job_id, root)
    while log.read_text().count("started (pid") < 2 and time.time() < deadline:
        time.sleep(0.05)
    os.kill(jobs.status(job_id, root)["pid"], signal.SIGTERM)  # a shutdown's signal, not the page's Stop
    while jobs.status(job_id, root)["status"] == "running" and time.time() < deadline:
        jobs.mark_stale(root)
        time.sleep(0.1)
    job = jobs.status(job_id, root)
    assert job["status"] == "failed" and "is gone" in job["error"], job["error"]
    jobs.start(job_id, root)
    assert wait(job_id, root)["status"] == "done"
    assert jobs.stop(job_id, root) is False


def test_a_stop_asked_after_the_last_trial_still_publishes_nothing(tiny_dir, artifacts, tmp_path, monkeypatch):
    """The Stop's flag set after the last trial's check, its exception lost (as a handler's can be
    inside a finalizer): the job ends failed with STOPPED before publishing, not done. A stand-in
    autotune sets the flag and returns, so no training runs."""
    root = tmp_path / "jobs"
    job_id = jobs.create_job(uploads(tiny_dir), "late", "dan", artifacts=artifacts, root=root, **QUICK)

    def search_then_stop_asked(*args, **kwargs):
        jobs._stop_asked = True
        return {"chosen": None}
    monkeypatch.setattr("lmf.autotune.autotune", search_then_stop_asked)
    monkeypatch.setattr(jobs, "_stop_asked", False)
    job = jobs.run_job(jobs.job_dir(job_id, root))
    assert (job["status"], job["error"]) == ("failed", jobs.STOPPED)
    assert "publishing" not in (jobs.job_dir(job_id, root) / "log.txt").read_text()
    assert "late" not in {r["dataset"] for r in read_results(artifacts)}


def test_a_job_whose_process_is_gone_is_marked_failed(tiny_dir, artifacts, tmp_path):
    """A running job with a dead pid, and one whose pid now belongs to another program (this test),
    are marked failed with the reason; a finished job is left alone."""
    root = tmp_path / "jobs"
    dead = subprocess.Popen(["true"])
    dead.wait()
    ids = [jobs.create_job(uploads(tiny_dir), f"s{i}", artifacts=artifacts, root=root) for i in range(3)]
    jobs._update(jobs.job_dir(ids[0], root), status="running", pid=dead.pid)
    jobs._update(jobs.job_dir(ids[1], root), status="running", pid=__import__("os").getpid())
    jobs._update(jobs.job_dir(ids[2], root), status="done", pid=dead.pid)
    assert sorted(jobs.mark_stale(root)) == sorted(ids[:2])
    stale = jobs.status(ids[0], root)
    assert stale["status"] == "failed" and f"its process (pid {dead.pid}) is gone" in stale["error"]
    assert jobs.status(ids[2], root)["status"] == "done"
    assert [j["status"] for j in jobs.list_jobs(root)] == ["done", "failed", "failed"]


@pytest.mark.parametrize("line,message", [
    ("a film\twith a tab\t1", "train.tsv: line 3 has 3 field(s), the header has 2 (a tab inside the text?)"),
    (None, "train.tsv: line 1 is not a header"),
])
def test_a_bad_upload_names_the_file_and_line_and_creates_nothing(tiny_dir, artifacts, tmp_path, line, message):
    files = uploads(tiny_dir)
    lines = files["train"][1].decode().splitlines()
    lines = lines[1:] if line is None else lines[:2] + [line] + lines[2:]
    files["train"] = ("train.tsv", ("\n".join(lines) + "\n").encode())
    root = tmp_path / "jobs"
    with pytest.raises(DataError) as e:
        jobs.create_job(files, "bad", artifacts=artifacts, root=root)
    assert str(e.value).startswith(message) and "lmf-upload" not in str(e.value)
    assert not root.exists()


def test_bad_settings_and_one_file_to_split(tiny_dir, artifacts, tmp_path):
    """A dataset name lmf cannot use, a file that is not .tsv/.csv, and a bad line of the one file
    to split (named by the user's file name and its own line); a good one becomes three splits."""
    root = tmp_path / "jobs"
    with pytest.raises(ValueError, match="use lowercase letters"):
        jobs.create_job(uploads(tiny_dir), "My-Data", artifacts=artifacts, root=root)
    with pytest.raises(ValueError, match="lmf's own SST-2"):
        jobs.create_job(uploads(tiny_dir), "sst2", artifacts=artifacts, root=root)
    with pytest.raises(DataError, match=r"^notes\.txt: not a \.tsv or \.csv file"):
        jobs.create_job({"all": ("notes.txt", b"text,label\n")}, "ok", artifacts=artifacts, root=root)
    with pytest.raises(DataError, match=r"^reviews\.csv: line 3 has a blank label"):
        jobs.create_job({"all": ("reviews.csv", b"text,label\ngood,1\nbad,\n")}, "ok", artifacts=artifacts, root=root)
    one_label = "text,label\n" + "".join(f"film {i},pos\n" for i in range(20))
    with pytest.raises(DataError, match=r"^reviews\.csv: every example has the same label \('pos'\)"):
        jobs.create_job({"all": ("reviews.csv", one_label.encode())}, "ok", artifacts=artifacts, root=root)
    with pytest.raises(DataError, match=r"^reviews\.csv: line 3: not UTF-8 text"):
        jobs.create_job({"all": ("reviews.csv", "text,label\ngood,1\ncaf\u00e9,0\n".encode("latin-1"))}, "ok",
                        artifacts=artifacts, root=root)
    assert not root.exists()
    body = "text,label\n" + "".join(f"good film {i},pos\nbad film {i},neg\n" for i in range(10))
    job_id = jobs.create_job({"all": ("reviews.csv", body.encode())}, "ok", artifacts=artifacts, root=root)
    data = load_directory(jobs.job_dir(job_id, root) / "data" / "ok")
    assert (len(data.train), len(data.dev), len(data.test)) == (16, 2, 2)
    assert jobs.status(job_id, root)["files"] == {"all": "reviews.csv"}


def test_split_file_80_10_10_per_label(tmp_path):
    """25 examples of `a`, 5 of `b`, 4 of `c`: dev and test get 3 + 1 + 0 each (half rounds up),
    train 19 + 3 + 4; every row lands in exactly one split; the same seed gives the same files."""
    rows = [(f"text {label} {i}", label) for label, n in (("a", 25), ("b", 5), ("c", 4)) for i in range(n)]
    write_split(tmp_path / "all.tsv", ["sentence", "label"], rows)
    paths = split_file(tmp_path / "all.tsv", tmp_path / "one")
    split_file(tmp_path / "all.tsv", tmp_path / "two")
    counts = {}
    seen = []
    for split, path in paths.items():
        lines = path.read_text().splitlines()
        assert lines[0] == "sentence\tlabel"
        seen += lines[1:]
        counts[split] = {x: sum(line.endswith("\t" + x) for line in lines[1:]) for x in "abc"}
        assert path.read_text() == (tmp_path / "two" / path.name).read_text()
    assert counts == {"train": {"a": 19, "b": 3, "c": 4}, "dev": {"a": 3, "b": 1, "c": 0},
                      "test": {"a": 3, "b": 1, "c": 0}}
    assert sorted(seen) == sorted("\t".join(r) for r in rows)
    write_split(tmp_path / "few.tsv", ["sentence", "label"], [("x", "a"), ("y", "b")])
    with pytest.raises(DataError, match="too few examples to split 80/10/10"):
        split_file(tmp_path / "few.tsv", tmp_path / "three")


# ---------------------------------------------------------------- what a job may touch (issues 21, 22, 23)

def test_an_edited_job_json_is_checked_again_and_publishes_nothing(tiny_dir, artifacts, tmp_path):
    """Issue 22.6: editing a job's name to `sst2` (its data folder renamed to match) and running it
    replaced 13 of the sweep's SST-2 rows and deleted sst2-dan models, exit 0. Every run checks
    job.json with create_job's rules: the job fails naming the setting, exit 2, and the artifacts
    folder is byte for byte as it was. So does a tolerance edited to NaN's JSON stand-in, a string."""
    root = tmp_path / "jobs"
    job_id = jobs.create_job(uploads(tiny_dir), "edited", artifacts=artifacts, root=root, **QUICK)
    folder = jobs.job_dir(job_id, root)
    before = {p.name: p.read_bytes() for p in artifacts.iterdir()}
    job = json.loads((folder / "job.json").read_text())
    (folder / "data" / "edited").rename(folder / "data" / "sst2")
    (folder / "job.json").write_text(json.dumps({**job, "name": "sst2"}))
    assert jobs.main([str(folder)]) == 2
    failed = jobs.status(job_id, root)
    assert failed["status"] == "failed" and "lmf's own SST-2" in failed["error"]
    (folder / "job.json").write_text(json.dumps({**job, "name": "edited", "max_drop": "1"}))
    (folder / "data" / "sst2").rename(folder / "data" / "edited")
    assert jobs.main([str(folder)]) == 2 and "tolerance" in jobs.status(job_id, root)["error"]
    assert {p.name: p.read_bytes() for p in artifacts.iterdir()} == before


def test_publishing_never_touches_the_sweeps_or_anyone_elses_results(finished, tmp_path):
    """publish itself refuses (JobError, nothing changed) a job named after lmf's own data set,
    one named after a data set of the sweep.json's runs, one whose name has rows in results.csv
    that no job published, and another job's name: only the job recorded in published.json for
    a name may replace that name's rows and models."""
    job, art, _ = finished
    summary = json.loads((Path(job["dir"]) / "autotune" / "summary.json").read_text())
    assert json.loads((art / "published.json").read_text())["mine"]["job"] == job["id"]
    art2 = tmp_path / "artifacts"
    shutil.copytree(art, art2)
    rows = read_results(art2)
    write_rows(art2 / "results.csv", rows + [{**rows[0], "dataset": "trec"}], RESULT_COLUMNS)
    (art2 / "sweep.json").write_text(json.dumps({"datasets": ["sst2"], "earlier": [{"datasets": ["cr"]}]}))
    before = {p.relative_to(art2): p.read_bytes() for p in art2.rglob("*") if p.is_file()}
    for name, other_id, why in [("sst2", job["id"], "lmf's own SST-2"), ("cr", job["id"], "data set of the sweep"),
                                ("trec", job["id"], "no job published"), ("mine", "20260101-000000-mine-abcdef",
                                                                          f"published by job {job['id']}")]:
        with pytest.raises(ValueError, match=why):
            jobs.publish({**job, "name": name, "id": other_id, "artifacts": str(art2)}, Path(job["dir"]) / "autotune",
                         summary)
    assert {p.relative_to(art2): p.read_bytes() for p in art2.rglob("*") if p.is_file()} == before
    assert not list(tmp_path.glob("artifacts.tmp-*"))


def test_a_second_job_of_the_same_name_gets_a_new_one(finished, tiny_dir, tmp_path):
    """Issues 21.3/21.4: a second job named `mine` replaced the first one's rows and model folder.
    free_name tells the page beforehand, and create_job gives the job `mine_2`, saying so in
    job.json (`renamed`); a third, while the second is not published yet, gets `mine_3`."""
    job, art, _ = finished
    root = tmp_path / "jobs"
    given, why = jobs.free_name("mine", art, root)
    assert given == "mine_2" and why.startswith(f"the name 'mine' is already used (published by job {job['id']})")
    assert jobs.free_name("fresh", art, root) == ("fresh", None)
    second = jobs.status(jobs.create_job(uploads(tiny_dir), "mine", artifacts=art, root=root, **QUICK), root)
    assert (second["name"], second["requested_name"]) == ("mine_2", "mine") and "'mine_2'" in second["renamed"]
    assert (Path(second["dir"]) / "data" / "mine_2").is_dir()
    third = jobs.status(jobs.create_job(uploads(tiny_dir), "mine", artifacts=art, root=root, **QUICK), root)
    assert third["name"] == "mine_3" and f"job {second['id']}" in jobs.free_name("mine_2", art, root)[1]


@pytest.mark.parametrize("make", ["missing", "etc", "symlink", "no format", "other id", "extra file"])
def test_only_a_job_folder_lmf_made_is_run(make, finished, tmp_path, capsys):
    """Issue 21.9: `python -m lmf jobs-run /etc` wrote /etc/job.json, a missing path was created,
    then a raw KeyError. Now each of: a missing path, a folder of other files, a symbolic link to
    a job, a job.json without lmf's format, one naming another folder, a job folder with a file
    added: `error:`, exit 2, nothing written anywhere."""
    job, _, _ = finished
    real = Path(job["dir"])
    target = tmp_path / "target"
    if make == "etc":
        target.mkdir()
        (target / "passwd").write_text("root:x:0:0")
    elif make == "symlink":
        target.symlink_to(real)
    elif make != "missing":
        shutil.copytree(real, target)
        settings = json.loads((target / "job.json").read_text())
        if make == "no format":
            settings.pop("format")
        if make == "extra file":
            target = target.rename(tmp_path / real.name)
            (target / "notes.txt").write_text("mine")
        (target / "job.json").write_text(json.dumps(settings))
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink()}
    assert jobs.main([str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink()} == before
    assert target.exists() == (make != "missing")


def test_a_failed_publish_changes_nothing(finished, tmp_path, monkeypatch):
    """Issue 23.3: a publish that failed after copying its models left orphan folders in models/.
    Now the models, results.csv and published.json are staged and renamed in together: a failure
    while staging (writing results.csv) or while renaming (the last rename, results.csv's)
    leaves the artifacts folder byte for byte as it was, with no temporary beside it."""
    from lmf import atomic
    job, _, text = finished
    summary = json.loads((Path(job["dir"]) / "autotune" / "summary.json").read_text())
    for failure in ("staging", "renaming"):
        art2 = tmp_path / failure / "artifacts"
        art2.mkdir(parents=True)
        (art2 / "results.csv").write_text(text)  # as it was before the job published
        before = {p.relative_to(art2): p.read_bytes() for p in art2.rglob("*") if p.is_file()}
        real_replace = os.replace

        def broken_write(*args, **kwargs):
            raise OSError("disk full")

        def broken_replace(src, dst, failed=[]):
            if Path(dst) == art2 / "results.csv" and not failed:  # once: putting it back works
                failed.append(dst)
                raise OSError("rename failed")
            return real_replace(src, dst)
        with monkeypatch.context() as m:
            if failure == "staging":
                m.setattr(jobs, "write_rows", broken_write)
            else:
                m.setattr(atomic.os, "replace", broken_replace)
            with pytest.raises(OSError):
                jobs.publish({**job, "artifacts": str(art2)}, Path(job["dir"]) / "autotune", summary)
        assert {p.relative_to(art2): p.read_bytes() for p in art2.rglob("*") if p.is_file()} == before
        assert not [p.name for p in art2.parent.iterdir() if ".tmp-" in p.name], failure
        assert sorted(p.name for p in art2.iterdir()) == ["results.csv"], failure


def test_the_question_and_the_tolerance_the_home_page_opens_at():
    """A tolerance job opens at its own tolerance. A size job opens at its chosen model's dev drop
    rounded up to the slider's 0.1: base 0.80, chosen 0.7867 is 1.33 points, so 1.4 (1.3 would
    leave it outside); a chosen model 1 point below (0.79) opens at exactly 1.0 (within, by
    lmf.selection.within_tolerance); the base chosen, or a chosen model above the base, at 0."""
    from lmf.selection import within_tolerance
    by_drop, by_size = {"max_drop": 2.5, "max_bytes": None}, {"max_drop": 1.0, "max_bytes": 500_000}
    assert jobs.question(by_drop) == "the smallest model at most 2.5 points below the base on dev"
    assert jobs.question({**by_drop, "max_drop": 1.0}) == "the smallest model at most 1 point below the base on dev"
    assert jobs.question(by_size) == "the most accurate model of at most 500,000 bytes"
    assert jobs.home_tolerance(by_drop, None) == 2.5

    def summary(dev, method="lmf"):
        return {"base": {"dev_accuracy": 0.80}, "chosen": {"method": method, "dev_accuracy": dev}}
    assert jobs.home_tolerance(by_size, summary(0.7867)) == 1.4 and not within_tolerance(0.7867, 0.80, 1.3)
    assert jobs.home_tolerance(by_size, summary(0.79)) == 1.0 and within_tolerance(0.79, 0.80, 1.0)
    assert jobs.home_tolerance(by_size, summary(0.80, "uncompressed")) == 0.0
    assert jobs.home_tolerance(by_size, summary(0.81)) == 0.0


def test_publishing_keeps_the_columns_results_csv_was_written_with(tmp_path):
    """A results.csv made before lmf.results.LATER_COLUMNS is written back with its own columns, in
    its order (every earlier line stays as it was); a new one gets every column."""
    from lmf.results import LATER_COLUMNS
    older = [c for c in reversed(RESULT_COLUMNS) if c not in LATER_COLUMNS]
    (tmp_path / "results.csv").write_text(",".join(older) + "\n")
    assert jobs._results_columns(tmp_path) == older
    assert jobs._results_columns(tmp_path / "none") == RESULT_COLUMNS
