"""sweep.targets: the checks, with comparisons at matched bytes and wins beyond the seed spread."""
from sweep.targets import core_targets, deployment_targets, extension_targets


def row(method, reduction, accuracy, size, std=None, model="dan", dataset="sst2", seeds=1):
    """A summary row; accuracies given in percent for reading, stored as fractions like lmf's."""
    return {"dataset": dataset, "model": model, "method": method, "embedding_reduction_pct": reduction,
            "accuracy": accuracy / 100, "accuracy_std": None if std is None else std / 100, "seeds": seeds,
            "size_bytes": size}


def test_core_targets():
    """Uncompressed DAN 83.00 < 83.5: not met. LMF R=90 (82.50) within 1 point of 83.00: met.
    LMF 82.50 >= offline SVD 80.00 at R=90: met. Only SST-2 and CLINC150 have such targets."""
    summary = [row("uncompressed", 0, 83.0, 20e6), row("lmf", 90, 82.5, 5e6), row("offline_svd", 90, 80.0, 5e6),
               row("uncompressed", 0, 70.0, 1e6, dataset="trec")]
    checks = {d: ok for d, _, ok in core_targets(summary)}
    assert checks == {"SST-2 DAN-RAND uncompressed >= 83.5 %": False,
                      "SST-2 DAN-RAND LMF R=90 within 1.0 points of uncompressed": True,
                      "SST-2 DAN-RAND LMF >= offline SVD at R=90": True}


def test_extensions_compare_at_the_nearest_bytes():
    """GroupReduce at R=90 takes 4.07 MB (its row map included). LMF R=90 is 4.32 MB and R=95 is
    4.02 MB: the nearest is R=95 (0.05 MB away) at 86.0, so GroupReduce's 85.3 does not match LMF,
    though at the same nominal R (LMF R=90, 84.0) it would have looked better."""
    summary = [row("uncompressed", 0, 90.0, 17e6), row("lmf", 90, 84.0, 4.32e6), row("lmf", 95, 86.0, 4.02e6),
               row("groupreduce", 90, 85.3, 4.07e6)]
    (description, measured, met), = [c for c in extension_targets(summary) if "GroupReduce" in c[0]]
    assert not met and "vs LMF R=95 86.00 at 4.020 MB" in measured and "85.30 at 4.070 MB" in measured


def test_a_win_over_fasttext_must_clear_the_seed_spread():
    """fastText: 3 MB, 81.0 ± 2.08. Ours: 1 MB at 82.0 ± 0.5 (gap 1.0 < 2.08: no win) and 2 MB at
    83.5 (gap 2.5 > 2.08: a win). The smallest clear winner is reported."""
    summary = [row("uncompressed", 0, 84.0, 20e6), row("lmf", 98, 82.0, 1e6, std=0.5), row("lmf", 95, 83.5, 2e6),
               row("fasttext", 0, 81.0, 3e6, std=2.08, model="fasttext")]
    (description, measured, met), = [c for c in extension_targets(summary) if "fastText" in c[0]]
    assert met and measured.startswith("DAN-RAND Online LMF (proposed) R=95: 2.000 MB, 83.50")
    summary[2]["accuracy"] = 0.825
    assert not [c for c in extension_targets(summary) if "fastText" in c[0]][0][2]


def test_one_twentieth_of_the_dan():
    """The DAN is 20 MB: 1/20 is 1 MB. LMF R=98 at 1 MB and 83.2 is within 1 point of 84.0."""
    summary = [row("uncompressed", 0, 84.0, 20e6), row("lmf", 98, 83.2, 1e6), row("lmf", 95, 83.9, 2e6)]
    (description, measured, met), = [c for c in extension_targets(summary) if "1/20" in c[0]]
    assert met and "1.000 MB (5.0 %), 83.20 vs 84.00" in measured


def timed(method, reduction, accuracy, size, latency, ratio, model="dan", std=None):
    return {**row(method, reduction, accuracy, size, std=std, model=model), "latency_ms_b1": latency,
            "latency_ratio_b1": ratio}


def test_deployment_targets():
    """fastText.zip: 1.35 MB, 81.0 %, 0.044 ms. Whole-model LMF + int8 R=98 (0.40 MB, 82.8 %,
    0.040 ms) is smaller, more accurate and not slower: met. LMF R=90 at 0.30 ms against 8-bit at
    0.20 ms is 1.50x: the paper's claim fails. int8 against fp32 by ratios to each cell's own
    uncompressed: 8-bit 0.20 / uncompressed 0.40 = 0.50x; LMF + int8 ratio 0.55 against LMF 0.75
    gives 0.73x: both faster, met."""
    summary = [timed("uncompressed", 0, 83.0, 21e6, 0.40, 1.0), timed("lmf", 90, 82.9, 5.3e6, 0.30, 0.75),
               timed("quant8", 0, 83.1, 5.4e6, 0.20, 0.50), timed("lmf_int8", 90, 82.7, 1.4e6, 0.22, 0.55),
               timed("lmf_whole_int8", 98, 82.8, 0.40e6, 0.040, 0.10),
               timed("fasttext_ftz", 0, 81.0, 1.35e6, 0.044, 0.11, model="fasttext")]
    checks = {d: (m, ok) for d, m, ok in deployment_targets(summary)}
    (measured, ok), = [v for d, v in checks.items() if "fastText.zip" in d]
    assert ok and measured.startswith("DAN-RAND Whole-model LMF + int8 R=98: 0.400 MB, 82.80 %, 0.040 ms")
    (measured, ok), = [v for d, v in checks.items() if "paper's claim" in d]
    assert not ok and "(1.50x)" in measured
    (measured, ok), = [v for d, v in checks.items() if "int8 no slower" in d]
    assert ok and measured == "8-bit (baseline 1) 0.50x, LMF + int8 R=90 0.73x"
