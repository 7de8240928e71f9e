"""lmf.prune: the rows kept at R, UNK's new row and the folded n-gram buckets worked by hand on a
6-word table, pruning + LMF's split of R, what pruning refuses, and a pruned model saved and
exported with only the words it kept (dropped words read as UNK in torch and in the runtime)."""

import numpy as np
import pytest
import torch

from lmf.artifacts import load_model, save_model
from lmf.compress import Infeasible, compress_model, compress_whole_model
from lmf.data import Vocab
from lmf.export import export_model
from lmf.models import new_model
from lmf.ngrams import NgramVocab, model_vocab
from lmf.prune import kept_rows, prune_lmf_model, prune_model
from lmf.quantize import quantize_model
from lmf.runtime import Predictor
from lmf.tokenize import UNK_ID

WORDS = Vocab(["<pad>", "<unk>", "good", "bad", "film", "movie"], [0, 0, 4, 3, 2, 1])
ROWS = [[0, 0], [9, 9], [1, 0], [6, 0], [0, 6], [6, 6]]


def six_word_dan(buckets=None, bucket_rows=()):
    """A DAN over WORDS with 2-d rows ROWS (and n-gram buckets with `bucket_rows`)."""
    extra = {"ngrams": 2, "buckets": buckets} if buckets else {}
    model = new_model("dan", len(WORDS), 2, embed_dim=2, seed=0, **extra)
    with torch.no_grad():
        model.embedding.table.weight.copy_(torch.tensor(ROWS + list(bucket_rows), dtype=torch.float32))
    return model.eval()


def test_kept_rows():
    """6 words, R = 50 (p = 0.5): floor(0.5 x 6) = 3 words. With 4 buckets beside them: B' = 2 (the
    largest divisor of 4 within 0.5 x 4), words floor(0.5 x 10) - 2 = 3. R = 60 of 6 words leaves
    floor(2.4) = 2 rows, too few for PAD, UNK and a word. Large R on a bigger table: 1,000 words and
    2^14 buckets at p = 0.1: 1,024 buckets (2^10 <= 1,638.4), floor(0.1 x 17,384) - 1,024 = 714 words."""
    assert kept_rows(6, 0, 0.5) == (3, 0)
    assert kept_rows(6, 4, 0.5) == (3, 2)
    assert kept_rows(1000, 2 ** 14, 0.1) == (714, 1024)
    with pytest.raises(Infeasible, match="leaves 2 rows for words"):
        kept_rows(6, 0, 0.4)


def test_prune_six_words_by_hand():
    """R = 50 keeps <pad>, <unk> and good (the most frequent word). bad, film and movie (counts 3, 2,
    1) now read as UNK, whose row becomes their count-weighted mean:
    (3 [6, 0] + 2 [0, 6] + 1 [6, 6]) / 6 = [24, 18] / 6 = [4, 3]. The config says 3 rows, 3 kept
    words; the parent is untouched."""
    parent = six_word_dan()
    pruned = prune_model(parent, WORDS.counts, 50)
    assert pruned.embedding.table.weight.tolist() == [[0, 0], [4, 3], [1, 0]]
    assert (pruned.config["vocab_size"], pruned.config["kept_words"]) == (3, 3)
    assert parent.embedding.table.weight.tolist() == ROWS
    vocab = model_vocab(WORDS, pruned.config)
    assert vocab.itos == ["<pad>", "<unk>", "good"] and vocab.encode("good bad film") == [2, UNK_ID, UNK_ID]
    # The other layers are the parent's: "bad" through the pruned model is the parent on UNK's new row.
    with torch.no_grad():
        expected = parent.out(torch.relu(parent.layers[1](torch.relu(parent.layers[0](torch.tensor([[4.0, 3.0]]))))))
        assert torch.allclose(pruned(torch.tensor([[UNK_ID]])), expected)


def test_prune_folds_ngram_buckets_by_hand():
    """6 words and 4 buckets b0..b3 = [1, 0], [0, 1], [3, 0], [0, 3] at R = 50: 3 words and 2
    buckets, new bucket j the mean of old buckets j and j + 2: [2, 0] and [0, 2]. An n-gram of old
    bucket b lands in new bucket b mod 2 (h mod 2 = (h mod 4) mod 2), right after the 3 words."""
    parent = six_word_dan(4, [[1, 0], [0, 1], [3, 0], [0, 3]])
    pruned = prune_model(parent, WORDS.counts, 50)
    assert pruned.embedding.table.weight.tolist()[3:] == [[2, 0], [0, 2]]
    assert {k: pruned.config[k] for k in ("vocab_size", "kept_words", "ngrams", "buckets")} == \
        {"vocab_size": 5, "kept_words": 3, "ngrams": 2, "buckets": 2}
    old, new = model_vocab(WORDS, parent.config), model_vocab(WORDS, pruned.config)
    for text in ["good film", "bad movie", "film good movie bad"]:
        old_buckets = [i - 6 for i in old.encode(text)[len(text.split()):]]
        assert new.encode(text)[len(text.split()):] == [3 + b % 2 for b in old_buckets]


def test_prune_then_lmf_shares_r():
    """R = 87.5 (p = 0.125) of a 100 x 20 table: prune to 0.125^(1/3) = 0.5, 50 rows; LMF of those
    to 0.125 x 100 / 50 = 0.25 of their 1,000 weights: k = floor(0.25 x 50 x 20 / 70) = 3,
    3 x (50 + 20) = 210 weights <= 0.125 x 2,000 = 250."""
    vocab = Vocab(["<pad>", "<unk>"] + [f"w{i}" for i in range(98)], [0, 0] + list(range(98, 0, -1)))
    model = new_model("dan", 100, 2, embed_dim=20, seed=0)
    both = prune_lmf_model(model, vocab.counts, 87.5)
    assert (both.config["kept_words"], both.config["rank"], both.config["vocab_size"]) == (50, 3, 50)
    assert both.embedding.table.weight.shape == (50, 3)


def test_prune_then_whole_model_lmf():
    """The same split with whole-model LMF: the pruned table as above (rank 3), and the DAN's hidden
    layers at R's fraction 0.125 of their own, as whole-model LMF at R = 87.5 has them:
    20 x 1024 -> k = floor(0.125 x 20,480 / 1,044) = 2, 1024 x 512 -> k = floor(0.125 x 524,288 / 1,536) = 42."""
    vocab = Vocab(["<pad>", "<unk>"] + [f"w{i}" for i in range(98)], [0, 0] + list(range(98, 0, -1)))
    model = new_model("dan", 100, 2, embed_dim=20, seed=0)
    both = prune_lmf_model(model, vocab.counts, 87.5, whole=True)
    assert (both.config["kept_words"], both.config["rank"], both.config["hidden_ranks"]) == (50, 3, [2, 42])
    assert both.config["hidden_ranks"] == compress_whole_model(model, 87.5).config["hidden_ranks"]


def test_refusals():
    """Pruning keeps rows of a dense table: a factorized model (compress first, prune never) and a
    quantized one are refused; so is a vocabulary shorter than the table."""
    model = six_word_dan()
    with pytest.raises(ValueError, match="dense embedding"):
        prune_model(compress_model(model, 20), WORDS.counts, 50)
    with pytest.raises(ValueError, match="quantized"):
        prune_model(quantize_model(model, 8), WORDS.counts, 50)
    with pytest.raises(ValueError, match="5 word counts for a table of 6"):
        prune_model(model, WORDS.counts[:5], 50)


@pytest.mark.parametrize("buckets", [None, 4])
def test_pruned_model_saves_and_exports_only_its_words(tmp_path, buckets):
    """Saved with the full vocabulary, the pruned model keeps its 3 words (meta.json and the
    export's words.zlib); torch and ONNX Runtime agree on texts of kept, dropped and unknown words
    (fp32 logits within 1e-5, int8 the same argmax)."""
    model = six_word_dan(buckets, [[1, 0], [0, 1], [3, 0], [0, 3]] if buckets else ())
    pruned = prune_model(model, WORDS.counts, 50)
    saved = load_model(save_model(tmp_path / "model", pruned, WORDS, ["negative", "positive"]))
    assert saved.vocab.itos == ["<pad>", "<unk>", "good"] and isinstance(saved.vocab, NgramVocab) == bool(buckets)
    texts = ["good", "bad film", "good movie zzz", "film film good"]
    ids = [saved.vocab.encode(t) for t in texts]
    with torch.no_grad():
        expected = np.concatenate([saved.model(torch.tensor([row])).numpy() for row in ids])
    for precision in ("fp32", "int8"):
        out = export_model(saved.path, tmp_path / precision, precision=precision)
        assert Predictor(out).itos == ["<pad>", "<unk>", "good"]
        got = Predictor(out).logits(texts, batch_size=3)
        if precision == "fp32":
            np.testing.assert_allclose(got, expected, atol=1e-5)
        assert (got.argmax(1) == expected.argmax(1)).all()
