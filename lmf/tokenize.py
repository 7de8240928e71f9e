"""The one text normalisation and tokenizer of the project, and the token -> id lookup.

    raw text -> first MAX_TEXT_CHARS characters -> zero-width characters removed -> Unicode NFKC
             -> lower case -> tokens (_TOKEN) -> ids (UNK_ID for unknown words, first MAX_TOKENS)

Training (lmf.data), the CLI, the app, fastText's input lines and the exported runtime
(lmf.runtime) all go through these functions, so a word means the same id everywhere. An export
records `settings()` in its tokenizer.json and the runtime refuses one made with other settings.

Standard library only: the runtime imports this without torch or numpy.
Deliberately not here: building a vocabulary (lmf.data.Vocab), padding, or any model code.
"""
import re
import unicodedata

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
# Long inputs are cut here: a sentence classifier gains nothing from 100,000 characters,
# and an unbounded LSTM unroll would make latency unbounded too.
MAX_TOKENS = 256
# Typed or piped text is cut to this many characters before it is even normalised, so that one huge
# line costs no more than this to read; 256 tokens of any real sentence fit well within it.
MAX_TEXT_CHARS = 10_000
# Zero-width space, non-joiner, joiner, word joiner, byte-order mark: invisible, not whitespace to
# the regex, so each used to become a token of its own and split the word around it in two.
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
# 1: NFKC + lower case (lmf.data before the export issue). 2: zero-width characters removed first,
# and clipping to MAX_TEXT_CHARS inside tokenize. Neither SST-2 nor CLINC150 holds a zero-width
# character, so vocabularies and saved models built under 1 are unchanged under 2.
VERSION = 2

# Penn-Treebank style, as SST-2 is already split: "don't" -> do n't, "it's" -> it 's; words keep
# inner hyphens; every other symbol is its own token. Typed text then meets the training vocabulary.
_TOKEN = re.compile(r"\w+(?=n't)|n't|'(?:s|re|ve|m|ll|d)\b|\w+(?:-\w+)*|[^\w\s]")
_ZERO_WIDTH = str.maketrans("", "", ZERO_WIDTH)


def clip_text(text):
    """`text` cut to MAX_TEXT_CHARS characters."""
    return str(text)[:MAX_TEXT_CHARS]


def normalize(text):
    """Clipped, zero-width characters removed, NFKC, lower case. The removal comes before NFKC so
    that a combining accent after a removed character still composes with the letter before it."""
    return unicodedata.normalize("NFKC", clip_text(text).translate(_ZERO_WIDTH)).lower()


def tokenize(text):
    """Tokens of `text` after `normalize`."""
    return _TOKEN.findall(normalize(text))


def encode(text, stoi, max_tokens=MAX_TOKENS):
    """Ids of the first `max_tokens` tokens of `text` under the token -> id map `stoi`."""
    return [stoi.get(token, UNK_ID) for token in tokenize(text)[:max_tokens]]


def unknown_tokens(text, stoi, max_tokens=MAX_TOKENS):
    """The distinct tokens among the first `max_tokens` of `text` that `stoi` lacks (they all read
    as UNK), in order of first appearance: what a user is warned about."""
    return list(dict.fromkeys(t for t in tokenize(text)[:max_tokens] if t not in stoi))


def settings():
    """Everything that decides the ids of a text, as JSON-able values (an export's tokenizer.json).
    NFKC's tables come with Python's Unicode database, so its version is recorded too."""
    return {"version": VERSION, "normalization": "NFKC", "unicode_version": unicodedata.unidata_version,
            "zero_width_removed": [f"U+{ord(c):04X}" for c in ZERO_WIDTH], "lowercase": True,
            "token_pattern": _TOKEN.pattern, "max_tokens": MAX_TOKENS, "max_text_chars": MAX_TEXT_CHARS,
            "pad": PAD, "unk": UNK, "pad_id": PAD_ID, "unk_id": UNK_ID}
