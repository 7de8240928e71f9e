"""lmf.runtime.Predictor: raw text to (label, probability) without torch, the manifest's sha256s
checked on load, tokenizer.json's structure and settings checked, the vocabulary and labels
checked against the model, only a list of strings taken, empty and invisible text refused,
batches padded, threads settable, unknown words, an export of an earlier format refused."""
import json
import subprocess
import sys
import zlib

import numpy as np
import onnx
import pytest

from conftest import ROOT
from lmf.artifacts import save_model
from lmf.compress import hmf_compress_model
from lmf.export import export_model
from lmf.groupreduce import groupreduce_compress_model
from lmf.layout import file_sha256
from lmf.models import new_model
from lmf import runtime
from lmf.runtime import OUTPUTS, ExportIntegrityError, Predictor


@pytest.fixture
def exported(toy, tmp_path):
    """The toy vocabulary (<pad> <unk> film movie awful bad good great) in an untrained DAN with
    64-d embeddings, exported; plus its torch model."""
    model = new_model("dan", len(toy.vocab), 2, embed_dim=64)
    saved = save_model(tmp_path / "model", model.eval(), toy.vocab, toy.label_names)
    return export_model(saved, tmp_path / "export"), model


def test_predict_labels_and_probabilities(exported):
    """Probabilities are the softmax of the torch logits; the label is the larger one's name."""
    import torch
    directory, model = exported
    predictor = Predictor(directory)
    result = predictor.predict(["good film", "awful movie !"], batch_size=1)
    with torch.no_grad():
        probs = torch.softmax(model(torch.tensor([[6, 2, 0], [4, 3, 1]])), -1).numpy()
    assert [label for label, _ in result] == [["negative", "positive"][i] for i in probs.argmax(1)]
    np.testing.assert_allclose([p for _, p in result], probs.max(1), atol=1e-5)


def test_batches_give_one_text_at_a_time_s_logits(exported):
    """Texts of 1 to 5 tokens (padding up to 4 PAD ids), an unknown word and a cut at 256 tokens:
    batches of 4 and one batch of all (padded to its longest) give batch 1's logits."""
    predictor = Predictor(exported[0])
    texts = ["good", "awful movie !", "great film , great film", "zzz bad", "film " * 300, "bad movie"]
    assert predictor.ids(predictor.encode(["good", "awful movie !", "great"])).tolist() == [[6, 0, 0], [4, 3, 1], [7, 0, 0]]
    one_at_a_time = predictor.logits(texts, batch_size=1)
    for batch_size in (4, 64):
        np.testing.assert_allclose(predictor.logits(texts, batch_size=batch_size), one_at_a_time, atol=1e-6)


def test_a_list_runs_batched_end_to_end(exported):
    """Issue 19.3: predict on a list encodes each text once and runs the model once per batch of
    `batch_size` rows, never once per text: 130 texts at the default 64 are 3 runs of 64, 64 and 2
    rows, and give what one text at a time gives."""
    predictor = Predictor(exported[0])
    texts = ["good film", "awful movie !", "great", "bad bad film , really"] * 32 + ["film", "movie"]
    one_at_a_time = predictor.predict(texts, batch_size=1)
    run, rows, encoded = predictor._run, [], []

    def recording(outputs, feeds, options):
        rows.append(feeds["ids"].shape[0])
        return run(outputs, feeds, options)

    encode = predictor.encoder.encode
    predictor._run = recording
    predictor.encoder = type("Counting", (), {"encode": lambda self, text: encoded.append(text) or encode(text)})()
    result = predictor.predict(texts)
    assert rows == [64, 64, 2] and encoded == texts
    assert [label for label, _ in result] == [label for label, _ in one_at_a_time]
    np.testing.assert_allclose([p for _, p in result], [p for _, p in one_at_a_time], atol=1e-6)


def test_empty_whitespace_and_invisible_text_is_a_value_error(exported):
    """Nothing to classify: no character, spaces, a zero-width space (removed), direction marks only
    (their tokens show nothing, lmf.tokenize): the error names the text's position."""
    predictor = Predictor(exported[0])
    for text in ["", "   \t", "\u200b", "\u200e\u200f"]:
        with pytest.raises(ValueError, match="text 1 .* no token"):
            predictor.predict(["good", text])


@pytest.mark.parametrize("texts, message", [
    ("terrible", "not a str; wrap one text in a list"), (None, "not a NoneType"),
    (["good", None], "text 1 is a NoneType"), ([b"bytes"], "text 0 is a bytes"), (["good", "bad", 3], "text 2 is a int"),
    ({"good"}, "not a set")])
def test_only_a_list_of_strings_is_taken(exported, texts, message):
    """predict("terrible") used to give eight answers, one per letter; [None] classified "none",
    [b"bytes"] its repr, [3] the text "3"."""
    predictor = Predictor(exported[0])
    with pytest.raises(TypeError, match=message):
        predictor.predict(texts)
    with pytest.raises(TypeError, match="text 0 is a NoneType"):
        predictor.unknown_words(None)
    assert len(predictor.predict(("good", "bad"))) == 2  # a tuple is fine


def test_the_compiled_run_is_the_session_s_run(exported):
    """Predictor calls ONNX Runtime's compiled session directly (skipping InferenceSession.run's
    per-call checks of names it already knows): the same three outputs, and batch 1's answer is
    the logits' argmax and its softmax probability, computed here in NumPy."""
    predictor = Predictor(exported[0])
    ids = predictor.ids(predictor.encode(["awful movie !"]))
    for got, expected in zip(predictor._run(list(OUTPUTS), {"ids": ids}, None), predictor.session.run(None, {"ids": ids})):
        np.testing.assert_array_equal(got, expected)
    (label, probability), = predictor.predict(["awful movie !"])
    logits = predictor.logits(["awful movie !", "good"])[0]
    assert label == predictor.label_names[logits.argmax()]
    assert probability == pytest.approx(np.exp(logits - logits.max()).max() / np.exp(logits - logits.max()).sum(), abs=1e-6)


def test_an_export_without_the_answer_outputs_is_refused(exported):
    """An export of format 1 gave only the logits; Predictor reads the graph's label and
    probability, so such an export is refused at load with a word to export it again, rather than
    failing at the first predict."""
    directory = exported[0]
    model = onnx.load(directory / "model.onnx")
    del model.graph.output[1:]
    onnx.save(model, directory / "model.onnx")
    rehash(directory, "model.onnx")
    with pytest.raises(ExportIntegrityError, match="gives logits, not logits, label, probability .* export the model again with this lmf"):
        Predictor(directory)


@pytest.mark.parametrize("batch_size", [0, -1, 1.5, None, True])
def test_batch_size_must_be_a_positive_integer(exported, batch_size):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        Predictor(exported[0]).predict(["good"], batch_size=batch_size)


@pytest.mark.parametrize("threads", [0, -1, 2.5, "abc", None, True, 10**4])
def test_threads_must_be_an_integer_up_to_the_cpu_count(exported, threads):
    """Anything but 1..os.cpu_count() is refused at once, before ONNX Runtime sees it (10,000
    threads did not start within two minutes; a string gave a page of pybind's signatures)."""
    with pytest.raises(ValueError, match=r"threads must be an integer from 1 to \d+"):
        Predictor(exported[0], threads=threads)


def test_a_numpy_integer_is_a_thread_count(exported):
    import numpy as np
    assert Predictor(exported[0], threads=np.int64(1)).predict(["good"])


def test_unknown_words(exported):
    assert Predictor(exported[0]).unknown_words("Good fantastic film, fantastic") == ["fantastic", ","]


def test_threads_set_the_session(exported):
    assert Predictor(exported[0], threads=2).session.get_session_options().intra_op_num_threads == 2


@pytest.mark.parametrize("name", ["model.onnx", "tokenizer.json", "words.zlib"])
def test_tampered_file_is_refused(exported, name):
    """One byte appended to any file changes its sha256: the load names the file."""
    directory = exported[0]
    with open(directory / name, "ab") as f:
        f.write(b" ")
    with pytest.raises(ExportIntegrityError, match=f"{name}`: sha256 does not match"):
        Predictor(directory)


def rehash(directory, name):
    """manifest.json's sha256 of file `name` updated to match the file: only a check of the content
    can catch a change."""
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["files"][name] = file_sha256(directory / name)
    (directory / "manifest.json").write_text(json.dumps(manifest))


def write_words(directory, value):
    """words.zlib holding `value` as zlib-compressed JSON, rehashed."""
    (directory / "words.zlib").write_bytes(zlib.compress(json.dumps(value).encode()))
    rehash(directory, "words.zlib")


def rewrite_tokenizer(directory, change):
    """The tokenizer, seen as one object whose `itos` is words.zlib's array (in place of tokenizer.json's
    `words`), replaced by change(it) (which may edit it in place and return None); written back as
    export writes it, `itos` into words.zlib, and both files rehashed. Without `itos` tokenizer.json
    names no words file; a `words` set by the change is kept."""
    tokenizer = json.loads((directory / "tokenizer.json").read_text())
    view = {"itos": json.loads(zlib.decompress((directory / "words.zlib").read_bytes())),
            **{k: v for k, v in tokenizer.items() if k != "words"}}
    new = change(view)
    new = view if new is None else new
    if isinstance(new, dict) and "itos" in new:
        write_words(directory, new.pop("itos"))
        new = {"words": "words.zlib", **new}  # the change's own `words`, if any, wins
    (directory / "tokenizer.json").write_text(json.dumps(new))
    rehash(directory, "tokenizer.json")


# Each change to the toy export's tokenizer ({"itos": [<pad> <unk> film movie awful bad good great]
# (words.zlib), "label_names": [negative, positive], "tokenizer": settings()}) and what the error
# says. Before the structure check: a list -> AttributeError, no words -> KeyError, one label ->
# IndexError at predict, words of integers -> loaded and predicted without a word (every word UNK).
BAD_TOKENIZERS = {
    "a list": (lambda t: [t], "not an lmf tokenizer"),
    "no words": (lambda t: t.pop("itos") and None, "not an lmf tokenizer"),
    "settings a list": (lambda t: t.update(tokenizer=[]), "not an object of settings"),
    "other max_tokens": (lambda t: t["tokenizer"].update(max_tokens=512), "other tokenizer settings .max_tokens"),
    "a setting missing": (lambda t: t["tokenizer"].pop("token_pattern") and None, "settings .token_pattern"),
    "an unknown setting": (lambda t: t["tokenizer"].update(stem=True), "settings .stem"),
    "pad_id false": (lambda t: t["tokenizer"].update(pad_id=False), "settings .pad_id"),
    "unicode_version a number": (lambda t: t["tokenizer"].update(unicode_version=15), "unicode_version is not a string"),
    "words of integers": (lambda t: t.update(itos=list(range(8))), "the words must be an array of strings"),
    "words a string": (lambda t: t.update(itos="<pad> <unk> film"), "the words must be an array of strings"),
    "no word": (lambda t: t.update(itos=[]), "the words must be an array of strings"),
    "no PAD at 0": (lambda t: t.update(itos=["<unk>", "<pad>"] + t["itos"][2:]), "'<pad>' at 0"),
    "a word twice": (lambda t: t["itos"].__setitem__(3, "film"), "words.zlib: lists a word more than once"),
    "another words file": (lambda t: t.update(words="../words.zlib"), "'words' must be 'words.zlib'"),
    "labels not strings": (lambda t: t.update(label_names=[0, 1]), "'label_names' must be an array"),
    "a label twice": (lambda t: t.update(label_names=["positive", "positive"]), "'label_names' must be an array"),
    "no labels": (lambda t: t.update(label_names=[]), "'label_names' must be an array"),
    "one label": (lambda t: t.update(label_names=["negative"]), "gives 2 logits per text, tokenizer.json names 1"),
    "three labels": (lambda t: t["label_names"].append("neutral"), "gives 2 logits per text, tokenizer.json names 3"),
    "a word more than rows": (lambda t: t["itos"].append("extra"), "lists 9 words, more than model.onnx has"),
}


@pytest.mark.parametrize("variant", BAD_TOKENIZERS)
def test_tokenizer_structure_is_checked(exported, variant):
    change, message = BAD_TOKENIZERS[variant]
    rewrite_tokenizer(exported[0], change)
    with pytest.raises(ExportIntegrityError, match=message):
        Predictor(exported[0])


def test_words_file_must_name_itself_and_inflate_to_an_array(exported, monkeypatch):
    """words.zlib must be one whole zlib stream of a JSON array, inflating to at most
    MAX_WORDS_BYTES (a tiny file of zeros can inflate to gigabytes). (That tokenizer.json names
    lmf's own file, never a path: BAD_TOKENIZERS' "another words file".)"""
    directory = exported[0]
    good = (directory / "words.zlib").read_bytes()
    for content, message in [(b"not zlib", "not a zlib-compressed JSON array of words"),
                             (good[:-4], "not a whole zlib stream"),
                             (zlib.compress(b"[1, 2"), "not a zlib-compressed JSON array")]:
        (directory / "words.zlib").write_bytes(content)
        rehash(directory, "words.zlib")
        with pytest.raises(ExportIntegrityError, match=message):
            Predictor(directory)
    (directory / "words.zlib").write_bytes(good)
    rehash(directory, "words.zlib")
    monkeypatch.setattr(runtime, "MAX_WORDS_BYTES", 20)  # the toy's array is 61 bytes
    with pytest.raises(ExportIntegrityError, match="inflates to more than 20 bytes"):
        Predictor(directory)


def test_an_export_of_format_version_2_is_read(exported):
    """format_version 2 held the words in tokenizer.json's `itos`, with no words.zlib: still read,
    to the same answers."""
    directory = exported[0]
    before = Predictor(directory).predict(["good film", "awful movie"])
    tokenizer = json.loads((directory / "tokenizer.json").read_text())
    itos = json.loads(zlib.decompress((directory / "words.zlib").read_bytes()))
    (directory / "words.zlib").unlink()
    (directory / "tokenizer.json").write_text(json.dumps({"itos": itos, **{k: v for k, v in tokenizer.items() if k != "words"}}))
    manifest = json.loads((directory / "manifest.json").read_text())
    del manifest["files"]["words.zlib"]
    (directory / "manifest.json").write_text(json.dumps({**manifest, "format_version": 2}))
    rehash(directory, "tokenizer.json")
    assert Predictor(directory).predict(["good film", "awful movie"]) == before


def test_a_model_onnx_runtime_cannot_load_is_refused(exported):
    (exported[0] / "model.onnx").write_bytes(b"not a model")
    rehash(exported[0], "model.onnx")
    with pytest.raises(ExportIntegrityError, match="model.onnx: not a model ONNX Runtime can load"):
        Predictor(exported[0])


def test_another_unicode_version_is_accepted(exported):
    rewrite_tokenizer(exported[0], lambda t: t["tokenizer"].update(unicode_version="13.0.0"))
    assert len(Predictor(exported[0]).predict(["good film"])) == 1


@pytest.mark.parametrize("kind", ["lstm", "dan-hmf", "dan-groupreduce", "dan-fp16", "dan-int8"])
def test_vocabulary_must_fit_every_kind_of_model(toy, tmp_path, kind):
    """8 words and 8 embedding rows load; a 9th word (its id 8 has no row) is refused at load for
    every way an export indexes its rows: the LSTM's table, HMF's dense rows then low-rank table,
    GroupReduce's row map, the fp16 table's cast and the int8 table's dequantization. Before, it
    loaded and a text with that word failed with ONNX Runtime's InvalidArgument."""
    arch = kind.split("-")[0]
    model = new_model(arch, len(toy.vocab), 2, embed_dim=16)
    model = {"dan-hmf": lambda: hmf_compress_model(model, 25, dense_rows=2),
             "dan-groupreduce": lambda: groupreduce_compress_model(model, toy.vocab.counts, 50, blocks=2)
             }.get(kind, lambda: model)()
    saved = save_model(tmp_path / "model", model.eval(), toy.vocab, toy.label_names)
    directory = export_model(saved, tmp_path / "export", precision=kind.split("-")[1] if kind in ("dan-fp16", "dan-int8") else None)
    assert len(Predictor(directory).predict(["great movie"])) == 1
    rewrite_tokenizer(directory, lambda t: t["itos"].append("extra"))
    with pytest.raises(ExportIntegrityError, match="lists 9 words, more than model.onnx has embedding rows"):
        Predictor(directory)


def test_not_an_export_is_refused(tmp_path):
    with pytest.raises(ExportIntegrityError, match="missing or unreadable"):
        Predictor(tmp_path)


def test_runs_where_torch_cannot_be_imported(exported):
    """sys.modules['torch'] = None makes every `import torch` fail in the subprocess; the runtime
    still loads and predicts, and torch never got imported."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "from lmf.runtime import Predictor\n"
            f"print(Predictor({str(exported[0])!r}).predict(['good film'])[0][0])\n"
            "print(sys.modules['torch'])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() in (["negative", "None"], ["positive", "None"])


@pytest.fixture
def ngram_export(toy, tmp_path):
    """The toy vocabulary in an untrained DAN (16-d) that also reads bigrams hashed into 8 buckets
    (rows 8..15, made random so that they count), exported in fp32 and int8; plus its saved dir."""
    from lmf.artifacts import load_model
    model = new_model("dan", len(toy.vocab), 2, embed_dim=16, ngrams=2, buckets=8)
    import torch
    torch.nn.init.normal_(model.embedding.table.weight.data[8:])
    saved = save_model(tmp_path / "model", model.eval(), toy.vocab, toy.label_names)
    return {precision: export_model(saved, tmp_path / precision, precision=precision)
            for precision in ("fp32", "int8")}, load_model(saved)


def test_ngram_export_gives_torch_s_logits_in_any_batch(ngram_export):
    """Texts of one word (no bigram), unknown words (their bigrams still count), a cut at 256 tokens:
    the runtime's ids are the saved vocabulary's (words, then 8 + bucket per bigram), and its
    logits torch's (fp32 within 1e-5; int8 the same argmax), batched or one at a time."""
    import torch
    exports, saved = ngram_export
    texts = ["good", "awful movie !", "great film , great film", "zzz bad qqq", "film " * 300, "bad movie"]
    ids = [saved.vocab.encode(t) for t in texts]
    assert ids[0] == [6] and ids[1][:3] == [4, 3, 1] and all(8 <= i < 16 for i in ids[1][3:]) and len(ids[1]) == 5
    with torch.no_grad():
        expected = np.concatenate([saved.model(torch.tensor([row])).numpy() for row in ids])
    for precision, directory in exports.items():
        predictor = Predictor(directory)
        assert predictor.ngrams == (2, 8)
        assert [np.frombuffer(e, np.int64).tolist() for e in predictor.encode(texts)] == ids
        for batch_size in (1, 4, 64):
            got = predictor.logits(texts, batch_size=batch_size)
            if precision == "fp32":
                np.testing.assert_allclose(got, expected, atol=1e-5)
            assert (got.argmax(1) == expected.argmax(1)).all()


NGRAM_TOKENIZERS = {
    "buckets without the rest": (lambda t: [t["tokenizer"].pop(k) for k in ("word_ngrams", "ngram_hash")] and None,
                                 "n-gram settings buckets without word_ngrams, ngram_hash"),
    "another hash": (lambda t: t["tokenizer"].update(ngram_hash="python-hash"), "not this lmf's"),
    "n of 1": (lambda t: t["tokenizer"].update(word_ngrams=1), "ngrams must be an integer of at least 2"),
    "more buckets than rows": (lambda t: t["tokenizer"].update(buckets=9),
                               "lists 8 words and 9 n-gram buckets, more than model.onnx has"),
}


@pytest.mark.parametrize("variant", NGRAM_TOKENIZERS)
def test_ngram_settings_are_checked(ngram_export, variant):
    change, message = NGRAM_TOKENIZERS[variant]
    directory = ngram_export[0]["fp32"]
    rewrite_tokenizer(directory, change)
    with pytest.raises(ExportIntegrityError, match=message):
        Predictor(directory)
