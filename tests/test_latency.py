"""lmf.latency.measure: every contestant times the same texts, interleaved with a rotating order,
after a warm-up; torch's thread count is 1 inside and restored after."""
import torch

from lmf.latency import measure, torch_threads


def recorders(names):
    """Contestants that record (name, texts, torch threads) of every call, in one shared log."""
    log = []

    def make(name):
        return lambda texts: log.append((name, list(texts), torch.get_num_threads())) or ["x"] * len(texts)
    return {name: make(name) for name in names}, log


def test_every_contestant_sees_the_same_texts_in_rotating_order():
    """3 contestants, 5 texts, n_single 4, batches of 2, warm-up 2, 2 repeats. Calls per contestant:
    warm-up 2 singles + 1 batch, then 4 singles, then 2 repeats x 3 batches ([t0, t1], [t2, t3],
    [t4]) = 13. The singles are interleaved: text i runs contestants in the order rotated by i,
    so text 0 runs a, b, c, text 1 runs b, c, a, text 2 c, a, b, text 3 a, b, c."""
    texts = [f"t{i}" for i in range(5)]
    contestants, log = recorders(["a", "b", "c"])
    result = measure(contestants, texts, n_single=4, batch_size=2, repeats=2, warmup=2)
    assert set(result) == {"a", "b", "c"}
    assert all(r["latency_ms_b1"] > 0 and r["test_set_seconds"] > 0 for r in result.values())
    for name in "abc":
        calls = [texts_ for who, texts_, _ in log if who == name]
        assert len(calls) == 13
        assert calls[:3] == [["t0"], ["t1"], ["t0", "t1"]]
        assert calls[3:7] == [["t0"], ["t1"], ["t2"], ["t3"]]
        assert calls[7:] == [["t0", "t1"], ["t2", "t3"], ["t4"]] * 2
    singles = [who for who, texts_, _ in log[9:21]]  # after 3 x 3 warm-up calls
    assert singles == list("abc" "bca" "cab" "abc")
    assert {threads for *_, threads in log} == {1}


def test_torch_threads_restores_the_setting():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
