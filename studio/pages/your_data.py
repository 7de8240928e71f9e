"""Your data: upload a labelled dataset, autotune a model on it in the background (studio.jobs), then
open it on the home page beside SST-2 and CLINC150, at the job's own tolerance: the home page judges
it on dev as autotune does (lmf.selection.recommend), so it recommends and serves the job's model.

Either of autotune's two questions: the smallest model within X points of the uncompressed one on
dev (--max-drop), or the most accurate model of at most N bytes (--max-bytes, given as 500kB or
2MB and read by lmf.autotune.parse_bytes, the command line's reader). A size job opens on the home
page at the tolerance its chosen model needs (studio.jobs.home_tolerance). Every model kind of
lmf.names.MODEL_KINDS can be tuned.

The job runs in its own process and keeps its state in its folder (studio.jobs), so a reload, another
tab or a restarted server shows the same list; this page only draws it, refreshed every second by a
fragment while a job is active; a running job has a Stop button (studio.jobs.stop: Resume goes on from its
finished trials). A finished job is shown as cards built from its summary (autotune's
summary.json: base, chosen, bytes, accuracy, time, warnings); no server path reaches the page (the
job folder and the server's folders are cut from its log and errors), and the log's lines wrap.
"""
import time
from pathlib import Path

import streamlit as st

from lmf.units import mb, percent, points, tolerance
from lmf.data import DataError
from lmf.layout import read_json
from lmf.names import MODEL_KINDS, model_name
from studio import jobs, ui

HOME = "studio/pages/home.py"
REFRESH_SECONDS = 1.0
STATUS = {"queued": ":gray[queued]", "running": ":blue[running]", "done": ":green[done]", "failed": ":red[failed]"}
BY_DROP, BY_SIZE = "Smallest model within a tolerance", "Most accurate model under a size"
DEFAULT_SIZE = "1MB"

st.title("Your data")
st.caption("Upload a labelled text dataset and autotune finds the smallest model within your accuracy tolerance, "
           "or the most accurate one under a size: it trains the uncompressed model, searches the compression "
           "methods and R, and adds the base and the chosen model to the studio, where the home page compares them.")

one_file = st.radio("Files", ["train, dev and test", "one file, split 80/10/10"], horizontal=True,
                    key="your_data_mode") != "train, dev and test"
# Outside the form, as the files' choice is: the form's fields follow the question at once.
by_size = st.radio("Question", [BY_DROP, BY_SIZE], horizontal=True, key="your_data_question",
                   help="The smallest model whose dev accuracy is at most X points below the uncompressed model's, "
                        "or the most accurate model on dev whose deployable export is at most N bytes.") == BY_SIZE
with st.form("your_data_form"):
    st.markdown("TSV or CSV with a header line naming the text column (`sentence` or `text`) and the label column "
                "(`label` or `intent`); UTF-8.")
    if one_file:
        uploads = {"all": st.file_uploader("Dataset (split 80/10/10 within each label, fixed seed)", ["tsv", "csv"],
                                           key="upload_all")}
    else:
        columns = st.columns(3)
        uploads = {split: col.file_uploader(split.capitalize(), ["tsv", "csv"], key=f"upload_{split}")
                   for col, split in zip(columns, ("train", "dev", "test"))}
    name_col, model_col = st.columns(2)
    name = name_col.text_input("Dataset name", placeholder="e.g. reviews", key="your_data_name",
                               help="Lowercase letters, digits and underscores, starting with a letter.")
    model = model_col.radio("Model", MODEL_KINDS, format_func=model_name, horizontal=True, key="your_data_model")
    drop_col, budget_col = st.columns(2)
    if by_size:
        size_text = drop_col.text_input(
            "Size limit: largest deployable export allowed", DEFAULT_SIZE, key="your_data_size",
            help="Bytes, or with a decimal unit: 500kB, 0.5MB and 500000 are the same size. The export is "
                 "model.onnx, tokenizer.json, words.zlib and manifest.json, the download.")
        max_drop = 1.0  # unused by the size question
    else:
        max_drop = drop_col.number_input("Tolerance: largest accuracy drop allowed (points, on dev)", 0.0, 50.0, 1.0,
                                         0.1, key="your_data_drop")
    budget = budget_col.number_input("Time budget (minutes)", 0.5, 24 * 60.0, 30.0, 0.5, key="your_data_budget",
                                     help="No trial starts after it; the job ends within it plus one trial.")
    quick = st.toggle("Quick run: tiny data and a few training steps, to try the page (the numbers mean little)",
                      key="your_data_quick")
    submitted = st.form_submit_button("Start autotune", type="primary")



def size_limit(text):
    """(bytes, None) for the size field's text, or (None, a message saying what to give)."""
    from lmf.autotune import parse_bytes  # torch loads with it: only when a size job is submitted
    try:
        limit = parse_bytes(text)
    except ValueError:
        return None, f"Size limit {text.strip()!r}: give a size such as 500kB, 2MB or 500000 (bytes)."
    if limit < 1:
        return None, f"Size limit {text.strip()!r} is under one byte: give a size such as 500kB or 2MB."
    return limit, None


if submitted:
    missing = ["dataset" if split == "all" else split for split, upload in uploads.items() if upload is None]
    max_bytes, size_problem = size_limit(size_text) if by_size else (None, None)
    if missing:
        st.error(f"Upload the {', '.join(missing)} file{'s' if len(missing) > 1 else ''} first.",
                 icon=":material/upload_file:")
    elif size_problem:
        st.error(size_problem, icon=":material/straighten:")
    else:
        try:
            job_id = jobs.create_job({s: (u.name, u.getvalue()) for s, u in uploads.items()}, name.strip(), model,
                                     max_drop, budget, quick=quick, artifacts=ui.art_dir(), max_bytes=max_bytes)
        except (DataError, ValueError) as e:  # the same messages as the command line: file and line
            st.error(ui.public(str(e)), icon=":material/error:")
        else:
            started = jobs.start(job_id)
            st.toast(f"Started {job_id}")
            if started.get("renamed"):
                st.info(ui.public(started["renamed"]), icon=":material/drive_file_rename_outline:")


def open_on_home(dataset, arch, tolerance):
    """The job's data set and model in the sidebar, and its tolerance (studio.jobs.home_tolerance)
    on the home page's slider: the home page then recommends what the job chose (or the base, when
    a tolerance's target was missed)."""
    st.session_state.update(dataset=dataset, model=arch, tolerance=float(tolerance))


def shown(text, job):
    """`text` (a log, an error) without a server path: the job's folder named as such, the
    server's folders cut to their last component (ui.public)."""
    folder = Path(job["dir"])
    for path in sorted({str(folder), str(folder.resolve())}, key=len, reverse=True):
        text = text.replace(path, "(job folder)")
    return ui.public(text)


def summary_of(job):
    """The job's outcome: job.json's copy of autotune's summary.json, else that file itself."""
    return job.get("summary") or read_json(Path(job["dir"]) / jobs.OUT / "summary.json")


def shown_percent(x):
    return "n/a" if x is None else percent(x)


def delta(x, base):
    return None if x is None or base is None else points(x - base)


def draw_result(job, summary):
    """Cards from autotune's summary: what was chosen, its bytes against the base's, dev (where the
    tolerance is judged) and test accuracy, the time and trials, and any warnings."""
    base, chosen = summary["base"], summary.get("chosen")
    by_size = summary.get("question") == "max_bytes"
    if by_size:
        st.markdown(f"Question answered: **the most accurate model of at most {mb(summary['max_bytes'])}** "
                    f"({summary['max_bytes']:,} bytes).")
    else:
        st.markdown(f"Question answered: **the smallest model within {tolerance(summary['max_drop'])} of the base "
                    "on dev**.")
    if by_size and chosen is not None and summary.get("target_met"):
        where = "the base itself" if chosen["method"] == "uncompressed" else f"{chosen['label']} at R = {chosen['R']}"
        st.success(f"**Target met: {where}**, the most accurate model tried on dev whose export fits in "
                   f"{mb(summary['max_bytes'])}.", icon=":material/check_circle:")
    elif by_size and chosen is not None:
        st.warning(f"**Target not met**: no model tried fits in {mb(summary['max_bytes'])}. The smallest one tried "
                   f"({chosen['label']} at R = {chosen['R']}, {mb(chosen['bytes'])}) is kept.",
                   icon=":material/warning:")
    elif chosen is None:
        st.warning("No compressed model finished, so the target was not met: the base model is what the home page "
                   "serves.", icon=":material/warning:")
    elif summary.get("target_met"):
        st.success(f"**Target met: {chosen['label']} at R = {chosen['R']}**, the smallest model tried whose dev "
                   f"accuracy is within {tolerance(summary['max_drop'])} of the base's.", icon=":material/check_circle:")
        if summary.get("margin_note"):
            st.info(shown(summary["margin_note"], job), icon=":material/info:")
    else:
        st.warning(f"**Target not met**: no model tried came within {tolerance(summary['max_drop'])} of the base on dev. "
                   f"The best one tried ({chosen['label']} at R = {chosen['R']}) is kept, but at this tolerance the "
                   "home page recommends the base.", icon=":material/warning:")
    shown_model = chosen or base
    c = st.columns(4)
    c[0].metric("Size", f"{mb(shown_model['bytes'])}",
                f"{100 * shown_model['bytes'] / base['bytes']:.1f} % of the base's {mb(base['bytes'])}"
                if chosen else None, "green" if chosen and shown_model["bytes"] < base["bytes"] else "off",
                delta_arrow="down" if chosen else "off", border=True,
                help="Bytes of the deployable export (model.onnx, tokenizer.json, words.zlib, manifest.json)."
                     + (f" The size limit: {summary['max_bytes']:,} bytes." if by_size else ""))
    judged = (f"The models that fit are ranked on dev: the base's dev accuracy is {shown_percent(base['dev_accuracy'])}."
              if by_size else f"Where the tolerance is judged: the base's dev accuracy is "
              f"{shown_percent(base['dev_accuracy'])}, the target {shown_percent(summary.get('target_dev_accuracy'))}.")
    c[1].metric("Dev accuracy", shown_percent(shown_model["dev_accuracy"]),
                delta(shown_model["dev_accuracy"], base["dev_accuracy"]) if chosen else None, border=True,
                help=judged)
    c[2].metric("Test accuracy", shown_percent(shown_model.get("test_accuracy")),
                delta(shown_model.get("test_accuracy"), base.get("test_accuracy")) if chosen else None, border=True,
                help=f"Measured once the search is over, for the base ({shown_percent(base.get('test_accuracy'))}) and the "
                     "chosen model only.")
    minutes = (summary.get("seconds") or 0) / 60
    state = {"finished": "search finished", "budget": "stopped at the time budget"}.get(summary.get("state"),
                                                                                           "search cut off")
    c[3].metric("Time", f"{minutes:.1f} min", f"{summary.get('trials', 0)} trials · {state}", "off",
                delta_arrow="off", border=True)
    st.caption(f"Base: the uncompressed {model_name(job['model'])} trained on your data, "
               f"{mb(base['bytes'])}, dev {shown_percent(base['dev_accuracy'])}, test "
               f"{shown_percent(base.get('test_accuracy'))}." + (f" Chosen: {chosen['label']} at R = {chosen['R']}."
                                                             if chosen else ""))
    for warning in summary.get("warnings") or []:
        st.warning(shown(str(warning), job), icon=":material/warning:")


def draw_job(job):
    with st.container(border=True):
        st.markdown(f"**{job['name']}** · {model_name(job['model'])} · {jobs.question(job)} · "
                    f"{job['budget_minutes']:g} min{' · quick' if job['quick'] else ''} — "
                    f"{STATUS.get(job['status'], job['status'])}")
        if job.get("renamed"):
            renamed = ui.public(job["renamed"])
            st.caption(renamed[:1].upper() + renamed[1:] + ".")
        started = job.get("started") or job["created"]
        elapsed = (job.get("finished") or time.time()) - started
        st.progress(jobs.shown_progress(job), text=f"{elapsed / 60:.1f} min · job {job['id']}")
        if job["status"] == "running" and st.button("Stop", key=f"stop_{job['id']}", icon=":material/stop:",
                                                    help="End it now; Resume later goes on from its finished trials."):
            if jobs.stop(job["id"]):
                st.toast(f"Stopping {job['id']}")
        if job["status"] == "failed":
            st.error(shown(job["error"] or "failed", job), icon=":material/error:")
            if st.button("Resume", key=f"resume_{job['id']}", help="Run it again; finished trials are kept."):
                jobs.start(job["id"])
                st.rerun()
        if job["status"] == "done":
            summary = summary_of(job)
            if summary:
                draw_result(job, summary)
            if st.button(f"Open {job['name']} on the home page", key=f"open_{job['id']}", type="primary",
                         on_click=open_on_home,
                         args=(job["name"], job["model"], jobs.home_tolerance(job, summary))):
                # query_params={}: without it, switch_page clears the URL's parameters and refuses
                # to clear the ones the sidebar's selectors are bound to; the selectors put theirs
                # back from the session's choice on the next run.
                st.switch_page(HOME, query_params={})
        with st.expander("Log", expanded=job["status"] in jobs.ACTIVE):
            st.code(shown(jobs.log_tail(job), job) or "(nothing yet)", language=None, wrap_lines=True)


all_jobs = jobs.list_jobs()  # marks failed a job whose process is gone
active = {j["id"] for j in all_jobs if j["status"] in jobs.ACTIVE}


@st.fragment(run_every=REFRESH_SECONDS if active else None)
def job_list():
    current = jobs.list_jobs()
    if {j["id"] for j in current if j["status"] in jobs.ACTIVE} != active:
        st.rerun()  # a job ended (or started): the whole page, so the sidebar lists a new dataset
    if not current:
        st.caption("No jobs yet.")
    for job in current:
        draw_job(job)


st.markdown("#### Jobs")
job_list()
