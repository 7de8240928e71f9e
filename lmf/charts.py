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
from plotly.subplots import make_subplots

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


def retrain_figure(history, lrs, total_steps, references=None, precomputed=None, height=480):
    """`history` [{step, dev_accuracy}] (fractions), `lrs` [(step, lr)], `references` {name: dev
    accuracy in %}, `precomputed` the sweep's curve rows; the x-axis spans `total_steps`."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.06)
    if precomputed:
        fig.add_trace(go.Scatter(x=[r["step"] for r in precomputed], y=[100 * r["dev_accuracy"] for r in precomputed],
                                 mode="lines", name="precomputed (sweep)", line=dict(color="gray", dash="dash")),
                      row=1, col=1)
    if history:
        fig.add_trace(go.Scatter(x=[h["step"] for h in history], y=[100 * h["dev_accuracy"] for h in history],
                                 mode="lines+markers", name="live: dev accuracy", line=dict(color="crimson", width=3)),
                      row=1, col=1)
    for (name, value), color in zip((references or {}).items(), ("black", "royalblue", "darkorange")):
        fig.add_hline(y=value, line=dict(color=color, dash="dot"), annotation_text=name,
                      annotation_position="bottom right", row=1, col=1)
    if lrs:
        fig.add_trace(go.Scatter(x=[s for s, _ in lrs], y=[lr for _, lr in lrs], mode="lines", name="learning rate",
                                 line=dict(color="seagreen")), row=2, col=1)
    fig.update_xaxes(range=[0, max(total_steps, 1)], row=1, col=1)
    fig.update_xaxes(title_text="mini-batch step", range=[0, max(total_steps, 1)], row=2, col=1)
    fig.update_yaxes(title_text="dev accuracy (%)", row=1, col=1)
    fig.update_yaxes(title_text="lr", row=2, col=1)
    fig.update_layout(height=height, margin=MARGIN, legend=dict(orientation="h", y=1.08))
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
