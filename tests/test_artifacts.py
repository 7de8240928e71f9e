"""lmf.artifacts: save/load round trip, hash checks, and atomic writes that never leave half a model."""
import json

import pytest
import torch

from lmf import artifacts
from lmf.artifacts import (MANIFEST, META, WEIGHTS, ArtifactError, load_model, save_model, verify,
                           write_json_atomic, write_text_atomic)
from lmf.compress import compress_model
from lmf.data import PAD, UNK, Vocab
from lmf.models import build_model, default_config

VOCAB = Vocab([PAD, UNK, "good", "bad", "film"], [0, 0, 5, 4, 3])
IDS = torch.tensor([[2, 4, 0], [3, 1, 4], [1, 0, 0]])


def model(arch="dan", seed=0):
    torch.manual_seed(seed)
    return build_model(default_config(arch, 5, 2, embed_dim=8)).eval()


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if ".tmp-" in p.name)


@pytest.mark.parametrize("make", [lambda: model("dan"), lambda: model("lstm"),
                                  lambda: compress_model(model("lstm"), 50)])
def test_roundtrip_same_logits(tmp_path, make):
    original = make()
    save_model(tmp_path / "m", original, VOCAB, ["neg", "pos"], {"test_accuracy": 0.75})
    saved = load_model(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == sorted([WEIGHTS, META, MANIFEST])
    with torch.no_grad():
        assert torch.equal(saved.model(IDS), original(IDS))
    assert saved.vocab.itos == VOCAB.itos and saved.vocab.counts == VOCAB.counts
    assert saved.label_names == ["neg", "pos"]
    assert saved.config == original.config and saved.model.config == original.config
    assert saved.metrics == {"test_accuracy": 0.75}
    assert not saved.model.training


def test_tampered_weights_fail_sha256(tmp_path):
    save_model(tmp_path / "m", model(), VOCAB, ["neg", "pos"])
    path = tmp_path / "m" / WEIGHTS
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01  # flip one bit of the last weight
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="sha256") as err:
        load_model(tmp_path / "m")
    assert WEIGHTS in str(err.value)


def test_tampered_meta_fails_sha256(tmp_path):
    save_model(tmp_path / "m", model(), VOCAB, ["neg", "pos"])
    meta = tmp_path / "m" / META
    meta.write_text(meta.read_text().replace('"neg"', '"NEG"'))
    with pytest.raises(ArtifactError, match="sha256"):
        load_model(tmp_path / "m")


@pytest.mark.parametrize("name", [MANIFEST, WEIGHTS, META])
def test_missing_file(tmp_path, name):
    save_model(tmp_path / "m", model(), VOCAB, ["neg", "pos"])
    (tmp_path / "m" / name).unlink()
    with pytest.raises(ArtifactError, match=name.replace(".", r"\.")):
        load_model(tmp_path / "m")


def test_missing_directory(tmp_path):
    with pytest.raises(ArtifactError, match="no saved model"):
        verify(tmp_path / "nothing")


def test_weights_that_do_not_fit_config(tmp_path):
    """Hashes match (the manifest was rewritten) but the config promises a bigger vocabulary than
    the weights hold: a clear ArtifactError, not a raw torch error."""
    save_model(tmp_path / "m", model(), VOCAB, ["neg", "pos"])
    meta_path = tmp_path / "m" / META
    meta = json.loads(meta_path.read_text())
    meta["config"]["vocab_size"] = 6
    meta_path.write_text(json.dumps(meta))
    manifest = json.loads((tmp_path / "m" / MANIFEST).read_text())
    manifest[META] = artifacts.sha256(meta_path)
    (tmp_path / "m" / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="cannot rebuild"):
        load_model(tmp_path / "m")


def test_overwrite_leaves_no_temporary_directories(tmp_path):
    save_model(tmp_path / "m", model(seed=0), VOCAB, ["neg", "pos"])
    save_model(tmp_path / "m", model(seed=1), VOCAB, ["neg", "pos"])
    assert leftovers(tmp_path) == []
    with torch.no_grad():
        assert torch.equal(load_model(tmp_path / "m").model(IDS), model(seed=1)(IDS))


def test_failed_save_keeps_previous_model(tmp_path, monkeypatch):
    """save_file raising halfway through a second save: the error propagates, the first model is
    still there and loads with its own logits, and no temporary directory is left behind."""
    first = model(seed=0)
    save_model(tmp_path / "m", first, VOCAB, ["neg", "pos"])

    def broken(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(artifacts, "save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        save_model(tmp_path / "m", model(seed=1), VOCAB, ["neg", "pos"])
    assert leftovers(tmp_path) == []
    with torch.no_grad():
        assert torch.equal(load_model(tmp_path / "m").model(IDS), first(IDS))


def test_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(artifacts, "sha256", lambda path: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        save_model(tmp_path / "m", model(), VOCAB, ["neg", "pos"])
    assert list(tmp_path.iterdir()) == []


def test_atomic_text_and_json(tmp_path, monkeypatch):
    write_json_atomic(tmp_path / "deep" / "a.json", {"b": 1, "a": [1, 2]})
    assert json.loads((tmp_path / "deep" / "a.json").read_text()) == {"a": [1, 2], "b": 1}
    write_text_atomic(tmp_path / "t.txt", "old")

    def broken(src, dst):
        raise OSError("rename failed")
    monkeypatch.setattr(artifacts.os, "replace", broken)
    with pytest.raises(OSError):
        write_text_atomic(tmp_path / "t.txt", "new")
    assert (tmp_path / "t.txt").read_text() == "old"
    assert leftovers(tmp_path) == []
