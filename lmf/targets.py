"""The project's pass/fail targets, checked against the summary: [(description, measured, met)].

`core_targets` are the paper-grid goals (SST-2 and CLINC150 only: they name those data sets);
`extension_targets` compare the methods beyond the paper at matched bytes: "X >= LMF" takes the
LMF row nearest X's size (not the same nominal R, which for GroupReduce and HMF means a different
number of bytes), and "smaller and more accurate than fastText" counts only when the accuracy gap
is larger than the seed-to-seed spread of both.

Standard library only. Deliberately not here: laying out tables (lmf.tables) or reading files.
"""
from .grid import dataset_name, model_name
from .methods import method_label
from .results import find, nearest_bytes


def _pair(summary, dataset, model):
    return [r for r in summary if r["dataset"] == dataset and r["model"] == model]


def _mb(row):
    return f"{row['size_bytes'] / 1e6:.3f} MB"


def core_targets(summary):
    checks = []
    for model, floor in (("dan", 83.5), ("lstm", 85.0)):
        u = find(_pair(summary, "sst2", model), "uncompressed")
        if u is not None:
            checks.append((f"SST-2 {model_name(model)} uncompressed >= {floor}", f"{u['accuracy']:.2f}",
                           u["accuracy"] >= floor))
    for ds, slack in (("sst2", 1.0), ("clinc150", 1.5)):
        for model in ("dan", "lstm"):
            rows = _pair(summary, ds, model)
            u, l90 = find(rows, "uncompressed"), find(rows, "lmf", 90)
            if u is not None and l90 is not None:
                checks.append((f"{dataset_name(ds)} {model_name(model)} LMF R=90 within {slack} of uncompressed",
                               f"{l90['accuracy']:.2f} vs {u['accuracy']:.2f}", u["accuracy"] - l90["accuracy"] <= slack))
    for model in ("dan", "lstm"):
        rows = _pair(summary, "sst2", model)
        for r in (50, 90):
            lmf, off = find(rows, "lmf", r), find(rows, "offline_svd", r)
            if lmf is not None and off is not None:
                checks.append((f"SST-2 {model_name(model)} LMF >= offline SVD at R={r}",
                               f"{lmf['accuracy']:.2f} vs {off['accuracy']:.2f}", lmf["accuracy"] >= off["accuracy"]))
    for model in ("dan", "lstm"):
        u = find(_pair(summary, "clinc150", model), "uncompressed")
        if u is not None:
            checks.append((f"CLINC150 {model_name(model)} uncompressed >= 88", f"{u['accuracy']:.2f}", u["accuracy"] >= 88))
    return checks


def clear_margin(a, b):
    """a's accuracy above b's by more than the larger of their seed spreads (0 for one seed)."""
    spread = max(a["accuracy_std"] or 0.0, b["accuracy_std"] or 0.0)
    return a["accuracy"] - b["accuracy"] > spread


def extension_targets(summary, slack=1.0, share=1 / 20):
    """(a) one of our models at <= `share` of the fp32 uncompressed DAN's bytes within `slack`
    points of it; (b) GroupReduce and HMF at R >= 90 at least as accurate as the LMF model nearest
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
                measured = f"no model of ours at <= {dan['size_bytes'] * share / 1e6:.3f} MB"
            else:
                b = best[0]
                measured = (f"{model_name(b['model'])} {method_label(b['method'])} R={b['embedding_reduction_pct']}: "
                            f"{_mb(b)} ({100 * b['size_bytes'] / dan['size_bytes']:.1f} %), "
                            f"{b['accuracy']:.2f} vs {dan['accuracy']:.2f}")
            checks.append((f"{name}: a model <= 1/{round(1 / share)} of the fp32 DAN bytes within {slack} point "
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
                            f"{row['accuracy']:.2f} at {_mb(row)} vs LMF R={lmf['embedding_reduction_pct']} "
                            f"{lmf['accuracy']:.2f} at {_mb(lmf)}", row["accuracy"] >= lmf["accuracy"]))
        for ft in (r for r in rows if r["model"] == "fasttext"):
            better = sorted((r for r in mine if r["size_bytes"] < ft["size_bytes"] and clear_margin(r, ft)),
                            key=lambda r: r["size_bytes"])
            if not better:
                measured = f"none (fastText: {_mb(ft)}, {ft['accuracy']:.2f})"
            else:
                b = better[0]
                measured = (f"{model_name(b['model'])} {method_label(b['method'])} R={b['embedding_reduction_pct']}: "
                            f"{_mb(b)}, {b['accuracy']:.2f} vs {_mb(ft)}, {ft['accuracy']:.2f}")
            checks.append((f"{name}: one of ours smaller and more accurate (beyond the seed spread) than "
                           f"{method_label(ft['method'])}", measured, bool(better)))
    return checks
