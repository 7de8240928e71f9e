"""lmf.methods: the registry every part of the project reads."""
import pytest
import torch

from lmf.data import Vocab
from lmf.methods import METHODS, REFERENCE_METHODS, methods_where
from lmf.models import new_model


def test_registry_is_consistent():
    """Every stacked method stacks on a registered one that applies to the same architectures;
    colours are distinct (one chart draws them all); fastText is the only reference."""
    for name, method in METHODS.items():
        if method.stacks_on:
            assert method.stacks_on in METHODS and set(method.archs) <= set(METHODS[method.stacks_on].archs)
    colours = [m.color for m in METHODS.values()]
    assert len(set(colours)) == len(colours)
    assert REFERENCE_METHODS == ("fasttext", "fasttext_ftz")
    assert methods_where(extension=True, arch="lstm") == ["hmf", "groupreduce", "lmf_int8", "groupreduce_int8",
                                                          "prune", "prune_lmf", "prune_int8", "prune_lmf_int8"]
    # The n-gram DAN (lmf.models.KINDS) takes every method the DAN takes.
    assert methods_where(arch="dan_ngram") == methods_where(arch="dan")


@pytest.mark.parametrize("kind", ["dan", "dan_ngram"])
@pytest.mark.parametrize("name", [n for n, m in METHODS.items() if m.make is not None and m.group != "reference"])
def test_every_make_returns_a_new_model_that_runs(name, kind):
    """Each method's `make` on a 12-word DAN with a 32-wide embedding (and 16 bigram buckets for the
    n-gram DAN) at R = 50 returns a copy (the parent's weights unchanged) that classifies a batch;
    quantizing methods record `bits`; pruning keeps the n-grams, in fewer buckets."""
    vocab = Vocab(["<pad>", "<unk>"] + [f"w{i}" for i in range(10)], [0, 0] + list(range(10, 0, -1)))
    parent = new_model(kind, len(vocab), 2, embed_dim=32, seed=0, buckets=16 if kind == "dan_ngram" else None)
    before = {k: v.clone() for k, v in parent.state_dict().items()}
    child = METHODS[name].make(parent, 50, vocab)
    assert child is not parent and all(torch.equal(before[k], v) for k, v in parent.state_dict().items())
    assert child(torch.tensor([[2, 3, 4], [5, 0, 0]])).shape == (2, 2)
    assert ("bits" in child.config) == (name in ("quant16", "quant8", "lmf_int8", "groupreduce_int8", "lmf_whole_int8",
                                                 "prune_int8", "prune_lmf_int8", "prune_lmf_whole_int8"))
    assert child.config.get("ngrams") == (2 if kind == "dan_ngram" else None)
    if name in ("prune", "prune_lmf", "prune_lmf_whole") and kind == "dan_ngram":
        assert child.config["buckets"] < 16 and child.config["vocab_size"] == child.config["kept_words"] + child.config["buckets"]
