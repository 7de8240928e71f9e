"""Autotune jobs on a user's own data, run in a background process and published into the artifacts folder.

The app's "Your data" page creates a job from uploaded files and starts it; the job's whole state
lives on disk, so a browser reload or a new server finds it as it was:

    $LMF_JOBS_DIR (default <repo>/runs/jobs)/<job id>/
      job.json     id, settings, status (queued | running | done | failed), progress in [0, 1],
                   created/started/finished (Unix seconds), pid, error, the outcome (summary)
      log.txt      what the job process printed (autotune's notes, one line per trial, tracebacks)
      data/<name>/ train, dev and test files (.tsv or .csv), checked by lmf.data before the job exists
      autotune/    lmf.autotune's --out: model/, saved_model/, trials.csv, summary.json, SUMMARY.md

`python -m studio.jobs JOB_DIR` (started by `start` in its own session, so a server stop does
not take it down) runs lmf.autotune.autotune on data/<name> and then `publish`es: results.csv of
the job's artifacts folder gets a row for the base and one for the chosen model (every other line
is kept as it was), and both saved models go to models/<cell id>, where the home page offers them
for download. It acts only on a folder create_job made (`job_folder`: job.json of format lmf-job
naming the folder, nothing else there); anything else is refused with `error:` and status 2,
nothing written. The settings in job.json are checked again on every run with create_job's rules
(`check_job`, `check_settings`): a job.json edited afterwards fails the job, naming the setting.

A data set name belongs to one job: create_job gives a name already used (by the sweep, by
results.csv or models/, by another job) a free one, `name_2` and so on, and says so in job.json's
`renamed` (`free_name` tells the page beforehand). published.json of the artifacts folder records
which job published each name; publishing replaces only its own job's rows and models, never the
sweep's data sets nor anything no job published. A publication is all or nothing: the models and
files are staged beside the artifacts folder, then renamed in together under the folder's lock
(lmf.atomic: the lock sweep.assemble takes too), and put back as they were if a rename fails.

`stop` asks a running job's process to stop (STOP_SIGNAL): it records itself failed with STOPPED, and
`start` resumes it, as below. A job whose status is queued or running but whose process is gone
(the machine restarted, the process was killed) is marked failed by `mark_stale`, with the reason;
`start` on it resumes autotune from its trials.csv (finished trials are not run again; the budget
counts afresh).

Standard library at import time: the page lists jobs without torch; lmf.data and lmf.autotune
load when a job is created or run. Deliberately not here: the search (lmf.autotune), reading data
(lmf.data), Streamlit (studio/pages/your_data.py).
"""
import csv
import math
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from lmf.errors import LmfError
from lmf.atomic import is_temporary, locked, pid_exists, replace_dir, staging, swap, write_json_atomic
from lmf.names import DATASETS, MAX_NAME_CHARS, check_dataset_name
from lmf.layout import (MANIFEST, MODEL_FORMAT, MODELS_DIR, PUBLISHED, RESULTS, ROOT, artifacts_dir, copy_model,
                        is_artifacts_dir, model_dir, read_json, read_sweep_info, refusal, saved_config)
from lmf.results import RESULT_COLUMNS, read_results, read_table, write_rows
from lmf.units import tolerance

JOB, LOG, DATA, OUT = "job.json", "log.txt", "data", "autotune"
JOB_FORMAT = "lmf-job"  # job.json's "format": a folder create_job made
JOB_ENTRIES = {JOB, LOG, DATA, OUT}  # all a job folder holds (and lmf.atomic's temporaries)
_JOB_ID = re.compile(r"\d{8}-\d{6}-[a-z][a-z0-9_]*-[0-9a-f]{6}")
ACTIVE = ("queued", "running")
SUFFIXES = (".tsv", ".csv")
NEVER_STARTED_SECONDS = 120  # a queued job with no process after this was never started


def jobs_dir():
    """`$LMF_JOBS_DIR`, else `<repo>/runs/jobs`."""
    return Path(os.environ.get("LMF_JOBS_DIR", ROOT / "runs" / "jobs"))


class JobError(LmfError, ValueError):
    """A folder that is not a job lmf made, or a job whose publication would replace another's results."""


class JobStopped(BaseException):
    """`stop`'s signal, raised in the job process. A BaseException, as KeyboardInterrupt is, so that
    no `except Exception` on its way (a trial's, which records a failed trial and goes on) takes it."""


STOPPED = "Stopped from the Your data page. Resume it: finished trials are kept."
# `stop`'s own signal, not SIGTERM: a machine's shutdown or an admin's kill is not a user's Stop,
# and mark_stale says so for those.
STOP_SIGNAL = signal.SIGUSR1
_publishing = False  # the job process's: a stop is ignored while the results are being published
_stop_asked = False  # the job process's: set by the signal, checked again after every trial


def is_job_dir(path):
    """Whether `path` is a job folder create_job made (job_folder's rule)."""
    try:
        job_folder(path)
        return True
    except JobError:
        return False


def job_folder(path):
    """The job in folder `path` (job.json with `dir`), read only, when create_job made the folder:
    a real folder (not a link) whose job.json says format lmf-job and names the folder as its id,
    holding nothing but a job's entries (JOB_ENTRIES). Anything else is a JobError, so that
    `python -m studio.jobs /etc` neither writes there nor creates a missing path."""
    path = Path(path)
    if path.is_symlink() or not path.is_dir():
        raise JobError(f"{path}: no such job folder (not a folder{', a symbolic link' if path.is_symlink() else ''})")
    path = path.resolve()
    job = None if (path / JOB).is_symlink() else read_json(path / JOB)
    if job is None or job.get("format") != JOB_FORMAT or job.get("id") != path.name or not _JOB_ID.fullmatch(path.name):
        raise JobError(f"{path}: not a job folder lmf made (no {JOB} of format {JOB_FORMAT!r} naming this folder); "
                       "python -m studio.jobs runs only jobs the Your data page created")
    extra = sorted(p.name for p in path.iterdir() if p.name not in JOB_ENTRIES and not is_temporary(p))
    if extra:
        raise JobError(f"{path}: holds what a job folder does not ({', '.join(extra[:5])}); not run")
    return {**job, "dir": str(path)}


def read_job(job_dir):
    """job.json as a dict (with `dir`), or None when it is missing or unreadable."""
    job = read_json(Path(job_dir) / JOB)
    return None if job is None else {**job, "dir": str(job_dir)}


def _update(job_dir, **changes):
    """Rewrite job.json with `changes` (atomically: a reader sees the old or the new file, whole)."""
    job = read_json(Path(job_dir) / JOB) or {}
    job.update(changes)
    write_json_atomic(Path(job_dir) / JOB, job)
    return {**job, "dir": str(job_dir)}


def _log(job_dir, line):
    with open(Path(job_dir) / LOG, "a", encoding="utf-8") as f:
        f.write(f"[{time.strftime('%H:%M:%S')}] {line}\n")


def check_settings(name, model, max_drop, budget_minutes, quick=False, methods=None, max_bytes=None):
    """ValueError, said plainly, for a setting the job could not run with: the data set name's rule
    (lmf.names), autotune's own check, the one the CLI runs too (lmf.autotune.check_settings), and
    what a job adds (a budget: a job never runs unbounded; quick true or false; methods lmf's
    names). create_job applies it, and every run applies it again to job.json (check_job)."""
    from lmf.autotune import check_settings as check_autotune  # torch loads only when a job is made or run
    from lmf.methods import METHODS
    if not isinstance(name, str):
        raise ValueError(f"dataset name {name!r}: give a name (text)")
    check_dataset_name(name)
    if budget_minutes is None:
        raise ValueError("time budget: give a number of minutes above 0")
    check_autotune(model, max_drop, budget_minutes, max_bytes)
    if not isinstance(quick, bool):
        raise ValueError(f"quick {quick!r}: true or false")
    if methods is not None and (not isinstance(methods, list) or not methods
                                or not all(isinstance(m, str) and m in METHODS for m in methods)):
        raise ValueError(f"methods {methods!r}: a list of lmf's method names ({', '.join(METHODS)})")


def check_artifacts(path):
    """ValueError unless a job may publish into `path`: an absolute path to an artifacts folder,
    an empty folder, or nothing yet (never a folder of other files, a file or a link)."""
    if not isinstance(path, str) or not Path(path).is_absolute():
        raise ValueError(f"artifacts {path!r}: give the absolute path of an artifacts folder")
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise ValueError(f"artifacts {path}: not a folder")
    if path.is_dir() and any(path.iterdir()) and not is_artifacts_dir(path):
        raise ValueError(f"artifacts {path}: not an artifacts folder (no results.csv or sweep.json)")


def check_job(job):
    """ValueError unless every setting of `job` (job.json, with `dir`) is one create_job would
    have written: check_settings, check_artifacts, and its data under data/<name>."""
    check_settings(job.get("name"), job.get("model"), job.get("max_drop"), job.get("budget_minutes"),
                   job.get("quick"), job.get("methods"), job.get("max_bytes"))
    check_artifacts(job.get("artifacts"))
    data = Path(job["dir"]) / DATA / job["name"]
    if data.is_symlink() or not data.is_dir():
        raise ValueError(f"no data for {job['name']!r} in the job folder (data/{job['name']})")
    return job


def used_names(artifacts=None, root=None):
    """{data set name: who uses it} for every name a new job must not take: lmf's own data sets,
    the sweep's (sweep.json, earlier runs included), those with rows in results.csv or models in
    models/, those jobs published (published.json) and those of the jobs under `root`."""
    art = Path(artifacts or artifacts_dir())
    used = {name: "lmf's own data set" for name in DATASETS}
    info = read_sweep_info(art)
    for run in [info] + [e for e in info.get("earlier") or [] if isinstance(e, dict)]:
        for name in run.get("datasets") or []:
            used.setdefault(str(name), "the sweep's")
    for name, entry in (read_json(art / PUBLISHED) or {}).items():
        used[name] = f"published by job {entry.get('job') if isinstance(entry, dict) else '?'}"
    try:
        for _, row in read_table(art / RESULTS)[1]:
            used.setdefault(row.get("dataset") or "", "rows in results.csv")
    except (OSError, UnicodeDecodeError, csv.Error):
        pass  # no results.csv, or one the sweep would refuse: no name taken by it
    if (art / MODELS_DIR).is_dir():
        for path in (art / MODELS_DIR).iterdir():
            used.setdefault(path.name.split("-", 1)[0], "models in the artifacts folder")
    for job in list_jobs(root, refresh=False):
        used.setdefault(str(job.get("name")), f"job {job.get('id')}")
    return used


def free_name(name, artifacts=None, root=None):
    """(the name a new job on data set `name` gets, None or a sentence saying why it differs): `name`
    itself when nobody uses it (used_names), else the first free `name_2`, `name_3`, ... (cut to
    lmf.names.MAX_NAME_CHARS). ValueError for a name lmf cannot use at all (check_dataset_name).
    The Your data page calls it to tell the user before the job is created; create_job uses it."""
    check_dataset_name(name)
    used = used_names(artifacts, root)
    if name not in used:
        return name, None
    n = 2
    while True:
        suffix = f"_{n}"
        candidate = name[:MAX_NAME_CHARS - len(suffix)] + suffix
        if candidate not in used:
            return candidate, (f"the name {name!r} is already used ({used[name]}); this job's results are "
                               f"published as {candidate!r}, so nothing of the earlier ones is replaced")
        n += 1


def _upload_name(name):
    """The file name a user gave, without folders, and its suffix lowercased (lmf.data reads a
    .tsv as tab-separated by its suffix); DataError for anything but .tsv or .csv."""
    from lmf.data import DataError
    path = Path(Path(str(name)).name)
    if path.suffix.lower() not in SUFFIXES:
        raise DataError(f"{path.name}: not a .tsv or .csv file (the data must be tab- or comma-separated "
                        "text with a header line)")
    return path.stem + path.suffix.lower()


def check_upload(files, into):
    """Write the uploaded `files` under `into` and check them with lmf.data's readers; returns the
    data directory (train/dev/test). `files` maps "train", "dev", "test" (all three) or "all" (one
    file, split 80/10/10 with lmf.data.split_file) to (file name, bytes). A bad file is a DataError
    naming the uploaded file (not the folder it was written to) and the line."""
    from lmf.data import DataError, load_directory, split_file
    if set(files) not in ({"all"}, {"train", "dev", "test"}):
        raise DataError("upload either train, dev and test files, or one file to split 80/10/10")
    into, shown = Path(into), {}
    data = into / "data"
    try:
        written = {}
        for split, (name, content) in files.items():
            path = into / "upload" / split / _upload_name(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            written[split], shown[str(path)] = path, Path(str(name)).name
        if "all" in written:
            split_file(written["all"], data)
        else:
            data.mkdir()
            for split, path in written.items():
                shutil.copyfile(path, data / f"{split}{path.suffix}")
                shown[str(data / f"{split}{path.suffix}")] = shown[str(path)]
        load_directory(data)
    except DataError as e:
        message = str(e)
        for path, name in sorted(shown.items(), key=lambda p: -len(p[0])):
            message = message.replace(path, name)
        raise DataError(message.replace(str(data), "the split data")) from None
    return data


def create_job(files, name, model="dan", max_drop=1.0, budget_minutes=30.0, quick=False, methods=None,
               artifacts=None, root=None, max_bytes=None):
    """Check the settings and the uploaded files (check_upload), then write the job's folder
    (queued) in one step; returns the job id. Nothing is written for bad settings or a bad file.
    `quick` runs autotune with the sweep's quick sizes (a tiny run: tests, a first look);
    `methods` narrows autotune's search; `artifacts` is where the job publishes (default
    lmf.layout.artifacts_dir()); `max_bytes` asks autotune's size question instead of the
    tolerance's (the most accurate model of at most that many bytes). A name already used (free_name) is replaced by a free one, said in
    job.json's `renamed` (`requested_name` keeps the one asked for)."""
    check_settings(name, model, max_drop, budget_minutes, bool(quick), methods, max_bytes)
    root = Path(root or jobs_dir()).resolve()
    art = str(Path(artifacts or artifacts_dir()).resolve())
    check_artifacts(art)
    with tempfile.TemporaryDirectory(prefix="lmf-upload-") as tmp:
        data = check_upload(files, tmp)
        with locked(root):  # two jobs created at once never take the same free name
            given, renamed = free_name(name, art, root)
            job_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{given}-{secrets.token_hex(3)}"
            job = {"format": JOB_FORMAT, "id": job_id, "name": given, "requested_name": name, "renamed": renamed,
                   "model": model, "max_drop": float(max_drop), "budget_minutes": float(budget_minutes),
                   "quick": bool(quick), "methods": methods, "artifacts": art, "max_bytes": max_bytes,
                   "files": {split: Path(str(n)).name for split, (n, _) in files.items()},
                   "status": "queued", "progress": 0.0, "created": time.time(), "started": None, "finished": None,
                   "pid": None, "error": None, "summary": None}

            def build(folder):
                shutil.copytree(data, folder / DATA / given)
                (folder / LOG).write_text("", encoding="utf-8")
                write_json_atomic(folder / JOB, job)

            replace_dir(root / job_id, build, owned=lambda path: False)  # a new id: nothing is replaced
    return job_id


def published_data(name, artifacts=None, root=None):
    """The data folder (data/<name>/ of its job under `root`) of data set `name` that a job published
    into `artifacts` (published.json), or None: a data set no job published, or whose job folder is
    gone. Retrain live and SVD-only accuracy read a published data set from there."""
    entry = (read_json(Path(artifacts or artifacts_dir()) / PUBLISHED) or {}).get(name)
    try:
        folder = job_dir(entry["job"], root) / DATA / name
    except (ValueError, KeyError, TypeError):  # no entry, or one that names no job
        return None
    return folder if folder.is_dir() else None


def job_dir(job_id, root=None):
    """The folder of `job_id`; ValueError for an id that is not a plain folder name."""
    if not job_id or "/" in job_id or job_id.startswith("."):
        raise ValueError(f"{job_id!r} is not a job id")
    return Path(root or jobs_dir()).resolve() / job_id


def start(job_id, root=None):
    """Run the job in a background process of its own session (a server stop or a closed browser
    does not end it), its output appended to log.txt; a failed job starts again and autotune
    resumes from its trials.csv. Returns the job."""
    folder = job_dir(job_id, root)
    job = read_job(folder)
    if job is None:
        raise ValueError(f"no job {job_id}")
    if job["status"] in ACTIVE and _alive(job.get("pid"), folder):
        return job
    # Queued before the process starts: the process writes "running" (or "failed") itself, and a
    # status written after it started could overwrite that.
    _update(folder, status="queued", pid=None, error=None, finished=None, queued_at=time.time())
    with open(folder / LOG, "a", encoding="utf-8") as log:
        # cwd: the repository that holds this lmf, so the job runs the same code as the server.
        process = subprocess.Popen([sys.executable, "-m", "studio.jobs", str(folder)], cwd=ROOT,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    return _update(folder, pid=process.pid)


def stop(job_id, root=None):
    """Ask a running job's process to stop (STOP_SIGNAL): it ends its trial at once, records itself
    failed with STOPPED and leaves trials.csv as it was, so `start` resumes it. A job that is
    already publishing finishes (a half-published job would be worse than a late stop). Returns
    whether a process was asked; False for a job that is not running (a queued one has not yet
    set up how it stops)."""
    folder = job_dir(job_id, root)
    job = read_job(folder)
    if job is None or job["status"] != "running" or not _alive(job.get("pid"), folder):
        return False
    try:
        os.kill(job["pid"], STOP_SIGNAL)
    except ProcessLookupError:  # it ended meanwhile
        return False
    return True


def _stop_unless_publishing(signum, frame):
    global _stop_asked
    if _publishing or _stop_asked:  # one stop: a second click must not cut the first's cleanup
        return
    _stop_asked = True
    # Raised here to end a long trial at once; where it cannot be (a handler runs wherever the main
    # thread is, and an exception raised in a finalizer is only printed), the next trial's end
    # raises it (on_trial).
    raise JobStopped


def _alive(pid, folder):
    """Whether process `pid` is running this job: it exists, is not a zombie (a finished child the
    server has not reaped yet) and, where /proc tells, its command line names the job's folder (a
    recycled pid of another program does not count)."""
    if not pid or not pid_exists(pid):
        return False
    proc = Path(f"/proc/{pid}")
    try:
        if proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
        return str(folder) in proc.joinpath("cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, IndexError):
        return True  # no /proc (not Linux): the pid exists, trust it


def mark_stale(root=None):
    """Mark failed every queued or running job whose process is gone; returns their ids."""
    stale = []
    for job in list_jobs(root, refresh=False):
        if job["status"] not in ACTIVE:
            continue
        if job.get("pid") is None and time.time() - (job.get("queued_at") or job["created"]) < NEVER_STARTED_SECONDS:
            continue  # just created: its process is being started
        if not _alive(job.get("pid"), job["dir"]):
            what = f"its process (pid {job['pid']}) is gone" if job.get("pid") else "it was never started"
            _update(job["dir"], status="failed", finished=time.time(),
                    error=f"The job stopped before finishing: {what} (a server or machine restart, or the process "
                          "was killed). Resume it: finished trials are kept.")
            stale.append(job["id"])
    return stale


def list_jobs(root=None, refresh=True):
    """Every job, newest first (after mark_stale when `refresh`)."""
    if refresh:
        mark_stale(root)
    root = Path(root or jobs_dir()).resolve()  # as job_dir and start name it: _alive compares the text
    jobs = [read_job(p) for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")] if root.is_dir() else []
    return sorted((j for j in jobs if j), key=lambda j: j.get("created") or 0, reverse=True)


def status(job_id, root=None):
    return read_job(job_dir(job_id, root))


def shown_progress(job, now=None):
    """The progress bar's value: job.json's (trials finished over trials finished and at most still
    needed), or the share of the time budget spent when that is further along, below 1 until done."""
    if job["status"] == "done":
        return 1.0
    spent = 0.0
    if job["status"] == "running" and job.get("started"):
        spent = ((now or time.time()) - job["started"]) / (60 * job["budget_minutes"])
    return min(0.99, max(job.get("progress") or 0.0, spent))


def question(job):
    """The question the job asks autotune, in words: 'the most accurate model of at most 500,000
    bytes' (max_bytes) or 'the smallest model at most 1 point below the base on dev' (max_drop)."""
    if job.get("max_bytes") is not None:
        return f"the most accurate model of at most {job['max_bytes']:,} bytes"
    drop = job["max_drop"]
    return f"the smallest model at most {tolerance(drop)} below the base on dev"


def home_tolerance(job, summary):
    """The home page's tolerance (points, a multiple of its slider's 0.1) at which it recommends what
    the job chose: the job's own max_drop for the tolerance question; for the size question the
    chosen model's dev drop below the base rounded up to 0.1 (0 when it is the base or no worse), as
    the home page recommends the smallest model within the tolerance and the job published only the
    base and the chosen one. Worked example: base dev 0.80, chosen 0.7867: 1.33 points, so 1.4."""
    if job.get("max_bytes") is None:
        return float(job["max_drop"])
    chosen = (summary or {}).get("chosen")
    if not chosen or chosen["method"] == "uncompressed":
        return 0.0
    drop = 100 * (summary["base"]["dev_accuracy"] - chosen["dev_accuracy"])
    return max(0.0, math.ceil(round(10 * drop, 6)) / 10)


def log_tail(job, lines=15):
    try:
        return "\n".join((Path(job["dir"]) / LOG).read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def summary_md(job):
    path = Path(job["dir"]) / OUT / "SUMMARY.md"
    return path.read_text(encoding="utf-8") if path.is_file() else None


# ---------------------------------------------------------------- the job process

def run_job(folder):
    """Run the job in `folder` here (`python -m studio.jobs` calls it in the background process):
    autotune on its data, progress into job.json after every trial, then publish. Returns the job;
    a failure is recorded in job.json (status failed, the error) and log.txt (the traceback).

    JobError, with nothing written, for a folder create_job did not make (job_folder); a job whose
    job.json no longer passes create_job's checks (check_job: edited since) fails without running.
    A JobStopped (`stop`'s signal, in the job process) ends it failed with STOPPED."""
    global _publishing
    from lmf.autotune import autotune
    job = job_folder(folder)
    folder = Path(job["dir"])
    try:
        check_job(job)
    except (ValueError, KeyError, TypeError) as e:
        _log(folder, f"not run: job.json holds a setting create_job would not have written: {e}")
        return _update(folder, status="failed", finished=time.time(), pid=None,
                       error=f"job.json holds a setting create_job would not have written: {e}")
    goal = (f"the most accurate model of at most {job['max_bytes']:,} bytes" if job.get("max_bytes") else
            f"at most {tolerance(job['max_drop'])} below the base")

    def on_trial(trial, finished, left):
        if _stop_asked:
            raise JobStopped
        what = (f"{trial['bytes']:,} bytes, dev {100 * trial['dev_accuracy']:.2f}%" if trial["status"] == "ok"
                else trial["status"])
        which = f" ({trial['base']})" if trial["method"] == "uncompressed" and trial.get("base") else ""
        _log(folder, f"{trial['method']}{which} R{trial['R']}: {what} ({trial['seconds']:.1f} s); "
                     f"{finished} trial(s) done, at most {left} to go")
        progress = max(read_job(folder).get("progress") or 0.0, finished / (finished + left))
        _update(folder, progress=min(0.95, progress))  # the test accuracies and publishing are left

    job = _update(folder, status="running", pid=os.getpid(), started=time.time(), error=None)
    try:  # from the moment the job says "running", when `stop` may signal it
        _log(folder, f"started (pid {os.getpid()}): autotune {job['model']} on {job['name']}, {goal}, "
                     f"{job['budget_minutes']:g} min" + (", quick" if job["quick"] else ""))
        summary = autotune(str(folder / DATA / job["name"]), job["model"], folder / OUT, job["max_drop"],
                           budget_minutes=job["budget_minutes"], quick=job["quick"], methods=job.get("methods"),
                           progress=False, on_trial=on_trial, max_bytes=job.get("max_bytes"))
        if _stop_asked:  # a stop whose exception was lost after the last trial's check
            raise JobStopped
        _log(folder, "search over; publishing into the artifacts folder")
        _publishing = True  # from here to the end the job finishes: publish is all or nothing, then done
        rows = publish(job, folder / OUT, summary)
        _log(folder, f"done: {len(rows)} row(s) for {job['name']} / {job['model']} in results.csv")
        return _update(folder, status="done", progress=1.0, finished=time.time(), summary=summary)
    except JobStopped:
        _log(folder, "stopped from the Your data page; finished trials are kept")
        return _update(folder, status="failed", finished=time.time(), error=STOPPED)
    except Exception as e:  # noqa: BLE001  (any failure ends the job: said in job.json, traced in the log)
        with open(folder / LOG, "a", encoding="utf-8") as log:
            traceback.print_exc(file=log)
        return _update(folder, status="failed", finished=time.time(), error=f"{type(e).__name__}: {e}")
    finally:
        _publishing = False


def result_rows(name, model, summary):
    """results.csv rows (lmf.results.RESULT_COLUMNS) for an autotune summary: the base and the
    chosen model, seed 0, with what autotune measured (bytes of the deployable export, dev and
    test accuracy); params and rank are filled in by `publish` from the saved models, and the
    columns autotune does not measure (latency, accuracy before retraining, width) stay blank."""
    base, chosen = summary["base"], summary["chosen"]
    rows = [{"dataset": name, "model": model, "method": "uncompressed", "embedding_reduction_pct": 0,
             "bytes_fraction": 1.0, "size_bytes": base["bytes"], "accuracy": base["test_accuracy"],
             "dev_accuracy": base["dev_accuracy"], "seed": 0}]
    if chosen is not None and chosen["method"] != "uncompressed":  # the size question may choose the base itself
        rows.append({"dataset": name, "model": model, "method": chosen["method"],
                     "embedding_reduction_pct": chosen["R"], "bytes_fraction": chosen["bytes_fraction"],
                     "size_bytes": chosen["bytes"], "accuracy": chosen["test_accuracy"],
                     "dev_accuracy": chosen["dev_accuracy"], "seed": 0})
    return rows


def stamp_exports(rows, sources):
    """Each row's size_bytes and export_sha256 from its export made from its source saved model
    (studio.deploy's way) copied under the name it is published by (`sources`: name -> folder, in
    row order), so the card, the Playground and the download agree byte for byte. bytes_fraction
    follows. Nothing is published yet: an export that fails leaves the artifacts as they were."""
    from lmf.export import export_model
    from lmf.methods import METHODS
    from lmf.layout import EXPORT_MODEL, file_sha256
    from lmf.metrics import size_on_disk
    with tempfile.TemporaryDirectory() as tmp:
        for row, (name, folder) in zip(rows, sources.items()):
            named = shutil.copytree(folder, Path(tmp) / "saved" / name)
            export = export_model(named, Path(tmp) / "exports" / name, precision=METHODS[row["method"]].deploy)
            row.update(size_bytes=size_on_disk(export), export_sha256=file_sha256(export / EXPORT_MODEL))
    for row in rows:
        row["bytes_fraction"] = row["size_bytes"] / rows[0]["size_bytes"]


def _published(art):
    """published.json of artifacts folder `art`: {data set name: {"job": id, "models": [cell ids]}}."""
    record = read_json(Path(art) / PUBLISHED) or {}
    return {name: entry for name, entry in record.items() if isinstance(entry, dict)}


def _claim(art, job, cells):
    """The cell ids of `job`'s earlier publication in `art` (to replace), after checking that its
    name is its own: not lmf's or the sweep's data set, not another job's, with no rows or models
    that no job published, and its earlier models unchanged. JobError naming what stands in the way."""
    name = job["name"]
    check_dataset_name(name)
    info = read_sweep_info(art)
    sweeps = set(info.get("datasets") or []).union(*[e.get("datasets") or [] for e in info.get("earlier") or []
                                                      if isinstance(e, dict)])
    if name in sweeps:
        raise JobError(f"{name!r} is a data set of the sweep in the artifacts folder; a job never replaces its results")
    entry = _published(art).get(name)
    if entry is not None and entry.get("job") != job["id"]:
        raise JobError(f"{name!r} was published by job {entry.get('job')}; a job never replaces another's "
                       "results (create the job again: it gets a free name)")
    earlier = [c for c in (entry or {}).get("models") or [] if isinstance(c, str)]
    if entry is None and (art / RESULTS).is_file() and any(r["dataset"] == name for r in read_results(art)):
        raise JobError(f"results.csv has rows of {name!r} that no job published; a job never replaces them")
    models = art / MODELS_DIR
    for path in sorted(models.iterdir()) if models.is_dir() else []:
        if path.name.split("-", 1)[0] != name:
            continue
        if path.name not in earlier:
            if path.name in cells or entry is None:
                raise JobError(f"models/{path.name} was not published by this job; a job never replaces it")
        elif refusal(path, MANIFEST, MODEL_FORMAT):
            raise JobError(f"{refusal(path, MANIFEST, MODEL_FORMAT)}; publishing would replace it")
    return earlier


def _results_columns(art):
    """The columns results.csv of `art` is written back with: its own (those of the schema, in its
    order), so that every line of a file made before a column was added (lmf.results.LATER_COLUMNS)
    is written back as it was read; RESULT_COLUMNS for a new file. The job's rows measure none of
    the later columns (no latency), so nothing of theirs is lost."""
    try:
        header = read_table(art / RESULTS)[0]
    except (OSError, UnicodeDecodeError, csv.Error):
        return RESULT_COLUMNS
    return [c for c in header if c in RESULT_COLUMNS] or RESULT_COLUMNS


def publish(job, out, summary):
    """Put an autotune's outcome into the job's artifacts folder beside the other datasets: its two
    saved models (models/<cell id>), results.csv with this job's rows replaced (every other line
    written back as it was read), published.json recording them, and the models of its earlier
    publication that are no longer named removed: all staged beside the folder, then renamed in
    together (lmf.atomic.swap: a failure puts everything back). Under the artifacts folder's lock
    (lmf.atomic.locked, the one sweep.assemble takes): nobody's rows are lost. Only the job's own
    name is touched (_claim); JobError otherwise, with nothing changed."""
    from lmf.artifacts import load_model
    from .deploy import source_of
    from lmf.metrics import count_parameters
    name, model, art = job["name"], job["model"], Path(job["artifacts"])
    rows = result_rows(name, model, summary)
    folders = [summary["base_saved_model_dir"], summary["saved_model_dir"]]
    sources = {}
    for row, folder in zip(rows, folders):
        source = Path(out) / folder
        # Under the name studio.deploy looks for: the model the row's export is made from.
        sources[source_of(art, row)[0].name] = source
        # The home page's cards need params (and the rank, for a factorization), counted as the sweep counts them.
        row.update(params=count_parameters(load_model(source).model), rank=(saved_config(source) or {}).get("rank"))
    stamp_exports(rows, sources)
    with locked(art):
        earlier = _claim(art, job, set(sources))
        # one read: a damaged results.csv is an ArtifactError naming the line, never overwritten
        kept = [r for r in read_results(art) if r["dataset"] != name] if (art / RESULTS).is_file() else []
        columns = _results_columns(art)
        record = {**(read_json(art / PUBLISHED) or {}),
                  name: {"job": job["id"], "model": model, "models": sorted(sources), "published": time.time()}}
        with staging(art) as work:
            moves = []
            for cell, source in sources.items():
                moves.append((copy_model(source, work / MODELS_DIR / cell), model_dir(art, cell)))
            moves += [(None, model_dir(art, cell)) for cell in earlier if cell not in sources]
            write_rows(work / RESULTS, kept + rows, columns)
            write_json_atomic(work / PUBLISHED, record)
            moves += [(work / RESULTS, art / RESULTS), (work / PUBLISHED, art / PUBLISHED)]
            swap(work, moves)
    return rows


def main(argv=None):
    """`python -m studio.jobs JOB_DIR`: run one job (the background process `start` launches);
    exit 0 when it is done, 2 with the error when it failed or JOB_DIR is not a job folder."""
    import argparse
    parser = argparse.ArgumentParser(prog="python -m studio.jobs", description="run a Your data job: autotune, then publish")
    parser.add_argument("job_dir")
    try:
        job = run_job(parser.parse_args(argv).job_dir)
    except JobError as e:  # not a job folder lmf made: nothing was written
        print(f"error: {e}", file=sys.stderr)
        return 2
    except JobStopped:  # stopped before run_job could record it: mark_stale says so on the page
        print("error: stopped", file=sys.stderr)
        return 2
    if job["status"] != "done":
        print(f"error: job {job['id']} failed: {job['error']}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    signal.signal(STOP_SIGNAL, _stop_unless_publishing)  # `stop`: in the job's own process only, never a caller's
    sys.exit(main())
