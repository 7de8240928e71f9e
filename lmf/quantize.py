"""Baseline 1: post-training fixed-point quantization of every weight to 16 or 8 bits.

Linear symmetric quantization: q = round(w / s) clipped to +-(2^(b-1) - 1), w ~ q s, with one scale
per row for matrices (the embedding gets a scale per word) and one per tensor for vectors. The
rounding error of every weight is at most s / 2.

This is the paper's fixed-point simulation and PyTorch's own kernels; the studio's deployable 8/16-bit
models are ONNX exports (lmf.export: int8 by ONNX Runtime, fp16 weights), measured as such.
- The simulation (results.csv's fixed_point_accuracy): `quantize_model` returns a float model whose
  weights are exactly the dequantized values q s, so evaluation sees precisely what a fixed-point
  model holds. `quantize_state_dict` turns those weights into int8/int16 tensors plus float32
  scales, which is what artifacts.py writes for a model whose config says `bits` (about 4x smaller
  for 8 bits, 2x for 16).
- Eager PyTorch latency (results.csv's eager_latency_ms_b1 of the 8/16-bit rows and int8 stacks):
  `latency_model` gives PyTorch's real low-precision kernels: dynamic int8 quantization of Linear
  and LSTM layers (int8 weights, int8 GEMMs via fbgemm/onednn) for 8 bits, and float16 weight
  storage (dynamic fp16, computed in fp32) for 16 bits. The embedding lookup stays float32 there.

Deliberately not here: quantization-aware training, or stacking with LMF (issue-level work).
"""
import copy
import warnings

import torch
from torch import nn

INT_DTYPES = {8: torch.int8, 16: torch.int16}
SCALE_SUFFIX = ".__scale__"


def _check_bits(bits):
    if bits not in INT_DTYPES:
        raise ValueError(f"bits must be 8 or 16 (got {bits!r})")


def quantize_tensor(w, bits):
    """(q, scale): integer tensor of width `bits` and float32 scale(s), per row for 2-D tensors."""
    _check_bits(bits)
    qmax = 2 ** (bits - 1) - 1
    w = w.detach().float()
    amax = w.abs().amax(dim=1, keepdim=True) if w.dim() == 2 else w.abs().max().reshape(1)
    scale = torch.where(amax > 0, amax / qmax, torch.ones_like(amax))
    q = torch.round(w / scale).clamp(-qmax, qmax).to(INT_DTYPES[bits])
    return q, scale


def dequantize_tensor(q, scale):
    return q.float() * scale


def fake_quantize(w, bits):
    """w rounded to the nearest value a `bits`-bit fixed-point tensor holds, as float32."""
    return dequantize_tensor(*quantize_tensor(w, bits))


def quantize_state_dict(state, bits):
    """A state dict's floating tensors as integers plus `<name>.__scale__` scales (for saving)."""
    out = {}
    for name, tensor in state.items():
        if tensor.is_floating_point():
            out[name], out[name + SCALE_SUFFIX] = quantize_tensor(tensor, bits)
        else:
            out[name] = tensor
    return out


def dequantize_state_dict(tensors):
    """Inverse of quantize_state_dict: float32 weights from integers and their scales."""
    state = {}
    for name, tensor in tensors.items():
        if name.endswith(SCALE_SUFFIX):
            continue
        scale = tensors.get(name + SCALE_SUFFIX)
        state[name] = dequantize_tensor(tensor, scale) if scale is not None else tensor
    return state


def check_unquantized(model, consequence):
    """ValueError when `model` is quantized already (its config records `bits`): `consequence` says
    what doing it again would give and what to do instead. The one check for every operation that
    needs the float model (compress.with_embedding for every compression, quantize_model)."""
    if model.config.get("bits"):
        raise ValueError(f"the model is {model.config['bits']}-bit quantized; {consequence}")


def quantize_model(model, bits):
    """A copy of `model` whose every floating weight is rounded to `bits`-bit fixed point
    (the original is untouched); its config records `bits` so that saving stores integers.

    A model quantized already is refused (check_unquantized): 8 -> 16 bits stored its 8-bit values
    in twice the bytes (2.72 -> 5.32 MB on SST-2's DAN, not one value finer), 16 -> 8 rounds twice."""
    _check_bits(bits)
    check_unquantized(model, f"quantizing it to {bits} bits would round what is rounded already (8 -> 16 "
                             "bits doubles the bytes and keeps the 8-bit values): quantize the unquantized model")
    quantized = copy.deepcopy(model)
    with torch.no_grad():
        for param in quantized.parameters():
            param.copy_(fake_quantize(param, bits))
    quantized.config = {**model.config, "bits": bits}
    return quantized


def latency_model(model, bits):
    """A CPU inference copy using PyTorch's low-precision kernels (see the module docstring)."""
    _check_bits(bits)
    dtype = torch.qint8 if bits == 8 else torch.float16
    model = copy.deepcopy(model).cpu().eval()
    with warnings.catch_warnings():
        # torch.ao.quantization is deprecated in 2.13 but is still the way to reach int8 kernels.
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, {nn.Linear, nn.LSTM}, dtype=dtype)
