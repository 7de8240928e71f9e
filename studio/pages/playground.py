"""Playground: one sentence through every variant, side by side, with confidence and latency."""
import streamlit as st

from lmf import grid, layout
from lmf.data import MAX_TEXT_CHARS, MAX_TOKENS, clip_text
from lmf.layout import ArtifactError
from lmf.playground import EXAMPLES, extension_variants, predict_text
from studio import ui

st.title("Playground")
st.caption("Type a sentence and compare the uncompressed model with its compressed versions.")

dataset, model = ui.selected()
directory = ui.art_dir()
shipped = layout.shipped_reductions(directory, dataset, model)
offline = layout.shipped_reductions(directory, dataset, model, "offline_svd")

c1, c2 = st.columns([3, 1])
examples = ["(type your own)"] + EXAMPLES.get(dataset, [])
example = c1.selectbox("Example", examples, key="pg_example")
if shipped:
    default = grid.DEFAULT_REDUCTION if grid.DEFAULT_REDUCTION in shipped else shipped[-1]
    reduction = c2.select_slider("LMF reduction R (%)", shipped, value=default, key="pg_reduction")
else:
    reduction = None
    c2.info("No retrained LMF model in artifacts/models.")
text = st.text_area("Sentence", value="" if example == examples[0] else example, height=90, key=f"pg_text_{example}",
                    placeholder="e.g. a gorgeous , witty , seductive movie .")
if len(text) > MAX_TEXT_CHARS:  # pasted text can exceed anything a sentence classifier reads
    st.warning(f"The text has {len(text):,} characters; the first {MAX_TEXT_CHARS:,} are used.", icon=":material/content_cut:")
    text = clip_text(text)

if not text.strip():
    st.info("Type a sentence above (or pick an example) to see what each model predicts.", icon=":material/keyboard:")
    st.stop()

try:
    base = ui.saved(dataset, model)
except ArtifactError as e:
    ui.show_error(e)
    st.stop()

variants = [("Uncompressed", lambda: base.model)]
if reduction is not None:
    variants.append((f"Online LMF, R={reduction}%", lambda: ui.saved(dataset, model, "lmf", reduction).model))
off_r = reduction if reduction in offline else (offline[-1] if offline else None)
if off_r is not None:
    variants.append((f"Offline SVD, R={off_r}%", lambda: ui.saved(dataset, model, "offline_svd", off_r).model))
else:
    variants.append(("Offline SVD", None))
variants += [("16-bit", lambda: ui.quantized(dataset, model, 16)), ("8-bit", lambda: ui.quantized(dataset, model, 8))]
# Beyond plain LMF: shipped HMF / GroupReduce / whole-model LMF models and the int8 stacks.
extensions = extension_variants(directory, dataset, model, reduction)
for v in extensions:
    load = (lambda v=v: ui.quantized(dataset, model, v.bits, v.method, v.reduction)) if v.bits else \
        (lambda v=v: ui.saved(dataset, model, v.method, v.reduction).model)
    variants.append((v.label, load))

first = None
per_row = 5
for start in range(0, len(variants), per_row):
    for col, (name, get) in zip(st.columns(per_row), variants[start:start + per_row]):
        with col:
            st.markdown(f"**{name}**")
            if get is None:
                st.caption("Not shipped: offline-SVD models are left out of artifacts/models to save space.")
                continue
            try:
                pred = predict_text(get(), base.vocab, base.label_names, text)
            except ArtifactError as e:
                ui.show_error(e)
                continue
            first = first or pred
            st.metric("prediction", pred.label, f"{100 * pred.confidence:.1f} % confident", delta_color="off", delta_arrow="off")
            st.caption(f"{pred.latency_ms:.2f} ms")
if not any(v.bits is None for v in extensions):  # no HMF / GroupReduce / whole-model LMF shipped
    st.caption("HMF, GroupReduce and whole-model LMF models are shipped for SST-2 only (artifacts/ stays under "
               "120 MB); their accuracy on every dataset is on the home page and in REPORT.md.")

if first is not None:
    if first.truncated:
        st.warning(f"The text has {first.tokens:,} tokens; the models read the first {MAX_TOKENS} "
                   "(lmf.data.MAX_TOKENS) and ignore the rest.", icon=":material/content_cut:")
    if first.unknown:
        shown = first.unknown[:40]
        more = f" … and {len(first.unknown) - 40} more" if len(first.unknown) > 40 else ""
        st.markdown("**Unknown words** (not in the training vocabulary, read as `<unk>`):")
        st.text(", ".join(shown) + more)
    else:
        st.caption("Every word is in the vocabulary.")
    st.caption("Latency is the wall time of one prediction (tokenize, pad, forward, softmax) on this server's CPU. "
               "All variants share the uncompressed model's vocabulary.")
