"""Every chart the studio draws, as Plotly figures built from plain rows (tested without Streamlit).

  size_accuracy_figure   accuracy against bytes for every method (colours, markers and legend
                         groups from lmf.methods), with the selection marked
  spectrum_figure        the embedding's singular values with the rank k marked
  retrain_figure         dev accuracy while retraining, reference lines, the learning rate beneath
  schedule_figure        CLR and CALR learning rates by step

Deliberately not here: Streamlit calls (the app's pages place these figures), reading files, or
the report's PNG (lmf.report draws it with matplotlib from the same style table, lmf.methods).
"""
# pandas first, under the import lock: Plotly looks pandas up in sys.modules without it, and a
# pandas half-imported by another app session's thread makes a figure fail ("partially initialized").
import pandas  # noqa: F401
import plotly.graph_objects as go

from .methods import GROUP_NAMES, METHOD_ORDER, METHODS, REFERENCE_METHODS
from .results import of_method

MARGIN = dict(l=10, r=10, t=10, b=10)


def energy_kept(values, k):
    """Fraction of the squared singular values (the Frobenius energy) the top k keep."""
    squares = [float(v) ** 2 for v in values]
    total = sum(squares)
    return sum(squares[:k]) / total if k and total else 1.0


def size_accuracy_figure(summary, reference=(), selected=None, height=420):
    """Accuracy (%) against size (MB, log axis) for every method of `summary`, fastText rows from
    `reference`; `selected` is (size_bytes, accuracy or None, label) to mark."""
    fig = go.Figure()
    for name in METHOD_ORDER:
        rows = of_method(reference if name in REFERENCE_METHODS else summary, name)
        if not rows:
            continue
        method = METHODS[name]
        fig.add_trace(go.Scatter(
            x=[r["size_bytes"] / 1e6 for r in rows], y=[r["accuracy"] for r in rows],
            mode="lines+markers" if method.line else "markers", name=method.label,
            legendgroup=method.group, legendgrouptitle_text=GROUP_NAMES[method.group],
            marker=dict(symbol=method.symbol, size=10, color=method.color), line=dict(color=method.color),
            error_y=dict(type="data", array=[r["accuracy_std"] or 0 for r in rows], visible=True),
            text=[f"R={r['embedding_reduction_pct']}%" for r in rows],
            hovertemplate="%{text}<br>%{x:.2f} MB<br>%{y:.2f} %<extra>" + method.label + "</extra>"))
    if selected is not None:
        size, accuracy, label = selected
        if accuracy is not None:
            fig.add_trace(go.Scatter(x=[size / 1e6], y=[accuracy], mode="markers", name=f"Selected: {label}",
                                     marker=dict(size=22, color="rgba(0,0,0,0)", line=dict(width=3, color="crimson"))))
        else:
            fig.add_vline(x=size / 1e6, line=dict(color="crimson", dash="dot"), annotation_text="selected size")
    fig.update_layout(xaxis_title="size (MB, log scale)", yaxis_title="test accuracy (%)", xaxis_type="log",
                      height=height, margin=MARGIN, legend=dict(font=dict(size=11), groupclick="togglegroup"))
    return fig


def spectrum_figure(values, k, height=340):
    fig = go.Figure(go.Scatter(x=list(range(1, len(values) + 1)), y=values, mode="lines", name="σ_i", fill="tozeroy"))
    fig.add_vline(x=k, line=dict(color="crimson", dash="dash"), annotation_text=f"k = {k}")
    fig.update_layout(xaxis_title="index i", yaxis_title="singular value σ_i", yaxis_type="log", height=height,
                      margin=MARGIN, showlegend=False)
    return fig


def retrain_figure(history, lrs, total_steps, references=None, precomputed=None, earlier=(), height=480):
    """Dev accuracy while retraining (top) and the learning rate (bottom), x-axis 0..`total_steps`.

    `history` [(step, dev accuracy)] (fractions), `lrs` [(step, lr)], `references` {name: dev
    accuracy in %} drawn as dotted horizontal lines named in the legend (a label on the chart would
    be struck through by a neighbouring line: 8-bit and 16-bit sit a fraction of a point apart),
    `precomputed` the sweep's curve rows ({step, dev_accuracy}), `earlier` [(name, history)] kept
    runs drawn thin. Built as one go.Figure with two stacked y-axes rather than make_subplots: the
    live page redraws it a few times a second and make_subplots alone costs ~20 ms."""
    total = max(int(total_steps), 1)
    pct = lambda rows: [100 * a for _, a in rows]  # noqa: E731
    traces = []
    if precomputed:
        traces.append(go.Scatter(x=[r["step"] for r in precomputed], y=[100 * r["dev_accuracy"] for r in precomputed],
                                 mode="lines", name="precomputed (sweep)", line=dict(color="gray", dash="dash")))
    for (name, value), color in zip((references or {}).items(), ("black", "royalblue", "darkorange")):
        traces.append(go.Scatter(x=[0, total], y=[value, value], mode="lines", name=f"{name} ({value:.1f} %)",
                                 line=dict(color=color, dash="dot", width=1.5), hoverinfo="name"))
    for (name, rows), color in zip(earlier, ("#f4a3a3", "#b9a3f4", "#a3d9f4", "#d9d9a3")):
        traces.append(go.Scatter(x=[s for s, _ in rows], y=pct(rows), mode="lines", name=name,
                                 line=dict(color=color, width=1.5)))
    traces.append(go.Scatter(x=[s for s, _ in history], y=pct(history), mode="lines+markers",
                             name="live: dev accuracy", line=dict(color="crimson", width=3)))
    traces.append(go.Scatter(x=[s for s, _ in lrs], y=[lr for _, lr in lrs], mode="lines", name="learning rate",
                             line=dict(color="seagreen"), xaxis="x2", yaxis="y2"))
    fig = go.Figure(traces)
    fig.update_layout(
        height=height, margin=MARGIN, legend=dict(orientation="h", y=1.02, yanchor="bottom"),
        uirevision="live",  # a zoom the user made survives the updates
        xaxis=dict(range=[0, total], anchor="y", matches="x2", showticklabels=False),
        yaxis=dict(title_text="dev accuracy (%)", domain=[0.34, 1.0]),
        xaxis2=dict(range=[0, total], anchor="y2", title_text="mini-batch step"),
        yaxis2=dict(title_text="lr", domain=[0.0, 0.26], exponentformat="e"))
    return fig


def schedule_figure(curves, steps_per_epoch, epochs, height=380):
    """`curves` {name: [lr at step 0, 1, ...]} drawn against the step, epoch boundaries marked."""
    fig = go.Figure()
    for (name, values), color in zip(curves.items(), ("royalblue", "crimson", "seagreen")):
        fig.add_trace(go.Scatter(x=list(range(len(values))), y=values, mode="lines", name=name, line=dict(color=color)))
    for epoch in range(1, epochs):
        fig.add_vline(x=epoch * steps_per_epoch, line=dict(color="lightgray", width=1))
    fig.update_layout(xaxis_title="mini-batch step", yaxis_title="learning rate", height=height, margin=MARGIN)
    return fig
