"""Home: the answer first. Above the fold at 1280x720: the model to ship for the chosen data set and
accuracy tolerance (lmf.selection.recommend: the smallest whose dev accuracy is within the
tolerance, as autotune judges), in plain words, with its bytes, dev and test accuracy and latency
against the uncompressed model and fastText.zip, and its download; an int8 model slower at batch 1
than its fp32 twin is said to be so beside it (lmf.selection.twin_note: the recommendation's
caveat, and in the compare cards). Below, exploring R (a fragment:
a new R redraws only that part, its spinner in place): what one R means, the size-vs-accuracy
chart, side-by-side comparison, every model in a sortable table, the spectrum, the download.

One accuracy per model everywhere: seed 0's, the model downloaded (lmf.selection.model_summary);
the spread over seeds is in tooltips. A model folder that cannot be served (a data set name that
is no cell id, a symbolic link) is named in an error box where its download would be, and the rest
of the page is drawn.

The cards, the verdict and the table read only the standard-library modules of lmf; Plotly (and
pandas) load with the first chart, torch only for an R off the retrained grid (SVD-only) or
artifacts without spectra.json.
"""
import streamlit as st

from lmf import layout, names
from lmf.layout import ArtifactError
from lmf.methods import METHODS, method_label
from lmf.results import find, grid_reductions
from lmf.selection import model_summary, precomputed_selection, recommend, table_rows, twin_note, verdict
from lmf.units import mb, percent, points, tolerance as in_points  # `tolerance`: the page's slider value
from studio import deploy, ui
from sweep import grid
from sweep.tables import describe

MAX_REDUCTION = 98  # beyond it eq. 5 leaves a rank of 1-2
OTHER = "other"

# What each method does, in plain words ({p}: the share of the embedding's weights kept).
PLAIN = {
    "uncompressed": "the trained model as it is, every weight in 32 bits",
    "lmf": "its embedding replaced by two thin matrices from a truncated SVD (keeping {p} % of its weights), "
           "then retrained",
    "offline_svd": "trained from the start with a narrower embedding ({p} % of the weights)",
    "quant16": "every weight stored in 16 bits",
    "quant8": "every weight stored in 8 bits",
    "hmf": "its embedding's frequent words kept whole and the rest factorized ({p} % of its weights), then "
           "retrained",
    "groupreduce": "its embedding factorized per group of words by frequency ({p} % of its weights), then retrained",
    "lmf_whole": "every weight matrix replaced by two thin ones from a truncated SVD ({p} % of the weights), then "
                 "retrained",
    "lmf_int8": "LMF at {p} % of the embedding's weights, retrained, then every weight stored in 8 bits",
    "groupreduce_int8": "GroupReduce at {p} % of the embedding's weights, retrained, then stored in 8 bits",
    "lmf_whole_int8": "every weight matrix factorized ({p} % of the weights) and retrained, then stored in 8 bits",
}


def plain(row):
    text = PLAIN.get(row["method"], method_label(row["method"]))
    return text.format(p=100 - row["embedding_reduction_pct"])


SHOWS_AS_ZERO = 0.00005  # an accuracy change (a fraction) under 0.005 points prints as +0.00


def tone(delta, color="normal"):
    """A card's delta colour: none when the delta shows as zero (R=0 is not 'x1.00 worse'); `delta`
    an accuracy change (a fraction) or a rounded percentage, zero only at 0."""
    return "off" if abs(delta) < SHOWS_AS_ZERO else color


def arrow(delta):
    return "off" if abs(delta) < SHOWS_AS_ZERO else "auto"


def change_color(delta):
    """An accuracy change's colour: green for a gain, red for a loss, none when it shows as zero."""
    return "off" if abs(delta) < SHOWS_AS_ZERO else "green" if delta > 0 else "red"


def spread(row):
    """The spread over seeds, for a tooltip: the one accuracy shown is seed 0's."""
    if row["seeds"] > 1 and row["accuracy_std"] is not None:
        return (f" Over the sweep's {row['seeds']} seeds (the same recipe, other random starts): "
                f"{100 * row['mean_accuracy']:.2f} ± {percent(row['accuracy_std'])} test accuracy.")
    return " The sweep trained this model once (seed 0), so there is no spread to show."


def speed(ratio):
    """A latency ratio to the uncompressed model in words: '2.4x faster', 'as fast', '1.3x slower'."""
    return "as fast" if 0.95 <= ratio <= 1.05 else f"{1 / ratio:.1f}x faster" if ratio < 1 else f"{ratio:.1f}x slower"


def shipped_or_broken(row):
    """Whether the row's model folder is there to serve (True also when it cannot be served at all:
    a symbolic link, a name that is no cell id, which download_export then names), False when it
    is simply not shipped."""
    try:
        return deploy.source_of(directory, row)[0].is_dir()
    except ArtifactError:
        return True


def download_export(row, key, note, what):
    """A download button for the seed-0 results row's deployable export, or the error that says
    why there is none (naming `what`, the model). The export is rebuilt from the shipped model and
    checked against the sweep's sha256 when the button is pressed (studio.deploy.zip_row), not on
    every run of the page: the cheap checks (studio.deploy.check_row) run here, so the button only
    shows when the rebuild will succeed."""
    problem = ui.download_problem(row)
    if problem:
        ui.show_error(ArtifactError(f"{what} cannot be downloaded: {problem}"))
        return
    name = ui.row_key(row)
    precision = METHODS[row["method"]].deploy
    st.download_button(f"Download the model (ONNX, {precision}, zip)", lambda: deploy.zip_row(directory, row),
                       file_name=f"{name}.zip", mime="application/zip", on_click="ignore", key=key,
                       icon=":material/download:", type="primary" if key == "download_recommended" else "secondary",
                       help=f"{name}.zip")
    st.caption((note + " " if note else "") + f"`{name}.zip`: run it with `lmf.runtime.Predictor(folder).predict(texts)`"
               " (numpy and onnxruntime, no torch).")


st.title("Choose a compressed model")
ui.quick_notice()

results = ui.results()
if results is None:
    st.stop()
dataset, model = ui.selected()
directory = ui.art_dir()
models = model_summary(results, dataset, model)  # one row per model: seed 0's numbers, the spread beside
base = find(models, "uncompressed")
if base is None:
    st.warning(f"results.csv has no uncompressed row for {ui.dataset_name(dataset)} / {ui.model_name(model)}.")
    st.stop()
ftz = find(model_summary(results, dataset, "fasttext"), "fasttext_ftz")

# ------------------------------------------------------------ the answer
head_col, tolerance_col = st.columns([3, 1], vertical_alignment="bottom")
tolerance = tolerance_col.slider(
    "Accuracy you may lose (points, on dev)", 0.0, max(5.0, float(st.session_state.get("tolerance") or 0)),
    names.DEFAULT_TOLERANCE, 0.1, key="tolerance",
    help="The recommended model is the smallest whose dev accuracy is at most this many points below the "
         "uncompressed model's: the rule autotune applies on the Your data page.\n\n" + ui.terms("dev"))
best = recommend(models, tolerance)
rec = best.row
with head_col:
    st.markdown(f"### Ship: {describe(rec)}")
    said = plain(rec)
    st.caption(f"{said[:1].upper()}{said[1:]}: {best.reason}."
               + ("" if best.judged_on == "dev" else " results.csv records no dev accuracy here, so test decides."))
    if best.caveat:  # the rule still picks it (smallest within the tolerance): its speed is said, not hidden
        st.warning(best.caveat, icon=":material/speed:")

share = 100 * rec["size_bytes"] / base["size_bytes"]
dev_delta = None if rec["dev_accuracy"] is None or base["dev_accuracy"] is None else rec["dev_accuracy"] - base["dev_accuracy"]
test_delta = rec["accuracy"] - base["accuracy"]
others = f" fastText.zip: {mb(ftz['size_bytes'])}." if ftz else ""
size_card, dev_card, test_card, latency_card = st.columns(4)
smaller = share < 99.95
size_card.metric(
    "Size", f"{mb(rec['size_bytes'])}", f"{share:.1f} %" if smaller else "100 %",
    "green" if smaller else "off", border=True, delta_arrow="down" if smaller else "off", delta_description="of the bytes",
    help=f"Bytes of the download (model.onnx, tokenizer.json, words.zlib, manifest.json). The uncompressed model: "
         f"{mb(base['size_bytes'])}." + others)
if rec["dev_accuracy"] is not None:
    dev_card.metric(
        "Dev accuracy", f"{percent(rec['dev_accuracy'])}", points(dev_delta) if dev_delta is not None else None,
        change_color(dev_delta or 0), border=True, delta_arrow=arrow(dev_delta or 0),
        help=f"Judged here: at most {in_points(tolerance)} below the uncompressed model's "
             + (f"{percent(base['dev_accuracy'])}. " if base["dev_accuracy"] is not None else "(not recorded). ")
             + "Seed 0's model, the one you download.\n\n" + ui.terms("dev", "seed 0"))
else:
    dev_card.metric("Dev accuracy", "n/a", "not recorded", "off", border=True, delta_arrow="off")
test_card.metric(
    "Test accuracy", f"{percent(rec['accuracy'])}", points(test_delta), change_color(test_delta), border=True,
    delta_arrow=arrow(test_delta),
    help=f"Seed 0's model, the one you download, on the test set; the uncompressed model: {percent(base['accuracy'])}."
         + spread(rec) + (f" fastText.zip: {percent(ftz['accuracy'])}." if ftz else "") + "\n\n" + ui.terms("seed 0"))
if rec["latency_ms_b1"] is not None:
    ratio = rec["latency_ratio_b1"] or (rec["latency_ms_b1"] / base["latency_ms_b1"] if base["latency_ms_b1"] else 1)
    latency_card.metric(
        "Latency per sentence", f"{rec['latency_ms_b1']:.3f} ms", speed(ratio),
        "off" if 0.95 <= ratio <= 1.05 else "green" if ratio < 1 else "red", border=True,
        delta_arrow="off" if 0.95 <= ratio <= 1.05 else "down" if ratio < 1 else "up",
        help="Against the uncompressed model. The download on ONNX Runtime, end to end (text in, label out, tokenizer "
             "included): median over the first 300 test sentences (100 in a quick sweep) at batch 1, one thread, "
             "measured by the sweep."
             + (f" At batch 256: {rec['throughput_b256']:,.0f} sentences/s." if rec["throughput_b256"] else "")
             + (f" The uncompressed model: {base['latency_ms_b1']:.3f} ms." if base["latency_ms_b1"] else "")
             + (f" fastText.zip: {ftz['latency_ms_b1']:.3f} ms." if ftz and ftz["latency_ms_b1"] else ""))
else:
    latency_card.metric("Latency per sentence", "n/a", "not measured", "off", border=True, delta_arrow="off",
                        help="Autotune (the Your data page) measures size and accuracy, not latency.")

download_col, note_col = st.columns([2, 3], vertical_alignment="top")
with download_col:
    rec_row = rec.get("row")
    if rec_row is None:
        st.caption("results.csv has no seed-0 row for this model, so there is no model to download.")
    elif shipped_or_broken(rec_row):
        download_export(rec_row, "download_recommended", "", describe(rec))
    elif ui.not_shipped(dataset, model):
        st.info(ui.not_shipped_note(dataset, model, "there is no model to download"), icon=":material/cloud_off:")
    else:
        st.info("Its model is not shipped in this artifacts folder (the app ships LMF at R = "
                f"{', '.join(map(str, grid.APP_REDUCTIONS))}, the uncompressed model and the model recommended at "
                "the default tolerance); `scripts/precompute.py` makes it. Every shipped model is in **Explore** "
                "below.", icon=":material/cloud_off:")
with note_col:
    def cells(row):
        dev = "–" if row["dev_accuracy"] is None else f"{percent(row['dev_accuracy'])}"
        ms = "–" if row["latency_ms_b1"] is None else f"{row['latency_ms_b1']:.3f} ms"
        return f"{mb(row['size_bytes'])} | {dev} | {percent(row['accuracy'])} | {ms}"
    st.markdown("| Against | Size | Dev | Test | Latency |\n|---|--:|--:|--:|--:|\n"
                f"| Uncompressed | {cells(base)} |\n" + (f"| fastText.zip | {cells(ftz)} |\n" if ftz else ""))
    st.caption("The cards' deltas are against the uncompressed model. Every accuracy on this page is **seed 0's**: "
               "the model you download (the spread over the sweep's other seeds is in the tooltips).",
               help=ui.terms("seed 0", "dev"))

st.divider()


# ------------------------------------------------------------ exploring R
@st.fragment
def explore():
    """What one R means, in detail. A fragment: choosing an R redraws this part only, and an R off
    the grid (SVD-only, compressed and measured on the spot) shows its spinner here."""
    st.subheader("Explore a reduction R", help=ui.terms("R", "SVD only"))
    retrained = grid_reductions(models)
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
        help="The retrained models were measured by the sweep; any other R is the uncompressed model's embedding "
             "factorized on the spot.\n\n" + ui.terms("R", "SVD only"))
    reduction = other_col.number_input("Other R (%)", 1, MAX_REDUCTION, 80, key="reduction_other") if pick == OTHER \
        else pick

    # "other R" is SVD only, as its label says, even at an R the sweep also retrained.
    selection = None if pick == OTHER else precomputed_selection(models, reduction)
    if selection is None and ui.not_shipped(dataset, model):  # an SVD-only model is cut from the uncompressed one
        st.info(ui.not_shipped_note(dataset, model, "no SVD-only model can be cut at another R"),
                icon=":material/cloud_off:")
        return
    if selection is None:
        try:
            with st.spinner(f"Compressing the embedding with a truncated SVD at R = {reduction} % and measuring it "
                            "on the test set (the first time also loads the data set)…"):
                selection = ui.svd_only(dataset, model, reduction)[1]
        except (ArtifactError, ValueError) as e:
            ui.show_error(e)
            return
    # The cards describe seed 0's models (the ones shipped and downloaded; an SVD-only model is cut
    # from the seed-0 uncompressed model), compared with the seed-0 uncompressed model: like with like.
    st.markdown(f"#### {verdict(selection, base)}")
    if selection.kind == "svd_only":
        st.caption("**SVD only, not retrained**: compared with the seed-0 uncompressed model it was cut from "
                   f"({percent(base['accuracy'])}). "
                   + ("Accuracy measured on the test set now; latency not measured." if selection.accuracy is not None
                      else f"The dataset is not available here, so accuracy is not shown: {ui.DATA_HINT}"),
                   help=ui.terms("SVD only"))

    chart_col, cards_col = st.columns([3, 1])
    with cards_col:
        size_share = 100 * selection.size_bytes / base["size_bytes"]
        st.metric("Size on disk", f"{mb(selection.size_bytes)}", f"{size_share - 100:+.0f}% bytes",
                  tone(round(size_share - 100), "inverse"), border=True, delta_arrow=arrow(round(size_share - 100)),
                  help="Bytes of the deployable export (model.onnx, tokenizer.json, words.zlib, manifest.json): the download below.")
        if selection.accuracy is not None:
            delta = selection.accuracy - base["accuracy"]
            st.metric("Test accuracy", f"{percent(selection.accuracy)}", points(delta), tone(delta), border=True,
                      delta_arrow=arrow(delta),
                      help=("Seed 0's model, the one you download, on ONNX Runtime; against the seed-0 uncompressed "
                            "model." + (spread(find(models, selection.kind, None if reduction == 0 else reduction))
                                        if selection.row is not None else "")
                            if selection.kind != "svd_only" else "Measured now (torch; the export computes the same); "
                            "against the seed-0 uncompressed model.") + "\n\n" + ui.terms("seed 0"))
        else:
            st.metric("Test accuracy", "n/a", "dataset not available", delta_color="off", delta_arrow="off",
                      border=True)
        if selection.latency_ms is not None:
            change = 100 * (selection.latency_ratio - 1) if selection.latency_ratio else 0
            st.metric("Latency per sentence", f"{selection.latency_ms:.3f} ms", f"{change:+.0f}% time",
                      tone(round(change), "inverse"), border=True, delta_arrow=arrow(round(change)),
                      help="The deployable export on ONNX Runtime, end to end (text in, label out, tokenizer "
                      "included): median over the first 300 test sentences (100 in a quick sweep) at batch 1, one "
                      "thread, measured by the sweep"
                      + (f"; the same model in eager PyTorch: {selection.eager_latency_ms:.3f} ms."
                         if selection.eager_latency_ms is not None else ".")
                      + (f" At batch 256: {selection.throughput:,.0f} sentences/s." if selection.throughput else ""))
        else:
            st.metric("Latency per sentence", "n/a",
                      "not measured (SVD only)" if selection.kind == "svd_only" else "not measured",
                      delta_color="off", delta_arrow="off", border=True)
        config = ui.config(dataset, model) if selection.rank else None
        embed_dim = config.get("embed_dim") if config else None
        st.metric("Rank k", "full" if selection.rank is None else str(selection.rank),
                  f"of d = {embed_dim}" if embed_dim else None, delta_color="off", delta_arrow="off", border=True,
                  help=ui.terms("rank k"))

    from studio.charts import energy_kept, size_accuracy_figure, spectrum_figure  # Plotly after the cards

    with chart_col:
        st.plotly_chart(size_accuracy_figure(models, model_summary(results, dataset, "fasttext"),
                                             (selection.size_bytes, selection.accuracy, selection.label), height=360),
                        key="size_accuracy")
    st.caption(("" if selection.accuracy_before_retrain is None or selection.kind != "lmf" else
                f"Right after the SVD, before retraining: {percent(selection.accuracy_before_retrain)} test accuracy. ")
               + "One point per model, seed 0's (hover for the spread over seeds). Click a legend group's title to "
               "hide or show it.", help=ui.terms("baseline 1", "baseline 2", "seed 0"))

    # ------------------------------------------------------------ side by side
    st.markdown("#### Compare side by side")
    keys = {f"{r['method']}|{r['embedding_reduction_pct']}": r for r in sorted(models, key=lambda r: r["size_bytes"])}
    defaults = list(dict.fromkeys(k for k in ("uncompressed|0", f"{selection.kind}|{reduction}",
                                               f"{rec['method']}|{rec['embedding_reduction_pct']}") if k in keys))
    compare = st.multiselect("Models to compare (up to three)", list(keys), default=defaults, max_selections=3,
                             format_func=lambda k: describe(keys[k]),
                             key="compare_" + "_".join([dataset, model] + defaults))
    for col, key in zip(st.columns(3), compare):
        row = keys[key]
        with col.container(border=True):
            st.markdown(f"**{describe(row)}**")
            delta = row["accuracy"] - base["accuracy"]
            st.metric("Test accuracy", f"{percent(row['accuracy'])}", points(delta), tone(delta),
                      delta_arrow=arrow(delta), help="Seed 0's model." + spread(row))
            latency = ("latency not measured" if row["latency_ms_b1"] is None else
                       f"{row['latency_ms_b1']:.3f} ms" + (f" (×{row['latency_ratio_b1']:.2f})"
                                                           if row["latency_ratio_b1"] is not None else ""))
            dev = "" if row["dev_accuracy"] is None else f" · dev {percent(row['dev_accuracy'])}"
            throughput = "" if row["throughput_b256"] is None else f" · {row['throughput_b256']:,.0f} sentences/s at batch 256"
            st.caption(f"{mb(row['size_bytes'])} ({100 * row['size_bytes'] / base['size_bytes']:.0f}% of the "
                       f"bytes){dev} · {latency}{throughput}")
            note = twin_note(models, row)
            if note:
                st.warning(note, icon=":material/speed:")

    # ------------------------------------------------------------ table
    st.markdown("#### All models")
    import pandas as pd  # loaded by the charts already

    frame = pd.DataFrame(table_rows(models, (selection.kind, reduction)))
    numbers = ["Rank / width", "Size (MB)", "% of bytes", "Dev acc. (%)", "Test acc. (%)", "± std", "ms / sentence",
               "Latency ratio", "Sentences/s (batch 256)", "int8 / fp32 twin time"]
    frame[numbers] = frame[numbers].astype(float)  # None -> NaN: shown as "–", sorted last
    highlight = lambda r: ["background-color: rgba(214, 39, 40, 0.15)" if r["Selected"] else ""] * len(r)  # noqa: E731
    st.dataframe(frame.style.apply(highlight, axis=1).format(
        {"Size (MB)": "{:.3f}", "% of bytes": "{:.1f}", "Dev acc. (%)": "{:.2f}", "Test acc. (%)": "{:.2f}",
         "± std": "{:.2f}", "ms / sentence": "{:.3f}", "Latency ratio": "{:.2f}", "Rank / width": "{:.0f}",
         "Sentences/s (batch 256)": "{:,.0f}", "int8 / fp32 twin time": "{:.2f}"}, na_rep="–"),
        hide_index=True, key="results_table",
        column_config={"Selected": st.column_config.CheckboxColumn("Selected", width="small"),
                       "± std": st.column_config.NumberColumn("± std", help="The spread of test accuracy over the "
                                                              "sweep's seeds (none for one seed)."),
                       "Test acc. (%)": st.column_config.NumberColumn("Test acc. (%)", help=ui.TERMS["seed 0"]),
                       "int8 / fp32 twin time": st.column_config.NumberColumn(
                           "int8 / fp32 twin time", help="An int8 export's batch-1 latency over its fp32 twin's (the "
                           "model it is quantized from), timed in the same run: above 1, the int8 export is slower.")})
    st.caption("Click a column header to sort. The selected model is highlighted. Accuracies are seed 0's.")

    spectrum_col, download_col = st.columns(2)
    with download_col:
        st.markdown("#### Download the selected model")
        if selection.kind == "svd_only":
            name = selection.export_dir.name
            st.download_button(f"Download {name}.zip (SVD only, not retrained; ONNX, fp32)",
                               lambda: layout.zip_model(selection.export_dir), file_name=f"{name}.zip",
                               mime="application/zip", on_click="ignore", key="download")
            st.caption("The uncompressed model's embedding factorized at this R and exported now: the model the cards "
                       "above describe. Run it with `lmf.runtime.Predictor(folder).predict(texts)`.")
        elif selection.row is not None and shipped_or_broken(selection.row):
            download_export(selection.row, "download", "The model the cards above describe (seed 0).",
                            selection.label)
        elif ui.not_shipped(dataset, model):
            st.info(ui.not_shipped_note(dataset, model, "there is no model to download"), icon=":material/cloud_off:")
        else:
            st.info(f"The retrained model at R={reduction} was measured by the sweep but is not shipped in artifacts/ "
                    f"(it ships LMF at R = {', '.join(map(str, grid.APP_REDUCTIONS))} to stay small). Retrain it on "
                    "the **Retrain live** page and download it there, or pick **other R** above for an SVD-only "
                    "model.", icon=":material/cloud_off:")
    with spectrum_col:
        st.markdown("#### Singular values of the embedding")
        try:
            values = ui.spectrum(dataset, model)  # spectra.json, or the model itself (torch) without it
        except ArtifactError as e:
            values = None
            if ui.not_shipped(dataset, model):  # measured, not shipped (the n-gram DAN's models): nothing broken
                st.info("The uncompressed model is not shipped in artifacts/, so its spectrum cannot be drawn.",
                        icon=":material/cloud_off:")
            else:
                ui.show_error(e)
        if values is not None:
            k = selection.rank or len(values)
            st.plotly_chart(spectrum_figure(values, k, height=300), key="spectrum")
            st.caption(f"The top k = {k} of {len(values)} singular values keep **{100 * energy_kept(values, k):.1f} %** "
                       "of the embedding's energy (sum of σ²) — before retraining.", help=ui.terms("rank k"))


explore()
