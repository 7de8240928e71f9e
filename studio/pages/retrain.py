"""Retrain live: compress the uncompressed model at R and retrain it in front of the user (Figure 3).

A thin view over studio.live.LiveJob. Start launches a job (a worker process; at most
studio.live.MAX_LIVE_JOBS in the whole app) kept in this session's st.session_state; a fragment polls
its snapshot every POLL_SECONDS and redraws one chart (same key) in place, with a progress bar and
the one Stop button. When the job finishes the fragment reruns the whole page, which shows the
results, the download and the session's earlier runs on the same chart. Nothing trains in the
app's process at all, so a rerun (any widget, a reload) never interrupts or slows a run.

Dev accuracy, live and reference lines alike, is measured on the full dev set (the one the sweep
evaluated on): the reference lines are the run's own starting model and its deployable 8/16-bit
exports, as results.csv has them.
"""
import streamlit as st

from lmf import layout, results as lmf_results
from studio import live as lmf_live
from studio.charts import retrain_figure
from lmf.layout import ArtifactError
from lmf.selection import seed_row
from studio import ui

POLL_SECONDS = 0.3  # the chart redraws about 3 times a second while a job runs
KEEP_RUNS = 4  # finished runs kept per session for comparison (each holds its small model)
STEP_BUDGETS = [20, 50, 100, 200, 300, 500, 1000]

st.title("Retrain live")
st.caption("The online step of the paper: factorize the trained model's embedding with a truncated SVD, then keep "
           "training the smaller model so it recovers the accuracy the SVD lost.")
ui.quick_notice()

dataset, model = ui.selected()
results = ui.cached_results_quiet()
summary = lmf_results.summary_for(results, dataset, model) if results is not None else None

c1, c2, c3 = st.columns(3)
reduction = c1.slider("Reduction R (%)", 1, 98, lmf_live.DEFAULT_REDUCTION, key="live_reduction")
steps = c2.select_slider("Step budget (mini-batches)", STEP_BUDGETS, value=lmf_live.DEFAULT_STEPS, key="live_steps")
schedule = c3.radio("Schedule", ["calr", "clr", "adagrad"], horizontal=True, key="live_schedule",
                    format_func={"calr": "CALR", "clr": "CLR", "adagrad": "AdaGrad (constant)"}.get)

try:
    base = ui.saved(dataset, model)
except ArtifactError as e:
    ui.show_error(e)
    st.stop()
data = ui.eval_data(dataset, model)
curve = ui.precomputed_curve(dataset, model, reduction)


def reference_lines():
    """Dev accuracy (%) of the seed-0 uncompressed model the run starts from and of its deployable
    16-bit and 8-bit exports, from results.csv: the sweep measured them on the full dev set, the
    one the live curve is measured on."""
    refs = {}
    for method, name in (("uncompressed", "uncompressed"), ("quant16", "16-bit"), ("quant8", "8-bit")):
        row = seed_row(results or [], dataset, model, method)
        if row is not None and row["dev_accuracy"] is not None:
            refs[name] = 100 * row["dev_accuracy"]
    return refs


def run_label(snap):
    s = snap["settings"]
    after = f": {100 * snap['test']:.1f} % test" if snap["test"] is not None else ""
    return f"R={s['reduction']}%, {s['schedule'].upper()}, {snap['step']} steps{after}"


# This session's jobs, newest last: [(dataset, model, LiveJob)]. A job outlives reruns and page
# switches; a browser reload starts a new session and loses it (the thread finishes on its own).
jobs = st.session_state.setdefault("live_jobs", [])
mine = [job for d, m, job in jobs if (d, m) == (dataset, model)]
job = mine[-1] if mine else None
earlier = [j for j in mine[:-1] if j.finished and j.status != lmf_live.FAILED][-(KEEP_RUNS - 1):]

if data is None:
    st.warning("The dataset is not available here (set `LMF_DATA_DIR` to the data folder, or install `datasets` for "
               "the Hugging Face Hub), so nothing can be retrained. The precomputed curve is shown instead.",
               icon=":material/replay:")
    if curve is None:
        ui.show_error(layout.missing(f"the curve `curves/{layout.curve_path('.', dataset, model, reduction).name}` "
                                     "is missing", ui.art_dir()))
        st.stop()
    st.vega_lite_chart(retrain_figure([], [(r["step"], r["lr"]) for r in curve], curve[-1]["step"], reference_lines(),
                                      curve), key="live_chart", width="stretch")
    st.stop()


def start():
    try:
        new = lmf_live.start_job(base, data, reduction, steps, schedule=schedule)
    except lmf_live.Busy:
        st.session_state["live_busy"] = True
        return
    jobs.append((dataset, model, new))
    del jobs[:-KEEP_RUNS * 4]  # bound the memory a long session holds (models included)


running = job is not None and not job.finished
st.button("Start retraining", type="primary", key="live_start", on_click=start, disabled=running,
          help="Compresses the uncompressed model at R and retrains it in the background.")
if st.session_state.pop("live_busy", False):
    st.warning(f"The app is busy: {lmf_live.MAX_LIVE_JOBS} live retrainings are running. Try again in a moment.",
               icon=":material/hourglass:")

refs = reference_lines()
earlier_runs = [(run_label(j.snapshot()), j.snapshot()["history"]) for j in earlier]


@st.fragment(run_every=POLL_SECONDS if running else None)
def live_view():
    """The chart, the progress bar and Stop; reruns alone every POLL_SECONDS while the job runs."""
    snap = job.snapshot() if job else None
    total = snap["total"] if snap else steps
    shown_curve = curve if snap is None or snap["settings"]["reduction"] == reduction else None
    st.vega_lite_chart(retrain_figure(snap["history"] if snap else [], snap["lrs"] if snap else [], total, refs,
                                   shown_curve, earlier_runs), key="live_chart", width="stretch")
    if snap is None:
        st.info("Press **Start retraining**. The gray dashed line is the sweep's curve for this R (if it retrained "
                "at it); dotted lines are the uncompressed, 16-bit and 8-bit models' dev accuracies.")
        return
    if not snap["status"] in lmf_live.FINISHED:
        st.progress(min(1.0, snap["step"] / total), text=f"step {snap['step']} / {total}"
                    + (f" — loss {snap['losses'][-1][1]:.3f}" if snap["losses"] else
                       " — starting the worker…" if snap["status"] == lmf_live.QUEUED else " — compressing (SVD)…"))
        st.button("Stop", key="live_stop", on_click=job.stop, help="Stops after the current mini-batch; the best "
                  "model so far is kept.")
    elif running:
        st.rerun()  # the job just finished: redraw the whole page (results, download, Start enabled)


live_view()

if job is not None:
    snap = job.snapshot()
    s = snap["settings"]
    if snap["status"] == lmf_live.FAILED:
        st.error(f"The retraining failed: {snap['error']}", icon=":material/error:")
    m = st.columns(4)
    if snap["before"] is not None:
        m[0].metric("Right after SVD (test)", f"{100 * snap['before']:.2f} %", f"rank k = {snap['rank']}",
                    delta_color="off", delta_arrow="off")
    if snap["status"] in (lmf_live.DONE, lmf_live.STOPPED):
        m[1].metric("After retraining (test)", f"{100 * snap['test']:.2f} %",
                    f"{100 * (snap['test'] - snap['before']):+.2f} pts",
                    help=f"Best-on-dev weights, step {snap['best_step']}.")
        m[2].metric("Size on disk", f"{snap['size'] / 1e6:.2f} MB")
        pre = lmf_results.find(summary, "lmf", s["reduction"]) if summary is not None else None
        if pre is not None:
            m[3].metric("Precomputed (sweep)", f"{pre['accuracy']:.2f} %", "full retraining budget",
                        delta_color="off", delta_arrow="off")
        if snap["status"] == lmf_live.STOPPED:
            st.warning(f"Stopped at step {snap['step']} of {snap['total']}.", icon=":material/stop_circle:")
        else:
            st.success(f"Retrained {snap['step']} steps in {snap['seconds']:.1f} s "
                       f"({snap['step'] / max(snap['seconds'], 1e-9):.0f} steps/s).", icon=":material/check_circle:")
        name = f"{dataset}-{model}-lmf-R{s['reduction']}-live"
        # A callable: the model is saved and zipped only when the button is pressed, not on every rerun.
        st.download_button("Download the retrained model (ONNX export, fp32, zip)", lambda: job.zip(name), file_name=f"{name}.zip",
                           mime="application/zip", key="live_download", icon=":material/download:")
    kept = [j.snapshot() for j in earlier] + [snap]
    if len(kept) > 1:
        st.dataframe([{"run": i + 1, "R (%)": k["settings"]["reduction"], "schedule": k["settings"]["schedule"].upper(),
                       "steps": k["step"], "after SVD (%)": None if k["before"] is None else 100 * k["before"],
                       "after retraining (%)": None if k["test"] is None else 100 * k["test"],
                       "size (MB)": None if k["size"] is None else k["size"] / 1e6}
                      for i, k in enumerate(kept)], hide_index=True, key="live_runs",
                     column_config={c: st.column_config.NumberColumn(format="%.2f")
                                    for c in ("after SVD (%)", "after retraining (%)", "size (MB)")})
    st.caption(f"Dev accuracy on the full dev set ({len(data.dev)} sentences) for the run, the reference lines "
               "(the seed-0 uncompressed model it starts from, and its quantizations) and the sweep's curve. "
               f"{s['schedule'].upper()} half-cycle: {s['step_size']} steps"
               + (f"; thin lines: this session's earlier runs ({len(earlier)})." if earlier else "."))
