"""The precompute grid: which (dataset, model, method, reduction, seed) cells the sweep runs, in stages.

Stages run in order; a cell only needs cells of earlier stages:
  1. uncompressed models (CALR, plus CLR and AdaGrad for Table 1) and offline-SVD models (baseline 2),
  2. every method that compresses an uncompressed model and retrains it (LMF, HMF, GroupReduce,
     whole-model LMF: lmf.methods says which), 8/16-bit quantization, and fastText,
  3. latency: every core variant of one (dataset, model) timed in one process, interleaved,
  4. the int8 stacks (a stage-2 model quantized after training) and fastText.zip,
  5. latency_ext: the seed-0 extension variants timed together with the uncompressed model.
`core_only` keeps the paper's grid (stages 1-3 without the extension methods).

Standard library only: the app reads the names and defaults here before torch loads.
Deliberately not here: running a cell (lmf.runner) or writing artifacts/ (lmf.assemble).
"""
import re
from dataclasses import dataclass

from .layout import LATENCY_METHODS, cell_id
from .methods import METHODS, methods_where

DATASETS = ("sst2", "clinc150")
MODELS = ("dan", "lstm")
DATASET_NAMES = {"sst2": "SST-2", "clinc150": "CLINC150"}
MODEL_NAMES = {"dan": "DAN-RAND", "lstm": "LSTM", "fasttext": "fastText"}
DEFAULT_DATASET, DEFAULT_MODEL, DEFAULT_REDUCTION = "sst2", "dan", 90
DEFAULT_TOLERANCE = 1.0  # accuracy points the home page's recommendation accepts at first

REDUCTIONS = (10, 30, 50, 70, 90, 95, 98)
SEEDED_REDUCTIONS = (50, 90)  # these, and the uncompressed models, run with every seed
SEEDS = (0, 1, 2)
EXT_REDUCTIONS = (90, 95, 98)  # the extension methods and their int8 stacks
EXT_SEEDED = (90,)  # with every seed; the other reductions seed 0 only
QUICK = {"reductions": (50, 90), "ext_reductions": (90,), "seeds": (0,), "n_train": 400, "n_eval": 150,
         "max_steps": 12}
# Retrained models shipped in artifacts/models for the app: LMF at these R for every pair; the
# extension methods at R = 90 for SST-2 only, to keep artifacts/ under ARTIFACTS_BUDGET_BYTES;
# and the model the home page recommends at DEFAULT_TOLERANCE (lmf.assemble), so it downloads.
APP_REDUCTIONS = (50, 90, 98)
APP_EXT = {"methods": ("hmf", "groupreduce", "lmf_whole"), "reduction": 90, "datasets": ("sst2",)}
ARTIFACTS_BUDGET_BYTES = 120 * 10**6


def check_dataset_name(name):
    """`name` if it can name a custom dataset's cells, else ValueError: lowercase letters, digits and
    underscores, starting with a letter (a '-' would split the cell id's fields, lmf.layout.cell_id),
    and not a name lmf.data already gives a dataset."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name or ""):
        raise ValueError(f"dataset name {name!r}: use lowercase letters, digits and underscores, starting with a "
                         "letter (no '-': it separates the fields of a cell id)")
    if name in DATASETS:
        raise ValueError(f"dataset name {name!r} is lmf's own {DATASET_NAMES[name]}; give the directory another name")
    return name


def dataset_name(name):
    return DATASET_NAMES.get(name, name)


def model_name(name):
    return MODEL_NAMES.get(name, name)


@dataclass(frozen=True)
class Cell:
    dataset: str
    model: str  # dan | lstm | fasttext
    method: str  # a name of lmf.methods.METHODS, or latency / latency_ext
    reduction: int = 0
    seed: int = 0
    schedule: str = "calr"

    @property
    def id(self):
        return cell_id(self.dataset, self.model, self.method, self.reduction, self.seed, self.schedule)

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


def plan(datasets=DATASETS, models=MODELS, quick=False, core_only=False, full=False):
    """The cells, as the stages of the module docstring.

    The default grid fits the 2-core CPU budget: the LSTM's offline-SVD baseline (a full LSTM
    training per cell, the costliest cells) runs only at the seeded R values, and CLR/AdaGrad
    (Table 1, an SST-2 table in the paper) are not run for the CLINC150 LSTM. `full=True` runs
    every method at every R, for a machine with a GPU.
    """
    reductions = QUICK["reductions"] if quick else REDUCTIONS
    seeds = QUICK["seeds"] if quick else SEEDS
    stages = [[] for _ in range(5)]
    for ds in datasets:
        for arch in models:
            seeded = lambda r: seeds if (r in SEEDED_REDUCTIONS or quick) else seeds[:1]
            cheap = full or quick or arch == "dan"
            offline = reductions if cheap else [r for r in reductions if r in SEEDED_REDUCTIONS]
            schedules = ("clr", "adagrad") if (cheap or ds == "sst2") else ()
            stages[0] += [Cell(ds, arch, "uncompressed", 0, s) for s in seeds]
            stages[0] += [Cell(ds, arch, "uncompressed", 0, seeds[0], sched) for sched in schedules]
            stages[0] += [Cell(ds, arch, "offline_svd", r, s) for r in offline for s in seeded(r)]
            stages[1] += [Cell(ds, arch, "lmf", r, s) for r in reductions for s in seeded(r)]
            stages[1] += [Cell(ds, arch, q, 0, s) for q in ("quant16", "quant8") for s in seeds]
            stages[2].append(Cell(ds, arch, "latency"))
    if core_only:
        return stages[:3]
    ext_reductions = QUICK["ext_reductions"] if quick else EXT_REDUCTIONS
    for ds in datasets:
        for arch in models:
            seeded = lambda r: seeds if (r in EXT_SEEDED and not quick) else seeds[:1]
            for method in methods_where(extension=True, arch=arch):
                stage = 3 if METHODS[method].stacks_on else 1
                stages[stage] += [Cell(ds, arch, method, r, s) for r in ext_reductions for s in seeded(r)]
            stages[4].append(Cell(ds, arch, "latency_ext"))
        if "dan" in models:  # fastText is the reference beside the DAN, its closest kin
            stages[1] += [Cell(ds, "fasttext", "fasttext", 0, s) for s in seeds]
            stages[3] += [Cell(ds, "fasttext", "fasttext_ftz", 0, s) for s in seeds]
    return stages
