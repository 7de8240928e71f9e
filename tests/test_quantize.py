"""lmf.quantize: symmetric per-row fixed point, its error bound, the bytes it saves, and the
low-precision latency model."""
import copy

import pytest
import torch

from lmf.artifacts import WEIGHTS, load_model, save_model
from lmf.data import Vocab
from lmf.tokenize import PAD, UNK
from lmf.models import build_model, default_config
from lmf.quantize import (dequantize_state_dict, fake_quantize, latency_model, quantize_model,
                          quantize_state_dict, quantize_tensor)


def test_worked_example_8_bit():
    """w = [1, -0.5, 0.25, 0] at 8 bits: qmax = 127, scale = max|w| / 127 = 1/127;
    w / scale = [127, -63.5, 31.75, 0] -> round (half to even) -> [127, -64, 32, 0]."""
    q, scale = quantize_tensor(torch.tensor([1.0, -0.5, 0.25, 0.0]), 8)
    assert q.dtype == torch.int8
    assert q.tolist() == [127, -64, 32, 0]
    assert scale.item() == pytest.approx(1 / 127)


@pytest.mark.parametrize("bits, dtype, qmax", [(8, torch.int8, 127), (16, torch.int16, 32767)])
def test_error_at_most_half_a_step(bits, dtype, qmax):
    """Per row r: scale_r = max_j |w_rj| / qmax, and round() moves w / scale by at most 1/2, so
    |w - q scale| <= scale / 2 for every element; the row's extreme maps to +-qmax.
    float32 adds a sliver: w / scale (|.| <= qmax) is computed with two roundings of relative size
    2^-24 each (scale's and the division's), i.e. at most qmax * 2^-23 steps: 1.5e-5 of a step at
    8 bits, 0.004 at 16. The bound checked, in float64: scale * (1/2 + qmax * 2^-22)."""
    w = torch.randn(30, 17) * torch.logspace(-3, 1, 30)[:, None]  # rows of very different scales
    q, scale = quantize_tensor(w, bits)
    assert q.dtype == dtype and scale.shape == (30, 1)
    assert torch.allclose(scale, w.abs().amax(1, keepdim=True) / qmax)
    error = (w.double() - q.double() * scale.double()).abs()
    assert (error <= scale.double() * (0.5 + qmax * 2.0 ** -22)).all()
    assert (error > scale.double() * 0.4).any()  # the bound is nearly reached, so it is the right one
    assert (q.abs().amax(1) == qmax).all()


def test_16_bits_is_much_finer_than_8():
    """The step shrinks by 32767 / 127 = 258x, so the worst error drops by about that much."""
    w = torch.randn(50, 40)
    e8 = (fake_quantize(w, 8) - w).abs().max()
    e16 = (fake_quantize(w, 16) - w).abs().max()
    assert e16 < e8 / 100


def test_vector_one_scale_and_zero_row():
    q, scale = quantize_tensor(torch.tensor([0.5, -2.0]), 16)
    assert scale.shape == (1,) and q.tolist() == [8192, -32767]  # 0.5 / (2 / 32767) = 8191.75 -> 8192
    q, scale = quantize_tensor(torch.zeros(2, 3), 8)
    assert (q == 0).all() and (scale == 1).all()


def test_bad_bits():
    with pytest.raises(ValueError, match="8 or 16"):
        quantize_tensor(torch.ones(2), 4)
    with pytest.raises(ValueError, match="8 or 16"):
        quantize_model(build_model(default_config("dan", 5, 2)), 32)


def test_state_dict_roundtrip():
    state = {"w": torch.randn(4, 3), "b": torch.randn(3), "n": torch.tensor([7])}
    packed = quantize_state_dict(state, 8)
    assert set(packed) == {"w", "w.__scale__", "b", "b.__scale__", "n"}
    assert packed["n"] is state["n"]
    unpacked = dequantize_state_dict(packed)
    assert set(unpacked) == {"w", "b", "n"}
    assert torch.equal(unpacked["w"], fake_quantize(state["w"], 8))


def test_quantize_model_copies_and_rounds():
    model = build_model(default_config("lstm", 40, 2, embed_dim=8))
    before = copy.deepcopy(model.state_dict())
    quantized = quantize_model(model, 8)
    assert quantized.config["bits"] == 8 and "bits" not in model.config
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    for name, value in quantized.state_dict().items():
        assert torch.equal(value, fake_quantize(before[name], 8)), name
        assert not torch.equal(value, before[name]), name


def vocab_of(n):
    return Vocab([PAD, UNK] + [f"w{i}" for i in range(n - 2)], [0] * n)


@pytest.mark.parametrize("bits", [8, 16])
def test_saved_file_shrinks_by_expected_factor(tmp_path, bits):
    """DAN, V = 2000, d = 300, 2 classes. Weights: N = 600,000 (embedding) + 307,200 + 1,024 +
    524,288 + 512 + 1,024 + 2 = 1,434,050, i.e. 4N = 5,736,200 bytes in float32. Quantized: N * bits/8
    bytes of integers plus one fp32 scale per matrix row (2000 + 1024 + 512 + 2 = 3,538 rows) and
    per bias vector (3), i.e. 4 * 3,541 = 14,164 bytes of scales. Expected data bytes:
    8 bits -> 1,434,050 + 14,164 = 1,448,214 (ratio 3.96); 16 bits -> 2,868,100 + 14,164 =
    2,882,264 (ratio 1.99). The files also hold a JSON header of about a kilobyte."""
    model = build_model(default_config("dan", 2000, 2))
    N = sum(p.numel() for p in model.parameters())
    assert N == 1_434_050
    expected = N * bits // 8 + 4 * 3_541
    save_model(tmp_path / "float", model, vocab_of(2000), ["a", "b"])
    save_model(tmp_path / "quant", quantize_model(model, bits), vocab_of(2000), ["a", "b"])
    float_bytes = (tmp_path / "float" / WEIGHTS).stat().st_size
    quant_bytes = (tmp_path / "quant" / WEIGHTS).stat().st_size
    assert 0 <= float_bytes - 4 * N < 2_000
    assert 0 <= quant_bytes - expected < 2_000
    assert float_bytes / quant_bytes == pytest.approx(4 * N / expected, rel=0.01)


@pytest.mark.parametrize("arch", ["dan", "lstm"])
@pytest.mark.parametrize("bits", [8, 16])
def test_save_load_reproduces_quantized_weights_exactly(tmp_path, arch, bits):
    quantized = quantize_model(build_model(default_config(arch, 100, 3, embed_dim=16)), bits)
    save_model(tmp_path / "m", quantized, vocab_of(100), ["a", "b", "c"])
    loaded = load_model(tmp_path / "m")
    assert loaded.config["bits"] == bits
    state = quantized.state_dict()
    assert all(torch.equal(state[k], v) for k, v in loaded.model.state_dict().items())


@pytest.mark.parametrize("arch", ["dan", "lstm"])
@pytest.mark.parametrize("bits", [8, 16])
def test_latency_model_agrees_with_float_model(arch, bits):
    """PyTorch's int8 / fp16 kernels change logits slightly: the predicted class agrees on at least
    95 % of 300 random sentences, and the float model is left as it was."""
    model = build_model(default_config(arch, 500, 2, embed_dim=64)).eval()
    before = copy.deepcopy(model.state_dict())
    fast = latency_model(model, bits)
    ids = torch.randint(2, 500, (300, 12))
    with torch.no_grad():
        agree = (model(ids).argmax(-1) == fast(ids).argmax(-1)).float().mean().item()
    assert agree >= 0.95
    assert type(fast.out).__module__.startswith("torch.ao.nn.quantized")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("first, second", [(8, 16), (16, 8), (8, 8)])
def test_a_quantized_model_is_not_quantized_again(first, second):
    """Issue 23.7: an 8-bit model re-quantized to 16 bits held the same 8-bit values in twice the
    bytes (2.72 -> 5.32 MB on SST-2's DAN). Any quantization of a quantized model is refused with
    the check compressing one already has (quantize.check_unquantized); the model is untouched."""
    model = quantize_model(build_model(default_config("dan", 10, 2, embed_dim=4)), first)
    with pytest.raises(ValueError, match=rf"the model is {first}-bit quantized; quantizing it to {second} bits "
                                         "would round what is rounded already.*quantize the unquantized model"):
        quantize_model(model, second)
    assert model.config["bits"] == first
