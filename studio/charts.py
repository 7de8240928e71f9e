"""Every chart the studio draws, as Plotly figures built from plain rows (tested without Streamlit);
the live retraining chart, redrawn a few times a second, is a Vega-Lite spec (see retrain_figure).

  size_accuracy_figure   accuracy against bytes for every method (colours, markers and legend
                         groups from lmf.methods), with the selection marked
  spectrum_figure        the embedding's singular values with the rank k marked
  flop_ratio_figure      F_S / F_Q against p (section 4) with the chosen p marked
  retrain_figure         dev accuracy while retraining, reference lines, the learning rate on a second
                         axis (Vega-Lite)
  schedule_figure        CLR and CALR learning rates by step

Deliberately not here: Streamlit calls (the app's pages place these figures), reading files, or
the report's PNG (sweep.report draws it with matplotlib from the same style table, lmf.methods).
"""
# pandas first, under the import lock: Plotly looks pandas up in sys.modules without it, and a
# pandas half-imported by another app session's thread makes a figure fail ("partially initialized").
import pandas  # noqa: F401  (imported for its side effect: see above)
import plotly.graph_objects as go

from lmf.methods import GROUP_NAMES, METHOD_ORDER, METHODS, REFERENCE_METHODS
from lmf.results import of_method
from lmf.units import in_percent, mb, megabytes, percent

MARGIN = dict(l=10, r=10, t=10, b=10)


def energy_kept(values, k):
    """Fraction of the squared singular values (the Frobenius energy) the top k keep."""
    squares = [float(v) ** 2 for v in values]
    total = sum(squares)
    return sum(squares[:k]) / total if k and total else 1.0


SIZE_TICKS_MB = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500)
CLIP_POINTS = 10  # the y-axis ends this many points below the uncompressed model's accuracy


def size_ticks(sizes_mb):
    """The 1-2-5 ticks (MB) that span `sizes_mb`, one tick beyond each end: a log axis readable in MB."""
    low, high = min(sizes_mb), max(sizes_mb)
    inside = [i for i, t in enumerate(SIZE_TICKS_MB) if low <= t <= high]
    first = max((inside[0] if inside else 0) - 1, 0)
    last = min((inside[-1] if inside else len(SIZE_TICKS_MB) - 1) + 1, len(SIZE_TICKS_MB) - 1)
    return list(SIZE_TICKS_MB[first:last + 1])


def accuracy_floor(summary, clip_points=CLIP_POINTS):
    """The y-axis' lower end, a fraction: the uncompressed model's accuracy minus `clip_points`
    points, or None (no clipping) without an uncompressed row."""
    base = next((r for r in summary if r["method"] == "uncompressed" and r["accuracy"] is not None), None)
    return None if base is None else base["accuracy"] - clip_points / 100


def size_accuracy_figure(summary, reference=(), selected=None, height=400, clip_points=CLIP_POINTS):
    """Accuracy (drawn in %; fractions in the rows) against size (MB, log axis) for every method of `summary`, fastText rows from
    `reference`; `selected` is (size_bytes, accuracy or None, label) to mark. The rows are
    lmf.selection.model_summary's: one accuracy per model, seed 0's (the model downloaded), the
    spread over seeds in the hover text rather than as error bars around another number.

    One legend group per kind of method (baselines, factorization, ...): a click on a group's
    title hides or shows the whole group. The y-axis starts `clip_points` below the uncompressed
    model's accuracy, where the models worth choosing are; a model below that (an SVD at R=98, a
    collapsed run) is drawn on the axis' edge as a downward arrow in its method's colour, with
    its real accuracy in the hover text, so it is marked rather than squashing every other point."""
    floor = accuracy_floor(summary, clip_points)
    fig = go.Figure()
    sizes, tops, clipped = [], [], 0
    for name in METHOD_ORDER:
        rows = of_method(reference if name in REFERENCE_METHODS else summary, name)
        rows = [r for r in rows if r["accuracy"] is not None]
        if not rows:
            continue
        method = METHODS[name]
        sizes += [megabytes(r["size_bytes"]) for r in rows]
        tops += [in_percent(r["accuracy"]) for r in rows]
        shown = [r for r in rows if floor is None or r["accuracy"] >= floor]
        below = [r for r in rows if floor is not None and r["accuracy"] < floor]
        common = dict(legendgroup=method.group, legendgrouptitle_text=GROUP_NAMES[method.group])
        fig.add_trace(go.Scatter(
            x=[megabytes(r["size_bytes"]) for r in shown], y=[in_percent(r["accuracy"]) for r in shown],
            mode="lines+markers" if method.line else "markers", name=method.label, **common,
            marker=dict(symbol=method.symbol, size=9, color=method.color), line=dict(color=method.color, width=1.5),
            text=[_hover(r) for r in shown], hovertemplate="%{text}<extra>" + method.label + "</extra>"))
        if below:
            clipped += len(below)
            fig.add_trace(go.Scatter(
                x=[megabytes(r["size_bytes"]) for r in below], y=[in_percent(floor)] * len(below), mode="markers",
                name=f"{method.label} (below the axis)", showlegend=False, **common,
                marker=dict(symbol="arrow-down", size=13, color=method.color, line=dict(width=1, color="white")),
                text=[_hover(r) for r in below], hovertemplate="%{text}<extra>" + method.label + "</extra>"))
    if selected is not None:
        size, accuracy, label = selected
        sizes.append(megabytes(size))
        if accuracy is not None:
            fig.add_trace(go.Scatter(x=[megabytes(size)], y=[in_percent(max(accuracy, floor) if floor is not None else accuracy)],
                                     mode="markers", name="Selected", legendgroup="selected",
                                     hovertemplate=f"{label}<br>%{{x:.2f}} MB<br>{percent(accuracy)}<extra></extra>",
                                     marker=dict(size=20, color="rgba(0,0,0,0)", line=dict(width=3, color="crimson"))))
        else:
            fig.add_vline(x=megabytes(size), line=dict(color="crimson", dash="dot"), annotation_text="selected size")
    ticks = size_ticks(sizes) if sizes else list(SIZE_TICKS_MB)
    fig.update_xaxes(type="log", tickvals=ticks, ticktext=[f"{t:g}" for t in ticks], title_text="size (MB, log scale)")
    fig.update_yaxes(title_text="test accuracy (%)")
    if floor is not None and tops:
        fig.update_yaxes(range=[in_percent(floor) - 0.6, max(tops) + 0.6])
    if clipped:
        fig.add_annotation(xref="paper", yref="paper", x=0, y=0, xanchor="left", yanchor="bottom", showarrow=False,
                           text=f"▼ {clipped} model(s) below {percent(floor, 1)} (hover for their accuracy)",
                           font=dict(size=11, color="#555"))
    fig.update_layout(height=height, margin=MARGIN,
                      legend=dict(font=dict(size=10), groupclick="togglegroup", tracegroupgap=2, itemwidth=30,
                                  grouptitlefont=dict(size=10), y=1, yanchor="top"))
    return fig


def _hover(row):
    r = row["embedding_reduction_pct"]
    spread = (f"<br>{row['seeds']} seeds: {100 * row['mean_accuracy']:.2f} ± {percent(row['accuracy_std'])}"
              if row["seeds"] > 1 and row.get("accuracy_std") is not None and row.get("mean_accuracy") is not None
              else "")
    which = "mean over seeds" if row.get("row", True) is None else "seed 0"  # no seed-0 row: the mean's numbers
    return f"{'R=' + str(r) + '%<br>' if r else ''}{mb(row['size_bytes'])}<br>{percent(row['accuracy'])} ({which}){spread}"


def spectrum_figure(values, k, height=340):
    fig = go.Figure(go.Scatter(x=list(range(1, len(values) + 1)), y=values, mode="lines", name="σ_i", fill="tozeroy"))
    fig.add_vline(x=k, line=dict(color="crimson", dash="dash"), annotation_text=f"k = {k}")
    fig.update_layout(xaxis_title="index i", yaxis_title="singular value σ_i", yaxis_type="log", height=height,
                      margin=MARGIN, showlegend=False)
    return fig


# The live chart's series colours: the run, the sweep's curve, the reference models, earlier runs.
LIVE_COLOR, SWEEP_COLOR, LR_COLOR = "crimson", "gray", "seagreen"
REFERENCE_COLORS = ("black", "royalblue", "darkorange")
EARLIER_COLORS = ("#e8a0a0", "#a9a0e8", "#8fc7e0", "#c9c98f")


AFTER_SVD = "right after the SVD"
AFTER_SVD_COLOR = "#e377c2"


def accuracy_extent(levels, min_span):
    """[low, high] (%) that takes in every one of `levels` with a margin of 8 % of their spread (at
    least half a point), widened about its middle to at least `min_span` points, so that
    noise-sized differences are not drawn large. Example: levels 55 and 90, min_span 5:
    margin 0.08 * 35 = 2.8, so [52.2, 92.8]; levels 81.0 and 81.9, min_span 5.2: [78.85, 84.05]."""
    low, high = min(levels), max(levels)
    margin = max(0.5, 0.08 * (high - low))
    low, high = low - margin, high + margin
    if high - low < min_span:
        middle = (low + high) / 2
        low, high = middle - min_span / 2, middle + min_span / 2
    return [round(low, 3), round(high, 3)]


def retrain_figure(history, lrs, total_steps, references=None, precomputed=None, earlier=(), height=380,
                   after_svd=None, min_span=0.0):
    """The live retraining chart as a Vega-Lite spec (a dict for st.vega_lite_chart): dev accuracy
    (%) on the left axis and, faint on the right axis, the learning rate, over steps 0..`total_steps`.
    One layered view, as wide as the page: Vega-Lite fits only single and layered views to their
    container (a vconcat of two panels ran off the page's right edge at 1280 px).

    `history` [(step, dev accuracy)] (fractions); `lrs` [(step, lr)]; `references` {name: dev
    accuracy in %} drawn as dotted rules; `after_svd` the dev accuracy (%) right after the SVD (the
    run's step 0, else the sweep curve's), a dashed rule, so the story's three levels are always
    there: the uncompressed model, right after the SVD, the live curve between them;
    `precomputed` the sweep's curve rows ({step, dev_accuracy}, dashed gray, cut at total_steps);
    `earlier` [(name, history)] kept runs, thin. The accuracy axis takes in every level and point
    and spans at least `min_span` points (accuracy_extent). Every series is named in the legend (above
    the chart, so the chart is as wide as the page), none on the chart: a label there would be
    struck through by a neighbouring line (8-bit and 16-bit sit a fraction of a point apart).

    What changes during a run is data, never the spec: the levels and the axis' extent travel as
    datasets (the extent as two invisible points), so Streamlit keeps the chart and only takes the
    new rows. Vega-Lite rather than Plotly, unlike the other charts here: Streamlit 1.67 gives a
    Plotly chart an id hashed from its content, so each redraw of a live Plotly chart remounts it
    (a new element, drawn from scratch), while a Vega-Lite chart with the same spec keeps its view
    and only takes the new rows. Building this dict also costs well under a millisecond, against
    ~30 ms for the equivalent validated Plotly figure, time the training thread would wait for the GIL."""
    total = max(int(total_steps), 1)
    live, sweep = "live: dev accuracy", "precomputed (sweep)"
    acc, names, colors = [], [], []

    def series(name, color, rows, width, dash=False):
        names.append(name)
        colors.append(color)
        acc.extend({"step": step, "accuracy": round(100 * a, 3), "series": name, "w": width, "dash": dash}
                   for step, a in rows if step <= total)

    if precomputed:
        series(sweep, SWEEP_COLOR, [(r["step"], r["dev_accuracy"]) for r in precomputed], 1.5, dash=True)
    for (name, rows), color in zip(earlier, EARLIER_COLORS):
        series(name, color, rows, 1.5)
    series(live, LIVE_COLOR, history, 3)
    refs = []
    for (name, value), color in zip((references or {}).items(), REFERENCE_COLORS):
        label = f"{name} ({value:.1f} %)"
        names.append(label)
        colors.append(color)
        refs.append({"accuracy": round(value, 3), "series": label, "dash": False})
    names.append(AFTER_SVD)  # always in the legend: its value arrives with the run's step 0
    colors.append(AFTER_SVD_COLOR)
    if after_svd is not None:
        refs.append({"accuracy": round(after_svd, 3), "series": AFTER_SVD, "dash": True})
    levels = [r["accuracy"] for r in refs] + [r["accuracy"] for r in acc]
    extent = [{"accuracy": a} for a in accuracy_extent(levels, min_span)] if levels else []
    x = {"field": "step", "type": "quantitative", "title": "mini-batch step", "axis": {"tickCount": 10},
         "scale": {"domain": [0, total], "nice": False}}
    y = {"field": "accuracy", "type": "quantitative", "title": "dev accuracy (%)", "scale": {"zero": False}}
    color = {"field": "series", "type": "nominal", "title": None, "sort": names,
             "scale": {"domain": names, "range": colors}, "legend": {"orient": "top", "columns": 3}}
    accuracy = {"layer": [
        {"data": {"name": "extent"}, "mark": {"type": "point", "opacity": 0}, "encoding": {"x": x, "y": y}},
        *({"data": {"name": "refs"}, "transform": [{"filter": ("" if after else "!") + "datum.dash"}],
           "mark": {"type": "rule", "strokeWidth": 2 if after else 1.5, "strokeDash": [8, 4] if after else [2, 3]},
           "encoding": {"y": y, "color": color, "tooltip": [{"field": "series"}, {"field": "accuracy", "format": ".2f"}]}}
          for after in (False, True)),
        {"data": {"name": "accuracy"}, "mark": {"type": "line", "point": {"size": 25}, "clip": True},
         "encoding": {"x": x, "y": y, "color": color,
                      "strokeWidth": {"field": "w", "type": "quantitative", "scale": None},
                      "strokeDash": {"field": "dash", "type": "nominal", "legend": None,
                                     "scale": {"domain": [False, True], "range": [[1, 0], [6, 4]]}},
                      "tooltip": [{"field": "series"}, {"field": "step"}, {"field": "accuracy", "format": ".2f"}]}},
    ]}
    rate = {"data": {"name": "lr"}, "mark": {"type": "line", "color": LR_COLOR, "opacity": 0.45, "strokeWidth": 1,
                                             "clip": True},
            "encoding": {"x": x, "y": {"field": "lr", "type": "quantitative", "title": "learning rate (green)",
                                       "axis": {"orient": "right", "format": ".0e", "titleColor": LR_COLOR}},
                         "tooltip": [{"field": "step"}, {"field": "lr", "format": ".2e"}]}}
    return {"$schema": "https://vega.github.io/schema/vega-lite/v5.json",
            "datasets": {"accuracy": acc, "refs": refs, "extent": extent,
                         "lr": [{"step": s, "lr": lr} for s, lr in lrs]},
            "width": "container", "height": height, "autosize": {"type": "fit", "contains": "padding"},
            "layer": [accuracy, rate], "resolve": {"scale": {"y": "independent"}}}


def schedule_figure(curves, steps_per_epoch, epochs, height=380):
    """`curves` {name: [lr at step 0, 1, ...]} drawn against the step, epoch boundaries marked."""
    fig = go.Figure()
    for (name, values), color in zip(curves.items(), ("royalblue", "crimson", "seagreen")):
        fig.add_trace(go.Scatter(x=list(range(len(values))), y=values, mode="lines", name=name, line=dict(color=color)))
    for epoch in range(1, epochs):
        fig.add_vline(x=epoch * steps_per_epoch, line=dict(color="lightgray", width=1))
    fig.update_layout(xaxis_title="mini-batch step", yaxis_title="learning rate", height=height, margin=MARGIN)
    return fig


def flop_ratio_figure(curve, p, ratio=None, height=300):
    """`curve` [(p, F_S / F_Q)] (studio.analysis.flop_ratio_curve) as a line, the chosen `p` marked
    (at `ratio`, its exact F_S / F_Q, when given), and the break-even F_S = F_Q."""
    fig = go.Figure(go.Scatter(x=[x for x, _ in curve], y=[y for _, y in curve], mode="lines", name="F_S / F_Q",
                               line=dict(color="#d62728"), hovertemplate="p = %{x:.2f}<br>F_S / F_Q = %{y:.3f}<extra></extra>"))
    fig.add_hline(y=1, line=dict(color="gray", dash="dot"), annotation_text="F_S = F_Q",
                  annotation_position="bottom right")
    if ratio is not None:
        fig.add_trace(go.Scatter(x=[p], y=[ratio], mode="markers", name=f"p = {p:.2f}",
                                 marker=dict(size=13, color="crimson", symbol="circle-open", line=dict(width=3))))
    fig.add_vline(x=p, line=dict(color="crimson", dash="dash"), annotation_text=f"p = {p:.2f}")
    fig.update_layout(xaxis_title="p = 1 - R (fraction of the layer's weights kept)", yaxis_title="F_S / F_Q",
                      height=height, margin=MARGIN, showlegend=False)
    fig.update_xaxes(range=[0, 1])
    return fig
