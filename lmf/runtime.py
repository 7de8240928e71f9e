"""Run an exported model (lmf.export) on raw text with ONNX Runtime: no torch anywhere.

    Predictor(directory, threads=1).predict(texts, batch_size=64) -> [(label, probability)]

Loading checks the directory first: manifest.json must say it is an lmf export, every file it
lists must match its sha256 (a changed or corrupt file is refused by name), and tokenizer.json's
settings must be lmf.tokenize's own, since ids from another tokenizer would be silently wrong.
Texts go through lmf.tokenize (clip, normalise, tokens, ids), are padded per batch to the longest
row with PAD_ID, and the logits become probabilities with a softmax in numpy.

Imports: numpy, onnxruntime, the standard library, lmf.tokenize and lmf.layout (both standard
library only). Deliberately not here: torch, exporting, timing.
"""
import json
import math
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .layout import ArtifactError, verified_files
from .tokenize import PAD_ID, encode, settings, unknown_tokens

FORMAT, MODEL, TOKENIZER, MANIFEST = "lmf-export", "model.onnx", "tokenizer.json", "manifest.json"


class ExportIntegrityError(RuntimeError):
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
    except ArtifactError as e:
        raise ExportIntegrityError(str(e)) from e
    return manifest


class Predictor:
    """An exported classifier; `threads` is ONNX Runtime's intra-op thread count."""

    def __init__(self, directory, threads=1):
        self.directory = Path(directory)
        self.manifest = verify_export(self.directory)
        tokenizer = _read_json(self.directory / TOKENIZER)
        ours = settings()
        theirs = tokenizer.get("tokenizer") or {}
        differing = sorted(k for k in ours if k != "unicode_version" and theirs.get(k) != ours[k])
        if differing:
            # The Unicode version alone may differ (NFKC of rare characters): other settings change ids.
            raise ExportIntegrityError(f"{self.directory / TOKENIZER}: made with other tokenizer settings "
                                       f"({', '.join(differing)}) than this lmf's; re-export the model")
        self.itos = list(tokenizer["itos"])
        self.stoi = {word: i for i, word in enumerate(self.itos)}
        self.label_names = list(tokenizer["label_names"])
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(self.directory / MODEL), options,
                                            providers=["CPUExecutionProvider"])
        self._outputs = [self.session.get_outputs()[0].name]

    def encode(self, texts):
        """Id lists of `texts`; ValueError for a text with no token (empty, only spaces)."""
        id_lists = []
        for i, text in enumerate(texts):
            ids = encode(text, self.stoi)
            if not ids:
                raise ValueError(f"text {i} ({str(text)[:40]!r}) is empty or has no token to classify")
            id_lists.append(ids)
        return id_lists

    def ids(self, id_lists):
        """One batch as an int64 [B, T] array padded with PAD_ID to its longest row."""
        if len(id_lists) == 1:  # batch 1, the latency that users feel: no padding to do
            return np.array(id_lists, dtype=np.int64)
        ids = np.full((len(id_lists), max(map(len, id_lists))), PAD_ID, dtype=np.int64)
        for row, seq in enumerate(id_lists):
            ids[row, :len(seq)] = seq
        return ids

    def logits(self, texts, batch_size=64):
        """[N, C] float32 logits; each batch padded to its own longest text."""
        id_lists = self.encode(texts)
        out = [self.session.run(self._outputs, {"ids": self.ids(id_lists[start:start + batch_size])})[0]
               for start in range(0, len(id_lists), batch_size)]
        if len(out) == 1:
            return out[0]
        return np.concatenate(out) if out else np.zeros((0, len(self.label_names)), np.float32)

    def predict(self, texts, batch_size=64):
        """[(label name, probability)] of each text. The softmax probability of the top label is
        1 / sum(exp(logits - top logit))."""
        logits = self.logits(texts, batch_size)
        if len(logits) == 1:
            # Batch 1 is the latency users feel: right after a session run, NumPy's calls on the tiny
            # [1, C] output cost about 15 us and plain Python about 3 us (2 classes) to 13 us (151).
            row = logits[0].tolist()
            top = max(row)
            return [(self.label_names[row.index(top)], 1.0 / sum(math.exp(v - top) for v in row))]
        best = logits.argmax(-1)
        probability = 1.0 / np.exp(logits - logits.max(-1, keepdims=True)).sum(-1)
        return [(self.label_names[b], p) for b, p in zip(best.tolist(), probability.tolist())]

    def unknown_words(self, text):
        """The distinct words of `text` the model reads as UNK (lmf.tokenize.unknown_tokens)."""
        return unknown_tokens(text, self.stoi)
