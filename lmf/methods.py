"""The registry of compression methods: one entry per method, and everything the rest needs to know.

Each `Method` says what it is called, where its model comes from (`source`: trained from scratch,
compressed from the uncompressed model, or stacked on another method's model), how it is made
(`make`, imported lazily so this module loads without torch), whether it is retrained after
compression, which architectures it applies to, what its R means, how its size is counted, and
how it is drawn. The sweep's runner, the grid, the report, the app and autotune all read this
table; none of them names a method in an if/elif.

Adding a method: write its compression function in its own module (as groupreduce.py does), then
add one `Method(...)` to METHODS below. The grid runs it at EXT_REDUCTIONS, the report and the
app list it, and its `+ int8` stack is one more entry with `source="<name>"`.

A method's `archs` are model kinds (lmf.models.KINDS): the n-gram DAN takes every method the DAN
takes. Vocabulary pruning (lmf.prune) changes which words a model reads; its model says so in its
config, so nothing else needs to know (lmf.ngrams.model_vocab).

Standard library only. Deliberately not here: the compression maths (lmf.compress,
lmf.groupreduce, lmf.quantize, lmf.prune) or running anything (sweep.runner).
"""
from dataclasses import dataclass

from .layout import LATENCY_METHODS, cell_id

DANS = ("dan", "dan_ngram")  # the model kinds that are DANs (lmf.models.KINDS)


def _lmf(model, reduction, vocab):
    from .compress import compress_model
    return compress_model(model, reduction)


def _hmf(model, reduction, vocab):
    from .compress import hmf_compress_model
    return hmf_compress_model(model, reduction)


def _groupreduce(model, reduction, vocab):
    from .groupreduce import groupreduce_compress_model
    return groupreduce_compress_model(model, _row_counts(model, vocab), reduction)


def _row_counts(model, vocab):
    """Training counts per embedding row: the words', then 0 for each n-gram bucket (lmf.ngrams:
    their counts are not kept, so they rank as the rarest rows)."""
    return list(vocab.counts) + [0] * (model.config.get("buckets") or 0)


def _prune(model, reduction, vocab):
    from .prune import prune_model
    return prune_model(model, vocab.counts, reduction)


def _prune_lmf(model, reduction, vocab):
    from .prune import prune_lmf_model
    return prune_lmf_model(model, vocab.counts, reduction)


def _prune_lmf_whole(model, reduction, vocab):
    from .prune import prune_lmf_model
    return prune_lmf_model(model, vocab.counts, reduction, whole=True)


def _lmf_whole(model, reduction, vocab):
    from .compress import compress_whole_model
    return compress_whole_model(model, reduction)


def _bits(bits):
    def quantize(model, reduction, vocab):
        from .quantize import quantize_model
        return quantize_model(model, bits)
    return quantize


@dataclass(frozen=True)
class Method:
    name: str
    label: str
    group: str  # the chart's legend group: baseline | factorization | stacked | pruning | reference
    source: str  # "scratch" (trained from nothing), "uncompressed", or the method it stacks on
    make: object = None  # (parent model, R, vocab) -> new model; None for "scratch" and references
    retrains: bool = False  # retrained after `make` (the paper's online step)
    archs: tuple = ("dan", "lstm", "dan_ngram")  # model kinds (lmf.models.KINDS) it applies to
    extension: bool = False  # beyond the paper's grid (left out by --core-only)
    reduction: str = "embedding"  # what R means: "embedding" parameters removed, or "none"
    # The deployable model's precision (lmf.export): fp32 exports the cell's own model; fp16 and
    # int8 export the source's model at that precision, the model `make` returns being the
    # paper's fixed-point simulation (results.csv's fixed_point_accuracy).
    deploy: str = "fp32"
    size: str = "bytes of the deployable export directory (model.onnx, tokenizer.json, words.zlib, manifest.json)"
    color: str = "#444444"
    symbol: str = "circle"  # a Plotly marker name; sweep.report maps it to matplotlib's
    line: bool = True  # joined across R on the size-vs-accuracy chart

    @property
    def deployed_method(self):
        """The method whose saved model this method's deployable export is made from."""
        return self.name if self.deploy == "fp32" else self.source

    @property
    def stacks_on(self):
        """The method whose retrained model this one quantizes, or None."""
        return self.source if self.source not in ("scratch", "uncompressed") else None


METHODS = {m.name: m for m in [
    Method("uncompressed", "Uncompressed", "baseline", "scratch", reduction="none", color="#111111",
           symbol="star", line=False),
    Method("lmf", "Online LMF (proposed)", "factorization", "uncompressed", _lmf, retrains=True,
           color="#d62728", symbol="circle"),
    Method("offline_svd", "Offline SVD (baseline 2)", "baseline", "scratch", color="#7f7f7f", symbol="square"),
    Method("quant16", "16-bit (baseline 1)", "baseline", "uncompressed", _bits(16), reduction="none", deploy="fp16",
           color="#1f77b4", symbol="triangle-up", line=False),
    Method("quant8", "8-bit (baseline 1)", "baseline", "uncompressed", _bits(8), reduction="none", deploy="int8",
           color="#ff7f0e", symbol="triangle-down", line=False),
    Method("hmf", "HMF", "factorization", "uncompressed", _hmf, retrains=True, extension=True,
           color="#2ca02c", symbol="diamond"),
    Method("groupreduce", "GroupReduce", "factorization", "uncompressed", _groupreduce, retrains=True,
           extension=True, size="bytes of the deployable export directory, its per-word row map included",
           color="#9467bd", symbol="cross"),
    Method("lmf_whole", "Whole-model LMF", "factorization", "uncompressed", _lmf_whole, retrains=True,
           archs=DANS, extension=True, color="#8c564b", symbol="x"),
    Method("lmf_int8", "LMF + int8", "stacked", "lmf", _bits(8), extension=True, deploy="int8", color="#e377c2",
           symbol="circle-open"),
    Method("groupreduce_int8", "GroupReduce + int8", "stacked", "groupreduce", _bits(8), extension=True, deploy="int8",
           color="#17becf", symbol="cross-open"),
    Method("lmf_whole_int8", "Whole-model LMF + int8", "stacked", "lmf_whole", _bits(8), archs=DANS,
           extension=True, deploy="int8", color="#bcbd22", symbol="x-open"),
    Method("prune", "Vocabulary pruning", "pruning", "uncompressed", _prune, retrains=True, extension=True,
           color="#f39c12", symbol="square-open"),
    Method("prune_lmf", "Pruning + LMF", "pruning", "uncompressed", _prune_lmf, retrains=True, extension=True,
           color="#16a085", symbol="diamond-open"),
    Method("prune_lmf_whole", "Pruning + whole-model LMF", "pruning", "uncompressed", _prune_lmf_whole,
           retrains=True, archs=DANS, extension=True, color="#5b2c6f", symbol="x-open"),
    Method("prune_int8", "Pruning + int8", "pruning", "prune", _bits(8), extension=True, deploy="int8",
           color="#a04000", symbol="triangle-up-open"),
    Method("prune_lmf_int8", "Pruning + LMF + int8", "pruning", "prune_lmf", _bits(8), extension=True, deploy="int8",
           color="#0b5345", symbol="triangle-down-open"),
    Method("prune_lmf_whole_int8", "Pruning + whole-model LMF + int8", "pruning", "prune_lmf_whole", _bits(8),
           archs=DANS, extension=True, deploy="int8", color="#d98880", symbol="star-open"),
    Method("fasttext", "fastText", "reference", "scratch", archs=("fasttext",), extension=True, reduction="none",
           size="bytes of fastText's model.bin", color="#393b79", symbol="hexagon", line=False),
    Method("fasttext_ftz", "fastText.zip", "reference", "fasttext", archs=("fasttext",), extension=True,
           reduction="none", size="bytes of fastText's model.ftz", color="#637939", symbol="hexagon-open",
           line=False),
]}
METHOD_ORDER = tuple(METHODS)  # the order tables and charts list them in
REFERENCE_METHODS = tuple(name for name, m in METHODS.items() if m.group == "reference")
GROUP_NAMES = {"baseline": "Baselines", "factorization": "Factorization", "stacked": "Factorization + int8",
               "pruning": "Vocabulary pruning (+ LMF, + int8)", "reference": "fastText (reference)"}


def method_label(name):
    return METHODS[name].label if name in METHODS else name


def methods_where(extension=None, arch=None):
    """Names of the methods matching the filters, in registry order (references excluded unless
    `arch` is "fasttext")."""
    return [name for name, m in METHODS.items()
            if (extension is None or m.extension == extension) and (arch is None or arch in m.archs)]


@dataclass(frozen=True)
class Cell:
    """One trial: a method of METHODS applied at R with a seed to a model of a data set (the sweep
    also has cells that time other cells: method latency / latency_ext). Its id names its files."""
    dataset: str
    model: str  # dan | lstm | fasttext
    method: str  # a name of METHODS, or latency / latency_ext
    reduction: int = 0
    seed: int = 0
    schedule: str = "calr"

    @property
    def id(self):
        return cell_id(self.dataset, self.model, self.method, self.reduction, self.seed, self.schedule)

    @classmethod
    def of_row(cls, row):
        """The cell a results.csv row was measured in (the sweep's rows are all CALR)."""
        return cls(row["dataset"], row["model"], row["method"], row["embedding_reduction_pct"], row["seed"])

    @property
    def is_latency(self):
        return self.method in LATENCY_METHODS

    @property
    def deployed_from(self):
        """The cell whose saved model this cell's deployable export is made from: itself for an fp32
        method, else its source (the uncompressed model for 8/16-bit, the retrained one for a stack)."""
        return self.with_method(METHODS[self.method].deployed_method)

    def with_method(self, method, reduction=None):
        """The cell of `method` for the same dataset, model and seed (uncompressed: R = 0)."""
        reduction = 0 if method == "uncompressed" else (self.reduction if reduction is None else reduction)
        return Cell(self.dataset, self.model, method, reduction, self.seed)
