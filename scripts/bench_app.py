"""How long the home page takes to be drawn, against a bare Streamlit page with as many Plotly charts.

    python scripts/bench_app.py [--artifacts DIR] [--runs 5] [--json PATH] [--skip-predictions]

1. Home page: seconds from launching `streamlit run app.py` (studio.server) until the page is
   completely drawn in headless Chromium at 1280x720: every Plotly chart rendered (its SVG in the
   page) and the script run over. The same is timed for a bare script that draws as many Plotly
   charts and nothing else, which is the floor Streamlit and Plotly set on this machine. App and
   bare runs alternate (both see the same machine load); each run starts a fresh server and
   browser page. Reported: each run, the medians and their ratio (target: <= 1.2).
2. Playground: milliseconds per prediction (studio.playground.predict_all, what the page calls: the
   median of its repeated runs) for every Playground variant of each dataset and model, each a
   deployable export rebuilt by studio.deploy as the page rebuilds it.
"""
import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from lmf import layout
from lmf.atomic import write_text_atomic
from studio.server import CHROMIUM, CHROMIUM_ARGS as ARGS, ROOT, serve

VIEWPORT = {"width": 1280, "height": 720}
HOME_CHARTS = 2  # size vs accuracy, spectrum
TARGET = 1.2  # issue 21.7
SENTENCE = "it 's not a bad film , but it never quite finds its footing ."

# The floor: a page with as many Plotly charts (of about as many points) and nothing else.
BARE = f"""import plotly.graph_objects as go
import streamlit as st
for i in range({HOME_CHARTS}):
    st.plotly_chart(go.Figure(go.Scatter(x=list(range(300)), y=[(j * 37 + i) % 101 for j in range(300)])), key=f"c{{i}}")
"""

DRAWN = """(charts) => document.querySelectorAll('.js-plotly-plot .main-svg').length >= charts
                      && !document.querySelector('[data-testid="stStatusWidget"]')"""


def drawn_seconds(browser, script, env, charts=HOME_CHARTS):
    """Seconds from the server's launch until `charts` Plotly charts are drawn and the run is over."""
    with serve(script, env=env) as server:
        page = browser.new_page(viewport=VIEWPORT)
        try:
            page.goto(server.url)
            page.wait_for_function(DRAWN, arg=charts, timeout=120_000, polling=50)
            return time.perf_counter() - server.started
        finally:
            page.close()


def page_times(artifacts, runs):
    from playwright.sync_api import sync_playwright

    env = {"LMF_ARTIFACTS_DIR": artifacts}
    app, bare = [], []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        script = Path(tmp) / "bare.py"
        script.write_text(BARE)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            drawn_seconds(browser, script, env)  # warm the disk cache for both
            for i in range(runs):  # alternate, so both see the same machine
                app.append(drawn_seconds(browser, ROOT / "app.py", env))
                bare.append(drawn_seconds(browser, script, env))
                print(f"run {i + 1}: home page drawn {app[-1]:.2f} s, bare page {bare[-1]:.2f} s", flush=True)
        finally:
            browser.close()
    ratio = statistics.median(app) / statistics.median(bare)
    return {"runs": runs, "home_s": app, "bare_s": bare, "home_median_s": statistics.median(app),
            "bare_median_s": statistics.median(bare), "ratio": ratio, "target": TARGET, "met": ratio <= TARGET}


def prediction_ms(artifacts):
    from studio.deploy import export_row
    from studio.playground import predict_all, variants
    from lmf.methods import Cell
    from lmf.results import pairs, read_results
    from lmf.runtime import Predictor

    rows, out = read_results(artifacts), {}
    with tempfile.TemporaryDirectory() as tmp:
        for dataset, model in pairs(rows):
            # A pair measured but not shipped (the n-gram DAN) has no variant: the Playground says so too.
            predictors = {name: Predictor(export_row(artifacts, row, Path(tmp) / Cell.of_row(row).id))
                for name, row in variants(artifacts, rows, dataset, model, 90)}
            for name, prediction in predict_all(predictors, SENTENCE).items():
                out[f"{dataset}/{model} {name}"] = prediction.latency_ms
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--artifacts", default=str(layout.artifacts_dir()))
    p.add_argument("--runs", type=int, default=5, help="alternating app / bare measurements (fresh server each)")
    p.add_argument("--json", help="also write the numbers here")
    p.add_argument("--skip-predictions", action="store_true")
    args = p.parse_args()
    if args.runs < 1:
        p.error(f"--runs {args.runs}: time at least 1 run")
    layout.check_script_paths(p, args.artifacts, args.json)
    report = {"artifacts": Path(args.artifacts).name, "quick": bool(layout.read_sweep_info(args.artifacts).get("quick"))}
    report["page"] = page = page_times(args.artifacts, args.runs)
    print(f"home page drawn, median of {page['runs']}: {page['home_median_s']:.2f} s; bare page with "
          f"{HOME_CHARTS} Plotly charts: {page['bare_median_s']:.2f} s; ratio {page['ratio']:.2f} "
          f"(target <= {TARGET}: {'met' if page['met'] else 'NOT met'})")
    if not args.skip_predictions:
        report["prediction_ms"] = times = prediction_ms(args.artifacts)
        print("playground: " + ", ".join(f"{k} {v:.2f} ms" for k, v in times.items()))
    if args.json:
        write_text_atomic(args.json, json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
