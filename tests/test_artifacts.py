"""lmf.artifacts: save/load round trip, hash checks, and atomic writes that never leave half a model."""
import json
import os

import pytest
import torch

from lmf import artifacts, atomic
from lmf.artifacts import MANIFEST, META, WEIGHTS, ArtifactError, check_output, load_model, save_model, verify
from lmf.atomic import write_json_atomic, write_text_atomic
from lmf.layout import file_sha256
from lmf.compress import compress_model
from lmf.data import Vocab
from lmf.tokenize import PAD, UNK
from lmf.models import build_model, default_config
from lmf.quantize import quantize_model

VOCAB = Vocab([PAD, UNK, "good", "bad", "film"], [0, 0, 5, 4, 3])
IDS = torch.tensor([[2, 4, 0], [3, 1, 4], [1, 0, 0]])


def model(arch="dan", seed=0):
    torch.manual_seed(seed)
    return build_model(default_config(arch, 5, 2, embed_dim=8)).eval()


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if ".tmp-" in p.name)


def rehash(directory, name):
    """Write `name`'s new sha256 into the saved model's manifest, as a tamperer would."""
    manifest = json.loads((directory / MANIFEST).read_text())
    manifest["files"][name] = file_sha256(directory / name)
    (directory / MANIFEST).write_text(json.dumps(manifest))


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
    rehash(tmp_path / "m", META)
    with pytest.raises(ArtifactError, match="cannot rebuild"):
        load_model(tmp_path / "m")
    meta["config"].update(vocab_size=5, hidden=[10, 5])  # four tensors of other shapes: torch lists each on a line
    meta_path.write_text(json.dumps(meta))
    rehash(tmp_path / "m", META)
    with pytest.raises(ArtifactError) as raised:
        load_model(tmp_path / "m")
    assert "\n" not in str(raised.value) and "size mismatch for" in str(raised.value)
    assert str(raised.value).endswith(" more))"), "one line, saying how many more mismatches torch listed"


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


def nan_model():
    m = model(seed=1)
    with torch.no_grad():
        m.out.weight[0, 0] = float("nan")
    return m


@pytest.mark.parametrize("make,vocab,labels,why", [
    (model, VOCAB, ["neg", "pos", "extra"], "must name each of the 2 classes once"),
    (model, VOCAB, ["neg", "neg"], "must name each of the 2 classes once"),
    (model, VOCAB, [0, 1], "must be an array of strings"),
    (model, Vocab(VOCAB.itos + ["more"], VOCAB.counts + [1]), ["neg", "pos"], "more than config 'vocab_size'"),
    (nan_model, VOCAB, ["neg", "pos"], "NaN or infinite"),
])
def test_save_refuses_what_load_would_refuse_and_keeps_the_model_there(tmp_path, make, vocab, labels, why):
    """Labels that do not name the model's 2 classes once, or are not strings; 6 words for a 5-row
    table; a NaN weight: each a ValueError naming the reason, before anything is written, so the
    good model saved there before still loads with its own logits."""
    first = model(seed=0)
    save_model(tmp_path / "m", first, VOCAB, ["neg", "pos"])
    with pytest.raises(ValueError, match=why):
        save_model(tmp_path / "m", make(), vocab, labels)
    assert leftovers(tmp_path) == []
    with torch.no_grad():
        assert torch.equal(load_model(tmp_path / "m").model(IDS), first(IDS))


@pytest.mark.parametrize("dropout", [float("nan"), -0.1, 1.0])
def test_a_dropout_that_is_no_probability_is_refused_on_load(tmp_path, dropout):
    """meta.json's dropout NaN (JSON allows it), negative or 1: an ArtifactError naming the field
    and what it must be (torch builds a model with NaN or 1 without a word, and fails only when it
    runs, with a RuntimeError naming neither the file nor the field)."""
    save_model(tmp_path / "m", model(), VOCAB, ["neg", "pos"])
    meta = json.loads((tmp_path / "m" / META).read_text())
    meta["config"]["dropout"] = dropout
    (tmp_path / "m" / META).write_text(json.dumps(meta))
    rehash(tmp_path / "m", META)
    with pytest.raises(ArtifactError, match="'dropout' is .*not a probability"):
        load_model(tmp_path / "m")


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc, where no file can be made")
def test_an_output_where_nothing_can_be_written_is_refused_before_any_work(tmp_path):
    """/proc takes no new file (root or not, where a chmod would not stop root): check_output says
    so up front, naming the folder, so the CLI never trains a model it cannot save. A new folder
    under a writable one passes, and the probe leaves nothing there."""
    with pytest.raises(ArtifactError, match="/proc: cannot write there"):
        check_output("/proc/lmf-model")
    check_output(tmp_path / "new" / "model")
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_what_is_not_a_model(tmp_path):
    """Issue 10: `--out DIR` deleted whatever was at DIR. A folder holding a user's notes.txt, a
    plain file, and a folder holding a model plus a user file are each refused with an
    ArtifactError naming the path; each is left exactly as it was, with no .tmp- sibling."""
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    (tmp_path / "file").write_text("keep me too")
    save_model(tmp_path / "mixed", model(), VOCAB, ["neg", "pos"])
    (tmp_path / "mixed" / "notes.txt").write_text("and me")
    for name, why in [("mine", "not a saved model"), ("file", "not a directory"), ("mixed", "not a saved model")]:
        with pytest.raises(ArtifactError, match=why) as err:
            save_model(tmp_path / name, model(seed=1), VOCAB, ["neg", "pos"])
        assert str(tmp_path / name) in str(err.value)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert (tmp_path / "file").read_text() == "keep me too"
    assert (tmp_path / "mixed" / "notes.txt").read_text() == "and me"
    with torch.no_grad():
        assert torch.equal(load_model(tmp_path / "mixed").model(IDS), model()(IDS))
    assert leftovers(tmp_path) == []


def test_saved_manifest_names_its_format_and_old_ones_still_count(tmp_path):
    """manifest.json says format "lmf-model" beside the two files' sha256 (issue 22.1: lmf's own
    output is recognised by more than two file names). A model saved before the marker (a flat
    {file: sha256} manifest, as artifacts/models ships) still loads and is still replaced by a
    save; a saved model whose meta.json a user edited is not (named as changed), and stays."""
    save_model(tmp_path / "m", model(), VOCAB, ["neg", "pos"])
    manifest = json.loads((tmp_path / "m" / MANIFEST).read_text())
    assert manifest["format"] == "lmf-model" and sorted(manifest["files"]) == [META, WEIGHTS]
    (tmp_path / "m" / MANIFEST).write_text(json.dumps(manifest["files"]))  # the old, flat form
    load_model(tmp_path / "m")
    assert artifacts.is_saved_model(tmp_path / "m")
    save_model(tmp_path / "m", model(seed=1), VOCAB, ["neg", "pos"])
    meta = tmp_path / "m" / META
    meta.write_text(meta.read_text().replace('"neg"', '"negative"'))
    with pytest.raises(ArtifactError, match=r"meta\.json \(changed since lmf wrote it\)"):
        save_model(tmp_path / "m", model(seed=2), VOCAB, ["neg", "pos"])
    assert '"negative"' in meta.read_text() and leftovers(tmp_path) == []


def test_save_refuses_the_source_model_and_its_parent(tmp_path):
    """`quantize parent/m --out parent`, `--out parent/m` and `--out parent/m/sub`: the model being
    read (`keep`), the directory holding it and a folder inside it (which would make the model hold
    a file lmf did not write there) are refused; an empty directory and another model are replaced."""
    source = tmp_path / "parent" / "m"
    save_model(source, model(), VOCAB, ["neg", "pos"])
    for out, why in [(tmp_path / "parent", "or holds it"), (source, "the model being read"),
                     (source / "sub", "or is inside it")]:
        with pytest.raises(ArtifactError, match=why):
            check_output(out, keep=[source])
        with pytest.raises(ArtifactError, match=why):
            save_model(out, model(seed=1), VOCAB, ["neg", "pos"], keep=[source])
    (tmp_path / "empty").mkdir()
    save_model(tmp_path / "empty", model(seed=1), VOCAB, ["neg", "pos"], keep=[source])
    save_model(tmp_path / "parent" / "other", model(seed=1), VOCAB, ["neg", "pos"], keep=[source])
    with torch.no_grad():
        assert torch.equal(load_model(source).model(IDS), model()(IDS))
        assert torch.equal(load_model(tmp_path / "empty").model(IDS), model(seed=1)(IDS))
    assert leftovers(tmp_path) == [] and leftovers(tmp_path / "parent") == []


def test_failed_swap_puts_the_old_model_back(tmp_path, monkeypatch):
    """The old model is moved aside (rename 1), then the rename of the new one into place (rename 2)
    fails: the old model is renamed back and no .tmp- directory is left."""
    save_model(tmp_path / "m", model(seed=0), VOCAB, ["neg", "pos"])
    real, calls = os.replace, []

    def second_fails(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError("rename failed")
        return real(src, dst)
    monkeypatch.setattr(artifacts.os, "replace", second_fails)
    with pytest.raises(OSError, match="rename failed"):
        save_model(tmp_path / "m", model(seed=1), VOCAB, ["neg", "pos"])
    monkeypatch.undo()
    assert len(calls) == 3 and leftovers(tmp_path) == []
    with torch.no_grad():
        assert torch.equal(load_model(tmp_path / "m").model(IDS), model(seed=0)(IDS))


def test_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(artifacts, "file_sha256", lambda path: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        save_model(tmp_path / "m", model(), VOCAB, ["neg", "pos"])
    assert list(tmp_path.iterdir()) == []


def test_atomic_text_and_json(tmp_path, monkeypatch):
    write_json_atomic(tmp_path / "deep" / "a.json", {"b": 1, "a": [1, 2]})
    assert json.loads((tmp_path / "deep" / "a.json").read_text()) == {"a": [1, 2], "b": 1}
    write_text_atomic(tmp_path / "t.txt", "old")

    def broken(src, dst):
        raise OSError("rename failed")
    monkeypatch.setattr(atomic.os, "replace", broken)
    with pytest.raises(OSError):
        write_text_atomic(tmp_path / "t.txt", "new")
    assert (tmp_path / "t.txt").read_text() == "old"
    assert leftovers(tmp_path) == []


@pytest.fixture
def umask_022(monkeypatch):
    """The process umask set to 0o022 (and the module's cached copy forgotten) for one test."""
    previous = os.umask(0o022)
    monkeypatch.setattr(atomic, "_UMASK", None, raising=False)
    yield
    os.umask(previous)


def test_saved_files_get_the_umask_default_mode(tmp_path, umask_022):
    """Under umask 0o022, open() makes files 0o644 and mkdir() directories 0o755, readable by group
    and others. tempfile makes them 0o600/0o700; a saved model and an atomic text file must end up
    0o755 (the model directory) and 0o644 (every file), like anything else written there."""
    save_model(tmp_path / "m", model(), VOCAB, ["neg", "pos"])
    write_text_atomic(tmp_path / "t.txt", "text")
    write_json_atomic(tmp_path / "a.json", {"a": 1})
    mode = lambda p: p.stat().st_mode & 0o777  # noqa: E731
    assert mode(tmp_path / "m") == 0o755
    assert {name: mode(tmp_path / "m" / name) for name in (WEIGHTS, META, MANIFEST)} == \
        {WEIGHTS: 0o644, META: 0o644, MANIFEST: 0o644}
    assert mode(tmp_path / "t.txt") == 0o644 and mode(tmp_path / "a.json") == 0o644


def test_umask_is_read_without_changing_it(monkeypatch):
    """Reading the umask sets it and sets it back: afterwards it is what it was (0o027 here), and
    default_mode follows it: 0o666 & ~0o027 = 0o640 for files, 0o777 & ~0o027 = 0o750 for
    directories."""
    previous = os.umask(0o027)
    try:
        monkeypatch.setattr(atomic, "_UMASK", None, raising=False)
        assert atomic.umask() == 0o027
        assert (atomic.default_mode(), atomic.default_mode(directory=True)) == (0o640, 0o750)
        assert os.umask(0o027) == 0o027
    finally:
        os.umask(previous)


def rewrite_meta(directory, change):
    """Apply `change` to meta.json's dict and fix the manifest's hash, so that only the content is
    wrong (verify passes, load_model has to notice)."""
    meta_path = directory / META
    meta = json.loads(meta_path.read_text())
    change(meta)
    meta_path.write_text(json.dumps(meta))
    rehash(directory, META)


@pytest.mark.parametrize("change, file, why", [
    (lambda meta: meta.pop("config"), META, "missing key 'config'"),
    (lambda meta: meta.pop("vocab"), META, "missing key 'vocab'"),
    (lambda meta: meta.update(config=["dan"]), META, "'config' is a JSON array, not an object"),
    (lambda meta: meta.update(vocab={"itos": 3, "counts": []}), META, "'vocab.itos' must be an array of words"),
    (lambda meta: meta["config"].update(arch="gru"), "cannot rebuild", "unknown model 'gru'"),
    (lambda meta: meta["config"].pop("num_classes"), META, "config has no 'num_classes'"),
    (lambda meta: meta["config"].update(hidden=None), META, "config 'hidden' is null, not array or number"),
    # issue 10's inputs: each was an IndexError, TypeError or a silently wrong model
    (lambda meta: meta["vocab"].update(itos="<pad><unk>goodbadfilm"), META, "'vocab.itos' must be an array of words"),
    (lambda meta: meta["vocab"].update(itos=[0, 1, 2, 3, 4]), META, "'vocab.itos' must be an array of words"),
    (lambda meta: meta["vocab"].update(itos=VOCAB.itos + ["extra"], counts=VOCAB.counts + [1]), META,
     "'vocab.itos' has 6 words, more than config 'vocab_size' 5"),
    (lambda meta: meta["vocab"].update(itos=[PAD, UNK, "good", "good", "film"]), META,
     "lists the word 'good' more than once"),
    (lambda meta: meta.update(label_names="neg,pos"), META, "'label_names' must be an array of strings"),
    (lambda meta: meta.update(label_names=[]), META, "must name each of the 2 classes once"),
    (lambda meta: meta.update(label_names=["neg", "pos", "meh"]), META, "must name each of the 2 classes once"),
    (lambda meta: meta["config"].update(vocab_size="5"), META, "config 'vocab_size' is \"5\", not number"),
    (lambda meta: meta["config"].update(rank=True), META, "config 'rank' is true, not null or number"),
    (lambda meta: meta["config"].update(dropout=[0.4]), META, "config 'dropout' is [0.4], not number"),
    (lambda meta: meta["config"].update(embed_dim=0), META, "config 'embed_dim' is 0, not a positive number"),
    (lambda meta: meta.update(metrics=[0.75]), META, "'metrics' is a JSON array, not an object"),
])
def test_meta_that_describes_no_model(tmp_path, change, file, why):
    """A meta.json whose hash is right but whose content is not a model: no config or vocabulary,
    a config that is a list, an unknown architecture 'gru', a missing class count, hidden=None,
    words given as one string or as numbers, 6 words for a vocab_size of 5, a duplicate word,
    label names as one string, none, or 3 for 2 classes, a size given as a string, rank true,
    dropout a list, a 0-dimensional embedding, metrics a list: an ArtifactError that names the
    file and the field, never a bare KeyError, IndexError or TypeError."""
    save_model(tmp_path / "m", model(), VOCAB, ["neg", "pos"])
    rewrite_meta(tmp_path / "m", change)
    with pytest.raises(ArtifactError) as err:
        load_model(tmp_path / "m")
    message = str(err.value)
    assert str(tmp_path / "m") in message and file in message and why in message


def rewrite_weights(directory, change):
    """Apply `change` to the safetensors dict and fix the manifest's hash (see rewrite_meta)."""
    from safetensors.torch import load_file, save_file
    tensors = load_file(directory / WEIGHTS)
    change(tensors)
    save_file(tensors, directory / WEIGHTS)
    rehash(directory, WEIGHTS)


@pytest.mark.parametrize("bits, change, why", [
    (8, lambda t: t.pop("out.weight.__scale__"), "'out.weight' is torch.int8 without its scale 'out.weight.__scale__'"),
    (None, lambda t: t["out.weight"].__setitem__((0, 0), float("nan")), "'out.weight' holds NaN or infinite"),
    (None, lambda t: t["embedding.table.weight"].__setitem__((2, 3), float("inf")), "'embedding.table.weight' holds NaN"),
    (8, lambda t: t["out.bias.__scale__"].fill_(float("nan")), "'out.bias' holds NaN"),
])
def test_weights_that_are_not_a_model(tmp_path, bits, change, why):
    """An 8-bit model's int8 out.weight without its scale (it would load as raw integers, 127
    times too big), a NaN or an infinity in a float weight, a NaN scale: ArtifactError naming
    model.safetensors and the tensor."""
    m = quantize_model(model(), bits) if bits else model()
    save_model(tmp_path / "m", m, VOCAB, ["neg", "pos"])
    rewrite_weights(tmp_path / "m", change)
    with pytest.raises(ArtifactError) as err:
        load_model(tmp_path / "m")
    assert str(tmp_path / "m" / WEIGHTS) in str(err.value) and why in str(err.value)


@pytest.mark.parametrize("content", ["[1, 2]", '"abc"', "null"])
def test_manifest_that_is_not_an_object(tmp_path, content):
    """manifest.json holding a list (issue 10: AttributeError traceback), a string or null."""
    save_model(tmp_path / "m", model(), VOCAB, ["neg", "pos"])
    (tmp_path / "m" / MANIFEST).write_text(content)
    with pytest.raises(ArtifactError, match="not an object of file hashes") as err:
        load_model(tmp_path / "m")
    assert str(tmp_path / "m" / MANIFEST) in str(err.value)
