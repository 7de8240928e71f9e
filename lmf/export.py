"""Export a saved lmf model as a deployable directory that runs on ONNX Runtime without torch.

    model.onnx       the classifier: int64 token ids [batch, seq] padded with PAD_ID -> logits
    tokenizer.json   vocabulary (itos), label names, lmf.tokenize.settings() (and an n-gram model's
                     lmf.ngrams.settings: its graph is a DAN's, its ids the words' then the n-grams')
    manifest.json    format "lmf-export", sha256 of the two files above, what was exported

The graph is written by hand with onnx.helper from the model's weights rather than traced, so
that every model kind keeps its structure: a factorized embedding stays W_a (a V x k Gather)
and W_b (a k x d MatMul) stored apart, and a DAN averages the k-dimensional rows first and
applies W_b once (exact, W_b being linear), as models.FactorizedEmbedding.mean does. HMF and
GroupReduce average each part in its own width and project each part once, for the same reason.
The LSTM is ONNX's LSTM op with `sequence_lens` = the number of non-PAD ids (at least 1, as
models.LSTMClassifier does), whose Y_h is the state after each row's last real token: the same
as torch's pack_padded_sequence. The graph's only input is the ids; the mask and lengths are
computed inside it from PAD_ID, so nothing can disagree with the ids.

A saved quantized model (config `bits`, 8 or 16) is exported with its dequantized weights in
fp32: lmf.artifacts.load_model already gives them, they are exactly the values the torch model
computes with, so accuracy is the saved model's. manifest.json notes `source_bits`. For a small
file, export at precision "int8" (ONNX Runtime's own quantization, see `quantize_int8`, about
4x smaller) or "fp16" (float16 weights, 2x smaller, fp32 arithmetic): these are the sweep's
deployable 8-bit and 16-bit models (lmf.methods' `deploy`).

Deliberately not here: running the export (lmf.runtime), timing it (lmf.latency).
"""
import json
import logging
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .errors import LmfError
from .artifacts import load_model
from .atomic import replace_dir
from .layout import file_sha256, is_lmf_output, refusal
from .runtime import FORMAT, MANIFEST, MODEL, TOKENIZER
from .ngrams import settings as ngram_settings
from .tokenize import PAD_ID, settings

FORMAT_VERSION = 1
OPSET = 17


class ExportError(LmfError, ValueError):
    """A model that cannot be exported, or an --out directory that must not be replaced."""


class _Graph:
    """Nodes and initializers, each named once; `op` returns its (first) output's name. With
    `fp16`, every float weight is stored as float16 and cast to float32 where it is used (ONNX
    Runtime folds the cast once, at load: the file halves, the arithmetic stays fp32)."""

    def __init__(self, fp16=False):
        self.nodes, self.initializers, self._n, self.fp16 = [], [], 0, fp16

    def name(self, hint):
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, hint, array):
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def weight(self, hint, tensor):
        return self.param(hint, tensor.detach().cpu().float().numpy())

    def param(self, hint, array):
        """A float weight: float32, or float16 cast to float32 when the graph is fp16."""
        if not self.fp16:
            return self.const(hint, np.asarray(array, np.float32))
        return self.op("Cast", [self.const(hint, np.asarray(array, np.float16))], to=TensorProto.FLOAT, hint=hint)

    def op(self, op_type, inputs, outputs=1, hint=None, **attrs):
        names = [self.name(hint or op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, **attrs))
        return names[0] if outputs == 1 else names

    def linear(self, x, layer):
        """x W^T + b for an nn.Linear (bias optional)."""
        y = self.op("MatMul", [x, self.weight("w", layer.weight.T)])
        return y if layer.bias is None else self.op("Add", [y, self.weight("b", layer.bias)])


def _masked_sum(g, vectors, mask3):
    """Sum over the sequence of [B, T, k] vectors times a [B, T, 1] 0/1 mask: [B, k]."""
    return g.op("ReduceSum", [g.op("Mul", [vectors, mask3]), g.const("axis", np.array([1], np.int64))],
                keepdims=0)


def _embedding(g, emb, ids, mask3, mean, count=None):
    """Per-token vectors [B, T, d] of embedding module `emb`, or with mean=True their masked
    average [B, d] (`count` [B, 1] = non-PAD tokens, at least 1)."""
    kind = type(emb).__name__
    if kind == "DenseEmbedding":
        rows = g.op("Gather", [g.weight("table", emb.table.weight), ids])
        return g.op("Div", [_masked_sum(g, rows, mask3), count]) if mean else rows
    if kind == "FactorizedEmbedding":
        rows = g.op("Gather", [g.weight("W_a", emb.table.weight), ids])  # [B, T, k]
        W_b = g.weight("W_b", emb.project.weight.T)
        if mean:
            return g.op("MatMul", [g.op("Div", [_masked_sum(g, rows, mask3), count]), W_b])
        return g.op("MatMul", [rows, W_b])
    if kind == "HybridEmbedding":
        r_d = emb.dense_rows
        is_dense = g.op("Less", [ids, g.const("r_d", np.array(r_d, np.int64))])
        dense = g.op("Gather", [g.weight("dense", emb.dense.weight),
                                g.op("Min", [ids, g.const("last", np.array(r_d - 1, np.int64))])])
        low_ids = g.op("Max", [g.op("Sub", [ids, g.const("r_d", np.array(r_d, np.int64))]),
                               g.const("zero", np.array(0, np.int64))])
        low = g.op("Gather", [g.weight("W_a", emb.low_table.weight), low_ids])
        W_b = g.weight("W_b", emb.project.weight.T)
        if not mean:
            return g.op("Where", [g.op("Unsqueeze", [is_dense, g.const("axis", np.array([2], np.int64))]),
                                  dense, g.op("MatMul", [low, W_b])])
        dense_mask = g.op("Mul", [mask3, _unsqueeze_float(g, is_dense)])
        low_mask = g.op("Sub", [mask3, dense_mask])
        total = g.op("Add", [_masked_sum(g, dense, dense_mask),
                             g.op("MatMul", [_masked_sum(g, low, low_mask), W_b])])
        return g.op("Div", [total, count])
    if kind == "GroupEmbedding":
        row = g.op("Cast", [g.op("Gather", [g.const("row", emb.row.cpu().numpy()), ids])], to=TensorProto.INT64)
        total, start = None, 0
        for n, table, project in zip(emb.block_sizes, emb.tables, emb.projects):
            local = g.op("Sub", [row, g.const("start", np.array(start, np.int64))])
            inside = g.op("And", [g.op("GreaterOrEqual", [local, g.const("zero", np.array(0, np.int64))]),
                                  g.op("Less", [local, g.const("n", np.array(n, np.int64))])])
            local = g.op("Clip", [local, g.const("zero", np.array(0, np.int64)), g.const("last", np.array(n - 1, np.int64))])
            rows = g.op("Gather", [g.weight("W_a", table.weight), local])
            block_mask = g.op("Mul", [mask3, _unsqueeze_float(g, inside)])  # PAD's output is zero, as in torch
            W_b = g.weight("W_b", project.weight.T)
            part = (g.op("MatMul", [_masked_sum(g, rows, block_mask), W_b]) if mean
                    else g.op("MatMul", [g.op("Mul", [rows, block_mask]), W_b]))
            total = part if total is None else g.op("Add", [total, part])
            start += n
        return g.op("Div", [total, count]) if mean else total
    raise ExportError(f"cannot export an embedding of type {kind}")


def _unsqueeze_float(g, boolean):
    return g.op("Unsqueeze", [g.op("Cast", [boolean], to=TensorProto.FLOAT), g.const("axis", np.array([2], np.int64))])


def _lstm_weights(lstm):
    """ONNX's W, R, B from torch's LSTM: torch stacks the gates i, f, g, o; ONNX wants i, o, f, c."""
    H = lstm.hidden_size
    order = lambda t: np.concatenate([t[0:H], t[3 * H:4 * H], t[H:2 * H], t[2 * H:3 * H]])
    W = order(lstm.weight_ih_l0.detach().float().cpu().numpy())[None]
    R = order(lstm.weight_hh_l0.detach().float().cpu().numpy())[None]
    B = np.concatenate([order(lstm.bias_ih_l0.detach().float().cpu().numpy()),
                        order(lstm.bias_hh_l0.detach().float().cpu().numpy())])[None]
    return W, R, B


def build_onnx(model, fp16=False):
    """An onnx.ModelProto computing `model`'s logits (eval mode) from int64 ids [batch, seq];
    `fp16` stores the weights as float16 (see _Graph)."""
    arch = model.config["arch"]
    g = _Graph(fp16)
    ids = "ids"
    not_pad = g.op("Not", [g.op("Equal", [ids, g.const("pad", np.array(PAD_ID, np.int64))])])
    mask = g.op("Cast", [not_pad], to=TensorProto.FLOAT)  # [B, T]
    mask3 = g.op("Unsqueeze", [mask, g.const("axis", np.array([2], np.int64))])
    if arch == "dan":
        count = g.op("Max", [g.op("ReduceSum", [mask, g.const("axis", np.array([1], np.int64))], keepdims=1),
                             g.const("one", np.array(1.0, np.float32))])
        x = _embedding(g, model.embedding, ids, mask3, mean=True, count=count)
        for layer in model.layers:
            if hasattr(layer, "first"):  # FactorizedLinear: two MatMuls, the rank-k one first
                x = g.linear(g.linear(x, layer.first), layer.second)
            else:
                x = g.linear(x, layer)
            x = g.op("Relu", [x])
        logits = g.linear(x, model.out)
    elif arch == "lstm":
        if model.lstm.num_layers != 1 or model.lstm.bidirectional:
            raise ExportError("only a one-layer, one-direction LSTM can be exported")
        vectors = _embedding(g, model.embedding, ids, mask3, mean=False)
        steps = g.op("Transpose", [vectors], perm=[1, 0, 2])  # ONNX's LSTM wants [T, B, d]
        lengths = g.op("Cast", [g.op("Max", [g.op("ReduceSum", [mask, g.const("axis", np.array([1], np.int64))], keepdims=0),
                                             g.const("one", np.array(1.0, np.float32))])], to=TensorProto.INT32)
        W, R, B = _lstm_weights(model.lstm)
        _, last = g.op("LSTM", [steps, g.param("W", W), g.param("R", R), g.param("B", B), lengths],
                       outputs=2, hidden_size=model.lstm.hidden_size)
        logits = g.linear(g.op("Squeeze", [last, g.const("axis", np.array([0], np.int64))]), model.out)
    else:
        raise ExportError(f"cannot export a model of type {arch!r}")
    g.nodes.append(helper.make_node("Identity", [logits], ["logits"]))
    graph = helper.make_graph(
        g.nodes, "lmf", [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", model.config["num_classes"]])],
        g.initializers)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="lmf")
    onnx_model.ir_version = 8  # readable by every onnxruntime since 1.10
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model


def quantize_int8(fp32_path, int8_path):
    """ONNX Runtime dynamic quantization: int8 weights for every MatMul and the LSTM (activations
    quantized on the fly per call), and every embedding table stored as int8 too (Gather
    quantization: the table is gathered in int8 and the rows dequantized), so the file is about 4x
    smaller. Dynamic for every kind, DAN and LSTM alike. Measured (scripts/bench_latency.py, committed
    R=90 models, all test sentences, batch 1 median on one thread of a shared 2-core machine):
    int8 accuracy within 0.3 points of fp32 for all 13 models (SST-2 DAN LMF 83.09 vs 82.81,
    LSTM LMF 82.81 vs 82.70; CLINC150 DAN LMF 89.49 vs 89.56), at 0.47-0.77x fp32's batch-1 time
    and 0.27-0.34x its directory bytes. Static (QDQ) quantization was not measured: it needs
    calibration texts an export of a saved model does not carry, ORT has no static LSTM, and
    dynamic already meets the 0.5-point accuracy target everywhere."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    # Its "consider pre-processing" warning is about shape inference for conv nets; our graph's
    # shapes are all known. logging.disable is the only switch (it logs to the root logger).
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(str(fp32_path), str(int8_path), op_types_to_quantize=["MatMul", "Gather", "LSTM"],
                         weight_type=QuantType.QInt8)
    finally:
        logging.disable(logging.NOTSET)


def tokenizer_content(saved):
    """tokenizer.json's object for a lmf.artifacts.SavedModel: its words (a pruned model's are only
    the words it kept, lmf.prune), its labels and lmf.tokenize.settings(), to which an n-gram
    model adds lmf.ngrams.settings, so that a runtime that cannot make its n-gram ids refuses it."""
    tokenizer = settings()
    if saved.config.get("ngrams"):
        tokenizer = {**tokenizer, **ngram_settings(saved.config["ngrams"], saved.config["buckets"])}
    return {"itos": saved.vocab.itos, "label_names": saved.label_names, "tokenizer": tokenizer}


def is_export(path):
    """True when `path` holds an lmf export and nothing else (lmf.layout.is_lmf_output: manifest.json
    says so and lists every other file there with a matching sha256)."""
    return is_lmf_output(path, MANIFEST, FORMAT)


PRECISIONS = ("fp32", "fp16", "int8")


def export_model(model_dir, out, *, int8=False, precision=None):
    """Export the saved model in `model_dir` to directory `out` (see the module docstring); returns
    `out`. `precision` is "fp32" (the default), "fp16" (weights stored as float16) or "int8"
    (quantize_int8); `int8=True` is short for precision="int8". An existing `out` is replaced only
    if it is empty or an earlier lmf export holding nothing else (lmf.layout.refusal, the rule
    every --out follows): a file added to it, or one changed, is named and kept."""
    precision = precision or ("int8" if int8 else "fp32")
    if precision not in PRECISIONS:
        raise ExportError(f"precision must be one of {', '.join(PRECISIONS)} (got {precision!r})")
    int8 = precision == "int8"
    out = Path(out)
    why = refusal(out, MANIFEST, FORMAT)  # before the model is read and the graph built
    if why:
        raise ExportError(f"{why}; an existing --out is replaced only when it holds nothing but an earlier lmf export")
    saved = load_model(model_dir)
    onnx_model = build_onnx(saved.model, fp16=precision == "fp16")
    tokenizer = tokenizer_content(saved)

    def fill(tmp):
        if int8:
            onnx.save(onnx_model, tmp / "fp32.onnx")
            quantize_int8(tmp / "fp32.onnx", tmp / MODEL)
            (tmp / "fp32.onnx").unlink()
        else:
            onnx.save(onnx_model, tmp / MODEL)
        (tmp / TOKENIZER).write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")
        manifest = {"format": FORMAT, "format_version": FORMAT_VERSION,
                    "files": {name: file_sha256(tmp / name) for name in (MODEL, TOKENIZER)},
                    "int8": int8, "precision": precision, "source": saved.path.name, "config": saved.config,
                    "source_bits": saved.config.get("bits"),
                    "note": ("weights dequantized from the saved model's "
                             f"{saved.config['bits']}-bit integers, stored as fp32") if saved.config.get("bits") else None}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")

    try:
        return replace_dir(out, fill, owned=is_export)
    except FileExistsError as e:
        raise ExportError(f"{e} (an existing --out is replaced only when it is an earlier lmf export)") from e


def export_trained(model, vocab, label_names, out, precision="fp32"):
    """Export a model held in memory (a live retraining's, an SVD-only one): saved with
    lmf.artifacts.save_model to a temporary directory, then export_model to `out`; returns `out`."""
    import tempfile

    from .artifacts import save_model
    with tempfile.TemporaryDirectory() as tmp:
        saved = save_model(Path(tmp) / Path(out).name, model, vocab, label_names)
        return export_model(saved, out, precision=precision)


def zip_export(model, vocab, label_names, name, precision="fp32"):
    """The export of an in-memory model, as directory `name`, as zip bytes (a download)."""
    import tempfile

    from .layout import zip_model
    with tempfile.TemporaryDirectory() as tmp:
        return zip_model(export_trained(model, vocab, label_names, Path(tmp) / name, precision))


def export_size(model, vocab, label_names, precision="fp32"):
    """Bytes on disk of the export of an in-memory model: the size a card shows for it."""
    import tempfile

    from .metrics import size_on_disk
    with tempfile.TemporaryDirectory() as tmp:
        return size_on_disk(export_trained(model, vocab, label_names, Path(tmp) / "model", precision))
