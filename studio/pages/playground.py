"""Playground: one sentence through every shipped variant, side by side: prediction, confidence,
size and latency, with the variants that disagree with the uncompressed model marked."""
import streamlit as st

from lmf import grid, layout, results as lmf_results
from lmf.tokenize import MAX_TEXT_CHARS, MAX_TOKENS, clip_text, tokenize
from lmf.layout import ArtifactError
from lmf.playground import EXAMPLES, extension_variants, predict_text
from studio import ui

st.title("Playground")
st.caption("Type a sentence, press **Classify**, and compare the uncompressed model with its compressed versions.")

dataset, model = ui.selected()
directory = ui.art_dir()
shipped = layout.shipped_reductions(directory, dataset, model)
offline = layout.shipped_reductions(directory, dataset, model, "offline_svd")
results = ui.cached_results_quiet()
summary = lmf_results.summary_for(results, dataset, model) if results is not None else []


def classify_example():
    """Picking an example classifies it at once (it is text the user chose, not half-typed)."""
    example = st.session_state["pg_example"]
    if example != examples[0]:
        st.session_state["pg_classified"] = example


c1, c2 = st.columns([3, 1])
examples = ["(type your own)"] + EXAMPLES.get(dataset, [])
example = c1.selectbox("Example", examples, key="pg_example", on_change=classify_example)
if shipped:
    default = grid.DEFAULT_REDUCTION if grid.DEFAULT_REDUCTION in shipped else shipped[-1]
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
shown = text if len(text) <= 160 else text[:160] + " …"
st.markdown(f"Predictions for the classified text: *{shown}*")
st.caption("Edit the text and press **Classify** again to update them.")

try:
    base = ui.saved(dataset, model)
except ArtifactError as e:
    ui.show_error(e)
    st.stop()


def size_of(method, reduction=None):
    row = lmf_results.find(summary, method, reduction)
    return None if row is None else row["size_bytes"]


# (name, model loader, bytes on disk from results.csv); only variants that are shipped or made here.
variants = [("Uncompressed", lambda: base.model, size_of("uncompressed"))]
if reduction is not None:
    variants.append((f"Online LMF, R={reduction}%", lambda: ui.saved(dataset, model, "lmf", reduction).model,
                     size_of("lmf", reduction)))
off_r = reduction if reduction in offline else (offline[-1] if offline else None)
if off_r is not None:
    variants.append((f"Offline SVD, R={off_r}%", lambda: ui.saved(dataset, model, "offline_svd", off_r).model,
                     size_of("offline_svd", off_r)))
variants += [("16-bit", lambda: ui.quantized(dataset, model, 16), size_of("quant16")),
             ("8-bit", lambda: ui.quantized(dataset, model, 8), size_of("quant8"))]
extensions = extension_variants(directory, dataset, model, reduction)
for v in extensions:  # shipped HMF / GroupReduce / whole-model LMF models and the int8 stacks
    load = (lambda v=v: ui.quantized(dataset, model, v.bits, v.method, v.reduction)) if v.bits else \
        (lambda v=v: ui.saved(dataset, model, v.method, v.reduction).model)
    method = f"{v.method}_int8" if v.bits else v.method
    variants.append((v.label, load, size_of(method, v.reduction)))

first = None
disagree = 0
per_row = 4
for start in range(0, len(variants), per_row):
    for col, (name, get, size) in zip(st.columns(per_row), variants[start:start + per_row]):
        try:
            pred = predict_text(get(), base.vocab, base.label_names, text)
        except ArtifactError as e:
            with col:
                st.markdown(f"**{name}**")
                ui.show_error(e)
            continue
        first = first or pred
        differs = pred.label != first.label
        disagree += differs
        with col.container(border=True):
            st.markdown(f"**{name}**" + (" :red-badge[disagrees]" if differs else ""))
            st.markdown(f"##### {pred.label}")  # a heading wraps a long intent name; a metric cuts it
            size_text = f"{size / 1e6:.2f} MB" if size is not None else "size not in results.csv"
            st.caption(f"{100 * pred.confidence:.1f} % confident · {size_text} · {pred.latency_ms:.2f} ms")

notes = []
if off_r is None:
    notes.append("offline-SVD models are not shipped (artifacts/ stays small)")
if not any(v.bits is None for v in extensions):
    notes.append("HMF, GroupReduce and whole-model LMF models are shipped for SST-2 only")
if notes:
    st.caption("Not shown: " + "; ".join(notes) + ". Their accuracy on every dataset is on the home page.")

if first is not None:
    if disagree:
        st.warning(f"{disagree} compressed variant(s) disagree with the uncompressed model's "
                   f"**{first.label}** (marked *disagrees*).", icon=":material/compare_arrows:")
    if first.truncated:
        st.warning(f"The text has {first.tokens:,} tokens; the models read the first {MAX_TOKENS} "
                   "(lmf.tokenize.MAX_TOKENS) and ignore the rest.", icon=":material/content_cut:")
    if first.tokens and len(first.unknown) == len(set(tokenize(text)[:MAX_TOKENS])):  # no known token
        st.warning("**No word of this text is in the vocabulary**: every model reads only `<unk>`, so these "
                   "predictions say nothing about the text. Unknown: " + ", ".join(first.unknown[:40]),
                   icon=":material/help:")
    elif first.unknown:
        more = f" … and {len(first.unknown) - 40} more" if len(first.unknown) > 40 else ""
        st.markdown("**Unknown words** (not in the training vocabulary, read as `<unk>`):")
        st.text(", ".join(first.unknown[:40]) + more)
    elif first.tokens:
        st.caption("Every word is in the vocabulary.")
    else:
        st.warning("The text has no words the tokenizer keeps; every model sees an empty sentence.",
                   icon=":material/help:")
    st.caption("Latency is the wall time of one prediction (tokenize, pad, forward, softmax) on this server's CPU. "
               "Sizes are the saved models' bytes from results.csv. All variants share the uncompressed model's "
               "vocabulary.")
