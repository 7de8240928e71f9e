"""sweep.grid: the cells of the quick and full grids, in stages."""
from sweep.grid import plan


def test_quick_plan():
    """Per (dataset, model), quick core grid (reductions 50 and 90, seed 0): stage 1 = uncompressed
    with CALR, CLR and AdaGrad + offline SVD at 2 reductions = 5 cells; stage 2 = LMF at 2
    reductions + 16- and 8-bit = 4; stage 3 = 1 latency cell. Two datasets x two models: 20, 16, 4.

    The extension (R = 90 only in quick mode): DAN stage 2 gains HMF, GroupReduce, whole-model LMF
    and fastText (per dataset) = 4, stage 4 holds LMF / GroupReduce / whole-model LMF + int8 and
    fastText.zip = 4, stage 5 one latency_ext cell; the LSTM gains 2 (HMF, GroupReduce), 2 (int8
    stacks) and 1. Two datasets: 16 + 2 * (4 + 2) = 28, 2 * (4 + 2) = 12, 4."""
    assert [len(s) for s in plan(quick=True, core_only=True)] == [20, 16, 4]
    assert [len(s) for s in plan(quick=True)] == [20, 28, 4, 12, 4]
    core = plan(["sst2"], ["dan"], quick=True, core_only=True)
    one = plan(["sst2"], ["dan"], quick=True)
    assert [len(s) for s in one] == [5, 8, 1, 4, 1]
    assert one[0] == core[0] and one[1][:4] == core[1] and one[2] == core[2]  # core cells first, unchanged
    assert len({c.id for stage in one for c in stage}) == 19  # every cell has its own file
    assert [c.method for c in one[3]] == ["lmf_int8", "groupreduce_int8", "lmf_whole_int8", "fasttext_ftz"]


def test_full_plan_seeds():
    """Full grid per (dataset, model): uncompressed 3 seeds + CLR + AdaGrad = 5; offline SVD at 7
    reductions, 50 and 90 with 3 seeds: 5 + 2 * 3 = 11; LMF likewise 11; quantization 2 x 3 = 6;
    latency 1. Stage sizes per (dataset, model): 16, 17, 1.

    The extension for the DAN: HMF, GroupReduce and whole-model LMF at R = 90 (3 seeds), 95, 98
    (seed 0): 3 x 5 = 15, plus 3 fastText seeds in stage 2; their int8 stacks (LMF, GroupReduce,
    whole-model LMF) 15 + 3 fastText.zip in stage 4; 1 latency_ext. The LSTM: 10, 10, 1.

    The default grid trims the LSTM's offline SVD to the seeded R (2 x 3 = 6, so stage 1 is
    5 + 6 = 11) and drops CLR/AdaGrad for the CLINC150 LSTM (3 + 6 = 9); --full restores 16."""
    assert [len(s) for s in plan(["sst2"], ["dan"], core_only=True)] == [16, 17, 1]
    assert [len(s) for s in plan(["sst2"], ["dan"])] == [16, 35, 1, 18, 1]
    assert [len(s) for s in plan(["sst2"], ["lstm"])] == [11, 27, 1, 10, 1]
    assert [len(s) for s in plan(["clinc150"], ["lstm"], core_only=True)] == [9, 17, 1]
    assert [len(s) for s in plan(["sst2"], ["lstm"], full=True)] == [16, 27, 1, 10, 1]
