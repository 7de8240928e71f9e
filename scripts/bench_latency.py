"""The deployed models' speed as a user gets it, and the export issue's targets checked: on the SST-2
and CLINC150 test sentences, one thread, every contestant interleaved in one run
(lmf.latency.measure), batch 1 and batch 256.

    LMF_DATA_DIR=/path/to/shared/data python scripts/bench_latency.py [--artifacts DIR] [--work DIR]
        [--n 300] [--repeats 3] [--json out.json]
    LMF_DATA_DIR=/path/to/shared/data python scripts/bench_latency.py --tokenizer   # tokenizer us only

Contestants per data set: the model the home page recommends for the DAN at the default
tolerance (lmf.selection.recommend over results.csv's model_summary, as studio/pages/home.py
calls it), the DAN's uncompressed export, LMF R = 90 and 8-bit, each exported on the fly from the
saved model artifacts/ ships (studio.deploy.source_of: the model and precision a download is
made from, by the current lmf.export; without the sha256 check, so that artifacts made by an
earlier exporter still run), and fastText.zip: the sweep's fasttext_ftz seed-0 model.ftz under
--work (or artifacts/models, if one ships it), else one trained here with fixed settings (SST-2 10
epochs at lr 0.5, CLINC150 25 epochs at lr 0.5, fasttext_baseline's notes; 9 trainings for the
sweep's dev grid are too many for a benchmark).

Columns (median at batch 1 over the first --n test sentences, us): tokenizer (Predictor.encode),
session (the ONNX Runtime session on those ids: Predictor.logits' run) and end to end
(Predictor.predict on a list of one text, what a user calls); then sentences per second with
Predictor.predict on lists of 256 texts (batched end to end). fastText is end to end only.
The three views of an export are three contestants of the same interleaved run, not a separate
benchmark path. Targets: recommended / fastText.zip at batch 1 <= 1.0, DAN LMF R = 90 / 8-bit at
batch 1 <= 1.0, SST-2 recommended throughput >= 50,000/s, SST-2 tokenizer <= 3 us.
"""
import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lmf.data import load_dataset
from lmf.export import export_model
from lmf.latency import measure, predictor_contestant
from lmf.atomic import write_text_atomic
from lmf.layout import ROOT, ArtifactError, artifacts_dir, check_script_paths
from lmf.methods import Cell, method_label
from lmf.metrics import size_on_disk
from lmf.names import DATASETS, DEFAULT_MODEL, DEFAULT_TOLERANCE
from lmf.results import find, read_results
from lmf.runtime import Predictor
from lmf.selection import model_summary, recommend
from lmf.tokenize import Encoder, encode, tokenize
from studio.deploy import source_of
from sweep.fasttext_baseline import fasttext_contestant

FASTTEXT = {"sst2": {"epoch": 10, "lr": 0.5}, "clinc150": {"epoch": 25, "lr": 0.5}}
FIXED = {"uncompressed": ("uncompressed", 0), "LMF R=90": ("lmf", 90), "8-bit": ("quant8", 0)}
TARGET_THROUGHPUT, TARGET_TOKENIZER_US = 50_000, 3.0


def train_fasttext_models(name, out_dir):
    """model.bin and model.ftz in `out_dir`, made in a fresh process: a second dataset's fastText
    trained in the same process as the first came out at chance (CLINC150: 1.9 % test accuracy,
    84 % alone), the process-sticky state fasttext_baseline._FRESH describes."""
    code = ("import sys; from lmf.data import load_dataset; from sweep.fasttext_baseline import *; "
            "d = load_dataset(sys.argv[1]); kw = dict(epoch=int(sys.argv[3]), lr=float(sys.argv[4])); "
            "train_fasttext(d, sys.argv[2], **kw); quantize_fasttext(sys.argv[2] + '/model.bin', d, sys.argv[2], **kw)")
    subprocess.run([sys.executable, "-c", code, name, str(out_dir), str(FASTTEXT[name]["epoch"]),
                    str(FASTTEXT[name]["lr"])], check=True, capture_output=True)


def fasttext_zip(name, work, directory, tmp):
    """(path of the fastText.zip model, where it comes from): the sweep's seed-0 model.ftz under
    `work` or `directory`/models, else one trained here in `tmp` (train_fasttext_models)."""
    cell = Cell(name, "fasttext", "fasttext_ftz").id
    for root in [Path(work) / "models"] * bool(work) + [Path(directory) / "models"]:
        if (root / cell / "model.ftz").is_file():
            return root / cell / "model.ftz", f"the sweep's, {root / cell}"
    print(f"{name}: training fastText (no sweep model under --work)", file=sys.stderr, flush=True)
    train_fasttext_models(name, tmp / f"{name}-fasttext")
    return tmp / f"{name}-fasttext" / "model.ftz", "trained here with fixed settings (no sweep model under --work)"


def export_of(directory, row, out):
    """The row's deployable export, made now from the saved model artifacts/ ships."""
    source, precision = source_of(directory, row)
    return export_model(source, out, precision=precision)


def export_contestants(name, predictor):
    """`name` end to end, and its tokenizer and session alone, as measure() contestants. The
    session contestant is Predictor's own run (one batch, padded as Predictor pads it) on ids
    encoded beforehand."""
    encoded = {}

    def session(texts):
        return predictor._logits([encoded[text] for text in texts], len(texts))
    return encoded, {name: predictor_contestant(predictor), f"{name} [tokenizer]": predictor.encode,
                     f"{name} [session]": session}


def bench_dataset(name, directory, work, tmp, n_single, repeats, model=DEFAULT_MODEL):
    data = load_dataset(name)
    texts = [t for t in data.test.texts if tokenize(t)]  # what Predictor refuses, none of them do
    summary = model_summary(read_results(directory), name, model)
    best = recommend(summary, DEFAULT_TOLERANCE)
    chosen = {"recommended": best.row["row"]}
    for label, (method, reduction) in FIXED.items():
        found = find(summary, method, reduction or None)
        if found is not None and found["row"] is not None:
            chosen[label] = found["row"]
    contestants, info = {}, {}
    for label, row in chosen.items():
        print(f"{name}: exporting {label}", file=sys.stderr, flush=True)
        cell = Cell.of_row(row)
        out = export_of(directory, row, tmp / f"{name}-{label.replace(' ', '_')}")
        predictor = Predictor(out, threads=1)
        encoded, views = export_contestants(label, predictor)
        encoded.update(zip(texts, predictor.encode(texts)))
        contestants.update(views)
        info[label] = {"model": f"{cell.id} ({method_label(row['method'])}, {predictor.manifest['precision']})",
                       "bytes": size_on_disk(out)}
    ftz, where = fasttext_zip(name, work, directory, tmp)
    contestants["fastText.zip"] = fasttext_contestant(ftz)
    info["fastText.zip"] = {"model": where, "bytes": ftz.stat().st_size}
    print(f"{name}: timing {len(contestants)} contestants", file=sys.stderr, flush=True)
    timing = measure(contestants, texts, n_single=n_single, repeats=repeats)
    rows = []
    for label, about in info.items():
        us = lambda view: timing[view]["latency_ms_b1"] * 1000 if view in timing else None  # noqa: E731
        rows.append({"dataset": name, "contestant": label, **about, "tokenizer_us": us(f"{label} [tokenizer]"),
                     "session_us": us(f"{label} [session]"), "end_to_end_us": us(label),
                     "throughput_b256": timing[label]["throughput_b256"]})
    return rows


def checks_of(rows):
    """(text, ok) of each target, ok None for a number shown for information."""
    by = {(r["dataset"], r["contestant"]): r for r in rows}
    checks = []
    for name in dict.fromkeys(r["dataset"] for r in rows):
        rec, ftz = by[(name, "recommended")], by[(name, "fastText.zip")]
        ratio = rec["end_to_end_us"] / ftz["end_to_end_us"]
        checks.append((f"{name}: recommended {rec['model']} / fastText.zip at batch 1 = {ratio:.2f} (target <= 1.0)",
                       ratio <= 1.0))
        if (name, "LMF R=90") in by and (name, "8-bit") in by:
            ratio = by[(name, "LMF R=90")]["end_to_end_us"] / by[(name, "8-bit")]["end_to_end_us"]
            checks.append((f"{name}: DAN LMF R=90 / 8-bit at batch 1 = {ratio:.2f} (target <= 1.0)", ratio <= 1.0))
        rate = rec["throughput_b256"]
        checks.append((f"{name}: recommended throughput at batch 256 = {rate:,.0f} sentences/s"
                       + (f" (target >= {TARGET_THROUGHPUT:,})" if name == "sst2" else ""),
                       rate >= TARGET_THROUGHPUT if name == "sst2" else None))
        checks.append((f"{name}: tokenizer {rec['tokenizer_us']:.2f} us per sentence at batch 1"
                       + (f" (target <= {TARGET_TOKENIZER_US:g})" if name == "sst2" else ""),
                       rec["tokenizer_us"] <= TARGET_TOKENIZER_US if name == "sst2" else None))
    return checks


def tokenizer_us(texts, stoi, rounds=40):
    """us per text of str.split + one dict lookup per word (the floor), lmf.tokenize.encode, and
    lmf.tokenize.Encoder.encode (the runtime's; cache warm): the best of `rounds` passes over all
    `texts`, the three taking turns, so that a shared machine's busy moments drop out."""
    get, encoder = stoi.get, Encoder(stoi)
    ways = {"split+dict": lambda text: [get(w, 1) for w in text.split()],
            "encode()": lambda text: encode(text, stoi), "Encoder": encoder.encode}
    best = dict.fromkeys(ways, float("inf"))
    for _ in range(rounds):
        for name, way in ways.items():
            start = time.perf_counter()
            for text in texts:
                way(text)
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: seconds / len(texts) * 1e6 for name, seconds in best.items()}


def print_tokenizer_us():
    """Each data set's test sentences, and SST-2's as typed (punctuation and clitics attached to the
    word before: "it's a film, isn't it?", many pieces of several tokens)."""
    for name in DATASETS:
        data = load_dataset(name)
        sets = {name: data.test.texts}
        if name == "sst2":
            sets["sst2 typed"] = [re.sub(r" (n't|'s|'re|'ve|'m|'ll|'d|[.,!?;:])", r"\1", t) for t in data.test.texts]
        for label, texts in sets.items():
            us = tokenizer_us(texts, data.vocab.stoi)
            print(f"tokenizer us/text {label:11} " + "  ".join(f"{k} {v:.2f}" for k, v in us.items())
                  + f"  (Encoder {us['Encoder'] / us['split+dict']:.2f}x split+dict)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", default=None, help="the artifacts folder (default: lmf's, LMF_ARTIFACTS_DIR)")
    parser.add_argument("--work", default=str(ROOT / "runs" / "sweep"),
                        help="the sweep's --work, for its fastText.zip models (default runs/sweep)")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--n", type=int, default=300, help="test sentences timed at batch 1")
    parser.add_argument("--repeats", type=int, default=3, help="passes at batch 256 (the median is reported)")
    parser.add_argument("--json", help="also write the table and checks here")
    parser.add_argument("--tokenizer", action="store_true", help="only time the tokenizer (us per text)")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"--n {args.n}: time at least 1 sentence")
    check_script_paths(parser, args.artifacts, args.json)  # said now, not after minutes of timing
    if args.tokenizer:
        print_tokenizer_us()
        return 0
    directory = Path(args.artifacts) if args.artifacts else artifacts_dir()
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name in args.datasets:
                rows += bench_dataset(name, directory, args.work, Path(tmp), args.n, max(1, args.repeats))
    except ArtifactError as e:  # no artifacts folder, or one without what is timed: its message, one line
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{'dataset':9} {'contestant':13} {'MB':>7} {'tok us':>7} {'sess us':>8} {'e2e us':>8} {'b256 /s':>9}  model")
    blank = lambda v, f: format(v, f) if v is not None else "-"  # noqa: E731
    for r in rows:
        print(f"{r['dataset']:9} {r['contestant']:13} {r['bytes'] / 1e6:7.3f} {blank(r['tokenizer_us'], '7.2f'):>7} "
              f"{blank(r['session_us'], '8.1f'):>8} {r['end_to_end_us']:8.1f} {r['throughput_b256']:9,.0f}  {r['model']}")
    print()
    checks = checks_of(rows)
    for text, ok in checks:
        print(f"[{'ok' if ok else 'MISS' if ok is False else '--'}] {text}")
    if args.json:
        write_text_atomic(args.json, json.dumps({"rows": rows, "checks": [{"check": t, "ok": ok} for t, ok in checks]},
                                                indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
