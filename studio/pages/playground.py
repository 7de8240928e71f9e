"""Playground: one sentence through every shipped variant's deployable model (ONNX Runtime, int8 and
fp16 for real), side by side: prediction, confidence, size and latency (median of repeated runs),
with the variants that disagree with the uncompressed model marked. What the text holds (unknown
words, a text cut to the models' length) is said above the cards, where it is seen. Beside each
card's batch-1 latency, the sweep's throughput at batch 256 where results.csv has it; an int8 card
slower at batch 1 than its fp32 twin says so (lmf.selection.twin_note)."""
import streamlit as st

from lmf import names
from lmf import layout
from lmf.tokenize import MAX_TEXT_CHARS, MAX_TOKENS, clip_text, tokenize
from lmf.layout import ArtifactError
from lmf.results import find
from lmf.selection import model_summary, twin_note
from studio.playground import EXAMPLES, REPEATS, predict_all, variants
from lmf.units import mb
from studio import ui

st.title("Playground")
st.caption("Type a sentence, press **Classify**, and compare the uncompressed model with its compressed versions.")

dataset, model = ui.selected()
directory = ui.art_dir()
shipped = layout.shipped_reductions(directory, dataset, model)
results = ui.cached_results_quiet() or []
if results and ui.not_shipped(dataset, model):
    # Measured but not shipped (the n-gram DAN's models stay out of artifacts/ by design): said before
    # anything is typed, not after.
    st.info(ui.not_shipped_note(dataset, model, "there is nothing to run here"), icon=":material/cloud_off:")
    st.stop()


def classify_example():
    """Picking an example classifies it at once (it is text the user chose, not half-typed)."""
    example = st.session_state["pg_example"]
    if example != examples[0]:
        st.session_state["pg_classified"] = example


c1, c2 = st.columns([3, 1])
examples = ["(type your own)"] + EXAMPLES.get(dataset, [])
example = c1.selectbox("Example", examples, key="pg_example", on_change=classify_example)
if shipped:
    default = names.DEFAULT_REDUCTION if names.DEFAULT_REDUCTION in shipped else shipped[-1]
    reduction = c2.select_slider("LMF reduction R (%)", shipped, value=default, key="pg_reduction")
else:
    reduction = None
    c2.info("No retrained LMF model in artifacts/models.")
# A form: the text is read when Classify is pressed, so predictions never belong to text that was
# typed but not submitted (a text area alone commits on blur, or not at all without Ctrl+Enter).
with st.form("pg_form", border=False):
    typed = st.text_area("Sentence", value="" if example == examples[0] else example, height=90,
                         key=f"pg_text_{example}", placeholder="e.g. a gorgeous , witty , seductive movie .")
    if st.form_submit_button("Classify", type="primary", icon=":material/play_arrow:"):
        st.session_state["pg_classified"] = typed
text = st.session_state.get("pg_classified", "")

if not text.strip():
    st.info("Type a sentence above (or pick an example) and press **Classify** to see what each model predicts.",
            icon=":material/keyboard:")
    st.stop()
if len(text) > MAX_TEXT_CHARS:  # pasted text can exceed anything a sentence classifier reads
    st.warning(f"The text has {len(text):,} characters; the first {MAX_TEXT_CHARS:,} are used.",
               icon=":material/content_cut:")
    text = clip_text(text)
st.markdown("Predictions for the classified text:")
st.text(text if len(text) <= 160 else text[:160] + " …")  # text, not Markdown: what was typed is never markup
st.caption("Edit the text and press **Classify** again to update them.")

listed = variants(directory, results, dataset, model, reduction)
predictors, failed = {}, {}
for name, row in listed:
    try:
        predictors[name] = ui.predictor(row)
    except ArtifactError as e:
        failed[name] = e
if not predictors:
    if failed:
        ui.show_error(next(iter(failed.values())))
    else:
        ui.show_error(layout.missing(f"no deployable model of {ui.dataset_name(dataset)} / {ui.model_name(model)} "
                                     "can be rebuilt from results.csv and models/", directory))
    st.stop()
try:
    predictions = predict_all(predictors, text)
except ValueError as e:  # no token the tokenizer keeps: nothing for any model to read
    st.warning(f"Nothing to classify: {e}. Type words, not only spaces or symbols.", icon=":material/help:")
    st.stop()

# What the text holds comes before the cards: ten cards fill the screen, and a warning under them
# (no known word, a text cut short) goes unseen.
seen = next(iter(predictions.values()))  # tokens and unknown words are the same for every variant
if seen.truncated:
    st.warning(f"The text has {seen.tokens:,} tokens; the models read the first {MAX_TOKENS} "
               "(lmf.tokenize.MAX_TOKENS) and ignore the rest.", icon=":material/content_cut:")
# Typed words are shown as text, never Markdown (a word is never markup), each cut to 40
# characters: a pasted run with no space is one 10,000-character word.
unknown = ", ".join(w if len(w) <= 40 else w[:40] + "…" for w in seen.unknown[:40])
unknown += f" … and {len(seen.unknown) - 40} more" if len(seen.unknown) > 40 else ""
if seen.tokens and len(seen.unknown) == len(set(tokenize(text)[:MAX_TOKENS])):  # no known token
    st.warning("**No word of this text is in the vocabulary**: every model reads only `<unk>`, so these "
               "predictions say nothing about the text. Unknown:", icon=":material/help:")
    st.text(unknown)
elif seen.unknown:
    st.markdown("**Unknown words** (not in the training vocabulary, read as `<unk>`):")
    st.text(unknown)
elif seen.tokens:
    st.caption("Every word is in the vocabulary.")

# Disagreements are with the uncompressed model; when it could not load there is nothing to mark.
base_name = next((name for name, row in listed if row["method"] == "uncompressed"), None)
first = predictions.get(base_name)
disagree = sum(first is not None and name in predictions and predictions[name].label != first.label
               for name, _ in listed)
if disagree:
    st.warning(f"{disagree} compressed variant(s) disagree with the uncompressed model's "
               f"**{first.label}** (marked *disagrees*).", icon=":material/compare_arrows:")
models = model_summary(results, dataset, model)  # seed 0's numbers: each card's row, and its fp32 twin's
per_row = 4
for start in range(0, len(listed), per_row):
    for col, (name, row) in zip(st.columns(per_row), listed[start:start + per_row]):
        if name in failed:
            with col:
                st.markdown(f"**{name}**")
                ui.show_error(failed[name])
            continue
        pred = predictions[name]
        differs = first is not None and pred.label != first.label
        summary_row = find(models, row["method"], row["embedding_reduction_pct"])
        note = twin_note(models, summary_row) if summary_row else None
        throughput = row.get("throughput_b256")
        with col.container(border=True):
            st.markdown(f"**{name}**" + (" :red-badge[disagrees]" if differs else "")
                        + (" :orange-badge[slower than its fp32 twin in the sweep]" if note else ""))
            st.markdown(f"##### {pred.label}")  # a heading wraps a long intent name; a metric cuts it
            st.caption(f"{100 * pred.confidence:.1f} % confident · {mb(row['size_bytes'])} · "
                       f"{pred.latency_ms:.3f} ms at batch 1"
                       + (f" · {throughput:,.0f} sentences/s at batch 256 (sweep)" if throughput is not None else ""))
            if note:
                st.caption(note)

st.caption("Not shown: models artifacts/ does not ship (offline SVD; HMF, GroupReduce and whole-model LMF "
           "outside SST-2; other R values). Their numbers are on the home page.")
st.caption(f"Each card runs the deployable export the home page's numbers describe (seed 0), on ONNX Runtime "
           f"with one thread. Latency is the median of {REPEATS} runs of this text (tokenize, run, label and probability), "
           "interleaved across the cards, on this server's CPU (lmf.latency). Sizes are the exports' bytes "
           "from results.csv. Sentences/s at batch 256 are the sweep's (one thread, lists of 256 texts), where "
           "results.csv has them. All variants share the uncompressed model's vocabulary.")
