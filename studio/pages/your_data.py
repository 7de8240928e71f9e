"""Your data: upload a labelled dataset, autotune a model on it in the background (studio.jobs), then
open it on the home page beside SST-2 and CLINC150.

The job runs in its own process and keeps its state in its folder (studio.jobs), so a reload, another
tab or a restarted server shows the same list; this page only draws it, refreshed every second by a
fragment while a job is active.
"""
import time

import streamlit as st

from studio import jobs
from lmf.data import DataError
from lmf.names import MODELS, model_name
from studio import ui

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
            jobs.start(job_id)
            st.toast(f"Started {job_id}")


def open_on_home(dataset, arch):
    st.session_state.update(dataset=dataset, model=arch)


def draw_job(job):
    with st.container(border=True):
        st.markdown(f"**{job['name']}** · {model_name(job['model'])} · at most {job['max_drop']:g} points below "
                    f"the base · {job['budget_minutes']:g} min{' · quick' if job['quick'] else ''} — "
                    f"{STATUS.get(job['status'], job['status'])}")
        started = job.get("started") or job["created"]
        elapsed = (job.get("finished") or time.time()) - started
        st.progress(jobs.shown_progress(job), text=f"{elapsed / 60:.1f} min · job {job['id']}")
        if job["status"] == "failed":
            st.error(ui.public(job["error"] or "failed"), icon=":material/error:")
            if st.button("Resume", key=f"resume_{job['id']}", help="Run it again; finished trials are kept."):
                jobs.start(job["id"])
                st.rerun()
        if job["status"] == "done":
            if st.button(f"Open {job['name']} on the home page", key=f"open_{job['id']}", type="primary",
                         on_click=open_on_home, args=(job["name"], job["model"])):
                st.switch_page(HOME)
            summary = jobs.summary_md(job)
            if summary:
                st.markdown(summary)
        with st.expander("Log", expanded=job["status"] in jobs.ACTIVE):
            st.code(jobs.log_tail(job) or "(nothing yet)", language=None)


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
