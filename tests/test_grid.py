"""sweep.grid: the cells of the quick and full grids, in stages."""
from lmf.names import MODEL_KINDS, MODELS
from sweep.grid import plan


def test_quick_plan():
    """Per (dataset, model), quick core grid (reductions 50 and 90, seed 0): stage 1 = uncompressed
    with CALR, CLR and AdaGrad + offline SVD at 2 reductions = 5 cells; stage 2 = LMF at 2
    reductions + 16- and 8-bit = 4; stage 3 = 1 latency cell. The n-gram DAN has no paper baselines
    (offline SVD, CLR, AdaGrad): 1, 4, 1. Two datasets x (two paper models + the n-gram DAN):
    2 x (5 + 5 + 1) = 22, 2 x 12 = 24, 6.

    The extension (R = 90 only in quick mode): the DAN's stage 2 gains HMF, GroupReduce, whole-model
    LMF, vocabulary pruning, pruning + LMF, pruning + whole-model LMF and fastText (per dataset) = 7,
    stage 4 holds the six int8 stacks on them and fastText.zip = 7, stage 5 one latency_ext cell;
    the n-gram DAN gains 6, 6, 1 (fastText stands beside the DAN only); the LSTM 4 (HMF,
    GroupReduce, pruning, pruning + LMF), 4 (their int8 stacks) and 1. Two datasets:
    24 + 2 x (7 + 6 + 4) = 58, 2 x 17 = 34, 6."""
    assert [len(s) for s in plan(quick=True, core_only=True)] == [22, 24, 6]
    assert [len(s) for s in plan(quick=True)] == [22, 58, 6, 34, 6]
    core = plan(["sst2"], ["dan"], quick=True, core_only=True)
    one = plan(["sst2"], ["dan"], quick=True)
    assert [len(s) for s in one] == [5, 11, 1, 7, 1]
    assert one[0] == core[0] and one[1][:4] == core[1] and one[2] == core[2]  # core cells first, unchanged
    assert len({c.id for stage in one for c in stage}) == 25  # every cell has its own file
    assert [c.method for c in one[3]] == ["lmf_int8", "groupreduce_int8", "lmf_whole_int8", "prune_int8",
                                         "prune_lmf_int8", "prune_lmf_whole_int8", "fasttext_ftz"]
    grams = plan(["sst2"], ["dan_ngram"], quick=True)
    assert [len(s) for s in grams] == [1, 10, 1, 6, 1]
    assert {c.method for s in grams for c in s} >= {"uncompressed", "lmf", "prune", "prune_lmf_int8", "latency_ext"}
    assert not {c.method for s in grams for c in s} & {"offline_svd", "fasttext"}


def test_the_plan_runs_every_model_kind():
    """The next regeneration's default plan holds the paper's two models and the n-gram DAN."""
    assert MODEL_KINDS == MODELS + ("dan_ngram",)
    assert {c.model for stage in plan(quick=True) for c in stage} == {*MODEL_KINDS, "fasttext"}


def test_full_plan_seeds():
    """Full grid per (dataset, model): uncompressed 3 seeds + CLR + AdaGrad = 5; offline SVD at 7
    reductions, 50 and 90 with 3 seeds: 5 + 2 * 3 = 11; LMF likewise 11; quantization 2 x 3 = 6;
    latency 1. Stage sizes per (dataset, model): 16, 17, 1.

    The extension for the DAN: HMF, GroupReduce, whole-model LMF, pruning, pruning + LMF and
    pruning + whole-model LMF at R = 90 (3 seeds), 95, 98 (seed 0): 6 x 5 = 30, plus 3 fastText
    seeds in stage 2; their six int8 stacks 30 + 3 fastText.zip in stage 4; 1 latency_ext. The
    LSTM: HMF and GroupReduce 2 x 5 = 10, pruning and pruning + LMF at seed 0 only 2 x 3 = 6, so
    stage 2 is 17 + 16 = 33; their stacks 5 + 5 + 3 + 3 = 16; 1. The n-gram DAN: 3 uncompressed
    seeds; LMF at 7 R with 3 seeds at 90 only (9) + 16- and 8-bit seed 0 (2) + 6 methods at R = 90
    and 98, seed 0 (12) = 23; 1; 6 stacks x 2 = 12; 1.

    The default grid trims the LSTM's offline SVD to the seeded R (2 x 3 = 6, so stage 1 is
    5 + 6 = 11) and drops CLR/AdaGrad for the CLINC150 LSTM (3 + 6 = 9); --full restores 16."""
    assert [len(s) for s in plan(["sst2"], ["dan"], core_only=True)] == [16, 17, 1]
    assert [len(s) for s in plan(["sst2"], ["dan"])] == [16, 50, 1, 33, 1]
    assert [len(s) for s in plan(["sst2"], ["lstm"])] == [11, 33, 1, 16, 1]
    assert [len(s) for s in plan(["sst2"], ["dan_ngram"])] == [3, 23, 1, 12, 1]
    assert [len(s) for s in plan(["clinc150"], ["lstm"], core_only=True)] == [9, 17, 1]
    assert [len(s) for s in plan(["sst2"], ["lstm"], full=True)] == [16, 33, 1, 16, 1]
