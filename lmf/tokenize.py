"""The one text normalisation and tokenizer of the project, and the token -> id lookup.

    raw text -> first MAX_TEXT_CHARS characters -> zero-width characters removed -> Unicode NFKC
             -> lower case -> tokens (_TOKEN) -> ids (UNK_ID for unknown words, first MAX_TOKENS)

A text none of whose tokens shows a character (only direction marks, control characters: Unicode
categories Cf and Cc) has no token, like "": there is nothing in it to classify.

Training (lmf.data), the CLI, the app, fastText's input lines and the exported runtime
(lmf.runtime) all go through these functions, so a word means the same id everywhere. An export
records `settings()` in its tokenizer.json and the runtime refuses one made with other settings.

Two shortcuts give the same tokens and ids at a fraction of the cost (tests/test_tokenize.py
checks them against the pipeline above on every text of every data set):
- ASCII text skips the zero-width removal and NFKC, which leave ASCII unchanged.
- `Encoder` (the runtime's) splits the normalised text (ASCII text as typed: lower case and
  whitespace splitting commute on it) at whitespace and looks each piece up in a cache of
  piece -> ids. No token holds whitespace, and the pattern's look-ahead (n't) and word
  boundary read the end of a piece as they read the whitespace after it, so the tokens of a text
  are its pieces' tokens in order (str.split and the pattern's \\s agree on every character).

Standard library only: the runtime imports this without torch or numpy.
Deliberately not here: building a vocabulary (lmf.data.Vocab), padding, or any model code.
"""
import re
import unicodedata
from array import array

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
# Unicode categories whose characters show nothing: format (direction marks, soft hyphen) and control.
# No text of the data folder is made of them only, so no vocabulary or saved model changed when such
# texts became empty, and VERSION (which an export records, and the runtime compares) stayed 2.
_INVISIBLE = ("Cf", "Cc")


def clip_text(text):
    """`text` cut to MAX_TEXT_CHARS characters."""
    return str(text)[:MAX_TEXT_CHARS]


def normalize(text):
    """Clipped, zero-width characters removed, NFKC, lower case. The removal comes before NFKC so
    that a combining accent after a removed character still composes with the letter before it.
    ASCII text is only lower-cased: no ASCII character is zero-width or changed by NFKC."""
    text = clip_text(text)
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKC", text.translate(_ZERO_WIDTH)).lower()


def _shows(tokens):
    """Whether some character of `tokens` is visible (not of an _INVISIBLE category)."""
    # The first character almost always is: isprintable() is False for every invisible character
    # (and a few visible ones, which the exact check below then finds).
    if tokens[0][0].isprintable():
        return True
    return any(unicodedata.category(c) not in _INVISIBLE for token in tokens for c in token)


def tokenize(text):
    """Tokens of `text` after `normalize`; none when no token shows a character."""
    tokens = _TOKEN.findall(normalize(text))
    return tokens if tokens and _shows(tokens) else []


def encode(text, stoi, max_tokens=MAX_TOKENS):
    """Ids of the first `max_tokens` tokens of `text` under the token -> id map `stoi`."""
    return [stoi.get(token, UNK_ID) for token in tokenize(text)[:max_tokens]]


class Encoder:
    """`encode(text, stoi, max_tokens)`'s ids, faster, for many texts under one vocabulary `stoi`,
    as int64 bytes (native order): np.frombuffer(ids, np.int64) reads them without a copy, b"".join
    concatenates a batch's, array("q", ids) makes them a sequence of ints (lmf.runtime).

    The normalised text (ASCII text as typed) is split at whitespace into pieces, and each
    piece's ids (of its lower case) are cached, as int64 bytes, the first time it is seen: a text
    costs a split, one dict lookup per piece and one join, whether its pieces are one token each
    or several ("movie.", "it's", "-lrb-").
    Measured with `python scripts/bench_latency.py --tokenizer` on 2 busy shared cores: on SST-2's
    test sentences 1.15-1.3x the cost of str.split plus a dict lookup per word (3.0-3.4 us against
    2.4-2.7), as on those sentences typed with punctuation attached ("the film, isn't it?", pieces
    of several tokens); encode() costs 3.2x, and cost 3.8x before its ASCII shortcut.

    The cache stops growing at CACHE_LIMIT pieces, so that words typed by users cannot grow it
    without bound; a new piece then costs a tokenization each time. `stoi` must not change once
    the Encoder is made (the cache holds its ids)."""

    CACHE_LIMIT = 50_000

    def __init__(self, stoi, max_tokens=MAX_TOKENS):
        self.stoi, self._max_bytes = stoi, 8 * max_tokens
        self._cache = {}
        self._cached = self._cache.__getitem__

    def _piece(self, piece):
        ids = self._cache.get(piece)
        if ids is None:
            tokens = _TOKEN.findall(piece.lower())
            ids = array("q", [self.stoi.get(token, UNK_ID) for token in tokens]).tobytes()
            if len(self._cache) < self.CACHE_LIMIT:
                self._cache[piece] = ids
        return ids

    def encode(self, text):
        """encode(text, stoi, max_tokens), as int64 bytes."""
        # ASCII text is split as typed and each piece lower-cased once, when it enters the cache
        # (lower() and split() commute on ASCII): no lower-cased copy of every text. normalize()'s
        # ASCII case is inline: on this path a function call is a tenth of the cost.
        pieces = (text[:MAX_TEXT_CHARS] if type(text) is str and text.isascii() else normalize(text)).split()
        try:  # one KeyError on a text with a new piece costs less than a check on every text
            ids = b"".join(map(self._cached, pieces))
        except KeyError:
            ids = b"".join(map(self._piece, pieces))
        if ids and not pieces[0][0].isprintable() and not _shows(_TOKEN.findall(" ".join(pieces))):
            return b""  # invisible tokens only, as tokenize() says
        return ids if len(ids) <= self._max_bytes else ids[:self._max_bytes]


def unknown_tokens(text, stoi, max_tokens=MAX_TOKENS):
    """The distinct tokens among the first `max_tokens` of `text` that `stoi` lacks (they all read
    as UNK), in order of first appearance: what a user is warned about."""
    return list(dict.fromkeys(t for t in tokenize(text)[:max_tokens] if t not in stoi))


def check_texts(texts, call="predict"):
    """TypeError unless `texts` is a list or tuple of strings, naming the first text that is not:
    a bare string would be read as one text per character. `call` names the function in the hint."""
    if not isinstance(texts, (list, tuple)):
        hint = f"; wrap one text in a list: {call}([text])" if isinstance(texts, str) else ""
        raise TypeError(f"texts must be a list of strings, not a {type(texts).__name__}{hint}")
    if not {str}.issuperset(map(type, texts)):  # at C speed; a subclass of str takes the loop
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text {i} is a {type(text).__name__} ({text!r:.40}), not a string")


def no_token(i, text):
    """The ValueError for text `i` of a call, which has no token to classify (tokenize: empty, only
    spaces or invisible characters): every model would answer its prior, whatever was meant."""
    return ValueError(f"text {i} ({text[:40]!r}) is empty or has no token to classify")


def settings():
    """Everything that decides the ids of a text, as JSON-able values (an export's tokenizer.json).
    NFKC's tables come with Python's Unicode database, so its version is recorded too."""
    return {"version": VERSION, "normalization": "NFKC", "unicode_version": unicodedata.unidata_version,
            "zero_width_removed": [f"U+{ord(c):04X}" for c in ZERO_WIDTH], "lowercase": True,
            "token_pattern": _TOKEN.pattern, "max_tokens": MAX_TOKENS, "max_text_chars": MAX_TEXT_CHARS,
            "pad": PAD, "unk": UNK, "pad_id": PAD_ID, "unk_id": UNK_ID}
