"""fastText and fastText.zip baselines (Joulin et al. 2016) through the `fasttext` PyPI package.

Same splits and tokens as our models: every text is lmf.tokenize.tokenize(text)[:MAX_TOKENS] joined by
spaces, every label `__label__<id>`. `train_fasttext` trains a supervised model and saves
`model.bin`; `quantize_fasttext` loads it, quantizes it (product quantization, qnorm=True,
retrain=True, `cutoff` most important words/n-grams kept) and saves `model.ftz`. Both are saved
through lmf.atomic.write_atomic (a temporary name, then a rename). Sizes are the files' bytes.
fastText runs in a fresh process (see _FRESH), on one thread with a fixed seed, so a run is repeatable.

Settings: 100 dimensions, word bigrams hashed into 100,000 buckets, softmax loss; the epochs and
learning rate are picked on the dev set (`tune_fasttext`, TUNING_GRID: 10 epochs at lr 0.5 left
CLINC150's 150 intents at 46-48 % dev accuracy, 25 epochs reach 84-86 %), as a user tuning the
peer tool would. Quantization keeps 20,000 rows (cutoff) so that the .ftz really shrinks, and
retrains with the model's own epochs and rate.

Deliberately not here: the sweep's bookkeeping (sweep.runner). `fasttext` is imported lazily.
"""
from pathlib import Path

import numpy as np

from lmf.atomic import write_atomic
from lmf.tokenize import MAX_TOKENS, tokenize

SETTINGS = {"dim": 100, "wordNgrams": 2, "bucket": 100_000, "epoch": 10, "lr": 0.5, "loss": "softmax",
            "minCount": 1, "thread": 1, "verbose": 0}
CUTOFF = 20_000
TUNING_GRID = {"epoch": (10, 25, 50), "lr": (0.1, 0.5, 1.0)}
LABEL = "__label__"


def _fasttext():
    try:
        import fasttext
    except ImportError as e:
        raise ImportError("the fastText baseline needs the `fasttext` package: pip install fasttext") from e
    return fasttext


def line_text(text):
    return " ".join(tokenize(text)[:MAX_TOKENS])


def write_split(path, split):
    """A fastText training file: `__label__<id> tokens...` per example."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{LABEL}{y} {line_text(t)}\n" for t, y in zip(split.texts, split.labels)),
                    encoding="utf-8")
    return path


def _checked(model, train_file):
    """`model`, once it is known to predict every training line and to hold no NaN weight (where
    fastText exposes them: not for a quantized model); RuntimeError("... NaN ...") otherwise."""
    if not model.is_quantized() and any(np.isnan(m).any() for m in (model.get_input_matrix(), model.get_output_matrix())):
        raise RuntimeError("Encountered NaN in the trained weights")
    with open(train_file, encoding="utf-8") as f:
        texts = [line.split(" ", 1)[1].strip() if " " in line else "" for line in f]
    model.predict(texts or [""], k=1)
    return model


# Every fastText training and quantization runs in a new Python process. fasttext 0.9.3 on small
# data now and then yields a model whose predictions raise "Encountered NaN", and once that has
# happened in a process (or after torch has run in it) it keeps happening there: 8 of 8 fresh
# processes trained and quantized the quick sweep's data cleanly, while one long-lived process
# failed every call after its first NaN. A fresh process also makes a seed's model repeatable.
_FRESH = """import fasttext, json, sys
a = json.loads(sys.argv[1])
lines = [l.split(' ', 1)[-1].strip() for l in open(a['input'], encoding='utf-8')]
if a['op'] == 'train':
    m = fasttext.train_supervised(input=a['input'], seed=a['seed'], **a['options'])
else:
    m = fasttext.load_model(a['bin'])
    m.quantize(input=a['input'], **a['options'])
m.predict(lines, k=1)  # a NaN model raises here and the parent tries again
m.save_model(a['out'])
"""


def _in_fresh_process(args, path, train_file, attempts=3):
    """Run _FRESH with `args` in a new process writing `path` (atomically), up to `attempts`
    times; returns the model loaded from `path` and checked in this process."""
    import json
    import subprocess
    import sys
    for _ in range(attempts):
        proc = None

        def run(tmp):
            nonlocal proc
            proc = subprocess.run([sys.executable, "-c", _FRESH, json.dumps({**args, "out": str(tmp)})],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr[-500:])
        try:
            write_atomic(path, run)
            return _checked(_fasttext().load_model(str(path)), train_file)
        except RuntimeError as e:
            error = e
    raise RuntimeError(f"fastText failed {attempts} times in fresh processes: {error}")


def train_fasttext(data, out_dir, seed=0, **overrides):
    """Train on data.train; writes out_dir/train.txt and out_dir/model.bin; returns the model."""
    out_dir = Path(out_dir)
    train_file = write_split(out_dir / "train.txt", data.train)
    args = {"op": "train", "input": str(train_file), "seed": seed, "options": {**SETTINGS, **overrides}}
    return _in_fresh_process(args, out_dir / "model.bin", train_file)


def tune_fasttext(data, out_dir, seed=0, grid=TUNING_GRID, **overrides):
    """Train with every (epoch, lr) of `grid`, keep the model with the best dev accuracy (ties: the
    first, i.e. the cheaper); returns (model, {"epoch", "lr", "dev_accuracy", "tried"}). Test data is
    never looked at. The kept model is out_dir/model.bin."""
    best, tried = None, []
    for epoch in grid["epoch"]:
        for lr in grid["lr"]:
            model = train_fasttext(data, out_dir, seed=seed, **{**overrides, "epoch": epoch, "lr": lr})
            dev = fasttext_accuracy(model, data, "dev")
            tried.append({"epoch": epoch, "lr": lr, "dev_accuracy": dev})
            if best is None or dev > best[1]["dev_accuracy"]:
                best = (model, {"epoch": epoch, "lr": lr, "dev_accuracy": dev})
    model, chosen = best
    write_atomic(Path(out_dir) / "model.bin", model.save_model)  # the last trained one may not be the best
    return model, {**chosen, "tried": tried}


def quantize_fasttext(bin_path, data, out_dir, cutoff=CUTOFF, seed=0, lr=None, epoch=None):
    """fastText.zip: load model.bin, quantize (qnorm, retrain on data.train for `epoch` epochs at
    `lr`, the model's training settings; `cutoff` rows), save out_dir/model.ftz; returns the
    quantized model. The cutoff is capped at the model's row count."""
    fasttext = _fasttext()
    out_dir = Path(out_dir)
    train_file = write_split(out_dir / "train.txt", data.train)

    rows = fasttext.load_model(str(bin_path)).get_input_matrix().shape[0]
    options = {"qnorm": True, "retrain": True, "cutoff": min(cutoff, rows), "thread": 1,
               "epoch": epoch or SETTINGS["epoch"], "lr": lr or SETTINGS["lr"], "verbose": 0}
    args = {"op": "quantize", "bin": str(bin_path), "input": str(train_file), "options": options}
    return _in_fresh_process(args, out_dir / "model.ftz", train_file)


def load_fasttext(path):
    return _fasttext().load_model(str(path))


def predict_labels(model, texts):
    labels, _ = model.predict([line_text(t) for t in texts], k=1)
    return [int(l[0][len(LABEL):]) for l in labels]


def fasttext_accuracy(model, data, split="test"):
    from lmf.metrics import fraction_correct  # lmf's one accuracy; torch loads only where it is measured
    part = getattr(data, split)
    return fraction_correct(predict_labels(model, part.texts), part.labels)


def fasttext_contestant(model_path):
    """A fastText model (model.bin or model.ftz): texts -> [label id]."""
    model = load_fasttext(model_path)
    return lambda texts: predict_labels(model, texts)
