"""Home: pick a reduction R and see size, accuracy, latency and rank against every other method.

Everything here reads the standard-library modules of lmf (no torch) and the metric cards come
first; only an R off the shipped grid (SVD-only) or artifacts without spectra.json load a model,
and so torch.
"""
import streamlit as st

from lmf import grid, layout, results as lmf_results
from lmf.layout import ArtifactError
from lmf.selection import precomputed_selection, recommend
from lmf.tables import describe, methods_table
from studio import ui

MAX_REDUCTION = 98  # the slider's end: beyond it eq. 5 leaves a rank of 1-2

st.title("Choose a compression ratio")
st.caption("Online LMF factorizes the embedding matrix with a truncated SVD and retrains the smaller model; "
           "the baselines quantize every weight to 8 or 16 bits, or train a smaller embedding from the start.")
ui.quick_notice()

results = ui.results()
if results is None:
    st.stop()
dataset, model = ui.selected()
summary = lmf_results.summary_for(results, dataset, model)
if not summary:
    st.warning(f"results.csv has no rows for {ui.dataset_name(dataset)} / {ui.model_name(model)}.")
    st.stop()
retrained = lmf_results.grid_reductions(summary)
base = lmf_results.find(summary, "uncompressed")
if base is None:
    st.warning(f"results.csv has no uncompressed row for {ui.dataset_name(dataset)} / {ui.model_name(model)}.")
    st.stop()

reduction = st.slider("Reduction R of the embedding's parameters (%)", 0, MAX_REDUCTION,
                      value=grid.DEFAULT_REDUCTION, step=1, key="reduction",
                      help="R = 1 - p: the fraction of the embedding's weights removed. R = 0 is the uncompressed model.")
st.session_state["chosen_reduction"] = reduction
st.caption(f"Retrained and measured at R = {', '.join(f'{r}%' for r in retrained) or 'none'}; "
           "any other R is shown **SVD-only** (compressed, not retrained).")

selection = precomputed_selection(summary, reduction)
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
from lmf.charts import energy_kept, size_accuracy_figure, spectrum_figure  # noqa: E402  (Plotly after the cards)

left, right = st.columns([3, 2])
with left:
    st.markdown("#### Size vs accuracy, every method")
    reference = lmf_results.reference_summary(results, dataset)  # fastText: what a user would pick instead
    st.plotly_chart(size_accuracy_figure(summary, reference, (selection.size_bytes, selection.accuracy, selection.label)),
                    key="size_accuracy")
with right:
    st.markdown("#### Singular values of the embedding")
    spectrum_box = st.container()  # filled last: without spectra.json it needs the model, and so torch

# ------------------------------------------------------------ recommendation
st.markdown("#### Recommendation")
tolerance = st.slider("Accept an accuracy loss of at most (points)", 0.0, 5.0, 1.0, 0.1, key="tolerance")
best = recommend(summary, tolerance)
if best is not None:
    st.success(f"Smallest model within {tolerance:.1f} points of the uncompressed {base_acc:.2f} %: "
               f"**{describe(best)}** — {best['size_bytes'] / 1e6:.2f} MB "
               f"({100 * best['size_bytes'] / base_size:.0f}% of original), {best['accuracy']:.2f} % test accuracy.",
               icon=":material/check_circle:")

# ------------------------------------------------------------ table
st.markdown("#### All results")
st.markdown(methods_table(summary))

# ------------------------------------------------------------ download
st.markdown("#### Download the selected model")
directory = ui.art_dir()
if selection.kind == "svd_only" or (selection.kind == "lmf" and reduction not in
                                     layout.shipped_reductions(directory, dataset, model)):
    from lmf.artifacts import zip_saved  # torch: only an R off the shipped grid needs a model built here

    name = f"{dataset}-{model}-svd_only-R{reduction}"
    try:
        if compressed is None:
            compressed = ui.svd_only(dataset, model, reduction)[0]
        base_saved = ui.saved(dataset, model)
        st.download_button(f"Download {name}.zip (SVD-only, built on the fly)",
                           lambda: zip_saved(compressed, base_saved.vocab, base_saved.label_names, name),
                           file_name=f"{name}.zip", mime="application/zip", on_click="ignore", key="download")
        if selection.kind == "lmf":
            st.caption("The retrained model for this R is not shipped in artifacts/models; this download is the "
                       "SVD-only compression (not retrained).")
    except ArtifactError as e:
        ui.show_error(e)
else:
    path = layout.model_path(directory, dataset, model, selection.kind, reduction)
    if path.is_dir():
        st.download_button(f"Download {path.name}.zip", lambda: layout.zip_model(path), file_name=f"{path.name}.zip",
                           mime="application/zip", on_click="ignore", key="download")
        st.caption("A saved model directory: load it with `lmf.artifacts.load_model(path)`.")
    else:
        ui.show_error(layout.missing(f"model `models/{path.name}` is missing", directory))

# ------------------------------------------------------------ spectrum (top right)
with spectrum_box:
    try:
        values = ui.spectrum(dataset, model)  # spectra.json, or the model itself (torch) without it
    except ArtifactError as e:
        ui.show_error(e)
        values = None
    if values is not None:
        k = selection.rank or len(values)
        energy = energy_kept(values, k)
        st.plotly_chart(spectrum_figure(values, k), key="spectrum")
        st.caption(f"The top k = {k} of {len(values)} singular values keep **{100 * energy:.1f} %** of the "
                   "embedding's energy (sum of σ²) — before retraining.")
