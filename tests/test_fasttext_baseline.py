"""lmf.fasttext_baseline: a tiny supervised fastText run and its fastText.zip (.ftz) quantization,
and atomic saving of both files (with a stand-in for the fasttext package)."""
import types

import numpy as np
import pytest

from lmf import fasttext_baseline
from lmf.artifacts import default_mode
from lmf.data import tokenize
from lmf.fasttext_baseline import (LABEL, fasttext_accuracy, fasttext_latency, line_text, quantize_fasttext,
                                   train_fasttext)


def test_line_text_uses_our_tokenizer():
    assert line_text("It's GOOD!") == " ".join(tokenize("It's GOOD!"))


def test_tiny_fasttext_train_and_quantize(tiny, tmp_path):
    """200 SST-2 phrases, 1,000 hash buckets: the .bin holds (words + 1,000) x 100 floats; the
    .ftz (product-quantized, 500 rows kept) is smaller; accuracies are fractions."""
    model = train_fasttext(tiny, tmp_path, epoch=5, lr=0.1, bucket=1000, lrUpdateRate=1)  # no NaN on tiny data
    first = (tmp_path / "train.txt").read_text().splitlines()[0]
    assert first.startswith(f"{LABEL}{tiny.train.labels[0]} ")
    bin_size = (tmp_path / "model.bin").stat().st_size
    assert bin_size > model.get_input_matrix().size * 4
    assert 0 <= fasttext_accuracy(model, tiny) <= 1
    quantized = quantize_fasttext(tmp_path / "model.bin", tiny, tmp_path, cutoff=500, lr=0.1)
    assert (tmp_path / "model.ftz").stat().st_size < bin_size / 2
    assert 0 <= fasttext_accuracy(quantized, tiny) <= 1
    lat = fasttext_latency(quantized, tiny.test.texts[:20], n_single=10, repeats=1, warmup=2)
    assert lat["latency_ms_b1"] > 0 and lat["test_set_seconds"] > 0


class FakeModel:
    """Stands in for a fastText model: save_model writes `content`, or half of it and then fails
    (as a full disk or a kill mid-write would)."""

    def __init__(self, content, fail=False):
        self.content, self.fail = content, fail

    def save_model(self, path):
        with open(path, "wb") as f:
            f.write(self.content[:len(self.content) // 2] if self.fail else self.content)
        if self.fail:
            raise OSError("disk full")

    def get_input_matrix(self):
        return np.zeros((10, 2))

    def get_output_matrix(self):
        return np.zeros((2, 2))

    def is_quantized(self):
        return False

    def quantize(self, **kwargs):
        pass

    def predict(self, texts, k=1):
        return [["__label__0"]] * len(texts), None


def fake_fasttext(monkeypatch, model):
    module = types.SimpleNamespace(train_supervised=lambda **kw: model, load_model=lambda path: model)
    monkeypatch.setattr(fasttext_baseline, "_fasttext", lambda: module)


@pytest.mark.parametrize("name", ["model.bin", "model.ftz"])
def test_failed_save_keeps_the_previous_file(toy, tmp_path, monkeypatch, name):
    """A model.bin / model.ftz holding b"old model" is there; a new save writes half of
    b"new model!" and fails: the error propagates, the file still reads b"old model" (not b"new m"),
    and no temporary file is left beside it."""
    (tmp_path / name).write_bytes(b"old model")
    fake_fasttext(monkeypatch, FakeModel(b"new model!", fail=True))
    with pytest.raises(OSError, match="disk full"):
        if name == "model.bin":
            train_fasttext(toy, tmp_path)
        else:
            quantize_fasttext(tmp_path / "model.bin", toy, tmp_path)
    assert (tmp_path / name).read_bytes() == b"old model"
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


@pytest.mark.parametrize("name", ["model.bin", "model.ftz"])
def test_save_replaces_the_file_with_the_usual_mode(toy, tmp_path, monkeypatch, name):
    """A successful save replaces b"old model" with the whole b"new model!", with the mode any new
    file gets under the umask (0o644 for 0o022), not mkstemp's 0o600."""
    (tmp_path / name).write_bytes(b"old model")
    fake_fasttext(monkeypatch, FakeModel(b"new model!"))
    if name == "model.bin":
        train_fasttext(toy, tmp_path)
    else:
        quantize_fasttext(tmp_path / "model.bin", toy, tmp_path)
    assert (tmp_path / name).read_bytes() == b"new model!"
    assert (tmp_path / name).stat().st_mode & 0o777 == default_mode()
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


def test_tune_picks_the_best_dev_setting_and_saves_it(tmp_path, monkeypatch):
    """Grid epoch (10, 25) x lr (0.1, 0.5) with dev accuracy = epoch / 100 + lr / 10 standing in:
    0.11, 0.15, 0.26, 0.30, so (25, 0.5) wins; its model is the one left in model.bin, and every
    setting tried is reported. The stand-ins never see the test split."""
    def fake_train(data, out_dir, seed=0, **settings):
        return FakeModel(f"{settings['epoch']}-{settings['lr']}".encode())

    monkeypatch.setattr(fasttext_baseline, "train_fasttext", fake_train)
    monkeypatch.setattr(fasttext_baseline, "fasttext_accuracy",
                        lambda model, data, split: {"dev": float(model.content.decode().split("-")[0]) / 100
                                                    + float(model.content.decode().split("-")[1]) / 10}[split])
    model, chosen = fasttext_baseline.tune_fasttext(None, tmp_path, grid={"epoch": (10, 25), "lr": (0.1, 0.5)})
    assert (chosen["epoch"], chosen["lr"]) == (25, 0.5) and chosen["dev_accuracy"] == pytest.approx(0.30)
    assert len(chosen["tried"]) == 4
    assert (tmp_path / "model.bin").read_bytes() == b"25-0.5"


def test_a_model_that_cannot_predict_is_retrained(tiny, tmp_path, monkeypatch):
    """fasttext 0.9.3 may finish tiny trainings with weights on which predict raises "Encountered
    NaN", for every input or (NaN in some weight rows) only for some. train_fasttext checks the
    weights and predicts the training lines first, so the first two models are retried and the
    third (sound) one is saved: three trainings, one save."""
    class Broken(FakeModel):
        def predict(self, texts, k=1):
            raise RuntimeError("Encountered NaN.")

    class NaNRows(FakeModel):  # predicts the training lines, but a dev line may hit a NaN bucket
        def get_input_matrix(self):
            return np.array([[0.0, np.nan]])

    models = [Broken(b"broken"), NaNRows(b"nan rows"), FakeModel(b"sound")]
    module = types.SimpleNamespace(train_supervised=lambda **kw: models.pop(0))
    monkeypatch.setattr(fasttext_baseline, "_fasttext", lambda: module)
    train_fasttext(tiny, tmp_path, epoch=1, lr=0.1)
    assert models == [] and (tmp_path / "model.bin").read_bytes() == b"sound"


def test_quantization_that_keeps_failing_here_runs_in_a_fresh_process(tiny, tmp_path, monkeypatch):
    """The "Encountered NaN" of tiny data can stick to a process: here every in-process quantization
    fails (3 tries), so quantize_fasttext runs it in a new Python process, whose .ftz is real:
    quantized, under half the .bin's size, and it classifies."""
    import fasttext

    train_fasttext(tiny, tmp_path, epoch=5, lr=0.1, bucket=1000, lrUpdateRate=1)
    tries = []

    def load_model(path):
        model = fasttext.load_model(path)

        def failing_quantize(**options):
            tries.append(options)
            raise RuntimeError("Encountered NaN.")
        model.quantize = failing_quantize
        return model

    monkeypatch.setattr(fasttext_baseline, "_fasttext", lambda: types.SimpleNamespace(load_model=load_model))
    quantized = quantize_fasttext(tmp_path / "model.bin", tiny, tmp_path, cutoff=500, lr=0.1)
    assert len(tries) == 3 and quantized.is_quantized()
    assert (tmp_path / "model.ftz").stat().st_size < (tmp_path / "model.bin").stat().st_size / 2
    assert 0 <= fasttext_accuracy(quantized, tiny) <= 1
