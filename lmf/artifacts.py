"""Saving and loading a model with everything needed to use it: a directory of three files.

    model.safetensors   the weights (integers plus scales when the config says `bits`)
    meta.json           config, vocabulary (words and training counts), label names, metrics
    manifest.json       format "lmf-model" and the sha256 of the two files above

A save writes into a temporary sibling directory and renames it into place (`lmf.atomic.replace_dir`, the
one directory swap), so a crash never leaves a half-written model where a good one is expected. It
only ever replaces nothing, an empty directory or another saved model holding nothing but what lmf
wrote (lmf.layout.refusal: its manifest's format and every file's sha256), never a user's folder,
a file or the model being read (`check_output`); what lands there gets the usual
permissions for the umask (tempfile alone would leave it private to the owner). A load checks
every hash first and fails with ArtifactError naming the file, for a meta.json that describes no
model as much as for a corrupt file. Weights are read with safetensors only: nothing on disk
is ever unpickled.

Deliberately not here: deciding what to save (sweep.runner), file names (lmf.layout), the atomic
writers (lmf.atomic) or model code (lmf.models).
"""
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .atomic import replace_dir
from .layout import MANIFEST, META, MODEL_FORMAT, WEIGHTS, ArtifactError, file_sha256, is_lmf_output, refusal
from .data import Vocab
from .models import build_model, check_dropout
from .ngrams import model_vocab
from .quantize import INT_DTYPES, SCALE_SUFFIX, dequantize_state_dict, quantize_state_dict



@dataclass
class SavedModel:
    model: torch.nn.Module
    vocab: Vocab
    label_names: list
    config: dict
    metrics: dict
    path: Path


def check_output(path, keep=()):
    """Raise ArtifactError unless a model may be saved at directory `path`: nothing there, an empty
    directory, or a saved model holding nothing but what lmf wrote (lmf.layout.refusal) that is
    none of `keep` (the model being read) and holds none of them.

    Saving replaces what is there, so anything else (a user's folder, a file, a saved model with a
    file added or changed, the source model's parent) is refused rather than deleted, naming what
    is not lmf's. The CLI calls this before it trains, save_model again."""
    path = Path(path)
    target = path.resolve()
    for kept in keep:
        kept = Path(kept).resolve()
        if target == kept or target in kept.parents or kept in target.parents:
            where = "" if target == kept else " or holds it" if target in kept.parents else " or is inside it"
            raise ArtifactError(f"{path}: this is the model being read{where}; save the new model somewhere else")
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise ArtifactError(f"{path}: exists and is not a directory; refusing to replace it with a model")
    why = refusal(path, MANIFEST, MODEL_FORMAT)
    if why:
        raise ArtifactError(f"{why}: it is not a saved model of lmf's alone, so it is not replaced; "
                            "give an empty or new directory")
    _check_writable(Path(os.path.abspath(path)).parent)


def _check_writable(folder):
    """ArtifactError unless a file can be made in `folder`, or in its nearest existing ancestor when
    it is still to be made: a run that trains for minutes and then cannot save (a read-only disk,
    /proc) should not start. The probe is an anonymous temporary file: it leaves nothing behind."""
    existing = next((p for p in [folder, *folder.parents] if p.is_dir()), None)
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as e:
        raise ArtifactError(f"{folder}: cannot write there ({e.strerror or e}); give another directory") from e


def save_model(path, model, vocab, label_names, metrics=None, keep=()):
    """Save `model` (which carries its `config`) with its vocabulary and labels to directory `path`,
    which check_output(path, keep) must allow. What load_model would refuse (describe's and
    weights' checks: labels that do not name each class once, more words than embedding rows, NaN
    weights) is a ValueError here, before anything is written: a saved model always loads."""
    path = Path(os.path.abspath(path))  # "." or "a/.." has no name to make a sibling of
    check_output(path, keep)
    config = dict(model.config)
    vocab = model_vocab(vocab, config)  # a pruned model keeps only the words it has rows for
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if config.get("bits"):
        state = quantize_state_dict(state, config["bits"])
    meta = {"config": config, "label_names": list(label_names), "metrics": metrics or {},
            "vocab": {"itos": vocab.itos, "counts": vocab.counts}}
    try:
        describe(json.loads(json.dumps(meta)))  # as load_model will read it back
        weights(state, config)
    except ValueError as e:
        raise ValueError(f"{path}: not saved, as it could not be loaded back: {e}") from e
    path.parent.mkdir(parents=True, exist_ok=True)

    def fill(tmp):
        save_file(state, tmp / WEIGHTS)
        (tmp / META).write_text(json.dumps(meta), encoding="utf-8")
        manifest = {"format": MODEL_FORMAT, "format_version": 1,
                    "files": {name: file_sha256(tmp / name) for name in (WEIGHTS, META)}}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")

    return replace_dir(path, fill, owned=is_saved_model)


def is_saved_model(path):
    """True when `path` holds a saved model and nothing else (lmf.layout.is_lmf_output: its
    manifest says so, and lists every other file there with a matching sha256)."""
    return is_lmf_output(path, MANIFEST, MODEL_FORMAT)


def verify(path):
    """Raise ArtifactError unless `path` holds a complete model whose files match its manifest."""
    path = Path(path)
    if not path.is_dir():
        raise ArtifactError(f"{path}: no saved model here")
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ArtifactError(f"{path / MANIFEST}: missing or unreadable ({e})") from e
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{path / MANIFEST}: holds a JSON {_kind(manifest)}, not an object of file "
                            f"hashes ({{\"{WEIGHTS}\": sha256, \"{META}\": sha256}})")
    if "format" in manifest and manifest["format"] != MODEL_FORMAT:
        raise ArtifactError(f"{path / MANIFEST}: format {manifest['format']!r}, not a saved model's "
                            f"{MODEL_FORMAT!r} (an export is run with lmf.runtime, not loaded here)")
    files = manifest["files"] if isinstance(manifest.get("files"), dict) else manifest  # flat: before the marker
    for name in (WEIGHTS, META):
        if not (path / name).is_file():
            raise ArtifactError(f"{path / name}: missing")
        if files.get(name) != file_sha256(path / name):
            raise ArtifactError(f"{path / name}: sha256 does not match manifest.json; "
                                "the file is corrupt or was changed after saving")


def _kind(value):
    """The JSON name of a value's type, for messages: a list is an 'array', a dict an 'object'."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null",
             int: "number", float: "number"}
    return names.get(type(value), type(value).__name__)


def _is(value, kinds):
    # JSON true/false arrive as bool, which Python counts as an int: never a size.
    return not isinstance(value, bool) and isinstance(value, kinds)


_SIZE, _NUMBER, _OPTIONAL_SIZE, _OPTIONAL_LIST = (int,), (int, float), (int, type(None)), (list, type(None))
# The config keys build_model reads (required first), with the JSON types each may take.
REQUIRED_CONFIG = ("arch", "vocab_size", "num_classes", "embed_dim", "hidden", "dropout")
CONFIG_TYPES = {"arch": (str,), "vocab_size": _SIZE, "num_classes": _SIZE, "embed_dim": _SIZE,
                "hidden": (list, int), "dropout": _NUMBER, "word_dropout": _NUMBER,
                "rank": _OPTIONAL_SIZE, "bits": _OPTIONAL_SIZE, "hmf_rank": _OPTIONAL_SIZE,
                "hmf_dense_rows": _OPTIONAL_SIZE, "hidden_ranks": _OPTIONAL_LIST,
                "group_sizes": _OPTIONAL_LIST, "group_ranks": _OPTIONAL_LIST,
                "ngrams": _OPTIONAL_SIZE, "buckets": _OPTIONAL_SIZE, "kept_words": _OPTIONAL_SIZE}


def describe(meta):
    """(config, Vocab, label_names, metrics) from meta.json's parsed content, or ValueError saying
    which field is wrong: anything the rest of the package would index, iterate or look words up in
    is checked here, once, so that a bad file never surfaces as an IndexError or TypeError later."""
    if not isinstance(meta, dict):
        raise ValueError(f"a JSON {_kind(meta)}, not an object")
    for key in ("config", "vocab", "label_names"):
        if key not in meta:
            raise ValueError(f"missing key '{key}'")
    config = meta["config"]
    if not isinstance(config, dict):
        raise ValueError(f"'config' is a JSON {_kind(config)}, not an object")
    for key in REQUIRED_CONFIG:
        if key not in config:
            raise ValueError(f"config has no '{key}'")
    for key, kinds in CONFIG_TYPES.items():
        if key in config and not _is(config[key], kinds):
            raise ValueError(f"config '{key}' is {json.dumps(config[key])}, not "
                             + " or ".join(sorted({_kind(k()) for k in kinds})))
        if kinds in (_SIZE, _OPTIONAL_SIZE) and isinstance(config.get(key), int) and config[key] < 1:
            raise ValueError(f"config '{key}' is {config[key]}, not a positive number")
    check_dropout(config)
    vocab = meta["vocab"]
    if not isinstance(vocab, dict):
        raise ValueError(f"'vocab' is a JSON {_kind(vocab)}, not an object")
    itos, counts = vocab.get("itos"), vocab.get("counts")
    if not isinstance(itos, list) or not all(isinstance(word, str) for word in itos):
        raise ValueError(f"'vocab.itos' must be an array of words (strings), not {json.dumps(itos)[:40]}")
    if len(set(itos)) < len(itos):
        seen = set()
        twice = next(word for word in itos if word in seen or seen.add(word))
        raise ValueError(f"'vocab.itos' lists the word {twice!r} more than once")
    if len(itos) > config["vocab_size"]:
        raise ValueError(f"'vocab.itos' has {len(itos):,} words, more than config 'vocab_size' "
                         f"{config['vocab_size']:,}")
    if not isinstance(counts, list) or len(counts) != len(itos) or not all(_is(c, int) for c in counts):
        raise ValueError(f"'vocab.counts' must be an array of {len(itos):,} integers, one per word")
    labels = meta["label_names"]
    if not isinstance(labels, list) or not all(isinstance(name, str) for name in labels):
        raise ValueError(f"'label_names' must be an array of strings, not {json.dumps(labels)[:40]}")
    if len(labels) != config["num_classes"] or len(set(labels)) < len(labels):
        raise ValueError(f"'label_names' {json.dumps(labels)[:60]} must name each of the "
                         f"{config['num_classes']} classes once")
    metrics = meta.get("metrics") or {}
    if not isinstance(metrics, dict):
        raise ValueError(f"'metrics' is a JSON {_kind(metrics)}, not an object")
    return dict(config), Vocab(list(itos), list(counts)), list(labels), dict(metrics)


def weights(tensors, config):
    """The float state dict of a saved model's tensors (dequantized when the config says `bits`),
    or ValueError for an integer tensor without its scale or a weight that is NaN or infinite."""
    for name, tensor in tensors.items():
        if tensor.dtype in INT_DTYPES.values() and name + SCALE_SUFFIX not in tensors:
            raise ValueError(f"'{name}' is {tensor.dtype} without its scale '{name}{SCALE_SUFFIX}'")
    if config.get("bits"):
        tensors = dequantize_state_dict(tensors)
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ValueError(f"'{name}' holds NaN or infinite values (did its training diverge?)")
    return tensors


def _why(e):
    # A KeyError's text is just the key: say what is wrong with it. torch's load_state_dict lists
    # every mismatched tensor on a line of its own: the first is the message's one line.
    if isinstance(e, KeyError):
        return f"missing key {e}"
    lines = [line.strip() for line in str(e).splitlines() if line.strip()] or [""]
    head = lines[0]
    if head.endswith(":") and len(lines) > 1:  # a heading over a list: the heading and its first item
        head, lines = f"{head} {lines[1]}", lines[1:]
    return f"{type(e).__name__}: {head}" + (f" (and {len(lines) - 1} more)" if len(lines) > 1 else "")


def load_model(path, device="cpu"):
    """A SavedModel from directory `path`, after checking its hashes; the model is in eval mode.

    Whatever is wrong with the files (a meta.json that `describe` rejects, an int8 tensor without
    its scale or a NaN weight (`weights`), an unknown model type, weights that do not fit the
    config) raises ArtifactError naming the file, never a bare KeyError or IndexError."""
    path = Path(path)
    verify(path)
    try:
        config, vocab, label_names, metrics = describe(json.loads((path / META).read_text(encoding="utf-8")))
    except ValueError as e:  # also bad JSON or UTF-8
        raise ArtifactError(f"{path / META}: not a saved model's description ({e})") from e
    try:
        tensors = weights(load_file(path / WEIGHTS), config)
    except (ValueError, SafetensorError) as e:
        raise ArtifactError(f"{path / WEIGHTS}: {e}") from e
    try:
        model = build_model(config)
        model.load_state_dict(tensors)
        vocab = model_vocab(vocab, config)  # an n-gram model's encodes its n-grams too (lmf.ngrams)
    except (KeyError, AttributeError, TypeError, ValueError, RuntimeError) as e:
        raise ArtifactError(f"{path}: cannot rebuild the model from {META} and {WEIGHTS} "
                            f"({_why(e)})") from e
    return SavedModel(model.to(device).eval(), vocab, label_names, config, metrics, path)
