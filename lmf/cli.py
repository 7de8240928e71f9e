"""`python -m lmf ...` (or `lmf ...`): train, compress, quantize, evaluate, classify, export and
autotune from the command line (the app's background jobs run with `python -m studio.jobs`).

Each subcommand is a few calls into the package and prints what a user decides by: accuracy and
size at every step. Deliberately not here: any logic the app or the sweep would also need.
"""
import argparse
import sys
import unicodedata
from pathlib import Path
from dataclasses import fields, replace

from .units import mb
from .artifacts import check_output, load_model, save_model
from .compress import compress_model, offline_model
from .data import default_vectors_path, load_dataset, load_vectors
from .errors import LmfError
from .tokenize import MAX_TOKENS, clip_text, tokenize, unknown_tokens
from .metrics import accuracy, classify, count_parameters, size_on_disk
from .models import KINDS, kind_arch, new_model
from .names import MODEL_KINDS
from .ngrams import DEFAULT_BUCKETS
from .quantize import quantize_model
from .train import TrainConfig, pick_device, recipe, retrain_recipe, train


def _add_data(p, required=True):
    p.add_argument("--data", required=required,
                   help="sst2, clinc150, or a directory with train/dev/test .tsv or .csv files")


def _add_training(p):
    g = p.add_argument_group("training (defaults: the model's tuned recipe)")
    g.add_argument("--epochs", type=float)
    g.add_argument("--max-steps", type=int)
    g.add_argument("--batch-size", type=int)
    g.add_argument("--optimizer", choices=["adam", "sgd", "adagrad"])
    g.add_argument("--schedule", choices=["calr", "clr", "constant"])
    g.add_argument("--lr-lb", type=float, help="lower bound of the CLR/CALR window")
    g.add_argument("--lr-ub", type=float, help="upper bound (the constant rate for 'constant')")
    g.add_argument("--decay", type=float, help="CALR: the upper bound is multiplied by exp(decay) each epoch")
    g.add_argument("--weight-decay", type=float, help="L2 weight")
    g.add_argument("--eval-every", type=int, help="evaluate on dev every N mini-batches")
    g.add_argument("--seed", type=int)
    g.add_argument("--device", help="auto (CUDA if present), cpu or cuda")
    g.add_argument("--quiet", action="store_true", help="no progress bar")


def _config(base, args):
    overrides = {f.name: getattr(args, f.name) for f in fields(TrainConfig)
                 if getattr(args, f.name, None) is not None}
    if "epochs" in overrides:
        overrides["min_steps"] = 0  # an explicit epoch count means exactly that many epochs
    return replace(base, **overrides)


def _report(label, model, data, path=None):
    size = f", {mb(size_on_disk(path))} on disk" if path else ""
    print(f"{label}: dev {accuracy(model, data, 'dev'):.4f}, test {accuracy(model, data, 'test'):.4f}, "
          f"{count_parameters(model):,} parameters{size}", flush=True)


def _load_data(args, saved=None):
    """The --data set; for a saved model, seen through that model's vocabulary and labels."""
    data = load_dataset(args.data)
    for note in data.notes:  # rows the loader skipped (empty texts): said, never silent
        print(f"note: {note}", file=sys.stderr)
    if saved is not None:
        data.seen_by(saved.vocab, saved.label_names, f"{args.data} (for the model in {saved.path})")
    return data


def cmd_train(args):
    check_output(args.out)  # before the data and the training, not after them
    data = _load_data(args)
    config = _config(recipe(args.model), args)
    vectors = None
    if kind_arch(args.model) == "lstm" and args.vectors != "none":
        vectors, coverage = load_vectors(args.vectors or default_vectors_path(), data.vocab)
        print(f"vectors: {vectors.shape[1]}-d, {coverage:.1%} of the vocabulary found")
    num_classes = len(data.label_names)
    ngrams = {"ngrams": args.ngrams, "buckets": args.buckets}
    if args.offline_reduction is not None:  # 0 is refused (offline_dim), not read as "not given"
        if args.ngrams or args.buckets or args.model != kind_arch(args.model):
            raise ValueError("--offline-reduction trains a plain DAN or LSTM: leave out --ngrams and --buckets")
        model = offline_model(args.model, len(data.vocab), num_classes, args.offline_reduction,
                              vectors, seed=config.seed)
    else:
        model = new_model(args.model, len(data.vocab), num_classes, vectors, seed=config.seed, **ngrams)
    extra = (f", {model.config['buckets']:,} buckets of {model.config['ngrams']}-grams"
             if model.config.get("ngrams") else "")
    print(f"{args.model} on {data.name}: {len(data.train):,} training examples, "
          f"vocabulary {len(data.vocab):,}{extra}, {num_classes} classes")
    result = train(model, data, config, progress=not args.quiet)
    save_model(args.out, result.model, data.vocab, data.label_names,
               {"dev_accuracy": result.best_dev, "test_accuracy": accuracy(result.model, data, "test")})
    _report(f"trained ({result.steps} steps, {result.seconds:.0f} s)", result.model, data, args.out)


def cmd_compress(args):
    check_output(args.out, keep=[args.model_dir])
    saved = load_model(args.model_dir)
    data = _load_data(args, saved)
    compressed = compress_model(saved.model, args.reduction)
    _report("original", saved.model, data, saved.path)
    _report(f"after SVD, R = {args.reduction:g} % (rank {compressed.config['rank']})", compressed, data)
    if not args.no_retrain:
        config = _config(retrain_recipe(saved.config["arch"]), args)
        compressed = train(compressed, data, config, progress=not args.quiet).model
    # The saved model's own vocabulary and labels: the ids it was trained with, whatever --data has.
    save_model(args.out, compressed, saved.vocab, saved.label_names,
               {"test_accuracy": accuracy(compressed, data, "test")}, keep=[args.model_dir])
    _report("retrained" if not args.no_retrain else "saved", compressed, data, args.out)


def cmd_quantize(args):
    check_output(args.out, keep=[args.model_dir])
    saved = load_model(args.model_dir)
    data = _load_data(args, saved)
    quantized = quantize_model(saved.model, args.bits)
    save_model(args.out, quantized, saved.vocab, saved.label_names,
               {"test_accuracy": accuracy(quantized, data, "test")}, keep=[args.model_dir])
    _report("original", saved.model, data, saved.path)
    _report(f"{args.bits}-bit", quantized, data, args.out)


def cmd_evaluate(args):
    saved = load_model(args.model_dir)
    data = _load_data(args, saved)
    _report(str(saved.path), saved.model, data, saved.path)


# Characters that end or break a line of output (newlines, tabs, other control characters, the
# Unicode line and paragraph separators) or cannot be printed (lone surrogates from undecodable
# arguments): an echoed text shows them escaped, so one text is one line of three tab-separated fields.
_BREAKING = {"Cc", "Cs", "Zl", "Zp"}


def one_line(text):
    """`text` with every character of _BREAKING written as its Python escape (a newline as \\n, a
    tab as \\t, ESC as \\x1b) and backslashes doubled, so the line reads back unambiguously."""
    return "".join(repr(c)[1:-1] if unicodedata.category(c) in _BREAKING or c == "\\" else c for c in text)


def cmd_classify(args):
    # A text with no token (empty, spaces, zero-width characters) has nothing to classify: the model
    # would answer with its prior, which reads like a prediction; lmf.runtime refuses it the same
    # way. Blank arguments are an error; blank stdin lines (a trailing newline, a paragraph break)
    # are skipped with a note, as long as some text remains.
    blank = [i for i, text in enumerate(args.text, 1) if not tokenize(text)]
    if blank:
        raise ValueError(f"classify: text {blank[0]} of {len(args.text)} is empty or only spaces; "
                         "give words to classify")
    texts = args.text or [line.rstrip("\r\n") for line in sys.stdin]
    if not args.text:
        lines, texts = len(texts), [text for text in texts if tokenize(text)]
        if texts and len(texts) < lines:
            print(f"note: skipped {lines - len(texts)} blank line(s) of stdin", file=sys.stderr)
    if not texts:
        raise ValueError("classify: no text given; pass texts as arguments or lines on stdin "
                         "(blank lines do not count)")
    saved = load_model(args.model_dir)
    clipped = [clip_text(text) for text in texts]  # before tokenizing: a huge line costs no more
    for text, clip in zip(texts, clipped):
        if len(unknown_tokens(clip, saved.vocab.stoi)) == len(set(tokenize(clip)[:MAX_TOKENS])):
            print(f"warning: no word of {text[:80]!r} is in the model's vocabulary; its label is a guess",
                  file=sys.stderr)
    for text, (label, prob) in zip(texts, classify(saved.model, saved.vocab, saved.label_names, clipped)):
        print(f"{one_line(label)}\t{prob:.3f}\t{one_line(text[:80])}")


def cmd_export(args):
    from .export import export_model  # onnx is only needed here
    precision = "int8" if args.int8 else "fp16" if args.fp16 else "fp32"
    out = export_model(args.model_dir, args.out, precision=precision)
    print(f"exported {args.model_dir} to {out} ({precision}): "
          f"{mb(size_on_disk(out))}")


def cmd_autotune(args):
    from .autotune import autotune, check_settings, parse_bytes  # onnx and the search load only here
    # Before the data is read: a bad setting is an error, not a run with a meaningless target.
    max_bytes = None if args.max_bytes is None else parse_bytes(args.max_bytes)
    check_settings(args.model, args.max_drop, args.budget_minutes, max_bytes, (args.r_min, args.r_max), args.jobs)
    summary = autotune(args.data, args.model, args.out, args.max_drop, base_from=args.base_from,
                       budget_minutes=args.budget_minutes, scheduler=args.scheduler, jobs=args.jobs,
                       quick=args.quick, r_range=(args.r_min, args.r_max), device=args.device or "auto",
                       progress=not args.quiet, vectors=args.vectors, max_bytes=max_bytes,
                       tune_base=not args.no_tune_base)
    print((Path(args.out) / "SUMMARY.md").read_text(encoding="utf-8"), end="")
    return summary


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m lmf", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a DAN or LSTM classifier and save it")
    _add_data(p)
    p.add_argument("--model", choices=list(KINDS), default="dan",
                   help="dan_ngram: a DAN reading hashed word bigrams too (--ngrams, --buckets change them)")
    p.add_argument("--vectors", help="GloVe-format file for the LSTM (default: the data folder's "
                   "glove.6B.100d subset; 'none' for random)")
    p.add_argument("--ngrams", type=int, help="DAN: also read hashed word n-grams of 2 to N tokens (fastText's wordNgrams)")
    p.add_argument("--buckets", type=int, help=f"DAN with n-grams: embedding rows they hash into "
                   f"(default {DEFAULT_BUCKETS:,})")
    p.add_argument("--offline-reduction", type=float,
                   help="baseline 2: train with an embedding already reduced by this percent")
    p.add_argument("--out", required=True, help="directory to save the model in: new, empty or a saved model")
    _add_training(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("compress", help="factorize a saved model's embedding (online LMF) and retrain")
    p.add_argument("model_dir")
    _add_data(p)
    p.add_argument("--reduction", type=float, required=True, help="R in percent, 0 < R < 100")
    p.add_argument("--no-retrain", action="store_true", help="save straight after the SVD")
    p.add_argument("--out", required=True)
    _add_training(p)
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("quantize", help="post-training 8- or 16-bit fixed-point quantization")
    p.add_argument("model_dir")
    _add_data(p)
    p.add_argument("--bits", type=int, choices=[8, 16], default=8)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_quantize)

    p = sub.add_parser("evaluate", help="dev and test accuracy, parameters and size of a saved model")
    p.add_argument("model_dir")
    _add_data(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("classify", help="label and probability for each text (arguments or stdin lines)")
    p.add_argument("model_dir")
    p.add_argument("text", nargs="*")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("export", help="write an ONNX model, tokenizer.json, words.zlib and manifest.json for lmf.runtime")
    p.add_argument("model_dir")
    p.add_argument("--out", required=True, help="directory to write (an existing one only if it is an export)")
    precision = p.add_mutually_exclusive_group()
    precision.add_argument("--int8", action="store_true", help="int8 weights (matrices per output channel, embedding tables per column); a DAN's large layer after a ReLU runs in integer arithmetic")
    precision.add_argument("--fp16", action="store_true", help="weights stored as float16 (fp32 arithmetic)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("autotune", help="the smallest deployable model within --max-drop points of the base on dev, "
                       "or the most accurate one of at most --max-bytes")
    _add_data(p)
    p.add_argument("--model", choices=list(MODEL_KINDS), default="dan")
    p.add_argument("--from", dest="base_from", help="a saved model to start from instead of training the base")
    p.add_argument("--vectors", help="GloVe-format file for the LSTM (default: the data folder's glove.6B.100d subset)")
    p.add_argument("--max-drop", type=float, default=1.0, help="accuracy points below the base allowed (dev)")
    p.add_argument("--max-bytes", help="ask instead for the most accurate model whose export is at most this size "
                   "(bytes, or 500kB, 0.5MB); --max-drop is then unused")
    p.add_argument("--budget-minutes", type=float, help="no trial starts after this (ends within it plus one trial)")
    p.add_argument("--out", required=True, help="a new or empty folder, or an earlier autotune's (resumed)")
    p.add_argument("--scheduler", help="'local' (a dask LocalCluster of --jobs workers) or a dask scheduler address")
    p.add_argument("--jobs", type=int, default=1, help="trials run at once on this machine (worker processes)")
    p.add_argument("--no-tune-base", action="store_true",
                   help="train the base with the model's recipe, as the sweep does, instead of choosing its learning "
                   "rate and width on dev; retrain without early stopping")
    p.add_argument("--r-min", type=int, default=50)
    p.add_argument("--r-max", type=int, default=99)
    p.add_argument("--quick", action="store_true", help="the sweep's quick sizes and step counts (tests)")
    p.add_argument("--device", help="auto (CUDA if present), cpu or cuda")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_autotune)

    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "device", None) is not None:
            pick_device(args.device)  # a bad --device fails before the data is read or a model trained
        args.func(args)
    # The project's own errors, and the OS's (an unwritable --out, an unreadable file): a message,
    # status 2, no traceback. Anything else is a bug and keeps its traceback.
    except (LmfError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
