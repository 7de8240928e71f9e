"""What the Streamlit app (app.py, pages/) computes, as plain functions it can call and tests can check.

Here: loading the sweep's saved models, schedules.csv and curves/ with messages that name what is
missing and the command that regenerates it; the extension models the Playground runs; an SVD-only
compression of the uncompressed model for an R between the grid's points; single-sentence
predictions with latency, unknown words and truncation; the live-retraining settings and a redraw throttle; the
learning-rate curves of the schedules page; the section 4 analysis (eq. 8-15).

Deliberately not here: results.csv, its summary and the selection a precomputed R stands for
(lmf.catalog, torch-free so the home page draws before this module loads); any Streamlit import,
caching or layout (app.py, ui.py and pages/ do that), and any new model, compression, quantization, training or metric code: those are reused from
lmf.compress, lmf.quantize, lmf.train, lmf.metrics, lmf.schedules and lmf.report.
"""
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from .artifacts import load_model, save_model
from .catalog import (METHOD_NAMES, REGENERATE, ArtifactError, Selection, curve_path, find, missing,
                      model_path, shipped_reductions, zip_dir)
from .compress import compress_model, rank_for_fraction
from .data import MAX_TOKENS, DataError, TextDataset, load_dataset, tokenize
from .metrics import accuracy, classify, count_parameters, flops_dense, flops_factorized, size_on_disk
from .schedules import make_schedule
from .sweep import APP_EXT, INT8_OF, QUICK, SCHEDULE_COLUMNS
from .train import retrain_recipe, with_schedule

FULL_PRECISION_BITS = 32


def _read_csv(path, columns, directory):
    # schedules.csv and the curves serve pages that load torch and pandas anyway; results.csv, which
    # the home page needs before they load, has its own reader in lmf.catalog (same messages).
    path = Path(path)
    if not path.is_file():
        raise missing(f"`{path.name}` is missing", directory)
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as e:
        raise missing(f"`{path.name}` is unreadable ({e})", directory) from e
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise missing(f"`{path.name}` lacks column(s) {absent}", directory)
    return frame


def read_schedules(directory):
    return _read_csv(Path(directory) / "schedules.csv", SCHEDULE_COLUMNS, directory)


def read_curve(directory, dataset, model, reduction, seed=0):
    """The precomputed retraining curve (step, dev_accuracy, lr) or None when it was not written."""
    path = curve_path(directory, dataset, model, reduction, seed)
    try:
        return _read_csv(path, ["step", "dev_accuracy", "lr"], directory)
    except ArtifactError:
        return None


def load_saved(directory, dataset, model, method="uncompressed", reduction=0):
    """lmf.artifacts.load_model on that path; ArtifactError (with the regenerate command) otherwise."""
    path = model_path(directory, dataset, model, method, reduction)
    if not path.exists():
        raise missing(f"model `models/{path.name}` is missing", directory)
    try:
        return load_model(path)
    except ArtifactError as e:
        raise ArtifactError(f"{e}. Regenerate the artifacts with `{REGENERATE}`.") from e


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
    whole-model LMF model under models/, then the int8 stacks (LMF at `lmf_reduction`, and
    GroupReduce and whole-model LMF), made by quantizing the shipped retrained model."""
    stack_of = {parent: stacked for stacked, parent in INT8_OF.items()}
    shipped = [Variant(f"{METHOD_NAMES[m]}, R={r}%", m, r) for m in APP_EXT["methods"]
               for r in shipped_reductions(directory, dataset, model, m)]
    parents = ([Variant("", "lmf", lmf_reduction)] if lmf_reduction else []) + shipped
    stacks = [Variant(f"{METHOD_NAMES[stack_of[v.method]]}, R={v.reduction}%", v.method, v.reduction, 8)
              for v in parents if v.method in stack_of]
    return shipped + stacks


def svd_only(saved, reduction, test_data=None):
    """(compressed model, Selection) for an R the sweep did not retrain: lmf.compress.compress_model
    on the uncompressed model (which is copied, never changed). Size is measured by saving it to a
    temporary directory; accuracy is on `test_data`'s test split when given, else None."""
    compressed = compress_model(saved.model, reduction)
    size = saved_size(compressed, saved.vocab, saved.label_names)
    acc = accuracy(compressed, test_data, "test") * 100 if test_data is not None else None
    return compressed, Selection("svd_only", reduction, compressed.config["rank"], count_parameters(compressed),
                                 float(size), acc, acc)


def zip_model(model, vocab, label_names, name):
    """Save a model with lmf.artifacts.save_model to a temporary directory and zip it."""
    with tempfile.TemporaryDirectory() as tmp:
        return zip_dir(save_model(Path(tmp) / name, model, vocab, label_names))


# ---------------------------------------------------------------- data matching a saved model

def evaluation_data(dataset, vocab, label_names, quick=False):
    """The dataset with the saved model's vocabulary (so ids match the model). In quick artifacts
    the sweep used the first examples only (lmf.sweep.QUICK); the same cut is applied here so the
    numbers are comparable. Raises DataError when the data cannot be found."""
    data = load_dataset(dataset)
    if quick:
        data = data.subset(QUICK["n_train"], QUICK["n_eval"])
    if list(data.label_names) != list(label_names):
        raise DataError(f"{dataset}: the data's labels do not match the saved model's")
    return TextDataset(data.name, data.train, data.dev, data.test, data.label_names, vocab=vocab)


def dev_subset(data, n):
    """A copy of `data` whose dev split is its first n examples (live curves evaluate faster)."""
    if n is None or n >= len(data.dev):
        return data
    dev = type(data.dev)(data.dev.texts[:n], data.dev.labels[:n])
    return TextDataset(data.name, data.train, dev, data.test, data.label_names, vocab=data.vocab)


# ---------------------------------------------------------------- playground

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
    Inputs longer than lmf.data.MAX_TOKENS tokens are cut there (the vocabulary's encode does it)."""
    tokens = tokenize(text)
    start = time.perf_counter()
    label, confidence = classify(model, vocab, label_names, [text])[0]
    latency = (time.perf_counter() - start) * 1000
    unknown = list(dict.fromkeys(t for t in tokens[:MAX_TOKENS] if t not in vocab.stoi))
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


# ---------------------------------------------------------------- live retraining

def live_config(arch, steps, schedule="calr", eval_every=None, seed=0):
    """lmf.train.retrain_recipe with a step budget: CALR or CLR with Adam as the sweep retrains,
    or AdaGrad at a constant rate (Table 1's third schedule). Evaluates about 25 times per run."""
    config = replace(retrain_recipe(arch), max_steps=int(steps), min_steps=0, seed=seed, device="cpu",
                     eval_every=eval_every or max(1, int(steps) // 25))
    return with_schedule(config, schedule)


class Throttle:
    """ready() is True at most once per `interval` seconds (the live chart's redraw limit)."""

    def __init__(self, interval=0.5):
        self.interval, self.last, self.gaps = interval, None, []

    def ready(self, force=False):
        now = time.perf_counter()
        if force or self.last is None or now - self.last >= self.interval:
            if self.last is not None:
                self.gaps.append(now - self.last)
            self.last = now
            return True
        return False

    @property
    def max_gap(self):
        return max(self.gaps, default=0.0)


# ---------------------------------------------------------------- schedules page

def schedule_frame(steps_per_epoch, epochs, lr_lb, lr_ub, step_size, decay, names=("clr", "calr")):
    """Long-format DataFrame (step, epoch, schedule, lr) of lmf.schedules' schedules."""
    total = max(1, int(steps_per_epoch * epochs))
    rows = []
    for name in names:
        schedule = make_schedule(name, steps_per_epoch, lr_lb, lr_ub, step_size, decay)
        rows += [{"step": i, "epoch": i / steps_per_epoch, "schedule": name.upper(), "lr": schedule(i)}
                 for i in range(total + 1)]
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- section 4

def measured_time_ratio(summary, method):
    """T_Q / T_S estimated from measured latencies: the quantized model does the same FLOPs as the
    uncompressed one, so the ratio of their latencies is the ratio of their times per FLOP.
    None when the latencies were not measured."""
    quant, base = find(summary, method), find(summary, "uncompressed")
    if quant is None or base is None or quant["latency_ms_b1"] is None or not base["latency_ms_b1"]:
        return None
    return quant["latency_ms_b1"] / base["latency_ms_b1"]


def section4(m, n, p, bits_quantized, bits_full=FULL_PRECISION_BITS, time_ratio=None):
    """The paper's section 4 for one m x n layer at fraction p = 1 - R against b-bit quantization.

    Returns k (eq. 5), F_Q and F_S (eq. 9-10), whether LMF does fewer FLOPs (eq. 11), is smaller
    (eq. 8: p < B_Q/B_S) and is faster (eq. 15: p < T_Q/T_S, with T_Q/T_S measured or, if None,
    assumed proportional to bits as the paper does), plus a one-line verdict."""
    k = rank_for_fraction(p, m, n)
    f_q, f_s = flops_dense(m, n), flops_factorized(m, n, k)
    space_ratio = bits_quantized / bits_full
    assumed = time_ratio is None
    time_ratio = space_ratio if assumed else time_ratio
    # eq. (13) exactly: F_Q T_Q > F_S T_S  <=>  F_Q / F_S > T_S / T_Q
    faster_exact = f_q * time_ratio > f_s
    out = {"k": k, "flops_quantized": f_q, "flops_lmf": f_s, "flop_ratio": f_s / f_q,
           "fewer_flops": f_s < f_q, "space_ratio": space_ratio, "smaller": p < space_ratio,
           "time_ratio": time_ratio, "time_ratio_assumed": assumed, "faster": p < time_ratio,
           "faster_exact": faster_exact, "params_lmf": k * (m + n), "params_dense": m * n}
    if out["smaller"] and out["faster"]:
        verdict = f"LMF wins: smaller than {bits_quantized}-bit quantization and faster (p = {p:.2f} is below both ratios)."
    elif out["smaller"]:
        verdict = (f"LMF is smaller than {bits_quantized}-bit quantization but not guaranteed faster: "
                   f"p = {p:.2f} is not below T_Q/T_S = {time_ratio:.2f}.")
    elif out["faster"]:
        verdict = (f"LMF is faster than {bits_quantized}-bit quantization but larger: "
                   f"p = {p:.2f} is not below B_Q/B_S = {space_ratio:.2f}.")
    else:
        verdict = (f"{bits_quantized}-bit quantization wins on both size and speed at p = {p:.2f}; "
                   f"compress harder (p below {min(space_ratio, time_ratio):.2f}).")
    out["verdict"] = verdict
    return out



def saved_size(model, vocab, label_names):
    """Bytes on disk the model takes when saved with lmf.artifacts.save_model (to a temporary dir)."""
    with tempfile.TemporaryDirectory() as tmp:
        return size_on_disk(save_model(Path(tmp) / "m", model, vocab, label_names))
