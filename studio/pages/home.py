"""Home: pick a reduction R and see, above the fold at 1280x720, what it means in one sentence and
where it sits on the size-vs-accuracy chart; below, side-by-side comparison, the recommendation,
the spectrum, every result in a sortable table and the download.

The cards, the verdict and the table read only the standard-library modules of lmf; Plotly (and
pandas) load with the first chart, torch only for an R off the retrained grid (SVD-only) or
artifacts without spectra.json.
"""
import streamlit as st

from studio import deploy
from lmf import names
from sweep import grid
from lmf import layout, results as lmf_results
from lmf.layout import ArtifactError
from lmf.methods import METHODS
from lmf.selection import precomputed_selection, recommend, seed_row, table_rows, verdict
from sweep.tables import describe
from studio import ui

MAX_REDUCTION = 98  # beyond it eq. 5 leaves a rank of 1-2
OTHER = "other"

st.title("Choose a compression ratio")
ui.quick_notice()

results = ui.results()
if results is None:
    st.stop()
dataset, model = ui.selected()
summary = lmf_results.summary_for(results, dataset, model)
base = lmf_results.find(summary, "uncompressed")
if base is None:
    st.warning(f"results.csv has no uncompressed row for {ui.dataset_name(dataset)} / {ui.model_name(model)}.")
    st.stop()
retrained = lmf_results.grid_reductions(summary)

# ------------------------------------------------------------ the choice of R
# Buttons for the retrained R values (a click on 98 lands on 98, which a 0-98 slider did not
# promise), and "other R" for an SVD-only look anywhere in between.
choices = [0] + retrained + [OTHER]
if st.session_state.get("reduction") not in choices:  # another dataset/model retrained other R values
    st.session_state.pop("reduction", None)
default = names.DEFAULT_REDUCTION if names.DEFAULT_REDUCTION in retrained else (retrained or [0])[-1]
pick_col, other_col = st.columns([4, 1], vertical_alignment="bottom")
pick = pick_col.segmented_control(
    "Reduction R of the embedding's parameters (%): retrained values, or another R (SVD only)",
    choices, default=default, required=True, key="reduction",
    format_func=lambda r: "0 = uncompressed" if r == 0 else ("other R…" if r == OTHER else f"{r}"),
    help="R = 1 - p: the share of the embedding's weights removed. The retrained models were measured by the sweep; "
         "any other R is the uncompressed model's embedding factorized on the spot (SVD only, not retrained).")
if pick == OTHER:
    reduction = other_col.number_input("Other R (%)", 1, MAX_REDUCTION, 80, key="reduction_other")
else:
    reduction = pick
st.session_state["chosen_reduction"] = reduction  # the live retraining page starts from it

selection = precomputed_selection(summary, reduction, results)
if selection is None:
    try:
        with st.spinner(f"Compressing the embedding with a truncated SVD at R={reduction}% …"):
            selection = ui.svd_only(dataset, model, reduction)[1]
    except (ArtifactError, ValueError) as e:
        ui.show_error(e)
        st.stop()

# The cards describe seed 0's models (the ones shipped and downloaded; an SVD-only model is cut from
# the seed-0 uncompressed model), so they are compared with the seed-0 uncompressed model: like with like.
seed0 = seed_row(results, dataset, model)
reference = {**base, "accuracy": 100 * seed0["accuracy"], "size_bytes": seed0["size_bytes"]} if seed0 else base
st.markdown(f"#### {verdict(selection, reference)}")
if selection.kind != "svd_only" and selection.seeds > 1:
    st.caption(f"Seed 0's model, the one you download. Over {selection.seeds} seeds: "
               f"{selection.mean_accuracy:.2f} ± {selection.accuracy_std:.2f} % test accuracy.")
if selection.kind == "svd_only":
    st.caption("**SVD only, not retrained**: compared with the seed-0 uncompressed model it was cut from "
               f"({reference['accuracy']:.2f} %). "
               + ("Accuracy measured on the test set now; latency not measured." if selection.accuracy is not None
                  else f"The dataset is not available here, so accuracy is not shown: {ui.DATA_HINT}"))


def tone(delta, color="normal"):
    """A card's delta colour: none when the delta shows as zero (R=0 is not 'x1.00 worse')."""
    return "off" if abs(delta) < 0.005 else color


def arrow(delta):
    return "off" if abs(delta) < 0.005 else "auto"


chart_col, cards_col = st.columns([3, 1])
with cards_col:
    share = 100 * selection.size_bytes / reference["size_bytes"]
    st.metric("Size on disk", f"{selection.size_bytes / 1e6:.2f} MB", f"{share - 100:+.0f}% bytes",
              tone(round(share - 100), "inverse"), border=True, delta_arrow=arrow(round(share - 100)),
              help="Bytes of the deployable export (model.onnx, tokenizer.json, manifest.json): the download below.")
    if selection.accuracy is not None:
        delta = selection.accuracy - reference["accuracy"]
        st.metric("Test accuracy", f"{selection.accuracy:.2f} %", f"{delta:+.2f} pts", tone(delta), border=True,
                  delta_arrow=arrow(delta),
                  help="The deployable export's, on ONNX Runtime (seed 0); against the seed-0 uncompressed model."
                  if selection.kind != "svd_only" else "Measured now (torch; the export computes the same); "
                  "against the seed-0 uncompressed model.")
    else:
        st.metric("Test accuracy", "n/a", "dataset not available", delta_color="off", delta_arrow="off", border=True)
    if selection.latency_ms is not None:
        change = 100 * (selection.latency_ratio - 1)
        st.metric("Latency per sentence", f"{selection.latency_ms:.3f} ms", f"{change:+.0f}% time",
                  tone(round(change), "inverse"), border=True, delta_arrow=arrow(round(change)),
                  help="The deployable export on ONNX Runtime, end to end (text in, label out, tokenizer included): "
                  "median over the first 300 test sentences (100 in a quick sweep) at batch 1, one thread, "
                  "measured by the sweep"
                  + (f"; the same model in eager PyTorch: {selection.eager_latency_ms:.3f} ms."
                     if selection.eager_latency_ms is not None else "."))
    else:
        st.metric("Latency per sentence", "n/a", "not measured (SVD only)", delta_color="off", delta_arrow="off",
                  border=True)
    config = ui.config(dataset, model) if selection.rank else None
    embed_dim = config.get("embed_dim") if config else None
    st.metric("Rank k", "full" if selection.rank is None else str(selection.rank),
              f"of d = {embed_dim}" if embed_dim else None, delta_color="off", delta_arrow="off", border=True,
              help="Eq. (5): k = floor(p m n / (m + n)) with p = 1 - R.")

from studio.charts import energy_kept, size_accuracy_figure, spectrum_figure  # noqa: E402  (Plotly after the cards)

with chart_col:
    others = lmf_results.reference_summary(results, dataset)  # fastText: what a user would pick instead
    st.plotly_chart(size_accuracy_figure(summary, others, (selection.size_bytes, selection.accuracy, selection.label),
                                         height=360), key="size_accuracy")
if selection.accuracy_before_retrain is not None and selection.kind == "lmf":
    st.caption(f"Right after the SVD, before retraining: {selection.accuracy_before_retrain:.2f} % test accuracy. "
               "Click a legend group's title to hide or show the whole group.")

# ------------------------------------------------------------ side by side
st.markdown("#### Compare side by side")
keys = {f"{r['method']}|{r['embedding_reduction_pct']}": r for r in sorted(summary, key=lambda r: r["size_bytes"])}
tolerance = st.session_state.get("tolerance", names.DEFAULT_TOLERANCE)
best = recommend(summary, tolerance)
chosen_key = f"{selection.kind}|{reduction}"
defaults = list(dict.fromkeys(k for k in ("uncompressed|0", chosen_key,
                                           best and f"{best.row['method']}|{best.row['embedding_reduction_pct']}")
                              if k in keys))
compare = st.multiselect("Models to compare (up to three)", list(keys), default=defaults, max_selections=3,
                         format_func=lambda k: describe(keys[k]), key="compare_" + "_".join([dataset, model] + defaults))
for col, key in zip(st.columns(3), compare):
    row = keys[key]
    with col.container(border=True):
        st.markdown(f"**{describe(row)}**")
        delta = row["accuracy"] - base["accuracy"]
        st.metric("Test accuracy", f"{row['accuracy']:.2f} %", f"{delta:+.2f} pts", tone(delta), delta_arrow=arrow(delta))
        latency = ("latency not measured" if row["latency_ms_b1"] is None else
                   f"{row['latency_ms_b1']:.3f} ms (×{row['latency_ratio_b1']:.2f})")
        st.caption(f"{row['size_bytes'] / 1e6:.2f} MB ({100 * row['size_bytes'] / base['size_bytes']:.0f}% of the bytes)"
                   f" · {latency} · " + (f"{row['seeds']} seeds" if row["seeds"] > 1 else ":orange[one seed]"))

def download_export(row, key, note):
    """A download button for the row's deployable export, or the error that says why there is none.
    The export is rebuilt from the shipped model and checked against the sweep's sha256 when the
    button is pressed (studio.deploy.zip_row), not on every run of the page: the cheap checks
    (studio.deploy.check_row) run here, so the button only shows when the rebuild will succeed."""
    problem = ui.download_problem(row)
    if problem:
        ui.show_error(ArtifactError(problem))
        return
    name = ui.row_key(row)
    precision = METHODS[row["method"]].deploy
    st.download_button(f"Download {name}.zip (ONNX, {precision})", lambda: deploy.zip_row(directory, row),
                       file_name=f"{name}.zip", mime="application/zip", on_click="ignore", key=key)
    st.caption(note + " Run it with `lmf.runtime.Predictor(folder).predict(texts)`: numpy and onnxruntime, no torch.")


# ------------------------------------------------------------ recommendation | spectrum
directory = ui.art_dir()
rec_col, spectrum_col = st.columns(2)
with rec_col:
    st.markdown("#### Recommendation")
    tolerance = st.slider("Accept an accuracy loss of at most (points)", 0.0, 5.0, names.DEFAULT_TOLERANCE, 0.1,
                          key="tolerance")
    best = recommend(summary, tolerance)
    row = best.row
    st.success(f"**{describe(row)}**: {row['size_bytes'] / 1e6:.2f} MB "
               f"({100 * row['size_bytes'] / base['size_bytes']:.0f}% of the bytes), {row['accuracy']:.2f} % "
               f"({row['accuracy'] - base['accuracy']:+.2f} points), "
               + (f"{row['latency_ms_b1']:.3f} ms per sentence" if row["latency_ms_b1"] is not None else "latency not measured")
               + f" — {best.reason}.", icon=":material/check_circle:")
    if best.one_seed:
        st.warning("This accuracy is one seed's: the sweep measured no spread for it, so the margin to the "
                   "tolerance may not hold for another training run.", icon=":material/casino:")
    rec_r = row["embedding_reduction_pct"]
    if row["method"] in ("lmf", "uncompressed") and rec_r != reduction:
        st.button(f"Select R={rec_r} above", key="select_recommended",
                  on_click=lambda: st.session_state.update(reduction=rec_r))
    rec_row = seed_row(results, dataset, model, row["method"], 0, rec_r)
    if rec_row is not None and deploy.is_shipped(directory, rec_row):
        download_export(rec_row, "download_recommended",
                        f"Seed 0's export: {100 * rec_row['accuracy']:.2f} % test accuracy, "
                        f"{rec_row['size_bytes'] / 1e6:.2f} MB.")
    else:
        st.caption("Its model is not shipped in artifacts/models (the app ships LMF at R = "
                   f"{', '.join(map(str, grid.APP_REDUCTIONS))}, the uncompressed model and what they make); "
                   "`scripts/precompute.py` makes it.")
with spectrum_col:
    st.markdown("#### Singular values of the embedding")
    spectrum_box = st.container()  # filled last: without spectra.json it needs the model, and so torch

# ------------------------------------------------------------ table
st.markdown("#### All results")
import pandas as pd  # noqa: E402  (loaded by the charts already)

frame = pd.DataFrame(table_rows(summary, (selection.kind, reduction)))
numbers = ["Rank / width", "Size (MB)", "% of bytes", "Test acc. (%)", "± std", "ms / sentence", "Latency ratio"]
frame[numbers] = frame[numbers].astype(float)  # None -> NaN: shown as "–", sorted last
highlight = lambda r: ["background-color: rgba(214, 39, 40, 0.15)" if r["Selected"] else ""] * len(r)  # noqa: E731
st.dataframe(frame.style.apply(highlight, axis=1).format(
    {"Size (MB)": "{:.3f}", "% of bytes": "{:.1f}", "Test acc. (%)": "{:.2f}", "± std": "{:.2f}",
     "ms / sentence": "{:.3f}", "Latency ratio": "{:.2f}", "Rank / width": "{:.0f}"}, na_rep="–"),
    hide_index=True, key="results_table",
    column_config={"Selected": st.column_config.CheckboxColumn("Selected", width="small"),
                   "Note": st.column_config.TextColumn("Note", help="One seed: no spread measured.")})
st.caption("Click a column header to sort. The selected model is highlighted; ± std is over seeds (none for one seed).")

# ------------------------------------------------------------ download
st.markdown("#### Download the selected model")
if selection.kind == "svd_only":
    name = selection.export_dir.name
    st.download_button(f"Download {name}.zip (SVD only, not retrained; ONNX, fp32)",
                       lambda: layout.zip_model(selection.export_dir), file_name=f"{name}.zip",
                       mime="application/zip", on_click="ignore", key="download")
    st.caption("The uncompressed model's embedding factorized at this R and exported now: the model the cards "
               "above describe. Run it with `lmf.runtime.Predictor(folder).predict(texts)`.")
elif selection.row is not None and deploy.is_shipped(directory, selection.row):
    download_export(selection.row, "download", "The model the cards above describe (seed 0).")
else:
    st.info(f"The retrained model at R={reduction} was measured by the sweep but is not shipped in artifacts/ "
            f"(it ships LMF at R = {', '.join(map(str, grid.APP_REDUCTIONS))} to stay small). Retrain it on the "
            "**Retrain live** page and download it there, or pick **other R** above for an SVD-only model.",
            icon=":material/cloud_off:")


# ------------------------------------------------------------ spectrum (filled last)
with spectrum_box:
    try:
        values = ui.spectrum(dataset, model)  # spectra.json, or the model itself (torch) without it
    except ArtifactError as e:
        ui.show_error(e)
        values = None
    if values is not None:
        k = selection.rank or len(values)
        st.plotly_chart(spectrum_figure(values, k, height=300), key="spectrum")
        st.caption(f"The top k = {k} of {len(values)} singular values keep **{100 * energy_kept(values, k):.1f} %** "
                   "of the embedding's energy (sum of σ²) — before retraining.")
