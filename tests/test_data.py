"""lmf.data: reading splits, every bad input as a DataError naming the file, tokenisation, the
vocabulary, padded batches and GloVe vectors."""
import socket
import sys

import pytest
import torch

import lmf.data
from conftest import ROOT, write_split
from lmf.data import (DataError, Vocab, data_folder, default_vectors_path, load_dataset, load_directory, load_vectors,
                      pad_batch)
from lmf.tokenize import PAD, PAD_ID, UNK, UNK_ID, tokenize

GOOD = [("good movie", 1), ("bad movie", 0)]


def make_dir(tmp_path, train=GOOD, dev=GOOD, test=GOOD, header=("sentence", "label")):
    for name, rows in (("train", train), ("dev", dev), ("test", test)):
        if rows is not None:
            write_split(tmp_path / f"{name}.tsv", header, rows)
    return tmp_path


# ---------------------------------------------------------------- named datasets

def test_sst2_sizes_and_labels(sst2):
    """The data README: 67,349 training phrases, 872 dev and 1,821 test sentences; labels 0/1
    become ids 0/1 named negative/positive."""
    assert (len(sst2.train), len(sst2.dev), len(sst2.test)) == (67_349, 872, 1_821)
    assert sst2.label_names == ["negative", "positive"]
    assert set(sst2.train.labels) == {0, 1}
    assert sst2.train.texts[0] == "hide new secretions from the parental units"
    assert sst2.train.labels[0] == 0


def test_sst2_sentences_training_split(data_dir):
    """sst2_train='sentences' swaps in the 6,920 full training sentences; dev/test unchanged."""
    data = load_dataset("sst2", sst2_train="sentences")
    assert (len(data.train), len(data.dev), len(data.test)) == (6_920, 872, 1_821)


def test_clinc150_sizes_and_labels(data_dir):
    """15,000 / 3,000 / 4,500 examples of 150 intents, named in alphabetical order."""
    data = load_dataset("clinc150")
    assert (len(data.train), len(data.dev), len(data.test)) == (15_000, 3_000, 4_500)
    assert len(data.label_names) == 150
    assert data.label_names == sorted(data.label_names)
    assert data.label_names[data.train.labels[0]] == "translate"  # first row of train.tsv


def test_named_dataset_from_data_dir_argument(data_dir, monkeypatch):
    """An explicit data_dir works without the environment variable."""
    monkeypatch.delenv("LMF_DATA_DIR")
    assert len(load_dataset("sst2", data_dir=data_dir).dev) == 872


@pytest.fixture
def no_data_folder(monkeypatch, tmp_path):
    """Neither LMF_DATA_DIR nor a ../shared/data beside the repository (SHARED_DATA pointed at a
    folder that does not exist), and no Hub failure remembered from an earlier test."""
    monkeypatch.delenv("LMF_DATA_DIR", raising=False)
    monkeypatch.setattr(lmf.data, "SHARED_DATA", tmp_path / "no-such-folder")
    monkeypatch.setattr(lmf.data, "_hub_failure", None)


def test_hub_fallback_without_datasets_is_a_clear_error(no_data_folder, monkeypatch):
    """No data folder and no `datasets` package (None in sys.modules makes the import fail even
    where it is installed): a DataError telling the user both ways out."""
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(DataError, match="LMF_DATA_DIR") as err:
        load_dataset("sst2")
    assert "datasets" in str(err.value)


def test_unknown_name_is_a_data_error(tmp_path, toy):
    """An unknown name, None (not a TypeError from Path), and a split name that is none of the
    three (not a KeyError) each say what to give."""
    with pytest.raises(DataError, match="nor a directory"):
        load_dataset(str(tmp_path / "nope"))
    with pytest.raises(DataError, match="a name .* or a directory, not None"):
        load_dataset(None)
    with pytest.raises(ValueError, match="no split 'valid': choose train, dev, test"):
        toy.split("valid")


def test_subset_takes_first_examples_and_rebuilds_vocab(sst2):
    """subset(200, 50): 200 training, 50 dev and 50 test examples; its vocabulary comes from those
    200 phrases only, so it is much smaller than the full one."""
    small = sst2.subset(200, 50)
    assert (len(small.train), len(small.dev), len(small.test)) == (200, 50, 50)
    assert small.train.texts == sst2.train.texts[:200]
    assert len(small.vocab) < len(sst2.vocab) / 10


# ---------------------------------------------------------------- directories and bad input

def test_directory_of_tsv_files(tmp_path):
    data = load_directory(make_dir(tmp_path), name="mine")
    assert data.name == "mine"
    assert data.train.texts == ["good movie", "bad movie"]
    assert data.train.labels == [1, 0]
    assert data.label_names == ["0", "1"]


def test_directory_of_csv_files_with_quoted_commas(tmp_path):
    """CSV goes through the csv module, so a quoted comma stays inside the text; string labels
    are sorted alphabetically into ids: neg -> 0, pos -> 1."""
    for split in ("train", "dev", "test"):
        (tmp_path / f"{split}.csv").write_text('text,label\n"good, really good",pos\nbad,neg\n',
                                               encoding="utf-8")
    data = load_dataset(str(tmp_path))
    assert data.train.texts == ["good, really good", "bad"]
    assert data.label_names == ["neg", "pos"]
    assert data.train.labels == [1, 0]


def test_integer_labels_sort_numerically(tmp_path):
    """Labels 2, 10, 1 sort as numbers (1, 2, 10), not as strings (1, 10, 2)."""
    rows = [("a", 2), ("b", 10), ("c", 1)]
    data = load_directory(make_dir(tmp_path, rows, rows, rows))
    assert data.label_names == ["1", "2", "10"]
    assert data.train.labels == [1, 2, 0]


def test_a_split_in_two_formats_is_refused(tiny_dir, tmp_path):
    """dev.tsv beside dev.csv: either could be the one meant, so neither is read silently."""
    import shutil
    shutil.copytree(tiny_dir, tmp_path / "d")
    (tmp_path / "d" / "dev.csv").write_text("text,label\ngood,1\n", encoding="utf-8")
    with pytest.raises(DataError, match="both dev.tsv and dev.csv; keep one dev file"):
        load_dataset(str(tmp_path / "d"))


def test_missing_split_file_names_directory_and_split(tmp_path):
    make_dir(tmp_path, test=None)
    with pytest.raises(DataError, match="missing test split") as err:
        load_directory(tmp_path)
    assert str(tmp_path) in str(err.value)


def test_missing_label_column_names_file(tmp_path):
    make_dir(tmp_path, header=("sentence", "score"))
    with pytest.raises(DataError, match="no label column") as err:
        load_directory(tmp_path)
    assert "train.tsv" in str(err.value)


def test_missing_text_column_names_file(tmp_path):
    make_dir(tmp_path, header=("words", "label"))
    with pytest.raises(DataError, match="no text column") as err:
        load_directory(tmp_path)
    assert "train.tsv" in str(err.value)


def test_empty_split_names_file(tmp_path):
    make_dir(tmp_path, dev=[])
    with pytest.raises(DataError, match="empty") as err:
        load_directory(tmp_path)
    assert "dev.tsv" in str(err.value)


def test_file_without_header_names_file(tmp_path):
    make_dir(tmp_path)
    (tmp_path / "test.tsv").write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="test.tsv"):
        load_directory(tmp_path)


def test_short_line_names_file_and_line(tmp_path):
    make_dir(tmp_path)
    (tmp_path / "train.tsv").write_text("sentence\tlabel\ngood\t1\nno label here\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"train.tsv: line 3"):
        load_directory(tmp_path)


def test_label_unseen_in_training_names_file(tmp_path):
    """Train has labels {0, 1}; a 2 in test cannot be mapped to an output of the model."""
    make_dir(tmp_path, test=[("great", 2), ("bad", 0)])
    with pytest.raises(DataError, match=r"\['2'\]") as err:
        load_directory(tmp_path)
    assert "test.tsv" in str(err.value)


# ---------------------------------------------------------------- tokens and vocabulary

@pytest.mark.parametrize("text, tokens", [
    ("", []),
    ("   \t\n", []),
    ("A GORGEOUS , witty movie .", ["a", "gorgeous", ",", "witty", "movie", "."]),
    ("it 's not bad , is n't it", ["it", "'s", "not", "bad", ",", "is", "n't", "it"]),
    ("re-imagining", ["re-imagining"]),
    # typed contractions split the way SST-2's training text already is, so they are known words
    ("I don't think it's bad", ["i", "do", "n't", "think", "it", "'s", "bad"]),
    # a quote before a word is not a clitic
    ("say 'i do'", ["say", "'", "i", "do", "'"]),
    # NFKC: full-width letters and the fi ligature become plain ASCII
    ("\uff28\uff25\uff2c\uff2c\uff2f \ufb01ne", ["hello", "fine"]),
    # a combining accent composes into the same token as the precomposed letter
    ("cafe\u0301 caf\u00e9", ["caf\u00e9", "caf\u00e9"]),
    ("wow!!", ["wow", "!", "!"]),
    ("\U0001F600 ok", ["\U0001F600", "ok"]),
])
def test_tokenize(text, tokens):
    assert tokenize(text) == tokens


def test_tokenize_accepts_non_strings():
    assert tokenize(42) == ["42"]


def test_vocab_from_training_split_only(toy):
    """Training counts: film 2, movie 2, then awful, bad, good, great once each; most frequent
    first, ties alphabetical, after <pad> (0) and <unk> (1). Dev/test words never enter."""
    assert toy.vocab.itos == [PAD, UNK, "film", "movie", "awful", "bad", "good", "great"]
    assert toy.vocab.counts == [0, 0, 2, 2, 1, 1, 1, 1]
    assert toy.vocab.encode("great film , fantastic") == [7, 2, UNK_ID, UNK_ID]
    assert toy.vocab.unknown_words("great fantastic film") == ["fantastic"]


def test_vocab_of_sst2_ignores_dev_and_test(sst2):
    train_words = {t for text in sst2.train.texts for t in tokenize(text)}
    assert set(sst2.vocab.itos[2:]) == train_words
    dev_only = {t for text in sst2.dev.texts for t in tokenize(text)} - train_words
    assert dev_only and not dev_only & set(sst2.vocab.stoi)


def test_vocab_min_count_and_max_tokens():
    vocab = Vocab.build(["a a b", "a c"], min_count=2)
    assert vocab.itos == [PAD, UNK, "a"]
    assert vocab.encode("a b a a", max_tokens=2) == [2, UNK_ID]


def test_pad_batch_pads_and_handles_empty():
    """Rows [5, 6, 7], [8] and [] pad to width 3 with PAD_ID; all-empty input still has width 1."""
    ids, lengths = pad_batch([[5, 6, 7], [8], []])
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0], [0, 0, 0]]
    assert lengths.tolist() == [3, 1, 0]
    ids, lengths = pad_batch([[]])
    assert ids.shape == (1, 1) and ids.item() == PAD_ID


def test_encoded_split(toy):
    ids, lengths, labels = toy.encoded("dev")
    assert ids.tolist() == [[6, 2], [5, 2]]  # good film, bad film
    assert labels.tolist() == [1, 0]


# ---------------------------------------------------------------- vectors

def test_load_vectors_tiny_glove_file(tmp_path):
    """A 3-d GloVe file: `good` and `movie` are in the vocabulary, `new york` (a word containing a
    space, as in glove.840B) too, `unused` is not; `zzz` has no vector. Coverage counts real words
    only: 3 of {good, movie, new york, zzz} = 0.75. The PAD row is zero; zzz gets a random row."""
    path = tmp_path / "vec.txt"
    path.write_text("good 1 2 3\nunused 9 9 9\nnew york 0.5 -0.5 0.25\nmovie -1 0 1\n", encoding="utf-8")
    vocab = Vocab([PAD, UNK, "good", "movie", "new york", "zzz"], [0, 0, 3, 2, 1, 1])
    matrix, coverage = load_vectors(path, vocab)
    assert matrix.shape == (6, 3)
    assert matrix[2].tolist() == [1, 2, 3]
    assert matrix[3].tolist() == [-1, 0, 1]
    assert matrix[4].tolist() == [0.5, -0.5, 0.25]
    assert coverage == pytest.approx(0.75)
    assert matrix[PAD_ID].abs().sum() == 0
    assert matrix[5].abs().sum() > 0
    again, _ = load_vectors(path, vocab)
    assert torch.equal(matrix, again)  # the random rows are seeded


def test_load_vectors_errors(tmp_path):
    vocab = Vocab([PAD, UNK, "a"], [0, 0, 1])
    with pytest.raises(DataError, match="not found"):
        load_vectors(tmp_path / "missing.txt", vocab)
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="empty"):
        load_vectors(tmp_path / "empty.txt", vocab)


def test_shared_glove_subset_covers_sst2(sst2, data_dir):
    """The shared 100-d subset covers most of the SST-2 training vocabulary (README: 89.5% of its
    distinct tokens over all splits)."""
    matrix, coverage = load_vectors(default_vectors_path(), sst2.vocab)
    assert matrix.shape == (len(sst2.vocab), 100)
    assert 0.8 < coverage < 1.0


# ---------------------------------------------------------------- issue 10: what a data file may hold

def write_bytes_split(tmp_path, name, data):
    """GOOD in every split as TSV, then `name` overwritten with the raw bytes `data`."""
    make_dir(tmp_path)
    (tmp_path / name).write_bytes(data)
    return tmp_path


@pytest.mark.parametrize("name, content, message", [
    # a tab inside the text: 3 fields, which used to make "film" the label, a new class
    ("train.tsv", "sentence\tlabel\ngood\tfilm\t1\nbad movie\t0\n", r"train.tsv: line 2 has 3 field\(s\), "
     r"the header has 2 \(a tab inside the text\?\)"),
    # a blank label (nothing, or spaces, after the tab): used to become a class named ""
    ("dev.tsv", "sentence\tlabel\ngood movie\t1\nbad movie\t\n", r"dev.tsv: line 3 has a blank label"),
    ("dev.tsv", "sentence\tlabel\ngood movie\t  \nbad movie\t0\n", r"dev.tsv: line 2 has a blank label"),
    # no header: the first example used to be taken for one (and lost)
    ("train.tsv", "good movie\t1\nbad movie\t0\n", r"train.tsv: line 1 is not a header"),
    # blank lines are skipped but still counted: the bad row is line 5 of the file
    ("test.tsv", "sentence\tlabel\n\ngood movie\t1\n\nbad movie\n", r"test.tsv: line 5 has 1 field\(s\)"),
])
def test_bad_rows_name_file_and_line(tmp_path, name, content, message):
    with pytest.raises(DataError, match=message):
        load_directory(write_bytes_split(tmp_path, name, content.encode("utf-8")))


def test_csv_rows_need_the_headers_field_count(tmp_path):
    """CSV line numbers are the file's: the quoted text "a<newline>b" spans lines 2-3, so the
    one-field row "bad" is line 4."""
    for split in ("train", "dev", "test"):
        (tmp_path / f"{split}.csv").write_text('text,label\n"a\nb",pos\nbad\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"train.csv: line 4 has 1 field\(s\), the header has 2"):
        load_directory(tmp_path)


@pytest.mark.parametrize("suffix", ["tsv", "csv"])
def test_byte_order_mark_is_accepted(tmp_path, suffix):
    """A UTF-8 byte-order mark (EF BB BF, as Excel writes) before the header: the header still
    reads "sentence", and the rows are the same as without it."""
    sep = "\t" if suffix == "tsv" else ","
    for split in ("train", "dev", "test"):
        text = f"sentence{sep}label\ngood movie{sep}1\nbad movie{sep}0\n"
        (tmp_path / f"{split}.{suffix}").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    data = load_directory(tmp_path)
    assert data.train.texts == ["good movie", "bad movie"] and data.label_names == ["0", "1"]


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_other_encodings_name_the_file(tmp_path, encoding):
    """"café" in Latin-1 (é is the lone byte e9) and the whole file in UTF-16 (it starts ff fe):
    a DataError naming dev.tsv and asking for UTF-8, not a bare UnicodeDecodeError."""
    content = "sentence\tlabel\ncaf\u00e9 movie\t1\nbad movie\t0\n".encode(encoding)
    line = {"latin-1": "line 2: ", "utf-16": "line 1: "}[encoding]  # é on line 2; UTF-16's ff fe at the start
    with pytest.raises(DataError, match=rf"dev.tsv: {line}not UTF-8 text .*save it as UTF-8"):
        load_directory(write_bytes_split(tmp_path, "dev.tsv", content))


def test_a_bad_byte_is_found_on_its_line_past_a_byte_order_mark_and_crlf(tmp_path):
    """UTF-8 with a byte-order mark (Excel's) and Windows line ends, then a lone Latin-1 é (e9) on
    line 3: the message names line 3 and byte e9, the mark's 3 bytes not counted as text."""
    content = b"\xef\xbb\xbfsentence\tlabel\r\ngood movie\t1\r\ncaf\xe9 movie\t0\r\n"
    with pytest.raises(DataError, match=r"dev.tsv: line 3: not UTF-8 text \(.* at a byte e9"):
        load_directory(write_bytes_split(tmp_path, "dev.tsv", content))


def hub_folder(tmp_path):
    """Small local copies of the three Hub datasets, in the Hub's own columns and features:
    stanfordnlp/sst2 (idx, sentence, label; train), SetFit/sst2 (text, label, label_text;
    validation, test) and clinc_oos "plus" (text, intent as a ClassLabel whose names include
    "oos"; train, validation, test)."""
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value
    Dataset.from_dict({"idx": [0, 1, 2], "sentence": ["a fine film", "dull", "great fun"], "label": [1, 0, 1]}
                      ).save_to_disk(tmp_path / "stanfordnlp-sst2-train")
    sentences = {"text": ["good", "bad"], "label": [1, 0], "label_text": ["positive", "negative"]}
    DatasetDict({s: Dataset.from_dict(sentences) for s in ("validation", "test")}).save_to_disk(tmp_path / "SetFit-sst2")
    features = Features({"text": Value("string"), "intent": ClassLabel(names=["weather", "oos", "alarm"])})
    part = {"text": ["rain today", "what is love", "wake me at 7"], "intent": [0, 1, 2]}
    DatasetDict({s: Dataset.from_dict(part, features=features) for s in ("train", "validation", "test")}
                ).save_to_disk(tmp_path / "clinc_oos-plus")


def test_hub_fallback_reads_the_hubs_format(tmp_path, no_data_folder, monkeypatch):
    """Without LMF_DATA_DIR the named datasets come from the Hub. Here datasets.load_dataset is
    pointed at local copies in the Hub's format (datasets.load_from_disk), so the conversion runs
    for real: SST-2 trains on the phrases and keeps SetFit's sentence-level dev and test; CLINC150
    drops "oos" and renumbers the in-scope intents alphabetically (alarm 0, weather 1)."""
    import datasets
    hub_folder(tmp_path)

    def local(name, config=None, split=None):
        suffix = (f"-{config}" if config else "") + (f"-{split}" if split else "")
        return datasets.load_from_disk(str(tmp_path / (name.replace("/", "-") + suffix)))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # no probe of the network: the Hub client reads local copies
    monkeypatch.setattr(datasets, "load_dataset", local)
    sst2 = load_dataset("sst2")
    assert sst2.train.texts == ["a fine film", "dull", "great fun"] and sst2.train.labels == [1, 0, 1]
    assert sst2.test.texts == ["good", "bad"] and sst2.label_names == ["negative", "positive"]
    clinc = load_dataset("clinc150")
    assert clinc.label_names == ["alarm", "weather"]
    assert clinc.train.texts == ["rain today", "wake me at 7"] and clinc.train.labels == [1, 0]


def test_an_unreachable_hub_is_a_clear_error(no_data_folder, monkeypatch):
    """No network, though the probe got through: the Hub client's own error becomes a DataError
    that says how to use local data."""
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'stanfordnlp/sst2' on the Hub (LocalEntryNotFoundError)")
    monkeypatch.setattr(lmf.data, "_hub_unreachable", lambda: None)
    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DataError, match="could not be fetched from the Hugging Face Hub.*set LMF_DATA_DIR"):
        load_dataset("sst2")


# ---------------------------------------------------------------- issue 21: one rule for where data is found

def test_data_folder_is_the_variable_else_shared_data_beside_the_repository(tmp_path, monkeypatch):
    """LMF_DATA_DIR wins when set; unset, <repo>/../shared/data is used when it exists (the layout
    of CI and the shared machines, where the tests already looked); neither: None (the Hub)."""
    assert lmf.data.SHARED_DATA == ROOT.parent / "shared" / "data"
    monkeypatch.setenv("LMF_DATA_DIR", str(tmp_path / "mine"))
    monkeypatch.setattr(lmf.data, "SHARED_DATA", tmp_path / "shared")
    assert data_folder() == tmp_path / "mine"
    monkeypatch.delenv("LMF_DATA_DIR")
    assert data_folder() is None
    (tmp_path / "shared").mkdir()
    assert data_folder() == tmp_path / "shared"
    assert default_vectors_path() == tmp_path / "shared" / "vectors" / "glove.6B.100d.subset.txt"


def test_started_without_the_variable_the_shared_folder_is_read(data_dir, monkeypatch):
    """Issue 21: started as the README says (no LMF_DATA_DIR), the app retried the Hub for 25 s
    while ../shared/data sat beside the repository. Now load_dataset reads the shared folder, and
    the Hub is never asked (its loader would fail the test)."""
    monkeypatch.delenv("LMF_DATA_DIR")
    monkeypatch.setattr(lmf.data, "SHARED_DATA", data_dir)
    monkeypatch.setattr(lmf.data, "_load_from_hub", lambda name: pytest.fail("the Hub was asked"))
    assert len(load_dataset("sst2").dev) == 872


def test_an_unreachable_hub_fails_fast_and_once(no_data_folder, monkeypatch):
    """Issue 21: with no network the Hub client retried for 25 s on every visit. Now a TCP probe
    (refused here) fails before the client is called, and the failure is remembered for the process:
    a second load neither probes again nor calls the client. HF_HUB_OFFLINE=1 skips the probe (the
    client then reads only its local cache)."""
    import datasets
    probes, calls = [], []

    def refuse(address, timeout=None):
        probes.append((address, timeout))
        raise ConnectionRefusedError("[Errno 111] Connection refused")
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: calls.append(a))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for _ in range(2):
        with pytest.raises(DataError, match=r"'sst2' could not be fetched from the Hugging Face Hub \(huggingface"
                                            r"\.co:443 unreachable: .*refused\); no data folder .*set LMF_DATA_DIR"):
            load_dataset("sst2")
    assert calls == [] and len(probes) == 1 and probes[0][1] <= 5
    monkeypatch.setattr(lmf.data, "_hub_failure", None)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert lmf.data._hub_unreachable() is None and len(probes) == 1


# ---------------------------------------------------------------- issues 21 and 23: what a data set must hold

@pytest.mark.parametrize("header, named", [
    (("sentence", "label", "label"), r"2 label columns, 'label' \(column 2\) and 'label' \(column 3\)"),
    (("label", "text", "intent"), r"2 label columns, 'label' \(column 1\) and 'intent' \(column 3\)"),
    (("sentence", "text", "label"), r"2 text columns, 'sentence' \(column 1\) and 'text' \(column 2\)"),
])
def test_two_label_or_text_columns_are_an_error_naming_them(tmp_path, header, named):
    """Issue 21: a header naming the label column twice was read from the first one, silently.
    Which column holds the labels is ambiguous: a DataError naming both, with their positions."""
    rows = [("good movie", "1", "0"), ("bad movie", "0", "1")]
    with pytest.raises(DataError, match=rf"train.tsv: the header names {named}; keep one"):
        load_directory(make_dir(tmp_path, rows, rows, rows, header=header))


def test_rows_with_empty_text_are_skipped_and_counted(tmp_path):
    """Issue 21: 100 empty-text rows were trained on without a word. They are skipped (nothing in
    them to learn), and the dataset's notes say so: train.tsv has 2 good rows, then 100 rows whose
    text is empty or only spaces and direction marks (lines 4 to 103: line 1 is the header); dev
    and test have none, so one note."""
    empty = [("", "1"), ("   ", "0"), ("\u200e\u200f", "1")] * 33 + [("", "0")]
    data = load_directory(make_dir(tmp_path, GOOD + empty))
    assert data.train.texts == ["good movie", "bad movie"] and len(data.dev) == 2
    assert data.notes == [f"{tmp_path / 'train.tsv'}: skipped 100 row(s) whose text has no word "
                          "(line(s) 4, 5, 6, 7, 8, ...); 2 kept"]
    assert data.subset(1).notes == data.notes


def test_a_split_of_only_empty_texts_is_an_error(tmp_path):
    with pytest.raises(DataError, match=r"dev.tsv: no example has a word \(all 2 rows have an empty text\)"):
        load_directory(make_dir(tmp_path, dev=[("", 1), (" ", 0)]))


def test_one_class_is_an_error(tmp_path):
    """Issue 21: a training split whose every label is "pos" was trained and saved with exit 0."""
    rows = [("good movie", "pos"), ("great film", "pos")]
    with pytest.raises(DataError, match=r"train.tsv: every training example has the same label \(1 class\)"):
        load_directory(make_dir(tmp_path, rows, rows, rows))


def test_100000_classes_are_refused(tmp_path):
    """Issue 23: 100,000 classes (one example each) were accepted, trained and published: 4.3 GB
    on disk for a dev accuracy of 0.00 %. More than MAX_CLASSES = 1,000 is a DataError naming the
    count and the limit."""
    train = [(f"text {i}", f"class{i}") for i in range(100_000)]
    with pytest.raises(DataError, match=r"train.tsv: 100,000 classes; lmf trains at most 1,000"):
        load_directory(make_dir(tmp_path, train, train[:2], train[:2]))


@pytest.mark.parametrize("classes, per_class, ok", [(150, 100, True), (500, 2, False), (21, 4, False),
                                                    (21, 5, True), (20, 1, True), (3, 1, True)])
def test_many_classes_need_examples(tmp_path, classes, per_class, ok):
    """Above FEW_CLASSES = 20 classes, at least 5 training examples per class on average:
    CLINC150's shape (150 x 100) passes; 500 classes x 2 = 1,000 examples needs 2,500; 21 x 4 = 84
    needs 105; 21 x 5 = 105 passes; 20 classes of 1 and 3 of 1 are toys, allowed."""
    train = [(f"text {i}", f"c{c}") for c in range(classes) for i in range(per_class)]
    directory = make_dir(tmp_path, train, train[:2], train[:2])
    if ok:
        assert len(load_directory(directory).label_names) == classes
    else:
        with pytest.raises(DataError, match=rf"{classes:,} classes for {classes * per_class:,} training examples "
                                            rf"\({per_class:.1f} per class\); above 20 classes give at least 5"):
            load_directory(directory)
