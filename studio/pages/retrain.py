"""Retrain live: compress the uncompressed model at R and retrain it in front of the user (Figure 3).

A thin view over studio.live.LiveJob. It opens on a case where the story shows: on a session's
first visit, while the sidebar still holds the app's default choice (SST-2's DAN, whose SVD costs
less than the dev set's noise at any R), it switches to studio.live.story_case, the shipped pair
and R where the SVD costs the most and retraining wins the most back, measured from results.csv;
every pair's R starts at its own such R. The chart always shows the story's three levels: the
uncompressed model, right after the SVD, and the live curve between them, on an axis that takes
in all three (and spans at least a few standard errors of the dev set, so noise is not drawn large),
with one sentence of what happened (studio.live.story_sentence), or that the SVD cost less than
the dev set's noise.

Start launches a job (a worker process; at most studio.live.MAX_LIVE_JOBS in the whole app) kept
in this session's st.session_state and named in the URL (?run=<id>), so a reload finds it again
(studio.live.find_job). A fragment polls its snapshot every POLL_SECONDS and redraws one chart
(same key) in place, with a progress bar and the one Stop button; every poll tells the job that
its page still watches (LiveJob.seen): a job whose page went away stops after
studio.live.ABANDON_SECONDS and frees its slot. When the job finishes the fragment reruns the
whole page, which shows the results, the download and the session's earlier runs on the same
chart. Nothing trains in the app's process at all, so a rerun never interrupts or slows a run.

Dev accuracy, live and reference lines alike, is measured on the full dev set (the one the sweep
evaluated on): the reference lines are the run's own starting model and its deployable 8/16-bit
exports, as results.csv has them.
"""
import streamlit as st

from lmf import layout, results as lmf_results
from lmf.layout import ArtifactError
from lmf.names import DEFAULT_DATASET, DEFAULT_MODEL
from lmf.selection import seed_row
from studio import live as lmf_live
from lmf.units import in_percent, mb, megabytes, percent, points
from studio import ui
from studio.charts import retrain_figure

POLL_SECONDS = 0.3  # the chart redraws about 3 times a second while a job runs
KEEP_RUNS = 4  # finished runs kept per session for comparison (each holds its small model)
STEP_BUDGETS = [20, 50, 100, 200, 300, 500, 1000]
SPAN_ERRORS = 3 * lmf_live.NOISE_FACTOR  # the accuracy axis spans at least this many standard errors

st.title("Retrain live")
st.caption("The online step of the paper: factorize the trained model's embedding with a truncated SVD, then keep "
           "training the smaller model so it recovers the accuracy the SVD lost.")
ui.quick_notice()

dataset, model = ui.selected()
results = ui.cached_results_quiet()
rows = results or []


def shipped_pairs():
    """(dataset, model) pairs of results.csv whose uncompressed model is shipped (what a run starts from)."""
    out = []
    for pair in lmf_results.pairs(rows):
        try:
            if layout.model_path(ui.art_dir(), *pair).is_dir():
                out.append(pair)
        except ArtifactError:  # a folder that cannot be served: not a case to open on
            pass
    return out


jobs = st.session_state.setdefault("live_jobs", [])  # this session's jobs, newest last: [(dataset, model, LiveJob)]
run_id = st.query_params.get("run")
if run_id and not any(job.id == run_id for _, _, job in jobs):
    found = lmf_live.find_job(run_id)  # a reload: the run goes on, and this page shows it again
    if found is not None:
        pair = (found.data.name, found.saved.config["arch"])
        jobs.append((*pair, found))
        st.session_state["live_opened"] = True  # the run is what this visit is about, not the story
        if pair != (dataset, model):
            ui.select(*pair)
            st.rerun()

if not st.session_state.get("live_opened"):
    st.session_state["live_opened"] = True
    if (dataset, model) == (DEFAULT_DATASET, DEFAULT_MODEL) and not jobs:
        case = lmf_live.story_case(rows, shipped_pairs())
        if case is not None and case[:2] != (dataset, model):
            st.session_state["live_story"] = case
            ui.select(*case[:2])
            st.rerun()
story = st.session_state.get("live_story")
if story is not None and story[:2] == (dataset, model):
    st.caption(f":material/auto_stories: Opened on **{ui.dataset_name(dataset)} · {ui.model_name(model)} at R = "
               f"{story[2]} %**, where the SVD costs the most and retraining wins the most back ({story[3]:.1f} test "
               "points in the sweep's full runs, results.csv). Choose another in the sidebar.")

own_case = lmf_live.story_case(rows, [(dataset, model)])
c1, c2, c3, c4 = st.columns([3, 3, 3, 2], vertical_alignment="bottom")
# Keyed by the pair: each data set and model starts at its own R where the story shows most.
reduction = c1.slider("Reduction R (%)", 1, 98, own_case[2] if own_case else lmf_live.DEFAULT_REDUCTION,
                      key=f"live_reduction_{dataset}_{model}", help=ui.terms("R"))
steps = c2.select_slider("Step budget (mini-batches)", STEP_BUDGETS, value=lmf_live.DEFAULT_STEPS, key="live_steps")
schedule = c3.radio("Schedule", ["calr", "clr", "adagrad"], horizontal=True, key="live_schedule",
                    format_func={"calr": "CALR", "clr": "CLR", "adagrad": "AdaGrad (constant)"}.get)

if ui.not_shipped(dataset, model):  # nothing broken, nothing to regenerate: the sweep ships them so
    st.info(ui.not_shipped_note(dataset, model, "there is no model to retrain here"), icon=":material/cloud_off:")
    st.stop()
try:
    base = ui.saved(dataset, model)
except ArtifactError as e:
    ui.show_error(e)
    st.stop()
with st.spinner("Loading the data set (the first time takes a while)…"):
    data = ui.eval_data(dataset, model)
curve = ui.precomputed_curve(dataset, model, reduction)
base_row = seed_row(rows, dataset, model)
base_dev = base_row["dev_accuracy"] if base_row is not None else None


def reference_lines():
    """Dev accuracy (%) of the seed-0 uncompressed model the run starts from and of its deployable
    16-bit and 8-bit exports, from results.csv: the sweep measured them on the full dev set, the
    one the live curve is measured on."""
    refs = {}
    for method, name in (("uncompressed", "uncompressed"), ("quant16", "16-bit"), ("quant8", "8-bit")):
        row = seed_row(rows, dataset, model, method)
        if row is not None and row["dev_accuracy"] is not None:
            refs[name] = in_percent(row["dev_accuracy"])
    return refs


def run_label(snap):
    s = snap["settings"]
    after = f": {percent(snap['test'], 1)} test" if snap["test"] is not None else ""
    return f"R={s['reduction']}%, {s['schedule'].upper()}, {snap['step']} steps{after}"


def sweep_start(rows_of_curve):
    """The sweep curve's dev accuracy right after the SVD (its step 0), in %, or None."""
    return in_percent(rows_of_curve[0]["dev_accuracy"]) if rows_of_curve and rows_of_curve[0]["step"] == 0 else None


def min_span(n_dev):
    noise = lmf_live.dev_noise_points(base_dev, n_dev) if base_dev is not None else None
    return SPAN_ERRORS * noise if noise else 0.0


refs = reference_lines()

if data is None:
    st.warning("The dataset is not available here (set `LMF_DATA_DIR` to the data folder, or install `datasets` for "
               "the Hugging Face Hub), so nothing can be retrained. The precomputed curve is shown instead.",
               icon=":material/replay:")
    if curve is None:
        ui.show_error(layout.missing(f"the curve `curves/{layout.curve_path('.', dataset, model, reduction).name}` "
                                     "is missing", ui.art_dir()))
        st.stop()
    st.vega_lite_chart(retrain_figure([], [(r["step"], r["lr"]) for r in curve], curve[-1]["step"], refs, curve,
                                      after_svd=sweep_start(curve)), key="live_chart", width="stretch")
    st.stop()

mine = [job for d, m, job in jobs if (d, m) == (dataset, model)]
job = mine[-1] if mine else None
earlier = [j for j in mine[:-1] if j.finished and j.status != lmf_live.FAILED][-(KEEP_RUNS - 1):]
if job is not None:
    job.seen()
    if st.query_params.get("run") != job.id:
        st.query_params["run"] = job.id  # a reload of this page finds the run again
elif "run" in st.query_params:
    del st.query_params["run"]


def start():
    try:
        new = lmf_live.start_job(base, data, reduction, steps, schedule=schedule)
    except lmf_live.Busy:
        st.session_state["live_busy"] = True
        return
    jobs.append((dataset, model, new))
    del jobs[:-KEEP_RUNS * 4]  # bound the memory a long session holds (models included)


running = job is not None and not job.finished
c4.button("Start retraining", type="primary", key="live_start", on_click=start, disabled=running,
          help="Compresses the uncompressed model at R and retrains it in the background.")
if st.session_state.pop("live_busy", False):
    st.warning(f"The app is busy: {lmf_live.running_jobs()} live retrainings are running (at most "
               f"{lmf_live.MAX_LIVE_JOBS}). Try again in a moment.", icon=":material/hourglass:")

earlier_runs = [(run_label(j.snapshot()), j.snapshot()["history"]) for j in earlier]
span = min_span(len(data.dev))


@st.fragment(run_every=POLL_SECONDS if running else None)
def live_view():
    """The chart, the sentence, the progress bar and Stop; reruns alone every POLL_SECONDS while
    the job runs, telling the job its page still watches."""
    snap = None
    if job is not None:
        job.seen()
        snap = job.snapshot()
    total = snap["total"] if snap else steps
    shown_curve = curve if snap is None or snap["settings"]["reduction"] == reduction else None
    history = snap["history"] if snap else []
    after_svd = in_percent(history[0][1]) if history else sweep_start(shown_curve)
    st.vega_lite_chart(retrain_figure(history, snap["lrs"] if snap else [], total, refs, shown_curve, earlier_runs,
                                      after_svd=after_svd, min_span=span), key="live_chart", width="stretch")
    if snap is not None:
        said = lmf_live.story_sentence(base_dev, history, snap["step"], snap["settings"]["schedule"], len(data.dev),
                                       finished=snap["status"] in lmf_live.FINISHED)
    elif shown_curve:
        budget = [(r["step"], r["dev_accuracy"]) for r in shown_curve if r["step"] <= steps]
        said = lmf_live.story_sentence(base_dev, budget, budget[-1][0] if budget else 0, "calr", len(data.dev),
                                       finished=True)
        said = said and f"The sweep's run at this R: {said[0].lower()}{said[1:]}"
    else:
        said = None
    if said:
        st.markdown(f"**{said}**")
    if snap is None:
        st.caption("Press **Start retraining**. Dotted lines: the uncompressed, 16-bit and 8-bit models' dev "
                   "accuracies; dashed: right after the SVD, and the sweep's curve for this R (if it retrained at it).")
        return
    if snap["status"] not in lmf_live.FINISHED:
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
        st.error(f"The retraining failed: {ui.public(snap['error'] or '')}", icon=":material/error:")
    m = st.columns(4)
    if snap["before"] is not None:
        m[0].metric("Right after SVD (test)", percent(snap['before']), f"rank k = {snap['rank']}",
                    delta_color="off", delta_arrow="off", help=ui.terms("rank k"))
    if snap["status"] in (lmf_live.DONE, lmf_live.STOPPED):
        m[1].metric("After retraining (test)", percent(snap['test']),
                    points(snap['test'] - snap['before']),
                    help=f"Best-on-dev weights, step {snap['best_step']}.")
        m[2].metric("Size on disk", f"{mb(snap['size'])}")
        pre = seed_row(rows, dataset, model, "lmf", 0, s["reduction"])
        if pre is not None:
            m[3].metric("Precomputed (sweep)", percent(pre['accuracy']), "full retraining budget",
                        delta_color="off", delta_arrow="off", help="Seed 0's model, test accuracy.")
        if snap["abandoned"]:
            st.warning(f"Stopped at step {snap['step']} of {snap['total']}: its page was left, so the run gave its "
                       "place to the next visitor. The best model so far is kept.", icon=":material/stop_circle:")
        elif snap["status"] == lmf_live.STOPPED:
            st.warning(f"Stopped at step {snap['step']} of {snap['total']}.", icon=":material/stop_circle:")
        else:
            st.success(f"Retrained {snap['step']} steps in {snap['seconds']:.1f} s "
                       f"({snap['step'] / max(snap['seconds'], 1e-9):.0f} steps/s).", icon=":material/check_circle:")
        name = f"{dataset}-{model}-lmf-R{s['reduction']}-live"
        # A callable: the model is saved and zipped only when the button is pressed, not on every rerun.
        st.download_button("Download the retrained model (ONNX export, fp32, zip)", lambda: job.zip(name),
                           file_name=f"{name}.zip", mime="application/zip", key="live_download",
                           icon=":material/download:")
    kept = [j.snapshot() for j in earlier] + [snap]
    if len(kept) > 1:
        st.dataframe([{"run": i + 1, "R (%)": k["settings"]["reduction"], "schedule": k["settings"]["schedule"].upper(),
                       "steps": k["step"], "after SVD (%)": in_percent(k["before"]),
                       "after retraining (%)": in_percent(k["test"]),
                       "size (MB)": None if k["size"] is None else megabytes(k["size"])}
                      for i, k in enumerate(kept)], hide_index=True, key="live_runs",
                     column_config={c: st.column_config.NumberColumn(format="%.2f")
                                    for c in ("after SVD (%)", "after retraining (%)", "size (MB)")})
    st.caption(f"Dev accuracy on the full dev set ({len(data.dev)} sentences) for the run, the reference lines "
               "(the seed-0 uncompressed model it starts from, and its quantizations) and the sweep's curve. "
               f"{s['schedule'].upper()} half-cycle: {s['step_size']} steps"
               + (f"; thin lines: this session's earlier runs ({len(earlier)})." if earlier else "."))
