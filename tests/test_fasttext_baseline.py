"""lmf.fasttext_baseline: a tiny supervised fastText run and its fastText.zip (.ftz) quantization."""
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
