"""lmf.tokenize: normalisation (clip, zero-width removal, NFKC, lower case), tokens, ids, unknown
words, invisible-only text, the settings an export records, and the shortcuts (ASCII, Encoder)
checked against the plain pipeline on every text of the data folder. (The token pattern's cases
are in test_data.py.)"""
import re
import subprocess
import sys
import unicodedata
from array import array

import pytest

from lmf import data
from lmf.tokenize import (MAX_TEXT_CHARS, MAX_TOKENS, UNK_ID, ZERO_WIDTH, Encoder, clip_text, encode, normalize,
                          settings, tokenize, unknown_tokens)

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


def test_only_invisible_characters_is_no_token():
    """Left-to-right and right-to-left marks (U+200E, U+200F, category Cf) and a NUL (Cc) show
    nothing: a text of them alone has no token, as "" has none. Beside a word they stay tokens
    (unknown words, as before)."""
    for text in ["\u200e\u200f", " \u202b\u202c ", "\x00", "\u200e \x07\u00ad"]:
        assert tokenize(text) == [] and encode(text, STOI) == [] and Encoder(STOI).encode(text) == b""
    assert tokenize("\u200egood\u200f") == ["\u200e", "good", "\u200f"]
    assert ints(Encoder(STOI).encode("\u200egood\u200f")) == [UNK_ID, 2, UNK_ID]


def ints(ids):
    """Encoder's int64 bytes as a list of ints."""
    return array("q", ids).tolist()


def test_encoder_gives_encode_s_ids():
    """Pieces of one token, of several ("movie!" is movie, !), unknown ones, a cut at max_tokens=3,
    and the same again from the cache; 8 bytes an id."""
    encoder = Encoder(STOI, max_tokens=3)
    for _ in range(2):
        assert ints(encoder.encode("Good movie!")) == encode("Good movie!", STOI, 3) == [2, 3, UNK_ID]
        assert ints(encoder.encode("GOOD, good movie!")) == [2, UNK_ID, 2]
        assert encoder.encode("") == encoder.encode(" \t") == b""
    assert encoder.encode("good") == (2).to_bytes(8, sys.byteorder)


def test_encoder_cache_stops_growing():
    """With room for 2 pieces, "good" and "movie!" are cached; "bad" and "film" are tokenized each
    time, with the same ids."""
    encoder = Encoder(STOI)
    encoder.CACHE_LIMIT = 2
    for _ in range(2):
        assert ints(encoder.encode("good movie! bad film")) == [2, 3, UNK_ID, UNK_ID, UNK_ID]
    assert sorted(encoder._cache) == ["good", "movie!"]


def test_encoder_caches_pieces_as_typed():
    """ASCII text is not lower-cased as a whole: "Good" and "good" are two cached pieces with one
    id, and "GOOD!" is good, ! (an unknown symbol) like "good!"."""
    encoder = Encoder(STOI)
    assert ints(encoder.encode("Good good GOOD!")) == [2, 2, 2, UNK_ID] == encode("Good good GOOD!", STOI)
    assert sorted(encoder._cache) == ["GOOD!", "Good", "good"]


# Beyond the data folder: every branch of normalize (zero-width, NFKC: ligature, full-width,
# Kelvin sign; final sigma and dotted I, whose lower case depends on context or adds a character),
# whitespace str.split and the pattern's \s agree on (NBSP, ideographic space, U+001C, U+0085),
# clipping, more than MAX_TOKENS tokens, NUL, invisible marks, pieces of several tokens.
EDGE_TEXTS = ["", "  \t\n", "\ufeffGOOD\u200bmo\u200cvie", "cafe\u200b\u0301", "the \ufb01ne \uff27\uff2f\uff2f\uff24 \u212a",
              "\u039f\u0394\u039f\u03a3 \u03a3", "\u0130stanbul", "a\u00a0b\u3000c\x1cd\x85e", "a" * (MAX_TEXT_CHARS - 1) + " b",
              "good " * (MAX_TOKENS + 10), "x\x00y \x00", "\u200e\u200f", "don't -lrb- ... it's u.s. good-bad\\/ok"]


def reference_tokens(text, pattern=re.compile(settings()["token_pattern"])):
    """The module docstring's pipeline with no shortcut: clip, zero-width removal, NFKC, lower case,
    the recorded token pattern; no token when none shows a character."""
    text = unicodedata.normalize("NFKC", str(text)[:MAX_TEXT_CHARS].translate(str.maketrans("", "", ZERO_WIDTH)))
    tokens = pattern.findall(text.lower())
    return tokens if any(unicodedata.category(c) not in ("Cf", "Cc") for t in tokens for c in t) else []


@pytest.fixture(scope="module")
def every_text(data_dir):
    """The distinct texts of every TSV file of the data folder (SST-2 with its phrases, CLINC150
    with out-of-scope, CR, MPQA: about 105,000), and EDGE_TEXTS."""
    texts = set(EDGE_TEXTS)
    for path in sorted(data_dir.glob("*/*.tsv")):
        header, *rows = path.read_text(encoding="utf-8").splitlines()
        column = next(i for i, name in enumerate(header.split("\t")) if name in data.TEXT_COLUMNS)
        texts.update(row.split("\t")[column] for row in rows)
    assert len(texts) > 100_000
    return sorted(texts)


def test_shortcuts_give_the_pipeline_s_tokens_and_ids(every_text):
    """tokenize (ASCII shortcut) and Encoder.encode (pieces cached as they come: most pieces are
    read from the cache) against reference_tokens, under a vocabulary of every other token
    (sorted), so that known and unknown words both occur. (encode() is tokenize's tokens looked up.)
    Every seventh text also title-cased: Encoder caches an ASCII piece as typed ("Movie," and
    "movie," apart), lower-casing it once when it enters the cache."""
    every_text = every_text + [text.title() for text in every_text[::7]]
    expected = [reference_tokens(text) for text in every_text]
    words = sorted({token for tokens in expected for token in tokens})[::2]
    stoi = {"<pad>": 0, "<unk>": 1, **{word: i for i, word in enumerate(words, 2)}}
    encoder = Encoder(stoi)
    for name, got, want in [
            ("tokenize", map(tokenize, every_text), expected),
            ("Encoder", (ints(encoder.encode(text)) for text in every_text),
             ([stoi.get(token, UNK_ID) for token in tokens[:MAX_TOKENS]] for tokens in expected))]:
        wrong = next((text for text, a, b in zip(every_text, got, want) if a != b), None)
        assert wrong is None, f"{name} differs on {wrong[:80]!r}"
