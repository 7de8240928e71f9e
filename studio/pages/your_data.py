"""Your data: upload a labelled dataset, autotune a model on it in the background (studio.jobs), then
open it on the home page beside SST-2 and CLINC150, at the job's own tolerance: the home page judges
it on dev as autotune does (lmf.selection.recommend), so it recommends and serves the job's model.

The job runs in its own process and keeps its state in its folder (studio.jobs), so a reload, another
tab or a restarted server shows the same list; this page only draws it, refreshed every second by a
fragment while a job is active. A finished job is shown as cards built from its summary (autotune's
summary.json: base, chosen, bytes, accuracy, time, warnings); no server path reaches the page (the
job folder and the server's folders are cut from its log and errors), and the log's lines wrap.
"""
import time
from pathlib import Path

import streamlit as st

from lmf.units import mb, percent, points
from lmf.data import DataError
from lmf.layout import read_json
from lmf.names import MODELS, model_name
from studio import jobs, ui

HOME = "studio/pages/home.py"
REFRESH_SECONDS = 1.0
STATUS = {"queued": ":gray[queued]", "running": ":blue[running]", "done": ":green[done]", "failed": ":red[failed]"}

st.title("Your data")
st.caption("Upload a labelled text dataset and autotune finds the smallest model within your accuracy tolerance: "
           "it trains the uncompressed model, searches the compression methods and R, and adds the base and the "
           "chosen model to the studio, where the home page compares them.")

one_file = st.radio("Files", ["train, dev and test", "one file, split 80/10/10"], horizontal=True,
                    key="your_data_mode") != "train, dev and test"
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
    model = model_col.radio("Model", MODELS, format_func=model_name, horizontal=True, key="your_data_model")
    drop_col, budget_col = st.columns(2)
    max_drop = drop_col.number_input("Tolerance: largest accuracy drop allowed (points, on dev)", 0.0, 50.0, 1.0, 0.1,
                                     key="your_data_drop")
    budget = budget_col.number_input("Time budget (minutes)", 0.5, 24 * 60.0, 30.0, 0.5, key="your_data_budget",
                                     help="No trial starts after it; the job ends within it plus one trial.")
    quick = st.toggle("Quick run: tiny data and a few training steps, to try the page (the numbers mean little)",
                      key="your_data_quick")
    submitted = st.form_submit_button("Start autotune", type="primary")

if submitted:
    missing = [split for split, upload in uploads.items() if upload is None]
    if missing:
        st.error(f"Upload the {', '.join(missing)} file{'s' if len(missing) > 1 else ''} first.",
                 icon=":material/upload_file:")
    else:
        try:
            job_id = jobs.create_job({s: (u.name, u.getvalue()) for s, u in uploads.items()}, name.strip(), model,
                                     max_drop, budget, quick=quick, artifacts=ui.art_dir())
        except (DataError, ValueError) as e:  # the same messages as the command line: file and line
            st.error(ui.public(str(e)), icon=":material/error:")
        else:
            started = jobs.start(job_id)
            st.toast(f"Started {job_id}")
            if started.get("renamed"):
                st.info(ui.public(started["renamed"]), icon=":material/drive_file_rename_outline:")


def open_on_home(dataset, arch, tolerance):
    """The job's data set and model in the sidebar, and its tolerance on the home page's slider:
    the home page then recommends what the job chose (or the base, when the target was missed)."""
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
    if chosen is None:
        st.warning("No compressed model finished, so the target was not met: the base model is what the home page "
                   "serves.", icon=":material/warning:")
    elif summary.get("target_met"):
        st.success(f"**Target met: {chosen['label']} at R = {chosen['R']}**, the smallest model tried whose dev "
                   f"accuracy is within {summary['max_drop']:g} points of the base's.", icon=":material/check_circle:")
    else:
        st.warning(f"**Target not met**: no model tried came within {summary['max_drop']:g} points of the base on dev. "
                   f"The best one tried ({chosen['label']} at R = {chosen['R']}) is kept, but at this tolerance the "
                   "home page recommends the base.", icon=":material/warning:")
    shown_model = chosen or base
    c = st.columns(4)
    c[0].metric("Size", f"{mb(shown_model['bytes'])}",
                f"{100 * shown_model['bytes'] / base['bytes']:.1f} % of the base's {mb(base['bytes'])}"
                if chosen else None, "green" if chosen and shown_model["bytes"] < base["bytes"] else "off",
                delta_arrow="down" if chosen else "off", border=True,
                help="Bytes of the deployable export (model.onnx, tokenizer.json, manifest.json).")
    c[1].metric("Dev accuracy", shown_percent(shown_model["dev_accuracy"]),
                delta(shown_model["dev_accuracy"], base["dev_accuracy"]) if chosen else None, border=True,
                help=f"Where the tolerance is judged: the base's dev accuracy is {shown_percent(base['dev_accuracy'])}, the "
                     f"target {shown_percent(summary.get('target_dev_accuracy'))}.")
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
        st.markdown(f"**{job['name']}** · {model_name(job['model'])} · at most {job['max_drop']:g} points below "
                    f"the base · {job['budget_minutes']:g} min{' · quick' if job['quick'] else ''} — "
                    f"{STATUS.get(job['status'], job['status'])}")
        if job.get("renamed"):
            renamed = ui.public(job["renamed"])
            st.caption(renamed[:1].upper() + renamed[1:] + ".")
        started = job.get("started") or job["created"]
        elapsed = (job.get("finished") or time.time()) - started
        st.progress(jobs.shown_progress(job), text=f"{elapsed / 60:.1f} min · job {job['id']}")
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
                         on_click=open_on_home, args=(job["name"], job["model"], job["max_drop"])):
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
