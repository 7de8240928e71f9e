"""scripts/bench_autotune.py's judgements, worked by hand: the verdict against fastText.zip, and the
size question's answer from a results.csv (the best on dev among lmf's models that fit)."""
import importlib.util

import pytest

from conftest import ROOT
from lmf.results import RESULT_COLUMNS, write_rows

spec = importlib.util.spec_from_file_location("bench_autotune", ROOT / "scripts" / "bench_autotune.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def side(size, *tests):
    return {"bytes": size, "test": bench.spread(list(tests))}


def test_verdict_asks_for_fewer_bytes_and_more_than_the_larger_spread():
    """lmf 100 kB at 0.80/0.81/0.82 (mean 0.81, spread 2 points) against fastText.zip 1 MB at
    0.78/0.785/0.79 (mean 0.785, spread 1): +2.50 points beats the larger spread, 2.00; the same
    accuracies at 2 MB are not fewer bytes; at a mean of 0.80 (+1.50) the gain is within the spread."""
    ft = side(1_000_000, 0.78, 0.785, 0.79)
    assert bench.verdict(side(100_000, 0.80, 0.81, 0.82), ft) == \
        "beats fastText.zip: 0.10x the bytes, +2.50 points (seed spread 2.00)"
    assert bench.verdict(side(2_000_000, 0.80, 0.81, 0.82), ft).startswith("does not beat fastText.zip on bytes:")
    assert bench.verdict(side(100_000, 0.79, 0.80, 0.81), ft) == (
        "does not beat fastText.zip on accuracy beyond the spread: 0.10x the bytes, +1.50 points (seed spread 2.00)")


def row(model, method, reduction, size, dev, test, seed=0):
    return {**dict.fromkeys(RESULT_COLUMNS), "dataset": "sst2", "model": model, "method": method,
            "embedding_reduction_pct": reduction, "size_bytes": size, "dev_accuracy": dev, "accuracy": test,
            "seed": seed}


def test_the_sweep_answers_the_size_question_by_dev_accuracy(tmp_path):
    """Of the rows at most 500,000 bytes, seed 0, fastText left out: the LSTM at 0.84 dev (test 0.83)
    beats the DAN at 0.83 dev although the DAN tests higher (0.85): the choice is made on dev, as
    autotune makes it. The bigger LMF model (0.86 dev, 600 kB), seed 1's row and fastText.zip (0.9
    dev, 400 kB) are not candidates. A limit nothing fits gives None."""
    write_rows(tmp_path / "results.csv", [
        row("dan", "lmf_int8", 95, 300_000, 0.83, 0.85), row("lstm", "prune_lmf_int8", 95, 450_000, 0.84, 0.83),
        row("dan", "lmf", 90, 600_000, 0.86, 0.86), row("lstm", "prune_lmf_int8", 95, 450_000, 0.88, 0.87, seed=1),
        row("fasttext", "fasttext_ftz", 0, 400_000, 0.9, 0.9)], RESULT_COLUMNS)
    assert bench.sweep_under(tmp_path, "sst2", 500_000) == {
        "model": "lstm", "method": "prune_lmf_int8", "R": 95, "bytes": 450_000, "dev": 0.84, "test": 0.83}
    assert bench.sweep_under(tmp_path, "sst2", 1_000) is None


def test_the_size_line_marks_each_answer_against_the_target():
    line = bench.size_line("sst2", 500_000, side(420_000, 0.82, 0.821, 0.822),
                           {"model": "lstm", "method": "prune_lmf_int8", "R": 95, "bytes": 425_147, "test": 0.8331})
    assert "lmf autotune --max-bytes: 420 kB, test 82.10% (82.00-82.20) [MISS]" in line
    assert line.endswith("425 kB, test 83.31% [ok]")
    assert bench.size_line("sst2", 500_000, side(1, 0.9), None).endswith("the sweep: no model fits")


@pytest.mark.parametrize("values,mean", [([0.5], 0.5), ([0.8, 0.9], 0.85)])
def test_spread(values, mean):
    s = bench.spread(values)
    assert s["mean"] == pytest.approx(mean) and (s["min"], s["max"]) == (min(values), max(values))
