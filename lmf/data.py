"""Text classification data: splits, vocabulary, padded id tensors, GloVe vectors (tokens: lmf.tokenize).

A dataset is three splits (train, dev, test) of (text, label) pairs plus the label names and a
vocabulary built from the training split only, as the paper does. Any directory holding
train/dev/test as TSV or CSV files works; the named datasets (`sst2`, `clinc150`) are read from the
data folder, which `data_folder()` finds by one rule for the app, the CLI, the scripts and the
tests: `$LMF_DATA_DIR` when set, else `../shared/data` beside the repository when it exists, else
none, and then they come from the Hugging Face Hub. An unreachable Hub fails in well under a
second (a TCP probe before the Hub client, whose retries take 25 s), once per process.

What a data file must hold, each a DataError naming the file (and the line or the numbers):
- a header naming one text column (TEXT_COLUMNS) and one label column (LABEL_COLUMNS): two of
  either (`label` twice, or `sentence` beside `text`) is ambiguous and refused, naming them;
- rows of the header's width with a non-blank label; rows whose text has no word (empty, spaces,
  only invisible characters: lmf.tokenize finds no token) are skipped, not refused, and counted in
  the dataset's `notes` (the CLI prints them): there is nothing in them to learn or classify, and
  a spreadsheet export often ends in such rows;
- at least 2 classes in the training split, and not too many for the examples: at most
  MAX_CLASSES, and above FEW_CLASSES classes at least MIN_EXAMPLES_PER_CLASS training examples per
  class on average (`check_classes`).

Deliberately not here: models, training loops, or any caching on disk. Loading SST-2 takes about a
second; the vocabulary is rebuilt each time so that it can never drift from the data it came from.
"""
import codecs
import csv
import io
import math
import os
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

# The tokenizer lives in lmf.tokenize (the runtime uses it without torch).
from .errors import LmfError
from .layout import ROOT
from .tokenize import MAX_TOKENS, PAD, PAD_ID, UNK, encode, tokenize, unknown_tokens

TEXT_COLUMNS = ("sentence", "text")
LABEL_COLUMNS = ("label", "intent")
NAMED = {
    # name -> (subfolder of $LMF_DATA_DIR, file per split, label names for integer labels)
    "sst2": ("sst2", {"train": "train_phrases.tsv", "dev": "dev.tsv", "test": "test.tsv"},
             ["negative", "positive"]),
    "clinc150": ("clinc150", {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"}, None),
}
SPLITS = ("train", "dev", "test")
# The data folder beside the repository (the layout of the shared machines and of CI), used when
# LMF_DATA_DIR is not set.
SHARED_DATA = ROOT.parent / "shared" / "data"


def data_folder():
    """The folder the named datasets are read from: $LMF_DATA_DIR when set, else SHARED_DATA when
    it exists, else None (the named datasets then come from the Hugging Face Hub)."""
    if os.environ.get("LMF_DATA_DIR"):
        return Path(os.environ["LMF_DATA_DIR"])
    return SHARED_DATA if SHARED_DATA.is_dir() else None


class DataError(LmfError, ValueError):
    """Bad or missing data, with the file and the problem in the message."""


@dataclass
class Vocab:
    """Index <-> token, with training-split counts (HMF and GroupReduce sort words by them)."""
    itos: list
    counts: list

    def __post_init__(self):
        self.stoi = {word: i for i, word in enumerate(self.itos)}

    @classmethod
    def build(cls, texts, min_count=1):
        counts = {}
        for text in texts:
            for token in tokenize(text):
                counts[token] = counts.get(token, 0) + 1
        # Most frequent first, ties alphabetical, so the same data always gives the same ids.
        words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        return cls([PAD, UNK] + words, [0, 0] + [counts[w] for w in words])

    def __len__(self):
        return len(self.itos)

    def encode(self, text, max_tokens=MAX_TOKENS):
        return encode(text, self.stoi, max_tokens)

    def unknown_words(self, text):
        return unknown_tokens(text, self.stoi)


def pad_batch(id_lists):
    """(ids, lengths): a [B, T] LongTensor padded with PAD_ID; T is at least 1 so empty text works."""
    width = max([1] + [len(ids) for ids in id_lists])
    ids = torch.full((len(id_lists), width), PAD_ID, dtype=torch.long)
    for row, seq in enumerate(id_lists):
        ids[row, :len(seq)] = torch.tensor(seq, dtype=torch.long)
    return ids, torch.tensor([len(seq) for seq in id_lists], dtype=torch.long)


@dataclass
class Split:
    texts: list
    labels: list  # integer class ids

    def __len__(self):
        return len(self.texts)


@dataclass
class TextDataset:
    name: str
    train: Split
    dev: Split
    test: Split
    label_names: list
    vocab: Vocab = None
    notes: list = field(default_factory=list)  # what loading changed, for the user: skipped rows
    _encoded: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if self.vocab is None:
            self.vocab = Vocab.build(self.train.texts)

    def split(self, name):
        """The split called `name`; ValueError naming the three for any other name."""
        if name not in SPLITS:
            raise ValueError(f"no split {name!r}: choose {', '.join(SPLITS)}")
        return {"train": self.train, "dev": self.dev, "test": self.test}[name]

    def encoded(self, name):
        """(ids [N, T], lengths [N], labels [N]) of a split, padded to its longest text; cached."""
        if name not in self._encoded:
            split = self.split(name)
            ids, lengths = pad_batch([self.vocab.encode(t) for t in split.texts])
            self._encoded[name] = (ids, lengths, torch.tensor(split.labels, dtype=torch.long))
        return self._encoded[name]

    def relabel(self, label_names, source=None):
        """Renumber the label ids into the order of `label_names` (a saved model's classes), in
        place. The data numbers its labels in sorted order of those it holds, which need not be the
        model's; it may lack some of the model's classes, but a label outside them is a DataError."""
        if list(self.label_names) == list(label_names):
            return
        index = {name: i for i, name in enumerate(label_names)}
        unknown = [name for name in self.label_names if name not in index]
        if unknown:
            raise DataError(f"{source or self.name}: label(s) {unknown[:5]} are not among the {len(index)} "
                            f"labels ({', '.join(map(str, list(label_names)[:5]))}{', ...' if len(index) > 5 else ''})")
        new_id = [index[name] for name in self.label_names]
        for split in (self.train, self.dev, self.test):
            split.labels = [new_id[y] for y in split.labels]
        self.label_names = list(label_names)
        self._encoded.clear()  # encoded with the old ids, if anything was encoded yet

    def seen_by(self, vocab, label_names, source=None):
        """This dataset as a saved model sees it, in place, and returned: the model's vocabulary (so
        ids match its embedding rows) and its class order (`relabel`, so an output is paired with
        its own class). The one rule for every caller that evaluates or retrains a saved model."""
        self.vocab = vocab
        self._encoded.clear()  # ids of the old vocabulary, if anything was encoded yet
        self.relabel(label_names, source)
        return self

    def subset(self, n_train, n_eval=None):
        """A small copy for tests and quick runs: the first n examples of each split."""
        n_eval = n_eval or n_train
        cut = lambda s, n: Split(s.texts[:n], s.labels[:n])
        return TextDataset(self.name, cut(self.train, n_train), cut(self.dev, n_eval),
                           cut(self.test, n_eval), self.label_names, notes=list(self.notes))


# ---------------------------------------------------------------- reading files

def _read_table(path):
    """(header, [(line number, fields)]) of a TSV or CSV file: UTF-8, a byte-order mark allowed
    (Excel and Notepad write one), blank lines skipped. Any other encoding is a DataError naming
    the file, not a UnicodeDecodeError naming nothing."""
    path = Path(path)
    line_no = 0
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            if path.suffix == ".tsv":
                # SST-2 sentences contain bare quotes: no quoting in TSV, a tab always separates.
                rows = [(n, line.rstrip("\r\n").split("\t")) for n, line in enumerate(f, 1) if line.strip()]
            else:
                reader = csv.reader(f)
                rows = []
                for row in reader:
                    line_no = reader.line_num  # where a quoted multi-line row ends
                    if row:
                        rows.append((line_no, row))
    except UnicodeDecodeError as e:
        # The reader decodes in chunks, so e.start is within a chunk: the whole file (its byte-order
        # mark off, as the reader takes it), decoded once more, says which line holds the first bad
        # byte, counting line ends as the reader does (\n, \r\n or a lone \r).
        raw = path.read_bytes().removeprefix(codecs.BOM_UTF8)
        try:
            raw.decode("utf-8")
            where, byte = "", e.object[e.start:e.start + 1]
        except UnicodeDecodeError as whole:
            line = len(re.findall(rb"\r\n|\r|\n", raw[:whole.start])) + 1
            where, byte = f"line {line}: ", raw[whole.start:whole.start + 1]
        raise DataError(f"{path}: {where}not UTF-8 text ({e.reason} at a byte {byte.hex()}; "
                        "a Latin-1 or UTF-16 file?): save it as UTF-8") from e
    except csv.Error as e:
        raise DataError(f"{path}: line {line_no + 1}: {e}") from e
    if not rows:
        raise DataError(f"{path}: the file is empty (no header line)")
    return rows[0][1], rows[1:]


def _columns(header, path):
    """Indices of the text and label columns, found by name (TEXT_COLUMNS, LABEL_COLUMNS). A first
    line naming neither is taken for a missing header: read as one, its example would be lost and
    its columns guessed. A header naming two of either is ambiguous (which one holds the labels?):
    a DataError naming both, with their positions."""
    lowered = [h.strip().lower() for h in header]
    for kind, names in (("text", TEXT_COLUMNS), ("label", LABEL_COLUMNS)):
        found = [i for i, h in enumerate(lowered) if h in names]
        if len(found) > 1:
            named = " and ".join(f"{header[i].strip()!r} (column {i + 1})" for i in found)
            raise DataError(f"{path}: the header names {len(found)} {kind} columns, {named}; keep one "
                            f"(the {kind} column is the one named {' or '.join(names)})")
    text = next((lowered.index(c) for c in TEXT_COLUMNS if c in lowered), None)
    label = next((lowered.index(c) for c in LABEL_COLUMNS if c in lowered), None)
    if text is None and label is None:
        raise DataError(f"{path}: line 1 is not a header (fields {header[:4]}); the first line must name "
                        f"the text column ({' or '.join(TEXT_COLUMNS)}) and the label column "
                        f"({' or '.join(LABEL_COLUMNS)})")
    if text is None:
        raise DataError(f"{path}: no text column (expected one of {TEXT_COLUMNS}; header is {header})")
    if label is None:
        raise DataError(f"{path}: no label column (expected one of {LABEL_COLUMNS}; header is {header})")
    return text, label


def _find_split_file(directory, split, filename=None):
    directory = Path(directory)
    candidates = [filename] if filename else [f"{split}.tsv", f"{split}.csv"]
    found = [directory / name for name in candidates if (directory / name).is_file()]
    if len(found) > 1:  # which one is meant cannot be guessed, and either guess can be wrong
        raise DataError(f"{directory}: both {' and '.join(p.name for p in found)}; keep one {split} file")
    if found:
        return found[0]
    raise DataError(f"{directory}: missing {split} split (looked for {', '.join(candidates)})")


def _read_split(path):
    """(texts, labels, note) of one split file; `note` says which rows were skipped, else None.
    Every row has exactly the header's fields (a tab inside a TSV text would otherwise shift a
    word into the label) and a non-blank label (a blank one would silently become a class of its
    own). A row whose text has no word is skipped and counted (see the module docstring)."""
    header, rows = _read_table(path)
    text_col, label_col = _columns(header, path)
    texts, labels, skipped = [], [], []
    for line_no, row in rows:
        if len(row) != len(header):
            hint = " (a tab inside the text?)" if Path(path).suffix == ".tsv" and len(row) > len(header) else ""
            raise DataError(f"{path}: line {line_no} has {len(row)} field(s), the header has {len(header)}{hint}")
        label = row[label_col].strip()
        if not label:
            raise DataError(f"{path}: line {line_no} has a blank label")
        if not tokenize(row[text_col]):
            skipped.append(line_no)
            continue
        texts.append(row[text_col])
        labels.append(label)
    if not texts:
        if skipped:
            raise DataError(f"{path}: no example has a word (all {len(skipped)} rows have an empty text)")
        raise DataError(f"{path}: the split is empty (a header and no examples)")
    note = None
    if skipped:
        lines = ", ".join(map(str, skipped[:5])) + (", ..." if len(skipped) > 5 else "")
        note = (f"{path}: skipped {len(skipped)} row(s) whose text has no word (line(s) {lines}); "
                f"{len(texts):,} kept")
    return texts, labels, note


# How many classes a dataset may have (check_classes). The output layer and every saved model grow
# with the class count (a 100,000-class upload made 4.3 GB of models for a dev accuracy of 0.00 %).
# CLINC150, the widest of lmf's own, has 150 classes of 100 training examples each.
MAX_CLASSES = 1000
FEW_CLASSES = 20  # up to this many, any number of examples is allowed (toy sets cost nothing)
MIN_EXAMPLES_PER_CLASS = 5  # above FEW_CLASSES, the least average of training examples per class


def check_classes(n_classes, n_train, source):
    """DataError, naming `source` and the numbers, unless a training split of `n_train` examples in
    `n_classes` classes can train a classifier: at least 2 classes, at most MAX_CLASSES, and above
    FEW_CLASSES at least MIN_EXAMPLES_PER_CLASS examples per class on average. Worked examples:
    CLINC150's 150 classes on 15,000 examples (100 each) pass; 500 classes on 1,000 examples (2
    each) need 2,500; 100,000 classes are over 1,000 whatever the examples; 3 classes on 4
    examples pass (a toy); 1 class never does."""
    if n_classes < 2:
        raise DataError(f"{source}: every training example has the same label (1 class); a classifier needs "
                        "at least 2 classes")
    if n_classes > MAX_CLASSES:
        raise DataError(f"{source}: {n_classes:,} classes; lmf trains at most {MAX_CLASSES:,} (one output per "
                        "class: merge rare classes, or keep the frequent ones)")
    if n_classes > FEW_CLASSES and n_train < MIN_EXAMPLES_PER_CLASS * n_classes:
        raise DataError(f"{source}: {n_classes:,} classes for {n_train:,} training examples ({n_train / n_classes:.1f} "
                        f"per class); above {FEW_CLASSES} classes give at least {MIN_EXAMPLES_PER_CLASS} per class "
                        f"on average ({MIN_EXAMPLES_PER_CLASS * n_classes:,} examples), or fewer classes")


SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


def split_file(path, out_dir, seed=0):
    """Split one labelled file (TSV or CSV, header line) into train/dev/test files of `out_dir`,
    80/10/10 within each label (so every label the dev and test files hold is in train, which
    load_directory requires), shuffled with `seed`: the same file always gives the same splits.
    The file is checked row by row as a split is (_read_split: DataError naming the file and
    line); the splits keep its format and header. Worked example: a label with 25 examples gives
    floor(2.5 + 0.5) = 3 to dev, 3 to test and 19 to train; 5 give 1, 1, 3; 4 give 0, 0, 4.
    Returns {split: path}."""
    from .atomic import write_text_atomic
    path = Path(path)
    _read_split(path)  # the same checks and messages as a train/dev/test file (empty texts: skipped at load)
    header, rows = _read_table(path)
    label_col = _columns(header, path)[1]
    by_label = {}
    for _, row in rows:
        by_label.setdefault(row[label_col].strip(), []).append(row)
    if len(by_label) < 2:  # said of this file: the splits it would make are not the user's
        raise DataError(f"{path}: every example has the same label ({next(iter(by_label), '')!r}); a classifier "
                        "needs at least 2 classes")
    rng = random.Random(seed)
    parts = {s: [] for s in SPLITS}
    for label in _sort_labels(by_label):  # a fixed order, so the seed alone decides the split
        group = by_label[label]
        rng.shuffle(group)
        n_dev, n_test = (int(len(group) * f + 0.5) for f in SPLIT_FRACTIONS[1:])  # half up, not to even
        parts["dev"] += group[:n_dev]
        parts["test"] += group[n_dev:n_dev + n_test]
        parts["train"] += group[n_dev + n_test:]
    empty = [s for s in ("dev", "test") if not parts[s]]
    if empty:
        raise DataError(f"{path}: too few examples to split 80/10/10 ({len(rows)} rows, at most "
                        f"{max(map(len, by_label.values()))} per label): the {' and '.join(empty)} split(s) "
                        "would be empty; give at least 5 examples of a label, or upload train, dev and test")
    suffix = path.suffix.lower()
    out = {}
    for split, part in parts.items():
        rng.shuffle(part)  # labels interleaved, not in blocks
        if suffix == ".tsv":
            text = "".join("\t".join(r) + "\n" for r in [header] + part)
        else:
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows([header] + part)
            text = buffer.getvalue()
        out[split] = write_text_atomic(Path(out_dir) / f"{split}{suffix}", text)
    return out


def _sort_labels(labels):
    """Numeric order when every label is an integer (0, 1, 2, 10), else alphabetical."""
    unique = set(labels)
    if all(re.fullmatch(r"-?\d+", x) for x in unique):
        return sorted(unique, key=int)
    return sorted(unique)


def load_directory(directory, name=None, files=None, label_names=None):
    """A dataset from a directory with train, dev and test files (TSV or CSV, header line).

    `files` maps split -> file name (default `<split>.tsv` or `<split>.csv`). Labels become ids in
    sorted order; `label_names` renames those sorted labels (SST-2's 0/1 -> negative/positive).
    The dataset's `notes` say which rows were skipped; its classes pass check_classes.
    """
    files = files or {}
    raw = {s: (_find_split_file(directory, s, files.get(s)),) for s in SPLITS}
    raw = {s: (path,) + _read_split(path) for s, (path,) in raw.items()}
    classes = _sort_labels(raw["train"][2])
    check_classes(len(classes), len(raw["train"][1]), raw["train"][0])
    index = {label: i for i, label in enumerate(classes)}
    splits = {}
    for s, (path, texts, labels, _) in raw.items():
        unseen = sorted(set(labels) - set(index))
        if unseen:
            raise DataError(f"{path}: label(s) {unseen[:5]} do not occur in the training split")
        splits[s] = Split(texts, [index[x] for x in labels])
    if label_names is not None and len(label_names) != len(classes):
        label_names = None
    return TextDataset(name or Path(directory).name, splits["train"], splits["dev"], splits["test"],
                       list(label_names or classes), notes=[note for *_, note in raw.values() if note])


HUB_PROBE_SECONDS = 3.0
# The first failure to reach the Hub in this process (a DataError), raised again at once by every
# later load: each try costs the Hub client about 25 s of retries, and a page retried it per visit.
_hub_failure = None


def _hub_unreachable():
    """Why the Hub (or the HTTPS proxy in the way) does not accept a TCP connection within
    HUB_PROBE_SECONDS, else None. Skipped (None) in offline mode (HF_HUB_OFFLINE), where the Hub
    client reads its local cache without the network."""
    import socket
    import urllib.parse
    import urllib.request
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return None
    endpoint = urllib.request.getproxies().get("https") or os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    url = urllib.parse.urlsplit(endpoint if "//" in endpoint else f"//{endpoint}")
    host, port = url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=HUB_PROBE_SECONDS).close()
    except OSError as e:
        return f"{host}:{port} unreachable: {e}"
    return None


def _load_from_hub(name):
    """The named dataset from the Hugging Face Hub (needs network access and `pip install datasets`).
    Fails fast: a TCP probe first (_hub_unreachable), and a failure is remembered for the process."""
    global _hub_failure
    if _hub_failure is not None:
        raise DataError(str(_hub_failure))
    try:
        from datasets import load_dataset as hub_load
    except ImportError as e:
        raise DataError(f"dataset {name!r}: set LMF_DATA_DIR to a data folder, or install `datasets` "
                        "to fetch it from the Hugging Face Hub") from e
    where = "no data folder (LMF_DATA_DIR is not set and there is no ../shared/data beside the repository)"
    problem = _hub_unreachable()
    if problem is None:
        try:
            if name == "sst2":
                phrases = hub_load("stanfordnlp/sst2", split="train")  # GLUE's phrase-level training set
                sentences = hub_load("SetFit/sst2")  # sentence-level dev and test, test labels included
            else:
                hub = hub_load("clinc_oos", "plus")
        except Exception as e:  # the Hub's errors differ by version (ConnectionError, OSError, its own)
            problem = f"{type(e).__name__}: {str(e)[:200]}"
    if problem is not None:
        _hub_failure = DataError(f"dataset {name!r} could not be fetched from the Hugging Face Hub ({problem}); "
                                 f"{where}: set LMF_DATA_DIR to a data folder that holds it")
        raise DataError(str(_hub_failure))
    if name == "sst2":
        train = Split(list(phrases["sentence"]), list(phrases["label"]))
        dev = Split(list(sentences["validation"]["text"]), list(sentences["validation"]["label"]))
        test = Split(list(sentences["test"]["text"]), list(sentences["test"]["label"]))
        return TextDataset(name, train, dev, test, ["negative", "positive"])
    names = hub["train"].features["intent"].names
    oos = names.index("oos")
    keep = lambda part: Split([t for t, y in zip(part["text"], part["intent"]) if y != oos],
                              [y for y in part["intent"] if y != oos])
    # Renumber the 150 in-scope intents alphabetically, as the local files give them.
    in_scope = sorted(n for n in names if n != "oos")
    remap = {names.index(n): i for i, n in enumerate(in_scope)}
    splits = [keep(hub[s]) for s in ("train", "validation", "test")]
    for sp in splits:
        sp.labels = [remap[y] for y in sp.labels]
    return TextDataset(name, *splits, in_scope)


def load_dataset(name_or_path, data_dir=None, sst2_train="phrases"):
    """Load `sst2`, `clinc150` or a directory of train/dev/test files.

    Named datasets come from `data_dir` (default: data_folder()) if there is one, else from the Hub.
    `sst2_train="sentences"` trains SST-2 on the 6,920 full sentences instead of the 67k phrases.
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise DataError(f"the dataset must be a name ({', '.join(NAMED)}) or a directory, not {name_or_path!r}")
    if name_or_path not in NAMED:
        if not Path(name_or_path).is_dir():
            raise DataError(f"{name_or_path!r} is neither a known dataset ({', '.join(NAMED)}) "
                            "nor a directory")
        return load_directory(name_or_path)
    data_dir = data_dir or data_folder()
    if not data_dir:
        return _load_from_hub(name_or_path)
    folder, files, label_names = NAMED[name_or_path]
    files = dict(files)
    if name_or_path == "sst2" and sst2_train == "sentences":
        files["train"] = "train.tsv"
    return load_directory(Path(data_dir) / folder, name_or_path, files, label_names)


def default_vectors_path(data_dir=None):
    """The GloVe subset of the data folder (`data_dir`, default data_folder()), or None without one."""
    data_dir = data_dir or data_folder()
    return Path(data_dir) / "vectors" / "glove.6B.100d.subset.txt" if data_dir else None


def load_vectors(path, vocab, seed=0):
    """(matrix [len(vocab), dim], coverage) from a GloVe-format text file (`word v1 ... vd`).

    Rows of words the file lacks are drawn from N(0, std of the found vectors), so they start on
    the same scale; the padding row is zero. Coverage is the fraction of real words (not PAD/UNK)
    found. The dimension is read from the first line; words containing spaces (glove.840B has a
    few) are handled by taking the last `dim` fields as the vector.
    """
    if path is None:  # default_vectors_path() without LMF_DATA_DIR
        raise DataError("no word-vectors file: give a GloVe-format file (CLI: --vectors FILE, or --vectors "
                        "none for random vectors), or set LMF_DATA_DIR to the data folder that has one")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: vectors file not found")
    found, dim = {}, None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.rstrip().split(" ")
            if dim is None:
                dim = len(parts) - 1
                if dim < 1:
                    raise DataError(f"{path}: first line has no vector")
            if len(parts) <= dim:
                continue
            word = " ".join(parts[:-dim])
            if word in vocab.stoi and word not in found:
                found[word] = [float(x) for x in parts[-dim:]]
    if dim is None:
        raise DataError(f"{path}: the file is empty")
    generator = torch.Generator().manual_seed(seed)
    std = torch.tensor(list(found.values())).std().item() if found else 1.0 / math.sqrt(dim)
    matrix = torch.randn(len(vocab), dim, generator=generator) * std
    for word, vector in found.items():
        matrix[vocab.stoi[word]] = torch.tensor(vector)
    matrix[PAD_ID] = 0.0
    coverage = len(found) / max(1, len(vocab) - 2)
    return matrix, coverage
