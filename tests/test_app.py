"""The Streamlit app through streamlit.testing.v1.AppTest: every page, switching dataset AND model in
the sidebar, and what each page then shows.

AppTest.from_file(app.py) runs the st.navigation router; switch_page opens the other pages, and the
sidebar's selectors (drawn by the router) are set with at.sidebar.selectbox. Artifacts are the quick
sweep's for SST-2 and CLINC150 with DAN and LSTM (tests/app_fixtures.py). Expected numbers are read
here from results.csv, schedules.csv and meta.json with the csv and json modules, not with the lmf
functions the pages call.
"""
import csv
import json
import math
import shutil
import tomllib
from pathlib import Path

import pytest
from streamlit.proto.Metric_pb2 import Metric as MetricProto
from streamlit.testing.v1 import AppTest

from app_fixtures import APP, PAGES, ROOT, broken_artifacts, quick_artifacts  # noqa: F401  (fixtures)
from lmf.layout import REGENERATE

TIMEOUT = 120
HOME, RETRAIN, SCHEDULES, PLAYGROUND, ANALYSIS, YOUR_DATA = PAGES
PAIRS = [("sst2", "dan"), ("clinc150", "lstm"), ("sst2", "lstm"), ("clinc150", "dan")]
GRAY = MetricProto.MetricColor.GRAY


@pytest.fixture
def app(quick_artifacts, monkeypatch):
    monkeypatch.setenv("LMF_ARTIFACTS_DIR", str(quick_artifacts))
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT)


def no_exception(at):
    assert not at.exception, [e.value for e in at.exception]


def cards(at):
    """The first metric of each label (on the home page: the answer's cards)."""
    out = {}
    for m in at.metric:
        out.setdefault(m.label, m)
    return out


def explore_cards(at):
    """The home page's cards for the R being explored: the four from 'Size on disk' on (after the
    answer's four, before the compare cards)."""
    metrics = list(at.metric)
    start = next(i for i, m in enumerate(metrics) if m.label == "Size on disk")
    return {m.label: m for m in metrics[start:start + 4]}


def verdict(at):
    """The explored R's one-sentence verdict (a level-4 heading)."""
    return next(m.value for m in at.markdown if m.value.startswith("#### R="))


def flat(node):
    """Every element under `node`, in the order the page draws them."""
    children = getattr(node, "children", None)
    if not children:
        return [node]
    return [e for key in sorted(children) for e in flat(children[key])]


def choose(at, dataset, model):
    at.sidebar.selectbox(key="dataset").set_value(dataset).run()
    at.sidebar.selectbox(key="model").set_value(model).run()
    no_exception(at)
    assert (at.sidebar.selectbox(key="dataset").value, at.sidebar.selectbox(key="model").value) == (dataset, model)


def csv_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def expected(artifacts, dataset, model, method, reduction=0):
    """Seed 0's numbers for one results.csv cell (the cards describe the shipped seed-0 model), from
    the raw CSV: size (MB), accuracy and dev accuracy (%), latency (ms), rank; and how many seeds it has."""
    rows = [r for r in csv_rows(artifacts / "results.csv") if (r["dataset"], r["model"], r["method"]) ==
            (dataset, model, method) and int(r["embedding_reduction_pct"]) == reduction]
    seed0 = next(r for r in rows if r["seed"] == "0")
    return {"size_mb": float(seed0["size_bytes"]) / 1e6, "accuracy": 100 * float(seed0["accuracy"]),
            "dev": 100 * float(seed0["dev_accuracy"]) if seed0["dev_accuracy"] else None,
            "latency": float(seed0["latency_ms_b1"]) if seed0["latency_ms_b1"] else None,
            "rank": seed0["rank"], "seeds": len(rows)}


def expected_recommendation(artifacts, dataset, model, tolerance):
    """The rule, written out on the raw CSV: among seed 0's models of (dataset, model), those whose
    dev accuracy (a fraction) is >= the uncompressed model's minus tolerance / 100; the smallest;
    among those within 5 % of its size, the fastest (unmeasured last). Returns (method, R)."""
    rows = [r for r in csv_rows(artifacts / "results.csv") if (r["dataset"], r["model"], r["seed"]) == (dataset, model, "0")]
    base = next(r for r in rows if r["method"] == "uncompressed")
    ok = [r for r in rows if r["dev_accuracy"] and float(r["dev_accuracy"]) >= float(base["dev_accuracy"]) - tolerance / 100]
    smallest = min(float(r["size_bytes"]) for r in ok)
    tied = [r for r in ok if float(r["size_bytes"]) <= 1.05 * smallest]
    best = min(tied, key=lambda r: (not r["latency_ms_b1"], float(r["latency_ms_b1"] or 0), -float(r["dev_accuracy"]),
                                    float(r["size_bytes"])))
    return best["method"], int(best["embedding_reduction_pct"])


def twin_ratio(artifacts, dataset, model, method, reduction):
    """Seed 0's twin_latency_ratio_b1 of one cell from the raw CSV (None: blank, or no such column)."""
    row = next(r for r in csv_rows(artifacts / "results.csv") if (r["dataset"], r["model"], r["method"], r["seed"])
               == (dataset, model, method, "0") and int(r["embedding_reduction_pct"]) == reduction)
    return float(row["twin_latency_ratio_b1"]) if row.get("twin_latency_ratio_b1") else None


def meta_config(artifacts, dataset, model):
    return json.loads((artifacts / "models" / f"{dataset}-{model}-uncompressed-s0" / "meta.json").read_text())["config"]


# ---------------------------------------------------------------- home

def test_home_opens_with_the_answer(app, quick_artifacts):
    """The first heading is the recommended model (the rule on dev, seed 0: expected_recommendation),
    its four cards its seed-0 numbers against the uncompressed model's, and its download the first
    button; no warning under it, but for an int8 answer slower than its fp32 twin (results.csv's
    twin_latency_ratio_b1 above 1), which is said under it and in its compare card. For every pair."""
    from lmf.methods import method_label
    at = app.run()
    no_exception(at)
    for dataset, model in PAIRS:
        choose(at, dataset, model)
        method, reduction = expected_recommendation(quick_artifacts, dataset, model, 1.0)
        rec, base = expected(quick_artifacts, dataset, model, method, reduction), expected(quick_artifacts, dataset, model, "uncompressed")
        assert at.markdown[0].value == f"### Ship: {method_label(method)}" + (f", R={reduction}%" if reduction else "")
        shown = cards(at)
        assert list(shown)[:4] == ["Size", "Dev accuracy", "Test accuracy", "Latency per sentence"]
        assert shown["Size"].value == f"{rec['size_mb']:.2f} MB"
        assert shown["Dev accuracy"].value == f"{rec['dev']:.2f} %"
        assert shown["Dev accuracy"].delta == f"{rec['dev'] - base['dev']:+.2f} points"
        assert shown["Test accuracy"].value == f"{rec['accuracy']:.2f} %"
        assert shown["Latency per sentence"].value == f"{rec['latency']:.3f} ms"
        assert "seed 0" in shown["Test accuracy"].proto.help.lower()
        comparison = next(m.value for m in at.markdown if m.value.startswith("| Against"))
        assert f"| Uncompressed | {base['size_mb']:.2f} MB | {base['dev']:.2f} % | {base['accuracy']:.2f} % |" in comparison
        ftz = expected(quick_artifacts, dataset, "fasttext", "fasttext_ftz")
        assert f"| fastText.zip | {ftz['size_mb']:.2f} MB |" in comparison
        first = at.get("download_button")[0]
        assert first.proto.label.startswith("Download the model") and first.proto.help.startswith(f"{dataset}-{model}-")
        # The one warning allowed: an int8 answer slower than its fp32 twin (its card and its compare card).
        ratio = twin_ratio(quick_artifacts, dataset, model, method, reduction)
        notes = [w.value for w in at.warning]
        assert len(notes) == (2 if ratio is not None and ratio > 1 else 0), notes
        assert all(n.startswith(f"At batch 1 this int8 export takes {ratio:.2f}x the time of its fp32 twin")
                   for n in notes)


def test_home_tolerance_moves_the_answer(app, quick_artifacts):
    """At 0 points only models at least as good as the uncompressed one on dev qualify; at 5 points
    more do; each time the page shows expected_recommendation's model."""
    from lmf.methods import method_label
    at = app.run()
    for tolerance in (0.0, 5.0):
        at.slider(key="tolerance").set_value(tolerance).run()
        no_exception(at)
        method, reduction = expected_recommendation(quick_artifacts, "sst2", "dan", tolerance)
        assert at.markdown[0].value == f"### Ship: {method_label(method)}" + (f", R={reduction}%" if reduction else "")


def test_home_explore_cards_follow_dataset_and_model(app, quick_artifacts):
    at = app.run()
    no_exception(at)
    seen = set()
    for dataset, model in PAIRS:
        choose(at, dataset, model)
        assert at.segmented_control(key="reduction").value == 90
        lmf, base = expected(quick_artifacts, dataset, model, "lmf", 90), expected(quick_artifacts, dataset, model, "uncompressed")
        shown = explore_cards(at)
        assert shown["Size on disk"].value == f"{lmf['size_mb']:.2f} MB"
        assert shown["Test accuracy"].value == f"{lmf['accuracy']:.2f} %"
        assert shown["Test accuracy"].delta == f"{lmf['accuracy'] - base['accuracy']:+.2f} points"
        assert shown["Rank k"].value == lmf["rank"]
        assert shown["Rank k"].delta == f"of d = {meta_config(quick_artifacts, dataset, model)['embed_dim']}"
        assert shown["Latency per sentence"].value == f"{lmf['latency']:.3f} ms"
        share = round(100 * lmf["size_mb"] / base["size_mb"])
        assert verdict(at).startswith(f"#### R=90: {share}% of the bytes, {lmf['accuracy'] - base['accuracy']:+.2f} points")
        # the chart's uncompressed point is this pair's
        chart = json.loads(at.get("plotly_chart")[0].proto.spec)
        star = next(t for t in chart["data"] if t["name"] == "Uncompressed")
        assert star["y"] == [pytest.approx(base["accuracy"])]
        seen.add((shown["Size on disk"].value, shown["Test accuracy"].value))
        # the download is the carded model's export (studio.deploy rebuilt and checked it)
        helps = [b.proto.help for b in at.get("download_button")]
        assert f"{dataset}-{model}-lmf-R90-s0.zip" in helps, helps
    assert len(seen) == len(PAIRS), "every pair shows its own numbers"


def test_home_r0_is_uncompressed_with_neutral_cards(app, quick_artifacts):
    at = app.run()
    at.segmented_control(key="reduction").set_value(0).run()
    no_exception(at)
    base = expected(quick_artifacts, "sst2", "dan", "uncompressed")
    shown = explore_cards(at)
    assert shown["Rank k"].value == "full"
    assert shown["Size on disk"].value == f"{base['size_mb']:.2f} MB"
    # a zero delta is not good or bad news: no red "x1.00", no green "+0.00"
    assert [shown[k].proto.color for k in ("Size on disk", "Test accuracy", "Latency per sentence")] == [GRAY] * 3
    assert verdict(at) == (f"#### R=0 is the uncompressed model: {base['size_mb']:.2f} MB, "
                           f"{base['accuracy']:.2f} % test accuracy.")


def test_home_other_r_is_svd_only_against_seed0(app, quick_artifacts):
    """Another R is explored below the answer: the answer's heading stays first, the verdict says
    SVD only, and the explored cards compare with the seed-0 uncompressed model."""
    at = app.run()
    answer = at.markdown[0].value
    at.segmented_control(key="reduction").set_value("other").run()
    at.number_input(key="reduction_other").set_value(73).run()
    no_exception(at)
    assert at.markdown[0].value == answer, "the answer is not redrawn or covered by another R"
    assert "SVD only (not retrained)" in verdict(at) and verdict(at).startswith("#### R=73:")
    seed0 = next(r for r in csv_rows(quick_artifacts / "results.csv")
                 if (r["dataset"], r["model"], r["method"], r["seed"]) == ("sst2", "dan", "uncompressed", "0"))
    assert any(f"seed-0 uncompressed model it was cut from ({100 * float(seed0['accuracy']):.2f} %)" in c.value
               for c in at.caption)
    shown = explore_cards(at)
    assert shown["Latency per sentence"].value == "n/a" and shown["Latency per sentence"].delta == "not measured (SVD only)"
    accuracy = float(shown["Test accuracy"].value.rstrip(" %"))
    assert shown["Test accuracy"].delta == f"{accuracy - 100 * float(seed0['accuracy']):+.2f} points"
    # rank from eq. 5 on the meta.json's embedding: k = floor(p m n / (m + n)), p = 0.27
    config = meta_config(quick_artifacts, "sst2", "dan")
    m, n = config["vocab_size"], config["embed_dim"]
    assert shown["Rank k"].value == str(math.floor(0.27 * m * n / (m + n)))
    assert any("SVD only" in b.proto.label for b in at.get("download_button")), "the SVD-only model can be downloaded"
    at.number_input(key="reduction_other").set_value(90).run()  # an R the sweep retrained: still SVD only, as labelled
    no_exception(at)
    assert verdict(at).startswith("#### R=90:") and "SVD only (not retrained)" in verdict(at)


def test_home_without_data_says_how_to_get_it(app, monkeypatch):
    """No LMF_DATA_DIR and no Hub: the SVD-only accuracy is not measured, and the page says to set
    LMF_DATA_DIR or install `datasets`, not to regenerate the (sound) artifacts."""
    monkeypatch.delenv("LMF_DATA_DIR")
    monkeypatch.setattr("lmf.data.SHARED_DATA", Path("/nonexistent"))  # nor ../shared/data beside the repository
    monkeypatch.setattr("lmf.data._load_from_hub", lambda name: (_ for _ in ()).throw(
        __import__("lmf.data").data.DataError("no hub in tests")))
    at = app.run()
    at.segmented_control(key="reduction").set_value("other").run()
    at.number_input(key="reduction_other").set_value(61).run()
    no_exception(at)
    assert explore_cards(at)["Test accuracy"].value == "n/a"
    hint = " ".join(c.value for c in at.caption)
    assert "LMF_DATA_DIR" in hint and "pip install datasets" in hint
    assert REGENERATE not in hint and not at.error


def test_home_table_and_compare(app, quick_artifacts):
    at = app.run()
    no_exception(at)
    assert at.get("dataframe"), "the sortable table"
    table = at.dataframe[0].value
    assert table["Selected"].sum() == 1 and table.loc[table["Selected"], "R (%)"].item() == 90
    method, reduction = expected_recommendation(quick_artifacts, "sst2", "dan", 1.0)
    compare = at.multiselect[0]
    assert f"{method}|{reduction}" in compare.value and "uncompressed|0" in compare.value


def test_an_answer_not_shipped_says_so_without_an_error(quick_artifacts, tmp_path, monkeypatch):
    """When the recommended model's folder is simply not in models/ (artifacts assembled under another
    rule), the answer says it is not shipped and how to make it: an info, not an error box."""
    from sweep.grid import Cell
    copy = tmp_path / "unshipped"
    shutil.copytree(quick_artifacts, copy)
    method, reduction = expected_recommendation(copy, "sst2", "dan", 1.0)
    source = Cell("sst2", "dan", method, reduction).deployed_from.id
    if source == "sst2-dan-uncompressed-s0":
        pytest.skip("the quick sweep recommends a model made from the uncompressed one")
    shutil.rmtree(copy / "models" / source)
    monkeypatch.setenv("LMF_ARTIFACTS_DIR", str(copy))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    no_exception(at)
    assert any("not shipped" in i.value and "precompute.py" in i.value for i in at.info)
    assert not at.error, [e.value for e in at.error]


def seeded_copy(quick_artifacts, tmp_path):
    """A copy of the quick artifacts whose SST-2 DAN rows have a seed 1 as well, 2 points more
    accurate on test and dev: the sweep's other seed, which the page must show only as a spread."""
    copy = tmp_path / "seeded"
    shutil.copytree(quick_artifacts, copy)
    rows = csv_rows(copy / "results.csv")
    extra = [{**r, "seed": "1", "accuracy": str(float(r["accuracy"]) + 0.02),
              "dev_accuracy": str(float(r["dev_accuracy"]) + 0.02) if r["dev_accuracy"] else ""}
             for r in rows if (r["dataset"], r["model"], r["seed"]) == ("sst2", "dan", "0")]
    with open(copy / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows + extra)
    return copy


def test_one_accuracy_per_model_everywhere(quick_artifacts, tmp_path, monkeypatch):
    """With a second seed 2 points better, every accuracy shown for a model is still seed 0's: the
    answer's card, the explored card, the compare cards and the table; the mean over the two seeds
    (seed 0 + 1 point) and its spread appear in tooltips only."""
    copy = seeded_copy(quick_artifacts, tmp_path)
    monkeypatch.setenv("LMF_ARTIFACTS_DIR", str(copy))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    no_exception(at)
    lmf, base = expected(copy, "sst2", "dan", "lmf", 90), expected(copy, "sst2", "dan", "uncompressed")
    assert explore_cards(at)["Test accuracy"].value == f"{lmf['accuracy']:.2f} %"
    assert "2 seeds" in explore_cards(at)["Test accuracy"].proto.help
    assert f"{lmf['accuracy'] + 1:.2f} ±" in explore_cards(at)["Test accuracy"].proto.help
    compare = [m for m in at.metric if m.label == "Test accuracy"][2:]
    assert f"{base['accuracy']:.2f} %" in [m.value for m in compare]
    table = at.dataframe[0].value
    assert table.loc[table["Method"] == "Uncompressed", "Test acc. (%)"].item() == pytest.approx(base["accuracy"])
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    star = next(t for t in chart["data"] if t["name"] == "Uncompressed")
    assert star["y"] == [pytest.approx(base["accuracy"])] and "2 seeds" in star["text"][0]


def test_paper_terms_are_explained_in_help(app):
    """'seed 0', 'SVD only', 'rank k' and the baselines are explained where they appear."""
    at = app.run()
    helps = " ".join(e.proto.help for e in flat(at.main) if getattr(getattr(e, "proto", None), "help", ""))
    for term in ("**seed 0**", "**SVD only**", "**rank k**", "**baseline 1**", "**baseline 2**", "**dev**"):
        assert term in helps, term


def broken_copy(quick_artifacts, tmp_path):
    """The quick artifacts plus two data sets whose models cannot be served: `linked`, whose every
    model folder is a symbolic link to SST-2's, and `BadName`, a name that is no cell id (its
    folders cannot even be named). Both have SST-2 DAN's rows."""
    copy = tmp_path / "broken"
    shutil.copytree(quick_artifacts, copy)
    rows = csv_rows(copy / "results.csv")
    sst2 = [r for r in rows if (r["dataset"], r["model"]) == ("sst2", "dan")]
    with open(copy / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows + [{**r, "dataset": "linked"} for r in sst2] + [{**r, "dataset": "BadName"} for r in sst2])
    for folder in (copy / "models").glob("sst2-dan-*"):
        (copy / "models" / folder.name.replace("sst2-", "linked-", 1)).symlink_to(folder)
    return copy


@pytest.mark.parametrize("dataset,why", [("linked", "symbolic link"), ("BadName", "is not a model name")])
def test_home_names_a_broken_model_folder_and_draws_the_rest(quick_artifacts, tmp_path, monkeypatch, dataset, why):
    """Issue 23.6: a model folder that is a symbolic link, or a data set name that is no cell id,
    once ended the page half-drawn in Streamlit's generic error box. Now an error box names the
    model and the rest is drawn: the answer's cards, the chart, the table."""
    monkeypatch.setenv("LMF_ARTIFACTS_DIR", str(broken_copy(quick_artifacts, tmp_path)))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    choose(at, dataset, "dan")
    no_exception(at)
    assert any(why in e.value and f"{dataset}-dan-" in e.value for e in at.error), [e.value for e in at.error]
    assert "Size" in cards(at) and "Rank k" in explore_cards(at)
    assert at.get("plotly_chart") and at.get("dataframe")
    at.segmented_control(key="reduction").set_value("other").run()
    no_exception(at)
    assert any(why in e.value for e in at.error)


# ---------------------------------------------------------------- playground

def shipped_variants(artifacts, dataset, model):
    """The Playground's cards, from the models folder: uncompressed, LMF at R=90, 16- and 8-bit,
    each shipped extension model (APP_EXT's, and the recommended model when it is one), and int8
    stacks of LMF and of the stackable extensions (lmf.methods: HMF has none)."""
    from lmf.methods import METHODS
    names = [p.name for p in (artifacts / "models").iterdir() if p.name.startswith(f"{dataset}-{model}-")]
    extensions = [n.split("-")[2] for n in names if n.endswith("-R90-s0") and METHODS[n.split("-")[2]].extension]
    stackable = [m for m in extensions if any(other.stacks_on == m for other in METHODS.values())]
    return 4 + len(extensions) + 1 + len(stackable)


def classify(at, text):
    """Type into the Playground's form and press Classify (one run, as a browser submits a form)."""
    at.text_area[0].input(text)
    at.button[0].click().run()
    no_exception(at)


def predictions(at):
    """The label on each Playground card (a level-5 heading)."""
    return [m.value[len("##### "):] for m in at.markdown if m.value.startswith("##### ")]


def test_playground_classify_follows_dataset_and_model(app, quick_artifacts):
    at = app.run().switch_page(PLAYGROUND).run()
    no_exception(at)
    assert any("press **Classify**" in i.value for i in at.info)
    at.text_area[0].input("a gorgeous , witty , seductive movie .").run()
    assert predictions(at) == [], "typing alone does not classify"
    classify(at, "a gorgeous , witty , seductive movie .")
    labels = set(json.loads((quick_artifacts / "models" / "sst2-dan-uncompressed-s0" / "meta.json").read_text())["label_names"])
    assert len(predictions(at)) == shipped_variants(quick_artifacts, "sst2", "dan") and set(predictions(at)) <= labels
    assert any("a gorgeous , witty" in t.value for t in at.text), "the classified text, shown as typed"
    # sizes on the cards, from results.csv
    assert any(f" · {expected(quick_artifacts, 'sst2', 'dan', 'quant8')['size_mb']:.2f} MB · " in c.value
               for c in at.caption)
    # disagreements with the uncompressed model (the first card) are marked on exactly those cards
    first, *rest = predictions(at)
    assert sum("disagrees" in m.value for m in at.markdown) == sum(p != first for p in rest)
    assert not any("Offline SVD" in m.value for m in at.markdown if m.value.startswith("**")), "no dead card"

    choose(at, "clinc150", "lstm")
    meta = json.loads((quick_artifacts / "models" / "clinc150-lstm-uncompressed-s0" / "meta.json").read_text())
    shown = predictions(at)
    assert len(shown) == shipped_variants(quick_artifacts, "clinc150", "lstm") and set(shown) <= set(meta["label_names"])
    assert not set(shown) & labels, "CLINC150 intents, not SST-2 sentiments"


def above_the_cards(at, text):
    """Whether a warning holding `text` comes before the first prediction card (a level-5 heading)."""
    order = flat(at.main)
    warning = next(i for i, e in enumerate(order) if type(e).__name__ == "Warning" and text in e.value)
    card = next(i for i, e in enumerate(order) if type(e).__name__ == "Markdown" and e.value.startswith("##### "))
    return warning < card


def test_playground_unknown_words_and_truncation(app):
    """The warnings about the text come above the cards (ten cards fill the screen: below them a
    warning goes unseen)."""
    at = app.run().switch_page(PLAYGROUND).run()
    classify(at, "zzqx qqvw")
    assert any("No word of this text is in the vocabulary" in w.value for w in at.warning)
    assert "zzqx, qqvw" in [t.value for t in at.text]
    assert above_the_cards(at, "No word of this text")
    classify(at, "good " * 20000)  # 100,000 characters
    assert any("read the first 256" in w.value for w in at.warning)
    assert any("100,000 characters; the first 10,000 are used" in w.value for w in at.warning)
    assert not any("No word" in w.value for w in at.warning)
    assert above_the_cards(at, "read the first 256")


def test_playground_shows_typed_text_as_text(app):
    """What was typed is never rendered as Markdown (no italics, links or colours from the user's
    text), and an unknown word is cut to 40 characters: a 12,000-character run with no space is one
    word, clipped to the 10,000 characters the models read, and listed as its first 40 and "…"."""
    at = app.run().switch_page(PLAYGROUND).run()
    typed = "a *great* movie :red[wow] [link](http://x)"
    classify(at, typed)
    assert typed in [t.value for t in at.text]
    assert not any("*great*" in m.value or "](http" in m.value for m in at.markdown)
    classify(at, "q" * 12000)
    assert "q" * 40 + "…" in [t.value for t in at.text]
    assert not any("q" * 161 in e.value for e in [*at.text, *at.warning]), "the text shown is cut at 160"


# ---------------------------------------------------------------- analysis

def test_analysis_follows_model_and_clears_on_invalid_input(app, quick_artifacts):
    at = app.run().switch_page(ANALYSIS).run()
    no_exception(at)
    for dataset, model in PAIRS[:2]:
        choose(at, dataset, model)
        config = meta_config(quick_artifacts, dataset, model)
        m, n = config["vocab_size"], config["embed_dim"]
        assert (at.number_input[0].value, at.number_input[1].value) == (m, n), "inputs follow the selected model"
        assert cards(at)["Rank k (eq. 5)"].value == str(math.floor(0.1 * m * n / (m + n)))  # R = 90 %
        chart = json.loads(at.get("plotly_chart")[0].proto.spec)
        marker = next(t for t in chart["data"] if t["mode"] == "markers")
        k = math.floor(0.1 * m * n / (m + n))
        # eq. 10 over eq. 9: (2 (m + n) k - (n + k)) / ((2 m - 1) n)
        assert marker["x"] == [pytest.approx(0.1)]
        assert marker["y"] == [pytest.approx((2 * (m + n) * k - (n + k)) / ((2 * m - 1) * n))]
    # p = 0.1 against 8 of 32 bits, T_Q/T_S assumed = B_Q/B_S = 0.25: smaller and faster
    at.radio[0].set_value("bits (the paper's assumption)").run()
    assert any("LMF wins" in s.value for s in at.success)
    # p = 0.9 against 16 bits (0.5): quantization is smaller and faster
    at.slider(key="an_reduction").set_value(10).run()
    at.select_slider(key="an_bq").set_value(16).run()
    assert any("quantization wins" in w.value for w in at.warning) and not at.success
    # a 2 x 2 layer at p = 0.9 has k = floor(0.9 * 4 / 4) = 0: no factorization, and no stale result
    at.number_input[0].set_value(2).run()
    at.number_input[1].set_value(2).run()
    no_exception(at)
    assert at.error and not at.metric and not at.get("plotly_chart")


# ---------------------------------------------------------------- schedules

def test_schedules_follow_dataset_and_name_clr_wins(app, quick_artifacts):
    at = app.run().switch_page(SCHEDULES).run()
    no_exception(at)
    assert at.get("plotly_chart")
    rows = csv_rows(quick_artifacts / "schedules.csv")
    for dataset, model in PAIRS[:2]:
        choose(at, dataset, model)
        seed0 = {(r["model"], r["schedule"]): 100 * float(r["accuracy"]) for r in rows
                 if r["dataset"] == dataset and r["seed"] == "0"}
        table = next(m.value for m in at.markdown if "| CALR |" in m.value)
        assert f"| {seed0[('dan', 'calr')]:.2f} |" in table
        wins = [(name, seed0[(name, "clr")] - seed0[(name, "calr")]) for name in ("dan", "lstm")
                if (name, "clr") in seed0 and seed0[(name, "clr")] > seed0[(name, "calr")]]
        said = [w.value for w in at.warning if "CLR beats CALR" in w.value]
        assert len(said) == len(wins)
        for (name, gap), text in zip(sorted(wins), sorted(said)):
            assert f"{gap:.2f} points" in text
    at.slider(key="sched_bounds").set_value((0.002, 0.002)).run()
    assert any("upper bound" in w.value for w in at.warning)


# ---------------------------------------------------------------- every page, every dataset

def test_every_page_lists_every_dataset_of_results_csv(quick_artifacts, tmp_path, monkeypatch):
    """A custom dataset in results.csv is offered on every page, by its name."""
    copy = tmp_path / "artifacts"
    shutil.copytree(quick_artifacts, copy)
    rows = csv_rows(copy / "results.csv")
    extra = [{**r, "dataset": "mytexts"} for r in rows if (r["dataset"], r["model"]) == ("sst2", "dan")]
    with open(copy / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows + extra)
    monkeypatch.setenv("LMF_ARTIFACTS_DIR", str(copy))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    for page in PAGES:
        at.switch_page(page).run()
        no_exception(at)
        assert sorted(at.sidebar.selectbox(key="dataset").options) == ["CLINC150", "SST-2", "mytexts"]
    at.switch_page(HOME).run()
    choose(at, "mytexts", "dan")
    answer = expected(copy, "mytexts", "dan", *expected_recommendation(copy, "mytexts", "dan", 1.0))
    assert cards(at)["Test accuracy"].value == f"{answer['accuracy']:.2f} %"


# ---------------------------------------------------------------- the URL

def test_the_url_keeps_the_data_set_choice(quick_artifacts, monkeypatch):
    """The sidebar's selectors are bound to ?dataset=&model= (their shown names): a reload, or a link,
    opens on the same choice."""
    monkeypatch.setenv("LMF_ARTIFACTS_DIR", str(quick_artifacts))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update({"dataset": "CLINC150", "model": "LSTM"})
    at.run().switch_page(PLAYGROUND).run()
    no_exception(at)
    assert (at.sidebar.selectbox(key="dataset").value, at.sidebar.selectbox(key="model").value) == ("clinc150", "lstm")


def test_a_mistyped_page_is_named_not_replaced():
    """A URL path no page has is reported (the router then says 'No such page', with links); the
    home page's empty path and every page's own path are not."""
    from studio.ui import unknown_page
    paths = ["", "retrain", "playground"]
    assert unknown_page("playgrnd", paths) == "playgrnd"
    assert unknown_page("/retrain/", paths) is None and unknown_page("", paths) is None
    assert unknown_page(None, paths) is None


# ---------------------------------------------------------------- configuration and failures

def test_streamlit_config_keeps_details_and_statistics_in():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["showErrorDetails"] == "none"
    assert config["client"]["toolbarMode"] == "minimal"


def test_missing_artifacts_say_what_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("LMF_ARTIFACTS_DIR", str(tmp_path / "nothing"))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    no_exception(at)
    assert any("results.csv" in e.value and REGENERATE in e.value for e in at.error)
    for page in PAGES[1:]:
        at.switch_page(page).run()
        no_exception(at)
    at.switch_page(PLAYGROUND).run()
    classify(at, "a fine film")
    assert any(REGENERATE in e.value for e in at.error)
    at.switch_page(SCHEDULES).run()
    assert at.get("plotly_chart"), "the schedules plot needs no artifacts"
    assert any("schedules.csv" in e.value for e in at.error)
    assert not any(str(tmp_path) in e.value for e in at.error), "no server path in an error box"


def test_corrupt_model_and_results(broken_artifacts, monkeypatch):
    monkeypatch.setenv("LMF_ARTIFACTS_DIR", str(broken_artifacts))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    no_exception(at)
    answer = expected(broken_artifacts, "sst2", "dan", *expected_recommendation(broken_artifacts, "sst2", "dan", 1.0))
    assert cards(at)["Test accuracy"].value == f"{answer['accuracy']:.2f} %", "precomputed numbers still show"
    at.switch_page(PLAYGROUND).run()
    classify(at, "a fine film")
    assert any("sha256" in e.value and REGENERATE in e.value for e in at.error)
    assert not any(str(Path(broken_artifacts).parent) in e.value for e in at.error), "no server path in an error box"
    (broken_artifacts / "results.csv").write_text("not,a\n\x00,csv", encoding="utf-8")
    at.switch_page(HOME).run()
    no_exception(at)
    assert any("results.csv" in e.value for e in at.error)
