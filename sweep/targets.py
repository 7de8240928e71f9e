"""The project's pass/fail targets, checked against the summary: [(description, measured, met)].

`core_targets` are the paper-grid goals (SST-2 and CLINC150 only: they name those data sets);
`deployment_targets` are the deployable models' (ONNX Runtime) goals: one of ours beating
fastText.zip on bytes, accuracy and batch-1 latency at once, LMF R = 90 against 8-bit at batch 1
(the paper's claim that LMF adds no latency over fixed point), and int8 no slower than fp32;
`extension_targets` compare the methods beyond the paper at matched bytes: "X >= LMF" takes the
LMF row nearest X's size (not the same nominal R, which for GroupReduce and HMF means a different
number of bytes), and "smaller and more accurate than fastText" counts only when the accuracy gap
is larger than the seed-to-seed spread of both.

Standard library only. Deliberately not here: laying out tables (sweep.tables) or reading files.
"""
from lmf.units import in_percent, mb, percent, points
from lmf.names import dataset_name, model_name
from lmf.methods import METHODS, method_label
from lmf.results import find, nearest_bytes


def _pair(summary, dataset, model):
    return [r for r in summary if r["dataset"] == dataset and r["model"] == model]


def _mb(row):
    return mb(row["size_bytes"], 3)


def _acc(row):
    """A row's accuracy in percent without the sign, as the measured column prints it."""
    return f"{in_percent(row['accuracy']):.2f}"


def core_targets(summary):
    checks = []
    for model, floor in (("dan", 0.835), ("lstm", 0.85)):
        u = find(_pair(summary, "sst2", model), "uncompressed")
        if u is not None:
            checks.append((f"SST-2 {model_name(model)} uncompressed >= {percent(floor, 1)}", f"{_acc(u)}",
                           u["accuracy"] >= floor))
    for ds, slack in (("sst2", 0.01), ("clinc150", 0.015)):
        for model in ("dan", "lstm"):
            rows = _pair(summary, ds, model)
            u, l90 = find(rows, "uncompressed"), find(rows, "lmf", 90)
            if u is not None and l90 is not None:
                checks.append((f"{dataset_name(ds)} {model_name(model)} LMF R=90 within {points(slack, 1, sign=False)} of uncompressed",
                               f"{_acc(l90)} vs {_acc(u)}", u["accuracy"] - l90["accuracy"] <= slack))
    for model in ("dan", "lstm"):
        rows = _pair(summary, "sst2", model)
        for r in (50, 90):
            lmf, off = find(rows, "lmf", r), find(rows, "offline_svd", r)
            if lmf is not None and off is not None:
                checks.append((f"SST-2 {model_name(model)} LMF >= offline SVD at R={r}",
                               f"{_acc(lmf)} vs {_acc(off)}", lmf["accuracy"] >= off["accuracy"]))
    for model in ("dan", "lstm"):
        u = find(_pair(summary, "clinc150", model), "uncompressed")
        if u is not None:
            checks.append((f"CLINC150 {model_name(model)} uncompressed >= 88.0 %", f"{_acc(u)}", u["accuracy"] >= 0.88))
    return checks


def clear_margin(a, b):
    """a's accuracy above b's by more than the larger of their seed spreads (0 for one seed)."""
    spread = max(a["accuracy_std"] or 0.0, b["accuracy_std"] or 0.0)
    return a["accuracy"] - b["accuracy"] > spread


def extension_targets(summary, slack=0.01, share=1 / 20):
    """(a) one of our models at <= `share` of the fp32 uncompressed DAN's bytes within `slack`
    (a fraction: 0.01 is one point) of it; (b) GroupReduce and HMF at R >= 90 at least as accurate as the LMF model nearest
    their size; (c) for every fastText / fastText.zip row, one of ours smaller and more accurate
    by more than the seed spread."""
    checks = []
    for ds in dict.fromkeys(r["dataset"] for r in summary):
        name = dataset_name(ds)
        rows = [r for r in summary if r["dataset"] == ds]
        mine = [r for r in rows if r["model"] != "fasttext"]
        dan = find(_pair(summary, ds, "dan"), "uncompressed")
        if dan is not None:
            small = [r for r in mine if r["size_bytes"] <= dan["size_bytes"] * share]
            ok = [r for r in small if r["accuracy"] >= dan["accuracy"] - slack]
            best = sorted(ok or small, key=lambda r: (-r["accuracy"], r["size_bytes"]))
            if not best:
                measured = f"no model of ours at <= {mb(dan['size_bytes'] * share, 3)}"
            else:
                b = best[0]
                measured = (f"{model_name(b['model'])} {method_label(b['method'])} R={b['embedding_reduction_pct']}: "
                            f"{_mb(b)} ({100 * b['size_bytes'] / dan['size_bytes']:.1f} %), "
                            f"{_acc(b)} vs {_acc(dan)}")
            checks.append((f"{name}: a model <= 1/{round(1 / share)} of the fp32 DAN bytes within {points(slack, 1, sign=False)} "
                           "of the uncompressed DAN", measured, bool(ok)))
        for model in dict.fromkeys(r["model"] for r in mine):
            pair = _pair(summary, ds, model)
            for method in ("groupreduce", "hmf"):
                for row in (r for r in pair if r["method"] == method and r["embedding_reduction_pct"] >= 90):
                    lmf = nearest_bytes(pair, "lmf", row["size_bytes"])
                    if lmf is not None:
                        checks.append((
                            f"{name} {model_name(model)} {method_label(method)} R={row['embedding_reduction_pct']} "
                            f">= LMF at the nearest size",
                            f"{_acc(row)} at {_mb(row)} vs LMF R={lmf['embedding_reduction_pct']} "
                            f"{_acc(lmf)} at {_mb(lmf)}", row["accuracy"] >= lmf["accuracy"]))
        for ft in (r for r in rows if r["model"] == "fasttext"):
            better = sorted((r for r in mine if r["size_bytes"] < ft["size_bytes"] and clear_margin(r, ft)),
                            key=lambda r: r["size_bytes"])
            if not better:
                measured = f"none (fastText: {_mb(ft)}, {_acc(ft)})"
            else:
                b = better[0]
                measured = (f"{model_name(b['model'])} {method_label(b['method'])} R={b['embedding_reduction_pct']}: "
                            f"{_mb(b)}, {_acc(b)} vs {_mb(ft)}, {_acc(ft)}")
            checks.append((f"{name}: one of ours smaller and more accurate (beyond the seed spread) than "
                           f"{method_label(ft['method'])}", measured, bool(better)))
    return checks


def _ms(row):
    return f"{row['latency_ms_b1']:.3f} ms"


def deployment_targets(summary):
    """Latency is each export's on ONNX Runtime, end to end at batch 1 (lmf.latency), from the
    sweep's latency cells. LMF against 8-bit compares two rows timed in the same cell (the core
    grid's); an int8 stack against its fp32 model compares their ratios to the uncompressed model
    timed in each one's own cell (the stacks are timed in the extension cell); fastText.zip is
    timed in the extension cell, beside the DAN's extension models and the uncompressed DAN, and
    against the core grid's rows its median is compared with theirs as measured."""
    checks = []
    for ds in dict.fromkeys(r["dataset"] for r in summary):
        rows = [r for r in summary if r["dataset"] == ds]
        name = dataset_name(ds)
        ftz = find([r for r in rows if r["model"] == "fasttext"], "fasttext_ftz")
        mine = [r for r in rows if r["model"] != "fasttext" and r["latency_ms_b1"] is not None]
        if ftz is not None and ftz["latency_ms_b1"] is not None and mine:
            wins = [r for r in mine if r["size_bytes"] < ftz["size_bytes"] and clear_margin(r, ftz)
                    and r["latency_ms_b1"] <= ftz["latency_ms_b1"]]
            smaller_better = sorted((r for r in mine if r["size_bytes"] < ftz["size_bytes"] and clear_margin(r, ftz)),
                                    key=lambda r: r["latency_ms_b1"])
            best = (wins or smaller_better or sorted(mine, key=lambda r: r["size_bytes"]))[0]
            checks.append((f"{name}: one of ours smaller, more accurate and no slower at batch 1 than fastText.zip",
                           f"{model_name(best['model'])} {method_label(best['method'])} R={best['embedding_reduction_pct']}: "
                           f"{_mb(best)}, {percent(best['accuracy'])}, {_ms(best)} vs {_mb(ftz)}, {percent(ftz['accuracy'])}, "
                           f"{_ms(ftz)}", bool(wins)))
        for model in dict.fromkeys(r["model"] for r in mine):
            pair = _pair(summary, ds, model)
            lmf, q8 = find(pair, "lmf", 90), find(pair, "quant8")
            if lmf and q8 and lmf["latency_ms_b1"] is not None and q8["latency_ms_b1"] is not None:
                checks.append((f"{name} {model_name(model)}: LMF R=90 (fp32) no slower than 8-bit (int8) at batch 1, "
                               "the paper's claim", f"{_ms(lmf)} vs {_ms(q8)} "
                               f"({lmf['latency_ms_b1'] / q8['latency_ms_b1']:.2f}x)",
                               lmf["latency_ms_b1"] <= q8["latency_ms_b1"]))
            pairs_int8 = [(find(pair, "uncompressed"), q8)] + [
                (find(pair, m.stacks_on, r["embedding_reduction_pct"]), r) for r in pair
                for m in [METHODS.get(r["method"])] if m is not None and m.stacks_on]
            ratios = [(fp32, int8) for fp32, int8 in pairs_int8 if fp32 and int8 and fp32["latency_ratio_b1"]
                      and int8["latency_ratio_b1"]]
            if ratios:
                slower = [(a, b) for a, b in ratios if b["latency_ratio_b1"] > a["latency_ratio_b1"]]
                text = ", ".join(f"{method_label(b['method'])}"
                                 f"{' R=%d' % b['embedding_reduction_pct'] if b['embedding_reduction_pct'] else ''} "
                                 f"{b['latency_ratio_b1'] / a['latency_ratio_b1']:.2f}x" for a, b in ratios)
                checks.append((f"{name} {model_name(model)}: int8 no slower than its fp32 model on ONNX Runtime",
                               text, not slower))
    return checks
