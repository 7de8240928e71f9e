"""lmf.ngrams: the FNV-1a token hash and fastText's n-gram hash worked by hand, the n-gram ids'
order, training's and the runtime's encoders agreeing on every text of the data folder, and which
vocabulary (and dataset view) a plain, pruned or n-gram model reads through."""
import os
import subprocess
import sys
from array import array

import pytest

from lmf.data import Split, TextDataset, Vocab
from lmf.ngrams import (FNV_OFFSET, FNV_PRIME, MIX, NgramEncoder, NgramVocab, from_settings, model_data, model_vocab,
                        ngram_ids, settings, token_hash)
from lmf.tokenize import MAX_TOKENS, UNK_ID
from test_tokenize import EDGE_TEXTS, every_text  # noqa: F401 (a fixture)


def test_token_hash_by_hand():
    """FNV-1a, 32 bits: h starts at 2166136261 (0x811C9DC5); per byte, XOR then times 16777619
    mod 2^32. "a" is one byte, 0x61: 0x811C9DC5 XOR 0x61 = 0x811C9DA4 = 2166136228;
    2166136228 x 16777619 = 36,342,608,335,481,132, mod 2^32 = 3,826,002,220 = 0xE40C292C.
    Likewise "b" (0x62): 3,876,335,077. The empty string is the offset itself; "foobar" is the
    published test vector 0xBF9CF968."""
    assert (FNV_OFFSET, FNV_PRIME) == (2166136261, 16777619)
    assert token_hash("a") == 3_826_002_220 == 0xE40C292C
    assert token_hash("b") == 3_876_335_077
    assert token_hash("") == FNV_OFFSET and token_hash("foobar") == 0xBF9CF968
    assert token_hash("é") == token_hash("\u00e9") != token_hash("e")  # UTF-8 bytes C3 A9


def test_bigram_bucket_by_hand():
    """Tokens "a b", 1000 buckets, 10 word rows: the bigram's hash is
    hash(a) x 116049371 + hash(b) = 3,826,002,220 x 116,049,371 + 3,876,335,077
    = 444,005,151,075,603,620 + 3,876,335,077 = 444,005,154,951,938,697 (below 2^64: no wrap),
    whose bucket is 697 (its last three digits), so its id is 10 + 697 = 707."""
    assert MIX == 116049371
    assert ngram_ids([token_hash("a"), token_hash("b")], 2, 1000, 10) == [707]
    assert NgramVocab(Vocab(["<pad>", "<unk>"] + [f"w{i}" for i in range(8)], [0] * 10), 2, 1000).encode("A b") \
        == [UNK_ID, UNK_ID, 707]  # unknown words keep their pair's bucket


def test_ngram_order_and_lengths():
    """n = 3 over tokens t0 t1 t2: by start token, then length: (t0 t1), (t0 t1 t2), (t1 t2); with
    one token there is no n-gram. The 3-gram extends the 2-gram's hash by one more step."""
    h = [5, 7, 11]
    pair = 5 * MIX + 7
    assert ngram_ids(h, 3, 2 ** 62, 0) == [pair, pair * MIX + 11, 7 * MIX + 11]
    assert ngram_ids(h, 2, 2 ** 62, 0) == [pair, 7 * MIX + 11]
    assert ngram_ids([5], 3, 10, 0) == []


def test_hash_does_not_depend_on_the_process_and_needs_no_torch():
    """Python's str hash is salted per process; the buckets must not be. Two interpreters with
    different PYTHONHASHSEED give the same ids, and lmf.ngrams loads neither torch nor numpy (the
    runtime imports it)."""
    code = ("import sys; from lmf.ngrams import NgramEncoder; "
            "print(list(NgramEncoder({'<pad>': 0, '<unk>': 1, 'good': 2}, 2, 97, 3).encode('good movie here')), "
            "sorted({'torch', 'numpy'} & set(sys.modules)))")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(outs) == 1 and outs.pop().endswith(" []\n")


def test_settings_round_trip_and_refusals():
    assert from_settings({"version": 2}) is None
    assert from_settings(settings(3, 512)) == (3, 512)
    for bad, message in [({"word_ngrams": 2}, "without buckets, ngram_hash"),
                         ({**settings(2, 8), "buckets": 0}, "buckets must be"),
                         ({**settings(2, 8), "word_ngrams": True}, "ngrams must be"),
                         ({**settings(2, 8), "ngram_hash": "python"}, "not this lmf's")]:
        with pytest.raises(ValueError, match=message):
            from_settings(bad)


def ints(ids):
    return array("q", ids).tolist()


def test_runtime_encoder_gives_training_s_ids(every_text):  # noqa: F811
    """NgramEncoder (word ids from tokenize.Encoder, pieces' hashes cached) against NgramVocab.encode
    (tokenize, then hashes) on every fourth text of the data folder (tests/test_tokenize.py checks
    Encoder's pieces on all of them) and the tokenizer's edge cases (a cut at MAX_TOKENS,
    invisible-only text, NFKC), with n = 3 and a vocabulary of every other word."""
    texts = every_text[::4] + EDGE_TEXTS
    words = sorted({t for text in texts[::2] for t in text.lower().split()})
    vocab = Vocab(["<pad>", "<unk>"] + words, [0] * (len(words) + 2))
    training = NgramVocab(vocab, 3, 1009)
    runtime = NgramEncoder(vocab.stoi, 3, 1009, len(vocab))
    wrong = next((text for text in texts if ints(runtime.encode(text)) != training.encode(text)), None)
    assert wrong is None, f"differs on {wrong[:80]!r}"
    long = training.encode("good " * (MAX_TOKENS + 10))
    assert len(long) == MAX_TOKENS + (MAX_TOKENS - 1) + (MAX_TOKENS - 2)  # words, 2-grams, 3-grams of the cut


@pytest.fixture
def words():
    return Vocab(["<pad>", "<unk>", "film", "movie", "good", "bad"], [0, 0, 4, 3, 2, 1])


def test_model_vocab_plain_pruned_and_ngram(words):
    """A plain model reads the vocabulary itself; a pruned one (kept_words 4) its first 4 words, so
    "good" becomes UNK; an n-gram one an NgramVocab whose buckets start after its words. The same
    object comes back on every call, and a wrong word count is refused."""
    assert model_vocab(words, {"vocab_size": 6}) is words
    pruned = model_vocab(words, {"vocab_size": 4, "kept_words": 4})
    assert pruned.itos == ["<pad>", "<unk>", "film", "movie"] and pruned.encode("good film") == [UNK_ID, 2]
    assert model_vocab(words, {"vocab_size": 4, "kept_words": 4}) is pruned
    grams = model_vocab(words, {"vocab_size": 6 + 8, "ngrams": 2, "buckets": 8})
    assert isinstance(grams, NgramVocab) and grams.offset == 6 and len(grams) == 6
    assert model_vocab(grams, {"vocab_size": 14, "ngrams": 2, "buckets": 8}) is grams
    assert model_vocab(grams, {"vocab_size": 6}) is words
    both = model_vocab(words, {"vocab_size": 4 + 8, "kept_words": 4, "ngrams": 2, "buckets": 8})
    assert both.offset == 4 and both.encode("good film")[:2] == [UNK_ID, 2] and 4 <= both.encode("good film")[2] < 12
    with pytest.raises(ValueError, match="6 words, the n-gram model 5 word rows"):
        model_vocab(words, {"vocab_size": 13, "ngrams": 2, "buckets": 8})


def test_model_data_is_a_view_that_relabel_clears(words):
    """The n-gram view shares the splits, encodes with n-grams, is reused, and is dropped when the
    data is relabelled (its label tensors would be stale) or given another vocabulary."""
    data = TextDataset("toy", Split(["good film", "bad movie"], [1, 0]), Split(["good"], [1]), Split(["bad"], [0]),
                       ["negative", "positive"], vocab=words)

    class Model:
        config = {"vocab_size": 6 + 8, "ngrams": 2, "buckets": 8}

    view = model_data(data, Model())
    assert view is not data and view.train is data.train and model_data(data, Model()) is view
    assert view.encoded("train")[0].shape == (2, 3) and data.encoded("train")[0].shape == (2, 2)
    data.relabel(["positive", "negative"])
    assert model_data(data, Model()) is not view
    assert model_data(data, object()) is data  # a model without a config reads the data as it is


def test_cli_trains_evaluates_compresses_and_exports_an_ngram_dan(tiny_dir, tmp_path, capsys):
    """`train --ngrams 2 --buckets 64` saves a DAN reading bigrams (as `--model dan_ngram` does, with
    lmf.models.KINDS' buckets); the
    saved model evaluates, compresses and exports with its n-grams, and the runtime agrees with
    the CLI's own accuracy; an LSTM with n-grams is an error (exit 2), not a crash."""
    from lmf.artifacts import load_model
    from lmf.cli import main
    from lmf.runtime import Predictor
    args = ["--data", str(tiny_dir), "--max-steps", "4", "--eval-every", "2", "--quiet"]
    assert main(["train", *args, "--ngrams", "2", "--buckets", "64", "--out", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    assert "64 buckets of 2-grams" in out
    saved = load_model(tmp_path / "m")
    assert (saved.config["ngrams"], saved.config["buckets"], saved.config["vocab_size"]) == (2, 64, len(saved.vocab) + 64)
    assert main(["evaluate", str(tmp_path / "m"), "--data", str(tiny_dir)]) == 0
    assert main(["compress", str(tmp_path / "m"), *args, "--reduction", "90", "--out", str(tmp_path / "c")]) == 0
    assert load_model(tmp_path / "c").config["buckets"] == 64
    assert main(["export", str(tmp_path / "c"), "--int8", "--out", str(tmp_path / "e")]) == 0
    assert Predictor(tmp_path / "e").ngrams == (2, 64)
    capsys.readouterr()
    assert main(["train", *args, "--model", "lstm", "--vectors", "none", "--ngrams", "2", "--out", str(tmp_path / "l")]) == 2
    assert "n-grams are an option of the DAN" in capsys.readouterr().err
