"""studio.charts without Streamlit: what each figure holds, on hand-made summary rows."""
import pytest

from studio.charts import accuracy_floor, flop_ratio_figure, size_accuracy_figure, size_ticks
from lmf.methods import GROUP_NAMES, METHODS


def row(method, reduction, size_mb, accuracy, seeds=1, std=None):
    return {"method": method, "embedding_reduction_pct": reduction, "size_bytes": size_mb * 1e6,
            "accuracy": accuracy, "accuracy_std": std, "seeds": seeds}


SUMMARY = [row("uncompressed", 0, 20.0, 83.0, 3, 0.4), row("lmf", 50, 10.0, 82.5, 3, 0.3), row("lmf", 90, 5.0, 82.0),
           row("offline_svd", 98, 1.0, 60.0), row("quant8", 0, 5.5, 82.9)]


def traces(fig):
    return {t.name: t for t in fig.data}


def test_size_ticks_are_1_2_5_around_the_data():
    assert size_ticks([0.3, 3.2]) == [0.2, 0.5, 1, 2, 5]
    assert size_ticks([0.7, 21.2]) == [0.5, 1, 2, 5, 10, 20, 50]


def test_points_below_the_floor_are_arrows_on_the_axis():
    fig = size_accuracy_figure(SUMMARY)
    assert accuracy_floor(SUMMARY) == 73.0  # 83 - 10 points
    shown = traces(fig)
    lmf = shown[METHODS["lmf"].label]
    assert list(lmf.x) == [5.0, 10.0] and list(lmf.y) == [82.0, 82.5]  # smallest first
    # the 60 % offline SVD is not in its line but an arrow at the floor, its accuracy in the hover
    assert len(shown[METHODS["offline_svd"].label].x) == 0
    below = shown[f"{METHODS['offline_svd'].label} (below the axis)"]
    assert list(below.y) == [73.0] and below.marker.symbol == "arrow-down" and "60.00 %" in below.text[0]
    assert below.showlegend is False and below.legendgroup == METHODS["offline_svd"].group
    # y from just under the floor to the highest mean + std (83.4)
    assert fig.layout.yaxis.range == pytest.approx((72.4, 84.0))
    assert "1 model(s) below 73.0 %" in fig.layout.annotations[0].text
    assert list(fig.layout.xaxis.tickvals) == [0.5, 1, 2, 5, 10, 20, 50]


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
    fig = size_accuracy_figure(SUMMARY, selected=(2e6, 65.0, "SVD only, R=97%"))
    mark = traces(fig)["Selected"]
    assert list(mark.x) == [2.0] and list(mark.y) == [73.0], "a selection below the floor sits on the axis"
    vline = size_accuracy_figure(SUMMARY, selected=(2e6, None, "SVD only"))
    assert "Selected" not in traces(vline) and vline.layout.shapes[0].x0 == 2.0


def test_flop_ratio_figure_marks_p():
    curve = [(0.1, 0.1), (0.5, 0.5), (0.9, 0.9)]
    fig = flop_ratio_figure(curve, 0.5, 0.49)
    line, mark = fig.data
    assert list(line.x) == [0.1, 0.5, 0.9] and list(mark.x) == [0.5] and list(mark.y) == [0.49]
    assert {s.y0 for s in fig.layout.shapes if s.type == "line" and s.y0 == s.y1} == {1}, "the break-even line"
