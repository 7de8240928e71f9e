"""Section 4, interactive: FLOPs of a factorized layer against a quantized one, and when LMF wins."""
import streamlit as st

from lmf import results as lmf_results
from studio.analysis import flop_ratio_curve, measured_time_ratio, section4
from studio.charts import flop_ratio_figure
from lmf.compress import fraction_for_reduction
from studio import ui

st.title("Analysis: when is LMF smaller and faster than quantization?")
st.caption("The paper's section 4 for one m x n layer: LMF replaces W (m x n) by W_a (m x k) W_b (k x n) at full "
           "precision; quantization keeps W and stores each weight in B_Q instead of B_S bits.")

dataset, model = ui.selected()
defaults = {"m": 16000, "n": 300}
config = ui.config(dataset, model)  # meta.json only: no weights, no torch
if config and config.get("vocab_size") and config.get("embed_dim"):
    defaults = {"m": int(config["vocab_size"]), "n": int(config["embed_dim"])}
else:  # no model: the generic sizes still make the analysis usable
    st.caption(f"No saved {ui.model_name(model)} for {ui.dataset_name(dataset)}: starting from a 16,000 x 300 layer.")

c1, c2, c3 = st.columns(3)
# Keyed by the selection: another dataset or model starts from its own embedding's m and n.
m = c1.number_input("m (rows: vocabulary size)", 2, 10_000_000, defaults["m"], key=f"an_m_{dataset}_{model}")
n = c2.number_input("n (columns: embedding width)", 2, 100_000, defaults["n"], key=f"an_n_{dataset}_{model}")
reduction = c3.slider("Reduction R (%)", 1, 98, 90, key="an_reduction")
p = fraction_for_reduction(reduction)
c4, c5, c6 = st.columns(3)
bits_s = c4.select_slider("B_S: full-precision bits", [16, 32, 64], value=32, key="an_bs")
bits_q = c5.select_slider("B_Q: quantized bits", [2, 4, 8, 16], value=8, key="an_bq")

results = ui.cached_results_quiet()
summary = lmf_results.summary_for(results, dataset, model) if results is not None else None
measured = measured_time_ratio(summary, f"quant{bits_q}") if summary is not None and bits_q in (8, 16) else None
source = c6.radio("T_Q / T_S from", ["measured latencies", "bits (the paper's assumption)"],
                  index=0 if measured is not None else 1, key="an_source")
time_ratio = measured if source == "measured latencies" and measured is not None else None
if source == "measured latencies" and measured is None:
    st.info(f"No measured latency for {bits_q}-bit {ui.model_name(model)} on {ui.dataset_name(dataset)} in results.csv; "
            "using T_Q/T_S = B_Q/B_S.")

try:
    a = section4(int(m), int(n), p, bits_q, bits_s, time_ratio)
except ValueError as e:  # nothing below is drawn: no result of earlier inputs stays on screen
    st.error(f"No factorization for these inputs: {e}")
    st.stop()

k1, k2, k3, k4 = st.columns(4)
k1.metric("Rank k (eq. 5)", a["k"])
k2.metric("F_Q, quantized (eq. 9)", f"{a['flops_quantized']:,}")
k3.metric("F_S, LMF (eq. 10)", f"{a['flops_lmf']:,}", f"{100 * a['flop_ratio']:.1f} % of F_Q", delta_color="off", delta_arrow="off")
k4.metric("Weights kept", f"{a['params_lmf']:,}", f"p = {p:.2f} of {a['params_dense']:,}", delta_color="off", delta_arrow="off")

yes = lambda ok: "**yes**" if ok else "no"
st.markdown(f"""
| Condition | Inequality | Values | Holds |
|---|---|---|---|
| Fewer FLOPs (eq. 11) | F_S < F_Q | {a['flops_lmf']:,} < {a['flops_quantized']:,} | {yes(a['fewer_flops'])} |
| Smaller (eq. 8) | p < B_Q / B_S | {p:.3f} < {a['space_ratio']:.3f} | {yes(a['smaller'])} |
| Faster (eq. 15) | p < T_Q / T_S | {p:.3f} < {a['time_ratio']:.3f} ({'assumed = B_Q/B_S' if a['time_ratio_assumed'] else 'measured'}) | {yes(a['faster'])} |
| Faster, exact (eq. 13) | F_Q T_Q > F_S T_S | {a['flops_quantized'] * a['time_ratio']:,.0f} > {a['flops_lmf']:,} | {yes(a['faster_exact'])} |
""")
(st.success if a["smaller"] and a["faster"] else st.warning)(a["verdict"])
if a["time_ratio_assumed"] is False:
    st.caption(f"T_Q / T_S = {a['time_ratio']:.2f} is the measured latency of the {bits_q}-bit {ui.model_name(model)} "
               "divided by the uncompressed model's (results.csv): both do the same FLOPs, so the ratio of their "
               "times is the ratio of their times per FLOP. Measured by the sweep on its CPU, each model's ONNX Runtime "
               "export (fp16 or int8) end to end; a ratio near 1 means quantization buys little speed there.")

st.markdown("#### FLOPs of the factorized layer against the dense one")
st.plotly_chart(flop_ratio_figure(flop_ratio_curve(int(m), int(n)), p, a["flop_ratio"]), key="an_flops")
st.caption(f"F_S / F_Q for this {int(m):,} x {int(n):,} layer as p varies (eq. 9-10 with k from eq. 5); below the dotted "
           f"line LMF does fewer FLOPs. At p = {p:.2f}: {a['flop_ratio']:.3f}.")
