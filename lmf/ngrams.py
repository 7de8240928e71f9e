"""Hashed word n-grams beside the words (fastText's trick, Joulin et al. 2017), and the one rule
for which ids a model reads a text as.

A DAN with n-grams (model config `ngrams` = n >= 2 and `buckets` = B) reads a text as its word ids
followed by one id per word n-gram of 2 to n consecutive tokens: row `offset + bucket` of the same
embedding table, `offset` being the number of word rows and `bucket` a stable hash of the n-gram's
tokens modulo B. The DAN averages them all, so nothing in the model, the exported graph or the
compression methods changes: the table is B rows longer (config `vocab_size` counts them) and
LMF factorizes the whole, larger table. A pair of words ("how many", "not good") gets a row of
its own without a vocabulary of pairs; pairs that share a bucket share a row.

The hash, fastText's (Dictionary::addWordNgrams) on unsigned values: each token's FNV-1a 32-bit
hash over its UTF-8 bytes (`token_hash`); the n-gram starting at token i extends
h = hash_i by h = (h * MIX + hash_j) mod 2^64 for j = i+1, ..., i+n-1, every extension being one
n-gram (the 2-gram, then the 3-gram, ...); its bucket is h mod B. Python's own hash() of a string is
salted per process, so it would give another bucket in every run: never used here. Every token
counts, known or not: an unknown word reads as UNK, but the pairs it is in keep their buckets, as
in fastText. The tokens are lmf.tokenize's, the first MAX_TOKENS of them: the n-grams come from the
tokens the words were read from.

Two encoders give the same ids (tests/test_ngrams.py checks every text of the data folder):
`NgramVocab`, training's (an lmf.data.Vocab's words + n-grams, for TextDataset.encoded), and
`NgramEncoder`, the runtime's (lmf.tokenize.Encoder's word ids + n-grams, its pieces' hashes cached).
An export records `settings(n, B)` in tokenizer.json beside lmf.tokenize.settings(), so a runtime
that does not know n-grams refuses the export instead of reading words only.

Which ids a model reads (`model_vocab`, `model_data`): the vocabulary it was trained from, cut to
its first `kept_words` (config of a pruned model, lmf.prune: the most frequent words, lmf.data.Vocab
orders ids by count), with its n-grams when it has them. lmf.train, lmf.metrics and
lmf.artifacts call these, so a pruned or n-gram model trains, scores, saves and loads like any other.

Standard library only: lmf.runtime imports this without torch or numpy.
Deliberately not here: the model (lmf.models), pruning (lmf.prune), writing tokenizer.json (lmf.export).
"""
import copy
from array import array

from .tokenize import _TOKEN, MAX_TOKENS, UNK_ID, Encoder, normalize, tokenize, unknown_tokens

FNV_OFFSET, FNV_PRIME = 2166136261, 16777619  # FNV-1a, 32 bits
MIX = 116049371  # fastText's multiplier for extending an n-gram's hash by one token
MASK64 = (1 << 64) - 1
HASH_NAME = "fnv1a32-fasttext-ngram"  # what tokenizer.json says the buckets were made with
DEFAULT_NGRAMS = 2
# 2^14 rows beside the words. Measured with the DAN recipe (seed 0; dev / test accuracy): CR 4,096
# buckets 78.2 / 75.4, 16,384 78.5 / 77.0 (no n-grams 79.8 / 75.4); MPQA 4,096 82.1 / 82.8, 16,384
# 84.7 / 84.6 (no n-grams 85.7 / 86.4). Rows cost time: Adam updates every row at every step (CR:
# 16,384 buckets trained 3x as long as none), and 2^18 buckets of 300 floats are 315 MB in fp32.
DEFAULT_BUCKETS = 2 ** 14
# 8x fastText's 2,000,000-bucket default: 2^24 rows of 64 floats are 4.3 GB in fp32. Beyond it a
# typo (10^12) would ask torch for petabytes and fail with an allocator's error.
MAX_BUCKETS = 2 ** 24


def token_hash(token):
    """FNV-1a, 32 bits, of the UTF-8 bytes of `token`: start at FNV_OFFSET; for each byte,
    h = (h XOR byte) * FNV_PRIME mod 2^32. token_hash("a") = 0xE40C292C (tests derive it)."""
    h = FNV_OFFSET
    for byte in token.encode("utf-8"):
        h = ((h ^ byte) * FNV_PRIME) & 0xFFFFFFFF
    return h


def ngram_ids(hashes, n, buckets, offset):
    """The ids of the 2..n-grams of a text whose tokens hash to `hashes`, in fastText's order (by
    start token, then by length): offset + h mod buckets, h as in the module docstring."""
    ids, count = [], len(hashes)
    for i in range(count - 1):
        h = hashes[i]
        for j in range(i + 1, min(i + n, count)):
            h = (h * MIX + hashes[j]) & MASK64
            ids.append(offset + h % buckets)
    return ids


def check(n, buckets):
    """ValueError unless `n` (2 or more) and `buckets` (1 to MAX_BUCKETS) are integers an n-gram DAN
    takes."""
    for name, value, least in (("ngrams", n, 2), ("buckets", buckets, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be an integer of at least {least} (got {value!r})")
    if buckets > MAX_BUCKETS:
        raise ValueError(f"buckets must be at most {MAX_BUCKETS:,} (got {buckets:,}): each is an embedding row")


def settings(n, buckets):
    """What tokenizer.json records beside lmf.tokenize.settings() for an n-gram model."""
    return {"word_ngrams": n, "buckets": buckets, "ngram_hash": HASH_NAME}


SETTING_KEYS = tuple(settings(2, 1))


def from_settings(tokenizer_settings):
    """(n, buckets) from an export's tokenizer settings, None when it has no n-grams; ValueError
    when its n-gram keys are partial, of the wrong type or another hash."""
    present = [key for key in SETTING_KEYS if key in tokenizer_settings]
    if not present:
        return None
    if len(present) < len(SETTING_KEYS):
        raise ValueError(f"n-gram settings {', '.join(present)} without "
                         f"{', '.join(k for k in SETTING_KEYS if k not in present)}")
    n, buckets = tokenizer_settings["word_ngrams"], tokenizer_settings["buckets"]
    check(n, buckets)
    if tokenizer_settings["ngram_hash"] != HASH_NAME:
        raise ValueError(f"n-gram hash {tokenizer_settings['ngram_hash']!r}, not this lmf's {HASH_NAME!r}")
    return n, buckets


class NgramVocab:
    """A vocabulary's words (`words`, an lmf.data.Vocab: itos, counts and stoi are its) whose
    `encode` appends the text's n-gram ids at `offset` = the number of words. Training's
    encoder: lmf.data.TextDataset.encoded calls it as it calls a Vocab's."""

    def __init__(self, words, n, buckets):
        check(n, buckets)
        self.words, self.n, self.buckets = words, n, buckets
        self.itos, self.counts, self.stoi = words.itos, words.counts, words.stoi
        self.offset = len(words.itos)
        self._hashes = {}

    def __len__(self):
        return len(self.itos)

    def _hash(self, token):
        h = self._hashes.get(token)
        if h is None:
            h = self._hashes[token] = token_hash(token)
        return h

    def encode(self, text, max_tokens=MAX_TOKENS):
        """Word ids of the first `max_tokens` tokens of `text`, then their n-grams' ids."""
        tokens = tokenize(text)[:max_tokens]
        return ([self.stoi.get(t, UNK_ID) for t in tokens]
                + ngram_ids([self._hash(t) for t in tokens], self.n, self.buckets, self.offset))

    def unknown_words(self, text):
        return unknown_tokens(text, self.stoi)

    def same_as(self, other):
        return (isinstance(other, NgramVocab) and other.words is self.words
                and (other.n, other.buckets) == (self.n, self.buckets))


class NgramEncoder(Encoder):
    """NgramVocab.encode's ids as lmf.tokenize.Encoder gives a plain model's: int64 bytes, word
    ids from Encoder, then the n-gram ids of the same tokens, each piece's token hashes cached
    (bounded as Encoder's cache is)."""

    def __init__(self, stoi, n, buckets, offset, max_tokens=MAX_TOKENS):
        super().__init__(stoi, max_tokens)
        check(n, buckets)
        self.n, self.buckets, self.offset = n, buckets, offset
        self._piece_hashes = {}

    def _hashes(self, piece):
        hashes = self._piece_hashes.get(piece)
        if hashes is None:
            hashes = [token_hash(token) for token in _TOKEN.findall(piece)]
            if len(self._piece_hashes) < self.CACHE_LIMIT:
                self._piece_hashes[piece] = hashes
        return hashes

    def encode(self, text):
        words = super().encode(text)
        count = len(words) // 8
        if count < 2:
            return words
        hashes = []
        for piece in normalize(text).split():  # Encoder's pieces (its ASCII shortcut is normalize's)
            hashes += self._hashes(piece)
            if len(hashes) >= count:
                break
        return words + array("q", ngram_ids(hashes[:count], self.n, self.buckets, self.offset)).tobytes()


def model_vocab(vocab, config):
    """The vocabulary a model of `config` reads text through, given the vocabulary it was trained
    from (or its own): `vocab` itself for a plain model; its first `kept_words` words for a pruned
    one; an NgramVocab over those words for an n-gram one (`vocab` when it already is that).
    ValueError when an n-gram model's word rows (vocab_size - buckets) are not the words'. The
    result is kept on the words' vocabulary, so a model's every call gets the same object (and its
    caches) back."""
    words = getattr(vocab, "words", vocab)
    kept = config.get("kept_words")
    kept = kept if kept and len(words) > kept else None
    grams = (config["ngrams"], config["buckets"]) if config.get("ngrams") else None
    if grams:
        rows = config["vocab_size"] - config["buckets"]
        if (kept or len(words)) != rows:
            raise ValueError(f"the vocabulary has {kept or len(words):,} words, the n-gram model {rows:,} word rows "
                             f"(vocab_size {config['vocab_size']:,} - buckets {config['buckets']:,})")
        if kept is None and isinstance(vocab, NgramVocab) and (vocab.n, vocab.buckets) == grams:
            return vocab
    if kept is None and grams is None:
        return words
    views = vars(words).setdefault("_model_vocabs", {})
    if (kept, grams) not in views:
        view = type(words)(list(words.itos[:kept]), list(words.counts[:kept])) if kept else words
        views[kept, grams] = NgramVocab(view, *grams) if grams else view
    return views[kept, grams]


def model_data(data, model):
    """`data` (an lmf.data.TextDataset) as `model` (an lmf model; any other reads data as it is)
    reads it: `data` itself when model_vocab changes nothing, else a copy sharing its splits, with
    that vocabulary and its own encodings. The copy is kept in data's encoding cache, which
    TextDataset.relabel clears; a data.vocab replaced since gets a copy of its own."""
    vocab = model_vocab(data.vocab, getattr(model, "config", None) or {})
    if vocab is data.vocab:
        return data
    key = ("model_data", id(vocab))
    kept = data._encoded.get(key)
    if kept is not None and kept.vocab is vocab:
        return kept
    view = copy.copy(data)
    view.vocab, view._encoded = vocab, {}
    data._encoded[key] = view
    return view
