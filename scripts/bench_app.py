"""Measure the app's two speed targets and print them (numbers for the README).

    python scripts/bench_app.py [--artifacts DIR] [--runs 5] [--baseline] [--screenshot docs/home.png]

1. Start-up: seconds from launching `streamlit run app.py` until the home page shows its metric
   cards in headless Chromium (server start, first script run, first render), and until both
   charts are drawn and the script has finished; each of --runs fresh servers and browser pages,
   then the median (a 2-core machine's timings vary by a second from run to run).
2. Playground: milliseconds of compute per prediction for each model variant (uncompressed, LMF
   at every shipped R, 16-bit, 8-bit, and the shipped extension models with their int8 stacks), median of 50 single-sentence calls of
   lmf.studio.predict_text, the function the Playground page calls, after warm-up.
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lmf import catalog, studio  # noqa: E402
from lmf.quantize import quantize_model  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SENTENCE = "it 's not a bad film , but it never quite finds its footing ."


# The floor this machine sets: a Streamlit script that only draws four metric cards and one small
# Plotly chart, timed the same way (--baseline runs it beside the app).
BASELINE = """import plotly.graph_objects as go
import streamlit as st
for column, value in zip(st.columns(4), range(4)):
    column.metric(f"card {value}", value)
st.plotly_chart(go.Figure(go.Scatter(x=[1, 2, 3], y=[1, 3, 2])))
"""


def startup_seconds(artifacts, screenshot=None, script=ROOT / "app.py", charts=2):
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "LMF_ARTIFACTS_DIR": str(artifacts)}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(script), "--server.headless",
                                 "true", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                try:
                    if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                        break
                except OSError:
                    time.sleep(0.05)
            healthy = time.perf_counter() - start
            page.goto(f"http://127.0.0.1:{port}/")
            page.locator('[data-testid="stMetric"]').nth(3).wait_for(timeout=60_000)
            rendered = time.perf_counter() - start
            page.locator(".js-plotly-plot").nth(charts - 1).wait_for(timeout=60_000)
            page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")
            complete = time.perf_counter() - start
            if screenshot:
                page.wait_for_timeout(1500)  # let plotly finish drawing
                Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
            proc.terminate()
            proc.wait(10)
    return healthy, rendered, complete


def prediction_ms(artifacts, dataset="sst2", model="dan", repeats=50):
    base = studio.load_saved(artifacts, dataset, model)
    variants = {"uncompressed": base.model}
    for r in catalog.shipped_reductions(artifacts, dataset, model):
        variants[f"lmf R={r}"] = studio.load_saved(artifacts, dataset, model, "lmf", r).model
    for r in catalog.shipped_reductions(artifacts, dataset, model, "offline_svd"):
        variants[f"offline_svd R={r}"] = studio.load_saved(artifacts, dataset, model, "offline_svd", r).model
    variants["16-bit"], variants["8-bit"] = quantize_model(base.model, 16), quantize_model(base.model, 8)
    lmf_r = catalog.DEFAULT_REDUCTION if catalog.DEFAULT_REDUCTION in catalog.shipped_reductions(artifacts, dataset, model) else None
    for v in studio.extension_variants(artifacts, dataset, model, lmf_r):
        saved = studio.load_saved(artifacts, dataset, model, v.method, v.reduction).model
        variants[v.label] = quantize_model(saved, v.bits) if v.bits else saved
    out = {}
    for name, m in variants.items():
        for _ in range(5):
            studio.predict_text(m, base.vocab, base.label_names, SENTENCE)
        out[name] = statistics.median(studio.predict_text(m, base.vocab, base.label_names, SENTENCE).latency_ms
                                      for _ in range(repeats))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--artifacts", default=str(catalog.artifacts_dir()))
    p.add_argument("--screenshot", help="save the home page here (e.g. docs/home.png)")
    p.add_argument("--skip-browser", action="store_true")
    p.add_argument("--runs", type=int, default=5, help="start-up measurements (fresh server each)")
    p.add_argument("--baseline", action="store_true",
                   help="also time a bare Streamlit script (four cards, one chart), run for run beside the app")
    args = p.parse_args()
    artifacts = Path(args.artifacts)
    print(f"artifacts: {artifacts} (quick: {catalog.read_sweep_info(artifacts).get('quick')})")
    if not args.skip_browser:
        runs, floor = [], []
        for i in range(args.runs):  # app and baseline alternate, so both see the same machine
            runs.append(startup_seconds(artifacts, args.screenshot if i == 0 else None))
            if args.baseline:
                with tempfile.TemporaryDirectory() as tmp:
                    (Path(tmp) / "baseline.py").write_text(BASELINE)
                    floor.append(startup_seconds(artifacts, script=Path(tmp) / "baseline.py", charts=1))
        for name, measured in (("start-up", runs), ("baseline", floor)):
            for healthy, rendered, complete in measured:
                print(f"{name}: server healthy after {healthy:.2f} s; metric cards rendered after "
                      f"{rendered:.2f} s; charts drawn and the script done after {complete:.2f} s")
        healthy, rendered, complete = (statistics.median(column) for column in zip(*runs))
        print(f"start-up, median of {len(runs)}: healthy {healthy:.2f} s, metric cards {rendered:.2f} s "
              f"(target: 5 s), complete {complete:.2f} s")
        if floor:
            base = [statistics.median(column) for column in zip(*floor)]
            print(f"baseline, median of {len(floor)}: healthy {base[0]:.2f} s, metric cards {base[1]:.2f} s, "
                  f"complete {base[2]:.2f} s; app / baseline: cards x{rendered / base[1]:.2f}, "
                  f"complete x{complete / base[2]:.2f}")
    for pair in catalog.pairs(catalog.read_results(artifacts)):
        try:
            times = prediction_ms(artifacts, *pair)
        except Exception as e:  # noqa: BLE001 - report and go on to the next model
            print(f"{pair}: {e}")
            continue
        worst = max(times.values())
        print(f"playground {pair[0]}/{pair[1]}: " + ", ".join(f"{k} {v:.2f} ms" for k, v in times.items())
              + f" (worst {worst:.2f} ms; target: 50 ms)")


if __name__ == "__main__":
    main()
