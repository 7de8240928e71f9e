"""The precompute grid: which (dataset, model, method, reduction, seed) cells the sweep runs, in stages.

Stages run in order; a cell only needs cells of earlier stages:
  1. uncompressed models (CALR, plus CLR and AdaGrad for Table 1) and offline-SVD models (baseline 2),
  2. every method that compresses an uncompressed model and retrains it (LMF, HMF, GroupReduce,
     whole-model LMF, vocabulary pruning, pruning + LMF: lmf.methods says which), 8/16-bit
     quantization, and fastText,
  3. latency: every core variant of one (dataset, model) timed in one process, interleaved,
  4. the int8 stacks (a stage-2 model quantized after training) and fastText.zip,
  5. latency_ext: the seed-0 extension variants timed together with the uncompressed model.
`core_only` keeps the paper's grid (stages 1-3 without the extension methods). Every model kind of
lmf.names.MODEL_KINDS is planned: the paper's DAN and LSTM, and the DAN with hashed bigrams.

Standard library only: the app reads what artifacts/ ships (APP_REDUCTIONS, APP_EXT) before torch
loads. Deliberately not here: the names every layer shares (lmf.names), what a cell is
(lmf.methods.Cell), running one (lmf.trial, sweep.runner) or writing artifacts/ (sweep.assemble).
"""
from lmf.methods import METHODS, Cell, methods_where
from lmf.names import DATASETS, MODEL_KINDS, MODELS, QUICK

REDUCTIONS = (10, 30, 50, 70, 90, 95, 98)
SEEDED_REDUCTIONS = (50, 90)  # these, and the uncompressed models, run with every seed
SEEDS = (0, 1, 2)
EXT_REDUCTIONS = (90, 95, 98)  # the extension methods and their int8 stacks
EXT_SEEDED = (90,)  # with every seed; the other reductions seed 0 only
# What a 2-core CPU affords beyond that: vocabulary pruning (the "pruning" group) on the LSTM, the
# costliest kind to retrain, runs seed 0 only; a kind beyond the paper's (the n-gram DAN) runs its
# uncompressed models and LMF at R = 90 with every seed, everything else seed 0, and the extension
# methods at NEW_KIND_EXT_REDUCTIONS only.
NEW_KIND_SEEDED = (90,)
NEW_KIND_EXT_REDUCTIONS = (90, 98)
# Retrained models shipped in artifacts/models for the app: LMF at these R for every pair; the
# extension methods at R = 90 for SST-2 only, to keep artifacts/ under ARTIFACTS_BUDGET_BYTES;
# and the model the home page recommends at lmf.names.DEFAULT_TOLERANCE (sweep.assemble), so it downloads.
APP_REDUCTIONS = (50, 90, 98)
APP_EXT = {"methods": ("hmf", "groupreduce", "lmf_whole"), "reduction": 90, "datasets": ("sst2",)}
ARTIFACTS_BUDGET_BYTES = 120 * 10**6


def plan(datasets=DATASETS, models=MODEL_KINDS, quick=False, core_only=False, full=False):
    """The cells, as the stages of the module docstring.

    The default grid fits the 2-core CPU budget: the LSTM's offline-SVD baseline (a full LSTM
    training per cell, the costliest cells) runs only at the seeded R values, and CLR/AdaGrad
    (Table 1, an SST-2 table in the paper) are not run for the CLINC150 LSTM. `full=True` runs
    every method at every R, for a machine with a GPU. A model kind beyond the paper's (MODELS:
    the n-gram DAN) gets the methods, not the paper's baselines: no offline SVD, no CLR/AdaGrad,
    and fewer seeds and reductions (NEW_KIND_SEEDED, NEW_KIND_EXT_REDUCTIONS).
    """
    reductions = QUICK["reductions"] if quick else REDUCTIONS
    seeds = QUICK["seeds"] if quick else SEEDS
    stages = [[] for _ in range(5)]
    for ds in datasets:
        for arch in models:
            paper_kind = arch in MODELS
            seeded_at = SEEDED_REDUCTIONS if paper_kind else NEW_KIND_SEEDED
            seeded = lambda r: seeds if (r in seeded_at or quick) else seeds[:1]
            quantized_seeds = seeds if (paper_kind or quick) else seeds[:1]  # the 8/16-bit baselines
            cheap = full or quick or arch == "dan"
            offline = reductions if cheap else [r for r in reductions if r in SEEDED_REDUCTIONS]
            schedules = ("clr", "adagrad") if (cheap or ds == "sst2") else ()
            if not paper_kind:
                offline, schedules = (), ()
            stages[0] += [Cell(ds, arch, "uncompressed", 0, s) for s in seeds]
            stages[0] += [Cell(ds, arch, "uncompressed", 0, seeds[0], sched) for sched in schedules]
            stages[0] += [Cell(ds, arch, "offline_svd", r, s) for r in offline for s in seeded(r)]
            stages[1] += [Cell(ds, arch, "lmf", r, s) for r in reductions for s in seeded(r)]
            stages[1] += [Cell(ds, arch, q, 0, s) for q in ("quant16", "quant8") for s in quantized_seeds]
            stages[2].append(Cell(ds, arch, "latency"))
    if core_only:
        return stages[:3]
    ext_reductions = QUICK["ext_reductions"] if quick else EXT_REDUCTIONS
    for ds in datasets:
        for arch in models:
            paper_kind = arch in MODELS
            at = ext_reductions if (paper_kind or quick) else NEW_KIND_EXT_REDUCTIONS
            for method in methods_where(extension=True, arch=arch):
                stage = 3 if METHODS[method].stacks_on else 1
                every_seed = (not quick and paper_kind
                              and not (arch == "lstm" and METHODS[method].group == "pruning"))
                seeded = lambda r: seeds if (r in EXT_SEEDED and every_seed) else seeds[:1]
                stages[stage] += [Cell(ds, arch, method, r, s) for r in at for s in seeded(r)]
            stages[4].append(Cell(ds, arch, "latency_ext"))
        if "dan" in models:  # fastText is the reference beside the DAN, its closest kin
            stages[1] += [Cell(ds, "fasttext", "fasttext", 0, s) for s in seeds]
            stages[3] += [Cell(ds, "fasttext", "fasttext_ftz", 0, s) for s in seeds]
    return stages
