"""Learning-rate schedules: CLR and CALR (Algorithm 1) from lmf.schedules, and Table 1 from the sweep."""
import streamlit as st

from studio.analysis import schedule_gaps
from studio.charts import schedule_figure
from lmf.schedules import schedule_curves
from sweep.tables import table1
from lmf.units import percent, points
from studio import ui

st.title("Learning-rate schedules")
st.caption("CLR (Smith 2017) cycles the rate between a lower and an upper bound. CALR, the paper's Algorithm 1, "
           "also multiplies the upper bound by exp(decay) every epoch and resets it once it falls to the lower bound.")

c1, c2 = st.columns(2)
lr_lb, lr_ub = c1.slider("Bounds LR_LB – LR_UB", 0.0001, 0.01, (0.0001, 0.002), step=0.0001, format="%.4f",
                         key="sched_bounds")
steps_per_epoch = c2.slider("Mini-batches per epoch", 10, 1000, 100, step=10, key="sched_spe")
step_size = c1.slider("Step size (half-cycle, mini-batches)", 1, 1000, 50, key="sched_step")
decay = c2.slider("CALR decay (exponent per epoch)", -3.0, 0.0, -0.5, step=0.05, key="sched_decay")
epochs = c1.slider("Epochs", 1, 20, 6, key="sched_epochs")

if lr_ub <= lr_lb:
    st.warning("The upper bound must be above the lower bound.")
else:
    curves = schedule_curves(("clr", "calr"), steps_per_epoch, epochs, lr_lb, lr_ub, step_size, decay)
    st.plotly_chart(schedule_figure(curves, steps_per_epoch, epochs), key="schedules")
    st.caption("Gray lines mark epoch boundaries, where CALR's upper bound decays.")

st.markdown("### Table 1: CALR vs CLR vs AdaGrad (uncompressed models)")
dataset, _ = ui.selected()
schedules = ui.schedules()
if schedules is not None:
    if not any(r["dataset"] == dataset for r in schedules):
        st.info(f"schedules.csv has no rows for {ui.dataset_name(dataset)}.")
    else:
        st.markdown(table1(schedules, dataset))
        gaps = schedule_gaps(schedules, dataset)
        for name, clr, calr, gap in gaps:
            st.warning(f"**CLR beats CALR for the {ui.model_name(name)}** on {ui.dataset_name(dataset)}: "
                       f"{percent(clr)} against {percent(calr)} test accuracy (seed 0), {points(gap, sign=False)}.",
                       icon=":material/compare_arrows:")
        if not gaps:
            st.success(f"CALR is at least as accurate as CLR for every model on {ui.dataset_name(dataset)} (seed 0).",
                       icon=":material/check_circle:")
        st.caption(f"{ui.dataset_name(dataset)} test accuracy by schedule, from `schedules.csv` "
                   "(sweep.tables.table1, the same table as REPORT.md). AdaGrad runs at a constant rate.")
