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
import statistics
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
    """The first metric of each label (the home page's cards come before the compare cards)."""
    out = {}
    for m in at.metric:
        out.setdefault(m.label, m)
    return out


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
    the raw CSV: size (MB), accuracy (%), latency (ms), rank; and how many seeds it has."""
    rows = [r for r in csv_rows(artifacts / "results.csv") if (r["dataset"], r["model"], r["method"]) ==
            (dataset, model, method) and int(r["embedding_reduction_pct"]) == reduction]
    seed0 = next(r for r in rows if r["seed"] == "0")
    return {"size_mb": float(seed0["size_bytes"]) / 1e6, "accuracy": 100 * float(seed0["accuracy"]),
            "latency": float(seed0["latency_ms_b1"]) if seed0["latency_ms_b1"] else None,
            "rank": seed0["rank"], "seeds": len(rows)}


def meta_config(artifacts, dataset, model):
    return json.loads((artifacts / "models" / f"{dataset}-{model}-uncompressed-s0" / "meta.json").read_text())["config"]


# ---------------------------------------------------------------- home

def test_home_cards_follow_dataset_and_model(app, quick_artifacts):
    at = app.run()
    no_exception(at)
    seen = set()
    for dataset, model in PAIRS:
        choose(at, dataset, model)
        assert at.segmented_control(key="reduction").value == 90
        lmf, base = expected(quick_artifacts, dataset, model, "lmf", 90), expected(quick_artifacts, dataset, model, "uncompressed")
        shown = cards(at)
        assert shown["Size on disk"].value == f"{lmf['size_mb']:.2f} MB"
        assert shown["Test accuracy"].value == f"{lmf['accuracy']:.2f} %"
        assert shown["Test accuracy"].delta == f"{lmf['accuracy'] - base['accuracy']:+.2f} pts"
        assert shown["Rank k"].value == lmf["rank"]
        assert shown["Rank k"].delta == f"of d = {meta_config(quick_artifacts, dataset, model)['embed_dim']}"
        assert shown["Latency per sentence"].value == f"{lmf['latency']:.3f} ms"
        share = round(100 * lmf["size_mb"] / base["size_mb"])
        assert at.markdown[0].value.startswith(f"#### R=90: {share}% of the bytes, "
                                               f"{lmf['accuracy'] - base['accuracy']:+.2f} points")
        # the chart's uncompressed point is this pair's
        chart = json.loads(at.get("plotly_chart")[0].proto.spec)
        star = next(t for t in chart["data"] if t["name"] == "Uncompressed")
        assert star["y"] == [pytest.approx(base["accuracy"])]
        seen.add((shown["Size on disk"].value, shown["Test accuracy"].value))
        # the download is the carded model's export (studio.deploy rebuilt and checked it)
        labels = [b.proto.label for b in at.get("download_button")]
        assert f"Download {dataset}-{model}-lmf-R90-s0.zip (ONNX, fp32)" in labels, labels
    assert len(seen) == len(PAIRS), "every pair shows its own numbers"


def test_home_r0_is_uncompressed_with_neutral_cards(app, quick_artifacts):
    at = app.run()
    at.segmented_control(key="reduction").set_value(0).run()
    no_exception(at)
    base = expected(quick_artifacts, "sst2", "dan", "uncompressed")
    shown = cards(at)
    assert shown["Rank k"].value == "full"
    assert shown["Size on disk"].value == f"{base['size_mb']:.2f} MB"
    # a zero delta is not good or bad news: no red "x1.00", no green "+0.00"
    assert [shown[k].proto.color for k in ("Size on disk", "Test accuracy", "Latency per sentence")] == [GRAY] * 3
    assert at.markdown[0].value == (f"#### R=0 is the uncompressed model: {base['size_mb']:.2f} MB, "
                                    f"{base['accuracy']:.2f} % test accuracy.")


def test_home_other_r_is_svd_only_against_seed0(app, quick_artifacts):
    at = app.run()
    at.segmented_control(key="reduction").set_value("other").run()
    at.number_input(key="reduction_other").set_value(73).run()
    no_exception(at)
    assert "SVD only (not retrained)" in at.markdown[0].value and at.markdown[0].value.startswith("#### R=73:")
    seed0 = next(r for r in csv_rows(quick_artifacts / "results.csv")
                 if (r["dataset"], r["model"], r["method"], r["seed"]) == ("sst2", "dan", "uncompressed", "0"))
    assert any(f"seed-0 uncompressed model it was cut from ({100 * float(seed0['accuracy']):.2f} %)" in c.value
               for c in at.caption)
    shown = cards(at)
    assert shown["Latency per sentence"].value == "n/a"
    accuracy = float(shown["Test accuracy"].value.rstrip(" %"))
    assert shown["Test accuracy"].delta == f"{accuracy - 100 * float(seed0['accuracy']):+.2f} pts"
    # rank from eq. 5 on the meta.json's embedding: k = floor(p m n / (m + n)), p = 0.27
    config = meta_config(quick_artifacts, "sst2", "dan")
    m, n = config["vocab_size"], config["embed_dim"]
    assert shown["Rank k"].value == str(math.floor(0.27 * m * n / (m + n)))
    assert at.get("download_button"), "the SVD-only model can be downloaded"


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
    assert cards(at)["Test accuracy"].value == "n/a"
    hint = " ".join(c.value for c in at.caption)
    assert "LMF_DATA_DIR" in hint and "pip install datasets" in hint
    assert REGENERATE not in hint and not at.error


def test_home_recommendation_table_and_compare(app, quick_artifacts):
    at = app.run()
    at.slider(key="tolerance").set_value(0.0).run()
    no_exception(at)
    # within 0 points of the uncompressed mean; of those within 5 % of the smallest size, the fastest
    rows = [r for r in csv_rows(quick_artifacts / "results.csv") if (r["dataset"], r["model"]) == ("sst2", "dan")]
    groups = {}
    for r in rows:
        groups.setdefault((r["method"], int(r["embedding_reduction_pct"])), []).append(r)
    mean = lambda g, c: statistics.fmean(float(r[c]) for r in g if r[c])  # noqa: E731
    base_acc = mean(groups[("uncompressed", 0)], "accuracy")
    ok = {k: g for k, g in groups.items() if mean(g, "accuracy") >= base_acc - 1e-12}
    smallest = min(mean(g, "size_bytes") for g in ok.values())
    tied = {k: g for k, g in ok.items() if mean(g, "size_bytes") <= 1.05 * smallest}
    (method, reduction), group = min(tied.items(), key=lambda kv: mean(kv[1], "latency_ms_b1"))
    size = mean(group, "size_bytes")
    box = next(s.value for s in at.success if "MB" in s.value)
    assert f"{size / 1e6:.2f} MB" in box
    assert at.get("dataframe"), "the sortable table"
    table = at.dataframe[0].value
    assert table["Selected"].sum() == 1 and table.loc[table["Selected"], "R (%)"].item() == 90
    assert list(table["Note"] == "one seed") == list(table["Seeds"] < 2)
    compare = at.multiselect[0]
    assert f"{method}|{reduction}" in compare.value and "uncompressed|0" in compare.value


# ---------------------------------------------------------------- playground

def shipped_variants(artifacts, dataset, model):
    """The Playground's cards, from the models folder: uncompressed, LMF at R=90, 16- and 8-bit,
    each shipped extension model, and int8 stacks of LMF and of the stackable extensions."""
    names = [p.name for p in (artifacts / "models").iterdir() if p.name.startswith(f"{dataset}-{model}-")]
    extensions = [n for n in names if any(f"-{m}-R90-" in n for m in ("hmf", "groupreduce", "lmf_whole"))]
    stackable = [n for n in extensions if "-hmf-" not in n]  # HMF has no int8 stack
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
    assert any("a gorgeous , witty" in m.value for m in at.markdown if m.value.startswith("Predictions for"))
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


def test_playground_unknown_words_and_truncation(app):
    at = app.run().switch_page(PLAYGROUND).run()
    classify(at, "zzqx qqvw")
    assert any("No word of this text is in the vocabulary" in w.value and "zzqx, qqvw" in w.value for w in at.warning)
    classify(at, "good " * 20000)  # 100,000 characters
    assert any("read the first 256" in w.value for w in at.warning)
    assert any("100,000 characters; the first 10,000 are used" in w.value for w in at.warning)
    assert not any("No word" in w.value for w in at.warning)


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
    assert cards(at)["Test accuracy"].value == f"{expected(copy, 'mytexts', 'dan', 'lmf', 90)['accuracy']:.2f} %"


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
    lmf = expected(broken_artifacts, "sst2", "dan", "lmf", 90)
    assert cards(at)["Test accuracy"].value == f"{lmf['accuracy']:.2f} %", "precomputed numbers still show"
    at.switch_page(PLAYGROUND).run()
    classify(at, "a fine film")
    assert any("sha256" in e.value and REGENERATE in e.value for e in at.error)
    assert not any(str(Path(broken_artifacts).parent) in e.value for e in at.error), "no server path in an error box"
    (broken_artifacts / "results.csv").write_text("not,a\n\x00,csv", encoding="utf-8")
    at.switch_page(HOME).run()
    no_exception(at)
    assert any("results.csv" in e.value for e in at.error)
