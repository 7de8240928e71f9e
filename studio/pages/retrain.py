"""Retrain live: compress the uncompressed model at R and retrain it in front of the user (Figure 3)."""
import time

import streamlit as st

from lmf import grid, layout, live as lmf_live, results as lmf_results
from lmf.charts import retrain_figure
from lmf.compress import compress_model
from lmf.layout import ArtifactError
from lmf.metrics import accuracy
from lmf.selection import saved_size
from lmf.train import train
from studio import ui

FAST_STEPS, FAST_DEV = 8, 100
REDRAW_SECONDS = 0.4

st.title("Retrain live")
st.caption("The online step of the paper: factorize the trained model's embedding with a truncated SVD, then keep "
           "training the smaller model so it recovers the accuracy the SVD lost.")
ui.quick_notice()

dataset, model = ui.selected()
results = ui.cached_results_quiet()
summary = lmf_results.summary_for(results, dataset, model) if results is not None else None

c1, c2, c3 = st.columns(3)
reduction = c1.slider("Reduction R (%)", 1, 98, st.session_state.get("chosen_reduction") or 90,
                      key="live_reduction")
steps = c2.select_slider("Step budget (mini-batches)", [20, 50, 100, 200, 300, 500, 1000], value=200, key="live_steps")
schedule = c3.radio("Schedule", ["calr", "clr", "adagrad"], horizontal=True, key="live_schedule",
                    format_func={"calr": "CALR", "clr": "CLR", "adagrad": "AdaGrad (constant)"}.get)
fast = st.toggle(f"Fast mode ({FAST_STEPS} steps, {FAST_DEV} dev sentences) — for a quick look and for tests",
                 key="live_fast")
if fast:
    steps = FAST_STEPS
dev_size = FAST_DEV if fast else (None if model == "dan" else 300)

try:
    base = ui.saved(dataset, model)
except ArtifactError as e:
    ui.show_error(e)
    st.stop()
data = ui.eval_data(dataset, model)
curve = ui.precomputed_curve(dataset, model, reduction)


def reference_lines():
    """Dev accuracy (%) of the uncompressed and quantized models from results.csv."""
    if summary is None:
        return {}
    refs = {}
    for method, name in (("uncompressed", "uncompressed"), ("quant16", "16-bit"), ("quant8", "8-bit")):
        row = lmf_results.find(summary, method)
        if row is not None and row["dev_accuracy"] is not None:
            refs[name] = row["dev_accuracy"]
    return refs


def figure(history, lrs, total):
    return retrain_figure(history, lrs, max(total, curve[-1]["step"] if curve else 0), reference_lines(), curve)


start_col, stop_col = st.columns([1, 5])
start = start_col.button("Start retraining", type="primary", key="live_start")
stop_col.button("Stop", key="live_stop", help="Stops the run; the curve so far stays on the page.")

live = st.session_state.get("live")
if live and live["status"] == "running" and not start:
    # The script was interrupted mid-run: the Stop button (or any other widget) started a new run.
    live["status"] = "stopped"

if data is None:
    st.warning("The dataset is not available here (set `LMF_DATA_DIR` to the data folder, or install `datasets` for "
               "the Hugging Face Hub), so nothing can be retrained. Replaying the precomputed curve instead.", icon=":material/replay:")
    if curve is None:
        ui.show_error(layout.missing(f"the curve `curves/{layout.curve_path('.', dataset, model, reduction).name}` "
                                     "is missing", ui.art_dir()))
        st.stop()
    holder = st.empty()
    rows = curve
    total = int(curve[-1]["step"])
    for i in range(1, len(rows) + 1) if start else [len(rows)]:
        hist = [{"step": r["step"], "dev_accuracy": r["dev_accuracy"]} for r in rows[:i]]
        holder.plotly_chart(figure(hist, [(r["step"], r["lr"]) for r in rows[:i]], total), key=f"replay-{i}")
        if start:
            time.sleep(0.1)
    st.stop()

chart = st.empty()
status = st.empty()

if start:
    # compress_model returns a new model: the cached uncompressed model is never touched.
    compressed = compress_model(base.model, reduction)
    before = accuracy(compressed, data, "test")
    live = st.session_state["live"] = {
        "settings": dict(dataset=dataset, model=model, reduction=reduction, steps=steps, schedule=schedule),
        "rank": compressed.config["rank"], "before": before, "history": [], "lrs": [], "status": "running",
        "dev_size": dev_size or len(data.dev)}
    train_data = lmf_live.dev_subset(data, dev_size)
    config = lmf_live.live_config(model, steps, schedule, eval_every=1 if fast else None)
    throttle = lmf_live.Throttle(REDRAW_SECONDS)
    status.info(f"Right after the SVD (k = {live['rank']}): **{100 * before:.2f} %** test accuracy. Retraining…")
    progress = st.progress(0.0, text="step 0")
    draws = [0]

    def redraw(force=False):
        if throttle.ready(force):
            draws[0] += 1
            chart.plotly_chart(figure(live["history"], live["lrs"], steps), key=f"live-{draws[0]}")

    def on_step(step, loss, lr):
        live["lrs"].append((step, lr))
        progress.progress(min(1.0, step / steps), text=f"step {step} / {steps} — loss {loss:.3f}")
        redraw()

    def on_eval(record):
        live["history"].append({"step": record["step"], "dev_accuracy": record["dev_accuracy"]})
        redraw(force=record["step"] == 0)

    result = train(compressed, train_data, config, on_step=on_step, on_eval=on_eval, progress=False)
    redraw(force=True)
    live.update(status="done", test=accuracy(result.model, data, "test"), size=saved_size(result.model, base.vocab,
                base.label_names), best_step=result.best_step, seconds=result.seconds, max_gap=throttle.max_gap)
    progress.progress(1.0, text=f"done: {result.steps} steps in {result.seconds:.1f} s")

if live and live["settings"] == dict(dataset=dataset, model=model, reduction=reduction, steps=steps, schedule=schedule):
    if not start:
        chart.plotly_chart(figure(live["history"], live["lrs"], steps), key="live-final")
    m = st.columns(4)
    m[0].metric("Right after SVD", f"{100 * live['before']:.2f} %", f"rank k = {live['rank']}", delta_color="off", delta_arrow="off")
    if live["status"] == "done":
        m[1].metric("After retraining (test)", f"{100 * live['test']:.2f} %",
                    f"{100 * (live['test'] - live['before']):+.2f} pts", help=f"Best-on-dev weights, step {live['best_step']}.")
        m[2].metric("Size on disk", f"{live['size'] / 1e6:.2f} MB")
        pre = lmf_results.find(summary, "lmf", reduction) if summary is not None else None
        if pre is not None:
            m[3].metric("Precomputed (sweep)", f"{pre['accuracy']:.2f} %", "full retraining budget", delta_color="off", delta_arrow="off")
        status.success(f"Retrained in {live['seconds']:.1f} s; the chart redrew at most "
                       f"{live['max_gap']:.2f} s apart.", icon=":material/check_circle:")
    else:
        done = live["history"][-1]["step"] if live["history"] else 0
        status.warning(f"Stopped at step {done} of {live['settings']['steps']}: the curve so far is shown.", icon=":material/stop_circle:")
    st.caption(f"Dev accuracy on {live['dev_size']} dev sentences"
               + (" (a subset, so each evaluation is quick)" if dev_size else "")
               + "; reference lines are the full-dev accuracies of the precomputed models.")
else:
    chart.plotly_chart(figure([], [], steps), key="live-empty")
    status.info("Press **Start retraining**. The gray dashed line is the precomputed curve for this R (if the sweep "
                "retrained at it); dotted lines are the uncompressed, 16-bit and 8-bit models' dev accuracies.")
