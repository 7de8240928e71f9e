"""Run an exported model (lmf.export) on raw text with ONNX Runtime: no torch anywhere.

    Predictor(directory, threads=1).predict(texts, batch_size=64) -> [(label, probability)]

Loading checks the directory first: manifest.json must say it is an lmf export, every file it
lists must match its sha256 (a changed or corrupt file is refused by name), tokenizer.json and
words.zlib must have the structure export writes (`read_tokenizer`) with lmf.tokenize's own
settings, since ids from another tokenizer would be silently wrong, and the model must run on the
highest word id and give one logit per label. Every failure is an ExportIntegrityError naming the
file. An export of format_version 2 (its words in tokenizer.json's `itos`) is read as well.

`predict` takes a list (or tuple) of strings, nothing else: a bare string would be read as one
text per character, and None or bytes as the words "none" or "b'...'". A text with no token
(empty, spaces, only invisible characters: lmf.tokenize) is refused with a ValueError. Texts go
through lmf.tokenize.Encoder (clip, normalise, tokens, ids; for a model with hashed n-grams, whose
tokenizer.json records lmf.ngrams.settings, lmf.ngrams.NgramEncoder: the same word ids, then the
n-grams' ids), are padded per batch to the longest row with PAD_ID (one session run per batch of
`batch_size` texts; one text alone is not padded), and the graph's `label` and `probability`
outputs (lmf.export: the top class and its softmax probability) are the answer; `logits` gives
the graph's logits. A text's answer does not depend on the other texts of its batch, at every
precision (lmf.export quantizes an activation, where it does, one row at a time); its logits only
up to rounding: ONNX Runtime sums one row in another order than a batch's rows, in the last bits,
and where a row is quantized that bit can move one activation by one level. Measured on every
SST-2 and CLINC150 test text through the shipped int8 exports, alone against batches of 64 and of
all: no label changed, logits moved by at most 7.5e-5 of their largest magnitude (CLINC150's
recommended DAN), at most 1.2e-6 where no layer runs in integers (Predictor.logits at batch sizes
1, 64 and all; tests/test_export.py checks every kind on SST-2's test sentences). An export of
an earlier format (no `label` and `probability` outputs) is refused with a word to export again.

Imports: numpy, onnxruntime, the standard library, lmf.tokenize, lmf.ngrams and lmf.layout (all
standard library only). Deliberately not here: torch, exporting, timing.
"""
import json
import numbers
import os
import zlib
from pathlib import Path

import numpy as np
import onnxruntime as ort

from . import ngrams
from .ngrams import NgramEncoder
from .layout import ArtifactError, verified_files
from .tokenize import PAD, PAD_ID, UNK, UNK_ID, Encoder, check_texts, no_token, settings, unknown_tokens

FORMAT, MODEL, TOKENIZER, MANIFEST = "lmf-export", "model.onnx", "tokenizer.json", "manifest.json"
WORDS = "words.zlib"  # the vocabulary: a JSON array of the words, zlib-compressed (lmf.export)
MAX_WORDS_BYTES = 1 << 30  # words.zlib inflates to at most this: a bad file cannot fill the memory
OUTPUTS = ("logits", "label", "probability")  # model.onnx's outputs, in order (lmf.export)


class ExportIntegrityError(ArtifactError):
    """An export directory that is incomplete, changed after export, or made for another tokenizer."""


def _read_json(path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ExportIntegrityError(f"{path}: missing or unreadable ({e})") from e


def verify_export(directory):
    """The manifest of the export in `directory`, once every file it lists matches its sha256
    (lmf.layout.verified_files: the same check the app makes before it serves a download)."""
    directory = Path(directory)
    manifest = _read_json(directory / MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ExportIntegrityError(f"{directory}: not an lmf export (manifest.json has no format {FORMAT!r})")
    missing = [name for name in (MODEL, TOKENIZER) if name not in (manifest.get("files") or {})]
    if missing:
        raise ExportIntegrityError(f"{directory / MANIFEST}: lists no sha256 for {', '.join(missing)}")
    try:
        verified_files(directory)
    except ArtifactError as e:  # the same failure, said as the export's own error
        raise ExportIntegrityError(str(e)) from e
    return manifest


def _strings(value):
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _words(path, tokenizer):
    """(the vocabulary, the file it was read from) of tokenizer.json at `path`: the words file it
    names beside it, inflated and parsed (format_version 2: its own `itos`)."""
    if "itos" in tokenizer:
        return tokenizer["itos"], path
    if tokenizer["words"] != WORDS:  # a name of lmf's own only: never a path read from the file
        raise ExportIntegrityError(f"{path}: 'words' must be {WORDS!r}")
    file = Path(path).parent / WORDS
    try:
        inflate = zlib.decompressobj()
        text = inflate.decompress(file.read_bytes(), MAX_WORDS_BYTES)
        if inflate.unconsumed_tail or not inflate.eof:
            raise ValueError("not a whole zlib stream" if not inflate.unconsumed_tail else
                             f"inflates to more than {MAX_WORDS_BYTES:,} bytes")
        return json.loads(text.decode("utf-8")), file
    except (OSError, zlib.error, ValueError) as e:
        raise ExportIntegrityError(f"{file}: missing or not a zlib-compressed JSON array of words ({e})") from e


def read_tokenizer(path):
    """(itos, label_names, n-grams) of an export's tokenizer.json, once its structure is what
    lmf.export writes: an object with `words` (the name of the vocabulary's file beside it,
    WORDS, whose array is `itos`: distinct strings, PAD and UNK at their ids; format_version 2
    held the array itself as `itos`),
    `label_names` (distinct strings) and `tokenizer`, exactly lmf.tokenize.settings()' keys with its
    values (the Unicode version alone may differ: NFKC of rare characters), plus an n-gram model's
    lmf.ngrams.settings (n-grams: their (n, buckets), else None). Anything else is an
    ExportIntegrityError saying what, rather than a KeyError later, or numbers taken for words
    and every text read as unknown words without a warning."""
    tokenizer = _read_json(path)
    if (not isinstance(tokenizer, dict) or not {"label_names", "tokenizer"} <= tokenizer.keys()
            or len({"words", "itos"} & tokenizer.keys()) != 1):
        raise ExportIntegrityError(f"{path}: not an lmf tokenizer (an object with words, label_names and tokenizer)")
    ours, theirs = settings(), tokenizer["tokenizer"]
    if not isinstance(theirs, dict):
        raise ExportIntegrityError(f"{path}: 'tokenizer' is not an object of settings")
    try:
        grams = ngrams.from_settings(theirs)
    except ValueError as e:
        raise ExportIntegrityError(f"{path}: {e}") from e
    if grams:
        ours = {**ours, **ngrams.settings(*grams)}
    # Compared with their types too: a pad_id of false would equal 0.
    differing = sorted(k for k in ours.keys() | theirs.keys() if k != "unicode_version"
                       and (theirs.get(k) != ours.get(k) or type(theirs.get(k)) is not type(ours.get(k))))
    if differing:
        raise ExportIntegrityError(f"{path}: made with other tokenizer settings ({', '.join(differing)}) "
                                   "than this lmf's; re-export the model")
    if not isinstance(theirs.get("unicode_version"), str):
        raise ExportIntegrityError(f"{path}: its settings' unicode_version is not a string")
    (itos, where), labels = _words(path, tokenizer), tokenizer["label_names"]
    if not _strings(itos) or len(itos) <= max(PAD_ID, UNK_ID) or (itos[PAD_ID], itos[UNK_ID]) != (PAD, UNK):
        raise ExportIntegrityError(f"{where}: the words must be an array of strings with {PAD!r} at "
                                   f"{PAD_ID} and {UNK!r} at {UNK_ID}")
    if len(set(itos)) < len(itos):
        raise ExportIntegrityError(f"{where}: lists a word more than once")
    if not _strings(labels) or not labels or len(set(labels)) < len(labels):
        raise ExportIntegrityError(f"{path}: 'label_names' must be an array of distinct strings")
    return itos, labels, grams


def _check_batch_size(batch_size):
    if type(batch_size) is not int or batch_size < 1:  # bool is a subclass of int, and is refused too
        raise ValueError(f"batch_size must be a positive integer, not {batch_size!r}")


class Predictor:
    """An exported classifier; `threads` is ONNX Runtime's intra-op thread count, an integer from 1
    to this machine's CPU count (ValueError otherwise: ONNX Runtime's own error for a wrong type is
    a page of bindings, and ten thousand threads do not start in minutes)."""

    def __init__(self, directory, threads=1):
        cpus = os.cpu_count() or 1
        if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or not 1 <= threads <= cpus:
            raise ValueError(f"threads must be an integer from 1 to {cpus} (this machine's CPUs), not {threads!r}")
        self.directory = Path(directory)
        self.manifest = verify_export(self.directory)
        self.itos, self.label_names, self.ngrams = read_tokenizer(self.directory / TOKENIZER)
        self.stoi = {word: i for i, word in enumerate(self.itos)}
        # An n-gram model's ids follow its words': n-grams hashed into rows len(itos) onwards.
        self.encoder = (NgramEncoder(self.stoi, *self.ngrams, offset=len(self.itos)) if self.ngrams
                        else Encoder(self.stoi))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(self.directory / MODEL), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime's errors share no base class but Exception
            raise ExportIntegrityError(f"{self.directory / MODEL}: not a model ONNX Runtime can load "
                                       f"({str(e).splitlines()[0][:300]})") from e
        outputs = [output.name for output in self.session.get_outputs()]
        if outputs != list(OUTPUTS):
            raise ExportIntegrityError(
                f"{self.directory / MODEL}: gives {', '.join(outputs)}, not {', '.join(OUTPUTS)} (an export made "
                f"by an lmf before format_version 2 gives only logits); export the model again with this lmf")
        self._logit_outputs, self._answer_outputs = list(OUTPUTS[:1]), list(OUTPUTS[1:])
        # InferenceSession.run checks the input names and the inputs' owners on every call before it
        # calls the compiled session, about 1.5 us of a batch-1 prediction; the inputs here are
        # always {"ids": a fresh int64 array}, so the compiled run (same arguments) is called
        # directly where this onnxruntime has one.
        self._run = getattr(self.session, "_sess", self.session).run
        self._check_model()

    def _check_model(self):
        """The highest word id (and an n-gram model's highest bucket) runs and gives one logit per
        label. ONNX Runtime does not show the embedding's rows, and how ids index them depends on
        the model kind (HMF splits them over two tables), so the check runs the id: it fails
        exactly when some word has no row."""
        quiet = ort.RunOptions()
        quiet.log_severity_level = 4  # the failure is reported below, not also logged by ONNX Runtime
        highest = [len(self.itos) - 1] + ([len(self.itos) + self.ngrams[1] - 1] if self.ngrams else [])
        buckets = f" and {self.ngrams[1]:,} n-gram buckets" if self.ngrams else ""
        try:
            logits = self.session.run(self._logit_outputs, {"ids": np.array([highest], np.int64)}, quiet)[0]
        except Exception as e:
            raise ExportIntegrityError(
                f"{self.directory}: {TOKENIZER} lists {len(self.itos):,} words{buckets}, more than {MODEL} has "
                f"embedding rows for, or the model does not run ({str(e).splitlines()[0][:300]})") from e
        if logits.shape != (1, len(self.label_names)):
            raise ExportIntegrityError(f"{self.directory}: {MODEL} gives {logits.shape[-1]} logits per text, "
                                       f"{TOKENIZER} names {len(self.label_names)} labels")

    def encode(self, texts):
        """Ids of `texts` (a list or tuple of strings, else TypeError), as int64 bytes each
        (lmf.tokenize.Encoder); ValueError for a text with no token (empty, only spaces or
        invisible characters)."""
        if type(texts) is list and len(texts) == 1 and type(texts[0]) is str:
            encoded = [self.encoder.encode(texts[0])]  # batch 1: check_texts' answer, known
        else:
            check_texts(texts)
            encoded = list(map(self.encoder.encode, texts))
        if not all(encoded):
            i = encoded.index(b"")
            raise no_token(i, texts[i])
        return encoded

    def ids(self, encoded):
        """One batch of `encode`'s int64 bytes as an int64 [B, T] array padded with PAD_ID to its
        longest row, built without a Python step per text or per id."""
        if len(encoded) == 1:  # one text: no padding to do
            return np.frombuffer(encoded[0], np.int64)[None]
        lengths = np.fromiter(map(len, encoded), np.int64, len(encoded)) // 8
        ids = np.full((len(encoded), lengths.max()), PAD_ID, dtype=np.int64)
        # The mask's True cells, row after row, are where the concatenated ids go.
        ids[np.arange(ids.shape[1]) < lengths[:, None]] = np.frombuffer(b"".join(encoded), np.int64)
        return ids

    def logits(self, texts, batch_size=64):
        """[N, C] float32 logits; each batch padded to its own longest text."""
        _check_batch_size(batch_size)
        return self._logits(self.encode(texts), batch_size)

    def _logits(self, encoded, batch_size):
        runs = self._runs(encoded, batch_size, self._logit_outputs)
        return runs[0] if runs else np.zeros((0, len(self.label_names)), np.float32)

    def _runs(self, encoded, batch_size, outputs):
        """The session's `outputs` for the encoded texts, one run per batch of `batch_size` ([] for
        no text)."""
        runs = [self._run(outputs, {"ids": self.ids(encoded[start:start + batch_size])}, None)
                for start in range(0, len(encoded), batch_size)]
        return runs[0] if len(runs) == 1 else [np.concatenate(parts) for parts in zip(*runs)]

    def predict(self, texts, batch_size=64):
        """[(label name, probability)] of each text: the graph's answer (its top class, and that
        class's softmax probability)."""
        _check_batch_size(batch_size)
        encoded = self.encode(texts)
        if len(encoded) == 1:
            # Batch 1, the latency users feel, takes the shortest way: one run on the text's own
            # ids, two numbers read with item() (the batched path's list-building costs 3 us more).
            label, probability = self._run(self._answer_outputs, {"ids": self.ids(encoded)}, None)
            return [(self.label_names[label.item()], probability.item())]
        runs = self._runs(encoded, batch_size, self._answer_outputs)
        if not runs:
            return []
        label, probability = runs
        return list(zip(map(self.label_names.__getitem__, label.tolist()), probability.tolist()))

    def unknown_words(self, text):
        """The distinct words of `text` (a string, else TypeError) the model reads as UNK
        (lmf.tokenize.unknown_tokens)."""
        check_texts([text])
        return unknown_tokens(text, self.stoi)
