"""studio.charts without Streamlit: what each figure holds, on hand-made summary rows."""
import pytest

from studio.charts import (AFTER_SVD, accuracy_extent, accuracy_floor, flop_ratio_figure, retrain_figure,
                           size_accuracy_figure, size_ticks)
from lmf.methods import GROUP_NAMES, METHODS


def row(method, reduction, size_mb, accuracy, seeds=1, std=None, mean=None):
    """A model_summary row; accuracies given in percent for reading, stored as fractions like lmf's."""
    return {"method": method, "embedding_reduction_pct": reduction, "size_bytes": size_mb * 1e6,
            "accuracy": accuracy / 100, "accuracy_std": None if std is None else std / 100, "seeds": seeds,
            "mean_accuracy": (mean or accuracy) / 100}


SUMMARY = [row("uncompressed", 0, 20.0, 83.0, 3, 0.4, 83.2), row("lmf", 50, 10.0, 82.5, 3, 0.3), row("lmf", 90, 5.0, 82.0),
           row("offline_svd", 98, 1.0, 60.0), row("quant8", 0, 5.5, 82.9)]


def traces(fig):
    return {t.name: t for t in fig.data}


def test_size_ticks_are_1_2_5_around_the_data():
    assert size_ticks([0.3, 3.2]) == [0.2, 0.5, 1, 2, 5]
    assert size_ticks([0.7, 21.2]) == [0.5, 1, 2, 5, 10, 20, 50]


def test_points_below_the_floor_are_arrows_on_the_axis():
    fig = size_accuracy_figure(SUMMARY)
    assert accuracy_floor(SUMMARY) == pytest.approx(0.73)  # 83 % - 10 points
    shown = traces(fig)
    lmf = shown[METHODS["lmf"].label]
    assert list(lmf.x) == [5.0, 10.0] and list(lmf.y) == pytest.approx([82.0, 82.5])  # smallest first, drawn in %
    # the 60 % offline SVD is not in its line but an arrow at the floor, its accuracy in the hover
    assert len(shown[METHODS["offline_svd"].label].x) == 0
    below = shown[f"{METHODS['offline_svd'].label} (below the axis)"]
    assert list(below.y) == pytest.approx([73.0]) and below.marker.symbol == "arrow-down" and "60.00 %" in below.text[0]
    assert below.showlegend is False and below.legendgroup == METHODS["offline_svd"].group
    # y from just under the floor to the highest accuracy (83.0) and 0.6 above
    assert fig.layout.yaxis.range == pytest.approx((72.4, 83.6))
    assert "1 model(s) below 73.0 %" in fig.layout.annotations[0].text
    assert list(fig.layout.xaxis.tickvals) == [0.5, 1, 2, 5, 10, 20, 50]


def test_one_accuracy_per_model_the_spread_in_the_hover():
    """Each point is the row's accuracy (seed 0's, lmf.selection.model_summary), with no error bar
    around it; the spread over seeds (3 seeds: mean 83.2 ± 0.4) is in the hover text only."""
    base = traces(size_accuracy_figure(SUMMARY))[METHODS["uncompressed"].label]
    assert list(base.y) == pytest.approx([83.0]) and not base.error_y.visible
    assert "83.00 % (seed 0)" in base.text[0] and "3 seeds: 83.20 ± 0.40 %" in base.text[0]
    one = traces(size_accuracy_figure(SUMMARY))[METHODS["lmf"].label]
    assert "seeds:" not in one.text[0], "one seed: no spread"


def test_groups_toggle_and_colours_are_the_registry_s():
    fig = size_accuracy_figure(SUMMARY)
    assert fig.layout.legend.groupclick == "togglegroup"
    for name in ("uncompressed", "lmf", "quant8"):
        trace = traces(fig)[METHODS[name].label]
        assert trace.legendgroup == METHODS[name].group
        assert trace.legendgrouptitle.text == GROUP_NAMES[METHODS[name].group]
        assert trace.marker.color == METHODS[name].color
    assert len({METHODS[m].color for m in METHODS}) == len(METHODS), "no two methods share a colour"


def test_selected_point_is_marked_and_kept_on_screen():
    fig = size_accuracy_figure(SUMMARY, selected=(2e6, 0.65, "SVD only, R=97%"))
    mark = traces(fig)["Selected"]
    assert list(mark.x) == [2.0] and list(mark.y) == pytest.approx([73.0]), "a selection below the floor sits on the axis"
    vline = size_accuracy_figure(SUMMARY, selected=(2e6, None, "SVD only"))
    assert "Selected" not in traces(vline) and vline.layout.shapes[0].x0 == 2.0


def test_flop_ratio_figure_marks_p():
    curve = [(0.1, 0.1), (0.5, 0.5), (0.9, 0.9)]
    fig = flop_ratio_figure(curve, 0.5, 0.49)
    line, mark = fig.data
    assert list(line.x) == [0.1, 0.5, 0.9] and list(mark.x) == [0.5] and list(mark.y) == [0.49]
    assert {s.y0 for s in fig.layout.shapes if s.type == "line" and s.y0 == s.y1} == {1}, "the break-even line"


def test_accuracy_extent_takes_in_the_levels_and_a_minimum_span():
    """The worked examples of its docstring: 55 and 90 with a margin of 0.08 * 35 = 2.8 points; 81.0
    and 81.9 widened about their middle 81.45 to the 5.2-point minimum span."""
    assert accuracy_extent([55.0, 90.0], 5) == [52.2, 92.8]
    assert accuracy_extent([81.0, 81.9], 5.2) == [78.85, 84.05]


def test_retrain_chart_always_shows_the_three_levels():
    """Uncompressed at 90.3 % (a dotted reference), right after the SVD at 55.2 % (dashed, named in
    the legend whether or not it is known yet), the live curve between them; the axis' extent is
    data (two invisible points spanning all three), so the spec does not change while a run
    draws: only its datasets do."""
    history = [(0, 0.552), (10, 0.70), (20, 0.80)]
    refs = {"uncompressed": 90.3}
    spec = retrain_figure(history, [(1, 1e-3)], 300, refs, after_svd=55.2, min_span=3.3)
    top = spec["layer"][0]  # the accuracy layers; spec["layer"][1] is the learning rate, on its own axis
    assert AFTER_SVD in top["layer"][-1]["encoding"]["color"]["scale"]["domain"]
    levels = {r["series"]: r["accuracy"] for r in spec["datasets"]["refs"]}
    assert levels == {"uncompressed (90.3 %)": 90.3, AFTER_SVD: 55.2}
    low, high = (r["accuracy"] for r in spec["datasets"]["extent"])
    assert low < 55.2 and high > 90.3 and low < 70.0 < high
    # one layered view (Vega-Lite fits only those to the page's width), the legend above it
    assert spec["width"] == "container" and spec["autosize"]["type"] == "fit" and "vconcat" not in spec
    assert top["layer"][-1]["encoding"]["color"]["legend"]["orient"] == "top"
    later = retrain_figure(history + [(30, 0.85)], [(1, 1e-3), (2, 1e-3)], 300, refs, after_svd=55.2, min_span=3.3)
    assert {k: v for k, v in later.items() if k != "datasets"} == {k: v for k, v in spec.items() if k != "datasets"}
    before_start = retrain_figure([], [], 300, refs, min_span=3.3)
    assert AFTER_SVD in before_start["layer"][0]["layer"][-1]["encoding"]["color"]["scale"]["domain"]


def test_retrain_chart_does_not_draw_noise_large():
    """SST-2's DAN: the SVD moves dev from 81.9 to 81.0 %, within noise. With a minimum span of 6
    standard errors (6 x 1.3 = 7.8 points) the axis spans 7.8 points, not the 1.9 of the data."""
    spec = retrain_figure([(0, 0.810), (12, 0.815)], [], 300, {"uncompressed": 81.9}, after_svd=81.0, min_span=7.8)
    low, high = (r["accuracy"] for r in spec["datasets"]["extent"])
    assert high - low == pytest.approx(7.8)
