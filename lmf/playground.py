"""The Playground's models: which variants a (dataset, model) offers, and one sentence through one.

Deliberately not here: Streamlit code, loading (the app caches lmf.artifacts loads), or timing
harnesses for benchmarks (lmf.latency).
"""
import time
from dataclasses import dataclass

from .tokenize import MAX_TOKENS, tokenize, unknown_tokens
from .grid import APP_EXT
from .layout import shipped_reductions
from .methods import METHODS, method_label
from .metrics import classify


@dataclass(frozen=True)
class Variant:
    """One model the Playground runs: a shipped seed-0 model (`method`, `reduction`), quantized
    to `bits` after loading when bits is set (as the sweep makes its *_int8 rows)."""
    label: str
    method: str
    reduction: int = 0
    bits: int = None


def extension_variants(directory, dataset, model, lmf_reduction=None):
    """The extension models shipped for (dataset, model): each seed-0 HMF / GroupReduce /
    whole-model LMF model under models/, then the int8 stacks (of LMF at `lmf_reduction`, and of
    the shipped ones), made by quantizing the shipped retrained model."""
    stack_of = {m.stacks_on: name for name, m in METHODS.items() if m.stacks_on and m.group == "stacked"}
    shipped = [Variant(f"{method_label(m)}, R={r}%", m, r) for m in APP_EXT["methods"]
               for r in shipped_reductions(directory, dataset, model, m)]
    parents = ([Variant("", "lmf", lmf_reduction)] if lmf_reduction else []) + shipped
    stacks = [Variant(f"{method_label(stack_of[v.method])}, R={v.reduction}%", v.method, v.reduction, 8)
              for v in parents if v.method in stack_of]
    return shipped + stacks


@dataclass
class Prediction:
    label: str
    confidence: float
    latency_ms: float
    unknown: list
    tokens: int
    truncated: bool


def predict_text(model, vocab, label_names, text):
    """One sentence through lmf.metrics.classify, timed; unknown words and truncation reported.
    Inputs longer than lmf.tokenize.MAX_TOKENS tokens are cut there (the vocabulary's encode does it)."""
    tokens = tokenize(text)
    start = time.perf_counter()
    label, confidence = classify(model, vocab, label_names, [text])[0]
    latency = (time.perf_counter() - start) * 1000
    unknown = unknown_tokens(text, vocab.stoi)
    return Prediction(label, confidence, latency, unknown, len(tokens), len(tokens) > MAX_TOKENS)


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
