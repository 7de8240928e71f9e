"""The paper's section 4 for one layer: when LMF is smaller and faster than b-bit quantization.

For an m x n layer at fraction p = 1 - R against b-bit quantization: the rank k (eq. 5), the
FLOPs F_Q and F_S (eq. 9-10), and whether LMF does fewer FLOPs (eq. 11), is smaller (eq. 8:
p < B_Q/B_S) and is faster (eq. 15: p < T_Q/T_S, with T_Q/T_S measured or assumed proportional to
the bits, as the paper does).

`schedule_gaps` says where one learning-rate schedule beat another in Table 1 (schedules.csv).

Deliberately not here: measuring latency (the sweep does) or drawing anything.
"""
from lmf.compress import rank_for_fraction
from lmf.metrics import flops_dense, flops_factorized
from lmf.results import find, seed_row

FULL_PRECISION_BITS = 32


def measured_time_ratio(summary, method):
    """T_Q / T_S estimated from measured latencies: the quantized model does the same FLOPs as the
    uncompressed one, so the ratio of their latencies is the ratio of their times per FLOP.
    None when the latencies were not measured."""
    quant, base = find(summary, method), find(summary, "uncompressed")
    if quant is None or base is None or quant["latency_ms_b1"] is None or not base["latency_ms_b1"]:
        return None
    return quant["latency_ms_b1"] / base["latency_ms_b1"]


def section4(m, n, p, bits_quantized, bits_full=FULL_PRECISION_BITS, time_ratio=None):
    """k, F_Q, F_S and the conditions of the module docstring for one layer, plus a one-line verdict."""
    k = rank_for_fraction(p, m, n)
    f_q, f_s = flops_dense(m, n), flops_factorized(m, n, k)
    space_ratio = bits_quantized / bits_full
    assumed = time_ratio is None
    time_ratio = space_ratio if assumed else time_ratio
    # eq. (13) exactly: F_Q T_Q > F_S T_S  <=>  F_Q / F_S > T_S / T_Q
    faster_exact = f_q * time_ratio > f_s
    out = {"k": k, "flops_quantized": f_q, "flops_lmf": f_s, "flop_ratio": f_s / f_q,
           "fewer_flops": f_s < f_q, "space_ratio": space_ratio, "smaller": p < space_ratio,
           "time_ratio": time_ratio, "time_ratio_assumed": assumed, "faster": p < time_ratio,
           "faster_exact": faster_exact, "params_lmf": k * (m + n), "params_dense": m * n}
    if out["smaller"] and out["faster"]:
        verdict = f"LMF wins: smaller than {bits_quantized}-bit quantization and faster (p = {p:.2f} is below both ratios)."
    elif out["smaller"]:
        verdict = (f"LMF is smaller than {bits_quantized}-bit quantization but not guaranteed faster: "
                   f"p = {p:.2f} is not below T_Q/T_S = {time_ratio:.2f}.")
    elif out["faster"]:
        verdict = (f"LMF is faster than {bits_quantized}-bit quantization but larger: "
                   f"p = {p:.2f} is not below B_Q/B_S = {space_ratio:.2f}.")
    else:
        verdict = (f"{bits_quantized}-bit quantization wins on both size and speed at p = {p:.2f}; "
                   f"compress harder (p below {min(space_ratio, time_ratio):.2f}).")
    out["verdict"] = verdict
    return out


def flop_ratio_curve(m, n, points=49):
    """[(p, F_S / F_Q)] for p from 0.02 to 0.98: where the factorized layer costs fewer FLOPs."""
    out = []
    for i in range(1, points + 1):
        p = i / (points + 1)
        try:
            k = rank_for_fraction(p, m, n)
        except ValueError:
            continue
        out.append((p, flops_factorized(m, n, k) / flops_dense(m, n)))
    return out


def schedule_gaps(schedule_rows, dataset, better="clr", worse="calr"):
    """[(model, accuracy of `better`, accuracy of `worse`, difference)] for each model of `dataset`
    where `better` beats `worse` on seed 0 test accuracy (fractions, as in the rows), the comparison
    Table 1 makes (CLR and AdaGrad run with seed 0 only)."""
    def seed0(model, schedule):
        row = seed_row(schedule_rows, dataset=dataset, model=model, schedule=schedule)
        return None if row is None else row["accuracy"]
    out = []
    for model in dict.fromkeys(r["model"] for r in schedule_rows if r["dataset"] == dataset):
        a, b = seed0(model, better), seed0(model, worse)
        if a is not None and b is not None and a > b:
            out.append((model, a, b, a - b))
    return out
