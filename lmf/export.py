"""Export a saved lmf model as a deployable directory that runs on ONNX Runtime without torch.

    model.onnx       the classifier: int64 token ids [batch, seq] padded with PAD_ID -> logits
                     [batch, C], and the answer: label [batch] (int64) and probability [batch]
    tokenizer.json   label names, lmf.tokenize.settings() (and an n-gram model's lmf.ngrams.settings:
                     its graph is a DAN's, its ids the words' then the n-grams'), and `words`
    words.zlib       the vocabulary (itos, a word's id is its index): a JSON array, zlib-compressed
    manifest.json    format "lmf-export", sha256 of the three files above, what was exported

The vocabulary is compressed because a small model's words outweigh its weights: SST-2's 14,733
words took 173,155 bytes of tokenizer.json (format_version 2) and take 61,863 in words.zlib, beside
the 101,982 bytes of the recommended SST-2 DAN's model.onnx (whole-model LMF + int8, R = 98: its
export 275,532 -> 164,926 bytes). zlib at level 9 gives the same bytes wherever the zlib is the same.

The graph is written by hand with onnx.helper from the model's weights rather than traced, and is
the smallest that computes the model, for batch 1 as for a padded batch:
- a factorized embedding keeps W_a (a V x k table) and never stores the V x d product; its W_b
  (k x d) is folded into the next linear map when the product stores fewer numbers (`_into`): for
  a DAN into the first dense layer (k x h instead of k x d + d x h), for the LSTM into its input
  weights (4H x k). HMF and GroupReduce do the same per part (GroupReduce's blocks fold; HMF's low
  rows do not, the dense rows needing d x h anyway). The DAN averages in the parts' own widths and
  projects once, exact since the maps are linear, as models.FactorizedEmbedding.mean does.
- no mask arithmetic: a DAN's tables have a zero PAD row (torch leaves PAD out of the average, so
  this is exact), HMF's and GroupReduce's tables a zero row for every id they do not own, so rows
  are summed as gathered; the count of real tokens is Sign(ids) summed (PAD_ID is 0).
- the LSTM is ONNX's LSTM op over the transposed ids' rows, `sequence_lens` = the number of non-PAD
  ids (at least 1, as models.LSTMClassifier does), whose Y_h is the state after each row's last
  real token: torch's pack_padded_sequence.
- the answer is the graph's too: the top class (ArgMax) and its softmax probability, so that
  lmf.runtime reads two numbers per text instead of computing a softmax over C logits in Python.
  Measured through Predictor.predict on one text (one thread, medians over 500 test texts, the two
  ways interleaved): CLINC150's recommended DAN (150 labels) 50.5 us with the softmax in Python,
  40.6 us with it in the graph; SST-2's (2 labels) 18.1 against 19.4 us, the three nodes costing a
  little more than two exp()s in Python.
Products folded at export are summed in float64 in a fixed order (`_product`): the same bytes on
every machine, so exports are byte-reproducible. The graph's only input is the ids.

A saved quantized model (config `bits`, 8 or 16) is exported with its dequantized weights in
fp32: lmf.artifacts.load_model already gives them, they are exactly the values the torch model
computes with, so accuracy is the saved model's. manifest.json notes `source_bits`. For a small
file, export at precision "fp16" (float16 weights, 2x smaller) or "int8" (about 4x smaller): these
are the sweep's deployable 16-bit and 8-bit models (lmf.methods' `deploy`). fp16 computes in fp32;
int8 in fp32 too except where integer arithmetic pays (below); a text's answer does not depend on
the other texts of its call (`_Graph`; its logits up to rounding, below).

int8 stores every weight in int8 and, but for the large layers below, computes in fp32: every dense
matrix (the layers, the folded products, the LSTM's W and R) is int8 with one symmetric scale per
output channel, dequantized by Cast and Mul on initializers, which ONNX Runtime folds once at load
(so matrix arithmetic is fp32 and as fast as fp32's; lmf.runtime leaves ONNX Runtime's constant
folding on, as it is by default); every embedding table is int8 with one scale per column: one of at
least SMALL_TABLE numbers is gathered in int8 and scaled after the Gather (it stays int8 in memory),
a smaller one is dequantized at load like the matrices (below); biases stay fp32. One scale per
column rather than per row: over the sweep's 102 int8 models (every row of the regeneration's int8
cells, exported both ways) test accuracy moved by +0.004 points on average (-0.27 to +0.22), dev by
+0.001 (-0.69 to +0.46), and the export is 0.96x the per-row one's bytes (0.82x for whole-model LMF
+ int8 at R = 98, 334,257 -> 275,303 bytes, whose rows are a few values wide). It replaced ONNX
Runtime's dynamic quantization, which quantized activations per call with a scale taken over the
whole batch: the same model scored 86.0-86.6 % on the same 500 test questions at batch sizes 1..500.
Measured on the shipped R = 90 models and some others (every SST-2 / CLINC150 test text through
lmf.runtime.Predictor, fp32 -> int8 accuracy %): SST-2 DAN uncompressed 82.81 -> 82.87, LMF 82.81 ->
82.81, LMF R = 98 82.65 -> 82.76, HMF 82.54 -> 82.43, GroupReduce 82.87 -> 82.65, whole-model LMF
82.59 -> 82.32; SST-2 LSTM uncompressed 84.24 -> 84.24, LMF 82.70 -> 82.76, HMF 82.10 -> 82.15,
GroupReduce 84.90 -> 84.73; CLINC150 DAN LMF 89.38 -> 89.33, LSTM LMF 83.44 -> 83.36: within 0.27
points everywhere, and the same at batch 1, 7, 64 and 500 (logits within 8e-6 before the large
layers ran in integers, below, lmf.runtime says since; the dynamic scheme's moved by up to 0.65 and
its accuracy by up to 0.5 points, e.g. SST-2 DAN LMF 82.76 / 82.87 / 83.03 / 82.87). model.onnx is at most about the dynamic scheme's bytes (folding saves: DAN LMF 1,278,840 ->
1,054,625 with per-row scales, less with per-column ones). The price is speed: int8 now runs at
fp32's batch-1 time, 1.0-2.3x the dynamic scheme's, which used int8 arithmetic (SST-2 LSTM LMF 151
-> 349 us, DAN LMF 46 -> 58 us; one thread, medians of 2,000 interleaved runs on a busy 2-core
machine).

That price is paid back where it is large: a DAN's dense matrix of at least INT8_ARITHMETIC_MIN
weights whose input is a ReLU's output (the 1024 x 512 layer of the sweep's DAN) runs in integer
arithmetic (`_Graph.int8_linear`): each row of its input quantized alone to 0..127 with its own
scale, MatMulInteger in int32, then the scales. Per row, so a text's quantization is its own, not
its batch's; after a ReLU, so zero needs no offset; 7 bits, so that AVX2's u8 x s8 pair sums in int16
cannot saturate. Measured one layer alone (ONNX Runtime 1.32, one thread, batch 1, medians of 4,000
interleaved runs, fp32 Gemm -> int8 arithmetic, us): 512 x 256 11.2 -> 11.4, 512 x 512 18.7 -> 15.2,
1024 x 512 32 -> 19.6, 1024 x 1024 58 -> 27; 64 x 32 5.0 -> 8.0 (the quantizing ops cost about 3 us),
hence the threshold of 2^18 weights. On CLINC150's recommended DAN (pruning + LMF + int8, R = 90;
Predictor, every text of its test set): test accuracy 89.98 -> 90.00 %, batch-1 end to end 68.1 ->
54.2 us, sentences a second on lists of 512 texts 59,295 -> 114,774; SST-2's 8-bit DAN 82.81 % both
ways, 74.3 -> 66.8 us; SST-2's LMF R = 90 + int8 83.03 % both ways, 57.5 -> 46.1 us.

A small int8 table (fewer than SMALL_TABLE numbers, as the recommended DANs' tables are; SST-2's LMF
R = 90 table, 14,733 x 29, is not) is dequantized at load like the matrices: its gathered rows then
need no Cast and Mul on every call, for at most 1 MiB of float32 per table. Measured on the
recommended DANs (Predictor, one thread, batch 1, medians of 3,000 interleaved runs over 500 test
texts; gathered in int8 -> dequantized at load, logits identical): SST-2's (whole-model LMF + int8,
R = 98, a 14,733 x 5 table) session 14.4 -> 13.3 us, end to end 20.3 -> 19.2 us; CLINC150's (pruning
+ LMF + int8, R = 90, 2,375 x 57) 36.0 -> 34.7 and 42.1 -> 41.0 us.

Deliberately not here: running the export (lmf.runtime), timing it (lmf.latency).
"""
import json
import zlib
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .errors import LmfError
from .artifacts import load_model
from .atomic import replace_dir
from .layout import file_sha256, is_lmf_output, refusal
from .runtime import FORMAT, MANIFEST, MODEL, TOKENIZER, WORDS
from .ngrams import settings as ngram_settings
from .tokenize import PAD_ID, settings

FORMAT_VERSION = 3  # 2: the graph gives label and probability beside the logits; 3: the words in words.zlib
OPSET = 17
ACTIVATION_LEVELS = 127  # 7 bits: u8 x s8 pairs summed in int16 (AVX2's vpmaddubsw) cannot saturate
INT8_ARITHMETIC_MIN = 2 ** 18  # weights; a DAN matrix this large after a ReLU runs in integers (module docstring)
SMALL_TABLE = 2 ** 18  # numbers; a smaller int8 embedding table is dequantized at load (module docstring)


class ExportError(LmfError, ValueError):
    """A model that cannot be exported, or an --out directory that must not be replaced."""


class _Graph:
    """Nodes and initializers, each named once; `op` returns its (first) output's name.

    `precision` says how float weights are stored (every one is used as float32, but for int8's
    large matrices after a ReLU):
      fp32  as they are;
      fp16  float16, Cast to float32 (ONNX Runtime folds the cast once, at load: the file halves);
      int8  dense matrices (`matrix`) int8 with one symmetric scale per output channel, Cast and
            Mul by their scales (folded at load like fp16's cast), except a large one after a ReLU,
            which `linear` runs in integer arithmetic (`int8_linear`); embedding tables (`rows`) int8
            with one scale per column, rows gathered in int8 and then scaled (not folded: the table
            stays int8 in memory), but for one of fewer than SMALL_TABLE numbers, folded at load
            like a matrix; biases float32 (a few KB).
    """

    def __init__(self, precision="fp32"):
        self.nodes, self.initializers, self._n, self.precision = [], [], 0, precision

    def name(self, hint):
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, hint, array):
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type, inputs, outputs=1, hint=None, output=None, **attrs):
        names = [output or self.name(hint or op_type.lower())] if outputs == 1 else \
            [self.name(hint or op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, **attrs))
        return names[0] if outputs == 1 else names

    def vector(self, hint, array):
        """A bias: float16 in an fp16 graph, else float32."""
        if self.precision == "fp16":
            return self.op("Cast", [self.const(hint, np.asarray(array, np.float16))], to=TensorProto.FLOAT, hint=hint)
        return self.const(hint, np.asarray(array, np.float32))

    def matrix(self, hint, array, channel_axis):
        """A dense weight whose output channels lie along `channel_axis`."""
        if self.precision != "int8":
            return self.vector(hint, array)
        q, scale = _int8(array, channel_axis)
        return self.op("Mul", [self.op("Cast", [self.const(hint, q)], to=TensorProto.FLOAT),
                               self.const(f"{hint}_scale", scale)], hint=hint)

    def rows(self, hint, table, ids):
        """Gather(table, ids): the rows of a [V, w] embedding table, float32."""
        if self.precision != "int8":
            return self.op("Gather", [self.vector(hint, table), ids])
        # One scale per column, not per row: a row's scale would cost 4 bytes beside its k int8
        # values (at whole-model LMF R = 98, k is a few: the scales grew the file by a fifth) and
        # (for a large table) one more Gather per call; an SVD factor's columns differ in size far
        # more than its rows.
        if table.size < SMALL_TABLE:
            # A small table is a matrix with one scale per column, dequantized once, at load: the
            # rows gathered then need no Cast and Mul on every call (module docstring).
            return self.op("Gather", [self.matrix(hint, table, 1), ids])
        q, scale = _int8(table, 1)
        rows = self.op("Cast", [self.op("Gather", [self.const(hint, q), ids])], to=TensorProto.FLOAT)
        return self.op("Mul", [rows, self.const(f"{hint}_scale", scale)])

    def int64(self, hint, value):
        return self.const(hint, np.array(value, np.int64))

    def linear(self, x, matrix, bias, output=None, nonnegative=False):
        """x @ matrix (+ bias) for a [B, in] x; `matrix` [in, out] and `bias` numpy arrays;
        `nonnegative`: x is a ReLU's output, so int8 may run it in integer arithmetic."""
        if self.precision == "int8" and nonnegative and matrix.size >= INT8_ARITHMETIC_MIN:
            return self.int8_linear(x, matrix, bias, output)
        weight = self.matrix("w", matrix, 1)
        if bias is None:
            return self.op("MatMul", [x, weight], output=output)
        return self.op("Gemm", [x, weight, self.vector("b", bias)], output=output)

    def int8_linear(self, x, matrix, bias, output=None):
        """x @ matrix (+ bias) in integer arithmetic, for an x >= 0 (after a ReLU): each row of x
        quantized alone to 0..127 with its own scale (max / 127), so a text's logits never depend on
        the other texts of its call; `matrix` int8 with one scale per output column; MatMulInteger
        sums in int32, then both scales and the bias."""
        q, column_scale = _int8(matrix, 1)
        peak = self.op("Max", [self.op("ReduceMax", [x], axes=[1], keepdims=1), self.const("tiny", np.array(1e-30, np.float32))])
        row_scale = self.op("Div", [peak, self.const("levels", np.array(ACTIVATION_LEVELS, np.float32))])
        xq = self.op("Cast", [self.op("Round", [self.op("Div", [x, row_scale])])], to=TensorProto.UINT8)
        acc = self.op("Cast", [self.op("MatMulInteger", [xq, self.const("w", q)])], to=TensorProto.FLOAT)
        # The column scale first, then the row's: ONNX Runtime 1.32 fuses Mul(acc, row x column
        # scale) into MatMulIntegerToFloat and gets it wrong (0.35 off on logits of about 5).
        y = self.op("Mul", [self.op("Mul", [acc, self.const("w_scale", column_scale)]), row_scale],
                    output=output if bias is None else None)
        return y if bias is None else self.op("Add", [y, self.vector("b", bias)], output=output)


def _int8(array, channel_axis):
    """(int8 values, float32 scales) of `array` with one symmetric scale per slice along
    `channel_axis` (keepdims, so that scales broadcast): scale = max |w| / 127, w ~ q * scale with
    q = round(w / scale) in -127..127; an all-zero slice (a PAD row) gets scale 1 and stays zero."""
    a = np.asarray(array, np.float32)
    others = tuple(axis for axis in range(a.ndim) if axis != channel_axis)
    peak = np.abs(a).max(axis=others, keepdims=True)
    scale = np.where(peak > 0, peak / np.float32(127), np.float32(1)).astype(np.float32)
    return np.clip(np.rint(a / scale), -127, 127).astype(np.int8), scale


def _product(a, b):
    """a @ b as float32, summed in float64 term by term in a fixed order: the same bytes on every
    machine (a BLAS picks its kernels, and so its roundings, by CPU), so that exports stay
    byte-reproducible (studio.deploy compares their sha256)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    out = np.zeros((a.shape[0], b.shape[1]))
    for j in range(a.shape[1]):
        out += np.multiply.outer(a[:, j], b[j])
    return out.astype(np.float32)


def _numpy(tensor):
    return tensor.detach().cpu().float().numpy()


def _parts(g, emb, ids, zero_pad):
    """The embedding `emb` of `ids` as parts [(rows, projection)]: `rows` [..., w] float32 gathered
    from a table, `projection` a [w, d] numpy array or None (the rows are d-dimensional already);
    the embedding is the sum over parts of rows @ projection. A part's table has a zero row for
    every id it does not own (HMF's and GroupReduce's ids are split over tables), so parts add
    without masks. `zero_pad`: PAD's row is made zero too, so that a sum over tokens needs no mask
    (a DAN's average leaves PAD out: exact); else PAD's vector is torch's."""
    kind = type(emb).__name__
    if kind in ("DenseEmbedding", "FactorizedEmbedding"):
        table = _numpy(emb.table.weight)
        if zero_pad:
            table[PAD_ID] = 0
        return [(g.rows("table", table, ids), None if kind == "DenseEmbedding" else _numpy(emb.project.weight).T)]
    if kind == "HybridEmbedding":
        r_d = emb.dense_rows
        dense, low = _numpy(emb.dense.weight), _numpy(emb.low_table.weight)
        if zero_pad:
            dense[PAD_ID] = 0
        # Ids r_d onwards read the zero row r_d of the dense table; ids below r_d read row 0 of the
        # low-rank table, zero: id i >= r_d is its row i - r_d + 1.
        dense = np.concatenate([dense, np.zeros((1, dense.shape[1]), np.float32)])
        low = np.concatenate([np.zeros((1, low.shape[1]), np.float32), low])
        dense_ids = g.op("Min", [ids, g.int64("r_d", r_d)])
        low_ids = g.op("Max", [g.op("Sub", [ids, g.int64("r_d_1", r_d - 1)]), g.int64("zero", 0)])
        return [(g.rows("dense", dense, dense_ids), None),
                (g.rows("W_a", low, low_ids), _numpy(emb.project.weight).T)]
    if kind == "GroupEmbedding":
        row_map = emb.row.cpu().numpy().astype(np.int32)
        row = g.op("Gather", [g.const("row", row_map), ids])  # the id's row in the blocks laid end to end
        pad_row = int(row_map[PAD_ID]) if emb.padding_idx is not None else None  # torch zeroes PAD's output
        parts, start = [], 0
        for n, table, project in zip(emb.block_sizes, emb.tables, emb.projects):
            # Block rows start..start+n-1 are table rows 1..n; rows outside clip to 0 or n + 1, both zero.
            W_a = np.zeros((n + 2, table.embedding_dim), np.float32)
            W_a[1:n + 1] = _numpy(table.weight)
            if pad_row is not None and start <= pad_row < start + n:
                W_a[pad_row - start + 1] = 0
            local = g.op("Clip", [g.op("Add", [row, g.const("offset", np.array(1 - start, np.int32))]),
                                  g.const("zero", np.array(0, np.int32)), g.const("last", np.array(n + 1, np.int32))])
            parts.append((g.rows("W_a", W_a, local), _numpy(project.weight).T))
            start += n
        return parts
    raise ExportError(f"cannot export an embedding of type {kind}")


def _into(g, parts, matrix, axis):
    """The parts of an embedding (see _parts) ready for a linear map `matrix` [d, h] that reads the
    embedding along `axis`: (x, matrix') with x @ matrix' == embedding @ matrix. Each projection
    is folded into the map when that stores fewer numbers: the parts' rows concatenated, and
    matrix' = [P_1 M; P_2 M; ...] (a part with no projection contributes M); else the projections
    stay (the low-rank parts' rows concatenated, times their projections stacked) and are added to
    the dense parts."""
    d, h = matrix.shape
    widths = [_width(P, d) for _, P in parts]
    low = [(rows, P) for rows, P in parts if P is not None]
    folded = sum(widths) * h
    kept = sum(P.size for _, P in low) + d * h
    if folded < kept:
        stacked = np.concatenate([matrix if P is None else _product(P, matrix) for _, P in parts])
        return _concat(g, [rows for rows, _ in parts], axis), stacked
    x = None
    if low:
        x = g.op("MatMul", [_concat(g, [rows for rows, _ in low], axis), g.matrix("W_b", np.concatenate([P for _, P in low]), 1)])
    for rows, P in parts:
        if P is None:
            x = rows if x is None else g.op("Add", [x, rows])
    return x, matrix


def _width(P, d):
    return d if P is None else P.shape[0]


def _concat(g, tensors, axis):
    return tensors[0] if len(tensors) == 1 else g.op("Concat", tensors, axis=axis)


def _dan_steps(model):
    """The DAN's linear maps in order, as (matrix [in, out], bias or None, relu after)."""
    steps = []
    for layer in model.layers:
        if hasattr(layer, "first"):  # FactorizedLinear: two maps, the rank-k one first, no ReLU between
            steps += [(_numpy(layer.first.weight).T, None, False), (_numpy(layer.second.weight).T, _numpy(layer.second.bias), True)]
        else:
            steps.append((_numpy(layer.weight).T, _numpy(layer.bias), True))
    return steps + [(_numpy(model.out.weight).T, _numpy(model.out.bias), False)]


def _lstm_weights(lstm):
    """ONNX's W, R, B ([4H, d], [4H, H], [8H]) from torch's LSTM: torch stacks the gates i, f, g, o;
    ONNX wants i, o, f, c."""
    H = lstm.hidden_size
    order = lambda t: np.concatenate([t[0:H], t[3 * H:4 * H], t[H:2 * H], t[2 * H:3 * H]])
    return (order(_numpy(lstm.weight_ih_l0)), order(_numpy(lstm.weight_hh_l0)),
            np.concatenate([order(_numpy(lstm.bias_ih_l0)), order(_numpy(lstm.bias_hh_l0))]))


def build_onnx(model, precision="fp32"):
    """An onnx.ModelProto computing `model`'s logits (eval mode), and its answer (label and
    probability), from int64 ids [batch, seq]; `precision` "fp32", "fp16" or "int8" says how the
    weights are stored (see _Graph)."""
    arch = model.config["arch"]
    g = _Graph(precision)
    ids = "ids"
    axis1 = g.int64("axis", [1])
    if arch == "dan":
        # Non-PAD tokens (at least 1): PAD_ID is 0 and ids are not negative, so Sign is the mask.
        count = g.op("Max", [g.op("Cast", [g.op("ReduceSum", [g.op("Sign", [ids]), axis1], keepdims=1)], to=TensorProto.FLOAT),
                             g.const("one", np.array(1.0, np.float32))])
        sums = [(g.op("ReduceSum", [rows, axis1], keepdims=0), P) for rows, P in _parts(g, model.embedding, ids, zero_pad=True)]
        steps = _dan_steps(model)
        x, first = _into(g, sums, steps[0][0], axis=1)
        steps[0] = (first, *steps[0][1:])
        x = g.op("Div", [x, count])  # the average after the sums (linear maps commute with it)
        for i, (matrix, bias, relu) in enumerate(steps):
            last = i == len(steps) - 1
            x = g.linear(x, matrix, bias, output="logits" if last else None, nonnegative=i > 0 and steps[i - 1][2])
            if relu:
                x = g.op("Relu", [x])
        logits = x
    elif arch == "lstm":
        if model.lstm.num_layers != 1 or model.lstm.bidirectional:
            raise ExportError("only a one-layer, one-direction LSTM can be exported")
        # ONNX's LSTM wants [T, B, d]: transposing the ids costs less than transposing the vectors.
        ids_t = g.op("Transpose", [ids], perm=[1, 0])
        lengths = g.op("Cast", [g.op("Max", [g.op("ReduceSum", [g.op("Sign", [ids]), axis1], keepdims=0), g.int64("one", 1)])],
                       to=TensorProto.INT32)
        W, R, B = _lstm_weights(model.lstm)
        # The LSTM reads its input through W ([4H, d]): x W^T = rows (W P^T)^T, so a projection folds into W.
        x, W_t = _into(g, _parts(g, model.embedding, ids_t, zero_pad=False), W.T, axis=2)
        _, last = g.op("LSTM", [x, g.matrix("W", W_t.T[None], 1), g.matrix("R", R[None], 1), g.vector("B", B[None]), lengths],
                       outputs=2, hidden_size=model.lstm.hidden_size)
        hidden = g.op("Squeeze", [last, g.int64("axis", [0])])
        logits = g.linear(hidden, _numpy(model.out.weight).T, _numpy(model.out.bias), output="logits")
    else:
        raise ExportError(f"cannot export a model of type {arch!r}")
    # The answer predict() gives, in the graph: ArgMax on the logits (the first of equal ones, as
    # Python's index of the max), and the top class's softmax probability.
    g.op("ArgMax", [logits], axis=1, keepdims=0, output="label")
    g.op("ReduceMax", [g.op("Softmax", [logits], axis=1)], axes=[1], keepdims=0, output="probability")
    graph = helper.make_graph(
        g.nodes, "lmf", [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info(logits, TensorProto.FLOAT, ["batch", model.config["num_classes"]]),
         helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]),
         helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["batch"])],
        g.initializers)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="lmf")
    onnx_model.ir_version = 8  # readable by every onnxruntime since 1.10
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model


def tokenizer_content(saved):
    """tokenizer.json's object for a lmf.artifacts.SavedModel: the name of its words' file, its
    labels and lmf.tokenize.settings(), to which an n-gram model adds lmf.ngrams.settings, so that a
    runtime that cannot make its n-gram ids refuses it."""
    tokenizer = settings()
    if saved.config.get("ngrams"):
        tokenizer = {**tokenizer, **ngram_settings(saved.config["ngrams"], saved.config["buckets"])}
    return {"words": WORDS, "label_names": saved.label_names, "tokenizer": tokenizer}


def words_content(saved):
    """words.zlib's bytes for a lmf.artifacts.SavedModel: its words (a pruned model's are only the
    words it kept, lmf.prune) as a compact JSON array, zlib-compressed at level 9."""
    return zlib.compress(json.dumps(saved.vocab.itos, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), 9)


def is_export(path):
    """True when `path` holds an lmf export and nothing else (lmf.layout.is_lmf_output: manifest.json
    says so and lists every other file there with a matching sha256)."""
    return is_lmf_output(path, MANIFEST, FORMAT)


PRECISIONS = ("fp32", "fp16", "int8")


def export_model(model_dir, out, *, int8=False, precision=None):
    """Export the saved model in `model_dir` to directory `out` (see the module docstring); returns
    `out`. `precision` is "fp32" (the default), "fp16" (weights stored as float16) or "int8"
    (int8 weights, see the module docstring); `int8=True` is short for precision="int8". An
    existing `out` is replaced only if it is empty or an earlier lmf export holding nothing else
    (lmf.layout.refusal, the rule every --out follows): a file added to it, or one changed, is named and kept."""
    precision = precision or ("int8" if int8 else "fp32")
    if precision not in PRECISIONS:
        raise ExportError(f"precision must be one of {', '.join(PRECISIONS)} (got {precision!r})")
    int8 = precision == "int8"
    out = Path(out)
    source = Path(model_dir).resolve()
    if out.resolve() == source or source in out.resolve().parents:  # a file added to a saved model breaks it
        raise ExportError(f"{out}: inside the saved model {model_dir}, which would then hold a file lmf did not "
                          "write there; export somewhere else")
    why = refusal(out, MANIFEST, FORMAT)  # before the model is read and the graph built
    if why:
        raise ExportError(f"{why}; an existing --out is replaced only when it holds nothing but an earlier lmf export")
    saved = load_model(model_dir)
    onnx_model = build_onnx(saved.model, precision)
    tokenizer, words = tokenizer_content(saved), words_content(saved)

    def fill(tmp):
        onnx.save(onnx_model, tmp / MODEL)
        (tmp / TOKENIZER).write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")
        (tmp / WORDS).write_bytes(words)
        manifest = {"format": FORMAT, "format_version": FORMAT_VERSION,
                    "files": {name: file_sha256(tmp / name) for name in (MODEL, TOKENIZER, WORDS)},
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
