"""lmf.latency.measure: every contestant times the same texts, interleaved with a rotating order,
after a warm-up, at batch 1, over the whole set and in lists of 256 (throughput); torch's thread
count is 1 inside and restored after."""
import torch

from lmf import latency
from lmf.latency import measure, throughput_lists, torch_threads


def recorders(names):
    """Contestants that record (name, texts, torch threads) of every call, in one shared log."""
    log = []

    def make(name):
        return lambda texts: log.append((name, list(texts), torch.get_num_threads())) or ["x"] * len(texts)
    return {name: make(name) for name in names}, log


def test_every_contestant_sees_the_same_texts_in_rotating_order():
    """3 contestants, 5 texts, n_single 4, batches of 2, warm-up 2, 2 repeats. The throughput list
    is the 5 texts repeated to 256 (t0..t4 51 times, then t0). Calls per contestant: warm-up 2
    singles + 1 batch + the list of 256, then 4 singles, then per repeat 3 batches ([t0, t1],
    [t2, t3], [t4]) and the list = 4 + 4 + 2 x 4 = 16. The singles are interleaved: text i runs
    contestants in the order rotated by i, so text 0 runs a, b, c, text 1 runs b, c, a, text 2
    c, a, b, text 3 a, b, c; the list of repeat r in the order rotated by r."""
    texts = [f"t{i}" for i in range(5)]
    listed = (texts * 52)[:256]
    contestants, log = recorders(["a", "b", "c"])
    result = measure(contestants, texts, n_single=4, batch_size=2, repeats=2, warmup=2)
    assert set(result) == {"a", "b", "c"}
    assert all(r["latency_ms_b1"] > 0 and r["test_set_seconds"] > 0 and r["throughput_b256"] > 0
               for r in result.values())
    for name in "abc":
        calls = [texts_ for who, texts_, _ in log if who == name]
        assert len(calls) == 16
        assert calls[:4] == [["t0"], ["t1"], ["t0", "t1"], listed]
        assert calls[4:8] == [["t0"], ["t1"], ["t2"], ["t3"]]
        assert calls[8:] == [["t0", "t1"], ["t2", "t3"], ["t4"], listed] * 2
    singles = [who for who, texts_, _ in log[12:24]]  # after 3 x 4 warm-up calls
    assert singles == list("abc" "bca" "cab" "abc")
    lists = [who for who, texts_, _ in log if len(texts_) == 256][3:]  # after the warm-up's
    assert lists == list("abc" "bca")
    assert {threads for *_, threads in log} == {1}


def test_throughput_is_texts_over_time_at_batch_256(monkeypatch):
    """On a fake clock where contestant a takes 1 us per text and b 4 us per text in every call,
    600 texts give two lists of 256 (the rest of 88 left out): a runs each in 256 us, 1,000,000
    texts/s, b in 1024 us, 250,000 texts/s; batch 1 is 1 us and 4 us (0.001 and 0.004 ms). c is a
    but for two lists 100 times slower (the machine busy elsewhere; the first of repeats 0 and 1):
    the median of its 2 x 3 lists is still 1,000,000 (a median over repeats of each repeat's
    texts over its summed time would give 512 / 25.856 ms = 19,802)."""
    clock = [0]
    monkeypatch.setattr(latency.time, "perf_counter_ns", lambda: clock[0])

    def taking(us_per_text):
        def run(texts):
            clock[0] += us_per_text * 1000 * len(texts)
            return ["x"] * len(texts)
        return run
    def hiccup(texts, calls=[0]):  # 1 us per text, but the first list of repeats 0 and 1 takes 100 times that
        calls[0] += len(texts) == 256
        clock[0] += (100 if calls[0] in (2, 4) and len(texts) == 256 else 1) * 1000 * len(texts)
        return ["x"] * len(texts)
    result = measure({"a": taking(1), "b": taking(4), "c": hiccup}, [f"t{i}" for i in range(600)], n_single=10,
                     repeats=3)
    assert result["a"]["throughput_b256"] == 1_000_000 and result["b"]["throughput_b256"] == 250_000
    assert result["c"]["throughput_b256"] == 1_000_000  # the median of its 6 lists: the hiccups do not count
    assert result["a"]["latency_ms_b1"] == 0.001 and result["b"]["latency_ms_b1"] == 0.004


def test_throughput_lists():
    """600 texts: [0:256] and [256:512]; 100 texts: one list, the 100 twice then the first 56;
    none without texts, and none timed at batch 1 only (repeats=0: the Playground's way)."""
    texts = [str(i) for i in range(600)]
    assert throughput_lists(texts) == [texts[:256], texts[256:512]]
    assert throughput_lists(texts[:100]) == [texts[:100] * 2 + texts[:56]]
    assert throughput_lists([]) == []
    contestants, log = recorders(["a"])
    assert measure(contestants, texts[:3], n_single=3, batch_size=1, repeats=0, warmup=1)["a"]["throughput_b256"] is None
    assert max(len(texts_) for _, texts_, _ in log) == 1


def test_torch_threads_restores_the_setting():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_no_contestant_is_no_timing():
    """A (dataset, model) with nothing shipped gives the Playground and bench_app no Predictor:
    measure({}) is {} rather than a ZeroDivisionError in the rotation."""
    assert measure({}, ["good film"] * 3, n_single=3) == {}
