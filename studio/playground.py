"""The Playground's models: which deployable variants a (dataset, model) offers, and one sentence
through all of them, timed the way the sweep times them.

Every variant is a seed-0 results.csv row whose export can be rebuilt from what artifacts/ ships
(studio.deploy): the card's model is the model whose bytes, accuracy and latency the home page shows,
int8 and fp16 included, run on ONNX Runtime through lmf.runtime.Predictor.

Standard library at import (lmf.latency and studio.deploy load nothing heavy either); the app caches
the Predictors. Deliberately not here: Streamlit code, exporting (studio.deploy), the benchmarks'
sentence sets (lmf.latency, scripts/bench_latency.py).
"""
from dataclasses import dataclass

from .deploy import is_shipped
from lmf.latency import measure
from lmf.methods import METHODS, method_label
from lmf.tokenize import MAX_TOKENS, tokenize

REPEATS = 15  # timings of the sentence per variant; the card shows their median


def variants(directory, rows, dataset, model, reduction=None):
    """[(label, seed-0 row)] of every method with a shipped deployable model for (dataset, model),
    in the registry's order: each method at the R closest to `reduction` (LMF's slider) among the
    ones shipped, and once for the methods without an R (uncompressed, 16-bit, 8-bit)."""
    out = []
    for name, method in METHODS.items():
        candidates = [r for r in rows if r["dataset"] == dataset and r["model"] == model and r["method"] == name
                      and r["seed"] == 0 and is_shipped(directory, r)]
        if not candidates:
            continue
        row = min(candidates, key=lambda r: (abs(r["embedding_reduction_pct"] - (reduction or 0)),
                                             -r["embedding_reduction_pct"]))
        label = method_label(name) + (f", R={row['embedding_reduction_pct']}%" if method.reduction == "embedding" else "")
        out.append((label + ("" if method.deploy == "fp32" else f" ({method.deploy})"), row))
    return out


@dataclass
class Prediction:
    label: str
    confidence: float
    latency_ms: float  # median of REPEATS runs, end to end (lmf.latency.measure)
    unknown: list
    tokens: int
    truncated: bool


def predict_all(predictors, text, repeats=REPEATS):
    """{name: Prediction} of one text through every lmf.runtime.Predictor in `predictors`, each
    timed by lmf.latency.measure: `repeats` runs at batch 1, interleaved across the variants, median.
    ValueError when the text has no token to classify (Predictor.encode's message)."""
    timings = measure({name: p.predict for name, p in predictors.items()}, [text] * repeats,
                      n_single=repeats, batch_size=1, repeats=0, warmup=2)
    tokens = tokenize(text)
    out = {}
    for name, predictor in predictors.items():
        label, confidence = predictor.predict([text])[0]
        out[name] = Prediction(label, confidence, timings[name]["latency_ms_b1"], predictor.unknown_words(text),
                               len(tokens), len(tokens) > MAX_TOKENS)
    return out


EXAMPLES = {
    "sst2": ["a gorgeous , witty , seductive movie .",
             "the plot is nothing but boilerplate clichés from start to finish .",
             "it 's not a bad film , but it never quite finds its footing .",
             "an utterly charming and hilarious film that reminds you why we go to the movies ."],
    "clinc150": ["what is my checking account balance",
                 "set an alarm for 7 am tomorrow",
                 "how do i say thank you in french",
                 "please book a table for four at an italian place tonight"],
}
