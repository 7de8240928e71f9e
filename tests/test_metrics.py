"""lmf.metrics: FLOPs (eq. 9, 10), latency, bytes on disk, predictions and accuracy."""
import math

import pytest
import torch

from lmf.metrics import (RESULT_THREADS, accuracy, classify, count_parameters, flops_dense, flops_factorized,
                         fraction_correct, majority_rate, predict, size_on_disk, torch_threads)
from lmf.models import build_model, default_config


def test_flops_dense_eq9():
    """(2m - 1) n: m = 300, n = 1024 -> 599 * 1024 = 613,376; m = 4, n = 3 -> 7 * 3 = 21
    (three dot products of length 4: 4 multiplications + 3 additions each)."""
    assert flops_dense(300, 1024) == 613_376
    assert flops_dense(4, 3) == 21


def test_flops_factorized_eq10():
    """2 (m + n) k - (n + k): m = 14818, n = 300, k = 29 -> 2 * 15118 * 29 - 329 = 876,844 - 329
    = 876,515; m = 4, n = 3, k = 1 -> 14 - 4 = 10."""
    assert flops_factorized(14818, 300, 29) == 876_515
    assert flops_factorized(4, 3, 1) == 10


@pytest.mark.parametrize("m, n, k", [(4, 3, 1), (300, 1024, 29), (10, 10, 10)])
def test_factorized_is_two_dense_products(m, n, k):
    """x W_a then (x W_a) W_b: (2m - 1) k + (2k - 1) n = 2mk - k + 2kn - n = 2(m + n)k - (n + k)."""
    assert flops_factorized(m, n, k) == flops_dense(m, k) + flops_dense(k, n)


def test_factorization_saves_flops_below_break_even():
    """F_S < F_Q roughly when k < m n / (m + n): for m = 300, n = 1024 that is 226.8; k = 200
    saves, k = 250 does not."""
    assert flops_factorized(300, 1024, 200) < flops_dense(300, 1024) < flops_factorized(300, 1024, 250)


def test_size_on_disk(tmp_path):
    """A directory counts every file below it: 10 + 25 bytes = 35; a file counts itself."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.bin").write_bytes(b"x" * 10)
    (tmp_path / "sub" / "b.bin").write_bytes(b"y" * 25)
    assert size_on_disk(tmp_path) == 35
    assert size_on_disk(tmp_path / "a.bin") == 10


def always_positive():
    """A DAN whose output layer ignores its input: weights 0, biases [0, 2]. Every text gets
    p(positive) = e^2 / (1 + e^2) = 0.8808."""
    model = build_model(default_config("dan", 10, 2, embed_dim=4))
    with torch.no_grad():
        model.out.weight.zero_()
        model.out.bias.copy_(torch.tensor([0.0, 2.0]))
    return model


def test_classify(toy):
    """A model answering logits (0, 2) to everything: positive at e^2 / (1 + e^2), unknown words
    included. An empty text or a bare string is refused as lmf.runtime.Predictor refuses them (a
    string would be one text per character), naming the text."""
    model = always_positive()
    out = classify(model, toy.vocab, toy.label_names, ["good movie", "never seen words"])
    assert [label for label, _ in out] == ["positive"] * 2
    assert [p for _, p in out] == pytest.approx([math.exp(2) / (1 + math.exp(2))] * 2, abs=1e-6)
    with pytest.raises(ValueError, match=r"text 1 \('\\u200b'\) is empty or has no token"):
        classify(model, toy.vocab, toy.label_names, ["good movie", "\u200b"])
    with pytest.raises(TypeError, match=r"wrap one text in a list: classify\(\[text\]\)"):
        classify(model, toy.vocab, toy.label_names, "good")


def test_accuracy_of_constant_model(toy):
    """The toy dev split is [positive, negative]; always answering positive is right half the time."""
    assert accuracy(always_positive(), toy, "dev") == 0.5


def test_predict_restores_training_mode_and_batches():
    model = always_positive().train()
    probs = predict(model, torch.randint(1, 10, (7, 3)), batch_size=3)
    assert probs.shape == (7, 2) and torch.allclose(probs.sum(1), torch.ones(7))
    assert model.training


def test_count_parameters():
    """DAN V = 10, d = 4, 2 classes: 40 + (4*1024 + 1024) + (1024*512 + 512) + (512*2 + 2)
    = 40 + 5,120 + 524,800 + 1,026 = 530,986."""
    assert count_parameters(always_positive()) == 530_986


def test_fraction_correct_and_majority_rate():
    """The one accuracy: [1, 0, None, 1] against [1, 1, 0, 1] is 2 / 4 (None, no prediction, is
    wrong); label names work as ids do; no examples give 0.0; lengths must match. The majority rate
    of [a, b, b, c] is 2 / 4 (always answering b)."""
    assert fraction_correct([1, 0, None, 1], [1, 1, 0, 1]) == 0.5
    assert fraction_correct(["pos", "neg"], ["pos", "pos"]) == 0.5 and fraction_correct([], []) == 0.0
    with pytest.raises(ValueError, match="3 predictions for 2 examples"):
        fraction_correct([1, 1, 1], [1, 1])
    assert majority_rate(["a", "b", "b", "c"]) == 0.5 and majority_rate([]) == 0.0


def test_predict_runs_on_the_result_thread_count_and_restores_the_callers():
    """predict (so accuracy and classify) computes on RESULT_THREADS threads, so a near tie breaks
    alike on any machine, and gives the caller's count back; torch_threads restores it on an error."""
    seen = []

    class Spy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))  # predict finds the device from a parameter

        def forward(self, ids):
            seen.append(torch.get_num_threads())
            return torch.zeros(len(ids), 2)
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        predict(Spy(), torch.ones(3, 2, dtype=torch.long))
        assert seen == [RESULT_THREADS] and torch.get_num_threads() == 2
        with pytest.raises(RuntimeError), torch_threads(1):
            raise RuntimeError("inside")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)
