"""Measure the Retrain live page against its targets in a real browser, and print the ratios.

    python scripts/bench_live.py [--artifacts DIR] [--json PATH] [--screenshot PATH]

1. The plain loop: lmf.train.train on the model the page opens on (studio.live.story_case: the
   shipped pair and R where the SVD's cost and its recovery are largest), with the page's default settings (studio.live.live_config), no callbacks, on the job's thread count
   (studio.live.TORCH_THREADS); steps per second from its TrainResult.seconds. Run before and after the browser part (the
   machine is shared, its load drifts), the mean is the reference.
2. The app: `streamlit run app.py` on a free loopback port, headless Chromium opens Retrain live
   and presses Start. A script in the page samples the chart every 100 ms (what its SVG paths
   hold, how many chart elements and SVG roots exist); the job's own rate comes from
   the page's "Retrained N steps in S s" line (the same TrainResult.seconds, measured in the job).

Targets: job rate >= 0.8 x the plain loop's, >= 2 chart redraws a second while training, exactly
one chart element. Exit status 1 when one is missed.
"""
import argparse
import json
import os
import re
import statistics
import sys
from pathlib import Path

from studio.server import CHROMIUM, CHROMIUM_ARGS as ARGS, serve

TARGETS = {"rate_ratio": 0.8, "redraws_per_second": 2.0, "chart_elements": 1}

# Samples the chart every 100 ms into window.__live: time, a signature of what the chart shows
# (Vega draws SVG here: the lengths of its line and point paths, which grow with each new point),
# the chart elements Streamlit shows, and how many distinct <svg> roots were seen (one: updated in
# place; more: the chart was remounted).
CHART = '[data-testid="stVegaLiteChart"]'
SAMPLER = """() => {
  window.__live = []; let nodes = 0;
  window.__liveTimer = setInterval(() => {
    const roots = [...document.querySelectorAll('CHART svg.marks')];
    for (const r of roots) if (!r.__seen) { r.__seen = true; nodes += 1; }
    const sig = roots.length ? [...roots[0].querySelectorAll('.mark-line path, .mark-symbol path')]
      .map(p => (p.getAttribute('d') || '').length).join(',') : '';
    window.__live.push({t: performance.now() / 1000, sig, nodes,
                        elements: document.querySelectorAll('CHART').length});
  }, 100);
}""".replace("CHART", CHART.replace('"', '\\"'))


def watch_live_run(page, url, lower_steps=0, timeout_s=300):
    """Open Retrain live at `url`, move the step budget `lower_steps` notches down from the default,
    press Start and sample the chart until the run is done. Returns the measurements (dict)."""
    page.goto(f"{url}/retrain")  # the URL path is the page file's name
    page.get_by_role("heading", name="Retrain live").first.wait_for(timeout=90_000)
    page.locator(f"{CHART} svg.marks").first.wait_for(timeout=90_000)
    if lower_steps:
        page.get_by_role("slider").nth(1).focus()  # R, then the step budget
        for _ in range(lower_steps):
            page.keyboard.press("ArrowLeft")
        page.wait_for_timeout(1500)  # the rerun that takes the new budget
    page.evaluate(SAMPLER)
    page.get_by_role("button", name="Start retraining").click()
    done = page.get_by_text(re.compile(r"Retrained \d+ steps in"))
    done.wait_for(timeout=timeout_s * 1000)
    text = done.inner_text()
    samples = page.evaluate("() => { clearInterval(window.__liveTimer); return window.__live; }")
    steps, seconds = re.search(r"Retrained (\d+) steps in ([\d.]+) s", text).groups()
    # Redraws: changes of what the chart shows, counted between the first and the last change
    # (the training period: nothing changes before the job's first point or after its last).
    changes = [b["t"] for a, b in zip(samples, samples[1:]) if b["sig"] != a["sig"] and b["sig"]]
    span = changes[-1] - changes[0] if len(changes) > 1 else 0.0
    return {"steps": int(steps), "job_seconds": float(seconds), "job_steps_per_second": int(steps) / float(seconds),
            "redraws": len(changes), "redraw_span_seconds": span,
            "redraws_per_second": (len(changes) - 1) / span if span else 0.0,
            "chart_elements": max(s["elements"] for s in samples), "svg_roots_mounted": samples[-1]["nodes"],
            "exceptions": page.locator('[data-testid="stException"]').count()}


def plain_rate(saved, data, reduction, steps, threads):
    """Steps per second of lmf.train.train alone on the page's settings, the rest of the process on
    `threads` torch threads (training itself always runs on lmf.train's one thread)."""
    from lmf.compress import compress_model
    from lmf.metrics import torch_threads
    from lmf.train import train
    from studio.live import live_config
    with torch_threads(threads):
        result = train(compress_model(saved.model, reduction), data, live_config(saved.config["arch"], steps),
                       progress=False)
    return result.steps / result.seconds


def main(argv=None):
    from lmf import layout
    from lmf.artifacts import load_model
    from lmf.atomic import write_text_atomic
    from lmf.results import pairs, read_results
    from studio.live import DEFAULT_STEPS, TORCH_THREADS, evaluation_data, story_case

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--artifacts", default=str(layout.artifacts_dir()))
    p.add_argument("--json", help="also write the numbers here")
    p.add_argument("--screenshot", help="save the page after the run here (PNG)")
    args = p.parse_args(argv)
    layout.check_script_paths(p, args.artifacts, args.json)
    artifacts = Path(args.artifacts)
    quick = bool(layout.read_sweep_info(artifacts).get("quick"))
    # What the page opens on: the story case (a session's first visit), the default step budget.
    rows = read_results(artifacts)
    shipped = [pair for pair in pairs(rows) if layout.model_path(artifacts, *pair).is_dir()]
    dataset, model, reduction, _ = story_case(rows, shipped)
    saved = load_model(layout.model_path(artifacts, dataset, model))
    data = evaluation_data(dataset, saved.vocab, saved.label_names, quick)
    print(f"artifacts: {artifacts} (quick: {quick}); {dataset} {model}, R={reduction}, {DEFAULT_STEPS} steps")
    # The reference runs on the job's thread count (the same settings); training itself is always
    # one thread (lmf.train), so there is no "torch default" rate to set beside it.
    plain = [plain_rate(saved, data, reduction, DEFAULT_STEPS, TORCH_THREADS)]
    print(f"plain train(): {plain[0]:.1f} steps/s (training on one thread, as every lmf training)")

    from playwright.sync_api import sync_playwright
    with serve(env={"LMF_ARTIFACTS_DIR": artifacts}, timeout=90) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            live = watch_live_run(page, server.url)
            if args.screenshot:
                page.wait_for_timeout(1000)
                page.screenshot(path=args.screenshot, full_page=True)
        finally:
            browser.close()
    plain.append(plain_rate(saved, data, reduction, DEFAULT_STEPS, TORCH_THREADS))
    print(f"plain train() again: {plain[1]:.1f} steps/s")

    out = {**live, "plain_steps_per_second": statistics.mean(plain), "plain_runs": plain,
           "plain_threads": TORCH_THREADS,
           "rate_ratio": live["job_steps_per_second"] / statistics.mean(plain),
           # the machine's load drifts: the ratio against the slower and the faster plain run
           "rate_ratio_range": [live["job_steps_per_second"] / max(plain), live["job_steps_per_second"] / min(plain)],
           "dataset": dataset, "model": model, "reduction": reduction, "budget": DEFAULT_STEPS, "quick": quick,
           "targets": TARGETS, "load_average": os.getloadavg()}
    ok = {"rate_ratio": out["rate_ratio"] >= TARGETS["rate_ratio"],
          "redraws_per_second": out["redraws_per_second"] >= TARGETS["redraws_per_second"],
          "chart_elements": out["chart_elements"] == TARGETS["chart_elements"]}
    out["met"] = ok
    print(f"job in the app: {live['job_steps_per_second']:.1f} steps/s ({live['steps']} steps in "
          f"{live['job_seconds']:.1f} s) -> {out['rate_ratio']:.2f} x the plain loop's mean (target >= 0.8; "
          f"{out['rate_ratio_range'][0]:.2f}-{out['rate_ratio_range'][1]:.2f} against each plain run)")
    print(f"chart: {live['redraws']} redraws over {live['redraw_span_seconds']:.1f} s -> "
          f"{live['redraws_per_second']:.2f} a second (target >= 2); {live['chart_elements']} chart element(s) "
          f"(target 1), {live['svg_roots_mounted']} chart root(s) mounted; exceptions shown: {live['exceptions']}")
    print(f"load average: {out['load_average'][0]:.1f}; targets met: {ok}")
    if args.json:
        write_text_atomic(args.json, json.dumps(out, indent=1) + "\n")
    return 0 if all(ok.values()) and not live["exceptions"] else 1


if __name__ == "__main__":
    sys.exit(main())
