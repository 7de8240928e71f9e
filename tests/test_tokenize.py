"""lmf.tokenize: normalisation (clip, zero-width removal, NFKC, lower case), tokens, ids, unknown
words and the settings an export records. (The token pattern's cases are in test_data.py.)"""
import subprocess
import sys

from lmf import data
from lmf.tokenize import (MAX_TEXT_CHARS, UNK_ID, clip_text, encode, normalize, settings, tokenize,
                          unknown_tokens)

STOI = {"<pad>": 0, "<unk>": 1, "good": 2, "movie": 3}


def test_zero_width_characters_no_longer_split_a_word():
    """"good\\u200bmovie" was good, \\u200b, movie (the regex takes U+200B for a symbol); with the
    five zero-width characters removed it is the one word "goodmovie". A BOM at the start goes too."""
    assert tokenize("\ufeffGOOD\u200bmo\u200c\u200dvie\u2060") == ["goodmovie"]
    assert tokenize("good \u200b movie") == ["good", "movie"]


def test_removal_comes_before_nfkc():
    """e + U+200B + combining acute: once U+200B is gone, NFKC composes e + U+0301 into é."""
    assert normalize("cafe\u200b\u0301") == "caf\u00e9"


def test_clipping_is_part_of_tokenize():
    """10,001 characters "a" * 9,999 + " b": the 10,000-character cut keeps "a" * 9,999 and the
    space, so "b" is gone."""
    text = "a" * (MAX_TEXT_CHARS - 1) + " b"
    assert len(clip_text(text)) == MAX_TEXT_CHARS
    assert tokenize(text) == ["a" * (MAX_TEXT_CHARS - 1)]


def test_encode_and_unknown_tokens():
    """"Good, good MOVIE!": good=2, ","=UNK, good=2, movie=3, "!"=UNK; cut at 2 tokens: [2, 1].
    The unknown tokens are "," and "!" once each, in order; within max_tokens=2 only ","."""
    assert encode("Good, good MOVIE!", STOI) == [2, UNK_ID, 2, 3, UNK_ID]
    assert encode("Good, good MOVIE!", STOI, max_tokens=2) == [2, UNK_ID]
    assert unknown_tokens("Good, good MOVIE! ,", STOI) == [",", "!"]
    assert unknown_tokens("Good, good MOVIE!", STOI, max_tokens=2) == [","]


def test_a_vocabulary_encodes_with_this_tokenizer():
    """lmf.data.Vocab has no tokenizer of its own: a vocabulary of <pad> <unk> good movie encodes
    "Good, good MOVIE!" exactly as encode() does with the same word ids."""
    vocab = data.Vocab(["<pad>", "<unk>", "good", "movie"], [0, 0, 2, 1])
    assert vocab.encode("Good, good MOVIE!") == encode("Good, good MOVIE!", STOI) == [2, UNK_ID, 2, 3, UNK_ID]


def test_settings_record_what_decides_ids():
    s = settings()
    assert (s["version"], s["max_tokens"], s["max_text_chars"], s["pad_id"], s["unk_id"]) == (2, 256, 10_000, 0, 1)
    assert s["zero_width_removed"] == ["U+200B", "U+200C", "U+200D", "U+2060", "U+FEFF"]


def test_imports_neither_torch_nor_numpy():
    code = "import sys, lmf.tokenize; print(sorted({'torch', 'numpy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
