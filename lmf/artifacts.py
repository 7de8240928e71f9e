"""Saving and loading a model with everything needed to use it: a directory of three files.

    model.safetensors   the weights (integers plus scales when the config says `bits`)
    meta.json           config, vocabulary (words and training counts), label names, metrics
    manifest.json       sha256 of the two files above

A save writes into a temporary sibling directory and renames it into place, so a crash never
leaves a half-written model where a good one is expected; what lands there gets the usual
permissions for the umask (tempfile alone would leave it private to the owner). A load checks
every hash first and fails with ArtifactError naming the file, for a meta.json that describes no
model as much as for a corrupt file. Weights are read with safetensors only: nothing on disk
is ever unpickled.

Deliberately not here: deciding what to save (lmf.runner), file names (lmf.layout), the atomic
writers (lmf.atomic) or model code (lmf.models).
"""
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .atomic import replace_dir
from .layout import MANIFEST, META, WEIGHTS, ArtifactError, file_sha256
from .data import Vocab
from .models import build_model
from .quantize import dequantize_state_dict, quantize_state_dict



@dataclass
class SavedModel:
    model: torch.nn.Module
    vocab: Vocab
    label_names: list
    config: dict
    metrics: dict
    path: Path


def save_model(path, model, vocab, label_names, metrics=None):
    """Save `model` (which carries its `config`) with its vocabulary and labels to directory `path`."""
    config = dict(model.config)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if config.get("bits"):
        state = quantize_state_dict(state, config["bits"])

    def fill(tmp):
        save_file(state, tmp / WEIGHTS)
        meta = {"config": config, "label_names": list(label_names), "metrics": metrics or {},
                "vocab": {"itos": vocab.itos, "counts": vocab.counts}}
        (tmp / META).write_text(json.dumps(meta), encoding="utf-8")
        manifest = {name: file_sha256(tmp / name) for name in (WEIGHTS, META)}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")

    return replace_dir(path, fill, owned=is_saved_model)


def is_saved_model(path):
    """True when `path` holds a saved model's description and manifest (a folder lmf wrote)."""
    return (Path(path) / META).is_file() and (Path(path) / MANIFEST).is_file()


def verify(path):
    """Raise ArtifactError unless `path` holds a complete model whose files match its manifest."""
    path = Path(path)
    if not path.is_dir():
        raise ArtifactError(f"{path}: no saved model here")
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ArtifactError(f"{path / MANIFEST}: missing or unreadable ({e})") from e
    for name in (WEIGHTS, META):
        if not (path / name).is_file():
            raise ArtifactError(f"{path / name}: missing")
        if manifest.get(name) != file_sha256(path / name):
            raise ArtifactError(f"{path / name}: sha256 does not match manifest.json; "
                                "the file is corrupt or was changed after saving")


def _why(e):
    # A KeyError's text is just the key: say what is wrong with it.
    return f"missing key {e}" if isinstance(e, KeyError) else f"{type(e).__name__}: {e}"


def load_model(path, device="cpu"):
    """A SavedModel from directory `path`, after checking its hashes; the model is in eval mode.

    Whatever is wrong with the files (a meta.json without `config`, an unknown model type, weights
    that do not fit the config) raises ArtifactError naming the file, never a bare KeyError."""
    path = Path(path)
    verify(path)
    try:
        meta = json.loads((path / META).read_text(encoding="utf-8"))
        config = meta["config"]
        if not isinstance(config, dict):
            raise TypeError(f"'config' is a {type(config).__name__}, not a JSON object")
        config = dict(config)
        vocab = Vocab(list(meta["vocab"]["itos"]), list(meta["vocab"]["counts"]))
        label_names = list(meta["label_names"])
        metrics = dict(meta.get("metrics") or {})
    except (KeyError, AttributeError, TypeError, ValueError) as e:  # ValueError: bad JSON or UTF-8
        raise ArtifactError(f"{path / META}: not a saved model's description ({_why(e)})") from e
    try:
        tensors = load_file(path / WEIGHTS)
        if config.get("bits"):
            tensors = dequantize_state_dict(tensors)
        model = build_model(config)
        model.load_state_dict(tensors)
    except (KeyError, AttributeError, TypeError, ValueError, RuntimeError, SafetensorError) as e:
        raise ArtifactError(f"{path}: cannot rebuild the model from {META} and {WEIGHTS} "
                            f"({_why(e)})") from e
    return SavedModel(model.to(device).eval(), vocab, label_names, config, metrics, path)


def zip_saved(model, vocab, label_names, name):
    """`model` saved with save_model to a temporary directory `name`, as zip bytes (a download)."""
    from .layout import zip_model
    with tempfile.TemporaryDirectory() as tmp:
        return zip_model(save_model(Path(tmp) / name, model, vocab, label_names))
