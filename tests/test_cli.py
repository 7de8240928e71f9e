"""`python -m lmf`: a tiny end-to-end run (train, compress, quantize, evaluate, classify) on a
200-example slice of SST-2, and the exit code and message of every kind of bad input."""
import contextlib
import io
import math
import re
import shutil
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, write_split
from lmf import tokenize as tokenize_module
from lmf.artifacts import WEIGHTS, load_model, save_model
from lmf.cli import main
from lmf.compress import fraction_for_reduction, rank_for_fraction
from lmf.data import Vocab
from lmf.models import build_model, default_config
from lmf.train import recipe

ACCURACY_LINE = re.compile(r"dev (\d\.\d{4}), test (\d\.\d{4}), ([\d,]+) parameters, ([\d.]+) MB on disk")


def run(*argv, stdin=None):
    """(exit code, stdout, stderr) of lmf.cli.main in this process."""
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin) if stdin is not None else old_stdin
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in argv])
            except SystemExit as e:  # argparse rejects bad arguments this way
                code = e.code
    finally:
        sys.stdin = old_stdin
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def pipeline(tiny_dir, tmp_path_factory):
    """train -> compress (R = 50) -> quantize (8 bits), each step's (code, stdout, stderr)."""
    runs = tmp_path_factory.mktemp("runs")
    paths = {name: runs / name for name in ("dan", "dan-r50", "dan-q8")}
    steps = {
        "train": run("train", "--data", tiny_dir, "--model", "dan", "--max-steps", 10,
                     "--eval-every", 5, "--out", paths["dan"], "--quiet"),
        "compress": run("compress", paths["dan"], "--data", tiny_dir, "--reduction", 50,
                        "--max-steps", 5, "--out", paths["dan-r50"], "--quiet"),
        "quantize": run("quantize", paths["dan"], "--data", tiny_dir, "--bits", 8, "--out", paths["dan-q8"]),
    }
    return steps, paths


def test_train(pipeline, tiny_dir):
    """200 phrases in the DAN recipe's batches of 128: ceil(200 / 128) = 2 steps per epoch, times
    the recipe's epochs, raised to the recipe's min_steps, capped at --max-steps 10 (with 4 epochs
    and min_steps 2,000: max(8, 2000) = 2000, capped to 10 steps)."""
    (code, out, err), paths = pipeline[0]["train"], pipeline[1]
    assert code == 0, err
    cfg = recipe("dan")
    expected_steps = min(max(int(cfg.epochs * math.ceil(200 / cfg.batch_size)), cfg.min_steps), 10)
    assert f"trained ({expected_steps} steps" in out
    assert f"dan on {tiny_dir.name}:" in out and "200 training examples" in out and "2 classes" in out
    saved = load_model(paths["dan"])
    assert saved.config["arch"] == "dan" and saved.config["rank"] is None
    assert saved.label_names == ["0", "1"]
    assert set(saved.metrics) == {"dev_accuracy", "test_accuracy"}
    dev, test = map(float, ACCURACY_LINE.search(out).groups()[:2])
    assert (dev, test) == (round(saved.metrics["dev_accuracy"], 4), round(saved.metrics["test_accuracy"], 4))


def test_compress(pipeline):
    """R = 50 of the V x 300 embedding: k = floor(0.5 * 300 V / (V + 300)), reported and saved."""
    (code, out, err), paths = pipeline[0]["compress"], pipeline[1]
    assert code == 0, err
    original = load_model(paths["dan"])
    V = len(original.vocab)
    k = rank_for_fraction(fraction_for_reduction(50), V, 300)
    assert k == math.floor(0.5 * V * 300 / (V + 300))
    assert f"after SVD, R = 50 % (rank {k})" in out
    assert "retrained:" in out
    saved = load_model(paths["dan-r50"])
    assert saved.config["rank"] == k
    assert saved.vocab.itos == original.vocab.itos
    assert saved.model.embedding.table.weight.shape == (V, k)


def test_quantize(pipeline):
    """8 bits: the weights file is about a quarter of the float one (scales add under 1 %)."""
    (code, out, err), paths = pipeline[0]["quantize"], pipeline[1]
    assert code == 0, err
    assert "8-bit:" in out
    assert load_model(paths["dan-q8"]).config["bits"] == 8
    ratio = (paths["dan-q8"] / WEIGHTS).stat().st_size / (paths["dan"] / WEIGHTS).stat().st_size
    assert 0.24 < ratio < 0.27


def test_evaluate_matches_saved_metrics(pipeline, tiny_dir):
    paths = pipeline[1]
    code, out, err = run("evaluate", paths["dan-r50"], "--data", tiny_dir)
    assert code == 0, err
    test = float(ACCURACY_LINE.search(out).group(2))
    assert test == round(load_model(paths["dan-r50"]).metrics["test_accuracy"], 4)


def test_classify_arguments_and_stdin(pipeline):
    path = pipeline[1]["dan-r50"]
    code, out, err = run("classify", path, "a gorgeous , witty , seductive movie .")
    assert code == 0, err
    label, prob, text = out.rstrip("\n").split("\t")
    assert label in ("0", "1") and 0.5 <= float(prob) <= 1 and text.startswith("a gorgeous")
    assert "film" in load_model(path).vocab.stoi  # so that neither line gets an unknown-word warning
    code, out, err = run("classify", path, stdin="one film\n\nthree films here\n")
    assert code == 0 and [line.split("\t")[2] for line in out.splitlines()] == ["one film", "three films here"]
    assert err == "note: skipped 1 blank line(s) of stdin\n"


def test_offline_reduction_and_lstm_vectors(tiny_dir, tmp_path, data_dir):
    """--offline-reduction 90 for a DAN: floor(0.1 * 300) = 30 dimensions. An LSTM reads the
    data folder's 100-d GloVe subset by default and says how much of the vocabulary it found."""
    code, out, err = run("train", "--data", tiny_dir, "--model", "dan", "--offline-reduction", 90,
                         "--max-steps", 1, "--out", tmp_path / "off", "--quiet")
    assert code == 0, err
    assert load_model(tmp_path / "off").config["embed_dim"] == 30
    code, out, err = run("train", "--data", tiny_dir, "--model", "lstm", "--max-steps", 1,
                         "--batch-size", 16, "--out", tmp_path / "lstm", "--quiet")
    assert code == 0, err
    assert re.search(r"vectors: 100-d, \d+\.\d% of the vocabulary found", out)


@pytest.mark.parametrize("argv, message", [
    (["compress", "{model}", "--data", "{data}", "--reduction", 120, "--out", "{tmp}/x"], "reduction"),
    (["compress", "{tmp}/missing", "--data", "{data}", "--reduction", 50, "--out", "{tmp}/x"], "no saved model"),
    (["evaluate", "{corrupt}", "--data", "{data}"], "sha256"),
    (["classify", "{corrupt}", "hello"], "sha256"),
    (["evaluate", "{model}", "--data", "{tmp}/no-such-data"], "neither a known dataset"),
    (["train", "--data", "{tmp}", "--out", "{tmp}/x"], "missing train split"),
    # 0 is no reduction to train at: refused, not read as "not given" (an uncompressed model)
    (["train", "--data", "{data}", "--offline-reduction", 0, "--out", "{tmp}/x"], "strictly between 0 and 100"),
    # a typo of a bucket count asked torch for petabytes
    (["train", "--data", "{data}", "--ngrams", 2, "--buckets", 10**12, "--out", "{tmp}/x"], "buckets must be at most"),
])
def test_bad_input_exits_2_with_error(pipeline, tiny_dir, tmp_path, argv, message):
    corrupt = tmp_path / "corrupt"
    if "{corrupt}" in argv:
        shutil.copytree(pipeline[1]["dan"], corrupt)
        data = bytearray((corrupt / WEIGHTS).read_bytes())
        data[-1] ^= 0xFF
        (corrupt / WEIGHTS).write_bytes(bytes(data))
    fill = dict(model=pipeline[1]["dan"], data=tiny_dir, tmp=tmp_path, corrupt=corrupt)
    code, out, err = run(*[str(a).format(**fill) for a in argv])
    assert code == 2
    assert err.startswith("error: ") and message in err
    assert not (tmp_path / "x").exists()


def test_argparse_errors_exit_2(pipeline):
    code, _, err = run("quantize", pipeline[1]["dan"], "--data", "sst2", "--bits", 4, "--out", "x")
    assert code == 2 and "error:" in err and "invalid choice" in err
    code, _, err = run("compress", pipeline[1]["dan"], "--data", "sst2", "--out", "x")
    assert code == 2 and "--reduction" in err


def test_module_help_subprocess():
    proc = subprocess.run([sys.executable, "-m", "lmf", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for command in ("train", "compress", "quantize", "evaluate", "classify"):
        assert command in proc.stdout


# ---------------------------------------------------------------- classify: no text, long text

def test_classify_with_no_text_is_an_error(pipeline):
    """No text arguments and nothing on stdin: an `error:` line saying how to give text, status 2,
    nothing on stdout and no traceback."""
    for stdin in ("", "\n  \n\t\n"):
        code, out, err = run("classify", pipeline[1]["dan"], stdin=stdin)
        assert code == 2 and out == ""
        assert err.startswith("error: ") and "no text given" in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [[""], ["   "], ["good film", "\t"], ["\u200b\u200b"]])
def test_classify_blank_argument_is_an_error(pipeline, argv):
    """Issue 10: `classify MODEL ""` answered with a label for no words. An empty, all-space or
    zero-width-only argument (the 2nd of 2 in the third case) is an error naming which one, status 2."""
    code, out, err = run("classify", pipeline[1]["dan"], *argv)
    assert code == 2 and out == ""
    assert err.startswith(f"error: classify: text {len(argv)} of {len(argv)} is empty or only spaces")


def test_classify_warns_when_no_word_is_known(pipeline):
    """"xyzzy plugh" has no word of the model's vocabulary (every id is <unk>): it still gets its
    label line, and stderr names it; "xyzzy film" has one known word and no warning."""
    saved = load_model(pipeline[1]["dan"])
    assert "film" in saved.vocab.stoi and not {"xyzzy", "plugh"} & set(saved.vocab.stoi)
    code, out, err = run("classify", pipeline[1]["dan"], "xyzzy plugh", "xyzzy film")
    assert code == 0 and len(out.splitlines()) == 2
    assert err == "warning: no word of 'xyzzy plugh' is in the model's vocabulary; its label is a guess\n"


def test_classify_clips_long_text_before_tokenizing(pipeline, monkeypatch):
    """A 1,200,000-character argument ("good " 240,000 times) and the same line on stdin: the
    tokenizer sees at most MAX_TEXT_CHARS = 10,000 characters of each, and each still gets its
    label line (the printed text is its first 80 characters)."""
    seen = []
    real = tokenize_module.tokenize
    monkeypatch.setattr(tokenize_module, "tokenize", lambda text: seen.append(len(text)) or real(text))
    long = "good " * 240_000
    for argv, stdin in [((long,), None), ((), long + "\n")]:
        seen.clear()
        code, out, err = run("classify", pipeline[1]["dan"], *argv, stdin=stdin)
        assert code == 0, err
        # tokenized twice (the unknown-word check, then classify), each time clipped
        assert seen == [tokenize_module.MAX_TEXT_CHARS] * 2 == [10_000] * 2
        assert out.rstrip("\n").split("\t")[2] == long[:80]


# ---------------------------------------------------------------- a model's own labels

TOY_TRAIN = [("good film", "2"), ("great film", "2"), ("bad film", "0"), ("awful film", "0")]
TOY_TEST = [("good movie", "2"), ("great movie", "2"), ("fine film", "2"), ("bad movie", "0")]


@pytest.fixture
def three_class_model(tmp_path):
    """A DAN saved with labels ["0", "1", "2"] that answers "2" for every text (zero output weights,
    biases -5, -5, 5), and a data folder whose labels are only "0" and "2". Sorted, the data
    numbers them 0 and 1, so read naively its "2" would be the model's class 1, "1"."""
    folder = tmp_path / "data"
    folder.mkdir()
    write_split(folder / "train.tsv", ["sentence", "label"], TOY_TRAIN)
    write_split(folder / "dev.tsv", ["sentence", "label"], TOY_TEST)
    write_split(folder / "test.tsv", ["sentence", "label"], TOY_TEST)
    vocab = Vocab.build(text for text, _ in TOY_TRAIN)
    torch.manual_seed(0)
    model = build_model(default_config("dan", len(vocab), 3, embed_dim=8))
    with torch.no_grad():
        model.out.weight.zero_()
        model.out.bias.copy_(torch.tensor([-5.0, -5.0, 5.0]))
    save_model(tmp_path / "model", model, vocab, ["0", "1", "2"])
    return tmp_path / "model", folder


@pytest.mark.parametrize("command", [["quantize", "--bits", 8],
                                     ["compress", "--reduction", 50, "--no-retrain"]])
def test_compress_and_quantize_keep_the_models_labels(three_class_model, tmp_path, command):
    """The model says "2" for each of the 4 test texts, 3 of which are labelled "2": accuracy 3/4 =
    0.75 (read naively, as ids 0/1 against the model's 0/1/2, it would be 0). The new model keeps
    the model's three label names and vocabulary, not the data's two names."""
    model_dir, folder = three_class_model
    code, out, err = run(command[0], model_dir, "--data", folder, *command[1:],
                         "--out", tmp_path / "new")
    assert code == 0, err
    original, new = load_model(model_dir), load_model(tmp_path / "new")
    assert new.label_names == ["0", "1", "2"]
    assert new.vocab.itos == original.vocab.itos
    assert new.metrics["test_accuracy"] == 0.75
    code, out, err = run("evaluate", tmp_path / "new", "--data", folder)
    assert code == 0 and "test 0.7500" in out


def test_data_label_the_model_lacks_is_an_error(three_class_model, tmp_path):
    """Data labelled "0" and "7" for a model with labels 0, 1, 2: status 2 and an error naming the
    stray label, nothing saved."""
    model_dir, _ = three_class_model
    folder = tmp_path / "other"
    folder.mkdir()
    for split in ("train", "dev", "test"):
        write_split(folder / f"{split}.tsv", ["sentence", "label"],
                    [("good film", "7"), ("bad film", "0")])
    code, out, err = run("quantize", model_dir, "--data", folder, "--out", tmp_path / "new")
    assert code == 2 and err.startswith("error: ") and "'7'" in err and "not among the 3 labels" in err
    assert not (tmp_path / "new").exists()


# ---------------------------------------------------------------- --out never deletes what it did not make

def test_out_refuses_user_files_and_the_source_models_parent(pipeline, tiny_dir, tmp_path):
    """Issue 10: `train --out DIR` deleted a folder of user files and `quantize parent/m --out
    parent` deleted the source model itself, both with status 0. Now each exits 2 with an
    `error:` naming the directory, before any training, and everything is still there."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    code, out, err = run("train", "--data", tiny_dir, "--max-steps", 1, "--out", mine, "--quiet")
    assert code == 2 and err.startswith(f"error: {mine} holds files lmf did not write (notes.txt)") and out == ""
    assert (mine / "notes.txt").read_text() == "keep me"
    parent = tmp_path / "parent"
    shutil.copytree(pipeline[1]["dan"], parent / "m")
    for out_dir in (parent, parent / "m"):
        code, out, err = run("quantize", parent / "m", "--data", tiny_dir, "--out", out_dir)
        assert code == 2 and err.startswith(f"error: {out_dir}: this is the model being read") and out == ""
    load_model(parent / "m")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "parent"]
    assert sorted(p.name for p in parent.iterdir()) == ["m"]


def test_a_folder_that_only_looks_like_a_model_is_kept(pipeline, tiny_dir, tmp_path):
    """Issue 22.1: `train --out DIR` replaced a user's folder holding only a meta.json and a
    manifest.json of their own (two file names were the whole test), while `export` refused it.
    Both now follow lmf.layout.refusal: the manifest must say format lmf-model and list every other
    file with its sha256. The user's folder: exit 2 naming both files, both kept as they were. A
    model lmf saved (the pipeline's) is still replaced by a new training."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "meta.json").write_text('{"project": "thesis"}')
    (mine / "manifest.json").write_text('{"meta.json": "my notes"}')
    code, out, err = run("train", "--data", tiny_dir, "--max-steps", 1, "--out", mine, "--quiet")
    assert code == 2 and out == ""
    assert err.startswith(f"error: {mine} holds files lmf did not write (manifest.json, meta.json)"), err
    code, out, err = run("export", pipeline[1]["dan"], "--out", mine)
    assert code == 2 and "holds files lmf did not write (manifest.json, meta.json)" in err
    assert (mine / "meta.json").read_text() == '{"project": "thesis"}'
    assert sorted(p.name for p in mine.iterdir()) == ["manifest.json", "meta.json"]
    earlier = tmp_path / "earlier"
    shutil.copytree(pipeline[1]["dan"], earlier)
    code, out, err = run("train", "--data", tiny_dir, "--max-steps", 1, "--out", earlier, "--quiet")
    assert code == 0, err
    load_model(earlier)
    (earlier / "notes.txt").write_text("mine now")
    code, out, err = run("quantize", pipeline[1]["dan"], "--data", tiny_dir, "--out", earlier)
    assert code == 2 and "(notes.txt)" in err and (earlier / "notes.txt").read_text() == "mine now"


def test_classify_prints_one_line_per_text(pipeline):
    """Issue 22.3: `classify MODEL $'good\\nbad movie'` printed two lines for one text. The echoed
    text shows a newline, a tab, a carriage return, ESC and U+2028 (a line separator) escaped as
    Python writes them (a backslash doubled, so it reads back unambiguously): one line of three
    tab-separated fields per text, whatever it holds."""
    path = pipeline[1]["dan-r50"]
    texts = ["good\nbad movie", "a\tfilm\r", "bad \x1b[31mfilm\u2028end", "back\\slash film"]
    code, out, err = run("classify", path, *texts)
    assert code == 0, err
    lines = out.splitlines()  # str.splitlines breaks at \r and \u2028 too
    assert len(lines) == 4 and all(len(line.split("\t")) == 3 for line in lines)
    assert [line.split("\t")[2] for line in lines] == [
        "good\\nbad movie", "a\\tfilm\\r", "bad \\x1b[31mfilm\\u2028end", "back\\\\slash film"]


# ---------------------------------------------------------------- README: `error:` and status 2, never a traceback

@pytest.mark.parametrize("argv, message", [
    (["train", "--data", "{data}", "--model", "lstm", "--out", "{tmp}/x"], "no word-vectors file"),
    (["train", "--data", "{data}", "--device", "bogus", "--out", "{tmp}/x"], "device 'bogus' is not usable here"),
    (["train", "--data", "{data}", "--device", "cuda:99", "--out", "{tmp}/x"], "device 'cuda:99' is not usable here"),
    (["compress", "{model}", "--data", "{data}", "--reduction", 50, "--device", "bogus", "--out", "{tmp}/x"],
     "device 'bogus'"),
    (["quantize", "{model}", "--data", "{data}", "--out", "{tmp}/a-file/x"], "a-file"),
    (["evaluate", "{listed}", "--data", "{data}"], "manifest.json: holds a JSON array"),
])
def test_issue_10_tracebacks_are_errors(pipeline, tiny_dir, tmp_path, monkeypatch, argv, message):
    """Issue 10's tracebacks (exit 1): an LSTM without LMF_DATA_DIR (a TypeError on the vectors
    path None), a device torch does not know, a GPU this machine lacks (cuda:99 fails with or
    without CUDA), an --out under a file, a manifest.json holding a list. Each is now an `error:`
    line naming the cause, status 2, nothing on stdout, nothing saved."""
    monkeypatch.delenv("LMF_DATA_DIR", raising=False)
    monkeypatch.setattr("lmf.data.SHARED_DATA", tmp_path / "no-data-folder")  # nor ../shared/data
    (tmp_path / "a-file").write_text("not a folder")
    shutil.copytree(pipeline[1]["dan"], tmp_path / "listed")
    (tmp_path / "listed" / "manifest.json").write_text("[1, 2]")
    fill = dict(model=pipeline[1]["dan"], data=tiny_dir, tmp=tmp_path, listed=tmp_path / "listed")
    code, out, err = run(*[str(a).format(**fill) for a in argv])
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_diverging_training_saves_nothing(tiny_dir, tmp_path):
    """Issue 10: `--optimizer sgd --lr-lb 1e8 --lr-ub 1e9` was saved and reported as success with
    NaN weights. Now: status 2, `error: training diverged`, and no model directory."""
    code, out, err = run("train", "--data", tiny_dir, "--optimizer", "sgd", "--lr-lb", 1e8, "--lr-ub", 1e9,
                         "--max-steps", 20, "--out", tmp_path / "x", "--quiet")
    assert code == 2 and err.startswith("error: training diverged: the loss is") and "trained" not in out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("source, reduction, message", [
    ("dan-q8", 50, "the model is 8-bit quantized"),
    ("dan-r50", 10, "R = 10 % of the full"),
])
def test_compress_refuses_what_would_not_shrink(pipeline, tiny_dir, tmp_path, source, reduction, message):
    """Issue 10: `compress` of the 8-bit model gave a full-precision one, and R = 10 of the R = 50
    model (R counts from the full embedding) a bigger one; both are now errors, nothing saved."""
    code, out, err = run("compress", pipeline[1][source], "--data", tiny_dir, "--reduction", reduction,
                         "--no-retrain", "--out", tmp_path / "x")
    assert code == 2 and err.startswith(f"error: {message}")
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------- issues 21-23: no silently wrong model

def test_a_blown_up_training_saves_nothing(tiny_dir, tmp_path):
    """Issue 22.2: `train --optimizer adam --schedule constant --lr-ub 1e6` ended with exit 0 and
    a saved model at chance (weights near 2e7): the loss stayed finite. Now the exploded loss with
    dev accuracy at chance is a divergence (lmf.train's rule): status 2, an error saying so,
    nothing saved."""
    code, out, err = run("train", "--data", tiny_dir, "--optimizer", "adam", "--schedule", "constant",
                         "--lr-ub", 1e6, "--max-steps", 6, "--eval-every", 2, "--out", tmp_path / "x", "--quiet")
    assert code == 2 and err.startswith("error: training diverged: the training loss rose to"), err
    assert "no better than always answering the majority class" in err and "trained" not in out
    assert list(tmp_path.iterdir()) == []


def test_one_class_or_two_label_columns_train_nothing(tmp_path):
    """Issue 21: a one-class training split was trained and saved (exit 0), and a header naming
    the label column twice was accepted. Both: status 2, the file named, nothing saved."""
    for name, header, rows in (("one", ["sentence", "label"], [("good film", "pos"), ("great film", "pos")]),
                               ("twice", ["sentence", "label", "label"], [("good film", "pos", "neg")] * 2)):
        folder = tmp_path / name
        folder.mkdir()
        for split in ("train", "dev", "test"):
            write_split(folder / f"{split}.tsv", header, rows)
        code, out, err = run("train", "--data", folder, "--max-steps", 1, "--out", tmp_path / f"{name}-model", "--quiet")
        assert code == 2 and err.startswith(f"error: {folder / 'train.tsv'}: "), err
        assert not (tmp_path / f"{name}-model").exists()
    assert "every training example has the same label (1 class)" in run(
        "train", "--data", tmp_path / "one", "--out", tmp_path / "m", "--quiet")[2]


def test_empty_text_rows_are_skipped_with_a_note(tmp_path):
    """Issue 21: 100 empty-text rows were trained on without a word. The 4 toy rows plus 100 empty
    ones: the model trains on the 4 (the CLI's line says 4 training examples, not 104) and stderr
    has one note with the count."""
    folder = tmp_path / "data"
    folder.mkdir()
    write_split(folder / "train.tsv", ["sentence", "label"], TOY_TRAIN + [("", "0")] * 100)
    write_split(folder / "dev.tsv", ["sentence", "label"], TOY_TEST)
    write_split(folder / "test.tsv", ["sentence", "label"], TOY_TEST)
    code, out, err = run("train", "--data", folder, "--max-steps", 2, "--out", tmp_path / "m", "--quiet")
    assert code == 0, err
    assert f"note: {folder / 'train.tsv'}: skipped 100 row(s) whose text has no word" in err
    assert "dan on data: 4 training examples" in out


def test_a_quantized_model_is_not_quantized_again(pipeline, tiny_dir, tmp_path):
    """Issue 23.7: the 8-bit model re-quantized to 16 bits doubled its bytes (2.72 -> 5.32 MB)
    holding the same values. Refused as compressing a quantized model is: status 2, nothing saved."""
    code, out, err = run("quantize", pipeline[1]["dan-q8"], "--data", tiny_dir, "--bits", 16, "--out", tmp_path / "x")
    assert code == 2 and err.startswith("error: the model is 8-bit quantized; quantizing it to 16 bits"), err
    assert not (tmp_path / "x").exists()


def test_autotune_takes_every_model_kind():
    """`autotune --model` offers each kind lmf.autotune accepts (lmf.names.MODEL_KINDS): the
    n-gram DAN was refused by the parser although autotune itself runs it."""
    from lmf.names import MODEL_KINDS
    from lmf.cli import build_parser
    parser = build_parser()
    for kind in MODEL_KINDS:
        assert parser.parse_args(["autotune", "--data", "sst2", "--out", "x", "--model", kind]).model == kind
