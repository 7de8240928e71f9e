"""Learning-rate schedules: CLR and CALR (Algorithm 1) from lmf.schedules, and Table 1 from the sweep."""
import plotly.express as px
import streamlit as st

import ui
from lmf import catalog, studio
from lmf.report import table1

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
    frame = studio.schedule_frame(steps_per_epoch, epochs, lr_lb, lr_ub, step_size, decay)
    fig = px.line(frame, x="step", y="lr", color="schedule", labels={"step": "mini-batch step", "lr": "learning rate"},
                  color_discrete_map={"CLR": "royalblue", "CALR": "crimson"})
    for epoch in range(1, epochs):
        fig.add_vline(x=epoch * steps_per_epoch, line=dict(color="lightgray", width=1))
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=10, b=10))
    st.plotly_chart(fig, key="schedules")
    st.caption("Gray lines mark epoch boundaries, where CALR's upper bound decays.")

st.markdown("### Table 1: CALR vs CLR vs AdaGrad (uncompressed models)")
dataset = st.session_state.get("dataset", catalog.DEFAULT_DATASET)
schedules = ui.schedules()
if schedules is not None:
    if schedules[schedules.dataset == dataset].empty:
        st.info(f"schedules.csv has no rows for {ui.dataset_name(dataset)}.")
    else:
        st.markdown(table1(schedules, dataset))
        st.caption(f"{ui.dataset_name(dataset)} test accuracy by schedule, from `schedules.csv` "
                   "(lmf.report.table1, the same table as REPORT.md). AdaGrad runs at a constant rate.")
