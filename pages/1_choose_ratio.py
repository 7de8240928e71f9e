"""Home: pick a reduction R and see size, accuracy, latency and rank against every other method.

Everything here reads lmf.catalog alone (no torch, no pandas) and the metric cards come first, so
they show within seconds of the server's start; only an R off the shipped grid (SVD-only) or
artifacts without spectra.json load a model, and so torch. On a session's first run the charts
wait a moment (ui.draw_before_plotly) so the cards do not wait for the browser to load Plotly.
"""
import plotly.graph_objects as go
import streamlit as st

import ui
from lmf import catalog
from lmf.catalog import METHOD_NAMES, ArtifactError

st.title("Choose a compression ratio")
st.caption("Online LMF factorizes the embedding matrix with a truncated SVD and retrains the smaller model; "
           "the baselines quantize every weight to 8 or 16 bits, or train a smaller embedding from the start.")
ui.quick_notice()

results = ui.results()
if results is None:
    st.stop()
dataset, model = st.session_state.get("dataset", catalog.DEFAULT_DATASET), st.session_state.get("model", catalog.DEFAULT_MODEL)
summary = catalog.summary_for(results, dataset, model)
if not summary:
    st.warning(f"results.csv has no rows for {ui.dataset_name(dataset)} / {ui.model_name(model)}.")
    st.stop()
grid = catalog.grid_reductions(summary)
base = catalog.find(summary, "uncompressed")
if base is None:
    st.warning(f"results.csv has no uncompressed row for {ui.dataset_name(dataset)} / {ui.model_name(model)}.")
    st.stop()

reduction = st.slider("Reduction R of the embedding's parameters (%)", 0, catalog.MAX_REDUCTION,
                      value=catalog.DEFAULT_REDUCTION, step=1, key="reduction",
                      help="R = 1 - p: the fraction of the embedding's weights removed. R = 0 is the uncompressed model.")
st.session_state["chosen_reduction"] = reduction
st.caption(f"Retrained and measured at R = {', '.join(f'{r}%' for r in grid) or 'none'}; "
           "any other R is shown **SVD-only** (compressed, not retrained).")

selection = catalog.precomputed_selection(summary, reduction)
compressed = None
if selection is None:
    try:
        compressed, selection = ui.svd_only(dataset, model, reduction)
    except (ArtifactError, ValueError) as e:
        ui.show_error(e)
        st.stop()

st.subheader(selection.label)
if selection.kind == "svd_only":
    st.warning("**SVD-only, not retrained**: the uncompressed model's embedding factorized at this R, no retraining. "
               + ("Accuracy is measured on the test set now; latency was not measured."
                  if selection.accuracy is not None else
                  "The dataset is not available here (set LMF_DATA_DIR), so only size and rank are shown."), icon=":material/science:")

cols = st.columns(4, border=True)
base_size, base_acc = float(base["size_bytes"]), float(base["accuracy"])
cols[0].metric("Size on disk", f"{selection.size_bytes / 1e6:.2f} MB",
               f"{100 * selection.size_bytes / base_size:.0f}% of original", delta_color="off", delta_arrow="off",
               help="Bytes of the saved model directory: weights, vocabulary and config.")
if selection.accuracy is not None:
    cols[1].metric("Test accuracy", f"{selection.accuracy:.2f} %", f"{selection.accuracy - base_acc:+.2f} pts vs uncompressed",
                   help=f"Mean over {selection.seeds} seed(s)." if selection.seeds > 1 else None)
else:
    cols[1].metric("Test accuracy", "n/a", "dataset not available", delta_color="off", delta_arrow="off")
if selection.latency_ms is not None:
    cols[2].metric("Latency per sentence", f"{selection.latency_ms:.3f} ms", f"×{selection.latency_ratio:.2f} vs uncompressed",
                   delta_color="inverse", help="Median CPU time at batch size 1, one thread, measured by the sweep.")
else:
    cols[2].metric("Latency per sentence", "n/a", "not measured (SVD-only)", delta_color="off", delta_arrow="off")
config = ui.config(dataset, model) if selection.rank else None
embed_dim = config.get("embed_dim") if config else None  # a broken model's own error shows at the spectrum
cols[3].metric("Rank k", "full" if selection.rank is None else str(selection.rank),
               f"of d = {embed_dim}" if embed_dim else "no factorization", delta_color="off", delta_arrow="off",
               help="Eq. (5): k = floor(p m n / (m + n)) with p = 1 - R.")
if selection.accuracy_before_retrain is not None and selection.kind == "lmf":
    st.caption(f"Right after the SVD, before retraining: {selection.accuracy_before_retrain:.2f} % test accuracy.")

# ------------------------------------------------------------ size vs accuracy
ui.draw_before_plotly("home")
left, right = st.columns([3, 2])
with left:
    st.markdown("#### Size vs accuracy, every method")
    fig = go.Figure()
    styles = {"lmf": ("circle", "lines+markers"), "offline_svd": ("square", "lines+markers"),
              "quant16": ("triangle-up", "markers"), "quant8": ("triangle-down", "markers"),
              "uncompressed": ("star", "markers"), "hmf": ("diamond", "lines+markers"),
              "groupreduce": ("cross", "lines+markers"), "lmf_whole": ("x", "lines+markers"),
              "lmf_int8": ("circle-open", "lines+markers"), "groupreduce_int8": ("cross-open", "lines+markers"),
              "lmf_whole_int8": ("x-open", "lines+markers"),
              "fasttext": ("hexagon", "markers"), "fasttext_ftz": ("hexagon-open", "markers")}
    reference = catalog.reference_summary(results, dataset)  # fastText: what a user would pick instead
    for method in catalog.METHOD_ORDER + catalog.REFERENCE_METHODS:
        rows = catalog.of_method(reference if method in catalog.REFERENCE_METHODS else summary, method)
        if not rows:
            continue
        symbol, mode = styles[method]
        fig.add_trace(go.Scatter(
            x=[r["size_bytes"] / 1e6 for r in rows], y=[r["accuracy"] for r in rows], mode=mode,
            name=METHOD_NAMES[method], marker=dict(symbol=symbol, size=10),
            error_y=dict(type="data", array=[r["accuracy_std"] for r in rows], visible=True),
            text=[f"R={r['reduction_pct']}%" for r in rows],
            hovertemplate="%{text}<br>%{x:.2f} MB<br>%{y:.2f} %<extra>" + METHOD_NAMES[method] + "</extra>"))
    if selection.accuracy is not None:
        fig.add_trace(go.Scatter(x=[selection.size_bytes / 1e6], y=[selection.accuracy], mode="markers",
                                 name=f"Selected: {selection.label}",
                                 marker=dict(size=22, color="rgba(0,0,0,0)", line=dict(width=3, color="crimson"))))
    else:
        fig.add_vline(x=selection.size_bytes / 1e6, line=dict(color="crimson", dash="dot"),
                      annotation_text="selected size")
    fig.update_layout(xaxis_title="size on disk (MB, log scale)", yaxis_title="test accuracy (%)", xaxis_type="log",
                      height=420, margin=dict(l=10, r=10, t=10, b=10), legend=dict(font=dict(size=11)))
    st.plotly_chart(fig, key="size_accuracy")
with right:
    st.markdown("#### Singular values of the embedding")
    spectrum_box = st.container()  # filled last: without spectra.json it needs the model, and so torch

# ------------------------------------------------------------ recommendation
st.markdown("#### Recommendation")
tolerance = st.slider("Accept an accuracy loss of at most (points)", 0.0, 5.0, 1.0, 0.1, key="tolerance")
best = catalog.recommend(summary, tolerance)
if best is not None:
    st.success(f"Smallest model within {tolerance:.1f} points of the uncompressed {base_acc:.2f} %: "
               f"**{catalog.describe(best)}** — {best['size_bytes'] / 1e6:.2f} MB "
               f"({100 * best['size_bytes'] / base_size:.0f}% of original), {best['accuracy']:.2f} % test accuracy.",
               icon=":material/check_circle:")

# ------------------------------------------------------------ table
st.markdown("#### All results")
st.markdown(catalog.results_markdown(summary))

# ------------------------------------------------------------ download
st.markdown("#### Download the selected model")
directory = ui.art_dir()
if selection.kind == "svd_only" or (selection.kind == "lmf" and reduction not in
                                     catalog.shipped_reductions(directory, dataset, model)):
    from lmf import studio  # torch: only an R off the shipped grid needs a model built here

    name = f"{dataset}-{model}-svd_only-R{reduction}"
    try:
        if compressed is None:
            compressed = ui.svd_only(dataset, model, reduction)[0]
        base_saved = ui.saved(dataset, model)
        st.download_button(f"Download {name}.zip (SVD-only, built on the fly)",
                           lambda: studio.zip_model(compressed, base_saved.vocab, base_saved.label_names, name),
                           file_name=f"{name}.zip", mime="application/zip", on_click="ignore", key="download")
        if selection.kind == "lmf":
            st.caption("The retrained model for this R is not shipped in artifacts/models; this download is the "
                       "SVD-only compression (not retrained).")
    except ArtifactError as e:
        ui.show_error(e)
else:
    path = catalog.model_path(directory, dataset, model, selection.kind, reduction)
    if path.is_dir():
        st.download_button(f"Download {path.name}.zip", lambda: catalog.zip_dir(path), file_name=f"{path.name}.zip",
                           mime="application/zip", on_click="ignore", key="download")
        st.caption("A saved model directory: load it with `lmf.artifacts.load_model(path)`.")
    else:
        ui.show_error(catalog.missing(f"model `models/{path.name}` is missing", directory))

# ------------------------------------------------------------ spectrum (top right)
with spectrum_box:
    try:
        values = ui.spectrum(dataset, model)  # spectra.json, or the model itself (torch) without it
    except ArtifactError as e:
        ui.show_error(e)
        values = None
    if values is not None:
        k = selection.rank or len(values)
        energy = catalog.energy_kept(values, k)
        spec = go.Figure(go.Scatter(x=list(range(1, len(values) + 1)), y=values, mode="lines", name="σ_i",
                                    fill="tozeroy"))
        spec.add_vline(x=k, line=dict(color="crimson", dash="dash"), annotation_text=f"k = {k}")
        spec.update_layout(xaxis_title="index i", yaxis_title="singular value σ_i", yaxis_type="log", height=340,
                           margin=dict(l=10, r=10, t=10, b=10), showlegend=False)
        st.plotly_chart(spec, key="spectrum")
        st.caption(f"The top k = {k} of {len(values)} singular values keep **{100 * energy:.1f} %** of the "
                   "embedding's energy (sum of σ²) — before retraining.")
