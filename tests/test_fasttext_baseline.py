"""sweep.fasttext_baseline: a tiny supervised fastText run and its fastText.zip (.ftz) quantization,
and atomic saving of both files (with a stand-in for the fasttext package)."""
import types

import numpy as np
import pytest

from sweep import fasttext_baseline
from lmf.atomic import default_mode
from lmf.tokenize import tokenize
from sweep.fasttext_baseline import LABEL, fasttext_accuracy, line_text, quantize_fasttext, train_fasttext


def test_line_text_uses_our_tokenizer():
    assert line_text("It's GOOD!") == " ".join(tokenize("It's GOOD!"))


def direct_accuracy(model, data):
    labels, _ = model.predict([" ".join(tokenize(t)) for t in data.test.texts], k=1)
    return sum(l[0] == f"{LABEL}{y}" for l, y in zip(labels, data.test.labels)) / len(data.test.labels)


def test_tiny_fasttext_train_and_quantize(tiny, tmp_path):
    """200 SST-2 phrases, 1,000 hash buckets: the .bin holds (words + 1,000) x 100 floats; the
    .ftz (product-quantized, 500 rows kept) is smaller; fasttext_accuracy is the share of test
    sentences whose top label, asked of fastText directly, is the gold one."""
    model = train_fasttext(tiny, tmp_path, epoch=5, lr=0.1, bucket=1000, lrUpdateRate=1)  # no NaN on tiny data
    first = (tmp_path / "train.txt").read_text().splitlines()[0]
    assert first.startswith(f"{LABEL}{tiny.train.labels[0]} ")
    bin_size = (tmp_path / "model.bin").stat().st_size
    assert bin_size > model.get_input_matrix().size * 4
    assert fasttext_accuracy(model, tiny) == direct_accuracy(model, tiny)
    quantized = quantize_fasttext(tmp_path / "model.bin", tiny, tmp_path, cutoff=500, lr=0.1)
    assert (tmp_path / "model.ftz").stat().st_size < bin_size / 2
    assert fasttext_accuracy(quantized, tiny) == direct_accuracy(quantized, tiny)


class FakeModel:
    """Stands in for a fastText model loaded from a file: it holds the file's bytes."""

    def __init__(self, content):
        self.content = content

    def get_input_matrix(self):
        return np.zeros((10, 2))

    def get_output_matrix(self):
        return np.zeros((2, 2))

    def is_quantized(self):
        return False

    def predict(self, texts, k=1):
        return [["__label__0"]] * len(texts), None


def fake_program(monkeypatch, body):
    """The fresh process's program (_FRESH) replaced by `body`, which reads its arguments `a` (with
    a['out'], the temporary file to write) like the real one; the parent's fasttext.load_model by
    one that returns a FakeModel of the file's bytes."""
    monkeypatch.setattr(fasttext_baseline, "_FRESH", "import json, sys\na = json.loads(sys.argv[1])\n" + body)
    module = types.SimpleNamespace(load_model=lambda path: FakeModel(open(path, "rb").read()))
    monkeypatch.setattr(fasttext_baseline, "_fasttext", lambda: module)


def make(name, data, folder):
    if name == "model.bin":
        return train_fasttext(data, folder)
    if not (folder / "model.bin").exists():
        (folder / "model.bin").write_bytes(b"the trained model")
    return quantize_fasttext(folder / "model.bin", data, folder)


@pytest.mark.parametrize("name", ["model.bin", "model.ftz"])
def test_failed_save_keeps_the_previous_file(toy, tmp_path, monkeypatch, name):
    """A model.bin / model.ftz holding b"old model" is there; every fresh process writes half of
    b"new model!" and dies: after three tries the error propagates, the file still reads
    b"old model" (not b"new m"), and no temporary file is left beside it."""
    (tmp_path / name).write_bytes(b"old model")
    fake_program(monkeypatch, "open(a['out'], 'wb').write(b'new m'); sys.exit('disk full')")
    with pytest.raises(RuntimeError, match="failed 3 times.*disk full"):
        make(name, toy, tmp_path)
    assert (tmp_path / name).read_bytes() == b"old model"
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


@pytest.mark.parametrize("name", ["model.bin", "model.ftz"])
def test_save_replaces_the_file_with_the_usual_mode(toy, tmp_path, monkeypatch, name):
    """A successful save replaces b"old model" with the whole b"new model!", with the mode any new
    file gets under the umask (0o644 for 0o022), not mkstemp's 0o600."""
    (tmp_path / name).write_bytes(b"old model")
    fake_program(monkeypatch, "open(a['out'], 'wb').write(b'new model!')")
    assert make(name, toy, tmp_path).content == b"new model!"
    assert (tmp_path / name).read_bytes() == b"new model!"
    assert (tmp_path / name).stat().st_mode & 0o777 == default_mode()
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


def test_tune_picks_the_best_dev_setting_and_saves_it(tmp_path, monkeypatch):
    """Grid epoch (10, 25) x lr (0.1, 0.5) with dev accuracy = epoch / 100 + lr / 10 standing in:
    0.11, 0.15, 0.26, 0.30, so (25, 0.5) wins; its model is the one left in model.bin, and every
    setting tried is reported. The stand-ins never see the test split."""
    class Saving(FakeModel):
        def save_model(self, path):
            open(path, "wb").write(self.content)

    def fake_train(data, out_dir, seed=0, **settings):
        return Saving(f"{settings['epoch']}-{settings['lr']}".encode())

    monkeypatch.setattr(fasttext_baseline, "train_fasttext", fake_train)
    monkeypatch.setattr(fasttext_baseline, "fasttext_accuracy",
                        lambda model, data, split: {"dev": float(model.content.decode().split("-")[0]) / 100
                                                    + float(model.content.decode().split("-")[1]) / 10}[split])
    model, chosen = fasttext_baseline.tune_fasttext(None, tmp_path, grid={"epoch": (10, 25), "lr": (0.1, 0.5)})
    assert (chosen["epoch"], chosen["lr"]) == (25, 0.5) and chosen["dev_accuracy"] == pytest.approx(0.30)
    assert len(chosen["tried"]) == 4
    assert (tmp_path / "model.bin").read_bytes() == b"25-0.5"


def test_a_model_that_cannot_predict_is_made_again_in_a_new_process(toy, tmp_path, monkeypatch):
    """fasttext 0.9.3 may finish a small training with a model whose predict raises "Encountered
    NaN". The program counts its runs in a file: runs 1 and 2 fail that way, run 3 writes b"sound";
    train_fasttext makes three processes and keeps the third model."""
    counter = tmp_path / "runs"
    counter.write_text("0")
    fake_program(monkeypatch, f"""n = int(open({str(counter)!r}).read()) + 1
open({str(counter)!r}, 'w').write(str(n))
if n < 3:
    sys.exit('RuntimeError: Encountered NaN.')
open(a['out'], 'wb').write(b'sound')
""")
    assert train_fasttext(toy, tmp_path).content == b"sound"
    assert counter.read_text() == "3" and (tmp_path / "model.bin").read_bytes() == b"sound"


def test_the_same_seed_gives_the_same_files(tiny, tmp_path):
    """One thread, a fixed seed, a fresh process each time: two runs write byte-identical model.bin
    and model.ftz files (the quick sweep once gave different fastText accuracies run to run)."""
    files = []
    for run in ("a", "b"):
        folder = tmp_path / run
        train_fasttext(tiny, folder, seed=3, epoch=5, lr=0.1, bucket=1000, lrUpdateRate=1)
        quantize_fasttext(folder / "model.bin", tiny, folder, cutoff=500, lr=0.1, seed=3)
        files.append([(folder / name).read_bytes() for name in ("model.bin", "model.ftz")])
    assert files[0] == files[1]
